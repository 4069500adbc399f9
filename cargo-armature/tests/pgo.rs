//! `cargo armature pgo` end to end: the real binary on real projects in temp folders —
//! a fixture server (std only, builds in seconds) for the failure modes, and an app made
//! by `cargo armature new` for the whole loop. A failing test keeps its folder and
//! prints the command's full output.

use std::ffi::{OsStr, OsString};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use cargo_armature::pgo::diagnostics::ProfileProblem;

fn cargo_armature() -> &'static str {
    env!("CARGO_BIN_EXE_cargo-armature")
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("cargo-armature sits in the workspace")
        .to_path_buf()
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/pgo")
}

/// A temp folder kept (and named) when the test fails.
struct TestDir(Option<tempfile::TempDir>);

impl TestDir {
    fn new(name: &str) -> TestDir {
        TestDir(Some(
            tempfile::Builder::new()
                .prefix(&format!("armature-pgo-{name}-"))
                .tempdir()
                .expect("temp dir"),
        ))
    }

    fn path(&self) -> &Path {
        self.0.as_ref().expect("present").path()
    }
}

impl Drop for TestDir {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let kept = self.0.take().expect("present").keep();
            eprintln!("test failed: kept {}", kept.display());
        }
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            if e.file_name() != "target" {
                copy_dir(&e.path(), &dest);
            }
        } else {
            std::fs::copy(e.path(), dest).unwrap();
        }
    }
}

/// A copy of the fixture server project.
fn fixture_project(name: &str) -> TestDir {
    let dir = TestDir::new(name);
    copy_dir(&fixtures().join("server"), &dir.path().join("app"));
    dir
}

/// Makes the fixture copy in `app` compile only with `--cfg armature_user_flag`, so
/// that any phase that loses the user's rustflags fails to build.
fn require_user_flag(app: &Path) {
    let lib = app.join("src/lib.rs");
    let mut text = std::fs::read_to_string(&lib).unwrap();
    text.push_str(
        "\n#[cfg(not(armature_user_flag))]\ncompile_error!(\"--cfg armature_user_flag was lost\");\n",
    );
    std::fs::write(lib, text).unwrap();
}

struct Run {
    output: Output,
}

impl Run {
    fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.output.stderr).into_owned()
    }

    fn all(&self) -> String {
        format!(
            "status: {}\n--- stdout\n{}\n--- stderr\n{}",
            self.output.status,
            String::from_utf8_lossy(&self.output.stdout),
            self.stderr()
        )
    }

    fn assert_ok(&self) {
        assert!(
            self.output.status.success(),
            "expected success:\n{}",
            self.all()
        );
    }

    fn assert_fails_with(&self, needles: &[&str]) {
        assert!(
            !self.output.status.success(),
            "expected failure:\n{}",
            self.all()
        );
        let err = self.stderr();
        for n in needles {
            assert!(err.contains(n), "stderr lacks {n:?}:\n{}", self.all());
        }
    }
}

/// Runs `cargo armature pgo ARGS` in `dir`, with a clean environment for the things
/// the loop reads (`RUSTFLAGS`, `LLVM_PROFDATA`, `CARGO_TARGET_DIR`), plus `env`.
fn pgo(dir: &Path, args: &[&str], env: &[(&str, &OsStr)]) -> Run {
    let mut cmd = Command::new(cargo_armature());
    cmd.arg("armature")
        .arg("pgo")
        .args(args)
        .current_dir(dir)
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("LLVM_PROFDATA")
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("CARGO_BUILD_TARGET_DIR")
        .stdin(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    Run {
        output: cmd.output().expect("running cargo-armature"),
    }
}

/// A `PATH` that has everything the real one has except the tools `hide` names:
/// a folder of symlinks stands in for each PATH entry that holds a hidden tool.
fn path_without(dir: &Path, hide: impl Fn(&str) -> bool) -> OsString {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut entries = Vec::new();
    for (i, entry) in std::env::split_paths(&path).enumerate() {
        let Ok(listing) = std::fs::read_dir(&entry) else {
            continue;
        };
        let names: Vec<_> = listing.flatten().collect();
        if !names.iter().any(|e| hide(&e.file_name().to_string_lossy())) {
            entries.push(entry);
            continue;
        }
        let farm = dir.join(format!("path-{i}"));
        std::fs::create_dir_all(&farm).unwrap();
        for e in names {
            let name = e.file_name();
            if !hide(&name.to_string_lossy()) {
                std::os::unix::fs::symlink(e.path(), farm.join(&name)).unwrap();
            }
        }
        entries.push(farm);
    }
    std::env::join_paths(entries).unwrap()
}

fn prepend_path(first: &Path, rest: &OsStr) -> OsString {
    let mut all = vec![first.to_path_buf()];
    all.extend(std::env::split_paths(rest));
    std::env::join_paths(all).unwrap()
}

fn read_report(path: &Path) -> serde_json::Value {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// Rustc's profile warnings (PGO-FORMAT.md §4) that must never appear in a good run.
const PROFILE_WARNINGS: [&str; 9] = [
    "(bad magic)",
    "file header is corrupt",
    "unsupported instrumentation profile format version",
    "Not an IR level instrumentation profile",
    "malformed instrumentation profile data",
    "function control flow change detected",
    "Inconsistent number of counts",
    "Inconsistent number of value sites",
    "no profile data available for function",
];

fn assert_no_profile_warnings(run: &Run) {
    let err = run.stderr();
    for w in PROFILE_WARNINGS {
        assert!(!err.contains(w), "rustc printed {w:?}:\n{}", run.all());
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts `exe` on a free port, sends `GET path`, returns the response, then stops it
/// with SIGTERM and checks that it exits normally.
fn serve_once(exe: &Path, path: &str) -> String {
    serve_once_signalled(exe, path, libc::SIGTERM)
}

/// [`serve_once`], stopped with `signal`; only a SIGTERM stop must exit normally.
fn serve_once_signalled(exe: &Path, path: &str, signal: i32) -> String {
    let port = free_port();
    let mut child = Command::new(exe)
        .env("HOST", "127.0.0.1")
        .env("PORT", port.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("starting {}: {e}", exe.display()));
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut stream = loop {
        match TcpStream::connect(("127.0.0.1", port)) {
            Ok(s) => break s,
            Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(50)),
            Err(e) => {
                let _ = child.kill();
                panic!("{} never listened: {e}", exe.display());
            }
        }
    };
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    // SAFETY: kill(2) on our own child's pid with a valid signal.
    unsafe {
        libc::kill(child.id() as libc::pid_t, signal);
    }
    let status = child.wait().unwrap();
    assert!(
        status.success() || signal != libc::SIGTERM,
        "{} did not exit cleanly: {status}",
        exe.display()
    );
    response
}

// ---------------------------------------------------------------------------------
// Failure modes, each on a fixture binary built for the purpose.

#[test]
fn a_server_that_exits_at_once_is_reported_with_its_output() {
    let dir = fixture_project("exits");
    let run = pgo(
        &dir.path().join("app"),
        &["--bin", "exits-at-once", "--no-compare", "--duration", "1"],
        &[],
    );
    run.assert_fails_with(&[
        "the server exited before it accepted connections",
        "exit code 3",
        "DATABASE_URL is not set",
        "training run",
        // The exact command, and how to pass arguments one per flag.
        "Command: HOST=127.0.0.1 PORT=",
        "/exits-at-once",
        "--server-arg=--port --server-arg={port}",
    ]);
    // A step failed: exit 1, not the 2 of bad input.
    assert_eq!(run.output.status.code(), Some(1), "{}", run.all());
}

#[test]
fn a_server_that_never_listens_times_out_with_its_output() {
    let dir = fixture_project("never-listens");
    let t = Instant::now();
    let run = pgo(
        &dir.path().join("app"),
        &[
            "--bin",
            "never-listens",
            "--no-compare",
            "--startup-timeout",
            "3",
        ],
        &[],
    );
    run.assert_fails_with(&[
        "did not accept connections on 127.0.0.1:",
        "within 3 s",
        "PORT=",
        "warming caches...",
    ]);
    assert!(
        t.elapsed() < Duration::from_secs(240),
        "took {:?}",
        t.elapsed()
    );
}

#[test]
fn a_server_killed_by_sigterm_writes_no_profile_and_the_cause_is_named() {
    let dir = fixture_project("no-profile");
    let app = dir.path().join("app");
    let run = pgo(
        &app,
        &[
            "--bin",
            "no-sigterm-handler",
            "--no-compare",
            "--duration",
            "1",
            "--profile-mode",
            "graceful",
        ],
        &[],
    );
    run.assert_fails_with(&[
        "no profile was written",
        "killed by SIGTERM",
        "no SIGTERM handler",
        // A std-only package: the generic advice, and the mode that needs none.
        "Handle SIGTERM by shutting down and returning from main.",
        "`--profile-mode kill-safe` keeps the profile",
    ]);
    assert_eq!(run.output.status.code(), Some(1), "{}", run.all());

    // `pgo clean` removes the phase directories and profiles.
    let root = app.join("target/armature-pgo");
    assert!(root.join("instrumented").is_dir(), "{}", run.all());
    let clean = pgo(&app, &["clean"], &[]);
    clean.assert_ok();
    assert!(!root.exists(), "{}", clean.all());
    assert!(clean.stderr().contains("removed"), "{}", clean.all());
}

#[test]
fn kill_safe_profiles_survive_a_server_on_its_own_address_and_one_that_ignores_sigterm() {
    let dir = fixture_project("kill-safe");
    let app = dir.path().join("app");
    // Listens on an address of its own (not HOST/PORT) and has no SIGTERM handler.
    let own = format!("127.0.0.1:{}", free_port());
    let run = pgo(
        &app,
        &[
            "--bin",
            "own-address",
            "--no-compare",
            "--duration",
            "1",
            "--server-env",
            &format!("FIXTURE_ADDR={own}"),
        ],
        &[],
    );
    run.assert_ok();
    assert_no_profile_warnings(&run);
    let err = run.stderr();
    assert!(
        err.contains(&format!("but on {own}: training there (`--addr {own}`")),
        "{}",
        run.all()
    );
    assert!(
        err.contains("killed by signal 15 (SIGTERM)"),
        "{}",
        run.all()
    );
    assert!(
        err.contains("the profile is complete all the same"),
        "{}",
        run.all()
    );
    let report_path = app.join("target/armature-pgo/bin/own-address.pgo-report.json");
    let report = read_report(&report_path);
    assert_eq!(report["profile_mode"], "kill-safe");
    assert_eq!(report["server_addr"], own.as_str());
    assert!(report["training"]["requests"].as_u64().unwrap() > 0);
    assert!(
        report["profile_collection"]
            .as_str()
            .unwrap()
            .contains("no indirect-call promotion"),
        "{report}"
    );
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&report_path)
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o644, "the report is readable by all");
    assert_profile_has(&app, &report, "_ZN11pgo_fixture8serve_at");

    // Ignores SIGTERM: killed with SIGKILL after --stop-timeout, its profile kept.
    let run = pgo(
        &app,
        &[
            "--bin",
            "ignores-sigterm",
            "--no-compare",
            "--duration",
            "1",
            "--stop-timeout",
            "1",
        ],
        &[],
    );
    run.assert_ok();
    assert_no_profile_warnings(&run);
    let err = run.stderr();
    assert!(
        err.contains("still running 1 s after SIGTERM (--stop-timeout): killed with SIGKILL"),
        "{}",
        run.all()
    );
    let report = read_report(&app.join("target/armature-pgo/bin/ignores-sigterm.pgo-report.json"));
    assert!(
        report["training_stop"]
            .as_str()
            .unwrap()
            .contains("killed with SIGKILL"),
        "{report}"
    );
    assert_profile_has(&app, &report, "_ZN11pgo_fixture8serve_at");
    let response = serve_once_signalled(
        &app.join("target/armature-pgo/bin/ignores-sigterm"),
        "/health",
        libc::SIGKILL,
    );
    assert!(response.starts_with("HTTP/1.1 200 OK\r\n"), "{response}");
}

/// The report's merged profile names a function whose mangled name holds `needle`,
/// with a non-zero count.
fn assert_profile_has(dir: &Path, report: &serde_json::Value, needle: &str) {
    let profile = report["profile"].as_str().unwrap();
    let shown = Command::new(cargo_armature())
        .args(["armature", "profdata", "show", "--all-functions", profile])
        .current_dir(dir)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&shown.stdout);
    // `--all-functions`: a name line, then `hash: ... counters: N  max: M`.
    let lines: Vec<&str> = text.lines().collect();
    let hot = lines.windows(2).any(|w| {
        w[0].contains(needle)
            && w[1]
                .rsplit("max: ")
                .next()
                .and_then(|m| m.trim().parse::<u64>().ok())
                > Some(0)
    });
    assert!(
        hot,
        "no function matching {needle:?} with a count in {profile}:\n{}",
        lines
            .iter()
            .filter(|l| l.contains("_ZN"))
            .take(40)
            .copied()
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn bad_input_exits_2_and_builds_nothing() {
    let dir = fixture_project("bad-input");
    let app = dir.path().join("app");
    let misspelt = dir.path().join("misspelt.toml");
    std::fs::write(&misspelt, "conections = 4\nroutes = [\"/\"]\n").unwrap();
    let held = TcpListener::bind("127.0.0.1:0").unwrap();
    let taken = held.local_addr().unwrap().to_string();
    let misspelt_arg = misspelt.to_str().unwrap().to_owned();
    let table: [(&[&str], &[&str]); 4] = [
        (
            &["--no-compare"],
            &["has several binaries", "choose one with --bin"],
        ),
        (
            &["--bin", "nope"],
            &["has no binary `nope`", "(it has: exits-at-once, "],
        ),
        (
            &["--bin", "server", "--workload", &misspelt_arg],
            &["unknown key `conections`", "misspelt.toml"],
        ),
        (
            &["--bin", "server", "--addr", &taken],
            &[
                &format!(
                    "port {} ({taken}) is already in use",
                    held.local_addr().unwrap().port()
                ),
                "pid ",
            ],
        ),
    ];
    for (args, needles) in table {
        let run = pgo(&app, args, &[]);
        run.assert_fails_with(needles);
        assert_eq!(
            run.output.status.code(),
            Some(2),
            "{args:?}:\n{}",
            run.all()
        );
        assert!(
            !app.join("target").exists(),
            "{args:?} built something:\n{}",
            run.all()
        );
    }
}

#[test]
fn only_an_llvm_14_profdata_is_skipped_and_the_builtin_merger_used() {
    let dir = fixture_project("llvm14");
    let fake = dir.path().join("fake-llvm");
    std::fs::create_dir_all(&fake).unwrap();
    let script = fake.join("llvm-profdata");
    std::fs::write(
        &script,
        "#!/bin/sh\necho 'LLVM (http://llvm.org/):'\necho '  LLVM version 14.0.6'\necho '  Optimized build.'\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = prepend_path(
        &fake,
        &path_without(dir.path(), |n| n.starts_with("llvm-profdata")),
    );

    // rustup's llvm-tools, if installed, would be a matching one that PATH cannot hide.
    let sysroot = cargo_armature::toolchain::RustcInfo::detect()
        .and_then(|rustc| rustc.sysroot())
        .unwrap();
    let rustup_has_one = std::fs::read_dir(sysroot.join("lib/rustlib"))
        .map(|d| {
            d.flatten()
                .any(|e| e.path().join("bin/llvm-profdata").exists())
        })
        .unwrap_or(false);

    let app = dir.path().join("app");
    require_user_flag(&app);
    let run = pgo(
        &app,
        &[
            "--bin",
            "server",
            "--no-compare",
            "--duration",
            "1",
            "--native",
            // Trained on a combined-format access log, POST bodies from the workload.
            "--workload-from-log",
            fixtures().join("combined-access.log").to_str().unwrap(),
            "--workload",
            fixtures().join("combined-workload.toml").to_str().unwrap(),
            "--",
            "-v",
        ],
        &[
            ("PATH", path.as_os_str()),
            // The user's own flags stay in both phases.
            ("RUSTFLAGS", OsStr::new("--cfg armature_user_flag")),
        ],
    );
    run.assert_ok();
    let pgo_bin = app.join("target/armature-pgo/bin/server");
    let flag = serve_once(&pgo_bin, "/flag");
    assert!(flag.ends_with("\r\n\r\nset"), "RUSTFLAGS lost: {flag:?}");
    let err = run.stderr();
    assert!(
        err.contains(&format!("skipped llvm-profdata {}", script.display())),
        "{}",
        run.all()
    );
    assert!(err.contains("LLVM 14.0.6"), "{}", run.all());
    assert!(
        err.contains("kept 8 request(s) as 5 distinct weighted entries"),
        "{}",
        run.all()
    );
    assert!(err.contains("dropped 1: POST/PUT/PATCH"), "{}", run.all());
    let report = read_report(&app.join("target/armature-pgo/bin/server.pgo-report.json"));
    let trained: Vec<&str> = report["training_workload"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(trained[0], "GET /health ×3", "{trained:?}");
    assert!(trained.contains(&"POST /echo (11 B body)"), "{trained:?}");
    assert_eq!(report["native"], true);
    // --native: both phases built with the CPU flag, in their own directories.
    let root = app.join("target/armature-pgo");
    assert!(root.join("instrumented-native").is_dir(), "{}", run.all());
    assert!(root.join("optimized-native").is_dir(), "{}", run.all());
    assert!(
        err.matches("-Ctarget-cpu=native").count() >= 2,
        "{}",
        run.all()
    );
    if !rustup_has_one {
        assert!(err.contains("merger: the built-in merger"), "{}", run.all());
        let report = read_report(&app.join("target/armature-pgo/bin/server.pgo-report.json"));
        assert_eq!(report["merger"], "the built-in merger");
    }
    // The built-in merger's profile is accepted by rustc without a single warning.
    assert_no_profile_warnings(&run);
    assert!(
        err.contains("every function had profile data"),
        "{}",
        run.all()
    );
}

#[test]
fn without_wrk_the_builtin_driver_runs_the_loop_and_the_comparison() {
    let dir = fixture_project("no-wrk");
    let path = path_without(dir.path(), |n| n == "wrk");
    let app = dir.path().join("app");
    // The user's build.rustflags from a cargo config file stay in every phase, beside a
    // target table for another triple (which cargo ignores here: it must not switch
    // build.rustflags off).
    require_user_flag(&app);
    std::fs::create_dir_all(app.join(".cargo")).unwrap();
    std::fs::write(
        app.join(".cargo/config.toml"),
        "[build]\nrustflags = [\"--cfg\", \"armature_user_flag\"]\n\
         [target.aarch64-unknown-linux-gnu]\nrustflags = [\"-Clink-arg=-Wl,--no-such-flag\"]\n",
    )
    .unwrap();
    let run = pgo(
        &app,
        &[
            "--bin",
            "server",
            "--duration",
            "1",
            "--compare-duration",
            "1",
            "--warmup",
            "0.2",
            "--connections",
            "4",
        ],
        &[("PATH", path.as_os_str())],
    );
    run.assert_ok();
    let err = run.stderr();
    assert!(
        err.contains("wrk is not on PATH: using the built-in load driver"),
        "{}",
        run.all()
    );
    assert_no_profile_warnings(&run);
    let report = read_report(&app.join("target/armature-pgo/bin/server.pgo-report.json"));
    assert_eq!(report["training"]["driver"], "builtin");
    assert!(report["training"]["requests"].as_u64().unwrap() > 0);
    let cmp = &report["compare"];
    assert_eq!(cmp["driver"], "builtin");
    assert_compare_report(cmp, &["release-fat", "pgo"]);
    assert!(
        err.contains("pgo/release-fat") && err.contains("user µs/req"),
        "the table is printed:\n{}",
        run.all()
    );
}

// ---------------------------------------------------------------------------------
// Rustc's profile warnings are caught, whichever way they arrive.

#[test]
fn a_profile_rustc_rejects_fails_the_optimised_build() {
    use cargo_armature::pgo::compile::{build, BuildRequest};
    use cargo_armature::pgo::project::PgoTarget;
    use clap::Parser;

    #[derive(Parser)]
    struct PgoCommandLine {
        #[command(flatten)]
        args: cargo_armature::pgo::PgoArgs,
    }

    let dir = fixture_project("bad-profile");
    let app = dir.path().join("app");
    // A text-format profile: rustc says "bad magic", exits 0 and builds without PGO.
    let bad = dir.path().join("app-0000.profdata");
    std::fs::write(
        &bad,
        "# IR level Instrumentation Flag\n:ir\nmain\n1\n1\n1\n",
    )
    .unwrap();
    let manifest = app.join("Cargo.toml");
    let cli = PgoCommandLine::try_parse_from([
        "pgo",
        "--bin",
        "server",
        "--manifest-path",
        manifest.to_str().unwrap(),
    ])
    .unwrap();
    let project = PgoTarget::select(
        cargo_armature::cargo::Project::locate(Some(&manifest)).unwrap(),
        &cli.args,
    )
    .unwrap();
    let target = dir.path().join("target");
    let host = cargo_armature::cargo::rustflags::HostCfg::detect().unwrap();
    let outcome = build(&BuildRequest {
        target: &project,
        host: &host,
        target_dir: &target,
        pass_target: true,
        rustflags: vec![
            format!("-Cprofile-use={}", bad.display()),
            "-Cllvm-args=-pgo-warn-missing-function".into(),
        ],
        config: &[],
        cflags: Vec::new(),
        c_compiler: None,
        profile_file: Some(&bad),
        cargo_args: &[],
        verbose: false,
    })
    .expect("rustc accepts the build; only warns");
    assert!(outcome.executable.exists());
    assert!(
        outcome
            .diagnostics
            .fatal
            .iter()
            .any(|(k, _)| *k == ProfileProblem::BadMagic),
        "{:?}",
        outcome.diagnostics
    );
    let err = cargo_armature::pgo::check_diagnostics(&outcome, true).unwrap_err();
    assert!(
        format!("{err:#}").contains("not (fully) profile-guided"),
        "{err:#}"
    );
}

// ---------------------------------------------------------------------------------
// The whole loop on an app made by `cargo armature new`.

#[test]
fn new_app_pgo_end_to_end() {
    let dir = TestDir::new("e2e");
    let name = "pgo-e2e-api";
    let mut new = Command::new(cargo_armature());
    new.args(["armature", "new", name, "--template", "api", "--no-git"])
        .current_dir(dir.path());
    // A frozen copy of armature-core, for running this test while the checkout's core
    // is being edited (an edit between the two builds is a real hash mismatch).
    if let Some(core) = std::env::var_os("ARMATURE_PGO_TEST_CORE") {
        new.arg("--core-path").arg(core);
    }
    let new = new.output().unwrap();
    assert!(
        new.status.success(),
        "cargo armature new failed:\n{}",
        String::from_utf8_lossy(&new.stderr)
    );
    let app = dir.path().join(name);
    // One target dir for every generated app's builds, shared across test runs.
    let target = workspace_root().join("target/generated-apps");
    let workload = fixtures().join("api-workload.toml");
    let run = pgo(
        &app,
        &[
            "--workload",
            workload.to_str().unwrap(),
            // Trained on Armature's own access log; bodies from the workload file.
            "--workload-from-log",
            fixtures().join("armature-access.log").to_str().unwrap(),
            "--duration",
            "2",
            "--compare-duration",
            "1",
            "--warmup",
            "0.5",
            // BOLT after PGO; llvm-bolt must be installed (scripts/test.sh: bolt-22).
            "--bolt",
        ],
        &[("CARGO_TARGET_DIR", target.as_os_str())],
    );
    run.assert_ok();
    assert_no_profile_warnings(&run);
    let err = run.stderr();
    for phase in [
        "[1/7] instrumented build",
        "[2/7] training run",
        "[3/7] merge",
        "[4/7] PGO build",
        "[5/7] BOLT",
        "[6/7] release-fat build",
        "[7/7] compare",
    ] {
        assert!(err.contains(phase), "missing {phase:?}:\n{}", run.all());
    }

    let bin = target.join("armature-pgo/bin").join(name);
    assert!(bin.is_file(), "{} missing:\n{}", bin.display(), run.all());
    let response = serve_once(&bin, "/health");
    assert!(response.starts_with("HTTP/1.1 200 OK\r\n"), "{response}");
    // The BOLT binary serves and stops cleanly on SIGTERM too.
    let bolt_bin = target.join("armature-pgo/bin").join(format!("{name}-bolt"));
    let response = serve_once(&bolt_bin, "/health");
    assert!(response.starts_with("HTTP/1.1 200 OK\r\n"), "{response}");

    let report = read_report(&target.join(format!("armature-pgo/bin/{name}.pgo-report.json")));
    assert_eq!(report["missing_functions"], 0);
    assert_eq!(report["profile_warnings"].as_array().unwrap().len(), 0);
    assert!(report["training"]["requests"].as_u64().unwrap() > 0);
    assert_eq!(report["training_workload"][0], "GET /todos/1 ×2");
    assert!(err.contains("access log"), "{}", run.all());
    let bolt = &report["bolt"];
    assert!(bolt["fdata_files"].as_u64().unwrap() >= 1, "{bolt}");
    assert!(
        bolt["profiled_functions"][0].as_u64().unwrap() > 0,
        "{bolt}"
    );
    assert_compare_report(&report["compare"], &["release-fat", "pgo", "pgo+bolt"]);

    // The bundled SQLite (C, built by libsqlite3-sys with `cc`) is profiled too when a
    // clang matching rustc's LLVM is installed: scripts/test.sh installs clang-22, so
    // CI must have it.
    match report["c_compiler"].as_str() {
        Some(clang) => {
            assert!(err.contains("C/C++: "), "{}", run.all());
            let profile = report["profile"].as_str().unwrap();
            let shown = Command::new(cargo_armature())
                .args(["armature", "profdata", "show", "--all-functions", profile])
                .output()
                .unwrap();
            let shown = String::from_utf8_lossy(&shown.stdout);
            assert!(
                shown.contains("sqlite3VdbeExec"),
                "{clang} built SQLite, but the profile has no SQLite function:\n{}",
                &shown[..shown.len().min(2000)]
            );
        }
        None => {
            assert!(
                std::env::var_os("CI").is_none(),
                "no clang matching rustc's LLVM was found in CI (scripts/test.sh installs \
                 clang-22):\n{}",
                run.all()
            );
            eprintln!("note: no matching clang here, so C profiling was not checked");
        }
    }
}

/// The comparison in the JSON report: three rounds of the `want` builds in order, each run's
/// per-request figures consistent with its raw counters, ratios with the runs, and a
/// headline that names user space and the kernel.
fn assert_compare_report(cmp: &serde_json::Value, want: &[&str]) {
    let f = |v: &serde_json::Value| v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"));
    let builds: Vec<&str> = cmp["builds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["name"].as_str().unwrap())
        .collect();
    assert_eq!(builds, want, "{cmp}");
    let rounds = cmp["rounds"].as_array().unwrap();
    assert_eq!(rounds.len(), 3);
    for round in rounds {
        let runs = round["runs"].as_array().unwrap();
        assert_eq!(runs.len(), want.len(), "{round}");
        for run in runs {
            assert!(f(&run["rps"]) > 0.0, "{run}");
            assert!(f(&run["p50_us"]) > 0.0, "{run}");
            assert!(f(&run["p99_us"]) >= f(&run["p50_us"]), "{run}");
            let per_req =
                |ticks: &str| f(&run[ticks]) / f(&run["ticks_per_s"]) * 1e6 / f(&run["requests"]);
            let user = f(&run["user_us_per_request"]);
            let system = f(&run["system_us_per_request"]);
            assert!((user - per_req("user_ticks")).abs() < 1e-6, "{run}");
            assert!((system - per_req("system_ticks")).abs() < 1e-6, "{run}");
            assert!(
                (f(&run["cpu_us_per_request"]) - user - system).abs() < 1e-6,
                "{run}"
            );
        }
        let ratio = &round["ratios"][0];
        assert!((f(&ratio["rps"]) - f(&runs[1]["rps"]) / f(&runs[0]["rps"])).abs() < 1e-9);
    }
    assert!(f(&cmp["ratios"][0]["rps"]) > 0.0, "{cmp}");
    let headline = cmp["headline"][0].as_str().unwrap();
    // Short test runs may see too few clock ticks (100 Hz) to compare user space; the
    // headline then says so instead of printing a ratio of zeros.
    let split = headline.starts_with("PGO: user-space CPU per request");
    assert!(
        (split && headline.contains("the kernel"))
            || headline.starts_with("PGO: too few user-space CPU clock ticks"),
        "{headline}"
    );
    // Instructions are counted, or the report says why not.
    let counted = rounds[0]["runs"][0]["instructions"].is_u64();
    assert!(
        counted || cmp["instructions_unavailable"].is_string(),
        "{cmp}"
    );
}

// ---------------------------------------------------------------------------------
// Servers nobody here wrote: an axum app and an actix-web app as their own READMEs write
// them (crates-registry dependencies, a hard-coded port; no signal handler in axum's),
// taken through `pgo` with no edit. Their builds share the generated apps' target
// directory (as `new_app_pgo_end_to_end` does), so the dependencies compile once.

/// A package `name` with `deps` (manifest lines) and `main` as `src/main.rs`, pinned to
/// the versions this workspace locks (its `Cargo.lock`), which cargo extends as needed.
fn third_party_app(dir: &Path, name: &str, deps: &str, main: &str) -> PathBuf {
    let app = dir.join(name);
    std::fs::create_dir_all(app.join("src")).unwrap();
    std::fs::write(
        app.join("Cargo.toml"),
        format!(
            "[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n\
             [dependencies]\n{deps}\n\n[workspace]\n"
        ),
    )
    .unwrap();
    std::fs::write(app.join("src/main.rs"), main).unwrap();
    std::fs::copy(workspace_root().join("Cargo.lock"), app.join("Cargo.lock")).unwrap();
    app
}

/// `pgo` on a third-party app listening on `addr`, trained on `workload` (TOML); checks
/// the run, that the profile holds `function`, and that the PGO binary answers `path`.
fn third_party_pgo(app: &Path, addr: &str, workload: &str, function: &str, path: &str) -> Run {
    let target = workspace_root().join("target/generated-apps");
    let file = app.join("../workload.toml");
    std::fs::write(&file, workload).unwrap();
    let started = Instant::now();
    let run = pgo(
        app,
        &[
            "--workload",
            file.to_str().unwrap(),
            "--duration",
            "2",
            "--connections",
            "4",
            "--no-compare",
        ],
        &[("CARGO_TARGET_DIR", target.as_os_str())],
    );
    run.assert_ok();
    eprintln!(
        "{}: pgo took {:.0} s",
        app.display(),
        started.elapsed().as_secs_f64()
    );
    assert_no_profile_warnings(&run);
    let err = run.stderr();
    assert!(err.contains(&format!("but on {addr}")), "{}", run.all());
    let name = app.file_name().unwrap().to_str().unwrap();
    let report = read_report(&target.join(format!("armature-pgo/bin/{name}.pgo-report.json")));
    assert_eq!(report["server_addr"], addr.replace("0.0.0.0", "127.0.0.1"));
    assert_eq!(report["missing_functions"], 0);
    assert_profile_has(app, &report, function);
    // The optimised binary serves where it always listens.
    let bin = target.join("armature-pgo/bin").join(name);
    let mut child = Command::new(&bin)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let connect = addr.replace("0.0.0.0", "127.0.0.1");
    let deadline = Instant::now() + Duration::from_secs(20);
    let stream = loop {
        match TcpStream::connect(&connect) {
            Ok(s) => break Ok(s),
            Err(e) if Instant::now() > deadline => break Err(e),
            Err(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    };
    let response = stream.map(|mut s| {
        write!(
            s,
            "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut r = String::new();
        let _ = s.read_to_string(&mut r);
        r
    });
    let _ = child.kill();
    let _ = child.wait();
    let response = response.unwrap_or_else(|e| panic!("{} never listened: {e}", bin.display()));
    assert!(response.starts_with("HTTP/1.1 200 OK\r\n"), "{response}");
    run
}

#[test]
fn an_axum_app_unchanged_is_optimised_end_to_end() {
    let dir = TestDir::new("axum");
    let port = free_port();
    // axum's README, with the port it hard-codes chosen free for this run.
    let main = r#"use axum::{
    routing::{get, post},
    http::StatusCode,
    Json, Router,
};
use serde::{Deserialize, Serialize};

#[tokio::main]
async fn main() {
    // build our application with a route
    let app = Router::new()
        // `GET /` goes to `root`
        .route("/", get(root))
        // `POST /users` goes to `create_user`
        .route("/users", post(create_user));

    // run our app with hyper, listening globally on port 3000
    let listener = tokio::net::TcpListener::bind("0.0.0.0:3000").await.unwrap();
    axum::serve(listener, app).await.unwrap();
}

// basic handler that responds with a static string
async fn root() -> &'static str {
    "Hello, World!"
}

async fn create_user(
    // this argument tells axum to parse the request body
    // as JSON into a `CreateUser` type
    Json(payload): Json<CreateUser>,
) -> (StatusCode, Json<User>) {
    // insert your application logic here
    let user = User {
        id: 1337,
        username: payload.username,
    };

    // this will be converted into a JSON response
    // with a status code of `201 Created`
    (StatusCode::CREATED, Json(user))
}

// the input to our `create_user` handler
#[derive(Deserialize)]
struct CreateUser {
    username: String,
}

// the output to our `create_user` handler
#[derive(Serialize)]
struct User {
    id: u64,
    username: String,
}
"#
    .replace("0.0.0.0:3000", &format!("0.0.0.0:{port}"));
    let app = third_party_app(
        dir.path(),
        "axum-readme",
        "axum = \"0.8\"\ntokio = { version = \"1\", features = [\"full\"] }\n\
         serde = { version = \"1\", features = [\"derive\"] }",
        &main,
    );
    let run = third_party_pgo(
        &app,
        &format!("0.0.0.0:{port}"),
        "routes = [\"/\"]\n\
         requests = [{ method = \"POST\", path = \"/users\", json = { username = \"ann\" } }]\n",
        "_ZN11axum_readme",
        "/",
    );
    let err = run.stderr();
    // No SIGTERM handler: killed, the profile kept, and axum's own advice given.
    assert!(
        err.contains("killed by signal 15 (SIGTERM)"),
        "{}",
        run.all()
    );
    assert!(err.contains("with_graceful_shutdown"), "{}", run.all());
}

#[test]
fn an_actix_web_app_unchanged_is_optimised_end_to_end() {
    let dir = TestDir::new("actix");
    let port = free_port();
    // actix-web's README, with the port it hard-codes chosen free for this run.
    let main = r#"use actix_web::{get, web, App, HttpServer, Responder};

#[get("/hello/{name}")]
async fn greet(name: web::Path<String>) -> impl Responder {
    format!("Hello {name}!")
}

#[actix_web::main] // or #[tokio::main]
async fn main() -> std::io::Result<()> {
    HttpServer::new(|| {
        App::new().service(greet)
    })
    .bind(("127.0.0.1", 8080))?
    .run()
    .await
}
"#
    .replace("8080", &port.to_string());
    // The manifest as actix-web's README writes it, less the default compression
    // features: they build brotli's and zstd's C sources, twice (instrumented and
    // optimised); with them this test took 2,671 s cold on two loaded cores, against
    // 1,318 s for the axum app. The app's code and the server it runs are the same.
    let app = third_party_app(
        dir.path(),
        "actix-readme",
        "actix-web = { version = \"4\", default-features = false, features = [\"macros\"] }",
        &main,
    );
    let run = third_party_pgo(
        &app,
        &format!("127.0.0.1:{port}"),
        "routes = [\"/hello/ann\"]\n",
        "_ZN12actix_readme",
        "/hello/bob",
    );
    // actix-web stops on SIGTERM by itself.
    assert!(
        run.stderr().contains("stopped on SIGTERM in"),
        "{}",
        run.all()
    );
}
