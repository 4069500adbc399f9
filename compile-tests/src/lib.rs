//! Compile-fail tests of armature-core, run with trybuild: `tests/route/*.rs` each
//! write one malformed route literal with `route!`, and must fail `cargo build`
//! with the message in the `.stderr` beside it (the pattern and the fault).
//!
//! The `.stderr` files are rustc's output on the toolchain CI pins (the stable
//! one in `.github/workflows/test.yml`); after a toolchain update, regenerate them
//! with `TRYBUILD=overwrite cargo test -p armature-compile-tests` and review the diff.
