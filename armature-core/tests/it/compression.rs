//! `Compression` over TCP: gzip and brotli by `Accept-Encoding` (decoded back and
//! compared), and the responses it must leave alone; alone (the hook path, where
//! its `after` reads the connection's request), beside another built-in (the hook
//! path with `before`s) and beside an `async fn` layer (the general path, a future
//! per layer); pipelined requests and streamed request bodies.

use std::io::Read;

use armature_core::extract::StreamingBody;
use armature_core::middleware::{Compression, Next, RequestId};
use armature_core::{App, Bytes, HttpRequest, HttpResponse, Response};

use crate::support::{hyper_request, hyper_send, show, start, stop, stop_async, RawConn};

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

/// What else than `Compression` the app's middleware are.
#[derive(Clone, Copy, Debug)]
enum Beside {
    /// Nothing: the hook path without `before`s.
    Nothing,
    /// `RequestId` (outside it): the hook path with `before`s.
    Builtin,
    /// An `async fn` (outside it): the general path.
    Fn,
}

const BESIDE: [Beside; 3] = [Beside::Nothing, Beside::Builtin, Beside::Fn];

/// The app, with `Compression` app-wide, `beside` what else.
fn app(beside: Beside) -> App {
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
        // Its body streams in; it answers `big()` once the body ended.
        .post("/upload", |body: StreamingBody| async move {
            body.collect().await.map(|_| big())
        })
        .middleware(Compression::new());
    match beside {
        Beside::Nothing => app,
        Beside::Builtin => app.middleware(RequestId::new()),
        Beside::Fn => app.middleware(pass),
    }
}

#[tokio::test]
async fn bodies_are_compressed_by_accept_encoding_and_q_values() {
    for beside in BESIDE {
        compressed(beside).await;
    }
}

async fn compressed(beside: Beside) {
    let server = start(app(beside));
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
            "{accept} {beside:?}"
        );
        assert_eq!(
            h(&resp, "content-encoding"),
            expected,
            "{accept} {beside:?}"
        );
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
    for beside in BESIDE {
        left_alone(beside).await;
    }
}

async fn left_alone(beside: Beside) {
    let server = start(app(beside));
    let addr = server.addr();
    for path in ["/small", "/no-transform", "/png"] {
        for accept in [Some("gzip, br"), None] {
            let resp = get(addr, path, accept).await;
            assert_eq!(resp.status(), 200);
            assert_eq!(h(&resp, "content-encoding"), None, "{path} {beside:?}");
            assert_eq!(h(&resp, "vary"), None, "{path} {beside:?}");
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

/// `GET path` with `Accept-Encoding: accept` (`None`: without the header).
fn request(path: &str, accept: Option<&str>) -> String {
    let accept = accept.map_or(String::new(), |a| format!("Accept-Encoding: {a}\r\n"));
    format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n{accept}\r\n")
}

/// Checks a response to `/big` against the coding expected of its request.
fn check_big(resp: &crate::support::Response, expected: Option<&str>, ctx: &str) {
    assert_eq!(resp.status, 200, "{ctx}");
    assert_eq!(resp.header("content-encoding"), expected, "{ctx}");
    assert_eq!(resp.header("vary"), Some("Accept-Encoding"), "{ctx}");
    match expected {
        Some(coding) => assert_eq!(decode(coding, &resp.body), big(), "{ctx}"),
        None => assert_eq!(resp.body, big().as_bytes(), "{ctx}"),
    }
}

#[test]
fn pipelined_requests_are_each_answered_by_their_own_accept_encoding() {
    // Written at once: each response is made while the requests after it are
    // already in the read buffer; each must follow its own request's header.
    let cases: &[(&str, Option<&str>, Option<&str>)] = &[
        ("/big", Some("gzip"), Some("gzip")),
        ("/big", None, None),
        ("/big", Some("br, gzip"), Some("br")),
        ("/small", Some("gzip"), None),
        ("/big", Some("identity"), None),
        ("/big", Some("gzip;q=0.5, br;q=0.1"), Some("gzip")),
    ];
    for beside in BESIDE {
        let server = start(app(beside));
        let mut conn = RawConn::connect(server.addr());
        let batch: String = cases.iter().map(|(p, a, _)| request(p, *a)).collect();
        conn.send(batch.as_bytes());
        for &(path, accept, expected) in cases {
            let resp = conn.read_response();
            let ctx = format!("{path} {accept:?} {beside:?}: {}", show(&resp.raw));
            if path == "/big" {
                check_big(&resp, expected, &ctx);
            } else {
                assert_eq!(resp.header("content-encoding"), None, "{ctx}");
                assert_eq!(resp.header("vary"), None, "{ctx}");
                assert_eq!(resp.body, b"tiny", "{ctx}");
            }
        }
        stop(server);
    }
}

#[test]
fn a_response_to_a_streamed_body_is_compressed_by_its_request() {
    for beside in BESIDE {
        let server = start(app(beside));
        let mut conn = RawConn::connect(server.addr());
        // The body in two writes (the handler runs while it arrives), then a
        // pipelined request with another `Accept-Encoding`.
        conn.send(
            b"POST /upload HTTP/1.1\r\nHost: localhost\r\nAccept-Encoding: br\r\n\
              Content-Length: 8\r\n\r\nfirst",
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
        let mut rest = b"!!!".to_vec();
        rest.extend_from_slice(request("/big", Some("gzip")).as_bytes());
        conn.send(&rest);
        for expected in ["br", "gzip"] {
            let resp = conn.read_response();
            let ctx = format!("{expected} {beside:?}: {}", show(&resp.raw));
            check_big(&resp, Some(expected), &ctx);
        }
        stop(server);
    }
}
