//! The actix-web peer of `armature_db`: the TechEmpower database routes on
//! `HttpServer` with `WORKERS` workers (actix's own layout), each worker with its
//! own tokio-postgres connection built by `App::data_factory`.
//!
//! Run with: `DATABASE_URL=postgres://... PORT=8087 WORKERS=1 cargo run --profile release-fat -p armature-benches --bin actix_db`

use actix_web::http::header::SERVER;
use actix_web::http::StatusCode;
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use armature_benches::db::{self, Db, HTML_CONTENT_TYPE, WORLD_JSON_CAPACITY};
use armature_benches::{addr_from_env, workers_from_env, SERVER_NAME};

fn internal(e: tokio_postgres::Error) -> HttpResponse {
    eprintln!("query failed: {e}");
    HttpResponse::new(StatusCode::INTERNAL_SERVER_ERROR)
}

fn reply(body: Vec<u8>, content_type: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((SERVER, SERVER_NAME))
        .content_type(content_type)
        .body(body)
}

fn json<T: serde::Serialize + ?Sized>(value: &T, capacity: usize) -> HttpResponse {
    let mut out = Vec::with_capacity(capacity);
    match serde_json::to_writer(&mut out, value) {
        Ok(()) => reply(out, "application/json"),
        Err(_) => HttpResponse::new(StatusCode::INTERNAL_SERVER_ERROR),
    }
}

async fn single(db: web::Data<Db>) -> HttpResponse {
    match db.world(db::random_id()).await {
        Ok(world) => json(&world, WORLD_JSON_CAPACITY),
        Err(e) => internal(e),
    }
}

async fn queries(db: web::Data<Db>, req: HttpRequest) -> HttpResponse {
    let n = db::query_count(Some(req.query_string()));
    match db.worlds(n).await {
        Ok(worlds) => json(&worlds, n * WORLD_JSON_CAPACITY + 2),
        Err(e) => internal(e),
    }
}

async fn updates(db: web::Data<Db>, req: HttpRequest) -> HttpResponse {
    let n = db::query_count(Some(req.query_string()));
    match db.update(n).await {
        Ok(worlds) => json(&worlds, n * WORLD_JSON_CAPACITY + 2),
        Err(e) => internal(e),
    }
}

async fn fortunes(db: web::Data<Db>) -> HttpResponse {
    match db.fortunes().await {
        Ok(fortunes) => reply(db::fortunes_html(&fortunes), HTML_CONTENT_TYPE),
        Err(e) => internal(e),
    }
}

fn main() -> std::io::Result<()> {
    let addr = addr_from_env(8087);
    let workers = workers_from_env();
    let url = db::url_from_env();
    println!("actix_db listening on http://{addr} ({workers} workers)");
    actix_web::rt::System::new().block_on(
        HttpServer::new(move || {
            let url = url.clone();
            App::new()
                .data_factory(move || {
                    let url = url.clone();
                    async move { Db::connect(&url).await }
                })
                .route("/db", web::get().to(single))
                .route("/queries", web::get().to(queries))
                .route("/updates", web::get().to(updates))
                .route("/fortunes", web::get().to(fortunes))
        })
        .workers(workers)
        .backlog(1024)
        .shutdown_timeout(1)
        .bind(addr)?
        .run(),
    )
}
