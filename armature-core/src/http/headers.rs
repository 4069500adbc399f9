//! Header names (interned for the common ones), request header maps and the
//! allocation-free-until-used `LazyHeaders` of `HttpResponse`.

use std::borrow::Cow;
use std::fmt;

use bytes::Bytes;
use smallvec::SmallVec;

macro_rules! standard_headers {
    ($( ($variant:ident, $lower:literal), )+) => {
        /// A header name the parser recognises and interns (no copy of the name is kept).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum StandardHeader {
            $( #[doc = concat!("`", $lower, "`")] $variant, )+
        }

        impl StandardHeader {
            /// The lower-case name.
            pub const fn as_str(self) -> &'static str {
                match self { $( StandardHeader::$variant => $lower, )+ }
            }

            /// Finds the standard header named `name` (ASCII case-insensitive).
            #[inline]
            pub fn from_bytes(name: &[u8]) -> Option<StandardHeader> {
                // Dispatch on length first: one or two candidates remain, compared
                // case-insensitively without allocating.
                $(
                    if name.len() == $lower.len() && name.eq_ignore_ascii_case($lower.as_bytes()) {
                        return Some(StandardHeader::$variant);
                    }
                )+
                None
            }
        }
    };
}

// Ordered by how often they appear in real requests, so the linear scan stops early.
standard_headers! {
    (Host, "host"),
    (UserAgent, "user-agent"),
    (Accept, "accept"),
    (Connection, "connection"),
    (ContentLength, "content-length"),
    (ContentType, "content-type"),
    (AcceptEncoding, "accept-encoding"),
    (AcceptLanguage, "accept-language"),
    (Cookie, "cookie"),
    (Authorization, "authorization"),
    (TransferEncoding, "transfer-encoding"),
    (Expect, "expect"),
    (CacheControl, "cache-control"),
    (Origin, "origin"),
    (Referer, "referer"),
    (IfNoneMatch, "if-none-match"),
    (IfModifiedSince, "if-modified-since"),
    (Upgrade, "upgrade"),
    (Te, "te"),
    (Trailer, "trailer"),
    (XForwardedFor, "x-forwarded-for"),
    (XRequestId, "x-request-id"),
}

/// The name of a request header: interned when it is a common one, otherwise a
/// zero-copy slice of the read buffer.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct HeaderName(NameRepr);

#[derive(Clone, PartialEq, Eq, Hash)]
enum NameRepr {
    Standard(StandardHeader),
    Custom(Bytes),
}

impl HeaderName {
    /// Interns `name` when it is a standard header, else keeps the slice as it is.
    #[inline]
    pub fn from_bytes(name: Bytes) -> HeaderName {
        match StandardHeader::from_bytes(&name) {
            Some(s) => HeaderName(NameRepr::Standard(s)),
            None => HeaderName(NameRepr::Custom(name)),
        }
    }

    /// The standard header this is, if any.
    pub fn standard(&self) -> Option<StandardHeader> {
        match &self.0 {
            NameRepr::Standard(s) => Some(*s),
            NameRepr::Custom(_) => None,
        }
    }

    /// The name as bytes (lower-case for standard headers, as received otherwise).
    pub fn as_bytes(&self) -> &[u8] {
        match &self.0 {
            NameRepr::Standard(s) => s.as_str().as_bytes(),
            NameRepr::Custom(b) => b,
        }
    }

    /// The name as a string (header names are tokens, hence ASCII).
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(self.as_bytes()).unwrap_or("")
    }

    /// ASCII case-insensitive comparison with `name`.
    #[inline]
    pub fn eq_ignore_case(&self, name: &str) -> bool {
        self.as_bytes().eq_ignore_ascii_case(name.as_bytes())
    }
}

impl From<StandardHeader> for HeaderName {
    fn from(s: StandardHeader) -> Self {
        HeaderName(NameRepr::Standard(s))
    }
}

impl fmt::Debug for HeaderName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The headers of a request, in the order received. Up to 12 live inline.
///
/// ```
/// use armature_core::http::HeaderMap;
/// use armature_core::Bytes;
/// let mut h = HeaderMap::new();
/// h.append(Bytes::from_static(b"Content-Type"), Bytes::from_static(b"text/plain"));
/// assert_eq!(h.get_str("content-type"), Some("text/plain"));
/// ```
#[derive(Clone, Default)]
pub struct HeaderMap {
    entries: SmallVec<[(HeaderName, Bytes); 12]>,
}

impl HeaderMap {
    /// An empty map.
    pub fn new() -> Self {
        HeaderMap::default()
    }

    /// Adds a header (names are interned when standard).
    pub fn append(&mut self, name: Bytes, value: Bytes) {
        self.entries.push((HeaderName::from_bytes(name), value));
    }

    pub(crate) fn push(&mut self, name: HeaderName, value: Bytes) {
        self.entries.push((name, value));
    }

    /// The first value of `name` (ASCII case-insensitive).
    #[inline]
    pub fn get(&self, name: &str) -> Option<&Bytes> {
        self.entries
            .iter()
            .find(|(n, _)| n.eq_ignore_case(name))
            .map(|(_, v)| v)
    }

    /// The first value of a standard header.
    #[inline]
    pub fn get_standard(&self, name: StandardHeader) -> Option<&Bytes> {
        self.entries
            .iter()
            .find(|(n, _)| n.standard() == Some(name))
            .map(|(_, v)| v)
    }

    /// The first value of `name` as UTF-8 text, if it is.
    pub fn get_str(&self, name: &str) -> Option<&str> {
        self.get(name).and_then(|v| std::str::from_utf8(v).ok())
    }

    /// Every value of `name`, in order.
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Bytes> + 'a {
        self.entries
            .iter()
            .filter(move |(n, _)| n.eq_ignore_case(name))
            .map(|(_, v)| v)
    }

    /// Whether `name` is present.
    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// All headers in the order received.
    pub fn iter(&self) -> impl Iterator<Item = (&HeaderName, &Bytes)> {
        self.entries.iter().map(|(n, v)| (n, v))
    }

    /// The number of header lines.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// `true` when there are none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

impl fmt::Debug for HeaderMap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(
                self.entries
                    .iter()
                    .map(|(n, v)| (n, String::from_utf8_lossy(v))),
            )
            .finish()
    }
}

/// Response headers that allocate nothing until the first insert.
///
/// ```
/// use armature_core::http::LazyHeaders;
/// let mut headers = LazyHeaders::new();
/// assert!(headers.is_empty());
/// headers.insert("Content-Type".into(), "application/json".into());
/// assert_eq!(headers.get("content-type"), Some("application/json"));
/// ```
#[derive(Clone, Debug, Default)]
pub struct LazyHeaders {
    // A `Vec` rather than the guide's `HashMap`: responses carry a handful of headers,
    // order matters on the wire and `Set-Cookie` may repeat. `Vec::new()` does not
    // allocate, so the `Option` only makes "never touched" explicit and cheap to test.
    inner: Option<Vec<(Cow<'static, str>, Cow<'static, str>)>>,
}

impl LazyHeaders {
    /// No headers, no allocation.
    pub const fn new() -> Self {
        LazyHeaders { inner: None }
    }

    /// Sets `name` to `value`, replacing an existing value of the same name.
    pub fn insert(&mut self, name: Cow<'static, str>, value: Cow<'static, str>) {
        let v = self.inner.get_or_insert_with(|| Vec::with_capacity(4));
        if let Some(slot) = v.iter_mut().find(|(n, _)| n.eq_ignore_ascii_case(&name)) {
            slot.1 = value;
        } else {
            v.push((name, value));
        }
    }

    /// Adds `name: value` even when `name` is already present (e.g. `Set-Cookie`).
    pub fn append(&mut self, name: Cow<'static, str>, value: Cow<'static, str>) {
        self.inner
            .get_or_insert_with(|| Vec::with_capacity(4))
            .push((name, value));
    }

    /// The value of `name` (ASCII case-insensitive).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.inner.as_ref()?.iter().find_map(|(n, v)| {
            if n.eq_ignore_ascii_case(name) {
                Some(v.as_ref())
            } else {
                None
            }
        })
    }

    /// Removes every value of `name`.
    pub fn remove(&mut self, name: &str) {
        if let Some(v) = self.inner.as_mut() {
            v.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        }
    }

    /// `true` when no header was inserted.
    pub fn is_empty(&self) -> bool {
        self.inner.as_ref().is_none_or(|v| v.is_empty())
    }

    /// Whether storage was allocated (the first insert allocates).
    pub fn is_allocated(&self) -> bool {
        self.inner.is_some()
    }

    /// The number of headers.
    pub fn len(&self) -> usize {
        self.inner.as_ref().map_or(0, |v| v.len())
    }

    /// All headers in insertion order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.inner
            .iter()
            .flat_map(|v| v.iter().map(|(n, v)| (n.as_ref(), v.as_ref())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interns_standard_names_case_insensitively() {
        for (raw, want) in [
            (&b"Host"[..], Some(StandardHeader::Host)),
            (b"CONTENT-LENGTH", Some(StandardHeader::ContentLength)),
            (b"transfer-encoding", Some(StandardHeader::TransferEncoding)),
            (b"X-Custom", None),
            (b"hos", None),
        ] {
            assert_eq!(StandardHeader::from_bytes(raw), want, "{raw:?}");
        }
    }

    #[test]
    fn lazy_headers_allocate_on_first_insert_and_replace() {
        let mut h = LazyHeaders::new();
        assert!(!h.is_allocated());
        h.insert("X-A".into(), "1".into());
        assert!(h.is_allocated());
        h.insert("x-a".into(), "2".into());
        h.append("Set-Cookie".into(), "a=1".into());
        h.append("Set-Cookie".into(), "b=2".into());
        assert_eq!(h.get("X-A"), Some("2"));
        assert_eq!(h.len(), 3);
        h.remove("set-cookie");
        assert_eq!(h.len(), 1);
    }
}
