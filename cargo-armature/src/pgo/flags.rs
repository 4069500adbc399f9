//! Adding PGO flags to a cargo build without losing the user's own: rustflags from the
//! environment or from cargo config files, and C compiler flags for `cc`-built deps.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// How to pass extra rustflags to one cargo invocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RustflagsPlan {
    /// Set `CARGO_ENCODED_RUSTFLAGS` to this (the user's env flags, then ours) and unset
    /// `RUSTFLAGS`: used when the user set either variable.
    Env(String),
    /// Pass `--config KEY=[...]`; cargo merges it with the config files' array of the
    /// same key. `key` is `build.rustflags`, or `target.'cfg(all())'.rustflags` when a
    /// config file or variable sets target rustflags (which make cargo ignore
    /// `build.rustflags`, so ours must be target flags too).
    Config {
        /// The config key.
        key: String,
        /// The `KEY=[...]` argument for `--config`.
        arg: String,
    },
}

impl RustflagsPlan {
    /// Decides how to add `extra`, looking at the environment and at the cargo config
    /// files that apply in `cwd` (each ancestor's `.cargo/config[.toml]`, then
    /// `$CARGO_HOME/config[.toml]`).
    pub fn new(extra: &[String], cwd: &Path, host: &str) -> RustflagsPlan {
        let env = |k: &str| std::env::var_os(k);
        let target_env = format!(
            "CARGO_TARGET_{}_RUSTFLAGS",
            host.to_ascii_uppercase().replace(['-', '.'], "_")
        );
        RustflagsPlan::decide(
            extra,
            env("CARGO_ENCODED_RUSTFLAGS"),
            env("RUSTFLAGS"),
            env(&target_env).is_some()
                || config_files(cwd).iter().any(|f| sets_target_rustflags(f)),
        )
    }

    fn decide(
        extra: &[String],
        encoded: Option<OsString>,
        plain: Option<OsString>,
        target_rustflags: bool,
    ) -> RustflagsPlan {
        if let Some(enc) = encoded {
            let mut flags: Vec<String> = enc
                .to_string_lossy()
                .split('\x1f')
                .filter(|f| !f.is_empty())
                .map(str::to_owned)
                .collect();
            flags.extend(extra.iter().cloned());
            return RustflagsPlan::Env(flags.join("\x1f"));
        }
        if let Some(plain) = plain {
            let mut flags: Vec<String> = plain
                .to_string_lossy()
                .split_whitespace()
                .map(str::to_owned)
                .collect();
            flags.extend(extra.iter().cloned());
            return RustflagsPlan::Env(flags.join("\x1f"));
        }
        let key = if target_rustflags {
            "target.'cfg(all())'.rustflags"
        } else {
            "build.rustflags"
        };
        let list: Vec<String> = extra
            .iter()
            .map(|f| {
                toml_edit::Value::from(f.as_str())
                    .to_string()
                    .trim()
                    .to_owned()
            })
            .collect();
        RustflagsPlan::Config {
            key: key.to_owned(),
            arg: format!("{key}=[{}]", list.join(", ")),
        }
    }

    /// Applies the plan to a cargo command.
    pub fn apply(&self, cmd: &mut Command) {
        match self {
            RustflagsPlan::Env(enc) => {
                cmd.env("CARGO_ENCODED_RUSTFLAGS", enc)
                    .env_remove("RUSTFLAGS");
            }
            RustflagsPlan::Config { arg, .. } => {
                cmd.arg("--config").arg(arg);
            }
        }
    }
}

/// The cargo config files that apply in `cwd`, most specific first.
pub fn config_files(cwd: &Path) -> Vec<PathBuf> {
    fn push(out: &mut Vec<PathBuf>, dir: &Path) {
        for name in ["config.toml", "config"] {
            let p = dir.join(name);
            if p.is_file() && !out.contains(&p) {
                out.push(p);
            }
        }
    }
    let mut out = Vec::new();
    for dir in cwd.ancestors() {
        push(&mut out, &dir.join(".cargo"));
    }
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")));
    if let Some(home) = cargo_home {
        push(&mut out, &home);
    }
    out
}

fn read_toml(file: &Path) -> Option<toml_edit::DocumentMut> {
    std::fs::read_to_string(file).ok()?.parse().ok()
}

/// Whether a config file has `[target.<anything>] rustflags`.
fn sets_target_rustflags(file: &Path) -> bool {
    let Some(doc) = read_toml(file) else {
        return false;
    };
    doc.get("target")
        .and_then(|t| t.as_table_like())
        .is_some_and(|t| {
            t.iter().any(|(_, v)| {
                v.as_table_like()
                    .is_some_and(|v| v.contains_key("rustflags"))
            })
        })
}

/// Whether a cargo config file or manifest defines `[profile.NAME]`.
pub fn defines_profile(file: &Path, name: &str) -> bool {
    read_toml(file)
        .and_then(|doc| {
            doc.get("profile")
                .and_then(|p| p.as_table_like())
                .map(|p| p.contains_key(name))
        })
        .unwrap_or(false)
}

/// The C and C++ compiler flags to add for a phase, keeping the user's: each of
/// `CFLAGS`/`CXXFLAGS` and the target-specific forms the `cc` crate reads
/// (`CFLAGS_<triple>`, `CFLAGS_<triple_with_underscores>`, `TARGET_CFLAGS`) that is set
/// gets `flags` appended; plain `CFLAGS`/`CXXFLAGS` always do. Flags the C compiler
/// (`$CC` or `cc`) rejects are left out, so a compiler without them still builds.
pub fn c_flag_env(flags: &[&str], host: &str) -> Vec<(String, String)> {
    let accepted: Vec<&str> = flags
        .iter()
        .copied()
        .filter(|f| c_compiler_accepts(f))
        .collect();
    if accepted.is_empty() {
        return Vec::new();
    }
    let mut out = Vec::new();
    for base in ["CFLAGS", "CXXFLAGS"] {
        let names = [
            base.to_owned(),
            format!("{base}_{host}"),
            format!("{base}_{}", host.replace('-', "_")),
            format!("TARGET_{base}"),
        ];
        for (i, name) in names.iter().enumerate() {
            let current = std::env::var(name).ok();
            if i > 0 && current.is_none() {
                continue;
            }
            let mut value = current.unwrap_or_default();
            for f in &accepted {
                if !value.split_whitespace().any(|v| v == *f) {
                    if !value.is_empty() {
                        value.push(' ');
                    }
                    value.push_str(f);
                }
            }
            out.push((name.clone(), value));
        }
    }
    out
}

fn c_compiler_accepts(flag: &str) -> bool {
    let cc = std::env::var_os("CC").unwrap_or_else(|| "cc".into());
    let dir = match tempfile::tempdir() {
        Ok(d) => d,
        Err(_) => return false,
    };
    let src = dir.path().join("probe.c");
    if std::fs::write(&src, "int armature_probe;\n").is_err() {
        return false;
    }
    Command::new(cc)
        .arg(flag)
        .arg("-c")
        .arg(&src)
        .arg("-o")
        .arg(dir.path().join("probe.o"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flags(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn env_flags_are_kept_and_extended() {
        let extra = flags(&["-Cprofile-use=/a b/x.profdata"]);
        let plan =
            RustflagsPlan::decide(&extra, None, Some("-Ctarget-cpu=native  -g".into()), false);
        assert_eq!(
            plan,
            RustflagsPlan::Env("-Ctarget-cpu=native\x1f-g\x1f-Cprofile-use=/a b/x.profdata".into())
        );
        let plan =
            RustflagsPlan::decide(&extra, Some("--cfg\x1fx".into()), Some("-g".into()), true);
        assert_eq!(
            plan,
            RustflagsPlan::Env("--cfg\x1fx\x1f-Cprofile-use=/a b/x.profdata".into())
        );
    }

    #[test]
    fn config_key_follows_the_user_config() {
        let extra = flags(&["-Cprofile-generate=/t/raw", "-Cllvm-args=-x"]);
        let RustflagsPlan::Config { key, arg } = RustflagsPlan::decide(&extra, None, None, false)
        else {
            panic!("expected a config plan");
        };
        assert_eq!(key, "build.rustflags");
        assert_eq!(
            arg,
            r#"build.rustflags=["-Cprofile-generate=/t/raw", "-Cllvm-args=-x"]"#
        );
        let RustflagsPlan::Config { key, .. } = RustflagsPlan::decide(&extra, None, None, true)
        else {
            panic!("expected a config plan");
        };
        assert_eq!(key, "target.'cfg(all())'.rustflags");
    }

    #[test]
    fn c_flags_are_appended_when_the_compiler_takes_them() {
        let host = "x86_64-unknown-linux-gnu";
        let env = c_flag_env(&["-fno-profile-generate", "-fno-such-flag-armature"], host);
        if !c_compiler_accepts("-fno-profile-generate") {
            assert!(env.is_empty());
            return;
        }
        let cflags = &env
            .iter()
            .find(|(k, _)| k == "CFLAGS")
            .expect("CFLAGS set")
            .1;
        assert!(cflags.ends_with("-fno-profile-generate"), "{cflags}");
        assert!(
            !cflags.contains("such-flag"),
            "a rejected flag is left out: {cflags}"
        );
        assert!(env.iter().any(|(k, _)| k == "CXXFLAGS"));
    }

    #[test]
    fn reads_config_files() {
        let dir = tempfile::tempdir().unwrap();
        let cargo = dir.path().join(".cargo");
        std::fs::create_dir(&cargo).unwrap();
        let cfg = cargo.join("config.toml");
        std::fs::write(&cfg, "[build]\nrustflags = [\"-g\"]\n").unwrap();
        assert!(config_files(dir.path()).contains(&cfg));
        assert!(!sets_target_rustflags(&cfg));
        std::fs::write(
            &cfg,
            "[target.'cfg(unix)']\nrustflags = [\"-g\"]\n[profile.release-fat]\nlto = true\n",
        )
        .unwrap();
        assert!(sets_target_rustflags(&cfg));
        assert!(defines_profile(&cfg, "release-fat"));
        assert!(!defines_profile(&cfg, "release-native"));
    }
}
