//! Toolchain probe: what rustc, LLVM, llvm-profdata, wrk and the CPU offer on this machine.
//!
//! Everything here runs a tool and parses what it prints; the parsing is split out into
//! pure functions (`parse_*`) so it can be tested without the tools installed.
//!
//! Used by `cargo armature pgo` (which llvm-profdata may merge profiles, which host to
//! build for, whether `wrk` drives the load) and by `cargo armature doctor` (the report).
//!
//! ```no_run
//! use cargo_armature::toolchain::{self, RustcInfo};
//! let rustc = RustcInfo::detect()?;
//! println!("rustc {} for {}, LLVM {:?}", rustc.release, rustc.host, rustc.llvm);
//! let profdata = toolchain::find_llvm_profdata(&rustc);
//! match &profdata.usable {
//!     Some(tool) => println!("llvm-profdata: {} ({})", tool.path.display(), tool.origin),
//!     None => println!("{}", profdata.install_hint(&rustc)),
//! }
//! for skipped in &profdata.skipped {
//!     println!("skipped {}: {}", skipped.path.display(), skipped.reason);
//! }
//! # Ok::<(), anyhow::Error>(())
//! ```

pub mod bolt;
pub mod clang;
mod search;

use search::{llvm_tool_probe, Dedupe, LlvmToolSearch};

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

/// An LLVM version as `major.minor.patch`, e.g. `22.1.2`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LlvmVersion {
    /// Major version: the only part that must match between rustc and llvm-profdata.
    pub major: u32,
    /// Minor version.
    pub minor: u32,
    /// Patch version.
    pub patch: u32,
}

impl LlvmVersion {
    /// Parses `22`, `22.1` or `22.1.2` (a trailing suffix such as `-rust-1.95.0-stable`
    /// or `git` on the last part is ignored).
    pub fn parse(text: &str) -> Option<LlvmVersion> {
        let text = text.trim();
        let mut parts = text.split('.');
        let leading_number = |s: &str| -> Option<u32> {
            let digits: String = s.chars().take_while(|c| c.is_ascii_digit()).collect();
            digits.parse().ok()
        };
        let major = leading_number(parts.next()?)?;
        let minor = parts.next().and_then(leading_number).unwrap_or(0);
        let patch = parts.next().and_then(leading_number).unwrap_or(0);
        Some(LlvmVersion {
            major,
            minor,
            patch,
        })
    }
}

impl fmt::Display for LlvmVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

/// What `rustc -vV` says about the compiler.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RustcInfo {
    /// The `rustc` that was asked (`$RUSTC` or `rustc`).
    pub rustc: PathBuf,
    /// `release:` e.g. `1.95.0`.
    pub release: String,
    /// `host:` the host target triple, e.g. `x86_64-unknown-linux-gnu`.
    pub host: String,
    /// `commit-hash:` when rustc was built from git.
    pub commit_hash: Option<String>,
    /// `LLVM version:`; `None` for a compiler without an LLVM backend line.
    pub llvm: Option<LlvmVersion>,
}

impl RustcInfo {
    /// Runs `$RUSTC -vV` (or `rustc -vV`) and parses it.
    pub fn detect() -> Result<RustcInfo> {
        let rustc = rustc_path();
        let out = Command::new(&rustc)
            .arg("-vV")
            .output()
            .with_context(|| format!("running `{} -vV`: is Rust installed?", rustc.display()))?;
        if !out.status.success() {
            bail!(
                "`{} -vV` failed ({}): {}",
                rustc.display(),
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        let mut info = RustcInfo::parse(&String::from_utf8_lossy(&out.stdout))?;
        info.rustc = rustc;
        Ok(info)
    }

    /// Parses the output of `rustc -vV`. `rustc` is set to `rustc`; [`RustcInfo::detect`]
    /// fills in the real one.
    pub fn parse(text: &str) -> Result<RustcInfo> {
        let field = |name: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(name).map(|v| v.trim().to_owned()))
        };
        let release = field("release:").context("`rustc -vV` printed no `release:` line")?;
        let host = field("host:").context("`rustc -vV` printed no `host:` line")?;
        let commit_hash = field("commit-hash:").filter(|h| h != "unknown");
        let llvm = field("LLVM version:").and_then(|v| LlvmVersion::parse(&v));
        Ok(RustcInfo {
            rustc: PathBuf::from("rustc"),
            release,
            host,
            commit_hash,
            llvm,
        })
    }

    /// `rustc --print sysroot`.
    pub fn sysroot(&self) -> Result<PathBuf> {
        let out = Command::new(&self.rustc)
            .args(["--print", "sysroot"])
            .output()
            .with_context(|| format!("running `{} --print sysroot`", self.rustc.display()))?;
        if !out.status.success() {
            bail!("`{} --print sysroot` failed", self.rustc.display());
        }
        Ok(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
    }

    /// Where rustup's `llvm-tools` component puts llvm-profdata for this compiler:
    /// `<sysroot>/lib/rustlib/<host>/bin/llvm-profdata` (it may not exist).
    pub fn rustup_llvm_profdata(&self, sysroot: &Path) -> PathBuf {
        sysroot
            .join("lib/rustlib")
            .join(&self.host)
            .join("bin")
            .join(exe_name("llvm-profdata"))
    }
}

/// The rustc that cargo would use: `$RUSTC`, else `rustc`.
pub fn rustc_path() -> PathBuf {
    std::env::var_os("RUSTC")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("rustc"))
}

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
                .map(|s| rustc.rustup_llvm_profdata(&s).display().to_string())
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
    let rustup = env.sysroot.as_ref().map(|s| rustc.rustup_llvm_profdata(s));
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

/// Asks an LLVM tool for its version: `TOOL --version`, and if that prints no
/// `LLVM version` line (llvm-profdata 14 answers "Unknown command!"), `TOOL merge --version`.
pub fn llvm_tool_version(tool: &Path) -> Result<LlvmVersion> {
    let mut last = String::new();
    for args in [&["--version"][..], &["merge", "--version"][..]] {
        let out = Command::new(tool)
            .args(args)
            .output()
            .with_context(|| format!("running `{} {}`", tool.display(), args.join(" ")))?;
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        if let Some(v) = parse_llvm_version_output(&text) {
            return Ok(v);
        }
        last = text;
    }
    bail!(
        "no `LLVM version` line in its output: {:?}",
        last.lines().next().unwrap_or("")
    )
}

/// Finds `LLVM version X.Y.Z` in a tool's `--version` output (also matches
/// `Debian LLVM version 22.1.8`, `Homebrew LLVM version 17.0.6`).
pub fn parse_llvm_version_output(text: &str) -> Option<LlvmVersion> {
    text.lines().find_map(|line| {
        let idx = line.find("LLVM version")?;
        LlvmVersion::parse(&line[idx + "LLVM version".len()..])
    })
}

/// The `wrk` HTTP benchmarking tool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrkTool {
    /// The executable.
    pub path: PathBuf,
    /// The version it reports (`wrk 4.1.0 [epoll] ...` gives `4.1.0`), when readable.
    pub version: Option<String>,
}

/// Looks for `wrk` on PATH and asks its version (`wrk -v`, which exits 1 by design).
pub fn find_wrk() -> Option<WrkTool> {
    find_wrk_in(std::env::var_os("PATH").as_deref())
}

/// [`find_wrk`] with an explicit `PATH`.
pub fn find_wrk_in(path: Option<&std::ffi::OsStr>) -> Option<WrkTool> {
    let path = find_all_in(&path_dirs(path), "wrk").into_iter().next()?;
    let version = Command::new(&path).arg("-v").output().ok().and_then(|o| {
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        parse_wrk_version(&text)
    });
    Some(WrkTool { path, version })
}

/// Parses `wrk 4.1.0 [epoll] Copyright (C) 2012 Will Glozer` into `4.1.0` (Debian's
/// `wrk debian/4.1.0-3+b2 [epoll] ...` gives `4.1.0-3+b2`).
pub fn parse_wrk_version(text: &str) -> Option<String> {
    text.lines().find_map(|l| {
        let rest = l.trim().strip_prefix("wrk ")?;
        let v = rest.split_whitespace().next()?;
        let v = v.rsplit('/').next().unwrap_or(v);
        v.starts_with(|c: char| c.is_ascii_digit())
            .then(|| v.to_owned())
    })
}

/// What `-Ctarget-cpu=native` means on this machine.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CpuFeatures {
    /// The CPU name LLVM detects (`znver3`, `sapphirerapids`), if rustc reports it.
    pub native_cpu: Option<String>,
    /// Every `target_feature` enabled by `-Ctarget-cpu=native`, sorted (`avx2`, `sse4.2`, ...).
    pub features: Vec<String>,
}

impl CpuFeatures {
    /// Runs `rustc --print cfg -Ctarget-cpu=native` and `rustc --print target-cpus`.
    pub fn detect(rustc: &RustcInfo) -> Result<CpuFeatures> {
        let out = Command::new(&rustc.rustc)
            .args(["--print", "cfg", "-Ctarget-cpu=native"])
            .output()
            .with_context(|| format!("running `{} --print cfg`", rustc.rustc.display()))?;
        if !out.status.success() {
            bail!(
                "`{} --print cfg -Ctarget-cpu=native` failed: {}",
                rustc.rustc.display(),
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        let features = parse_target_features(&String::from_utf8_lossy(&out.stdout));
        let native_cpu = Command::new(&rustc.rustc)
            .args(["--print", "target-cpus"])
            .output()
            .ok()
            .and_then(|o| parse_native_cpu(&String::from_utf8_lossy(&o.stdout)));
        Ok(CpuFeatures {
            native_cpu,
            features,
        })
    }

    /// Whether a feature (as rustc names it, e.g. `avx2`) is enabled.
    pub fn has(&self, feature: &str) -> bool {
        self.features.iter().any(|f| f == feature)
    }
}

/// Collects `target_feature="X"` lines of `rustc --print cfg`, sorted and deduplicated.
pub fn parse_target_features(cfg: &str) -> Vec<String> {
    let set: BTreeSet<String> = cfg
        .lines()
        .filter_map(|l| l.trim().strip_prefix("target_feature=\""))
        .filter_map(|l| l.strip_suffix('"'))
        .map(str::to_owned)
        .collect();
    set.into_iter().collect()
}

/// Finds the `native` line of `rustc --print target-cpus`:
/// `    native    - Select the CPU of the current host (currently znver3).`
pub fn parse_native_cpu(target_cpus: &str) -> Option<String> {
    let line = target_cpus
        .lines()
        .find(|l| l.trim_start().starts_with("native"))?;
    let start = line.find("(currently ")? + "(currently ".len();
    let end = start + line[start..].find(')')?;
    Some(line[start..end].to_owned())
}

fn exe_name(base: &str) -> String {
    format!("{base}{}", std::env::consts::EXE_SUFFIX)
}

fn is_executable(p: &Path) -> bool {
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
fn path_dirs(path: Option<&std::ffi::OsStr>) -> Vec<PathBuf> {
    path.map(|p| std::env::split_paths(p).collect())
        .unwrap_or_default()
}

/// Every executable named `name` in `dirs`, in PATH order.
fn find_all_in(dirs: &[PathBuf], name: &str) -> Vec<PathBuf> {
    dirs.iter()
        .map(|d| d.join(exe_name(name)))
        .filter(|p| is_executable(p))
        .collect()
}

/// Every executable `PREFIX<digits>` in `dirs`, in PATH order then by name.
fn find_versioned_in(dirs: &[PathBuf], prefix: &str) -> Vec<PathBuf> {
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

#[cfg(test)]
mod tests {
    use super::*;

    const RUSTC_VV: &str = "rustc 1.95.0 (59807616e 2026-04-14)
binary: rustc
commit-hash: 59807616e1fa2540724bfbac14d7976d7e4a3860
commit-date: 2026-04-14
host: x86_64-unknown-linux-gnu
release: 1.95.0
LLVM version: 22.1.2
";

    #[test]
    fn parses_rustc_vv() {
        let info = RustcInfo::parse(RUSTC_VV).unwrap();
        assert_eq!(info.release, "1.95.0");
        assert_eq!(info.host, "x86_64-unknown-linux-gnu");
        assert_eq!(
            info.llvm,
            Some(LlvmVersion {
                major: 22,
                minor: 1,
                patch: 2
            })
        );
        assert_eq!(
            info.commit_hash.as_deref(),
            Some("59807616e1fa2540724bfbac14d7976d7e4a3860")
        );
    }

    #[test]
    fn rustc_vv_without_host_is_an_error() {
        assert!(RustcInfo::parse("rustc 1.0\nrelease: 1.0.0\n").is_err());
        let no_llvm = RustcInfo::parse("host: x\nrelease: 1.0.0\ncommit-hash: unknown\n").unwrap();
        assert_eq!(no_llvm.llvm, None);
        assert_eq!(no_llvm.commit_hash, None);
    }

    #[test]
    fn parses_llvm_versions() {
        let cases = [
            (
                "Debian LLVM version 22.1.8\n  Optimized build.",
                Some((22, 1, 8)),
            ),
            (
                "LLVM (http://llvm.org/):\n  LLVM version 14.0.6\n",
                Some((14, 0, 6)),
            ),
            ("Homebrew LLVM version 17.0.6", Some((17, 0, 6))),
            ("LLVM version 19.1.0-rust-1.84.0-stable", Some((19, 1, 0))),
            ("llvm-profdata: Unknown command!", None),
        ];
        for (text, want) in cases {
            let got = parse_llvm_version_output(text).map(|v| (v.major, v.minor, v.patch));
            assert_eq!(got, want, "{text:?}");
        }
        assert_eq!(LlvmVersion::parse("22").unwrap().to_string(), "22.0.0");
    }

    #[test]
    fn parses_wrk_version() {
        assert_eq!(
            parse_wrk_version("wrk 4.1.0 [epoll] Copyright (C) 2012 Will Glozer\nUsage: ..."),
            Some("4.1.0".into())
        );
        assert_eq!(
            parse_wrk_version("wrk debian/4.1.0-3+b2 [epoll] Copyright (C) 2012 Will Glozer"),
            Some("4.1.0-3+b2".into())
        );
        assert_eq!(parse_wrk_version("wrk: invalid option -- 'v'"), None);
    }

    #[test]
    fn parses_cpu_features() {
        let cfg = "target_arch=\"x86_64\"\ntarget_feature=\"sse2\"\ntarget_feature=\"avx2\"\n\
                   target_feature=\"avx2\"\ntarget_os=\"linux\"\n";
        assert_eq!(parse_target_features(cfg), vec!["avx2", "sse2"]);
        let cpus = "Available CPUs for this target:\n    native - Select the CPU of the \
                    current host (currently znver3).\n    alderlake\n";
        assert_eq!(parse_native_cpu(cpus).as_deref(), Some("znver3"));
        assert_eq!(parse_native_cpu("    alderlake\n"), None);
    }

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
