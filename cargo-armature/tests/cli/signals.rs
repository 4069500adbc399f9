//! A signal to cargo-armature alone (a CI timeout, `kill PID`) stops what it started:
//! here a `cargo build` whose build script would run for two minutes.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::support::{command, TempProject, BIN};

/// A crate whose build script writes its pid to `$ARMATURE_TEST_PID_FILE`, then sleeps.
fn slow_build_project(dir: &Path) {
    std::fs::create_dir_all(dir.join("src")).unwrap();
    std::fs::write(
        dir.join("Cargo.toml"),
        "[package]\nname = \"slow-build-signal\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("build.rs"),
        r#"fn main() {
    println!("cargo:rerun-if-env-changed=ARMATURE_TEST_PID_FILE");
    let file = std::env::var("ARMATURE_TEST_PID_FILE").unwrap();
    std::fs::write(file, std::process::id().to_string()).unwrap();
    std::thread::sleep(std::time::Duration::from_secs(120));
}
"#,
    )
    .unwrap();
    std::fs::write(dir.join("src/main.rs"), "fn main() {}\n").unwrap();
}

fn alive(pid: i32) -> bool {
    // A zombie is gone for this purpose: it no longer runs.
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}

fn wait_for(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !done() {
        assert!(Instant::now() < deadline, "{what} within {limit:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn sigterm_stops_the_cargo_build_it_started() {
    let tmp = TempProject::new();
    let project = tmp.path().join("app");
    slow_build_project(&project);
    let pid_file = tmp.path().join("build-script.pid");
    let mut cmd = command(BIN, &project);
    // A target directory of its own: the build script must run (not be fresh).
    cmd.arg("armature")
        .arg("build")
        .env("CARGO_TARGET_DIR", tmp.path().join("target"))
        .env("ARMATURE_TEST_PID_FILE", &pid_file)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    wait_for("the build script started", Duration::from_secs(120), || {
        std::fs::read_to_string(&pid_file).is_ok_and(|s| !s.is_empty())
    });
    let script: i32 = std::fs::read_to_string(&pid_file).unwrap().parse().unwrap();
    assert!(alive(script));

    // SAFETY: kill(2) on our own child with a valid signal.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let started = Instant::now();
    let mut status = None;
    wait_for("cargo armature exited", Duration::from_secs(15), || {
        status = child.try_wait().unwrap();
        status.is_some()
    });
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        status.unwrap().code(),
        Some(143),
        "exit 128 + SIGTERM, after {:?}; stderr:\n{stderr}",
        started.elapsed()
    );
    assert!(stderr.contains("stopped by SIGTERM"), "{stderr}");
    wait_for(
        "the build script (a grandchild) was stopped too",
        Duration::from_secs(5),
        || !alive(script),
    );
}
