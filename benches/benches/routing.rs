//! Routing micro-benchmarks: `Router::match_route` and `Router::match_cached` beside a
//! raw matchit lookup on the same 100-route table.
//!
//! Run with: `cargo bench -p armature-benches --bench routing`

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};

use armature_core::routing::{RouteCache, Router};
use armature_core::small_vec::PathParams;
use armature_core::Method;

/// Resources of a REST API; each gets the same nine routes (90 routes).
const RESOURCES: &[&str] = &[
    "users", "posts", "comments", "orders", "products", "carts", "invoices", "teams", "projects",
    "tickets",
];

/// Ten static routes beside them (100 routes in all).
const STATICS: &[&str] = &[
    "/",
    "/health",
    "/ready",
    "/metrics",
    "/login",
    "/logout",
    "/about",
    "/api/v1/status",
    "/api/v1/version",
    "/favicon.ico",
];

/// The 100 routes as (method, pattern in matchit syntax).
fn routes() -> Vec<(Method, String)> {
    let mut out: Vec<(Method, String)> = STATICS
        .iter()
        .map(|p| (Method::Get, p.to_string()))
        .collect();
    for r in RESOURCES {
        out.push((Method::Get, format!("/api/{r}")));
        out.push((Method::Post, format!("/api/{r}")));
        out.push((Method::Get, format!("/api/{r}/search")));
        out.push((Method::Get, format!("/api/{r}/{{id}}")));
        out.push((Method::Put, format!("/api/{r}/{{id}}")));
        out.push((Method::Delete, format!("/api/{r}/{{id}}")));
        out.push((Method::Get, format!("/api/{r}/{{id}}/history")));
        out.push((Method::Get, format!("/api/{r}/{{id}}/items/{{item}}")));
        out.push((Method::Get, format!("/files/{r}/{{*path}}")));
    }
    assert_eq!(out.len(), 100);
    out
}

/// A request mix: mostly dynamic reads, some static, a few misses.
const MIX: &[&str] = &[
    "/api/users/42",
    "/api/orders/1234567",
    "/health",
    "/api/products/99/items/7",
    "/api/teams/5/history",
    "/api/posts",
    "/api/tickets/31337",
    "/files/projects/docs/guide/intro.md",
    "/api/users/search",
    "/api/comments/8",
    "/metrics",
    "/api/carts/77/items/3",
    "/api/invoices/2024-0001",
    "/api/users/43",
    "/nope/nothing/here",
    "/api/projects/12",
];

/// Reads every parameter of a raw matchit match (what a handler needs), so the raw
/// baseline does the work the router's `PathParams` stand for.
fn raw_params(params: &matchit::Params<'_, '_>) -> usize {
    params.iter().map(|(k, v)| k.len() + v.len()).sum()
}

/// The same for the router's parameters.
fn our_params(params: &PathParams<'_>) -> usize {
    params.iter().map(|(k, v)| k.len() + v.len()).sum()
}

fn bench_routing(c: &mut Criterion) {
    let routes = routes();
    let mut router = Router::new();
    for (i, (method, pattern)) in routes.iter().enumerate() {
        router.route(*method, pattern, i).expect("valid route");
    }
    // The raw baseline: one matchit tree per method, nothing else.
    let mut raw: Vec<matchit::Router<usize>> = (0..Method::ALL.len())
        .map(|_| matchit::Router::new())
        .collect();
    for (i, (method, pattern)) in routes.iter().enumerate() {
        raw[method.index()]
            .insert(pattern.as_str(), i)
            .expect("valid route");
    }
    let raw_get = &raw[Method::Get.index()];

    let cases = [
        ("static", "/health"),
        ("dynamic_1_param", "/api/orders/1234567"),
        ("dynamic_2_params", "/api/products/99/items/7"),
        ("catch_all", "/files/projects/docs/guide/intro.md"),
        ("not_found", "/nope/nothing/here"),
    ];
    for (name, path) in cases {
        let mut g = c.benchmark_group(format!("routing/{name}"));
        g.bench_function("matchit::Router::at (raw)", |b| {
            b.iter(|| {
                raw_get
                    .at(black_box(path))
                    .map(|m| *m.value + raw_params(&m.params))
                    .ok()
            })
        });
        g.bench_function("Router::match_route", |b| {
            b.iter(|| {
                router
                    .match_route(Method::Get, black_box(path))
                    .map(|m| *m.value + our_params(&m.params))
                    .ok()
            })
        });
        g.bench_function("Router::match_route(\"GET\")", |b| {
            b.iter(|| {
                router
                    .match_route("GET", black_box(path))
                    .map(|m| *m.value + our_params(&m.params))
                    .ok()
            })
        });
        let mut cache = RouteCache::new(1024);
        g.bench_function("Router::match_cached (warm)", |b| {
            b.iter(|| {
                router
                    .match_cached(&mut cache, Method::Get, black_box(path))
                    .map(|m| *m.value + our_params(&m.params))
                    .ok()
            })
        });
        g.finish();
    }

    let mut g = c.benchmark_group("routing/mix_of_16");
    g.bench_function("matchit::Router::at (raw)", |b| {
        b.iter(|| {
            MIX.iter()
                .filter_map(|p| raw_get.at(black_box(p)).ok())
                .map(|m| *m.value + raw_params(&m.params))
                .sum::<usize>()
        })
    });
    g.bench_function("Router::match_route", |b| {
        b.iter(|| {
            MIX.iter()
                .filter_map(|p| router.match_route(Method::Get, black_box(p)).ok())
                .map(|m| *m.value + our_params(&m.params))
                .sum::<usize>()
        })
    });
    let mut cache = RouteCache::new(1024);
    g.bench_function("Router::match_cached (warm)", |b| {
        b.iter(|| {
            MIX.iter()
                .filter_map(|p| {
                    router
                        .match_cached(&mut cache, Method::Get, black_box(p))
                        .ok()
                })
                .map(|m| *m.value + our_params(&m.params))
                .sum::<usize>()
        })
    });
    // A cache too small for the working set: every dynamic lookup misses and inserts.
    let mut thrash = RouteCache::new(2);
    g.bench_function("Router::match_cached (capacity 2, thrashing)", |b| {
        b.iter(|| {
            MIX.iter()
                .filter_map(|p| {
                    router
                        .match_cached(&mut thrash, Method::Get, black_box(p))
                        .ok()
                })
                .map(|m| *m.value + our_params(&m.params))
                .sum::<usize>()
        })
    });
    g.finish();

    // High-cardinality traffic: every request a different id, so nothing repeats.
    let unique: Vec<String> = (0..65_536).map(|i| format!("/api/orders/{i}")).collect();
    let mut g = c.benchmark_group("routing/unique_ids");
    let mut next = 0;
    g.bench_function("Router::match_route", |b| {
        b.iter(|| {
            next = (next + 1) & 0xffff;
            router
                .match_route(Method::Get, black_box(&unique[next]))
                .map(|m| *m.value + our_params(&m.params))
                .ok()
        })
    });
    let mut cache = RouteCache::new(1024);
    g.bench_function("Router::match_cached (capacity 1024)", |b| {
        b.iter(|| {
            next = (next + 1) & 0xffff;
            router
                .match_cached(&mut cache, Method::Get, black_box(&unique[next]))
                .map(|m| *m.value + our_params(&m.params))
                .ok()
        })
    });
    g.finish();

    let mut g = c.benchmark_group("routing/method_not_allowed");
    g.bench_function("Router::match_route", |b| {
        b.iter(|| {
            router
                .match_route(Method::Patch, black_box("/api/users/42"))
                .is_err()
        })
    });
    g.finish();
}

criterion_group!(benches, bench_routing);
criterion_main!(benches);
