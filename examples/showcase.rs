//! Everything a day-one API needs, in one app:
//!
//! - any method on `/` echoes the request body, status 200;
//! - `GET /api/users/{id}` (a `/api` nest) answers the user as JSON;
//! - `/static/*` serves the files under `STATIC_DIR` (default `.`), with ETag,
//!   Last-Modified, ranges and HEAD;
//! - `/ws` echoes WebSocket messages (text and binary, at most 1 MiB);
//! - `/slow` sleeps 5 s under a 1 s timeout, so it answers 503 after 1 s;
//! - anything else: 404 with the body `no route` (the fallback);
//! - app-wide middleware: an `async fn` adding `x-showcase: 1`, request ids
//!   (`x-request-id`), the request log (`armature::access` lines on stdout),
//!   CORS allowing `https://example.com`, gzip/brotli compression.
//!
//! Run with: `STATIC_DIR=. cargo run --release --example showcase` (listens on
//! `HOST`/`PORT`, default `127.0.0.1:8080`; `RUST_LOG=off` silences the log), then
//! e.g. `curl -i -d hi http://127.0.0.1:8080/`, `curl -i http://127.0.0.1:8080/api/users/7`,
//! `curl -i -H 'Origin: https://example.com' http://127.0.0.1:8080/static/README.md`.

use std::time::Duration;

use armature_core::middleware::{Compression, Cors, Next, RequestId, RequestLog, Timeout};
use armature_core::ws::WebSocketUpgrade;
use armature_core::{
    App, Bytes, Error, HttpRequest, Json, Method, Path, Response, ServeDir, StatusCode,
};
use serde::Serialize;

#[derive(Serialize)]
struct User {
    id: u64,
    name: String,
}

/// App-wide middleware written as an `async fn`: tags every response.
async fn tag(req: HttpRequest, next: Next) -> Response {
    let mut resp = next.run(req).await;
    resp.insert_header("x-showcase", "1");
    resp
}

async fn echo(body: Bytes) -> Bytes {
    body
}

async fn user(Path(id): Path<u64>) -> Json<User> {
    Json(User {
        id,
        name: format!("user {id}"),
    })
}

async fn slow() -> &'static str {
    tokio::time::sleep(Duration::from_secs(5)).await;
    "finally"
}

async fn no_route() -> (StatusCode, &'static str) {
    (StatusCode::NOT_FOUND, "no route")
}

fn main() -> Result<(), Error> {
    let log_off = std::env::var("RUST_LOG").is_ok_and(|l| l == "off");
    if !log_off {
        tracing_subscriber::fmt().with_ansi(false).init();
    }
    let static_dir = std::env::var("STATIC_DIR").unwrap_or_else(|_| ".".into());
    let api = App::new().get("/users/{id}", user);
    App::new()
        .any("/", echo)
        .nest("/api", api)
        .get("/static/{*path}", ServeDir::new(&static_dir))
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
        .get("/slow", slow)
        .with(Timeout::new(Duration::from_secs(1)))
        .fallback(no_route)
        // The middleware added last runs first: request id, then the log (which
        // sees the id), then CORS, compression and the tag, then the handler.
        .middleware(tag)
        .middleware(Compression::new())
        .middleware(
            Cors::new()
                .allow_origin("https://example.com")
                .allow_methods([Method::Get, Method::Post]),
        )
        .middleware(RequestLog::new())
        .middleware(RequestId::new())
        .bind(armature_core::addr_from_env("127.0.0.1:8080").as_str())?
        .on_ready(move |addr| {
            eprintln!("showcase listening on http://{addr} (files from {static_dir})")
        })
        .run()
}
