//! The four workloads of the Node.js comparison (`benches/compare/nodejs.sh`,
//! `docs/armature-vs-nodejs-benchmark.md`), written as the README teaches:
//! `GET /plaintext`, `GET /json` (serialised on every request), `GET /users/:id` (a
//! path parameter, a small JSON body) and `POST /echo` (a JSON body parsed and
//! answered). The Node.js servers in `benches/compare/node/` answer the same bytes.
//!
//! Run with: `PORT=8091 WORKERS=1 cargo run --release -p armature-benches --bin armature_routes`.

use armature_core::{App, Error, Json, Path, ServerConfig};
use serde::{Deserialize, Serialize};

#[derive(Serialize)]
struct Message {
    message: &'static str,
}

#[derive(Serialize)]
struct User {
    id: u64,
    name: String,
}

#[derive(Deserialize, Serialize)]
struct Echo {
    id: u64,
    tags: Vec<String>,
    note: String,
}

fn main() -> Result<(), Error> {
    let mut config = ServerConfig::default();
    if let Some(n) = std::env::var("WORKERS").ok().and_then(|w| w.parse().ok()) {
        config = config.workers(n);
    }
    App::new()
        .get("/plaintext", || async { "Hello, World!" })
        .get("/json", || async {
            Json(Message {
                message: "Hello, World!",
            })
        })
        .get("/users/:id", |Path(id): Path<u64>| async move {
            Json(User {
                id,
                name: format!("user-{id}"),
            })
        })
        .post("/echo", |Json(body): Json<Echo>| async move { Json(body) })
        .config(config)
        .bind(armature_core::addr_from_env("127.0.0.1:8091"))?
        // Once every worker listens (after `bind` alone, connections are refused).
        .on_ready(|addr| println!("armature_routes listening on http://{addr}"))
        .run()
}
