//! What a user of the registry gets: the two crates packaged (with cargo's own
//! verification build from each tarball), cargo-armature installed from its
//! tarball (not from this checkout), and an app created by that binary, built
//! and served against the *packaged* armature-core. Also the sources that the
//! package carries are the checkout's (one source of truth).
//!
//! How the packaged armature-core stands in for crates.io: a `[patch.crates-io]`
//! entry in a `.cargo/config.toml` above the app, pointing at the unpacked
//! `armature-core-X.Y.Z.crate`. The generated `Cargo.toml` stays exactly what a
//! registry user gets (`armature-core = "X.Y.Z"`); cargo resolves it to the patch.
//! Everything runs with `CARGO_NET_OFFLINE=true` (the dependencies are in the
//! local cache after any build here), so nothing reaches the network.
//!
//! Steps and their cost (2-core machine, warm cache): package + verify both
//! crates, install from the tarball (`--debug`, sharing the generated apps'
//! target directory), `new`, build, start, `GET /health`, SIGTERM.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::generated_apps::serve_health;
use crate::support::{
    cargo, command, dump, ensure_workspace_fetched, shared_target_dir, success, tree,
    workspace_root, TempProject,
};

const VERSION: &str = env!("CARGO_PKG_VERSION");

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

/// `cargo package` for both crates, verified; the directory holding the
/// `.crate` files.
fn package_both() -> PathBuf {
    let out = cargo(
        &workspace_root(),
        &[
            "package",
            "-p",
            "armature-core",
            "-p",
            "cargo-armature",
            "--allow-dirty",
        ],
    );
    success(&out);
    let dir = shared_target_dir().join("package");
    for name in ["armature-core", "cargo-armature"] {
        assert!(
            dir.join(format!("{name}-{VERSION}.crate")).is_file(),
            "no {name}-{VERSION}.crate in {}:\n{}",
            dir.display(),
            dump(&out)
        );
    }
    dir
}

#[test]
fn install_from_the_packaged_crate_then_new_build_and_serve() {
    ensure_workspace_fetched();
    let started = Instant::now();
    let tmp = TempProject::new();
    let packages = package_both();
    let packaged = Instant::now();

    let src = tmp.path().join("src");
    std::fs::create_dir(&src).unwrap();
    for name in ["armature-core", "cargo-armature"] {
        unpack(&packages.join(format!("{name}-{VERSION}.crate")), &src);
    }
    let core = src.join(format!("armature-core-{VERSION}"));
    let cli = src.join(format!("cargo-armature-{VERSION}"));
    // The tarball carries the templates and the seed lock as real files.
    assert!(cli.join("templates/common/src/main.rs.hbs").is_file());
    assert!(!cli.join("templates").is_symlink());
    assert!(cli.join("seed.lock").is_file() && !cli.join("seed.lock").is_symlink());

    let root = tmp.path().join("root");
    let out = command(std::env::var_os("CARGO").unwrap(), tmp.path())
        .args(["install", "--locked", "--debug", "--path"])
        .arg(&cli)
        .arg("--root")
        .arg(&root)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    success(&out);
    let installed_bin = root.join("bin/cargo-armature");
    assert!(installed_bin.is_file(), "{}", dump(&out));
    let installed = Instant::now();

    // `new` with the installed binary, where cargo sees the packaged core as crates.io's.
    let work = tmp.path().join("work");
    std::fs::create_dir_all(work.join(".cargo")).unwrap();
    std::fs::write(
        work.join(".cargo/config.toml"),
        format!(
            "[patch.crates-io]\narmature-core = {{ path = {:?} }}\n",
            core.display().to_string()
        ),
    )
    .unwrap();
    let help = command(&installed_bin, &work)
        .args(["armature", "new", "--help"])
        .output()
        .unwrap();
    let help = success(&help);
    assert!(
        help.contains("installed from a registry"),
        "the installed binary's help must say where the core comes from:\n{help}"
    );
    let out = command(&installed_bin, &work)
        .args(["armature", "new", "shop", "--no-git"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stdout = success(&out);
    assert!(
        stdout.contains(&format!("crates.io (version {VERSION})")),
        "{}",
        dump(&out)
    );
    let app = work.join("shop");
    let manifest = std::fs::read_to_string(app.join("Cargo.toml")).unwrap();
    let doc: toml_edit::DocumentMut = manifest.parse().unwrap();
    assert_eq!(
        doc["dependencies"]["armature-core"].as_str(),
        Some(VERSION),
        "a registry install depends on its own version:\n{manifest}"
    );
    let readme = std::fs::read_to_string(app.join("README.md")).unwrap();
    assert!(
        readme.contains(&format!("crates.io (version {VERSION})")),
        "{readme}"
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

    success(&cargo(&app, &["build"]));
    let lock = std::fs::read_to_string(app.join("Cargo.lock")).unwrap();
    assert!(lock.contains("name = \"armature-core\""), "{lock}");
    serve_health(&shared_target_dir().join("debug/shop"), &[]);
    eprintln!(
        "install path: package+verify {:.1?}, install {:.1?}, new+build+serve {:.1?}",
        packaged - started,
        installed - packaged,
        installed.elapsed()
    );

    // No network and no cached core: a clear error, and nothing written.
    let empty_home = tmp.path().join("empty-cargo-home");
    std::fs::create_dir(&empty_home).unwrap();
    let lonely = tmp.path().join("lonely");
    std::fs::create_dir(&lonely).unwrap();
    let out = command(&installed_bin, &lonely)
        .args(["armature", "new", "offline-app", "--no-git"])
        .env("CARGO_HOME", &empty_home)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", dump(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("cannot get armature-core")
            && stderr.contains("Nothing was written")
            && stderr.contains("--core-path"),
        "{}",
        dump(&out)
    );
    assert!(
        tree(&lonely).is_empty(),
        "files were written: {:?}",
        tree(&lonely)
    );

    // A registry armature-core that is another project's (the name is taken on
    // crates.io by an unrelated framework): refused, and nothing written.
    let impostor = tmp.path().join("impostor/armature-core");
    std::fs::create_dir_all(impostor.join("src")).unwrap();
    std::fs::write(
        impostor.join("Cargo.toml"),
        format!(
            "[package]\nname = \"armature-core\"\nversion = \"{VERSION}\"\nedition = \"2021\"\n\
             repository = \"https://example.com/someone-else/armature\"\n"
        ),
    )
    .unwrap();
    std::fs::write(impostor.join("src/lib.rs"), "").unwrap();
    let other = tmp.path().join("other");
    std::fs::create_dir_all(other.join(".cargo")).unwrap();
    std::fs::write(
        other.join(".cargo/config.toml"),
        format!(
            "[patch.crates-io]\narmature-core = {{ path = {:?} }}\n",
            impostor.display().to_string()
        ),
    )
    .unwrap();
    let out = command(&installed_bin, &other)
        .args(["armature", "new", "wrong-core", "--no-git"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", dump(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("is not Armature's") && stderr.contains("--core-git"),
        "{}",
        dump(&out)
    );
    assert_eq!(tree(&other), vec![".cargo/config.toml".to_owned()]);
    assert!(
        started.elapsed() < Duration::from_secs(15 * 60),
        "sanity bound only"
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
