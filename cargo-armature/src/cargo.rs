//! Running cargo: finding the project (`cargo metadata`), and building with
//! `--message-format json` so that the built binaries come from cargo's own
//! messages (`cargo_metadata::Message::parse_stream`) rather than guesses.

use std::ffi::{OsStr, OsString};
use std::io::{BufReader, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};
use cargo_metadata::{Message, MetadataCommand};

/// The cargo that runs us (`$CARGO`), or `cargo` from `PATH`.
pub fn cargo_bin() -> OsString {
    std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into())
}

/// The project a command works on.
#[derive(Debug, Clone)]
pub struct Project {
    /// The workspace root directory.
    pub root: PathBuf,
    /// The manifest where profiles live: the workspace root's `Cargo.toml`.
    pub root_manifest: PathBuf,
    /// The target directory (honours `CARGO_TARGET_DIR` and `build.target-dir`).
    pub target_dir: PathBuf,
}

impl Project {
    /// Finds the project from `manifest_path`, or from the current directory.
    pub fn locate(manifest_path: Option<&Path>) -> Result<Self> {
        let mut cmd = MetadataCommand::new();
        cmd.cargo_path(cargo_bin()).no_deps();
        if let Some(path) = manifest_path {
            cmd.manifest_path(path);
        }
        let meta = cmd.exec().map_err(|e| {
            let why = match &e {
                cargo_metadata::Error::CargoMetadata { stderr } => {
                    stderr.trim().trim_start_matches("error: ").to_owned()
                }
                other => other.to_string(),
            };
            crate::error::usage(format!(
                "cannot read the Cargo project here ({why}); \
                 run this inside a Cargo project or pass --manifest-path"
            ))
        })?;
        let root: PathBuf = meta.workspace_root.into();
        Ok(Self {
            root_manifest: root.join("Cargo.toml"),
            root,
            target_dir: meta.target_directory.into(),
        })
    }
}

/// A binary cargo built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binary {
    /// The bin target's name.
    pub name: String,
    /// Where cargo put it.
    pub path: PathBuf,
}

/// Runs `cargo <args>` (a build-like command: `build`, `bench`, ...) with JSON
/// messages, printing the compiler's diagnostics as cargo would, and returns
/// the executables it produced. `envs` are set for cargo (`None` removes one).
pub fn run_json(
    args: &[OsString],
    envs: &[(&str, Option<OsString>)],
    cwd: Option<&Path>,
) -> Result<Vec<Binary>> {
    let format = if std::io::stderr().is_terminal() {
        "--message-format=json-diagnostic-rendered-ansi"
    } else {
        "--message-format=json"
    };
    let mut cmd = Command::new(cargo_bin());
    let (sub, rest) = args.split_first().context("no cargo subcommand")?;
    cmd.arg(sub).arg(format).args(rest);
    for (key, value) in envs {
        match value {
            Some(v) => cmd.env(key, v),
            None => cmd.env_remove(key),
        };
    }
    if let Some(dir) = cwd {
        cmd.current_dir(dir);
    }
    let shown = display_command(args);
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .with_context(|| format!("cannot run `{shown}`; is cargo installed and on PATH?"))?;

    let stdout = child.stdout.take().expect("piped");
    let mut binaries = Vec::new();
    let mut err = std::io::stderr().lock();
    for message in Message::parse_stream(BufReader::new(stdout)) {
        match message.with_context(|| format!("cannot read the output of `{shown}`"))? {
            Message::CompilerMessage(msg) => {
                if let Some(rendered) = &msg.message.rendered {
                    let _ = write!(err, "{rendered}");
                }
            }
            Message::CompilerArtifact(artifact) => {
                // Examples are servers too (`-- --example hello`).
                let is_bin = artifact
                    .target
                    .kind
                    .iter()
                    .any(|k| matches!(k.to_string().as_str(), "bin" | "example"));
                if let (true, Some(exe)) = (is_bin, artifact.executable) {
                    binaries.push(Binary {
                        name: artifact.target.name.clone(),
                        path: exe.into(),
                    });
                }
            }
            // A test or bench binary's own output goes to stdout as text.
            Message::TextLine(line) => writeln!(std::io::stdout(), "{line}")?,
            _ => {}
        }
    }
    drop(err);
    let status = child
        .wait()
        .with_context(|| format!("`{shown}` did not finish"))?;
    if !status.success() {
        bail!("`{shown}` failed ({status}); see cargo's messages above");
    }
    Ok(binaries)
}

/// `cargo build --profile x ...` as a user would type it.
pub fn display_command(args: &[OsString]) -> String {
    let mut out = String::from("cargo");
    for a in args {
        out.push(' ');
        let a = a.to_string_lossy();
        if a.contains([' ', '\'', '"']) {
            out.push_str(&format!("'{}'", a.replace('\'', "'\\''")));
        } else {
            out.push_str(&a);
        }
    }
    out
}

/// Whether `args` (cargo arguments) already contain `--flag` or `--flag=...`.
pub fn has_flag(args: &[OsString], flag: &str) -> bool {
    args.iter().any(|a| {
        let a = a.to_string_lossy();
        a == flag
            || a.strip_prefix(flag)
                .is_some_and(|rest| rest.starts_with('='))
    })
}

/// Converts `&str`s to cargo arguments.
pub fn os_args<I, S>(args: I) -> Vec<OsString>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    args.into_iter().map(|a| a.as_ref().to_owned()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_are_found_in_both_spellings() {
        let args = os_args(["build", "--target-dir=x", "--release"]);
        assert!(has_flag(&args, "--target-dir"));
        assert!(has_flag(&args, "--release"));
        assert!(!has_flag(&args, "--target"));
    }

    #[test]
    fn commands_are_shown_quoted() {
        let args = os_args([
            "build",
            "--config",
            "target.'cfg(all())'.rustflags=[\"-C\"]",
        ]);
        assert_eq!(
            display_command(&args),
            "cargo build --config 'target.'\\''cfg(all())'\\''.rustflags=[\"-C\"]'"
        );
    }
}
