//! A route's counters: one block of cells per worker, each written by its worker
//! alone and read by whichever worker answers a scrape.
//!
//! # Why atomics that are not shared
//!
//! The request path must take no lock and no shared atomic (no `lock`-prefixed
//! read-modify-write, no cache line that several workers write). Each worker gets
//! its own block of a route's cells, found by the worker's index (a thread-local
//! read), and is the only thread that writes it. With one writer, an increment
//! needs no read-modify-write: it is a relaxed load and a relaxed store of an
//! `AtomicU64`, which on x86-64 and AArch64 compile to the same plain `mov`s /
//! `ldr`/`str` as a `u64` would (no fence, no `lock` prefix). They are atomics only
//! so that the scraping worker's reads of another worker's cells are defined
//! behaviour (a plain `u64` read across threads while written would be a data
//! race); such a read sees each cell's latest or a slightly older value, never a
//! torn one.
//!
//! The blocks are padded to whole 128-byte lines (two 64-byte cache lines, the
//! unit the adjacent-line prefetcher pulls in), so no two workers write one line.
//!
//! Threads that are not workers (an in-memory [`testing`](crate::testing) server)
//! share one spare block. Two of them recording at the same instant can lose an
//! increment (load, load, store, store): a miscount, never undefined behaviour.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;

use crate::http::{Method, StatusCode};
use crate::rt::worker_state::worker_index;

/// Status classes kept apart: `1xx` to `5xx`.
pub(super) const CLASSES: usize = 5;

/// The label value of each status class.
pub(super) const CLASS_LABELS: [&str; CLASSES] = ["1xx", "2xx", "3xx", "4xx", "5xx"];

/// The histogram's upper bounds, in seconds and in nanoseconds.
#[derive(Debug)]
pub(crate) struct Buckets {
    pub(super) seconds: Box<[f64]>,
    nanos: Box<[u64]>,
}

impl Buckets {
    /// `bounds` must be finite, positive and strictly increasing (checked by the caller).
    pub(super) fn new(bounds: &[f64]) -> Buckets {
        Buckets {
            seconds: bounds.into(),
            nanos: bounds.iter().map(|s| (s * 1e9).round() as u64).collect(),
        }
    }

    /// The bucket `nanos` falls in: the first whose bound is at least `nanos`, or
    /// `len()` (the `+Inf` bucket). A linear search from the smallest bound: most
    /// requests land in the first few.
    #[inline]
    fn index(&self, nanos: u64) -> usize {
        self.nanos
            .iter()
            .position(|&bound| nanos <= bound)
            .unwrap_or(self.nanos.len())
    }

    /// Buckets with `+Inf`.
    pub(super) fn len(&self) -> usize {
        self.nanos.len() + 1
    }
}

/// Cells in one padded line.
const LINE: usize = 16;

#[repr(align(128))]
#[derive(Default)]
struct Line([AtomicU64; LINE]);

const _: () = assert!(std::mem::size_of::<Line>() == LINE * 8);

/// One route's (or the unmatched requests') counters, for every worker.
///
/// Per worker, per method slot, per status class: the latency sum in nanoseconds,
/// then one count per bucket (not cumulative). The request count is the sum of the
/// buckets, so a scrape always finds the histogram consistent with itself.
pub(crate) struct Series {
    /// The route template, the `route` label.
    pub(super) route: Box<str>,
    /// The request methods this series tells apart (slot `i` is `methods[i]`).
    pub(super) methods: Box<[Method]>,
    /// `methods[0]`, the route's own method (read without a bounds test).
    own: Method,
    pub(super) buckets: Arc<Buckets>,
    /// Cells per (method, class): the sum, then the buckets.
    width: usize,
    /// Cells per worker, a whole number of lines.
    per_worker: usize,
    /// Blocks: one per worker, then the spare block for other threads.
    workers: usize,
    lines: Box<[Line]>,
}

impl Series {
    pub(super) fn new(
        route: &str,
        methods: Box<[Method]>,
        buckets: Arc<Buckets>,
        workers: usize,
    ) -> Series {
        let width = 1 + buckets.len();
        let per_worker = (methods.len() * CLASSES * width).div_ceil(LINE) * LINE;
        let lines = (0..(workers + 1) * per_worker / LINE)
            .map(|_| Line::default())
            .collect();
        Series {
            route: route.into(),
            own: methods.first().copied().unwrap_or(Method::Get),
            methods,
            buckets,
            width,
            per_worker,
            workers,
            lines,
        }
    }

    /// The slot of `method` (a route's own method is slot 0: one comparison).
    #[inline]
    pub(super) fn slot(&self, method: Method) -> usize {
        if self.methods.first() == Some(&method) {
            return 0;
        }
        self.methods.iter().position(|&m| m == method).unwrap_or(0)
    }

    #[inline]
    fn cell(&self, i: usize) -> Option<&AtomicU64> {
        self.lines.get(i / LINE).map(|line| &line.0[i % LINE])
    }

    /// A request of `method` starts now.
    #[inline]
    pub(super) fn start(&self, method: Method) -> Started {
        // Where its method's cells start in a block (fits: a block is small). The
        // route's own method, the common case, starts at 0.
        let offset = if method == self.own {
            0
        } else {
            (self.slot(method) * CLASSES * self.width) as u32
        };
        Started {
            at: now_nanos(),
            offset,
        }
    }

    /// Counts the request `started` answered `status`, in this worker's block (see
    /// the module's documentation).
    #[inline]
    pub(super) fn finish(&self, started: &Started, status: StatusCode) {
        let nanos = now_nanos().wrapping_sub(started.at);
        let worker = worker_index().min(self.workers);
        let base =
            worker * self.per_worker + started.offset as usize + class_of(status) * self.width;
        let bucket = base + 1 + self.buckets.index(nanos);
        // Within bounds: `worker <= workers` (there are `workers + 1` blocks);
        // `offset` is a method slot's start, `class_of < CLASSES` and the bucket
        // at most `buckets.len()`, so `offset + class * width + 1 + bucket` stays
        // below `methods.len() * CLASSES * width <= per_worker`.
        debug_assert!(bucket < self.lines.len() * LINE);
        let cells = self.lines.as_ptr().cast::<AtomicU64>();
        // SAFETY: `Line` is `repr(align(128))` over exactly 16 `AtomicU64` (128
        // bytes: no padding), so the lines are one contiguous array of cells, and
        // `base < bucket` is in bounds (above). Checked indexing measured ~10
        // instructions a request more.
        unsafe {
            bump(&*cells.add(base), nanos);
            bump(&*cells.add(bucket), 1);
        }
    }

    /// Adds every worker's cells of `(slot, class)` to `sum` (nanoseconds) and
    /// `counts` (per bucket, `buckets.len()` of them).
    pub(super) fn read(&self, slot: usize, class: usize, sum: &mut u64, counts: &mut [u64]) {
        for worker in 0..=self.workers {
            let base = worker * self.per_worker + (slot * CLASSES + class) * self.width;
            *sum = sum.wrapping_add(load(self.cell(base)));
            for (i, count) in counts.iter_mut().enumerate() {
                *count += load(self.cell(base + 1 + i));
            }
        }
    }
}

/// What a request's start leaves for its finish.
#[derive(Default)]
pub struct Started {
    /// [`now_nanos`] at the start.
    at: u64,
    /// The offset of its method's cells in a worker's block.
    offset: u32,
}

/// The monotonic clock (`CLOCK_MONOTONIC`, which `Instant` reads too) as nanoseconds
/// in one integer, so that a duration is one subtraction: `Instant`'s checked
/// `timespec` arithmetic and `Duration` conversion measured ~60 instructions a
/// request more (callgrind, `/json`).
#[inline]
fn now_nanos() -> u64 {
    #[cfg(target_os = "linux")]
    {
        let mut ts = std::mem::MaybeUninit::<libc::timespec>::uninit();
        // SAFETY: `ts` is writable memory for a `timespec`; `CLOCK_MONOTONIC`
        // exists on every Linux, and with a valid pointer the call cannot fail, so
        // it has written `ts` when it returns 0 (and otherwise the duration is 0).
        let ts = unsafe {
            if libc::clock_gettime(libc::CLOCK_MONOTONIC, ts.as_mut_ptr()) != 0 {
                return 0;
            }
            ts.assume_init()
        };
        (ts.tv_sec as u64)
            .wrapping_mul(1_000_000_000)
            .wrapping_add(ts.tv_nsec as u64)
    }
    #[cfg(not(target_os = "linux"))]
    {
        static BASE: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
        BASE.get_or_init(std::time::Instant::now)
            .elapsed()
            .as_nanos() as u64
    }
}

/// The status class's index (`1xx` is 0); statuses outside 100..=599 count as 5xx
/// (below 100 the subtraction wraps, and the `min` takes it to 5xx: one `cmov`
/// rather than a range test).
#[inline]
fn class_of(status: StatusCode) -> usize {
    (status.as_u16() as usize / 100)
        .wrapping_sub(1)
        .min(CLASSES - 1)
}

/// Adds `n` to a cell only this thread writes: a load and a store, no
/// read-modify-write (see the module's documentation).
#[inline(always)]
fn bump(cell: &AtomicU64, n: u64) {
    cell.store(cell.load(Relaxed).wrapping_add(n), Relaxed);
}

fn load(cell: Option<&AtomicU64>) -> u64 {
    cell.map_or(0, |c| c.load(Relaxed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_take_the_first_bound_at_least_the_value() {
        let b = Buckets::new(&[0.001, 0.01, 0.1]);
        let cases = [
            (0, 0),
            (1_000_000, 0),
            (1_000_001, 1),
            (10_000_000, 1),
            (100_000_001, 3),
        ];
        for (nanos, bucket) in cases {
            assert_eq!(b.index(nanos), bucket, "{nanos} ns");
        }
    }

    #[test]
    fn each_worker_writes_its_own_block_and_reads_add_them_up() {
        let buckets = Arc::new(Buckets::new(&[0.001, 0.01]));
        let series = Series::new("/a", [Method::Get, Method::Head].into(), buckets, 2);
        // This test thread is no worker: its records go to the spare block.
        let ago = |method, nanos| {
            let mut started = series.start(method);
            started.at -= nanos;
            started
        };
        series.finish(&ago(Method::Get, 500_000), StatusCode::OK);
        series.finish(&ago(Method::Head, 5_000_000), StatusCode::OK);
        series.finish(&ago(Method::Get, 50_000_000), StatusCode::NOT_FOUND);
        series.finish(&ago(Method::Get, 20_000_000), StatusCode::OK);
        let (mut sum, mut counts) = (0, [0; 3]);
        series.read(0, 1, &mut sum, &mut counts);
        // What it measured: at least what was set back, well under a second more.
        assert!((20_500_000..1_000_000_000).contains(&sum), "{sum}");
        assert_eq!(counts, [1, 0, 1]);
        let (mut sum, mut counts) = (0, [0; 3]);
        series.read(0, 3, &mut sum, &mut counts);
        assert!(sum >= 50_000_000, "{sum}");
        assert_eq!(counts, [0, 0, 1]);
        let (mut sum, mut counts) = (0, [0; 3]);
        series.read(1, 1, &mut sum, &mut counts);
        assert_eq!(counts, [0, 1, 0]);
        let classes = [
            (100, 0),
            (204, 1),
            (399, 2),
            (404, 3),
            (500, 4),
            (599, 4),
            (999, 4),
        ];
        for (code, class) in classes {
            assert_eq!(
                class_of(StatusCode::from_u16(code).unwrap()),
                class,
                "{code}"
            );
        }
    }

    #[test]
    fn blocks_do_not_share_a_line() {
        let buckets = Arc::new(Buckets::new(&[0.001]));
        let series = Series::new("/a", [Method::Get].into(), buckets, 3);
        assert_eq!(series.per_worker % LINE, 0);
        assert_eq!(std::mem::align_of::<Line>(), 128);
        assert_eq!(series.lines.len() * LINE, 4 * series.per_worker);
    }
}
