//! The may-minihttp peer of `examples/hello.rs`, the hand-tuned ceiling: stackful
//! coroutines, a fixed response writer. It writes `Server: M` and `200 Ok` itself,
//! so each response is 7 bytes shorter than the others'; it cannot be told otherwise.
//!
//! Run with: `PORT=8084 WORKERS=1 cargo run --profile release-fat -p armature-benches --bin minihttp_hello`

use std::io;

use armature_benches::{addr_from_env, workers_from_env, Message};
use bytes::BufMut;
use may_minihttp::{HttpServer, HttpService, Request, Response};

#[derive(Clone)]
struct Hello;

impl HttpService for Hello {
    fn call(&mut self, req: Request<'_, '_, '_>, rsp: &mut Response<'_>) -> io::Result<()> {
        match req.path() {
            "/plaintext" => rsp.header("Content-Type: text/plain").body("Hello, World!"),
            "/json" => {
                rsp.header("Content-Type: application/json");
                // Serialised on every request, straight into the response buffer.
                serde_json::to_writer(
                    rsp.body_mut().writer(),
                    &Message {
                        message: "Hello, World!",
                    },
                )?;
            }
            _ => {
                rsp.status_code(404, "Not Found");
            }
        }
        Ok(())
    }
}

fn main() -> io::Result<()> {
    let addr = addr_from_env(8084);
    let workers = workers_from_env();
    // may pins its workers to cores 0.. by default, which would escape `taskset`.
    may::config().set_workers(workers).set_worker_pin(false);
    println!("minihttp_hello listening on http://{addr} ({workers} workers)");
    let server = HttpServer(Hello).start(addr)?;
    server
        .join()
        .map_err(|_| io::Error::other("the may-minihttp server panicked"))
}
