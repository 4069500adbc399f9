//! LLVM versions: parsing `22.1.2`, and asking an LLVM tool which one it is. Every tool
//! `cargo armature pgo` runs beside rustc (llvm-profdata, llvm-bolt, clang) must be of
//! rustc's LLVM major.

use std::fmt;
use std::path::Path;
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
