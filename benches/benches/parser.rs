//! Request-head parsing: Armature's `SIMDParser::parse` (which also builds the owned
//! `HttpRequest`) beside a raw `httparse::Request::parse` into an uninit header array.
//!
//! Run with: `cargo bench -p armature-benches --bench parser`

use std::mem::MaybeUninit;

use armature_core::simd_parser::SIMDParser;
use armature_core::Bytes;
use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};

/// A browser-like GET: a query string and eight headers.
const BROWSER_GET: &[u8] = b"GET /api/users/42?page=2&sort=name HTTP/1.1\r\n\
Host: app.example.com\r\n\
User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0\r\n\
Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n\
Accept-Language: en-US,en;q=0.5\r\n\
Accept-Encoding: gzip, deflate, br, zstd\r\n\
Connection: keep-alive\r\n\
Cookie: session=3f9a1c0b7e; theme=dark\r\n\
Upgrade-Insecure-Requests: 1\r\n\
\r\n";

/// A small JSON POST; the body follows the head in the same buffer.
const SMALL_POST: &[u8] = b"POST /users HTTP/1.1\r\n\
Host: app.example.com\r\n\
Content-Type: application/json\r\n\
Content-Length: 38\r\n\
Accept: */*\r\n\
\r\n\
{\"name\":\"Ada Lovelace\",\"age\":36,\"id\":1}";

/// Armature's default header limit, so both sides get the same array size.
const MAX_HEADERS: usize = 64;

fn httparse_head(buf: &[u8]) -> usize {
    let mut headers = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut []);
    match req.parse_with_uninit_headers(buf, &mut headers) {
        Ok(httparse::Status::Complete(n)) => {
            black_box((req.method, req.path, req.headers.len()));
            n
        }
        other => panic!("httparse: {other:?}"),
    }
}

fn bench_parser(c: &mut Criterion) {
    let parser = SIMDParser::new();
    for (name, raw) in [("browser_get", BROWSER_GET), ("small_post", SMALL_POST)] {
        let raw = Bytes::from_static(raw);
        // Both must accept the input and agree on where the head ends.
        let (req, rest) = parser.parse(&raw).expect("armature parses the fixture");
        assert_eq!(
            raw.len() - rest.len(),
            httparse_head(&raw),
            "{name}: head length"
        );
        assert!(req.header_str("host").is_some(), "{name}: host header");

        let mut g = c.benchmark_group(format!("parser/{name}"));
        g.throughput(Throughput::Bytes(raw.len() as u64));
        g.bench_function("armature", |b| {
            b.iter(|| black_box(parser.parse(black_box(&raw)).expect("valid")))
        });
        g.bench_function("httparse", |b| b.iter(|| httparse_head(black_box(&raw))));
        g.finish();
    }
}

criterion_group!(benches, bench_parser);
criterion_main!(benches);
