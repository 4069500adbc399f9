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
                // Each test compares the length first, then the name word by word
                // against the literal ([`eq_lower`]); a length/first-letter `match`
                // followed by one comparison against `as_str()` measured 15% slower in
                // the parser bench.
                $(
                    if name.len() == $lower.len() && eq_lower(name, $lower.as_bytes()) {
                        return Some(StandardHeader::$variant);
                    }
                )+
                None
            }
        }
    };
}

/// `name == lit` ignoring ASCII case, for a `lit` of lower-case letters and `-` of
/// the same length: in (overlapping) 8-, 4- or 2-byte words, each OR-ed with `0x20`
/// at the letters' positions only (so exact for any bytes of `name`: only `A`-`Z`
/// map onto `a`-`z`, and a `-` must be a `-`). With `lit` a literal, the words and
/// masks of `lit` are constants. `eq_ignore_ascii_case`, a byte at a time, cost
/// ~40 instructions for `Host` in callgrind (pipelined /plaintext).
#[inline(always)]
fn eq_lower(name: &[u8], lit: &[u8]) -> bool {
    debug_assert_eq!(name.len(), lit.len());
    #[inline(always)]
    fn word<const N: usize>(s: &[u8], at: usize) -> u64 {
        let mut b = [0u8; 8];
        b[..N].copy_from_slice(&s[at..at + N]);
        u64::from_le_bytes(b)
    }
    #[inline(always)]
    fn eq<const N: usize>(name: &[u8], lit: &[u8], at: usize) -> bool {
        let mut mask = [0u8; 8];
        for (m, c) in mask[..N].iter_mut().zip(&lit[at..at + N]) {
            *m = if c.is_ascii_lowercase() { 0x20 } else { 0 };
        }
        word::<N>(name, at) | u64::from_le_bytes(mask) == word::<N>(lit, at)
    }
    let n = lit.len();
    if name.len() != n {
        return false;
    }
    match n {
        0 => true,
        1 => name[0].to_ascii_lowercase() == lit[0],
        2..=3 => eq::<2>(name, lit, 0) && eq::<2>(name, lit, n - 2),
        4..=7 => eq::<4>(name, lit, 0) && eq::<4>(name, lit, n - 4),
        _ => {
            let mut at = 0;
            while at + 8 < n {
                if !eq::<8>(name, lit, at) {
                    return false;
                }
                at += 8;
            }
            eq::<8>(name, lit, n - 8)
        }
    }
}

// Ordered by how often they appear in real requests, so the scan stops early.
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

/// One header line of a request, as byte ranges into the map's buffer.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Entry {
    /// The interned name, when it is a standard header.
    pub std: Option<StandardHeader>,
    pub name: (u32, u32),
    pub value: (u32, u32),
}

/// The headers of a request, in the order received.
///
/// The map keeps the request head's bytes (one `Bytes`, shared with the read
/// buffer) and, per line, the ranges of name and value: about 20 bytes a header, 12
/// inline, so a request stays small enough to move cheaply through the handler
/// chain. Values are returned as slices, or as zero-copy `Bytes` with
/// [`HeaderMap::get_bytes`].
///
/// ```
/// use armature_core::http::HeaderMap;
/// use armature_core::Bytes;
/// let mut h = HeaderMap::new();
/// h.append(Bytes::from_static(b"Content-Type"), Bytes::from_static(b"text/plain"));
/// assert_eq!(h.get_str("content-type"), Some("text/plain"));
/// assert_eq!(h.get("CONTENT-TYPE"), Some(&b"text/plain"[..]));
/// ```
#[derive(Clone, Default)]
pub struct HeaderMap {
    pub(crate) buf: Bytes,
    pub(crate) entries: SmallVec<[Entry; 12]>,
    /// Names and values of headers added after parsing (middleware setting a request
    /// id), so that adding one copies neither the head nor allocates; the ranges of
    /// their entries carry [`ADDED`].
    pub(crate) added: Added,
}

/// The bytes of added headers: inline up to [`Added::INLINE`] (a generated request
/// id and its name fit), then on the heap. (A `SmallVec<[u8; N]>` measured ~50
/// instructions per `extend_from_slice` in callgrind; this is one bounds check and
/// one copy.)
#[derive(Clone)]
pub(crate) struct Added {
    len: u32,
    inline: [u8; Added::INLINE],
    /// Everything, once it no longer fits inline.
    heap: Vec<u8>,
}

impl Default for Added {
    fn default() -> Self {
        Added {
            len: 0,
            inline: [0; Added::INLINE],
            heap: Vec::new(),
        }
    }
}

impl Added {
    const INLINE: usize = 40;

    #[inline]
    fn as_slice(&self) -> &[u8] {
        if self.heap.is_empty() {
            &self.inline[..self.len as usize]
        } else {
            &self.heap
        }
    }

    /// Appends `bytes`; returns where they lie.
    #[inline]
    fn push(&mut self, bytes: &[u8]) -> (u32, u32) {
        let start = self.len as usize;
        let end = start + bytes.len();
        match self.inline.get_mut(start..end) {
            Some(room) if self.heap.is_empty() => room.copy_from_slice(bytes),
            _ => {
                if self.heap.is_empty() {
                    self.heap.extend_from_slice(&self.inline[..start]);
                }
                self.heap.extend_from_slice(bytes);
            }
        }
        self.len = end as u32;
        (start as u32, end as u32)
    }

    /// [`push`](Self::push) of 16 bytes, copied inline as one fixed-size store.
    #[inline]
    fn push16(&mut self, bytes: &[u8; 16]) -> (u32, u32) {
        let start = self.len as usize;
        let end = start + 16;
        match self.inline.get_mut(start..end) {
            Some(room) if self.heap.is_empty() => room.copy_from_slice(bytes),
            _ => return self.push(bytes),
        }
        self.len = end as u32;
        (start as u32, end as u32)
    }

    #[inline]
    fn clear(&mut self) {
        self.len = 0;
        self.heap.clear();
    }
}

/// The bit of an [`Entry`] range that says it lies in [`HeaderMap::added`], not in
/// the head (a head is far below 2 GiB).
const ADDED: u32 = 1 << 31;

/// The name range of an [`Entry`] whose name is its interned one,
/// `std.as_str()` ([`HeaderMap::append_std16`]).
const INTERNED: u32 = u32::MAX;

impl HeaderMap {
    /// An empty map.
    pub fn new() -> Self {
        HeaderMap::default()
    }

    pub(crate) fn from_parts(buf: Bytes, entries: SmallVec<[Entry; 12]>) -> Self {
        HeaderMap {
            buf,
            entries,
            added: Added::default(),
        }
    }

    /// Adds a header. (Copies the name and value, after the parsed ones; a short pair
    /// is kept inline, with no allocation.)
    pub fn append(&mut self, name: Bytes, value: Bytes) {
        self.append_slices(&name, &value, StandardHeader::from_bytes(&name));
    }

    /// [`append`](Self::append) from slices, with the name's interned form known.
    pub(crate) fn append_slices(&mut self, name: &[u8], value: &[u8], std: Option<StandardHeader>) {
        let (ns, ne) = self.added.push(name);
        let (vs, ve) = self.added.push(value);
        self.entries.push(Entry {
            std,
            name: (ns | ADDED, ne | ADDED),
            value: (vs | ADDED, ve | ADDED),
        });
    }

    /// Adds standard header `std` with a 16-byte value (a generated request id): the
    /// name is not copied (the entry names the interned one, so it reads as
    /// `std.as_str()`), the value is one copy of fixed size. (With
    /// [`append_slices`](Self::append_slices), two copies of run-time length, ~90
    /// instructions in callgrind.)
    #[inline]
    pub(crate) fn append_std16(&mut self, std: StandardHeader, value: &[u8; 16]) {
        let (vs, ve) = self.added.push16(value);
        self.entries.push(Entry {
            std: Some(std),
            name: (INTERNED, INTERNED),
            value: (vs | ADDED, ve | ADDED),
        });
    }

    /// Forgets the headers (before the parser fills the map again).
    #[inline]
    pub(crate) fn clear(&mut self) {
        self.entries.clear();
        self.added.clear();
    }

    /// Removes every value of `name` (ASCII case-insensitive).
    pub fn remove(&mut self, name: &str) {
        let (buf, added) = (&self.buf, self.added.as_slice());
        self.entries
            .retain(|e| !name_of(buf, added, e).eq_ignore_ascii_case(name.as_bytes()));
    }

    #[inline]
    fn slice(&self, r: (u32, u32)) -> &[u8] {
        slice_of(&self.buf, self.added.as_slice(), r)
    }

    /// The name of `e` as sent (or as added).
    #[inline]
    fn name(&self, e: &Entry) -> &[u8] {
        name_of(&self.buf, self.added.as_slice(), e)
    }

    #[inline]
    fn find(&self, name: &str) -> Option<&Entry> {
        match StandardHeader::from_bytes(name.as_bytes()) {
            Some(std) => self.entries.iter().find(|e| e.std == Some(std)),
            None => self
                .entries
                .iter()
                .find(|e| e.std.is_none() && self.name(e).eq_ignore_ascii_case(name.as_bytes())),
        }
    }

    /// The first value of `name` (ASCII case-insensitive).
    #[inline]
    pub fn get(&self, name: &str) -> Option<&[u8]> {
        self.find(name).map(|e| self.slice(e.value))
    }

    /// The first value of `name` as a zero-copy `Bytes`.
    pub fn get_bytes(&self, name: &str) -> Option<Bytes> {
        self.find(name).map(|e| {
            if e.value.0 & ADDED != 0 {
                Bytes::copy_from_slice(self.slice(e.value))
            } else {
                self.buf.slice(e.value.0 as usize..e.value.1 as usize)
            }
        })
    }

    /// The first value of a standard header.
    #[inline]
    pub fn get_standard(&self, name: StandardHeader) -> Option<&[u8]> {
        self.entries
            .iter()
            .find(|e| e.std == Some(name))
            .map(|e| self.slice(e.value))
    }

    /// The first value of `name` as UTF-8 text, if it is.
    pub fn get_str(&self, name: &str) -> Option<&str> {
        self.get(name).and_then(|v| std::str::from_utf8(v).ok())
    }

    /// Every value of `name`, in order.
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.entries
            .iter()
            .filter(move |e| self.name(e).eq_ignore_ascii_case(name.as_bytes()))
            .map(|e| self.slice(e.value))
    }

    /// Whether `name` is present.
    pub fn contains(&self, name: &str) -> bool {
        self.find(name).is_some()
    }

    /// All headers in the order received: name (as sent) and value.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.entries.iter().map(|e| {
            let name = std::str::from_utf8(self.name(e)).unwrap_or("");
            (name, self.slice(e.value))
        })
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

/// The bytes of range `r`: in the head, or (flagged [`ADDED`]) among the added ones.
#[inline]
fn slice_of<'a>(buf: &'a [u8], added: &'a [u8], r: (u32, u32)) -> &'a [u8] {
    if r.0 & ADDED == 0 {
        &buf[r.0 as usize..r.1 as usize]
    } else {
        &added[(r.0 & !ADDED) as usize..(r.1 & !ADDED) as usize]
    }
}

/// The name of entry `e` (see [`slice_of`] and [`INTERNED`]).
#[inline]
fn name_of<'a>(buf: &'a [u8], added: &'a [u8], e: &Entry) -> &'a [u8] {
    match e.std {
        Some(std) if e.name.0 == INTERNED => std.as_str().as_bytes(),
        _ => slice_of(buf, added, e.name),
    }
}

impl fmt::Debug for HeaderMap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.iter().map(|(n, v)| (n, String::from_utf8_lossy(v))))
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
    fn a_header_added_under_its_interned_name_reads_as_any_other() {
        let mut h = HeaderMap::new();
        h.append(
            Bytes::from_static(b"Host"),
            Bytes::from_static(b"example.com"),
        );
        h.append_std16(StandardHeader::XRequestId, b"0123456789abcdef");
        assert_eq!(h.get_str("X-Request-Id"), Some("0123456789abcdef"));
        assert_eq!(
            h.get_standard(StandardHeader::XRequestId),
            Some(&b"0123456789abcdef"[..])
        );
        assert!(h.contains("x-request-id"));
        assert_eq!(h.get_all("x-request-id").count(), 1);
        let names: Vec<&str> = h.iter().map(|(n, _)| n).collect();
        assert_eq!(names, ["Host", "x-request-id"]);
        assert_eq!(
            format!("{h:?}"),
            r#"{"Host": "example.com", "x-request-id": "0123456789abcdef"}"#
        );
        // Past the inline room, the value goes to the heap with the others.
        h.append(Bytes::from_static(b"x-long"), Bytes::from(vec![b'a'; 30]));
        h.append_std16(StandardHeader::XRequestId, b"fedcba9876543210");
        assert_eq!(h.get_all("x-request-id").count(), 2);
        assert_eq!(h.get_str("x-long").map(str::len), Some(30));
        h.remove("X-REQUEST-ID");
        assert!(!h.contains("x-request-id"));
        assert_eq!(h.len(), 2);
    }

    #[test]
    fn every_standard_name_is_found_in_any_case() {
        for h in [
            StandardHeader::Host,
            StandardHeader::UserAgent,
            StandardHeader::Accept,
            StandardHeader::Connection,
            StandardHeader::ContentLength,
            StandardHeader::ContentType,
            StandardHeader::AcceptEncoding,
            StandardHeader::AcceptLanguage,
            StandardHeader::Cookie,
            StandardHeader::Authorization,
            StandardHeader::TransferEncoding,
            StandardHeader::Expect,
            StandardHeader::CacheControl,
            StandardHeader::Origin,
            StandardHeader::Referer,
            StandardHeader::IfNoneMatch,
            StandardHeader::IfModifiedSince,
            StandardHeader::Upgrade,
            StandardHeader::Te,
            StandardHeader::Trailer,
            StandardHeader::XForwardedFor,
            StandardHeader::XRequestId,
        ] {
            let lower = h.as_str();
            assert_eq!(
                StandardHeader::from_bytes(lower.as_bytes()),
                Some(h),
                "{lower}"
            );
            let upper = lower.to_ascii_uppercase();
            assert_eq!(
                StandardHeader::from_bytes(upper.as_bytes()),
                Some(h),
                "{upper}"
            );
        }
        for other in [
            &b""[..],
            b"x",
            b"hosts",
            b"accept-encodinX",
            b"acceptXlanguage",
            b"te-",
            b"@ost",
        ] {
            assert_eq!(StandardHeader::from_bytes(other), None, "{other:?}");
        }
    }

    #[test]
    fn a_name_with_any_one_byte_changed_is_another_name() {
        // Every byte value at every position: only the letter's other case matches
        // (a CR where the name has `-` must not: `0x0D | 0x20` is `-`).
        for lower in [
            "host",
            "te",
            "accept",
            "user-agent",
            "x-request-id",
            "if-modified-since",
        ] {
            let h = StandardHeader::from_bytes(lower.as_bytes()).expect(lower);
            for at in 0..lower.len() {
                for b in 0..=255u8 {
                    let mut name = lower.as_bytes().to_vec();
                    name[at] = b;
                    let same = b.eq_ignore_ascii_case(&lower.as_bytes()[at]);
                    let found = StandardHeader::from_bytes(&name);
                    assert_eq!(found == Some(h), same, "{lower} with {b:#x} at {at}");
                }
            }
        }
    }

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
