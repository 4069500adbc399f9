//! `wrk`, the HTTP load generator `cargo armature pgo` prefers when it is on PATH.

use std::ffi::OsStr;
use std::path::PathBuf;
use std::process::Command;

use super::search::{find_all_in, path_dirs};

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
pub fn find_wrk_in(path: Option<&OsStr>) -> Option<WrkTool> {
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
