//! BOLT after PGO (`--bolt`): the PGO binary (linked with `-Wl,-q`, not stripped)
//! instrumented by `llvm-bolt -instrument`, trained under the same load with the same
//! graceful stop, its `.fdata` files merged with `merge-fdata`, and optimised by
//! `llvm-bolt -data`. Any failure fails the command with BOLT's own message: there is
//! never a silently unoptimised binary.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

use super::server::{self, RunningServer, ServerSpec};
use crate::load::{Driver, LoadOptions, LoadReport, ProgressMode, Workload};
use crate::toolchain::BoltTools;

/// Rustflags the PGO build needs for BOLT: relocations kept in the output.
pub const LINK_FLAGS: [&str; 1] = ["-Clink-arg=-Wl,-q"];

/// `--config` for the PGO build: symbols kept (BOLT needs them).
pub const NO_STRIP: &str = "profile.release-fat.strip=false";

/// The optimisation passes (BOLT's README recommendation for large binaries).
pub const OPTIMIZE_ARGS: [&str; 6] = [
    "-reorder-blocks=ext-tsp",
    "-reorder-functions=cdsort",
    "-split-functions",
    "-split-all-cold",
    "-split-eh",
    "-dyno-stats",
];

/// What the BOLT phases produced.
#[derive(Debug, Clone, serde::Serialize)]
pub struct BoltOutcome {
    /// The llvm-bolt used.
    pub llvm_bolt: PathBuf,
    /// Its LLVM version.
    pub version: String,
    /// The instrumented binary.
    pub instrumented_binary: PathBuf,
    /// The merged profile.
    pub profile: PathBuf,
    /// `.fdata` files merged.
    pub fdata_files: usize,
    /// The training load on the instrumented binary (not a benchmark).
    pub training: LoadReport,
    /// The optimised binary.
    pub binary: PathBuf,
    /// Functions with profile data, out of all, as BOLT reported.
    pub profiled_functions: Option<(u64, u64)>,
}

/// How to run the BOLT training.
pub struct BoltTraining<'a> {
    /// The load driver.
    pub driver: &'a Driver,
    /// The training mix.
    pub workload: &'a Workload,
    /// The load.
    pub load: LoadOptions,
    /// Server arguments and environment.
    pub server_args: Vec<String>,
    /// Server environment.
    pub server_env: Vec<(String, std::ffi::OsString)>,
    /// Where the server listens when not where it is asked to (`--addr`, or found by
    /// the training run).
    pub addr: Option<std::net::SocketAddr>,
    /// Timeouts.
    pub startup_timeout: std::time::Duration,
    /// Timeouts.
    pub stop_timeout: std::time::Duration,
    /// Echo server output.
    pub echo: bool,
}

fn run_tool(tool: &Path, args: &[std::ffi::OsString]) -> Result<String> {
    let shown = format!(
        "{} {}",
        tool.display(),
        args.iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join(" ")
    );
    let out = crate::children::output(Command::new(tool).args(args))
        .with_context(|| format!("cannot run `{shown}`"))?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if !out.status.success() || text.contains("BOLT-ERROR") {
        let lines: Vec<&str> = text.lines().collect();
        let tail = lines[lines.len().saturating_sub(30)..].join("\n");
        bail!(
            "`{shown}` failed ({}); BOLT said:\n{tail}",
            server::describe_status(out.status)
        );
    }
    Ok(text)
}

/// `BOLT-INFO: N out of M functions in the binary (...) have non-empty execution profile`.
pub fn profiled_functions(output: &str) -> Option<(u64, u64)> {
    output.lines().find_map(|l| {
        let rest = l.split("BOLT-INFO: ").nth(1)?;
        let (n, rest) = rest.split_once(" out of ")?;
        let (m, rest) = rest.split_once(' ')?;
        rest.starts_with("functions in the binary")
            .then(|| Some((n.trim().parse().ok()?, m.trim().parse().ok()?)))?
    })
}

/// Instruments, trains, merges and optimises `pgo_binary` into `dir`.
pub fn run(
    tools: &BoltTools,
    pgo_binary: &Path,
    dir: &Path,
    training: &BoltTraining<'_>,
) -> Result<BoltOutcome> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let name = pgo_binary
        .file_name()
        .context("the PGO binary has no file name")?
        .to_string_lossy()
        .into_owned();
    for e in std::fs::read_dir(dir)?.flatten() {
        if e.file_name().to_string_lossy().starts_with("prof.fdata.") {
            let _ = std::fs::remove_file(e.path());
        }
    }
    let instrumented = dir.join(format!("{name}.bolt-instrumented"));
    let fdata_base = dir.join("prof.fdata");
    let args: Vec<std::ffi::OsString> = vec![
        pgo_binary.into(),
        "-instrument".into(),
        "-o".into(),
        instrumented.clone().into(),
        format!("--instrumentation-file={}", fdata_base.display()).into(),
        "--instrumentation-file-append-pid".into(),
    ];
    eprintln!("      instrumenting with {}", tools.llvm_bolt.display());
    run_tool(&tools.llvm_bolt, &args)?;

    let spec = ServerSpec {
        args: training.server_args.clone(),
        env: training.server_env.clone(),
        echo: training.echo,
        ..ServerSpec::new(instrumented.clone(), training.addr)?
    };
    let mut srv = RunningServer::start(&spec, training.startup_timeout)
        .context("starting the BOLT-instrumented server")?;
    let load = training
        .driver
        .run(srv.addr(), training.workload, &training.load)?;
    eprintln!("      {load}");
    if let Some(status) = srv.exited()? {
        bail!(
            "the BOLT-instrumented server exited during the training load ({}).{}",
            server::describe_status(status),
            server::show_output(&srv.output_tail())
        );
    }
    let (stopped, output) = srv.stop(training.stop_timeout)?;
    if !stopped.status.success() {
        bail!(
            "the BOLT-instrumented server did not exit cleanly after SIGTERM ({}), so BOLT \
             wrote no profile.{}",
            server::describe_status(stopped.status),
            server::show_output(&output)
        );
    }
    let mut fdata: Vec<PathBuf> = std::fs::read_dir(dir)?
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("prof.fdata."))
                && std::fs::metadata(p).is_ok_and(|m| m.len() > 0)
        })
        .collect();
    fdata.sort();
    if fdata.is_empty() {
        bail!(
            "the BOLT-instrumented server exited cleanly but wrote no {}.* profile; BOLT's \
             runtime writes it from DT_FINI, which `_exit`/`abort` skip",
            fdata_base.display()
        );
    }
    let merged = dir.join(format!("{name}.fdata"));
    let merge_args: Vec<std::ffi::OsString> = fdata.iter().map(Into::into).collect();
    let out = crate::children::output(Command::new(&tools.merge_fdata).args(&merge_args))
        .with_context(|| format!("cannot run {}", tools.merge_fdata.display()))?;
    if !out.status.success() || out.stdout.is_empty() {
        bail!(
            "`{} ...` failed ({}): {}",
            tools.merge_fdata.display(),
            server::describe_status(out.status),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    crate::fs::write_atomic(&merged, &out.stdout)
        .with_context(|| format!("writing {}", merged.display()))?;

    let optimized = dir.join(format!("{name}.bolt"));
    let mut args: Vec<std::ffi::OsString> = vec![
        pgo_binary.into(),
        "-o".into(),
        optimized.clone().into(),
        format!("-data={}", merged.display()).into(),
    ];
    args.extend(OPTIMIZE_ARGS.iter().map(Into::into));
    eprintln!("      optimising with {} profile(s)", fdata.len());
    let text = run_tool(&tools.llvm_bolt, &args)?;
    let profiled = profiled_functions(&text);
    if let Some((0, total)) = profiled {
        bail!(
            "BOLT found no profile data for any of the {total} functions of {}: the BOLT \
             binary would not be optimised",
            pgo_binary.display()
        );
    }
    if let Some((n, total)) = profiled {
        eprintln!("      BOLT: {n} of {total} functions have profile data");
    }
    Ok(BoltOutcome {
        llvm_bolt: tools.llvm_bolt.clone(),
        version: tools.version.to_string(),
        instrumented_binary: instrumented,
        profile: merged,
        fdata_files: fdata.len(),
        training: load,
        binary: optimized,
        profiled_functions: profiled,
    })
}

/// The load options of the BOLT training: the same as the PGO training's.
pub fn training_load(
    duration: std::time::Duration,
    connections: u32,
    requests: Option<u64>,
) -> LoadOptions {
    LoadOptions {
        duration,
        max_requests: requests,
        connections,
        progress: ProgressMode::Live,
        label: "BOLT training".into(),
        ..LoadOptions::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_profiled_function_count() {
        let out = "BOLT-WARNING: x\nBOLT-INFO: 33 out of 520 functions in the binary (6.3%) have non-empty execution profile\n";
        assert_eq!(profiled_functions(out), Some((33, 520)));
        assert_eq!(profiled_functions("BOLT-INFO: nothing"), None);
    }
}
