//! The phases of the PGO loop, in the order [`super::run`] runs them: the instrumented
//! build, the training run, the merge, the PGO build, BOLT (`--bolt`), and the
//! comparison with a plain `release-fat` build (unless `--no-compare`). Each is timed
//! and announced by [`Phases`].

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use super::args::PgoArgs;
use super::bolt::{self, BoltOutcome};
use super::compare::{self, Comparison};
use super::compile::{self, BuildOutcome, BuildRequest};
use super::diagnostics;
use super::merge;
use super::plan::PgoPlan;
use super::report::PhaseTime;
use super::train::{self, Training};
use crate::load::{LoadOptions, ProgressMode};

/// Prints each phase as it starts and ends, with its time.
pub(crate) struct Phases {
    total: usize,
    n: usize,
    pub(crate) times: Vec<PhaseTime>,
}

impl Phases {
    /// The phases `args` ask for: the four of PGO, BOLT's, and the comparison's two.
    pub(crate) fn for_args(args: &PgoArgs) -> Phases {
        Phases {
            total: 4 + if args.no_compare { 0 } else { 2 } + usize::from(args.bolt),
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

/// The directory the instrumented server writes its `.profraw` files to, created, as
/// an absolute path (it is baked into the instrumented binary).
pub(crate) fn raw_profile_dir(plan: &PgoPlan) -> Result<PathBuf> {
    let raw = &plan.dirs.raw;
    std::fs::create_dir_all(raw).with_context(|| format!("creating {}", raw.display()))?;
    Ok(std::fs::canonicalize(raw).unwrap_or_else(|_| raw.clone()))
}

/// Phase 1: the instrumented build: `-Cprofile-generate` (and `-fprofile-generate` for C with
/// a matching clang), into its own target directory.
pub(crate) fn instrumented_build(
    phases: &mut Phases,
    plan: &PgoPlan,
    args: &PgoArgs,
    raw_dir: &Path,
) -> Result<BuildOutcome> {
    let mode = plan.mode;
    phases.run(
        "instrumented build",
        format!(
            "-Cprofile-generate ({mode}), into {}",
            plan.dirs.instrumented.display()
        ),
        || {
            compile::build(&BuildRequest {
                target: &plan.app,
                host: &plan.host,
                target_dir: &plan.dirs.instrumented,
                pass_target: true,
                rustflags: [format!("-Cprofile-generate={}", raw_dir.display())]
                    .into_iter()
                    .chain(mode.generate_flags())
                    .chain(plan.native.iter().cloned())
                    .chain(plan.bolt_flags.iter().cloned())
                    .collect(),
                config: plan.bolt_config,
                cflags: match &plan.clang {
                    Some(_) => [format!("-fprofile-generate={}", raw_dir.display())]
                        .into_iter()
                        .chain(mode.generate_cflags())
                        .collect(),
                    None => vec!["-fno-profile-generate".into()],
                },
                c_compiler: plan.clang.as_ref(),
                profile_file: None,
                cargo_args: &args.cargo_args,
                verbose: args.verbose,
            })
        },
    )
}

/// Phase 2: the training run: the instrumented server under load, then stopped.
pub(crate) fn training_run(
    phases: &mut Phases,
    plan: &PgoPlan,
    args: &PgoArgs,
    instrumented: &BuildOutcome,
    raw_dir: &Path,
) -> Result<Training> {
    let settings = &plan.settings;
    phases.run(
        "training run",
        format!(
            "{} under {} load, {} connections, {:.0} s{}",
            instrumented.executable.display(),
            plan.driver.name(),
            settings.connections,
            settings.duration.as_secs_f64(),
            args.requests
                .map(|n| format!(" or {n} requests"))
                .unwrap_or_default()
        ),
        || {
            train::train(&train::TrainRequest {
                args,
                settings,
                driver: &plan.driver,
                instrumented,
                dirs: &plan.dirs,
                raw_dir,
                mode: plan.mode,
                stack: plan.app.stack,
            })
        },
    )
}

/// The merged profile.
pub(crate) struct MergeOutcome {
    /// Its absolute path (what `-Cprofile-use` and the report name).
    pub(crate) path: PathBuf,
    /// How many `.profraw` files went into it.
    pub(crate) raw_files: usize,
}

/// Phase 3: the merge: the training's `.profraw` files into one `.profdata`, named after a
/// hash of its contents; the `.profraw` files are removed unless `--keep-profiles`.
pub(crate) fn merge_profiles(
    phases: &mut Phases,
    plan: &PgoPlan,
    args: &PgoArgs,
    training: &Training,
) -> Result<MergeOutcome> {
    let raw = &training.raw;
    let (profile, raw_files) = phases.run(
        "merge",
        format!("{} .profraw file(s) with {}", raw.files.len(), plan.merger),
        || {
            let dir = &plan.dirs.profiles;
            let profile = plan.merger.merge(&raw.files, dir, &plan.app.target)?;
            merge::remove_old_profiles(dir, &profile);
            if !args.keep_profiles {
                for f in raw.files.iter().chain(&raw.empty) {
                    let _ = std::fs::remove_file(f);
                }
            }
            let size = std::fs::metadata(&profile).map(|m| m.len()).unwrap_or(0);
            eprintln!("      profile: {} ({size} bytes)", profile.display());
            Ok((profile, raw.files.len()))
        },
    )?;
    Ok(MergeOutcome {
        path: std::fs::canonicalize(&profile).unwrap_or(profile),
        raw_files,
    })
}

/// Phase 4: the PGO build: `-Cprofile-use` (and `-fprofile-use` for C with a matching clang),
/// failing on any profile warning ([`check_diagnostics`]).
pub(crate) fn pgo_build(
    phases: &mut Phases,
    plan: &PgoPlan,
    args: &PgoArgs,
    profile: &MergeOutcome,
) -> Result<BuildOutcome> {
    let mode = plan.mode;
    let profile = &profile.path;
    phases.run(
        "PGO build",
        format!("-Cprofile-use, into {}", plan.dirs.optimized.display()),
        || {
            let out = compile::build(&BuildRequest {
                target: &plan.app,
                host: &plan.host,
                target_dir: &plan.dirs.optimized,
                pass_target: true,
                rustflags: [
                    format!("-Cprofile-use={}", profile.display()),
                    "-Cllvm-args=-pgo-warn-missing-function".into(),
                ]
                .into_iter()
                .chain(mode.use_flags())
                .chain(plan.native.iter().cloned())
                .chain(plan.bolt_flags.iter().cloned())
                .collect(),
                config: plan.bolt_config,
                cflags: match &plan.clang {
                    Some(_) => vec![
                        format!("-fprofile-use={}", profile.display()),
                        // Code the training never ran, and a profile of another
                        // build's C: not errors, as rustc's missing functions are not.
                        "-Wno-profile-instr-unprofiled".into(),
                        "-Wno-profile-instr-out-of-date".into(),
                    ]
                    .into_iter()
                    .chain(mode.use_cflags())
                    .collect(),
                    None => vec!["-fno-profile-use".into()],
                },
                c_compiler: plan.clang.as_ref(),
                profile_file: Some(profile),
                cargo_args: &args.cargo_args,
                verbose: args.verbose,
            })?;
            check_diagnostics(&out, args.allow_missing_profiles)?;
            Ok(out)
        },
    )
}

/// Phase 5: BOLT on the PGO binary (`--bolt`): instrument, train, merge-fdata, optimise.
/// `None` without `--bolt`.
pub(crate) fn bolt_binary(
    phases: &mut Phases,
    plan: &PgoPlan,
    args: &PgoArgs,
    optimized: &BuildOutcome,
) -> Result<Option<BoltOutcome>> {
    let Some(tools) = &plan.bolt_tools else {
        return Ok(None);
    };
    let settings = &plan.settings;
    let outcome = phases.run(
        "BOLT",
        format!(
            "instrument, train {:.0} s under {} load, merge-fdata, optimise",
            settings.duration.as_secs_f64(),
            plan.driver.name()
        ),
        || {
            bolt::run(
                tools,
                &optimized.executable,
                &plan.dirs.root.join("bolt"),
                &bolt::BoltTraining {
                    driver: &plan.driver,
                    workload: &settings.training,
                    load: bolt::training_load(
                        settings.duration,
                        settings.connections,
                        args.requests,
                    ),
                    server_args: settings.server_args.clone(),
                    server_env: args.server_env_os(),
                    addr: settings.addr,
                    startup_timeout: settings.startup_timeout,
                    stop_timeout: settings.stop_timeout,
                    echo: args.verbose,
                },
            )
        },
    )?;
    Ok(Some(outcome))
}

/// Phases 6 and 7: the comparison: a plain `release-fat` build, then alternating rounds of it, the
/// PGO binary and the PGO+BOLT one under the measuring load. `None` with `--no-compare`.
pub(crate) fn comparison(
    phases: &mut Phases,
    plan: &PgoPlan,
    args: &PgoArgs,
    optimized: &BuildOutcome,
    bolt: Option<&BoltOutcome>,
) -> Result<Option<Comparison>> {
    if args.no_compare {
        return Ok(None);
    }
    let settings = &plan.settings;
    let plain = phases.run(
        "release-fat build",
        format!(
            "no PGO{}, into {}",
            if args.native {
                ", -Ctarget-cpu=native"
            } else {
                ""
            },
            plan.plain_dir.display()
        ),
        || {
            compile::build(&BuildRequest {
                target: &plan.app,
                host: &plan.host,
                target_dir: &plan.plain_dir,
                pass_target: false,
                rustflags: plan.native.clone(),
                config: &[],
                cflags: Vec::new(),
                c_compiler: plan.clang.as_ref(),
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
        server_env: args.server_env_os(),
        addr: settings.addr,
        startup_timeout: settings.startup_timeout,
        stop_timeout: settings.stop_timeout,
        echo: args.verbose,
    };
    let c = phases.run(
        "compare",
        format!(
            "{} alternating rounds, {:.0} s each, {} ({})",
            args.pairs,
            settings.compare_duration.as_secs_f64(),
            plan.driver.name(),
            settings.measure.source
        ),
        || {
            compare::run(
                &plan.driver,
                &[
                    ("release-fat", plain.executable.as_path()),
                    ("pgo", optimized.executable.as_path()),
                ]
                .into_iter()
                .chain(bolt.map(|b| ("pgo+bolt", b.binary.as_path())))
                .collect::<Vec<_>>(),
                &settings.measure,
                &cmp_settings,
            )
        },
    )?;
    Ok(Some(c))
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
