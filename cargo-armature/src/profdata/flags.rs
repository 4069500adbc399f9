//! Magic numbers, versions and the variant bits in a profile's version word.

/// Magic of a 64-bit little-endian `.profraw` (`INSTR_PROF_RAW_MAGIC_64`).
pub(crate) const RAW_MAGIC_64: u64 = 0xff6c_7072_6f66_7281;
/// Magic of a 32-bit `.profraw`.
pub(crate) const RAW_MAGIC_32: u64 = 0xff6c_7072_6f66_5281;
/// Magic of an indexed `.profdata`.
pub(crate) const INDEXED_MAGIC: u64 = 0x8169_666f_7270_6cff;
/// The profraw version rustc 1.95 / LLVM 22 writes.
pub(crate) const RAW_VERSION: u64 = 10;
/// The indexed version llvm-profdata-22 writes.
pub(crate) const INDEXED_VERSION: u64 = 13;

/// The high 32 bits of the version word hold the variant flags.
pub(crate) const VARIANT_MASKS_ALL: u64 = 0xffff_ffff_0000_0000;
pub(crate) const LOOP_ENTRIES: u64 = 1 << 55;
pub(crate) const IR_PROF: u64 = 1 << 56;
pub(crate) const CSIR_PROF: u64 = 1 << 57;
pub(crate) const INSTR_ENTRY: u64 = 1 << 58;
pub(crate) const DBG_CORRELATE: u64 = 1 << 59;
pub(crate) const BYTE_COVERAGE: u64 = 1 << 60;
pub(crate) const FUNCTION_ENTRY_ONLY: u64 = 1 << 61;
pub(crate) const MEMPROF: u64 = 1 << 62;
pub(crate) const TEMPORAL_PROF: u64 = 1 << 63;

/// The flags llvm-profdata carries from its inputs into the indexed header.
pub(crate) const KIND_BITS: u64 = LOOP_ENTRIES
    | IR_PROF
    | CSIR_PROF
    | INSTR_ENTRY
    | BYTE_COVERAGE
    | FUNCTION_ENTRY_ONLY
    | MEMPROF
    | TEMPORAL_PROF;

/// Bit 60 of a function hash marks a context-sensitive record.
pub(crate) fn is_cs_hash(hash: u64) -> bool {
    (hash >> 60) & 1 == 1
}

/// Human-readable names of the variant bits set in `flags`.
pub(crate) fn describe(flags: u64) -> String {
    const NAMES: [(u64, &str); 10] = [
        (IR_PROF, "IR"),
        (CSIR_PROF, "context-sensitive"),
        (INSTR_ENTRY, "entry-first"),
        (LOOP_ENTRIES, "loop-entries"),
        (DBG_CORRELATE, "debug-info-correlate"),
        (BYTE_COVERAGE, "single-byte-coverage"),
        (FUNCTION_ENTRY_ONLY, "function-entry-only"),
        (MEMPROF, "memprof"),
        (TEMPORAL_PROF, "temporal"),
        (0, ""),
    ];
    let names: Vec<&str> = NAMES
        .iter()
        .filter(|(bit, _)| *bit != 0 && flags & bit != 0)
        .map(|(_, n)| *n)
        .collect();
    if names.is_empty() {
        "front-end (no IR bit)".to_owned()
    } else {
        names.join(", ")
    }
}
