//! Generated apps for real: `new` with each template, then (offline, in one
//! shared target directory) `cargo build`, `cargo test`, fmt and clippy as the
//! generated CI runs them, start the binary and `GET /health`, stop it with
//! SIGTERM. For `minimal` also the aliases and the fat and native builds; the
//! `api` apps' database scenarios are in `databases`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::support::{
    armature, cargo, cargo_env, dump, ensure_workspace_fetched, http_get_status, shared_target_dir,
    success, RunningApp, TempProject,
};

/// Creates `name` with the `new` flags `args` (core: this checkout) and runs
/// what its CI runs, then the binary, with `env` set for its tests and the
/// binary; returns the app directory.
pub fn check_app(tmp: &TempProject, name: &str, args: &[&str], env: &[(&str, &str)]) -> PathBuf {
    ensure_workspace_fetched();
    let mut new = vec!["new", name, "--no-git"];
    new.extend_from_slice(args);
    success(&armature(tmp.path(), &new));
    let app = tmp.path().join(name);
    success(&cargo(&app, &["build"]));
    let tests = cargo_env(&app, &["test"], env);
    success(&tests);
    let summary = String::from_utf8_lossy(&tests.stdout);
    assert!(summary.contains("test result: ok."), "{}", dump(&tests));
    success(&cargo(&app, &["fmt", "--check"]));
    success(&cargo(
        &app,
        &["clippy", "--all-targets", "--", "-D", "warnings"],
    ));

    serve_health(&shared_target_dir().join("debug").join(name), env);
    app
}

/// Starts `binary` with `env`, expects 200 from `/health`, and a clean exit on
/// SIGTERM.
pub fn serve_health(binary: &Path, env: &[(&str, &str)]) {
    let app = RunningApp::start_with(binary, env);
    assert_eq!(http_get_status(app.addr, "/health"), 200);
    assert!(
        app.terminate(Duration::from_secs(20)),
        "{} did not exit cleanly on SIGTERM",
        binary.display()
    );
}

/// The binary path in a `Built NAME with [profile.P]: PATH (SIZE)` line.
fn built_binary(stdout: &str) -> PathBuf {
    let line = stdout
        .lines()
        .find(|l| l.starts_with("Built "))
        .unwrap_or_else(|| panic!("no `Built` line:\n{stdout}"));
    let path = line
        .split_once("]: ")
        .unwrap()
        .1
        .rsplit_once(" (")
        .unwrap()
        .0;
    PathBuf::from(path)
}

#[test]
fn minimal_app() {
    let tmp = TempProject::new();
    let app = check_app(&tmp, "hello-minimal", &["--template", "minimal"], &[]);

    // Every alias resolves (the armature ones through this binary on PATH).
    for alias in [
        "build-fat",
        "build-native",
        "bench-native",
        "pgo-gen",
        "pgo-build",
    ] {
        let out = cargo(&app, &[alias, "--help"]);
        assert!(
            out.status.success(),
            "alias `cargo {alias}` does not resolve:\n{}",
            dump(&out)
        );
    }

    // The fat build, then the alias for it (a no-op: same profile, same target dir).
    let fat = success(&armature(&app, &["build", "--fat"]));
    let fat_bin = built_binary(&fat);
    assert_eq!(
        fat_bin,
        shared_target_dir().join("release-fat/hello-minimal")
    );
    serve_health(&fat_bin, &[]);
    success(&cargo(&app, &["build-fat"]));

    // The native build through its alias, into its own target directory.
    let native = success(&cargo(&app, &["build-native"]));
    let native_bin = built_binary(&native);
    assert_eq!(
        native_bin,
        shared_target_dir().join("native/release-native/hello-minimal")
    );
    assert!(native_bin.is_file());
    // The fat build's cache survived the native one.
    assert!(fat_bin.is_file());
}
