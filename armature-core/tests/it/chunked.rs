//! Chunked transfer coding: request bodies (extensions and trailers accepted and
//! dropped) and streamed response bodies.

use std::collections::VecDeque;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use http_body_util::{BodyExt, Empty};
use hyper::body::{Body, Frame};

use crate::support::{
    assert_standard_headers, echo_app, get, hyper_conn, hyper_request, show, start, stop,
    stop_async, Framing, RawConn,
};
use armature_core::Bytes;

fn chunked_post(path: &str, chunked_body: &[u8]) -> Vec<u8> {
    let mut req =
        format!("POST {path} HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n")
            .into_bytes();
    req.extend_from_slice(chunked_body);
    req
}

#[test]
fn chunked_request_body_is_decoded() {
    let server = start(echo_app());
    let mut conn = RawConn::connect(server.addr());
    conn.send(&chunked_post(
        "/body",
        b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
    ));
    let resp = conn.read_response();
    assert_eq!(resp.status, 200, "{}", show(&resp.raw));
    assert_eq!(resp.text(), "hello world");
    assert_standard_headers(&resp);
    drop(conn);
    stop(server);
}

#[test]
fn chunk_sizes_are_hex_in_either_case() {
    let server = start(echo_app());
    let mut conn = RawConn::connect(server.addr());
    let mut body = b"A\r\n0123456789\r\nb\r\nabcdefghijk\r\n".to_vec();
    body.extend_from_slice(b"0\r\n\r\n");
    conn.send(&chunked_post("/body", &body));
    let resp = conn.read_response();
    assert_eq!(resp.status, 200, "{}", show(&resp.raw));
    assert_eq!(resp.text(), "0123456789abcdefghijk");
    drop(conn);
    stop(server);
}

#[test]
fn chunk_extensions_and_trailers_are_accepted_and_dropped() {
    let server = start(echo_app());
    let mut conn = RawConn::connect(server.addr());
    conn.send(&chunked_post(
        "/body",
        b"5;name=value\r\nhello\r\n1;flag;q=\"quoted;str\"\r\n!\r\n0;last\r\n\
          X-Checksum: abc\r\nX-Other: 1\r\n\r\n",
    ));
    let resp = conn.read_response();
    assert_eq!(resp.status, 200, "{}", show(&resp.raw));
    assert_eq!(resp.text(), "hello!");
    // The trailer section was consumed: the next request on the connection parses.
    conn.send(&get("/echo/after-trailers"));
    let resp = conn.read_response();
    assert_eq!(resp.status, 200, "{}", show(&resp.raw));
    assert_eq!(resp.text(), "after-trailers");
    drop(conn);
    stop(server);
}

#[test]
fn chunked_body_split_across_many_writes() {
    let server = start(echo_app());
    let mut conn = RawConn::connect(server.addr());
    let head_len = chunked_post("/body", b"").len();
    let req = chunked_post(
        "/body",
        b"4\r\nwiki\r\n5\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\n\r\n",
    );
    conn.send(&req[..head_len]);
    // Cut inside a size line, inside data, between CR and LF, and inside the last chunk.
    let cuts = [
        head_len + 1,
        head_len + 5,
        head_len + 8,
        head_len + 20,
        req.len() - 3,
    ];
    let mut from = head_len;
    for cut in cuts.into_iter().chain([req.len()]) {
        std::thread::sleep(Duration::from_millis(15));
        conn.send(&req[from..cut]);
        from = cut;
    }
    let resp = conn.read_response();
    assert_eq!(resp.status, 200, "{}", show(&resp.raw));
    assert_eq!(resp.text(), "wikipedia in\r\n\r\nchunks.");
    drop(conn);
    stop(server);
}

#[test]
fn empty_chunked_body() {
    let server = start(echo_app());
    let mut conn = RawConn::connect(server.addr());
    conn.send(&chunked_post("/body", b"0\r\n\r\n"));
    let resp = conn.read_response();
    assert_eq!(resp.status, 200, "{}", show(&resp.raw));
    assert_eq!(resp.body, b"");
    conn.send(&get("/echo/z"));
    assert_eq!(conn.read_response().text(), "z");
    drop(conn);
    stop(server);
}

#[test]
fn streamed_response_is_sent_chunked() {
    let server = start(echo_app());
    let mut conn = RawConn::connect(server.addr());
    conn.send(&get("/stream"));
    let resp = conn.read_response();
    assert_eq!(resp.status, 200, "{}", show(&resp.raw));
    assert_eq!(resp.framing, Framing::Chunked, "{}", show(&resp.raw));
    assert_eq!(resp.header("transfer-encoding"), Some("chunked"));
    assert_eq!(resp.text(), "part1part2part3");
    assert_standard_headers(&resp);
    // Keep-alive survives a streamed response.
    conn.send(&get("/echo/next"));
    assert_eq!(conn.read_response().text(), "next");
    drop(conn);
    stop(server);
}

#[tokio::test]
async fn hyper_reads_a_streamed_response() {
    let server = start(echo_app());
    let addr = server.addr();
    let mut sender = hyper_conn::<Empty<Bytes>>(addr).await;
    for _ in 0..2 {
        sender.ready().await.unwrap();
        let req = hyper_request("GET", addr, "/stream")
            .body(Empty::new())
            .unwrap();
        let resp = sender.send_request(req).await.expect("response");
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.headers()["transfer-encoding"], "chunked");
        assert_eq!(resp.headers()["server"], "armature");
        let body = resp.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(body, "part1part2part3");
    }
    drop(sender);
    stop_async(server).await;
}

/// A request body of unknown length, so hyper sends it chunked.
struct UnsizedBody(VecDeque<Bytes>);

impl Body for UnsizedBody {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        Poll::Ready(self.0.pop_front().map(|b| Ok(Frame::data(b))))
    }
}

#[tokio::test]
async fn hyper_sends_a_chunked_request_body() {
    let server = start(echo_app());
    let addr = server.addr();
    let mut sender = hyper_conn::<UnsizedBody>(addr).await;
    let big = Bytes::from(vec![b'x'; 100_000]);
    let parts = VecDeque::from([
        Bytes::from_static(b"abc"),
        big.clone(),
        Bytes::from_static(b"z"),
    ]);
    let req = hyper_request("POST", addr, "/body")
        .body(UnsizedBody(parts))
        .unwrap();
    let resp = sender.send_request(req).await.expect("response");
    assert_eq!(resp.status(), 200);
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(body.len(), 100_004);
    assert!(body.starts_with(b"abcx") && body.ends_with(b"xz"));
    drop(sender);
    stop_async(server).await;
}
