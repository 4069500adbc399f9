//! `cargo armature doctor`: a report on the real machine, and no failure when
//! the optional tools are missing.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::support::{command, dump, success, TempProject, BIN};

/// The directory of the `rustc` on this test's PATH.
fn rustc_dir() -> std::path::PathBuf {
    let rustc = which::which("rustc").expect("rustc on PATH");
    rustc.parent().unwrap().to_path_buf()
}

#[test]
fn reports_rustc_and_cpu() {
    let out = command(BIN, Path::new("."))
        .args(["armature", "doctor"])
        .output()
        .unwrap();
    let text = success(&out);
    assert!(text.contains("ok       rustc "), "{text}");
    assert!(text.contains("built with LLVM "), "{text}");
    assert!(text.contains("-Ctarget-cpu=native enables"), "{text}");
}

#[test]
fn missing_optional_tools_are_advice_not_failure() {
    let tmp = TempProject::new();
    // A PATH with rustc and one llvm-profdata of the wrong LLVM major, and no wrk.
    let fake = tmp.path().join("llvm-profdata-14");
    std::fs::write(
        &fake,
        "#!/bin/sh\necho 'LLVM (http://llvm.org/):'\necho '  LLVM version 14.0.6'\n",
    )
    .unwrap();
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = std::env::join_paths([tmp.path().to_path_buf(), rustc_dir()]).unwrap();

    let out = command(BIN, tmp.path())
        .env("PATH", path)
        .env_remove("LLVM_PROFDATA")
        .args(["armature", "doctor"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", dump(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("missing  wrk (optional)"), "{text}");
    assert!(text.contains("- wrk: `sudo apt-get install wrk`"), "{text}");
    assert!(
        text.contains(&format!("not used {}", fake.display())),
        "the mismatched tool is not reported:\n{text}"
    );
    assert!(text.contains("LLVM 14.0.6"), "{text}");
}

#[test]
fn without_rustc_it_fails_and_says_how_to_fix() {
    let tmp = TempProject::new();
    let out = command(BIN, tmp.path())
        .env("PATH", tmp.path())
        .env("RUSTC", tmp.path().join("no-such-rustc"))
        .args(["armature", "doctor"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", dump(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("MISSING  rustc"));
    assert!(String::from_utf8_lossy(&out.stderr).contains("https://rustup.rs"));
}

#[test]
fn a_mismatched_llvm_bolt_is_reported_and_a_missing_one_explained() {
    let tmp = TempProject::new();
    let fake = tmp.path().join("llvm-bolt-14");
    std::fs::write(
        &fake,
        "#!/bin/sh\necho 'LLVM (http://llvm.org/):'\necho '  LLVM version 14.0.6'\necho 'BOLT revision x'\n",
    )
    .unwrap();
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = command(BIN, tmp.path())
        .env("LLVM_BOLT", &fake)
        .args(["armature", "doctor"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", dump(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&format!(
            "not used {}: it is LLVM 14.0.6, but rustc",
            fake.display()
        )),
        "{text}"
    );
    // Either a matching one was found too (the LLVM tree, a versioned name) or the
    // report says what to install.
    assert!(
        text.contains("ok       llvm-bolt ")
            || text.contains("- llvm-bolt: no usable llvm-bolt matching rustc's LLVM"),
        "{text}"
    );
    if std::env::var_os("CI").is_some() {
        assert!(
            text.contains("ok       llvm-bolt "),
            "CI installs bolt-22:\n{text}"
        );
    }
    assert!(text.contains("hardware instruction counters"), "{text}");
}
