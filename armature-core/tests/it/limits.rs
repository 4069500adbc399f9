//! Limits and malformed input: 431, 414, 413, 400, 501, each followed by a close.

use armature_core::RunningServer;

use crate::support::{
    assert_rejected, config, echo_app, get, post, raw_exchange, show, start, start_with, stop,
    RawConn,
};

/// A server with every limit set small.
fn small_limits() -> RunningServer {
    start_with(
        echo_app(),
        config()
            .max_head_size(1024)
            .max_headers(8)
            .max_uri_len(128)
            .max_body_size(64),
    )
}

fn request_with_headers(path: &str, headers: &[(String, String)]) -> Vec<u8> {
    let mut req = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n");
    for (n, v) in headers {
        req.push_str(&format!("{n}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.into_bytes()
}

#[test]
fn head_too_large_is_431() {
    let server = small_limits();
    let big = vec![("X-Big".to_owned(), "a".repeat(2000))];
    assert_rejected(server.addr(), &request_with_headers("/text", &big), 431);
    stop(server);
}

#[test]
fn head_too_large_without_its_end_is_431() {
    // The head never ends: the server must not buffer without bound waiting for CRLFCRLF.
    let server = small_limits();
    let mut req = b"GET /text HTTP/1.1\r\nHost: localhost\r\nX-Endless: ".to_vec();
    req.extend(std::iter::repeat_n(b'a', 4000));
    assert_rejected(server.addr(), &req, 431);
    stop(server);
}

#[test]
fn too_many_headers_is_431() {
    let server = small_limits();
    let many: Vec<_> = (0..20)
        .map(|i| (format!("X-H{i}"), "v".to_owned()))
        .collect();
    assert_rejected(server.addr(), &request_with_headers("/text", &many), 431);
    stop(server);
}

#[test]
fn uri_too_long_is_414() {
    let server = small_limits();
    let path = format!("/echo/{}", "a".repeat(300));
    assert_rejected(server.addr(), &get(&path), 414);
    stop(server);
}

#[test]
fn declared_body_over_the_limit_is_413_without_waiting_for_the_body() {
    let server = small_limits();
    // Only the head is sent: the declared length alone decides.
    let req = b"POST /body HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100\r\n\r\n";
    assert_rejected(server.addr(), req, 413);
    stop(server);
}

#[test]
fn chunked_body_growing_over_the_limit_is_413() {
    let server = small_limits();
    // Each chunk is under the limit; together they are over it. No last chunk is sent.
    let mut req =
        b"POST /body HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    for _ in 0..3 {
        req.extend_from_slice(b"28\r\n");
        req.extend(std::iter::repeat_n(b'c', 40));
        req.extend_from_slice(b"\r\n");
    }
    assert_rejected(server.addr(), &req, 413);
    stop(server);
}

#[test]
fn chunk_declaring_a_size_over_the_limit_is_413() {
    let server = small_limits();
    let req = b"POST /body HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n100000\r\nabc";
    assert_rejected(server.addr(), req, 413);
    stop(server);
}

#[test]
fn requests_within_the_limits_are_served() {
    let server = small_limits();
    let mut conn = RawConn::connect(server.addr());
    // Exactly max_body_size (64) bytes, by length and chunked.
    conn.send(&post("/body", "text/plain", &[b'b'; 64]));
    let resp = conn.read_response();
    assert_eq!(resp.status, 200, "{}", show(&resp.raw));
    assert_eq!(resp.body.len(), 64);
    let mut chunked =
        b"POST /body HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n20\r\n"
            .to_vec();
    chunked.extend_from_slice(&[b'c'; 32]);
    chunked.extend_from_slice(b"\r\n20\r\n");
    chunked.extend_from_slice(&[b'd'; 32]);
    chunked.extend_from_slice(b"\r\n0\r\n\r\n");
    conn.send(&chunked);
    let resp = conn.read_response();
    assert_eq!(resp.status, 200, "{}", show(&resp.raw));
    assert_eq!(resp.body.len(), 64);
    // Host plus seven more headers: exactly max_headers (8).
    let seven: Vec<_> = (0..7)
        .map(|i| (format!("X-H{i}"), "v".to_owned()))
        .collect();
    conn.send(&request_with_headers("/echo/eight", &seven));
    let resp = conn.read_response();
    assert_eq!(
        (resp.status, resp.text().as_str()),
        (200, "eight"),
        "{}",
        show(&resp.raw)
    );
    // A URI well under max_uri_len.
    let path = format!("/echo/{}", "u".repeat(60));
    conn.send(&get(&path));
    let resp = conn.read_response();
    assert_eq!(resp.status, 200, "{}", show(&resp.raw));
    drop(conn);
    stop(server);
}

#[test]
fn default_limits_are_in_force() {
    // ServerConfig::default(): 16 KiB head, 64 headers, 8 KiB URI, 2 MiB body.
    let server = start(echo_app());
    let addr = server.addr();
    let big = vec![("X-Big".to_owned(), "a".repeat(17 * 1024))];
    assert_rejected(addr, &request_with_headers("/text", &big), 431);
    let many: Vec<_> = (0..70)
        .map(|i| (format!("X-H{i}"), "v".to_owned()))
        .collect();
    assert_rejected(addr, &request_with_headers("/text", &many), 431);
    assert_rejected(addr, &get(&format!("/echo/{}", "a".repeat(9 * 1024))), 414);
    let req = b"POST /body HTTP/1.1\r\nHost: localhost\r\nContent-Length: 3145728\r\n\r\n";
    assert_rejected(addr, req, 413);

    // And just inside them: a 15 KiB header, 60 headers, a 8000-byte URI, a 2 MiB body.
    let mut conn = RawConn::connect(addr);
    let big = vec![("X-Big".to_owned(), "b".repeat(15 * 1024))];
    conn.send(&request_with_headers("/echo/big-head", &big));
    let resp = conn.read_response();
    assert_eq!(
        (resp.status, resp.text().as_str()),
        (200, "big-head"),
        "a 15 KiB head was refused"
    );
    let sixty: Vec<_> = (0..60)
        .map(|i| (format!("X-H{i}"), "v".to_owned()))
        .collect();
    conn.send(&request_with_headers("/echo/sixty", &sixty));
    assert_eq!(conn.read_response().text(), "sixty");
    let long = "l".repeat(8000);
    conn.send(&get(&format!("/echo/{long}")));
    let resp = conn.read_response();
    assert_eq!(resp.status, 200);
    assert_eq!(resp.text(), long);
    let body = vec![b'm'; 2 * 1024 * 1024];
    conn.send(&post("/body", "application/octet-stream", &body));
    let resp = conn.read_response();
    assert_eq!(resp.status, 200, "2 MiB body (the default limit) refused");
    assert!(resp.body == body, "2 MiB body not echoed intact");
    drop(conn);
    stop(server);
}

/// Requests whose request line or a header line is malformed: 400 and close.
const MALFORMED: &[(&str, &[u8])] = &[
    ("no target, no version", b"GET\r\n\r\n"),
    ("no version (HTTP/0.9 style)", b"GET /text\r\n\r\n"),
    (
        "junk after the version",
        b"GET /text HTTP/1.1 junk\r\nHost: x\r\n\r\n",
    ),
    ("not HTTP", b"GET /text FOO/1.1\r\nHost: x\r\n\r\n"),
    (
        "control byte in method",
        b"G\x01T /text HTTP/1.1\r\nHost: x\r\n\r\n",
    ),
    (
        "DEL in target",
        b"GET /te\x7fxt HTTP/1.1\r\nHost: x\r\n\r\n",
    ),
    ("space in target", b"GET /te xt HTTP/1.1\r\nHost: x\r\n\r\n"),
    (
        "header without colon",
        b"GET /text HTTP/1.1\r\nHost localhost\r\n\r\n",
    ),
    (
        "empty header name",
        b"GET /text HTTP/1.1\r\nHost: x\r\n: value\r\n\r\n",
    ),
    (
        "bad char in header name",
        b"GET /text HTTP/1.1\r\nHost: x\r\nX(y): 1\r\n\r\n",
    ),
    (
        "NUL in header value",
        b"GET /text HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n",
    ),
    (
        "binary garbage",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n",
    ),
];

#[test]
fn malformed_request_line_or_header_is_400() {
    let server = small_limits();
    for (what, req) in MALFORMED {
        let ex = raw_exchange(server.addr(), req);
        let responses = ex.responses();
        assert!(
            responses.len() == 1 && responses[0].status == 400 && ex.closed,
            "{what}: expected one 400 then close; sent {}; got {} (closed: {})",
            show(req),
            show(&ex.bytes),
            ex.closed
        );
    }
    stop(server);
}

#[test]
fn unsupported_transfer_encoding_is_501() {
    let server = small_limits();
    let req = b"POST /body HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: gzip\r\n\r\nabc";
    assert_rejected(server.addr(), req, 501);
    let req = b"POST /body HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: xchunked\r\n\r\nabc";
    assert_rejected(server.addr(), req, 501);
    stop(server);
}

#[test]
fn unknown_method_is_501() {
    let server = small_limits();
    for method in ["FOO", "BREW", "get", "PROPFIND"] {
        let req = format!("{method} /text HTTP/1.1\r\nHost: localhost\r\n\r\n");
        assert_rejected(server.addr(), req.as_bytes(), 501);
    }
    stop(server);
}

#[test]
fn a_rejected_request_on_a_used_connection_still_closes_it() {
    let server = small_limits();
    let mut conn = RawConn::connect(server.addr());
    conn.send(&get("/echo/ok"));
    assert_eq!(conn.read_response().text(), "ok");
    conn.send(&get(&format!("/echo/{}", "a".repeat(300))));
    let resp = conn.read_response();
    assert_eq!(resp.status, 414, "{}", show(&resp.raw));
    conn.expect_eof();
    stop(server);
}
