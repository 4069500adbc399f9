//! The server's stack (Armature, axum, actix-web, hyper, tokio), read from its package's
//! dependencies, and the advice on stopping it on SIGTERM that fits that stack.

use std::fmt;

/// The framework (or runtime) the server is written with, as far as its direct
/// dependencies tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Stack {
    /// `armature-core` (or the `armature` facade).
    Armature,
    /// `axum`.
    Axum,
    /// `actix-web`.
    ActixWeb,
    /// `hyper` without a framework above it.
    Hyper,
    /// `tokio` without any of the above.
    Tokio,
    /// None of these.
    Unknown,
}

impl Stack {
    /// The stack of a package with these direct dependencies (names as in its manifest).
    /// The framework wins over the libraries it sits on (axum over hyper over tokio).
    pub fn of<S: AsRef<str>>(dependencies: &[S]) -> Stack {
        let has = |n: &str| dependencies.iter().any(|d| d.as_ref() == n);
        if has("armature-core") || has("armature") {
            Stack::Armature
        } else if has("axum") {
            Stack::Axum
        } else if has("actix-web") {
            Stack::ActixWeb
        } else if has("hyper") {
            Stack::Hyper
        } else if has("tokio") {
            Stack::Tokio
        } else {
            Stack::Unknown
        }
    }

    /// How to make this stack's server return from `main` on SIGTERM, so that the
    /// profiling runtime writes its profile at exit.
    pub fn sigterm_advice(self) -> &'static str {
        match self {
            Stack::Armature => {
                "Handle SIGTERM by shutting down and returning from main; armature-core \
                 servers do this by default (`ServerConfig::handle_signals(true)`)."
            }
            Stack::Axum => {
                "axum serves until its future is told to stop: `axum::serve(listener, \
                 app).with_graceful_shutdown(shutdown())`, where `shutdown` awaits \
                 `tokio::signal::unix::signal(SignalKind::terminate())?.recv()`, then return \
                 from main."
            }
            Stack::ActixWeb => {
                "actix-web's `HttpServer` stops on SIGTERM by default (a graceful stop of up \
                 to `shutdown_timeout`, 30 s): check that `.disable_signals()` is not set, \
                 that main returns after `.run().await` (no `std::process::exit`), and that \
                 `--stop-timeout` is longer than its shutdown timeout."
            }
            Stack::Hyper | Stack::Tokio => {
                "With hyper/tokio, await `tokio::signal::unix::signal(SignalKind::terminate())` \
                 beside the accept loop (`tokio::select!`), stop accepting, let the \
                 connections finish, and return from main."
            }
            Stack::Unknown => "Handle SIGTERM by shutting down and returning from main.",
        }
    }
}

impl fmt::Display for Stack {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Stack::Armature => "Armature",
            Stack::Axum => "axum",
            Stack::ActixWeb => "actix-web",
            Stack::Hyper => "hyper",
            Stack::Tokio => "tokio",
            Stack::Unknown => "unknown",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_framework_wins_over_what_it_sits_on() {
        let table: [(&[&str], Stack, &str); 6] = [
            (
                &["armature-core", "serde", "tokio"],
                Stack::Armature,
                "handle_signals(true)",
            ),
            (
                &["tokio", "axum", "hyper"],
                Stack::Axum,
                "with_graceful_shutdown",
            ),
            (
                &["actix-web", "tokio"],
                Stack::ActixWeb,
                "stops on SIGTERM by default",
            ),
            (
                &["hyper-util", "hyper", "tokio"],
                Stack::Hyper,
                "tokio::signal",
            ),
            (&["tokio"], Stack::Tokio, "tokio::signal"),
            (&["serde"], Stack::Unknown, "returning from main"),
        ];
        for (deps, want, advice) in table {
            let got = Stack::of(deps);
            assert_eq!(got, want, "{deps:?}");
            assert!(got.sigterm_advice().contains(advice), "{got}");
        }
    }
}
