//! The cached `Date` header value: formatted at most twice a second per worker.

use std::cell::Cell;
use std::time::{Duration, SystemTime};

/// Length of an IMF-fixdate, e.g. `Sun, 06 Nov 1994 08:49:37 GMT`.
pub(crate) const DATE_LEN: usize = 29;

/// How often a worker re-formats the date (the header has one-second resolution).
pub(crate) const REFRESH: Duration = Duration::from_millis(500);

/// `Server: armature\r\nDate: <date>\r\n`: the lines every response starts its
/// headers with, kept whole so that encoding copies one block of constant size.
pub(crate) const LINES_LEN: usize = PREFIX.len() + DATE_LEN + 2;
const PREFIX: &[u8] = b"Server: armature\r\nDate: ";

type Lines = [u8; LINES_LEN];

fn lines(date: &[u8; DATE_LEN]) -> Lines {
    let mut out = [0u8; LINES_LEN];
    out[..PREFIX.len()].copy_from_slice(PREFIX);
    out[PREFIX.len()..PREFIX.len() + DATE_LEN].copy_from_slice(date);
    out[LINES_LEN - 2..].copy_from_slice(b"\r\n");
    out
}

// Cells rather than a `RefCell<struct>`: reading is a flag test and a copy (the
// `RefCell` borrow and the `LocalKey::with` call cost ~60 instructions a response
// in callgrind, pipelined /plaintext).
thread_local! {
    static LINES: Cell<Lines> = const { Cell::new([b' '; LINES_LEN]) };
    /// A worker's timer keeps `LINES` fresh; otherwise a read re-formats when the
    /// second changed.
    static DRIVEN: Cell<bool> = const { Cell::new(false) };
    static SECOND: Cell<u64> = const { Cell::new(0) };
    /// Counts the changes of `LINES` (what a response head cached with the date in
    /// it is checked against: see `encode::HeadCache`).
    static GENERATION: Cell<u32> = const { Cell::new(0) };
}

fn set_lines(lines: Lines) {
    LINES.set(lines);
    GENERATION.set(GENERATION.get().wrapping_add(1));
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
    set_lines(lines(&format_now()));
    DRIVEN.set(true);
}

/// Hands this thread's date back to per-call freshness checks (the end of a
/// [`crate::testing::TestConnection`] round trip, which has no timer).
pub(crate) fn release() {
    DRIVEN.set(false);
}

/// The `Server` and `Date` lines, current.
#[inline]
pub(crate) fn server_and_date() -> Lines {
    keep_fresh();
    LINES.get()
}

/// Which version of the `Server` and `Date` lines [`server_and_date`] gives now:
/// a head encoded with one version is current while this returns the same.
#[inline]
pub(crate) fn generation() -> u32 {
    keep_fresh();
    GENERATION.get()
}

/// Without a timer keeping them fresh, re-formats the lines when the second changed.
#[inline(always)]
fn keep_fresh() {
    if !DRIVEN.get() {
        check_second();
    }
}

#[cold]
fn check_second() {
    let second = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |t| t.as_secs());
    if second != SECOND.get() {
        set_lines(lines(&format_now()));
        SECOND.set(second);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn formats_an_imf_fixdate() {
        let v = super::server_and_date();
        let s = std::str::from_utf8(&v).unwrap();
        let date = s
            .strip_prefix("Server: armature\r\nDate: ")
            .and_then(|d| d.strip_suffix("\r\n"))
            .expect(s);
        assert_eq!(date.len(), 29);
        assert!(date.ends_with(" GMT"), "{date}");
        assert!(httpdate::parse_http_date(date).is_ok(), "{date}");
    }
}
