//! `RequestId`: gives every request an `x-request-id` (kept when the client sent a
//! usable one, generated when not) and echoes it on the response.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use super::{Middleware, Next};
use crate::handler::BoxFuture;
use crate::http::HttpRequest;

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
    generate: Arc<dyn Fn() -> String + Send + Sync>,
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
            generate: Arc::new(generate),
        }
    }

    /// Uses header `name` instead of `x-request-id`.
    pub fn header(mut self, name: &'static str) -> Self {
        self.header = name;
        self
    }

    /// Generates ids with `generate` (a UUID crate, a ULID, ...).
    pub fn generator(mut self, generate: impl Fn() -> String + Send + Sync + 'static) -> Self {
        self.generate = Arc::new(generate);
        self
    }
}

fn usable(id: &str) -> bool {
    (1..=MAX_ID_LEN).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_graphic())
}

/// A process-unique id: a counter from a per-process random start, through a 64-bit
/// mixer (splitmix64), so consecutive ids look unrelated.
fn generate() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    static SEED: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    let seed = *SEED.get_or_init(|| {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        t ^ (u64::from(std::process::id()) << 32)
    });
    let mut z = seed.wrapping_add(
        NEXT.fetch_add(1, Ordering::Relaxed)
            .wrapping_mul(0x9E37_79B9_7F4A_7C15),
    );
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    let z = z ^ (z >> 31);
    let mut id = String::with_capacity(16);
    for shift in (0..16).rev() {
        id.push(char::from(
            b"0123456789abcdef"[(z >> (shift * 4)) as usize & 15],
        ));
    }
    id
}

impl Middleware for RequestId {
    fn call(&self, mut req: HttpRequest, next: Next) -> BoxFuture {
        let id = match req.header_str(self.header) {
            Some(id) if usable(id) => id.to_owned(),
            _ => {
                let id = (self.generate)();
                req.set_header(self.header, &id);
                id
            }
        };
        let header = self.header;
        Box::pin(async move {
            let mut resp = next.run(req).await;
            resp.insert_header(header, id);
            resp
        })
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
