//! WebSocket: the handshake and its rejections, echo, ping/pong, the close handshake,
//! the message size limit, subprotocols, bytes sent right behind the handshake, and
//! close 1001 on graceful shutdown. The client is tokio-tungstenite.

use std::net::SocketAddr;
use std::time::Duration;

use armature_core::ws::{CloseCode, Message, WebSocketUpgrade};
use armature_core::App;
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::{connect_async, MaybeTlsStream, WebSocketStream};

use crate::support::{self, RawConn, IO_TIMEOUT};

type Client = WebSocketStream<MaybeTlsStream<tokio::net::TcpStream>>;

/// `/echo` echoes text and binary messages (max 1 KiB); `/proto` speaks `chat` and
/// `superchat` and sends the chosen one as its first message; `/drop` returns at once.
fn ws_app() -> App<()> {
    App::new()
        .get("/echo", |ws: WebSocketUpgrade| async move {
            ws.max_message_size(1024)
                .on_upgrade(|mut socket| async move {
                    while let Some(Ok(msg)) = socket.recv().await {
                        if (msg.is_text() || msg.is_binary()) && socket.send(msg).await.is_err() {
                            break;
                        }
                    }
                })
        })
        .get("/proto", |ws: WebSocketUpgrade| async move {
            ws.protocols(["superchat", "chat"])
                .on_upgrade(|mut socket| async move {
                    let chosen = socket.protocol().unwrap_or("none").to_owned();
                    let _ = socket.send(Message::text(chosen)).await;
                    while let Some(Ok(_)) = socket.recv().await {}
                })
        })
        .get("/drop", |ws: WebSocketUpgrade| async move {
            ws.on_upgrade(|_socket| async {})
        })
        .get("/text", || async { "plain" })
}

async fn connect(addr: SocketAddr, path: &str) -> Client {
    let (client, resp) =
        tokio::time::timeout(IO_TIMEOUT, connect_async(format!("ws://{addr}{path}")))
            .await
            .expect("handshake timed out")
            .expect("handshake failed");
    assert_eq!(resp.status(), 101);
    client
}

/// The next message, within the test timeout.
async fn next(client: &mut Client) -> Option<Message> {
    tokio::time::timeout(IO_TIMEOUT, client.next())
        .await
        .expect("no message within the timeout")
        .map(|m| m.expect("client read error"))
}

fn close_code(msg: Option<Message>) -> CloseCode {
    match msg {
        Some(Message::Close(Some(frame))) => frame.code,
        other => panic!("expected a close frame, got {other:?}"),
    }
}

#[tokio::test]
async fn echoes_text_and_binary() {
    let server = support::start(ws_app());
    let mut c = connect(server.addr(), "/echo").await;
    c.send(Message::text("hello")).await.unwrap();
    assert_eq!(next(&mut c).await, Some(Message::text("hello")));
    c.send(Message::binary(vec![0u8, 1, 2, 255])).await.unwrap();
    assert_eq!(
        next(&mut c).await,
        Some(Message::binary(vec![0u8, 1, 2, 255]))
    );
    support::stop_async(server).await;
}

#[tokio::test]
async fn answers_ping_with_pong() {
    let server = support::start(ws_app());
    let mut c = connect(server.addr(), "/echo").await;
    c.send(Message::Ping("are you there".into())).await.unwrap();
    assert_eq!(
        next(&mut c).await,
        Some(Message::Pong("are you there".into()))
    );
    support::stop_async(server).await;
}

#[tokio::test]
async fn close_handshake_ends_the_connection() {
    let server = support::start(ws_app());
    let mut c = connect(server.addr(), "/echo").await;
    c.close(Some(CloseFrame {
        code: CloseCode::Normal,
        reason: "done".into(),
    }))
    .await
    .unwrap();
    // The server answers the close frame, then the stream ends.
    assert_eq!(close_code(next(&mut c).await), CloseCode::Normal);
    assert!(
        next(&mut c).await.is_none(),
        "stream did not end after the close handshake"
    );
    support::stop_async(server).await;
}

#[tokio::test]
async fn a_handler_that_returns_closes_with_1000() {
    let server = support::start(ws_app());
    let mut c = connect(server.addr(), "/drop").await;
    assert_eq!(close_code(next(&mut c).await), CloseCode::Normal);
    support::stop_async(server).await;
}

#[tokio::test]
async fn oversize_message_is_closed_with_1009() {
    let server = support::start(ws_app());
    let mut c = connect(server.addr(), "/echo").await;
    c.send(Message::text("x".repeat(1024))).await.unwrap();
    assert_eq!(
        next(&mut c).await,
        Some(Message::text("x".repeat(1024))),
        "at the limit"
    );
    c.send(Message::binary(vec![7u8; 1025])).await.unwrap();
    assert_eq!(close_code(next(&mut c).await), CloseCode::Size);
    support::stop_async(server).await;
}

#[tokio::test]
async fn negotiates_a_subprotocol() {
    let server = support::start(ws_app());
    let mut req = format!("ws://{}/proto", server.addr())
        .into_client_request()
        .unwrap();
    req.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        "v1, chat, superchat".parse().unwrap(),
    );
    let (mut c, resp) = connect_async(req).await.expect("handshake");
    // The client's order wins among the protocols both speak.
    assert_eq!(resp.headers()["sec-websocket-protocol"], "chat");
    assert_eq!(next(&mut c).await, Some(Message::text("chat")));

    // None in common: no protocol is answered. tungstenite's client refuses an
    // answer without the protocol it asked for, so this is checked over raw TCP.
    let raw = "GET /proto HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
               Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
               Sec-WebSocket-Protocol: v1\r\n\r\n";
    let mut conn = RawConn::connect(server.addr());
    conn.send(raw.as_bytes());
    let head = read_head(&mut conn);
    assert!(head.starts_with("HTTP/1.1 101 "), "{head}");
    assert!(
        !head.to_ascii_lowercase().contains("sec-websocket-protocol"),
        "{head}"
    );
    support::stop_async(server).await;
}

/// Reads a response head (up to the blank line) from a raw connection.
fn read_head(conn: &mut RawConn) -> String {
    use std::io::Read;
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        let mut s = conn.stream();
        assert_eq!(
            s.read(&mut byte).expect("reading the head"),
            1,
            "EOF in the head"
        );
        head.push(byte[0]);
    }
    String::from_utf8(head).unwrap()
}

#[test]
fn handshake_answer_is_rfc_6455() {
    let server = support::start(ws_app());
    let mut conn = RawConn::connect(server.addr());
    conn.send(
        b"GET /echo HTTP/1.1\r\nHost: x\r\nConnection: keep-alive, Upgrade\r\n\
          Upgrade: WebSocket\r\nSec-WebSocket-Version: 13\r\n\
          Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
    );
    let head = read_head(&mut conn);
    let lower = head.to_ascii_lowercase();
    assert!(
        head.starts_with("HTTP/1.1 101 Switching Protocols\r\n"),
        "{head}"
    );
    assert!(lower.contains("\r\nupgrade: websocket\r\n"), "{head}");
    assert!(lower.contains("\r\nconnection: upgrade\r\n"), "{head}");
    // RFC 6455 §1.3's worked example.
    assert!(
        head.contains("\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"),
        "{head}"
    );
    assert!(
        !lower.contains("content-length") && !lower.contains("transfer-encoding"),
        "{head}"
    );
    support::stop(server);
}

#[test]
fn frames_sent_with_the_handshake_are_not_lost() {
    let server = support::start(ws_app());
    let mut conn = RawConn::connect(server.addr());
    // The handshake and a masked text frame "hi" in one write: the frame is already
    // in the HTTP loop's read buffer when the upgrade happens.
    let mask = [0x37u8, 0xfa, 0x21, 0x3d];
    let mut bytes =
        b"GET /echo HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
          Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
            .to_vec();
    bytes.extend_from_slice(&[0x81, 0x80 | 2]);
    bytes.extend_from_slice(&mask);
    bytes.extend(b"hi".iter().zip(mask.iter().cycle()).map(|(b, m)| b ^ m));
    conn.send(&bytes);
    let head = read_head(&mut conn);
    assert!(head.starts_with("HTTP/1.1 101 "), "{head}");
    // The echo: an unmasked text frame "hi".
    use std::io::Read;
    let mut frame = [0u8; 4];
    conn.stream()
        .read_exact(&mut frame)
        .expect("the echoed frame");
    assert_eq!(frame, [0x81, 2, b'h', b'i']);
    support::stop(server);
}

#[test]
fn bad_handshakes_are_rejected() {
    let server = support::start(ws_app());
    let addr = server.addr();
    let key = "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";
    let cases: &[(&str, String, u16)] = &[
        (
            "no Upgrade header",
            format!("Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n{key}"),
            400,
        ),
        (
            "no Connection: upgrade",
            format!("Connection: keep-alive\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n{key}"),
            400,
        ),
        (
            "no key",
            "Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n".into(),
            400,
        ),
        (
            "short key",
            "Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: c2hvcnQ=\r\n".into(),
            400,
        ),
        (
            "old version",
            format!("Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 8\r\n{key}"),
            426,
        ),
        (
            "no version",
            format!("Connection: Upgrade\r\nUpgrade: websocket\r\n{key}"),
            426,
        ),
    ];
    for (what, headers, status) in cases {
        let req = format!("GET /echo HTTP/1.1\r\nHost: x\r\n{headers}Connection: close\r\n\r\n");
        let resp = support::assert_rejected(addr, req.as_bytes(), *status);
        if *status == 426 {
            assert_eq!(resp.header("sec-websocket-version"), Some("13"), "{what}");
        }
    }
    // HTTP/1.0 cannot upgrade.
    let req = format!(
        "GET /echo HTTP/1.0\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
         Sec-WebSocket-Version: 13\r\n{key}\r\n"
    );
    support::assert_rejected(addr, req.as_bytes(), 400);
    support::stop(server);
}

#[tokio::test]
async fn plain_requests_still_work_beside_sockets() {
    let server = support::start(ws_app());
    let mut c = connect(server.addr(), "/echo").await;
    let resp = support::hyper_get(server.addr(), "/text").await;
    assert_eq!(&resp.body()[..], b"plain");
    c.send(Message::text("still here")).await.unwrap();
    assert_eq!(next(&mut c).await, Some(Message::text("still here")));
    support::stop_async(server).await;
}

#[tokio::test]
async fn shutdown_sends_close_1001_and_waits_for_the_socket() {
    let server = support::start(ws_app());
    let mut c = connect(server.addr(), "/echo").await;
    c.send(Message::text("before")).await.unwrap();
    assert_eq!(next(&mut c).await, Some(Message::text("before")));
    let stop = tokio::spawn(support::stop_async(server));
    let frame = next(&mut c).await;
    assert_eq!(close_code(frame), CloseCode::Away);
    // The client's reply completes the handshake; the stream ends and the server's
    // shutdown returns (stop_async fails the test if it takes longer than 5 s).
    assert!(next(&mut c).await.is_none());
    tokio::time::timeout(Duration::from_secs(5), stop)
        .await
        .expect("shutdown did not finish")
        .expect("stop task");
}

#[tokio::test]
async fn shutdown_closes_a_socket_whose_handler_never_reads() {
    let app = App::new().get("/idle", |ws: WebSocketUpgrade| async move {
        ws.on_upgrade(|_socket| async move {
            // Holds the socket and never touches it.
            std::future::pending::<()>().await
        })
    });
    let server = support::start(app);
    let mut c = connect(server.addr(), "/idle").await;
    let stop = tokio::spawn(support::stop_async(server));
    // After half the drain timeout (1 s of the test config's 2 s) the handler is
    // dropped and the socket is closed for it.
    assert_eq!(close_code(next(&mut c).await), CloseCode::Away);
    stop.await.expect("stop task");
}
