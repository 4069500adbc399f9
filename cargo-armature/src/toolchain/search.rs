//! The one search for an LLVM tool of rustc's LLVM (llvm-profdata, llvm-bolt, clang):
//! the candidates in search order, and which of them are of rustc's LLVM major. Each
//! tool's own rules (its origins, its extra checks, its messages) stay with it. Below it,
//! the PATH helpers every tool's search uses.

use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use super::{llvm_tool_version, LlvmVersion};

/// Where one LLVM tool (llvm-profdata, llvm-bolt, clang) is looked for, in this order:
/// `given`, `NAME-<rustc's LLVM major>` on PATH, `<tree>/llvm-<major>/bin/NAME`, plain
/// `NAME` on PATH, then, with `other_versions`, any other `NAME-NN` on PATH.
/// [`LlvmToolSearch::probe`] tells which of them are of rustc's LLVM major.
pub(super) struct LlvmToolSearch<O> {
    /// The plain name, e.g. `llvm-bolt`.
    pub(super) name: &'static str,
    /// rustc's LLVM version.
    pub(super) want: Option<LlvmVersion>,
    /// Candidates before PATH (`$LLVM_BOLT`, rustup's llvm-tools), taken as they are.
    pub(super) given: Vec<(PathBuf, O)>,
    /// The origin of `NAME-NN` on PATH.
    pub(super) versioned: O,
    /// The LLVM trees' root (`/usr/lib`) and their origin; `None`: not searched.
    pub(super) tree: Option<(PathBuf, O)>,
    /// The origin of plain `NAME` on PATH.
    pub(super) plain: O,
    /// Whether `NAME-NN` of other LLVM majors are candidates too.
    pub(super) other_versions: bool,
    /// Which candidates count as one, probed once.
    pub(super) dedupe: Dedupe,
    /// Reads a candidate's LLVM version; its error (`{:#}`) is why it is skipped.
    pub(super) version: fn(&Path) -> Result<LlvmVersion>,
}

/// Which candidates of an [`LlvmToolSearch`] count as one, probed once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Dedupe {
    /// None (clang looks for clang++ beside the path as found, not beside the real file).
    Off,
    /// The same real file (a symlink, a PATH entry listed twice).
    RealFile,
    /// The same real file under the same name (a symlink of another name is probed).
    RealFileAndName,
}

/// A probed candidate: its path as found, its origin, and its LLVM version if it is
/// rustc's major, else the version when readable and why it is skipped, in a sentence.
pub(super) type Probed<O> = (
    PathBuf,
    O,
    Result<LlvmVersion, (Option<LlvmVersion>, String)>,
);

impl<O: Copy> LlvmToolSearch<O> {
    /// Every candidate, in search order; `dirs` are PATH's.
    pub(super) fn candidates(&self, dirs: &[PathBuf]) -> Vec<(PathBuf, O)> {
        let (name, mut found) = (self.name, self.given.clone());
        if let Some(major) = self.want.map(|v| v.major) {
            let versioned = find_all_in(dirs, &format!("{name}-{major}"));
            found.extend(versioned.into_iter().map(|p| (p, self.versioned)));
            if let Some((root, origin)) = &self.tree {
                let tree = root.join(format!("llvm-{major}/bin/{name}"));
                if is_executable(&tree) {
                    found.push((tree, *origin));
                }
            }
        }
        found.extend(find_all_in(dirs, name).into_iter().map(|p| (p, self.plain)));
        if self.other_versions {
            let others = find_versioned_in(dirs, &format!("{name}-"));
            found.extend(others.into_iter().map(|p| (p, self.versioned)));
        }
        found
    }

    /// Probes `candidates` lazily, in order, each once (see [`Dedupe`]). One whose version
    /// cannot be read is skipped, the probe's error its reason; one of another LLVM major
    /// (any, when rustc reports none) is skipped with `mismatch(its version)`.
    pub(super) fn probe<'s>(
        &'s self,
        candidates: Vec<(PathBuf, O)>,
        mismatch: impl Fn(LlvmVersion) -> String + 's,
    ) -> impl Iterator<Item = Probed<O>> + 's {
        let mut seen = BTreeSet::new();
        candidates.into_iter().filter_map(move |(path, origin)| {
            let real = std::fs::canonicalize(&path).unwrap_or_else(|_| path.clone());
            let name = path
                .file_name()
                .filter(|_| self.dedupe == Dedupe::RealFileAndName);
            if self.dedupe != Dedupe::Off && !seen.insert((real, name.map(|n| n.to_owned()))) {
                return None;
            }
            let version = match (self.version)(&path) {
                Ok(v) if self.want.is_some_and(|want| want.major == v.major) => Ok(v),
                Ok(v) => Err((Some(v), mismatch(v))),
                Err(e) => Err((None, format!("{e:#}"))),
            };
            Some((path, origin, version))
        })
    }
}

/// [`llvm_tool_version`] as [`LlvmToolSearch::version`], its error saying what failed.
pub(super) fn llvm_tool_probe(tool: &Path) -> Result<LlvmVersion> {
    llvm_tool_version(tool).context("could not read its LLVM version")
}
pub(super) fn exe_name(base: &str) -> String {
    format!("{base}{}", std::env::consts::EXE_SUFFIX)
}

pub(super) fn is_executable(p: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(p)
            .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
            .unwrap_or(false)
    }
    #[cfg(not(unix))]
    {
        p.is_file()
    }
}

/// `PATH`'s directories, in order.
pub(super) fn path_dirs(path: Option<&OsStr>) -> Vec<PathBuf> {
    path.map(|p| std::env::split_paths(p).collect())
        .unwrap_or_default()
}

/// Every executable named `name` in `dirs`, in PATH order.
pub(super) fn find_all_in(dirs: &[PathBuf], name: &str) -> Vec<PathBuf> {
    dirs.iter()
        .map(|d| d.join(exe_name(name)))
        .filter(|p| is_executable(p))
        .collect()
}

/// Every executable `PREFIX<digits>` in `dirs`, in PATH order then by name.
pub(super) fn find_versioned_in(dirs: &[PathBuf], prefix: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for dir in dirs {
        let Ok(entries) = std::fs::read_dir(dir) else {
            continue;
        };
        let mut here: Vec<PathBuf> = entries
            .filter_map(|e| e.ok())
            .filter(|e| {
                let name = e.file_name();
                let name = name.to_string_lossy();
                let name = name
                    .strip_suffix(std::env::consts::EXE_SUFFIX)
                    .unwrap_or(&name);
                name.strip_prefix(prefix)
                    .is_some_and(|v| !v.is_empty() && v.chars().all(|c| c.is_ascii_digit()))
            })
            .map(|e| e.path())
            .filter(|p| is_executable(p))
            .collect();
        here.sort();
        found.extend(here);
    }
    found
}
