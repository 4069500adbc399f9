//! The TechEmpower pair: `GET /plaintext` and `GET /json`.
//!
//! Run with: `cargo run --release --example hello` (listens on `HOST`/`PORT`,
//! default `127.0.0.1:8080`; `WORKERS` sets the worker count). Built with
//! `--features io_uring`, `IO_URING=1` runs it on the io_uring backend
//! (`IO_URING_BUFFERS`, `IO_URING_BUFFER_SIZE` size its receive buffers).
//! `METRICS=1` adds the `Metrics` middleware and serves them at `/metrics` (what
//! the metrics' cost is measured with: `scripts/instructions.sh`).

use armature_core::fast_response::FastResponse;
use armature_core::middleware::Metrics;
use armature_core::{App, Error, ServerConfig};
use serde::Serialize;

#[derive(Serialize)]
struct Message {
    message: &'static str,
}

async fn plaintext() -> FastResponse {
    FastResponse::ok().with_static_body(b"Hello, World!")
}

async fn json() -> Result<FastResponse, Error> {
    // Serialised on every request, as the benchmark requires.
    FastResponse::ok().with_json_sized(
        &Message {
            message: "Hello, World!",
        },
        32,
    )
}

fn main() -> Result<(), Error> {
    let mut config = ServerConfig::default();
    if let Some(n) = std::env::var("WORKERS").ok().and_then(|w| w.parse().ok()) {
        config = config.workers(n);
    }
    #[cfg(all(feature = "io_uring", target_os = "linux"))]
    if std::env::var("IO_URING").is_ok_and(|v| v == "1") {
        let mut uring = armature_core::io_uring::IoUringConfig::default();
        let var = |name: &str| std::env::var(name).ok();
        if let Some(n) = var("IO_URING_BUFFERS").and_then(|v| v.parse().ok()) {
            uring = uring.buffers(n);
        }
        if let Some(n) = var("IO_URING_BUFFER_SIZE").and_then(|v| v.parse().ok()) {
            uring = uring.buffer_size(n);
        }
        config = config.io_uring(uring);
    }
    let addr = armature_core::addr_from_env("127.0.0.1:8080");
    let mut app = App::new().get("/plaintext", plaintext).get("/json", json);
    if std::env::var("METRICS").is_ok_and(|v| v == "1") {
        let metrics = Metrics::new();
        app = app.get("/metrics", metrics.handler()).middleware(metrics);
    }
    app.config(config)
        .bind(addr.as_str())?
        // Once every worker listens (after `bind` alone, connections are refused).
        .on_ready(|addr| println!("hello listening on http://{addr}"))
        .run()
}
