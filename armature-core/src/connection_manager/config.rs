//! `ConnectionManagerConfig`: the builder of buffer, keep-alive and culling settings.

use std::time::Duration;

/// Settings of the per-worker [`ConnectionManager`](super::ConnectionManager):
/// buffer auto-tuning, adaptive keep-alive and idle-connection culling.
///
/// Every server has one: [`ServerConfig::connection_manager`] replaces the default.
///
/// ```
/// use armature_core::connection_manager::{ConnectionManager, ConnectionManagerConfig};
/// use armature_core::ServerConfig;
/// use std::time::Duration;
///
/// let config = ConnectionManagerConfig::default()
///     .min_buffer_size(4096)
///     .max_buffer_size(65536)
///     .buffer_history_size(1000)
///     .keep_alive_timeout(Duration::from_secs(60))
///     .min_keep_alive_timeout(Duration::from_secs(5))
///     .load_threshold_high(0.8)
///     .load_threshold_low(0.3)
///     .max_idle_connections(1000)
///     .idle_timeout(Duration::from_secs(300));
/// let manager = ConnectionManager::new(config.clone());
/// assert_eq!(manager.keep_alive_timeout(), Duration::from_secs(60)); // no load yet
/// let server = ServerConfig::default().connection_manager(config);
/// assert_eq!(server.get_connection_manager().get_max_idle_connections(), Some(1000));
/// ```
///
/// All numbers are per worker: each worker thread runs its own manager over its own
/// connections (no locks, no atomics).
///
/// [`ServerConfig::connection_manager`]: crate::ServerConfig::connection_manager
#[derive(Clone, Debug, PartialEq)]
pub struct ConnectionManagerConfig {
    pub(crate) min_buffer_size: usize,
    pub(crate) max_buffer_size: usize,
    pub(crate) buffer_history_size: usize,
    pub(crate) keep_alive_timeout: Duration,
    pub(crate) min_keep_alive_timeout: Duration,
    pub(crate) load_threshold_high: f64,
    pub(crate) load_threshold_low: f64,
    /// `None`: derived from the descriptor limit ([`default_max_idle`]).
    pub(crate) max_idle_connections: Option<usize>,
    pub(crate) idle_timeout: Duration,
    pub(crate) buffer_pool_size: usize,
}

impl Default for ConnectionManagerConfig {
    fn default() -> Self {
        ConnectionManagerConfig {
            min_buffer_size: 4 * 1024,
            max_buffer_size: 64 * 1024,
            buffer_history_size: 1000,
            keep_alive_timeout: DEFAULT_KEEP_ALIVE,
            min_keep_alive_timeout: Duration::from_secs(5),
            load_threshold_high: 0.8,
            load_threshold_low: 0.3,
            max_idle_connections: None,
            idle_timeout: Duration::from_secs(300),
            buffer_pool_size: 64,
        }
    }
}

/// The keep-alive timeout unless set.
const DEFAULT_KEEP_ALIVE: Duration = Duration::from_secs(60);

config_setters! {
    ConnectionManagerConfig;
    /// Smallest read (and write) buffer a new connection starts with. Default 4 KiB.
    min_buffer_size / get_min_buffer_size: usize,
    /// Largest read (and write) buffer a new connection starts with, and the largest
    /// buffer kept in the worker's buffer pool. A request larger than this still
    /// works: its connection's buffer grows for it. Default 64 KiB.
    max_buffer_size / get_max_buffer_size: usize,
    /// How many recent traffic samples the buffer sizing looks at (a ring per worker;
    /// 0 turns auto-tuning off: every connection starts with 8 KiB clamped to
    /// `[min, max]`). Default 1000.
    buffer_history_size / get_buffer_history_size: usize,
    /// The shortest idle keep-alive timeout, reached when the worker's load is at or
    /// above `load_threshold_high`. Default 5 s (never more than the keep-alive
    /// timeout itself).
    min_keep_alive_timeout / get_min_keep_alive_timeout: Duration,
    /// Load at and above which idle connections get `min_keep_alive_timeout`.
    /// Default 0.8.
    load_threshold_high / get_load_threshold_high: f64,
    /// Load at and below which idle connections get the full keep-alive timeout;
    /// between the thresholds the timeout shrinks linearly. Default 0.3.
    load_threshold_low / get_load_threshold_low: f64,
    /// Hard cap on how long a connection may stay idle, whatever the keep-alive
    /// settings say. Default 300 s.
    idle_timeout / get_idle_timeout: Duration,
    /// Read buffers and write buffers each worker keeps for reuse by new connections
    /// (0 disables the pools). A pooled buffer is at most `max_buffer_size`, so a
    /// worker's pools hold at most `2 × buffer_pool_size × max_buffer_size` bytes
    /// (8 MiB with the defaults; far less for small traffic). Default 64 of each.
    buffer_pool_size / get_buffer_pool_size: usize,
}

impl ConnectionManagerConfig {
    /// Most idle connections a worker keeps: past it, the connections idle the
    /// longest are closed. Also the worker's capacity in the load figure
    /// (`live connections / max_idle_connections`). 0 turns culling off (and the
    /// load is then taken as 0).
    ///
    /// Default: half the process's file-descriptor limit (the soft `RLIMIT_NOFILE`,
    /// read when the server starts) divided among the workers, at most 10 000 and at
    /// least 1 per worker; the other half is left for busy connections, files and
    /// the app's own sockets. With the common soft limit of 1024 and 2 workers that
    /// is 256 each; with a limit of 1 048 576, 10 000. Idle connections are also
    /// closed, longest idle first, when `accept` runs out of descriptors (see
    /// [`crate::connection_manager`]).
    pub fn max_idle_connections(mut self, value: usize) -> Self {
        self.max_idle_connections = Some(value);
        self
    }

    /// The configured `max_idle_connections`; `None` when it is derived from the
    /// descriptor limit (the default).
    pub fn get_max_idle_connections(&self) -> Option<usize> {
        self.max_idle_connections
    }

    /// The idle keep-alive timeout: how long a connection waits for its next
    /// request while the load is at or below `load_threshold_low` (the longest it
    /// waits; the connection manager shortens it under load). The server's one
    /// keep-alive setting: set it through
    /// [`ServerConfig::connection_manager`](crate::ServerConfig::connection_manager).
    /// Default 60 s.
    pub fn keep_alive_timeout(mut self, value: Duration) -> Self {
        self.keep_alive_timeout = value;
        self
    }

    /// The keep-alive timeout.
    pub fn get_keep_alive_timeout(&self) -> Duration {
        self.keep_alive_timeout
    }
}

/// The settings a manager runs with: defaults filled in, contradictions settled.
#[derive(Clone, Debug)]
pub(crate) struct Resolved {
    pub min_buffer: usize,
    pub max_buffer: usize,
    pub history: usize,
    pub keep_alive_max: Duration,
    pub keep_alive_min: Duration,
    pub low: f64,
    pub high: f64,
    /// `usize::MAX` when culling is off.
    pub max_idle: usize,
    pub idle_timeout: Duration,
    pub pool_size: usize,
}

/// Most idle connections per worker when none is configured.
const MAX_DEFAULT_IDLE: usize = 10_000;

/// The default `max_idle_connections` of each of `workers` workers: half the soft
/// `RLIMIT_NOFILE` divided among them, within `1..=10 000` (10 000 when the limit
/// cannot be read or is unlimited).
pub(crate) fn default_max_idle(workers: usize) -> usize {
    match nofile_limit() {
        Some(limit) => (limit / 2 / workers.max(1)).clamp(1, MAX_DEFAULT_IDLE),
        None => MAX_DEFAULT_IDLE,
    }
}

/// The soft limit on this process's open file descriptors; `None` when unlimited or
/// unreadable.
pub(crate) fn nofile_limit() -> Option<usize> {
    let mut r = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `getrlimit` only writes the struct it is given, which outlives the call.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut r) } != 0 {
        return None;
    }
    if r.rlim_cur == libc::RLIM_INFINITY {
        return None;
    }
    usize::try_from(r.rlim_cur).ok()
}

impl ConnectionManagerConfig {
    /// Orders the bounds: `min <= max` for buffers and timeouts, `low <= high` for
    /// loads; an unset `max_idle_connections` becomes the default for one of
    /// `workers` workers.
    pub(crate) fn resolve(&self, workers: usize) -> Resolved {
        let max_buffer = self.max_buffer_size.max(1);
        let min_buffer = self.min_buffer_size.clamp(1, max_buffer);
        let keep_alive_max = self.keep_alive_timeout;
        let keep_alive_min = self.min_keep_alive_timeout.min(keep_alive_max);
        let finite = |x: f64, d: f64| if x.is_finite() { x } else { d };
        let high = finite(self.load_threshold_high, 0.8);
        let low = finite(self.load_threshold_low, 0.3).min(high);
        Resolved {
            min_buffer,
            max_buffer,
            history: self.buffer_history_size,
            keep_alive_max,
            keep_alive_min,
            low,
            high,
            max_idle: match self
                .max_idle_connections
                .unwrap_or_else(|| default_max_idle(workers))
            {
                0 => usize::MAX,
                n => n,
            },
            idle_timeout: self.idle_timeout,
            pool_size: self.buffer_pool_size,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contradictions_are_settled() {
        let r = ConnectionManagerConfig::default()
            .min_buffer_size(100_000)
            .max_buffer_size(10)
            .keep_alive_timeout(Duration::from_secs(30))
            .min_keep_alive_timeout(Duration::from_secs(90))
            .load_threshold_low(0.9)
            .load_threshold_high(0.5)
            .resolve(1);
        assert_eq!((r.min_buffer, r.max_buffer), (10, 10));
        assert_eq!(r.keep_alive_max, Duration::from_secs(30));
        assert_eq!(r.keep_alive_min, Duration::from_secs(30));
        assert_eq!((r.low, r.high), (0.5, 0.5));
    }

    #[test]
    fn keep_alive_defaults_to_60_s() {
        let r = ConnectionManagerConfig::default().resolve(1);
        assert_eq!(r.keep_alive_max, Duration::from_secs(60));
        assert_eq!(r.keep_alive_min, Duration::from_secs(5));
    }

    #[test]
    fn the_default_idle_cap_is_half_the_descriptor_limit_shared_by_workers() {
        let Some(limit) = nofile_limit() else {
            assert_eq!(default_max_idle(4), MAX_DEFAULT_IDLE);
            return;
        };
        for workers in [1, 2, 3, 16] {
            let want = (limit / 2 / workers).clamp(1, MAX_DEFAULT_IDLE);
            let r = ConnectionManagerConfig::default().resolve(workers);
            assert_eq!(r.max_idle, want, "{workers} workers, limit {limit}");
            assert!(r.max_idle * workers <= (limit / 2).max(workers));
        }
        let set = ConnectionManagerConfig::default().max_idle_connections(7);
        assert_eq!(set.resolve(16).max_idle, 7, "a configured cap is kept");
        let off = ConnectionManagerConfig::default().max_idle_connections(0);
        assert_eq!(off.resolve(1).max_idle, usize::MAX, "0 turns culling off");
    }
}
