//! WebSocket (RFC 6455): an extractor that answers the handshake and a socket for
//! the handler, on [tungstenite](https://docs.rs/tungstenite)'s protocol code.
//!
//! ```no_run
//! use armature_core::ws::{Message, WebSocketUpgrade};
//! use armature_core::App;
//!
//! let app = App::new().get("/ws", |ws: WebSocketUpgrade| async move {
//!     ws.protocols(["chat"])
//!         .max_message_size(1 << 20)
//!         .on_upgrade(|mut socket| async move {
//!             while let Some(Ok(msg)) = socket.recv().await {
//!                 if msg.is_text() || msg.is_binary() {
//!                     if socket.send(msg).await.is_err() {
//!                         break;
//!                     }
//!                 }
//!             }
//!         })
//! });
//! # let _ = app;
//! ```
//!
//! After the `101` the connection leaves the HTTP loop: bytes that arrived behind the
//! request head are handed to the socket, the connection's buffers go back to the
//! worker's pool, and the handler's future runs on the connection's own task.
//! Requests that are not upgrades take no new branch on their path.
//!
//! Pings are answered with pongs by the protocol layer (the handler still sees the
//! `Ping`). A message over the maximum size is answered with close `1009`; invalid
//! UTF-8 in a text message with `1007`; a protocol violation with `1002`. When the
//! handler returns (or drops the socket) without closing, the socket is closed with
//! `1000`. On graceful shutdown, every open socket is sent close `1001` (going
//! away): [`WebSocket::recv`] then returns the peer's answer and ends, and
//! [`WebSocket::send`] fails; a handler still running after half the drain timeout
//! is dropped and its socket closed for it.
//!
//! Use the socket within the callback's future: that is what the drain waits for.
//! (A socket moved to a task of its own still answers the shutdown with `1001`,
//! but the drain does not wait for it.) The HTTP keep-alive and read timeouts end
//! with the upgrade; a handler that wants an idle limit keeps one itself (for
//! example `tokio::time::timeout` around `recv`).
//!
//! Two limits of [`ServerConfig`](crate::ServerConfig) go on applying, so that a
//! client cannot hold a connection's memory by stalling:
//!
//! - [`write_timeout`](crate::ServerConfig::write_timeout) (default 30 s): a send
//!   that makes no progress for that long (the client does not read) fails,
//!   [`WsError::is_timed_out`] holds, and the connection is closed: every later
//!   `send` fails and `recv` ends.
//! - [`body_timeout`](crate::ServerConfig::body_timeout) (default 30 s): a frame,
//!   or a message fragmented over several frames, must arrive whole within it once
//!   its first byte came. Otherwise `recv` answers close `1008` (policy violation),
//!   returns an error for which [`WsError::is_timed_out`] holds, and the
//!   connection closes. Waiting between messages is not limited.
//!
//! A frame is also no larger than the message limit
//! ([`WebSocketUpgrade::max_message_size`]): a larger one is refused with `1009`
//! from its header, before its payload is buffered.

mod deadline;
mod socket;
mod upgrade;

pub use crate::http::upgrade::OnUpgrade;
pub use socket::{WebSocket, WsError};
pub use upgrade::WebSocketUpgrade;

/// Close codes (`Normal` 1000, `Away` 1001, `Size` 1009, ...).
pub use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
/// The code and reason of a close frame.
pub use tokio_tungstenite::tungstenite::protocol::CloseFrame;
/// A message: text, binary, ping, pong or close (tungstenite's type).
pub use tokio_tungstenite::tungstenite::Message;
/// The UTF-8 text of a text message.
pub use tokio_tungstenite::tungstenite::Utf8Bytes;
