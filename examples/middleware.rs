//! The `hello` routes behind middleware, to see what a layer costs: `LAYERS` picks
//! the app-wide middleware (comma-separated, outermost last): `noop` (an `async fn`
//! that only calls `next`), `id` (`RequestId`), `log` (`RequestLog`; set `LOG=1` to
//! install a `tracing` subscriber, otherwise nothing listens), `cors`, `gzip`.
//!
//! Run with: `LAYERS=id,log cargo run --release --example middleware` (listens on
//! `HOST`/`PORT`, default `127.0.0.1:8080`; `WORKERS` sets the worker count).

use armature_core::fast_response::FastResponse;
use armature_core::middleware::{Compression, Cors, Next, RequestId, RequestLog};
use armature_core::{App, Error, HttpRequest, Response, ServerConfig};
use serde::Serialize;

#[derive(Serialize)]
struct Message {
    message: &'static str,
}

async fn noop(req: HttpRequest, next: Next) -> Response {
    next.run(req).await
}

fn main() -> Result<(), Error> {
    if std::env::var_os("LOG").is_some() {
        tracing_subscriber::fmt().with_ansi(false).init();
    }
    let mut config = ServerConfig::default();
    if let Some(n) = std::env::var("WORKERS").ok().and_then(|w| w.parse().ok()) {
        config = config.workers(n);
    }
    let mut app = App::new()
        .get("/plaintext", || async {
            FastResponse::ok().with_static_body(b"Hello, World!")
        })
        .get("/json", || async {
            FastResponse::ok().with_json_sized(
                &Message {
                    message: "Hello, World!",
                },
                32,
            )
        });
    let layers = std::env::var("LAYERS").unwrap_or_default();
    for layer in layers.split(',').filter(|l| !l.is_empty()) {
        app = match layer {
            "noop" => app.middleware(noop),
            "id" => app.middleware(RequestId::new()),
            "log" => app.middleware(RequestLog::new()),
            "cors" => app.middleware(Cors::new().allow_any_origin()),
            "gzip" => app.middleware(Compression::new()),
            other => panic!("unknown layer {other:?} (noop, id, log, cors, gzip)"),
        };
    }
    app.config(config)
        .bind(armature_core::addr_from_env("127.0.0.1:8080"))?
        // Once every worker listens (after `bind` alone, connections are refused).
        .on_ready(move |addr| println!("middleware ({layers}) listening on http://{addr}"))
        .run()
}
