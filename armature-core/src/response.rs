//! `IntoResponse`: what handlers may return, and `Response`, what the server writes.

use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;

use bytes::Bytes;
use serde::Serialize;

use crate::error::Error;
use crate::fast_response::{FastBody, FastResponse, FastValue};
use crate::http::{Body, HttpResponse, StatusCode};

/// The future a handler call returns. Not `Send`: each worker is a single-threaded
/// runtime, so handlers may hold `Rc`s and `RefCell` borrows across `.await`s.
pub type BoxFuture = Pin<Box<dyn Future<Output = Response>>>;

/// A response ready for the wire: either of the two response types.
#[derive(Debug)]
pub struct Response(pub(crate) Repr);

// `FastResponse` keeps eight headers inline, so it is the larger variant; boxing it
// would put an allocation on every response of the fast path.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub(crate) enum Repr {
    Fast(FastResponse),
    Http(HttpResponse),
}

impl Response {
    /// The status.
    pub fn status(&self) -> StatusCode {
        match &self.0 {
            Repr::Fast(r) => r.status,
            Repr::Http(r) => r.status,
        }
    }

    /// The value of header `name`, including `Content-Type`.
    pub fn header(&self, name: &str) -> Option<&str> {
        let is_ct = name.eq_ignore_ascii_case("content-type");
        match &self.0 {
            Repr::Fast(r) if is_ct => r.content_type(),
            Repr::Fast(r) => r.headers.get(name),
            Repr::Http(r) if is_ct => r.content_type.as_deref(),
            Repr::Http(r) => r.headers.get(name),
        }
    }

    /// Sets the status.
    pub fn set_status(&mut self, status: StatusCode) {
        match &mut self.0 {
            Repr::Fast(r) => r.status = status,
            Repr::Http(r) => r.status = status,
        }
    }

    /// Sets header `name` (replacing an earlier value; `Content-Type` replaces the
    /// content type), as `with_header` does on either response type.
    ///
    /// ```
    /// use armature_core::IntoResponse;
    /// let mut resp = "hi".into_response();
    /// resp.insert_header("X-Request-Id", "7f3a");
    /// resp.insert_header("Content-Type", "text/html".to_string());
    /// assert_eq!(resp.header("x-request-id"), Some("7f3a"));
    /// assert_eq!(resp.header("content-type"), Some("text/html"));
    /// ```
    pub fn insert_header(&mut self, name: &'static str, value: impl Into<Cow<'static, str>>) {
        match &mut self.0 {
            Repr::Fast(r) => r.set_header(name, value.into()),
            Repr::Http(r) => r.set_header(name, value.into()),
        }
    }

    /// [`insert_header`](Self::insert_header) of a value in its stored form: a short
    /// run-time value (a request id) costs no allocation on a `FastResponse`.
    /// `name` is not `Content-Type`.
    #[inline]
    pub(crate) fn insert_value(&mut self, name: &'static str, value: FastValue) {
        debug_assert!(!name.eq_ignore_ascii_case("content-type"));
        match &mut self.0 {
            Repr::Fast(r) => r.headers.insert_value(name, value),
            Repr::Http(r) => r.headers.insert(Cow::Borrowed(name), value.into_cow()),
        }
    }

    /// Adds `name: value` even when `name` is present (`Vary`, `Set-Cookie`).
    pub fn append_header(&mut self, name: &'static str, value: impl Into<Cow<'static, str>>) {
        match &mut self.0 {
            Repr::Fast(r) => r.headers.append(name, value),
            Repr::Http(r) => r.headers.append(Cow::Borrowed(name), value.into()),
        }
    }

    /// Removes header `name` (every value; `Content-Type` removes the content type).
    pub fn remove_header(&mut self, name: &str) {
        let is_ct = name.eq_ignore_ascii_case("content-type");
        match &mut self.0 {
            Repr::Fast(r) => {
                if is_ct {
                    r.content_type = None;
                }
                r.headers.remove(name);
            }
            Repr::Http(r) => {
                if is_ct {
                    r.content_type = None;
                }
                r.headers.remove(name);
            }
        }
    }

    /// Replaces the body with `body` (in memory; `Content-Length` follows it).
    pub fn set_body(&mut self, body: Bytes) {
        match &mut self.0 {
            Repr::Fast(r) => r.body = FastBody::Bytes(body),
            Repr::Http(r) => r.body = Body::Bytes(body),
        }
    }

    /// The body when it is in memory (`None` for a stream).
    pub fn body_bytes(&self) -> Option<&[u8]> {
        match &self.0 {
            Repr::Fast(r) => Some(r.body.as_bytes()),
            Repr::Http(r) => match &r.body {
                Body::Empty => Some(&[]),
                Body::Bytes(b) => Some(b),
                Body::Stream(_) | Body::SizedStream(..) | Body::Upgrade(_) => None,
            },
        }
    }

    /// A short plain-text response (errors, rejections).
    pub(crate) fn text(status: StatusCode, msg: impl Into<Cow<'static, str>>) -> Response {
        let body = match msg.into() {
            Cow::Borrowed(s) => FastBody::Static(s.as_bytes()),
            Cow::Owned(s) => FastBody::Bytes(Bytes::from(s)),
        };
        Response(Repr::Fast(FastResponse {
            status,
            content_type: Some("text/plain; charset=utf-8"),
            headers: Default::default(),
            body,
        }))
    }
}

impl From<FastResponse> for Response {
    fn from(r: FastResponse) -> Self {
        Response(Repr::Fast(r))
    }
}

impl From<HttpResponse> for Response {
    fn from(r: HttpResponse) -> Self {
        Response(Repr::Http(r))
    }
}

/// Anything a handler can return.
///
/// ```
/// use armature_core::{IntoResponse, StatusCode};
/// let r = (StatusCode::CREATED, "made").into_response();
/// assert_eq!(r.status(), StatusCode::CREATED);
/// assert_eq!(r.body_bytes(), Some(&b"made"[..]));
/// ```
pub trait IntoResponse {
    /// Converts into a response.
    fn into_response(self) -> Response;
}

impl IntoResponse for Response {
    fn into_response(self) -> Response {
        self
    }
}

impl IntoResponse for FastResponse {
    #[inline]
    fn into_response(self) -> Response {
        Response(Repr::Fast(self))
    }
}

impl IntoResponse for HttpResponse {
    #[inline]
    fn into_response(self) -> Response {
        Response(Repr::Http(self))
    }
}

impl IntoResponse for &'static str {
    #[inline]
    fn into_response(self) -> Response {
        FastResponse::ok()
            .with_content_type("text/plain; charset=utf-8")
            .with_static_body(self.as_bytes())
            .into_response()
    }
}

impl IntoResponse for String {
    fn into_response(self) -> Response {
        FastResponse::ok()
            .with_content_type("text/plain; charset=utf-8")
            .with_bytes(Bytes::from(self))
            .into_response()
    }
}

impl IntoResponse for Bytes {
    fn into_response(self) -> Response {
        FastResponse::ok().with_bytes(self).into_response()
    }
}

impl IntoResponse for Vec<u8> {
    fn into_response(self) -> Response {
        Bytes::from(self).into_response()
    }
}

impl IntoResponse for &'static [u8] {
    fn into_response(self) -> Response {
        FastResponse::ok()
            .with_content_type("application/octet-stream")
            .with_static_body(self)
            .into_response()
    }
}

impl IntoResponse for StatusCode {
    #[inline]
    fn into_response(self) -> Response {
        FastResponse::new(self).into_response()
    }
}

impl IntoResponse for () {
    #[inline]
    fn into_response(self) -> Response {
        FastResponse::ok().into_response()
    }
}

impl<T: IntoResponse> IntoResponse for (StatusCode, T) {
    fn into_response(self) -> Response {
        let mut r = self.1.into_response();
        match &mut r.0 {
            Repr::Fast(f) => f.status = self.0,
            Repr::Http(h) => h.status = self.0,
        }
        r
    }
}

impl<T: IntoResponse, E: IntoResponse> IntoResponse for Result<T, E> {
    #[inline]
    fn into_response(self) -> Response {
        match self {
            Ok(v) => v.into_response(),
            Err(e) => e.into_response(),
        }
    }
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let body = crate::json::to_vec(&ErrorBody {
            error: self.message(),
        })
        .unwrap_or_else(|_| b"{\"error\":\"internal error\"}".to_vec());
        let mut resp = FastResponse::new(self.status())
            .with_content_type("application/json")
            .with_bytes(Bytes::from(body));
        if let Some(allow) = self.allow() {
            resp = resp.with_header("Allow", allow.to_owned());
        }
        resp.into_response()
    }
}
