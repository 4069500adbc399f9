//! JSON micro-benchmarks: `armature_core::json` beside plain serde_json.
//!
//! Run with: `cargo bench -p armature-benches --bench json`
//! and again with the simd-json backend:
//! `cargo bench -p armature-benches --bench json --features armature-core/simd-json`
//! (the `serde_json/*` lines are the same baseline in both runs; the `armature/*` lines
//! measure whichever backend was built). The `simd_json/*` lines call simd-json
//! directly: its serializer is what `json::to_vec` would use if serialization were
//! switched to simd-json (it is not; see `armature_core::json`).

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
    g.bench_function("simd_json::serde::to_vec (unused)", |b| {
        b.iter(|| simd_json::serde::to_vec(black_box(&hello)).unwrap())
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
    g.bench_function("simd_json::serde::to_vec (unused)", |b| {
        b.iter(|| simd_json::serde::to_vec(black_box(&small)).unwrap())
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
    g.bench_function("simd_json::serde::to_vec (unused)", |b| {
        b.iter(|| simd_json::serde::to_vec(black_box(&large)).unwrap())
    });
    g.finish();

    deserialize::<User>(c, "json/deserialize_small", &small_bytes);
    deserialize::<Vec<User>>(c, "json/deserialize_large", &large_bytes);
}

/// `T` from `bytes`: serde_json, `json::from_slice`, `json::from_slice_mut` (on a fresh
/// untimed copy each time, as for a handler owning its body buffer) and raw simd-json.
fn deserialize<T: for<'a> Deserialize<'a>>(c: &mut Criterion, group: &str, bytes: &[u8]) {
    let mut g = c.benchmark_group(group);
    g.throughput(Throughput::Bytes(bytes.len() as u64));
    g.bench_function("serde_json::from_slice", |b| {
        b.iter(|| serde_json::from_slice::<T>(black_box(bytes)).unwrap())
    });
    g.bench_function("armature::from_slice", |b| {
        b.iter(|| json::from_slice::<T>(black_box(bytes)).unwrap())
    });
    g.bench_function("armature::from_slice_mut (in place)", |b| {
        b.iter_batched_ref(
            || bytes.to_vec(),
            |buf| json::from_slice_mut::<T>(buf).unwrap(),
            BatchSize::SmallInput,
        )
    });
    g.bench_function("simd_json::serde::from_slice (in place)", |b| {
        b.iter_batched_ref(
            || bytes.to_vec(),
            |buf| simd_json::serde::from_slice::<T>(buf).unwrap(),
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

criterion_group!(benches, bench_json);
criterion_main!(benches);
