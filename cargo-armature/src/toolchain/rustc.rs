//! The compiler: what `rustc -vV` says (release, host, LLVM version), its sysroot, and
//! `rustc --print` for the rest (the host's cfg, `-Ctarget-cpu=native`'s features).

use std::path::PathBuf;
use std::process::Command;

use anyhow::{bail, Context, Result};

use super::LlvmVersion;

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
        Ok(PathBuf::from(self.print("sysroot", &[])?.trim()))
    }

    /// `rustc --print WHAT FLAGS..` (`cfg`, `target-cpus`, `sysroot`): its standard output.
    pub fn print(&self, what: &str, flags: &[&str]) -> Result<String> {
        let shown = format!(
            "{} --print {what}{}",
            self.rustc.display(),
            flags.iter().map(|f| format!(" {f}")).collect::<String>()
        );
        let out = Command::new(&self.rustc)
            .args(["--print", what])
            .args(flags)
            .output()
            .with_context(|| format!("running `{shown}`"))?;
        if !out.status.success() {
            bail!(
                "`{shown}` failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }
}

/// The rustc that cargo would use: `$RUSTC`, else `rustc`.
pub fn rustc_path() -> PathBuf {
    std::env::var_os("RUSTC")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("rustc"))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// `rustc -vV` of rustc 1.95.0 on x86-64 Linux: the other toolchain tests' rustc too.
    pub(crate) const RUSTC_VV: &str = "rustc 1.95.0 (59807616e 2026-04-14)
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
}
