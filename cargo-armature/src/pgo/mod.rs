//! `cargo armature pgo`: the whole profile-guided-optimisation loop for a server —
//! instrumented build, a training run under HTTP load, a graceful SIGTERM stop, merging
//! the profiles, the optimised build (failing on any profile warning), and a
//! before/after comparison against the plain `release-fat` build.
//!
//! Phases and where their files go are described by [`project::Layout`]; `cargo
//! armature pgo clean` removes them.

mod args;
pub mod bolt;
pub mod compare;
pub mod compile;
pub mod counters;
pub mod diagnostics;
pub mod flags;
pub mod merge;
pub mod mode;
pub mod project;
pub mod server;
pub mod stack;
mod train;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use serde::Serialize;

use crate::cargo::rustflags::HostCfg;
use crate::load::{
    access_log, Driver, LoadOptions, LoadReport, PgoConfig, ProgressMode, RequestSpec,
};
use crate::toolchain::RustcInfo;
use args::{validate, Settings};
pub use args::{PgoAction, PgoArgs};
use compile::{BuildOutcome, BuildRequest};
use merge::Merger;
use project::{Layout, PgoTarget};

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
    let rustc = RustcInfo::detect()?;
    let app = PgoTarget::select(
        crate::cargo::Project::locate(args.manifest_path.as_deref())?,
        &args,
    )?;
    let host = HostCfg::detect()?;
    let layout = app.layout(args.native);
    // The same flag and rules as `cargo armature build --native`, in every build.
    let native: Vec<String> = if args.native {
        vec![crate::cargo::rustflags::NATIVE.to_owned()]
    } else {
        Vec::new()
    };
    let plain_dir = if args.native {
        crate::build::native_target_dir(&app.project)
    } else {
        app.project.target_dir.clone()
    };
    let file_config = match &args.workload {
        Some(f) => Some(PgoConfig::from_toml_file(f)?),
        None => None,
    };
    let log_training = match &args.workload_from_log {
        Some(log) => {
            // Bodies for the log's POST/PUT/PATCH routes: every entry of the workload
            // file and of [package.metadata.armature.pgo].
            let bodies: Vec<RequestSpec> = file_config
                .iter()
                .chain([&app.config])
                .flat_map(|c| c.training.iter().chain(c.measure.iter()))
                .flat_map(|w| w.requests.iter().cloned())
                .collect();
            let (workload, summary) = access_log::read_log(log, &bodies)?;
            eprintln!("    access log {}: {summary}", log.display());
            Some(workload)
        }
        None => None,
    };
    let mut settings = Settings::resolve(&args, &app.config, file_config.as_ref(), log_training);
    let mode = args.profile_mode;

    eprintln!(
        "cargo armature pgo: {} `{}` of {} (rustc {}, LLVM {}, {})",
        app.kind_name(),
        app.target,
        app.package,
        rustc.release,
        rustc
            .llvm
            .map(|v| v.to_string())
            .unwrap_or_else(|| "unknown".into()),
        rustc.host
    );
    if !app.has_profile {
        eprintln!(
            "    note: no [profile.{}] in {}: using lto=\"fat\", codegen-units=1, panic=\"abort\" \
             for this run (`cargo armature build --fat` adds the profile to Cargo.toml)",
            project::PROFILE,
            app.project.root_manifest.display()
        );
    }
    let bolt_tools = if args.bolt {
        let found = crate::toolchain::bolt::find_llvm_bolt(&rustc);
        if args.verbose {
            for s in &found.skipped {
                eprintln!(
                    "    note: skipped llvm-bolt {}: {}",
                    s.path.display(),
                    s.reason
                );
            }
        }
        match found.usable.clone() {
            Some(t) => {
                eprintln!(
                    "    bolt: {} (LLVM {}, {}), {}",
                    t.llvm_bolt.display(),
                    t.version,
                    t.origin,
                    t.merge_fdata.display()
                );
                Some(t)
            }
            None => bail!("--bolt: {}", found.install_hint(&rustc)),
        }
    } else {
        None
    };
    // C and C++ code from build scripts (`cc`): profiled with a clang matching rustc's
    // LLVM, else built as before and said so.
    let clang = match crate::toolchain::clang::find_clang(&rustc) {
        crate::toolchain::clang::ClangDiscovery::Usable(t) => {
            eprintln!(
                "    C/C++: {} (clang {}, {}): code that build scripts compile with `cc` is \
                 profiled too, and the release-fat baseline is built with the same compiler",
                t.clang.display(),
                t.version,
                t.origin
            );
            Some(t)
        }
        crate::toolchain::clang::ClangDiscovery::Missing(why) => {
            eprintln!("    C/C++: code that build scripts compile with `cc` (if any) is not profiled: {why}");
            None
        }
    };
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
    eprintln!("    profile: {}", mode.describe());

    // BOLT needs the PGO binary linked with relocations and symbols kept. The
    // instrumented build gets the same settings: a profile setting is part of cargo's
    // `-C metadata`, so the symbol names (and the profile's match) depend on it.
    let bolt_flags: Vec<String> = if args.bolt {
        bolt::LINK_FLAGS.map(String::from).to_vec()
    } else {
        Vec::new()
    };
    let bolt_config: &[&str] = if args.bolt { &[bolt::NO_STRIP] } else { &[] };
    let mut phases = Phases::new(4 + if args.no_compare { 0 } else { 2 } + usize::from(args.bolt));

    // 1. Instrumented build.
    std::fs::create_dir_all(&layout.raw)
        .with_context(|| format!("creating {}", layout.raw.display()))?;
    let raw_dir = std::fs::canonicalize(&layout.raw).unwrap_or_else(|_| layout.raw.clone());
    let instrumented = phases.run(
        "instrumented build",
        format!(
            "-Cprofile-generate ({mode}), into {}",
            layout.instrumented.display()
        ),
        || {
            compile::build(&BuildRequest {
                target: &app,
                host: &host,
                target_dir: &layout.instrumented,
                pass_target: true,
                rustflags: [format!("-Cprofile-generate={}", raw_dir.display())]
                    .into_iter()
                    .chain(mode.generate_flags())
                    .chain(native.iter().cloned())
                    .chain(bolt_flags.iter().cloned())
                    .collect(),
                config: bolt_config,
                cflags: match &clang {
                    Some(_) => [format!("-fprofile-generate={}", raw_dir.display())]
                        .into_iter()
                        .chain(mode.generate_cflags())
                        .collect(),
                    None => vec!["-fno-profile-generate".into()],
                },
                c_compiler: clang.as_ref(),
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
        || {
            train::train(&train::TrainRequest {
                args: &args,
                settings: &settings,
                driver: &driver,
                instrumented: &instrumented,
                layout: &layout,
                raw_dir: &raw_dir,
                mode,
                stack: app.stack,
            })
        },
    )?;
    // Every later run of the server (BOLT, comparison) goes where it was found.
    settings.addr = settings.addr.or(training.found_addr);

    // 3. Merge.
    let (profile, raw_count) = phases.run(
        "merge",
        format!(
            "{} .profraw file(s) with {merger}",
            training.raw.files.len()
        ),
        || {
            let profile = merger.merge(&training.raw.files, &layout.profiles, &app.target)?;
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
                target: &app,
                host: &host,
                target_dir: &layout.optimized,
                pass_target: true,
                rustflags: [
                    format!("-Cprofile-use={}", profile_abs.display()),
                    "-Cllvm-args=-pgo-warn-missing-function".into(),
                ]
                .into_iter()
                .chain(mode.use_flags())
                .chain(native.iter().cloned())
                .chain(bolt_flags.iter().cloned())
                .collect(),
                config: bolt_config,
                cflags: match &clang {
                    Some(_) => vec![
                        format!("-fprofile-use={}", profile_abs.display()),
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
                c_compiler: clang.as_ref(),
                profile_file: Some(&profile_abs),
                cargo_args: &args.cargo_args,
                verbose: args.verbose,
            })?;
            check_diagnostics(&out, args.allow_missing_profiles)?;
            Ok(out)
        },
    )?;

    // BOLT, on the PGO binary.
    let bolt_outcome = match &bolt_tools {
        Some(tools) => Some(phases.run(
            "BOLT",
            format!(
                "instrument, train {:.0} s under {} load, merge-fdata, optimise",
                settings.duration.as_secs_f64(),
                driver.name()
            ),
            || {
                bolt::run(
                    tools,
                    &optimized.executable,
                    &layout.root.join("bolt"),
                    &bolt::BoltTraining {
                        driver: &driver,
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
        )?),
        None => None,
    };

    // 5-6. Comparison.
    let comparison = if args.no_compare {
        None
    } else {
        let plain = phases.run(
            "release-fat build",
            format!(
                "no PGO{}, into {}",
                if args.native {
                    ", -Ctarget-cpu=native"
                } else {
                    ""
                },
                plain_dir.display()
            ),
            || {
                compile::build(&BuildRequest {
                    target: &app,
                    host: &host,
                    target_dir: &plain_dir,
                    pass_target: false,
                    rustflags: native.clone(),
                    config: &[],
                    cflags: Vec::new(),
                    c_compiler: clang.as_ref(),
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
                driver.name(),
                settings.measure.source
            ),
            || {
                compare::run(
                    &driver,
                    &[
                        ("release-fat", plain.executable.as_path()),
                        ("pgo", optimized.executable.as_path()),
                    ]
                    .into_iter()
                    .chain(
                        bolt_outcome
                            .as_ref()
                            .map(|b| ("pgo+bolt", b.binary.as_path())),
                    )
                    .collect::<Vec<_>>(),
                    &settings.measure,
                    &cmp_settings,
                )
            },
        )?;
        Some(c)
    };

    let mut report = PgoReport {
        package: app.package.clone(),
        target: app.target.clone(),
        rustc: rustc.release.clone(),
        llvm: rustc.llvm.map(|v| v.to_string()),
        host: rustc.host.clone(),
        native: args.native,
        instrumented_binary: instrumented.executable.clone(),
        pgo_binary: optimized.executable.clone(),
        pgo_build_output: optimized.executable.clone(),
        profile: profile_abs.clone(),
        merger: merger.to_string(),
        c_compiler: clang.as_ref().map(|c| c.clang.clone()),
        raw_profiles: raw_count,
        profile_mode: mode,
        profile_collection: mode.describe().to_owned(),
        training_stop: training.stop.clone(),
        server_addr: settings.addr,
        stack: app.stack.to_string(),
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
        bolt: bolt_outcome.clone(),
        bolt_binary: None,
        compare: comparison,
        phases: phases.times.clone(),
    };
    let stable = install_binary(&optimized.executable, &layout)?;
    report.pgo_binary = stable.clone();
    if let Some(b) = &bolt_outcome {
        report.bolt_binary = Some(install_as(
            &b.binary,
            &layout,
            &format!(
                "{}-bolt",
                stable
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default()
            ),
        )?);
    }
    let report_path = report_path(&stable);
    let json = serde_json::to_vec_pretty(&report)?;
    crate::fs::write_atomic(&report_path, &json)
        .with_context(|| format!("writing {}", report_path.display()))?;

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
    install_as(built, layout, &name.to_string_lossy())
}

/// Copies `built` to `<target>/armature-pgo/bin/<name>` (atomically).
fn install_as(built: &Path, layout: &Layout, name: &str) -> Result<PathBuf> {
    let name = std::ffi::OsStr::new(name);
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
    let project = crate::cargo::Project::locate(manifest_path)?;
    let root = Layout::new(&project.target_dir, "", "").root;
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

    #[test]
    fn report_sits_beside_the_binary() {
        assert_eq!(
            report_path(Path::new("/t/release-fat/api")),
            PathBuf::from("/t/release-fat/api.pgo-report.json")
        );
    }
}
