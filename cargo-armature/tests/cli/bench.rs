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
