//! The C compiler that `cc`-crate build scripts use (`$CC`, else `cc`, unless a clang of
//! rustc's LLVM was chosen): whether it accepts a flag, so a PGO phase adds only the C
//! flags it can take.

use std::path::Path;
use std::process::{Command, Stdio};

/// Whether the C compiler (`compiler`, else `$CC` or `cc`) compiles a one-line file
/// with `flag`; `false` when it rejects the flag or cannot be run.
pub fn c_compiler_accepts(flag: &str, compiler: Option<&Path>) -> bool {
    let cc = match compiler {
        Some(c) => c.as_os_str().to_owned(),
        None => std::env::var_os("CC").unwrap_or_else(|| "cc".into()),
    };
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

    /// The linker cargo uses here is `cc`, so it is present wherever the tests build.
    #[test]
    fn a_known_flag_is_accepted_and_an_unknown_one_is_not() {
        let cc = Some(Path::new("cc"));
        assert!(c_compiler_accepts("-O2", cc));
        assert!(!c_compiler_accepts("-fno-such-flag-armature", cc));
        assert!(!c_compiler_accepts(
            "-O2",
            Some(Path::new("/nonexistent/armature-cc"))
        ));
    }
}
