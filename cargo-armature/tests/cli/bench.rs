//! `cargo armature bench` on a generated app: the first run saves a baseline,
//! the second compares with it and sums up.

use crate::support::{armature, success, TempProject};

/// Short criterion runs: the point is the comparison, not the numbers.
const QUICK: [&str; 7] = [
    "--",
    "--warm-up-time",
    "0.1",
    "--measurement-time",
    "0.3",
    "--sample-size",
    "10",
];

#[test]
fn bench_saves_then_compares() {
    crate::support::ensure_workspace_fetched();
    let tmp = TempProject::new();
    success(&armature(tmp.path(), &["new", "bench-me", "--no-git"]));
    let app = tmp.path().join("bench-me");
    let home = tmp.path().join("criterion-home");

    let run = || {
        let mut cmd = crate::support::command(crate::support::BIN, &app);
        cmd.env("CRITERION_HOME", &home);
        cmd.args(["armature", "bench"]).args(QUICK);
        let out = cmd.output().unwrap();
        success(&out)
    };
    let first = run();
    assert!(
        first.contains("Saved 2 benchmark(s) as baseline `armature`"),
        "{first}"
    );
    let second = run();
    assert!(
        second.contains("Change of the mean time against baseline `armature`"),
        "{second}"
    );
    assert!(second.contains("round_trip/GET /health"), "{second}");
    assert!(
        second.contains("this run is now baseline `armature`"),
        "{second}"
    );
    // Results went to CRITERION_HOME when it is set.
    assert!(home.join("round_trip").is_dir());
}

/// The user's `build.rustflags` reach the bench build beside `-Ctarget-cpu=native`, with
/// a `[target.<other triple>]` table in the same config (the shape that once lost them):
/// a bench target that only compiles with `--cfg armature_bench_flag`.
#[test]
fn bench_keeps_config_rustflags() {
    let tmp = TempProject::new();
    let dir = tmp.path();
    std::fs::create_dir_all(dir.join("benches")).unwrap();
    std::fs::create_dir_all(dir.join("src")).unwrap();
    std::fs::create_dir_all(dir.join(".cargo")).unwrap();
    std::fs::write(
        dir.join("Cargo.toml"),
        "[package]\nname = \"handmade-bench-flags\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n\
         [[bench]]\nname = \"plain\"\nharness = false\n",
    )
    .unwrap();
    std::fs::write(dir.join("src/lib.rs"), "").unwrap();
    std::fs::write(
        dir.join("benches/plain.rs"),
        "#[cfg(not(armature_bench_flag))]\ncompile_error!(\"--cfg armature_bench_flag was lost\");\n\
         fn main() {}\n",
    )
    .unwrap();
    std::fs::write(
        dir.join(".cargo/config.toml"),
        "[build]\nrustflags = [\"--cfg\", \"armature_bench_flag\"]\n\
         [target.aarch64-unknown-linux-gnu]\nrustflags = [\"--cfg\", \"other\"]\n",
    )
    .unwrap();
    let mut cmd = crate::support::command(crate::support::BIN, dir);
    cmd.env("CARGO_TERM_VERBOSE", "true")
        .env("CRITERION_HOME", dir.join("criterion"))
        .args(["armature", "bench"]);
    let out = cmd.output().unwrap();
    let stdout = success(&out);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("-Ctarget-cpu=native"), "{stderr}");
    assert!(stdout.contains("No criterion results"), "{stdout}");
}
