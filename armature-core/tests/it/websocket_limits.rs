//! WebSocket bounds against a hostile or stalled client, over raw TCP (the exact
//! bytes matter): a frame larger than the message limit is refused from its header,
//! a client that does not read is dropped after the write timeout, and a frame (or a
//! fragmented message) that stops half-way is dropped after the read timeout.

use std::io::Read;
use std::net::SocketAddr;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use armature_core::ws::{Message, WebSocketUpgrade};
use armature_core::App;

use crate::support::{self, RawConn, IO_TIMEOUT};

/// The handshake of a WebSocket request for `path`.
fn handshake(path: &str) -> Vec<u8> {
    format!(
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
         Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
    )
    .into_bytes()
}

/// Connects and upgrades `path`, checking the `101`.
fn upgrade(addr: SocketAddr, path: &str) -> RawConn {
    let mut conn = RawConn::connect(addr);
    conn.send(&handshake(path));
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        let n = conn.stream().read(&mut byte).expect("reading the 101");
        assert_eq!(n, 1, "EOF in the handshake answer");
        head.push(byte[0]);
    }
    assert!(
        head.starts_with(b"HTTP/1.1 101 "),
        "{}",
        support::show(&head)
    );
    conn
}

/// The header of a masked client frame: `fin`, `opcode`, a payload of `len` bytes.
fn header(fin: bool, opcode: u8, len: u64) -> Vec<u8> {
    let mut h = vec![if fin { 0x80 } else { 0 } | opcode];
    match len {
        0..=125 => h.push(0x80 | len as u8),
        126..=0xffff => {
            h.push(0x80 | 126);
            h.extend_from_slice(&(len as u16).to_be_bytes());
        }
        _ => {
            h.push(0x80 | 127);
            h.extend_from_slice(&len.to_be_bytes());
        }
    }
    h.extend_from_slice(&MASK);
    h
}

const MASK: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

/// A whole masked client frame.
fn frame(fin: bool, opcode: u8, payload: &[u8]) -> Vec<u8> {
    let mut f = header(fin, opcode, payload.len() as u64);
    f.extend(payload.iter().zip(MASK.iter().cycle()).map(|(b, m)| b ^ m));
    f
}

/// Reads one (unmasked) server frame: its opcode and payload.
fn read_frame(conn: &RawConn) -> (u8, Vec<u8>) {
    let mut s = conn.stream();
    let mut h = [0u8; 2];
    s.read_exact(&mut h).expect("a frame header");
    let len = match h[1] & 0x7f {
        126 => {
            let mut b = [0u8; 2];
            s.read_exact(&mut b).unwrap();
            u64::from(u16::from_be_bytes(b))
        }
        127 => {
            let mut b = [0u8; 8];
            s.read_exact(&mut b).unwrap();
            u64::from_be_bytes(b)
        }
        n => u64::from(n),
    };
    let mut payload = vec![0u8; len as usize];
    s.read_exact(&mut payload).expect("a frame payload");
    (h[0] & 0x0f, payload)
}

/// Reads frames until a close frame; returns its code.
fn close_code(conn: &RawConn) -> u16 {
    loop {
        let (opcode, payload) = read_frame(conn);
        if opcode == 8 {
            assert!(payload.len() >= 2, "a close frame without a code");
            return u16::from_be_bytes([payload[0], payload[1]]);
        }
    }
}

/// `/echo` echoes text and binary messages of up to 1 MiB; every error `recv`
/// returns is reported on `errors` as (too large, timed out).
fn app(errors: mpsc::SyncSender<(bool, bool)>) -> App<()> {
    App::new().get("/echo", move |ws: WebSocketUpgrade| {
        let errors = errors.clone();
        async move {
            ws.max_message_size(1 << 20)
                .on_upgrade(move |mut socket| async move {
                    while let Some(msg) = socket.recv().await {
                        match msg {
                            Ok(msg) if msg.is_text() || msg.is_binary() => {
                                if socket.send(msg).await.is_err() {
                                    break;
                                }
                            }
                            Ok(_) => {}
                            Err(e) => {
                                let _ =
                                    errors.try_send((e.is_message_too_large(), e.is_timed_out()));
                                break;
                            }
                        }
                    }
                })
        }
    })
}

#[test]
fn a_frame_over_the_message_limit_is_refused_from_its_header() {
    let (tx, errors) = mpsc::sync_channel(8);
    let server = support::start(app(tx));
    let mut conn = upgrade(server.addr(), "/echo");
    // A 15 MiB binary frame under a 1 MiB message limit: its header and 64 KiB of
    // payload; the rest never comes.
    conn.send(&header(true, 2, 15 << 20));
    // The server may refuse the frame before this is written.
    let _ = conn.try_send(&vec![0x5a; 64 * 1024]);
    // tungstenite's own frame limit is 16 MiB: without the message limit bounding
    // frames, the server would wait for (and reserve room for) all 15 MiB.
    assert_eq!(close_code(&conn), 1009, "close code");
    assert!(
        conn.closed_within(IO_TIMEOUT).is_some(),
        "the connection stayed open after the close frame"
    );
    let (too_large, _) = errors.recv_timeout(IO_TIMEOUT).expect("recv's error");
    assert!(too_large, "recv's error is not is_message_too_large");
    support::stop(server);
}

#[test]
fn frames_within_the_limit_still_arrive() {
    let (tx, _errors) = mpsc::sync_channel(8);
    let server = support::start(app(tx));
    let mut conn = upgrade(server.addr(), "/echo");
    let payload = vec![0x42u8; 1 << 20];
    conn.send(&frame(true, 2, &payload));
    let (opcode, echoed) = read_frame(&conn);
    assert_eq!(opcode, 2);
    assert!(
        echoed == payload,
        "a 1 MiB frame (at the limit) echoed whole"
    );
    support::stop(server);
}

#[test]
fn a_frame_that_stops_half_way_is_closed_after_the_read_timeout() {
    let (tx, errors) = mpsc::sync_channel(8);
    let timeout = Duration::from_millis(300);
    let server = support::start_with(app(tx), support::config().body_timeout(timeout));
    let addr = server.addr();

    // Waiting between whole messages is not limited.
    let mut conn = upgrade(addr, "/echo");
    conn.send(&frame(true, 1, b"one"));
    assert_eq!(read_frame(&conn), (1, b"one".to_vec()));
    std::thread::sleep(timeout * 3);
    conn.send(&frame(true, 1, b"two"));
    assert_eq!(
        read_frame(&conn),
        (1, b"two".to_vec()),
        "idle between messages"
    );

    // Then a frame announcing 100 bytes, of which 10 come.
    let started = Instant::now();
    conn.send(&frame(true, 1, &[b'x'; 100])[..6 + 10]);
    assert_eq!(close_code(&conn), 1008, "close code after a stalled frame");
    assert!(conn.closed_within(IO_TIMEOUT).is_some(), "still open");
    assert!(
        started.elapsed() >= timeout,
        "closed before the read timeout passed"
    );
    let (_, timed_out) = errors.recv_timeout(IO_TIMEOUT).expect("recv's error");
    assert!(timed_out, "recv's error is not is_timed_out");

    // A fragmented message whose first fragment came whole, and no more.
    let mut conn = upgrade(addr, "/echo");
    conn.send(&frame(false, 1, b"first part, "));
    assert_eq!(
        close_code(&conn),
        1008,
        "close code after a stalled message"
    );
    assert!(conn.closed_within(IO_TIMEOUT).is_some(), "still open");
    support::stop(server);
}

#[test]
fn a_client_that_does_not_read_is_closed_after_the_write_timeout() {
    let (tx, sends) = mpsc::sync_channel(1);
    // Sends 64 KiB messages until a send fails, then reports the error.
    let app = App::new().get("/flood", move |ws: WebSocketUpgrade| {
        let sends = tx.clone();
        async move {
            ws.on_upgrade(move |mut socket| async move {
                let msg = Message::binary(vec![0u8; 64 * 1024]);
                let result = loop {
                    if let Err(e) = socket.send(msg.clone()).await {
                        break e.is_timed_out();
                    }
                };
                let _ = sends.try_send((Instant::now(), result));
            })
        }
    });
    let timeout = Duration::from_millis(300);
    let server = support::start_with(app, support::config().write_timeout(timeout));
    let mut conn = upgrade(server.addr(), "/flood");
    // Read nothing: the socket buffers fill, then the server's sends stop making
    // progress.
    let (failed_at, timed_out) = sends
        .recv_timeout(IO_TIMEOUT)
        .expect("the handler's send never failed: a client that does not read holds it");
    assert!(timed_out, "the send failed, but not with is_timed_out");
    // Everything the kernel had buffered is still delivered; then the connection
    // ends.
    assert!(
        conn.closed_within(IO_TIMEOUT).is_some(),
        "the connection stayed open after the write timeout"
    );
    assert!(failed_at.elapsed() < IO_TIMEOUT);
    support::stop(server);
}
