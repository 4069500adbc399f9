//! The io_uring backend (Linux, `io_uring` feature): its configuration, and how a
//! worker runs on a ring instead of epoll.
//!
//! Each worker thread owns one ring beside its tokio runtime. A driver task on the
//! worker's `LocalSet` owns the ring: connection tasks only queue submissions and wake
//! it, and because a woken task runs after the tasks already queued, the driver runs
//! once the connections of a loop turn have all queued theirs, and submits them in one
//! `io_uring_enter`. The ring signals an eventfd (`IORING_REGISTER_EVENTFD`) that the
//! driver watches through tokio's `AsyncFd`, so tokio's own epoll wait is the only
//! place the thread sleeps: timers, `spawn_local`, signals and everything else tokio
//! does keep working unchanged, and the connection loop (`conn::serve`) runs as it
//! does on epoll over a stream that implements `AsyncRead`/`AsyncWrite`.
//!
//! On the ring: one multishot accept per listener; one multishot receive per
//! connection into a provided-buffer ring shared by the worker's connections (an idle
//! connection holds no buffer: data waits in the ring's buffers until the connection
//! reads it); one `SEND` per batch of responses. The ring is set up with
//! `SINGLE_ISSUER` where the kernel has it (not `DEFER_TASKRUN`: see `driver`), and `SQPOLL` only
//! when [`IoUringConfig::sqpoll`] asks.
//!
//! When the kernel refuses (no `io_uring_setup`, disabled by sysctl or seccomp, a
//! needed operation missing) the server prints one line saying why and runs on epoll.

pub(crate) mod driver;
pub(crate) mod stream;

/// Settings of the io_uring backend, handed to
/// [`ServerConfig::io_uring`](crate::ServerConfig::io_uring).
///
/// ```
/// use armature_core::io_uring::IoUringConfig;
/// use armature_core::ServerConfig;
///
/// let uring = IoUringConfig::default().ring_size(256).sqpoll(false);
/// assert_eq!(uring.get_ring_size(), 256);
/// let config = ServerConfig::default().io_uring(uring);
/// assert!(config.get_io_uring().is_some());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IoUringConfig {
    pub(crate) ring_size: u32,
    pub(crate) sqpoll: bool,
    pub(crate) sqpoll_idle_ms: u32,
    pub(crate) buffers: u16,
    pub(crate) buffer_size: u32,
    pub(crate) max_buffers_per_connection: u16,
}

impl Default for IoUringConfig {
    fn default() -> Self {
        IoUringConfig {
            ring_size: 1024,
            sqpoll: false,
            sqpoll_idle_ms: 1000,
            buffers: 1024,
            buffer_size: 4096,
            max_buffers_per_connection: 16,
        }
    }
}

config_setters! {
    IoUringConfig;
    /// Submission queue entries of each worker's ring (a power of two; the kernel
    /// rounds up). The completion queue gets four times as many, since multishot
    /// operations complete many times per submission. Default 1024.
    ring_size / get_ring_size: u32,
    /// A kernel thread polls the submission queue (`IORING_SETUP_SQPOLL`), saving the
    /// submit syscall at the cost of a core spinning while busy. Off by default.
    sqpoll / get_sqpoll: bool,
    /// How long the `SQPOLL` thread spins idle before it sleeps. Default 1000 ms.
    sqpoll_idle_ms / get_sqpoll_idle_ms: u32,
    /// Receive buffers in each worker's provided-buffer ring (rounded up to a power of
    /// two, at most 32768). Default 1024.
    buffers / get_buffers: u16,
    /// Bytes of each receive buffer. Default 4096.
    buffer_size / get_buffer_size: u32,
    /// Received buffers one connection may hold unread before its receive is paused
    /// (so one client cannot take the whole ring). Default 16.
    max_buffers_per_connection / get_max_buffers_per_connection: u16,
}

/// Whether a test asked for the fallback: `ARMATURE_IO_URING_FORCE_FALLBACK=1` makes
/// the backend behave as if the kernel had refused the ring.
pub(crate) const FORCE_FALLBACK_ENV: &str = "ARMATURE_IO_URING_FORCE_FALLBACK";

/// Prints the fallback line once per process (every worker would otherwise print it).
pub(crate) fn report_fallback(why: &str) {
    use std::sync::atomic::{AtomicBool, Ordering};
    static REPORTED: AtomicBool = AtomicBool::new(false);
    if !REPORTED.swap(true, Ordering::Relaxed) {
        eprintln!("armature: io_uring unavailable ({why}); running on epoll");
    }
}
