//! The `cargo-armature` binary: parse, run, and on failure print the error once
//! and exit with a code scripts can rely on (see [`cargo_armature::error`]).

use std::process::ExitCode;

use cargo_armature::{cli::Cli, error};

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => error::report(&err),
    }
}

fn run() -> anyhow::Result<()> {
    Cli::parse_args(std::env::args_os())?.run()
}
