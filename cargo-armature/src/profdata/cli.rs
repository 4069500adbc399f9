//! The `profdata` subcommands' arguments and their dispatch.

use std::path::PathBuf;

use super::{merge_files_with, show, FormatError, MergeOptions, ShowOptions};

const EXAMPLES: &str = "\
Examples:
  cargo armature profdata merge -o merged.profdata target/pgo-profiles
  cargo armature profdata merge -o merged.profdata a.profraw b.profraw --num-threads 1
  cargo armature profdata show merged.profdata --top 20
  cargo armature profdata show run.profraw --all-functions

`merge` writes what `llvm-profdata merge` (LLVM 22) writes, byte for byte. A corrupt,
truncated or mismatched input exits 2 and leaves no output file.";

/// `cargo armature profdata …`: work with PGO profiles without llvm-profdata.
#[derive(Debug, clap::Args)]
#[command(after_help = EXAMPLES)]
pub struct ProfdataArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: ProfdataCommand,
}

/// The `profdata` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum ProfdataCommand {
    /// Merge .profraw files (or directories of them) into an indexed .profdata,
    /// byte-identical to `llvm-profdata merge`.
    Merge {
        /// The .profdata file to write.
        #[arg(short, long, value_name = "OUT")]
        output: PathBuf,
        /// .profraw files, directories searched for *.profraw, or .profdata files.
        #[arg(required = true, value_name = "IN")]
        inputs: Vec<PathBuf>,
        /// Reproduce `llvm-profdata merge --num-threads=N` (default: its own
        /// default, min(CPUs, (inputs+1)/2)); 1 gives machine-independent output.
        #[arg(long, value_name = "N")]
        num_threads: Option<usize>,
    },
    /// Show a profile: functions, counts, hottest functions, summary.
    Show {
        /// A .profdata or .profraw file.
        file: PathBuf,
        /// How many of the hottest functions to list.
        #[arg(long, default_value_t = 10)]
        top: usize,
        /// List every function with its counters and value sites.
        #[arg(long)]
        all_functions: bool,
    },
}

/// Runs a `profdata` subcommand, printing its result on stdout and merge
/// warnings on stderr. A corrupt or missing input is a usage error (exit 2).
pub fn run(args: ProfdataArgs) -> anyhow::Result<()> {
    dispatch(args).map_err(|err| {
        let bad_input = err.chain().any(|e| {
            e.is::<FormatError>()
                || e.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::NotFound)
        });
        if bad_input {
            crate::error::usage(format!("{err:#}"))
        } else {
            err
        }
    })
}

fn dispatch(args: ProfdataArgs) -> anyhow::Result<()> {
    match args.command {
        ProfdataCommand::Merge {
            output,
            inputs,
            num_threads,
        } => {
            let options = match num_threads {
                Some(n) => MergeOptions::num_threads(n),
                None => MergeOptions::default(),
            };
            let report = merge_files_with(&inputs, &output, &options)?;
            for w in &report.warnings {
                eprintln!("warning: {w}");
            }
            println!("{report}");
        }
        ProfdataCommand::Show {
            file,
            top,
            all_functions,
        } => {
            print!("{}", show(&file, &ShowOptions { top, all_functions })?);
        }
    }
    Ok(())
}
