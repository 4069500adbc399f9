//! `Compression` over TCP: gzip and brotli by `Accept-Encoding` (decoded back and
//! compared), and the responses it must leave alone; each alone (the hook path) and
//! beside an `async fn` layer (the general path, a future per layer).

use std::io::Read;

use armature_core::middleware::Compression;
use armature_core::middleware::Next;
use armature_core::{App, Bytes, HttpRequest, HttpResponse, Response};

use crate::support::{hyper_request, hyper_send, start, stop_async};

fn big() -> String {
    (0..400)
        .map(|i| format!("line {i} of a compressible body\n"))
        .collect()
}

async fn get(
    addr: std::net::SocketAddr,
    path: &str,
    accept: Option<&str>,
) -> hyper::Response<Bytes> {
    let mut req = hyper_request("GET", addr, path);
    if let Some(accept) = accept {
        req = req.header("accept-encoding", accept);
    }
    hyper_send(
        addr,
        req.body(http_body_util::Full::new(Bytes::new())).unwrap(),
    )
    .await
}

fn h<'a>(resp: &'a hyper::Response<Bytes>, name: &str) -> Option<&'a str> {
    resp.headers().get(name).map(|v| v.to_str().unwrap())
}

fn decode(coding: &str, body: &[u8]) -> String {
    let mut out = String::new();
    match coding {
        "gzip" => flate2::read::GzDecoder::new(body).read_to_string(&mut out),
        "br" => brotli::Decompressor::new(body, 4096).read_to_string(&mut out),
        other => panic!("unexpected coding {other}"),
    }
    .expect("decoding the body");
    out
}

async fn pass(req: HttpRequest, next: Next) -> Response {
    next.run(req).await
}

/// The app, with `Compression` the only middleware or beside an `async fn`.
fn app(with_fn: bool) -> App {
    let app = App::new()
        .get("/big", || async { big() })
        .get("/small", || async { "tiny" })
        .get("/no-transform", || async {
            HttpResponse::ok()
                .with_header("Cache-Control", "public, no-transform")
                .with_body(big())
        })
        .get("/encoded", || async {
            HttpResponse::ok()
                .with_header("Content-Encoding", "gzip")
                .with_body(big())
        })
        .get("/png", || async {
            HttpResponse::ok()
                .with_content_type("image/png")
                .with_body(big())
        })
        .middleware(Compression::new());
    if with_fn {
        app.middleware(pass)
    } else {
        app
    }
}

#[tokio::test]
async fn bodies_are_compressed_by_accept_encoding_and_q_values() {
    for with_fn in [false, true] {
        compressed(with_fn).await;
    }
}

async fn compressed(with_fn: bool) {
    let server = start(app(with_fn));
    let addr = server.addr();
    for (accept, expected) in [
        ("gzip", Some("gzip")),
        ("gzip, deflate, br", Some("br")),
        ("gzip, deflate, br, zstd", Some("br")),
        // Longer than what is kept in place until the response: chosen at once.
        (
            "identity;q=0.5, deflate;q=0.7, gzip;q=0.9, br;q=0.8",
            Some("gzip"),
        ),
        ("identity;q=0.5, deflate;q=0.7, gzip;q=0, br;q=0", None),
        ("br;q=0.4, gzip;q=0.8", Some("gzip")),
        ("br;q=0, gzip;q=0.1", Some("gzip")),
        ("gzip;q=0, br;q=0", None),
        ("identity", None),
    ] {
        let resp = get(addr, "/big", Some(accept)).await;
        assert_eq!(resp.status(), 200);
        assert_eq!(
            h(&resp, "vary"),
            Some("Accept-Encoding"),
            "{accept} {with_fn}"
        );
        assert_eq!(h(&resp, "content-encoding"), expected, "{accept} {with_fn}");
        let length: usize = h(&resp, "content-length").unwrap().parse().unwrap();
        assert_eq!(length, resp.body().len());
        match expected {
            Some(coding) => {
                assert!(
                    resp.body().len() < big().len() / 4,
                    "{accept}: barely compressed"
                );
                assert_eq!(decode(coding, resp.body()), big(), "{accept}");
            }
            None => assert_eq!(resp.body(), big().as_str()),
        }
    }
    let resp = get(addr, "/big", None).await;
    assert_eq!(h(&resp, "content-encoding"), None);
    assert_eq!(h(&resp, "vary"), Some("Accept-Encoding"));
    stop_async(server).await;
}

#[tokio::test]
async fn small_already_encoded_no_transform_and_compressed_types_are_left_alone() {
    for with_fn in [false, true] {
        left_alone(with_fn).await;
    }
}

async fn left_alone(with_fn: bool) {
    let server = start(app(with_fn));
    let addr = server.addr();
    for path in ["/small", "/no-transform", "/png"] {
        for accept in [Some("gzip, br"), None] {
            let resp = get(addr, path, accept).await;
            assert_eq!(resp.status(), 200);
            assert_eq!(h(&resp, "content-encoding"), None, "{path} {with_fn}");
            assert_eq!(h(&resp, "vary"), None, "{path} {with_fn}");
        }
    }
    let resp = get(addr, "/encoded", Some("br")).await;
    assert_eq!(
        h(&resp, "content-encoding"),
        Some("gzip"),
        "kept the handler's own"
    );
    assert_eq!(resp.body(), big().as_str(), "not encoded twice");
    stop_async(server).await;
}
