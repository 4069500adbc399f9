//! Fuzz target: the `.profraw` reader, the indexed reader and the merger
//! never panic, and whatever they accept turns into an indexed profile that
//! reads back.
//!
//! Run with: `cd fuzz && cargo +nightly fuzz run profraw corpus/profraw`; seed
//! `corpus/profraw/` with a few `.profraw` files, e.g. those the profdata tests
//! build under `target/tmp/profdata-fixture-*/raw-a/`.

#![no_main]

use cargo_armature::profdata::{merge_bytes, parse_indexed, parse_raw};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let raw = parse_raw(data);
    let _ = parse_indexed(data);
    if let Ok(out) = merge_bytes(&[("fuzz", data)]) {
        let back = parse_indexed(&out).expect("the merger's output reads back");
        // Raw input that merges must also parse on its own.
        if data.len() >= 8 && data[..8] == 0xff6c_7072_6f66_7281u64.to_le_bytes() {
            let raw = raw.expect("merged raw input parses");
            assert!(back.functions.len() <= raw.num_records());
        }
    }
});
