//! The command line: the `Cli` parser and the `Command` enum that dispatches to
//! each command's module. Each command's args struct lives next to its code.

use std::ffi::OsString;

use clap::{Parser, Subcommand};

use crate::{bench, build, doctor, new, pgo, profdata};

const EXAMPLES: &str = "\
Examples:
  cargo armature new my-app                 create ./my-app from the `minimal` template
  cargo armature new shop --template api    a JSON CRUD service
  cargo armature build --fat                fat-LTO release build, prints the binary
  cargo armature build --native             build for this machine's CPU (target/native)
  cargo armature pgo                        PGO loop: instrument, train under load, rebuild, compare
  cargo armature profdata show x.profdata   functions, counts and hot spots of a profile
  cargo armature bench                      criterion benches vs the last saved baseline
  cargo armature doctor                     which toolchain pieces this machine has

Exit codes: 0 success, 1 the command failed, 2 bad input (nothing was changed).";

/// `cargo armature`: create, build and benchmark apps on armature-core.
#[derive(Debug, Parser)]
#[command(
    name = "cargo-armature",
    bin_name = "cargo armature",
    version,
    about = "Create, build, benchmark and profile-optimise Armature apps",
    after_help = EXAMPLES,
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// One `cargo armature` subcommand.
///
/// Adding a command is two lines: a variant here and an arm in [`Command::run`].
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a new app from a template (offline, no checkout needed)
    New(new::NewArgs),
    /// Build with an Armature profile (release, release-fat, release-native)
    Build(build::BuildArgs),
    /// Run the criterion benches with native-CPU flags and compare with the last run
    Bench(bench::BenchArgs),
    /// Show which toolchain pieces this machine has, and how to get the missing ones
    Doctor(doctor::DoctorArgs),
    /// Profile-guided optimisation of a server: instrument, train under load, rebuild, compare
    Pgo(Box<pgo::PgoArgs>),
    /// Merge .profraw files into a .profdata (as llvm-profdata does) or show a profile
    Profdata(profdata::ProfdataArgs),
}

impl Command {
    /// Runs the command.
    pub fn run(self) -> anyhow::Result<()> {
        match self {
            Self::New(args) => new::run(args),
            Self::Build(args) => build::run(args),
            Self::Bench(args) => bench::run(args),
            Self::Doctor(args) => doctor::run(args),
            Self::Pgo(args) => pgo::run(*args),
            Self::Profdata(args) => profdata::run(args),
        }
    }
}

impl Cli {
    /// Parses the process arguments.
    ///
    /// Cargo runs `cargo armature X` as `cargo-armature armature X`; the extra
    /// `armature` is dropped so that `cargo-armature X` works too. A clap error
    /// (including `--help` and `--version`) comes back as an `anyhow::Error`
    /// wrapping the `clap::Error`, which [`crate::error::report`] prints.
    pub fn parse_args<I>(args: I) -> anyhow::Result<Self>
    where
        I: IntoIterator,
        I::Item: Into<OsString>,
    {
        let mut args: Vec<OsString> = args.into_iter().map(Into::into).collect();
        if args.get(1).is_some_and(|a| a == "armature") {
            args.remove(1);
        }
        Ok(Self::try_parse_from(args)?)
    }

    /// Runs the parsed command.
    pub fn run(self) -> anyhow::Result<()> {
        self.command.run()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn cargo_style_and_direct_invocation_parse_alike() {
        let via_cargo = Cli::parse_args(["cargo-armature", "armature", "doctor"]).unwrap();
        let direct = Cli::parse_args(["cargo-armature", "doctor"]).unwrap();
        assert!(matches!(via_cargo.command, Command::Doctor(_)));
        assert!(matches!(direct.command, Command::Doctor(_)));
    }
}
