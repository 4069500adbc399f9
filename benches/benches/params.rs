//! Parameter-parsing micro-benchmarks: `QueryParams`, `Cookies` and `FormFields` beside
//! the obvious `Vec<(String, String)>` parser, and the `Query<T>` path
//! (`QueryParams::parse` + `de::from_pairs`).
//!
//! Run with: `cargo bench -p armature-benches --bench params`

use std::borrow::Cow;
use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use serde::Deserialize;

use armature_core::de::from_pairs;
use armature_core::small_vec::{Cookies, FormFields, QueryParams};

/// The baseline: what a handler would write without the module, owning every string.
fn vec_parse_urlencoded(input: &str) -> Vec<(String, String)> {
    input
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

fn decode(s: &str) -> String {
    let plus = s.replace('+', " ");
    percent_encoding::percent_decode_str(&plus)
        .decode_utf8_lossy()
        .into_owned()
}

fn vec_parse_cookies(header: &str) -> Vec<(String, String)> {
    header
        .split(';')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (k.trim().to_owned(), v.trim().trim_matches('"').to_owned())
        })
        .collect()
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct Search<'a> {
    q: Cow<'a, str>,
    page: Option<u32>,
    per_page: Option<u32>,
    sort: Option<&'a str>,
}

fn bench_params(c: &mut Criterion) {
    let queries = [
        ("query_2_plain", "name=Alice&age=30"),
        (
            "query_5_plain",
            "q=rust&page=2&per_page=50&sort=desc&lang=en",
        ),
        (
            "query_4_encoded",
            "q=rust+web+framework&email=alice%40example.com&tag=a%2Bb&x=%E2%82%AC",
        ),
    ];
    for (name, input) in queries {
        let mut g = c.benchmark_group(format!("params/{name}"));
        g.bench_function("Vec<(String, String)>", |b| {
            b.iter(|| vec_parse_urlencoded(black_box(input)))
        });
        g.bench_function("QueryParams::parse", |b| {
            b.iter(|| QueryParams::parse(black_box(input)))
        });
        g.finish();
    }

    let many: String = (0..20)
        .map(|i| format!("k{i}=v{i}"))
        .collect::<Vec<_>>()
        .join("&");
    let mut g = c.benchmark_group("params/query_20_spilled");
    g.bench_function("Vec<(String, String)>", |b| {
        b.iter(|| vec_parse_urlencoded(black_box(&many)))
    });
    g.bench_function("QueryParams::parse", |b| {
        b.iter(|| QueryParams::parse(black_box(&many)))
    });
    g.finish();

    let header = r#"session=4f2a9c1e8b7d6a5f; theme="dark"; lang=en-US; _ga=GA1.2.1234567890.1700000000; consent=yes"#;
    let mut g = c.benchmark_group("params/cookies_5");
    g.bench_function("Vec<(String, String)>", |b| {
        b.iter(|| vec_parse_cookies(black_box(header)))
    });
    g.bench_function("Cookies::parse", |b| {
        b.iter(|| Cookies::parse(black_box(header)))
    });
    g.bench_function("Cookies::parse + into_owned", |b| {
        b.iter(|| Cookies::parse(black_box(header)).into_owned())
    });
    g.finish();

    let form = "name=Alice+Smith&email=alice%40example.com&age=30&city=Paris&country=FR\
                &zip=75001&phone=%2B33123456789&newsletter=on&plan=pro&ref=homepage";
    let mut g = c.benchmark_group("params/form_10");
    g.bench_function("Vec<(String, String)>", |b| {
        b.iter(|| vec_parse_urlencoded(black_box(form)))
    });
    g.bench_function("FormFields::parse", |b| {
        b.iter(|| FormFields::parse(black_box(form)))
    });
    g.finish();

    let query = "q=rust+web&page=2&per_page=50&sort=desc";
    let mut g = c.benchmark_group("params/query_into_struct");
    g.bench_function("QueryParams::parse + de::from_pairs", |b| {
        b.iter(|| {
            let params = QueryParams::parse(black_box(query));
            from_pairs::<Search<'_>, _>(params.iter())
                .map(|s| s.page)
                .ok()
        })
    });
    g.finish();
}

criterion_group!(benches, bench_params);
criterion_main!(benches);
