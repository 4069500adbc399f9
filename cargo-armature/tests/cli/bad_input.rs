//! Bad input: a clear error printed once, exit code 2, and nothing written,
//! overwritten or removed.

use std::path::Path;
use std::process::Output;

use crate::support::{armature, dump, snapshot_contents, TempProject};

/// Asserts a usage failure: exit code 2, one `error:` line naming `needle`,
/// nothing on stdout.
#[track_caller]
fn usage_error(out: &Output, needle: &str) {
    assert_eq!(out.status.code(), Some(2), "{}", dump(out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        stderr.matches("error:").count(),
        1,
        "error printed more than once:\n{stderr}"
    );
    assert!(
        stderr.contains(needle),
        "stderr lacks {needle:?}:\n{stderr}"
    );
    assert!(out.stdout.is_empty(), "{}", dump(out));
}

fn is_empty(dir: &Path) -> bool {
    std::fs::read_dir(dir).unwrap().next().is_none()
}

#[test]
fn invalid_package_names() {
    let tmp = TempProject::new();
    for (name, why) in [
        ("1app", "starts with a digit"),
        ("my app", "not allowed"),
        ("self", "keyword"),
        ("fn", "keyword"),
        ("test", "reserved"),
        ("std", "reserved"),
        ("armature-core", "depends on"),
        ("", "empty"),
    ] {
        let out = armature(tmp.path(), &["new", name]);
        usage_error(&out, why);
        assert!(is_empty(tmp.path()), "`new {name:?}` wrote something");
    }
}

#[test]
fn existing_non_empty_directory_without_force() {
    let tmp = TempProject::new();
    let dir = tmp.path().join("app");
    std::fs::create_dir_all(dir.join("src")).unwrap();
    std::fs::write(dir.join("Cargo.toml"), "# mine\n").unwrap();
    std::fs::write(dir.join("src/main.rs"), "fn main() {}\n").unwrap();
    let before = snapshot_contents(&dir);
    let out = armature(tmp.path(), &["new", "app"]);
    usage_error(&out, "--force");
    assert_eq!(snapshot_contents(&dir), before);
    // Nothing was left next to it either.
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 1);
}

#[test]
fn target_is_a_file() {
    let tmp = TempProject::new();
    std::fs::write(tmp.path().join("app"), "a file").unwrap();
    let out = armature(tmp.path(), &["new", "app"]);
    usage_error(&out, "is not a directory");
    assert_eq!(
        std::fs::read_to_string(tmp.path().join("app")).unwrap(),
        "a file"
    );
}

#[test]
fn path_below_a_file() {
    let tmp = TempProject::new();
    std::fs::write(tmp.path().join("file"), "").unwrap();
    let out = armature(tmp.path(), &["new", "app", "--path", "file/app"]);
    usage_error(&out, "is a file");
}

#[test]
fn force_refuses_to_replace_a_directory_with_a_file() {
    let tmp = TempProject::new();
    let dir = tmp.path().join("app");
    std::fs::create_dir_all(dir.join("README.md")).unwrap();
    std::fs::write(dir.join("README.md/keep.txt"), "mine").unwrap();
    let before = snapshot_contents(&dir);
    let out = armature(tmp.path(), &["new", "app", "--force", "--no-git"]);
    usage_error(&out, "is a directory");
    assert_eq!(snapshot_contents(&dir), before);
}

#[test]
fn unwritable_parent() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = TempProject::new();
    let locked = tmp.path().join("locked");
    std::fs::create_dir(&locked).unwrap();
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o555)).unwrap();
    // Root (and some sandboxes) may write anyway; then there is nothing to test.
    let probe = locked.join("probe");
    if std::fs::write(&probe, "").is_ok() {
        std::fs::remove_file(&probe).unwrap();
        eprintln!("skipped: this user can write to a read-only directory");
        std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o755)).unwrap();
        return;
    }
    let out = armature(tmp.path(), &["new", "app", "--path", "locked/app"]);
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o755)).unwrap();
    usage_error(&out, "choose a --path you can write to");
    assert!(is_empty(&locked));
}

#[test]
fn unwritable_system_path() {
    // /proc refuses new directories even to root.
    let tmp = TempProject::new();
    let out = armature(
        tmp.path(),
        &["new", "app", "--path", "/proc/armature-test/app"],
    );
    usage_error(&out, "choose a --path you can write to");
}

#[test]
fn core_path_without_a_manifest() {
    let tmp = TempProject::new();
    let out = armature(tmp.path(), &["new", "app", "--core-path", "nowhere"]);
    usage_error(&out, "no Cargo.toml there");
    assert!(is_empty(tmp.path()));
}

#[test]
fn conflicting_core_sources() {
    let tmp = TempProject::new();
    let out = armature(
        tmp.path(),
        &["new", "app", "--core-version", "0.1", "--core-git", "x"],
    );
    usage_error(&out, "cannot be used with");
    let out = armature(tmp.path(), &["new", "app", "--core-branch", "main"]);
    usage_error(&out, "--core-git");
    assert!(is_empty(tmp.path()));
}

#[test]
fn unknown_template() {
    let tmp = TempProject::new();
    let out = armature(tmp.path(), &["new", "app", "--template", "huge"]);
    usage_error(&out, "possible values: minimal, api");
    assert!(is_empty(tmp.path()));
}

#[test]
fn build_outside_a_project() {
    let tmp = TempProject::new();
    let out = armature(tmp.path(), &["build"]);
    usage_error(
        &out,
        "run this inside a Cargo project or pass --manifest-path",
    );
    assert!(is_empty(tmp.path()));
}

#[test]
fn build_with_two_profiles() {
    let tmp = TempProject::new();
    let out = armature(tmp.path(), &["build", "--fat", "--native"]);
    usage_error(&out, "cannot be used with");
}

#[test]
fn db_needs_the_api_template() {
    let tmp = TempProject::new();
    let out = armature(
        tmp.path(),
        &["new", "plain", "--db", "postgres", "--no-git"],
    );
    usage_error(&out, "--db postgres needs --template api");
    assert!(is_empty(tmp.path()));
}
