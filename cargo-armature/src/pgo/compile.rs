//! Running one phase's `cargo build` through the one cargo layer ([`crate::cargo`]): flags
//! added by the one rustflags planner, cargo's JSON messages parsed for the executable,
//! and every diagnostic and stderr line checked for profile warnings (which rustc never
//! turns into errors; LLVM may print them outside rustc's diagnostics).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use super::diagnostics::{ProfileDiagnostics, ProfileProblem};
use super::flags;
use super::project::{PgoTarget, PROFILE};
use crate::cargo::rustflags::HostCfg;
use crate::cargo::{Invocation, Line};
use crate::profiles;
use crate::toolchain::ClangTool;

/// One phase's build.
#[derive(Debug, Clone)]
pub struct BuildRequest<'a> {
    /// The server to build.
    pub target: &'a PgoTarget,
    /// The host's cfg, for the rustflags planner.
    pub host: &'a HostCfg,
    /// Where cargo builds (`--target-dir`).
    pub target_dir: &'a Path,
    /// Pass `--target <host>`: keeps the rustflags off build scripts and proc-macros.
    pub pass_target: bool,
    /// Rustflags to add to the user's.
    pub rustflags: Vec<String>,
    /// Extra `--config` settings (e.g. `profile.release-fat.strip=false` for BOLT).
    pub config: &'a [&'a str],
    /// C compiler flags to add to the user's (when the compiler accepts them).
    pub cflags: Vec<String>,
    /// The clang that compiles build scripts' C and C++ code (`CC`, `CXX`), when the
    /// run profiles that code too ([`crate::toolchain::find_clang`]).
    pub c_compiler: Option<&'a ClangTool>,
    /// The profile file, whose name identifies warnings about it.
    pub profile_file: Option<&'a Path>,
    /// Extra arguments for cargo (after `--`).
    pub cargo_args: &'a [String],
    /// Echo cargo's progress lines.
    pub verbose: bool,
}

/// What a build produced.
#[derive(Debug, Clone)]
pub struct BuildOutcome {
    /// The server executable.
    pub executable: PathBuf,
    /// Profile warnings rustc printed.
    pub diagnostics: ProfileDiagnostics,
}

/// Runs the build and returns the executable, failing when cargo fails.
pub fn build(req: &BuildRequest<'_>) -> Result<BuildOutcome> {
    let target = req.target;
    let mut inv = Invocation::new(["build", "--profile", PROFILE]);
    inv.progress = req.verbose;
    inv.args.push("--manifest-path".into());
    inv.args.push(target.manifest_path.clone().into());
    inv.args.push("--target-dir".into());
    inv.args.push(req.target_dir.into());
    inv.args.extend(target.target_args().iter().map(Into::into));
    if req.pass_target {
        inv.args.push("--target".into());
        inv.args.push(req.host.triple.clone().into());
    }
    if !target.has_profile {
        for setting in profiles::fallback_config(PROFILE) {
            inv.args.push("--config".into());
            inv.args.push(setting.into());
        }
    }
    for setting in req.config {
        inv.args.push("--config".into());
        inv.args.push(setting.into());
    }
    target
        .project
        .plan_flags(req.host, &req.rustflags)?
        .apply(&mut inv);
    if let Some(clang) = req.c_compiler {
        inv.env("CC", Some(clang.clang.clone().into()));
        inv.env("CXX", Some(clang.clangxx.clone().into()));
    }
    if !req.cflags.is_empty() {
        let compiler = req.c_compiler.map(|c| c.clang.as_path());
        for (k, v) in flags::c_flag_env(&req.cflags, &req.host.triple, compiler) {
            inv.env(&k, Some(v.into()));
        }
    }
    inv.args.extend(req.cargo_args.iter().map(Into::into));
    inv.env("CARGO_TARGET_DIR", None);
    inv.env("CARGO_BUILD_TARGET_DIR", None);
    if req.verbose {
        eprintln!("      running `{}`", inv.display());
    }

    let profile_name: Option<String> = req
        .profile_file
        .and_then(|p| p.file_name())
        .map(|n| n.to_string_lossy().into_owned());
    let mut diagnostics = ProfileDiagnostics::default();
    let mut errors_shown = 0usize;
    let artifacts = inv.run_observed(&mut |line| {
        let text = match line {
            // cargo -v echoing a rustc command line (which names the profile file).
            Line::Stderr(t) if t.trim_start().starts_with("Running `") => return true,
            Line::Diagnostic(t) | Line::Stderr(t) => t,
        };
        match diagnostics.observe(text, profile_name.as_deref()) {
            // Listed (a few) at the end, not one by one.
            Some(ProfileProblem::MissingFunction) => false,
            Some(_) => true,
            None if matches!(line, Line::Diagnostic(_)) => {
                // The user's own errors and warnings, as cargo would show them.
                errors_shown += 1;
                errors_shown <= 50
            }
            None => true,
        }
    })?;
    let executable = artifacts
        .into_iter()
        .find(|a| a.name == target.target && a.kind == target.kind)
        .map(|a| a.path)
        .with_context(|| {
            format!(
                "cargo built no executable for {} `{}`",
                target.kind_name(),
                target.target
            )
        })?;
    Ok(BuildOutcome {
        executable,
        diagnostics,
    })
}
