//! HTTPS (the `tls` feature): HTTP/1.1 over TLS 1.2 and 1.3 with rustls (the `ring`
//! provider), on the same connection loop as plain TCP: pipelining, backpressure,
//! timeouts, keep-alive and WebSocket upgrades behave as they do without TLS, on
//! epoll and on the io_uring backend.
//!
//! The certificate chain and key come from PEM files
//! ([`TlsConfig::from_pem_files`]) and are reloaded without a restart: on `SIGHUP`
//! (when the server handles signals, [`ServerConfig::handle_signals`]), when either
//! file changes (checked every [`poll_interval`](TlsConfig::poll_interval)), or
//! when the app calls [`TlsConfig::reload`]. A new handshake uses the new pair;
//! connections already open keep theirs. A new pair that cannot be used (a file
//! missing, not PEM, a key that does not belong to the certificate) is logged and
//! the previous one stays. ALPN offers `http/1.1` only; a client that offers ALPN
//! without it (`h2` alone) is refused, as RFC 7301 asks. Key exchange is classical
//! (X25519, P-256, P-384): the `ring` provider has no post-quantum group.
//!
//! The handshake is bounded by [`handshake_timeout`](TlsConfig::handshake_timeout):
//! a client that opens a connection and sends no `ClientHello` is closed then. A
//! failed handshake is an [`Error`](crate::Error) for which [`is_tls`](crate::Error::is_tls) holds, given
//! to [`on_handshake_error`](TlsConfig::on_handshake_error) and logged at `debug`
//! (target `armature::tls`).
//!
//! ```no_run
//! use armature_core::tls::TlsConfig;
//! use armature_core::{App, ServerConfig};
//!
//! fn main() -> Result<(), armature_core::Error> {
//!     let tls = TlsConfig::from_pem_files("/certs/server.crt", "/certs/server.key")?;
//!     App::new()
//!         .get("/", || async { "Hello over TLS" })
//!         .config(ServerConfig::default().tls(tls))
//!         .serve("0.0.0.0:8443")
//! }
//! ```
//!
//! [`ServerConfig::handle_signals`]: crate::ServerConfig::handle_signals

mod certs;
mod config;
mod stream;
mod watch;

pub use config::TlsConfig;
pub(crate) use stream::accept;
pub(crate) use watch::Watch;

/// The rustls this feature is built with (its client, to test a server; its types,
/// to name certificates).
pub use rustls;
