//! Static files and a WebSocket echo: `GET /static/{*path}` serves the files under
//! `DIR` (default `public`), `GET /` its `index.html`, `GET /ws` echoes text and
//! binary messages (at most 1 MiB each), `GET /text` answers a short text.
//!
//! Run with: `cargo run --release --example files_and_sockets` (listens on
//! `HOST`/`PORT`, default `127.0.0.1:8080`; `WORKERS` sets the worker count).

use armature_core::ws::WebSocketUpgrade;
use armature_core::{App, Error, ServeDir, ServeFile, ServerConfig};

fn main() -> Result<(), Error> {
    let dir = std::env::var("DIR").unwrap_or_else(|_| "public".into());
    let mut config = ServerConfig::default();
    if let Some(n) = std::env::var("WORKERS").ok().and_then(|w| w.parse().ok()) {
        config = config.workers(n);
    }
    App::new()
        .get("/", ServeFile::new(format!("{dir}/index.html")))
        .get("/static/{*path}", ServeDir::new(&dir))
        .get("/text", || async { "Hello, World!" })
        .get("/ws", |ws: WebSocketUpgrade| async move {
            ws.max_message_size(1 << 20)
                .on_upgrade(|mut socket| async move {
                    while let Some(Ok(msg)) = socket.recv().await {
                        if (msg.is_text() || msg.is_binary()) && socket.send(msg).await.is_err() {
                            break;
                        }
                    }
                })
        })
        .config(config)
        .bind(armature_core::addr_from_env("127.0.0.1:8080").as_str())?
        // Once every worker listens (after `bind` alone, connections are refused).
        .on_ready(move |addr| {
            println!("files_and_sockets listening on http://{addr} (files from {dir})")
        })
        .run()
}
