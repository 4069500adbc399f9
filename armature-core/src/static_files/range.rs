//! Conditional and range requests on a file: validators (`ETag`, `Last-Modified`),
//! `If-None-Match` / `If-Modified-Since` (RFC 9110 §13) and a single byte range
//! (RFC 9110 §14).

use std::time::{SystemTime, UNIX_EPOCH};

/// A file's validators.
pub(super) struct Validators {
    /// A strong entity tag from the modification time and the length (as nginx's).
    pub etag: String,
    /// The modification time, whole seconds (what `Last-Modified` can say).
    pub modified: Option<SystemTime>,
}

impl Validators {
    pub fn new(len: u64, modified: Option<SystemTime>) -> Validators {
        let since = modified.and_then(|m| m.duration_since(UNIX_EPOCH).ok());
        let etag = match since {
            Some(d) => format!("\"{:x}.{:x}-{len:x}\"", d.as_secs(), d.subsec_nanos()),
            None => format!("\"{len:x}\""),
        };
        let modified = since.map(|d| UNIX_EPOCH + std::time::Duration::from_secs(d.as_secs()));
        Validators { etag, modified }
    }

    /// Whether a `GET`/`HEAD` with these request headers is answered `304`:
    /// `If-None-Match` (weak comparison) decides when present, else
    /// `If-Modified-Since`.
    pub fn not_modified(
        &self,
        if_none_match: Option<&str>,
        if_modified_since: Option<&str>,
    ) -> bool {
        if let Some(inm) = if_none_match {
            return inm.trim() == "*"
                || inm
                    .split(',')
                    .any(|tag| opaque(tag.trim()) == opaque(&self.etag));
        }
        match (
            if_modified_since.and_then(|d| httpdate::parse_http_date(d.trim()).ok()),
            self.modified,
        ) {
            (Some(since), Some(modified)) => modified <= since,
            _ => false,
        }
    }

    /// Whether `If-Range` (absent, or naming the current file) lets a range apply.
    /// Entity tags compare strongly; a date must equal `Last-Modified`.
    pub fn range_applies(&self, if_range: Option<&str>) -> bool {
        let Some(v) = if_range.map(str::trim) else {
            return true;
        };
        if v.starts_with('"') || v.starts_with("W/") {
            return v == self.etag;
        }
        match (httpdate::parse_http_date(v).ok(), self.modified) {
            (Some(date), Some(modified)) => date == modified,
            _ => false,
        }
    }
}

/// An entity tag without its weakness mark.
fn opaque(tag: &str) -> &str {
    tag.strip_prefix("W/").unwrap_or(tag)
}

/// What a `Range` header asks of a file of some length.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Ranged {
    /// No (usable) range: the whole file, `200`. Also for several ranges, which
    /// are answered whole rather than as `multipart/byteranges`.
    Whole,
    /// One satisfiable range, inclusive bounds: `206`.
    Part(u64, u64),
    /// No byte of the range exists: `416`.
    Unsatisfiable,
}

/// Reads a `Range` header for a file of `len` bytes. A syntactically invalid one is
/// ignored (RFC 9110 §14.2), as is any unit but `bytes`.
pub(super) fn parse(range: &str, len: u64) -> Ranged {
    let Some((unit, spec)) = range.trim().split_once('=') else {
        return Ranged::Whole;
    };
    if !unit.trim().eq_ignore_ascii_case("bytes") || spec.contains(',') {
        return Ranged::Whole;
    }
    let Some((first, last)) = spec.trim().split_once('-') else {
        return Ranged::Whole;
    };
    let num = |s: &str| -> Option<u64> {
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())).then(|| s.parse().ok())?
    };
    match (first.trim(), last.trim()) {
        ("", suffix) => match num(suffix) {
            None => Ranged::Whole,
            Some(0) => Ranged::Unsatisfiable,
            Some(_) if len == 0 => Ranged::Unsatisfiable,
            Some(n) => Ranged::Part(len - n.min(len), len - 1),
        },
        (first, "") => match num(first) {
            None => Ranged::Whole,
            Some(a) if a >= len => Ranged::Unsatisfiable,
            Some(a) => Ranged::Part(a, len - 1),
        },
        (first, last) => match (num(first), num(last)) {
            (Some(a), Some(b)) if a <= b => {
                if a >= len {
                    Ranged::Unsatisfiable
                } else {
                    Ranged::Part(a, b.min(len - 1))
                }
            }
            _ => Ranged::Whole,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::{parse, Ranged, Validators};
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn ranges_of_a_100_byte_file() {
        use Ranged::*;
        let table: &[(&str, Ranged)] = &[
            ("bytes=0-9", Part(0, 9)),
            ("bytes=10-", Part(10, 99)),
            ("bytes=-10", Part(90, 99)),
            ("bytes=-1000", Part(0, 99)),
            ("bytes=90-1000", Part(90, 99)),
            ("bytes=99-99", Part(99, 99)),
            (" Bytes = 5 - 6 ", Part(5, 6)),
            ("bytes=100-", Unsatisfiable),
            ("bytes=100-200", Unsatisfiable),
            ("bytes=-0", Unsatisfiable),
            ("bytes=9-0", Whole),
            ("bytes=0-1,5-6", Whole),
            ("bytes=a-b", Whole),
            ("bytes=+1-2", Whole),
            ("bytes=-", Whole),
            ("items=0-1", Whole),
            ("bytes", Whole),
            ("bytes=18446744073709551616-", Whole),
        ];
        for (header, want) in table {
            assert_eq!(&parse(header, 100), want, "{header:?}");
        }
        assert_eq!(parse("bytes=-5", 0), Unsatisfiable);
        assert_eq!(parse("bytes=0-", 0), Unsatisfiable);
    }

    #[test]
    fn conditional_headers() {
        let mtime = UNIX_EPOCH + Duration::new(1_700_000_000, 123);
        let v = Validators::new(42, Some(mtime));
        let tag = v.etag.clone();
        assert_eq!(tag, "\"6553f100.7b-2a\"");
        let lm = httpdate::fmt_http_date(mtime);
        let later = httpdate::fmt_http_date(mtime + Duration::from_secs(60));
        let earlier = httpdate::fmt_http_date(mtime - Duration::from_secs(60));
        assert!(v.not_modified(Some(&tag), None));
        assert!(v.not_modified(Some(&format!("\"x\", W/{tag}")), None));
        assert!(v.not_modified(Some("*"), None));
        assert!(
            !v.not_modified(Some("\"x\""), Some(&later)),
            "If-None-Match decides"
        );
        assert!(v.not_modified(None, Some(&lm)));
        assert!(v.not_modified(None, Some(&later)));
        assert!(!v.not_modified(None, Some(&earlier)));
        assert!(!v.not_modified(None, Some("not a date")));
        assert!(!v.not_modified(None, None));

        assert!(v.range_applies(None));
        assert!(v.range_applies(Some(&tag)));
        assert!(
            !v.range_applies(Some(&format!("W/{tag}"))),
            "weak tags never match"
        );
        assert!(v.range_applies(Some(&lm)));
        assert!(!v.range_applies(Some(&later)));
    }
}
