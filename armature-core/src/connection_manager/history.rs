//! `SizeHistory`: a ring of recent traffic sizes with a power-of-two histogram, so a
//! high percentile is a walk over a few dozen counters, not a sort.

/// Buckets: bucket `b` holds sizes in `(2^(b-1), 2^b]` (bucket 0 holds 0 and 1).
const BUCKETS: usize = usize::BITS as usize + 1;

/// The bucket of `size`: the smallest `b` with `size <= 2^b`.
#[inline]
pub(crate) fn bucket(size: usize) -> u8 {
    if size <= 1 {
        0
    } else {
        (usize::BITS - (size - 1).leading_zeros()) as u8
    }
}

/// The last `capacity` samples, each kept as its bucket, clamped to the buckets of
/// `[min, max]` (sizes outside give the same answer as the bounds, and the
/// quantile walk stays a handful of steps).
#[derive(Debug)]
pub(crate) struct SizeHistory {
    ring: Vec<u8>,
    capacity: usize,
    next: usize,
    lo: u8,
    hi: u8,
    counts: [u32; BUCKETS],
}

impl SizeHistory {
    /// A history of up to `capacity` samples between `min` and `max` bytes.
    pub fn new(capacity: usize, min: usize, max: usize) -> Self {
        SizeHistory {
            ring: Vec::with_capacity(capacity.min(1 << 16)),
            capacity,
            next: 0,
            lo: bucket(min),
            hi: bucket(max.max(min)),
            counts: [0; BUCKETS],
        }
    }

    /// Samples held (at most the capacity).
    pub fn len(&self) -> usize {
        self.ring.len()
    }

    /// Adds a sample, forgetting the oldest once the ring is full.
    pub fn push(&mut self, size: usize) {
        if self.capacity == 0 {
            return;
        }
        let b = bucket(size).clamp(self.lo, self.hi);
        if self.ring.len() < self.capacity {
            self.ring.push(b);
        } else {
            let old = std::mem::replace(&mut self.ring[self.next], b);
            self.counts[old as usize] -= 1;
            self.next += 1;
            if self.next == self.capacity {
                self.next = 0;
            }
        }
        self.counts[b as usize] += 1;
    }

    /// The power of two at or above the `p`-th quantile (`0 < p <= 1`) of the
    /// samples, or `None` without samples.
    pub fn quantile(&self, p: f64) -> Option<usize> {
        let n = self.ring.len();
        if n == 0 {
            return None;
        }
        let rank = ((p * n as f64).ceil() as usize).clamp(1, n);
        let mut seen = 0usize;
        for b in self.lo..self.hi {
            seen += self.counts[b as usize] as usize;
            if seen >= rank {
                return Some(1usize << b);
            }
        }
        // Every sample is in `lo..=hi`: the rest are in the top bucket.
        Some(1usize.checked_shl(self.hi as u32).unwrap_or(usize::MAX))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_round_up_to_powers_of_two() {
        let table = [
            (0, 0),
            (1, 0),
            (2, 1),
            (3, 2),
            (4, 2),
            (5, 3),
            (4096, 12),
            (4097, 13),
            (40_000, 16),
        ];
        for (size, b) in table {
            assert_eq!(bucket(size), b, "size {size}");
        }
        assert_eq!(bucket(usize::MAX), 64);
    }

    #[test]
    fn quantile_of_mixed_traffic() {
        let mut h = SizeHistory::new(100, 1, 1 << 20);
        assert_eq!(h.quantile(0.95), None);
        for _ in 0..90 {
            h.push(300);
        }
        for _ in 0..10 {
            h.push(40_000);
        }
        // 10% large: the 95th percentile is large, the median small.
        assert_eq!(h.quantile(0.95), Some(65_536));
        assert_eq!(h.quantile(0.5), Some(512));
        assert_eq!(h.quantile(0.9), Some(512));
    }

    #[test]
    fn old_samples_are_forgotten() {
        let mut h = SizeHistory::new(4, 1, 1 << 20);
        for _ in 0..4 {
            h.push(100_000);
        }
        assert_eq!(h.quantile(0.95), Some(131_072));
        for _ in 0..4 {
            h.push(10);
        }
        assert_eq!(h.len(), 4);
        assert_eq!(h.quantile(1.0), Some(16));
        assert_eq!(h.counts.iter().sum::<u32>(), 4);
    }

    #[test]
    fn samples_are_clamped_to_the_bounds() {
        let mut h = SizeHistory::new(10, 4096, 65536);
        h.push(10);
        assert_eq!(h.quantile(1.0), Some(4096));
        for _ in 0..9 {
            h.push(1 << 30);
        }
        assert_eq!(h.quantile(0.5), Some(65536));
        assert_eq!(h.quantile(0.1), Some(4096));
        // Bounds that are not powers of two: the caller clamps the answer.
        let mut h = SizeHistory::new(10, 5000, 70_000);
        h.push(1);
        assert_eq!(h.quantile(1.0), Some(8192));
        h.push(1 << 30);
        assert_eq!(h.quantile(1.0), Some(131_072));
    }

    #[test]
    fn zero_capacity_records_nothing() {
        let mut h = SizeHistory::new(0, 1, 1 << 20);
        h.push(5);
        assert_eq!(h.quantile(0.95), None);
    }
}
