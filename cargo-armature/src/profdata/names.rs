//! The names section of a `.profraw`: zlib blocks of `\x01`-separated
//! function names, looked up by MD5 the way `InstrProfSymtab` does, and a
//! cache so that the runs of one binary inflate their common section once.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use flate2::{Decompress, FlushDecompress, Status};

use super::error::{malformed, truncated, FormatError};
use super::md5_hash;

/// Names of one names section, looked up by MD5 the way `InstrProfSymtab` does.
pub(crate) struct NameTable {
    /// Unique per table, so the merger can cache its own translation.
    pub(crate) id: u64,
    pub(crate) names: Vec<Box<[u8]>>,
    /// `(md5, index into names)`, sorted by md5.
    by_md5: Vec<(u64, u32)>,
}

impl NameTable {
    pub(crate) fn lookup(&self, md5: u64) -> Option<u32> {
        let at = self.by_md5.partition_point(|e| e.0 < md5);
        self.by_md5.get(at).filter(|e| e.0 == md5).map(|e| e.1)
    }
}

/// Decoded names sections shared between the profiles of one merge: every
/// run of one binary carries the same section, so it is inflated once.
#[derive(Default)]
pub(crate) struct NameCache {
    tables: Mutex<CachedTables>,
}

/// Hash of a names section -> (section bytes, decoded table) pairs.
type CachedTables = HashMap<u64, Vec<(Box<[u8]>, Arc<NameTable>)>>;

static NEXT_TABLE_ID: AtomicU64 = AtomicU64::new(0);

impl NameCache {
    pub(crate) fn get(&self, section: &[u8]) -> Result<Arc<NameTable>, FormatError> {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        section.hash(&mut h);
        let key = h.finish();
        if let Some(list) = self.tables.lock().expect("name cache").get(&key) {
            if let Some((_, t)) = list.iter().find(|(s, _)| **s == *section) {
                return Ok(Arc::clone(t));
            }
        }
        let table = Arc::new(decode_names(section)?);
        self.tables
            .lock()
            .expect("name cache")
            .entry(key)
            .or_default()
            .push((section.into(), Arc::clone(&table)));
        Ok(table)
    }
}

pub(crate) fn name_of(names: &NameTable, md5: u64) -> String {
    match names.lookup(md5) {
        Some(i) => String::from_utf8_lossy(&names.names[i as usize]).into_owned(),
        None => format!("name hash {md5:#018x}"),
    }
}

fn uleb(s: &[u8], pos: &mut usize) -> Result<u64, FormatError> {
    let mut value = 0u64;
    let mut shift = 0;
    loop {
        let byte = *s
            .get(*pos)
            .ok_or_else(|| truncated("names section ends inside a length"))?;
        *pos += 1;
        if shift >= 64 || (shift == 63 && byte & 0x7e != 0) {
            return Err(malformed("names section: length does not fit in 64 bits"));
        }
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Ok(value);
        }
        shift += 7;
    }
}

/// Decodes a names section (`readAndDecodeStrings`).
fn decode_names(section: &[u8]) -> Result<NameTable, FormatError> {
    let mut names: Vec<Box<[u8]>> = Vec::new();
    let mut pos = 0usize;
    while pos < section.len() {
        let uncompressed = uleb(section, &mut pos)?;
        let compressed = uleb(section, &mut pos)?;
        let rest = &section[pos..];
        let text;
        let block: &[u8] = if compressed != 0 {
            if compressed > rest.len() as u64 {
                return Err(truncated(format!(
                    "names section: {compressed} compressed bytes announced, {} left",
                    rest.len()
                )));
            }
            text = inflate(&rest[..compressed as usize], uncompressed)?;
            pos += compressed as usize;
            &text
        } else {
            if uncompressed > rest.len() as u64 {
                return Err(truncated(format!(
                    "names section: {uncompressed} bytes of names announced, {} left",
                    rest.len()
                )));
            }
            pos += uncompressed as usize;
            &rest[..uncompressed as usize]
        };
        for name in block.split(|&c| c == 1) {
            if name.is_empty() {
                return Err(malformed("names section: symbol name is empty"));
            }
            names.push(name.into());
        }
        while pos < section.len() && section[pos] == 0 {
            pos += 1;
        }
    }
    names.sort_unstable();
    names.dedup();
    let mut by_md5: Vec<(u64, u32)> = names
        .iter()
        .enumerate()
        .map(|(i, n)| (md5_hash(n), i as u32))
        .collect();
    by_md5.sort_unstable();
    Ok(NameTable {
        id: NEXT_TABLE_ID.fetch_add(1, Ordering::Relaxed),
        names,
        by_md5,
    })
}

/// zlib-inflates `data`, which must decode to at most `limit` bytes.
fn inflate(data: &[u8], limit: u64) -> Result<Vec<u8>, FormatError> {
    // zlib cannot expand more than ~1032:1; never trust `limit` for the allocation.
    let cap = limit.min(data.len() as u64 * 1032 + 64) as usize;
    let mut out = Vec::with_capacity(cap);
    let mut z = Decompress::new(true);
    let bad = |why: String| malformed(format!("names section: zlib data is corrupt ({why})"));
    match z.decompress_vec(data, &mut out, FlushDecompress::Finish) {
        Ok(Status::StreamEnd) => Ok(out),
        Ok(_) if out.len() == cap && (cap as u64) == limit => Err(bad(format!(
            "inflates to more than the announced {limit} bytes"
        ))),
        Ok(_) => Err(bad("stream ends early".into())),
        Err(e) => Err(bad(e.to_string())),
    }
}
