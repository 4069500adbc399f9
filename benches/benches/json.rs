//! JSON micro-benchmarks: `armature_core::json` beside plain serde_json.
//!
//! Run with: `cargo bench -p armature-benches --bench json`
//! and again with the simd-json backend:
//! `cargo bench -p armature-benches --bench json --features armature-core/simd-json`
//! (the `serde_json/*` lines are the same baseline in both runs; the `armature/*` lines
//! measure whichever backend was built).

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use serde::{Deserialize, Serialize};

use armature_core::json;

/// A typical small API payload (about 100 bytes of JSON).
#[derive(Serialize, Deserialize, Clone)]
struct User {
    id: u64,
    name: String,
    email: String,
    active: bool,
    score: f64,
    tags: Vec<String>,
}

fn user(i: u64) -> User {
    User {
        id: i,
        name: format!("User Number {i}"),
        email: format!("user{i}@example.com"),
        active: (i & 1) == 0,
        score: i as f64 * 1.25,
        tags: vec!["admin".into(), "beta".into()],
    }
}

/// `{"message":"Hello, World!"}`, the TechEmpower JSON test body.
#[derive(Serialize, Deserialize)]
struct Message<'a> {
    message: &'a str,
}

fn bench_json(c: &mut Criterion) {
    let hello = Message {
        message: "Hello, World!",
    };
    let small = user(42);
    let large: Vec<User> = (0..200).map(user).collect();
    let small_bytes = serde_json::to_vec(&small).unwrap();
    let large_bytes = serde_json::to_vec(&large).unwrap();

    let mut g = c.benchmark_group("json/serialize_hello");
    g.bench_function("serde_json::to_vec", |b| {
        b.iter(|| serde_json::to_vec(black_box(&hello)).unwrap())
    });
    g.bench_function("armature::to_vec", |b| {
        b.iter(|| json::to_vec(black_box(&hello)).unwrap())
    });
    g.finish();

    let mut g = c.benchmark_group("json/serialize_small");
    g.throughput(Throughput::Bytes(small_bytes.len() as u64));
    g.bench_function("serde_json::to_vec", |b| {
        b.iter(|| serde_json::to_vec(black_box(&small)).unwrap())
    });
    g.bench_function("armature::to_vec", |b| {
        b.iter(|| json::to_vec(black_box(&small)).unwrap())
    });
    let mut buf = Vec::with_capacity(256);
    g.bench_function("armature::to_writer(reused Vec)", |b| {
        b.iter(|| {
            buf.clear();
            json::to_writer(&mut buf, black_box(&small)).unwrap();
        })
    });
    g.finish();

    let mut g = c.benchmark_group("json/serialize_large");
    g.throughput(Throughput::Bytes(large_bytes.len() as u64));
    g.bench_function("serde_json::to_vec", |b| {
        b.iter(|| serde_json::to_vec(black_box(&large)).unwrap())
    });
    g.bench_function("armature::to_vec", |b| {
        b.iter(|| json::to_vec(black_box(&large)).unwrap())
    });
    g.finish();

    for (name, bytes) in [("small", &small_bytes), ("large", &large_bytes)] {
        let mut g = c.benchmark_group(format!("json/deserialize_{name}"));
        g.throughput(Throughput::Bytes(bytes.len() as u64));
        if name == "small" {
            g.bench_function("serde_json::from_slice<User>", |b| {
                b.iter(|| serde_json::from_slice::<User>(black_box(bytes)).unwrap())
            });
            g.bench_function("armature::from_slice<User>", |b| {
                b.iter(|| json::from_slice::<User>(black_box(bytes)).unwrap())
            });
            g.bench_function("armature::from_slice_mut<User>", |b| {
                b.iter_batched_ref(
                    || bytes.clone(),
                    |buf| json::from_slice_mut::<User>(buf).unwrap(),
                    BatchSize::SmallInput,
                )
            });
        } else {
            g.bench_function("serde_json::from_slice<Vec<User>>", |b| {
                b.iter(|| serde_json::from_slice::<Vec<User>>(black_box(bytes)).unwrap())
            });
            g.bench_function("armature::from_slice<Vec<User>>", |b| {
                b.iter(|| json::from_slice::<Vec<User>>(black_box(bytes)).unwrap())
            });
            g.bench_function("armature::from_slice_mut<Vec<User>>", |b| {
                b.iter_batched_ref(
                    || bytes.clone(),
                    |buf| json::from_slice_mut::<Vec<User>>(buf).unwrap(),
                    BatchSize::SmallInput,
                )
            });
        }
        g.finish();
    }
}

criterion_group!(benches, bench_json);
criterion_main!(benches);
