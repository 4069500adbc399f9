//! `HttpResponse`: the general response, with `LazyHeaders` and a body that is
//! empty, in memory, or streamed (sent chunked).

use std::borrow::Cow;
use std::fmt;
use std::pin::Pin;

use bytes::Bytes;
use futures_core::Stream;
use serde::Serialize;

use super::headers::LazyHeaders;
use super::StatusCode;
use crate::error::Error;

/// An error produced by a streamed body; the connection is closed when one occurs.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A streamed response body. Each item is one chunk on the wire.
pub type BodyStream = Pin<Box<dyn Stream<Item = Result<Bytes, BoxError>>>>;

/// A response body.
#[derive(Default)]
pub enum Body {
    /// No body (`Content-Length: 0`).
    #[default]
    Empty,
    /// A body in memory.
    Bytes(Bytes),
    /// A body produced piece by piece, sent with `Transfer-Encoding: chunked`.
    Stream(BodyStream),
    /// A body of known length produced piece by piece (a file), sent with
    /// `Content-Length`. The stream must yield exactly that many bytes: if it ends
    /// early or yields more, the connection is closed (the framing is broken).
    SizedStream(u64, BodyStream),
    /// No body: the connection leaves HTTP after this head and is handed to another
    /// protocol. Built by [`WebSocketUpgrade::on_upgrade`](crate::ws::WebSocketUpgrade::on_upgrade).
    Upgrade(super::upgrade::OnUpgrade),
}

impl Body {
    /// The length when known in advance.
    pub fn len(&self) -> Option<usize> {
        match self {
            Body::Empty => Some(0),
            Body::Bytes(b) => Some(b.len()),
            Body::Stream(_) | Body::Upgrade(_) => None,
            // Too long for this platform's `usize`: sent chunked instead.
            Body::SizedStream(n, _) => usize::try_from(*n).ok(),
        }
    }

    /// `true` for a known-empty body.
    pub fn is_empty(&self) -> bool {
        self.len() == Some(0)
    }
}

impl fmt::Debug for Body {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Body::Empty => f.write_str("Body::Empty"),
            Body::Bytes(b) => write!(f, "Body::Bytes({} bytes)", b.len()),
            Body::Stream(_) => f.write_str("Body::Stream"),
            Body::SizedStream(n, _) => write!(f, "Body::SizedStream({n} bytes)"),
            Body::Upgrade(_) => f.write_str("Body::Upgrade"),
        }
    }
}

/// The general response type.
///
/// ```
/// use armature_core::{HttpResponse, StatusCode};
/// let resp = HttpResponse::ok()
///     .with_header("X-Custom", "value")
///     .with_body("hi");
/// assert_eq!(resp.status(), StatusCode::OK);
/// assert_eq!(resp.headers().get("x-custom"), Some("value"));
/// ```
#[derive(Debug, Default)]
pub struct HttpResponse {
    pub(crate) status: StatusCode,
    pub(crate) headers: LazyHeaders,
    pub(crate) content_type: Option<Cow<'static, str>>,
    pub(crate) body: Body,
}

impl HttpResponse {
    /// A response with `status`, no headers and no body. Allocates nothing.
    pub const fn new(status: StatusCode) -> Self {
        HttpResponse {
            status,
            headers: LazyHeaders::new(),
            content_type: None,
            body: Body::Empty,
        }
    }

    /// `200 OK`, empty.
    pub const fn ok() -> Self {
        HttpResponse::new(StatusCode::OK)
    }

    /// `404 Not Found`, empty.
    pub const fn not_found() -> Self {
        HttpResponse::new(StatusCode::NOT_FOUND)
    }

    /// Sets the status.
    pub fn with_status(mut self, status: StatusCode) -> Self {
        self.status = status;
        self
    }

    /// Sets header `name` (replacing an earlier value of that name; `Content-Type`
    /// replaces the content type). The same shape as
    /// [`FastResponse::with_header`](crate::fast_response::FastResponse::with_header);
    /// a name built at run time goes through [`headers_mut`](Self::headers_mut).
    pub fn with_header(mut self, name: &'static str, value: impl Into<Cow<'static, str>>) -> Self {
        self.set_header(name, value.into());
        self
    }

    /// [`with_header`](Self::with_header) in place.
    pub(crate) fn set_header(&mut self, name: &'static str, value: Cow<'static, str>) {
        if name.eq_ignore_ascii_case("content-type") {
            self.content_type = Some(value);
        } else {
            self.headers.insert(Cow::Borrowed(name), value);
        }
    }

    /// Sets the `Content-Type`.
    pub fn with_content_type(mut self, content_type: impl Into<Cow<'static, str>>) -> Self {
        self.content_type = Some(content_type.into());
        self
    }

    /// Sets an in-memory body.
    pub fn with_body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = Body::Bytes(body.into());
        self
    }

    /// Serialises `value` as the JSON body, with `Content-Type: application/json`.
    pub fn with_json<T: Serialize + ?Sized>(self, value: &T) -> Result<Self, Error> {
        let bytes = crate::json::to_vec(value)?;
        Ok(self.with_content_type("application/json").with_body(bytes))
    }

    /// Streams the body: each item becomes one chunk (`Transfer-Encoding: chunked`).
    pub fn with_stream<S>(mut self, stream: S) -> Self
    where
        S: Stream<Item = Result<Bytes, BoxError>> + 'static,
    {
        self.body = Body::Stream(Box::pin(stream));
        self
    }

    /// Streams a body of `len` bytes, sent with `Content-Length: len` (no chunked
    /// framing; what file downloads need). If the stream yields fewer or more bytes
    /// than `len`, the connection is closed.
    ///
    /// ```
    /// use armature_core::http::{Body, BoxError};
    /// use armature_core::{Bytes, HttpResponse};
    /// # struct Once(Option<Bytes>);
    /// # impl futures_core::Stream for Once {
    /// #     type Item = Result<Bytes, BoxError>;
    /// #     fn poll_next(
    /// #         mut self: std::pin::Pin<&mut Self>,
    /// #         _: &mut std::task::Context<'_>,
    /// #     ) -> std::task::Poll<Option<Self::Item>> {
    /// #         std::task::Poll::Ready(self.0.take().map(Ok))
    /// #     }
    /// # }
    /// let resp = HttpResponse::ok().with_sized_stream(5, Once(Some(Bytes::from("hello"))));
    /// assert_eq!(resp.body().len(), Some(5));
    /// assert!(matches!(resp.body(), Body::SizedStream(5, _)));
    /// ```
    pub fn with_sized_stream<S>(mut self, len: u64, stream: S) -> Self
    where
        S: Stream<Item = Result<Bytes, BoxError>> + 'static,
    {
        self.body = Body::SizedStream(len, Box::pin(stream));
        self
    }

    /// The status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The headers (`Content-Type` is kept apart; see [`HttpResponse::content_type`]).
    pub fn headers(&self) -> &LazyHeaders {
        &self.headers
    }

    /// Mutable headers.
    pub fn headers_mut(&mut self) -> &mut LazyHeaders {
        &mut self.headers
    }

    /// The `Content-Type`, if set.
    pub fn content_type(&self) -> Option<&str> {
        self.content_type.as_deref()
    }

    /// The body.
    pub fn body(&self) -> &Body {
        &self.body
    }
}
