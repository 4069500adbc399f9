//! The end of the PGO loop: the binaries copied to stable paths, the
//! `<binary>.pgo-report.json` written beside them, and the before/after summary.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use serde::Serialize;

use super::args::PgoArgs;
use super::bolt::{self, BoltOutcome};
use super::compare::{self, Comparison};
use super::compile::BuildOutcome;
use super::mode;
use super::phases::MergeOutcome;
use super::plan::PgoPlan;
use super::project::PgoDirs;
use super::train::Training;
use crate::load::LoadReport;

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
    /// Whether every build had `-Ctarget-cpu=native` (`--native`).
    pub native: bool,
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
    /// The clang that built (and profiled) build scripts' C and C++ code in every
    /// build, baseline included; `None`: that code was built as usual, unprofiled.
    pub c_compiler: Option<PathBuf>,
    /// `.profraw` files merged.
    pub raw_profiles: usize,
    /// How the training profile was collected (`--profile-mode`).
    pub profile_mode: mode::ProfileMode,
    /// What that mode does and costs.
    pub profile_collection: String,
    /// How the instrumented server stopped after the training load.
    pub training_stop: String,
    /// Where the server listened, when not where it was asked to (`--addr`, or found
    /// in `/proc` by the training run).
    pub server_addr: Option<std::net::SocketAddr>,
    /// The stack read from the package's dependencies (for the advice on SIGTERM).
    pub stack: String,
    /// The training mix.
    pub training_workload: Vec<String>,
    /// What the training load measured (on the instrumented binary: not a benchmark).
    pub training: LoadReport,
    /// Functions the optimised build found no profile data for.
    pub missing_functions: usize,
    /// Profile warnings that would have meant a partly non-PGO build (always empty in a
    /// report: they fail the loop).
    pub profile_warnings: Vec<String>,
    /// The BOLT phases (`--bolt`).
    pub bolt: Option<bolt::BoltOutcome>,
    /// The PGO+BOLT binary, copied beside the PGO binary (`<name>-bolt`).
    pub bolt_binary: Option<PathBuf>,
    /// The before/after comparison, unless `--no-compare`.
    pub compare: Option<compare::Comparison>,
    /// Time per phase.
    pub phases: Vec<PhaseTime>,
}

/// What the phases produced, for the report.
pub(crate) struct Outcomes {
    pub(crate) instrumented: BuildOutcome,
    pub(crate) training: Training,
    pub(crate) profile: MergeOutcome,
    pub(crate) optimized: BuildOutcome,
    pub(crate) bolt: Option<BoltOutcome>,
    pub(crate) comparison: Option<Comparison>,
    pub(crate) phases: Vec<PhaseTime>,
}

/// Copies the binaries to their stable paths, writes the JSON report beside them and
/// prints the summary (the comparison table, the paths, the total time).
pub(crate) fn finish(
    plan: &PgoPlan,
    args: &PgoArgs,
    done: Outcomes,
    started: Instant,
) -> Result<()> {
    let optimized = done.optimized.executable.clone();
    let mut report = PgoReport::new(plan, args, done);
    let stable = install_binary(&optimized, &plan.dirs)?;
    report.pgo_binary = stable.clone();
    if let Some(b) = &report.bolt {
        let name = format!(
            "{}-bolt",
            stable
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        );
        report.bolt_binary = Some(install_as(&b.binary, &plan.dirs, &name)?);
    }
    let report_path = report_path(&stable);
    let json = serde_json::to_vec_pretty(&report)?;
    crate::fs::write_atomic(&report_path, &json)
        .with_context(|| format!("writing {}", report_path.display()))?;
    print_summary(&report, &report_path, started);
    Ok(())
}

impl PgoReport {
    /// The report of a finished loop; `pgo_binary` is where cargo built it until
    /// [`finish`] copies it, and `bolt_binary` is set there too.
    fn new(plan: &PgoPlan, args: &PgoArgs, done: Outcomes) -> PgoReport {
        let Outcomes {
            instrumented,
            training,
            profile,
            optimized,
            bolt,
            comparison,
            phases,
        } = done;
        let (rustc, settings, mode) = (&plan.rustc, &plan.settings, plan.mode);
        PgoReport {
            package: plan.app.package.clone(),
            target: plan.app.target.clone(),
            rustc: rustc.release.clone(),
            llvm: rustc.llvm.map(|v| v.to_string()),
            host: rustc.host.clone(),
            native: args.native,
            instrumented_binary: instrumented.executable,
            pgo_binary: optimized.executable.clone(),
            pgo_build_output: optimized.executable,
            profile: profile.path,
            merger: plan.merger.to_string(),
            c_compiler: plan.clang.as_ref().map(|c| c.clang.clone()),
            raw_profiles: profile.raw_files,
            profile_mode: mode,
            profile_collection: mode.describe().to_owned(),
            training_stop: training.stop,
            server_addr: settings.addr,
            stack: plan.app.stack.to_string(),
            training_workload: settings
                .training
                .requests
                .iter()
                .map(|r| r.to_string())
                .collect(),
            training: training.load,
            missing_functions: optimized.diagnostics.missing_functions.len(),
            profile_warnings: optimized
                .diagnostics
                .fatal
                .into_iter()
                .map(|(_, m)| m)
                .collect(),
            bolt,
            bolt_binary: None,
            compare: comparison,
            phases,
        }
    }
}

/// The comparison table, then where everything is.
fn print_summary(report: &PgoReport, report_path: &Path, started: Instant) {
    eprintln!();
    if let Some(c) = &report.compare {
        eprint!("{}", compare::table(c));
        eprintln!();
    }
    if let Some(b) = &report.bolt_binary {
        eprintln!("PGO+BOLT binary: {}", b.display());
    }
    eprintln!(
        "PGO binary: {}\n    profile: {}\n    report:  {}\n    {} function(s) without profile data; total {:.1} s",
        report.pgo_binary.display(),
        report.profile.display(),
        report_path.display(),
        report.missing_functions,
        started.elapsed().as_secs_f64()
    );
}

/// Copies the PGO binary to `<target>/armature-pgo/bin/<name>` (a path that does not
/// depend on the host triple, for scripts and Dockerfiles) and returns that path.
fn install_binary(built: &Path, dirs: &PgoDirs) -> Result<PathBuf> {
    let name = built
        .file_name()
        .context("the PGO binary has no file name")?;
    install_as(built, dirs, &name.to_string_lossy())
}

/// Copies `built` to `<target>/armature-pgo/bin/<name>` (atomically).
fn install_as(built: &Path, dirs: &PgoDirs, name: &str) -> Result<PathBuf> {
    let name = std::ffi::OsStr::new(name);
    std::fs::create_dir_all(&dirs.bin)
        .with_context(|| format!("creating {}", dirs.bin.display()))?;
    let dest = dirs.bin.join(name);
    let tmp = dirs.bin.join(format!(".{}.tmp", name.to_string_lossy()));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_sits_beside_the_binary() {
        assert_eq!(
            report_path(Path::new("/t/release-fat/api")),
            PathBuf::from("/t/release-fat/api.pgo-report.json")
        );
    }
}
