//! The project being optimised: which package and binary, its `pgo` settings, and where
//! each phase keeps its files.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use cargo_metadata::{Metadata, MetadataCommand, Package, Target};

use super::flags;
use super::PgoArgs;
use crate::load::PgoConfig;

/// The profile every phase builds with.
pub const PROFILE: &str = "release-fat";

/// `--config` settings that stand in for a missing `[profile.release-fat]`; the same
/// values `cargo armature build --fat` writes into `Cargo.toml`.
pub const FALLBACK_PROFILE: [&str; 4] = [
    "profile.release-fat.inherits=\"release\"",
    "profile.release-fat.lto=\"fat\"",
    "profile.release-fat.codegen-units=1",
    "profile.release-fat.panic=\"abort\"",
];

/// Whether the server is a `[[bin]]` or an example.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetKind {
    /// `--bin`.
    Bin,
    /// `--example`.
    Example,
}

/// The package and target `pgo` works on.
#[derive(Debug, Clone)]
pub struct Project {
    /// `cargo metadata`'s workspace root.
    pub workspace_root: PathBuf,
    /// The target directory (`CARGO_TARGET_DIR`, config, or `<workspace>/target`).
    pub target_dir: PathBuf,
    /// The package's name.
    pub package: String,
    /// Its `Cargo.toml`.
    pub manifest_path: PathBuf,
    /// The target's name.
    pub target: String,
    /// Bin or example.
    pub kind: TargetKind,
    /// `[package.metadata.armature.pgo]`, parsed.
    pub config: PgoConfig,
    /// Whether `release-fat` is defined (manifest or cargo config); when not, each build
    /// passes [`FALLBACK_PROFILE`].
    pub has_profile: bool,
}

impl Project {
    /// Finds the project from the arguments and the current directory.
    pub fn locate(args: &PgoArgs) -> Result<Project> {
        let mut cmd = MetadataCommand::new();
        cmd.no_deps();
        if let Some(cargo) = std::env::var_os("CARGO") {
            cmd.cargo_path(cargo);
        }
        if let Some(m) = &args.manifest_path {
            cmd.manifest_path(m);
        }
        let metadata = cmd
            .exec()
            .context("running `cargo metadata`: is this a cargo project? (use --manifest-path)")?;
        let package = pick_package(&metadata, args)?;
        let (target, kind) = pick_target(package, args)?;
        let config = match package.metadata.get("armature").and_then(|a| a.get("pgo")) {
            Some(v) => PgoConfig::from_json(
                v,
                &format!("{} [package.metadata.armature.pgo]", package.manifest_path),
            )
            .with_context(|| {
                format!(
                    "in [package.metadata.armature.pgo] of {}",
                    package.manifest_path
                )
            })?,
            None => PgoConfig::default(),
        };
        let workspace_root = metadata.workspace_root.clone().into_std_path_buf();
        let cwd = std::env::current_dir().context("reading the current directory")?;
        let has_profile = flags::defines_profile(&workspace_root.join("Cargo.toml"), PROFILE)
            || flags::config_files(&cwd)
                .iter()
                .any(|f| flags::defines_profile(f, PROFILE));
        Ok(Project {
            workspace_root,
            target_dir: metadata.target_directory.clone().into_std_path_buf(),
            package: package.name.to_string(),
            manifest_path: package.manifest_path.clone().into_std_path_buf(),
            target: target.name.clone(),
            kind,
            config,
            has_profile,
        })
    }

    /// `--bin NAME` or `--example NAME`.
    pub fn target_args(&self) -> [String; 2] {
        let flag = match self.kind {
            TargetKind::Bin => "--bin",
            TargetKind::Example => "--example",
        };
        [flag.to_owned(), self.target.clone()]
    }

    /// Where this project's PGO files live.
    pub fn layout(&self) -> Layout {
        Layout::new(&self.target_dir, &self.package, &self.target)
    }
}

fn pick_package<'m>(metadata: &'m Metadata, args: &PgoArgs) -> Result<&'m Package> {
    let members = metadata.workspace_packages();
    if let Some(name) = &args.package {
        return members
            .into_iter()
            .find(|p| p.name.as_str() == name)
            .with_context(|| format!("no package `{name}` in this workspace"));
    }
    if let Some(root) = metadata.root_package() {
        return Ok(root);
    }
    let wanted = |p: &&Package| match (&args.bin, &args.example) {
        (Some(b), _) => p.targets.iter().any(|t| t.is_bin() && &t.name == b),
        (None, Some(e)) => p.targets.iter().any(|t| t.is_example() && &t.name == e),
        (None, None) => p.targets.iter().any(Target::is_bin),
    };
    let candidates: Vec<&Package> = members.into_iter().filter(wanted).collect();
    match candidates.as_slice() {
        [one] => Ok(one),
        [] => {
            bail!("no workspace member has a matching binary; use -p PACKAGE and --bin/--example")
        }
        many => bail!(
            "several workspace members have a matching binary ({}); choose one with -p",
            many.iter()
                .map(|p| p.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn pick_target<'p>(package: &'p Package, args: &PgoArgs) -> Result<(&'p Target, TargetKind)> {
    let names = |f: fn(&Target) -> bool| {
        package
            .targets
            .iter()
            .filter(|t| f(t))
            .map(|t| t.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    if let Some(e) = &args.example {
        let t = package
            .targets
            .iter()
            .find(|t| t.is_example() && &t.name == e)
            .with_context(|| {
                format!(
                    "package `{}` has no example `{e}` (it has: {})",
                    package.name,
                    names(Target::is_example)
                )
            })?;
        return Ok((t, TargetKind::Example));
    }
    let bins: Vec<&Target> = package.targets.iter().filter(|t| t.is_bin()).collect();
    let chosen = match (&args.bin, &package.default_run) {
        (Some(b), _) => bins.iter().find(|t| &t.name == b).with_context(|| {
            format!(
                "package `{}` has no binary `{b}` (it has: {})",
                package.name,
                names(Target::is_bin)
            )
        })?,
        (None, Some(d)) => bins.iter().find(|t| &t.name == d).with_context(|| {
            format!(
                "`default-run = \"{d}\"` names no binary of `{}`",
                package.name
            )
        })?,
        (None, None) => match bins.as_slice() {
            [one] => one,
            [] => bail!(
                "package `{}` has no binary; pgo needs a server binary (or --example NAME)",
                package.name
            ),
            _ => bail!(
                "package `{}` has several binaries ({}); choose one with --bin",
                package.name,
                names(Target::is_bin)
            ),
        },
    };
    Ok((chosen, TargetKind::Bin))
}

/// Where the PGO loop keeps its files, all under `<target>/armature-pgo/`, which
/// `cargo armature pgo clean` removes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    /// `<target>/armature-pgo`.
    pub root: PathBuf,
    /// Target directory of the instrumented build.
    pub instrumented: PathBuf,
    /// Target directory of the optimised build.
    pub optimized: PathBuf,
    /// `bin/`: a copy of the last PGO binary and its report, at a stable path.
    pub bin: PathBuf,
    /// `profiles/<package>/<target>`: merged profiles.
    pub profiles: PathBuf,
    /// `profiles/<package>/<target>/raw`: the `.profraw` files of the last run.
    pub raw: PathBuf,
}

impl Layout {
    /// The layout for one package's target under `target_dir`.
    pub fn new(target_dir: &Path, package: &str, target: &str) -> Layout {
        let root = target_dir.join("armature-pgo");
        let profiles = root.join("profiles").join(package).join(target);
        Layout {
            instrumented: root.join("instrumented"),
            optimized: root.join("optimized"),
            bin: root.join("bin"),
            raw: profiles.join("raw"),
            profiles,
            root,
        }
    }
}
