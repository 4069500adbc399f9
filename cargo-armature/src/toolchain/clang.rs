//! Finding a clang whose LLVM major is rustc's, for the C and C++ code that build
//! scripts compile with the `cc` crate (a bundled SQLite, zstd, ring's assembly glue).
//! With one, `cargo armature pgo` instruments that code in the same run and the same
//! `.profraw` files as the Rust code (both use LLVM's profile runtime, which rustc
//! links), and optimises it with the merged profile; without one that code is built
//! as before, unprofiled, and the run says so.
//!
//! The search: `$CC` when it is a clang (the user's choice is never overridden; a
//! `$CC` that is not a matching clang means no C profiling), then `clang-<major>` on
//! PATH, the LLVM tree (`/usr/lib/llvm-<major>/bin/clang`), plain `clang`. Each
//! candidate must report rustc's LLVM major (`clang --version`: `clang version 22.1.8`)
//! and have a C++ driver beside it (`clang++-<major>` or `clang++`).

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result};

use super::search::{find_all_in, is_executable, path_dirs, Dedupe, LlvmToolSearch};
use super::{LlvmVersion, RustcInfo};

/// A clang for the C and C++ code of a PGO run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClangTool {
    /// The C compiler (`CC`).
    pub clang: PathBuf,
    /// The C++ compiler beside it (`CXX`).
    pub clangxx: PathBuf,
    /// The LLVM version it reports.
    pub version: LlvmVersion,
    /// Where it was found, in words.
    pub origin: &'static str,
}

/// What the search found: the clang to use, or why there is none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClangDiscovery {
    /// Use this one.
    Usable(ClangTool),
    /// None; the sentence says what was found and what to do.
    Missing(String),
}

/// Looks with the process's `CC`, `PATH` and `/usr/lib`.
pub fn find_clang(rustc: &RustcInfo) -> ClangDiscovery {
    find_clang_in(
        rustc,
        std::env::var_os("CC").filter(|v| !v.is_empty()),
        std::env::var_os("PATH"),
        Path::new("/usr/lib"),
    )
}

/// [`find_clang`] with an explicit `CC`, `PATH` and LLVM tree root.
pub fn find_clang_in(
    rustc: &RustcInfo,
    cc: Option<OsString>,
    path: Option<OsString>,
    llvm_root: &Path,
) -> ClangDiscovery {
    let Some(want) = rustc.llvm else {
        return ClangDiscovery::Missing(
            "rustc reports no LLVM version, so no clang can be matched to it".into(),
        );
    };
    let dirs = path_dirs(path.as_deref());
    let install = format!(
        "install clang {m} (Debian/Ubuntu: apt-get install clang-{m}) to profile it too",
        m = want.major
    );
    let search = LlvmToolSearch {
        name: "clang",
        want: Some(want),
        given: Vec::new(),
        versioned: "versioned name on PATH",
        tree: Some((llvm_root.to_path_buf(), "the LLVM tree")),
        plain: "PATH",
        other_versions: false,
        dedupe: Dedupe::Off,
        version: clang_version,
    };
    // Each candidate as a clang of rustc's LLVM with its clang++, or (path, why not).
    let check = |candidates| {
        let mismatch = |version| format!("it is clang {version}, but rustc uses LLVM {want}");
        search
            .probe(candidates, mismatch)
            .map(|(path, origin, probed)| {
                let version = probed.map_err(|(_, why)| (path.clone(), why))?;
                with_clangxx(&path, version, origin).map_err(|e| (path, format!("{e:#}")))
            })
    };
    if let Some(cc) = cc {
        // The user chose the C compiler: use it if it can take part, never replace it.
        let cc = PathBuf::from(cc);
        let resolved = if cc.components().count() > 1 {
            Some(cc.clone())
        } else {
            find_all_in(&dirs, &cc.to_string_lossy()).into_iter().next()
        };
        // One candidate, and `Dedupe::Off`: one answer.
        let why = match resolved.and_then(|p| check(vec![(p, "$CC")]).next()) {
            Some(Ok(tool)) => return ClangDiscovery::Usable(tool),
            Some(Err((_, why))) => why,
            None => "it is not on PATH".into(),
        };
        return ClangDiscovery::Missing(format!(
            "CC={} is set and cannot take part ({why}): C and C++ code is built with it, \
             unprofiled; unset CC or point it at clang {}",
            cc.display(),
            want.major
        ));
    }
    let mut skipped = Vec::new();
    for checked in check(search.candidates(&dirs)) {
        match checked {
            Ok(tool) => return ClangDiscovery::Usable(tool),
            Err((path, why)) => skipped.push(format!("{}: {why}", path.display())),
        }
    }
    let mut why = format!("no clang with rustc's LLVM {}; {install}", want.major);
    if !skipped.is_empty() {
        why.push_str(&format!(" (skipped {})", skipped.join("; ")));
    }
    ClangDiscovery::Missing(why)
}

/// A clang of rustc's LLVM with the C++ driver beside it.
fn with_clangxx(clang: &Path, version: LlvmVersion, origin: &'static str) -> Result<ClangTool> {
    let dir = clang.parent().unwrap_or(Path::new(""));
    let name = clang
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    // clang-22 -> clang++-22; clang -> clang++.
    let cxx_names = [name.replacen("clang", "clang++", 1), "clang++".into()];
    let clangxx = cxx_names
        .iter()
        .map(|n| dir.join(n))
        .find(|p| is_executable(p))
        .with_context(|| format!("no clang++ beside it in {}", dir.display()))?;
    Ok(ClangTool {
        clang: clang.to_path_buf(),
        clangxx,
        version,
        origin,
    })
}

/// `clang --version`'s `clang version X.Y.Z` (also `Debian clang version ...`).
fn clang_version(clang: &Path) -> Result<LlvmVersion> {
    let out = Command::new(clang)
        .arg("--version")
        .output()
        .with_context(|| format!("cannot run `{} --version`", clang.display()))?;
    let text = String::from_utf8_lossy(&out.stdout);
    parse_clang_version(&text)
        .with_context(|| format!("no `clang version` in {:?}", text.lines().next()))
}

/// Finds `clang version X.Y.Z` in `clang --version` output.
pub fn parse_clang_version(text: &str) -> Option<LlvmVersion> {
    text.lines().find_map(|line| {
        let idx = line.find("clang version")?;
        LlvmVersion::parse(&line[idx + "clang version".len()..])
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rustc(major: u32) -> RustcInfo {
        RustcInfo::parse(&format!(
            "rustc 1.95.0\nhost: x86_64-unknown-linux-gnu\nrelease: 1.95.0\nLLVM version: {major}.1.2\n"
        ))
        .unwrap()
    }

    #[test]
    fn parses_clang_version_lines() {
        let v = parse_clang_version("Debian clang version 22.1.8 (++20250101)\nTarget: x\n");
        assert_eq!(v.map(|v| v.major), Some(22));
        assert_eq!(
            parse_clang_version("clang version 19.1.7\n").map(|v| v.to_string()),
            Some("19.1.7".into())
        );
        assert_eq!(parse_clang_version("gcc (Debian 12.2.0-14) 12.2.0\n"), None);
    }

    /// A fake clang printing `version`, and a clang++ beside it unless `no_cxx`.
    fn fake(dir: &Path, name: &str, version: &str, cxx: bool) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let write = |n: &str| {
            let p = dir.join(n);
            std::fs::write(&p, format!("#!/bin/sh\necho 'clang version {version}'\n")).unwrap();
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
            p
        };
        if cxx {
            write(&name.replacen("clang", "clang++", 1));
        }
        write(name)
    }

    #[test]
    fn finds_the_versioned_clang_that_matches_and_its_cxx() {
        let tmp = tempfile::tempdir().unwrap();
        fake(tmp.path(), "clang", "14.0.6", true);
        let want = fake(tmp.path(), "clang-22", "22.1.8", true);
        let found = find_clang_in(
            &rustc(22),
            None,
            Some(tmp.path().as_os_str().to_owned()),
            Path::new("/nonexistent"),
        );
        match found {
            ClangDiscovery::Usable(t) => {
                assert_eq!(t.clang, want);
                assert_eq!(t.clangxx, tmp.path().join("clang++-22"));
                assert_eq!(t.version.major, 22);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_mismatched_clang_is_explained() {
        let tmp = tempfile::tempdir().unwrap();
        fake(tmp.path(), "clang", "14.0.6", true);
        let found = find_clang_in(
            &rustc(22),
            None,
            Some(tmp.path().as_os_str().to_owned()),
            Path::new("/nonexistent"),
        );
        let ClangDiscovery::Missing(why) = found else {
            panic!("{found:?}")
        };
        assert!(why.contains("apt-get install clang-22"), "{why}");
        assert!(
            why.contains("it is clang 14.0.6, but rustc uses LLVM 22"),
            "{why}"
        );
    }

    #[test]
    fn the_users_cc_is_used_or_named_never_replaced() {
        let tmp = tempfile::tempdir().unwrap();
        fake(tmp.path(), "clang-22", "22.1.8", true);
        let gcc = tmp.path().join("gcc");
        std::fs::write(&gcc, "#!/bin/sh\necho 'gcc (Debian 12.2.0-14) 12.2.0'\n").unwrap();
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&gcc, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        let path = Some(tmp.path().as_os_str().to_owned());
        let found = find_clang_in(
            &rustc(22),
            Some("gcc".into()),
            path.clone(),
            Path::new("/x"),
        );
        let ClangDiscovery::Missing(why) = found else {
            panic!("{found:?}")
        };
        assert!(
            why.starts_with("CC=gcc is set and cannot take part"),
            "{why}"
        );
        let found = find_clang_in(&rustc(22), Some("clang-22".into()), path, Path::new("/x"));
        assert!(matches!(found, ClangDiscovery::Usable(t) if t.origin == "$CC"));
    }
}
