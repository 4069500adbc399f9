//! One function's profile record, and llvm-profdata's rules for merging two.
//!
//! Mirrors `InstrProfRecord::merge`, `InstrProfValueSiteRecord::merge` and
//! `sortValueData` of LLVM 22 (weight 1): saturating counter sums capped at
//! `u64::MAX - 2`, the pseudo-count special cases, bitmaps OR-ed, value sites
//! merged by target value and re-sorted by count, at most 255 per site.

use super::cxx_sort;

/// The largest counter value a merge produces (`getInstrMaxCountValue`).
pub(crate) const MAX_COUNT: u64 = u64::MAX - 2;
/// At most this many targets are kept per value site (`INSTR_PROF_MAX_NUM_VAL_PER_SITE`).
pub(crate) const MAX_VALUES_PER_SITE: usize = 255;
/// Value kinds: 0 indirect-call target, 1 memop size, 2 vtable.
pub const NUM_VALUE_KINDS: usize = 3;
/// Value kind of indirect-call targets (values are MD5 name hashes, 0 = unknown).
pub const KIND_INDIRECT_CALL: usize = 0;
/// Value kind of `memcpy`/`memset` sizes.
pub const KIND_MEMOP_SIZE: usize = 1;

/// One profiled value at a value site and how often it was seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ValueData {
    /// Target name hash (indirect calls) or size in bytes (memops).
    pub value: u64,
    /// How many times the value was observed.
    pub count: u64,
}

/// The profile of one (function name, function hash) pair.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Record {
    /// Block/edge counters; `counts[0]` is the entry count for rustc's IR PGO.
    pub counts: Vec<u64>,
    /// MC/DC bitmap bytes (empty for rustc).
    pub bitmap: Vec<u8>,
    /// Per value kind, per site, the values seen (sorted by count, descending).
    pub value_sites: [Vec<Vec<ValueData>>; NUM_VALUE_KINDS],
}

/// Non-fatal problems found while merging (llvm-profdata prints them as warnings).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum MergeWarning {
    /// Same name and hash, different number of counters: the later record is dropped.
    CountMismatch,
    /// A sum reached the cap.
    CounterOverflow,
    /// Different number of bitmap bytes: bitmaps and value data not merged.
    BitmapMismatch,
    /// Different number of value sites for a kind: that kind is not merged.
    ValueSiteCountMismatch,
}

impl MergeWarning {
    pub(crate) fn describe(self) -> &'static str {
        match self {
            MergeWarning::CountMismatch => "function basic block count change detected (counter mismatch); later record skipped",
            MergeWarning::CounterOverflow => "counter overflow; count saturated",
            MergeWarning::BitmapMismatch => "function bitmap size change detected (bitmap size mismatch)",
            MergeWarning::ValueSiteCountMismatch => "function value site count change detected (counter mismatch)",
        }
    }
}

#[derive(PartialEq, Eq)]
enum Pseudo {
    Not,
    Hot,
    Warm,
}

impl Record {
    fn pseudo_kind(&self) -> Pseudo {
        match self.counts.first() {
            Some(&u64::MAX) => Pseudo::Hot,
            Some(&c) if c == u64::MAX - 1 => Pseudo::Warm,
            _ => Pseudo::Not,
        }
    }

    /// True when `counts[0]` marks a pseudo (hot/warm) profile, which the
    /// summary skips.
    pub(crate) fn is_pseudo(&self) -> bool {
        self.pseudo_kind() != Pseudo::Not
    }

    /// Merges another record's parts into `self` (`InstrProfRecord::merge`
    /// with weight 1).
    pub(crate) fn merge(
        &mut self,
        counts: &[u64],
        bitmap: &[u8],
        value_sites: [Vec<Vec<ValueData>>; NUM_VALUE_KINDS],
        warn: &mut impl FnMut(MergeWarning),
    ) {
        if self.counts.len() != counts.len() {
            warn(MergeWarning::CountMismatch);
            return;
        }
        let theirs = match counts.first() {
            Some(&u64::MAX) => Pseudo::Hot,
            Some(&c) if c == u64::MAX - 1 => Pseudo::Warm,
            _ => Pseudo::Not,
        };
        let ours = self.pseudo_kind();
        if theirs != Pseudo::Not || ours != Pseudo::Not {
            if theirs == Pseudo::Not || ours == Pseudo::Not {
                warn(MergeWarning::CountMismatch);
                return;
            }
            self.counts[0] = if theirs == Pseudo::Hot || ours == Pseudo::Hot {
                u64::MAX
            } else {
                u64::MAX - 1
            };
            return;
        }
        let mut overflowed = false;
        for (dst, &src) in self.counts.iter_mut().zip(counts) {
            let (sum, of) = dst.overflowing_add(src);
            let sum = if of { u64::MAX } else { sum };
            overflowed |= of || sum > MAX_COUNT;
            *dst = sum.min(MAX_COUNT);
        }
        if overflowed {
            warn(MergeWarning::CounterOverflow);
        }
        if self.bitmap.len() != bitmap.len() {
            warn(MergeWarning::BitmapMismatch);
            return;
        }
        for (dst, src) in self.bitmap.iter_mut().zip(bitmap) {
            *dst |= *src;
        }
        for (ours, theirs) in self.value_sites.iter_mut().zip(value_sites) {
            if ours.len() != theirs.len() {
                warn(MergeWarning::ValueSiteCountMismatch);
                continue;
            }
            for (site, mut input) in ours.iter_mut().zip(theirs) {
                if merge_site(site, &mut input) {
                    warn(MergeWarning::CounterOverflow);
                }
            }
        }
    }

    /// Sorts every site by count (stable, descending) and keeps the first 255
    /// (`InstrProfRecord::sortValueData`).
    pub(crate) fn sort_value_data(&mut self) {
        for sites in &mut self.value_sites {
            for site in sites {
                site.sort_by_key(|v| std::cmp::Reverse(v.count));
                site.truncate(MAX_VALUES_PER_SITE);
            }
        }
    }
}

/// `InstrProfValueSiteRecord::merge`: both lists sorted by value with
/// `std::sort`, merged, equal values summed. Returns whether a sum saturated.
fn merge_site(ours: &mut Vec<ValueData>, input: &mut [ValueData]) -> bool {
    cxx_sort::sort_by(ours, |a, b| a.value < b.value);
    cxx_sort::sort_by(input, |a, b| a.value < b.value);
    let mut merged = Vec::with_capacity(ours.len().max(input.len()));
    let mut overflowed = false;
    let mut i = 0;
    for j in input.iter() {
        while i < ours.len() && ours[i].value < j.value {
            merged.push(ours[i]);
            i += 1;
        }
        if i < ours.len() && ours[i].value == j.value {
            let (sum, of) = ours[i].count.overflowing_add(j.count);
            overflowed |= of;
            merged.push(ValueData {
                value: j.value,
                count: if of { u64::MAX } else { sum },
            });
            i += 1;
            continue;
        }
        merged.push(*j);
    }
    merged.extend_from_slice(&ours[i..]);
    *ours = merged;
    overflowed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vd(pairs: &[(u64, u64)]) -> Vec<ValueData> {
        pairs
            .iter()
            .map(|&(value, count)| ValueData { value, count })
            .collect()
    }

    fn merge(a: &mut Record, b: Record, warn: &mut impl FnMut(MergeWarning)) {
        a.merge(&b.counts, &b.bitmap, b.value_sites, warn);
    }

    fn rec(counts: &[u64], site: &[(u64, u64)]) -> Record {
        Record {
            counts: counts.to_vec(),
            bitmap: vec![],
            value_sites: [vec![vd(site)], vec![], vec![]],
        }
    }

    #[test]
    fn counts_saturate_below_the_pseudo_markers() {
        let mut a = rec(&[5, u64::MAX - 10], &[]);
        let mut warnings = vec![];
        merge(&mut a, rec(&[1, 100], &[]), &mut |w| warnings.push(w));
        assert_eq!(a.counts, vec![6, MAX_COUNT]);
        assert_eq!(warnings, vec![MergeWarning::CounterOverflow]);
    }

    #[test]
    fn different_counter_numbers_skip_the_new_record() {
        let mut a = rec(&[1, 2], &[(7, 1)]);
        let mut warnings = vec![];
        merge(&mut a, rec(&[1, 2, 3], &[(7, 5)]), &mut |w| {
            warnings.push(w)
        });
        assert_eq!(a, rec(&[1, 2], &[(7, 1)]));
        assert_eq!(warnings, vec![MergeWarning::CountMismatch]);
    }

    #[test]
    fn value_sites_sum_by_value_then_sort_by_count() {
        let mut a = rec(&[1], &[(30, 1), (10, 4)]);
        merge(&mut a, rec(&[1], &[(20, 2), (30, 9)]), &mut |_| {});
        a.sort_value_data();
        assert_eq!(a.value_sites[0][0], vd(&[(30, 10), (10, 4), (20, 2)]));
    }

    #[test]
    fn sites_keep_255_values() {
        let many: Vec<(u64, u64)> = (0..300).map(|v| (v, v + 1)).collect();
        let mut a = rec(&[1], &many);
        a.sort_value_data();
        assert_eq!(a.value_sites[0][0].len(), 255);
        assert_eq!(
            a.value_sites[0][0][0],
            ValueData {
                value: 299,
                count: 300
            }
        );
    }

    #[test]
    fn pseudo_hot_wins() {
        let mut a = rec(&[u64::MAX - 1, 3], &[]);
        merge(&mut a, rec(&[u64::MAX, 0], &[]), &mut |_| {});
        assert_eq!(a.counts, vec![u64::MAX, 3]);
        assert!(a.is_pseudo());
    }
}
