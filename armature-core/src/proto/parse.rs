//! `SIMDParser`: the HTTP/1.1 request-head parser (word-at-a-time scans with
//! httparse's rules, tested against httparse), zero-copy,
//! with interned header names and strict framing rules against request smuggling.

use std::fmt;

use bytes::Bytes;

use crate::http::headers::{Entry, StandardHeader};
use crate::http::request::Version;
use crate::http::{HttpRequest, Method, StatusCode};
use crate::proto::swar;
use crate::Error;

/// Why a request head could not be parsed. Opaque; ask it questions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    kind: ErrorKind,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum ErrorKind {
    Incomplete,
    HeadTooLarge,
    TooManyHeaders,
    UriTooLong,
    Malformed(&'static str),
    Smuggling(&'static str),
    UnsupportedTransferEncoding,
    UnknownMethod,
    Expectation,
}

impl ParseError {
    const fn new(kind: ErrorKind) -> Self {
        ParseError { kind }
    }

    /// The buffer holds the start of a head but not all of it: read more.
    pub fn is_incomplete(&self) -> bool {
        self.kind == ErrorKind::Incomplete
    }

    /// The head or its framing is ambiguous in a way attackers use to smuggle requests.
    pub fn is_smuggling(&self) -> bool {
        matches!(self.kind, ErrorKind::Smuggling(_))
    }

    /// The status to answer with (the connection must then be closed).
    pub fn status(&self) -> StatusCode {
        match self.kind {
            ErrorKind::Incomplete | ErrorKind::Malformed(_) | ErrorKind::Smuggling(_) => {
                StatusCode::BAD_REQUEST
            }
            ErrorKind::HeadTooLarge | ErrorKind::TooManyHeaders => {
                StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE
            }
            ErrorKind::UriTooLong => StatusCode::URI_TOO_LONG,
            ErrorKind::UnsupportedTransferEncoding | ErrorKind::UnknownMethod => {
                StatusCode::NOT_IMPLEMENTED
            }
            ErrorKind::Expectation => StatusCode::EXPECTATION_FAILED,
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            ErrorKind::Incomplete => f.write_str("incomplete request head"),
            ErrorKind::HeadTooLarge => f.write_str("request head too large"),
            ErrorKind::TooManyHeaders => f.write_str("too many request headers"),
            ErrorKind::UriTooLong => f.write_str("request URI too long"),
            ErrorKind::Malformed(what) => write!(f, "malformed request: {what}"),
            ErrorKind::Smuggling(what) => write!(f, "ambiguous request framing: {what}"),
            ErrorKind::UnsupportedTransferEncoding => {
                f.write_str("unsupported Transfer-Encoding (only `chunked` is accepted)")
            }
            ErrorKind::UnknownMethod => f.write_str("unknown request method"),
            ErrorKind::Expectation => f.write_str("unsupported Expect (only `100-continue`)"),
        }
    }
}

impl std::error::Error for ParseError {}

/// `?` on a parse in a handler: answered with the parser's status and text.
///
/// ```
/// use armature_core::{simd_parser::SIMDParser, Bytes, Error};
/// fn parse(raw: &'static [u8]) -> Result<(), Error> {
///     SIMDParser::new().parse(&Bytes::from_static(raw))?;
///     Ok(())
/// }
/// let err = parse(b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n").unwrap_err();
/// assert!(err.is_parse());
/// assert_eq!(err.status().as_u16(), 400);
/// ```
impl From<ParseError> for Error {
    fn from(e: ParseError) -> Self {
        Error::parse(e.status(), e.to_string(), Box::new(e))
    }
}

/// How the body of a request is delimited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BodyKind {
    None,
    Length(u64),
    Chunked,
}

/// Framing facts gathered while parsing, so the connection loop never rescans headers.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Framing {
    pub body: BodyKind,
    pub keep_alive: bool,
    pub expect_continue: bool,
}

/// What parsing a head yields besides the request itself.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Head {
    /// Bytes of the buffer the head occupies.
    pub head_len: usize,
    pub framing: Framing,
}

/// The request-head parser.
///
/// ```
/// use armature_core::simd_parser::SIMDParser;
/// use armature_core::{Bytes, Method};
///
/// let raw = Bytes::from_static(b"POST /users?x=1 HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\n{}");
/// let (req, rest) = SIMDParser::new().parse(&raw).unwrap();
/// assert_eq!(req.method(), Method::Post);
/// assert_eq!(req.path(), "/users");
/// assert_eq!(req.header_str("host"), Some("a"));
/// assert_eq!(&rest[..], b"{}");
/// ```
#[derive(Clone, Debug)]
pub struct SIMDParser {
    max_headers: usize,
    max_head_size: usize,
    max_uri_len: usize,
}

impl Default for SIMDParser {
    fn default() -> Self {
        SIMDParser::new()
    }
}

impl SIMDParser {
    /// A parser with the server's default limits (64 headers, 16 KiB head, 8 KiB URI).
    pub fn new() -> Self {
        SIMDParser {
            max_headers: 64,
            max_head_size: 16 * 1024,
            max_uri_len: 8 * 1024,
        }
    }

    /// A parser with explicit limits.
    pub fn with_limits(max_headers: usize, max_head_size: usize, max_uri_len: usize) -> Self {
        SIMDParser {
            max_headers: max_headers.max(1),
            max_head_size,
            max_uri_len,
        }
    }

    /// Parses the request head at the start of `raw`. Returns the request (without a
    /// body: framing is the connection's job) and the bytes after the head.
    pub fn parse(&self, raw: &Bytes) -> Result<(HttpRequest, Bytes), ParseError> {
        let mut req = HttpRequest::empty();
        let head = self.parse_head(raw, &mut req, 0)?;
        req.headers.buf = raw.clone();
        Ok((req, raw.slice(head.head_len..)))
    }

    /// Parses a head from `buf` into `req` (a request reused from one head to the
    /// next, so nothing is moved per request): method, version, target and header
    /// ranges. The caller then points `req.headers.buf` at bytes whose offset `base`
    /// is where `buf` starts (a request of a pipelined batch lies within the
    /// batch's bytes, see `server::conn`; its ranges are kept as offsets into them).
    pub(crate) fn parse_head(
        &self,
        buf: &[u8],
        req: &mut HttpRequest,
        base: u32,
    ) -> Result<Head, ParseError> {
        let line = match request_line(buf) {
            Ok(Some(line)) => line,
            Ok(None) => return Err(self.incomplete(buf)),
            Err(e) => return Err(ParseError::new(ErrorKind::Malformed(error_what(e)))),
        };
        req.headers.clear();
        let entries = &mut req.headers.entries;
        let mut at = line.len;
        // Counted here, as each header is classified: `check` then walks the headers
        // only when one of those that frame the request is there (most requests have
        // only `Host` and others that it does not read).
        let mut seen = Seen::default();
        let head_len = loop {
            match header_line(buf, at) {
                Ok(Some(HeaderLine::End(end))) => break end,
                Ok(Some(HeaderLine::Field { name, value, next })) => {
                    if entries.len() == self.max_headers {
                        return Err(ParseError::new(ErrorKind::TooManyHeaders));
                    }
                    let std = StandardHeader::from_bytes(&buf[name.0..name.1]);
                    match std {
                        Some(StandardHeader::Host) => seen.hosts += 1,
                        Some(
                            StandardHeader::ContentLength
                            | StandardHeader::TransferEncoding
                            | StandardHeader::Connection
                            | StandardHeader::Expect,
                        ) => seen.framing = true,
                        _ => {}
                    }
                    entries.push(Entry {
                        std,
                        name: (base + name.0 as u32, base + name.1 as u32),
                        value: (base + value.0 as u32, base + value.1 as u32),
                    });
                    at = next;
                }
                Ok(None) => return Err(self.incomplete(buf)),
                Err(e) => return Err(ParseError::new(ErrorKind::Malformed(error_what(e)))),
            }
        };
        self.check(buf, &line, head_len, seen, req, base)
    }

    /// The checks on a complete head: limits, method, target and the framing
    /// headers.
    fn check(
        &self,
        buf: &[u8],
        line: &RequestLine,
        head_len: usize,
        seen: Seen,
        out: &mut HttpRequest,
        base: u32,
    ) -> Result<Head, ParseError> {
        if head_len > self.max_head_size {
            return Err(ParseError::new(ErrorKind::HeadTooLarge));
        }

        let method = match line.known {
            Some(method) => method,
            None => Method::from_bytes(&buf[line.method.0..line.method.1])
                .ok_or(ParseError::new(ErrorKind::UnknownMethod))?,
        };
        let version = line.version;
        let path = &buf[line.target.0..line.target.1];
        if path.len() > self.max_uri_len {
            return Err(ParseError::new(ErrorKind::UriTooLong));
        }
        // `request_line` has checked the target is UTF-8 (`HttpRequest::uri` relies on it).
        let (target_start, path_len) =
            if path.first() == Some(&b'/') || (path == b"*" && method == Method::Options) {
                (0, line.query.unwrap_or(path.len()))
            } else if let Some(rest) = path
                .strip_prefix(b"http://")
                .or_else(|| path.strip_prefix(b"https://"))
            {
                // absolute-form: keep the path and query only.
                match find_byte(rest, b'/') {
                    Some(i) => {
                        let start = path.len() - rest.len() + i;
                        let target = &path[start..];
                        (start, find_byte(target, b'?').unwrap_or(target.len()))
                    }
                    None => {
                        return Err(ParseError::new(ErrorKind::Malformed(
                            "absolute URI without a path",
                        )))
                    }
                }
            } else {
                return Err(ParseError::new(ErrorKind::Malformed(
                    "request target must start with `/`",
                )));
            };
        let target = &path[target_start..];
        let path_len = path_len as u32;

        let mut framing = Framing {
            body: BodyKind::None,
            keep_alive: version == Version::Http11,
            expect_continue: false,
        };
        let mut content_length: Option<u64> = None;
        let mut chunked = false;
        let mut saw_te = false;
        let hosts = seen.hosts;
        // Only `Host` and headers this does not read: nothing to walk.
        let framing_headers: &[Entry] = if seen.framing {
            &out.headers.entries
        } else {
            &[]
        };
        for h in framing_headers {
            // Sliced only for the headers read here (a bounds check each).
            let value = || &buf[(h.value.0 - base) as usize..(h.value.1 - base) as usize];
            match h.std {
                Some(StandardHeader::ContentLength) => {
                    let n = parse_content_length(value())?;
                    if content_length.is_some_and(|c| c != n) {
                        return Err(ParseError::new(ErrorKind::Smuggling(
                            "two different Content-Length values",
                        )));
                    }
                    content_length = Some(n);
                }
                Some(StandardHeader::TransferEncoding) => {
                    if version == Version::Http10 {
                        return Err(ParseError::new(ErrorKind::Smuggling(
                            "Transfer-Encoding in an HTTP/1.0 request",
                        )));
                    }
                    saw_te = true;
                    for coding in value().split(|&b| b == b',') {
                        let coding = trim(coding);
                        if coding.is_empty() {
                            continue;
                        }
                        if chunked {
                            // Anything after `chunked` (including a second one) is invalid.
                            return Err(ParseError::new(ErrorKind::Smuggling(
                                "`chunked` is not the final transfer coding",
                            )));
                        }
                        if coding.eq_ignore_ascii_case(b"chunked") {
                            chunked = true;
                        } else {
                            return Err(ParseError::new(ErrorKind::UnsupportedTransferEncoding));
                        }
                    }
                }
                Some(StandardHeader::Connection) => {
                    for token in value().split(|&b| b == b',') {
                        let token = trim(token);
                        if token.eq_ignore_ascii_case(b"close") {
                            framing.keep_alive = false;
                        } else if token.eq_ignore_ascii_case(b"keep-alive")
                            && version == Version::Http10
                        {
                            framing.keep_alive = true;
                        }
                    }
                }
                Some(StandardHeader::Expect) => {
                    if trim(value()).eq_ignore_ascii_case(b"100-continue") {
                        framing.expect_continue = version == Version::Http11;
                    } else {
                        return Err(ParseError::new(ErrorKind::Expectation));
                    }
                }
                _ => {}
            }
        }
        // RFC 9112 §3.2: an HTTP/1.1 request has exactly one Host; requests that
        // disagree about their host are a known route to cache and routing confusion.
        if hosts > 1 || (hosts == 0 && version == Version::Http11) {
            return Err(ParseError::new(ErrorKind::Malformed(
                "an HTTP/1.1 request needs exactly one Host header",
            )));
        }
        if saw_te && !chunked {
            return Err(ParseError::new(ErrorKind::Smuggling(
                "empty Transfer-Encoding",
            )));
        }
        framing.body = match (content_length, chunked) {
            (Some(_), true) => {
                return Err(ParseError::new(ErrorKind::Smuggling(
                    "both Content-Length and Transfer-Encoding",
                )))
            }
            (Some(0), false) | (None, false) => BodyKind::None,
            (Some(n), false) => BodyKind::Length(n),
            (None, true) => BodyKind::Chunked,
        };
        let t0 = base + (line.target.0 + target_start) as u32;
        out.method = method;
        out.version = version;
        out.target = (t0, t0 + target.len() as u32);
        out.path_len = path_len;
        out.params.clear();
        Ok(Head { head_len, framing })
    }

    /// Classifies a partial head: still within limits (read more) or already too big.
    fn incomplete(&self, buf: &[u8]) -> ParseError {
        let line_end = memchr::memchr(b'\n', buf);
        match line_end {
            None if buf.len() > self.max_uri_len + 32 => ParseError::new(ErrorKind::UriTooLong),
            _ if buf.len() > self.max_head_size => ParseError::new(ErrorKind::HeadTooLarge),
            _ => ParseError::new(ErrorKind::Incomplete),
        }
    }
}

/// Where the parts of a request line are in the buffer.
struct RequestLine {
    method: (usize, usize),
    /// The method, when the line's fast path already knows it (`GET`, `POST`).
    known: Option<Method>,
    target: (usize, usize),
    /// Where the target's first `?` is, from the target's start.
    query: Option<usize>,
    version: Version,
    /// Bytes up to the end of the line (its CRLF included), after any empty lines.
    len: usize,
}

/// Bytes httparse accepts in a request target: visible ASCII and, for UTF-8, any
/// byte above 0x7F (the target is then checked to be UTF-8).
const fn uri_byte(b: u8) -> bool {
    matches!(b, b'!'..=b'~' | 0x80..=0xFF)
}

/// A method token (RFC 9110 §5.6.2 `tchar`), as httparse's.
const fn method_byte(b: u8) -> bool {
    matches!(b,
        b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9'
        | b'!' | b'#' | b'$' | b'%' | b'&' | b'\'' | b'*' | b'+'
        | b'-' | b'.' | b'^' | b'_' | b'`' | b'|' | b'~')
}

/// What `parse_head` noted of the headers for `check`.
#[derive(Clone, Copy, Default)]
struct Seen {
    /// `Host` headers.
    hosts: u32,
    /// A header that frames the request or changes the connection (`Content-Length`,
    /// `Transfer-Encoding`, `Connection`, `Expect`) is there.
    framing: bool,
}

/// A header line, or the blank line that ends the head, as [`header_line`] finds it.
enum HeaderLine {
    /// The head ends at this offset (after its blank line).
    End(usize),
    /// `name: value`, as ranges of the buffer (the value without the whitespace
    /// around it), and where the next line starts.
    Field {
        name: (usize, usize),
        value: (usize, usize),
        next: usize,
    },
}

/// A header name byte: a token (RFC 9110 §5.6.2), as httparse's.
const fn name_byte(b: u8) -> bool {
    method_byte(b)
}

/// [`name_byte`] as a table: a header name is scanned with one load per byte
/// (callgrind, `parser/browser_get`'s eight names of 91 bytes: the range tests of
/// `method_byte` with a bounds check per byte were ~1,700 of its ~4,470
/// instructions).
static TOKEN: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        t[b] = name_byte(b as u8);
        b += 1;
    }
    t
};

/// A header value byte, as httparse's: HTAB, visible ASCII and space, obs-text.
const fn value_byte(b: u8) -> bool {
    matches!(b, b'\t' | b' '..=b'~' | 0x80..=0xFF)
}

/// Parses the header line (or the head's blank line) at `buf[at..]` (RFC 9112 §5):
/// `Ok(None)` while it is incomplete.
///
/// Parsed here, with exactly the rules and errors of httparse's header parse with
/// its default settings (no obs-fold, no whitespace before the colon, leading and
/// trailing whitespace of a value not part of it; a test compares the two), and
/// straight into the request's header ranges: httparse cost ~260 instructions a
/// request for one short `Host` header in callgrind (its runtime SIMD dispatch
/// per value, its `Header` array, which then had to be turned into ranges), this
/// ~60. Values are scanned a word at a time (SWAR).
fn header_line(buf: &[u8], mut i: usize) -> Result<Option<HeaderLine>, httparse::Error> {
    use httparse::Error;
    let Some(&first) = buf.get(i) else {
        return Ok(None);
    };
    match first {
        b'\r' | b'\n' => return Ok(line_end(buf, i, Error::NewLine)?.map(HeaderLine::End)),
        b if !TOKEN[usize::from(b)] => return Err(Error::HeaderName),
        _ => {}
    }
    let name_start = i;
    i += 1;
    // The name ends at its first non-token byte, which must be the colon: 8 bytes
    // at a time while 8 remain (unrolled, no bounds checks), then byte by byte.
    let not_token = |&b: &u8| !TOKEN[usize::from(b)];
    loop {
        let Some(chunk) = buf.get(i..i + 8) else {
            match buf[i..].iter().position(not_token) {
                None => return Ok(None),
                Some(n) => i += n,
            }
            break;
        };
        let chunk: &[u8; 8] = chunk.try_into().expect("8 bytes");
        if let Some(n) = chunk.iter().position(not_token) {
            i += n;
            break;
        }
        i += 8;
    }
    if buf[i] != b':' {
        return Err(Error::HeaderName);
    }
    let name = (name_start, i);
    i += 1;
    loop {
        match buf.get(i) {
            None => return Ok(None),
            Some(b' ' | b'\t') => i += 1,
            Some(_) => break,
        }
    }
    let value_start = i;
    // A word at a time: the lowest byte below 0x20 or DEL is where the value ends,
    // unless it is an HTAB, a value byte.
    loop {
        let Some(word) = buf.get(i..i + 8) else {
            // Fewer than 8 bytes left: a byte at a time.
            loop {
                match buf.get(i) {
                    None => return Ok(None),
                    Some(&b) if value_byte(b) => i += 1,
                    Some(_) => break,
                }
            }
            break;
        };
        let w = swar::load(word);
        let stop = swar::below(w, 0x20) | swar::eq(w, 0x7f);
        if stop == 0 {
            i += 8;
            continue;
        }
        i += swar::first(stop);
        if buf[i] != b'\t' {
            break;
        }
        i += 1;
    }
    let mut end = i;
    let Some(next) = line_end(buf, i, Error::HeaderValue)? else {
        return Ok(None);
    };
    while end > value_start && matches!(buf[end - 1], b' ' | b'\t') {
        end -= 1;
    }
    Ok(Some(HeaderLine::Field {
        name,
        value: (value_start, end),
        next,
    }))
}

/// The end of a line at `buf[i..]`, CRLF or a bare LF as httparse accepts: where the
/// next line starts, `Ok(None)` while incomplete, `err` for anything else.
#[inline(always)]
fn line_end(buf: &[u8], i: usize, err: httparse::Error) -> Result<Option<usize>, httparse::Error> {
    // CRLF, the common case, as one 2-byte compare.
    if buf.get(i..i + 2) == Some(b"\r\n") {
        return Ok(Some(i + 2));
    }
    match buf.get(i) {
        None => Ok(None),
        Some(b'\r') => match buf.get(i + 1) {
            None => Ok(None),
            Some(b'\n') => Ok(Some(i + 2)),
            Some(_) => Err(err),
        },
        Some(b'\n') => Ok(Some(i + 1)),
        Some(_) => Err(err),
    }
}

/// Skips the empty lines before a request line: `Ok(None)` when the buffer ends
/// within them, else where the request line starts.
#[cold]
fn skip_empty_lines(buf: &[u8]) -> Result<Option<usize>, httparse::Error> {
    let mut i = 0;
    loop {
        match buf.get(i) {
            None => return Ok(None),
            Some(b'\r' | b'\n') => match line_end(buf, i, httparse::Error::NewLine)? {
                Some(next) => i = next,
                None => return Ok(None),
            },
            Some(_) => return Ok(Some(i)),
        }
    }
}

/// Parses the request line (RFC 9112 §3) after any empty lines (§2.2): `Ok(None)`
/// while it is incomplete.
///
/// Parsed here (as the header lines are, [`header_line`]), with exactly httparse's
/// rules and errors (a test compares the two on every
/// prefix and many mutations of request heads), in one pass that also finds the
/// query's `?`. httparse's request-line parse validated every target with
/// `str::from_utf8` (~110 instructions for `/plaintext` in callgrind) and the `?`
/// took a second scan; here a target is checked for UTF-8 only when it has a byte
/// above 0x7F.
fn request_line(buf: &[u8]) -> Result<Option<RequestLine>, httparse::Error> {
    use httparse::Error;
    let mut i = 0;
    if matches!(buf.first(), Some(b'\r' | b'\n')) {
        match skip_empty_lines(buf)? {
            Some(start) => i = start,
            None => return Ok(None),
        }
    }
    let method_start = i;
    let mut known = None;
    // The two common methods as one comparison each; any other token a byte at a time.
    if buf[i..].starts_with(b"GET ") {
        i += 3;
        known = Some(Method::Get);
    } else if buf[i..].starts_with(b"POST ") {
        i += 4;
        known = Some(Method::Post);
    } else {
        loop {
            match buf.get(i) {
                None => return Ok(None),
                Some(b' ') if i > method_start => break,
                Some(&b) if method_byte(b) => i += 1,
                Some(_) => return Err(Error::Token),
            }
        }
    }
    let method = (method_start, i);
    i += 1;
    let target_start = i;
    let mut query = None;
    let mut high = false;
    // The target a word at a time (SWAR), while 8 bytes remain: the lowest byte
    // that is not a target byte (below `!`, or DEL) ends it; `?`s and bytes above
    // 0x7F before it are noted. In each test only the lowest flagged byte is
    // certain (a borrow can flag bytes above it), and only the lowest is used.
    while let Some(word) = buf.get(i..i + 8) {
        let w = swar::load(word);
        let stop = swar::below(w, 0x21) | swar::eq(w, 0x7f);
        let len = if stop == 0 { 8 } else { swar::first(stop) };
        let before = if len == 8 {
            !0
        } else {
            (1u64 << (8 * len)) - 1
        };
        let q = swar::eq(w, b'?') & before;
        if q != 0 && query.is_none() {
            query = Some(i - target_start + swar::first(q));
        }
        high |= swar::high(w) & before != 0;
        i += len;
        if len < 8 {
            break;
        }
    }
    loop {
        match buf.get(i) {
            None => return Ok(None),
            Some(&b) if uri_byte(b) => {
                if b == b'?' && query.is_none() {
                    query = Some(i - target_start);
                }
                high |= b >= 0x80;
                i += 1;
            }
            Some(b' ') if i > target_start => break,
            Some(_) => return Err(Error::Token),
        }
    }
    let target = (target_start, i);
    if high && std::str::from_utf8(&buf[target_start..i]).is_err() {
        return Err(Error::Token);
    }
    i += 1;
    // One 8-byte compare each (a slice pattern compared byte by byte).
    const HTTP11: u64 = u64::from_le_bytes(*b"HTTP/1.1");
    const HTTP10: u64 = u64::from_le_bytes(*b"HTTP/1.0");
    let version = match buf.get(i..i + 8).map(swar::load) {
        Some(HTTP11) => Version::Http11,
        Some(HTTP10) => Version::Http10,
        Some(_) => return Err(Error::Version),
        None => {
            // Incomplete: still a version if what came is a prefix of `HTTP/1.`.
            let have = &buf[i.min(buf.len())..];
            return if have.iter().zip(b"HTTP/1.").all(|(a, b)| a == b) {
                Ok(None)
            } else {
                Err(Error::Version)
            };
        }
    };
    let Some(len) = line_end(buf, i + 8, Error::NewLine)? else {
        return Ok(None);
    };
    Ok(Some(RequestLine {
        method,
        known,
        target,
        query,
        version,
        len,
    }))
}

fn error_what(e: httparse::Error) -> &'static str {
    match e {
        httparse::Error::HeaderName => {
            "invalid header name (or whitespace before `:`, or obs-fold)"
        }
        httparse::Error::HeaderValue => "invalid header value",
        httparse::Error::NewLine => "invalid line ending",
        httparse::Error::Status => "invalid status",
        httparse::Error::Token => "invalid request line",
        httparse::Error::Version => "invalid HTTP version",
        httparse::Error::TooManyHeaders => "too many headers",
    }
}

/// The first `b` in `s`. Request targets are short: word by word (SWAR) below 64
/// bytes, where `memchr`'s set-up cost ~90 instructions for `/plaintext` in
/// callgrind; `memchr` above.
#[inline]
fn find_byte(s: &[u8], b: u8) -> Option<usize> {
    if s.len() >= 64 {
        return memchr::memchr(b, s);
    }
    let mut words = s.chunks_exact(8);
    let mut at = 0;
    for word in &mut words {
        let found = swar::eq(swar::load(word), b);
        if found != 0 {
            return Some(at + swar::first(found));
        }
        at += 8;
    }
    words
        .remainder()
        .iter()
        .position(|&c| c == b)
        .map(|i| at + i)
}

#[inline]
fn trim(s: &[u8]) -> &[u8] {
    s.trim_ascii()
}

/// `Content-Length = 1*DIGIT`; anything else (signs, spaces inside, lists) is refused.
fn parse_content_length(v: &[u8]) -> Result<u64, ParseError> {
    let v = trim(v);
    if v.is_empty() || v.len() > 19 || !v.iter().all(u8::is_ascii_digit) {
        return Err(ParseError::new(ErrorKind::Smuggling(
            "invalid Content-Length",
        )));
    }
    Ok(v.iter().fold(0u64, |n, d| n * 10 + u64::from(d - b'0')))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::chunked::{decode_chunked, ChunkedError};

    fn parse(raw: &[u8]) -> Result<(HttpRequest, Bytes), ParseError> {
        SIMDParser::new().parse(&Bytes::copy_from_slice(raw))
    }

    /// A head as httparse sees it: length, method, target, version, headers.
    type Parts = (usize, String, String, u8, Vec<(String, Vec<u8>)>);

    /// Request line and headers as this parser splits them, in httparse's terms
    /// (at most 64 headers, as `httparse_says`).
    fn split(buf: &[u8]) -> httparse::Result<Parts> {
        let Some(line) = request_line(buf)? else {
            return Ok(httparse::Status::Partial);
        };
        let mut hs = Vec::new();
        let mut at = line.len;
        let n = loop {
            match header_line(buf, at)? {
                None => return Ok(httparse::Status::Partial),
                Some(HeaderLine::End(end)) => break end - line.len,
                Some(HeaderLine::Field { name, value, next }) => {
                    if hs.len() == 64 {
                        return Err(httparse::Error::TooManyHeaders);
                    }
                    let name = String::from_utf8(buf[name.0..name.1].to_vec()).unwrap();
                    hs.push((name, buf[value.0..value.1].to_vec()));
                    at = next;
                }
            }
        };
        let text = |r: (usize, usize)| String::from_utf8(buf[r.0..r.1].to_vec()).unwrap();
        let target = &buf[line.target.0..line.target.1];
        let query = target.iter().position(|&b| b == b'?');
        assert_eq!(line.query, query, "{:?}", String::from_utf8_lossy(buf));
        let version = match line.version {
            Version::Http10 => 0,
            Version::Http11 => 1,
        };
        Ok(httparse::Status::Complete((
            line.len + n,
            text(line.method),
            text(line.target),
            version,
            hs,
        )))
    }

    fn httparse_says(buf: &[u8]) -> httparse::Result<Parts> {
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut req = httparse::Request::new(&mut headers);
        let n = match req.parse(buf)? {
            httparse::Status::Complete(n) => n,
            httparse::Status::Partial => return Ok(httparse::Status::Partial),
        };
        Ok(httparse::Status::Complete((
            n,
            req.method.unwrap().to_owned(),
            req.path.unwrap().to_owned(),
            req.version.unwrap(),
            req.headers
                .iter()
                .map(|h| (h.name.to_owned(), h.value.to_vec()))
                .collect(),
        )))
    }

    #[test]
    fn the_request_line_is_parsed_as_httparse_does() {
        let heads: &[&[u8]] = &[
            b"GET /plaintext HTTP/1.1\r\nHost: a\r\n\r\n",
            b"\r\n\nPOST /a?b=c&d?e HTTP/1.0\nContent-Length: 2\n\nxx",
            b"OPTIONS * HTTP/1.1\r\nHost: h\r\nX: \xc3\xa9\r\n\r\n",
            "PUT /caf\u{e9}?q=\u{e9} HTTP/1.1\r\nHost: h\r\n\r\n".as_bytes(),
            b"M-SEARCH http://h:1/x?y HTTP/1.1\r\nA: 1\r\nB:2\r\n\r\n",
            b"GET / HTTP/1.1\r\n\r\n",
            b"GET /a/longer/path/of/segments?and=a&query=1 HTTP/1.1\r\nHost: x\r\n\r\n",
            b"DELETE /0123456789abcdef0123456789abcdef HTTP/1.1\r\nHost: x\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: x\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64) \tx/1 \r\nA:\r\nB: \t \r\nC:  v  \r\n\r\n",
            b"GET / HTTP/1.1\nhost:x\nx-a: \xe2\x82\xac 0123456789abcdefghij\n\n",
        ];
        let swaps = [
            b' ', b'\r', b'\n', b'\t', 0, 0x1f, b'!', b'~', 0x7f, 0x80, 0xc3, 0xff, b'?', b'/',
            b'A', b'1', b':', b'"',
        ];
        let mut checked = 0;
        for head in heads {
            let mut cases = Vec::new();
            for cut in 0..=head.len() {
                cases.push(head[..cut].to_vec());
            }
            for at in 0..head.len() {
                for &b in &swaps {
                    let mut m = head.to_vec();
                    m[at] = b;
                    cases.push(m.clone());
                    m.remove(at);
                    cases.push(m);
                }
                let mut m = head.to_vec();
                m.insert(at, b' ');
                cases.push(m);
            }
            for case in cases {
                assert_eq!(
                    split(&case),
                    httparse_says(&case),
                    "{:?}",
                    String::from_utf8_lossy(&case)
                );
                checked += 1;
            }
        }
        assert!(checked > 3000, "{checked}");
    }

    #[test]
    fn find_byte_agrees_with_memchr() {
        for len in 0..80 {
            let hay: Vec<u8> = (0..len).map(|i| b'a' + (i % 7) as u8).collect();
            for at in 0..=len {
                let mut s = hay.clone();
                if at < len {
                    s[at] = b'?';
                    if at + 3 < len {
                        s[at + 3] = b'?';
                    }
                }
                assert_eq!(find_byte(&s, b'?'), memchr::memchr(b'?', &s), "{len} {at}");
            }
        }
    }

    #[test]
    fn parses_a_simple_get() {
        let (req, rest) = parse(b"GET /a/b?c=d HTTP/1.1\r\nHost: x\r\nX-Y: z\r\n\r\nNEXT").unwrap();
        assert_eq!(req.method(), Method::Get);
        assert_eq!(req.path(), "/a/b");
        assert_eq!(req.query(), Some("c=d"));
        assert_eq!(req.header_str("x-y"), Some("z"));
        assert_eq!(
            req.headers().get_standard(StandardHeader::Host).unwrap(),
            b"x"
        );
        assert_eq!(&rest[..], b"NEXT");
    }

    #[test]
    fn status_table() {
        let cases: &[(&[u8], u16)] = &[
            (b"GET / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
            (b"GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400),
            (b"GET / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400),
            (b"GET / HTTP/1.1\r\nContent-Length: 1 2\r\n\r\n", 400),
            (b"GET / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", 501),
            (b"GET / HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", 400),
            (b"GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
            (b"GET / HTTP/1.1\r\nX: a\r\n folded\r\n\r\n", 400),
            (b"GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400),
            (b"BREW / HTTP/1.1\r\n\r\n", 501),
            (b"GET nopath HTTP/1.1\r\n\r\n", 400),
            (b"GET / HTTP/1.1\r\nExpect: 200-ok\r\n\r\n", 417),
            (b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
            (b"GET / HTTP/1.1\r\n\r\n", 400),
            (b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400),
        ];
        for (raw, status) in cases {
            let err = parse(raw).unwrap_err();
            assert_eq!(
                err.status().as_u16(),
                *status,
                "{}",
                String::from_utf8_lossy(raw)
            );
        }
    }

    #[test]
    fn duplicate_equal_content_length_is_accepted() {
        let raw = b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\n";
        let head = SIMDParser::new()
            .parse_head(raw, &mut HttpRequest::empty(), 0)
            .unwrap();
        assert_eq!(head.framing.body, BodyKind::Length(3));
    }

    #[test]
    fn limits() {
        let p = SIMDParser::with_limits(2, 64, 16);
        let too_many = b"GET / HTTP/1.1\r\na: 1\r\nb: 2\r\nc: 3\r\n\r\n";
        assert_eq!(
            p.parse_head(too_many, &mut HttpRequest::empty(), 0)
                .unwrap_err()
                .status()
                .as_u16(),
            431
        );
        let long_uri = b"GET /aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa HTTP/1.1\r\n\r\n";
        assert_eq!(
            p.parse_head(long_uri, &mut HttpRequest::empty(), 0)
                .unwrap_err()
                .status()
                .as_u16(),
            414
        );
        let mut big = b"GET / HTTP/1.1\r\nx: ".to_vec();
        big.extend(std::iter::repeat_n(b'a', 100));
        assert_eq!(
            p.parse_head(&big, &mut HttpRequest::empty(), 0)
                .unwrap_err()
                .status()
                .as_u16(),
            431
        );
        assert!(p
            .parse_head(b"GET / HTTP/1.1\r\n", &mut HttpRequest::empty(), 0)
            .unwrap_err()
            .is_incomplete());
    }

    #[test]
    fn keep_alive_rules() {
        let ka = |raw: &[u8]| {
            SIMDParser::new()
                .parse_head(raw, &mut HttpRequest::empty(), 0)
                .unwrap()
                .framing
                .keep_alive
        };
        assert!(ka(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n"));
        assert!(!ka(
            b"GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"
        ));
        assert!(!ka(b"GET / HTTP/1.0\r\n\r\n"));
        assert!(ka(b"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n"));
    }

    #[test]
    fn absolute_form_keeps_the_path() {
        let (req, _) =
            parse(b"GET http://example.com/x?y HTTP/1.1\r\nHost: example.com\r\n\r\n").unwrap();
        assert_eq!(req.path(), "/x");
        assert_eq!(req.query(), Some("y"));
    }

    #[test]
    fn chunked_decoding() {
        let b =
            Bytes::from_static(b"5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: 1\r\n\r\nNEXT");
        let body = decode_chunked(&b, 1024, 1024).unwrap().expect("complete");
        assert_eq!(&body.collect(&b, 0)[..], b"hello world");
        assert_eq!(&b[body.consumed..], b"NEXT");
        let one = Bytes::from_static(b"xx3\r\nabc\r\n0\r\n\r\n");
        let body = decode_chunked(&one[2..], 1024, 1024).unwrap().unwrap();
        assert_eq!(&body.collect(&one, 2)[..], b"abc");
        for partial in [
            &b"5\r\nhel"[..],
            b"5\r\nhello\r\n",
            b"5\r\nhello\r\n0\r\n",
            b"A",
        ] {
            assert!(
                decode_chunked(partial, 1024, 1024).unwrap().is_none(),
                "{partial:?}"
            );
        }
        for bad in [
            &b"zz\r\n"[..],
            b"5\r\nhelloXX",
            b"fffffffffffffffff\r\n",
            b"-1\r\n",
            b"5\nhello\r\n",
        ] {
            assert!(decode_chunked(bad, 1 << 20, 1024).is_err(), "{bad:?}");
        }
        assert_eq!(
            decode_chunked(b"10\r\n", 8, 1024).unwrap_err(),
            ChunkedError::TooLarge
        );
    }
}
