//! Pipelining: many requests in one write, answered in order.

use crate::support::{echo_app, get, parse_all, post, show, start, stop, RawConn};

#[test]
fn sixteen_pipelined_requests_in_one_write_are_answered_in_order() {
    let server = start(echo_app());
    let mut conn = RawConn::connect(server.addr());
    let batch: Vec<u8> = (0..16).flat_map(|n| get(&format!("/echo/{n}"))).collect();
    conn.send(&batch);
    for n in 0..16 {
        let resp = conn.read_response();
        assert_eq!(resp.status, 200, "response {n}");
        assert_eq!(resp.text(), n.to_string(), "response {n} out of order");
    }
    // The connection is still good after the batch.
    conn.send(&get("/echo/after"));
    assert_eq!(conn.read_response().text(), "after");
    drop(conn);
    stop(server);
}

#[test]
fn pipelined_requests_with_bodies_keep_their_boundaries() {
    let server = start(echo_app());
    let mut conn = RawConn::connect(server.addr());
    let mut batch = Vec::new();
    batch.extend(post("/body", "text/plain", b"first"));
    batch.extend(get("/echo/2"));
    batch.extend_from_slice(
        b"POST /body HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n\
          3\r\nthi\r\n2\r\nrd\r\n0\r\n\r\n",
    );
    batch.extend(post("/body", "text/plain", b""));
    batch.extend(post("/body", "text/plain", b"GET /echo/x HTTP/1.1\r\n\r\n"));
    batch.extend(get("/echo/6"));
    conn.send(&batch);
    let expected: [&[u8]; 6] = [
        b"first",
        b"2",
        b"third",
        b"",
        b"GET /echo/x HTTP/1.1\r\n\r\n",
        b"6",
    ];
    for (i, want) in expected.iter().enumerate() {
        let resp = conn.read_response();
        assert_eq!(resp.status, 200, "response {i}: {}", show(&resp.raw));
        assert_eq!(resp.body, *want, "response {i}: {}", show(&resp.raw));
    }
    drop(conn);
    stop(server);
}

#[test]
fn a_pipelined_batch_split_mid_request_is_completed_by_the_next_read() {
    let server = start(echo_app());
    let mut conn = RawConn::connect(server.addr());
    let batch: Vec<u8> = (0..4).flat_map(|n| get(&format!("/echo/{n}"))).collect();
    // Cut inside the third request's request line.
    let cut = get("/echo/0").len() * 2 + 7;
    conn.send(&batch[..cut]);
    assert_eq!(conn.read_response().text(), "0");
    assert_eq!(conn.read_response().text(), "1");
    conn.send(&batch[cut..]);
    assert_eq!(conn.read_response().text(), "2");
    assert_eq!(conn.read_response().text(), "3");
    drop(conn);
    stop(server);
}

#[test]
fn requests_after_connection_close_in_the_same_batch_are_not_answered() {
    let server = start(echo_app());
    let mut conn = RawConn::connect(server.addr());
    let mut batch = get("/echo/1");
    batch
        .extend_from_slice(b"GET /echo/2 HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    batch.extend(get("/echo/3"));
    conn.send(&batch);
    conn.expect_eof_after_responses(2, &["1", "2"]);
    stop(server);
}

#[test]
fn a_panicking_request_in_a_pipeline_does_not_disturb_the_others() {
    let server = start(echo_app());
    let mut conn = RawConn::connect(server.addr());
    let mut batch = get("/echo/a");
    batch.extend(get("/panic"));
    batch.extend(get("/echo/c"));
    conn.send(&batch);
    let r = conn.read_response();
    assert_eq!((r.status, r.text().as_str()), (200, "a"));
    assert_eq!(conn.read_response().status, 500);
    let r = conn.read_response();
    assert_eq!((r.status, r.text().as_str()), (200, "c"));
    drop(conn);
    stop(server);
}

impl RawConn {
    /// Reads until the server closes and asserts exactly `count` responses with these
    /// bodies came before the close.
    fn expect_eof_after_responses(&mut self, count: usize, bodies: &[&str]) {
        let rest = self
            .closed_within(crate::support::IO_TIMEOUT)
            .unwrap_or_else(|| panic!("not closed; received {}", show(&self.received)));
        let responses = parse_all(&rest, true);
        let got: Vec<String> = responses.iter().map(|r| r.text()).collect();
        assert_eq!(
            responses.len(),
            count,
            "responses {got:?}; bytes {}",
            show(&rest)
        );
        assert_eq!(got, bodies);
    }
}

#[test]
fn a_batch_larger_than_the_read_buffer_is_answered_completely_and_in_order() {
    // 300 requests (about 12 KiB) in one write: the batch spans several reads and a
    // request is cut at every read boundary.
    let server = start(echo_app());
    let mut conn = RawConn::connect(server.addr());
    let batch: Vec<u8> = (0..300).flat_map(|n| get(&format!("/echo/{n}"))).collect();
    conn.send(&batch);
    for n in 0..300 {
        let resp = conn.read_response();
        assert_eq!(resp.text(), n.to_string(), "response {n} out of order");
    }
    drop(conn);
    stop(server);
}

#[test]
fn pipelined_large_bodies_come_back_intact_and_in_order() {
    // Bodies over the copy threshold are written by reference (vectored writes, maybe
    // partial): three 200 KiB echoes with small responses between them.
    let server = start(echo_app());
    let mut conn = RawConn::connect(server.addr());
    let bodies: Vec<Vec<u8>> = (0..3u8)
        .map(|i| (0..200 * 1024).map(|j| (j % 241) as u8 ^ i).collect())
        .collect();
    let mut batch = Vec::new();
    for (i, b) in bodies.iter().enumerate() {
        batch.extend(post("/body", "application/octet-stream", b));
        batch.extend(get(&format!("/echo/small{i}")));
    }
    // Write from another thread while this one reads, so neither side's socket
    // buffers can fill up and deadlock the exchange.
    let mut writer = conn.stream().try_clone().unwrap();
    let write = std::thread::spawn(move || std::io::Write::write_all(&mut writer, &batch));
    for (i, b) in bodies.iter().enumerate() {
        let resp = conn.read_response();
        assert_eq!(resp.status, 200);
        assert!(
            resp.body == *b,
            "large body {i} differs ({} bytes back)",
            resp.body.len()
        );
        assert_eq!(conn.read_response().text(), format!("small{i}"));
    }
    write.join().unwrap().expect("writing the batch");
    drop(conn);
    stop(server);
}

#[test]
fn a_bad_request_in_a_batch_is_answered_after_the_good_ones_before_it() {
    let server = start(echo_app());
    let mut conn = RawConn::connect(server.addr());
    let mut batch = get("/echo/1");
    batch.extend(get("/echo/2"));
    batch.extend_from_slice(b"GET /echo/3 HTTP/1.1\r\nHost : x\r\n\r\n");
    batch.extend(get("/echo/4"));
    conn.send(&batch);
    let rest = conn
        .closed_within(crate::support::IO_TIMEOUT)
        .unwrap_or_else(|| panic!("not closed; received {}", show(&conn.received)));
    let got: Vec<(u16, String)> = parse_all(&rest, true)
        .iter()
        .map(|r| (r.status, r.text()))
        .collect();
    assert_eq!(got.len(), 3, "{}", show(&rest));
    assert_eq!(got[0], (200, "1".to_owned()));
    assert_eq!(got[1], (200, "2".to_owned()));
    assert_eq!(got[2].0, 400, "{}", show(&rest));
    stop(server);
}

/// The requests after the first of a batch are read from the batch's shared bytes
/// (their ranges are offsets into it): each one's method, path, query, headers and
/// body must be its own, after requests with and without bodies, and after a
/// chunked one (which the batch leaves to the read buffer's path).
#[test]
fn each_request_of_a_batch_sees_its_own_head_and_body() {
    use armature_core::{App, HttpRequest};
    let app = App::new()
        .get("/show/:n", |req: HttpRequest| async move { describe(&req) })
        .post("/show/:n", |req: HttpRequest| async move { describe(&req) });
    fn describe(req: &HttpRequest) -> String {
        format!(
            "{} {} q={} x={} n={} body={}",
            req.method().as_str(),
            req.path(),
            req.query().unwrap_or("-"),
            req.header_str("x-tag").unwrap_or("-"),
            req.headers().iter().count(),
            String::from_utf8_lossy(req.body()),
        )
    }
    let server = start(app);
    let mut conn = RawConn::connect(server.addr());
    let mut batch = Vec::new();
    batch.extend_from_slice(b"GET /show/1?a=1 HTTP/1.1\r\nHost: h\r\nX-Tag: one\r\n\r\n");
    batch.extend_from_slice(
        b"POST /show/2?b=2 HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nX-Tag: two\r\n\r\nhello",
    );
    batch.extend_from_slice(b"GET /show/3 HTTP/1.1\r\nX-Tag:   three  \r\nHost: h\r\n\r\n");
    batch.extend_from_slice(
        b"POST /show/4 HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nX-Tag: four\r\n\r\n\
          2\r\nab\r\n0\r\n\r\n",
    );
    batch.extend_from_slice(b"GET /show/5?c=5&d HTTP/1.1\r\nHost: h\r\n\r\n");
    batch.extend_from_slice(
        b"POST /show/6 HTTP/1.1\r\nContent-Length: 0\r\nHost: h\r\nX-Tag: six\r\nConnection: keep-alive\r\n\r\n",
    );
    batch.extend_from_slice(b"GET /show/7 HTTP/1.1\r\nHost: h\r\nX-Tag: seven\r\n\r\n");
    conn.send(&batch);
    let expected = [
        "GET /show/1 q=a=1 x=one n=2 body=",
        "POST /show/2 q=b=2 x=two n=3 body=hello",
        "GET /show/3 q=- x=three n=2 body=",
        "POST /show/4 q=- x=four n=3 body=ab",
        "GET /show/5 q=c=5&d x=- n=1 body=",
        "POST /show/6 q=- x=six n=4 body=",
        "GET /show/7 q=- x=seven n=2 body=",
    ];
    for (i, want) in expected.iter().enumerate() {
        let resp = conn.read_response();
        assert_eq!(resp.status, 200, "response {i}: {}", show(&resp.raw));
        assert_eq!(resp.text(), *want, "response {i}");
    }
    drop(conn);
    stop(server);
}
