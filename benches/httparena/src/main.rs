//! Armature's HttpArena entry: one binary for every HTTP/1.1 profile HttpArena
//! (github.com/MDA2AV/HttpArena, rules as of commit 28606baf) runs in one container.
//!
//! Run with: `cargo run --release -p armature-httparena` (listens on `HOST`/`PORT`,
//! default `0.0.0.0:8080`; `DATA_DIR` [/data] holds `dataset.json` and `static/`,
//! `CERTS_DIR` [/certs] the TLS pair (json-tls on `TLS_PORT`, default 8081, when
//! `server.crt` is there), `DATABASE_URL` and `DATABASE_MAX_CONN` the
//! PostgreSQL server and its connection budget, `WORKERS` the worker count, one
//! per core by default).
//!
//! | profile | route |
//! | --- | --- |
//! | baseline, limited-conn | `GET`/`POST /baseline11?a=&b=` |
//! | pipelined | `GET /pipeline` |
//! | json, json-comp | `GET /json/{count}?m=` ([`json`]), compressed when asked |
//! | json-tls | the same over TLS on 8081 ([`tls::serve_json_tls`]) |
//! | upload | `POST /upload` ([`upload`]) |
//! | static | `GET /static/{*path}` |
//! | async-db | `GET /async-db?min=&max=&limit=` ([`db`]) |
//! | crud | `/crud/items`, `/crud/items/{id}` ([`db`]) |
//! | api-4, api-16 | baseline, json and async-db together |
//! | echo-ws | `GET /ws` |

mod db;
mod json;
mod tls;
mod upload;

use std::path::PathBuf;

use armature_core::fast_response::FastResponse;
use armature_core::middleware::Compression;
use armature_core::ws::WebSocketUpgrade;
use armature_core::{App, Error, Query, RunningServer, ServeDir, ServerConfig};
use serde::Deserialize;

/// Where HttpArena mounts its files and what it tells the container.
pub struct Environment {
    /// `DATA_DIR`, `/data` in the container: `dataset.json` and `static/`.
    pub data: PathBuf,
    /// `CERTS_DIR`, `/certs`: `server.crt` and `server.key`.
    pub certs: PathBuf,
    /// `DATABASE_URL`; `None` when the profile has no database.
    pub database_url: Option<String>,
    /// `DATABASE_MAX_CONN` [256]: connections the whole server may open.
    pub database_max_conn: usize,
}

impl Environment {
    fn from_env() -> Environment {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        Environment {
            data: var("DATA_DIR").unwrap_or_else(|| "/data".into()).into(),
            certs: var("CERTS_DIR").unwrap_or_else(|| "/certs".into()).into(),
            database_url: var("DATABASE_URL"),
            database_max_conn: var("DATABASE_MAX_CONN")
                .and_then(|n| n.parse().ok())
                .unwrap_or(256),
        }
    }
}

#[derive(Deserialize)]
struct Operands {
    a: Option<i64>,
    b: Option<i64>,
}

/// `pipelined`: a constant answer as a [`FastResponse`] with a `'static` body (the
/// README's way for a fixed response), `Content-Type: text/plain` as the profile checks.
async fn pipeline() -> FastResponse {
    FastResponse::ok().with_static_body(b"ok")
}

async fn baseline_get(Query(q): Query<Operands>) -> String {
    (q.a.unwrap_or(0) + q.b.unwrap_or(0)).to_string()
}

async fn baseline_post(Query(q): Query<Operands>, body: String) -> String {
    let n: i64 = body.trim().parse().unwrap_or(0);
    (q.a.unwrap_or(0) + q.b.unwrap_or(0) + n).to_string()
}

fn main() -> Result<(), Error> {
    let env = Environment::from_env();
    let mut config = ServerConfig::default();
    if let Some(n) = std::env::var("WORKERS").ok().and_then(|w| w.parse().ok()) {
        config = config.workers(n);
    }
    let dataset = json::Dataset::load(&env.data.join("dataset.json"));
    let workers = config.get_workers();
    let json_tls = tls::serve_json_tls(&env, dataset.clone(), config.clone())?;

    let app = App::with_state(dataset)
        .get("/pipeline", pipeline)
        .get("/baseline11", baseline_get)
        .post("/baseline11", baseline_post)
        .get("/json/:count", json::items)
        // Compression on this route only: json-comp asks for it here, and the
        // other routes would pay for the middleware without using it.
        .with(Compression::new())
        .post("/upload", upload::upload)
        .body_limit(upload::MAX_UPLOAD)
        .get("/static/{*path}", ServeDir::new(env.data.join("static")))
        .get("/ws", |ws: WebSocketUpgrade| async move {
            ws.on_upgrade(|mut socket| async move {
                while let Some(Ok(msg)) = socket.recv().await {
                    if (msg.is_text() || msg.is_binary()) && socket.send(msg).await.is_err() {
                        break;
                    }
                }
            })
        });
    let app = db::routes(app, &env, workers).config(config);

    let tls_addr = json_tls.as_ref().map(RunningServer::addr);
    let served = app
        .bind(armature_core::addr_from_env("0.0.0.0:8080").as_str())?
        // Once every worker listens (after `bind` alone, connections are refused).
        // The first line says where the plain listener is; the json-tls one, when
        // served (already listening: `spawn` returned), follows (tests/arena reads
        // both).
        .on_ready(move |addr| {
            println!("armature-httparena listening on http://{addr}");
            if let Some(tls) = tls_addr {
                println!("armature-httparena json-tls on https://{tls}");
            }
        })
        .run();
    // SIGTERM has stopped the TLS server too; an error of its own comes second.
    let tls_stopped = json_tls.map_or(Ok(()), RunningServer::shutdown);
    served.and(tls_stopped)
}
