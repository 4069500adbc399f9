//! `cargo armature build`: a build with one of the Armature profiles, which are
//! added to the workspace's root manifest first when missing.

use std::ffi::OsString;
use std::path::PathBuf;

use std::io::Write as _;

use anyhow::{Context, Result};
use clap::Args;

use crate::cargo::rustflags::{HostCfg, NATIVE};
use crate::cargo::{self, Artifact, Invocation, Project, TargetKind};
use crate::profiles;

const EXAMPLES: &str = "\
Examples:
  cargo armature build                        [profile.release]
  cargo armature build --fat                  [profile.release-fat]: fat LTO, panic=abort
  cargo armature build --native               [profile.release-native] + -Ctarget-cpu=native
  cargo armature build --profile bench        any profile
  cargo armature build --fat -- -p api --bin server   arguments for cargo build

Missing Armature profiles are added to the workspace root's Cargo.toml first
(comments and formatting kept). --native appends -Ctarget-cpu=native to your
RUSTFLAGS (or config rustflags) and builds in <target-dir>/native, so switching
between native and portable builds never throws a build cache away.";

/// Arguments of `cargo armature build`.
#[derive(Debug, Args)]
#[command(after_help = EXAMPLES)]
pub struct BuildArgs {
    /// Use [profile.release-fat]: fat LTO, one codegen unit, panic=abort
    #[arg(long, group = "which_profile")]
    pub fat: bool,

    /// Use [profile.release-native] with -Ctarget-cpu=native, in <target-dir>/native
    #[arg(long, group = "which_profile")]
    pub native: bool,

    /// Use this profile [default: release]
    #[arg(long, value_name = "NAME", group = "which_profile")]
    pub profile: Option<String>,

    /// Path to the package's Cargo.toml
    #[arg(long, value_name = "PATH")]
    pub manifest_path: Option<PathBuf>,

    /// Arguments for `cargo build`, after `--`
    #[arg(last = true, value_name = "CARGO_ARGS")]
    pub cargo_args: Vec<OsString>,
}

impl BuildArgs {
    /// The profile to build with.
    pub fn profile(&self) -> &str {
        if self.fat {
            profiles::RELEASE_FAT
        } else if self.native {
            profiles::RELEASE_NATIVE
        } else {
            self.profile.as_deref().unwrap_or(profiles::RELEASE)
        }
    }
}

/// Runs `cargo armature build`.
pub fn run(args: BuildArgs) -> Result<()> {
    let project = Project::locate(args.manifest_path.as_deref())?;
    report_added(&project)?;

    let profile = args.profile();
    let mut inv = Invocation::new(["build", "--profile", profile]);
    if let Some(path) = &args.manifest_path {
        inv.args.push("--manifest-path".into());
        inv.args.push(path.into());
    }
    if args.native {
        native_args(&project, &args.cargo_args, &mut inv)?;
    }
    inv.args.extend(args.cargo_args.iter().cloned());

    eprintln!("     Running `{}`", inv.display());
    let binaries: Vec<Artifact> = inv
        .run()?
        .into_iter()
        .filter(|a| matches!(a.kind, TargetKind::Bin | TargetKind::Example))
        .collect();
    print_binaries(&binaries, profile)?;
    if args.native && !binaries.is_empty() {
        writeln!(
            std::io::stdout(),
            "(built for this machine's CPU: it may not run on other CPUs)"
        )?;
    }
    Ok(())
}

/// Adds the missing profiles to the root manifest and says so.
pub fn report_added(project: &Project) -> Result<()> {
    let added = profiles::ensure_in_manifest(&project.root_manifest)?;
    for name in added {
        eprintln!(
            "       Added [profile.{name}] to {}",
            project.root_manifest.display()
        );
    }
    Ok(())
}

/// Where native-CPU builds go unless the user chose a target directory:
/// `<target>/native`, so switching never throws the portable build cache away.
pub fn native_target_dir(project: &Project) -> PathBuf {
    project.target_dir.join("native")
}

/// Adds the native-CPU flag (through the one rustflags planner) and the separate
/// target directory to a cargo invocation: `--target-dir <target>/native` unless the
/// user chose one.
pub fn native_args(project: &Project, user_args: &[OsString], inv: &mut Invocation) -> Result<()> {
    if !cargo::has_flag(user_args, "--target-dir") {
        inv.args.push("--target-dir".into());
        inv.args.push(native_target_dir(project).into());
    }
    project
        .plan_flags(&HostCfg::detect()?, &[NATIVE.to_owned()])?
        .apply(inv);
    Ok(())
}

fn print_binaries(binaries: &[Artifact], profile: &str) -> Result<()> {
    if binaries.is_empty() {
        writeln!(
            std::io::stdout(),
            "Built with [profile.{profile}]; no binary target was built (a library only?)"
        )?;
        return Ok(());
    }
    for bin in binaries {
        let size = std::fs::metadata(&bin.path)
            .with_context(|| {
                format!(
                    "cargo reported {}, but it cannot be read",
                    bin.path.display()
                )
            })?
            .len();
        writeln!(
            std::io::stdout(),
            "Built {} with [profile.{profile}]: {} ({})",
            bin.name,
            bin.path.display(),
            crate::fs::human_size(size)
        )?;
    }
    Ok(())
}
