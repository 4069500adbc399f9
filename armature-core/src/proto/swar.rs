//! Bytes eight at a time in a `u64` (SWAR): the scans of the head parser and the
//! encoder's CR/LF check. Each test sets the high bit of the bytes it matches;
//! only the lowest set bit is certain (a borrow can set bits above it), so callers
//! use the lowest, or only whether any is set.

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// The first 8 bytes of `s` (which has at least 8), little-endian.
#[inline(always)]
pub(crate) fn load(s: &[u8]) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&s[..8]);
    u64::from_le_bytes(b)
}

/// Flags the bytes of `w` equal to `b`.
#[inline(always)]
pub(crate) fn eq(w: u64, b: u8) -> u64 {
    let x = w ^ (ONES * u64::from(b));
    x.wrapping_sub(ONES) & !x & HIGHS
}

/// Flags the bytes of `w` below `n` (`n` at most 0x80; bytes above 0x7F never).
#[inline(always)]
pub(crate) fn below(w: u64, n: u8) -> u64 {
    w.wrapping_sub(ONES * u64::from(n)) & !w & HIGHS
}

/// Flags the bytes of `w` above 0x7F (exact: every flag is certain).
#[inline(always)]
pub(crate) fn high(w: u64) -> u64 {
    w & HIGHS
}

/// The index of the lowest flagged byte (`flags` non-zero).
#[inline(always)]
pub(crate) fn first(flags: u64) -> usize {
    (flags.trailing_zeros() / 8) as usize
}

/// `a == b`, inline: slices of up to 16 bytes as two (overlapping) word compares,
/// longer ones through `==` (a `memcmp` call, ~18 instructions for a 10-byte path in
/// callgrind).
#[inline(always)]
pub(crate) fn bytes_eq(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    fn w4(s: &[u8], at: usize) -> u32 {
        u32::from_le_bytes(s[at..at + 4].try_into().expect("4 bytes"))
    }
    fn w8(s: &[u8], at: usize) -> u64 {
        u64::from_le_bytes(s[at..at + 8].try_into().expect("8 bytes"))
    }
    match n {
        0..=3 => a == b,
        4..=7 => w4(a, 0) == w4(b, 0) && w4(a, n - 4) == w4(b, n - 4),
        8..=16 => w8(a, 0) == w8(b, 0) && w8(a, n - 8) == w8(b, n - 8),
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lowest_flag_is_the_first_match() {
        for at in 0..8 {
            for b in [0u8, b'\t', b' ', b'?', 0x7f, 0x80, 0xff] {
                let mut s = [b'a'; 8];
                s[at] = b;
                let w = load(&s);
                assert_eq!(first(eq(w, b)), at, "{b:#x} at {at}");
                if b < 0x20 {
                    assert_eq!(first(below(w, 0x20)), at, "{b:#x} at {at}");
                } else {
                    assert_eq!(below(w, 0x20), 0, "{b:#x} at {at}");
                }
                assert_eq!(high(w) != 0, b >= 0x80);
            }
        }
    }

    #[test]
    fn bytes_eq_agrees_with_slice_eq() {
        let base: Vec<u8> = (0..40u8).map(|i| b'a' + i % 26).collect();
        for n in 0..=base.len() {
            let a = &base[..n];
            assert!(bytes_eq(a, a), "len {n}");
            if n > 0 {
                assert!(!bytes_eq(a, &a[..n - 1]), "len {n} against {}", n - 1);
            }
            for at in 0..n {
                let mut b = a.to_vec();
                b[at] ^= 0x20;
                assert!(!bytes_eq(a, &b), "len {n}, byte {at}");
            }
        }
    }
}
