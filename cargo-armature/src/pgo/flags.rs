//! C compiler flags for a PGO phase (for `cc`-built dependencies), added without losing
//! the user's own. Rustflags go through the one planner, [`crate::cargo::rustflags`];
//! whether the C compiler takes a flag is [`crate::toolchain::c_compiler_accepts`].

use std::path::Path;

use crate::toolchain::c_compiler_accepts;

/// The C and C++ compiler flags to add for a phase, keeping the user's: each of
/// `CFLAGS`/`CXXFLAGS` and the target-specific forms the `cc` crate reads
/// (`CFLAGS_<triple>`, `CFLAGS_<triple_with_underscores>`, `TARGET_CFLAGS`) that is set
/// gets `flags` appended; plain `CFLAGS`/`CXXFLAGS` always do. Flags the C compiler
/// (`compiler`, else `$CC` or `cc`) rejects are left out, so a compiler without them
/// still builds.
pub fn c_flag_env(flags: &[String], host: &str, compiler: Option<&Path>) -> Vec<(String, String)> {
    let accepted: Vec<&str> = flags
        .iter()
        .map(String::as_str)
        .filter(|f| c_compiler_accepts(f, compiler))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn c_flags_are_appended_when_the_compiler_takes_them() {
        let host = "x86_64-unknown-linux-gnu";
        let flags = [
            "-fno-profile-generate".to_owned(),
            "-fno-such-flag-armature".into(),
        ];
        let env = c_flag_env(&flags, host, None);
        if !c_compiler_accepts("-fno-profile-generate", None) {
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
