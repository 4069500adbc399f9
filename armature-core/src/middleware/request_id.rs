//! `RequestId`: gives every request an `x-request-id` (kept when the client sent a
//! usable one, generated when not) and echoes it on the response.

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use super::chain::around;
use super::hooks::{self, AnyHooks, Carry, Hooks};
use super::{Middleware, Next};
use crate::fast_response::{FastValue, InlineStr};
use crate::handler::BoxFuture;
use crate::http::{HttpRequest, StandardHeader};
use crate::response::Response;

/// The header [`RequestId`] reads and writes by default.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// Longest client-sent id that is kept (a longer or non-printable one is replaced).
const MAX_ID_LEN: usize = 128;

/// Makes sure every request carries a request id, and echoes it on the response.
///
/// A request whose `x-request-id` is 1 to 128 visible ASCII characters keeps it;
/// otherwise one is generated (16 hex digits, unique within the process and unlikely
/// to repeat across processes). Handlers (and [`RequestLog`](super::RequestLog))
/// read it from the request header; the response carries it in the same header.
///
/// Generating and echoing an id allocates nothing: ids come from a per-worker
/// counter through a 64-bit mixer, formatted on the stack.
///
/// ```
/// use armature_core::middleware::RequestId;
/// let app = armature_core::App::new()
///     .get("/", |req: armature_core::HttpRequest| async move {
///         req.header_str("x-request-id").unwrap_or("").to_owned()
///     })
///     .middleware(RequestId::new());
/// # drop(app);
/// ```
#[derive(Clone)]
pub struct RequestId {
    header: &'static str,
    /// `header`'s interned form, if it is a standard header (the default is).
    std: Option<StandardHeader>,
    /// `std`, when `header` is spelt exactly as its interned name (the default): an
    /// id added to the request then names the interned name instead of a copy.
    interned: Option<StandardHeader>,
    /// `None`: the built-in ids.
    generate: Option<Arc<dyn Fn() -> String + Send + Sync>>,
}

impl Default for RequestId {
    fn default() -> Self {
        RequestId::new()
    }
}

impl std::fmt::Debug for RequestId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestId")
            .field("header", &self.header)
            .finish()
    }
}

impl RequestId {
    /// `x-request-id`, with generated ids of 16 hex digits.
    pub fn new() -> Self {
        RequestId {
            header: REQUEST_ID_HEADER,
            std: Some(StandardHeader::XRequestId),
            interned: Some(StandardHeader::XRequestId),
            generate: None,
        }
    }

    /// Uses header `name` instead of `x-request-id`.
    pub fn header(mut self, name: &'static str) -> Self {
        self.header = name;
        self.std = StandardHeader::from_bytes(name.as_bytes());
        self.interned = self.std.filter(|std| std.as_str() == name);
        self
    }

    /// Generates ids with `generate` (a UUID crate, a ULID, ...).
    pub fn generator(mut self, generate: impl Fn() -> String + Send + Sync + 'static) -> Self {
        self.generate = Some(Arc::new(generate));
        self
    }
}

fn usable(id: &str) -> bool {
    (1..=MAX_ID_LEN).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_graphic())
}

/// A process-unique id: a per-thread counter (each thread its own range of 2^40,
/// above a per-process random start) through a 64-bit mixer (splitmix64), so
/// consecutive ids look unrelated. Both steps are bijections, so distinct counter
/// values give distinct ids; no atomic is touched per id.
// Always: `RequestId::before` is inlined into both instances of `HookStack::start`
// (the connection loop's and a streamed body's); with those callers LLVM kept this
// out of line (+21 instructions a request in callgrind).
#[inline(always)]
fn next_id() -> u64 {
    static SEED: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    static THREADS: AtomicU64 = AtomicU64::new(0);
    thread_local! {
        /// The thread's next counter value; 0 until its first id.
        static NEXT: Cell<u64> = const { Cell::new(0) };
    }
    let n = NEXT.with(|next| {
        let mut n = next.get();
        if n == 0 {
            let seed = *SEED.get_or_init(|| {
                let t = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_nanos() as u64);
                t ^ (u64::from(std::process::id()) << 32)
            });
            let thread = THREADS.fetch_add(1, Ordering::Relaxed);
            n = seed.wrapping_add(thread << 40) | 1;
        }
        next.set(n.wrapping_add(1));
        n
    });
    let mut z = n.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// `z` as 16 lower-case hex digits, in one SSE2 register (SSE2 is part of x86-64's
/// baseline): ~15 instructions, where the portable [`hex16_lanes`] measured ~45 and
/// a digit-by-digit table loop ~80 in callgrind.
#[cfg(target_arch = "x86_64")]
#[inline]
fn hex16(z: u64) -> [u8; 16] {
    use std::arch::x86_64::{
        _mm_add_epi8, _mm_and_si128, _mm_cmpgt_epi8, _mm_cvtsi128_si64, _mm_cvtsi64_si128,
        _mm_set1_epi8, _mm_srli_epi16, _mm_unpackhi_epi64, _mm_unpacklo_epi8,
    };
    // Register-only intrinsics of a baseline feature: safe to call since Rust 1.87;
    // the block keeps older compilers (the crate's `rust-version`) building it.
    #[allow(unused_unsafe)]
    // SAFETY: SSE2 is enabled on every x86-64 target; no memory is accessed.
    let (lo, hi) = unsafe {
        // Byte 0 the most significant, so the digits come out in writing order.
        let bytes = _mm_cvtsi64_si128(z.swap_bytes() as i64);
        let low4 = _mm_set1_epi8(0x0f);
        let high = _mm_and_si128(_mm_srli_epi16(bytes, 4), low4);
        let low = _mm_and_si128(bytes, low4);
        // 16 nibbles, each in its own byte: high, low, high, low, ...
        let nibbles = _mm_unpacklo_epi8(high, low);
        // '0' + n, plus 39 more for n >= 10 (to land on 'a').
        let letters = _mm_and_si128(_mm_cmpgt_epi8(nibbles, _mm_set1_epi8(9)), _mm_set1_epi8(39));
        let ascii = _mm_add_epi8(_mm_add_epi8(nibbles, _mm_set1_epi8(b'0' as i8)), letters);
        (
            _mm_cvtsi128_si64(ascii) as u64,
            _mm_cvtsi128_si64(_mm_unpackhi_epi64(ascii, ascii)) as u64,
        )
    };
    ((u128::from(hi) << 64) | u128::from(lo)).to_le_bytes()
}

#[cfg(not(target_arch = "x86_64"))]
fn hex16(z: u64) -> [u8; 16] {
    hex16_lanes(z)
}

/// `z` as 16 lower-case hex digits, computed in two 64-bit lanes at once.
#[cfg(any(not(target_arch = "x86_64"), test))]
fn hex16_lanes(z: u64) -> [u8; 16] {
    // Spread the 16 nibbles into the low halves of 16 bytes, most significant first.
    let mut x = u128::from(z);
    x = (x | (x << 32)) & 0x0000_0000_FFFF_FFFF_0000_0000_FFFF_FFFF;
    x = (x | (x << 16)) & 0x0000_FFFF_0000_FFFF_0000_FFFF_0000_FFFF;
    x = (x | (x << 8)) & 0x00FF_00FF_00FF_00FF_00FF_00FF_00FF_00FF;
    x = (x | (x << 4)) & 0x0F0F_0F0F_0F0F_0F0F_0F0F_0F0F_0F0F_0F0F;
    // Per byte: '0' + n, plus 39 more for n >= 10 (to land on 'a').
    const ONES: u128 = 0x0101_0101_0101_0101_0101_0101_0101_0101;
    let letters = ((x + 6 * ONES) >> 4) & ONES;
    (x + 0x30 * ONES + 39 * letters).to_be_bytes()
}

/// A generated id as text.
#[cfg(test)]
fn generate() -> String {
    String::from_utf8(hex16(next_id()).to_vec()).expect("hex digits")
}

impl RequestId {
    /// [`Hooks::before`] for a request that sent an id, or with a custom generator or
    /// header name.
    #[inline(never)]
    fn before_other(&self, req: &mut HttpRequest, carry: &mut Carry) {
        let sent = match self.std {
            Some(std) => req.headers.get_standard(std),
            None => req.header(self.header),
        };
        let id = match sent.map(std::str::from_utf8) {
            // Visible ASCII only (`usable`): no CR/LF, so `Safe` when inline.
            Some(Ok(id)) if usable(id) => match InlineStr::new(id) {
                Some(inline) => FastValue::Safe(inline),
                None => FastValue::Heap(id.into()),
            },
            _ => {
                let id = match &self.generate {
                    // Hex digits: no CR/LF.
                    None => FastValue::Safe(InlineStr::from_ascii16(hex16(next_id()))),
                    Some(generate) => FastValue::from(std::borrow::Cow::Owned(generate())),
                };
                if sent.is_some() {
                    req.set_header_std(self.header, id.as_str(), self.std);
                } else {
                    // Known absent: no earlier value to remove.
                    req.headers.append_slices(
                        self.header.as_bytes(),
                        id.as_str().as_bytes(),
                        self.std,
                    );
                }
                id
            }
        };
        carry.set(Carry::Value(hooks::Value(id)));
    }
}

impl Hooks for RequestId {
    /// Inlined into the hook loop, the common case (a built-in id, the header absent
    /// and named as interned) saves a call and its register saves; the rest is
    /// [`before_other`](RequestId::before_other).
    #[inline(always)]
    fn before(&self, req: &mut HttpRequest, carry: &mut Carry) -> Option<Response> {
        match (self.interned, &self.generate) {
            (Some(std), None) if req.headers.get_standard(std).is_none() => {
                let hex = hex16(next_id());
                // Known absent: no earlier value to remove.
                req.headers.append_std16(std, &hex);
                let id = FastValue::Safe(InlineStr::from_ascii16(hex));
                carry.set(Carry::Value(hooks::Value(id)));
            }
            _ => self.before_other(req, carry),
        }
        None
    }

    /// Inlined into the loop of `after`s, with `FastHeaders::insert_value`.
    #[inline(always)]
    fn after(&self, carry: &mut Carry, resp: &mut Response) {
        if let Carry::Value(hooks::Value(id)) = carry.take() {
            resp.insert_value(self.header, id);
        }
    }
}

impl Middleware for RequestId {
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
    fn generated_ids_are_16_hex_digits_and_distinct() {
        let ids: std::collections::HashSet<String> = (0..1000).map(|_| generate()).collect();
        assert_eq!(ids.len(), 1000);
        assert!(ids
            .iter()
            .all(|id| id.len() == 16 && id.bytes().all(|b| b.is_ascii_hexdigit())));
    }

    #[test]
    fn hex_digits_match_the_formatter() {
        for z in [
            0,
            1,
            0xa,
            0xf,
            0x0123_4567_89ab_cdef,
            u64::MAX,
            0xfedc_ba98_7654_3210,
        ] {
            assert_eq!(hex16(z).as_slice(), format!("{z:016x}").as_bytes(), "{z:x}");
            assert_eq!(hex16_lanes(z), hex16(z), "{z:x}");
        }
    }

    #[test]
    fn only_short_visible_ids_are_kept() {
        for (id, ok) in [
            ("abc-123", true),
            ("", false),
            ("has space", false),
            ("tab\there", false),
            (&"x".repeat(129), false),
            (&"x".repeat(128), true),
        ] {
            assert_eq!(usable(id), ok, "{id:?}");
        }
    }
}
