//! The arguments of `cargo armature pgo`, and the settings they resolve to together
//! with the workload file and `[package.metadata.armature.pgo]`.

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Result;
use clap::{Args, Subcommand};

use super::merge::MergerChoice;
use super::mode::ProfileMode;
use crate::error::usage;
use crate::load::{DriverChoice, PgoConfig, Workload};

const EXAMPLES: &str = "\
Examples:
  cargo armature pgo                          train 10 s with GET / and /health, compare 3 pairs
  cargo armature pgo --workload load.toml     train on the mix in load.toml (see below)
  cargo armature pgo --workload-from-log access.log --workload bodies.toml
  cargo armature pgo --duration 30 --no-compare
  cargo armature pgo --native                 release-fat + -Ctarget-cpu=native + PGO
  cargo armature pgo --bolt                   PGO, then BOLT (llvm-bolt), three builds compared
  cargo armature pgo --addr 127.0.0.1:3000    a server with its own address (else found in /proc)
  cargo armature pgo --profile-mode graceful  the profile written at exit, with value profiling
  cargo armature pgo --server-arg=--port --server-arg={port}   one --server-arg per word
  cargo armature pgo --bin api -- --features simd-json
  cargo armature pgo clean                    remove profiles and the phase target directories

The workload (a file, or [package.metadata.armature.pgo] in Cargo.toml):
  routes = [\"/\", \"/health\"]
  requests = [{ method = \"POST\", path = \"/users\", weight = 3, json = { name = \"ann\" } }]
  measure = [\"/users/1\"]          # the comparison's mix (default: the training mix)
  server-args = [\"--addr\", \"{addr}\"]   # default: HOST and PORT in the environment";

/// `cargo armature pgo`: build, train, merge, rebuild with the profile, compare.
#[derive(Debug, Clone, Args)]
#[command(args_conflicts_with_subcommands = true, after_help = EXAMPLES)]
pub struct PgoArgs {
    /// `clean`: remove profiles and phase target directories instead.
    #[command(subcommand)]
    pub action: Option<PgoAction>,
    /// The server binary (default: the package's `default-run` or only binary).
    #[arg(long, value_name = "NAME", conflicts_with = "example")]
    pub bin: Option<String>,
    /// Optimise an example instead of a binary.
    #[arg(long, value_name = "NAME")]
    pub example: Option<String>,
    /// The package (in a workspace).
    #[arg(short = 'p', long, value_name = "NAME")]
    pub package: Option<String>,
    /// Path to Cargo.toml.
    #[arg(long, value_name = "PATH")]
    pub manifest_path: Option<PathBuf>,
    /// A TOML workload file (overrides [package.metadata.armature.pgo]).
    #[arg(long, value_name = "FILE")]
    pub workload: Option<PathBuf>,
    /// Train on the requests of an access log (combined log format, or Armature's
    /// `armature::access` events), weighted as logged; POST/PUT/PATCH take their body
    /// from the --workload entry of the same route, or are dropped.
    #[arg(long, value_name = "FILE")]
    pub workload_from_log: Option<PathBuf>,
    /// Seconds of training load [default: 10, or `duration` in the workload].
    #[arg(long, value_name = "SECS")]
    pub duration: Option<f64>,
    /// Stop the training load after about N requests (if sooner than --duration).
    #[arg(long, value_name = "N")]
    pub requests: Option<u64>,
    /// Concurrent connections [default: 16, or `connections` in the workload].
    #[arg(long, value_name = "N")]
    pub connections: Option<u32>,
    /// Load driver.
    #[arg(long, value_enum, default_value_t)]
    pub driver: DriverChoice,
    /// Profile merger.
    #[arg(long, value_enum, default_value_t)]
    pub merger: MergerChoice,
    /// Build every phase (and the release-fat baseline) with -Ctarget-cpu=native, in
    /// their own target directories; the binaries may not run on other CPUs.
    #[arg(long)]
    pub native: bool,
    /// BOLT after PGO: instrument the PGO binary with llvm-bolt, train it under the same
    /// load, optimise it, and compare release-fat, PGO and PGO+BOLT.
    #[arg(long)]
    pub bolt: bool,
    /// Skip the before/after comparison.
    #[arg(long)]
    pub no_compare: bool,
    /// Alternating release-fat/PGO pairs in the comparison (at least 3).
    #[arg(long, value_name = "N", default_value_t = 3, value_parser = clap::value_parser!(u32).range(3..))]
    pub pairs: u32,
    /// Measured seconds per comparison run [default: --duration].
    #[arg(long, value_name = "SECS")]
    pub compare_duration: Option<f64>,
    /// Warm-up seconds before each comparison run.
    #[arg(long, value_name = "SECS", default_value_t = 1.0)]
    pub warmup: f64,
    /// Keep the .profraw files after merging.
    #[arg(long)]
    pub keep_profiles: bool,
    /// Accept functions without profile data in the optimised build (reported, not fatal).
    #[arg(long)]
    pub allow_missing_profiles: bool,
    /// An argument for the server; `{addr}`, `{host}`, `{port}` are replaced (repeatable).
    #[arg(long = "server-arg", value_name = "ARG", allow_hyphen_values = true)]
    pub server_args: Vec<String>,
    /// An environment variable for the server, `KEY=VALUE` (repeatable), e.g. `WORKERS=1`.
    #[arg(long = "server-env", value_name = "KEY=VALUE", value_parser = parse_env_pair)]
    pub server_env: Vec<(String, String)>,
    /// How the training profile is collected: `kill-safe` survives a server that is
    /// killed (no SIGTERM handler, a crash, SIGKILL after --stop-timeout) but has no
    /// value profiling; `graceful` needs the server to exit on SIGTERM.
    #[arg(long, value_enum, default_value_t)]
    pub profile_mode: ProfileMode,
    /// Where the server listens, when it does not take HOST/PORT or `{addr}` (e.g. a
    /// hard-coded `127.0.0.1:3000`). Without it, a server that listens elsewhere than
    /// asked is found through /proc and trained where it listens.
    #[arg(long, value_name = "HOST:PORT", value_parser = parse_addr)]
    pub addr: Option<SocketAddr>,
    /// Seconds to wait for the server to accept connections.
    #[arg(long, value_name = "SECS", default_value_t = 30.0)]
    pub startup_timeout: f64,
    /// Seconds to wait for the server to exit after SIGTERM.
    #[arg(long, value_name = "SECS", default_value_t = 30.0)]
    pub stop_timeout: f64,
    /// Show cargo's progress lines and the server's output.
    #[arg(short, long)]
    pub verbose: bool,
    /// Arguments for every `cargo build` (e.g. `--features x`).
    #[arg(last = true, value_name = "CARGO_ARGS")]
    pub cargo_args: Vec<String>,
}

impl PgoArgs {
    /// `--server-env` as the environment every run of the server gets (training,
    /// BOLT training, comparison).
    pub fn server_env_os(&self) -> Vec<(String, std::ffi::OsString)> {
        self.server_env
            .iter()
            .map(|(k, v)| (k.clone(), v.into()))
            .collect()
    }
}

fn parse_addr(s: &str) -> Result<SocketAddr, String> {
    s.to_socket_addrs()
        .map_err(|e| format!("expected HOST:PORT, got {s:?} ({e})"))?
        .next()
        .ok_or_else(|| format!("{s:?} resolves to no address"))
}

fn parse_env_pair(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() && !k.contains(char::is_whitespace) => {
            Ok((k.to_owned(), v.to_owned()))
        }
        _ => Err(format!("expected KEY=VALUE, got {s:?}")),
    }
}

/// `cargo armature pgo <action>`.
#[derive(Debug, Clone, Subcommand)]
pub enum PgoAction {
    /// Remove the profiles and the phase target directories (target/armature-pgo)
    Clean {
        /// Path to Cargo.toml.
        #[arg(long, value_name = "PATH")]
        manifest_path: Option<PathBuf>,
    },
}

pub(crate) fn validate(args: &PgoArgs) -> Result<()> {
    let positive = |name: &str, v: Option<f64>| -> Result<()> {
        match v {
            Some(v) if !(v > 0.0 && v.is_finite()) => Err(usage(format!(
                "{name} must be a positive number of seconds"
            ))),
            _ => Ok(()),
        }
    };
    positive("--duration", args.duration)?;
    positive("--compare-duration", args.compare_duration)?;
    positive("--startup-timeout", Some(args.startup_timeout))?;
    positive("--stop-timeout", Some(args.stop_timeout))?;
    if args.connections == Some(0) {
        return Err(usage("--connections must be at least 1"));
    }
    if args.requests == Some(0) {
        return Err(usage("--requests must be at least 1"));
    }
    Ok(())
}

/// The settings after merging CLI, workload file and Cargo.toml metadata (in that order
/// of precedence).
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub(crate) training: Workload,
    pub(crate) measure: Workload,
    pub(crate) duration: Duration,
    pub(crate) compare_duration: Duration,
    pub(crate) connections: u32,
    pub(crate) server_args: Vec<String>,
    /// Where the server listens, when not where it is asked to: `--addr`, or where the
    /// training run found it.
    pub(crate) addr: Option<SocketAddr>,
    pub(crate) startup_timeout: Duration,
    pub(crate) stop_timeout: Duration,
}

impl Settings {
    pub(crate) fn resolve(
        args: &PgoArgs,
        manifest: &PgoConfig,
        file: Option<&PgoConfig>,
        log: Option<Workload>,
    ) -> Settings {
        let pick = |f: &dyn Fn(&PgoConfig) -> bool| -> Option<&PgoConfig> {
            file.filter(|c| f(c)).or(Some(manifest).filter(|c| f(c)))
        };
        let training = log.unwrap_or_else(|| {
            pick(&|c| c.training.is_some())
                .and_then(|c| c.training.clone())
                .unwrap_or_else(Workload::default_routes)
        });
        let measure = pick(&|c| c.measure.is_some())
            .and_then(|c| c.measure.clone())
            .unwrap_or_else(|| training.clone());
        let duration = args
            .duration
            .or_else(|| pick(&|c| c.duration.is_some()).and_then(|c| c.duration))
            .unwrap_or(10.0);
        let connections = args
            .connections
            .or_else(|| pick(&|c| c.connections.is_some()).and_then(|c| c.connections))
            .unwrap_or(16);
        let server_args = if args.server_args.is_empty() {
            pick(&|c| c.server_args.is_some())
                .and_then(|c| c.server_args.clone())
                .unwrap_or_default()
        } else {
            args.server_args.clone()
        };
        Settings {
            training,
            measure,
            duration: Duration::from_secs_f64(duration),
            compare_duration: Duration::from_secs_f64(args.compare_duration.unwrap_or(duration)),
            connections,
            server_args,
            addr: args.addr,
            startup_timeout: Duration::from_secs_f64(args.startup_timeout),
            stop_timeout: Duration::from_secs_f64(args.stop_timeout),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct PgoArgsParser {
        #[command(flatten)]
        args: PgoArgs,
    }

    fn parse(v: &[&str]) -> PgoArgs {
        PgoArgsParser::try_parse_from(std::iter::once("pgo").chain(v.iter().copied()))
            .unwrap()
            .args
    }

    #[test]
    fn parses_the_documented_command_line() {
        let a = parse(&[
            "--bin",
            "api",
            "--workload",
            "w.toml",
            "--duration",
            "2.5",
            "--requests",
            "1000",
            "--connections",
            "8",
            "--driver",
            "builtin",
            "--merger",
            "llvm",
            "--no-compare",
            "--keep-profiles",
            "--server-arg=--addr",
            "--server-arg",
            "{addr}",
            "--server-env",
            "WORKERS=1",
            "--",
            "--features",
            "x",
        ]);
        assert_eq!(a.bin.as_deref(), Some("api"));
        assert_eq!(a.duration, Some(2.5));
        assert_eq!(a.requests, Some(1000));
        assert_eq!(a.driver, DriverChoice::Builtin);
        assert_eq!(a.merger, MergerChoice::Llvm);
        assert!(a.no_compare && a.keep_profiles);
        assert_eq!(a.server_args, vec!["--addr", "{addr}"]);
        assert_eq!(a.server_env, vec![("WORKERS".to_owned(), "1".to_owned())]);
        assert_eq!(a.cargo_args, vec!["--features", "x"]);
        assert!(matches!(
            parse(&["clean"]).action,
            Some(PgoAction::Clean { .. })
        ));
        assert!(
            PgoArgsParser::try_parse_from(["pgo", "--pairs", "2"]).is_err(),
            "at least 3 pairs"
        );
    }

    #[test]
    fn settings_precedence_cli_then_file_then_manifest() {
        let manifest = PgoConfig::from_json(
            &serde_json::json!({"routes": ["/m"], "duration": 7, "connections": 4}),
            "Cargo.toml",
        )
        .unwrap();
        let file = PgoConfig::from_json(
            &serde_json::json!({"requests": ["/f"], "measure": ["/x"]}),
            "w.toml",
        )
        .unwrap();
        let s = Settings::resolve(&parse(&[]), &manifest, Some(&file), None);
        assert_eq!(s.training.requests[0].path, "/f");
        assert_eq!(s.measure.requests[0].path, "/x");
        assert_eq!(s.duration, Duration::from_secs(7));
        assert_eq!(s.connections, 4);
        let s = Settings::resolve(
            &parse(&["--duration", "2", "--connections", "9"]),
            &manifest,
            None,
            None,
        );
        assert_eq!(s.training.requests[0].path, "/m");
        assert_eq!(s.measure, s.training);
        assert_eq!(s.duration, Duration::from_secs(2));
        assert_eq!(s.compare_duration, Duration::from_secs(2));
        assert_eq!(s.connections, 9);
        let s = Settings::resolve(&parse(&[]), &PgoConfig::default(), None, None);
        assert_eq!(s.training, Workload::default_routes());
        assert_eq!(s.duration, Duration::from_secs(10));
    }
}
