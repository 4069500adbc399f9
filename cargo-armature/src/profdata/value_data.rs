//! The `ValueProfData` blob: value-profile sites of one record, as both the
//! profraw runtime and the indexed writer lay them out (InstrProfData.inc).
//!
//! `u32 TotalSize, u32 NumValueKinds`, then per kind with sites:
//! `u32 Kind, u32 NumValueSites, u8 SiteCount[NumValueSites]` padded to 8,
//! then `{u64 value, u64 count}` for every value of every site.

use super::error::{le64, malformed, truncated, FormatError};
use super::record::{ValueData, NUM_VALUE_KINDS};

/// Per kind, per site, the values of a record.
pub(crate) type ValueSites = [Vec<Vec<ValueData>>; NUM_VALUE_KINDS];

fn align8(n: u64) -> u64 {
    (n + 7) & !7
}

/// Decodes the blob at the start of `buf`. `remap(kind, value)` translates
/// raw values (indirect-call addresses to name hashes). Returns the sites and
/// the blob's `TotalSize`, by which the caller advances.
pub(crate) fn decode(
    buf: &[u8],
    mut remap: impl FnMut(usize, u64) -> u64,
) -> Result<(ValueSites, u64), FormatError> {
    if buf.len() < 8 {
        return Err(truncated(format!(
            "value profile data needs 8 bytes, {} left",
            buf.len()
        )));
    }
    let total = u32::from_le_bytes(buf[0..4].try_into().expect("4")) as u64;
    let num_kinds = u32::from_le_bytes(buf[4..8].try_into().expect("4"));
    if total > buf.len() as u64 {
        return Err(truncated(format!(
            "value profile data claims {total} bytes, only {} left",
            buf.len()
        )));
    }
    if num_kinds as usize > NUM_VALUE_KINDS {
        return Err(malformed(format!(
            "number of value profile kinds is invalid ({num_kinds})"
        )));
    }
    if !total.is_multiple_of(8) || total < 8 {
        return Err(malformed(format!(
            "value profile data size {total} is not a positive multiple of 8"
        )));
    }
    let blob = &buf[..total as usize];
    let mut sites: ValueSites = Default::default();
    let mut seen = [false; NUM_VALUE_KINDS];
    let mut off = 8u64;
    for _ in 0..num_kinds {
        if off + 8 > total {
            return Err(malformed("value profile record is beyond the total size"));
        }
        let o = off as usize;
        let kind = u32::from_le_bytes(blob[o..o + 4].try_into().expect("4")) as usize;
        let num_sites = u32::from_le_bytes(blob[o + 4..o + 8].try_into().expect("4")) as u64;
        if kind >= NUM_VALUE_KINDS {
            return Err(malformed(format!("value kind is invalid ({kind})")));
        }
        if std::mem::replace(&mut seen[kind], true) {
            return Err(malformed(format!("value kind {kind} appears twice")));
        }
        let counts_end = off + 8 + num_sites;
        if counts_end > total {
            return Err(malformed(
                "value profile address is greater than total size",
            ));
        }
        let site_counts = &blob[o + 8..counts_end as usize];
        let num_values: u64 = site_counts.iter().map(|&c| c as u64).sum();
        let values_at = off + align8(8 + num_sites);
        let next = values_at + 16 * num_values;
        if next > total {
            return Err(malformed(
                "value profile address is greater than total size",
            ));
        }
        let mut at = values_at as usize;
        let kind_sites = &mut sites[kind];
        kind_sites.reserve(num_sites as usize);
        for &n in site_counts {
            let mut site = Vec::with_capacity(n as usize);
            for _ in 0..n {
                let value = remap(kind, le64(&blob[at..]));
                let count = le64(&blob[at + 8..]);
                site.push(ValueData { value, count });
                at += 16;
            }
            kind_sites.push(site);
        }
        off = next;
    }
    Ok((sites, total))
}

/// Size of the encoded blob (`ValueProfData::getSize`).
pub(crate) fn encoded_size(sites: &ValueSites) -> u64 {
    let mut size = 8u64;
    for kind_sites in sites.iter().filter(|s| !s.is_empty()) {
        let values: u64 = kind_sites.iter().map(|s| s.len() as u64).sum();
        size += align8(8 + kind_sites.len() as u64) + 16 * values;
    }
    size
}

/// Appends the encoded blob (`ValueProfData::serializeFrom`). Sites must hold
/// at most 255 values (the caller sorts and truncates first).
pub(crate) fn encode(sites: &ValueSites, out: &mut Vec<u8>) {
    let size = encoded_size(sites);
    let kinds = sites.iter().filter(|s| !s.is_empty()).count();
    out.extend_from_slice(&(size as u32).to_le_bytes());
    out.extend_from_slice(&(kinds as u32).to_le_bytes());
    for (kind, kind_sites) in sites.iter().enumerate().filter(|(_, s)| !s.is_empty()) {
        out.extend_from_slice(&(kind as u32).to_le_bytes());
        out.extend_from_slice(&(kind_sites.len() as u32).to_le_bytes());
        for site in kind_sites {
            debug_assert!(site.len() <= 255);
            out.push(site.len() as u8);
        }
        let pad = align8(8 + kind_sites.len() as u64) - (8 + kind_sites.len() as u64);
        out.extend(std::iter::repeat_n(0u8, pad as usize));
        for v in kind_sites.iter().flatten() {
            out.extend_from_slice(&v.value.to_le_bytes());
            out.extend_from_slice(&v.count.to_le_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_is_eight_bytes() {
        let mut out = vec![];
        encode(&Default::default(), &mut out);
        assert_eq!(out, [8, 0, 0, 0, 0, 0, 0, 0]);
    }

    #[test]
    fn round_trip() {
        let sites: ValueSites = [
            vec![vec![ValueData { value: 1, count: 2 }], vec![]],
            vec![],
            vec![vec![], vec![], vec![ValueData { value: 9, count: 3 }]],
        ];
        let mut out = vec![];
        encode(&sites, &mut out);
        assert_eq!(out.len() as u64, encoded_size(&sites));
        let (back, size) = decode(&out, |_, v| v).unwrap();
        assert_eq!(back, sites);
        assert_eq!(size, out.len() as u64);
    }

    #[test]
    fn rejects_bad_kind_counts() {
        let mut out = vec![];
        encode(&Default::default(), &mut out);
        out[4] = 5;
        assert!(decode(&out, |_, v| v)
            .unwrap_err()
            .to_string()
            .contains("kinds"));
    }
}
