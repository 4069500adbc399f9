//! `Expect: 100-continue`: the interim response comes before the client sends the body.

use crate::support::{config, echo_app, get, show, start, start_with, stop, RawConn};

#[test]
fn expect_100_continue_gets_the_interim_response_before_the_body_is_sent() {
    let server = start(echo_app());
    let mut conn = RawConn::connect(server.addr());
    conn.send(
        b"POST /body HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\n\
          Expect: 100-continue\r\n\r\n",
    );
    // Nothing of the body has been sent: a server that waits for it would time out here.
    let interim = conn.read_response();
    assert_eq!(
        interim.status,
        100,
        "expected 100 Continue first: {}",
        show(&interim.raw)
    );
    assert_eq!(interim.version, "HTTP/1.1");
    assert!(
        interim.raw.starts_with(b"HTTP/1.1 100 Continue\r\n"),
        "{}",
        show(&interim.raw)
    );
    conn.send(b"hello");
    let resp = conn.read_response();
    assert_eq!(resp.status, 200, "{}", show(&resp.raw));
    assert_eq!(resp.text(), "hello");
    // And the connection carries on.
    conn.send(&get("/echo/after"));
    assert_eq!(conn.read_response().text(), "after");
    drop(conn);
    stop(server);
}

#[test]
fn expect_100_continue_with_a_chunked_body() {
    let server = start(echo_app());
    let mut conn = RawConn::connect(server.addr());
    conn.send(
        b"POST /body HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\
          Expect: 100-Continue\r\n\r\n",
    );
    let interim = conn.read_response();
    assert_eq!(interim.status, 100, "{}", show(&interim.raw));
    conn.send(b"3\r\nabc\r\n0\r\n\r\n");
    let resp = conn.read_response();
    assert_eq!(
        (resp.status, resp.text().as_str()),
        (200, "abc"),
        "{}",
        show(&resp.raw)
    );
    drop(conn);
    stop(server);
}

#[test]
fn a_client_that_sends_the_body_anyway_gets_one_final_response() {
    // Clients may send the body without waiting; the server may or may not send the
    // interim response, but exactly one final response must follow and the
    // connection must stay in sync.
    let server = start(echo_app());
    let mut conn = RawConn::connect(server.addr());
    conn.send(
        b"POST /body HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\n\
          Expect: 100-continue\r\n\r\nhello",
    );
    let mut resp = conn.read_response();
    if resp.status == 100 {
        resp = conn.read_response();
    }
    assert_eq!(
        (resp.status, resp.text().as_str()),
        (200, "hello"),
        "{}",
        show(&resp.raw)
    );
    conn.send(&get("/echo/sync"));
    assert_eq!(conn.read_response().text(), "sync");
    drop(conn);
    stop(server);
}

#[test]
fn expect_100_continue_over_the_body_limit_gets_413_and_close() {
    let server = start_with(echo_app(), config().max_body_size(16));
    let mut conn = RawConn::connect(server.addr());
    conn.send(
        b"POST /body HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1000\r\n\
          Expect: 100-continue\r\n\r\n",
    );
    let mut resp = conn.read_response();
    // Asking for a body it will refuse is wasteful but allowed; the final word is 413.
    if resp.status == 100 {
        resp = conn.read_response();
    }
    assert_eq!(resp.status, 413, "{}", show(&conn.received));
    conn.expect_eof();
    stop(server);
}

#[test]
fn http10_expectation_is_ignored() {
    // RFC 9110 10.1.1: a 100-continue expectation in an HTTP/1.0 request MUST be ignored.
    let server = start(echo_app());
    let mut conn = RawConn::connect(server.addr());
    conn.send(b"POST /body HTTP/1.0\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\nok");
    let resp = conn.read_response();
    assert_eq!(
        resp.status,
        200,
        "interim response sent to a 1.0 client: {}",
        show(&conn.received)
    );
    assert_eq!(resp.text(), "ok");
    conn.expect_eof();
    stop(server);
}
