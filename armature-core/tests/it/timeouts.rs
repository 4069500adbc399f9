//! Timeouts: slow heads (slowloris), slow bodies and idle keep-alive connections are
//! closed. Timeouts are set to a few hundred milliseconds; the tests only require the
//! close to happen within a generous bound, never at a precise time.

use std::io::{ErrorKind, Read, Write};
use std::time::{Duration, Instant};

use armature_core::ServerConfig;

use crate::support::{
    config, echo_app, get, parse_all, show, start_with, stop, RawConn, IO_TIMEOUT,
};

/// The test config with keep-alive timeout `timeout` (the server's one keep-alive
/// setting, on its connection manager).
fn keep_alive(config: ServerConfig, timeout: Duration) -> ServerConfig {
    let manager = config
        .get_connection_manager()
        .clone()
        .keep_alive_timeout(timeout);
    config.connection_manager(manager)
}

const SHORT: Duration = Duration::from_millis(300);

/// Asserts what came before a timeout close is nothing or a single 408.
fn assert_nothing_or_408(bytes: &[u8]) {
    if bytes.is_empty() {
        return;
    }
    let responses = parse_all(bytes, true);
    assert!(
        responses.len() == 1 && responses[0].status == 408,
        "expected nothing or one 408 before the close, got {}",
        show(bytes)
    );
}

#[test]
fn a_stalled_partial_head_is_closed_after_head_timeout() {
    let server = start_with(echo_app(), config().head_timeout(SHORT));
    let mut conn = RawConn::connect(server.addr());
    conn.send(b"GET /text HTTP/1.1\r\nHost: localhost\r\nX-Slow");
    let before_close = conn
        .closed_within(IO_TIMEOUT)
        .unwrap_or_else(|| panic!("a stalled head was not closed within {IO_TIMEOUT:?}"));
    assert_nothing_or_408(&before_close);
    stop(server);
}

#[test]
fn a_connection_that_never_sends_is_closed_after_head_timeout() {
    let server = start_with(echo_app(), keep_alive(config().head_timeout(SHORT), SHORT));
    let mut conn = RawConn::connect(server.addr());
    let before_close = conn
        .closed_within(IO_TIMEOUT)
        .unwrap_or_else(|| panic!("a silent connection was not closed within {IO_TIMEOUT:?}"));
    assert_nothing_or_408(&before_close);
    stop(server);
}

#[test]
fn a_head_trickled_byte_by_byte_is_still_closed() {
    // Slowloris proper: every read makes progress, so only a deadline for the whole
    // head (not one per read) stops it.
    let server = start_with(echo_app(), config().head_timeout(SHORT));
    let mut stream = std::net::TcpStream::connect(server.addr()).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_millis(50)))
        .unwrap();
    stream.write_all(b"GET /text HTTP/1.1\r\n").unwrap();
    let trickle = b"X-Slowloris-Header: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    let deadline = Instant::now() + IO_TIMEOUT;
    let mut received = Vec::new();
    let mut buf = [0u8; 1024];
    let mut sent = 0;
    let closed = loop {
        if Instant::now() > deadline {
            break false;
        }
        if stream
            .write_all(&trickle[sent % trickle.len()..][..1])
            .is_err()
        {
            break true;
        }
        sent += 1;
        match stream.read(&mut buf) {
            Ok(0) => break true,
            Ok(n) => received.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == ErrorKind::ConnectionReset => break true,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(e) => panic!("read error {e}"),
        }
    };
    assert!(
        closed,
        "a trickled head ({sent} bytes) was not closed within {IO_TIMEOUT:?}"
    );
    assert_nothing_or_408(&received);
    stop(server);
}

#[test]
fn a_head_completed_in_time_is_served() {
    let server = start_with(echo_app(), config().head_timeout(Duration::from_secs(3)));
    let mut conn = RawConn::connect(server.addr());
    conn.send(b"GET /echo/in-time HTTP/1.1\r\nHo");
    std::thread::sleep(Duration::from_millis(30));
    conn.send(b"st: localhost\r\n\r\n");
    let resp = conn.read_response();
    assert_eq!(
        (resp.status, resp.text().as_str()),
        (200, "in-time"),
        "{}",
        show(&resp.raw)
    );
    drop(conn);
    stop(server);
}

#[test]
fn a_stalled_body_is_closed_after_body_timeout() {
    let server = start_with(echo_app(), config().body_timeout(SHORT));
    let mut conn = RawConn::connect(server.addr());
    conn.send(b"POST /body HTTP/1.1\r\nHost: localhost\r\nContent-Length: 10\r\n\r\nabc");
    let before_close = conn
        .closed_within(IO_TIMEOUT)
        .unwrap_or_else(|| panic!("a stalled body was not closed within {IO_TIMEOUT:?}"));
    assert_nothing_or_408(&before_close);
    stop(server);
}

#[test]
fn an_idle_keep_alive_connection_is_closed_after_keep_alive_timeout() {
    // The connection loop obeys the one keep-alive setting: the connection
    // manager's (with its default load thresholds, a lightly loaded worker waits
    // exactly that long).
    let server = start_with(echo_app(), keep_alive(config(), SHORT));
    let mut conn = RawConn::connect(server.addr());
    conn.send(&get("/echo/1"));
    assert_eq!(conn.read_response().text(), "1");
    let before_close = conn.closed_within(IO_TIMEOUT).unwrap_or_else(|| {
        panic!("an idle keep-alive connection was not closed within {IO_TIMEOUT:?}")
    });
    assert!(
        before_close.is_empty(),
        "bytes before the idle close: {}",
        show(&before_close)
    );
    stop(server);
}

#[test]
fn a_busy_connection_is_not_closed_by_keep_alive_timeout() {
    // Requests every 50 ms for about 1 s: the idle timer (1 s here) must restart with
    // each request, so the connection outlives it.
    let server = start_with(echo_app(), keep_alive(config(), Duration::from_secs(1)));
    let mut conn = RawConn::connect(server.addr());
    let start = Instant::now();
    let mut n = 0;
    while start.elapsed() < Duration::from_millis(1200) {
        conn.send(&get(&format!("/echo/{n}")));
        let resp = conn.read_response();
        assert_eq!(
            resp.text(),
            n.to_string(),
            "request {n} after {:?}",
            start.elapsed()
        );
        n += 1;
        std::thread::sleep(Duration::from_millis(50));
    }
    drop(conn);
    stop(server);
}
