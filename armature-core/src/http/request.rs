//! `HttpRequest`: a parsed request whose parts are zero-copy slices of the read buffer.

use std::borrow::Cow;
use std::fmt;

use bytes::Bytes;
use smallvec::SmallVec;

use super::headers::{HeaderMap, StandardHeader};
use super::Method;
use crate::small_vec::{Cookies, PathParams, QueryParams};

/// The HTTP version of a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Version {
    /// `HTTP/1.0`
    Http10,
    /// `HTTP/1.1`
    Http11,
}

/// Where a match's parameter values lie in the path (byte ranges, in pattern order):
/// the one form parameters take from the router, through the route cache and the
/// request, to the extractors. Defined here, where it is stored.
pub(crate) type ParamRanges = SmallVec<[(u32, u32); 4]>;

/// An HTTP request.
///
/// The target, header names and values, and the body are `Bytes` slices of the
/// connection's read buffer: parsing copies nothing.
#[derive(Clone)]
pub struct HttpRequest {
    pub(crate) method: Method,
    pub(crate) version: Version,
    /// The head's bytes and the header ranges into them.
    pub(crate) headers: HeaderMap,
    /// The request target's range in the head, validated as UTF-8 by the parser.
    pub(crate) target: (u32, u32),
    /// Length of the path part of the target (before `?`).
    pub(crate) path_len: u32,
    pub(crate) body: Bytes,
    /// Where the path parameters' raw values lie in the path, as the router found
    /// them (the one form they take from the router to the extractors).
    pub(crate) params: ParamRanges,
    /// Their names, in the same (pattern) order: the route's, interned when the app
    /// was built (owned only for requests made by hand).
    pub(crate) param_names: Cow<'static, [&'static str]>,
    /// The body, when it is streamed to the handler instead of buffered (a route
    /// whose handler takes [`StreamingBody`](crate::extract::StreamingBody)).
    pub(crate) incoming: Option<super::incoming::Incoming>,
}

impl HttpRequest {
    /// A request built by hand (tests, benchmarks, in-process calls).
    ///
    /// ```
    /// use armature_core::{HttpRequest, Method};
    /// let req = HttpRequest::new(Method::Get, "/users/7?verbose=1");
    /// assert_eq!(req.path(), "/users/7");
    /// assert_eq!(req.query(), Some("verbose=1"));
    /// ```
    pub fn new(method: Method, target: &str) -> HttpRequest {
        let path_len = memchr::memchr(b'?', target.as_bytes()).unwrap_or(target.len());
        HttpRequest {
            method,
            version: Version::Http11,
            headers: HeaderMap::from_parts(
                Bytes::copy_from_slice(target.as_bytes()),
                Default::default(),
            ),
            target: (0, target.len() as u32),
            path_len: path_len as u32,
            body: Bytes::new(),
            params: ParamRanges::new(),
            param_names: Cow::Borrowed(&[]),
            incoming: None,
        }
    }

    /// A blank request for the parser to fill (no allocation).
    pub(crate) fn empty() -> HttpRequest {
        HttpRequest {
            method: Method::Get,
            version: Version::Http11,
            headers: HeaderMap::default(),
            target: (0, 0),
            path_len: 0,
            body: Bytes::new(),
            params: ParamRanges::new(),
            param_names: Cow::Borrowed(&[]),
            incoming: None,
        }
    }

    /// Drops the request's references to the read buffer (head and body), keeping
    /// the storage for the next request on the connection.
    pub(crate) fn release(&mut self) {
        self.headers.buf = Bytes::new();
        self.body = Bytes::new();
    }

    /// Drops the request's reference to its body, keeping the head: what a handler
    /// (or the `after`s of its middleware) no longer needs once started. The head's
    /// bytes are let go by the connection when it waits for more (`release`): in a
    /// pipelined batch they are the batch's, shared by its requests (see
    /// `server::conn`), so letting them go per request would cost two atomic
    /// operations a request for nothing.
    #[inline(always)]
    pub(crate) fn release_body(&mut self) {
        if !self.body.is_empty() {
            self.body = Bytes::new();
        }
    }

    /// Adds a header (builder style, for hand-made requests).
    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        let std = StandardHeader::from_bytes(name.as_bytes());
        self.headers
            .append_slices(name.as_bytes(), value.as_bytes(), std);
        self
    }

    /// Sets header `name` to `value`, replacing every earlier value of `name` (for
    /// middleware: handlers and inner layers see the change). Copies only `name` and
    /// `value` (inline, without an allocation, when short).
    ///
    /// ```
    /// use armature_core::{HttpRequest, Method};
    /// let mut req = HttpRequest::new(Method::Get, "/").with_header("X-Id", "a");
    /// req.set_header("x-id", "b");
    /// assert_eq!(req.header_str("X-Id"), Some("b"));
    /// assert_eq!(req.headers().get_all("x-id").count(), 1);
    /// ```
    pub fn set_header(&mut self, name: &str, value: &str) {
        self.set_header_std(name, value, StandardHeader::from_bytes(name.as_bytes()));
    }

    /// [`set_header`](Self::set_header) with `name`'s interned form already known.
    #[inline]
    pub(crate) fn set_header_std(&mut self, name: &str, value: &str, std: Option<StandardHeader>) {
        match std {
            Some(std) => self.headers.entries.retain(|e| e.std != Some(std)),
            None => self.headers.remove(name),
        }
        self.headers
            .append_slices(name.as_bytes(), value.as_bytes(), std);
    }

    /// Sets the body (builder style, for hand-made requests).
    pub fn with_body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = body.into();
        self
    }

    /// The request method.
    #[inline]
    pub fn method(&self) -> Method {
        self.method
    }

    /// The HTTP version.
    #[inline]
    pub fn version(&self) -> Version {
        self.version
    }

    /// The full request target (`/path?query`).
    #[inline]
    pub fn uri(&self) -> &str {
        let target = &self.headers.buf[self.target.0 as usize..self.target.1 as usize];
        // SAFETY: the target is validated as UTF-8 when the request is built
        // (`HttpRequest::new` takes a `&str`; the parser checks with `from_utf8`),
        // and appending headers never moves it (the buffer is copied as a whole).
        unsafe { std::str::from_utf8_unchecked(target) }
    }

    /// The path, without the query string, not percent-decoded.
    #[inline]
    pub fn path(&self) -> &str {
        &self.uri()[..self.path_len as usize]
    }

    /// The raw query string after `?`, if any.
    #[inline]
    pub fn query(&self) -> Option<&str> {
        let uri = self.uri();
        let path_len = self.path_len as usize;
        if path_len < uri.len() {
            Some(&uri[path_len + 1..])
        } else {
            None
        }
    }

    /// The query string parsed into (percent-decoded) pairs.
    pub fn query_params(&self) -> QueryParams<'_> {
        QueryParams::parse(self.query().unwrap_or(""))
    }

    /// The request headers.
    #[inline]
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The first value of header `name` (ASCII case-insensitive).
    #[inline]
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers.get(name)
    }

    /// The first value of header `name` as text.
    pub fn header_str(&self, name: &str) -> Option<&str> {
        self.headers.get_str(name)
    }

    /// The `Content-Type` header, if present and text.
    pub fn content_type(&self) -> Option<&str> {
        self.headers
            .get_standard(StandardHeader::ContentType)
            .and_then(|v| std::str::from_utf8(v).ok())
    }

    /// The cookies of the `Cookie` header(s).
    pub fn cookies(&self) -> Cookies<'_> {
        let mut jar = Cookies::new();
        for v in self.headers.get_all("cookie") {
            if let Ok(s) = std::str::from_utf8(v) {
                for (k, v) in Cookies::parse(s).iter() {
                    jar.push(k.to_owned(), v.to_owned());
                }
            }
        }
        jar
    }

    /// The request body (fully received; chunked bodies are already decoded).
    #[inline]
    pub fn body(&self) -> &Bytes {
        &self.body
    }

    /// Takes the body out of the request.
    pub fn take_body(&mut self) -> Bytes {
        std::mem::take(&mut self.body)
    }

    /// The raw (not percent-decoded) value of path parameter `name`.
    pub fn param(&self, name: &str) -> Option<&str> {
        let i = self.param_names.iter().position(|n| *n == name)?;
        self.raw_param(i)
    }

    /// The raw value of the `i`-th path parameter (pattern order).
    #[inline]
    pub(crate) fn raw_param(&self, i: usize) -> Option<&str> {
        let &(s, e) = self.params.get(i)?;
        self.path().get(s as usize..e as usize)
    }

    /// All path parameters, percent-decoded.
    pub fn params(&self) -> PathParams<'_> {
        let mut out = PathParams::new();
        for (i, &name) in self.param_names.iter().enumerate() {
            if let Some(raw) = self.raw_param(i) {
                let v = percent_encoding::percent_decode_str(raw).decode_utf8_lossy();
                out.push(name, v);
            }
        }
        out
    }

    /// Sets path parameters by name (for hand-made requests in tests and benches).
    pub fn with_param_ranges(mut self, params: &[(&'static str, std::ops::Range<usize>)]) -> Self {
        self.param_names = params.iter().map(|(n, _)| *n).collect();
        self.params = params
            .iter()
            .map(|(_, r)| (r.start as u32, r.end as u32))
            .collect();
        self
    }
}

/// An empty `GET /` HTTP/1.1 request, so that `ObjectPool<HttpRequest>` can create
/// requests on demand.
///
/// The server itself never pools requests: a request is built by the parser as a
/// set of ranges into the connection's read buffer, which costs no allocation to
/// begin with; pooling is for objects that own memory (buffers, arenas).
impl Default for HttpRequest {
    fn default() -> Self {
        HttpRequest::new(Method::Get, "/")
    }
}

impl fmt::Debug for HttpRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpRequest")
            .field("method", &self.method)
            .field("uri", &self.uri())
            .field("version", &self.version)
            .field("headers", &self.headers)
            .field("body_len", &self.body.len())
            .finish()
    }
}
