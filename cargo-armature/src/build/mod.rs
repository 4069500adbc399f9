//! `cargo armature build`: a build with one of the Armature profiles, which are
//! added to the workspace's root manifest first when missing.

pub mod rustflags;

use std::ffi::OsString;
use std::path::PathBuf;

use std::io::Write as _;

use anyhow::{Context, Result};
use clap::Args;

use crate::cargo::{self, Binary, Project};
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
    let mut cargo_args = cargo::os_args(["build", "--profile", profile]);
    if let Some(path) = &args.manifest_path {
        cargo_args.push("--manifest-path".into());
        cargo_args.push(path.into());
    }
    let mut envs = Vec::new();
    if args.native {
        native_args(&project, &args.cargo_args, &mut cargo_args, &mut envs)?;
    }
    cargo_args.extend(args.cargo_args.iter().cloned());

    eprintln!("     Running `{}`", cargo::display_command(&cargo_args));
    let binaries = cargo::run_json(&cargo_args, &envs, None)?;
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

/// Adds the native-CPU flags and the separate target directory to a cargo
/// invocation: `--target-dir <target>/native` unless the user chose one.
pub fn native_args(
    project: &Project,
    user_args: &[OsString],
    cargo_args: &mut Vec<OsString>,
    envs: &mut Vec<(&'static str, Option<OsString>)>,
) -> Result<()> {
    if !cargo::has_flag(user_args, "--target-dir") {
        cargo_args.push("--target-dir".into());
        cargo_args.push(project.target_dir.join("native").into());
    }
    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    match rustflags::plan(&rustflags::user_flags(&cwd)?, &[rustflags::NATIVE]) {
        rustflags::FlagsPlan::Env(key, value) => envs.push((key, Some(value))),
        rustflags::FlagsPlan::Config(value) => {
            cargo_args.push("--config".into());
            cargo_args.push(value.into());
        }
    }
    Ok(())
}

fn print_binaries(binaries: &[Binary], profile: &str) -> Result<()> {
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
