//! `cargo armature pgo`: the whole profile-guided-optimisation loop for a server —
//! instrumented build, a training run under HTTP load, a graceful SIGTERM stop, merging
//! the profiles, the optimised build (failing on any profile warning), and a
//! before/after comparison against the plain `release-fat` build.
//!
//! Phases and where their files go are described by [`project::Layout`]; `cargo
//! armature pgo clean` removes them.

pub mod compare;
pub mod compile;
pub mod diagnostics;
pub mod flags;
pub mod merge;
pub mod project;
pub mod server;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use serde::Serialize;

use crate::load::{
    Driver, DriverChoice, LoadOptions, LoadReport, PgoConfig, ProgressMode, Workload,
};
use crate::toolchain::RustcInfo;
use compile::{BuildOutcome, BuildRequest};
use merge::{Merger, MergerChoice, RawProfiles};
use project::{Layout, Project};
use server::{free_loopback_addr, RunningServer, ServerSpec};

const EXAMPLES: &str = "\
Examples:
  cargo armature pgo                          train 10 s with GET / and /health, compare 3 pairs
  cargo armature pgo --workload load.toml     train on the mix in load.toml (see below)
  cargo armature pgo --duration 30 --no-compare
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

/// How long one phase took.
#[derive(Debug, Clone, Serialize)]
pub struct PhaseTime {
    /// The phase.
    pub phase: String,
    /// Seconds.
    pub seconds: f64,
}

/// Everything the loop did, written as `<binary>.pgo-report.json` beside the PGO binary.
#[derive(Debug, Clone, Serialize)]
pub struct PgoReport {
    /// The package.
    pub package: String,
    /// The binary or example.
    pub target: String,
    /// rustc's release.
    pub rustc: String,
    /// rustc's LLVM.
    pub llvm: Option<String>,
    /// The host triple built for.
    pub host: String,
    /// The instrumented binary.
    pub instrumented_binary: PathBuf,
    /// The PGO-optimised binary, copied to a stable path: `<target>/armature-pgo/bin/<name>`.
    pub pgo_binary: PathBuf,
    /// Where cargo built it (under the optimised phase's target directory).
    pub pgo_build_output: PathBuf,
    /// The merged profile.
    pub profile: PathBuf,
    /// Which merger wrote it.
    pub merger: String,
    /// `.profraw` files merged.
    pub raw_profiles: usize,
    /// The training mix.
    pub training_workload: Vec<String>,
    /// What the training load measured (on the instrumented binary: not a benchmark).
    pub training: LoadReport,
    /// Functions the optimised build found no profile data for.
    pub missing_functions: usize,
    /// Profile warnings that would have meant a partly non-PGO build (always empty in a
    /// report: they fail the loop).
    pub profile_warnings: Vec<String>,
    /// The before/after comparison, unless `--no-compare`.
    pub compare: Option<compare::Comparison>,
    /// Time per phase.
    pub phases: Vec<PhaseTime>,
}

/// Runs `cargo armature pgo`.
pub fn run(args: PgoArgs) -> Result<()> {
    if let Some(PgoAction::Clean { manifest_path }) = &args.action {
        return clean(manifest_path.as_deref());
    }
    validate(&args)?;
    let started = Instant::now();
    let rustc = RustcInfo::detect()?;
    let project = Project::locate(&args)?;
    let layout = project.layout();
    let file_config = match &args.workload {
        Some(f) => Some(PgoConfig::from_toml_file(f)?),
        None => None,
    };
    let settings = Settings::resolve(&args, &project.config, file_config.as_ref());

    eprintln!(
        "cargo armature pgo: {} `{}` of {} (rustc {}, LLVM {}, {})",
        match project.kind {
            project::TargetKind::Bin => "binary",
            project::TargetKind::Example => "example",
        },
        project.target,
        project.package,
        rustc.release,
        rustc
            .llvm
            .map(|v| v.to_string())
            .unwrap_or_else(|| "unknown".into()),
        rustc.host
    );
    if !project.has_profile {
        eprintln!(
            "    note: no [profile.{}] in {}: using lto=\"fat\", codegen-units=1, panic=\"abort\" \
             for this run (`cargo armature build --fat` adds the profile to Cargo.toml)",
            project::PROFILE,
            project.workspace_root.join("Cargo.toml").display()
        );
    }
    let (driver, note) = Driver::select(args.driver)?;
    if let Some(note) = note {
        eprintln!("    note: {note}");
    }
    let (merger, notes) = Merger::select(args.merger, &rustc)?;
    // Skipped llvm-profdata versions matter when none matched; otherwise only in -v.
    if matches!(merger, Merger::Builtin) || args.verbose {
        for n in &notes {
            eprintln!("    note: {n}");
        }
    }
    eprintln!(
        "    load: {} ({}), merger: {merger}",
        driver.name(),
        settings.training.source
    );

    let mut phases = Phases::new(if args.no_compare { 4 } else { 6 });

    // 1. Instrumented build.
    std::fs::create_dir_all(&layout.raw)
        .with_context(|| format!("creating {}", layout.raw.display()))?;
    let raw_dir = std::fs::canonicalize(&layout.raw).unwrap_or_else(|_| layout.raw.clone());
    let instrumented = phases.run(
        "instrumented build",
        format!("-Cprofile-generate, into {}", layout.instrumented.display()),
        || {
            compile::build(&BuildRequest {
                project: &project,
                target_dir: &layout.instrumented,
                host_target: Some(&rustc.host),
                rustflags: vec![format!("-Cprofile-generate={}", raw_dir.display())],
                cflags: &["-fno-profile-generate"],
                profile_file: None,
                cargo_args: &args.cargo_args,
                verbose: args.verbose,
            })
        },
    )?;

    // 2. Training run.
    let training = phases.run(
        "training run",
        format!(
            "{} under {} load, {} connections, {:.0} s{}",
            instrumented.executable.display(),
            driver.name(),
            settings.connections,
            settings.duration.as_secs_f64(),
            args.requests
                .map(|n| format!(" or {n} requests"))
                .unwrap_or_default()
        ),
        || train(&args, &settings, &driver, &instrumented, &layout, &raw_dir),
    )?;

    // 3. Merge.
    let (profile, raw_count) = phases.run(
        "merge",
        format!(
            "{} .profraw file(s) with {merger}",
            training.raw.files.len()
        ),
        || {
            let profile = merger.merge(&training.raw.files, &layout.profiles, &project.target)?;
            merge::remove_old_profiles(&layout.profiles, &profile);
            if !args.keep_profiles {
                for f in training.raw.files.iter().chain(&training.raw.empty) {
                    let _ = std::fs::remove_file(f);
                }
            }
            let size = std::fs::metadata(&profile).map(|m| m.len()).unwrap_or(0);
            eprintln!("      profile: {} ({size} bytes)", profile.display());
            Ok((profile, training.raw.files.len()))
        },
    )?;

    // 4. Optimised build.
    let profile_abs = std::fs::canonicalize(&profile).unwrap_or_else(|_| profile.clone());
    let optimized = phases.run(
        "PGO build",
        format!("-Cprofile-use, into {}", layout.optimized.display()),
        || {
            let out = compile::build(&BuildRequest {
                project: &project,
                target_dir: &layout.optimized,
                host_target: Some(&rustc.host),
                rustflags: vec![
                    format!("-Cprofile-use={}", profile_abs.display()),
                    "-Cllvm-args=-pgo-warn-missing-function".into(),
                ],
                cflags: &["-fno-profile-use"],
                profile_file: Some(&profile_abs),
                cargo_args: &args.cargo_args,
                verbose: args.verbose,
            })?;
            check_diagnostics(&out, args.allow_missing_profiles)?;
            Ok(out)
        },
    )?;

    // 5-6. Comparison.
    let comparison = if args.no_compare {
        None
    } else {
        let plain = phases.run(
            "release-fat build",
            format!("no PGO, into {}", project.target_dir.display()),
            || {
                compile::build(&BuildRequest {
                    project: &project,
                    target_dir: &project.target_dir,
                    host_target: None,
                    rustflags: Vec::new(),
                    cflags: &[],
                    profile_file: None,
                    cargo_args: &args.cargo_args,
                    verbose: args.verbose,
                })
            },
        )?;
        let cmp_settings = compare::CompareSettings {
            pairs: args.pairs,
            warmup: Duration::from_secs_f64(args.warmup.max(0.0)),
            load: LoadOptions {
                duration: settings.compare_duration,
                max_requests: None,
                connections: settings.connections,
                progress: ProgressMode::Elapsed,
                ..LoadOptions::default()
            },
            server_args: settings.server_args.clone(),
            server_env: args
                .server_env
                .iter()
                .map(|(k, v)| (k.clone(), OsString::from(v)))
                .collect(),
            startup_timeout: settings.startup_timeout,
            stop_timeout: settings.stop_timeout,
            echo: args.verbose,
        };
        let c = phases.run(
            "compare",
            format!(
                "{} alternating pairs, {:.0} s each, {} ({})",
                args.pairs,
                settings.compare_duration.as_secs_f64(),
                driver.name(),
                settings.measure.source
            ),
            || {
                compare::run(
                    &driver,
                    &plain.executable,
                    &optimized.executable,
                    &settings.measure,
                    &cmp_settings,
                )
            },
        )?;
        Some(c)
    };

    let mut report = PgoReport {
        package: project.package.clone(),
        target: project.target.clone(),
        rustc: rustc.release.clone(),
        llvm: rustc.llvm.map(|v| v.to_string()),
        host: rustc.host.clone(),
        instrumented_binary: instrumented.executable.clone(),
        pgo_binary: optimized.executable.clone(),
        pgo_build_output: optimized.executable.clone(),
        profile: profile_abs.clone(),
        merger: merger.to_string(),
        raw_profiles: raw_count,
        training_workload: settings
            .training
            .requests
            .iter()
            .map(|r| r.to_string())
            .collect(),
        training: training.load.clone(),
        missing_functions: optimized.diagnostics.missing_functions.len(),
        profile_warnings: optimized
            .diagnostics
            .fatal
            .iter()
            .map(|(_, m)| m.clone())
            .collect(),
        compare: comparison,
        phases: phases.times.clone(),
    };
    let stable = install_binary(&optimized.executable, &layout)?;
    report.pgo_binary = stable.clone();
    let report_path = report_path(&stable);
    let json = serde_json::to_vec_pretty(&report)?;
    crate::fs::write_atomic(&report_path, &json)
        .with_context(|| format!("writing {}", report_path.display()))?;

    eprintln!();
    if let Some(c) = &report.compare {
        eprint!("{}", compare::table(c));
        eprintln!();
    }
    eprintln!(
        "PGO binary: {}\n    profile: {}\n    report:  {}\n    {} function(s) without profile data; total {:.1} s",
        stable.display(),
        profile_abs.display(),
        report_path.display(),
        report.missing_functions,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Copies the PGO binary to `<target>/armature-pgo/bin/<name>` (a path that does not
/// depend on the host triple, for scripts and Dockerfiles) and returns that path.
fn install_binary(built: &Path, layout: &Layout) -> Result<PathBuf> {
    let name = built
        .file_name()
        .context("the PGO binary has no file name")?;
    std::fs::create_dir_all(&layout.bin)
        .with_context(|| format!("creating {}", layout.bin.display()))?;
    let dest = layout.bin.join(name);
    let tmp = layout.bin.join(format!(".{}.tmp", name.to_string_lossy()));
    std::fs::copy(built, &tmp)
        .with_context(|| format!("copying {} to {}", built.display(), tmp.display()))?;
    std::fs::rename(&tmp, &dest)
        .with_context(|| format!("renaming {} to {}", tmp.display(), dest.display()))?;
    Ok(dest)
}

/// `<binary>.pgo-report.json` beside the binary.
pub fn report_path(exe: &Path) -> PathBuf {
    let name = exe
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "server".into());
    exe.with_file_name(format!("{name}.pgo-report.json"))
}

fn validate(args: &PgoArgs) -> Result<()> {
    let positive = |name: &str, v: Option<f64>| -> Result<()> {
        match v {
            Some(v) if !(v > 0.0 && v.is_finite()) => {
                bail!("{name} must be a positive number of seconds")
            }
            _ => Ok(()),
        }
    };
    positive("--duration", args.duration)?;
    positive("--compare-duration", args.compare_duration)?;
    positive("--startup-timeout", Some(args.startup_timeout))?;
    positive("--stop-timeout", Some(args.stop_timeout))?;
    if args.connections == Some(0) {
        bail!("--connections must be at least 1");
    }
    if args.requests == Some(0) {
        bail!("--requests must be at least 1");
    }
    Ok(())
}

/// The settings after merging CLI, workload file and Cargo.toml metadata (in that order
/// of precedence).
#[derive(Debug, Clone)]
struct Settings {
    training: Workload,
    measure: Workload,
    duration: Duration,
    compare_duration: Duration,
    connections: u32,
    server_args: Vec<String>,
    startup_timeout: Duration,
    stop_timeout: Duration,
}

impl Settings {
    fn resolve(args: &PgoArgs, manifest: &PgoConfig, file: Option<&PgoConfig>) -> Settings {
        let pick = |f: &dyn Fn(&PgoConfig) -> bool| -> Option<&PgoConfig> {
            file.filter(|c| f(c)).or(Some(manifest).filter(|c| f(c)))
        };
        let training = pick(&|c| c.training.is_some())
            .and_then(|c| c.training.clone())
            .unwrap_or_else(Workload::default_routes);
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
            startup_timeout: Duration::from_secs_f64(args.startup_timeout),
            stop_timeout: Duration::from_secs_f64(args.stop_timeout),
        }
    }
}

/// Prints each phase as it starts and ends, with its time.
struct Phases {
    total: usize,
    n: usize,
    times: Vec<PhaseTime>,
}

impl Phases {
    fn new(total: usize) -> Phases {
        Phases {
            total,
            n: 0,
            times: Vec::new(),
        }
    }

    fn run<T>(&mut self, name: &str, detail: String, f: impl FnOnce() -> Result<T>) -> Result<T> {
        self.n += 1;
        eprintln!("==> [{}/{}] {name}: {detail}", self.n, self.total);
        let t = Instant::now();
        let result = f();
        let secs = t.elapsed().as_secs_f64();
        match &result {
            Ok(_) => eprintln!("    {name} done in {secs:.1} s"),
            Err(_) => eprintln!("    {name} failed after {secs:.1} s"),
        }
        self.times.push(PhaseTime {
            phase: name.to_owned(),
            seconds: secs,
        });
        result.with_context(|| format!("pgo phase `{name}` failed"))
    }
}

struct Training {
    load: LoadReport,
    raw: RawProfiles,
}

fn train(
    args: &PgoArgs,
    settings: &Settings,
    driver: &Driver,
    instrumented: &BuildOutcome,
    layout: &Layout,
    raw_dir: &Path,
) -> Result<Training> {
    // Profiles of an earlier binary would not match this one: start clean.
    let old = RawProfiles::scan(&layout.raw)?;
    for f in old.files.iter().chain(&old.empty) {
        std::fs::remove_file(f).with_context(|| format!("removing old profile {}", f.display()))?;
    }
    let spec = ServerSpec {
        exe: instrumented.executable.clone(),
        addr: free_loopback_addr()?,
        args: settings.server_args.clone(),
        env: args
            .server_env
            .iter()
            .map(|(k, v)| (k.clone(), OsString::from(v)))
            .chain([(
                "LLVM_PROFILE_FILE".into(),
                OsString::from(raw_dir.join("%m_%p.profraw")),
            )])
            .collect(),
        pin_cpu: None,
        echo: args.verbose,
    };
    let mut server = RunningServer::start(&spec, settings.startup_timeout)?;
    eprintln!("      server listening on {}", server.addr());
    let opts = LoadOptions {
        duration: settings.duration,
        max_requests: args.requests,
        connections: settings.connections,
        progress: ProgressMode::Live,
        label: "training".into(),
        ..LoadOptions::default()
    };
    let load = driver.run(server.addr(), &settings.training, &opts)?;
    eprintln!("      {load}");
    if let Some(status) = server.exited()? {
        bail!(
            "the server exited during the training load ({}); no usable profile.{}",
            server::describe_status(status),
            server::show_output(&server.output_tail())
        );
    }
    if load.requests == 0 {
        bail!(
            "no request got a response ({}); check that the server speaks HTTP/1.1 on {}",
            load.errors,
            server.addr()
        );
    }
    if load.errors.http == load.requests {
        eprintln!(
            "      warning: every response had status >= 400: the workload's routes may not exist \
             in this app, so the profile trains only the error path"
        );
    }
    let (stopped, output) = server.stop(settings.stop_timeout)?;
    eprintln!(
        "      server stopped on SIGTERM in {:.2} s ({})",
        stopped.stop_time.as_secs_f64(),
        server::describe_status(stopped.status)
    );
    let raw = RawProfiles::scan(&layout.raw)?;
    if raw.files.is_empty() {
        bail!(
            "{}",
            no_profile_message(&stopped, &raw, &layout.raw, &output)
        );
    }
    if !stopped.status.success() {
        eprintln!(
            "      warning: the server exited with {} (a profile was still written)",
            server::describe_status(stopped.status)
        );
    }
    Ok(Training { load, raw })
}

fn no_profile_message(
    stopped: &server::Stopped,
    raw: &RawProfiles,
    dir: &Path,
    output: &str,
) -> String {
    let what = if raw.empty.is_empty() {
        format!("no profile was written to {}", dir.display())
    } else {
        format!(
            "only empty profiles were written to {} ({} file(s) of 0 bytes)",
            dir.display(),
            raw.empty.len()
        )
    };
    let cause = match stopped.signal() {
        Some(libc::SIGTERM) => {
            "The server was killed by SIGTERM instead of exiting: it has no SIGTERM \
             handler, so the profiling runtime (which writes at normal process exit) never ran. \
             Handle SIGTERM by shutting down and returning from main; armature-core servers do \
             this by default (`ServerConfig::handle_signals(true)`)."
                .to_owned()
        }
        Some(sig) => format!(
            "The server died from signal {sig} ({}), so the profiling runtime never ran; it only \
             writes when the process exits normally (return from main or `std::process::exit`).",
            server::describe_status(stopped.status)
        ),
        None => "The server exited normally, yet wrote no profile: it may not be the instrumented \
             binary, it may override LLVM_PROFILE_FILE, or it may leave with `_exit`/`abort`."
            .to_owned(),
    };
    format!("{what}. {cause}{}", server::show_output(output))
}

/// Fails when the optimised build saw a profile warning that means it is not (fully)
/// profile-guided; functions without profile data fail too unless `allow_missing`.
pub fn check_diagnostics(out: &BuildOutcome, allow_missing: bool) -> Result<()> {
    let d = &out.diagnostics;
    if !d.fatal.is_empty() {
        let changed = d
            .fatal
            .iter()
            .any(|(k, _)| *k == diagnostics::ProfileProblem::HashMismatch);
        let list: Vec<String> = d
            .fatal
            .iter()
            .take(10)
            .map(|(k, m)| format!("  {k}: {m}"))
            .collect();
        bail!(
            "rustc warned about the profile, so the build is not (fully) profile-guided; \
             refusing to call it a PGO build:\n{}{}{}",
            list.join("\n"),
            if d.fatal.len() > 10 {
                format!("\n  ... and {} more", d.fatal.len() - 10)
            } else {
                String::new()
            },
            if changed {
                "\nA hash mismatch means the code changed between the instrumented build and \
                 this one (a source or path dependency edited meanwhile?); run pgo again."
            } else {
                ""
            }
        );
    }
    if !d.missing_functions.is_empty() {
        let sample: Vec<String> = d
            .missing_functions
            .iter()
            .take(5)
            .map(|f| format!("  {f}"))
            .collect();
        let msg = format!(
            "{} function(s) had no profile data, e.g.:\n{}",
            d.missing_functions.len(),
            sample.join("\n")
        );
        if allow_missing {
            eprintln!("      warning: {msg}");
        } else {
            bail!(
                "{msg}\nThe profile does not match this build (were the sources or flags changed \
                 between phases?). `--allow-missing-profiles` accepts it."
            );
        }
    } else {
        eprintln!("      every function had profile data; no profile warnings");
    }
    Ok(())
}

/// `cargo armature pgo clean`.
fn clean(manifest_path: Option<&Path>) -> Result<()> {
    let mut cmd = cargo_metadata::MetadataCommand::new();
    cmd.no_deps();
    if let Some(cargo) = std::env::var_os("CARGO") {
        cmd.cargo_path(cargo);
    }
    if let Some(m) = manifest_path {
        cmd.manifest_path(m);
    }
    let metadata = cmd.exec().context("running `cargo metadata`")?;
    let root = Layout::new(metadata.target_directory.as_std_path(), "", "").root;
    if !root.exists() {
        eprintln!("nothing to clean: {} does not exist", root.display());
        return Ok(());
    }
    std::fs::remove_dir_all(&root).with_context(|| format!("removing {}", root.display()))?;
    eprintln!(
        "removed {} (profiles and the instrumented and PGO target directories)",
        root.display()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: PgoArgs,
    }

    fn parse(v: &[&str]) -> PgoArgs {
        Cli::try_parse_from(std::iter::once("pgo").chain(v.iter().copied()))
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
            Cli::try_parse_from(["pgo", "--pairs", "2"]).is_err(),
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
        let s = Settings::resolve(&parse(&[]), &manifest, Some(&file));
        assert_eq!(s.training.requests[0].path, "/f");
        assert_eq!(s.measure.requests[0].path, "/x");
        assert_eq!(s.duration, Duration::from_secs(7));
        assert_eq!(s.connections, 4);
        let s = Settings::resolve(
            &parse(&["--duration", "2", "--connections", "9"]),
            &manifest,
            None,
        );
        assert_eq!(s.training.requests[0].path, "/m");
        assert_eq!(s.measure, s.training);
        assert_eq!(s.duration, Duration::from_secs(2));
        assert_eq!(s.compare_duration, Duration::from_secs(2));
        assert_eq!(s.connections, 9);
        let s = Settings::resolve(&parse(&[]), &PgoConfig::default(), None);
        assert_eq!(s.training, Workload::default_routes());
        assert_eq!(s.duration, Duration::from_secs(10));
    }

    #[test]
    fn report_sits_beside_the_binary() {
        assert_eq!(
            report_path(Path::new("/t/release-fat/api")),
            PathBuf::from("/t/release-fat/api.pgo-report.json")
        );
    }
}
