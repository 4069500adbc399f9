//! Load statistics: a log-linear latency histogram and the report of one load run.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Values below this are stored exactly (one bucket per nanosecond).
const LINEAR: u64 = 256;
/// Sub-buckets per power of two above [`LINEAR`]: 128, i.e. < 0.8% relative error.
const SUB_BITS: u32 = 7;
const SUB: u64 = 1 << SUB_BITS;
/// 256 linear buckets + 128 per power of two from 2^8 to 2^63.
const BUCKETS: usize = LINEAR as usize + (64 - 8) * SUB as usize;

/// A latency histogram in nanoseconds with bounded relative error (< 1%), fixed size,
/// mergeable; no sample is stored.
///
/// ```
/// use cargo_armature::load::Histogram;
/// let mut h = Histogram::new();
/// for us in 1..=100u64 {
///     h.record_ns(us * 1000);
/// }
/// let p50 = h.percentile_ns(50.0) as f64;
/// assert!((p50 - 50_000.0).abs() / 50_000.0 < 0.01);
/// ```
#[derive(Clone)]
pub struct Histogram {
    counts: Vec<u64>,
    total: u64,
    max: u64,
    sum: u128,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram::new()
    }
}

impl fmt::Debug for Histogram {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Histogram")
            .field("total", &self.total)
            .field("max", &self.max)
            .finish()
    }
}

fn index_of(v: u64) -> usize {
    if v < LINEAR {
        return v as usize;
    }
    let e = 63 - v.leading_zeros(); // >= 8
    let m = v >> (e - SUB_BITS); // in [128, 256)
    LINEAR as usize + (e as usize - 8) * SUB as usize + (m - SUB) as usize
}

/// The midpoint of the values that fall into bucket `i`.
fn value_of(i: usize) -> u64 {
    if i < LINEAR as usize {
        return i as u64;
    }
    let j = i - LINEAR as usize;
    let e = (j / SUB as usize) as u32 + 8;
    let m = (j % SUB as usize) as u64 + SUB;
    let shift = e - SUB_BITS;
    let low = m << shift;
    low + ((1u64 << shift) >> 1)
}

impl Histogram {
    /// An empty histogram.
    pub fn new() -> Histogram {
        Histogram {
            counts: vec![0; BUCKETS],
            total: 0,
            max: 0,
            sum: 0,
        }
    }

    /// Records one latency.
    pub fn record(&mut self, d: Duration) {
        self.record_ns(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
    }

    /// Records one latency in nanoseconds.
    pub fn record_ns(&mut self, ns: u64) {
        self.counts[index_of(ns)] += 1;
        self.total += 1;
        self.max = self.max.max(ns);
        self.sum += u128::from(ns);
    }

    /// Adds every sample of `other`.
    pub fn merge(&mut self, other: &Histogram) {
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
        self.total += other.total;
        self.max = self.max.max(other.max);
        self.sum += other.sum;
    }

    /// Number of samples.
    pub fn count(&self) -> u64 {
        self.total
    }

    /// The largest sample (exact).
    pub fn max_ns(&self) -> u64 {
        self.max
    }

    /// The mean (exact), 0 when empty.
    pub fn mean_ns(&self) -> u64 {
        if self.total == 0 {
            0
        } else {
            (self.sum / u128::from(self.total)) as u64
        }
    }

    /// The value at percentile `p` (0..=100): the smallest recorded value such that at
    /// least `p`% of the samples are at or below it; 0 when empty.
    pub fn percentile_ns(&self, p: f64) -> u64 {
        if self.total == 0 {
            return 0;
        }
        let rank = ((p / 100.0) * self.total as f64).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (i, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return value_of(i).min(self.max);
            }
        }
        self.max
    }
}

/// Failed requests by kind. `http` counts responses with status >= 400 (wrk's
/// `status` errors); the others count requests that got no response.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorCounts {
    /// Could not connect.
    pub connect: u64,
    /// Read failed (including the connection closing mid-response).
    pub read: u64,
    /// Write failed.
    pub write: u64,
    /// No response within the request timeout.
    pub timeout: u64,
    /// Responses with a status >= 400.
    pub http: u64,
}

impl ErrorCounts {
    /// Requests that got no response at all.
    pub fn socket(&self) -> u64 {
        self.connect + self.read + self.write + self.timeout
    }

    /// All errors, socket and HTTP.
    pub fn total(&self) -> u64 {
        self.socket() + self.http
    }
}

impl fmt::Display for ErrorCounts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.total() == 0 {
            return f.write_str("no errors");
        }
        let mut parts = Vec::new();
        for (name, n) in [
            ("connect", self.connect),
            ("read", self.read),
            ("write", self.write),
            ("timeout", self.timeout),
            ("HTTP status >= 400", self.http),
        ] {
            if n > 0 {
                parts.push(format!("{n} {name}"));
            }
        }
        f.write_str(&parts.join(", "))
    }
}

/// What one load run measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoadReport {
    /// `wrk` or `builtin`.
    pub driver: String,
    /// Responses received (any status).
    pub requests: u64,
    /// Wall time of the run, in seconds.
    pub elapsed_s: f64,
    /// `requests / elapsed_s`.
    pub rps: f64,
    /// Median latency, microseconds.
    pub p50_us: f64,
    /// 90th percentile latency, microseconds.
    pub p90_us: f64,
    /// 99th percentile latency, microseconds.
    pub p99_us: f64,
    /// Largest latency, microseconds.
    pub max_us: f64,
    /// Errors by kind.
    pub errors: ErrorCounts,
}

impl LoadReport {
    /// Builds a report from a histogram of the responses.
    pub fn from_histogram(
        driver: &str,
        hist: &Histogram,
        elapsed: Duration,
        errors: ErrorCounts,
    ) -> LoadReport {
        let secs = elapsed.as_secs_f64().max(1e-9);
        let us = |ns: u64| ns as f64 / 1000.0;
        LoadReport {
            driver: driver.to_owned(),
            requests: hist.count(),
            elapsed_s: elapsed.as_secs_f64(),
            rps: hist.count() as f64 / secs,
            p50_us: us(hist.percentile_ns(50.0)),
            p90_us: us(hist.percentile_ns(90.0)),
            p99_us: us(hist.percentile_ns(99.0)),
            max_us: us(hist.max_ns()),
            errors,
        }
    }
}

impl fmt::Display for LoadReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} requests in {:.1} s ({:.0} req/s), latency p50 {:.0} µs, p99 {:.0} µs, {}",
            self.requests, self.elapsed_s, self.rps, self.p50_us, self.p99_us, self.errors
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_round_trip_within_one_percent() {
        for v in [
            0u64,
            1,
            255,
            256,
            257,
            1000,
            12_345,
            999_999,
            1 << 40,
            u64::MAX / 3,
        ] {
            let back = value_of(index_of(v));
            let err = (back as f64 - v as f64).abs() / (v as f64).max(1.0);
            assert!(err < 0.01, "{v} -> {back}");
        }
        assert_eq!(index_of(u64::MAX), BUCKETS - 1);
    }

    #[test]
    fn percentiles_of_a_known_distribution() {
        let mut h = Histogram::new();
        // 990 fast requests at 100 µs, 10 slow at 10 ms.
        for _ in 0..990 {
            h.record(Duration::from_micros(100));
        }
        for _ in 0..10 {
            h.record(Duration::from_millis(10));
        }
        let close = |a: u64, b: u64| (a as f64 - b as f64).abs() / (b as f64) < 0.01;
        assert!(close(h.percentile_ns(50.0), 100_000));
        assert!(close(h.percentile_ns(99.0), 100_000));
        assert!(close(h.percentile_ns(99.5), 10_000_000));
        assert_eq!(h.max_ns(), 10_000_000);
        assert_eq!(h.count(), 1000);

        let mut other = Histogram::new();
        other.record_ns(5);
        h.merge(&other);
        assert_eq!(h.count(), 1001);
        assert_eq!(Histogram::new().percentile_ns(50.0), 0);
    }

    #[test]
    fn report_rates_and_errors() {
        let mut h = Histogram::new();
        for _ in 0..500 {
            h.record(Duration::from_micros(200));
        }
        let errors = ErrorCounts {
            read: 2,
            http: 3,
            ..ErrorCounts::default()
        };
        let r = LoadReport::from_histogram("builtin", &h, Duration::from_millis(250), errors);
        assert!((r.rps - 2000.0).abs() < 1e-6);
        assert_eq!(r.errors.total(), 5);
        assert_eq!(r.errors.socket(), 2);
        assert!(r.to_string().contains("2 read, 3 HTTP status >= 400"));
    }
}
