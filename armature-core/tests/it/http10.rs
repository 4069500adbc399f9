//! HTTP/1.0 clients: close by default, persistent only with `Connection: keep-alive`.

use crate::support::{assert_standard_headers, echo_app, show, start, stop, RawConn};

#[test]
fn http10_request_is_answered_then_the_connection_closes() {
    let server = start(echo_app());
    let mut conn = RawConn::connect(server.addr());
    // No Host header: valid in HTTP/1.0.
    conn.send(b"GET /echo/10 HTTP/1.0\r\n\r\n");
    let resp = conn.read_response();
    assert_eq!(resp.status, 200, "{}", show(&resp.raw));
    assert_eq!(resp.text(), "10");
    assert_standard_headers(&resp);
    conn.expect_eof();
    stop(server);
}

#[test]
fn http10_with_keep_alive_keeps_the_connection_open() {
    let server = start(echo_app());
    let mut conn = RawConn::connect(server.addr());
    for n in 0..3 {
        conn.send(format!("GET /echo/{n} HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").as_bytes());
        let resp = conn.read_response();
        assert_eq!(resp.status, 200, "{}", show(&resp.raw));
        assert_eq!(resp.text(), n.to_string());
        // A 1.0 client only reuses the connection if the response says so.
        assert!(
            resp.connection_has("keep-alive"),
            "HTTP/1.0 keep-alive response lacks `Connection: keep-alive`: {}",
            show(&resp.raw)
        );
    }
    // Without the option the next 1.0 request ends the connection.
    conn.send(b"GET /echo/last HTTP/1.0\r\n\r\n");
    assert_eq!(conn.read_response().text(), "last");
    conn.expect_eof();
    stop(server);
}

#[test]
fn http10_post_with_content_length_body() {
    let server = start(echo_app());
    let mut conn = RawConn::connect(server.addr());
    conn.send(b"POST /body HTTP/1.0\r\nContent-Length: 4\r\n\r\nten!");
    let resp = conn.read_response();
    assert_eq!(resp.status, 200, "{}", show(&resp.raw));
    assert_eq!(resp.body, b"ten!");
    conn.expect_eof();
    stop(server);
}

#[test]
fn http10_streamed_response_is_not_chunked() {
    // Chunked transfer coding does not exist in HTTP/1.0: a streamed body must be sent
    // some other way (buffered with Content-Length, or delimited by closing).
    let server = start(echo_app());
    let mut conn = RawConn::connect(server.addr());
    conn.send(b"GET /stream HTTP/1.0\r\n\r\n");
    let rest = conn
        .closed_within(crate::support::IO_TIMEOUT)
        .expect("HTTP/1.0 connection not closed");
    let responses = crate::support::parse_all(&rest, true);
    assert_eq!(responses.len(), 1, "{}", show(&rest));
    let resp = &responses[0];
    assert_eq!(resp.status, 200);
    assert!(
        resp.header("transfer-encoding").is_none(),
        "chunked response to an HTTP/1.0 request: {}",
        show(&resp.raw)
    );
    assert_eq!(resp.text(), "part1part2part3");
    stop(server);
}
