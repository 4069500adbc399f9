//! Percent- and plus-decoding that borrows unless a byte actually changes.

use std::borrow::Cow;

/// Decodes an `application/x-www-form-urlencoded` component: `+` becomes a space and
/// `%XX` the byte `0xXX`. Borrows `s` when it contains neither `%` nor `+`.
///
/// ```
/// use armature_core::small_vec::decode_form;
/// assert_eq!(decode_form("a+b%21"), "a b!");
/// assert!(matches!(decode_form("plain"), std::borrow::Cow::Borrowed("plain")));
/// ```
#[inline]
pub fn decode_form(s: &str) -> Cow<'_, str> {
    match memchr::memchr2(b'%', b'+', s.as_bytes()) {
        None => Cow::Borrowed(s),
        Some(first) => decode_slow(s, first, true),
    }
}

/// Decodes `%XX` escapes only (a `+` stays a `+`), as for path segments and cookies.
/// Borrows `s` when it has no `%`. Invalid UTF-8 after decoding becomes U+FFFD.
///
/// ```
/// use armature_core::small_vec::decode_percent;
/// assert_eq!(decode_percent("caf%C3%A9+1"), "café+1");
/// ```
#[inline]
pub fn decode_percent(s: &str) -> Cow<'_, str> {
    match memchr::memchr(b'%', s.as_bytes()) {
        None => Cow::Borrowed(s),
        Some(first) => decode_slow(s, first, false),
    }
}

/// The allocating path, entered at the first byte that may change.
///
/// A `%` not followed by two hex digits is kept as is (as the WHATWG URL standard
/// does). When nothing changed after all (only stray `%`s), `s` is still borrowed.
/// Bytes that do not form UTF-8 after decoding become U+FFFD.
#[cold]
fn decode_slow(s: &str, first: usize, plus: bool) -> Cow<'_, str> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    // Bytes from `copied` on are not in `out` yet; runs without escapes are copied whole.
    let mut copied = 0;
    let mut i = first;
    while i < bytes.len() {
        let decoded = match bytes[i] {
            b'+' if plus => Some((b' ', 1)),
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(hi), Some(lo)) => Some((hi << 4 | lo, 3)),
                _ => None,
            },
            _ => None,
        };
        match decoded {
            Some((byte, len)) => {
                out.extend_from_slice(&bytes[copied..i]);
                out.push(byte);
                i += len;
                copied = i;
            }
            None => i += 1,
        }
    }
    if copied == 0 {
        // Only stray `%`s: nothing changed.
        return Cow::Borrowed(s);
    }
    out.extend_from_slice(&bytes[copied..]);
    match String::from_utf8(out) {
        Ok(s) => Cow::Owned(s),
        Err(e) => Cow::Owned(String::from_utf8_lossy(e.as_bytes()).into_owned()),
    }
}

#[inline]
fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}
