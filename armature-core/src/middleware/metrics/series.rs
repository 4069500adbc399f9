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
use crate::server::worker_state::worker_index;

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
    pub(super) fn slot(&self, method: Method) -> u8 {
        if self.methods.first() == Some(&method) {
            return 0;
        }
        self.methods.iter().position(|&m| m == method).unwrap_or(0) as u8
    }

    #[inline]
    fn cell(&self, i: usize) -> Option<&AtomicU64> {
        self.lines.get(i / LINE).map(|line| &line.0[i % LINE])
    }

    /// Counts one request of method slot `slot` answered `status` after `nanos`, in
    /// this worker's block (see the module's documentation).
    #[inline]
    pub(super) fn record(&self, slot: u8, status: StatusCode, nanos: u64) {
        let worker = worker_index().min(self.workers);
        let class = class_of(status);
        let base = worker * self.per_worker + (slot as usize * CLASSES + class) * self.width;
        bump(self.cell(base), nanos);
        bump(self.cell(base + 1 + self.buckets.index(nanos)), 1);
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

/// The status class's index (`1xx` is 0); statuses outside 100..=599 count as 5xx.
#[inline]
fn class_of(status: StatusCode) -> usize {
    match status.as_u16() / 100 {
        c @ 1..=5 => c as usize - 1,
        _ => CLASSES - 1,
    }
}

/// Adds `n` to a cell only this thread writes: a load and a store, no
/// read-modify-write (see the module's documentation).
#[inline(always)]
fn bump(cell: Option<&AtomicU64>, n: u64) {
    if let Some(cell) = cell {
        cell.store(cell.load(Relaxed).wrapping_add(n), Relaxed);
    }
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
        series.record(0, StatusCode::OK, 500_000);
        series.record(1, StatusCode::OK, 5_000_000);
        series.record(0, StatusCode::NOT_FOUND, 50_000_000);
        series.record(0, StatusCode::OK, 20_000_000);
        let (mut sum, mut counts) = (0, [0; 3]);
        series.read(0, 1, &mut sum, &mut counts);
        assert_eq!((sum, counts), (20_500_000, [1, 0, 1]));
        let (mut sum, mut counts) = (0, [0; 3]);
        series.read(0, 3, &mut sum, &mut counts);
        assert_eq!((sum, counts), (50_000_000, [0, 0, 1]));
        assert_eq!(series.slot(Method::Head), 1);
        assert_eq!(class_of(StatusCode::INTERNAL_SERVER_ERROR), 4);
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
