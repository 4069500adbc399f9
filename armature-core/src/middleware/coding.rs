//! Content codings: the ones [`Compression`](super::Compression) produces and
//! precompressed static files are served in, which of them a request's
//! `Accept-Encoding` allows, and what `Compression` keeps of that header until its
//! response. Apart from the middleware so that the hook layers' carry can hold it
//! (this file imports none of them).

/// A content coding [`Compression`](super::Compression) produces (and precompressed
/// static files are served in).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Coding {
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
/// allows none. Shared by [`Compression`](super::Compression) and the precompressed files of
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

/// What [`Compression`](super::Compression)'s `before` keeps of the request's `Accept-Encoding` for
/// its `after` (a [`Carry::Accept`](super::hooks::Carry::Accept)) as general middleware (on the hook
/// path its `after` reads the connection's request instead): the value as it came, parsed only for a
/// response that may be compressed (most are not: a small body, a stream), or, for
/// a value too long to keep in place, the coding it chose at once.
///
/// `pub` in a private module, as [`Carry`](super::hooks::Carry).
pub enum Accept {
    /// The value's first `len` bytes.
    Raw {
        len: u8,
        bytes: [u8; Accept::CAPACITY],
    },
    /// The coding chosen from a longer value.
    Chosen(Option<Coding>),
}

impl Accept {
    /// Values up to this long are kept as they came (Chrome's
    /// `gzip, deflate, br, zstd` is 23 bytes).
    pub(crate) const CAPACITY: usize = 30;
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
