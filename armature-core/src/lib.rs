//! Armature core: a fast HTTP/1.1 framework.
//!
//! One current-thread tokio runtime per worker, each with its own `SO_REUSEPORT`
//! listener; a connection loop that answers every pipelined request in the read
//! buffer and writes the batch with one syscall; a zero-copy parser
//! ([`simd_parser`]); matchit routing with a static fast path and an LRU cache
//! ([`routing`]); extractors and responses shaped after axum; static files
//! ([`static_files`]) and WebSocket ([`ws`]).

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
mod server;
pub mod simd_parser;
pub mod small_vec;
pub mod static_files;
pub mod testing;
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
