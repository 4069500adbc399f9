//! `StreamingBody`: the request body as it arrives, chunk by chunk, instead of
//! buffered whole before the handler runs (`Bytes`, `String`, `Json`).

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_core::Stream;

use super::from_request::FromRequest;
use super::rejection::Rejection;
use crate::http::incoming::Incoming;
use crate::http::{BodyError, HttpRequest};
use crate::response::{IntoResponse, Response};

/// The request body as a stream of chunks, read from the connection as the handler
/// asks for them: a handler that takes it runs as soon as the request head has
/// arrived, and the server reads the next bytes of the body only when the handler
/// waits for the next chunk (backpressure: a connection holds about one read buffer
/// of body, whatever the body's size). For `Content-Length` and `chunked` bodies
/// alike; each chunk is a zero-copy slice of the read buffer.
///
/// The route's body limit ([`App::body_limit`](crate::App::body_limit), else
/// [`max_body_size`](crate::ServerConfig::max_body_size)) applies: a declared
/// `Content-Length` over it is refused with `413` before the handler runs, a
/// `chunked` body that grows past it ends with [`BodyError`] (`413`). A body that
/// ends early, times out ([`body_timeout`](crate::ServerConfig::body_timeout)
/// without a byte) or has broken framing ends with a [`BodyError`] too; returning
/// it (`?` in a handler returning `Result<_, BodyError>`, or `Result<_, Error>`:
/// it converts into [`Error`](crate::Error) with its status) answers its status
/// and the connection closes.
///
/// A handler that answers without reading the whole body: the server reads and
/// discards the rest (up to 256 KiB, then the connection closes instead), so that
/// keep-alive and pipelining go on.
///
/// ```
/// use armature_core::extract::StreamingBody;
/// use armature_core::http::BodyError;
/// use armature_core::App;
///
/// /// Counts the bytes of an upload of any size without holding it.
/// async fn upload(mut body: StreamingBody) -> Result<String, BodyError> {
///     let mut n = 0;
///     while let Some(chunk) = body.chunk().await {
///         n += chunk?.len();
///     }
///     Ok(n.to_string())
/// }
///
/// let app = App::new().post("/upload", upload).body_limit(64 << 20);
/// # drop(app);
/// ```
#[derive(Debug)]
pub struct StreamingBody {
    source: Source,
}

#[derive(Debug)]
enum Source {
    /// The whole body was already buffered (it arrived with the head, or the
    /// request was made by hand): one chunk.
    Whole(Option<Bytes>),
    Incoming(Incoming),
}

impl StreamingBody {
    /// A body that is already whole (tests, in-process calls).
    pub fn from_bytes(body: impl Into<Bytes>) -> Self {
        let body = body.into();
        StreamingBody {
            source: Source::Whole((!body.is_empty()).then_some(body)),
        }
    }

    /// The next chunk: `None` once the body ended; an error once if it failed.
    pub async fn chunk(&mut self) -> Option<Result<Bytes, BodyError>> {
        std::future::poll_fn(|cx| self.poll_chunk(cx)).await
    }

    /// [`chunk`](StreamingBody::chunk) as a poll.
    pub fn poll_chunk(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Bytes, BodyError>>> {
        match &mut self.source {
            Source::Whole(body) => Poll::Ready(body.take().map(Ok)),
            Source::Incoming(incoming) => incoming.poll_chunk(cx),
        }
    }

    /// Reads the rest of the body into one buffer (it still ends with a
    /// [`BodyError`] past the route's limit).
    pub async fn collect(mut self) -> Result<Bytes, BodyError> {
        let mut all = bytes::BytesMut::new();
        while let Some(chunk) = self.chunk().await {
            let chunk = chunk?;
            if all.is_empty() && matches!(self.source, Source::Whole(_)) {
                return Ok(chunk);
            }
            all.extend_from_slice(&chunk);
        }
        Ok(all.freeze())
    }
}

impl Stream for StreamingBody {
    type Item = Result<Bytes, BodyError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().poll_chunk(cx)
    }
}

impl Drop for StreamingBody {
    fn drop(&mut self) {
        if let Source::Incoming(incoming) = &self.source {
            incoming.drop_consumer();
        }
    }
}

impl<S> FromRequest<S> for StreamingBody {
    const STREAMS_BODY: bool = true;

    fn from_request(req: &HttpRequest, _: &Arc<S>) -> Result<Self, Rejection> {
        Ok(match &req.incoming {
            Some(incoming) => StreamingBody {
                source: Source::Incoming(incoming.clone()),
            },
            None => StreamingBody::from_bytes(req.body().clone()),
        })
    }
}

/// The error's status with its message as `text/plain`.
impl IntoResponse for BodyError {
    fn into_response(self) -> Response {
        Response::text(self.status(), self.to_string())
    }
}

/// The error's status and message, answered as [`Error`](crate::Error) answers
/// (`{"error": "..."}`), for handlers that return `Result<_, Error>`.
impl From<BodyError> for crate::Error {
    fn from(e: BodyError) -> Self {
        crate::Error::new(e.status(), e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::{BodyErrorKind, StatusCode};

    #[test]
    fn body_errors_answer_their_status() {
        let table = [
            (BodyErrorKind::Incomplete, StatusCode::BAD_REQUEST),
            (
                BodyErrorKind::Malformed("bad chunk size"),
                StatusCode::BAD_REQUEST,
            ),
            (BodyErrorKind::TimedOut, StatusCode::REQUEST_TIMEOUT),
            (BodyErrorKind::TooLarge, StatusCode::PAYLOAD_TOO_LARGE),
        ];
        for (kind, status) in table {
            let e = BodyError::new(kind);
            assert_eq!(e.clone().into_response().status(), status, "{kind:?}");
            assert_eq!(crate::Error::from(e).status(), status, "{kind:?}");
        }
    }

    #[test]
    fn a_whole_body_is_one_chunk_then_the_end() {
        let waker = std::task::Waker::noop();
        let mut cx = Context::from_waker(waker);
        let mut body = StreamingBody::from_bytes("abc");
        assert_eq!(
            body.poll_chunk(&mut cx),
            Poll::Ready(Some(Ok(Bytes::from("abc"))))
        );
        assert_eq!(body.poll_chunk(&mut cx), Poll::Ready(None));
        let mut empty = StreamingBody::from_bytes(Bytes::new());
        assert_eq!(empty.poll_chunk(&mut cx), Poll::Ready(None));
    }
}
