//! Response building and encoding: `HttpResponse` beside `FastResponse`, each step
//! with its baseline (`serde_json::to_vec` for JSON bodies, a hand-written `Vec`
//! for wire bytes, `httpdate` for the date every encoding includes).
//!
//! Run with: `cargo bench -p armature-benches --bench response`

use std::time::SystemTime;

use armature_core::fast_response::FastResponse;
use armature_core::vectored_io::ResponseChunks;
use armature_core::{HttpResponse, IntoResponse};
use criterion::{black_box, criterion_group, criterion_main, Criterion};
use serde::Serialize;

#[derive(Serialize)]
struct User {
    id: u32,
    name: &'static str,
    email: &'static str,
    active: bool,
}

const USER: User = User {
    id: 42,
    name: "Ada Lovelace",
    email: "ada@example.com",
    active: true,
};

fn create(c: &mut Criterion) {
    let mut g = c.benchmark_group("response_creation/ok");
    g.bench_function("HttpResponse::ok", |b| {
        b.iter(|| black_box(HttpResponse::ok()))
    });
    g.bench_function("FastResponse::ok", |b| {
        b.iter(|| black_box(FastResponse::ok()))
    });
    g.finish();

    let mut g = c.benchmark_group("response_creation/3_headers");
    g.bench_function("HttpResponse", |b| {
        b.iter(|| {
            black_box(
                HttpResponse::ok()
                    .with_header("Cache-Control", "no-cache")
                    .with_header("X-Request-Id", "5f1c9a")
                    .with_header("Vary", "Accept-Encoding"),
            )
        })
    });
    g.bench_function("FastResponse", |b| {
        b.iter(|| {
            black_box(
                FastResponse::ok()
                    .with_header("Cache-Control", "no-cache")
                    .with_header("X-Request-Id", "5f1c9a")
                    .with_header("Vary", "Accept-Encoding"),
            )
        })
    });
    g.finish();

    let mut g = c.benchmark_group("response_creation/json_body");
    g.bench_function("HttpResponse::with_json", |b| {
        b.iter(|| {
            black_box(
                HttpResponse::ok()
                    .with_json(black_box(&USER))
                    .expect("serialises"),
            )
        })
    });
    g.bench_function("FastResponse::with_json", |b| {
        b.iter(|| {
            black_box(
                FastResponse::ok()
                    .with_json(black_box(&USER))
                    .expect("serialises"),
            )
        })
    });
    g.bench_function("serde_json::to_vec", |b| {
        b.iter(|| black_box(serde_json::to_vec(black_box(&USER)).expect("serialises")))
    });
    g.finish();
}

/// What the encoder writes for a 13-byte text body, by hand: the floor for encoding.
fn handwritten(date: &[u8], body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    out.extend_from_slice(b"HTTP/1.1 200 OK\r\nServer: armature\r\nDate: ");
    out.extend_from_slice(date);
    out.extend_from_slice(b"\r\nContent-Type: text/plain\r\nContent-Length: ");
    out.extend_from_slice(itoa::Buffer::new().format(body.len()).as_bytes());
    out.extend_from_slice(b"\r\n\r\n");
    out.extend_from_slice(body);
    out
}

fn encode(c: &mut Criterion) {
    const BODY: &[u8] = b"Hello, World!";
    let date = httpdate::fmt_http_date(SystemTime::now());

    // Both encoders must produce the hand-written bytes (up to the date).
    let fast =
        ResponseChunks::from_response(FastResponse::ok().with_static_body(BODY).into_response());
    let expected = handwritten(date.as_bytes(), BODY);
    assert_eq!(fast.len(), expected.len(), "encoded length");
    let slow = HttpResponse::ok()
        .with_content_type("text/plain")
        .with_body(BODY)
        .into_chunks();
    assert_eq!(slow.len(), expected.len(), "encoded length");

    let mut g = c.benchmark_group("response/encode_plaintext");
    g.bench_function("HttpResponse::into_chunks", |b| {
        b.iter(|| {
            black_box(
                HttpResponse::ok()
                    .with_content_type("text/plain")
                    .with_body(black_box(BODY))
                    .into_chunks(),
            )
        })
    });
    g.bench_function("FastResponse+ResponseChunks::from_response", |b| {
        b.iter(|| {
            black_box(ResponseChunks::from_response(
                FastResponse::ok()
                    .with_static_body(black_box(BODY))
                    .into_response(),
            ))
        })
    });
    g.bench_function("handwritten Vec (cached date)", |b| {
        b.iter(|| black_box(handwritten(black_box(date.as_bytes()), black_box(BODY))))
    });
    // Outside a server worker no timer keeps the date cached, so each encoding
    // above formats it afresh; this is that share.
    g.bench_function("httpdate::fmt_http_date(now)", |b| {
        b.iter(|| black_box(httpdate::fmt_http_date(SystemTime::now())))
    });
    g.finish();

    let mut g = c.benchmark_group("response/encode_json");
    g.bench_function("HttpResponse::with_json+into_chunks", |b| {
        b.iter(|| {
            black_box(
                HttpResponse::ok()
                    .with_json(black_box(&USER))
                    .expect("serialises")
                    .into_chunks(),
            )
        })
    });
    g.bench_function("FastResponse::with_json+from_response", |b| {
        b.iter(|| {
            black_box(ResponseChunks::from_response(
                FastResponse::ok()
                    .with_json(black_box(&USER))
                    .expect("serialises")
                    .into_response(),
            ))
        })
    });
    g.finish();
}

criterion_group!(benches, create, encode);
criterion_main!(benches);
