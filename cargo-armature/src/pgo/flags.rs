//! C compiler flags for a PGO phase (for `cc`-built dependencies), added without losing
//! the user's own. Rustflags go through the one planner, [`crate::cargo::rustflags`].

use std::process::{Command, Stdio};

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
}
