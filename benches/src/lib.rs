//! Shared plumbing for the peer servers of the comparison harness: the response
//! payloads, the cached `Date` header, `SO_REUSEPORT` listeners and the
//! one-current-thread-runtime-per-worker layout that Armature itself uses.
//!
//! Every peer (`src/bin/*_hello.rs`) answers `GET /plaintext` and `GET /json` with
//! the same bytes as `examples/hello.rs`: a `Server` header, a cached `Date`,
//! `Content-Type` and `Content-Length`. The `Server` value is the same string for
//! every server ([`SERVER_NAME`]) so that byte counts on the wire match exactly;
//! only the case of header names may differ (hyper writes them in lower case).
//!
//! [`db`] is the database side of TechEmpower's `/db`, `/queries`, `/fortunes` and
//! `/updates`, shared by the `*_db` servers.

pub mod db;

use std::cell::RefCell;
use std::net::{SocketAddr, ToSocketAddrs};
use std::time::{Duration, SystemTime};

use hyper::header::HeaderValue;
use serde::Serialize;
use socket2::{Domain, Protocol, Socket, Type};

/// The `Server` header value every server sends (Armature's own).
pub const SERVER_NAME: &str = "armature";

/// The body of `GET /plaintext`.
pub const PLAINTEXT: &[u8] = b"Hello, World!";

/// Capacity reserved for the serialised `/json` body (it is 27 bytes).
pub const JSON_CAPACITY: usize = 32;

/// The `/json` payload, serialised on every request as TechEmpower requires.
#[derive(Serialize)]
pub struct Message {
    /// Always `"Hello, World!"`.
    pub message: &'static str,
}

/// Serialises the `/json` payload into a fresh buffer, as Armature's
/// `with_json_sized(&msg, 32)` does.
pub fn json_body() -> Vec<u8> {
    let mut out = Vec::with_capacity(JSON_CAPACITY);
    // Serialising a struct of one `&str` field into a Vec cannot fail.
    serde_json::to_writer(
        &mut out,
        &Message {
            message: "Hello, World!",
        },
    )
    .expect("serialising a static message");
    out
}

/// Where a peer listens: `HOST` (default 127.0.0.1) and `PORT` (default `default_port`).
pub fn addr_from_env(default_port: u16) -> SocketAddr {
    let host = std::env::var("HOST").unwrap_or_else(|_| "127.0.0.1".to_owned());
    let port = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(default_port);
    (host.as_str(), port)
        .to_socket_addrs()
        .ok()
        .and_then(|mut a| a.next())
        .unwrap_or_else(|| panic!("cannot resolve HOST={host}"))
}

/// The worker count: `WORKERS`, else the number of cores.
pub fn workers_from_env() -> usize {
    std::env::var("WORKERS")
        .ok()
        .and_then(|w| w.parse().ok())
        .filter(|&n: &usize| n > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// Binds one non-blocking `SO_REUSEPORT` listener on `addr` (backlog 1024, as Armature).
pub fn reuseport_listener(addr: SocketAddr) -> std::io::Result<std::net::TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    socket.set_reuse_port(true)?;
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(1024)?;
    Ok(socket.into())
}

/// Runs `worker(listener)` on `n` threads, each with its own current-thread tokio
/// runtime, `LocalSet` and `SO_REUSEPORT` listener; with `n == 1` it runs on the
/// calling thread. Each runtime also refreshes the cached date twice a second.
/// Returns only if every worker returns.
pub fn run_workers<F, Fut>(addr: SocketAddr, n: usize, worker: F) -> std::io::Result<()>
where
    F: Fn(tokio::net::TcpListener) -> Fut + Send + Sync + Clone + 'static,
    Fut: std::future::Future<Output = ()> + 'static,
{
    let listeners = (0..n)
        .map(|_| reuseport_listener(addr))
        .collect::<std::io::Result<Vec<_>>>()?;
    let run_one = move |listener: std::net::TcpListener, worker: F| -> std::io::Result<()> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let local = tokio::task::LocalSet::new();
        local.block_on(&rt, async move {
            let listener = tokio::net::TcpListener::from_std(listener)?;
            refresh_date();
            tokio::task::spawn_local(async {
                let mut tick = tokio::time::interval(DATE_REFRESH);
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    tick.tick().await;
                    refresh_date();
                }
            });
            worker(listener).await;
            Ok(())
        })
    };
    let mut listeners = listeners.into_iter();
    if n == 1 {
        return run_one(listeners.next().expect("one listener"), worker);
    }
    let threads: Vec<_> = listeners
        .enumerate()
        .map(|(i, l)| {
            let worker = worker.clone();
            std::thread::Builder::new()
                .name(format!("peer-worker-{i}"))
                .spawn(move || run_one(l, worker))
        })
        .collect::<std::io::Result<_>>()?;
    for t in threads {
        t.join().expect("a worker thread panicked")?;
    }
    Ok(())
}

/// How often each worker re-formats the date (Armature uses the same period).
pub const DATE_REFRESH: Duration = Duration::from_millis(500);

thread_local! {
    static DATE: RefCell<HeaderValue> = RefCell::new(format_date());
}

fn format_date() -> HeaderValue {
    HeaderValue::from_maybe_shared(bytes::Bytes::from(httpdate::fmt_http_date(
        SystemTime::now(),
    )))
    .expect("an IMF-fixdate is a valid header value")
}

/// Re-formats this thread's cached date.
pub fn refresh_date() {
    let now = format_date();
    DATE.with(|d| *d.borrow_mut() = now);
}

/// This thread's cached IMF-fixdate (a reference-counted clone).
pub fn cached_date() -> HeaderValue {
    DATE.with(|d| d.borrow().clone())
}

#[cfg(test)]
mod tests {
    #[test]
    fn json_body_matches_the_benchmark_payload() {
        assert_eq!(super::json_body(), br#"{"message":"Hello, World!"}"#);
    }

    #[test]
    fn cached_date_is_an_imf_fixdate() {
        super::refresh_date();
        let d = super::cached_date();
        let s = d.to_str().unwrap();
        assert!(httpdate::parse_http_date(s).is_ok(), "{s}");
    }
}
