//! The training run: the instrumented server under load, stopped with SIGTERM, and its
//! `.profraw` files checked, with the likely cause named when there are none.

use std::ffi::OsString;
use std::path::Path;

use anyhow::{bail, Context, Result};

use super::args::{PgoArgs, Settings};
use super::compile::BuildOutcome;
use super::merge::RawProfiles;
use super::project::Layout;
use super::server::{self, free_loopback_addr, RunningServer, ServerSpec};
use crate::load::{Driver, LoadOptions, LoadReport, ProgressMode};

/// What the training run left: its load figures and the profiles written.
pub(crate) struct Training {
    pub(crate) load: LoadReport,
    pub(crate) raw: RawProfiles,
}

pub(crate) fn train(
    args: &PgoArgs,
    settings: &Settings,
    driver: &Driver,
    instrumented: &BuildOutcome,
    layout: &Layout,
    raw_dir: &Path,
) -> Result<Training> {
    // Profiles of an earlier binary would not match this one: start clean.
    let old = RawProfiles::scan(&layout.raw)?;
    for f in old.files.iter().chain(&old.empty) {
        std::fs::remove_file(f).with_context(|| format!("removing old profile {}", f.display()))?;
    }
    let spec = ServerSpec {
        exe: instrumented.executable.clone(),
        addr: free_loopback_addr()?,
        args: settings.server_args.clone(),
        env: args
            .server_env_os()
            .into_iter()
            .chain([(
                "LLVM_PROFILE_FILE".into(),
                OsString::from(raw_dir.join("%m_%p.profraw")),
            )])
            .collect(),
        pin_cpu: None,
        echo: args.verbose,
    };
    let mut server = RunningServer::start(&spec, settings.startup_timeout)?;
    eprintln!("      server listening on {}", server.addr());
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
            "the server exited during the training load ({}); no usable profile.{}",
            server::describe_status(status),
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
    let (stopped, output) = server.stop(settings.stop_timeout)?;
    eprintln!(
        "      server stopped on SIGTERM in {:.2} s ({})",
        stopped.stop_time.as_secs_f64(),
        server::describe_status(stopped.status)
    );
    let raw = RawProfiles::scan(&layout.raw)?;
    if raw.files.is_empty() {
        bail!(
            "{}",
            no_profile_message(&stopped, &raw, &layout.raw, &output)
        );
    }
    if !stopped.status.success() {
        eprintln!(
            "      warning: the server exited with {} (a profile was still written)",
            server::describe_status(stopped.status)
        );
    }
    Ok(Training { load, raw })
}

fn no_profile_message(
    stopped: &server::Stopped,
    raw: &RawProfiles,
    dir: &Path,
    output: &str,
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
    let cause = match stopped.signal() {
        Some(libc::SIGTERM) => {
            "The server was killed by SIGTERM instead of exiting: it has no SIGTERM \
             handler, so the profiling runtime (which writes at normal process exit) never ran. \
             Handle SIGTERM by shutting down and returning from main; armature-core servers do \
             this by default (`ServerConfig::handle_signals(true)`)."
                .to_owned()
        }
        Some(sig) => format!(
            "The server died from signal {sig} ({}), so the profiling runtime never ran; it only \
             writes when the process exits normally (return from main or `std::process::exit`).",
            server::describe_status(stopped.status)
        ),
        None => "The server exited normally, yet wrote no profile: it may not be the instrumented \
             binary, it may override LLVM_PROFILE_FILE, or it may leave with `_exit`/`abort`."
            .to_owned(),
    };
    format!("{what}. {cause}{}", server::show_output(output))
}
