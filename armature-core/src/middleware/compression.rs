//! `Compression`: gzip (flate2) or brotli response bodies, chosen by the request's
//! `Accept-Encoding` and its q-values.

use std::io::Write;

use bytes::Bytes;

use std::sync::Arc;

use super::chain::around;
use super::coding::Accept;
pub(crate) use super::coding::{acceptable, Coding};
use super::hooks::{AnyHooks, Carry, Hooks};
use super::{Middleware, Next};
use crate::handler::BoxFuture;
use crate::http::{HttpRequest, StandardHeader};
use crate::response::Response;

/// Compresses response bodies the client accepts compressed.
///
/// The coding is the acceptable one (`q` > 0; `*` stands for codings not named) with
/// the highest q-value, brotli before gzip on a tie; `identity`, an empty header or
/// `q=0` for both means no compression. Left as they are: bodies under
/// [`min_size`](Self::min_size) (default 1024 bytes), streamed bodies, responses that
/// already have a `Content-Encoding`, responses with `Cache-Control: no-transform`,
/// statuses without a body (1xx, 204, 304) and `206`, and types that are compressed
/// already (images but SVG, audio, video, zip/gzip/brotli archives, woff fonts). A
/// response that could be compressed says `Vary: Accept-Encoding`, compressed or not;
/// a compressed body that would not be smaller is sent as it was.
///
/// The body is compressed on the worker, in one go: meant for API responses and
/// pages of up to a few hundred KiB (quality and level default to fast settings).
///
/// A response it leaves alone costs little: it is a built-in hook layer (no future,
/// no clone of the request) with nothing to do before the handler, and after it
/// looks at the body's size before anything else, so a small body or a stream
/// costs a length test (no header lookup, no `Vary`). The request's
/// `Accept-Encoding` is looked up and parsed only for a response it may compress.
///
/// ```
/// use armature_core::middleware::Compression;
/// let app = armature_core::App::new()
///     .get("/report", || async { "a large text ...".repeat(100) })
///     .middleware(Compression::new().min_size(512).brotli_quality(5));
/// # drop(app);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Compression {
    min_size: usize,
    gzip: Option<u32>,
    brotli: Option<u32>,
}

impl Default for Compression {
    fn default() -> Self {
        Compression::new()
    }
}

impl Compression {
    /// gzip (level 5) and brotli (quality 4) for bodies of 1024 bytes or more.
    pub fn new() -> Self {
        Compression {
            min_size: 1024,
            gzip: Some(5),
            brotli: Some(4),
        }
    }

    /// Bodies shorter than `bytes` are sent as they are.
    pub fn min_size(mut self, bytes: usize) -> Self {
        self.min_size = bytes;
        self
    }

    /// The gzip level (0-9), or `None` not to offer gzip.
    pub fn gzip_level(mut self, level: impl Into<Option<u32>>) -> Self {
        self.gzip = level.into().map(|l| l.min(9));
        self
    }

    /// The brotli quality (0-11), or `None` not to offer brotli.
    pub fn brotli_quality(mut self, quality: impl Into<Option<u32>>) -> Self {
        self.brotli = quality.into().map(|q| q.min(11));
        self
    }

    /// The coding to use for `accept` (an `Accept-Encoding` value).
    fn choose(&self, accept: &str) -> Option<Coding> {
        acceptable(accept, self.brotli.is_some(), self.gzip.is_some())[0]
    }

    /// Whether `resp` may be compressed at all (and so varies by `Accept-Encoding`).
    /// The body's size first: it settles most responses (an API's answers are
    /// mostly under `min_size`, a stream is never compressed), so they cost a
    /// length test and no header lookup.
    #[inline]
    fn eligible(&self, resp: &Response) -> bool {
        if resp.body_bytes().is_none_or(|b| b.len() < self.min_size) {
            return false;
        }
        self.eligible_otherwise(resp)
    }

    /// The rest of [`eligible`](Self::eligible), for a body of a size to compress.
    fn eligible_otherwise(&self, resp: &Response) -> bool {
        let status = resp.status().as_u16();
        if status < 200 || matches!(status, 204 | 206 | 304) {
            return false;
        }
        if resp.header("content-encoding").is_some() {
            return false;
        }
        if resp
            .header("cache-control")
            .is_some_and(|cc| cc.to_ascii_lowercase().contains("no-transform"))
        {
            return false;
        }
        !resp.header("content-type").is_some_and(precompressed)
    }

    /// The coding for the `Accept-Encoding` value `accept` (`None`: no header).
    fn coding(&self, accept: Option<&[u8]>) -> Option<Coding> {
        accept
            .and_then(|raw| std::str::from_utf8(raw).ok())
            .and_then(|accept| self.choose(accept))
    }

    /// The response half on the hook path (`Builtin::after`): `req` is the
    /// connection's request, its head still there, and its `Accept-Encoding` is
    /// looked up only for a response that may be compressed.
    #[inline(always)]
    pub(crate) fn after_request(&self, req: &HttpRequest, resp: &mut Response) {
        if self.eligible(resp) {
            self.compress_for(req, resp);
        }
    }

    /// [`after_request`](Self::after_request) for an eligible response.
    #[cold]
    fn compress_for(&self, req: &HttpRequest, resp: &mut Response) {
        let accept = req.headers.get_standard(StandardHeader::AcceptEncoding);
        self.compress(self.coding(accept), resp);
    }

    /// Compresses an eligible response's body in `coding` (`None`: the body is
    /// left as it is), and says that it varies by `Accept-Encoding`.
    #[cold]
    fn compress(&self, coding: Option<Coding>, resp: &mut Response) {
        resp.append_header("Vary", "Accept-Encoding");
        let Some(coding) = coding else { return };
        let body = resp.body_bytes().unwrap_or(&[]);
        match self.encode(coding, body) {
            Ok(out) if out.len() < body.len() => {
                resp.set_body(Bytes::from(out));
                resp.insert_header("Content-Encoding", coding.token());
            }
            _ => {}
        }
    }

    fn encode(&self, coding: Coding, body: &[u8]) -> std::io::Result<Vec<u8>> {
        let mut out = Vec::with_capacity(body.len() / 2 + 64);
        match coding {
            Coding::Gzip => {
                let level = flate2::Compression::new(self.gzip.unwrap_or(5));
                let mut enc = flate2::write::GzEncoder::new(out, level);
                enc.write_all(body)?;
                out = enc.finish()?;
            }
            Coding::Brotli => {
                let quality = self.brotli.unwrap_or(4);
                let mut enc = brotli::CompressorWriter::new(&mut out, 4096, quality, 22);
                enc.write_all(body)?;
                enc.flush()?;
                drop(enc);
            }
        }
        Ok(out)
    }
}

/// Media types whose bodies are compressed already.
fn precompressed(content_type: &str) -> bool {
    let ct = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    (ct.starts_with("image/") && ct != "image/svg+xml")
        || ct.starts_with("audio/")
        || ct.starts_with("video/")
        || ct.starts_with("font/woff")
        || matches!(
            ct.as_str(),
            "application/zip" | "application/gzip" | "application/x-gzip" | "application/x-brotli"
        )
}

/// Compression as general middleware (`around`: beside an `async fn` layer or
/// `Timeout`), where the request moves on to the inner layers: its `before` keeps
/// what its `after` needs of it. On the hook path, where the connection's request
/// is still whole after the handler, neither runs: [`Compression::after_request`]
/// does (see `middleware::After`).
impl Hooks for Compression {
    /// Keeps the request's `Accept-Encoding` (not parsed here: see [`Accept`]);
    /// without one, the `after` only says that an eligible response varies by it.
    #[inline]
    fn before(&self, req: &mut HttpRequest, carry: &mut Carry) -> Option<Response> {
        match req.headers.get_standard(StandardHeader::AcceptEncoding) {
            None => carry.set(Carry::Run),
            Some(value) => carry.set(Carry::Accept(self.keep(value))),
        }
        None
    }

    #[inline]
    fn after(&self, carry: &mut Carry, resp: &mut Response) {
        if !self.eligible(resp) {
            return;
        }
        let coding = match carry {
            Carry::Accept(Accept::Raw { len, bytes }) => {
                self.coding(bytes.get(..usize::from(*len)))
            }
            Carry::Accept(Accept::Chosen(coding)) => *coding,
            _ => None,
        };
        self.compress(coding, resp);
    }
}

impl Compression {
    /// What to keep of an `Accept-Encoding` value (see [`Accept`]).
    fn keep(&self, value: &[u8]) -> Accept {
        let mut bytes = [0; Accept::CAPACITY];
        match bytes.get_mut(..value.len()) {
            Some(kept) => {
                kept.copy_from_slice(value);
                Accept::Raw {
                    len: value.len() as u8,
                    bytes,
                }
            }
            None => Accept::Chosen(self.coding(Some(value))),
        }
    }
}

impl Middleware for Compression {
    fn call(&self, req: HttpRequest, next: Next) -> BoxFuture {
        around(self, req, next)
    }

    fn hooks(self: Arc<Self>) -> Option<AnyHooks> {
        Some(AnyHooks(self))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_coding_follows_q_values_and_what_is_enabled() {
        let both = Compression::new();
        let gzip_only = Compression::new().brotli_quality(None);
        let cases: &[(&Compression, &str, Option<Coding>)] = &[
            (&both, "gzip, deflate, br", Some(Coding::Brotli)),
            (&both, "gzip", Some(Coding::Gzip)),
            (&both, "br;q=0.5, gzip;q=0.9", Some(Coding::Gzip)),
            (&both, "gzip;q=0.5, br;q=0.9", Some(Coding::Brotli)),
            (&both, "br;q=0, gzip", Some(Coding::Gzip)),
            (&both, "br;q=0, gzip;q=0", None),
            (&both, "identity", None),
            (&both, "", None),
            (&both, "*", Some(Coding::Brotli)),
            (&both, "*;q=0.1, gzip;q=0.2", Some(Coding::Gzip)),
            (&both, "GZIP ; Q=1", Some(Coding::Gzip)),
            (&gzip_only, "br, gzip;q=0.1", Some(Coding::Gzip)),
            (&gzip_only, "br", None),
        ];
        for &(c, accept, expected) in cases {
            assert_eq!(c.choose(accept), expected, "{accept:?}");
        }
    }

    #[test]
    fn compressed_media_types_are_left_alone() {
        for (ct, pre) in [
            ("image/png", true),
            ("image/svg+xml", false),
            ("video/mp4", true),
            ("application/zip", true),
            ("application/json", false),
            ("text/html; charset=utf-8", false),
        ] {
            assert_eq!(precompressed(ct), pre, "{ct}");
        }
    }
}
