//! Profile `json-tls`: `GET /json/{count}?m=M` over HTTP/1.1 and TLS on port 8081
//! (ALPN `http/1.1`), certificate and key from `CERTS_DIR` (`/certs`).
//!
//! SWITCH POINT (TLS): armature-core has no TLS listener yet, so [`serve_json_tls`]
//! only says that the profile is not served. When it has one (rustls, PEM files),
//! bind the same app on `0.0.0.0:8081` with `server.crt`/`server.key` from
//! `env.certs` here, and add validate.sh's "JSON TLS" checks (HTTP/1.1 negotiated,
//! `/json/{7,23,50}?m={2,11,1}`, `application/json`) to `tests/arena/profiles.rs`.

use crate::Environment;

/// Serves the `json-tls` profile when armature-core can; today it reports that
/// it cannot, when the certificates are there to ask for it.
pub fn serve_json_tls(env: &Environment) {
    let cert = env.certs.join("server.crt");
    if cert.exists() {
        eprintln!(
            "json-tls: {} is there, but armature-core has no TLS listener yet; port 8081 is not served",
            cert.display()
        );
    }
}
