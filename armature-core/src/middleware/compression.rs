//! `Compression`: gzip (flate2) or brotli response bodies, chosen by the request's
//! `Accept-Encoding` and its q-values.

use std::io::Write;

use bytes::Bytes;

use super::{Middleware, Next};
use crate::handler::BoxFuture;
use crate::http::HttpRequest;
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

/// A content coding this middleware produces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Coding {
    Brotli,
    Gzip,
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
        let (mut br, mut gzip, mut any) = (None::<f32>, None::<f32>, None::<f32>);
        for item in accept.split(',') {
            let mut parts = item.split(';');
            let coding = parts.next().unwrap_or("").trim();
            let q = parts
                .find_map(|p| {
                    let (k, v) = p.split_once('=')?;
                    k.trim()
                        .eq_ignore_ascii_case("q")
                        .then(|| v.trim().parse().ok())?
                })
                .unwrap_or(1.0f32);
            if coding.eq_ignore_ascii_case("br") {
                br = Some(q);
            } else if coding.eq_ignore_ascii_case("gzip") || coding.eq_ignore_ascii_case("x-gzip") {
                gzip = Some(q);
            } else if coding == "*" {
                any = Some(q);
            }
        }
        let br = self.brotli.and(br.or(any)).unwrap_or(0.0);
        let gzip = self.gzip.and(gzip.or(any)).unwrap_or(0.0);
        match (br > 0.0, gzip > 0.0) {
            (true, _) if br >= gzip => Some(Coding::Brotli),
            (_, true) => Some(Coding::Gzip),
            _ => None,
        }
    }

    /// Whether `resp` may be compressed at all (and so varies by `Accept-Encoding`).
    fn eligible(&self, resp: &Response) -> bool {
        let status = resp.status().as_u16();
        if status < 200 || matches!(status, 204 | 206 | 304) {
            return false;
        }
        if resp.body_bytes().is_none_or(|b| b.len() < self.min_size)
            || resp.header("content-encoding").is_some()
        {
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

impl Middleware for Compression {
    fn call(&self, req: HttpRequest, next: Next) -> BoxFuture {
        let coding = self.choose(req.header_str("accept-encoding").unwrap_or(""));
        let this = *self;
        let inner = next.run(req);
        Box::pin(async move {
            let mut resp = inner.await;
            if !this.eligible(&resp) {
                return resp;
            }
            resp.append_header("Vary", "Accept-Encoding");
            let Some(coding) = coding else { return resp };
            let body = resp.body_bytes().unwrap_or(&[]);
            match this.encode(coding, body) {
                Ok(out) if out.len() < body.len() => {
                    resp.set_body(Bytes::from(out));
                    let name = match coding {
                        Coding::Brotli => "br",
                        Coding::Gzip => "gzip",
                    };
                    resp.insert_header("Content-Encoding", name);
                }
                _ => {}
            }
            resp
        })
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
