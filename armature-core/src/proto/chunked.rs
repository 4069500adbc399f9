//! The `chunked` transfer coding of request bodies (RFC 9112 §7.1): finding a
//! complete body in the read buffer, with its size and trailer limits.

use bytes::Bytes;
use smallvec::SmallVec;

/// A complete `chunked` body found by [`decode_chunked`]: where its data lies.
#[derive(Debug)]
pub(crate) struct ChunkedBody {
    /// Bytes of the input the body occupies (sizes, data, trailers, final CRLF).
    pub consumed: usize,
    ranges: SmallVec<[(usize, usize); 4]>,
    total: usize,
}

impl ChunkedBody {
    /// The decoded payload, from `bytes` (the same bytes the scan ran over, starting
    /// at `base`). One chunk is a zero-copy slice; several are joined.
    pub fn collect(&self, bytes: &Bytes, base: usize) -> Bytes {
        match self.ranges.len() {
            0 => Bytes::new(),
            1 => bytes.slice(base + self.ranges[0].0..base + self.ranges[0].1),
            _ => {
                let mut out = Vec::with_capacity(self.total);
                for &(s, e) in &self.ranges {
                    out.extend_from_slice(&bytes[base + s..base + e]);
                }
                Bytes::from(out)
            }
        }
    }
}

/// Why a chunked body is refused.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ChunkedError {
    Malformed(&'static str),
    TooLarge,
}

/// The size of a chunk from its size line (without the `\n`): strict hex, chunk
/// extensions accepted and dropped, the line ending with CRLF.
#[inline]
pub(crate) fn chunk_size(line: &[u8]) -> Result<usize, ChunkedError> {
    let line = line.strip_suffix(b"\r").ok_or(ChunkedError::Malformed(
        "chunk size line must end with CRLF",
    ))?;
    let size_end = line.iter().position(|&b| b == b';').unwrap_or(line.len());
    let size_hex = &line[..size_end];
    if size_hex.is_empty() || size_hex.len() > 15 {
        return Err(ChunkedError::Malformed("bad chunk size"));
    }
    let mut size = 0usize;
    for &b in size_hex {
        let d = match b {
            b'0'..=b'9' => b - b'0',
            b'a'..=b'f' => b - b'a' + 10,
            b'A'..=b'F' => b - b'A' + 10,
            _ => return Err(ChunkedError::Malformed("bad chunk size")),
        };
        size = size * 16 + d as usize;
    }
    if line[size_end..].iter().any(|&b| b == b'\r' || b == 0) {
        return Err(ChunkedError::Malformed("bad chunk extension"));
    }
    Ok(size)
}

/// Checks one trailer line (without the `\n`): `true` for the empty line that ends
/// the trailer section.
#[inline]
pub(crate) fn trailer_line(line: &[u8]) -> Result<bool, ChunkedError> {
    if line.last() != Some(&b'\r') {
        return Err(ChunkedError::Malformed("trailer line must end with CRLF"));
    }
    if line.len() == 1 {
        return Ok(true);
    }
    if line[0] == b' ' || line[0] == b'\t' || !line.contains(&b':') {
        return Err(ChunkedError::Malformed("bad trailer field"));
    }
    Ok(false)
}

/// Scans a `chunked` body at the start of `buf`: `Ok(None)` when more bytes are
/// needed. Chunk extensions and trailer fields are accepted and dropped. Strict:
/// every line ends with CRLF, sizes are hex without sign or whitespace.
pub(crate) fn decode_chunked(
    buf: &[u8],
    max_body: usize,
    max_trailers: usize,
) -> Result<Option<ChunkedBody>, ChunkedError> {
    let mut pos = 0usize;
    let mut total = 0usize;
    let mut ranges: SmallVec<[(usize, usize); 4]> = SmallVec::new();
    loop {
        // chunk-size [ chunk-ext ] CRLF
        let Some(nl) = memchr::memchr(b'\n', &buf[pos..]) else {
            if buf.len() - pos > 1024 {
                return Err(ChunkedError::Malformed("chunk size line too long"));
            }
            return Ok(None);
        };
        let size = chunk_size(&buf[pos..pos + nl])?;
        pos += nl + 1;
        if size == 0 {
            // trailer-section CRLF
            let trailer_start = pos;
            loop {
                let Some(nl) = memchr::memchr(b'\n', &buf[pos..]) else {
                    if buf.len() - trailer_start > max_trailers {
                        return Err(ChunkedError::TooLarge);
                    }
                    return Ok(None);
                };
                let line = &buf[pos..pos + nl];
                pos += nl + 1;
                if trailer_line(line)? {
                    break;
                }
                if pos - trailer_start > max_trailers {
                    return Err(ChunkedError::TooLarge);
                }
            }
            return Ok(Some(ChunkedBody {
                consumed: pos,
                ranges,
                total,
            }));
        }
        total = total.checked_add(size).ok_or(ChunkedError::TooLarge)?;
        if total > max_body {
            return Err(ChunkedError::TooLarge);
        }
        if buf.len() < pos + size + 2 {
            return Ok(None);
        }
        if &buf[pos + size..pos + size + 2] != b"\r\n" {
            return Err(ChunkedError::Malformed("chunk data must end with CRLF"));
        }
        ranges.push((pos, pos + size));
        pos += size + 2;
    }
}
