//! Persistent connections: several requests on one HTTP/1.1 connection, and
//! `Connection: close` ending it.

use http_body_util::{BodyExt, Empty};

use crate::support::{echo_app, get, hyper_conn, hyper_request, start, stop, stop_async, RawConn};
use armature_core::Bytes;

#[test]
fn several_requests_on_one_connection() {
    let server = start(echo_app());
    let mut conn = RawConn::connect(server.addr());
    for n in 0..5 {
        conn.send(&get(&format!("/echo/{n}")));
        let resp = conn.read_response();
        assert_eq!(
            resp.status,
            200,
            "request {n}: {}",
            crate::support::show(&resp.raw)
        );
        assert_eq!(resp.text(), n.to_string());
        assert!(
            !resp.connection_has("close"),
            "server asked to close a keep-alive connection"
        );
    }
    // Still open: one more request works after the loop.
    conn.send(&get("/text"));
    assert_eq!(conn.read_response().text(), "Hello, World!");
    drop(conn);
    stop(server);
}

#[test]
fn connection_close_on_http11_closes_after_the_response() {
    let server = start(echo_app());
    let mut conn = RawConn::connect(server.addr());
    conn.send(b"GET /echo/7 HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    let resp = conn.read_response();
    assert_eq!(resp.status, 200);
    assert_eq!(resp.text(), "7");
    conn.expect_eof();
    stop(server);
}

#[test]
fn connection_close_is_case_insensitive_and_may_be_a_list() {
    let server = start(echo_app());
    let mut conn = RawConn::connect(server.addr());
    conn.send(b"GET /echo/8 HTTP/1.1\r\nHost: localhost\r\nConnection: TE, Close\r\n\r\n");
    assert_eq!(conn.read_response().text(), "8");
    conn.expect_eof();
    stop(server);
}

#[test]
fn a_request_body_left_unread_by_the_handler_does_not_leak_into_the_next_request() {
    // GET /text ignores its body; the server must still skip exactly Content-Length
    // bytes, or the body would be parsed as the next request.
    let server = start(echo_app());
    let mut conn = RawConn::connect(server.addr());
    let body = b"GET /echo/smuggled HTTP/1.1\r\nHost: x\r\n\r\n";
    let mut req = format!(
        "GET /text HTTP/1.1\r\nHost: localhost\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    req.extend_from_slice(body);
    conn.send(&req);
    assert_eq!(conn.read_response().text(), "Hello, World!");
    conn.send(&get("/echo/next"));
    let resp = conn.read_response();
    assert_eq!(
        resp.text(),
        "next",
        "the ignored body was taken as a request"
    );
    drop(conn);
    stop(server);
}

#[tokio::test]
async fn hyper_sends_many_requests_on_one_connection() {
    let server = start(echo_app());
    let addr = server.addr();
    let mut sender = hyper_conn::<Empty<Bytes>>(addr).await;
    for n in 0..20 {
        sender.ready().await.expect("connection still usable");
        let req = hyper_request("GET", addr, &format!("/echo/{n}"))
            .body(Empty::new())
            .unwrap();
        let resp = sender.send_request(req).await.expect("response");
        assert_eq!(resp.status(), 200);
        let body = resp.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(body, n.to_string().as_bytes());
    }
    drop(sender);
    stop_async(server).await;
}
