//! Armature core: a fast HTTP/1.1 framework.
//!
//! One current-thread tokio runtime per worker, each with its own `SO_REUSEPORT`
//! listener; a connection loop that answers every pipelined request in the read
//! buffer and writes the batch with one syscall; a zero-copy parser
//! ([`simd_parser`]); matchit routing with a static fast path and an LRU cache
//! ([`routing`]); extractors and responses shaped after axum; static files
//! ([`static_files`]) and WebSocket ([`ws`]).
//!
//! # Layers
//!
//! Each module belongs to one layer and imports only from its own layer or the
//! ones below; no two files import each other, directly or around a cycle.
//! `tests/layering` reads this table and the sources and fails on an import that
//! points up (naming the file, the line and the rule) and on any cycle.
//!
//! | layer | modules | what it holds |
//! |---|---|---|
//! | 0 foundation | `macros`, `util`, `rt`, `small_vec`, `de`, `json`, `memory_opt`, `arena` | byte scans, the transport trait and drain signal, the per-worker table, inline collections, decoding, pools |
//! | 1 io | `io_uring` | IO backends: a stream and its driver, no accept loop |
//! | 2 types | `http`, `error`, `fast_response`, `response` | requests, responses, the upgrade hand-off, the error |
//! | 3 wire | `proto`, `routing` | the parser, the encoder, the router |
//! | 4 request | `future_slot`, `extract`, `handler` | extractors and handlers |
//! | 5 composition | `middleware`, `ws`, `static_files` | what wraps or serves a handler |
//! | 6 services | `connection_manager`, `tls` | per-worker buffers, keep-alive, culling; TLS: certificates, their reload, the handshake and the TLS stream |
//! | 7 server | `server` | the app, workers, accept loops, the connection loop, dispatch |
//! | 8 facades | `simd_parser`, `vectored_io`, `testing`, `lib` | the guide's public paths over the layers below |

// First, so its macros are visible to every module below.
#[macro_use]
mod macros;

pub mod arena;
pub mod connection_manager;
pub mod de;
mod error;
pub mod extract;
pub mod fast_response;
mod future_slot;
pub mod handler;
pub mod http;
#[cfg(all(feature = "io_uring", target_os = "linux"))]
pub mod io_uring;
pub mod json;
pub mod memory_opt;
pub mod middleware;
mod proto;
mod response;
pub mod routing;
mod rt;
mod server;
pub mod simd_parser;
pub mod small_vec;
pub mod static_files;
pub mod testing;
#[cfg(feature = "tls")]
pub mod tls;
pub mod vectored_io;
pub mod ws;

pub use bytes::Bytes;
pub use error::Error;
pub use extract::{Json, Path, Query, State};
pub use handler::Handler;
pub use http::{HttpRequest, HttpResponse, Method, StatusCode};
pub use response::{IntoResponse, Response};
pub use server::{
    addr_from_env, App, RunningServer, Server, ServerConfig, ShutdownHandle, WorkerInfo,
};
pub use static_files::{ServeDir, ServeFile};

/// The README's Rust examples, compiled as doctests. This is the crate's own
/// README (it travels in the package); the workspace README shows the same
/// quick start, which a test in cargo-armature keeps identical.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
