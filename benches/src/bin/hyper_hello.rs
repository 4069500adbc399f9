//! The hyper peer of `examples/hello.rs`: hyper 1.x `http1::Builder` with
//! `pipeline_flush(true)`, one current-thread runtime per worker.
//!
//! Run with: `PORT=8081 WORKERS=1 cargo run --profile release-fat -p armature-benches --bin hyper_hello`

use std::convert::Infallible;

use armature_benches::{
    addr_from_env, cached_date, json_body, run_workers, workers_from_env, PLAINTEXT, SERVER_NAME,
};
use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{HeaderValue, CONTENT_TYPE, DATE, SERVER};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;

/// Answers one request. hyper adds `content-length` after these headers, so the
/// order is Armature's: Server, Date, Content-Type, Content-Length.
async fn hello(req: Request<hyper::body::Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let (body, content_type) = match (req.method(), req.uri().path()) {
        (&Method::GET, "/plaintext") => (Bytes::from_static(PLAINTEXT), "text/plain"),
        (&Method::GET, "/json") => (Bytes::from(json_body()), "application/json"),
        _ => {
            let mut resp = Response::new(Full::new(Bytes::new()));
            *resp.status_mut() = StatusCode::NOT_FOUND;
            resp.headers_mut()
                .insert(SERVER, HeaderValue::from_static(SERVER_NAME));
            resp.headers_mut().insert(DATE, cached_date());
            return Ok(resp);
        }
    };
    let mut resp = Response::new(Full::new(body));
    let headers = resp.headers_mut();
    headers.insert(SERVER, HeaderValue::from_static(SERVER_NAME));
    headers.insert(DATE, cached_date());
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    Ok(resp)
}

fn main() -> std::io::Result<()> {
    let addr = addr_from_env(8081);
    let workers = workers_from_env();
    println!("hyper_hello listening on http://{addr} ({workers} workers)");
    run_workers(addr, workers, |listener| async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                // Out of file descriptors and similar: back off instead of spinning.
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                continue;
            };
            let _ = stream.set_nodelay(true);
            tokio::task::spawn_local(async move {
                let _ = http1::Builder::new()
                    .pipeline_flush(true)
                    .serve_connection(TokioIo::new(stream), service_fn(hello))
                    .await;
            });
        }
    })
}
