//! Checking, before anything is written, that a registry or git armature-core
//! can be had: `cargo fetch` on the rendered app in a scratch directory. Its
//! `Cargo.lock` (now naming the real armature-core) replaces the seed, so the
//! app builds offline afterwards too.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result};

use super::manifest::CORE_PACKAGE;
use crate::cargo::cargo_bin;

/// Fetches the dependencies of the app in `files` (which must hold its
/// `Cargo.toml` and `Cargo.lock`) as it would sit at `target`, offline first
/// and then from the network, and returns the resolved `Cargo.lock`.
///
/// The scratch copy lies beside `target` (in its nearest existing ancestor), so
/// cargo reads the same `.cargo/config.toml` files (mirrors, `[patch]`, `net.offline`)
/// as it will for the app itself. It is removed afterwards, whatever happens.
pub fn resolve(target: &Path, files: &BTreeMap<PathBuf, Vec<u8>>, what: &str) -> Result<Vec<u8>> {
    let base = target
        .ancestors()
        .skip(1)
        .find(|a| a.is_dir())
        .context("the target has no existing ancestor")?;
    let scratch = tempfile::Builder::new()
        .prefix(".armature-new-")
        .tempdir_in(base)
        .with_context(|| format!("cannot create a scratch directory in {}", base.display()))?;
    for (rel, contents) in files {
        let path = scratch.path().join(rel);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
        std::fs::write(&path, contents)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }

    let offline = fetch(scratch.path(), true)?;
    let outcome = if offline.status.success() {
        offline
    } else {
        fetch(scratch.path(), false)?
    };
    if !outcome.status.success() {
        let stderr = String::from_utf8_lossy(&outcome.stderr);
        let reason: Vec<&str> = stderr
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with("Updating"))
            .collect();
        anyhow::bail!(
            "cannot get {what}: `cargo fetch` failed:\n  {}\n\
             Nothing was written. Connect to the network (or let cargo reach its registry \
             mirror) and run the same command again, or build against a local checkout: \
             `git clone https://github.com/armature-rs/armature` then \
             `cargo armature new ... --core-path armature/armature-core`",
            reason.join("\n  ")
        );
    }
    check_provenance(scratch.path())?;
    let lock = scratch.path().join("Cargo.lock");
    std::fs::read(&lock).with_context(|| format!("cannot read {}", lock.display()))
}

/// Checks that the armature-core cargo resolved (the package `armature-web`) is
/// Armature's: a registry or mirror may serve another crate under that name (as
/// the name `armature-core` on crates.io is an unrelated project's), whose API an
/// app generated here does not build against. The resolved package's
/// `repository` must be this crate's.
fn check_provenance(dir: &Path) -> Result<()> {
    let metadata = cargo_metadata::MetadataCommand::new()
        .cargo_path(cargo_bin())
        .current_dir(dir)
        .manifest_path(dir.join("Cargo.toml"))
        .other_options(vec!["--offline".to_owned()])
        .exec()
        .with_context(|| {
            format!(
                "cannot read the dependencies of the new app in {}",
                dir.display()
            )
        })?;
    let ours = env!("CARGO_PKG_REPOSITORY");
    let core = metadata
        .packages
        .iter()
        .find(|p| p.name.as_str() == CORE_PACKAGE)
        .with_context(|| format!("cargo resolved no {CORE_PACKAGE} for the new app"))?;
    let theirs = core.repository.as_deref().unwrap_or("none given");
    if theirs.trim_end_matches('/') != ours.trim_end_matches('/') {
        anyhow::bail!(
            "the {CORE_PACKAGE} {} that cargo found ({}) is not Armature's: its repository is \
             {theirs}, Armature's is {ours}. Nothing was written. Build against Armature's \
             sources instead: `--core-git {ours}` or, with a checkout, `--core-path DIR`",
            core.version,
            core.source
                .as_ref()
                .map_or_else(|| "a local path".to_owned(), ToString::to_string),
        );
    }
    Ok(())
}

fn fetch(dir: &Path, offline: bool) -> Result<std::process::Output> {
    let mut cmd = Command::new(cargo_bin());
    cmd.arg("fetch")
        .arg("--quiet")
        .current_dir(dir)
        .stdin(Stdio::null());
    if offline {
        cmd.arg("--offline");
    }
    crate::children::output(&mut cmd)
        .with_context(|| format!("cannot run `cargo fetch` in {}", dir.display()))
}
