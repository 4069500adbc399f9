//! `ServerConfig`: workers, limits and timeouts, each with a sane default.

use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::time::Duration;

use bytes::Bytes;

use crate::connection_manager::ConnectionManagerConfig;
use crate::http::upgrade::OnUpgrade;
use crate::rt::drain::Draining;
use crate::rt::io::Io;

/// Server settings. Every limit has a default and answers with an exact status.
///
/// ```
/// use armature_core::connection_manager::ConnectionManagerConfig;
/// use armature_core::ServerConfig;
/// use std::time::Duration;
/// let config = ServerConfig::default()
///     .workers(2)
///     .max_body_size(1 << 20)
///     .connection_manager(
///         ConnectionManagerConfig::default().keep_alive_timeout(Duration::from_secs(30)),
///     );
/// assert_eq!(config.get_workers(), 2);
/// ```
#[derive(Clone, Debug)]
pub struct ServerConfig {
    pub(crate) workers: usize,
    pub(crate) max_head_size: usize,
    pub(crate) max_headers: usize,
    pub(crate) max_uri_len: usize,
    pub(crate) max_body_size: usize,
    pub(crate) head_timeout: Duration,
    pub(crate) body_timeout: Duration,
    pub(crate) drain_timeout: Duration,
    pub(crate) write_timeout: Duration,
    pub(crate) max_pending_output: usize,
    pub(crate) handle_signals: bool,
    pub(crate) backlog: u32,
    pub(crate) route_cache_size: usize,
    pub(crate) connection_manager: ConnectionManagerConfig,
    #[cfg(all(feature = "io_uring", target_os = "linux"))]
    pub(crate) io_uring: Option<crate::io_uring::IoUringConfig>,
    #[cfg(feature = "tls")]
    pub(crate) tls: Option<crate::tls::TlsConfig>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            workers: std::thread::available_parallelism().map_or(1, |n| n.get()),
            max_head_size: 16 * 1024,
            max_headers: 64,
            max_uri_len: 8 * 1024,
            max_body_size: 2 * 1024 * 1024,
            head_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(30),
            drain_timeout: Duration::from_secs(10),
            write_timeout: Duration::from_secs(30),
            max_pending_output: 128 * 1024,
            handle_signals: true,
            backlog: 1024,
            route_cache_size: 1024,
            connection_manager: ConnectionManagerConfig::default(),
            #[cfg(all(feature = "io_uring", target_os = "linux"))]
            io_uring: None,
            #[cfg(feature = "tls")]
            tls: None,
        }
    }
}

config_setters! {
    ServerConfig;
    /// Worker threads, each a single-threaded runtime with its own `SO_REUSEPORT`
    /// listener. Default: the number of CPUs.
    workers / get_workers: usize,
    /// Largest request head (request line + headers). Default 16 KiB; over it: `431`.
    max_head_size / get_max_head_size: usize,
    /// Most header lines in a request. Default 64; over it: `431`.
    max_headers / get_max_headers: usize,
    /// Longest request target. Default 8 KiB; over it: `414`.
    max_uri_len / get_max_uri_len: usize,
    /// Largest request body. Default 2 MiB; over it: `413`. A route (or a nested
    /// app) may set its own, larger or smaller: [`App::body_limit`](crate::App::body_limit).
    max_body_size / get_max_body_size: usize,
    /// Time a client has to send a whole request head once it started (slowloris
    /// guard). Default 10 s; then the connection is closed.
    head_timeout / get_head_timeout: std::time::Duration,
    /// Time a client has to send a declared body. Default 30 s. For a body streamed
    /// to its handler ([`StreamingBody`](crate::extract::StreamingBody)), the longest
    /// wait for its next bytes while the handler waits for them (`408`). On a WebSocket
    /// connection, the time a frame (or a message fragmented over several frames)
    /// has to arrive whole once it began; then it is closed with `1008` (see
    /// [`crate::ws`]).
    body_timeout / get_body_timeout: std::time::Duration,
    /// On shutdown, how long in-flight requests may take before connections are
    /// dropped. Default 10 s.
    drain_timeout / get_drain_timeout: std::time::Duration,
    /// Time a client has to take (read) the response bytes the server is sending,
    /// measured from when a write stops making progress (nginx's `send_timeout`).
    /// Default 30 s; then the connection is closed. WebSocket connections use it
    /// too.
    write_timeout / get_write_timeout: std::time::Duration,
    /// Backpressure on pipelining: once this many response bytes are waiting to be
    /// written, the connection stops answering further pipelined requests until
    /// they are sent. Default 128 KiB.
    max_pending_output / get_max_pending_output: usize,
    /// Stop gracefully on SIGINT and SIGTERM. Default `true`.
    handle_signals / get_handle_signals: bool,
    /// The listen backlog of each worker's socket. Default 1024.
    backlog / get_backlog: u32,
    /// Entries of each worker's LRU cache of dynamic-route matches (0 disables it).
    /// Default 1024.
    route_cache_size / get_route_cache_size: usize,
}

impl ServerConfig {
    /// Buffer auto-tuning, adaptive keep-alive and idle-connection culling, run by
    /// each worker (see [`crate::connection_manager`]). Every server has one; the
    /// default sizes buffers between 4 and 64 KiB, shortens keep-alive from 60 s to
    /// 5 s as a worker fills up, and keeps at most half the process's descriptor
    /// limit in idle connections, shared among the workers (at most 10 000 per
    /// worker; see
    /// [`ConnectionManagerConfig::max_idle_connections`]). The keep-alive timeout is set here, with
    /// [`ConnectionManagerConfig::keep_alive_timeout`] (the server's one keep-alive
    /// setting).
    ///
    /// ```
    /// use armature_core::connection_manager::ConnectionManagerConfig;
    /// use armature_core::ServerConfig;
    /// let config = ServerConfig::default()
    ///     .connection_manager(ConnectionManagerConfig::default().max_idle_connections(500));
    /// assert_eq!(config.get_connection_manager().get_max_idle_connections(), Some(500));
    /// ```
    pub fn connection_manager(mut self, value: ConnectionManagerConfig) -> Self {
        self.connection_manager = value;
        self
    }

    /// The connection manager settings.
    pub fn get_connection_manager(&self) -> &ConnectionManagerConfig {
        &self.connection_manager
    }

    /// Runs each worker on an io_uring ring instead of epoll (see
    /// [`crate::io_uring`]). When the kernel refuses the ring, the server prints one
    /// line saying why and runs on epoll. Off by default.
    ///
    /// ```
    /// use armature_core::io_uring::IoUringConfig;
    /// use armature_core::ServerConfig;
    /// let config = ServerConfig::default().io_uring(IoUringConfig::default().ring_size(512));
    /// assert_eq!(config.get_io_uring().map(|c| c.get_ring_size()), Some(512));
    /// ```
    #[cfg(all(feature = "io_uring", target_os = "linux"))]
    pub fn io_uring(mut self, value: crate::io_uring::IoUringConfig) -> Self {
        self.io_uring = Some(value);
        self
    }

    /// The io_uring settings, when the io_uring backend was asked for.
    #[cfg(all(feature = "io_uring", target_os = "linux"))]
    pub fn get_io_uring(&self) -> Option<&crate::io_uring::IoUringConfig> {
        self.io_uring.as_ref()
    }

    /// Serves HTTPS: every connection starts with a TLS handshake, then runs
    /// HTTP/1.1 as a plain one does (see [`crate::tls`]), on epoll or io_uring.
    /// The first worker reloads the certificate on `SIGHUP` (with
    /// [`handle_signals`](Self::handle_signals)) and when its files change. Off by
    /// default (the `tls` feature).
    ///
    /// ```
    /// use armature_core::tls::TlsConfig;
    /// use armature_core::ServerConfig;
    ///
    /// let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/certs");
    /// let tls = TlsConfig::from_pem_files(format!("{dir}/a.pem"), format!("{dir}/a.key"))?;
    /// let config = ServerConfig::default().tls(tls);
    /// assert!(config.get_tls().is_some());
    /// # Ok::<(), armature_core::Error>(())
    /// ```
    #[cfg(feature = "tls")]
    pub fn tls(mut self, value: crate::tls::TlsConfig) -> Self {
        self.tls = Some(value);
        self
    }

    /// The TLS settings, when the server answers TLS.
    #[cfg(feature = "tls")]
    pub fn get_tls(&self) -> Option<&crate::tls::TlsConfig> {
        self.tls.as_ref()
    }
}

impl OnUpgrade {
    /// The new protocol's run on the connection, until it ends, with this server's
    /// body, write and drain timeouts (the WebSocket takes them as plain values,
    /// [`OnUpgrade::begin`]).
    #[inline]
    pub(crate) fn start<T: Io + 'static>(
        self,
        io: T,
        read_ahead: Bytes,
        draining: &Rc<Draining>,
        config: &ServerConfig,
    ) -> Pin<Box<dyn Future<Output = ()>>> {
        self.begin(
            io,
            read_ahead,
            draining,
            config.body_timeout,
            config.write_timeout,
            config.drain_timeout,
        )
    }
}
