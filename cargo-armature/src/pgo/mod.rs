//! `cargo armature pgo`: the whole profile-guided-optimisation loop for a server —
//! instrumented build, a training run under HTTP load, a graceful SIGTERM stop, merging
//! the profiles, the optimised build (failing on any profile warning), and a
//! before/after comparison against the plain `release-fat` build.
//!
//! [`run`] reads as the loop: `plan` decides what is built and run, `phases` runs
//! each phase, `report` writes the report and prints the summary. Where the phases'
//! files go is described by [`project::PgoDirs`]; `cargo armature pgo clean` removes
//! them.

mod args;
pub mod bolt;
pub mod compare;
pub mod compile;
pub mod counters;
pub mod diagnostics;
pub mod flags;
pub mod merge;
pub mod mode;
mod phases;
mod plan;
pub mod project;
mod report;
pub mod server;
pub mod stack;
mod train;

use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result};

use args::validate;
pub use args::{PgoAction, PgoArgs};
pub use phases::check_diagnostics;
use phases::Phases;
use plan::PgoPlan;
use project::PgoDirs;
pub use report::{report_path, PgoReport, PhaseTime};

/// Runs `cargo armature pgo`.
pub fn run(args: PgoArgs) -> Result<()> {
    if let Some(PgoAction::Clean { manifest_path }) = &args.action {
        return clean(manifest_path.as_deref());
    }
    validate(&args)?;
    if let Some(addr) = args.addr {
        // Before anything is built: a taken port is the user's to free or change.
        server::ensure_free(addr).map_err(|e| crate::error::usage(format!("--addr: {e:#}")))?;
    }
    let started = Instant::now();
    let mut plan = PgoPlan::prepare(&args)?;
    let mut phases = Phases::for_args(&args);

    let raw_dir = phases::raw_profile_dir(&plan)?;
    let instrumented = phases::instrumented_build(&mut phases, &plan, &args, &raw_dir)?;
    let training = phases::training_run(&mut phases, &plan, &args, &instrumented, &raw_dir)?;
    // Every later run of the server (BOLT, comparison) goes where it was found.
    plan.settings.addr = plan.settings.addr.or(training.found_addr);
    let profile = phases::merge_profiles(&mut phases, &plan, &args, &training)?;
    let optimized = phases::pgo_build(&mut phases, &plan, &args, &profile)?;
    let bolt = phases::bolt_binary(&mut phases, &plan, &args, &optimized)?;
    let comparison = phases::comparison(&mut phases, &plan, &args, &optimized, bolt.as_ref())?;

    let outcomes = report::Outcomes {
        instrumented,
        training,
        profile,
        optimized,
        bolt,
        comparison,
        phases: phases.times,
    };
    report::finish(&plan, &args, outcomes, started)
}

/// `cargo armature pgo clean`.
fn clean(manifest_path: Option<&Path>) -> Result<()> {
    let project = crate::cargo::Project::locate(manifest_path)?;
    let root = PgoDirs::new(&project.target_dir, "", "").root;
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
