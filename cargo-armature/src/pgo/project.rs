//! The project being optimised: which package and binary, its `pgo` settings, and where
//! each phase keeps its files.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use super::stack::Stack;
use super::PgoArgs;
use crate::cargo::{Package, Project, Target, TargetKind};
use crate::error::usage;
use crate::load::PgoConfig;
use crate::profiles;

/// The profile every phase builds with.
pub const PROFILE: &str = profiles::RELEASE_FAT;

/// The server `pgo` works on: a binary or example of one package of the [`Project`].
#[derive(Debug, Clone)]
pub struct PgoTarget {
    /// The project (read once, with one `cargo metadata`).
    pub project: Project,
    /// The package's name.
    pub package: String,
    /// Its `Cargo.toml`.
    pub manifest_path: PathBuf,
    /// The target's name.
    pub target: String,
    /// [`TargetKind::Bin`] or [`TargetKind::Example`].
    pub kind: TargetKind,
    /// `[package.metadata.armature.pgo]`, parsed.
    pub config: PgoConfig,
    /// The stack it is written with, from its dependencies.
    pub stack: Stack,
    /// Whether `release-fat` is defined (manifest or cargo config); when not, each build
    /// passes [`profiles::fallback_config`].
    pub has_profile: bool,
}

impl PgoTarget {
    /// Picks the package and target the arguments name from `project`.
    pub fn select(project: Project, args: &PgoArgs) -> Result<PgoTarget> {
        let package = pick_package(&project, args)?;
        let (target, kind) = pick_target(package, args)?;
        let config = match package.metadata.get("armature").and_then(|a| a.get("pgo")) {
            Some(v) => PgoConfig::from_json(
                v,
                &format!(
                    "{} [package.metadata.armature.pgo]",
                    package.manifest_path.display()
                ),
            )
            .with_context(|| {
                format!(
                    "in [package.metadata.armature.pgo] of {}",
                    package.manifest_path.display()
                )
            })?,
            None => PgoConfig::default(),
        };
        let stack = Stack::of(&package.dependencies);
        let (name, manifest_path, target) = (
            package.name.clone(),
            package.manifest_path.clone(),
            target.name.clone(),
        );
        Ok(PgoTarget {
            has_profile: project.defines_profile(PROFILE),
            project,
            package: name,
            manifest_path,
            target,
            kind,
            config,
            stack,
        })
    }

    /// `--bin NAME` or `--example NAME`.
    pub fn target_args(&self) -> [String; 2] {
        let flag = match self.kind {
            TargetKind::Example => "--example",
            _ => "--bin",
        };
        [flag.to_owned(), self.target.clone()]
    }

    /// `binary` or `example`.
    pub fn kind_name(&self) -> &'static str {
        match self.kind {
            TargetKind::Example => "example",
            _ => "binary",
        }
    }

    /// Where this project's PGO files live; `native` builds get their own target
    /// directories, so switching never throws the portable build cache away.
    pub fn dirs(&self, native: bool) -> PgoDirs {
        let mut dirs = PgoDirs::new(&self.project.target_dir, &self.package, &self.target);
        if native {
            dirs.instrumented = dirs.root.join("instrumented-native");
            dirs.optimized = dirs.root.join("optimized-native");
        }
        dirs
    }
}

fn pick_package<'m>(project: &'m Project, args: &PgoArgs) -> Result<&'m Package> {
    let members = &project.packages;
    if let Some(name) = &args.package {
        return members.iter().find(|p| &p.name == name).ok_or_else(|| {
            usage(format!(
                "no package `{name}` in this workspace (it has: {})",
                members
                    .iter()
                    .map(|p| p.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        });
    }
    if let Some(root) = project.root_package {
        return Ok(&members[root]);
    }
    let has = |p: &Package, kind: TargetKind, name: Option<&String>| {
        p.targets
            .iter()
            .any(|t| t.kind == kind && name.is_none_or(|n| &t.name == n))
    };
    let wanted = |p: &&Package| match (&args.bin, &args.example) {
        (Some(b), _) => has(p, TargetKind::Bin, Some(b)),
        (None, Some(e)) => has(p, TargetKind::Example, Some(e)),
        (None, None) => has(p, TargetKind::Bin, None),
    };
    let candidates: Vec<&Package> = members.iter().filter(wanted).collect();
    match candidates.as_slice() {
        [one] => Ok(one),
        [] => Err(usage(
            "no workspace member has a matching binary; use -p PACKAGE and --bin/--example",
        )),
        many => Err(usage(format!(
            "several workspace members have a matching binary ({}); choose one with -p",
            many.iter()
                .map(|p| p.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

fn pick_target<'p>(package: &'p Package, args: &PgoArgs) -> Result<(&'p Target, TargetKind)> {
    if let Some(e) = &args.example {
        let t = package
            .targets
            .iter()
            .find(|t| t.kind == TargetKind::Example && &t.name == e)
            .ok_or_else(|| {
                usage(format!(
                    "package `{}` has no example `{e}` (it has: {})",
                    package.name,
                    package.names(TargetKind::Example)
                ))
            })?;
        return Ok((t, TargetKind::Example));
    }
    let bins: Vec<&Target> = package
        .targets
        .iter()
        .filter(|t| t.kind == TargetKind::Bin)
        .collect();
    let chosen = match (&args.bin, &package.default_run) {
        (Some(b), _) => bins.iter().find(|t| &t.name == b).ok_or_else(|| {
            usage(format!(
                "package `{}` has no binary `{b}` (it has: {})",
                package.name,
                package.names(TargetKind::Bin)
            ))
        })?,
        (None, Some(d)) => bins.iter().find(|t| &t.name == d).ok_or_else(|| {
            usage(format!(
                "`default-run = \"{d}\"` names no binary of `{}`",
                package.name
            ))
        })?,
        (None, None) => match bins.as_slice() {
            [one] => one,
            [] => {
                return Err(usage(format!(
                    "package `{}` has no binary; pgo needs a server binary (or --example NAME)",
                    package.name
                )))
            }
            _ => {
                return Err(usage(format!(
                    "package `{}` has several binaries ({}); choose one with --bin",
                    package.name,
                    package.names(TargetKind::Bin)
                )))
            }
        },
    };
    Ok((chosen, TargetKind::Bin))
}

/// Where the PGO loop keeps its files, all under `<target>/armature-pgo/`, which
/// `cargo armature pgo clean` removes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgoDirs {
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

impl PgoDirs {
    /// The directories for one package's target under `target_dir`.
    pub fn new(target_dir: &Path, package: &str, target: &str) -> PgoDirs {
        let root = target_dir.join("armature-pgo");
        let profiles = root.join("profiles").join(package).join(target);
        PgoDirs {
            instrumented: root.join("instrumented"),
            optimized: root.join("optimized"),
            bin: root.join("bin"),
            raw: profiles.join("raw"),
            profiles,
            root,
        }
    }
}
