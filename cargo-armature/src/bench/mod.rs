//! `cargo armature bench`: the criterion benches built with native-CPU flags,
//! each run compared with the previous one (a saved criterion baseline), and a
//! short summary of what got faster or slower.

pub mod summary;

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use std::io::Write as _;

use anyhow::Result;
use clap::Args;

use crate::build::native_args;
use crate::cargo::{self, Invocation, Project};

const EXAMPLES: &str = "\
Examples:
  cargo armature bench                         every [[bench]] target, compared with the last run
  cargo armature bench -- round_trip           only benchmarks matching a filter
  cargo armature bench --baseline before-pgo   keep separate baselines
  cargo armature bench --bench app -- --sample-size 20

Builds in <target-dir>/native with -Ctarget-cpu=native (added to your own flags);
results go to <target-dir>/native/criterion unless CRITERION_HOME is set.";

/// Arguments of `cargo armature bench`.
#[derive(Debug, Args)]
#[command(after_help = EXAMPLES)]
pub struct BenchArgs {
    /// Criterion baseline to compare with, then replace with this run
    #[arg(long, value_name = "NAME", default_value = "armature")]
    pub baseline: String,

    /// Only this bench target [default: every [[bench]] target]
    #[arg(long, value_name = "NAME")]
    pub bench: Option<String>,

    /// Path to the package's Cargo.toml
    #[arg(long, value_name = "PATH")]
    pub manifest_path: Option<PathBuf>,

    /// Arguments for criterion, after `--` (a filter, --sample-size N, ...)
    #[arg(last = true, value_name = "CRITERION_ARGS")]
    pub criterion_args: Vec<OsString>,
}

/// Criterion flags that choose a baseline themselves.
const BASELINE_FLAGS: [&str; 5] = [
    "--save-baseline",
    "--baseline",
    "--baseline-lenient",
    "--load-baseline",
    "--discard-baseline",
];

/// Runs `cargo armature bench`.
pub fn run(args: BenchArgs) -> Result<()> {
    let project = Project::locate(args.manifest_path.as_deref())?;

    // `--bench '*'` selects bench targets only, so criterion's flags never
    // reach a libtest harness that would reject them.
    let mut inv = Invocation::new(["bench", "--bench", args.bench.as_deref().unwrap_or("*")]);
    if let Some(path) = &args.manifest_path {
        inv.args.push("--manifest-path".into());
        inv.args.push(path.into());
    }
    native_args(&project, &[], &mut inv)?;

    let home = match std::env::var_os("CRITERION_HOME") {
        Some(dir) => PathBuf::from(dir),
        None => {
            let dir = crate::build::native_target_dir(&project).join("criterion");
            inv.env("CRITERION_HOME", Some(dir.clone().into()));
            dir
        }
    };

    inv.args.push("--".into());
    let user_picks_baseline = BASELINE_FLAGS
        .iter()
        .any(|f| cargo::has_flag(&args.criterion_args, f));
    if !user_picks_baseline {
        inv.args.push("--save-baseline".into());
        inv.args.push(args.baseline.clone().into());
    }
    inv.args.extend(args.criterion_args.iter().cloned());

    // File times can be coarse; anything written from a second before the start counts.
    let started = SystemTime::now() - Duration::from_secs(1);
    eprintln!("     Running `{}`", inv.display());
    inv.run()?;

    let outcomes = summary::collect(&home, started)?;
    write!(
        std::io::stdout(),
        "{}",
        summary::render(&outcomes, &args.baseline)
    )?;
    Ok(())
}
