//! The full request cycle over an in-memory connection: bytes in, Armature's real
//! connection loop (parser, router, extractors, handler, encoder), bytes out.
//! Beside each, the same exchange with a canned-response server over the same
//! in-memory duplex: the transport floor that Armature's own cost sits on.
//!
//! Run with: `cargo bench -p armature-benches --bench cycle`

use armature_core::fast_response::FastResponse;
use armature_core::testing::TestConnection;
use armature_core::{App, Json, Path};
use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::runtime::Runtime;
use tokio::task::LocalSet;

#[derive(Serialize)]
struct User {
    id: u32,
    name: &'static str,
    email: &'static str,
}

#[derive(Serialize, Deserialize)]
struct Item {
    id: u32,
    name: String,
    tags: Vec<String>,
    price: f64,
}

#[derive(Serialize, Deserialize)]
struct Order {
    customer: String,
    items: Vec<Item>,
}

async fn plaintext() -> FastResponse {
    FastResponse::ok().with_static_body(b"Hello, World!")
}

async fn get_user(Path(id): Path<u32>) -> Json<User> {
    Json(User {
        id,
        name: "Ada Lovelace",
        email: "ada@example.com",
    })
}

async fn echo(Json(order): Json<Order>) -> Json<Order> {
    Json(order)
}

fn app() -> App {
    App::new()
        .get("/plaintext", plaintext)
        .get("/users/:id", get_user)
        .post("/echo", echo)
}

/// A JSON order of about 1 KiB.
fn order_json() -> Vec<u8> {
    let items = (0..10)
        .map(|i| Item {
            id: i,
            name: format!("item number {i} with a longer name"),
            tags: vec!["blue".into(), "large".into(), "sale".into()],
            price: 9.99 + f64::from(i),
        })
        .collect();
    let body = serde_json::to_vec(&Order {
        customer: "Ada Lovelace <ada@example.com>".into(),
        items,
    })
    .expect("serialises");
    assert!(
        (900..1200).contains(&body.len()),
        "body is {} bytes",
        body.len()
    );
    body
}

/// The workloads: name, raw request bytes, and how many requests they hold.
fn workloads() -> Vec<(&'static str, Vec<u8>, usize)> {
    let get = b"GET /plaintext HTTP/1.1\r\nHost: bench\r\n\r\n".to_vec();
    let user =
        b"GET /users/42 HTTP/1.1\r\nHost: bench\r\nAccept: application/json\r\n\r\n".to_vec();
    let body = order_json();
    let mut post = format!(
        "POST /echo HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    post.extend_from_slice(&body);
    let pipelined = get.repeat(16);
    vec![
        ("get_plaintext", get, 1),
        ("get_user_param_json", user, 1),
        ("post_echo_1k_json", post, 1),
        ("pipelined_16_plaintext", pipelined, 16),
    ]
}

/// The baseline server: reads the whole request stream, answers each request
/// (counted by its blank line) with `canned`, closes. No parsing, no routing.
async fn canned_roundtrip(raw: &[u8], canned: &[u8]) -> Vec<u8> {
    let (mut client, mut server) = tokio::io::duplex(64 * 1024);
    let serve = async move {
        let mut input = Vec::with_capacity(raw.len());
        let _ = server.read_to_end(&mut input).await;
        let n = memchr_count(&input, b"\r\n\r\n");
        let mut out = Vec::with_capacity(canned.len() * n);
        for _ in 0..n {
            out.extend_from_slice(canned);
        }
        let _ = server.write_all(&out).await;
        let _ = server.shutdown().await;
    };
    let talk = async move {
        let mut out = Vec::with_capacity(256);
        if client.write_all(raw).await.is_ok() && client.shutdown().await.is_ok() {
            let _ = client.read_to_end(&mut out).await;
        }
        out
    };
    tokio::join!(serve, talk).1
}

fn memchr_count(hay: &[u8], needle: &[u8]) -> usize {
    hay.windows(needle.len()).filter(|w| *w == needle).count()
}

fn count_responses(out: &[u8]) -> usize {
    memchr_count(out, b"HTTP/1.1 200 OK\r\n")
}

fn bench_cycle(c: &mut Criterion) {
    let rt: Runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let local = LocalSet::new();
    let conn = TestConnection::new(app()).expect("routes are valid");

    for (name, raw, n) in workloads() {
        // The real answers, checked once, double as the baseline's canned bytes.
        let out = local.block_on(&rt, conn.roundtrip(&raw));
        assert_eq!(
            count_responses(&out),
            n,
            "{name}: {}",
            String::from_utf8_lossy(&out)
        );
        let one = out.len() / n;
        let canned = out[..one].to_vec();
        let check = local.block_on(&rt, canned_roundtrip(&raw, &canned));
        assert_eq!(check.len(), out.len(), "{name}: baseline output");

        let mut g = c.benchmark_group(format!("cycle/{name}"));
        g.throughput(Throughput::Elements(n as u64));
        g.bench_function("armature", |b| {
            b.iter(|| black_box(local.block_on(&rt, conn.roundtrip(black_box(&raw)))))
        });
        g.bench_function("canned over duplex", |b| {
            b.iter(|| black_box(local.block_on(&rt, canned_roundtrip(black_box(&raw), &canned))))
        });
        g.finish();
    }
}

criterion_group!(benches, bench_cycle);
criterion_main!(benches);
