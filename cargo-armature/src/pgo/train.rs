//! The training run: the instrumented server under load, stopped with SIGTERM (SIGKILL
//! after the stop timeout), and its `.profraw` files checked, with the likely cause and
//! the advice for its stack named when there are none.

use std::net::SocketAddr;
use std::path::Path;

use anyhow::{bail, Context, Result};

use super::args::{PgoArgs, Settings};
use super::compile::BuildOutcome;
use super::merge::RawProfiles;
use super::mode::ProfileMode;
use super::project::PgoDirs;
use super::server::{self, RunningServer, ServerSpec};
use super::stack::Stack;
use crate::load::{Driver, LoadOptions, LoadReport, ProgressMode};

/// What the training run left: its load figures, the profiles written, and where the
/// server listened when that was not where it was asked to.
pub(crate) struct Training {
    pub(crate) load: LoadReport,
    pub(crate) raw: RawProfiles,
    pub(crate) found_addr: Option<SocketAddr>,
    pub(crate) stop: String,
}

pub(crate) struct TrainRequest<'a> {
    pub(crate) args: &'a PgoArgs,
    pub(crate) settings: &'a Settings,
    pub(crate) driver: &'a Driver,
    pub(crate) instrumented: &'a BuildOutcome,
    pub(crate) dirs: &'a PgoDirs,
    pub(crate) raw_dir: &'a Path,
    pub(crate) mode: ProfileMode,
    pub(crate) stack: Stack,
}

pub(crate) fn train(req: &TrainRequest<'_>) -> Result<Training> {
    let TrainRequest {
        args,
        settings,
        driver,
        instrumented,
        dirs,
        raw_dir,
        mode,
        stack,
    } = *req;
    // Profiles of an earlier binary would not match this one: start clean.
    let old = RawProfiles::scan(&dirs.raw)?;
    for f in old.files.iter().chain(&old.empty) {
        std::fs::remove_file(f).with_context(|| format!("removing old profile {}", f.display()))?;
    }
    let spec = ServerSpec {
        args: settings.server_args.clone(),
        env: args
            .server_env_os()
            .into_iter()
            .chain([("LLVM_PROFILE_FILE".into(), mode.profile_file(raw_dir))])
            .collect(),
        echo: args.verbose,
        ..ServerSpec::new(instrumented.executable.clone(), settings.addr)?
    };
    let mut server = RunningServer::start(&spec, settings.startup_timeout)?;
    eprintln!("      server listening on {}", server.addr());
    let found_addr = server.found_elsewhere().then(|| server.addr());
    let opts = LoadOptions {
        duration: settings.duration,
        max_requests: args.requests,
        connections: settings.connections,
        progress: ProgressMode::Live,
        label: "training".into(),
        ..LoadOptions::default()
    };
    let load = driver.run(server.addr(), &settings.training, &opts)?;
    eprintln!("      {load}");
    if let Some(status) = server.exited()? {
        bail!(
            "the server exited during the training load ({}); no usable profile.{}{}",
            server::describe_status(status),
            server.show_command(),
            server::show_output(&server.output_tail())
        );
    }
    if load.requests == 0 {
        bail!(
            "no request got a response ({}); check that the server speaks HTTP/1.1 on {}",
            load.errors,
            server.addr()
        );
    }
    if load.errors.http == load.requests {
        eprintln!(
            "      warning: every response had status >= 400: the workload's routes may not exist \
             in this app, so the profile trains only the error path"
        );
    }
    let command = server.show_command();
    let (stopped, output) = server.stop(settings.stop_timeout)?;
    let stop = describe_stop(&stopped, settings);
    eprintln!("      server {stop}");
    let raw = RawProfiles::scan(&dirs.raw)?;
    if raw.files.is_empty() {
        bail!(
            "{}{command}{}",
            no_profile_message(&stopped, &raw, &dirs.raw, mode, stack, settings),
            server::show_output(&output)
        );
    }
    if mode.survives_kill() && (stopped.forced || stopped.signal().is_some()) {
        eprintln!(
            "      the profile is complete all the same ({mode} profile: its counters live in \
             the file as the server runs). For a server that drains on SIGTERM, with value \
             profiling too (`--profile-mode graceful`): {}",
            stack.sigterm_advice()
        );
    } else if !stopped.status.success() {
        eprintln!(
            "      warning: the server exited with {} (a profile was still written)",
            server::describe_status(stopped.status)
        );
    }
    Ok(Training {
        load,
        raw,
        found_addr,
        stop,
    })
}

/// `stopped on SIGTERM in 0.12 s (exit code 0)`, `killed with SIGKILL 30 s after SIGTERM`.
fn describe_stop(stopped: &server::Stopped, settings: &Settings) -> String {
    if stopped.forced {
        format!(
            "still running {:.0} s after SIGTERM (--stop-timeout): killed with SIGKILL",
            settings.stop_timeout.as_secs_f64()
        )
    } else {
        format!(
            "stopped on SIGTERM in {:.2} s ({})",
            stopped.stop_time.as_secs_f64(),
            server::describe_status(stopped.status)
        )
    }
}

fn no_profile_message(
    stopped: &server::Stopped,
    raw: &RawProfiles,
    dir: &Path,
    mode: ProfileMode,
    stack: Stack,
    settings: &Settings,
) -> String {
    let what = if raw.empty.is_empty() {
        format!("no profile was written to {}", dir.display())
    } else {
        format!(
            "only empty profiles were written to {} ({} file(s) of 0 bytes)",
            dir.display(),
            raw.empty.len()
        )
    };
    let kill_safe = if mode.survives_kill() {
        ""
    } else {
        " `--profile-mode kill-safe` keeps the profile of a server that is killed, without \
         value profiling."
    };
    let cause = if mode.survives_kill() {
        "The server was built for a kill-safe profile, yet wrote none: it may not be the \
         instrumented binary, or it may override LLVM_PROFILE_FILE."
            .to_owned()
    } else if stopped.forced {
        format!(
            "The server did not exit within {:.0} s of SIGTERM, so it was killed and the \
             profiling runtime (which writes at normal process exit) never ran. {} \
             `--stop-timeout` allows a longer drain.{kill_safe}",
            settings.stop_timeout.as_secs_f64(),
            stack.sigterm_advice()
        )
    } else {
        match stopped.signal() {
            Some(libc::SIGTERM) => format!(
                "The server was killed by SIGTERM instead of exiting: it has no SIGTERM \
                 handler, so the profiling runtime (which writes at normal process exit) never \
                 ran. {}{kill_safe}",
                stack.sigterm_advice()
            ),
            Some(sig) => format!(
                "The server died from signal {sig} ({}), so the profiling runtime never ran; it \
                 only writes when the process exits normally (return from main or \
                 `std::process::exit`).{kill_safe}",
                server::describe_status(stopped.status)
            ),
            None => "The server exited normally, yet wrote no profile: it may not be the \
                 instrumented binary, it may override LLVM_PROFILE_FILE, or it may leave with \
                 `_exit`/`abort`."
                .to_owned(),
        }
    };
    format!("{what}. {cause}")
}
