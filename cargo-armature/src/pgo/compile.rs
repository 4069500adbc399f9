//! Running one phase's `cargo build`: flags added without losing the user's, cargo's JSON
//! messages parsed for the executable and for profile warnings (which rustc never turns
//! into errors), and cargo's own stderr scanned too, since LLVM may print there.

use std::io::{BufRead, BufReader, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};

use anyhow::{bail, Context, Result};
use cargo_metadata::Message;

use super::diagnostics::{ProfileDiagnostics, ProfileProblem};
use super::flags::{self, RustflagsPlan};
use super::project::{Project, TargetKind, FALLBACK_PROFILE, PROFILE};

/// One phase's build.
#[derive(Debug, Clone)]
pub struct BuildRequest<'a> {
    /// The project.
    pub project: &'a Project,
    /// Where cargo builds (`--target-dir`).
    pub target_dir: &'a Path,
    /// `--target <host>`: keeps the rustflags off build scripts and proc-macros.
    pub host_target: Option<&'a str>,
    /// Rustflags to add to the user's.
    pub rustflags: Vec<String>,
    /// C compiler flags to add to the user's (when the compiler accepts them).
    pub cflags: &'a [&'a str],
    /// The profile file, whose name identifies warnings about it.
    pub profile_file: Option<&'a Path>,
    /// Extra arguments for cargo (after `--`).
    pub cargo_args: &'a [String],
    /// Echo cargo's progress lines.
    pub verbose: bool,
}

/// What a build produced.
#[derive(Debug, Clone)]
pub struct BuildOutcome {
    /// The server executable.
    pub executable: PathBuf,
    /// Profile warnings rustc printed.
    pub diagnostics: ProfileDiagnostics,
}

fn cargo() -> std::ffi::OsString {
    std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into())
}

/// Runs the build and returns the executable, failing when cargo fails.
pub fn build(req: &BuildRequest<'_>) -> Result<BuildOutcome> {
    let project = req.project;
    let mut cmd = Command::new(cargo());
    cmd.arg("build")
        .arg("--profile")
        .arg(PROFILE)
        .arg("--manifest-path")
        .arg(&project.manifest_path)
        .arg("--target-dir")
        .arg(req.target_dir)
        .arg("--message-format")
        .arg("json-diagnostic-rendered-ansi")
        .args(project.target_args());
    if let Some(host) = req.host_target {
        cmd.arg("--target").arg(host);
    }
    if !project.has_profile {
        for setting in FALLBACK_PROFILE {
            cmd.arg("--config").arg(setting);
        }
    }
    if !req.rustflags.is_empty() {
        let cwd = std::env::current_dir().context("reading the current directory")?;
        RustflagsPlan::new(&req.rustflags, &cwd, req.host_target.unwrap_or("")).apply(&mut cmd);
    }
    if !req.cflags.is_empty() {
        for (k, v) in flags::c_flag_env(req.cflags, req.host_target.unwrap_or("")) {
            cmd.env(k, v);
        }
    }
    cmd.args(req.cargo_args)
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("CARGO_BUILD_TARGET_DIR")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());

    let mut child = cmd.spawn().context("starting `cargo build`")?;
    let stdout = child.stdout.take().expect("piped");
    let stderr = child.stderr.take().expect("piped");
    let profile_name: Option<String> = req
        .profile_file
        .and_then(|p| p.file_name())
        .map(|n| n.to_string_lossy().into_owned());
    let diagnostics = Arc::new(Mutex::new(ProfileDiagnostics::default()));

    // cargo's stderr: progress lines, and whatever LLVM prints outside rustc's diagnostics.
    let stderr_thread = {
        let diagnostics = Arc::clone(&diagnostics);
        let profile_name = profile_name.clone();
        let verbose = req.verbose;
        std::thread::spawn(move || {
            let mut tail: Vec<String> = Vec::new();
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let plain = strip_ansi(&line);
                let kind = diagnostics
                    .lock()
                    .expect("not poisoned")
                    .observe(&plain, profile_name.as_deref());
                let is_progress = plain.trim_start().starts_with("Compiling")
                    || plain.trim_start().starts_with("Finished")
                    || plain.trim_start().starts_with("Blocking");
                match kind {
                    Some(ProfileProblem::MissingFunction) => {}
                    Some(_) => eprintln!("      {line}"),
                    None if verbose || !is_progress => eprintln!("      {line}"),
                    None => {}
                }
                tail.push(line);
                if tail.len() > 40 {
                    tail.remove(0);
                }
            }
            tail
        })
    };

    let mut executable = None;
    let mut success = None;
    let mut errors_shown = 0usize;
    let wanted_kind = match project.kind {
        TargetKind::Bin => cargo_metadata::TargetKind::Bin,
        TargetKind::Example => cargo_metadata::TargetKind::Example,
    };
    for message in Message::parse_stream(BufReader::new(stdout)) {
        match message.context("reading cargo's JSON messages")? {
            Message::CompilerArtifact(a)
                if a.target.name == project.target && a.target.is_kind(wanted_kind.clone()) =>
            {
                if let Some(exe) = a.executable {
                    executable = Some(exe.into_std_path_buf());
                }
            }
            Message::CompilerMessage(m) => {
                let text = &m.message.message;
                let kind = diagnostics
                    .lock()
                    .expect("not poisoned")
                    .observe(text, profile_name.as_deref());
                let rendered = m.message.rendered.as_deref().unwrap_or(text);
                let show = match kind {
                    // Listed (a few) at the end, not one by one.
                    Some(ProfileProblem::MissingFunction) => false,
                    Some(_) => true,
                    None => {
                        // The user's own errors and warnings, as cargo would show them
                        // (warnings only for workspace members).
                        errors_shown += 1;
                        errors_shown <= 50
                    }
                };
                if show {
                    let mut err = std::io::stderr().lock();
                    if err.is_terminal() {
                        let _ = write!(err, "{rendered}");
                    } else {
                        let _ = write!(err, "{}", strip_ansi(rendered));
                    }
                }
            }
            Message::TextLine(line) => eprintln!("      {line}"),
            Message::BuildFinished(f) => success = Some(f.success),
            _ => {}
        }
    }
    let status = child.wait().context("waiting for cargo")?;
    let tail = stderr_thread.join().unwrap_or_default();
    if !status.success() || success == Some(false) {
        bail!(
            "`cargo build` failed ({status}){}",
            if tail.is_empty() {
                String::new()
            } else {
                format!("; its last output:\n{}", tail.join("\n"))
            }
        );
    }
    let executable = executable.with_context(|| {
        format!(
            "cargo built no executable for {} `{}`",
            match project.kind {
                TargetKind::Bin => "binary",
                TargetKind::Example => "example",
            },
            project.target
        )
    })?;
    let diagnostics = Arc::try_unwrap(diagnostics)
        .map(|m| m.into_inner().expect("not poisoned"))
        .unwrap_or_else(|arc| arc.lock().expect("not poisoned").clone());
    Ok(BuildOutcome {
        executable,
        diagnostics,
    })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_colours() {
        assert_eq!(
            strip_ansi("\u{1b}[1m\u{1b}[33mwarning\u{1b}[0m\u{1b}[1m: x (bad magic)\u{1b}[0m"),
            "warning: x (bad magic)"
        );
    }
}
