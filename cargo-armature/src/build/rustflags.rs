//! Adding `-Ctarget-cpu=native` to a build without clobbering the user's own
//! rustflags.
//!
//! Cargo takes rustflags from the first of these that is set:
//! `CARGO_ENCODED_RUSTFLAGS`, `RUSTFLAGS`, every matching
//! `target.<triple|cfg>.rustflags` in config (joined), `build.rustflags`.
//! So the flag is appended to whichever environment variable is in use;
//! otherwise it goes in as `--config target.'cfg(all())'.rustflags=[..]`,
//! which cargo joins with any matching `target.*.rustflags` from config files,
//! but which also switches `build.rustflags` off: those are read from the
//! config files here and carried into the `--config` value.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result};
use toml_edit::{DocumentMut, Item};

/// The flag `--native` adds.
pub const NATIVE: &str = "-Ctarget-cpu=native";

/// How to pass extra rustflags to cargo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FlagsPlan {
    /// Set this environment variable to this value (the user's flags + ours).
    Env(&'static str, OsString),
    /// Pass `--config` with this value.
    Config(String),
}

/// What the config files and environment say about rustflags.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserFlags {
    /// `CARGO_ENCODED_RUSTFLAGS`, if set.
    pub encoded: Option<String>,
    /// `RUSTFLAGS`, if set.
    pub rustflags: Option<String>,
    /// Whether some `target.<triple|cfg>.rustflags` (config or environment) applies to the host.
    pub target_flags_apply: bool,
    /// `build.rustflags` from config files and `CARGO_BUILD_RUSTFLAGS`, merged.
    pub build_flags: Vec<String>,
}

/// Plans how to add `extra` flags on top of `user`'s.
///
/// ```
/// use cargo_armature::build::rustflags::{plan, FlagsPlan, UserFlags};
/// let user = UserFlags { rustflags: Some("-Cdebuginfo=1".into()), ..Default::default() };
/// assert_eq!(
///     plan(&user, &["-Ctarget-cpu=native"]),
///     FlagsPlan::Env("RUSTFLAGS", "-Cdebuginfo=1 -Ctarget-cpu=native".into())
/// );
/// ```
pub fn plan(user: &UserFlags, extra: &[&str]) -> FlagsPlan {
    if let Some(encoded) = &user.encoded {
        let mut parts: Vec<&str> = encoded.split('\x1f').filter(|s| !s.is_empty()).collect();
        parts.extend(extra);
        return FlagsPlan::Env("CARGO_ENCODED_RUSTFLAGS", parts.join("\x1f").into());
    }
    if let Some(flags) = &user.rustflags {
        let mut parts: Vec<&str> = flags.split_whitespace().collect();
        parts.extend(extra);
        return FlagsPlan::Env("RUSTFLAGS", parts.join(" ").into());
    }
    let mut flags: Vec<&str> = Vec::new();
    if !user.target_flags_apply {
        flags.extend(user.build_flags.iter().map(String::as_str));
    }
    flags.extend(extra);
    let array: toml_edit::Array = flags.into_iter().collect();
    FlagsPlan::Config(format!("target.'cfg(all())'.rustflags={array}"))
}

/// Reads the user's rustflags as cargo would see them when run in `cwd`.
pub fn user_flags(cwd: &Path) -> Result<UserFlags> {
    let env = |key: &str| std::env::var(key).ok();
    let host_cfg = HostCfg::detect()?;
    let mut flags = UserFlags {
        encoded: env("CARGO_ENCODED_RUSTFLAGS"),
        rustflags: env("RUSTFLAGS"),
        ..Default::default()
    };
    let triple_env = format!(
        "CARGO_TARGET_{}_RUSTFLAGS",
        host_cfg.triple.to_uppercase().replace(['-', '.'], "_")
    );
    flags.target_flags_apply = env(&triple_env).is_some();
    for file in config_files(cwd) {
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue;
        };
        let doc: DocumentMut = text
            .parse()
            .with_context(|| format!("cannot parse {}", file.display()))?;
        flags.build_flags.extend(string_list(
            doc.get("build").and_then(|b| b.get("rustflags")),
        ));
        if let Some(targets) = doc.get("target").and_then(Item::as_table_like) {
            for (key, table) in targets.iter() {
                if table.get("rustflags").is_some() && host_cfg.matches_target_key(key) {
                    flags.target_flags_apply = true;
                }
            }
        }
    }
    if let Some(v) = env("CARGO_BUILD_RUSTFLAGS") {
        flags
            .build_flags
            .extend(v.split_whitespace().map(str::to_owned));
    }
    Ok(flags)
}

/// Cargo's config files for `cwd`, lowest precedence first: `$CARGO_HOME`,
/// then from the filesystem root down to `cwd`.
pub fn config_files(cwd: &Path) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = cwd.ancestors().map(|d| d.join(".cargo")).collect();
    dirs.reverse();
    if let Some(home) = cargo_home() {
        dirs.retain(|d| d != &home);
        dirs.insert(0, home);
    }
    dirs.into_iter()
        .filter_map(|d| {
            // Cargo reads `config.toml`, or the older `config` when that is absent.
            ["config.toml", "config"]
                .into_iter()
                .map(|f| d.join(f))
                .find(|p| p.is_file())
        })
        .collect()
}

fn cargo_home() -> Option<PathBuf> {
    std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cargo")))
}

/// A TOML value that is a string of space-separated flags or an array of them.
fn string_list(item: Option<&Item>) -> Vec<String> {
    let Some(value) = item.and_then(Item::as_value) else {
        return Vec::new();
    };
    if let Some(s) = value.as_str() {
        return s.split_whitespace().map(str::to_owned).collect();
    }
    value
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// The host's `rustc --print cfg`, to decide whether `target.'cfg(..)'` applies.
#[derive(Debug, Clone, Default)]
pub struct HostCfg {
    /// The host triple.
    pub triple: String,
    /// `name` and `key="value"` entries, as `(key, None)` and `(key, Some(value))`.
    pub entries: Vec<(String, Option<String>)>,
}

impl HostCfg {
    /// Asks rustc.
    pub fn detect() -> Result<Self> {
        let rustc = crate::toolchain::rustc_path();
        let run = |args: &[&str]| -> Result<String> {
            let out = Command::new(&rustc)
                .args(args)
                .output()
                .with_context(|| format!("cannot run `{} {}`", rustc.display(), args.join(" ")))?;
            anyhow::ensure!(out.status.success(), "`rustc {}` failed", args.join(" "));
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        };
        let vv = run(&["-vV"])?;
        let triple = vv
            .lines()
            .find_map(|l| l.strip_prefix("host: "))
            .context("`rustc -vV` printed no host")?
            .to_owned();
        Ok(Self::parse(&triple, &run(&["--print", "cfg"])?))
    }

    /// Parses `rustc --print cfg` output.
    pub fn parse(triple: &str, text: &str) -> Self {
        let entries = text
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| match l.split_once('=') {
                Some((k, v)) => (
                    k.trim().to_owned(),
                    Some(v.trim().trim_matches('"').to_owned()),
                ),
                None => (l.trim().to_owned(), None),
            })
            .collect();
        Self {
            triple: triple.to_owned(),
            entries,
        }
    }

    /// Whether a `[target.KEY]` table applies to the host: KEY is the host
    /// triple or a `cfg(..)` expression true on it. An expression this parser
    /// cannot read counts as applying (the user's flags are then left alone).
    pub fn matches_target_key(&self, key: &str) -> bool {
        match key.strip_prefix("cfg(").and_then(|k| k.strip_suffix(')')) {
            Some(expr) => CfgParser {
                s: expr.as_bytes(),
                i: 0,
            }
            .parse_all()
            .is_none_or(|e| self.eval(&e)),
            None => key == self.triple,
        }
    }

    fn eval(&self, expr: &CfgExpr) -> bool {
        match expr {
            CfgExpr::All(v) => v.iter().all(|e| self.eval(e)),
            CfgExpr::Any(v) => v.iter().any(|e| self.eval(e)),
            CfgExpr::Not(e) => !self.eval(e),
            CfgExpr::Name(n) => self.entries.iter().any(|(k, v)| k == n && v.is_none()),
            CfgExpr::KeyValue(k, val) => self
                .entries
                .iter()
                .any(|(ek, ev)| ek == k && ev.as_deref() == Some(val)),
        }
    }
}

#[derive(Debug)]
enum CfgExpr {
    All(Vec<CfgExpr>),
    Any(Vec<CfgExpr>),
    Not(Box<CfgExpr>),
    Name(String),
    KeyValue(String, String),
}

struct CfgParser<'a> {
    s: &'a [u8],
    i: usize,
}

impl CfgParser<'_> {
    fn parse_all(mut self) -> Option<CfgExpr> {
        let e = self.expr()?;
        self.ws();
        (self.i == self.s.len()).then_some(e)
    }

    fn ws(&mut self) {
        while self.s.get(self.i).is_some_and(u8::is_ascii_whitespace) {
            self.i += 1;
        }
    }

    fn eat(&mut self, c: u8) -> bool {
        self.ws();
        let hit = self.s.get(self.i) == Some(&c);
        if hit {
            self.i += 1;
        }
        hit
    }

    fn ident(&mut self) -> Option<String> {
        self.ws();
        let start = self.i;
        while self
            .s
            .get(self.i)
            .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
        {
            self.i += 1;
        }
        (self.i > start).then(|| String::from_utf8_lossy(&self.s[start..self.i]).into_owned())
    }

    fn expr(&mut self) -> Option<CfgExpr> {
        let name = self.ident()?;
        if self.eat(b'(') {
            let mut list = Vec::new();
            if !self.eat(b')') {
                loop {
                    list.push(self.expr()?);
                    if self.eat(b')') {
                        break;
                    }
                    if !self.eat(b',') {
                        return None;
                    }
                    if self.eat(b')') {
                        break; // trailing comma
                    }
                }
            }
            return match name.as_str() {
                "all" => Some(CfgExpr::All(list)),
                "any" => Some(CfgExpr::Any(list)),
                "not" if list.len() == 1 => Some(CfgExpr::Not(Box::new(list.pop()?))),
                _ => None,
            };
        }
        if self.eat(b'=') {
            self.ws();
            if !self.eat(b'"') {
                return None;
            }
            let start = self.i;
            while self.s.get(self.i).is_some_and(|c| *c != b'"') {
                self.i += 1;
            }
            let value = String::from_utf8_lossy(&self.s[start..self.i]).into_owned();
            self.i += 1;
            return Some(CfgExpr::KeyValue(name, value));
        }
        Some(CfgExpr::Name(name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINUX: &str = "debug_assertions\npanic=\"unwind\"\ntarget_arch=\"x86_64\"\n\
        target_family=\"unix\"\ntarget_os=\"linux\"\ntarget_feature=\"sse2\"\nunix\n";

    fn host() -> HostCfg {
        HostCfg::parse("x86_64-unknown-linux-gnu", LINUX)
    }

    #[test]
    fn cfg_table() {
        let h = host();
        for (key, want) in [
            ("x86_64-unknown-linux-gnu", true),
            ("aarch64-apple-darwin", false),
            ("cfg(all())", true),
            ("cfg(any())", false),
            ("cfg(unix)", true),
            ("cfg(windows)", false),
            ("cfg(target_os = \"linux\")", true),
            ("cfg(not(target_os = \"linux\"))", false),
            ("cfg(all(unix, target_arch = \"x86_64\"))", true),
            ("cfg(any(windows, target_arch=\"aarch64\"))", false),
            (
                "cfg(all(unix, not(windows), any(target_feature = \"sse2\")))",
                true,
            ),
            ("cfg(what is this)", true),
        ] {
            assert_eq!(h.matches_target_key(key), want, "{key}");
        }
    }

    #[test]
    fn env_flags_are_appended_to() {
        let user = UserFlags {
            encoded: Some("-Ca\x1f-Cb".into()),
            rustflags: Some("-Cz".into()),
            ..Default::default()
        };
        assert_eq!(
            plan(&user, &[NATIVE]),
            FlagsPlan::Env(
                "CARGO_ENCODED_RUSTFLAGS",
                "-Ca\x1f-Cb\x1f-Ctarget-cpu=native".into()
            )
        );
    }

    #[test]
    fn build_rustflags_are_carried_into_config() {
        let user = UserFlags {
            build_flags: vec!["-Cforce-frame-pointers=yes".into()],
            ..Default::default()
        };
        assert_eq!(
            plan(&user, &[NATIVE]),
            FlagsPlan::Config(r#"target.'cfg(all())'.rustflags=["-Cforce-frame-pointers=yes", "-Ctarget-cpu=native"]"#.into())
        );
        // When target flags apply, cargo ignores build.rustflags and joins ours with them.
        let user = UserFlags {
            target_flags_apply: true,
            ..user
        };
        assert_eq!(
            plan(&user, &[NATIVE]),
            FlagsPlan::Config(r#"target.'cfg(all())'.rustflags=["-Ctarget-cpu=native"]"#.into())
        );
    }

    #[test]
    fn config_files_are_read_lowest_precedence_first() {
        let tmp = tempfile::tempdir().unwrap();
        let inner = tmp.path().join("a/b");
        std::fs::create_dir_all(inner.join(".cargo")).unwrap();
        std::fs::create_dir_all(tmp.path().join("a/.cargo")).unwrap();
        std::fs::write(tmp.path().join("a/.cargo/config"), "").unwrap();
        std::fs::write(inner.join(".cargo/config.toml"), "").unwrap();
        let files = config_files(&inner);
        let outer = files
            .iter()
            .position(|f| f.ends_with("a/.cargo/config"))
            .unwrap();
        let inner_pos = files
            .iter()
            .position(|f| f.ends_with("a/b/.cargo/config.toml"))
            .unwrap();
        assert!(outer < inner_pos);
    }

    #[test]
    fn string_or_array_flags() {
        let doc: DocumentMut = "[build]\nrustflags = \"-Ca -Cb\"\n[x]\nrustflags = [\"-Cc\"]\n"
            .parse()
            .unwrap();
        assert_eq!(string_list(doc["build"].get("rustflags")), ["-Ca", "-Cb"]);
        assert_eq!(string_list(doc["x"].get("rustflags")), ["-Cc"]);
    }
}
