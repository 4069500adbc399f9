//! `WebSocket`: the socket a handler talks over once the handshake is answered, and
//! the task around it that closes it (on return, drop or shutdown).

use std::cell::Cell;
use std::fmt;
use std::future::Future;
use std::io::ErrorKind;
use std::rc::Rc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::error::{CapacityError, ProtocolError};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::WebSocketStream;

use crate::http::upgrade::Upgraded;
use crate::rt::drain::Draining;
use crate::rt::io::Io;

type Stream = WebSocketStream<Box<dyn Io>>;

/// How long the server waits for the peer to answer its close frame.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

/// An open WebSocket, handed to the callback of
/// [`WebSocketUpgrade::on_upgrade`](super::WebSocketUpgrade::on_upgrade).
///
/// ```no_run
/// use armature_core::ws::{Message, WebSocket};
///
/// async fn chat(mut socket: WebSocket) {
///     socket.send(Message::text("welcome")).await.ok();
///     while let Some(msg) = socket.recv().await {
///         match msg {
///             Ok(Message::Text(t)) => {
///                 if socket.send(Message::text(format!("you said {t}"))).await.is_err() {
///                     return;
///                 }
///             }
///             Ok(Message::Close(_)) | Err(_) => return,
///             Ok(_) => {}
///         }
///     }
/// }
/// ```
pub struct WebSocket {
    /// `None` only once dropped.
    stream: Option<Stream>,
    protocol: Option<String>,
    /// Whether this side has sent its close frame.
    closing: bool,
    /// An I/O error (a timeout included) ended the connection: `recv` returns `None`.
    broken: bool,
    draining: Rc<Draining>,
    /// Where the stream goes when the socket is dropped, for the task to close it.
    back: Rc<Cell<Option<Stream>>>,
}

impl fmt::Debug for WebSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebSocket")
            .field("protocol", &self.protocol)
            .field("closing", &self.closing)
            .finish_non_exhaustive()
    }
}

impl WebSocket {
    /// The next message: `None` once the connection is closed (after the close
    /// handshake, or when the peer went away).
    ///
    /// A `Close` message is the peer's close frame: the reply is sent for you, and the
    /// next call returns `None`. On graceful shutdown this sends close `1001` first
    /// and then returns the peer's answer. After an error that ends the connection
    /// (an I/O error, a [timeout](WsError::is_timed_out)) the next call returns
    /// `None`.
    pub async fn recv(&mut self) -> Option<Result<Message, WsError>> {
        if self.broken {
            return None;
        }
        loop {
            if !self.closing && self.draining.is_fired() {
                self.close_with(CloseCode::Away, "server shutting down")
                    .await;
            }
            let closing = self.closing;
            let draining = self.draining.clone();
            let stream = self.stream.as_mut()?;
            let next = tokio::select! {
                biased;
                next = stream.next() => next,
                () = draining.wait(), if !closing => continue,
            };
            return match next {
                None => None,
                Some(Ok(msg)) => Some(Ok(msg)),
                Some(Err(
                    tungstenite::Error::ConnectionClosed | tungstenite::Error::AlreadyClosed,
                )) => None,
                Some(Err(e)) => {
                    let code = match &e {
                        tungstenite::Error::Capacity(_) => Some(CloseCode::Size),
                        tungstenite::Error::Utf8(_) => Some(CloseCode::Invalid),
                        tungstenite::Error::Protocol(_) => Some(CloseCode::Protocol),
                        // A frame that did not arrive in time (after a write
                        // timeout, sending this fails at once).
                        tungstenite::Error::Io(io) if io.kind() == ErrorKind::TimedOut => {
                            Some(CloseCode::Policy)
                        }
                        _ => None,
                    };
                    self.broken = matches!(e, tungstenite::Error::Io(_));
                    if let Some(code) = code {
                        self.close_with(code, "").await;
                    }
                    Some(Err(WsError(e)))
                }
            };
        }
    }

    /// Sends a message. Fails once the socket is closing (after a close frame either
    /// way, and from the start of a graceful shutdown, which sends close `1001`).
    pub async fn send(&mut self, msg: Message) -> Result<(), WsError> {
        if !self.closing && self.draining.is_fired() {
            self.close_with(CloseCode::Away, "server shutting down")
                .await;
        }
        let stream = self
            .stream
            .as_mut()
            .ok_or(WsError(tungstenite::Error::AlreadyClosed))?;
        stream.send(msg).await.map_err(WsError)
    }

    /// Closes with `code` and `reason`, then waits (up to 5 s) for the peer's close
    /// frame.
    ///
    /// ```no_run
    /// # async fn f(socket: armature_core::ws::WebSocket) {
    /// use armature_core::ws::CloseCode;
    /// socket.close(CloseCode::Normal, "bye").await.ok();
    /// # }
    /// ```
    pub async fn close(mut self, code: CloseCode, reason: &str) -> Result<(), WsError> {
        let frame = CloseFrame {
            code,
            reason: reason.to_owned().into(),
        };
        self.closing = true;
        let Some(stream) = self.stream.as_mut() else {
            return Ok(());
        };
        stream.close(Some(frame)).await.map_err(WsError)?;
        let _ = tokio::time::timeout(CLOSE_TIMEOUT, async {
            while let Some(Ok(_)) = stream.next().await {}
        })
        .await;
        Ok(())
    }

    /// The subprotocol chosen in the handshake, if any.
    ///
    /// ```no_run
    /// # async fn f(socket: armature_core::ws::WebSocket) {
    /// if socket.protocol() == Some("chat.v2") { /* ... */ }
    /// # }
    /// ```
    pub fn protocol(&self) -> Option<&str> {
        self.protocol.as_deref()
    }

    /// Sends a close frame (errors are the next read's to report).
    async fn close_with(&mut self, code: CloseCode, reason: &'static str) {
        self.closing = true;
        if let Some(stream) = self.stream.as_mut() {
            let _ = stream
                .close(Some(CloseFrame {
                    code,
                    reason: reason.into(),
                }))
                .await;
        }
    }
}

impl Drop for WebSocket {
    fn drop(&mut self) {
        // Given back to the connection's task, which closes it properly.
        self.back.set(self.stream.take());
    }
}

/// The connection's task after the `101`: runs the handler on the socket, then
/// makes sure the socket ends with a close handshake.
pub(crate) async fn run<F, Fut>(
    up: Upgraded,
    config: WebSocketConfig,
    protocol: Option<String>,
    callback: F,
) where
    F: FnOnce(WebSocket) -> Fut,
    Fut: Future<Output = ()>,
{
    let Upgraded {
        io,
        read_ahead,
        draining,
        drain_timeout,
    } = up;
    let stream = if read_ahead.is_empty() {
        WebSocketStream::from_raw_socket(io, Role::Server, Some(config)).await
    } else {
        WebSocketStream::from_partially_read(io, read_ahead.to_vec(), Role::Server, Some(config))
            .await
    };
    let back = Rc::new(Cell::new(None));
    let socket = WebSocket {
        stream: Some(stream),
        protocol,
        closing: false,
        broken: false,
        draining: draining.clone(),
        back: back.clone(),
    };
    let mut handler = Box::pin(callback(socket));
    let finished = tokio::select! {
        biased;
        () = &mut handler => true,
        () = draining.wait() => false,
    };
    if !finished {
        // The socket's `recv` and `send` answer the shutdown with close 1001; the
        // handler gets half the drain time to see that and return.
        let _ = tokio::time::timeout(drain_timeout / 2, &mut handler).await;
    }
    drop(handler);
    let Some(mut stream) = back.take() else {
        return;
    };
    let code = if draining.is_fired() {
        CloseCode::Away
    } else {
        CloseCode::Normal
    };
    let _ = tokio::time::timeout(CLOSE_TIMEOUT, async {
        let frame = CloseFrame {
            code,
            reason: "".into(),
        };
        // Already closing (or closed): this only flushes.
        if stream.close(Some(frame)).await.is_ok() {
            while let Some(Ok(_)) = stream.next().await {}
        }
    })
    .await;
}

/// A WebSocket error: the connection failed or broke the protocol, or a message was
/// too large.
///
/// ```
/// use armature_core::ws::WsError;
/// fn should_retry(e: &WsError) -> bool {
///     !e.is_closed() && !e.is_message_too_large() && !e.is_timed_out()
/// }
/// ```
pub struct WsError(tungstenite::Error);

impl WsError {
    /// The connection is closed (or closing): nothing more can be sent.
    pub fn is_closed(&self) -> bool {
        matches!(
            self.0,
            tungstenite::Error::ConnectionClosed
                | tungstenite::Error::AlreadyClosed
                | tungstenite::Error::Protocol(ProtocolError::SendAfterClosing)
        )
    }

    /// A time limit passed: the peer did not take what was sent within the server's
    /// [`write_timeout`](crate::ServerConfig::write_timeout), or a frame did not
    /// arrive whole within its
    /// [`body_timeout`](crate::ServerConfig::body_timeout). The connection is
    /// closed.
    pub fn is_timed_out(&self) -> bool {
        matches!(&self.0, tungstenite::Error::Io(e) if e.kind() == ErrorKind::TimedOut)
    }

    /// A message (or a frame) exceeded the maximum size (answered with close `1009`).
    pub fn is_message_too_large(&self) -> bool {
        matches!(
            self.0,
            tungstenite::Error::Capacity(CapacityError::MessageTooLong { .. })
        )
    }
}

impl fmt::Debug for WsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl fmt::Display for WsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "websocket: {}", self.0)
    }
}

impl std::error::Error for WsError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}
