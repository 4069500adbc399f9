//! Exit codes and the one place where an error reaches the user.
//!
//! | code | meaning |
//! | --- | --- |
//! | 0 | success (also `--help`, `--version`, and a closed stdout pipe) |
//! | 1 | the command failed while doing its work (cargo failed, I/O error, ...) |
//! | 2 | bad input: unknown flag, invalid name, existing directory, unwritable path |
//! | 128 + N | stopped by signal N (SIGINT 130, SIGTERM 143); the cargo, server and load processes it had started were stopped first ([`crate::children`]) |

use std::fmt;
use std::io::{self, Write};
use std::process::ExitCode;

/// Exit code: the command ran and failed.
pub const FAILURE: u8 = 1;
/// Exit code: the input (arguments, names, paths) was rejected before anything was done.
pub const USAGE: u8 = 2;

/// An error in what the user asked for, as opposed to a failure while doing it.
///
/// Exits with [`USAGE`]. The message says what is wrong and what to do instead.
///
/// ```
/// let err = cargo_armature::error::usage("`1app` starts with a digit");
/// assert_eq!(cargo_armature::error::exit_code(&err), cargo_armature::error::USAGE);
/// ```
#[derive(Debug)]
pub struct UsageError(String);

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// Builds an [`anyhow::Error`] that exits with [`USAGE`].
pub fn usage(msg: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(UsageError(msg.into()))
}

/// The exit code for `err`: [`USAGE`] for rejected input, else [`FAILURE`].
pub fn exit_code(err: &anyhow::Error) -> u8 {
    if let Some(clap_err) = err.downcast_ref::<clap::Error>() {
        return u8::try_from(clap_err.exit_code()).unwrap_or(USAGE);
    }
    if err.chain().any(|e| e.is::<UsageError>()) {
        USAGE
    } else {
        FAILURE
    }
}

/// Whether `err` is a closed stdout pipe (`cargo armature doctor | head -1`),
/// which is not a failure worth reporting.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
    })
}

/// Prints `err` once (clap errors in clap's own format, others as
/// `error: outer: inner: ...`) and returns the exit code.
pub fn report(err: &anyhow::Error) -> ExitCode {
    if let Some(sig) = crate::children::interrupted() {
        return interrupted(sig, Some(err));
    }
    if is_broken_pipe(err) {
        return ExitCode::SUCCESS;
    }
    if let Some(clap_err) = err.downcast_ref::<clap::Error>() {
        // clap prints help/version to stdout and errors to stderr itself.
        let _ = clap_err.print();
    } else {
        let _ = writeln!(io::stderr().lock(), "error: {err:#}");
    }
    ExitCode::from(exit_code(err))
}

/// Reports a run that `sig` stopped (what it was doing, when it failed because of
/// it) and returns 128 + `sig`, the shell's convention.
pub fn interrupted(sig: i32, err: Option<&anyhow::Error>) -> ExitCode {
    let name = crate::children::signal_name(sig);
    let mut stderr = io::stderr().lock();
    let _ = match err {
        Some(err) => writeln!(
            stderr,
            "error: stopped by {name}, with the processes it had started ({err})"
        ),
        None => writeln!(stderr, "error: stopped by {name}"),
    };
    ExitCode::from(u8::try_from(128 + sig).unwrap_or(FAILURE))
}
