//! llvm-profdata: the one whose LLVM major is rustc's, found in this order:
//! `$LLVM_PROFDATA`, rustup's llvm-tools in the sysroot, `llvm-profdata-<major>` on PATH,
//! plain `llvm-profdata`, then any other `llvm-profdata-NN` (reported as skipped).

use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};

use super::search::{exe_name, llvm_tool_probe, path_dirs, Dedupe, LlvmToolSearch};
use super::{LlvmVersion, RustcInfo};

/// Where an llvm-profdata candidate was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProfdataOrigin {
    /// The `LLVM_PROFDATA` environment variable.
    EnvVar,
    /// rustup's `llvm-tools` component in the sysroot.
    RustupLlvmTools,
    /// `llvm-profdata-NN` on `PATH`.
    PathVersioned,
    /// Plain `llvm-profdata` on `PATH`.
    Path,
}

impl fmt::Display for ProfdataOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ProfdataOrigin::EnvVar => "$LLVM_PROFDATA",
            ProfdataOrigin::RustupLlvmTools => "rustup llvm-tools",
            ProfdataOrigin::PathVersioned => "versioned name on PATH",
            ProfdataOrigin::Path => "PATH",
        })
    }
}

/// An llvm-profdata whose LLVM major version equals rustc's: safe to merge profiles with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfdataTool {
    /// The executable.
    pub path: PathBuf,
    /// Where it was found.
    pub origin: ProfdataOrigin,
    /// The LLVM version it reports.
    pub version: LlvmVersion,
}

/// An llvm-profdata that was found but will not be used, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedProfdata {
    /// The executable.
    pub path: PathBuf,
    /// Where it was found.
    pub origin: ProfdataOrigin,
    /// The LLVM version it reports, when it could be read.
    pub version: Option<LlvmVersion>,
    /// A sentence for the user, e.g. `LLVM 14.0.6, but rustc uses LLVM 22`.
    pub reason: String,
}

/// The result of looking for llvm-profdata: the usable one (the first candidate, in search
/// order, whose LLVM major matches rustc's) and every other candidate with the reason it
/// was not chosen.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProfdataDiscovery {
    /// The one to use, if any.
    pub usable: Option<ProfdataTool>,
    /// Candidates that were found but not used (mismatched LLVM, unreadable version,
    /// or a later match when an earlier one already won).
    pub skipped: Vec<SkippedProfdata>,
}

impl ProfdataDiscovery {
    /// What to install to get a matching llvm-profdata, for an error message or `doctor`.
    pub fn install_hint(&self, rustc: &RustcInfo) -> String {
        let major = rustc
            .llvm
            .map(|v| v.major.to_string())
            .unwrap_or_else(|| "<rustc's LLVM major>".into());
        format!(
            "no llvm-profdata matching rustc's LLVM {major} was found; install one with \
             `rustup component add llvm-tools` (gives {}), or your distribution's \
             `llvm-{major}` package (gives llvm-profdata-{major}), or point $LLVM_PROFDATA at one",
            rustc
                .sysroot()
                .map(|s| rustup_llvm_profdata(rustc, &s).display().to_string())
                .unwrap_or_else(|_| "<sysroot>/lib/rustlib/<host>/bin/llvm-profdata".into())
        )
    }
}

/// The environment the llvm-profdata search looks at; [`ProbeEnv::from_process`] reads the
/// real one. Separate so tests can point the search at fake tools.
#[derive(Debug, Clone, Default)]
pub struct ProbeEnv {
    /// `PATH`.
    pub path: Option<OsString>,
    /// `LLVM_PROFDATA`.
    pub llvm_profdata: Option<OsString>,
    /// rustc's sysroot, if known.
    pub sysroot: Option<PathBuf>,
}

impl ProbeEnv {
    /// Reads `PATH`, `LLVM_PROFDATA` and asks rustc for its sysroot.
    pub fn from_process(rustc: &RustcInfo) -> ProbeEnv {
        ProbeEnv {
            path: std::env::var_os("PATH"),
            llvm_profdata: std::env::var_os("LLVM_PROFDATA").filter(|v| !v.is_empty()),
            sysroot: rustc.sysroot().ok(),
        }
    }
}

/// Looks for llvm-profdata in this order: `$LLVM_PROFDATA`, rustup's llvm-tools in the
/// sysroot, `llvm-profdata-<rustc's LLVM major>` on PATH, plain `llvm-profdata` on PATH,
/// then any other `llvm-profdata-NN` on PATH (reported as skipped). Each candidate is asked
/// for its version (`--version`, falling back to `merge --version` for old LLVMs); the
/// first whose major equals rustc's is usable.
pub fn find_llvm_profdata(rustc: &RustcInfo) -> ProfdataDiscovery {
    find_llvm_profdata_in(rustc, &ProbeEnv::from_process(rustc))
}

/// [`find_llvm_profdata`] with an explicit environment.
pub fn find_llvm_profdata_in(rustc: &RustcInfo, env: &ProbeEnv) -> ProfdataDiscovery {
    let env_var = env.llvm_profdata.as_ref().map(PathBuf::from);
    let rustup = env.sysroot.as_ref().map(|s| rustup_llvm_profdata(rustc, s));
    let given = [
        env_var.map(|p| (p, ProfdataOrigin::EnvVar)),
        rustup
            .filter(|p| p.is_file())
            .map(|p| (p, ProfdataOrigin::RustupLlvmTools)),
    ];
    let search = LlvmToolSearch {
        name: "llvm-profdata",
        want: rustc.llvm,
        given: given.into_iter().flatten().collect(),
        versioned: ProfdataOrigin::PathVersioned,
        tree: None,
        plain: ProfdataOrigin::Path,
        other_versions: true,
        dedupe: Dedupe::RealFileAndName,
        version: llvm_tool_probe,
    };
    let mismatch = |version| match rustc.llvm {
        Some(want) => format!(
            "it is LLVM {version}, but rustc {} uses LLVM {want}; profiles it writes may be \
             rejected by rustc",
            rustc.release
        ),
        None => "rustc reports no LLVM version, so a match cannot be checked".into(),
    };
    let candidates = search.candidates(&path_dirs(env.path.as_deref()));
    let mut discovery = ProfdataDiscovery::default();
    for (path, origin, probed) in search.probe(candidates, mismatch) {
        let (version, reason) = match probed {
            Ok(version) if discovery.usable.is_none() => {
                discovery.usable = Some(ProfdataTool {
                    path,
                    origin,
                    version,
                });
                continue;
            }
            Ok(v) => (
                Some(v),
                format!("LLVM {v} matches, but an earlier one was chosen"),
            ),
            Err(skipped) => skipped,
        };
        discovery.skipped.push(SkippedProfdata {
            path,
            origin,
            version,
            reason,
        });
    }
    discovery
}

/// Where rustup's `llvm-tools` component puts llvm-profdata for this compiler:
/// `<sysroot>/lib/rustlib/<host>/bin/llvm-profdata` (it may not exist).
fn rustup_llvm_profdata(rustc: &RustcInfo, sysroot: &Path) -> PathBuf {
    sysroot
        .join("lib/rustlib")
        .join(&rustc.host)
        .join("bin")
        .join(exe_name("llvm-profdata"))
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::toolchain::rustc::tests::RUSTC_VV;

    #[cfg(unix)]
    fn fake_tool(dir: &Path, name: &str, version_line: &str) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let p = dir.join(name);
        std::fs::write(&p, format!("#!/bin/sh\necho '{version_line}'\n")).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        p
    }

    #[cfg(unix)]
    #[test]
    fn mismatched_profdata_is_skipped_and_matching_one_chosen() {
        let rustc = RustcInfo::parse(RUSTC_VV).unwrap();
        let old = tempfile::tempdir().unwrap();
        let new = tempfile::tempdir().unwrap();
        fake_tool(old.path(), "llvm-profdata", "Debian LLVM version 14.0.6");
        let good = fake_tool(new.path(), "llvm-profdata-22", "LLVM version 22.1.8");
        let path = std::env::join_paths([old.path(), new.path()]).unwrap();

        let env = ProbeEnv {
            path: Some(path.clone()),
            ..ProbeEnv::default()
        };
        let found = find_llvm_profdata_in(&rustc, &env);
        let usable = found.usable.expect("llvm-profdata-22 should be usable");
        assert_eq!(usable.path, good);
        assert_eq!(usable.version.major, 22);
        assert_eq!(found.skipped.len(), 1);
        assert!(
            found.skipped[0].reason.contains("LLVM 14.0.6"),
            "{:?}",
            found.skipped
        );

        // Only the LLVM 14 one: nothing usable, and the skip says why.
        let env = ProbeEnv {
            path: Some(old.path().as_os_str().to_owned()),
            ..ProbeEnv::default()
        };
        let found = find_llvm_profdata_in(&rustc, &env);
        assert!(found.usable.is_none());
        assert_eq!(found.skipped.len(), 1);
        assert!(found.skipped[0]
            .reason
            .contains("rustc 1.95.0 uses LLVM 22"));
        assert!(found.install_hint(&rustc).contains("llvm-tools"));

        // $LLVM_PROFDATA comes first, even if PATH also has a match.
        let env_tool = fake_tool(old.path(), "my-profdata", "LLVM version 22.0.0");
        let env = ProbeEnv {
            path: Some(path),
            llvm_profdata: Some(env_tool.clone().into_os_string()),
            sysroot: None,
        };
        let found = find_llvm_profdata_in(&rustc, &env);
        assert_eq!(found.usable.unwrap().path, env_tool);
        assert_eq!(found.skipped.len(), 2, "{:?}", found.skipped);
    }

    #[cfg(unix)]
    #[test]
    fn unreadable_version_is_skipped_with_reason() {
        let rustc = RustcInfo::parse(RUSTC_VV).unwrap();
        let dir = tempfile::tempdir().unwrap();
        fake_tool(dir.path(), "llvm-profdata", "something else");
        let env = ProbeEnv {
            path: Some(dir.path().as_os_str().to_owned()),
            ..ProbeEnv::default()
        };
        let found = find_llvm_profdata_in(&rustc, &env);
        assert!(found.usable.is_none());
        assert!(found.skipped[0].reason.contains("could not read"));
    }
}
