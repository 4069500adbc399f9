//! The profile summary: totals, maxima and the count cutoffs that tell LLVM
//! which blocks are hot (`ProfileSummaryBuilder`, `IndexedInstrProf::Summary`).

use std::collections::BTreeMap;

use super::error::{malformed, Bytes, FormatError};
use super::record::Record;

/// Percentiles (in millionths) of the total count at which the detailed
/// summary is cut (`ProfileSummaryBuilder::DefaultCutoffs`).
pub(crate) const CUTOFFS: [u64; 16] = [
    10000, 100000, 200000, 300000, 400000, 500000, 600000, 700000, 800000, 900000, 950000, 990000,
    999000, 999900, 999990, 999999,
];
/// On-disk size of a summary with 6 fields and 16 cutoffs.
pub(crate) const SUMMARY_SIZE: usize = 8 * (2 + 6 + 3 * 16);

/// One cutoff of the detailed summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SummaryEntry {
    /// Percentile of the total count, in millionths.
    pub cutoff: u64,
    /// Smallest count among the hottest blocks that make up `cutoff`.
    pub min_count: u64,
    /// How many blocks that takes.
    pub num_blocks: u64,
}

/// A profile summary as stored in an indexed profile.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Functions (records) counted.
    pub total_num_functions: u64,
    /// Counters (blocks) counted.
    pub total_num_blocks: u64,
    /// Largest entry count (`counts[0]`).
    pub max_function_count: u64,
    /// Largest counter of any kind.
    pub max_block_count: u64,
    /// Largest non-entry counter.
    pub max_internal_block_count: u64,
    /// Sum of all counters (wrapping, as LLVM).
    pub total_block_count: u64,
    /// The detailed summary, one entry per cutoff.
    pub entries: Vec<SummaryEntry>,
}

/// Accumulates records into a [`Summary`] (`InstrProfSummaryBuilder`).
#[derive(Default)]
pub(crate) struct SummaryBuilder {
    total: u64,
    max_count: u64,
    max_function_count: u64,
    max_internal_count: u64,
    num_counts: u32,
    num_functions: u32,
    /// count -> how many counters have it (LLVM keeps a `uint32_t`).
    frequencies: BTreeMap<u64, u32>,
}

impl SummaryBuilder {
    fn add_count(&mut self, count: u64) {
        self.total = self.total.wrapping_add(count);
        self.max_count = self.max_count.max(count);
        self.num_counts = self.num_counts.wrapping_add(1);
        let f = self.frequencies.entry(count).or_insert(0);
        *f = f.wrapping_add(1);
    }

    /// Adds one record; pseudo-count records are skipped, as in LLVM.
    pub(crate) fn add(&mut self, record: &Record) {
        if record.counts.is_empty() || record.is_pseudo() {
            return;
        }
        let entry = record.counts[0];
        self.num_functions = self.num_functions.wrapping_add(1);
        self.add_count(entry);
        self.max_function_count = self.max_function_count.max(entry);
        for &c in &record.counts[1..] {
            self.add_count(c);
            self.max_internal_count = self.max_internal_count.max(c);
        }
    }

    /// `computeDetailedSummary` and the summary fields.
    pub(crate) fn finish(&self) -> Summary {
        let mut entries = Vec::with_capacity(CUTOFFS.len());
        let mut iter = self.frequencies.iter().rev();
        let (mut seen, mut sum, mut count) = (0u32, 0u64, 0u64);
        for &cutoff in &CUTOFFS {
            let want = (self.total as u128 * cutoff as u128 / 1_000_000) as u64;
            while sum < want {
                let Some((&c, &freq)) = iter.next() else {
                    break;
                };
                count = c;
                sum = sum.wrapping_add(c.wrapping_mul(freq as u64));
                seen = seen.wrapping_add(freq);
            }
            entries.push(SummaryEntry {
                cutoff,
                min_count: count,
                num_blocks: seen as u64,
            });
        }
        Summary {
            total_num_functions: self.num_functions as u64,
            total_num_blocks: self.num_counts as u64,
            max_function_count: self.max_function_count,
            max_block_count: self.max_count,
            max_internal_block_count: self.max_internal_count,
            total_block_count: self.total,
            entries,
        }
    }
}

impl Summary {
    /// Serializes as `IndexedInstrProf::Summary`.
    pub(crate) fn encode(&self, out: &mut [u8]) {
        let mut words = vec![6u64, self.entries.len() as u64];
        words.extend([
            self.total_num_functions,
            self.total_num_blocks,
            self.max_function_count,
            self.max_block_count,
            self.max_internal_block_count,
            self.total_block_count,
        ]);
        for e in &self.entries {
            words.extend([e.cutoff, e.min_count, e.num_blocks]);
        }
        for (chunk, w) in out.chunks_exact_mut(8).zip(words) {
            chunk.copy_from_slice(&w.to_le_bytes());
        }
    }

    /// Reads a summary at `off`; returns it and its size in bytes.
    pub(crate) fn decode(b: &Bytes<'_>, off: u64) -> Result<(Summary, u64), FormatError> {
        let nfields = b.u64(off, "summary")?;
        let nentries = b.u64(off + 8, "summary")?;
        if nfields > 1 << 16 || nentries > 1 << 16 {
            return Err(malformed(format!(
                "summary claims {nfields} fields and {nentries} cutoffs"
            )));
        }
        let size = 16 + 8 * nfields + 24 * nentries;
        let raw = b.slice(off, size, "summary")?;
        let w = |i: u64| super::error::le64(&raw[(8 * i) as usize..]);
        let field = |k: u64| if k < nfields { w(2 + k) } else { 0 };
        let entries = (0..nentries)
            .map(|e| {
                let at = 2 + nfields + 3 * e;
                SummaryEntry {
                    cutoff: w(at),
                    min_count: w(at + 1),
                    num_blocks: w(at + 2),
                }
            })
            .collect();
        let summary = Summary {
            total_num_functions: field(0),
            total_num_blocks: field(1),
            max_function_count: field(2),
            max_block_count: field(3),
            max_internal_block_count: field(4),
            total_block_count: field(5),
            entries,
        };
        Ok((summary, size))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cutoffs_walk_counts_from_the_top() {
        let mut b = SummaryBuilder::default();
        b.add(&Record {
            counts: vec![100, 1, 1, 0],
            ..Default::default()
        });
        b.add(&Record {
            counts: vec![u64::MAX, 5],
            ..Default::default()
        });
        let s = b.finish();
        assert_eq!(s.total_num_functions, 1);
        assert_eq!(s.total_num_blocks, 4);
        assert_eq!(s.total_block_count, 102);
        assert_eq!(s.max_internal_block_count, 1);
        // 1% of 102 is 1: the first count, 100, covers it.
        assert_eq!(
            s.entries[0],
            SummaryEntry {
                cutoff: 10000,
                min_count: 100,
                num_blocks: 1
            }
        );
        // 99.9999% is 101: needs the two 1s as well.
        assert_eq!(
            s.entries[15],
            SummaryEntry {
                cutoff: 999999,
                min_count: 1,
                num_blocks: 3
            }
        );
        let mut bytes = vec![0; SUMMARY_SIZE];
        s.encode(&mut bytes);
        let (back, size) = Summary::decode(&Bytes { buf: &bytes }, 0).unwrap();
        assert_eq!((back, size as usize), (s, SUMMARY_SIZE));
    }
}
