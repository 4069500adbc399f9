//! HTTPS: `GET /plaintext` and `GET /json` over TLS, the certificate reloaded
//! without a restart, failed handshakes counted at `GET /tls-errors`.
//!
//! Run with: `cargo run --release --features tls --example tls` (listens on
//! `HOST`/`PORT`, default `127.0.0.1:8443`; `WORKERS` sets the worker count).
//! `TLS_CERT` and `TLS_KEY` name the PEM files (default: the test certificate
//! for `localhost`, `armature-core/tests/certs/a.pem` and `a.key`), then:
//!
//! ```sh
//! curl --cacert armature-core/tests/certs/ca.pem https://localhost:8443/plaintext
//! ```
//!
//! Replace the files (or send `SIGHUP`) and new connections get the new
//! certificate; `IO_URING=1` (built with `--features tls,io_uring`) runs it on
//! the io_uring backend.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use armature_core::fast_response::FastResponse;
use armature_core::tls::TlsConfig;
use armature_core::{App, Error, ServerConfig};

async fn plaintext() -> FastResponse {
    FastResponse::ok().with_static_body(b"Hello, World!")
}

async fn json() -> Result<FastResponse, Error> {
    FastResponse::ok().with_json_sized(&serde_json::json!({ "message": "Hello, World!" }), 32)
}

fn main() -> Result<(), Error> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/certs");
    let cert = std::env::var("TLS_CERT").unwrap_or_else(|_| format!("{dir}/a.pem"));
    let key = std::env::var("TLS_KEY").unwrap_or_else(|_| format!("{dir}/a.key"));
    let failed = Arc::new(AtomicU64::new(0));
    let count = failed.clone();
    let tls = TlsConfig::from_pem_files(&cert, &key)?.on_handshake_error(move |_| {
        count.fetch_add(1, Ordering::Relaxed);
    });

    let mut config = ServerConfig::default().tls(tls);
    if let Some(n) = std::env::var("WORKERS").ok().and_then(|w| w.parse().ok()) {
        config = config.workers(n);
    }
    #[cfg(all(feature = "io_uring", target_os = "linux"))]
    if std::env::var("IO_URING").is_ok_and(|v| v == "1") {
        config = config.io_uring(armature_core::io_uring::IoUringConfig::default());
    }
    App::new()
        .get("/plaintext", plaintext)
        .get("/json", json)
        .get("/tls-errors", move || {
            let n = failed.load(Ordering::Relaxed);
            async move { n.to_string() }
        })
        .config(config)
        .bind(armature_core::addr_from_env("127.0.0.1:8443"))?
        // Once every worker listens (after `bind` alone, connections are refused).
        .on_ready(move |addr| println!("tls listening on https://{addr} ({cert})"))
        .run()
}
