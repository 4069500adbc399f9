//! The cached `Date` header value: formatted at most twice a second per worker.

use std::cell::RefCell;
use std::time::{Duration, SystemTime};

/// Length of an IMF-fixdate, e.g. `Sun, 06 Nov 1994 08:49:37 GMT`.
pub(crate) const DATE_LEN: usize = 29;

/// How often a worker re-formats the date (the header has one-second resolution).
pub(crate) const REFRESH: Duration = Duration::from_millis(500);

struct DateCache {
    bytes: [u8; DATE_LEN],
    /// A worker's timer keeps this fresh; otherwise a read re-formats when the
    /// second changed.
    driven: bool,
    second: u64,
}

thread_local! {
    static DATE: RefCell<DateCache> = const {
        RefCell::new(DateCache { bytes: [b' '; DATE_LEN], driven: false, second: 0 })
    };
}

fn format_now() -> [u8; DATE_LEN] {
    let s = httpdate::fmt_http_date(SystemTime::now());
    let mut out = [b' '; DATE_LEN];
    let n = s.len().min(DATE_LEN);
    out[..n].copy_from_slice(&s.as_bytes()[..n]);
    out
}

/// Re-formats this thread's date and marks it as kept fresh by a timer.
pub(crate) fn refresh() {
    let now = format_now();
    DATE.with(|d| {
        let mut d = d.borrow_mut();
        d.bytes = now;
        d.driven = true;
    });
}

/// Hands this thread's date back to per-call freshness checks (the end of a
/// [`crate::testing::TestConnection`] round trip, which has no timer).
pub(crate) fn release() {
    DATE.with(|d| d.borrow_mut().driven = false);
}

/// Appends the current date to `out`.
#[inline]
pub(crate) fn append(out: &mut Vec<u8>) {
    DATE.with(|d| {
        let mut d = d.borrow_mut();
        if !d.driven {
            let second = SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0, |t| t.as_secs());
            if second != d.second {
                d.bytes = format_now();
                d.second = second;
            }
        }
        out.extend_from_slice(&d.bytes);
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn formats_an_imf_fixdate() {
        let mut v = Vec::new();
        super::append(&mut v);
        let s = std::str::from_utf8(&v).unwrap();
        assert_eq!(s.len(), 29);
        assert!(s.ends_with(" GMT"), "{s}");
        assert!(httpdate::parse_http_date(s).is_ok(), "{s}");
    }
}
