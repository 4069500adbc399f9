//! HEAD: the headers GET would send, no body.

use http_body_util::{BodyExt, Empty};

use crate::support::{
    assert_standard_headers, echo_app, get, hyper_conn, hyper_request, show, start, stop,
    stop_async, RawConn,
};
use armature_core::Bytes;

#[test]
fn head_has_the_headers_of_get_and_no_body() {
    let server = start(echo_app());
    let mut conn = RawConn::connect(server.addr());
    conn.send(&get("/text"));
    let get_resp = conn.read_response();
    assert_eq!(get_resp.status, 200);
    assert_eq!(get_resp.text(), "Hello, World!");

    // HEAD then GET in one write: if the HEAD response carried a body, the GET's
    // response would not start where the parser expects it.
    let mut batch = b"HEAD /text HTTP/1.1\r\nHost: localhost\r\n\r\n".to_vec();
    batch.extend(get("/echo/after-head"));
    conn.send(&batch);
    let head_resp = conn.read_head_response();
    assert_eq!(head_resp.status, 200, "{}", show(&head_resp.raw));
    assert_standard_headers(&head_resp);
    assert_eq!(
        head_resp.header("content-length"),
        Some("13"),
        "HEAD must announce GET's Content-Length: {}",
        show(&head_resp.raw)
    );
    assert_eq!(
        head_resp.header("content-type"),
        get_resp.header("content-type")
    );
    let next = conn.read_response();
    assert_eq!(
        (next.status, next.text().as_str()),
        (200, "after-head"),
        "the HEAD response carried body bytes: {}",
        show(&conn.received)
    );
    drop(conn);
    stop(server);
}

#[test]
fn head_of_a_dynamic_route() {
    let server = start(echo_app());
    let mut conn = RawConn::connect(server.addr());
    conn.send(b"HEAD /echo/12345 HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    let resp = conn.read_head_response();
    assert_eq!(resp.status, 200, "{}", show(&resp.raw));
    assert_eq!(resp.header("content-length"), Some("5"));
    conn.expect_eof();
    stop(server);
}

#[test]
fn head_of_an_unknown_path_is_404_without_body() {
    let server = start(echo_app());
    let mut conn = RawConn::connect(server.addr());
    let mut batch = b"HEAD /nope HTTP/1.1\r\nHost: localhost\r\n\r\n".to_vec();
    batch.extend(get("/echo/1"));
    conn.send(&batch);
    let resp = conn.read_head_response();
    assert_eq!(resp.status, 404, "{}", show(&resp.raw));
    assert_eq!(conn.read_response().text(), "1", "{}", show(&conn.received));
    drop(conn);
    stop(server);
}

#[tokio::test]
async fn hyper_head_request() {
    let server = start(echo_app());
    let addr = server.addr();
    let mut sender = hyper_conn::<Empty<Bytes>>(addr).await;
    let req = hyper_request("HEAD", addr, "/text")
        .body(Empty::new())
        .unwrap();
    let resp = sender.send_request(req).await.expect("response");
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-length"], "13");
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    assert!(body.is_empty());
    // The connection is still in sync for a GET.
    sender.ready().await.unwrap();
    let req = hyper_request("GET", addr, "/text")
        .body(Empty::new())
        .unwrap();
    let resp = sender.send_request(req).await.expect("response");
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(body, "Hello, World!");
    drop(sender);
    stop_async(server).await;
}

#[test]
fn head_of_a_streamed_route_sends_no_chunks() {
    let server = start(echo_app());
    let mut conn = RawConn::connect(server.addr());
    let mut batch = b"HEAD /stream HTTP/1.1\r\nHost: localhost\r\n\r\n".to_vec();
    batch.extend(get("/echo/after-stream-head"));
    conn.send(&batch);
    let resp = conn.read_head_response();
    assert_eq!(resp.status, 200, "{}", show(&resp.raw));
    let next = conn.read_response();
    assert_eq!(
        next.text(),
        "after-stream-head",
        "chunks were sent after a HEAD response: {}",
        show(&conn.received)
    );
    drop(conn);
    stop(server);
}
