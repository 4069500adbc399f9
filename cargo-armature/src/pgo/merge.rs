//! Merging `.profraw` files into one indexed profile: llvm-profdata when its LLVM major
//! matches rustc's, otherwise the built-in merger ([`crate::profdata`]). The result is
//! named after a hash of its contents, so `-Cprofile-use` sees a new path (and rustc
//! rebuilds) exactly when the profile changed.

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};
use md5::{Digest, Md5};

use crate::toolchain::{self, ProfdataDiscovery, ProfdataTool, RustcInfo};

/// Which merger the user asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum MergerChoice {
    /// llvm-profdata when one matches rustc's LLVM, else the built-in merger.
    #[default]
    Auto,
    /// llvm-profdata only; an error when none matches.
    Llvm,
    /// The built-in pure-Rust merger.
    Builtin,
}

/// The merger that will run.
#[derive(Debug, Clone)]
pub enum Merger {
    /// A matching llvm-profdata.
    Llvm(ProfdataTool),
    /// [`crate::profdata::merge_files`].
    Builtin,
}

impl fmt::Display for Merger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Merger::Llvm(t) => write!(f, "{} (LLVM {}, {})", t.path.display(), t.version, t.origin),
            Merger::Builtin => f.write_str("the built-in merger"),
        }
    }
}

impl Merger {
    /// Chooses the merger. Returns it with one note per llvm-profdata that was skipped
    /// (mismatched LLVM), to be shown to the user.
    pub fn select(choice: MergerChoice, rustc: &RustcInfo) -> Result<(Merger, Vec<String>)> {
        if choice == MergerChoice::Builtin {
            return Ok((Merger::Builtin, Vec::new()));
        }
        let found = toolchain::find_llvm_profdata(rustc);
        Merger::from_discovery(choice, rustc, found)
    }

    fn from_discovery(
        choice: MergerChoice,
        rustc: &RustcInfo,
        found: ProfdataDiscovery,
    ) -> Result<(Merger, Vec<String>)> {
        let notes: Vec<String> = found
            .skipped
            .iter()
            .filter(|s| {
                found.usable.is_none() || s.version.map(|v| v.major) != rustc.llvm.map(|v| v.major)
            })
            .map(|s| {
                format!(
                    "skipped llvm-profdata {} ({}): {}",
                    s.path.display(),
                    s.origin,
                    s.reason
                )
            })
            .collect();
        match (found.usable.clone(), choice) {
            (Some(tool), _) => Ok((Merger::Llvm(tool), notes)),
            (None, MergerChoice::Llvm) => {
                let mut msg = found.install_hint(rustc);
                for n in &notes {
                    msg.push_str("\n  ");
                    msg.push_str(n);
                }
                bail!("`--merger llvm`: {msg}; or use `--merger builtin`")
            }
            (None, _) => Ok((Merger::Builtin, notes)),
        }
    }

    /// Merges `inputs` into `<dir>/<stem>-<hash>.profdata` and returns that path.
    pub fn merge(&self, inputs: &[PathBuf], dir: &Path, stem: &str) -> Result<PathBuf> {
        let tmp = dir.join(format!(".{stem}.merging.profdata"));
        let _ = std::fs::remove_file(&tmp);
        match self {
            Merger::Llvm(tool) => {
                let out = crate::children::output(
                    Command::new(&tool.path)
                        .arg("merge")
                        .arg("-o")
                        .arg(&tmp)
                        .args(inputs),
                )
                .with_context(|| format!("running {} merge", tool.path.display()))?;
                let stderr = String::from_utf8_lossy(&out.stderr);
                if !out.status.success() {
                    bail!(
                        "{} merge failed ({}): {}",
                        tool.path.display(),
                        out.status,
                        stderr.trim()
                    );
                }
                for line in stderr.lines().filter(|l| !l.trim().is_empty()) {
                    eprintln!("      llvm-profdata: {line}");
                }
            }
            Merger::Builtin => {
                let report = crate::profdata::merge_files(inputs, &tmp)
                    .context("the built-in merger failed")?;
                for w in &report.warnings {
                    eprintln!("      merge warning: {w}");
                }
            }
        }
        let bytes = std::fs::read(&tmp).with_context(|| format!("reading {}", tmp.display()))?;
        let path = dir.join(hashed_name(stem, &bytes));
        std::fs::rename(&tmp, &path)
            .with_context(|| format!("renaming {} to {}", tmp.display(), path.display()))?;
        Ok(path)
    }
}

/// `<stem>-<first 16 hex digits of the MD5 of bytes>.profdata`.
pub fn hashed_name(stem: &str, bytes: &[u8]) -> String {
    let digest = Md5::digest(bytes);
    let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    format!("{stem}-{hex}.profdata")
}

/// The `.profraw` files of a run: non-empty ones to merge, and the empty ones.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawProfiles {
    /// Files with data, sorted.
    pub files: Vec<PathBuf>,
    /// Zero-byte files (a process killed while writing), sorted.
    pub empty: Vec<PathBuf>,
}

impl RawProfiles {
    /// Lists `dir/*.profraw`.
    pub fn scan(dir: &Path) -> Result<RawProfiles> {
        let mut found = RawProfiles::default();
        let entries = match std::fs::read_dir(dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(found),
            Err(e) => return Err(e).with_context(|| format!("listing {}", dir.display())),
        };
        for entry in entries {
            let entry = entry.with_context(|| format!("listing {}", dir.display()))?;
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "profraw") {
                let len = entry.metadata().map(|m| m.len()).unwrap_or(0);
                if len == 0 {
                    found.empty.push(path);
                } else {
                    found.files.push(path);
                }
            }
        }
        found.files.sort();
        found.empty.sort();
        Ok(found)
    }
}

/// Removes merged profiles in `dir` other than `keep`.
pub fn remove_old_profiles(dir: &Path, keep: &Path) {
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p != keep && p.extension().is_some_and(|x| x == "profdata") {
                let _ = std::fs::remove_file(p);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::toolchain::{LlvmVersion, ProfdataOrigin, SkippedProfdata};

    fn rustc() -> RustcInfo {
        RustcInfo::parse("host: x86_64-unknown-linux-gnu\nrelease: 1.95.0\nLLVM version: 22.1.2\n")
            .unwrap()
    }

    fn llvm14() -> SkippedProfdata {
        SkippedProfdata {
            path: "/usr/bin/llvm-profdata".into(),
            origin: ProfdataOrigin::Path,
            version: Some(LlvmVersion {
                major: 14,
                minor: 0,
                patch: 6,
            }),
            reason: "it is LLVM 14.0.6, but rustc 1.95.0 uses LLVM 22.1.2".into(),
        }
    }

    #[test]
    fn mismatched_llvm_falls_back_to_builtin_with_a_note() {
        let found = ProfdataDiscovery {
            usable: None,
            skipped: vec![llvm14()],
        };
        let (m, notes) =
            Merger::from_discovery(MergerChoice::Auto, &rustc(), found.clone()).unwrap();
        assert!(matches!(m, Merger::Builtin));
        assert_eq!(notes.len(), 1);
        assert!(notes[0].contains("LLVM 14.0.6"), "{notes:?}");
        let err = Merger::from_discovery(MergerChoice::Llvm, &rustc(), found).unwrap_err();
        let msg = format!("{err:#}");
        assert!(
            msg.contains("llvm-tools") && msg.contains("LLVM 14.0.6"),
            "{msg}"
        );
    }

    #[test]
    fn names_follow_the_contents() {
        let a = hashed_name("app", b"one");
        assert_eq!(a, hashed_name("app", b"one"));
        assert_ne!(a, hashed_name("app", b"two"));
        assert!(
            a.starts_with("app-")
                && a.ends_with(".profdata")
                && a.len() == "app-.profdata".len() + 16
        );
    }

    #[test]
    fn scans_raw_profiles() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("b.profraw"), b"x").unwrap();
        std::fs::write(dir.path().join("a.profraw"), b"y").unwrap();
        std::fs::write(dir.path().join("c.profraw"), b"").unwrap();
        std::fs::write(dir.path().join("notes.txt"), b"z").unwrap();
        let raw = RawProfiles::scan(dir.path()).unwrap();
        assert_eq!(raw.files.len(), 2);
        assert!(raw.files[0].ends_with("a.profraw"));
        assert_eq!(raw.empty.len(), 1);
        assert_eq!(
            RawProfiles::scan(&dir.path().join("none")).unwrap(),
            RawProfiles::default()
        );
    }
}
