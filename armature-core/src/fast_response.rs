//! `FastResponse`: a response with up to eight headers inline, static or pre-sized
//! bodies, and factory functions that allocate nothing.

use std::borrow::Cow;

use bytes::Bytes;
use serde::Serialize;
use smallvec::SmallVec;

use crate::error::Error;
use crate::http::StatusCode;

/// Response headers stored inline (≤ 8 without touching the heap).
///
/// ```
/// use armature_core::fast_response::FastHeaders;
/// let mut headers = FastHeaders::new();
/// headers.insert("Content-Type", "application/json");
/// headers.insert("X-Request-ID", "abc-123");
/// assert!(headers.is_inline());
/// assert_eq!(headers.get("x-request-id"), Some("abc-123"));
/// ```
#[derive(Clone, Debug, Default)]
pub struct FastHeaders {
    entries: SmallVec<[(&'static str, FastValue); 8]>,
}

/// A response header value of a [`FastHeaders`]: `'static`, on the heap, or (up to
/// 22 bytes) inline, so that a short run-time value such as a request id is set
/// without an allocation. As wide as a `Cow<'static, str>`, so the inline headers
/// of every response stay the same size.
#[derive(Clone)]
pub(crate) enum FastValue {
    Static(&'static str),
    Heap(Box<str>),
    Inline(InlineStr),
    /// Inline, and known to hold no CR or LF (a request id the crate generated, or a
    /// client's that it validated): written without the encoder's check.
    Safe(InlineStr),
}

/// Up to [`InlineStr::CAPACITY`] bytes of UTF-8 kept in place.
#[derive(Clone, Copy)]
pub(crate) struct InlineStr {
    len: u8,
    bytes: [u8; InlineStr::CAPACITY],
}

const _: () = assert!(std::mem::size_of::<FastValue>() == std::mem::size_of::<Cow<'static, str>>());

impl InlineStr {
    pub(crate) const CAPACITY: usize = 22;

    /// `s` kept inline, if it fits.
    #[inline]
    pub(crate) fn new(s: &str) -> Option<InlineStr> {
        let mut bytes = [0; InlineStr::CAPACITY];
        bytes.get_mut(..s.len())?.copy_from_slice(s.as_bytes());
        Some(InlineStr {
            len: s.len() as u8,
            bytes,
        })
    }

    /// 16 ASCII bytes (a generated request id), with a copy of fixed size. Made ASCII
    /// by clearing each byte's high bit (a no-op on ASCII) rather than checked: with
    /// a check's `Option`, the id's copy into a carry measured ~35 instructions of
    /// byte shuffling in callgrind, against three stores.
    #[inline]
    pub(crate) fn from_ascii16(ascii: [u8; 16]) -> InlineStr {
        let ascii = (u128::from_le_bytes(ascii) & (u128::MAX / 0xff * 0x7f)).to_le_bytes();
        let mut bytes = [0; InlineStr::CAPACITY];
        bytes[..16].copy_from_slice(&ascii);
        InlineStr { len: 16, bytes }
    }

    #[inline]
    pub(crate) fn as_str(&self) -> &str {
        let bytes = &self.bytes[..usize::from(self.len)];
        // SAFETY: `bytes` is a whole `&str` copied by `new` (so valid UTF-8 that ends
        // on a character boundary), or ASCII made by `from_ascii16`, and never
        // changed after.
        unsafe { std::str::from_utf8_unchecked(bytes) }
    }
}

impl FastValue {
    /// A copy of `s`: inline when it fits, else on the heap.
    #[inline]
    pub(crate) fn copied(s: &str) -> FastValue {
        match InlineStr::new(s) {
            Some(inline) => FastValue::Inline(inline),
            None => FastValue::Heap(s.into()),
        }
    }

    /// Whether dropping this frees memory (a value on the heap).
    #[inline]
    pub(crate) fn owns_memory(&self) -> bool {
        matches!(self, FastValue::Heap(_))
    }

    #[inline]
    pub(crate) fn as_str(&self) -> &str {
        match self {
            FastValue::Static(s) => s,
            FastValue::Heap(s) => s,
            FastValue::Inline(s) | FastValue::Safe(s) => s.as_str(),
        }
    }

    /// As a `Cow` (for `HttpResponse`'s headers): allocates unless `'static`.
    pub(crate) fn into_cow(self) -> Cow<'static, str> {
        match self {
            FastValue::Static(s) => Cow::Borrowed(s),
            FastValue::Heap(s) => Cow::Owned(s.into()),
            FastValue::Inline(s) | FastValue::Safe(s) => Cow::Owned(s.as_str().to_owned()),
        }
    }
}

impl From<Cow<'static, str>> for FastValue {
    #[inline]
    fn from(value: Cow<'static, str>) -> FastValue {
        match value {
            Cow::Borrowed(s) => FastValue::Static(s),
            Cow::Owned(s) => match InlineStr::new(&s) {
                Some(inline) => FastValue::Inline(inline),
                None => FastValue::Heap(s.into_boxed_str()),
            },
        }
    }
}

impl std::fmt::Debug for FastValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self.as_str(), f)
    }
}

impl FastHeaders {
    /// No headers.
    #[inline]
    pub fn new() -> Self {
        FastHeaders {
            entries: SmallVec::new(),
        }
    }

    /// Sets `name` (replacing an earlier value of the same name).
    pub fn insert(&mut self, name: &'static str, value: impl Into<Cow<'static, str>>) {
        self.insert_value(name, FastValue::from(value.into()));
    }

    /// [`insert`](Self::insert) of a value already in its stored form. Always inlined,
    /// as `RequestId::after` is: the request id then reaches the response with no
    /// call and register saves (the two together: ~20 instructions a request in
    /// callgrind; either alone saved nothing).
    #[inline(always)]
    pub(crate) fn insert_value(&mut self, name: &'static str, value: FastValue) {
        // No headers yet (the common case for middleware's one): nothing to replace.
        if self.entries.is_empty() {
            return self.entries.push((name, value));
        }
        if let Some(slot) = self
            .entries
            .iter_mut()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
        {
            slot.1 = value;
        } else {
            self.entries.push((name, value));
        }
    }

    /// Removes every value of `name` (ASCII case-insensitive); `true` if there was one.
    pub fn remove(&mut self, name: &str) -> bool {
        let before = self.entries.len();
        self.entries.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self.entries.len() != before
    }

    /// Adds `name: value` even if `name` is present.
    pub fn append(&mut self, name: &'static str, value: impl Into<Cow<'static, str>>) {
        self.entries.push((name, FastValue::from(value.into())));
    }

    /// The value of `name` (ASCII case-insensitive).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// `true` while the headers live on the stack.
    pub fn is_inline(&self) -> bool {
        !self.entries.spilled()
    }

    /// The number of headers.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// `true` when there are none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// All headers in insertion order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries.iter().map(|(n, v)| (*n, v.as_str()))
    }

    /// The entries as stored: name, and value with what is known about it (for the
    /// encoder's [`iter_for_wire`](FastHeaders::iter_for_wire), in `proto::encode`).
    #[inline]
    pub(crate) fn entries(&self) -> &[(&'static str, FastValue)] {
        &self.entries
    }
}

/// `FastResponse::content_type` when the content type is a run-time value kept among
/// the headers. A marker rather than a second field or a lookup, so the body setters'
/// default stays one test of one field (a header lookup there cost ~150 instructions a
/// response in callgrind, through lost copy elision).
pub(crate) const CONTENT_TYPE_IN_HEADERS: &str = "";

/// The body of a `FastResponse`.
#[derive(Clone, Debug, Default)]
pub enum FastBody {
    /// No body.
    #[default]
    Empty,
    /// A `'static` body: written straight from the binary's data.
    Static(&'static [u8]),
    /// A shared, reference-counted body.
    Bytes(Bytes),
}

impl FastBody {
    /// The body bytes.
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            FastBody::Empty => &[],
            FastBody::Static(s) => s,
            FastBody::Bytes(b) => b,
        }
    }
}

/// The fastest response type: inline headers, `'static` content types and bodies.
///
/// ```
/// use armature_core::fast_response::{FastResponse, fast};
/// let resp = FastResponse::ok().with_static_body(b"Hello, World!");
/// assert_eq!(resp.body().as_bytes(), b"Hello, World!");
/// assert_eq!(fast::not_found().status().as_u16(), 404);
/// ```
#[derive(Clone, Debug, Default)]
pub struct FastResponse {
    pub(crate) status: StatusCode,
    pub(crate) content_type: Option<&'static str>,
    pub(crate) headers: FastHeaders,
    pub(crate) body: FastBody,
}

impl FastResponse {
    /// A response with `status` and nothing else.
    #[inline]
    pub fn new(status: StatusCode) -> Self {
        FastResponse {
            status,
            content_type: None,
            headers: FastHeaders::new(),
            body: FastBody::Empty,
        }
    }

    /// `200 OK`, empty.
    #[inline]
    pub fn ok() -> Self {
        FastResponse::new(StatusCode::OK)
    }

    /// Sets the status.
    pub fn with_status(mut self, status: StatusCode) -> Self {
        self.status = status;
        self
    }

    /// A `'static` body (zero-copy), `Content-Type: text/plain` unless one is set.
    pub fn with_static_body(mut self, body: &'static [u8]) -> Self {
        self.body = FastBody::Static(body);
        self.content_type.get_or_insert("text/plain");
        self
    }

    /// A `Bytes` body, `Content-Type: application/octet-stream` unless one is set.
    pub fn with_bytes(mut self, body: Bytes) -> Self {
        self.body = FastBody::Bytes(body);
        self.content_type.get_or_insert("application/octet-stream");
        self
    }

    /// Serialises `value` as the JSON body, `Content-Type: application/json`.
    pub fn with_json<T: Serialize + ?Sized>(self, value: &T) -> Result<Self, Error> {
        self.with_json_sized(value, 128)
    }

    /// Like [`FastResponse::with_json`], serialising into a buffer of `capacity` bytes
    /// so a body of known size needs exactly one allocation.
    pub fn with_json_sized<T: Serialize + ?Sized>(
        mut self,
        value: &T,
        capacity: usize,
    ) -> Result<Self, Error> {
        let mut buf = Vec::with_capacity(capacity);
        crate::json::to_writer(&mut buf, value)?;
        self.body = FastBody::Bytes(Bytes::from(buf));
        self.content_type = Some("application/json");
        Ok(self)
    }

    /// Sets the `Content-Type`.
    pub fn with_content_type(mut self, content_type: &'static str) -> Self {
        self.content_type = Some(content_type);
        self
    }

    /// Sets header `name` (replacing an earlier value of that name). `Content-Type`
    /// replaces the content type, whether set before or defaulted by a body setter
    /// after; a run-time value (a `String`) is kept among the headers, where it is
    /// checked for CR/LF like any header value. The same shape as
    /// [`HttpResponse::with_header`](crate::HttpResponse::with_header).
    ///
    /// ```
    /// use armature_core::fast_response::FastResponse;
    /// let resp = FastResponse::ok()
    ///     .with_header("Content-Type", "text/html".to_string())
    ///     .with_static_body(b"<p>hi</p>");
    /// assert_eq!(resp.content_type(), Some("text/html"));
    /// ```
    pub fn with_header(mut self, name: &'static str, value: impl Into<Cow<'static, str>>) -> Self {
        self.set_header(name, value.into());
        self
    }

    /// [`with_header`](Self::with_header) in place.
    pub(crate) fn set_header(&mut self, name: &'static str, value: Cow<'static, str>) {
        if name.eq_ignore_ascii_case("content-type") {
            match value {
                Cow::Borrowed(s) => self.content_type = Some(s),
                owned @ Cow::Owned(_) => {
                    // `content_type` marks it as set (so no body setter defaults it),
                    // and the value is written from the headers.
                    self.content_type = Some(CONTENT_TYPE_IN_HEADERS);
                    self.headers.insert("Content-Type", owned);
                }
            }
        } else {
            self.headers.insert(name, value);
        }
    }

    /// The status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The headers. A `'static` content type is kept apart; a run-time one set with
    /// [`with_header`](Self::with_header) is among them, and is not sent once a
    /// `'static` one replaced it (see [`content_type`](Self::content_type)).
    pub fn headers(&self) -> &FastHeaders {
        &self.headers
    }

    /// The `Content-Type` that is sent, if any.
    pub fn content_type(&self) -> Option<&str> {
        match self.content_type {
            Some(CONTENT_TYPE_IN_HEADERS) => self.headers.get("content-type"),
            other => other,
        }
    }

    /// The body.
    pub fn body(&self) -> &FastBody {
        &self.body
    }
}

/// Factory functions for the most common responses; none allocates.
pub mod fast {
    use super::{FastBody, FastResponse};
    use crate::http::StatusCode;

    /// `200 OK`, empty body.
    pub fn ok() -> FastResponse {
        FastResponse::ok()
    }

    /// `404 Not Found`, empty body.
    pub fn not_found() -> FastResponse {
        FastResponse::new(StatusCode::NOT_FOUND)
    }

    /// `204 No Content`.
    pub fn no_content() -> FastResponse {
        FastResponse::new(StatusCode::NO_CONTENT)
    }

    /// `200 OK` with the JSON body `{}`.
    pub fn empty_json() -> FastResponse {
        FastResponse {
            status: StatusCode::OK,
            content_type: Some("application/json"),
            headers: super::FastHeaders::new(),
            body: FastBody::Static(b"{}"),
        }
    }
}
