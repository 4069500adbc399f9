//! The one cargo layer every command uses: the project model ([`Project`], read with
//! one `cargo metadata`), the runner ([`Invocation::run`]: `--message-format
//! json-diagnostic-rendered-ansi`, parsed with `cargo_metadata::Message::parse_stream`,
//! each diagnostic shown once) and the rustflags planner ([`rustflags`]).

pub mod rustflags;

use std::ffi::{OsStr, OsString};
use std::io::{BufRead, BufReader, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;

use anyhow::{bail, Context, Result};
use cargo_metadata::{Message, MetadataCommand};

use rustflags::{FlagsPlan, HostCfg, UserFlags};

/// The cargo that runs us (`$CARGO`), or `cargo` from `PATH`.
pub fn cargo_bin() -> OsString {
    std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into())
}

/// What kind of target a [`Target`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetKind {
    /// `[[bin]]`.
    Bin,
    /// `[[example]]`.
    Example,
    /// `[[bench]]`.
    Bench,
    /// Anything else (lib, test, build script).
    Other,
}

impl TargetKind {
    fn of(kinds: &[cargo_metadata::TargetKind]) -> TargetKind {
        use cargo_metadata::TargetKind as K;
        if kinds.contains(&K::Bin) {
            TargetKind::Bin
        } else if kinds.contains(&K::Example) {
            TargetKind::Example
        } else if kinds.contains(&K::Bench) {
            TargetKind::Bench
        } else {
            TargetKind::Other
        }
    }
}

/// One target of a package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Its name.
    pub name: String,
    /// Bin, example, bench, ...
    pub kind: TargetKind,
}

/// A workspace member.
#[derive(Debug, Clone)]
pub struct Package {
    /// Its name.
    pub name: String,
    /// Its `Cargo.toml`.
    pub manifest_path: PathBuf,
    /// `default-run`.
    pub default_run: Option<String>,
    /// Its targets.
    pub targets: Vec<Target>,
    /// `[package.metadata]`, as JSON.
    pub metadata: serde_json::Value,
    /// The names of its direct dependencies (as in its manifest, any kind).
    pub dependencies: Vec<String>,
}

impl Package {
    /// The names of its targets of one kind, comma-separated.
    pub fn names(&self, kind: TargetKind) -> String {
        self.targets
            .iter()
            .filter(|t| t.kind == kind)
            .map(|t| t.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// The project a command works on, read once.
#[derive(Debug, Clone)]
pub struct Project {
    /// The workspace root directory.
    pub root: PathBuf,
    /// The manifest where profiles live: the workspace root's `Cargo.toml`.
    pub root_manifest: PathBuf,
    /// The target directory (honours `CARGO_TARGET_DIR` and `build.target-dir`).
    pub target_dir: PathBuf,
    /// The workspace members.
    pub packages: Vec<Package>,
    /// The index in `packages` of the package whose manifest was chosen, if any.
    pub root_package: Option<usize>,
    /// The cargo config files that apply here, lowest precedence first.
    pub config_files: Vec<PathBuf>,
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
        let root_id = meta.root_package().map(|p| p.id.clone());
        let packages: Vec<Package> = meta
            .workspace_packages()
            .into_iter()
            .map(|p| Package {
                name: p.name.to_string(),
                manifest_path: p.manifest_path.clone().into_std_path_buf(),
                default_run: p.default_run.clone(),
                targets: p
                    .targets
                    .iter()
                    .map(|t| Target {
                        name: t.name.clone(),
                        kind: TargetKind::of(&t.kind),
                    })
                    .collect(),
                metadata: p.metadata.clone(),
                dependencies: p.dependencies.iter().map(|d| d.name.clone()).collect(),
            })
            .collect();
        let root_package =
            root_id.and_then(|id| meta.workspace_packages().iter().position(|p| p.id == id));
        let root: PathBuf = meta.workspace_root.into();
        let cwd = std::env::current_dir().context("cannot read the current directory")?;
        Ok(Self {
            root_manifest: root.join("Cargo.toml"),
            root,
            target_dir: meta.target_directory.into(),
            packages,
            root_package,
            config_files: rustflags::config_files(&cwd),
        })
    }

    /// Whether `[profile.NAME]` is defined, in the root manifest or a config file.
    pub fn defines_profile(&self, name: &str) -> bool {
        rustflags::defines_profile(&self.root_manifest, name)
            || self
                .config_files
                .iter()
                .any(|f| rustflags::defines_profile(f, name))
    }

    /// The user's rustflags, as cargo will see them for `host`.
    pub fn user_flags(&self, host: &HostCfg) -> Result<UserFlags> {
        rustflags::user_flags(&self.config_files, host)
    }

    /// The plan for adding `extra` to the user's rustflags.
    pub fn plan_flags(&self, host: &HostCfg, extra: &[String]) -> Result<FlagsPlan> {
        Ok(rustflags::plan(&self.user_flags(host)?, extra))
    }
}

/// An executable cargo built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Artifact {
    /// The target's name.
    pub name: String,
    /// Bin, example or bench.
    pub kind: TargetKind,
    /// Where cargo put it.
    pub path: PathBuf,
}

/// A line cargo or rustc printed, for an [`Invocation`]'s observer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Line<'a> {
    /// A compiler diagnostic (plain text of its message).
    Diagnostic(&'a str),
    /// A line of cargo's stderr, colours removed.
    Stderr(&'a str),
}

/// One cargo command: `cargo <args>` with `envs` (`None` removes one).
#[derive(Debug, Clone, Default)]
pub struct Invocation {
    /// The subcommand first (`build`, `bench`), then its arguments.
    pub args: Vec<OsString>,
    /// Environment changes.
    pub envs: Vec<(String, Option<OsString>)>,
    /// Show cargo's `Compiling`/`Finished` lines.
    pub progress: bool,
}

impl Invocation {
    /// `cargo <args>` with progress shown.
    pub fn new<I, S>(args: I) -> Invocation
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        Invocation {
            args: os_args(args),
            envs: Vec::new(),
            progress: true,
        }
    }

    /// Sets (or with `None` removes) an environment variable for cargo; a later call
    /// for the same key replaces an earlier one.
    pub fn env(&mut self, key: &str, value: Option<OsString>) {
        self.envs.retain(|(k, _)| k != key);
        self.envs.push((key.to_owned(), value));
    }

    /// The command as a user would type it.
    pub fn display(&self) -> String {
        display_command(&self.args)
    }

    /// Runs it, showing every diagnostic and stderr line once, and returns the
    /// executables built.
    pub fn run(&self) -> Result<Vec<Artifact>> {
        self.run_observed(&mut |_| true)
    }

    /// Runs it; `observe` sees each diagnostic and stderr line first and says whether
    /// to show it.
    pub fn run_observed(
        &self,
        observe: &mut (dyn FnMut(Line<'_>) -> bool + Send),
    ) -> Result<Vec<Artifact>> {
        let mut cmd = Command::new(cargo_bin());
        let (sub, rest) = self.args.split_first().context("no cargo subcommand")?;
        cmd.arg(sub)
            .arg("--message-format=json-diagnostic-rendered-ansi")
            .args(rest);
        for (key, value) in &self.envs {
            match value {
                Some(v) => cmd.env(key, v),
                None => cmd.env_remove(key),
            };
        }
        let colour = std::io::stderr().is_terminal();
        // cargo's stderr is a pipe here: keep its colours when ours is a terminal.
        if colour
            && !self.envs.iter().any(|(k, _)| k == "CARGO_TERM_COLOR")
            && std::env::var_os("CARGO_TERM_COLOR").is_none()
        {
            cmd.env("CARGO_TERM_COLOR", "always");
        }
        let shown = self.display();
        let mut child = crate::children::spawn(
            cmd.stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped()),
        )
        .with_context(|| format!("cannot run `{shown}`; is cargo installed and on PATH?"))?;
        let stdout = child.stdout.take().expect("piped");
        let stderr = child.stderr.take().expect("piped");
        let observe = Mutex::new(observe);
        let progress = self.progress;

        let artifacts = std::thread::scope(|s| -> Result<Vec<Artifact>> {
            s.spawn(|| {
                for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                    let plain = strip_ansi(&line);
                    let is_progress = ["Compiling", "Finished", "Blocking", "Fresh", "Dirty"]
                        .iter()
                        .any(|p| plain.trim_start().starts_with(p));
                    let show = (observe.lock().expect("not poisoned"))(Line::Stderr(&plain));
                    if show && (progress || !is_progress) {
                        let _ =
                            writeln!(std::io::stderr(), "{}", if colour { &line } else { &plain });
                    }
                }
            });
            let mut artifacts = Vec::new();
            for message in Message::parse_stream(BufReader::new(stdout)) {
                match message.with_context(|| format!("cannot read the output of `{shown}`"))? {
                    Message::CompilerMessage(msg) => {
                        let text = &msg.message.message;
                        let show = (observe.lock().expect("not poisoned"))(Line::Diagnostic(text));
                        let rendered = msg.message.rendered.as_deref().unwrap_or(text);
                        if show {
                            let rendered = if colour {
                                rendered.to_owned()
                            } else {
                                strip_ansi(rendered)
                            };
                            let _ = write!(std::io::stderr(), "{rendered}");
                        }
                    }
                    Message::CompilerArtifact(artifact) => {
                        if let Some(exe) = artifact.executable {
                            artifacts.push(Artifact {
                                name: artifact.target.name.clone(),
                                kind: TargetKind::of(&artifact.target.kind),
                                path: exe.into(),
                            });
                        }
                    }
                    // A test or bench binary's own output goes to stdout as text.
                    Message::TextLine(line) => writeln!(std::io::stdout(), "{line}")?,
                    _ => {}
                }
            }
            Ok(artifacts)
        })?;
        let status = child
            .wait()
            .with_context(|| format!("`{shown}` did not finish"))?;
        if !status.success() {
            bail!("`{shown}` failed ({status}); see cargo's messages above");
        }
        Ok(artifacts)
    }
}

/// Removes ANSI escape sequences (`ESC [ ... letter`).
pub fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\x1b' && chars.peek() == Some(&'[') {
            chars.next();
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
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
pub fn has_flag<S: AsRef<OsStr>>(args: &[S], flag: &str) -> bool {
    args.iter().any(|a| {
        let a = a.as_ref().to_string_lossy();
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

    #[test]
    fn strips_colours() {
        assert_eq!(
            strip_ansi("\u{1b}[1m\u{1b}[33mwarning\u{1b}[0m\u{1b}[1m: x (bad magic)\u{1b}[0m"),
            "warning: x (bad magic)"
        );
    }

    #[test]
    fn a_later_env_replaces_an_earlier_one() {
        let mut inv = Invocation::new(["build"]);
        inv.env("RUSTFLAGS", Some("a".into()));
        inv.env("RUSTFLAGS", None);
        assert_eq!(inv.envs, vec![("RUSTFLAGS".to_owned(), None)]);
    }
}
