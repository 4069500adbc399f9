//! `cargo armature build` on small hand-written projects (no armature-core):
//! profiles added with comments kept, and native flags merged with the user's.

use std::path::Path;

use crate::support::{armature, command, dump, success, TempProject, BIN};

const MANIFEST: &str = r#"# A hand-written manifest. Every comment must survive.
[package]
name = "handmade"     # aligned on purpose
version = "0.1.0"
edition = "2021"

# No dependencies: this test is about the manifest.
[dependencies]

# I like symbols in my release builds.
[profile.release]
debug = 1   # keep this
"#;

/// A binary crate called `name` (each test its own, as they share a target
/// directory) that only compiles when the `--cfg` flags in `needs` are set.
fn project(dir: &Path, name: &str, needs: &[&str]) -> String {
    project_with(dir, name, needs, &[])
}

/// [`project`], which also fails to compile when a flag of `forbids` is set.
fn project_with(dir: &Path, name: &str, needs: &[&str], forbids: &[&str]) -> String {
    std::fs::create_dir_all(dir.join("src")).unwrap();
    let manifest = MANIFEST.replace("\"handmade\"", &format!("\"{name}\""));
    std::fs::write(dir.join("Cargo.toml"), &manifest).unwrap();
    let mut main = String::new();
    for cfg in needs {
        main.push_str(&format!(
            "#[cfg(not({cfg}))]\ncompile_error!(\"--cfg {cfg} was lost\");\n"
        ));
    }
    for cfg in forbids {
        main.push_str(&format!(
            "#[cfg({cfg})]\ncompile_error!(\"--cfg {cfg} is set, but cargo would not use it\");\n"
        ));
    }
    main.push_str("fn main() { println!(\"handmade\"); }\n");
    std::fs::write(dir.join("src/main.rs"), main).unwrap();
    manifest
}

#[test]
fn build_adds_profiles_and_keeps_comments() {
    let tmp = TempProject::new();
    let manifest = project(tmp.path(), "handmade-comments", &[]);
    let out = armature(tmp.path(), &["build"]);
    let stdout = success(&out);

    let text = std::fs::read_to_string(tmp.path().join("Cargo.toml")).unwrap();
    assert!(
        text.starts_with(&manifest),
        "the hand-written part changed:\n{text}"
    );
    let doc: toml_edit::DocumentMut = text.parse().unwrap();
    assert_eq!(
        doc["profile"]["release"].as_table().unwrap().len(),
        1,
        "release was rewritten"
    );
    assert_eq!(doc["profile"]["release-fat"]["lto"].as_str(), Some("fat"));
    assert!(doc["profile"]["release-native"].is_table());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("Added [profile.release-fat]"), "{stderr}");
    assert!(!stderr.contains("Added [profile.release]"), "{stderr}");

    // It printed the binary's path and size, and the binary is there.
    let line = stdout
        .lines()
        .find(|l| l.starts_with("Built handmade-comments"))
        .unwrap_or_else(|| panic!("{}", dump(&out)));
    let path = line
        .split(": ")
        .nth(1)
        .unwrap()
        .rsplit_once(" (")
        .unwrap()
        .0;
    assert!(Path::new(path).is_file(), "{line}");
    assert!(
        line.contains("[profile.release]") && line.ends_with("iB)"),
        "{line}"
    );

    // A second build adds nothing.
    let again = armature(tmp.path(), &["build"]);
    success(&again);
    assert!(!String::from_utf8_lossy(&again.stderr).contains("Added"));
    assert_eq!(
        std::fs::read_to_string(tmp.path().join("Cargo.toml")).unwrap(),
        text
    );
}

#[test]
fn profiles_go_to_the_workspace_root() {
    let tmp = TempProject::new();
    std::fs::write(
        tmp.path().join("Cargo.toml"),
        "[workspace]\nmembers = [\"member\"]\nresolver = \"2\"\n",
    )
    .unwrap();
    let manifest = project(&tmp.path().join("member"), "handmade-member", &[]);
    let out = armature(&tmp.path().join("member"), &["build", "--profile", "dev"]);
    success(&out);
    let root: toml_edit::DocumentMut = std::fs::read_to_string(tmp.path().join("Cargo.toml"))
        .unwrap()
        .parse()
        .unwrap();
    assert!(root["profile"]["release-fat"].is_table());
    assert_eq!(
        std::fs::read_to_string(tmp.path().join("member/Cargo.toml")).unwrap(),
        manifest
    );
}

#[test]
fn native_keeps_config_rustflags() {
    let tmp = TempProject::new();
    project(tmp.path(), "handmade-config-flags", &["armature_cfg_flag"]);
    std::fs::create_dir_all(tmp.path().join(".cargo")).unwrap();
    std::fs::write(
        tmp.path().join(".cargo/config.toml"),
        "[build]\nrustflags = [\"--cfg\", \"armature_cfg_flag\"]\n",
    )
    .unwrap();
    let out = armature(tmp.path(), &["build", "--native", "--", "-v"]);
    let stdout = success(&out);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("-Ctarget-cpu=native"), "{stderr}");
    // Built in its own target directory.
    assert!(
        stdout.contains("/native/release-native/handmade-config-flags"),
        "{stdout}"
    );
}

#[test]
fn native_appends_to_rustflags_env() {
    let tmp = TempProject::new();
    project(tmp.path(), "handmade-env-flags", &["armature_env_flag"]);
    let mut cmd = command(BIN, tmp.path());
    cmd.env("RUSTFLAGS", "--cfg armature_env_flag")
        .args(["armature", "build", "--native", "--", "-v"]);
    let out = cmd.output().unwrap();
    success(&out);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("-Ctarget-cpu=native"), "{stderr}");
}

#[test]
fn failing_build_fails_with_code_1() {
    let tmp = TempProject::new();
    project(tmp.path(), "handmade-broken", &["never_set"]);
    let out = armature(tmp.path(), &["build", "--profile", "dev"]);
    assert_eq!(out.status.code(), Some(1), "{}", dump(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--cfg never_set was lost"),
        "the compiler's message is shown:\n{stderr}"
    );
    assert!(
        stderr.contains("error: `cargo build --profile dev` failed"),
        "{stderr}"
    );
}

fn host_triple() -> String {
    cargo_armature::toolchain::RustcInfo::detect().unwrap().host
}

/// Every source of rustflags cargo reads, in its precedence: `build --native` keeps
/// exactly the flags cargo itself would use (each `needs` set, each `forbids` not) and
/// adds `-Ctarget-cpu=native`.
#[test]
fn native_follows_cargos_rustflags_precedence() {
    let host = host_triple();
    let b = "[build]\nrustflags = [\"--cfg\", \"f_build\"]\n";
    let triple = format!("[target.{host}]\nrustflags = [\"--cfg\", \"f_triple\"]\n");
    let unix = "[target.'cfg(unix)']\nrustflags = [\"--cfg\", \"f_unix\"]\n";
    let other = "[target.aarch64-unknown-linux-gnu]\nrustflags = [\"--cfg\", \"f_other\"]\n\
                 [target.'cfg(windows)']\nrustflags = [\"--cfg\", \"f_windows\"]\n";
    let all = [
        "f_build",
        "f_triple",
        "f_unix",
        "f_other",
        "f_windows",
        "f_env",
    ];
    #[allow(clippy::type_complexity)]
    let cases: Vec<(&str, String, Vec<(&str, &str)>, Vec<&str>)> = vec![
        ("build", b.to_owned(), vec![], vec!["f_build"]),
        // The issue's shape: a target table for another triple leaves build.rustflags on.
        (
            "other-target",
            format!("{b}{other}"),
            vec![],
            vec!["f_build"],
        ),
        ("triple", format!("{b}{triple}"), vec![], vec!["f_triple"]),
        (
            "triple-and-cfg",
            format!("{b}{triple}{unix}"),
            vec![],
            vec!["f_triple", "f_unix"],
        ),
        (
            "rustflags-env",
            format!("{b}{unix}"),
            vec![("RUSTFLAGS", "--cfg f_env")],
            vec!["f_env"],
        ),
        (
            "encoded-env",
            format!("{b}{unix}"),
            vec![
                ("CARGO_ENCODED_RUSTFLAGS", "--cfg\x1ff_env"),
                ("RUSTFLAGS", "--cfg f_build"),
            ],
            vec!["f_env"],
        ),
        (
            "build-env",
            String::new(),
            vec![("CARGO_BUILD_RUSTFLAGS", "--cfg f_build")],
            vec!["f_build"],
        ),
    ];
    for (name, config, env, needs) in cases {
        let tmp = TempProject::new();
        let forbids: Vec<&str> = all.iter().copied().filter(|f| !needs.contains(f)).collect();
        project_with(
            tmp.path(),
            &format!("handmade-shape-{name}"),
            &needs,
            &forbids,
        );
        std::fs::create_dir_all(tmp.path().join(".cargo")).unwrap();
        std::fs::write(tmp.path().join(".cargo/config.toml"), &config).unwrap();
        let mut cmd = command(BIN, tmp.path());
        cmd.args(["armature", "build", "--native", "--", "-v"]);
        for (k, v) in &env {
            cmd.env(k, v);
        }
        let out = cmd.output().unwrap();
        assert!(
            out.status.success(),
            "shape {name}:\n{config}\n{}",
            dump(&out)
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("-Ctarget-cpu=native"),
            "shape {name}:\n{stderr}"
        );
    }
}
