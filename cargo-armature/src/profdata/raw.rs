//! Reader for `.profraw` version 10, the files a `-Cprofile-generate` binary
//! writes (rustc 1.95, LLVM 22).
//!
//! Follows `RawInstrProfReader<uint64_t>`: header, binary ids, 64-byte data
//! records, counters found through `CounterPtr - CountersDelta` (the delta
//! shrinks by 64 per record), bitmap bytes, the names section (see
//! [`names`](super::names)), and one `ValueProfData` blob per record that has
//! value sites, with indirect-call addresses mapped to name hashes. Several
//! profiles may follow one another in a file. Every offset is checked, so a
//! corrupt file gives a [`FormatError`], never a panic.

use std::ops::Range;
use std::sync::Arc;

use super::cxx_sort;
use super::error::{le64, malformed, truncated, Bytes, ErrorKind, FormatError};
use super::flags::*;
use super::names::{name_of, NameCache, NameTable};
use super::record::KIND_INDIRECT_CALL;
use super::value_data::{self, ValueSites};

const HEADER_SIZE: u64 = 16 * 8;
const DATA_SIZE: u64 = 64;
/// Larger raw counters mean a corrupt file (`RawInstrProfReader::MaxCounterValue`).
const MAX_COUNTER_VALUE: u64 = 1 << 56;

/// One function record of a raw profile; counters and bitmap point into the
/// owning [`RawProfile`]'s arrays.
pub(crate) struct RawRecord {
    pub(crate) name: u32,
    pub(crate) hash: u64,
    pub(crate) counts: Range<usize>,
    pub(crate) bitmap: Range<usize>,
    pub(crate) values: Option<Box<ValueSites>>,
}

/// One profile (header and its sections) of a `.profraw` file.
pub(crate) struct RawProfile {
    /// The whole version word: `10 | variant flags`.
    pub(crate) version: u64,
    pub(crate) binary_ids: Vec<Vec<u8>>,
    pub(crate) names: Arc<NameTable>,
    pub(crate) records: Vec<RawRecord>,
    pub(crate) counts: Vec<u64>,
    pub(crate) bitmap: Vec<u8>,
}

/// A parsed `.profraw` file: usually one profile, none if the file is empty.
///
/// Returned by [`parse_raw`](crate::profdata::parse_raw); its contents are
/// consumed by the merger.
pub struct RawFile {
    pub(crate) profiles: Vec<RawProfile>,
}

impl std::fmt::Debug for RawFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawFile")
            .field("profiles", &self.profiles.len())
            .field("records", &self.num_records())
            .finish()
    }
}

impl RawFile {
    /// Number of function records over all profiles in the file.
    pub fn num_records(&self) -> usize {
        self.profiles.iter().map(|p| p.records.len()).sum()
    }

    /// The names of the functions, one per record, in file order.
    pub fn function_names(&self) -> Vec<String> {
        self.profiles
            .iter()
            .flat_map(|p| {
                p.records
                    .iter()
                    .map(|r| String::from_utf8_lossy(&p.names.names[r.name as usize]).into_owned())
            })
            .collect()
    }
}

/// Parses a whole `.profraw` file.
pub(crate) fn parse(buf: &[u8], cache: &NameCache) -> Result<RawFile, FormatError> {
    let mut profiles = Vec::new();
    if buf.is_empty() {
        return Ok(RawFile { profiles });
    }
    if buf.len() < 8 {
        return Err(FormatError::new(
            ErrorKind::NotAProfile,
            format!("{} bytes is too short for a profile magic", buf.len()),
        ));
    }
    check_magic(le64(buf))?;
    let mut pos = 0u64;
    loop {
        let (profile, end) = parse_one(buf, pos, cache)?;
        profiles.push(profile);
        // Zero padding may separate or follow profiles.
        pos = end;
        while (pos as usize) < buf.len() && buf[pos as usize] == 0 {
            pos += 1;
        }
        if pos as usize == buf.len() {
            break;
        }
        if pos + HEADER_SIZE > buf.len() as u64 {
            return Err(malformed(format!(
                "{} bytes of trailing data at offset {pos}: not enough space for another header",
                buf.len() as u64 - pos
            )));
        }
        if !pos.is_multiple_of(8) {
            return Err(malformed(format!(
                "next profile at offset {pos} is not 8-byte aligned"
            )));
        }
        let magic = le64(&buf[pos as usize..]);
        if magic != RAW_MAGIC_64 {
            return Err(malformed(format!(
                "trailing data at offset {pos} is not another profile (magic {magic:#018x})"
            )));
        }
    }
    Ok(RawFile { profiles })
}

fn check_magic(magic: u64) -> Result<(), FormatError> {
    if magic == RAW_MAGIC_64 {
        Ok(())
    } else if magic == RAW_MAGIC_32
        || magic.swap_bytes() == RAW_MAGIC_32
        || magic.swap_bytes() == RAW_MAGIC_64
    {
        Err(FormatError::new(
            ErrorKind::Unsupported,
            "32-bit or big-endian .profraw files are not supported",
        ))
    } else if magic == INDEXED_MAGIC {
        Err(FormatError::new(
            ErrorKind::NotAProfile,
            "this is an indexed .profdata file, not a .profraw",
        ))
    } else {
        Err(FormatError::new(
            ErrorKind::NotAProfile,
            format!("bad magic {magic:#018x} (expected {RAW_MAGIC_64:#018x})"),
        ))
    }
}

fn padding(n: u64) -> u64 {
    (8 - n % 8) % 8
}

/// `a + b + …` or a header error.
fn sum(parts: &[u64]) -> Result<u64, FormatError> {
    parts
        .iter()
        .try_fold(0u64, |acc, &p| acc.checked_add(p))
        .ok_or_else(|| malformed("file header is corrupt: section sizes overflow"))
}

fn parse_one(buf: &[u8], start: u64, cache: &NameCache) -> Result<(RawProfile, u64), FormatError> {
    let b = Bytes { buf };
    let hdr = b.slice(start, HEADER_SIZE, "profile header")?;
    let w = |i: usize| le64(&hdr[8 * i..]);
    let version = w(1);
    if version & !VARIANT_MASKS_ALL != RAW_VERSION {
        return Err(FormatError::new(
            ErrorKind::UnsupportedVersion,
            format!(
                "raw profile version {} (expected {RAW_VERSION}, as written by rustc 1.86+ / LLVM 20-22); \
                 regenerate the profile with a matching rustc",
                version & !VARIANT_MASKS_ALL
            ),
        ));
    }
    if version & (DBG_CORRELATE | TEMPORAL_PROF | MEMPROF) != 0 {
        return Err(FormatError::new(
            ErrorKind::Unsupported,
            format!("profile kind not supported: {}", describe(version)),
        ));
    }
    let binary_ids_size = w(2);
    let num_data = w(3);
    let pad_before_counters = w(4);
    let num_counters = w(5);
    let pad_after_counters = w(6);
    let num_bitmap_bytes = w(7);
    let pad_after_bitmap = w(8);
    let names_size = w(9);
    let counters_delta = w(10);
    let bitmap_delta = w(11);
    let num_vtables = w(13);
    let vnames_size = w(14);
    if num_vtables != 0 || vnames_size != 0 {
        return Err(FormatError::new(
            ErrorKind::Unsupported,
            "vtable value profiling data (rustc never writes it)",
        ));
    }
    let byte_coverage = version & BYTE_COVERAGE != 0;
    let counter_size = if byte_coverage { 1 } else { 8 };
    let overflow = || malformed("file header is corrupt: section sizes overflow");
    let data_size = num_data.checked_mul(DATA_SIZE).ok_or_else(overflow)?;
    let counters_size = num_counters
        .checked_mul(counter_size)
        .ok_or_else(overflow)?;
    if binary_ids_size % 8 != 0 {
        return Err(malformed(format!(
            "file header is corrupt: binary ids size {binary_ids_size} is not a multiple of 8"
        )));
    }
    let data_off = sum(&[start, HEADER_SIZE, binary_ids_size])?;
    let counters_off = sum(&[data_off, data_size, pad_before_counters])?;
    let bitmap_off = sum(&[counters_off, counters_size, pad_after_counters])?;
    let names_off = sum(&[bitmap_off, num_bitmap_bytes, pad_after_bitmap])?;
    let value_off = sum(&[names_off, names_size, padding(names_size)])?;
    if value_off > buf.len() as u64 {
        return Err(truncated(format!(
            "the header announces {value_off} bytes of sections, the file has {}",
            buf.len()
        )));
    }
    let binary_ids =
        read_binary_ids(b.slice(start + HEADER_SIZE, binary_ids_size, "binary ids")?)?;
    let names = cache.get(b.slice(names_off, names_size, "names")?)?;
    let data = b.slice(data_off, data_size, "data records")?;
    let counters = b.slice(counters_off, counters_size, "counters")?;
    let bitmap_bytes = b.slice(bitmap_off, num_bitmap_bytes, "bitmap")?;

    // Function address -> name hash, for indirect-call targets.
    let mut addr_map: Vec<(u64, u64)> = data
        .chunks_exact(DATA_SIZE as usize)
        .map(|d| (le64(&d[32..]), le64(d)))
        .filter(|&(addr, _)| addr != 0)
        .collect();
    cxx_sort::sort_by(&mut addr_map, |a, b| a.0 < b.0);
    addr_map.dedup();

    let mut records = Vec::with_capacity(num_data as usize);
    let mut counts = Vec::with_capacity(num_counters.min(1 << 24) as usize);
    let mut bitmap = Vec::new();
    let mut counters_delta = counters_delta as i64;
    let mut bitmap_delta = bitmap_delta as i64;
    let mut value_pos = value_off;
    for (i, d) in data.chunks_exact(DATA_SIZE as usize).enumerate() {
        let name_ref = le64(d);
        let hash = le64(&d[8..]);
        let counter_ptr = le64(&d[16..]) as i64;
        let bitmap_ptr = le64(&d[24..]) as i64;
        let n_counters = u32::from_le_bytes(d[48..52].try_into().expect("4")) as u64;
        let n_sites =
            [0, 1, 2].map(|k| u16::from_le_bytes(d[52 + 2 * k..54 + 2 * k].try_into().expect("2")));
        let n_bitmap = u32::from_le_bytes(d[60..64].try_into().expect("4")) as u64;
        let rec =
            |msg: String| malformed(format!("record {i} ({}): {msg}", name_of(&names, name_ref)));

        let name = names.lookup(name_ref).ok_or_else(|| {
            rec(format!(
                "name hash {name_ref:#018x} is not in the names section"
            ))
        })?;
        if n_counters == 0 {
            return Err(rec("number of counters is zero".into()));
        }
        let off = counter_ptr.wrapping_sub(counters_delta);
        if off < 0 || off as u64 >= counters.len() as u64 {
            return Err(rec(format!(
                "counter offset {off} is outside the counters section ({} bytes)",
                counters.len()
            )));
        }
        let max = (counters.len() as u64 - off as u64) / counter_size;
        if n_counters > max {
            return Err(rec(format!(
                "{n_counters} counters at offset {off}, but only room for {max}"
            )));
        }
        let first = counts.len();
        let cs = &counters[off as usize..];
        if byte_coverage {
            counts.extend(cs[..n_counters as usize].iter().map(|&c| u64::from(c == 0)));
        } else {
            counts.extend(cs[..8 * n_counters as usize].chunks_exact(8).map(le64));
            // RawInstrProfReader::MaxCounterValue: llvm-profdata refuses such a file.
            if let Some(c) = counts[first..].iter().find(|&&c| c > MAX_COUNTER_VALUE) {
                return Err(rec(format!(
                    "excessively large counter value {c} suggests corrupted profile data"
                )));
            }
        }
        let bitmap_first = bitmap.len();
        if n_bitmap != 0 {
            let off = bitmap_ptr.wrapping_sub(bitmap_delta);
            if off < 0 || off as u64 >= bitmap_bytes.len() as u64 {
                return Err(rec(format!(
                    "bitmap offset {off} is outside the bitmap section ({} bytes)",
                    bitmap_bytes.len()
                )));
            }
            if n_bitmap > bitmap_bytes.len() as u64 - off as u64 {
                return Err(rec(format!(
                    "{n_bitmap} bitmap bytes at offset {off} do not fit"
                )));
            }
            bitmap.extend_from_slice(&bitmap_bytes[off as usize..(off as u64 + n_bitmap) as usize]);
        }
        let values = if n_sites.iter().any(|&n| n != 0) {
            let rest = &buf[value_pos.min(buf.len() as u64) as usize..];
            let (sites, size) = value_data::decode(rest, |kind, v| {
                if kind == KIND_INDIRECT_CALL {
                    let at = addr_map.partition_point(|e| e.0 < v);
                    addr_map.get(at).filter(|e| e.0 == v).map_or(0, |e| e.1)
                } else {
                    v
                }
            })
            .map_err(|e| {
                let what = format!(
                    "record {i} ({}): value profile data at offset {value_pos}",
                    name_of(&names, name_ref)
                );
                FormatError::new(e.kind(), format!("{what}: {e}"))
            })?;
            value_pos += size;
            Some(Box::new(sites))
        } else {
            None
        };
        records.push(RawRecord {
            name,
            hash,
            counts: first..counts.len(),
            bitmap: bitmap_first..bitmap.len(),
            values,
        });
        counters_delta = counters_delta.wrapping_sub(DATA_SIZE as i64);
        bitmap_delta = bitmap_delta.wrapping_sub(DATA_SIZE as i64);
    }
    let profile = RawProfile {
        version,
        binary_ids,
        names,
        records,
        counts,
        bitmap,
    };
    Ok((profile, value_pos))
}

fn read_binary_ids(mut s: &[u8]) -> Result<Vec<Vec<u8>>, FormatError> {
    let mut ids = Vec::new();
    while !s.is_empty() {
        if s.len() < 8 {
            return Err(malformed("not enough data to read binary id length"));
        }
        let len = le64(s);
        s = &s[8..];
        if len == 0 {
            return Err(malformed("binary id length is 0"));
        }
        let padded = len.checked_add(7).map(|l| l & !7);
        match padded {
            Some(p) if p <= s.len() as u64 => {
                ids.push(s[..len as usize].to_vec());
                s = &s[p as usize..];
            }
            _ => return Err(malformed("not enough data to read binary id data")),
        }
    }
    Ok(ids)
}
