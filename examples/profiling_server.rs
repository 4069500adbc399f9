//! A server for profiling the request path: the routes a typical JSON API serves
//! (static, path parameter, query, JSON body in and out), with nothing else going
//! on. `scripts/profile.sh` builds it with symbols, loads it with wrk and reports
//! where the time goes.
//!
//! Run with: `cargo run --release --example profiling_server` (listens on
//! `HOST`/`PORT`, default `127.0.0.1:8080`; `WORKERS` sets the worker count).

use armature_core::fast_response::{fast, FastResponse};
use armature_core::{App, Error, Json, Path, Query, ServerConfig};
use serde::{Deserialize, Serialize};

#[derive(Serialize)]
struct User {
    id: u64,
    name: String,
    active: bool,
}

#[derive(Deserialize)]
struct Search {
    q: Option<String>,
    #[serde(default)]
    limit: usize,
}

#[derive(Deserialize, Serialize)]
struct Order {
    id: u64,
    items: Vec<String>,
    total_cents: u64,
}

async fn user(Path(id): Path<u64>) -> Result<FastResponse, Error> {
    FastResponse::ok().with_json_sized(
        &User {
            id,
            name: format!("user-{id}"),
            active: id % 2 == 0,
        },
        64,
    )
}

async fn search(Query(s): Query<Search>) -> Json<Vec<String>> {
    let q = s.q.unwrap_or_default();
    Json((0..s.limit.min(10)).map(|i| format!("{q}-{i}")).collect())
}

async fn echo(Json(order): Json<Order>) -> Json<Order> {
    Json(order)
}

fn main() -> Result<(), Error> {
    let mut config = ServerConfig::default();
    if let Some(n) = std::env::var("WORKERS").ok().and_then(|w| w.parse().ok()) {
        config = config.workers(n);
    }
    App::new()
        .get("/health", || async { fast::ok() })
        .get("/users/:id", user)
        .get("/search", search)
        .post("/orders", echo)
        .config(config)
        .bind(armature_core::addr_from_env("127.0.0.1:8080"))?
        // Once every worker listens (after `bind` alone, connections are refused).
        .on_ready(|addr| println!("profiling_server listening on http://{addr}"))
        .run()
}
