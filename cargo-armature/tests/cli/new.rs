//! `cargo armature new`: the generated tree (snapshots), the manifest and its
//! profiles, the aliases, the core source flags, git, `--force`, and the
//! deploy files' promises. No compilation here (see `generated_apps`).

use std::path::Path;

use toml_edit::DocumentMut;

use crate::support::{armature, snapshot_contents, success, tree, TempProject};

fn new_app(dir: &Path, args: &[&str]) -> String {
    let mut full = vec!["new"];
    full.extend_from_slice(args);
    success(&armature(dir, &full))
}

fn read(path: impl AsRef<Path>) -> String {
    std::fs::read_to_string(path.as_ref())
        .unwrap_or_else(|e| panic!("{}: {e}", path.as_ref().display()))
}

fn toml(path: impl AsRef<Path>) -> DocumentMut {
    read(path).parse().unwrap()
}

#[test]
fn minimal_tree() {
    let tmp = TempProject::new();
    new_app(tmp.path(), &["hello", "--core-version", "0.1"]);
    insta::assert_snapshot!(tree(&tmp.path().join("hello")).join("\n"));
}

#[test]
fn api_tree_with_gitlab() {
    let tmp = TempProject::new();
    new_app(
        tmp.path(),
        &[
            "shop",
            "--template",
            "api",
            "--ci",
            "gitlab",
            "--no-git",
            "--core-version",
            "0.1",
        ],
    );
    insta::assert_snapshot!(tree(&tmp.path().join("shop")).join("\n"));
}

#[test]
fn api_postgres_tree() {
    let tmp = TempProject::new();
    let out = new_app(
        tmp.path(),
        &[
            "shop",
            "--template",
            "api",
            "--db",
            "postgres",
            "--no-git",
            "--core-version",
            "0.1",
        ],
    );
    assert!(out.contains("(api template, postgres,"), "{out}");
    let app = tmp.path().join("shop");
    // CI gives the tests a PostgreSQL, and the PGO training run too.
    let ci = read(app.join(".github/workflows/ci.yml"));
    assert_eq!(ci.matches("image: postgres:").count(), 2, "{ci}");
    assert!(ci.contains("TEST_DATABASE_URL: postgres://"), "{ci}");
    assert!(ci.contains("DATABASE_URL: postgres://"), "{ci}");
    // The pods read DATABASE_URL from the Secret and are ready with the database.
    let deployment = read(app.join("deploy/k8s/deployment.yaml"));
    assert!(deployment.contains("secretKeyRef:"), "{deployment}");
    assert!(deployment.contains("path: /ready"), "{deployment}");
    insta::assert_snapshot!(tree(&app).join("\n"));
}

#[test]
fn sqlite_app_is_one_pod_with_a_volume() {
    let tmp = TempProject::new();
    new_app(
        tmp.path(),
        &[
            "shop",
            "--template",
            "api",
            "--no-git",
            "--core-version",
            "0.1",
        ],
    );
    let app = tmp.path().join("shop");
    let k8s = tree(&app.join("deploy/k8s"));
    assert_eq!(
        k8s,
        ["service.yaml", "statefulset.yaml"],
        "no autoscaler, no Deployment"
    );
    let set = read(app.join("deploy/k8s/statefulset.yaml"));
    for line in [
        "replicas: 1",
        "volumeClaimTemplates:",
        "mountPath: /data",
        "value: \"sqlite:///data/shop.db\"",
    ] {
        assert!(
            set.contains(line),
            "statefulset.yaml lacks {line:?}:\n{set}"
        );
    }
    assert!(!read(app.join(".github/workflows/ci.yml")).contains("postgres"));
    assert!(read(app.join(".gitignore")).lines().any(|l| l == "/data"));
}

/// The api app's pods are scraped by Prometheus (`/metrics`, on the container's
/// port) and their probes wait longer than the 1 s default, which a busy pod
/// misses; liveness stays on `/health`, which touches no database.
#[test]
fn api_pods_are_scraped_and_their_probes_hold_under_load() {
    for (db, file) in [
        ("sqlite", "statefulset.yaml"),
        ("postgres", "deployment.yaml"),
    ] {
        let tmp = TempProject::new();
        new_app(
            tmp.path(),
            &[
                "shop",
                "--template",
                "api",
                "--db",
                db,
                "--no-git",
                "--core-version",
                "0.1",
            ],
        );
        let app = tmp.path().join("shop");
        let pods = read(app.join("deploy/k8s").join(file));
        let port = pods
            .lines()
            .find_map(|l| l.trim().strip_prefix("containerPort:"))
            .expect("containerPort")
            .trim();
        for line in [
            "prometheus.io/scrape: \"true\"".to_owned(),
            format!("prometheus.io/port: \"{port}\""),
            "prometheus.io/path: /metrics".to_owned(),
        ] {
            assert!(
                pods.lines().any(|l| l.trim() == line),
                "{db}: {file} lacks {line:?}:\n{pods}"
            );
        }
        for (probe, path) in [("readinessProbe:", "/ready"), ("livenessProbe:", "/health")] {
            let at = pods
                .find(probe)
                .unwrap_or_else(|| panic!("{db}: no {probe}"));
            let block: String = pods[at..]
                .lines()
                .skip(1)
                .take_while(|l| l.starts_with("            "))
                .collect::<Vec<_>>()
                .join("\n");
            assert!(
                block.contains(&format!("path: {path}")),
                "{db} {probe}\n{block}"
            );
            let timeout: u32 = block
                .lines()
                .find_map(|l| l.trim().strip_prefix("timeoutSeconds:"))
                .unwrap_or_else(|| panic!("{db}: {probe} has no timeoutSeconds\n{block}"))
                .trim()
                .parse()
                .unwrap();
            assert!(timeout >= 5, "{db}: {probe} timeoutSeconds {timeout}");
        }
        let lib = read(app.join("src/lib.rs"));
        assert!(
            lib.contains(".get(\"/metrics\", metrics.handler())"),
            "{lib}"
        );
    }
}

#[test]
fn minimal_tree_without_ci() {
    let tmp = TempProject::new();
    new_app(
        tmp.path(),
        &["plain", "--ci", "none", "--no-git", "--core-version", "0.1"],
    );
    insta::assert_snapshot!(tree(&tmp.path().join("plain")).join("\n"));
}

#[test]
fn generated_manifest() {
    let tmp = TempProject::new();
    new_app(
        tmp.path(),
        &[
            "shop",
            "--template",
            "api",
            "--no-git",
            "--core-version",
            "0.1",
        ],
    );
    insta::assert_snapshot!(read(tmp.path().join("shop/Cargo.toml")));
}

#[test]
fn manifest_parses_and_holds_the_three_profiles() {
    let tmp = TempProject::new();
    let out = new_app(tmp.path(), &["my-app", "--no-git"]);
    assert!(out.contains("Created `my-app` (minimal template"), "{out}");
    let text = read(tmp.path().join("my-app/Cargo.toml"));
    let doc: DocumentMut = text.parse().unwrap();
    assert_eq!(doc["package"]["name"].as_str(), Some("my-app"));
    assert_eq!(doc["profile"]["release"]["lto"].as_str(), Some("thin"));
    assert_eq!(doc["profile"]["release-fat"]["lto"].as_str(), Some("fat"));
    assert_eq!(
        doc["profile"]["release-fat"]["panic"].as_str(),
        Some("abort")
    );
    assert_eq!(
        doc["profile"]["release-native"]["inherits"].as_str(),
        Some("release")
    );
    // By default the core is this checkout's, and the manifest says so.
    let core = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../armature-core")
        .canonicalize()
        .unwrap();
    assert_eq!(
        doc["dependencies"]["armature-core"]["path"].as_str(),
        Some(core.to_str().unwrap())
    );
    assert!(text.contains(
        "# armature-core comes from the Armature checkout that cargo-armature was built from"
    ));
    // The lock is seeded so that the app resolves to versions already cached.
    assert_eq!(
        doc["dependencies"]["armature-core"]["package"].as_str(),
        Some("armature-web"),
        "the key stays `armature-core`; the package is `armature-web`"
    );
    assert!(read(tmp.path().join("my-app/Cargo.lock")).contains("name = \"armature-web\""));
}

#[test]
fn core_source_flags() {
    let tmp = TempProject::new();
    let core = tmp.path().join("checkout/armature-core");
    std::fs::create_dir_all(&core).unwrap();
    std::fs::write(
        core.join("Cargo.toml"),
        "[package]\nname = \"armature-web\"\n",
    )
    .unwrap();
    let cases: &[(&[&str], &str, &str)] = &[
        (&["--core-version", "0.1.3"], "version", "0.1.3"),
        (
            &["--core-git", "https://example.com/a.git"],
            "git",
            "https://example.com/a.git",
        ),
        (
            &[
                "--core-git",
                "https://example.com/a.git",
                "--core-branch",
                "dev",
            ],
            "branch",
            "dev",
        ),
        (
            &["--core-path", "checkout/armature-core"],
            "path",
            core.to_str().unwrap(),
        ),
    ];
    for (i, (flags, key, want)) in cases.iter().enumerate() {
        let name = format!("app{i}");
        let mut args = vec![name.as_str(), "--no-git"];
        args.extend_from_slice(flags);
        new_app(tmp.path(), &args);
        let doc = toml(tmp.path().join(&name).join("Cargo.toml"));
        let dep = &doc["dependencies"]["armature-core"];
        assert_eq!(dep[*key].as_str(), Some(*want), "{flags:?}");
        assert_eq!(dep["package"].as_str(), Some("armature-web"), "{flags:?}");
    }
}

#[test]
fn aliases_are_defined() {
    let tmp = TempProject::new();
    new_app(tmp.path(), &["a", "--no-git", "--core-version", "0.1"]);
    let doc = toml(tmp.path().join("a/.cargo/config.toml"));
    let alias = |name: &str| doc["alias"][name].as_str().map(str::to_owned);
    assert_eq!(
        alias("build-fat").as_deref(),
        Some("build --profile release-fat")
    );
    assert_eq!(
        alias("build-native").as_deref(),
        Some("armature build --native")
    );
    assert_eq!(alias("bench-native").as_deref(), Some("armature bench"));
    assert!(alias("pgo-gen").unwrap().starts_with("armature pgo"));
    assert_eq!(alias("pgo-build").as_deref(), Some("armature pgo"));
}

#[test]
fn git_repository_unless_disabled_or_inside_one() {
    let tmp = TempProject::new();
    new_app(tmp.path(), &["with-git", "--core-version", "0.1"]);
    assert!(tmp.path().join("with-git/.git").is_dir());
    new_app(
        tmp.path(),
        &["without", "--no-git", "--core-version", "0.1"],
    );
    assert!(!tmp.path().join("without/.git").exists());
    // Inside the first app's repository no new one is made.
    let out = new_app(
        &tmp.path().join("with-git"),
        &["inner", "--core-version", "0.1"],
    );
    assert!(!tmp.path().join("with-git/inner/.git").exists());
    assert!(out.contains("inside an existing repository"), "{out}");
}

#[test]
fn path_option_and_missing_parents() {
    let tmp = TempProject::new();
    new_app(
        tmp.path(),
        &[
            "svc",
            "--path",
            "services/deep/svc-dir",
            "--no-git",
            "--core-version",
            "0.1",
        ],
    );
    let dir = tmp.path().join("services/deep/svc-dir");
    assert_eq!(
        toml(dir.join("Cargo.toml"))["package"]["name"].as_str(),
        Some("svc")
    );
    // No staging directory is left behind.
    assert_eq!(
        std::fs::read_dir(tmp.path().join("services/deep"))
            .unwrap()
            .count(),
        1
    );
}

#[test]
fn force_overwrites_only_template_files() {
    let tmp = TempProject::new();
    let dir = tmp.path().join("app");
    std::fs::create_dir_all(dir.join("src")).unwrap();
    std::fs::write(dir.join("NOTES.md"), "mine").unwrap();
    std::fs::write(dir.join("src/extra.rs"), "// mine").unwrap();
    std::fs::write(dir.join("README.md"), "old readme").unwrap();
    new_app(
        tmp.path(),
        &["app", "--force", "--no-git", "--core-version", "0.1"],
    );
    assert_eq!(read(dir.join("NOTES.md")), "mine");
    assert_eq!(read(dir.join("src/extra.rs")), "// mine");
    assert!(read(dir.join("README.md")).starts_with("# app\n"));
    assert!(dir.join("Cargo.toml").is_file());
    // Running it again changes nothing the user owns either.
    let before: Vec<_> = snapshot_contents(&dir)
        .into_iter()
        .filter(|(p, _)| p == "NOTES.md")
        .collect();
    new_app(
        tmp.path(),
        &["app", "--force", "--no-git", "--core-version", "0.1"],
    );
    let after: Vec<_> = snapshot_contents(&dir)
        .into_iter()
        .filter(|(p, _)| p == "NOTES.md")
        .collect();
    assert_eq!(before, after);
}

#[test]
fn existing_empty_directory_is_used() {
    let tmp = TempProject::new();
    std::fs::create_dir(tmp.path().join("empty")).unwrap();
    new_app(tmp.path(), &["empty", "--no-git", "--core-version", "0.1"]);
    assert!(tmp.path().join("empty/src/main.rs").is_file());
}

#[test]
fn inside_a_workspace_the_app_builds_on_its_own() {
    let tmp = TempProject::new();
    std::fs::write(tmp.path().join("Cargo.toml"), "[workspace]\nmembers = []\n").unwrap();
    new_app(tmp.path(), &["member", "--no-git", "--core-version", "0.1"]);
    let doc = toml(tmp.path().join("member/Cargo.toml"));
    assert!(doc["workspace"].is_table());
}

#[test]
fn deploy_and_ci_keep_their_promises() {
    let tmp = TempProject::new();
    new_app(tmp.path(), &["svc", "--no-git", "--core-version", "0.1"]);
    let app = tmp.path().join("svc");

    // Kubernetes waits longer than the app drains.
    let deployment = read(app.join("deploy/k8s/deployment.yaml"));
    let grace: u64 = deployment
        .lines()
        .find_map(|l| l.trim().strip_prefix("terminationGracePeriodSeconds:"))
        .expect("terminationGracePeriodSeconds")
        .trim()
        .parse()
        .unwrap();
    let lib = read(app.join("src/lib.rs"));
    let drain: u64 = lib
        .split("Duration::from_secs(")
        .nth(1)
        .and_then(|rest| rest.split(')').next())
        .expect("DRAIN_TIMEOUT in src/lib.rs")
        .parse()
        .unwrap();
    assert!(
        grace > drain,
        "terminationGracePeriodSeconds {grace} must exceed the drain timeout {drain}"
    );
    for probe in ["readinessProbe:", "livenessProbe:"] {
        let at = deployment
            .find(probe)
            .unwrap_or_else(|| panic!("no {probe}"));
        assert!(
            deployment[at..].contains("path: /health"),
            "{probe} does not check /health"
        );
    }
    assert!(read(app.join("deploy/k8s/hpa.yaml")).contains("kind: HorizontalPodAutoscaler"));
    assert!(read(app.join("deploy/k8s/service.yaml")).contains("kind: Service"));

    let docker = read(app.join("deploy/Dockerfile"));
    assert_eq!(
        docker.matches("\nFROM ").count(),
        2,
        "two stages:\n{docker}"
    );
    assert!(docker.contains("cargo armature pgo"));
    assert!(docker.contains("FROM debian:bookworm-slim"));

    let ci = read(app.join(".github/workflows/ci.yml"));
    for needle in [
        "actions/checkout@v7",
        "dtolnay/rust-toolchain@stable",
        "cargo fmt --check",
        "cargo clippy --all-targets -- -D warnings",
        "cargo test",
        "run: cargo armature pgo",
        "actions/upload-artifact@v7",
        "${{ github.ref_name }}",
    ] {
        assert!(ci.contains(needle), "ci.yml lacks {needle:?}:\n{ci}");
    }

    let readme = read(app.join("README.md"));
    for section in [
        "## Run",
        "## Test",
        "## Build it fast",
        "## Profile-guided optimisation (PGO)",
        "## Deploy",
        "## Where armature-core comes from",
    ] {
        assert!(readme.contains(section), "README lacks {section}");
    }
    assert!(read(app.join(".gitignore")).contains("/target"));
}

#[test]
fn gitlab_ci_runs_the_same_checks() {
    let tmp = TempProject::new();
    new_app(
        tmp.path(),
        &["lab", "--ci", "gitlab", "--no-git", "--core-version", "0.1"],
    );
    let ci = read(tmp.path().join("lab/.gitlab-ci.yml"));
    for needle in [
        "cargo fmt --check",
        "cargo clippy --all-targets -- -D warnings",
        "cargo test",
        "cargo armature pgo",
        "target/armature-pgo/bin/lab",
    ] {
        assert!(
            ci.contains(needle),
            ".gitlab-ci.yml lacks {needle:?}:\n{ci}"
        );
    }
    assert!(!tmp.path().join("lab/.github").exists());
}
