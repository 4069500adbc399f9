//! `Rejection`: why a request was refused before its handler ran, and how the app
//! answers it ([`App::rejection`](crate::App::rejection)).

use std::borrow::Cow;
use std::sync::Arc;

use crate::error::Error;
use crate::http::StatusCode;
use crate::response::{IntoResponse, Response};

/// Why a request was refused before its handler ran: a status, a short text that
/// says what was wrong, and its [`kind`](Rejection::kind).
///
/// An extractor's failure, or a body over
/// [`max_body_size`](crate::ServerConfig::max_body_size). Answered by the app's
/// [`App::rejection`](crate::App::rejection) function (by default a
/// `text/plain` body with the message), through the same middleware as the
/// handler's response would have been.
///
/// ```
/// use armature_core::extract::{Rejection, RejectionKind};
/// use armature_core::StatusCode;
/// let r = Rejection::new(StatusCode::BAD_REQUEST, "missing `x-api-key`");
/// assert_eq!(r.status(), StatusCode::BAD_REQUEST);
/// assert_eq!(r.message(), "missing `x-api-key`");
/// assert_eq!(r.kind(), RejectionKind::Other);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    kind: RejectionKind,
    status: StatusCode,
    message: Cow<'static, str>,
    header: Option<(&'static str, &'static str)>,
}

/// What refused a request (see [`Rejection::kind`]). New kinds may be added.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RejectionKind {
    /// The body is larger than [`max_body_size`](crate::ServerConfig::max_body_size)
    /// or the route's [`body_limit`](crate::App::body_limit) (`413`; the connection
    /// closes after the answer, the body unread).
    BodyTooLarge,
    /// The `Content-Type` is not what the extractor reads (`415`: [`Json`](super::Json),
    /// [`Form`](super::Form)).
    MediaType,
    /// The body does not parse: malformed JSON, a form or text body that is not
    /// UTF-8 (`400`).
    MalformedBody,
    /// The body parses but does not fit the type: a missing field, a wrong type, a
    /// value out of range (`422`).
    InvalidBody,
    /// A path parameter does not deserialise ([`Path`](super::Path), `400`).
    Path,
    /// The query string does not deserialise ([`Query`](super::Query), `400`).
    Query,
    /// The request is not a WebSocket handshake this server accepts (`400`, `405`,
    /// `426`; [`WebSocketUpgrade`](crate::ws::WebSocketUpgrade)).
    WebSocket,
    /// A [`WorkerState<T>`](super::WorkerState) that no factory builds (`500`: a
    /// mistake in the app).
    WorkerState,
    /// Any other: the rejections of the app's own extractors ([`Rejection::new`]).
    Other,
}

impl Rejection {
    /// A rejection with `status` and `message`, of kind [`RejectionKind::Other`] (an
    /// app's own extractor).
    pub fn new(status: StatusCode, message: impl Into<Cow<'static, str>>) -> Self {
        Rejection::of(RejectionKind::Other, status, message)
    }

    /// A rejection of the crate's own `kind`.
    pub(crate) fn of(
        kind: RejectionKind,
        status: StatusCode,
        message: impl Into<Cow<'static, str>>,
    ) -> Self {
        Rejection {
            kind,
            status,
            message: message.into(),
            header: None,
        }
    }

    /// A body over the configured limit.
    pub(crate) fn body_too_large() -> Self {
        Rejection::of(
            RejectionKind::BodyTooLarge,
            StatusCode::PAYLOAD_TOO_LARGE,
            "request body too large",
        )
    }

    /// Adds a header to the answer (`426` names the versions it accepts, `405` the
    /// methods). The protocol needs it, so it is added to the app's answer too.
    ///
    /// ```
    /// use armature_core::extract::Rejection;
    /// use armature_core::{IntoResponse, StatusCode};
    /// let r = Rejection::new(StatusCode::UPGRADE_REQUIRED, "unsupported version")
    ///     .with_header("Sec-WebSocket-Version", "13")
    ///     .into_response();
    /// assert_eq!(r.header("sec-websocket-version"), Some("13"));
    /// ```
    pub fn with_header(mut self, name: &'static str, value: &'static str) -> Self {
        self.header = Some((name, value));
        self
    }

    /// The status answered.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// What was wrong.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// What refused the request.
    pub fn kind(&self) -> RejectionKind {
        self.kind
    }

    /// The message, owned (no copy when it was built owned).
    pub(crate) fn into_message(self) -> Cow<'static, str> {
        self.message
    }
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// The default answer: the status, and the message as `text/plain`.
impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        let resp = Response::text(self.status, self.message);
        match (self.header, resp.0) {
            (Some((name, value)), crate::response::Repr::Fast(f)) => {
                f.with_header(name, value).into_response()
            }
            (_, repr) => Response(repr),
        }
    }
}

/// The app's function from a rejection to its answer.
type Answer = dyn Fn(Rejection) -> Response + Send + Sync;

/// How an app answers rejections: with its own function
/// ([`App::rejection`](crate::App::rejection)), or with [`Rejection`]'s
/// [`IntoResponse`]. Shared by every route's handler and the connection loop.
#[derive(Clone, Default)]
pub(crate) struct Rejections(Option<Arc<Answer>>);

impl Rejections {
    /// Answers with `f`.
    pub(crate) fn new<F, R>(f: F) -> Self
    where
        F: Fn(Rejection) -> R + Send + Sync + 'static,
        R: IntoResponse,
    {
        Rejections(Some(Arc::new(move |r| f(r).into_response())))
    }

    /// The answer to `rejection`, with the header the protocol needs (if any) added
    /// to it. Out of line: it runs only when a request is refused.
    #[cold]
    #[inline(never)]
    pub(crate) fn answer(&self, rejection: Rejection) -> Response {
        let Some(f) = &self.0 else {
            return rejection.into_response();
        };
        let header = rejection.header;
        let mut resp = f(rejection);
        if let Some((name, value)) = header {
            resp.insert_header(name, value);
        }
        resp
    }
}

impl std::fmt::Debug for Rejections {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self.0 {
            Some(_) => "Rejections(app)",
            None => "Rejections(default)",
        })
    }
}

/// A rejection as a handler error: its status and message, answered as
/// `{"error": "..."}` (so `App::rejection(Error::from)` gives every refused request
/// the body of the app's own errors).
///
/// ```
/// use armature_core::extract::Rejection;
/// use armature_core::{Error, IntoResponse, StatusCode};
/// let resp = Error::from(Rejection::new(StatusCode::BAD_REQUEST, "no key")).into_response();
/// assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
/// assert_eq!(resp.header("content-type"), Some("application/json"));
/// assert_eq!(resp.body_bytes(), Some(&br#"{"error":"no key"}"#[..]));
/// ```
impl From<Rejection> for Error {
    fn from(r: Rejection) -> Self {
        let status = r.status();
        Error::new(status, r.into_message())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_answer_is_the_message_as_text() {
        let r = Rejections::default().answer(Rejection::body_too_large());
        assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(r.header("content-type"), Some("text/plain; charset=utf-8"));
        assert_eq!(r.body_bytes(), Some(&b"request body too large"[..]));
    }

    #[test]
    fn the_app_answer_keeps_the_header_the_protocol_needs() {
        let answer = Rejections::new(|r: Rejection| (r.status(), format!("[{}]", r.message())));
        let r = answer.answer(
            Rejection::of(
                RejectionKind::WebSocket,
                StatusCode::UPGRADE_REQUIRED,
                "version",
            )
            .with_header("Sec-WebSocket-Version", "13"),
        );
        assert_eq!(r.status(), StatusCode::UPGRADE_REQUIRED);
        assert_eq!(r.body_bytes(), Some(&b"[version]"[..]));
        assert_eq!(r.header("sec-websocket-version"), Some("13"));
    }
}
