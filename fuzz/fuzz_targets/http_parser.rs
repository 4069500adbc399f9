//! Fuzz target: `SIMDParser::parse` on arbitrary bytes must never panic, and what it
//! returns must be consistent (the remainder is a suffix of the input; hard errors
//! map to a 4xx/5xx status).
//!
//! Run with: `cd fuzz && cargo +nightly fuzz run http_parser -- -dict=dicts/http.dict`

#![no_main]

use armature_core::simd_parser::SIMDParser;
use bytes::Bytes;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let input = Bytes::copy_from_slice(data);
    match SIMDParser::new().parse(&input) {
        Ok((req, rest)) => {
            assert!(rest.len() <= input.len());
            assert!(
                input.ends_with(&rest),
                "remainder is not a suffix of the input"
            );
            // Touch the parsed fields so lazily computed accessors run too.
            let _ = (req.method(), req.path(), req.query());
            // A request that parsed must parse the same way again.
            let (again, rest2) = SIMDParser::new()
                .parse(&input)
                .expect("second parse of the same bytes failed");
            assert_eq!(again.path(), req.path());
            assert_eq!(rest2, rest);
        }
        Err(e) => {
            if !e.is_incomplete() {
                let status = e.status().as_u16();
                assert!(
                    (400..=599).contains(&status),
                    "parse error with status {status}"
                );
            }
        }
    }
});
