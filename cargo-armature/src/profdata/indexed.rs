//! Indexed `.profdata` version 13: the writer (byte-identical to
//! `llvm-profdata-22 merge`) and a reader for `show`, tests and merging.
//!
//! Layout: header (72 bytes) → summary (→ CS summary) → hash-table payload →
//! padding to 8 → bucket table → binary ids → vtable names. The header
//! offsets and the summaries are patched in at the end, as
//! `InstrProfWriter::writeImpl` does.

use super::error::{le64, malformed, Bytes, ErrorKind, FormatError};
use super::flags::*;
use super::hash_table;
use super::md5_hash;
use super::record::{Record, KIND_MEMOP_SIZE, NUM_VALUE_KINDS};
use super::summary::{Summary, SummaryBuilder, SUMMARY_SIZE};
use super::value_data;

const HEADER_SIZE: usize = 72;

/// One name of the output with its records (function hash, record) in the
/// order LLVM's `SmallDenseMap` iterates them.
pub(crate) struct OutFunction<'a> {
    pub(crate) name: &'a [u8],
    pub(crate) records: Vec<(u64, &'a Record)>,
}

fn put(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn patch(out: &mut [u8], at: usize, v: u64) {
    out[at..at + 8].copy_from_slice(&v.to_le_bytes());
}

/// Serializes a profile. `functions` must be sorted by name; `flags` are the
/// variant bits of the inputs.
pub(crate) fn write(
    flags: u64,
    functions: &[OutFunction<'_>],
    binary_ids: &[Vec<u8>],
) -> Result<Vec<u8>, FormatError> {
    validate(functions)?;
    let cs = flags & CSIR_PROF != 0;
    let mut out = Vec::new();
    put(&mut out, INDEXED_MAGIC);
    put(&mut out, INDEXED_VERSION | (flags & KIND_BITS));
    put(&mut out, 0); // unused
    put(&mut out, 0); // hash type: MD5
    out.resize(HEADER_SIZE, 0); // offsets, patched below
    let summary_at = out.len();
    out.resize(out.len() + SUMMARY_SIZE, 0);
    let cs_summary_at = out.len();
    if cs {
        out.resize(out.len() + SUMMARY_SIZE, 0);
    }

    // Hash-table payload.
    let hashes: Vec<u64> = functions.iter().map(|f| md5_hash(f.name)).collect();
    let layout = hash_table::layout(&hashes);
    let mut bucket_offsets = vec![0u64; layout.buckets.len()];
    let (mut sb, mut cs_sb) = (SummaryBuilder::default(), SummaryBuilder::default());
    for (bucket, chain) in layout.buckets.iter().enumerate() {
        if chain.is_empty() {
            continue;
        }
        bucket_offsets[bucket] = out.len() as u64;
        out.extend_from_slice(&(chain.len() as u16).to_le_bytes());
        for &item in chain {
            let f = &functions[item];
            put(&mut out, hashes[item]);
            put(&mut out, f.name.len() as u64);
            let data_len: u64 = f
                .records
                .iter()
                .map(|(_, r)| {
                    8 * (3 + r.counts.len() + r.bitmap.len()) as u64
                        + value_data::encoded_size(&r.value_sites)
                })
                .sum();
            put(&mut out, data_len);
            out.extend_from_slice(f.name);
            for &(hash, r) in &f.records {
                if is_cs_hash(hash) {
                    cs_sb.add(r)
                } else {
                    sb.add(r)
                }
                put(&mut out, hash);
                put(&mut out, r.counts.len() as u64);
                for &c in &r.counts {
                    put(&mut out, c);
                }
                put(&mut out, r.bitmap.len() as u64);
                for &b in &r.bitmap {
                    put(&mut out, b as u64);
                }
                value_data::encode(&r.value_sites, &mut out);
            }
        }
    }
    out.resize(out.len().next_multiple_of(8), 0);
    let table_at = out.len() as u64;
    put(&mut out, layout.buckets.len() as u64);
    put(&mut out, functions.len() as u64);
    for off in bucket_offsets {
        put(&mut out, off);
    }

    // Binary ids: sorted, deduplicated, each padded to 8.
    let binary_ids_at = out.len() as u64;
    let mut ids: Vec<&Vec<u8>> = binary_ids.iter().collect();
    ids.sort();
    ids.dedup();
    put(
        &mut out,
        ids.iter()
            .map(|id| 8 + id.len().next_multiple_of(8) as u64)
            .sum(),
    );
    for id in ids {
        put(&mut out, id.len() as u64);
        out.extend_from_slice(id);
        out.resize(out.len().next_multiple_of(8), 0);
    }
    let vtable_names_at = out.len() as u64;
    put(&mut out, 0); // no vtable names

    patch(&mut out, 32, table_at);
    patch(&mut out, 40, 0); // memprof
    patch(&mut out, 48, binary_ids_at);
    patch(&mut out, 56, 0); // temporal traces
    patch(&mut out, 64, vtable_names_at);
    sb.finish()
        .encode(&mut out[summary_at..summary_at + SUMMARY_SIZE]);
    if cs {
        cs_sb
            .finish()
            .encode(&mut out[cs_summary_at..cs_summary_at + SUMMARY_SIZE]);
    }
    Ok(out)
}

/// `InstrProfWriter::validateRecord`: a memop site may not list a size twice.
fn validate(functions: &[OutFunction<'_>]) -> Result<(), FormatError> {
    for f in functions {
        for (hash, r) in &f.records {
            for site in &r.value_sites[KIND_MEMOP_SIZE] {
                let mut values: Vec<u64> = site.iter().map(|v| v.value).collect();
                values.sort_unstable();
                if values.windows(2).any(|w| w[0] == w[1]) {
                    return Err(malformed(format!(
                        "{} (hash {hash}): a memop value site lists one size twice",
                        String::from_utf8_lossy(f.name)
                    )));
                }
            }
        }
    }
    Ok(())
}

/// One function of an indexed profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Function {
    /// The PGO name (mangled, local functions prefixed with `<cgu>;`).
    pub name: Vec<u8>,
    /// The function's CFG hash.
    pub hash: u64,
    /// Its counters and value data.
    pub record: Record,
}

impl Function {
    /// The name as text (lossy for non-UTF-8 bytes).
    pub fn name_str(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(&self.name)
    }
}

/// A parsed indexed profile.
#[derive(Debug, Clone)]
pub struct IndexedProfile {
    /// Format version (low 32 bits of the version word).
    pub version: u64,
    /// Variant flags (high 32 bits of the version word).
    pub flags: u64,
    /// The summary stored in the file (what rustc uses), if the version has one.
    pub summary: Option<Summary>,
    /// The context-sensitive summary, present for CSIR profiles.
    pub cs_summary: Option<Summary>,
    /// Records in hash-table order.
    pub functions: Vec<Function>,
    /// Binary (build) ids.
    pub binary_ids: Vec<Vec<u8>>,
}

impl IndexedProfile {
    /// True if the IR-level bit is set (rustc ignores profiles without it).
    pub fn is_ir_level(&self) -> bool {
        self.flags & IR_PROF != 0
    }

    /// Summary recomputed from the records, as `llvm-profdata show` does.
    pub fn computed_summary(&self) -> Summary {
        let mut b = SummaryBuilder::default();
        for f in self.functions.iter().filter(|f| !is_cs_hash(f.hash)) {
            b.add(&f.record);
        }
        b.finish()
    }

    /// Human-readable list of the variant flags.
    pub fn describe_flags(&self) -> String {
        describe(self.flags)
    }
}

/// Parses an indexed profile (versions 4 to 13).
pub(crate) fn parse(buf: &[u8]) -> Result<IndexedProfile, FormatError> {
    let b = Bytes { buf };
    let magic = b.u64(0, "header").map_err(|_| {
        FormatError::new(
            ErrorKind::NotAProfile,
            format!("{} bytes is too short for a profile", buf.len()),
        )
    })?;
    if magic != INDEXED_MAGIC {
        return Err(FormatError::new(
            ErrorKind::NotAProfile,
            format!("bad magic {magic:#018x} (expected indexed {INDEXED_MAGIC:#018x})"),
        ));
    }
    let word = b.u64(8, "header")?;
    let version = word & !VARIANT_MASKS_ALL;
    if !(4..=INDEXED_VERSION).contains(&version) {
        return Err(FormatError::new(
            ErrorKind::UnsupportedVersion,
            format!(
                "indexed profile version {version} (this reader handles 4 to {INDEXED_VERSION})"
            ),
        ));
    }
    if b.u64(24, "header")? != 0 {
        return Err(malformed("unsupported hash type (only MD5 is defined)"));
    }
    let table_at = b.u64(32, "header")?;
    let header_size = match version {
        ..=7 => 40,
        8 => 48,
        9 => 56,
        10 | 11 => 64,
        _ => 72,
    };
    let binary_ids_at = if version >= 9 {
        b.u64(48, "header")?
    } else {
        0
    };
    let (summary, size) = Summary::decode(&b, header_size)?;
    let cs_summary = if word & CSIR_PROF != 0 {
        Some(Summary::decode(&b, header_size + size)?.0)
    } else {
        None
    };

    let num_buckets = b.u64(table_at, "hash table")?;
    let num_entries = b.u64(table_at.saturating_add(8), "hash table")?;
    if num_buckets == 0 || !num_buckets.is_power_of_two() || num_buckets > buf.len() as u64 {
        return Err(malformed(format!("hash table has {num_buckets} buckets")));
    }
    let offsets = b.slice(table_at.saturating_add(16), 8 * num_buckets, "bucket table")?;
    let mut functions = Vec::new();
    let mut entries = 0u64;
    for (bucket, off) in offsets.chunks_exact(8).map(le64).enumerate() {
        if off == 0 {
            continue;
        }
        let count = u16::from_le_bytes(b.slice(off, 2, "hash bucket")?.try_into().expect("2"));
        let mut at = off.saturating_add(2);
        for _ in 0..count {
            let key_hash = b.u64(at, "hash table item")?;
            let key_len = b.u64(at.saturating_add(8), "hash table item")?;
            let data_len = b.u64(at.saturating_add(16), "hash table item")?;
            let name = b.slice(at.saturating_add(24), key_len, "function name")?;
            let data = b.slice(
                at.saturating_add(24).saturating_add(key_len),
                data_len,
                "function record",
            )?;
            let shown = String::from_utf8_lossy(name);
            if key_hash != md5_hash(name) {
                return Err(malformed(format!(
                    "hash table key hash {key_hash:#018x} of {shown} is not the MD5 of the name"
                )));
            }
            if key_hash & (num_buckets - 1) != bucket as u64 {
                return Err(malformed(format!("{shown} is in the wrong hash bucket")));
            }
            read_records(data, version, name, &mut functions)
                .map_err(|e| malformed(format!("record of {shown}: {e}")))?;
            entries += 1;
            at = at
                .saturating_add(24)
                .saturating_add(key_len)
                .saturating_add(data_len);
        }
    }
    if entries != num_entries {
        return Err(malformed(format!(
            "hash table announces {num_entries} names but holds {entries}"
        )));
    }
    let binary_ids = if binary_ids_at != 0 {
        let size = b.u64(binary_ids_at, "binary ids")?;
        let mut s = b.slice(binary_ids_at.saturating_add(8), size, "binary ids")?;
        let mut ids = Vec::new();
        while s.len() >= 8 {
            let len = le64(s);
            let padded = len
                .checked_next_multiple_of(8)
                .filter(|&p| p <= s.len() as u64 - 8);
            let Some(padded) = padded else {
                return Err(malformed("binary id does not fit its section"));
            };
            ids.push(s[8..8 + len as usize].to_vec());
            s = &s[8 + padded as usize..];
        }
        ids
    } else if version >= 9 {
        return Err(malformed("file header is corrupt: binary id offset is 0"));
    } else {
        Vec::new()
    };
    Ok(IndexedProfile {
        version,
        flags: word & VARIANT_MASKS_ALL,
        summary: Some(summary),
        cs_summary,
        functions,
        binary_ids,
    })
}

fn read_records(
    mut d: &[u8],
    version: u64,
    name: &[u8],
    out: &mut Vec<Function>,
) -> Result<(), String> {
    let take = |d: &mut &[u8], what: &str| -> Result<u64, String> {
        if d.len() < 8 {
            return Err(format!("ends inside the {what}"));
        }
        let v = le64(d);
        *d = &d[8..];
        Ok(v)
    };
    while !d.is_empty() {
        let hash = take(&mut d, "function hash")?;
        let n = take(&mut d, "counter count")?;
        if n > d.len() as u64 / 8 {
            return Err(format!("{n} counters do not fit"));
        }
        let counts = d[..8 * n as usize].chunks_exact(8).map(le64).collect();
        d = &d[8 * n as usize..];
        let mut bitmap = Vec::new();
        if version >= 11 {
            let n = take(&mut d, "bitmap size")?;
            if n > d.len() as u64 / 8 {
                return Err(format!("{n} bitmap bytes do not fit"));
            }
            bitmap = d[..8 * n as usize].chunks_exact(8).map(|c| c[0]).collect();
            d = &d[8 * n as usize..];
        }
        let (value_sites, size) = value_data::decode(d, |_, v| v).map_err(|e| e.to_string())?;
        d = &d[size as usize..];
        debug_assert_eq!(value_sites.len(), NUM_VALUE_KINDS);
        out.push(Function {
            name: name.to_vec(),
            hash,
            record: Record {
                counts,
                bitmap,
                value_sites,
            },
        });
    }
    Ok(())
}
