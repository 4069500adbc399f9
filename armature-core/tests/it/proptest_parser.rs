//! Property tests for `simd_parser::SIMDParser`: no panic on any input, a consistent
//! answer for every prefix of a request, and round-trips for valid requests.

use proptest::prelude::*;

use armature_core::simd_parser::SIMDParser;
use armature_core::{Bytes, Method};

/// A valid request as data, and its wire form.
#[derive(Clone, Debug)]
struct Req {
    method: Method,
    path: String,
    query: Option<String>,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Req {
    fn head(&self) -> Vec<u8> {
        let mut s = format!("{} {}", self.method.as_str(), self.path);
        if let Some(q) = &self.query {
            s.push('?');
            s.push_str(q);
        }
        s.push_str(" HTTP/1.1\r\nHost: localhost\r\n");
        for (n, v) in &self.headers {
            s.push_str(&format!("{n}: {v}\r\n"));
        }
        s.push_str(&format!("Content-Length: {}\r\n\r\n", self.body.len()));
        s.into_bytes()
    }

    fn wire(&self) -> Vec<u8> {
        let mut w = self.head();
        w.extend_from_slice(&self.body);
        w
    }
}

fn method() -> impl Strategy<Value = Method> {
    proptest::sample::select(Method::ALL.to_vec())
}

fn req() -> impl Strategy<Value = Req> {
    (
        method(),
        proptest::collection::vec("[a-zA-Z0-9._~-]{1,12}", 0..5),
        proptest::option::of("[a-z]{1,6}=[a-zA-Z0-9%+]{0,10}(&[a-z]{1,6}=[a-z0-9]{0,6}){0,3}"),
        proptest::collection::vec(
            ("X-[A-Za-z][A-Za-z0-9-]{0,15}", "[!-~]([ -~]{0,30}[!-~])?"),
            0..10,
        ),
        proptest::collection::vec(any::<u8>(), 0..64),
    )
        .prop_map(|(method, segs, query, headers, body)| Req {
            method,
            path: format!("/{}", segs.join("/")),
            query,
            headers,
            body,
        })
}

/// Parses `bytes`, asserting the invariants that hold for any input.
fn parse_checked(bytes: &[u8]) {
    let input = Bytes::copy_from_slice(bytes);
    match SIMDParser::new().parse(&input) {
        Ok((_req, rest)) => {
            assert!(rest.len() <= input.len());
            assert!(
                input.ends_with(&rest),
                "the remainder is not a suffix of the input"
            );
        }
        Err(e) => {
            if !e.is_incomplete() {
                let s = e.status().as_u16();
                assert!(
                    (400..=599).contains(&s),
                    "error status {s} for a parse error"
                );
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn parse_never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        parse_checked(&bytes);
    }

    #[test]
    fn parse_never_panics_on_mutated_requests(
        r in req(),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut bytes = r.wire();
        for (at, byte) in edits {
            let i = at.index(bytes.len());
            bytes[i] = byte;
        }
        parse_checked(&bytes);
        let n = cut.index(bytes.len() + 1);
        parse_checked(&bytes[..n]);
    }

    #[test]
    fn valid_requests_round_trip(r in req(), trailing in proptest::collection::vec(any::<u8>(), 0..32)) {
        let head = r.head();
        let mut wire = head.clone();
        wire.extend_from_slice(&r.body);
        wire.extend_from_slice(&trailing);
        let input = Bytes::from(wire);
        let (parsed, rest) = match SIMDParser::new().parse(&input) {
            Ok(ok) => ok,
            Err(e) => panic!("valid request rejected ({} {}): {}", e.status().as_u16(), e.is_incomplete(), head.escape_ascii()),
        };
        prop_assert_eq!(parsed.method(), r.method);
        prop_assert_eq!(parsed.path(), r.path.as_str());
        prop_assert_eq!(parsed.query(), r.query.as_deref());
        for (n, v) in &r.headers {
            // The first header of that name (names may repeat in the generated list).
            let first = r.headers.iter().find(|(m, _)| m.eq_ignore_ascii_case(n)).map(|(_, v)| v).unwrap();
            let got = parsed.header(&n.to_ascii_lowercase()).map(|b| b.to_vec());
            prop_assert_eq!(got, Some(first.as_bytes().to_vec()), "header {} (value {:?})", n, v);
        }
        prop_assert_eq!(parsed.header("host").map(|b| b.to_vec()), Some(b"localhost".to_vec()));
        // What follows the head is the body and everything after it, untouched.
        prop_assert_eq!(&rest[..], &input[head.len()..]);
    }

}

proptest! {
    // Each case parses every prefix of a head (hundreds of parses): fewer cases.
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn every_strict_prefix_of_a_valid_head_is_incomplete(r in req()) {
        let head = r.head();
        for n in 0..head.len() {
            let input = Bytes::copy_from_slice(&head[..n]);
            match SIMDParser::new().parse(&input) {
                Ok(_) => panic!("a partial head parsed as complete: {}", head[..n].escape_ascii()),
                Err(e) => prop_assert!(
                    e.is_incomplete(),
                    "prefix of {} bytes of a valid head is a hard error ({}): {}",
                    n,
                    e.status().as_u16(),
                    head[..n].escape_ascii()
                ),
            }
        }
    }
}

#[test]
fn known_bad_inputs_are_errors_not_incomplete() {
    let cases: &[(&[u8], u16)] = &[
        (b"GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nX: a\r\n b\r\n\r\n", 400),
        (b"GET\r\n\r\n", 400),
        (b"\x00\x01\x02\r\n\r\n", 400),
    ];
    for (bytes, status) in cases {
        let input = Bytes::copy_from_slice(bytes);
        match SIMDParser::new().parse(&input) {
            Ok(_) => panic!("parsed: {}", bytes.escape_ascii()),
            Err(e) => {
                assert!(!e.is_incomplete(), "incomplete: {}", bytes.escape_ascii());
                assert_eq!(e.status().as_u16(), *status, "{}", bytes.escape_ascii());
            }
        }
    }
}
