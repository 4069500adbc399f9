//! Armature's TechEmpower database server: `GET /db`, `/queries?q=N`, `/fortunes`,
//! `/updates?q=N` on PostgreSQL, one tokio-postgres connection per worker built by
//! [`App::worker_state`] and reached with the [`WorkerState`] extractor.
//!
//! Run with: `DATABASE_URL=postgres://... PORT=8085 WORKERS=1 cargo run --profile release-fat -p armature-benches --bin armature_db`

use std::sync::Arc;

use armature_benches::db::{self, Db, HTML_CONTENT_TYPE, WORLD_JSON_CAPACITY};
use armature_core::extract::{FromRequest, Rejection, WorkerState};
use armature_core::fast_response::FastResponse;
use armature_core::http::{HttpRequest, StatusCode};
use armature_core::{App, Error, ServerConfig};
use bytes::Bytes;

/// The `q` of the query string, read in place (no allocation, no serde).
struct Count(usize);

impl<S> FromRequest<S> for Count {
    fn from_request(req: &HttpRequest, _: &Arc<S>) -> Result<Self, Rejection> {
        Ok(Count(db::query_count(req.query())))
    }
}

type Reply = Result<FastResponse, StatusCode>;

fn internal(e: tokio_postgres::Error) -> StatusCode {
    eprintln!("query failed: {e}");
    StatusCode::INTERNAL_SERVER_ERROR
}

fn json<T: serde::Serialize + ?Sized>(value: &T, capacity: usize) -> Reply {
    FastResponse::ok()
        .with_json_sized(value, capacity)
        .map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)
}

async fn single(db: WorkerState<Db>) -> Reply {
    let world = db.world(db::random_id()).await.map_err(internal)?;
    json(&world, WORLD_JSON_CAPACITY)
}

async fn queries(db: WorkerState<Db>, Count(n): Count) -> Reply {
    let worlds = db.worlds(n).await.map_err(internal)?;
    json(&worlds, n * WORLD_JSON_CAPACITY + 2)
}

async fn updates(db: WorkerState<Db>, Count(n): Count) -> Reply {
    let worlds = db.update(n).await.map_err(internal)?;
    json(&worlds, n * WORLD_JSON_CAPACITY + 2)
}

async fn fortunes(db: WorkerState<Db>) -> Reply {
    let fortunes = db.fortunes().await.map_err(internal)?;
    Ok(FastResponse::ok()
        .with_bytes(Bytes::from(db::fortunes_html(&fortunes)))
        .with_content_type(HTML_CONTENT_TYPE))
}

fn main() -> Result<(), Error> {
    let mut config = ServerConfig::default();
    if let Some(n) = std::env::var("WORKERS").ok().and_then(|w| w.parse().ok()) {
        config = config.workers(n);
    }
    let url = db::url_from_env();
    let addr = armature_core::addr_from_env("127.0.0.1:8085");
    App::new()
        .worker_state(move |_| {
            let url = url.clone();
            async move { Db::connect(&url).await }
        })
        .get("/db", single)
        .get("/queries", queries)
        .get("/updates", updates)
        .get("/fortunes", fortunes)
        .config(config)
        .bind(addr.as_str())?
        // Once every worker listens (after `bind` alone, connections are refused).
        .on_ready(|addr| println!("armature_db listening on http://{addr}"))
        .run()
}
