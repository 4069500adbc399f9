//! The one rustflags planner: adding flags (`-Ctarget-cpu=native`, `-Cprofile-generate`,
//! `-Cprofile-use`, ...) to a cargo build without losing any the user set.
//!
//! Cargo takes rustflags from the first of these sources that is set
//! (<https://doc.rust-lang.org/cargo/reference/config.html#buildrustflags>):
//!
//! 1. `CARGO_ENCODED_RUSTFLAGS`,
//! 2. `RUSTFLAGS`,
//! 3. every `target.<triple>.rustflags` and `target.<cfg>.rustflags` that matches
//!    (config files and `CARGO_TARGET_<TRIPLE>_RUSTFLAGS`), joined together,
//! 4. `build.rustflags` (config files and `CARGO_BUILD_RUSTFLAGS`), used only when no
//!    `target.*` matched.
//!
//! So the extra flags are appended to whichever environment variable is in use (always
//! written back as `CARGO_ENCODED_RUSTFLAGS`, so a flag with a space survives); otherwise
//! they go in as `--config target.'cfg(all())'.rustflags=[..]`, which cargo joins with
//! every matching `target.*` from the config files, but which also switches
//! `build.rustflags` off: those are read from the config files (lowest precedence
//! first, as cargo joins arrays) and carried into the `--config` value.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use toml_edit::{DocumentMut, Item};

use crate::toolchain::RustcInfo;

/// The flag `--native` adds.
pub const NATIVE: &str = "-Ctarget-cpu=native";

/// How to pass extra rustflags to cargo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FlagsPlan {
    /// Set `CARGO_ENCODED_RUSTFLAGS` to this (the user's flags from `CARGO_ENCODED_RUSTFLAGS`
    /// or `RUSTFLAGS`, then ours) and unset `RUSTFLAGS`.
    Env(String),
    /// Pass `--config` with this value.
    Config(String),
    /// Nothing to add.
    Nothing,
}

impl FlagsPlan {
    /// Applies the plan to a cargo invocation.
    pub fn apply(&self, inv: &mut crate::cargo::Invocation) {
        match self {
            FlagsPlan::Env(encoded) => {
                inv.env("CARGO_ENCODED_RUSTFLAGS", Some(encoded.into()));
                inv.env("RUSTFLAGS", None);
            }
            FlagsPlan::Config(value) => {
                inv.args.push("--config".into());
                inv.args.push(value.into());
            }
            FlagsPlan::Nothing => {}
        }
    }
}

/// Where the user's rustflags come from, as cargo would pick them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserFlags {
    /// `CARGO_ENCODED_RUSTFLAGS`, if set.
    pub encoded: Option<String>,
    /// `RUSTFLAGS`, if set.
    pub rustflags: Option<String>,
    /// The `[target.KEY]` tables (config files) and `CARGO_TARGET_<TRIPLE>_RUSTFLAGS`
    /// whose rustflags apply to the host, by name.
    pub target_sources: Vec<String>,
    /// `build.rustflags` from config files (lowest precedence first) and
    /// `CARGO_BUILD_RUSTFLAGS`, merged.
    pub build_flags: Vec<String>,
}

impl UserFlags {
    /// Which source cargo uses, in words (for `-v` and for tests).
    pub fn source(&self) -> String {
        if self.encoded.is_some() {
            "CARGO_ENCODED_RUSTFLAGS".into()
        } else if self.rustflags.is_some() {
            "RUSTFLAGS".into()
        } else if !self.target_sources.is_empty() {
            self.target_sources.join(" + ")
        } else if !self.build_flags.is_empty() {
            "build.rustflags".into()
        } else {
            "none".into()
        }
    }
}

/// Plans how to add `extra` flags on top of `user`'s.
///
/// ```
/// use cargo_armature::cargo::rustflags::{plan, FlagsPlan, UserFlags};
/// let user = UserFlags { rustflags: Some("-Cdebuginfo=1".into()), ..Default::default() };
/// assert_eq!(
///     plan(&user, &["-Ctarget-cpu=native".to_owned()]),
///     FlagsPlan::Env("-Cdebuginfo=1\x1f-Ctarget-cpu=native".into())
/// );
/// ```
pub fn plan(user: &UserFlags, extra: &[String]) -> FlagsPlan {
    if extra.is_empty() {
        return FlagsPlan::Nothing;
    }
    let extra = extra.iter().map(String::as_str);
    if let Some(encoded) = &user.encoded {
        let parts: Vec<&str> = encoded
            .split('\x1f')
            .filter(|s| !s.is_empty())
            .chain(extra)
            .collect();
        return FlagsPlan::Env(parts.join("\x1f"));
    }
    if let Some(flags) = &user.rustflags {
        let parts: Vec<&str> = flags.split_whitespace().chain(extra).collect();
        return FlagsPlan::Env(parts.join("\x1f"));
    }
    let mut flags: Vec<&str> = Vec::new();
    if user.target_sources.is_empty() {
        flags.extend(user.build_flags.iter().map(String::as_str));
    }
    flags.extend(extra);
    let array: toml_edit::Array = flags.into_iter().collect();
    FlagsPlan::Config(format!("target.'cfg(all())'.rustflags={array}"))
}

/// Reads the user's rustflags as cargo would see them, from the environment and
/// `config_files` (lowest precedence first), for a build targeting `host`.
pub fn user_flags(config_files: &[PathBuf], host: &HostCfg) -> Result<UserFlags> {
    user_flags_in(config_files, host, &|key| std::env::var(key).ok())
}

/// [`user_flags`] with the environment given as a function.
pub fn user_flags_in(
    config_files: &[PathBuf],
    host: &HostCfg,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<UserFlags> {
    let mut flags = UserFlags {
        encoded: env("CARGO_ENCODED_RUSTFLAGS"),
        rustflags: env("RUSTFLAGS"),
        ..Default::default()
    };
    for file in config_files {
        let text = std::fs::read_to_string(file)
            .with_context(|| format!("cannot read {}", file.display()))?;
        let doc: DocumentMut = text
            .parse()
            .with_context(|| format!("cannot parse {}", file.display()))?;
        flags.build_flags.extend(string_list(
            doc.get("build").and_then(|b| b.get("rustflags")),
        ));
        if let Some(targets) = doc.get("target").and_then(Item::as_table_like) {
            for (key, table) in targets.iter() {
                if table.get("rustflags").is_some() && host.matches_target_key(key) {
                    flags
                        .target_sources
                        .push(format!("target.{key} ({})", file.display()));
                }
            }
        }
    }
    let triple_env = format!(
        "CARGO_TARGET_{}_RUSTFLAGS",
        host.triple.to_uppercase().replace(['-', '.'], "_")
    );
    if env(&triple_env).is_some() {
        flags.target_sources.push(triple_env);
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

/// Whether a cargo config file or manifest defines `[profile.NAME]`.
pub fn defines_profile(file: &Path, name: &str) -> bool {
    std::fs::read_to_string(file)
        .ok()
        .and_then(|t| t.parse::<DocumentMut>().ok())
        .and_then(|doc| {
            doc.get("profile")
                .and_then(|p| p.as_table_like())
                .map(|p| p.contains_key(name))
        })
        .unwrap_or(false)
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
    /// Asks rustc (`$RUSTC`, else `rustc`).
    pub fn detect() -> Result<Self> {
        Self::of(&RustcInfo::detect()?)
    }

    /// Asks this rustc for its host's `--print cfg`.
    pub fn of(rustc: &RustcInfo) -> Result<Self> {
        Ok(Self::parse(&rustc.host, &rustc.print("cfg", &[])?))
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

    fn extra() -> Vec<String> {
        vec![NATIVE.to_owned()]
    }

    #[test]
    fn env_flags_are_appended_to_and_encoded() {
        let user = UserFlags {
            encoded: Some("-Ca\x1f-Cb".into()),
            rustflags: Some("-Cz".into()),
            ..Default::default()
        };
        assert_eq!(
            plan(&user, &extra()),
            FlagsPlan::Env("-Ca\x1f-Cb\x1f-Ctarget-cpu=native".into())
        );
        let user = UserFlags {
            rustflags: Some(" --cfg  x ".into()),
            target_sources: vec!["target.cfg(unix)".into()],
            ..Default::default()
        };
        let extra = vec!["-Cprofile-use=/a b/x.profdata".to_owned()];
        assert_eq!(
            plan(&user, &extra),
            FlagsPlan::Env("--cfg\x1fx\x1f-Cprofile-use=/a b/x.profdata".into())
        );
        assert_eq!(plan(&user, &[]), FlagsPlan::Nothing);
    }

    #[test]
    fn build_rustflags_are_carried_into_config() {
        let user = UserFlags {
            build_flags: vec!["-Cforce-frame-pointers=yes".into()],
            ..Default::default()
        };
        assert_eq!(
            plan(&user, &extra()),
            FlagsPlan::Config(r#"target.'cfg(all())'.rustflags=["-Cforce-frame-pointers=yes", "-Ctarget-cpu=native"]"#.into())
        );
        // When target flags apply, cargo ignores build.rustflags and joins ours with them.
        let user = UserFlags {
            target_sources: vec!["target.x86_64-unknown-linux-gnu".into()],
            ..user
        };
        assert_eq!(
            plan(&user, &extra()),
            FlagsPlan::Config(r#"target.'cfg(all())'.rustflags=["-Ctarget-cpu=native"]"#.into())
        );
    }

    /// Every config shape, read from real files: which source wins, and what is carried.
    #[test]
    fn config_shapes_table() {
        let h = host();
        for (config, source, carried) in [
            ("", "none", vec![]),
            ("[build]\nrustflags = [\"--cfg\", \"b\"]\n", "build.rustflags", vec!["--cfg", "b"]),
            ("[build]\nrustflags = \"--cfg b\"\n", "build.rustflags", vec!["--cfg", "b"]),
            // The issue's shape: a target table for another triple does not switch
            // build.rustflags off.
            (
                "[build]\nrustflags = [\"--cfg\", \"b\"]\n[target.aarch64-unknown-linux-gnu]\nrustflags = [\"--cfg\", \"arm\"]\n",
                "build.rustflags",
                vec!["--cfg", "b"],
            ),
            (
                "[build]\nrustflags = [\"--cfg\", \"b\"]\n[target.x86_64-unknown-linux-gnu]\nrustflags = [\"--cfg\", \"t\"]\n",
                "target.x86_64-unknown-linux-gnu",
                vec![],
            ),
            (
                "[build]\nrustflags = [\"--cfg\", \"b\"]\n[target.'cfg(unix)']\nrustflags = [\"--cfg\", \"u\"]\n",
                "target.cfg(unix)",
                vec![],
            ),
            (
                "[build]\nrustflags = [\"--cfg\", \"b\"]\n[target.'cfg(windows)']\nrustflags = [\"--cfg\", \"w\"]\n",
                "build.rustflags",
                vec!["--cfg", "b"],
            ),
        ] {
            let tmp = tempfile::tempdir().unwrap();
            let file = tmp.path().join("config.toml");
            std::fs::write(&file, config).unwrap();
            // The environment of the test run must not decide the outcome.
            let user = user_flags_in(&[file], &h, &|_| None).unwrap();
            assert!(user.source().starts_with(source), "{config}: {}", user.source());
            let mut want: Vec<&str> = carried.clone();
            want.push(NATIVE);
            let array: toml_edit::Array = want.into_iter().collect();
            assert_eq!(
                plan(&user, &extra()),
                FlagsPlan::Config(format!("target.'cfg(all())'.rustflags={array}")),
                "{config}"
            );
        }
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
