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
//!   [`ObjectPool`](crate::memory_opt::ObjectPool)s, so connection churn does not
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
mod manager;
mod registry;

use std::cell::RefCell;
use std::rc::Rc;

pub(crate) use config::nofile_limit;
pub use config::ConnectionManagerConfig;
pub use manager::{ConnectionManager, ConnectionStats};
pub(crate) use registry::{ConnHandle, Relief};

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
    use std::time::Duration;

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
