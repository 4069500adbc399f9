//! The `cargo-armature` binary: parse, run, and on failure print the error once
//! and exit with a code scripts can rely on (see [`cargo_armature::error`]).

use std::process::ExitCode;

use cargo_armature::{children, cli::Cli, error};

fn main() -> ExitCode {
    if let Err(err) = children::install() {
        eprintln!(
            "warning: cannot take SIGINT/SIGTERM ({err}); a signal will end cargo armature \
             without stopping the processes it started"
        );
    }
    match run() {
        Ok(()) => match children::interrupted() {
            Some(sig) => error::interrupted(sig, None),
            None => ExitCode::SUCCESS,
        },
        Err(err) => error::report(&err),
    }
}

fn run() -> anyhow::Result<()> {
    Cli::parse_args(std::env::args_os())?.run()
}
