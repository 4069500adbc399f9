//! Connection setup and buffers: the per-worker buffer pools (`memory_opt`), buffer
//! auto-tuning (`connection_manager`) and request arenas (`arena`), each beside the
//! behaviour it replaces.
//!
//! Every exchange is one fresh connection through the real connection loop over an
//! in-memory duplex (`TestConnection`), so connection setup and teardown (buffer
//! allocation included) are part of what is timed. Before the timings, a counting
//! allocator prints allocations, reallocations and bytes per connection for each
//! configuration.
//!
//! Run with: `cargo bench -p armature-benches --bench connection`

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use armature_core::arena::{Arena, RequestArena};
use armature_core::connection_manager::ConnectionManagerConfig;
use armature_core::fast_response::FastResponse;
use armature_core::testing::TestConnection;
use armature_core::{App, Bytes, ServerConfig};
use criterion::{black_box, criterion_group, criterion_main, Criterion};
use tokio::runtime::Runtime;
use tokio::task::LocalSet;

/// The system allocator, counting what goes through it.
struct Counting;

static ALLOCS: AtomicU64 = AtomicU64::new(0);
static REALLOCS: AtomicU64 = AtomicU64::new(0);
static BYTES: AtomicU64 = AtomicU64::new(0);

// SAFETY: every call is forwarded unchanged to `System`; the counters only observe.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Relaxed);
        BYTES.fetch_add(layout.size() as u64, Relaxed);
        // SAFETY: forwarded with the caller's layout.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded with the caller's pointer and layout.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        REALLOCS.fetch_add(1, Relaxed);
        BYTES.fetch_add(new_size.saturating_sub(layout.size()) as u64, Relaxed);
        // SAFETY: forwarded with the caller's arguments.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn counters() -> [u64; 3] {
    [
        ALLOCS.load(Relaxed),
        REALLOCS.load(Relaxed),
        BYTES.load(Relaxed),
    ]
}

async fn plaintext() -> FastResponse {
    FastResponse::ok().with_static_body(b"Hello, World!")
}

async fn upload(body: Bytes) -> String {
    body.len().to_string()
}

/// Word lengths of the body, the scratch vector in a request arena.
async fn words_arena(arena: Arena, body: String) -> String {
    let mut lens = arena.alloc_vec::<usize>(64);
    lens.extend(body.split_whitespace().map(str::len));
    format!("{} {}", lens.len(), lens.iter().sum::<usize>())
}

/// The same with a heap `Vec`.
async fn words_heap(body: String) -> String {
    let mut lens = Vec::with_capacity(64);
    lens.extend(body.split_whitespace().map(str::len));
    format!("{} {}", lens.len(), lens.iter().sum::<usize>())
}

fn app(manager: ConnectionManagerConfig) -> App {
    App::new()
        .get("/plaintext", plaintext)
        .post("/upload", upload)
        .post("/words/arena", words_arena)
        .post("/words/heap", words_heap)
        .config(ServerConfig::default().connection_manager(manager))
}

fn post(path: &str, body: &[u8]) -> Vec<u8> {
    let mut req = format!(
        "POST {path} HTTP/1.1\r\nHost: bench\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    req.extend_from_slice(body);
    req
}

/// The configurations compared: today's defaults, and the pieces switched off.
fn configs() -> Vec<(&'static str, ConnectionManagerConfig)> {
    let d = ConnectionManagerConfig::default;
    vec![
        ("tuned + pool", d()),
        ("tuned, no pool", d().buffer_pool_size(0)),
        (
            "fixed 8 KiB + pool",
            d().min_buffer_size(8192).max_buffer_size(8192),
        ),
        (
            "fixed 8 KiB, no pool",
            d().min_buffer_size(8192)
                .max_buffer_size(8192)
                .buffer_pool_size(0),
        ),
    ]
}

struct Setup {
    rt: Runtime,
    local: LocalSet,
}

impl Setup {
    fn new() -> Self {
        Setup {
            rt: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime"),
            local: LocalSet::new(),
        }
    }

    fn roundtrip(&self, conn: &TestConnection<()>, raw: &[u8]) -> Vec<u8> {
        self.local.block_on(&self.rt, conn.roundtrip(raw))
    }

    /// Warms `conn` up (history and pools), then counts allocations per exchange.
    fn per_connection(&self, conn: &TestConnection<()>, raw: &[u8]) -> [f64; 3] {
        const N: u64 = 2000;
        for _ in 0..200 {
            self.roundtrip(conn, raw);
        }
        let before = counters();
        for _ in 0..N {
            black_box(self.roundtrip(conn, raw));
        }
        let after = counters();
        std::array::from_fn(|i| (after[i] - before[i]) as f64 / N as f64)
    }
}

fn workloads() -> Vec<(&'static str, Vec<u8>, &'static str)> {
    vec![
        (
            "get_plaintext",
            b"GET /plaintext HTTP/1.1\r\nHost: bench\r\n\r\n".to_vec(),
            "Hello, World!",
        ),
        (
            "upload_40k",
            post("/upload", &vec![b'x'; 40 * 1024]),
            "40960",
        ),
    ]
}

fn print_allocations(setup: &Setup) {
    eprintln!("\nper connection (one request each), after 200 warm-up connections:");
    eprintln!(
        "{:<16} {:<22} {:>8} {:>9} {:>10}",
        "workload", "config", "allocs", "reallocs", "bytes"
    );
    for (wname, raw, _) in workloads() {
        for (cname, manager) in configs() {
            let conn = TestConnection::new(app(manager)).expect("routes");
            let [a, r, b] = setup.per_connection(&conn, &raw);
            eprintln!("{wname:<16} {cname:<22} {a:>8.2} {r:>9.2} {b:>10.0}");
        }
    }
    let body = "lorem ipsum dolor sit amet ".repeat(20);
    for path in ["/words/heap", "/words/arena"] {
        let conn = TestConnection::new(app(ConnectionManagerConfig::default())).expect("routes");
        let [a, r, b] = setup.per_connection(&conn, &post(path, body.as_bytes()));
        eprintln!(
            "{:<16} {:<22} {a:>8.2} {r:>9.2} {b:>10.0}",
            "words_540b", path
        );
    }
    eprintln!();
}

fn bench_connection(c: &mut Criterion) {
    let setup = Setup::new();
    print_allocations(&setup);
    for (wname, raw, expect) in workloads() {
        let mut g = c.benchmark_group(format!("connection/{wname}"));
        for (cname, manager) in configs() {
            let conn = TestConnection::new(app(manager)).expect("routes");
            let out = setup.roundtrip(&conn, &raw);
            assert!(
                out.ends_with(expect.as_bytes()),
                "{wname}: {}",
                String::from_utf8_lossy(&out)
            );
            g.bench_function(cname, |b| {
                b.iter(|| black_box(setup.roundtrip(&conn, black_box(&raw))))
            });
        }
        g.finish();
    }

    let body = "lorem ipsum dolor sit amet ".repeat(20);
    let mut g = c.benchmark_group("connection/words_540b");
    for path in ["/words/heap", "/words/arena"] {
        let conn = TestConnection::new(app(ConnectionManagerConfig::default())).expect("routes");
        let raw = post(path, body.as_bytes());
        assert!(setup.roundtrip(&conn, &raw).ends_with(b"100 440"));
        g.bench_function(path, |b| {
            b.iter(|| black_box(setup.roundtrip(&conn, black_box(&raw))))
        });
    }
    g.finish();
}

#[derive(Clone, Copy)]
struct Node {
    key: u64,
    value: [u64; 4],
}

fn bench_arena(c: &mut Criterion) {
    let mut g = c.benchmark_group("arena/100_small_objects");
    g.bench_function("Box each", |b| {
        b.iter(|| {
            let v: Vec<Box<Node>> = (0..100u64)
                .map(|i| {
                    Box::new(Node {
                        key: i,
                        value: [i; 4],
                    })
                })
                .collect();
            black_box(v.iter().map(|n| n.key + n.value[3]).sum::<u64>())
        })
    });
    let mut arena = RequestArena::new();
    g.bench_function("RequestArena (reset per round)", |b| {
        b.iter(|| {
            {
                let mut refs = arena.alloc_vec::<&Node>(100);
                for i in 0..100u64 {
                    refs.push(arena.alloc_copy(Node {
                        key: i,
                        value: [i; 4],
                    }));
                }
                black_box(refs.iter().map(|n| n.key + n.value[3]).sum::<u64>());
            }
            arena.reset();
        })
    });
    g.finish();

    let mut g = c.benchmark_group("arena/vec_1k_bytes");
    g.bench_function("Vec::with_capacity", |b| {
        b.iter(|| {
            let mut v = Vec::with_capacity(1024);
            v.extend_from_slice(black_box(&[7u8; 1024]));
            black_box(v.len())
        })
    });
    let mut arena = RequestArena::new();
    g.bench_function("RequestArena::alloc_vec (reset per round)", |b| {
        b.iter(|| {
            {
                let mut v = arena.alloc_vec::<u8>(1024);
                v.extend_from_slice_copy(black_box(&[7u8; 1024]));
                black_box(v.len());
            }
            arena.reset();
        })
    });
    g.finish();
}

criterion_group!(benches, bench_connection, bench_arena);
criterion_main!(benches);
