//! The actix-web peer of `examples/hello.rs`: `HttpServer` with `WORKERS` worker
//! threads (each a single-threaded runtime, actix's own layout). actix writes
//! the cached `Date` and `Content-Length` itself; header order differs from
//! Armature's, the bytes do not.
//!
//! Run with: `PORT=8083 WORKERS=1 cargo run --profile release-fat -p armature-benches --bin actix_hello`

use actix_web::http::header::SERVER;
use actix_web::{web, App, HttpResponse, HttpServer};
use armature_benches::{addr_from_env, json_body, workers_from_env, PLAINTEXT, SERVER_NAME};

async fn plaintext() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((SERVER, SERVER_NAME))
        .content_type("text/plain")
        .body(PLAINTEXT)
}

async fn json() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((SERVER, SERVER_NAME))
        .content_type("application/json")
        .body(json_body())
}

fn main() -> std::io::Result<()> {
    let addr = addr_from_env(8083);
    let workers = workers_from_env();
    println!("actix_hello listening on http://{addr} ({workers} workers)");
    actix_web::rt::System::new().block_on(
        HttpServer::new(|| {
            App::new()
                .route("/plaintext", web::get().to(plaintext))
                .route("/json", web::get().to(json))
        })
        .workers(workers)
        .backlog(1024)
        .shutdown_timeout(1)
        .bind(addr)?
        .run(),
    )
}
