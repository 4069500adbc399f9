//! What one `cargo armature pgo` run will build and run, decided before anything is
//! built: the server and its package, where each phase's files go, the flags every
//! build shares, the training and measuring workloads, and the tools (BOLT, clang, the
//! load driver, the profile merger). Each choice is printed as it is made.

use std::path::PathBuf;

use anyhow::{bail, Result};

use super::args::{PgoArgs, Settings};
use super::bolt;
use super::merge::Merger;
use super::mode::ProfileMode;
use super::project::{self, PgoDirs, PgoTarget};
use crate::cargo::rustflags::HostCfg;
use crate::load::{access_log, Driver, PgoConfig, RequestSpec};
use crate::toolchain::{self, BoltTools, ClangDiscovery, ClangTool, RustcInfo};

/// Everything the phases need to know before the first build.
pub(crate) struct PgoPlan {
    /// The compiler every phase builds with.
    pub(crate) rustc: RustcInfo,
    /// The server: package, binary or example, its PGO config and stack.
    pub(crate) app: PgoTarget,
    /// The host's cfg, for the rustflags planner.
    pub(crate) host: HostCfg,
    /// Where the PGO phases keep their files.
    pub(crate) dirs: PgoDirs,
    /// `-Ctarget-cpu=native` in every build (`--native`), else nothing.
    pub(crate) native: Vec<String>,
    /// The target directory of the plain `release-fat` baseline.
    pub(crate) plain_dir: PathBuf,
    /// Workloads, durations, connections, server arguments and timeouts.
    pub(crate) settings: Settings,
    /// How the training profile is collected (`--profile-mode`).
    pub(crate) mode: ProfileMode,
    /// The BOLT tools (`--bolt`).
    pub(crate) bolt_tools: Option<BoltTools>,
    /// The clang that builds (and profiles) build scripts' C and C++ code.
    pub(crate) clang: Option<ClangTool>,
    /// The load driver.
    pub(crate) driver: Driver,
    /// The profile merger.
    pub(crate) merger: Merger,
    /// Rustflags BOLT needs in the instrumented and PGO builds (`--bolt`).
    pub(crate) bolt_flags: Vec<String>,
    /// `--config` settings BOLT needs in the instrumented and PGO builds (`--bolt`).
    pub(crate) bolt_config: &'static [&'static str],
}

impl PgoPlan {
    /// Finds the server, reads its workloads and chooses the tools, printing each choice.
    pub(crate) fn prepare(args: &PgoArgs) -> Result<PgoPlan> {
        let rustc = RustcInfo::detect()?;
        let app = PgoTarget::select(
            crate::cargo::Project::locate(args.manifest_path.as_deref())?,
            args,
        )?;
        let host = HostCfg::of(&rustc)?;
        let dirs = app.dirs(args.native);
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
        let settings = resolve_settings(args, &app)?;
        let mode = args.profile_mode;

        announce(&app, &rustc);
        let bolt_tools = if args.bolt {
            Some(bolt_tools(args, &rustc)?)
        } else {
            None
        };
        let clang = c_compiler(&rustc);
        let (driver, note) = Driver::select(args.driver)?;
        if let Some(note) = note {
            eprintln!("    note: {note}");
        }
        let merger = merger(args, &rustc)?;
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
        let bolt_config: &'static [&'static str] = if args.bolt { &[bolt::NO_STRIP] } else { &[] };
        Ok(PgoPlan {
            rustc,
            app,
            host,
            dirs,
            native,
            plain_dir,
            settings,
            mode,
            bolt_tools,
            clang,
            driver,
            merger,
            bolt_flags,
            bolt_config,
        })
    }
}

/// The settings from the command line, the workload file (`--workload`), the access log
/// (`--workload-from-log`) and `[package.metadata.armature.pgo]`.
fn resolve_settings(args: &PgoArgs, app: &PgoTarget) -> Result<Settings> {
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
    Ok(Settings::resolve(
        args,
        &app.config,
        file_config.as_ref(),
        log_training,
    ))
}

/// The run's first line: the server, the compiler, and a note when the package has no
/// `release-fat` profile of its own.
fn announce(app: &PgoTarget, rustc: &RustcInfo) {
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
}

/// `--bolt`: an llvm-bolt of rustc's LLVM with its runtime and merge-fdata, or an error
/// saying what to install.
fn bolt_tools(args: &PgoArgs, rustc: &RustcInfo) -> Result<BoltTools> {
    let found = toolchain::find_llvm_bolt(rustc);
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
            Ok(t)
        }
        None => bail!("--bolt: {}", found.install_hint(rustc)),
    }
}

/// C and C++ code from build scripts (`cc`): profiled with a clang matching rustc's
/// LLVM, else built as before and said so.
fn c_compiler(rustc: &RustcInfo) -> Option<ClangTool> {
    match toolchain::find_clang(rustc) {
        ClangDiscovery::Usable(t) => {
            eprintln!(
                "    C/C++: {} (clang {}, {}): code that build scripts compile with `cc` is \
                 profiled too, and the release-fat baseline is built with the same compiler",
                t.clang.display(),
                t.version,
                t.origin
            );
            Some(t)
        }
        ClangDiscovery::Missing(why) => {
            eprintln!("    C/C++: code that build scripts compile with `cc` (if any) is not profiled: {why}");
            None
        }
    }
}

/// The merger `--merger` asks for.
fn merger(args: &PgoArgs, rustc: &RustcInfo) -> Result<Merger> {
    let (merger, notes) = Merger::select(args.merger, rustc)?;
    // Skipped llvm-profdata versions matter when none matched; otherwise only in -v.
    if matches!(merger, Merger::Builtin) || args.verbose {
        for n in &notes {
            eprintln!("    note: {n}");
        }
    }
    Ok(merger)
}
