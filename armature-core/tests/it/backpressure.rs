//! Backpressure and the write timeout: a client that pipelines requests and never
//! reads the responses gets at most `max_pending_output` bytes answered past what
//! the sockets hold, and is closed once it has not read for `write_timeout`; a client
//! that does read gets every response, in order, through the same bound.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use armature_core::extract::Path;
use armature_core::App;

use crate::support::{config, get, show, start_with, stop, stream_response, RawConn, IO_TIMEOUT};

/// Each response body: 64 KiB, so a few responses fill the pending-output bound.
const BODY: usize = 64 * 1024;
/// Requests pipelined in one burst: 1,000 × 64 KiB = 62.5 MiB if all were answered.
const BURST: usize = 1000;

/// `GET /big` answers a fresh 64 KiB body and counts the calls.
fn counting_app(handled: Arc<AtomicUsize>) -> App<()> {
    App::new().get("/big", move || {
        let handled = handled.clone();
        async move {
            handled.fetch_add(1, Ordering::Relaxed);
            vec![b'x'; BODY]
        }
    })
}

fn burst() -> Vec<u8> {
    get("/big").repeat(BURST)
}

#[test]
fn a_pipelining_client_that_never_reads_is_answered_within_the_bound_then_closed() {
    let handled = Arc::new(AtomicUsize::new(0));
    let cfg = config()
        .max_pending_output(64 * 1024)
        .write_timeout(Duration::from_millis(300));
    let server = start_with(counting_app(handled.clone()), cfg);
    let mut conn = RawConn::connect(server.addr());
    conn.send(&burst());
    // Not reading: longer than the write timeout, and long enough for an unbounded
    // server to answer the whole burst.
    std::thread::sleep(Duration::from_millis(1500));
    let answered = handled.load(Ordering::Relaxed);
    // The bound (64 KiB) plus what the kernel's socket buffers take on loopback (the
    // server's send buffer grows to at most 4 MiB, the unread client's receive
    // buffer stays near its initial size): far below 400 responses (25 MiB).
    assert!(
        answered < 400,
        "{answered} of {BURST} pipelined requests were answered for a client that reads nothing"
    );
    let before_close = conn.closed_within(IO_TIMEOUT).unwrap_or_else(|| {
        panic!("a client that reads nothing was not closed after the write timeout")
    });
    assert!(
        before_close.len() < BURST * BODY,
        "every response arrived: the connection was not closed"
    );
    assert_eq!(
        handled.load(Ordering::Relaxed),
        answered,
        "requests were answered after the client stopped reading"
    );
    stop(server);
}

#[test]
fn a_pipelining_client_that_reads_gets_every_response_in_order() {
    let handled = Arc::new(AtomicUsize::new(0));
    let app = counting_app(handled.clone())
        .get("/n/:n", |Path(n): Path<u32>| async move { format!("{n}") });
    let server = start_with(app, config().max_pending_output(16 * 1024));
    let mut conn = RawConn::connect(server.addr());
    // Interleaved: large responses that trip the bound, small ones that tell the
    // order.
    let mut burst = Vec::new();
    for i in 0..200 {
        burst.extend_from_slice(&get("/big"));
        burst.extend_from_slice(&get(&format!("/n/{i}")));
    }
    let writer = {
        let mut stream = conn.stream().try_clone().unwrap();
        std::thread::spawn(move || std::io::Write::write_all(&mut stream, &burst))
    };
    for i in 0..200 {
        let big = conn.read_response();
        assert_eq!((big.status, big.body.len()), (200, BODY));
        let n = conn.read_response();
        assert_eq!(n.text(), i.to_string(), "responses out of order");
    }
    writer.join().unwrap().unwrap();
    assert_eq!(handled.load(Ordering::Relaxed), 200);
    stop(server);
}

#[test]
fn a_streamed_body_to_a_client_that_never_reads_is_closed_after_the_write_timeout() {
    let chunk: &'static str = Box::leak("y".repeat(BODY).into_boxed_str());
    let app = App::new().get("/stream", move || async move {
        // 64 MiB in 64 KiB chunks: far more than the sockets hold.
        stream_response(&[chunk; 1024])
    });
    let server = start_with(app, config().write_timeout(Duration::from_millis(300)));
    let mut conn = RawConn::connect(server.addr());
    conn.send(&get("/stream"));
    std::thread::sleep(Duration::from_millis(1500));
    let before_close = conn.closed_within(IO_TIMEOUT).unwrap_or_else(|| {
        panic!("a streamed response to a client that reads nothing was not closed")
    });
    assert!(
        before_close.len() < 1024 * BODY,
        "{}",
        show(&before_close[..64])
    );
    stop(server);
}
