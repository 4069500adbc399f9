//! The axum peer of `examples/hello.rs`: an axum `Router` served by hyper's
//! `http1::Builder` (`pipeline_flush(true)`), one current-thread runtime per worker.
//! `axum::serve` is not used: it offers no pipelining flag and no per-core layout.
//!
//! Run with: `PORT=8082 WORKERS=1 cargo run --profile release-fat -p armature-benches --bin axum_hello`

use armature_benches::{
    addr_from_env, cached_date, json_body, run_workers, workers_from_env, PLAINTEXT, SERVER_NAME,
};
use axum::body::Body;
use axum::http::header::{CONTENT_TYPE, DATE, SERVER};
use axum::http::{HeaderValue, Response};
use axum::routing::get;
use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;

/// A response with Armature's header order; axum adds `content-length` last.
fn reply(body: Body, content_type: &'static str) -> Response<Body> {
    let mut resp = Response::new(body);
    let headers = resp.headers_mut();
    headers.insert(SERVER, HeaderValue::from_static(SERVER_NAME));
    headers.insert(DATE, cached_date());
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    resp
}

async fn plaintext() -> Response<Body> {
    reply(Body::from(PLAINTEXT), "text/plain")
}

async fn json() -> Response<Body> {
    reply(Body::from(json_body()), "application/json")
}

fn main() -> std::io::Result<()> {
    let addr = addr_from_env(8082);
    let workers = workers_from_env();
    println!("axum_hello listening on http://{addr} ({workers} workers)");
    run_workers(addr, workers, |listener| async move {
        let app = Router::new()
            .route("/plaintext", get(plaintext))
            .route("/json", get(json));
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
    })
}
