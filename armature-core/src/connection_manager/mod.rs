//! Connection management: buffer auto-tuning, adaptive keep-alive and idle-connection
//! culling, run by each worker over its own sockets.
//!
//! Every worker owns one [`ConnectionManager`], built from
//! [`ServerConfig::connection_manager`](crate::ServerConfig::connection_manager)
//! (a default one when the app sets none). On the request path it:
//!
//! - **sizes buffers**: each connection reports the size of the largest request
//!   (head + body) and of the largest response batch it handled, each time its read
//!   buffer is refilled (about once per buffer's worth of traffic) and when it
//!   closes; the last `buffer_history_size` reports form a histogram, and
//!   a new connection's read and write buffers start at the power of two at or above
//!   their 95th percentile, clamped to `[min_buffer_size, max_buffer_size]`. Large
//!   uploads then land in one buffer instead of growing one; small requests take
//!   4 KiB instead of 8. Buffers come from (and go back to) per-worker
//!   [`ObjectPool`]s, so connection churn does not
//!   allocate them each time;
//! - **adapts keep-alive**: the worker's *load* is its live connections divided by
//!   `max_idle_connections`. At or below `load_threshold_low` an idle connection
//!   waits `keep_alive_timeout` for its next request; at or above
//!   `load_threshold_high` it waits `min_keep_alive_timeout`; in between, linearly
//!   less. The timeout is taken when the connection goes idle;
//! - **culls idle connections**: when more than `max_idle_connections` connections
//!   are idle (waiting for a request, including ones just accepted), the ones idle
//!   the longest are closed (`shutdown(SHUT_RD)` on their socket, which ends their
//!   connection loop; about 1/16 more than the excess, so culling does not rescan
//!   on every new idle connection; `max_idle_connections(0)` turns culling off).
//!   `idle_timeout` caps every idle wait. The default cap follows the process's
//!   descriptor limit (half the soft `RLIMIT_NOFILE`, shared among the workers);
//! - **relieves descriptor pressure**: when `accept` fails because the process (or
//!   the system) is out of file descriptors (`EMFILE`, `ENFILE`), the worker closes
//!   its longest-idle connections, an eighth of its idle ones per try (at least 1,
//!   at most 32), and accepts again as soon as they are gone; with none idle it
//!   retries after a short pause (10 ms, doubling up to 100 ms) instead of
//!   spinning. One line is logged (`tracing`, target `armature::server`, level
//!   WARN) when such an episode begins; a new one begins after 10 s without
//!   exhaustion. Closed connections count in `culled_connections`.
//!
//! Handlers can read their worker's figures with [`worker_stats`].

pub(crate) mod buffers;
mod config;
mod history;
pub(crate) mod registry;

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::os::fd::RawFd;
use std::rc::Rc;
use std::time::Duration;

use bytes::BytesMut;
use tokio::sync::Notify;

pub(crate) use config::nofile_limit;
pub use config::ConnectionManagerConfig;
use config::Resolved;
use history::SizeHistory;

use crate::future_slot::{self, FutureSlot};
use crate::memory_opt::{ObjectPool, PoolStats};
use crate::proto::encode::OutBuffer;

/// The quantile of recent traffic that new buffers are sized for.
const QUANTILE: f64 = 0.95;

/// The buffer size before any traffic was seen (clamped to the configured bounds).
const INITIAL_BUFFER: usize = 8 * 1024;

/// One worker's connection manager: traffic history, buffer pools, the registry of
/// live connections and the current keep-alive timeout.
///
/// The server builds one per worker from its [`ConnectionManagerConfig`]; one built
/// with [`ConnectionManager::new`] is the same policy, to inspect or to drive by
/// hand (record traffic, ask for buffer sizes and timeouts).
///
/// ```
/// use armature_core::connection_manager::{ConnectionManager, ConnectionManagerConfig};
///
/// let manager = ConnectionManager::new(
///     ConnectionManagerConfig::default()
///         .min_buffer_size(4096)
///         .max_buffer_size(65536)
///         .buffer_history_size(1000),
/// );
/// assert_eq!(manager.read_buffer_size(), 8192); // nothing seen yet
/// for _ in 0..100 {
///     manager.record_request(200);
/// }
/// assert_eq!(manager.read_buffer_size(), 4096); // small traffic: the minimum
/// for _ in 0..100 {
///     manager.record_request(40_000);
/// }
/// assert_eq!(manager.read_buffer_size(), 65536); // uploads: room for a whole one
/// ```
///
/// It is single-threaded (`!Sync`): a worker's connections share it without locks.
pub struct ConnectionManager {
    config: ConnectionManagerConfig,
    settings: Resolved,
    requests: RefCell<SizeHistory>,
    responses: RefCell<SizeHistory>,
    read_size: Cell<usize>,
    write_size: Cell<usize>,
    /// The idle keep-alive timeout for the current load.
    keep_alive: Cell<Duration>,
    conns: RefCell<HashMap<u64, Rc<Slot>>>,
    next_id: Cell<u64>,
    idle: Cell<usize>,
    /// Stamps idle periods in the order they began (the oldest has the smallest).
    idle_seq: Cell<u64>,
    culled: Cell<u64>,
    /// Connections closed for descriptors whose loops have not ended yet.
    shedding: Cell<usize>,
    drained: Notify,
    read_pool: ObjectPool<BytesMut>,
    write_pool: ObjectPool<OutBuffer>,
    /// The connections' handler-future memory (`future_slot`), pooled as the buffers.
    future_pool: ObjectPool<FutureSlot>,
}

/// A live connection as the registry (`registry.rs`) sees it: here, beside the
/// manager that holds the registry.
#[derive(Debug)]
pub(super) struct Slot {
    pub(super) fd: RawFd,
    /// Waiting for the first byte of a request (or just accepted).
    pub(super) idle: Cell<bool>,
    /// When the current idle period began, as a stamp from `idle_seq`.
    pub(super) since: Cell<u64>,
    /// Closed to free a descriptor; counted in `shedding` until it unregisters.
    pub(super) shed: Cell<bool>,
}

/// A worker's connection figures, from [`ConnectionManager::stats`] or
/// [`worker_stats`].
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct ConnectionStats {
    /// Open connections.
    pub live_connections: usize,
    /// Of those, connections waiting for a request.
    pub idle_connections: usize,
    /// Idle connections closed because there were more than `max_idle_connections`,
    /// or to free descriptors for `accept`.
    pub culled_connections: u64,
    /// Live connections divided by `max_idle_connections`.
    pub load: f64,
    /// How long a connection that goes idle now will wait for its next request.
    pub keep_alive_timeout: Duration,
    /// The read buffer a new connection gets.
    pub read_buffer_size: usize,
    /// The write buffer a new connection gets.
    pub write_buffer_size: usize,
    /// Request-size samples in the history.
    pub request_samples: usize,
    /// The read-buffer pool's counters.
    pub read_pool: PoolStats,
    /// The write-buffer pool's counters.
    pub write_pool: PoolStats,
}

impl ConnectionManager {
    /// A manager with `config`, alone in its process (an unset
    /// `max_idle_connections` takes the whole default share).
    pub fn new(config: ConnectionManagerConfig) -> Self {
        ConnectionManager::for_worker(config, 1)
    }

    /// A manager for one of `workers` workers (they share the default idle cap).
    pub(crate) fn for_worker(config: ConnectionManagerConfig, workers: usize) -> Self {
        let s = config.resolve(workers);
        let initial = INITIAL_BUFFER.clamp(s.min_buffer, s.max_buffer);
        let (min, max) = (s.min_buffer, s.max_buffer);
        let read_pool = ObjectPool::new(s.pool_size).with_reset(move |b: &mut BytesMut| {
            b.clear();
            // Keep it unless it is oversized, or a sliver: less than the minimum left
            // and not reclaimable because a request body still points into it.
            b.try_reclaim(min) && b.capacity() <= max
        });
        let write_pool = ObjectPool::new(s.pool_size).with_reset(move |o: &mut OutBuffer| {
            o.raw().clear();
            // A write that failed midway may leave a large body queued: never reuse that.
            o.is_empty() && o.raw().capacity() <= max
        });
        let future_pool = ObjectPool::new(s.pool_size)
            .with_reset(|f: &mut FutureSlot| f.capacity() <= future_slot::MAX_POOLED);
        let manager = ConnectionManager {
            requests: RefCell::new(SizeHistory::new(s.history, min, max)),
            responses: RefCell::new(SizeHistory::new(s.history, min, max)),
            read_size: Cell::new(initial),
            write_size: Cell::new(initial),
            keep_alive: Cell::new(Duration::ZERO),
            conns: RefCell::new(HashMap::new()),
            next_id: Cell::new(0),
            idle: Cell::new(0),
            idle_seq: Cell::new(0),
            culled: Cell::new(0),
            shedding: Cell::new(0),
            drained: Notify::new(),
            read_pool,
            write_pool,
            future_pool,
            settings: s,
            config,
        };
        manager.update_keep_alive();
        manager
    }

    /// The configuration it was built from.
    pub fn config(&self) -> &ConnectionManagerConfig {
        &self.config
    }

    /// The read buffer size a new connection starts with.
    pub fn read_buffer_size(&self) -> usize {
        self.read_size.get()
    }

    /// The write buffer size a new connection starts with.
    pub fn write_buffer_size(&self) -> usize {
        self.write_size.get()
    }

    /// Records the size of a request (head + body bytes) for buffer sizing.
    pub fn record_request(&self, bytes: usize) {
        let mut h = self.requests.borrow_mut();
        h.push(bytes);
        self.read_size.set(self.size_for(&h));
    }

    /// Records the size of a batch of responses written at once.
    pub fn record_response(&self, bytes: usize) {
        let mut h = self.responses.borrow_mut();
        h.push(bytes);
        self.write_size.set(self.size_for(&h));
    }

    fn size_for(&self, h: &SizeHistory) -> usize {
        let s = &self.settings;
        h.quantile(QUANTILE)
            .unwrap_or(INITIAL_BUFFER)
            .clamp(s.min_buffer, s.max_buffer)
    }

    /// Live connections divided by `max_idle_connections` (0 when that is 0).
    pub fn load(&self) -> f64 {
        // `max_idle` is `usize::MAX` when culling is off: the load is then ~0.
        let live = self.conns.borrow().len();
        live as f64 / self.settings.max_idle as f64
    }

    /// The idle keep-alive timeout at the current load.
    pub fn keep_alive_timeout(&self) -> Duration {
        self.keep_alive.get()
    }

    /// The idle keep-alive timeout this manager gives at `load`: the full timeout up
    /// to `load_threshold_low`, the minimum from `load_threshold_high`, linear in
    /// between; never more than `idle_timeout`.
    pub fn keep_alive_for_load(&self, load: f64) -> Duration {
        let s = &self.settings;
        let timeout = if load <= s.low {
            s.keep_alive_max
        } else if load >= s.high {
            s.keep_alive_min
        } else {
            // low < load < high here, so the division is well defined.
            let f = (load - s.low) / (s.high - s.low);
            s.keep_alive_max - (s.keep_alive_max - s.keep_alive_min).mul_f64(f)
        };
        timeout.min(s.idle_timeout)
    }

    fn update_keep_alive(&self) {
        self.keep_alive.set(self.keep_alive_for_load(self.load()));
    }

    /// Current figures.
    pub fn stats(&self) -> ConnectionStats {
        ConnectionStats {
            live_connections: self.conns.borrow().len(),
            idle_connections: self.idle.get(),
            culled_connections: self.culled.get(),
            load: self.load(),
            keep_alive_timeout: self.keep_alive.get(),
            read_buffer_size: self.read_size.get(),
            write_buffer_size: self.write_size.get(),
            request_samples: self.requests.borrow().len(),
            read_pool: self.read_pool.stats(),
            write_pool: self.write_pool.stats(),
        }
    }
}

impl std::fmt::Debug for ConnectionManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectionManager")
            .field("config", &self.config)
            .field("stats", &self.stats())
            .finish()
    }
}

thread_local! {
    /// The manager of the worker running on this thread.
    static CURRENT: RefCell<Option<Rc<ConnectionManager>>> = const { RefCell::new(None) };
}

/// Makes `manager` the one [`worker_stats`] reads on this thread (`None` clears it).
pub(crate) fn set_current(manager: Option<Rc<ConnectionManager>>) {
    CURRENT.with(|c| *c.borrow_mut() = manager);
}

/// The figures of the worker running the calling handler (`None` outside a server
/// worker, e.g. in [`TestConnection`](crate::testing::TestConnection)).
///
/// ```
/// use armature_core::connection_manager::worker_stats;
/// async fn stats() -> String {
///     match worker_stats() {
///         Some(s) => format!("{} live, {} idle", s.live_connections, s.idle_connections),
///         None => "not on a worker".to_owned(),
///     }
/// }
/// ```
pub fn worker_stats() -> Option<ConnectionStats> {
    CURRENT.with(|c| c.borrow().as_ref().map(|m| m.stats()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manager() -> ConnectionManager {
        ConnectionManager::new(
            ConnectionManagerConfig::default()
                .keep_alive_timeout(Duration::from_secs(60))
                .min_keep_alive_timeout(Duration::from_secs(6))
                .load_threshold_low(0.3)
                .load_threshold_high(0.8)
                .idle_timeout(Duration::from_secs(300)),
        )
    }

    #[test]
    fn keep_alive_shrinks_with_load() {
        let m = manager();
        let table = [
            (0.0, 60.0),
            (0.3, 60.0),
            (0.55, 33.0),
            (0.8, 6.0),
            (5.0, 6.0),
            (f64::INFINITY, 6.0),
        ];
        for (load, secs) in table {
            let got = m.keep_alive_for_load(load).as_secs_f64();
            assert!(
                (got - secs).abs() < 1e-6,
                "load {load}: {got} s, want {secs} s"
            );
        }
    }

    #[test]
    fn idle_timeout_caps_keep_alive() {
        let m = ConnectionManager::new(
            ConnectionManagerConfig::default()
                .keep_alive_timeout(Duration::from_secs(60))
                .idle_timeout(Duration::from_secs(2)),
        );
        assert_eq!(m.keep_alive_timeout(), Duration::from_secs(2));
        assert_eq!(m.keep_alive_for_load(10.0), Duration::from_secs(2));
    }

    #[test]
    fn buffer_sizes_follow_traffic_within_bounds() {
        let m = ConnectionManager::new(
            ConnectionManagerConfig::default()
                .min_buffer_size(4096)
                .max_buffer_size(65536)
                .buffer_history_size(20),
        );
        assert_eq!(m.read_buffer_size(), 8192);
        assert_eq!(m.write_buffer_size(), 8192);
        for _ in 0..20 {
            m.record_request(100);
            m.record_response(20_000);
        }
        assert_eq!(m.read_buffer_size(), 4096);
        assert_eq!(m.write_buffer_size(), 32768);
        for _ in 0..20 {
            m.record_request(1 << 20);
        }
        assert_eq!(m.read_buffer_size(), 65536, "clamped to the maximum");
        assert_eq!(m.stats().request_samples, 20);
    }

    #[test]
    fn history_zero_keeps_the_initial_size() {
        let m = ConnectionManager::new(ConnectionManagerConfig::default().buffer_history_size(0));
        m.record_request(60_000);
        assert_eq!(m.read_buffer_size(), 8192);
    }

    #[test]
    fn worker_stats_reads_this_threads_manager() {
        assert!(worker_stats().is_none());
        set_current(Some(Rc::new(manager())));
        assert_eq!(
            worker_stats().map(|s| s.keep_alive_timeout),
            Some(Duration::from_secs(60))
        );
        set_current(None);
        assert!(worker_stats().is_none());
    }
}
