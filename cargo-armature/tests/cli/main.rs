//! Integration tests of the `cargo-armature` binary: each module runs the real
//! binary (`CARGO_BIN_EXE_cargo-armature`) on real temporary projects. A failed
//! test keeps its project folder and prints where it is.

mod bad_input;
mod bench;
mod build;
mod databases;
mod doctor;
mod generated_apps;
mod help;
mod lint;
mod new;
mod packaging;
mod signals;
mod support;
