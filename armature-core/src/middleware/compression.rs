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

/// A content coding this middleware produces (and precompressed static files are
/// served in).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Coding {
    Brotli,
    Gzip,
}

impl Coding {
    /// The `Content-Encoding` token.
    pub(crate) fn token(self) -> &'static str {
        match self {
            Coding::Brotli => "br",
            Coding::Gzip => "gzip",
        }
    }

    /// The file extension of a file precompressed in this coding.
    pub(crate) fn extension(self) -> &'static str {
        match self {
            Coding::Brotli => "br",
            Coding::Gzip => "gz",
        }
    }
}

/// The codings `accept` (an `Accept-Encoding` value) allows among those offered,
/// best first: the highest q-value first, brotli before gzip on a tie; `*` stands
/// for the codings not named; `q=0` (or `identity` alone, or an empty header)
/// allows none. Shared by [`Compression`] and the precompressed files of
/// [`ServeDir`](crate::static_files::ServeDir).
pub(crate) fn acceptable(accept: &str, brotli: bool, gzip: bool) -> [Option<Coding>; 2] {
    let (mut br, mut gz, mut any) = (None::<f32>, None::<f32>, None::<f32>);
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
            gz = Some(q);
        } else if coding == "*" {
            any = Some(q);
        }
    }
    let br = if brotli {
        br.or(any).unwrap_or(0.0)
    } else {
        0.0
    };
    let gz = if gzip { gz.or(any).unwrap_or(0.0) } else { 0.0 };
    let (br, gz) = (
        (br > 0.0).then_some((br, Coding::Brotli)),
        (gz > 0.0).then_some((gz, Coding::Gzip)),
    );
    match (br, gz) {
        (Some(b), Some(g)) if g.0 > b.0 => [Some(g.1), Some(b.1)],
        (Some(b), Some(g)) => [Some(b.1), Some(g.1)],
        (b, g) => [b.or(g).map(|c| c.1), None],
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
                    resp.insert_header("Content-Encoding", coding.token());
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
    fn every_acceptable_coding_comes_in_order_of_preference() {
        use Coding::{Brotli, Gzip};
        let cases: &[(&str, [Option<Coding>; 2])] = &[
            ("gzip, br", [Some(Brotli), Some(Gzip)]),
            ("br;q=0.5, gzip", [Some(Gzip), Some(Brotli)]),
            ("gzip", [Some(Gzip), None]),
            ("br;q=0, *", [Some(Gzip), None]),
            ("identity", [None, None]),
            ("deflate, gzip, br, zstd", [Some(Brotli), Some(Gzip)]),
        ];
        for &(accept, expected) in cases {
            assert_eq!(acceptable(accept, true, true), expected, "{accept:?}");
        }
        assert_eq!(acceptable("gzip, br", false, true), [Some(Gzip), None]);
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
