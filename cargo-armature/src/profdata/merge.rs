//! Accumulates parsed profiles into one, with llvm-profdata's semantics:
//! records keyed by (name, function hash), first-seen records taken as they
//! are, later ones merged into them, every input of the same kind.

use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasherDefault, Hasher};

use super::error::{ErrorKind, FormatError};
use super::flags::{describe, IR_PROF, KIND_BITS, VARIANT_MASKS_ALL};
use super::indexed::{self, IndexedProfile, OutFunction};
use super::raw::RawFile;
use super::record::{MergeWarning, Record};
use super::value_data::ValueSites;

/// A multiply-rotate hasher for the (name id, function hash) keys: function
/// hashes are already well mixed, SipHash would only cost time.
#[derive(Default)]
struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(b as u64);
        }
    }
    fn write_u32(&mut self, v: u32) {
        self.write_u64(v as u64);
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = (self.0.rotate_left(5) ^ v).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

type KeyMap<K, V> = HashMap<K, V, BuildHasherDefault<KeyHasher>>;

struct Entry {
    name: u32,
    hash: u64,
    record: Record,
}

/// The merged profile being built: every input added so far, written out with
/// [`MergedProfile::write`].
#[derive(Default)]
pub(crate) struct MergedProfile {
    /// Variant flags of the first input and where they came from.
    kind: Option<(u64, String)>,
    names: Vec<Box<[u8]>>,
    name_ids: HashMap<Box<[u8]>, u32>,
    /// Names-section table id -> global name ids.
    tables: HashMap<u64, Vec<u32>>,
    /// Per global name id, its entries in insertion order.
    by_name: Vec<Vec<u32>>,
    entries: Vec<Entry>,
    index: KeyMap<(u32, u64), u32>,
    binary_ids: Vec<Vec<u8>>,
    warnings: BTreeMap<MergeWarning, (u64, String)>,
    pub(crate) records_read: u64,
}

impl MergedProfile {
    fn intern(&mut self, name: &[u8]) -> u32 {
        if let Some(&id) = self.name_ids.get(name) {
            return id;
        }
        let id = self.names.len() as u32;
        self.names.push(name.into());
        self.name_ids.insert(name.into(), id);
        self.by_name.push(Vec::new());
        id
    }

    fn check_kind(&mut self, version: u64, source: &str) -> Result<(), FormatError> {
        let flags = version & VARIANT_MASKS_ALL;
        if flags & IR_PROF == 0 {
            return Err(FormatError::new(
                ErrorKind::Incompatible,
                "not an IR-level profile (front-end instrumentation); rustc only uses IR-level profiles",
            ));
        }
        match &self.kind {
            None => self.kind = Some((flags, source.to_owned())),
            Some((first, from)) if *first != flags => {
                return Err(FormatError::new(
                    ErrorKind::Incompatible,
                    format!(
                        "profile kind [{}] differs from [{}] of {from}; profiles from differently \
                         instrumented builds cannot be merged",
                        describe(flags),
                        describe(*first)
                    ),
                ))
            }
            Some(_) => {}
        }
        Ok(())
    }

    /// `InstrProfWriter::addRecord` with weight 1, for a record given by parts.
    fn add(
        &mut self,
        name: u32,
        hash: u64,
        counts: &[u64],
        bitmap: &[u8],
        values: Option<ValueSites>,
    ) {
        match self.slot(name, hash) {
            Ok(slot) => self.merge_into(slot, counts, bitmap, values.unwrap_or_default()),
            Err(slot) => self.insert(
                slot,
                name,
                hash,
                Record {
                    counts: counts.to_vec(),
                    bitmap: bitmap.to_vec(),
                    value_sites: values.unwrap_or_default(),
                },
            ),
        }
    }

    /// `InstrProfWriter::addRecord` with weight 1, for an owned record.
    fn add_owned(&mut self, name: u32, hash: u64, record: Record) {
        match self.slot(name, hash) {
            Ok(slot) => self.merge_into(slot, &record.counts, &record.bitmap, record.value_sites),
            Err(slot) => self.insert(slot, name, hash, record),
        }
    }

    /// The entry of (name, hash): `Ok` if it exists, else `Err(new slot)`.
    fn slot(&mut self, name: u32, hash: u64) -> Result<u32, u32> {
        self.records_read += 1;
        let next = self.entries.len() as u32;
        let slot = *self.index.entry((name, hash)).or_insert(next);
        if slot == next {
            Err(slot)
        } else {
            Ok(slot)
        }
    }

    fn insert(&mut self, slot: u32, name: u32, hash: u64, mut record: Record) {
        record.sort_value_data();
        self.entries.push(Entry { name, hash, record });
        self.by_name[name as usize].push(slot);
    }

    fn merge_into(&mut self, slot: u32, counts: &[u64], bitmap: &[u8], values: ValueSites) {
        let entry = &mut self.entries[slot as usize];
        let mut raised = Vec::new();
        entry
            .record
            .merge(counts, bitmap, values, &mut |w| raised.push(w));
        entry.record.sort_value_data();
        if raised.is_empty() {
            return;
        }
        let (name, hash) = (entry.name as usize, entry.hash);
        for w in raised {
            let e = self.warnings.entry(w).or_insert((0, String::new()));
            if e.0 == 0 {
                e.1 = format!(
                    "{} (hash {hash})",
                    String::from_utf8_lossy(&self.names[name])
                );
            }
            e.0 += 1;
        }
    }

    /// Merges another merger into this one, as `mergeWriterContexts` does:
    /// each of its names' records in `SmallDenseMap` order, added like a record
    /// read from a file.
    pub(crate) fn absorb(&mut self, src: MergedProfile) -> Result<(), FormatError> {
        if let Some((flags, from)) = &src.kind {
            self.check_kind(*flags, from)?;
        }
        let read = self.records_read + src.records_read;
        for (w, (n, example)) in src.warnings {
            let e = self.warnings.entry(w).or_insert((0, example));
            e.0 += n;
        }
        self.binary_ids.extend(src.binary_ids);
        let mut entries: Vec<Option<Entry>> = src.entries.into_iter().map(Some).collect();
        for (name, slots) in src.names.iter().zip(&src.by_name) {
            let id = self.intern(name);
            let hashes: Vec<u64> = slots
                .iter()
                .map(|&s| entries[s as usize].as_ref().map_or(0, |e| e.hash))
                .collect();
            for i in dense_map_order(&hashes) {
                if let Some(e) = entries[slots[i] as usize].take() {
                    self.add_owned(id, e.hash, e.record);
                }
            }
        }
        self.records_read = read;
        Ok(())
    }

    /// Adds every record of a raw file, in file order.
    pub(crate) fn add_raw(&mut self, file: RawFile, source: &str) -> Result<(), FormatError> {
        for profile in file.profiles {
            self.check_kind(profile.version, source)?;
            let table = &profile.names;
            if !self.tables.contains_key(&table.id) {
                let ids = table.names.iter().map(|n| self.intern(n)).collect();
                self.tables.insert(table.id, ids);
            }
            let ids = std::mem::take(self.tables.get_mut(&table.id).expect("inserted"));
            for r in profile.records {
                self.add(
                    ids[r.name as usize],
                    r.hash,
                    &profile.counts[r.counts],
                    &profile.bitmap[r.bitmap],
                    r.values.map(|v| *v),
                );
            }
            self.tables.insert(table.id, ids);
            self.binary_ids.extend(profile.binary_ids);
        }
        Ok(())
    }

    /// Adds every record of an indexed profile, in its hash-table order.
    pub(crate) fn add_indexed(
        &mut self,
        profile: IndexedProfile,
        source: &str,
    ) -> Result<(), FormatError> {
        self.check_kind(profile.flags, source)?;
        for f in profile.functions {
            let name = self.intern(&f.name);
            self.add_owned(name, f.hash, f.record);
        }
        self.binary_ids.extend(profile.binary_ids);
        Ok(())
    }

    /// Number of distinct names and of (name, hash) records so far.
    pub(crate) fn sizes(&self) -> (usize, usize) {
        (self.names.len(), self.entries.len())
    }

    /// One line per kind of warning: what, how often, first example.
    pub(crate) fn warnings(&self) -> Vec<String> {
        self.warnings
            .iter()
            .map(|(w, (n, example))| format!("{} ({n}×, first: {example})", w.describe()))
            .collect()
    }

    /// Serializes the merged profile as indexed v13.
    pub(crate) fn write(&self) -> Result<Vec<u8>, FormatError> {
        let mut order: Vec<u32> = (0..self.names.len() as u32).collect();
        order.sort_unstable_by(|&a, &b| self.names[a as usize].cmp(&self.names[b as usize]));
        let functions: Vec<OutFunction<'_>> = order
            .iter()
            .map(|&id| {
                let slots = &self.by_name[id as usize];
                let hashes: Vec<u64> = slots
                    .iter()
                    .map(|&s| self.entries[s as usize].hash)
                    .collect();
                let records = dense_map_order(&hashes)
                    .into_iter()
                    .map(|i| {
                        let e = &self.entries[slots[i] as usize];
                        (e.hash, &e.record)
                    })
                    .collect();
                OutFunction {
                    name: &self.names[id as usize],
                    records,
                }
            })
            .collect();
        let flags = self.kind.as_ref().map_or(0, |k| k.0 & KIND_BITS);
        indexed::write(flags, &functions, &self.binary_ids)
    }
}

/// The iteration order of an LLVM `SmallDenseMap<uint64_t, _, 4>` after
/// inserting `hashes` in order (no erasures): returns indexes into `hashes`.
///
/// Keys hash with `densemap::detail::mix` truncated to 32 bits; probing is
/// quadratic; the map grows from 4 inline buckets to 64, then doubles, when
/// `4·(entries+1) ≥ 3·buckets`, re-inserting old buckets in order.
pub(crate) fn dense_map_order(hashes: &[u64]) -> Vec<usize> {
    if hashes.len() == 1 {
        return vec![0];
    }
    fn bucket_hash(key: u64) -> u32 {
        let x = key.wrapping_mul(0xbf58_476d_1ce4_e5b9);
        (x ^ (x >> 31)) as u32
    }
    fn place(buckets: &mut [Option<usize>], hashes: &[u64], item: usize) {
        let mask = buckets.len() - 1;
        let mut at = bucket_hash(hashes[item]) as usize & mask;
        let mut probe = 1;
        while buckets[at].is_some() {
            at = (at + probe) & mask;
            probe += 1;
        }
        buckets[at] = Some(item);
    }
    let mut buckets: Vec<Option<usize>> = vec![None; 4];
    for item in 0..hashes.len() {
        if 4 * (item + 1) >= 3 * buckets.len() {
            let size = (buckets.len() * 2).max(64);
            let old = std::mem::replace(&mut buckets, vec![None; size]);
            for i in old.into_iter().flatten() {
                place(&mut buckets, hashes, i);
            }
        }
        place(&mut buckets, hashes, item);
    }
    buckets.into_iter().flatten().collect()
}

#[cfg(test)]
mod tests {
    use super::dense_map_order;

    #[test]
    fn dense_map_order_is_a_permutation() {
        for n in 1..200u64 {
            let hashes: Vec<u64> = (0..n)
                .map(|i| i.wrapping_mul(0x1234_5678_9abc_def1))
                .collect();
            let mut order = dense_map_order(&hashes);
            order.sort_unstable();
            assert_eq!(order, (0..n as usize).collect::<Vec<_>>());
        }
    }
}
