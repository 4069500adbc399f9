//! Finding `llvm-bolt` and `merge-fdata` as carefully as llvm-profdata: `$LLVM_BOLT`,
//! `llvm-bolt-<rustc's LLVM major>` on PATH, the LLVM tree (`/usr/lib/llvm-N/bin`),
//! plain `llvm-bolt`, then any other `llvm-bolt-NN` (reported). Each candidate must
//! report rustc's LLVM major and have its instrumentation runtime
//! (`<prefix>/lib/libbolt_rt_instr.a` beside its real executable; Debian's
//! `/usr/bin/llvm-bolt-19` lacks it while `/usr/lib/llvm-19/bin/llvm-bolt` has it) and a
//! `merge-fdata` beside it.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use super::search::{
    exe_name, find_all_in, is_executable, llvm_tool_probe, path_dirs, Dedupe, LlvmToolSearch,
};
use super::{LlvmVersion, RustcInfo};

/// A usable BOLT: `llvm-bolt`, its `merge-fdata` and its instrumentation runtime.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoltTools {
    /// `llvm-bolt` as found (what the user would type).
    pub llvm_bolt: PathBuf,
    /// `merge-fdata` beside it.
    pub merge_fdata: PathBuf,
    /// `libbolt_rt_instr.a`.
    pub runtime: PathBuf,
    /// The LLVM version it reports.
    pub version: LlvmVersion,
    /// Where it was found, in words.
    pub origin: &'static str,
}

/// A candidate that will not be used, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedBolt {
    /// The executable.
    pub path: PathBuf,
    /// Why, in a sentence.
    pub reason: String,
}

/// What the search found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BoltDiscovery {
    /// The first usable candidate.
    pub usable: Option<BoltTools>,
    /// Every other candidate, with the reason.
    pub skipped: Vec<SkippedBolt>,
}

impl BoltDiscovery {
    /// What to install, for an error message or `doctor`.
    pub fn install_hint(&self, rustc: &RustcInfo) -> String {
        let major = rustc
            .llvm
            .map(|v| v.major.to_string())
            .unwrap_or_else(|| "<rustc's LLVM major>".into());
        let mut out = format!(
            "no usable llvm-bolt matching rustc's LLVM {major} was found; install your \
             distribution's `bolt-{major}` package (Debian/Ubuntu: apt-get install bolt-{major}), \
             or point $LLVM_BOLT at an llvm-bolt {major} whose lib/libbolt_rt_instr.a is present"
        );
        for s in &self.skipped {
            out.push_str(&format!("\n  skipped {}: {}", s.path.display(), s.reason));
        }
        out
    }
}

/// Looks for BOLT with the process's `PATH` and `LLVM_BOLT`.
pub fn find_llvm_bolt(rustc: &RustcInfo) -> BoltDiscovery {
    find_llvm_bolt_in(
        rustc,
        std::env::var_os("PATH"),
        std::env::var_os("LLVM_BOLT").filter(|v| !v.is_empty()),
        Path::new("/usr/lib"),
    )
}

/// [`find_llvm_bolt`] with an explicit `PATH`, `LLVM_BOLT` and LLVM tree root
/// (`/usr/lib`, holding `llvm-N/bin/llvm-bolt`).
pub fn find_llvm_bolt_in(
    rustc: &RustcInfo,
    path: Option<OsString>,
    env_bolt: Option<OsString>,
    llvm_root: &Path,
) -> BoltDiscovery {
    let dirs = path_dirs(path.as_deref());
    let search = LlvmToolSearch {
        name: "llvm-bolt",
        want: rustc.llvm,
        given: env_bolt
            .map(|p| (PathBuf::from(p), "$LLVM_BOLT"))
            .into_iter()
            .collect(),
        versioned: "versioned name on PATH",
        tree: Some((llvm_root.to_path_buf(), "the LLVM tree")),
        plain: "PATH",
        other_versions: true,
        dedupe: Dedupe::RealFile,
        version: llvm_tool_probe,
    };
    let mismatch = |version| match rustc.llvm {
        Some(want) => format!(
            "it is LLVM {version}, but rustc {} uses LLVM {want}",
            rustc.release
        ),
        None => "rustc reports no LLVM version to match".into(),
    };
    let mut found = BoltDiscovery::default();
    for (path, origin, probed) in search.probe(search.candidates(&dirs), mismatch) {
        let skip = |reason: String| SkippedBolt {
            path: path.clone(),
            reason,
        };
        let version = match probed {
            Ok(version) => version,
            Err((_, reason)) => {
                found.skipped.push(skip(reason));
                continue;
            }
        };
        let real = std::fs::canonicalize(&path).unwrap_or_else(|_| path.clone());
        // llvm-bolt looks for its runtime relative to its real executable.
        let prefix = real.parent().and_then(Path::parent);
        let runtime = prefix.map(|p| p.join("lib/libbolt_rt_instr.a"));
        let Some(runtime) = runtime.filter(|r| r.is_file()) else {
            found.skipped.push(skip(format!(
                "its instrumentation runtime is missing ({}){}",
                prefix
                    .map(|p| p.join("lib/libbolt_rt_instr.a").display().to_string())
                    .unwrap_or_else(|| "lib/libbolt_rt_instr.a".into()),
                match rustc.llvm {
                    Some(v) => format!("; /usr/lib/llvm-{}/bin/llvm-bolt usually has it", v.major),
                    None => String::new(),
                }
            )));
            continue;
        };
        let beside = real.with_file_name(exe_name("merge-fdata"));
        let merge = if is_executable(&beside) {
            Some(beside)
        } else {
            find_all_in(&dirs, &format!("merge-fdata-{}", version.major))
                .into_iter()
                .next()
        };
        let Some(merge_fdata) = merge else {
            found.skipped.push(skip(format!(
                "no merge-fdata beside it ({}) or merge-fdata-{} on PATH",
                real.with_file_name("merge-fdata").display(),
                version.major
            )));
            continue;
        };
        let tools = BoltTools {
            llvm_bolt: path.clone(),
            merge_fdata,
            runtime,
            version,
            origin,
        };
        if found.usable.is_none() {
            found.usable = Some(tools);
        } else {
            found
                .skipped
                .push(skip("usable, but an earlier one was chosen".into()));
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn rustc() -> RustcInfo {
        RustcInfo::parse("release: 1.95.0\nhost: x86_64-unknown-linux-gnu\nLLVM version: 22.1.2\n")
            .unwrap()
    }

    fn tool(path: &Path, version: &str) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(
            path,
            format!(
                "#!/bin/sh\necho 'LLVM (http://llvm.org/):'\necho '  LLVM version {version}'\n"
            ),
        )
        .unwrap();
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    /// A Debian-like layout: `/usr/bin/llvm-bolt-NN` (a copy, without the runtime
    /// beside it) and `/usr/lib/llvm-NN/{bin,lib}` with it.
    #[test]
    fn mismatched_and_runtime_less_bolts_are_skipped_with_reasons() {
        let tmp = tempfile::tempdir().unwrap();
        let bin = tmp.path().join("usr/bin");
        let lib = tmp.path().join("usr/lib");
        tool(&bin.join("llvm-bolt-19"), "19.1.7");
        tool(&bin.join("llvm-bolt-22"), "22.1.8");
        tool(&lib.join("llvm-22/bin/llvm-bolt"), "22.1.8");
        tool(&lib.join("llvm-22/bin/merge-fdata"), "22.1.8");
        std::fs::create_dir_all(lib.join("llvm-22/lib")).unwrap();
        std::fs::write(lib.join("llvm-22/lib/libbolt_rt_instr.a"), "").unwrap();
        let found = find_llvm_bolt_in(&rustc(), Some(bin.clone().into()), None, &lib);
        let usable = found.usable.clone().expect("the LLVM tree's llvm-bolt");
        assert_eq!(usable.llvm_bolt, lib.join("llvm-22/bin/llvm-bolt"));
        assert_eq!(usable.origin, "the LLVM tree");
        assert_eq!(usable.merge_fdata, lib.join("llvm-22/bin/merge-fdata"));
        let why = |name: &str| {
            found
                .skipped
                .iter()
                .find(|s| s.path == bin.join(name))
                .map(|s| s.reason.clone())
                .unwrap_or_default()
        };
        assert!(
            why("llvm-bolt-22").contains("instrumentation runtime is missing"),
            "{found:?}"
        );
        assert!(
            why("llvm-bolt-19").contains("LLVM 19.1.7, but rustc 1.95.0 uses LLVM 22"),
            "{found:?}"
        );
        // Nothing usable: the hint names the package and every skipped candidate.
        let none = find_llvm_bolt_in(&rustc(), Some(bin.clone().into()), None, tmp.path());
        assert!(none.usable.is_none());
        let hint = none.install_hint(&rustc());
        assert!(
            hint.contains("bolt-22") && hint.contains("skipped"),
            "{hint}"
        );
        // $LLVM_BOLT comes first.
        let env = find_llvm_bolt_in(
            &rustc(),
            None,
            Some(lib.join("llvm-22/bin/llvm-bolt").into()),
            Path::new("/nonexistent"),
        );
        assert_eq!(env.usable.unwrap().origin, "$LLVM_BOLT");
    }
}
