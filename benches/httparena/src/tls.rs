//! Profile `json-tls`: `GET /json/{count}?m=M` over HTTP/1.1 and TLS on port 8081
//! (ALPN `http/1.1` only: armature-core's TLS offers nothing else), with
//! `server.crt` and `server.key` from `CERTS_DIR` (`/certs`).
//!
//! A second [`App`] with the one route, bound on `HOST`:`TLS_PORT` [8081], its own
//! workers (as many as the plain listener's), the dataset copied into it. No
//! Compression middleware: the profile's client sends no `Accept-Encoding`, and
//! without one `/json` answers the same bytes on 8080. Both servers handle
//! SIGTERM/SIGINT (each stops gracefully); SIGHUP, or a change to either file,
//! reloads the certificate for new connections.

use armature_core::tls::TlsConfig;
use armature_core::{App, Error, RunningServer, ServerConfig};

use crate::{json, Environment};

/// Starts the `json-tls` listener on a background thread when `env.certs` holds
/// `server.crt` (HttpArena mounts `/certs` for the TLS profiles only); `None`, and
/// a note on stderr, when it does not. A certificate or key that cannot be used,
/// or a port that cannot be bound, is an error.
pub fn serve_json_tls(
    env: &Environment,
    dataset: json::Dataset,
    config: ServerConfig,
) -> Result<Option<RunningServer>, Error> {
    let cert = env.certs.join("server.crt");
    if !cert.exists() {
        eprintln!(
            "json-tls: no {}; port {} is not served",
            cert.display(),
            tls_port()
        );
        return Ok(None);
    }
    let tls = TlsConfig::from_pem_files(&cert, env.certs.join("server.key"))?;
    let server = App::with_state(dataset)
        .get("/json/:count", json::items)
        .config(config.tls(tls))
        .bind(tls_addr().as_str())?;
    Ok(Some(server.spawn()))
}

/// `TLS_PORT` [8081].
fn tls_port() -> String {
    std::env::var("TLS_PORT")
        .ok()
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| "8081".into())
}

/// `HOST` [0.0.0.0] and [`tls_port`].
fn tls_addr() -> String {
    let host = std::env::var("HOST").ok().filter(|h| !h.is_empty());
    let host = host.as_deref().unwrap_or("0.0.0.0");
    if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]:{}", tls_port())
    } else {
        format!("{host}:{}", tls_port())
    }
}
