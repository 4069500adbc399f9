//! Streaming request bodies (`StreamingBody`) and body limits per route
//! (`App::body_limit`): chunks reach the handler while the body is still arriving,
//! for `Content-Length` and `chunked`; limits, errors, partial reads, pipelining
//! and keep-alive after a streamed body. On the io_uring backend too (the suite's
//! second run).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use armature_core::extract::StreamingBody;
use armature_core::http::{BodyError, BodyErrorKind};
use armature_core::middleware::Next;
use armature_core::{App, Bytes, HttpRequest, Response, RunningServer};

use crate::support::{config, get, post, show, start_with, stop, RawConn, IO_TIMEOUT};

/// What the streaming handlers saw: the size of each chunk, and how the body ended.
#[derive(Default)]
struct Seen {
    chunks: Vec<usize>,
    error: Option<BodyErrorKind>,
}

type Log = Arc<Mutex<Seen>>;

/// Waits (up to [`IO_TIMEOUT`]) until `cond` holds for the log.
fn wait_for(log: &Log, what: &str, cond: impl Fn(&Seen) -> bool) {
    let deadline = Instant::now() + IO_TIMEOUT;
    while !cond(&log.lock().unwrap()) {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// - `POST /count` streams its body and answers the byte count (each chunk logged);
///   `POST /count-mw` too, behind middleware that adds `X-Tag: 1`;
/// - `POST /first` reads one chunk and answers its size, leaving the rest unread;
/// - `POST /big` streams under a 64 KiB limit, `POST /big-buffered` takes `Bytes`
///   under the same limit; `POST /small` takes `Bytes` under the server's limit;
/// - `/nested/echo` (`Bytes`) is in a nested app limited to 16 bytes;
/// - `POST /ignore` answers without reading its body;
/// - `GET /text` answers `Hello`.
fn app(log: &Log) -> App<()> {
    let count_log = log.clone();
    let mw_log = log.clone();
    let first_log = log.clone();
    App::new()
        .post("/count", move |body: StreamingBody| {
            let log = count_log.clone();
            async move { count_into(&log, body).await }
        })
        // Behind general middleware (which runs on a copy of the request).
        .post("/count-mw", move |body: StreamingBody| {
            let log = mw_log.clone();
            async move { count_into(&log, body).await }
        })
        .with(tag)
        .post("/first", move |mut body: StreamingBody| {
            let log = first_log.clone();
            async move {
                let first = body.chunk().await.map_or(Ok(0), |c| c.map(|c| c.len()))?;
                log.lock().unwrap().chunks.push(first);
                Ok::<_, BodyError>(format!("first {first}"))
            }
        })
        .post("/big", |body: StreamingBody| async move {
            body.collect().await.map(|b| b.len().to_string())
        })
        .body_limit(64 * 1024)
        .post("/big-buffered", |body: Bytes| async move {
            body.len().to_string()
        })
        .body_limit(64 * 1024)
        .post(
            "/small",
            |body: Bytes| async move { body.len().to_string() },
        )
        .nest(
            "/nested",
            App::new().post("/echo", |body: Bytes| async move { body }),
        )
        .body_limit(16)
        .post("/ignore", |_body: StreamingBody| async { "ignored" })
        .get("/text", || async { "Hello" })
}

/// Reads the body to its end, logging each chunk's size (or the error), and
/// answers the byte count.
async fn count_into(log: &Log, mut body: StreamingBody) -> Result<String, BodyError> {
    let mut n = 0;
    while let Some(chunk) = body.chunk().await {
        match chunk {
            Ok(chunk) => {
                log.lock().unwrap().chunks.push(chunk.len());
                n += chunk.len();
            }
            Err(e) => {
                log.lock().unwrap().error = Some(e.kind());
                return Err(e);
            }
        }
    }
    Ok(n.to_string())
}

/// Middleware that adds `X-Tag: 1` to the response.
async fn tag(req: HttpRequest, next: Next) -> Response {
    let mut resp = next.run(req).await;
    resp.insert_header("X-Tag", "1");
    resp
}

/// The server: one worker, a 1 KiB server-wide body limit, a short body timeout.
fn server(log: &Log) -> RunningServer {
    start_with(
        app(log),
        config()
            .max_body_size(1024)
            .body_timeout(Duration::from_millis(500)),
    )
}

fn head(path: &str, framing: &str) -> Vec<u8> {
    format!("POST {path} HTTP/1.1\r\nHost: localhost\r\n{framing}\r\n\r\n").into_bytes()
}

fn chunk(data: &[u8]) -> Vec<u8> {
    let mut out = format!("{:x}\r\n", data.len()).into_bytes();
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
    out
}

#[test]
fn content_length_chunks_reach_the_handler_before_the_body_ends() {
    let log = Log::default();
    let server = server(&log);
    let mut conn = RawConn::connect(server.addr());
    conn.send(&head("/count", "Content-Length: 600"));
    conn.send(&[b'a'; 300]);
    // The handler has the first half while the second is not sent yet.
    wait_for(&log, "the handler saw the first half", |s| {
        s.chunks.iter().sum::<usize>() == 300
    });
    conn.send(&[b'b'; 300]);
    let resp = conn.read_response();
    assert_eq!(
        (resp.status, resp.text().as_str()),
        (200, "600"),
        "{}",
        show(&resp.raw)
    );
    assert!(!resp.connection_has("close"), "{}", show(&resp.raw));
    // Keep-alive goes on after a streamed body.
    conn.send(&get("/text"));
    assert_eq!(conn.read_response().text(), "Hello");
    drop(conn);
    stop(server);
}

#[test]
fn chunks_reach_a_handler_behind_middleware_before_the_body_ends() {
    let log = Log::default();
    let server = server(&log);
    let mut conn = RawConn::connect(server.addr());
    conn.send(&head("/count-mw", "Content-Length: 600"));
    conn.send(&[b'a'; 300]);
    wait_for(&log, "the handler saw the first half", |s| {
        s.chunks.iter().sum::<usize>() == 300
    });
    conn.send(&[b'b'; 300]);
    let resp = conn.read_response();
    assert_eq!(
        (resp.status, resp.text().as_str()),
        (200, "600"),
        "{}",
        show(&resp.raw)
    );
    assert_eq!(resp.header("X-Tag"), Some("1"), "{}", show(&resp.raw));
    drop(conn);
    stop(server);
}

#[test]
fn body_limit_before_any_route_is_an_error() {
    match App::new().body_limit(1).bind("127.0.0.1:0") {
        Ok(_) => panic!("bound an app whose body_limit has no route"),
        Err(e) => assert!(e.to_string().contains("body_limit"), "{e}"),
    }
}

#[test]
fn chunked_chunks_reach_the_handler_before_the_body_ends() {
    let log = Log::default();
    let server = server(&log);
    let mut conn = RawConn::connect(server.addr());
    conn.send(&head("/count", "Transfer-Encoding: chunked"));
    conn.send(&chunk(b"hello "));
    wait_for(&log, "the handler saw the first chunk", |s| s.chunks == [6]);
    conn.send(&chunk(b"world"));
    conn.send(b"0\r\nX-Trailer: 1\r\n\r\n");
    let resp = conn.read_response();
    assert_eq!(
        (resp.status, resp.text().as_str()),
        (200, "11"),
        "{}",
        show(&resp.raw)
    );
    assert_eq!(log.lock().unwrap().chunks, [6, 5]);
    conn.send(&get("/text"));
    assert_eq!(conn.read_response().text(), "Hello");
    drop(conn);
    stop(server);
}

#[test]
fn a_route_limit_applies_to_that_route_only() {
    let log = Log::default();
    let server = server(&log);
    let body = vec![b'x'; 10_000];
    let cases: [(&str, &[u8], u16, &str); 6] = [
        // Larger than the server's 1 KiB, within the route's 64 KiB: streamed and buffered.
        ("/big", &body, 200, "10000"),
        ("/big-buffered", &body, 200, "10000"),
        // The server's limit elsewhere.
        ("/small", &body, 413, ""),
        ("/small", &body[..1000], 200, "1000"),
        // A nested app's limit, smaller than the server's.
        ("/nested/echo", &body[..17], 413, ""),
        ("/nested/echo", &body[..16], 200, "xxxxxxxxxxxxxxxx"),
    ];
    for (path, body, status, text) in cases {
        let mut conn = RawConn::connect(server.addr());
        conn.send(&post(path, "application/octet-stream", body));
        let resp = conn.read_response();
        assert_eq!(
            resp.status,
            status,
            "{path} {}: {}",
            body.len(),
            show(&resp.raw)
        );
        if status == 200 {
            assert_eq!(resp.text(), text, "{path}");
        }
    }
    stop(server);
}

#[test]
fn a_streamed_body_over_the_limit_is_413() {
    let log = Log::default();
    let server = server(&log);
    // Declared: refused before the handler runs.
    let mut conn = RawConn::connect(server.addr());
    conn.send(&head("/count", "Content-Length: 2000"));
    let resp = conn.read_response();
    assert_eq!(resp.status, 413, "{}", show(&resp.raw));
    assert!(resp.connection_has("close"), "{}", show(&resp.raw));
    assert!(log.lock().unwrap().chunks.is_empty());
    // Chunked: the handler has read part of it when the limit is crossed.
    let mut conn = RawConn::connect(server.addr());
    conn.send(&head("/count", "Transfer-Encoding: chunked"));
    conn.send(&chunk(&[b'a'; 600]));
    wait_for(&log, "the handler saw the first chunk", |s| {
        !s.chunks.is_empty()
    });
    let _ = conn.try_send(&chunk(&[b'b'; 600]));
    let resp = conn.read_response();
    assert_eq!(resp.status, 413, "{}", show(&resp.raw));
    assert!(resp.connection_has("close"), "{}", show(&resp.raw));
    assert_eq!(log.lock().unwrap().error, Some(BodyErrorKind::TooLarge));
    assert!(
        conn.closed_within(IO_TIMEOUT).is_some(),
        "still open after a 413"
    );
    stop(server);
}

#[test]
fn a_partly_read_body_is_drained_and_the_next_pipelined_request_answered() {
    let log = Log::default();
    let server = server(&log);
    let mut conn = RawConn::connect(server.addr());
    // Head, part of the body (the handler runs on it), then the rest of the body
    // with a pipelined request behind it, in one write.
    conn.send(&head("/first", "Content-Length: 1000"));
    conn.send(&[b'a'; 100]);
    let first = conn.read_response();
    assert_eq!(
        (first.status, first.text().as_str()),
        (200, "first 100"),
        "{}",
        show(&first.raw)
    );
    assert!(!first.connection_has("close"), "{}", show(&first.raw));
    let mut rest = vec![b'b'; 900];
    rest.extend_from_slice(&get("/text"));
    conn.send(&rest);
    assert_eq!(conn.read_response().text(), "Hello");
    // Chunked too, the rest sent after the response.
    conn.send(&head("/first", "Transfer-Encoding: chunked"));
    conn.send(&chunk(b"abc"));
    let first = conn.read_response();
    assert_eq!(first.text(), "first 3", "{}", show(&first.raw));
    let mut rest = chunk(b"defg");
    rest.extend_from_slice(b"0\r\n\r\n");
    rest.extend_from_slice(&get("/text"));
    conn.send(&rest);
    assert_eq!(conn.read_response().text(), "Hello");
    drop(conn);
    stop(server);
}

#[test]
fn a_partly_read_body_too_large_to_drain_closes_the_connection() {
    let log = Log::default();
    let server = start_with(
        app(&log)
            .post("/first-big", |mut body: StreamingBody| async move {
                let n = body.chunk().await.map_or(Ok(0), |c| c.map(|c| c.len()))?;
                Ok::<_, BodyError>(n.to_string())
            })
            .body_limit(16 << 20),
        config(),
    );
    let mut conn = RawConn::connect(server.addr());
    conn.send(&head("/first-big", "Content-Length: 10000000"));
    conn.send(&[b'a'; 1000]);
    let resp = conn.read_response();
    assert_eq!(resp.status, 200, "{}", show(&resp.raw));
    // Ten megabytes left: not drained, the connection ends.
    assert!(resp.connection_has("close"), "{}", show(&resp.raw));
    assert!(conn.closed_within(IO_TIMEOUT).is_some(), "still open");
    stop(server);
}

#[test]
fn a_client_gone_mid_body_ends_the_body_with_an_error() {
    let log = Log::default();
    let server = server(&log);
    let mut conn = RawConn::connect(server.addr());
    conn.send(&head("/count", "Content-Length: 1000"));
    conn.send(&[b'a'; 100]);
    wait_for(&log, "the handler saw the first part", |s| {
        !s.chunks.is_empty()
    });
    drop(conn);
    wait_for(&log, "the handler saw the body fail", |s| s.error.is_some());
    assert_eq!(log.lock().unwrap().error, Some(BodyErrorKind::Incomplete));
    // The worker serves on.
    let mut conn = RawConn::connect(server.addr());
    conn.send(&get("/text"));
    assert_eq!(conn.read_response().text(), "Hello");
    stop(server);
}

#[test]
fn a_stalled_body_is_408() {
    let log = Log::default();
    let server = server(&log);
    let mut conn = RawConn::connect(server.addr());
    conn.send(&head("/count", "Content-Length: 1000"));
    conn.send(&[b'a'; 100]);
    // Nothing more: the 500 ms body timeout ends it.
    let resp = conn.read_response();
    assert_eq!(resp.status, 408, "{}", show(&resp.raw));
    assert!(resp.connection_has("close"), "{}", show(&resp.raw));
    assert_eq!(log.lock().unwrap().error, Some(BodyErrorKind::TimedOut));
    stop(server);
}

#[test]
fn a_malformed_chunk_is_400() {
    let log = Log::default();
    let server = server(&log);
    let mut conn = RawConn::connect(server.addr());
    conn.send(&head("/count", "Transfer-Encoding: chunked"));
    conn.send(&chunk(b"abc"));
    wait_for(&log, "the handler saw the first chunk", |s| {
        !s.chunks.is_empty()
    });
    conn.send(b"zz\r\n");
    let resp = conn.read_response();
    assert_eq!(resp.status, 400, "{}", show(&resp.raw));
    assert!(resp.connection_has("close"), "{}", show(&resp.raw));
    stop(server);
}

#[test]
fn expect_continue_is_sent_when_the_handler_asks_for_the_body() {
    let log = Log::default();
    let server = server(&log);
    let mut conn = RawConn::connect(server.addr());
    conn.send(&head("/count", "Content-Length: 5\r\nExpect: 100-continue"));
    let interim = conn.read_response();
    assert_eq!(interim.status, 100, "{}", show(&interim.raw));
    conn.send(b"hello");
    let resp = conn.read_response();
    assert_eq!(
        (resp.status, resp.text().as_str()),
        (200, "5"),
        "{}",
        show(&resp.raw)
    );
    stop(server);
}

#[test]
fn a_whole_body_in_the_first_read_is_one_chunk() {
    let log = Log::default();
    let server = server(&log);
    let mut conn = RawConn::connect(server.addr());
    let mut two = post("/count", "application/octet-stream", b"0123456789");
    two.extend_from_slice(&get("/text"));
    conn.send(&two);
    assert_eq!(conn.read_response().text(), "10");
    assert_eq!(conn.read_response().text(), "Hello");
    assert_eq!(log.lock().unwrap().chunks, [10]);
    stop(server);
}

#[test]
fn a_body_never_asked_for_is_not_continued_and_the_connection_closes() {
    let log = Log::default();
    let server = server(&log);
    let mut conn = RawConn::connect(server.addr());
    conn.send(&head(
        "/ignore",
        "Content-Length: 5\r\nExpect: 100-continue",
    ));
    // The final answer, no `100 Continue` before it: the client may not send the
    // body at all, so the connection cannot go on.
    let resp = conn.read_response();
    assert_eq!(
        (resp.status, resp.text().as_str()),
        (200, "ignored"),
        "{}",
        show(&resp.raw)
    );
    assert!(resp.connection_has("close"), "{}", show(&resp.raw));
    // Without `Expect`, the unread body is drained and the next request answered.
    let mut conn = RawConn::connect(server.addr());
    conn.send(&head("/ignore", "Content-Length: 5"));
    assert_eq!(conn.read_response().text(), "ignored");
    let mut rest = b"hello".to_vec();
    rest.extend_from_slice(&get("/text"));
    conn.send(&rest);
    assert_eq!(conn.read_response().text(), "Hello");
    stop(server);
}
