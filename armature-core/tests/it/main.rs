//! Conformance suite for armature-core's HTTP/1.1 server: one integration-test binary,
//! one module per topic, every server on real TCP at `127.0.0.1:0`.
//!
//! Run with: `cargo test -p armature-core --test it`
//!
//! The peers are raw `std::net::TcpStream`s (for framing cases, where the exact bytes
//! matter) and hyper 1.x's client (an independent implementation of the protocol).
//! No test asserts a duration: timeouts are configured small and the tests only ask
//! that the connection is closed within a generous bound.

mod support;

mod backpressure;
mod binding;
mod builtin_middleware;
mod chunked;
mod compression;
mod connection_manager;
mod cors;
mod descriptors;
mod errors;
mod expect_continue;
mod extractors;
mod head;
mod http10;
mod hyper_client;
#[cfg(all(feature = "io_uring", target_os = "linux"))]
mod io_uring;
mod keep_alive;
mod limits;
mod metrics;
mod middleware;
mod panics;
mod pipelining;
mod proptest_parser;
mod rejections;
mod response_headers;
mod routing_compose;
mod routing_e2e;
mod shutdown;
mod sized_stream;
mod smuggling;
mod static_files;
mod streaming_bodies;
mod timeouts;
#[cfg(feature = "tls")]
mod tls;
mod websocket;
mod websocket_limits;
mod worker_state;
