//! `axum_hello` with the tower-http layers a real API runs: a request id
//! (generated when absent, echoed), CORS allowing one origin, and a request
//! trace through `tracing` (no subscriber installed, as Armature's stack is
//! measured). The peer of Armature's hello with its request-id, CORS and
//! request-log middleware on.
//!
//! Run with: `PORT=8085 WORKERS=1 cargo run --profile release-fat -p armature-benches --bin axum_stack_hello`

use armature_benches::{
    addr_from_env, cached_date, json_body, run_workers, workers_from_env, PLAINTEXT, SERVER_NAME,
};
use axum::body::Body;
use axum::http::header::{CONTENT_TYPE, DATE, SERVER};
use axum::http::{HeaderName, HeaderValue, Method, Response};
use axum::routing::get;
use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tower_http::cors::CorsLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

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
    let addr = addr_from_env(8085);
    let workers = workers_from_env();
    println!("axum_stack_hello listening on http://{addr} ({workers} workers)");
    run_workers(addr, workers, |listener| async move {
        let request_id = HeaderName::from_static("x-request-id");
        // Layers run outside-in in the reverse order of `.layer` calls: the id is
        // set first, so the trace and the response carry it.
        let app = Router::new()
            .route("/plaintext", get(plaintext))
            .route("/json", get(json))
            .layer(
                CorsLayer::new()
                    .allow_origin(HeaderValue::from_static("https://example.com"))
                    .allow_methods([Method::GET, Method::POST]),
            )
            .layer(PropagateRequestIdLayer::new(request_id.clone()))
            .layer(TraceLayer::new_for_http())
            .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid));
        loop {
            let Ok((stream, _)) = listener.accept().await else {
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
