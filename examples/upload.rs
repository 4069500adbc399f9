//! HttpArena's `upload` profile: `POST /upload` answers the byte count of a body of
//! any size, streamed ([`StreamingBody`]: the server holds about one read buffer of
//! it per connection); `POST /upload-buffered` answers the same from a body
//! buffered whole first (`Bytes`), for comparison. Both accept 32 MiB, every other
//! route the default 2 MiB.
//!
//! Run with: `cargo run --release --example upload` (listens on `HOST`/`PORT`,
//! default `127.0.0.1:8080`; `WORKERS` sets the worker count). What
//! `scripts/upload-memory.py` measures (peak memory and CPU per upload).

use armature_core::extract::StreamingBody;
use armature_core::http::BodyError;
use armature_core::{App, Bytes, Error, ServerConfig};

/// The byte count, reading the body as it arrives.
async fn upload(mut body: StreamingBody) -> Result<String, BodyError> {
    let mut n = 0;
    while let Some(chunk) = body.chunk().await {
        n += chunk?.len();
    }
    Ok(n.to_string())
}

fn main() -> Result<(), Error> {
    let mut config = ServerConfig::default();
    if let Some(workers) = std::env::var("WORKERS").ok().and_then(|w| w.parse().ok()) {
        config = config.workers(workers);
    }
    App::new()
        .post("/upload", upload)
        .body_limit(32 << 20)
        .post("/upload-buffered", |body: Bytes| async move {
            body.len().to_string()
        })
        .body_limit(32 << 20)
        .config(config)
        .serve(armature_core::addr_from_env("127.0.0.1:8080"))
}
