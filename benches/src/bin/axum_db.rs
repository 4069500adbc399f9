//! The axum peer of `armature_db`: the TechEmpower database routes on an axum
//! `Router` served by hyper's `http1::Builder` (`pipeline_flush(true)`), one
//! current-thread runtime per worker (as `axum_hello`), each worker with its own
//! tokio-postgres connection in the router's state.
//!
//! Run with: `DATABASE_URL=postgres://... PORT=8086 WORKERS=1 cargo run --profile release-fat -p armature-benches --bin axum_db`

use std::sync::Arc;

use armature_benches::db::{self, Db, HTML_CONTENT_TYPE, WORLD_JSON_CAPACITY};
use armature_benches::{addr_from_env, cached_date, run_workers, workers_from_env, SERVER_NAME};
use axum::body::Body;
use axum::extract::State;
use axum::http::header::{CONTENT_TYPE, DATE, SERVER};
use axum::http::{HeaderValue, Response, StatusCode, Uri};
use axum::routing::get;
use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;

type Reply = Result<Response<Body>, StatusCode>;

/// A response with Armature's header order; axum adds `content-length` last.
fn reply(body: Vec<u8>, content_type: &'static str) -> Response<Body> {
    let mut resp = Response::new(Body::from(body));
    let headers = resp.headers_mut();
    headers.insert(SERVER, HeaderValue::from_static(SERVER_NAME));
    headers.insert(DATE, cached_date());
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    resp
}

fn internal(e: tokio_postgres::Error) -> StatusCode {
    eprintln!("query failed: {e}");
    StatusCode::INTERNAL_SERVER_ERROR
}

fn json<T: serde::Serialize + ?Sized>(value: &T, capacity: usize) -> Reply {
    let mut out = Vec::with_capacity(capacity);
    serde_json::to_writer(&mut out, value).map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)?;
    Ok(reply(out, "application/json"))
}

async fn single(State(db): State<Arc<Db>>) -> Reply {
    let world = db.world(db::random_id()).await.map_err(internal)?;
    json(&world, WORLD_JSON_CAPACITY)
}

async fn queries(State(db): State<Arc<Db>>, uri: Uri) -> Reply {
    let n = db::query_count(uri.query());
    let worlds = db.worlds(n).await.map_err(internal)?;
    json(&worlds, n * WORLD_JSON_CAPACITY + 2)
}

async fn updates(State(db): State<Arc<Db>>, uri: Uri) -> Reply {
    let n = db::query_count(uri.query());
    let worlds = db.update(n).await.map_err(internal)?;
    json(&worlds, n * WORLD_JSON_CAPACITY + 2)
}

async fn fortunes(State(db): State<Arc<Db>>) -> Reply {
    let fortunes = db.fortunes().await.map_err(internal)?;
    Ok(reply(db::fortunes_html(&fortunes), HTML_CONTENT_TYPE))
}

fn main() -> std::io::Result<()> {
    let addr = addr_from_env(8086);
    let workers = workers_from_env();
    let url = db::url_from_env();
    println!("axum_db listening on http://{addr} ({workers} workers)");
    run_workers(addr, workers, move |listener| {
        let url = url.clone();
        async move {
            let db = match Db::connect(&url).await {
                Ok(db) => Arc::new(db),
                Err(e) => {
                    eprintln!("axum_db: cannot connect to {url}: {e}");
                    std::process::exit(1);
                }
            };
            let app = Router::new()
                .route("/db", get(single))
                .route("/queries", get(queries))
                .route("/updates", get(updates))
                .route("/fortunes", get(fortunes))
                .with_state(db);
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    // Out of file descriptors and similar: back off instead of spinning.
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                    continue;
                };
                let _ = stream.set_nodelay(true);
                let service = TowerToHyperService::new(app.clone());
                tokio::task::spawn_local(async move {
                    let _ = http1::Builder::new()
                        .pipeline_flush(true)
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        }
    })
}
