//! Armature core: a fast HTTP/1.1 framework.
//!
//! One current-thread tokio runtime per worker, each with its own `SO_REUSEPORT`
//! listener; a connection loop that answers every pipelined request in the read
//! buffer and writes the batch with one syscall; a zero-copy parser
//! ([`simd_parser`]); matchit routing with a static fast path and an LRU cache
//! ([`routing`]); extractors and responses shaped after axum.

pub mod http;
pub mod json;
pub mod routing;
pub mod small_vec;

pub use http::{Method, StatusCode};
