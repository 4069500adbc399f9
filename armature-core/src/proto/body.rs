//! Decoding a request body as it arrives (`Content-Length` or `chunked`), a piece
//! at a time off the front of the read buffer, for bodies streamed to the handler
//! rather than found whole (`chunked::decode_chunked`).

use bytes::{Buf, Bytes, BytesMut};

use super::chunked::{chunk_size, trailer_line, ChunkedError};

/// What one decoding step found.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Decoded {
    /// Body bytes (a zero-copy slice of the read buffer's front).
    Data(Bytes),
    /// The buffer holds no more of the body: read.
    NeedMore,
    /// The body ended; what follows in the buffer is the next request.
    End,
}

/// Where a streamed body's decoding stands.
#[derive(Debug)]
pub(crate) enum BodyDecoder {
    /// `Content-Length`: bytes still to come.
    Length(u64),
    /// `chunked`: the decoded bytes so far and where in the framing it is.
    Chunked { total: u64, at: Chunk },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Chunk {
    /// A size line comes next.
    Size,
    /// Inside a chunk's data: bytes left.
    Data(u64),
    /// The CRLF after a chunk's data.
    DataEnd,
    /// In the trailer section, this many bytes of it seen.
    Trailers(usize),
    Done,
}

impl BodyDecoder {
    pub fn chunked() -> Self {
        BodyDecoder::Chunked {
            total: 0,
            at: Chunk::Size,
        }
    }

    /// Bytes of body still to come, when the framing says (`Content-Length`).
    pub fn known_left(&self) -> Option<u64> {
        match *self {
            BodyDecoder::Length(n) => Some(n),
            BodyDecoder::Chunked {
                at: Chunk::Done, ..
            } => Some(0),
            BodyDecoder::Chunked { .. } => None,
        }
    }

    /// Takes the next piece of the body off the front of `rbuf`. A `chunked` body
    /// larger than `limit` (decoded bytes) or with more than `max_trailers` bytes of
    /// trailers is `TooLarge`.
    pub fn decode(
        &mut self,
        rbuf: &mut BytesMut,
        limit: u64,
        max_trailers: usize,
    ) -> Result<Decoded, ChunkedError> {
        match self {
            BodyDecoder::Length(0) => Ok(Decoded::End),
            BodyDecoder::Length(_) if rbuf.is_empty() => Ok(Decoded::NeedMore),
            BodyDecoder::Length(left) => {
                let n = (*left).min(rbuf.len() as u64);
                *left -= n;
                Ok(Decoded::Data(rbuf.split_to(n as usize).freeze()))
            }
            BodyDecoder::Chunked { total, at } => loop {
                match *at {
                    Chunk::Size => {
                        let Some(nl) = memchr::memchr(b'\n', rbuf) else {
                            if rbuf.len() > 1024 {
                                return Err(ChunkedError::Malformed("chunk size line too long"));
                            }
                            return Ok(Decoded::NeedMore);
                        };
                        let size = chunk_size(&rbuf[..nl])? as u64;
                        rbuf.advance(nl + 1);
                        if size == 0 {
                            *at = Chunk::Trailers(0);
                            continue;
                        }
                        *total = total.checked_add(size).ok_or(ChunkedError::TooLarge)?;
                        if *total > limit {
                            return Err(ChunkedError::TooLarge);
                        }
                        *at = Chunk::Data(size);
                    }
                    Chunk::Data(left) => {
                        if rbuf.is_empty() {
                            return Ok(Decoded::NeedMore);
                        }
                        let n = left.min(rbuf.len() as u64);
                        *at = if n == left {
                            Chunk::DataEnd
                        } else {
                            Chunk::Data(left - n)
                        };
                        return Ok(Decoded::Data(rbuf.split_to(n as usize).freeze()));
                    }
                    Chunk::DataEnd => {
                        if rbuf.len() < 2 {
                            return Ok(Decoded::NeedMore);
                        }
                        if &rbuf[..2] != b"\r\n" {
                            return Err(ChunkedError::Malformed("chunk data must end with CRLF"));
                        }
                        rbuf.advance(2);
                        *at = Chunk::Size;
                    }
                    Chunk::Trailers(seen) => {
                        let Some(nl) = memchr::memchr(b'\n', rbuf) else {
                            if seen + rbuf.len() > max_trailers {
                                return Err(ChunkedError::TooLarge);
                            }
                            return Ok(Decoded::NeedMore);
                        };
                        let end = trailer_line(&rbuf[..nl])?;
                        rbuf.advance(nl + 1);
                        if end {
                            *at = Chunk::Done;
                            return Ok(Decoded::End);
                        }
                        let seen = seen + nl + 1;
                        if seen > max_trailers {
                            return Err(ChunkedError::TooLarge);
                        }
                        *at = Chunk::Trailers(seen);
                    }
                    Chunk::Done => return Ok(Decoded::End),
                }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Decodes `input` fed in pieces of `step` bytes; the body, or the error.
    fn feed(
        mut dec: BodyDecoder,
        input: &[u8],
        step: usize,
    ) -> Result<(Vec<u8>, Vec<u8>), ChunkedError> {
        let mut rbuf = BytesMut::new();
        let mut body = Vec::new();
        let mut fed = 0;
        loop {
            match dec.decode(&mut rbuf, 100, 64)? {
                Decoded::Data(d) => body.extend_from_slice(&d),
                Decoded::End => return Ok((body, rbuf.to_vec())),
                Decoded::NeedMore => {
                    assert!(fed < input.len(), "ran out of input: {body:?}");
                    let n = step.min(input.len() - fed);
                    rbuf.extend_from_slice(&input[fed..fed + n]);
                    fed += n;
                }
            }
        }
    }

    #[test]
    fn bodies_decode_the_same_whatever_the_read_sizes() {
        let chunked = b"3\r\nabc\r\n4;ext=1\r\ndefg\r\n0\r\nX-T: 1\r\n\r\nGET / HTTP/1.1";
        for step in [1, 2, 3, 7, 100] {
            let (body, rest) = feed(BodyDecoder::chunked(), chunked, step).unwrap();
            assert_eq!(body, b"abcdefg", "step {step}");
            // The next request stays in the buffer (what was fed of it).
            assert!(
                b"GET / HTTP/1.1".starts_with(&rest),
                "step {step}: {rest:?}"
            );
            let (body, rest) = feed(BodyDecoder::Length(5), b"hello", step).unwrap();
            assert_eq!(
                (body.as_slice(), rest.as_slice()),
                (&b"hello"[..], &b""[..])
            );
        }
    }

    #[test]
    fn broken_or_oversized_chunked_bodies_are_refused() {
        let table: [(&[u8], ChunkedError); 5] = [
            (b"zz\r\n", ChunkedError::Malformed("bad chunk size")),
            (b"3\r\nabcX\r\n", ChunkedError::Malformed("chunk data must end with CRLF")),
            (b"3\nabc", ChunkedError::Malformed("chunk size line must end with CRLF")),
            // 0x65 = 101 bytes: over the limit of 100 before any data is read.
            (b"65\r\n", ChunkedError::TooLarge),
            (b"0\r\nX-Long: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n", ChunkedError::TooLarge),
        ];
        for (input, want) in table {
            assert_eq!(
                feed(BodyDecoder::chunked(), input, 64),
                Err(want),
                "{input:?}"
            );
        }
    }
}
