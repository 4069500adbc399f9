//! Response encoding and vectored writes: heads and small bodies are copied into one
//! output buffer, large bodies are sent by reference with `writev`, so a whole
//! pipelined batch leaves in one syscall without copying big payloads.

use std::io::{self, IoSlice};

use bytes::Bytes;
use smallvec::SmallVec;
use tokio::io::AsyncWriteExt;

use crate::fast_response::{FastBody, FastHeaders, FastValue};
use crate::http::{Body, StatusCode};
use crate::proto::{date, swar};
use crate::response::{Repr, Response};

/// Bodies up to this size are copied into the output buffer; larger ones are
/// referenced and sent with a vectored write.
pub(crate) const COPY_BODY_MAX: usize = 16 * 1024;

/// Bodies of a `FastResponse` up to this size are copied inline after the head
/// (`copy_short`'s widths), without a `memcpy` call.
const SHORT_BODY: usize = 32;

/// How the body of a response is delimited on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BodyFraming {
    /// `Content-Length`.
    Length(usize),
    /// `Transfer-Encoding: chunked` (a stream to an HTTP/1.1 client).
    Chunked,
    /// Neither: the body ends when the connection closes (a stream to an HTTP/1.0
    /// client, which must not be sent a transfer coding, RFC 9112 §6.1).
    Close,
    /// No body: `101 Switching Protocols`, the connection leaves HTTP.
    Upgrade,
}

/// Encodes the status line and headers of a response into `out`.
#[allow(clippy::too_many_arguments)]
#[inline]
pub(crate) fn encode_head<'a>(
    out: &mut Vec<u8>,
    status: StatusCode,
    content_type: Option<&str>,
    headers: impl Iterator<Item = (&'a str, &'a str, Written)>,
    framing: BodyFraming,
    keep_alive: bool,
    http10: bool,
) {
    // The caller has checked `content_type` (see `encode`). Empty: not given here
    // (a run-time one may be among the headers).
    let content_type = content_type.filter(|ct| !ct.is_empty());
    {
        // A status line, `Server` and `Date`, `Content-Type`.
        let mut w = Reserved::new(
            out,
            48 + date::LINES_LEN + content_type.map_or(0, |ct| ct.len() + 16),
        );
        if status == StatusCode::OK {
            // The common status as a constant: copied inline, not by a `memcpy` call.
            w.put(b"HTTP/1.1 200 OK\r\n");
        } else {
            match status.status_line() {
                Some(line) => w.put(line),
                None => {
                    w.put(b"HTTP/1.1 ");
                    w.put(itoa::Buffer::new().format(status.as_u16()).as_bytes());
                    w.put(b" \r\n");
                }
            }
        }
        w.put(&date::server_and_date());
        if let Some(ct) = content_type {
            w.put(b"Content-Type: ");
            w.put(ct.as_bytes());
            w.put(b"\r\n");
        }
    }
    for (name, value, written) in headers {
        push_header(out, name, value, written, content_type.is_some());
    }
    // `Content-Length` of any `usize` (or a `Connection` or `Transfer-Encoding`),
    // `Connection`, the blank line.
    let mut w = Reserved::new(out, 38 + 24 + 2);
    match framing {
        BodyFraming::Upgrade => w.put(b"Connection: upgrade\r\n"),
        _ if status.as_u16() < 200 || status == StatusCode::NO_CONTENT => {}
        BodyFraming::Length(n) => {
            w.put(b"Content-Length: ");
            w.put(itoa::Buffer::new().format(n).as_bytes());
            w.put(b"\r\n");
        }
        BodyFraming::Chunked => w.put(b"Transfer-Encoding: chunked\r\n"),
        BodyFraming::Close => {}
    }
    if framing == BodyFraming::Upgrade {
        // `Connection: upgrade` is already written.
    } else if !keep_alive {
        w.put(b"Connection: close\r\n");
    } else if http10 {
        w.put(b"Connection: keep-alive\r\n");
    }
    w.put(b"\r\n");
}

/// Appends to a `Vec` after one reservation, keeping the length in a register
/// until done: `extend_from_slice` per piece (its reserve path and a length store
/// each) cost ~60 instructions over a head's pieces in callgrind.
struct Reserved<'a> {
    out: &'a mut Vec<u8>,
    len: usize,
    end: usize,
}

impl<'a> Reserved<'a> {
    #[inline(always)]
    fn new(out: &'a mut Vec<u8>, n: usize) -> Self {
        out.reserve(n);
        let len = out.len();
        Reserved {
            out,
            len,
            end: len + n,
        }
    }

    /// Appends `s`. Pieces of up to 32 bytes are moved inline ([`copy_short`]): a
    /// constant one as the compiler would, and one of run-time length (a content
    /// type, the digits of a length) without a `memcpy` call (~15 instructions each
    /// in callgrind).
    #[inline(always)]
    fn put(&mut self, s: &[u8]) {
        // Within what was reserved (a real check: the sizes above are bounds the
        // code must keep, and a wrong one must not write past the allocation).
        assert!(
            s.len() <= self.end - self.len,
            "response head larger than reserved"
        );
        // SAFETY: `len + s.len() <= end <= capacity` (reserved in `new`, nothing
        // else touches the `Vec` meanwhile), and `copy_short` writes exactly
        // `s.len()` bytes there; `s` cannot overlap the spare capacity.
        unsafe { copy_short(s, self.out.as_mut_ptr().add(self.len)) };
        self.len += s.len();
    }
}

impl Drop for Reserved<'_> {
    #[inline(always)]
    fn drop(&mut self) {
        // SAFETY: the bytes up to `len` are initialised (written by `put`), and
        // `len <= capacity`.
        unsafe { self.out.set_len(self.len) };
    }
}

/// Writes one header line of a response.
///
/// A line whose name and value need no CR/LF check and whose name cannot be one the
/// server writes itself (by its first letter) goes straight to [`push_line`]; the
/// others to [`push_header_checked`]. Both are out of line: a response without
/// headers (the common fast response) then pays nothing for their code in
/// `encode_head` (inlined there, the checks cost such responses ~12 instructions).
#[inline(always)]
fn push_header(
    out: &mut Vec<u8>,
    name: &str,
    value: &str,
    written: Written,
    has_content_type: bool,
) {
    // `Content-*`, `Transfer-Encoding`, `Connection`, `Date`, `Server`.
    let reserved = matches!(
        name.as_bytes().first().map(|b| b | 0x20),
        Some(b'c' | b't' | b'd' | b's')
    );
    if written.name && written.value && !reserved {
        push_line(out, name.as_bytes(), value.as_bytes());
    } else {
        push_header_checked(out, name, value, written, has_content_type);
    }
}

/// [`push_header`] with every check.
#[inline(never)]
fn push_header_checked(
    out: &mut Vec<u8>,
    name: &str,
    value: &str,
    written: Written,
    has_content_type: bool,
) {
    // A name or value with CR/LF would let a handler inject headers: drop it
    // (unless it is a `&'static str`, written in the program itself, not taken
    // from a request, as the content type). A `Content-Type` header yields to the
    // content type written before.
    if (written.name || header_safe(name))
        && (written.value || header_safe(value))
        && !is_framing_header(name)
        && !(has_content_type && name.eq_ignore_ascii_case("content-type"))
    {
        push_line(out, name.as_bytes(), value.as_bytes());
    }
}

/// Appends `name: value\r\n` to `out`. When the line fits the buffer's spare room
/// and name and value are 4 to 32 bytes long (most are), it is written with one
/// capacity test and two overlapping moves for each of them, and this function
/// calls nothing (so saves no registers); otherwise [`push_line_slow`].
/// (Four `extend_from_slice`s, with their capacity tests and two `memcpy` calls,
/// and the checks for every line measured ~50 instructions a line more in
/// callgrind.)
#[inline(never)]
fn push_line(out: &mut Vec<u8>, name: &[u8], value: &[u8]) {
    let short = |s: &[u8]| (4..=32).contains(&s.len());
    let n = name.len() + value.len() + 4;
    let len = out.len();
    if out.capacity() - len < n || !short(name) || !short(value) {
        return push_line_slow(out, name, value);
    }
    // SAFETY: there is room for `n` more bytes after `len`; exactly those `n` are
    // written (`copy_short` writes `src.len()` bytes at `dst`), then counted.
    unsafe {
        let mut dst = out.as_mut_ptr().add(len);
        copy_short(name, dst);
        dst = dst.add(name.len());
        dst.cast::<[u8; 2]>().write_unaligned(*b": ");
        dst = dst.add(2);
        copy_short(value, dst);
        dst = dst.add(value.len());
        dst.cast::<[u8; 2]>().write_unaligned(*b"\r\n");
        out.set_len(len + n);
    }
}

/// [`push_line`] into a buffer without room for the line, or of a name or value
/// shorter than 4 or longer than 32 bytes.
#[cold]
#[inline(never)]
fn push_line_slow(out: &mut Vec<u8>, name: &[u8], value: &[u8]) {
    out.reserve(name.len() + value.len() + 4);
    out.extend_from_slice(name);
    out.extend_from_slice(b": ");
    out.extend_from_slice(value);
    out.extend_from_slice(b"\r\n");
}

/// Copies `src` to `dst`: 2 to 32 bytes as two (overlapping) loads and stores of
/// one width, one byte as itself, longer ones through `memcpy`.
///
/// # Safety
///
/// `dst` is valid for writing `src.len()` bytes and does not overlap `src`.
#[inline(always)]
unsafe fn copy_short(src: &[u8], dst: *mut u8) {
    #[inline(always)]
    unsafe fn two<T: Copy>(src: *const u8, dst: *mut u8, len: usize) {
        let w = std::mem::size_of::<T>();
        // SAFETY: `w <= len`, and `len` bytes are readable at `src`, writable at `dst`.
        unsafe {
            let (a, b) = (
                src.cast::<T>().read_unaligned(),
                src.add(len - w).cast::<T>().read_unaligned(),
            );
            dst.cast::<T>().write_unaligned(a);
            dst.add(len - w).cast::<T>().write_unaligned(b);
        }
    }
    let (len, s) = (src.len(), src.as_ptr());
    // SAFETY: each width is used only for lengths from it to twice it, so both moves
    // lie within `src` and within the `len` bytes at `dst` (the caller's promise).
    unsafe {
        match len {
            0 => {}
            1 => *dst = *s,
            2..=3 => two::<u16>(s, dst, len),
            4..=7 => two::<u32>(s, dst, len),
            8..=16 => two::<u64>(s, dst, len),
            17..=32 => two::<u128>(s, dst, len),
            // Not reached from `push_line` (which tests the length; the compiler
            // drops this arm there).
            _ => std::ptr::copy_nonoverlapping(s, dst, len),
        }
    }
}

/// Which of a header's name and value are `&'static str`s of the program (no
/// CR/LF check needed).
#[derive(Clone, Copy)]
pub(crate) struct Written {
    pub name: bool,
    pub value: bool,
}

impl Written {
    pub const NEITHER: Written = Written {
        name: false,
        value: false,
    };
}

// A `FastResponse`'s headers as the encoder writes them: here, with `Written`,
// so that `fast_response` names nothing of the wire layer above it.
impl FastHeaders {
    /// For the encoder: name and value, and that the name is a `&'static str` (from
    /// the program itself, not from a request: it needs no check for CR/LF, as a
    /// `FastResponse`'s content type; values are checked, but for a
    /// [`FastValue::Safe`], known free of CR/LF).
    #[inline]
    pub(crate) fn iter_for_wire(&self) -> impl Iterator<Item = (&str, &str, Written)> {
        self.entries().iter().map(|(n, v)| {
            let written = Written {
                name: true,
                value: matches!(v, FastValue::Safe(_)),
            };
            (*n, v.as_str(), written)
        })
    }
}

/// No CR or LF in `s`. Word by word (SWAR): header names and values are short, and
/// `memchr2` on them cost ~100 instructions a header in callgrind.
#[inline]
fn header_safe(s: &str) -> bool {
    let mut words = s.as_bytes().chunks_exact(8);
    for word in &mut words {
        let w = swar::load(word);
        if swar::eq(w, b'\r') | swar::eq(w, b'\n') != 0 {
            return false;
        }
    }
    !words.remainder().iter().any(|&b| b == b'\r' || b == b'\n')
}

/// Framing headers are the server's to write.
fn is_framing_header(name: &str) -> bool {
    name.eq_ignore_ascii_case("content-length")
        || name.eq_ignore_ascii_case("transfer-encoding")
        || name.eq_ignore_ascii_case("connection")
        || name.eq_ignore_ascii_case("date")
        || name.eq_ignore_ascii_case("server")
}

/// What encoding left to do for a streamed body.
///
/// One pointer wide, `Done` being null: checking it is all the common case pays
/// (with the two rare cases unboxed, the connection loop measured ~7 instructions a
/// request more in callgrind).
pub(crate) enum Pending {
    Done,
    More(Box<More>),
}

/// The rare cases of [`Pending`].
pub(crate) enum More {
    /// A body to stream after the head, framed as said.
    Stream(crate::http::BodyStream, BodyFraming),
    /// The connection leaves HTTP once the head is written.
    Upgrade(crate::http::upgrade::OnUpgrade),
}

/// The per-connection output buffer of one batch of responses.
#[derive(Default)]
pub(crate) struct OutBuffer {
    buf: Vec<u8>,
    /// Large bodies, each to be sent after `buf[..offset]`.
    refs: SmallVec<[(usize, Bytes); 2]>,
    /// The bytes of `refs` together (what [`Self::pending_len`] adds to `buf`).
    ref_bytes: usize,
    /// Boxed, made at the first `FastResponse`: moved with the buffer to and from
    /// the pool at each idle wait, the array inline cost `/json` ~300 instructions
    /// a request in callgrind.
    head: Option<Box<HeadCache>>,
}

/// The largest head [`HeadCache`] keeps.
const HEAD_CACHE_MAX: usize = 192;
/// The shorter copy of a cached head, for one of at most this many bytes
/// (`text/plain` and `application/json` responses with the `Date` line: 119-125).
const HEAD_CACHE_SHORT: usize = 128;

/// The last head written for a `FastResponse` without headers of its own, and
/// what it was written from: the next such response with the same status,
/// content type (the same `&'static str`), body length and connection handling,
/// while the `Date` line is the same, gets a copy of it. A handler answering one
/// constant response (HttpArena's pipelined profile, a health check) pays one
/// fixed-size copy for its head instead of writing its pieces: ~200 instructions
/// down to ~40 a response in callgrind. Kept with the output buffer (pooled with
/// it while the connection is idle).
struct HeadCache {
    key: Option<HeadKey>,
    len: usize,
    bytes: [u8; HEAD_CACHE_MAX],
}

impl Default for HeadCache {
    fn default() -> Self {
        HeadCache {
            key: None,
            len: 0,
            bytes: [0; HEAD_CACHE_MAX],
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
struct HeadKey {
    /// Where the `&'static str` lies and how long it is (`(0, 0)`: none).
    content_type: (usize, usize),
    body_len: usize,
    status: u16,
    keep_alive: bool,
    http10: bool,
    /// `date::generation()` when the head was written.
    date: u32,
}

impl OutBuffer {
    pub fn with_capacity(n: usize) -> Self {
        OutBuffer {
            buf: Vec::with_capacity(n),
            refs: SmallVec::new(),
            ref_bytes: 0,
            head: None,
        }
    }

    /// The head of a `FastResponse` without headers of its own: a copy of the
    /// cached one when it was written from the same (see [`HeadCache`]).
    #[inline(always)]
    fn fast_head(
        &mut self,
        status: StatusCode,
        content_type: Option<&'static str>,
        body_len: usize,
        keep_alive: bool,
        http10: bool,
    ) {
        let key = HeadKey {
            content_type: content_type.map_or((0, 0), |ct| (ct.as_ptr() as usize, ct.len())),
            body_len,
            status: status.as_u16(),
            keep_alive,
            http10,
            date: date::generation(),
        };
        let Some(head) = self.head.as_deref().filter(|h| h.key == Some(key)) else {
            return self.fast_head_written(key, status, content_type);
        };
        self.buf.reserve(HEAD_CACHE_MAX);
        let len = self.buf.len();
        // Two sizes of copy: most heads fit the shorter (a third fewer bytes
        // stored a response, where the stores into the output buffer were the
        // encoder's most sampled instructions in `perf`).
        let copy = if head.len <= HEAD_CACHE_SHORT {
            HEAD_CACHE_SHORT
        } else {
            HEAD_CACHE_MAX
        };
        // SAFETY: `HEAD_CACHE_MAX` >= `copy` bytes are reserved past `len` (a copy
        // of one of two fixed sizes: moved inline, without a `memcpy` call), the
        // cache's array has `HEAD_CACHE_MAX` bytes and does not overlap the `Vec`;
        // its first `head.len` <= `copy` bytes are the cached head, so the bytes up
        // to the new length are initialised.
        unsafe {
            std::ptr::copy_nonoverlapping(
                head.bytes.as_ptr(),
                self.buf.as_mut_ptr().add(len),
                copy,
            );
            self.buf.set_len(len + head.len);
        }
    }

    /// [`Self::fast_head`] when the cache does not hold it: written, then kept.
    #[inline(never)]
    fn fast_head_written(
        &mut self,
        key: HeadKey,
        status: StatusCode,
        content_type: Option<&'static str>,
    ) {
        let start = self.buf.len();
        encode_head(
            &mut self.buf,
            status,
            content_type,
            std::iter::empty(),
            BodyFraming::Length(key.body_len),
            key.keep_alive,
            key.http10,
        );
        let written = &self.buf[start..];
        let cache = self.head.get_or_insert_with(Box::default);
        if written.len() <= HEAD_CACHE_MAX {
            cache.bytes[..written.len()].copy_from_slice(written);
            cache.len = written.len();
            cache.key = Some(key);
        } else {
            cache.key = None;
        }
    }

    /// The bytes waiting to be written: what the connection loop's backpressure
    /// (`ServerConfig::max_pending_output`) compares.
    #[inline]
    pub fn pending_len(&self) -> usize {
        self.buf.len() + self.ref_bytes
    }

    /// Lets go of an allocation that grew past `max` for one large batch, keeping
    /// a buffer of `normal` bytes (after a flush: the buffer is empty). A
    /// connection that once answered a burst does not hold the burst's memory for
    /// the rest of its life.
    #[inline]
    pub fn shrink_to(&mut self, max: usize, normal: usize) {
        if self.buf.capacity() > max {
            self.shrink(normal);
        }
    }

    #[cold]
    fn shrink(&mut self, normal: usize) {
        debug_assert!(self.is_empty());
        self.buf = Vec::with_capacity(normal);
    }

    pub fn is_empty(&self) -> bool {
        self.buf.is_empty() && self.refs.is_empty()
    }

    pub fn raw(&mut self) -> &mut Vec<u8> {
        &mut self.buf
    }

    fn push_body(&mut self, body: BodyRef<'_>) {
        match body {
            BodyRef::Slice(s) => self.buf.extend_from_slice(s),
            BodyRef::Bytes(b) if b.len() <= COPY_BODY_MAX => self.buf.extend_from_slice(b),
            BodyRef::Bytes(b) => {
                self.ref_bytes += b.len();
                self.refs.push((self.buf.len(), b.clone()))
            }
        }
    }

    /// Encodes `resp` (head and, unless `head_only`, body). A streamed body is returned
    /// for the caller to send after flushing.
    /// Takes the response by reference: responses are a few hundred bytes (inline
    /// headers), and moving them again here showed up as memcpy in callgrind.
    pub fn encode(
        &mut self,
        resp: &mut Response,
        keep_alive: bool,
        http10: bool,
        head_only: bool,
    ) -> Pending {
        match &mut resp.0 {
            Repr::Fast(r) => {
                let body = r.body.as_bytes();
                if r.headers.is_empty() {
                    self.fast_head(r.status, r.content_type, body.len(), keep_alive, http10);
                } else {
                    encode_head(
                        &mut self.buf,
                        r.status,
                        // `&'static str`: written in the program itself, not taken
                        // from a request, so not checked for CR/LF on every response
                        // (that check cost ~130 instructions a response in callgrind).
                        r.content_type,
                        r.headers.iter_for_wire(),
                        BodyFraming::Length(body.len()),
                        keep_alive,
                        http10,
                    );
                }
                if !head_only && !r.status.forbids_body() {
                    match &r.body {
                        FastBody::Bytes(b) => self.push_body(BodyRef::Bytes(b)),
                        // A short body (`"ok"`, a small JSON object) copied inline, as
                        // the head's pieces are: through `push_body` (its call,
                        // `extend_from_slice` and a `memcpy` call) it cost ~49
                        // instructions a response in callgrind.
                        other if other.as_bytes().len() <= SHORT_BODY => {
                            let body = other.as_bytes();
                            Reserved::new(&mut self.buf, body.len()).put(body);
                        }
                        other => self.push_body(BodyRef::Slice(other.as_bytes())),
                    }
                }
                Pending::Done
            }
            Repr::Http(r) => {
                let framing = match r.body.len() {
                    Some(n) => BodyFraming::Length(n),
                    None if matches!(r.body, Body::Upgrade(_)) => BodyFraming::Upgrade,
                    None if http10 => BodyFraming::Close,
                    None => BodyFraming::Chunked,
                };
                // A close-delimited body ends the connection.
                let keep_alive = keep_alive && framing != BodyFraming::Close;
                encode_head(
                    &mut self.buf,
                    r.status,
                    // A dynamic content type could carry CR/LF: drop it if so.
                    r.content_type.as_deref().filter(|ct| header_safe(ct)),
                    r.headers.iter().map(|(n, v)| (n, v, Written::NEITHER)),
                    framing,
                    keep_alive,
                    http10,
                );
                if framing == BodyFraming::Upgrade {
                    if let Body::Upgrade(u) = std::mem::take(&mut r.body) {
                        return Pending::More(Box::new(More::Upgrade(u)));
                    }
                }
                if head_only || r.status.forbids_body() {
                    return Pending::Done;
                }
                match std::mem::take(&mut r.body) {
                    Body::Empty | Body::Upgrade(_) => Pending::Done,
                    Body::Bytes(b) => {
                        self.push_body(BodyRef::Bytes(&b));
                        Pending::Done
                    }
                    Body::Stream(s) | Body::SizedStream(_, s) => {
                        Pending::More(Box::new(More::Stream(s, framing)))
                    }
                }
            }
        }
    }

    /// Writes everything with as few syscalls as the kernel allows, then clears.
    pub async fn flush<W: tokio::io::AsyncWrite + Unpin>(&mut self, w: &mut W) -> io::Result<()> {
        if self.refs.is_empty() {
            if !self.buf.is_empty() {
                w.write_all(&self.buf).await?;
            }
        } else {
            let mut segments: SmallVec<[&[u8]; 5]> = SmallVec::new();
            let mut at = 0;
            for (off, b) in &self.refs {
                segments.push(&self.buf[at..*off]);
                segments.push(b);
                at = *off;
            }
            segments.push(&self.buf[at..]);
            write_all_vectored(w, &mut segments).await?;
        }
        self.buf.clear();
        self.refs.clear();
        self.ref_bytes = 0;
        Ok(())
    }
}

enum BodyRef<'a> {
    Slice(&'a [u8]),
    Bytes(&'a Bytes),
}

async fn write_all_vectored<W: tokio::io::AsyncWrite + Unpin>(
    w: &mut W,
    segments: &mut SmallVec<[&[u8]; 5]>,
) -> io::Result<()> {
    segments.retain(|s| !s.is_empty());
    let mut first = 0;
    while first < segments.len() {
        let slices: SmallVec<[IoSlice<'_>; 5]> =
            segments[first..].iter().map(|s| IoSlice::new(s)).collect();
        let mut n = w.write_vectored(&slices).await?;
        if n == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        while n > 0 {
            let len = segments[first].len();
            if n >= len {
                n -= len;
                first += 1;
            } else {
                segments[first] = &segments[first][n..];
                n = 0;
            }
        }
    }
    Ok(())
}

/// A response encoded for one vectored write: the head (and small body) in one
/// buffer, a large body by reference.
///
/// ```
/// use armature_core::HttpResponse;
/// let chunks = HttpResponse::ok().with_body(vec![b'x'; 100_000]).into_chunks();
/// let slices = chunks.to_slices();
/// assert_eq!(slices[1].len(), 100_000);
/// assert!(slices[0].starts_with(b"HTTP/1.1 200 OK\r\n"));
/// ```
#[derive(Debug, Clone)]
pub struct ResponseChunks {
    head: Vec<u8>,
    body: Bytes,
}

impl ResponseChunks {
    /// Encodes `resp` for a keep-alive HTTP/1.1 connection. A streamed body is not
    /// included (its head announces `Transfer-Encoding: chunked`).
    pub fn from_response(resp: Response) -> Self {
        let mut out = OutBuffer::default();
        let mut resp = resp;
        let _ = out.encode(&mut resp, true, false, false);
        let body = out.refs.pop().map(|(_, b)| b).unwrap_or_default();
        ResponseChunks {
            head: out.buf,
            body,
        }
    }

    /// The slices for `write_vectored`: head, then body (possibly empty).
    pub fn to_slices(&self) -> [IoSlice<'_>; 2] {
        [IoSlice::new(&self.head), IoSlice::new(&self.body)]
    }

    /// Total bytes.
    pub fn len(&self) -> usize {
        self.head.len() + self.body.len()
    }

    /// `true` if nothing is to be written (never for a real response).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fast_response::{fast, FastResponse};
    use crate::{HttpResponse, IntoResponse};

    #[test]
    fn every_status_and_framing_fits_the_reserved_head() {
        // `Reserved::put` asserts its bounds: every status line (known reason or
        // not), a long content type, the largest length and every framing.
        let framings = [
            BodyFraming::Length(usize::MAX),
            BodyFraming::Chunked,
            BodyFraming::Close,
            BodyFraming::Upgrade,
        ];
        for code in 100..=999 {
            let status = StatusCode::from_u16(code).unwrap();
            for framing in framings {
                for (keep_alive, http10) in [(true, false), (false, false), (true, true)] {
                    let mut out = Vec::new();
                    encode_head(
                        &mut out,
                        status,
                        Some(&"x".repeat(300)),
                        std::iter::empty(),
                        framing,
                        keep_alive,
                        http10,
                    );
                    assert!(out.ends_with(b"\r\n\r\n"), "{code}");
                    assert!(
                        out.starts_with(format!("HTTP/1.1 {code} ").as_bytes()),
                        "{code}"
                    );
                }
            }
        }
    }

    #[test]
    fn header_safe_finds_cr_and_lf_anywhere() {
        for len in 0..40 {
            let clean: String = (0..len)
                .map(|i| char::from(b'a' + (i % 26) as u8))
                .collect();
            assert!(header_safe(&clean), "{clean:?}");
            // Bytes next to CR and LF (and the high-bit ones) are not mistaken for them.
            assert!(header_safe(&"\x0b\x0c\x0e\x09\u{e9}".repeat(len)));
            for at in 0..len {
                for bad in ['\r', '\n'] {
                    let mut s = clean.clone().into_bytes();
                    s[at] = bad as u8;
                    let s = String::from_utf8(s).unwrap();
                    assert!(!header_safe(&s), "{s:?}");
                }
            }
        }
    }

    fn encode(resp: impl crate::IntoResponse, keep_alive: bool, head: bool) -> String {
        let mut out = OutBuffer::default();
        let _ = out.encode(&mut resp.into_response(), keep_alive, false, head);
        String::from_utf8(out.buf).unwrap()
    }

    /// Each response encoded after another (whose head the cache then holds) is
    /// written exactly as on a fresh buffer: a cached head is reused only for the
    /// same status, content type, body length and connection handling.
    #[test]
    fn a_cached_fast_head_is_only_reused_for_the_same_response() {
        // A timer-driven date: the same `Date` line for the whole test.
        crate::proto::date::refresh();
        let long_type: &'static str = Box::leak("x/".repeat(200).into_boxed_str());
        let variants = || -> Vec<(FastResponse, bool, bool)> {
            vec![
                (FastResponse::ok().with_static_body(b"ok"), true, false),
                (FastResponse::ok().with_static_body(b"ok"), false, false),
                (FastResponse::ok().with_static_body(b"ok"), true, true),
                (FastResponse::ok().with_static_body(b"okay"), true, false),
                (
                    FastResponse::ok()
                        .with_static_body(b"ok")
                        .with_content_type("text/html"),
                    true,
                    false,
                ),
                (
                    // A head between the two sizes of copy (158 bytes).
                    FastResponse::ok()
                        .with_static_body(b"ok")
                        .with_content_type("application/vnd.armature.test+json; charset=utf-8"),
                    true,
                    false,
                ),
                (
                    FastResponse::ok()
                        .with_static_body(b"ok")
                        .with_content_type(long_type),
                    true,
                    false,
                ),
                (
                    FastResponse::new(StatusCode::NOT_FOUND).with_static_body(b"ok"),
                    true,
                    false,
                ),
                (FastResponse::new(StatusCode::NO_CONTENT), true, false),
                (
                    FastResponse::ok()
                        .with_static_body(b"ok")
                        .with_header("x-a", "1"),
                    true,
                    false,
                ),
            ]
        };
        // What `encode_head` writes for each, without the cache.
        let fresh: Vec<Vec<u8>> = variants()
            .into_iter()
            .map(|(r, keep_alive, http10)| {
                let mut v = Vec::new();
                let body = r.body.as_bytes();
                encode_head(
                    &mut v,
                    r.status,
                    r.content_type,
                    r.headers.iter_for_wire(),
                    BodyFraming::Length(body.len()),
                    keep_alive,
                    http10,
                );
                if !r.status.forbids_body() {
                    v.extend_from_slice(body);
                }
                v
            })
            .collect();
        for (i, (a, ka, a10)) in variants().into_iter().enumerate() {
            for (j, (b, kb, b10)) in variants().into_iter().enumerate() {
                let mut out = OutBuffer::default();
                let _ = out.encode(&mut a.clone().into_response(), ka, a10, false);
                let start = out.buf.len();
                let _ = out.encode(&mut b.into_response(), kb, b10, false);
                assert_eq!(
                    String::from_utf8_lossy(&out.buf[start..]),
                    String::from_utf8_lossy(&fresh[j]),
                    "response {j} after response {i}"
                );
            }
        }
        // A new `Date` line: the cached head is written again.
        let mut out = OutBuffer::default();
        let _ = out.encode(&mut fast::ok().into_response(), true, false, false);
        crate::proto::date::refresh();
        let _ = out.encode(&mut fast::ok().into_response(), true, false, false);
        let key = out
            .head
            .as_ref()
            .and_then(|h| h.key)
            .expect("a cached head");
        assert_eq!(key.date, crate::proto::date::generation());
        crate::proto::date::release();
    }

    #[test]
    fn encodes_head_and_body() {
        let s = encode(FastResponse::ok().with_static_body(b"Hello"), true, false);
        assert!(
            s.starts_with("HTTP/1.1 200 OK\r\nServer: armature\r\nDate: "),
            "{s}"
        );
        assert!(
            s.contains("\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nHello"),
            "{s}"
        );
        let s = encode(FastResponse::ok().with_static_body(b"Hello"), false, true);
        assert!(
            s.ends_with("Content-Length: 5\r\nConnection: close\r\n\r\n"),
            "{s}"
        );
    }

    #[test]
    fn header_lines_of_every_length() {
        use crate::fast_response::{FastValue, InlineStr};
        // Names and values of 1 to 40 bytes: the short copies (4 to 32), `memcpy`
        // past them, and (inline values, up to 22 bytes) the unchecked path.
        for n in 1..=40 {
            let name: &'static str = Box::leak("xyz-".repeat(10)[..n].to_owned().into());
            for v in 1..=40 {
                let value = "0123456789".repeat(4)[..v].to_owned();
                let line = format!("\r\n{name}: {value}\r\n");
                let fast = FastResponse::ok().with_header(name, value.clone());
                let s = encode(fast.with_static_body(b"b"), true, false);
                assert!(s.contains(&line), "{s:?}");
                if let Some(inline) = InlineStr::new(&value) {
                    let mut resp = FastResponse::ok().with_static_body(b"b").into_response();
                    resp.insert_value(name, FastValue::Safe(inline));
                    let mut out = OutBuffer::default();
                    let _ = out.encode(&mut resp, true, false, false);
                    let s = String::from_utf8(out.buf).unwrap();
                    assert!(s.contains(&line), "{s:?}");
                }
            }
        }
    }

    #[test]
    fn the_servers_own_headers_are_dropped_whatever_the_value() {
        use crate::fast_response::{FastValue, InlineStr};
        for name in [
            "Content-Length",
            "content-length",
            "TRANSFER-ENCODING",
            "Connection",
            "date",
            "Server",
        ] {
            let mut resp = FastResponse::ok().with_static_body(b"ab").into_response();
            resp.insert_value(name, FastValue::Safe(InlineStr::new("999").unwrap()));
            let mut out = OutBuffer::default();
            let _ = out.encode(&mut resp, true, false, false);
            let s = String::from_utf8(out.buf).unwrap();
            assert!(!s.contains("999"), "{name}: {s:?}");
        }
        // Starting with one of their letters is not enough to be dropped.
        let mut resp = FastResponse::ok().with_static_body(b"ab").into_response();
        resp.insert_value(
            "Cache-Control",
            FastValue::Safe(InlineStr::new("no-store").unwrap()),
        );
        let mut out = OutBuffer::default();
        let _ = out.encode(&mut resp, true, false, false);
        let s = String::from_utf8(out.buf).unwrap();
        assert!(s.contains("\r\nCache-Control: no-store\r\n"), "{s:?}");
    }

    #[test]
    fn drops_injected_headers() {
        let s = encode(
            HttpResponse::ok().with_header("X-A", "a\r\nSet-Cookie: evil"),
            true,
            false,
        );
        assert!(!s.contains("evil"), "{s}");
    }

    #[test]
    fn drops_an_injected_content_type() {
        let s = encode(
            HttpResponse::ok().with_content_type(String::from("text/html\r\nSet-Cookie: evil")),
            true,
            false,
        );
        assert!(!s.contains("evil") && !s.contains("Content-Type"), "{s}");
    }

    #[test]
    fn lengths_and_content_types_of_every_size_are_written_whole() {
        // `put` moves 1 to 32 bytes inline, longer ones through `memcpy`: each
        // length of a content type, and each digit count of a length, is written exact.
        let ct_source = "application/vnd.example+json; charset=utf-8; version=1";
        for ct_len in 0..=ct_source.len() {
            let ct = &ct_source[..ct_len];
            for n in (0..20).map(|d| 10usize.pow(d) - 1).chain([usize::MAX]) {
                let mut out = Vec::new();
                encode_head(
                    &mut out,
                    StatusCode::OK,
                    Some(ct),
                    std::iter::empty(),
                    BodyFraming::Length(n),
                    true,
                    false,
                );
                let s = String::from_utf8(out).unwrap();
                let want_ct = if ct.is_empty() {
                    String::new()
                } else {
                    format!("Content-Type: {ct}\r\n")
                };
                assert!(
                    s.ends_with(&format!("{want_ct}Content-Length: {n}\r\n\r\n")),
                    "{ct_len} {n}: {s}"
                );
            }
        }
    }

    #[test]
    fn no_content_has_no_length() {
        let s = encode(StatusCode::NO_CONTENT, true, false);
        assert!(!s.contains("Content-Length"), "{s}");
    }

    struct Nothing;
    impl futures_core::Stream for Nothing {
        type Item = Result<Bytes, crate::http::BoxError>;
        fn poll_next(
            self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Option<Self::Item>> {
            std::task::Poll::Ready(None)
        }
    }

    #[test]
    fn a_sized_stream_has_its_length_and_no_transfer_coding() {
        let mut out = OutBuffer::default();
        let mut resp = HttpResponse::ok()
            .with_sized_stream(1234, Nothing)
            .into_response();
        let pending = out.encode(&mut resp, true, false, false);
        assert!(matches!(
            pending,
            Pending::More(ref m) if matches!(**m, More::Stream(_, BodyFraming::Length(1234)))
        ));
        let s = String::from_utf8(out.buf).unwrap();
        assert!(s.ends_with("\r\nContent-Length: 1234\r\n\r\n"), "{s}");
        // HEAD: the same head, nothing to stream.
        let s = encode(
            HttpResponse::ok().with_sized_stream(1234, Nothing),
            true,
            true,
        );
        assert!(s.ends_with("\r\nContent-Length: 1234\r\n\r\n"), "{s}");
    }

    #[test]
    fn an_upgrade_says_connection_upgrade_and_nothing_of_framing() {
        use crate::extract::FromRequest;
        let req = crate::HttpRequest::new(crate::Method::Get, "/ws")
            .with_header("Connection", "Upgrade")
            .with_header("Upgrade", "websocket")
            .with_header("Sec-WebSocket-Version", "13")
            .with_header("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==");
        let ws = crate::ws::WebSocketUpgrade::from_request(&req, &std::sync::Arc::new(())).unwrap();
        let mut resp = ws.on_upgrade(|_| async {});
        let mut out = OutBuffer::default();
        // Even when the loop would close (shutdown began): the 101 is not followed by
        // HTTP, so `Connection: close` would contradict `Connection: upgrade`.
        let pending = out.encode(&mut resp, false, false, false);
        assert!(matches!(pending, Pending::More(ref m) if matches!(**m, More::Upgrade(_))));
        let s = String::from_utf8(out.buf).unwrap();
        assert!(s.starts_with("HTTP/1.1 101 Switching Protocols\r\n"), "{s}");
        assert!(s.ends_with("\r\nConnection: upgrade\r\n\r\n"), "{s}");
        assert!(!s.contains("Content-Length") && !s.contains("close"), "{s}");
    }
}
