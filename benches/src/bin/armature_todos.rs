//! The shape of the `api` template's list route without its database, for the
//! hostile-client measurements (`benches/compare/hostile.sh`): `GET /todos?limit=N`
//! answers N (at most 200) todo items with 200-byte titles as JSON (about 23 KiB for
//! 100), built fresh for each request as a real handler would; `GET /health`
//! answers `ok`.
//!
//! Run with: `PORT=8090 WORKERS=1 cargo run --release -p armature-benches --bin armature_todos`.
//! `WRITE_TIMEOUT_MS` and `MAX_PENDING_OUTPUT` set the server's bounds (defaults:
//! `ServerConfig`'s).

use std::time::Duration;

use armature_core::{App, Error, Json, Query, ServerConfig};
use serde::{Deserialize, Serialize};

#[derive(Serialize)]
struct Todo {
    id: u64,
    title: String,
    done: bool,
}

#[derive(Deserialize)]
struct Page {
    #[serde(default)]
    limit: usize,
}

async fn list(Query(page): Query<Page>) -> Json<Vec<Todo>> {
    Json(
        (1..=page.limit.min(200) as u64)
            .map(|id| Todo {
                id,
                title: format!("{id:0>200}"),
                done: id % 2 == 0,
            })
            .collect(),
    )
}

fn env<T: std::str::FromStr>(name: &str) -> Option<T> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

fn main() -> Result<(), Error> {
    let mut config = ServerConfig::default();
    if let Some(n) = env("WORKERS") {
        config = config.workers(n);
    }
    if let Some(ms) = env("WRITE_TIMEOUT_MS") {
        config = config.write_timeout(Duration::from_millis(ms));
    }
    if let Some(bytes) = env("MAX_PENDING_OUTPUT") {
        config = config.max_pending_output(bytes);
    }
    App::new()
        .get("/health", || async { "ok" })
        .get("/todos", list)
        .config(config)
        .bind(armature_core::addr_from_env("127.0.0.1:8090"))?
        // Once every worker listens (after `bind` alone, connections are refused).
        .on_ready(|addr| println!("armature_todos listening on http://{addr}"))
        .run()
}
