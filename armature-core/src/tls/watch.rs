//! `Watch`: what reloads a server's certificate without a restart: `SIGHUP`, and a
//! check of the files' metadata every [`TlsConfig::poll_interval`].
//!
//! Polling rather than inotify: no dependency (the `notify` crate and its
//! platform backends), and it sees every way a certificate gets replaced: written
//! in place, renamed over (certbot, most deploy tools), or a Kubernetes secret's
//! `..data` symlink swapped, which an inotify watch on the file itself misses. It
//! costs two `stat` calls per interval on one worker.

use std::future::pending;
use std::sync::Arc;

use tokio::signal::unix::{signal, Signal, SignalKind};
use tokio::time::{Instant, Interval, MissedTickBehavior};

use super::certs::Certs;
use super::config::TlsConfig;

/// Reloads one server's certificate; run by its first worker.
pub(crate) struct Watch {
    certs: Arc<Certs>,
    hangup: Option<Signal>,
    poll: Option<Interval>,
}

impl Watch {
    /// Catches `SIGHUP` from now on when `sighup` holds (the server handles the
    /// process's signals), so a `SIGHUP` never finds the process without its
    /// handler once the server listens. Needs the worker's runtime.
    pub(crate) fn new(tls: &TlsConfig, sighup: bool) -> Watch {
        let hangup = if sighup {
            match signal(SignalKind::hangup()) {
                Ok(s) => Some(s),
                Err(e) => {
                    tracing::warn!(
                        target: "armature::tls",
                        "cannot catch SIGHUP ({e}): the certificate reloads only on a file change"
                    );
                    None
                }
            }
        } else {
            None
        };
        let poll = tls.poll_interval.map(|every| {
            let mut poll = tokio::time::interval_at(Instant::now() + every, every);
            poll.set_missed_tick_behavior(MissedTickBehavior::Delay);
            poll
        });
        Watch {
            certs: tls.certs.clone(),
            hangup,
            poll,
        }
    }

    /// Until the worker ends: on `SIGHUP` a reload, at each tick a reload if
    /// either file changed. The files are read on the blocking pool, not on the
    /// worker. A reload that fails is logged and the previous certificate stays.
    pub(crate) async fn run(mut self) {
        if self.hangup.is_none() && self.poll.is_none() {
            return;
        }
        loop {
            let forced = tokio::select! {
                () = hangup(&mut self.hangup) => true,
                () = tick(&mut self.poll) => false,
            };
            let certs = self.certs.clone();
            let _ = tokio::task::spawn_blocking(move || {
                if forced || certs.changed() {
                    log_reload(&certs, if forced { "SIGHUP" } else { "a file changed" });
                }
            })
            .await;
        }
    }
}

/// Reloads and says how it went (`info` or `error`, target `armature::tls`).
fn log_reload(certs: &Certs, why: &str) {
    match certs.reload() {
        Ok(()) => tracing::info!(
            target: "armature::tls",
            "reloaded the TLS certificate from {} ({why}): new handshakes use it",
            certs.cert_path().display()
        ),
        Err(e) => tracing::error!(
            target: "armature::tls",
            "cannot reload the TLS certificate ({why}): {e}; still serving the previous one"
        ),
    }
}

async fn hangup(signal: &mut Option<Signal>) {
    match signal {
        Some(s) => {
            if s.recv().await.is_none() {
                // The signal driver is gone: never again.
                *signal = None;
                pending::<()>().await;
            }
        }
        None => pending().await,
    }
}

async fn tick(poll: &mut Option<Interval>) {
    match poll {
        Some(p) => {
            p.tick().await;
        }
        None => pending().await,
    }
}
