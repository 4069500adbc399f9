//! `WebSocketUpgrade`: the RFC 6455 opening handshake as an extractor, and the `101`
//! response that hands the connection to the socket's task.

use std::borrow::Cow;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use super::deadline::Deadlines;
use super::socket::run;
use super::WebSocket;
use crate::extract::{FromRequest, Rejection, RejectionKind};
use crate::http::upgrade::{OnUpgrade, Upgraded};
use crate::http::HttpResponse;
use crate::http::{Body, HttpRequest, Method, StatusCode, Version};
use crate::response::{IntoResponse, Response};
use crate::rt::drain::Draining;
use crate::rt::io::Io;

/// The handshake of a WebSocket request, checked; [`on_upgrade`](Self::on_upgrade)
/// answers it with `101 Switching Protocols` and runs a callback on the socket.
///
/// Extraction fails with `405` for a method other than `GET`, `400` for HTTP/1.0, a
/// missing `Connection: upgrade` or `Upgrade: websocket`, or a `Sec-WebSocket-Key`
/// that is not 16 base64-encoded bytes, and `426` (with `Sec-WebSocket-Version: 13`)
/// for a version other than 13.
///
/// ```
/// use armature_core::extract::FromRequest;
/// use armature_core::ws::WebSocketUpgrade;
/// use armature_core::{HttpRequest, IntoResponse, Method, StatusCode};
/// use std::sync::Arc;
///
/// let req = HttpRequest::new(Method::Get, "/ws")
///     .with_header("Connection", "keep-alive, Upgrade")
///     .with_header("Upgrade", "websocket")
///     .with_header("Sec-WebSocket-Version", "13")
///     .with_header("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
///     .with_header("Sec-WebSocket-Protocol", "v2.chat, chat");
/// let ws = WebSocketUpgrade::from_request(&req, &Arc::new(())).unwrap();
/// let resp = ws.protocols(["chat"]).on_upgrade(|_socket| async {});
/// assert_eq!(resp.status(), StatusCode::SWITCHING_PROTOCOLS);
/// // The example key of RFC 6455 §1.3.
/// assert_eq!(resp.header("sec-websocket-accept"), Some("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="));
/// assert_eq!(resp.header("sec-websocket-protocol"), Some("chat"));
///
/// let old = HttpRequest::new(Method::Get, "/ws")
///     .with_header("Connection", "upgrade")
///     .with_header("Upgrade", "websocket")
///     .with_header("Sec-WebSocket-Version", "8")
///     .with_header("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==");
/// let rejected = WebSocketUpgrade::from_request(&old, &Arc::new(())).unwrap_err();
/// assert_eq!(rejected.status(), StatusCode::UPGRADE_REQUIRED);
/// ```
pub struct WebSocketUpgrade {
    accept: String,
    /// What the client offered in `Sec-WebSocket-Protocol`, as sent.
    offered: Option<String>,
    /// The first offered protocol the server supports (client's order).
    chosen: Option<String>,
    config: WebSocketConfig,
}

impl fmt::Debug for WebSocketUpgrade {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebSocketUpgrade")
            .field("offered", &self.offered)
            .field("chosen", &self.chosen)
            .finish_non_exhaustive()
    }
}

/// Whether the comma-separated header `name` (any of its lines) holds `token`
/// (ASCII case-insensitive).
fn has_token(req: &HttpRequest, name: &str, token: &str) -> bool {
    req.headers().get_all(name).any(|v| {
        v.split(|&b| b == b',')
            .any(|t| t.trim_ascii().eq_ignore_ascii_case(token.as_bytes()))
    })
}

/// A `Sec-WebSocket-Key` must be 16 bytes, base64-encoded: 22 characters and `==`.
fn valid_key(key: &[u8]) -> bool {
    key.len() == 24
        && key.ends_with(b"==")
        && key[..22]
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
        // The last character before the padding carries 2 bits: its low 4 are zero.
        && matches!(key[21], b'A' | b'Q' | b'g' | b'w')
}

impl<S> FromRequest<S> for WebSocketUpgrade {
    fn from_request(req: &HttpRequest, _state: &Arc<S>) -> Result<Self, Rejection> {
        if req.method() != Method::Get {
            return Err(Rejection::of(
                RejectionKind::WebSocket,
                StatusCode::METHOD_NOT_ALLOWED,
                "a WebSocket handshake must be a GET request",
            )
            .with_header("Allow", "GET"));
        }
        if req.version() == Version::Http10 {
            return Err(Rejection::of(
                RejectionKind::WebSocket,
                StatusCode::BAD_REQUEST,
                "a WebSocket handshake needs HTTP/1.1",
            ));
        }
        if !has_token(req, "connection", "upgrade") {
            return Err(Rejection::of(
                RejectionKind::WebSocket,
                StatusCode::BAD_REQUEST,
                "the Connection header does not include 'upgrade'",
            ));
        }
        if !has_token(req, "upgrade", "websocket") {
            return Err(Rejection::of(
                RejectionKind::WebSocket,
                StatusCode::BAD_REQUEST,
                "the Upgrade header does not include 'websocket'",
            ));
        }
        if req.header("sec-websocket-version").map(<[u8]>::trim_ascii) != Some(b"13") {
            return Err(Rejection::of(
                RejectionKind::WebSocket,
                StatusCode::UPGRADE_REQUIRED,
                "unsupported Sec-WebSocket-Version (this server speaks 13)",
            )
            .with_header("Sec-WebSocket-Version", "13"));
        }
        let key = match req.header("sec-websocket-key").map(<[u8]>::trim_ascii) {
            Some(key) if valid_key(key) => key,
            _ => {
                return Err(Rejection::of(
                    RejectionKind::WebSocket,
                    StatusCode::BAD_REQUEST,
                    "missing or malformed Sec-WebSocket-Key",
                ))
            }
        };
        let offered: Vec<&str> = req
            .headers()
            .get_all("sec-websocket-protocol")
            .filter_map(|v| std::str::from_utf8(v).ok())
            .collect();
        Ok(WebSocketUpgrade {
            accept: derive_accept_key(key),
            offered: (!offered.is_empty()).then(|| offered.join(",")),
            chosen: None,
            config: WebSocketConfig::default(),
        })
    }
}

impl WebSocketUpgrade {
    /// The subprotocols the server speaks. The first one the client offered (in the
    /// client's order) that is in this list is chosen and answered in
    /// `Sec-WebSocket-Protocol`; when none matches, none is answered (the client then
    /// decides whether to go on). See the example on [`WebSocketUpgrade`].
    pub fn protocols<I, P>(mut self, supported: I) -> Self
    where
        I: IntoIterator<Item = P>,
        P: AsRef<str>,
    {
        let supported: Vec<P> = supported.into_iter().collect();
        self.chosen = self.offered.as_deref().and_then(|offered| {
            offered
                .split(',')
                .map(str::trim)
                .find(|o| supported.iter().any(|s| s.as_ref() == *o))
                .map(str::to_owned)
        });
        self
    }

    /// The subprotocols the client offered, in its order.
    ///
    /// ```
    /// # use armature_core::extract::FromRequest;
    /// # use armature_core::ws::WebSocketUpgrade;
    /// # use armature_core::{HttpRequest, Method};
    /// # let req = HttpRequest::new(Method::Get, "/ws")
    /// #     .with_header("Connection", "Upgrade").with_header("Upgrade", "websocket")
    /// #     .with_header("Sec-WebSocket-Version", "13")
    /// #     .with_header("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
    /// #     .with_header("Sec-WebSocket-Protocol", "a, b");
    /// let ws = WebSocketUpgrade::from_request(&req, &std::sync::Arc::new(())).unwrap();
    /// assert_eq!(ws.offered_protocols().collect::<Vec<_>>(), ["a", "b"]);
    /// ```
    pub fn offered_protocols(&self) -> impl Iterator<Item = &str> {
        self.offered
            .as_deref()
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
    }

    /// The largest message accepted (default 64 MiB); a larger one is answered with
    /// close `1009` and [`WebSocket::recv`] returns an error for which
    /// [`WsError::is_message_too_large`](super::WsError::is_message_too_large) holds.
    ///
    /// It bounds frames too: a frame larger than the message limit is refused (close
    /// `1009`) as soon as its header announces the length, before any of its payload
    /// is buffered.
    pub fn max_message_size(mut self, bytes: usize) -> Self {
        self.config = self.config.max_message_size(Some(bytes));
        self
    }

    /// The largest frame accepted (default 16 MiB, and never more than the
    /// [message size](Self::max_message_size)); a larger one is refused from its
    /// header with close `1009`. The frame's buffer is reserved when its header
    /// arrives, so this bounds what one connection holds while a frame trickles in.
    pub fn max_frame_size(mut self, bytes: usize) -> Self {
        self.config = self.config.max_frame_size(Some(bytes));
        self
    }

    /// Answers `101 Switching Protocols`; once it is written, the connection leaves
    /// HTTP and `callback` runs with the socket, on the connection's task. See the
    /// module's example ([`crate::ws`]).
    pub fn on_upgrade<F, Fut>(self, callback: F) -> Response
    where
        F: FnOnce(WebSocket) -> Fut + 'static,
        Fut: Future<Output = ()> + 'static,
    {
        let WebSocketUpgrade {
            accept,
            chosen,
            mut config,
            ..
        } = self;
        // A frame larger than the largest message can never be accepted; refusing it
        // from its header keeps tungstenite from reserving room for all of it.
        if let Some(message) = config.max_message_size {
            config.max_frame_size = Some(config.max_frame_size.map_or(message, |f| f.min(message)));
        }
        let mut resp = HttpResponse::new(StatusCode::SWITCHING_PROTOCOLS);
        let headers = resp.headers_mut();
        headers.insert(Cow::Borrowed("Upgrade"), Cow::Borrowed("websocket"));
        headers.insert(Cow::Borrowed("Sec-WebSocket-Accept"), Cow::Owned(accept));
        if let Some(p) = &chosen {
            headers.insert(
                Cow::Borrowed("Sec-WebSocket-Protocol"),
                Cow::Owned(p.clone()),
            );
        }
        resp.body = Body::Upgrade(OnUpgrade(Box::new(move |up| {
            Box::pin(run(up, config, chosen, callback))
        })));
        resp.into_response()
    }
}

impl OnUpgrade {
    /// The WebSocket's run on the connection, until it ends: the stream gets the
    /// socket's read and write deadlines, and the task its drain signal and time.
    /// Boxed (and not an `async fn`), so the connection loop's future only holds a
    /// pointer for it.
    pub(crate) fn begin<T: Io + 'static>(
        self,
        io: T,
        read_ahead: Bytes,
        draining: &Rc<Draining>,
        body_timeout: Duration,
        write_timeout: Duration,
        drain_timeout: Duration,
    ) -> Pin<Box<dyn Future<Output = ()>>> {
        let io = Deadlines::new(io, &read_ahead, body_timeout, write_timeout);
        (self.0)(Upgraded {
            io: Box::new(io),
            read_ahead,
            draining: draining.clone(),
            drain_timeout,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::valid_key;

    #[test]
    fn keys_must_be_sixteen_base64_bytes() {
        let table: &[(&[u8], bool)] = &[
            (b"dGhlIHNhbXBsZSBub25jZQ==", true),
            (b"AAAAAAAAAAAAAAAAAAAAAA==", true),
            (b"dGhlIHNhbXBsZSBub25jZQ=", false),
            (b"dGhlIHNhbXBsZSBub25jZR==", false), // stray low bits
            (b"dGhlIHNhbXBsZSBub25j*Q==", false),
            (b"dGhlIHNhbXBsZSBub25jZQ==AA", false),
            (b"", false),
        ];
        for (key, ok) in table {
            assert_eq!(valid_key(key), *ok, "{}", String::from_utf8_lossy(key));
        }
    }
}
