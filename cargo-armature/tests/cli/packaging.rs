//! What a user of the registry gets, from a registry index and not from a path:
//! both crates packaged, put into a local registry with every dependency they need, and then, with a
//! fresh `CARGO_HOME` that knows only that registry, no network and no checkout
//! in reach: `cargo install --locked cargo-armature` (by name), `cargo armature
//! new` (armature-core resolved by version, as `armature-web`), build, serve
//! `/health`, stop. Also the bad input of a registry install: a registry serving
//! another `armature-web`, and no registry at all.
//!
//! The registry is a directory source (`[source.NAME] directory = ...`, what `cargo
//! vendor` writes, kept in the shared target directory) that replaces crates.io, so
//! package ids, `Cargo.lock` entries and build artifacts are exactly those of
//! crates.io: the shared target directory's dependency builds are reused. Cargo
//! checks a registry package's files against its last build by their mtimes, which
//! the tarballs keep, so an edited core or CLI is rebuilt from its tarball and an
//! unchanged one is not. Steps (the test prints the time of each on its
//! `registry install:` line): package both crates, vendor the dependencies,
//! install (`--debug`; builds cargo-armature from its tarball), `new` (fetches and
//! checks armature-web), build (armature-web from its tarball, and the app), serve.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Instant;

use sha2::{Digest, Sha256};

use crate::generated_apps::serve_health;
use crate::support::{
    armature, cargo, command, dump, ensure_workspace_fetched, shared_target_dir, success, tree,
    workspace_root, TempProject,
};

const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The two published packages.
const PACKAGES: [&str; 2] = ["armature-web", "cargo-armature"];

/// Unpacks `crate_file` (a gzipped tarball) into `dest`.
fn unpack(crate_file: &Path, dest: &Path) {
    let out = Command::new("tar")
        .arg("-xzf")
        .arg(crate_file)
        .arg("-C")
        .arg(dest)
        .output()
        .unwrap();
    assert!(out.status.success(), "tar failed:\n{}", dump(&out));
}

/// `cargo package` for both crates; the directory holding the `.crate` files.
///
/// Without cargo's verification build: the install below builds cargo-armature's
/// tarball, and the app's build armature-web's, each as a registry package in a
/// `CARGO_HOME` that knows nothing else (a stricter check than the verification,
/// which builds beside this workspace's cache, and half the test's time).
fn package_both() -> PathBuf {
    let out = cargo(
        &workspace_root(),
        &[
            "package",
            "--no-verify",
            "-p",
            PACKAGES[0],
            "-p",
            PACKAGES[1],
            "--allow-dirty",
        ],
    );
    success(&out);
    let dir = shared_target_dir().join("package");
    for name in PACKAGES {
        assert!(
            dir.join(format!("{name}-{VERSION}.crate")).is_file(),
            "no {name}-{VERSION}.crate in {}:\n{}",
            dir.display(),
            dump(&out)
        );
    }
    dir
}

/// Adds `dir` (an unpacked crate inside a directory source) to that source: cargo
/// reads the `.crate`'s checksum (what crates.io's index records) from its
/// `.cargo-checksum.json`.
fn add_to_directory_source(dir: &Path, tarball: &[u8]) {
    let sum: String = Sha256::digest(tarball)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    std::fs::write(
        dir.join(".cargo-checksum.json"),
        format!("{{\"files\":{{}},\"package\":\"{sum}\"}}"),
    )
    .unwrap();
}

/// A `CARGO_HOME` whose crates.io is the directory source `registry`, offline.
fn cargo_home_for(home: &Path, registry: &Path) {
    std::fs::create_dir_all(home).unwrap();
    std::fs::write(
        home.join("config.toml"),
        format!(
            "[source.crates-io]\nreplace-with = \"local\"\n\n\
             [source.local]\ndirectory = {:?}\n\n[net]\noffline = true\n",
            registry.display().to_string()
        ),
    )
    .unwrap();
}

/// `program ARGS` as a user of the registry runs it: `CARGO_HOME` is `home`, `PATH`
/// has `bin` (the installed cargo-armature) and the system's, not this checkout's.
fn as_user(program: &Path, cwd: &Path, home: &Path, bin: &Path, args: &[&str]) -> Output {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut dirs = vec![bin.to_path_buf()];
    dirs.extend(std::env::split_paths(&path));
    command(program, cwd)
        .args(args)
        .env("CARGO_HOME", home)
        .env("PATH", std::env::join_paths(dirs).unwrap())
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

#[test]
fn install_from_a_registry_index_then_new_build_and_serve() {
    ensure_workspace_fetched();
    let started = Instant::now();
    let tmp = TempProject::new();
    let target = shared_target_dir();
    let packages = package_both();
    let packaged = Instant::now();

    // The packaged sources, and an app on the packaged core: together, what the
    // registry must hold (cargo-armature's lock; the app's dependencies and the core's).
    let src = tmp.path().join("src");
    std::fs::create_dir(&src).unwrap();
    for name in PACKAGES {
        unpack(&packages.join(format!("{name}-{VERSION}.crate")), &src);
    }
    let core = src.join(format!("armature-web-{VERSION}"));
    let cli = src.join(format!("cargo-armature-{VERSION}"));
    // The tarball carries the templates and the seed lock as real files.
    assert!(cli.join("templates/common/src/main.rs.hbs").is_file());
    assert!(!cli.join("templates").is_symlink());
    assert!(cli.join("seed.lock").is_file() && !cli.join("seed.lock").is_symlink());
    let scratch = tmp.path().join("scratch");
    std::fs::create_dir(&scratch).unwrap();
    let core_arg = core.display().to_string();
    success(&armature(
        &scratch,
        &["new", "registry-deps", "--no-git", "--core-path", &core_arg],
    ));
    // The registry lives beside the shared target directory, not in the temporary
    // one: a build script's `rerun-if-changed` paths are relative to its package, so
    // a dependency unpacked afresh (new path, new mtimes) would rebuild everything
    // that depends on it. `cargo vendor --versioned-dirs` keeps what it already
    // holds and deletes what the locks no longer name.
    let registry = target.join("registry");
    for name in PACKAGES {
        let _ = std::fs::remove_dir_all(registry.join(format!("{name}-{VERSION}")));
    }
    let vendor = cargo(
        &scratch,
        &[
            "vendor",
            "--versioned-dirs",
            "--manifest-path",
            &cli.join("Cargo.toml").display().to_string(),
            "--sync",
            &scratch
                .join("registry-deps/Cargo.toml")
                .display()
                .to_string(),
            &registry.display().to_string(),
        ],
    );
    success(&vendor);
    for name in PACKAGES {
        let tarball = std::fs::read(packages.join(format!("{name}-{VERSION}.crate"))).unwrap();
        unpack(&packages.join(format!("{name}-{VERSION}.crate")), &registry);
        add_to_directory_source(&registry.join(format!("{name}-{VERSION}")), &tarball);
    }
    std::fs::remove_dir_all(&src).unwrap();
    std::fs::remove_dir_all(&scratch).unwrap();
    let vendored = Instant::now();

    // A user's machine: nothing but that registry.
    let home = tmp.path().join("cargo-home");
    cargo_home_for(&home, &registry);
    let root = tmp.path().join("root");
    let bin = root.join("bin");
    let cargo_exe = PathBuf::from(std::env::var_os("CARGO").unwrap());
    let work = tmp.path().join("work");
    std::fs::create_dir(&work).unwrap();
    let root_arg = root.display().to_string();
    let install = as_user(
        &cargo_exe,
        &work,
        &home,
        &bin,
        &[
            "install",
            "--locked",
            "--debug",
            "cargo-armature",
            "--root",
            &root_arg,
        ],
    );
    success(&install);
    // From the registry: cargo names a path install's directory on this line.
    let log = String::from_utf8_lossy(&install.stderr);
    assert!(
        log.lines()
            .any(|l| l.trim() == format!("Installing cargo-armature v{VERSION}")),
        "cargo-armature must come from the registry:\n{}",
        dump(&install)
    );
    assert!(bin.join("cargo-armature").is_file(), "{}", dump(&install));
    let installed = Instant::now();

    let help = as_user(
        &cargo_exe,
        &work,
        &home,
        &bin,
        &["armature", "new", "--help"],
    );
    let help = success(&help);
    assert!(
        help.contains("installed from a registry"),
        "the installed binary's help must say where the core comes from:\n{help}"
    );
    let app_name = "registry-app";
    let new = as_user(
        &cargo_exe,
        &work,
        &home,
        &bin,
        &["armature", "new", app_name],
    );
    let stdout = success(&new);
    assert!(
        stdout.contains(&format!("crates.io (version {VERSION})")),
        "{}",
        dump(&new)
    );
    let app = work.join(app_name);
    let manifest = std::fs::read_to_string(app.join("Cargo.toml")).unwrap();
    let doc: toml_edit::DocumentMut = manifest.parse().unwrap();
    let dep = &doc["dependencies"]["armature-core"];
    assert_eq!(
        (dep["package"].as_str(), dep["version"].as_str()),
        (Some("armature-web"), Some(VERSION)),
        "a registry install depends on armature-web at its own version:\n{manifest}"
    );
    let lock = std::fs::read_to_string(app.join("Cargo.lock")).unwrap();
    assert!(
        lock.contains(&format!(
            "name = \"armature-web\"\nversion = \"{VERSION}\"\n\
             source = \"registry+https://github.com/rust-lang/crates.io-index\""
        )),
        "the core comes from the registry, by version:\n{lock}"
    );
    let workflow = std::fs::read_to_string(app.join(".github/workflows/ci.yml")).unwrap();
    assert!(
        workflow.contains(&format!(
            "cargo install --locked --version ={VERSION} cargo-armature"
        )),
        "CI installs the generating version:\n{workflow}"
    );
    assert!(
        !tree(&work).iter().any(|p| p.contains(".armature-new-")),
        "the scratch directory was left behind: {:?}",
        tree(&work)
    );
    let build = as_user(&cargo_exe, &app, &home, &bin, &["build"]);
    success(&build);
    serve_health(&target.join("debug").join(app_name), &[]);
    let compiled = |out: &Output| {
        String::from_utf8_lossy(&out.stderr)
            .matches("Compiling ")
            .count()
    };
    eprintln!(
        "registry install: package {:.1?}, vendor {:.1?}, install {:.1?} ({} crates compiled), \
         new+build+serve {:.1?} ({} compiled), total {:.1?}",
        packaged - started,
        vendored - packaged,
        installed - vendored,
        compiled(&install),
        installed.elapsed(),
        compiled(&build),
        started.elapsed()
    );

    // A registry serving another `armature-web` (not Armature's repository):
    // refused, and nothing written.
    let impostor = tmp.path().join("impostor-registry");
    std::fs::create_dir(&impostor).unwrap();
    for entry in std::fs::read_dir(&registry).unwrap().flatten() {
        let name = entry.file_name();
        if !name.to_string_lossy().starts_with("armature-web-") {
            std::os::unix::fs::symlink(entry.path(), impostor.join(&name)).unwrap();
        }
    }
    let theirs = impostor.join(format!("armature-web-{VERSION}"));
    std::fs::create_dir_all(theirs.join("src")).unwrap();
    let their_manifest = format!(
        "[package]\nname = \"armature-web\"\nversion = \"{VERSION}\"\nedition = \"2021\"\n\
         repository = \"https://example.com/someone-else/armature-web\"\n\n\
         [lib]\nname = \"armature_core\"\n"
    );
    std::fs::write(theirs.join("Cargo.toml"), &their_manifest).unwrap();
    std::fs::write(theirs.join("src/lib.rs"), "").unwrap();
    add_to_directory_source(&theirs, their_manifest.as_bytes());
    let impostor_home = tmp.path().join("impostor-home");
    cargo_home_for(&impostor_home, &impostor);
    let other = tmp.path().join("other");
    std::fs::create_dir(&other).unwrap();
    let out = as_user(
        &cargo_exe,
        &other,
        &impostor_home,
        &bin,
        &["armature", "new", "wrong-core", "--no-git"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", dump(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("armature-web")
            && stderr.contains("is not Armature's")
            && stderr.contains("someone-else")
            && stderr.contains("--core-git"),
        "{}",
        dump(&out)
    );
    assert!(
        tree(&other).is_empty(),
        "files were written: {:?}",
        tree(&other)
    );

    // No registry reachable and nothing cached: exit 1, what to run, nothing written.
    let empty_home = tmp.path().join("empty-cargo-home");
    std::fs::create_dir(&empty_home).unwrap();
    let lonely = tmp.path().join("lonely");
    std::fs::create_dir(&lonely).unwrap();
    let out = as_user(
        &cargo_exe,
        &lonely,
        &empty_home,
        &bin,
        &["armature", "new", "offline-app", "--no-git"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", dump(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("cannot get armature-core")
            && stderr.contains("Nothing was written")
            && stderr.contains("run the same command again")
            && stderr.contains("--core-path"),
        "{}",
        dump(&out)
    );
    assert!(
        tree(&lonely).is_empty(),
        "files were written: {:?}",
        tree(&lonely)
    );
}

#[test]
fn packaged_templates_and_seed_lock_are_the_checkouts() {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let root = workspace_root();
    // One source: symlinks from the crate to the top-level files.
    for (link, target) in [
        ("templates", "../templates"),
        ("seed.lock", "../Cargo.lock"),
    ] {
        let path = crate_dir.join(link);
        assert_eq!(
            std::fs::read_link(&path).ok(),
            Some(PathBuf::from(target)),
            "{} must be a symlink to {target}",
            path.display()
        );
    }
    // And the binary embeds exactly the files on disk under `templates/`.
    let embedded = cargo_armature::new::template::embedded_files();
    let on_disk: Vec<(String, Vec<u8>)> = tree(&root.join("templates"))
        .into_iter()
        .map(|p| {
            let bytes = std::fs::read(root.join("templates").join(&p)).unwrap();
            (p, bytes)
        })
        .collect();
    assert_eq!(
        embedded.iter().map(|(p, _)| p.as_str()).collect::<Vec<_>>(),
        on_disk.iter().map(|(p, _)| p.as_str()).collect::<Vec<_>>()
    );
    assert!(
        embedded == on_disk,
        "embedded template contents differ from templates/"
    );
    assert_eq!(
        cargo_armature::new::manifest::cargo_lock(),
        std::fs::read_to_string(root.join("Cargo.lock")).unwrap()
    );
}

#[test]
fn workspace_readme_quick_start_is_the_crate_readmes() {
    // The crate README's example is compiled as a doctest; the workspace README
    // must show the same code.
    fn quick_start(path: &Path) -> String {
        let text = std::fs::read_to_string(path).unwrap();
        let start = text
            .find("```rust")
            .unwrap_or_else(|| panic!("{}: no rust block", path.display()));
        let end = text[start..].find("\n```\n").unwrap() + start;
        text[start..end].to_owned()
    }
    let root = workspace_root();
    assert_eq!(
        quick_start(&root.join("README.md")),
        quick_start(&root.join("armature-core/README.md"))
    );
}

#[test]
fn docs_and_changelog_follow_the_one_version() {
    // The version lives in `[workspace.package]` only; what names it follows.
    let root = workspace_root();
    let minor = VERSION.rsplit_once('.').unwrap().0;
    let line = format!("armature-core = {{ package = \"armature-web\", version = \"{minor}\" }}");
    for readme in ["README.md", "armature-core/README.md"] {
        let text = std::fs::read_to_string(root.join(readme)).unwrap();
        assert!(
            text.contains(&line),
            "{readme} must show the dependency line `{line}` (RELEASING.md, step 1)"
        );
    }
    let changelog = std::fs::read_to_string(root.join("CHANGELOG.md")).unwrap();
    assert!(
        changelog.contains("## [Unreleased]") && changelog.contains(&format!("## [{VERSION}]")),
        "CHANGELOG.md needs `## [Unreleased]` and `## [{VERSION}]` (RELEASING.md, step 2)"
    );
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
    assert_eq!(
        manifest.matches(&format!("\"{VERSION}\"")).count(),
        1,
        "the version is written once in Cargo.toml, in [workspace.package]"
    );
}
