//! A worker's accept loops, on epoll (tokio's listener) and on io_uring (`Backend`
//! picks one), and `AcceptErrors`: what both do when `accept` fails, above all
//! when the process is out of file descriptors.

use std::future::Future;
use std::io;
use std::os::fd::AsRawFd;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use tokio::net::TcpListener;

use super::config::ServerConfig;
use super::conn;
use super::shared::WorkerCtx;
use crate::connection_manager::{nofile_limit, ConnectionManager};
use crate::connection_manager::{ConnHandle, Relief};
use crate::error::Error;
#[cfg(all(feature = "io_uring", target_os = "linux"))]
use crate::io_uring::{driver::Driver, stream::UringStream};

/// The first pause when nothing can be closed, and other errors' pause.
const MIN_PAUSE: Duration = Duration::from_millis(10);

/// The longest pause while out of descriptors with nothing to close.
const MAX_PAUSE: Duration = Duration::from_millis(100);

/// While closed connections are still letting go of their descriptors.
const CLOSING_PAUSE: Duration = Duration::from_millis(1);

/// A time without running out of descriptors that ends an episode (the next one is
/// logged again).
const EPISODE_GAP: Duration = Duration::from_secs(10);

/// One worker's answer to failed accepts; made when its accept loop starts.
///
/// Out of descriptors (`EMFILE`, `ENFILE`): the worker closes its longest-idle
/// connections ([`ConnectionManager::relieve_descriptors`]) and accepts again once
/// their loops have run (the pending connection waits in the listen backlog); with
/// none idle it pauses 10 ms, doubling up to 100 ms, so it never spins. Other
/// errors (a connection reset before it was taken, ...): a 10 ms pause. A
/// successful accept costs nothing here.
pub(crate) struct AcceptErrors {
    /// How long to wait next time nothing can be closed.
    pause: Duration,
    /// When this worker last ran out.
    last: Option<Instant>,
}

impl AcceptErrors {
    pub(crate) fn new() -> Self {
        AcceptErrors {
            pause: MIN_PAUSE,
            last: None,
        }
    }

    /// Handles `err` from `accept`; returns when accepting is worth trying again.
    #[cold]
    pub(crate) async fn failed(&mut self, err: io::Error, manager: &ConnectionManager) {
        if !out_of_descriptors(&err) {
            tokio::time::sleep(MIN_PAUSE).await;
            return;
        }
        let now = Instant::now();
        if self
            .last
            .is_none_or(|t| now.duration_since(t) >= EPISODE_GAP)
        {
            self.pause = MIN_PAUSE;
        }
        self.last = Some(now);
        let relief = manager.relieve_descriptors();
        if episode_begins() {
            let limit = nofile_limit().map_or_else(|| "unlimited".to_owned(), |n| n.to_string());
            let idle = manager.stats().idle_connections;
            let action = match relief {
                Relief::Closed(n) => format!(
                    "closed the {n} longest-idle keep-alive connections ({idle} still idle on \
                     this worker) to make room"
                ),
                Relief::Closing => "waiting for closed idle connections to free theirs".into(),
                Relief::Nothing => "no idle connection to close; retrying shortly".into(),
            };
            tracing::warn!(
                target: "armature::server",
                "accept failed: {err}: out of file descriptors (soft RLIMIT_NOFILE {limit}); \
                 {action}, and will go on so; not logged again until 10 s pass without \
                 running out"
            );
        }
        match relief {
            Relief::Closed(_) => {
                self.pause = MIN_PAUSE;
                // One turn of the runtime: the closed connections' loops see
                // end-of-file and drop their sockets.
                tokio::task::yield_now().await;
            }
            Relief::Closing => tokio::time::sleep(CLOSING_PAUSE).await,
            Relief::Nothing => {
                tokio::time::sleep(self.pause).await;
                self.pause = (self.pause * 2).min(MAX_PAUSE);
            }
        }
    }
}

/// The process (`EMFILE`) or the system (`ENFILE`) has no descriptor left.
fn out_of_descriptors(err: &io::Error) -> bool {
    matches!(err.raw_os_error(), Some(libc::EMFILE | libc::ENFILE))
}

/// Whether a descriptor-exhaustion episode begins now, process-wide (so the workers
/// log one line between them): none was seen in the last [`EPISODE_GAP`].
fn episode_begins() -> bool {
    static START: OnceLock<Instant> = OnceLock::new();
    /// Milliseconds since `START` of the last exhaustion, plus 1 (0: never).
    static LAST: AtomicU64 = AtomicU64::new(0);
    let now = START.get_or_init(Instant::now).elapsed().as_millis() as u64 + 1;
    let last = LAST.swap(now, Ordering::Relaxed);
    last == 0 || now.saturating_sub(last) >= EPISODE_GAP.as_millis() as u64
}

/// Where a worker accepts: on io_uring when the configuration asks for it and the
/// kernel allows it, otherwise on epoll (tokio's listener).
pub(crate) struct Backend {
    #[cfg(all(feature = "io_uring", target_os = "linux"))]
    ring: Option<Rc<Driver>>,
}

impl Backend {
    /// Sets up the ring, if `config` asks for one (a kernel that refuses it is
    /// reported, and the worker runs on epoll).
    pub(crate) fn new(config: &ServerConfig) -> Backend {
        #[cfg(not(all(feature = "io_uring", target_os = "linux")))]
        let _ = config;
        Backend {
            #[cfg(all(feature = "io_uring", target_os = "linux"))]
            ring: match config.io_uring.as_ref().map(Driver::new) {
                Some(Ok(driver)) => Some(driver),
                Some(Err(why)) => {
                    crate::io_uring::report_fallback(&why);
                    None
                }
                None => None,
            },
        }
    }

    /// Accepts on `listener` until `shutdown` (the listener is closed then), on the
    /// ring or on epoll.
    pub(crate) async fn accept<S, F>(
        self,
        listener: std::net::TcpListener,
        ctx: &Rc<WorkerCtx<S>>,
        shutdown: Pin<&mut F>,
    ) -> Result<Accepted, Error>
    where
        S: Send + Sync + 'static,
        F: Future<Output = ()>,
    {
        #[cfg(all(feature = "io_uring", target_os = "linux"))]
        if let Some(driver) = self.ring {
            let turns = tokio::task::spawn_local(driver.clone().run());
            uring_accept_loop(driver, listener, ctx, shutdown).await;
            return Ok(Accepted { turns: Some(turns) });
        }
        accept_loop(listener, ctx, shutdown).await?;
        Ok(Accepted {
            #[cfg(all(feature = "io_uring", target_os = "linux"))]
            turns: None,
        })
    }
}

/// A backend that stopped accepting; what it runs outlives the drain (draining
/// connections still use the ring's driver) until [`Accepted::finish`].
pub(crate) struct Accepted {
    #[cfg(all(feature = "io_uring", target_os = "linux"))]
    turns: Option<tokio::task::JoinHandle<()>>,
}

impl Accepted {
    /// After the drain: stops the ring's driver.
    pub(crate) fn finish(self) {
        #[cfg(all(feature = "io_uring", target_os = "linux"))]
        if let Some(turns) = self.turns {
            turns.abort();
        }
    }
}

/// The worker's accept loop on epoll (tokio's listener), until `shutdown`; the
/// listener is closed when it returns.
async fn accept_loop<S, F>(
    listener: std::net::TcpListener,
    ctx: &Rc<WorkerCtx<S>>,
    mut shutdown: Pin<&mut F>,
) -> Result<(), Error>
where
    S: Send + Sync + 'static,
    F: Future<Output = ()>,
{
    let listener = TcpListener::from_std(listener)
        .map_err(|e| Error::io("cannot register the listener", e))?;
    let mut errors = AcceptErrors::new();
    loop {
        tokio::select! {
            biased;
            _ = &mut shutdown => return Ok(()),
            res = listener.accept() => match res {
                Ok((stream, _)) => {
                    let _ = stream.set_nodelay(true);
                    let guard = ctx.manager.register(stream.as_raw_fd());
                    spawn_conn(stream, ctx, guard);
                }
                Err(e) => errors.failed(e, &ctx.manager).await,
            },
        }
    }
}

/// Serves an accepted connection on its own task: over TLS when the server has it
/// (the handshake first), as it is otherwise.
#[inline]
fn spawn_conn<S, T>(stream: T, ctx: &Rc<WorkerCtx<S>>, guard: ConnHandle)
where
    S: Send + Sync + 'static,
    T: conn::Io + 'static,
{
    #[cfg(feature = "tls")]
    if ctx.shared.config.tls.is_some() {
        tokio::task::spawn_local(serve_tls(stream, ctx.clone(), guard));
        return;
    }
    tokio::task::spawn_local(conn::serve(stream, ctx.clone(), Some(guard)));
}

/// The TLS handshake (under its timeout), then the connection loop over the TLS
/// stream.
#[cfg(feature = "tls")]
async fn serve_tls<S, T>(stream: T, ctx: Rc<WorkerCtx<S>>, guard: ConnHandle)
where
    S: Send + Sync + 'static,
    T: conn::Io + 'static,
{
    let Some(tls) = &ctx.shared.config.tls else {
        return;
    };
    let Some(stream) = crate::tls::accept(tls, stream, &ctx.going_away).await else {
        return;
    };
    conn::serve(stream, ctx, Some(guard)).await;
}

#[cfg(all(feature = "io_uring", target_os = "linux"))]
/// The worker's accept loop on the ring, in place of the tokio listener's: the same
/// connection manager registration, the same `conn::serve`, and on shutdown the same
/// stop (the multishot accept cancelled, the listener closed).
async fn uring_accept_loop<S, F>(
    driver: Rc<Driver>,
    listener: std::net::TcpListener,
    ctx: &Rc<WorkerCtx<S>>,
    mut shutdown: Pin<&mut F>,
) where
    S: Send + Sync + 'static,
    F: Future<Output = ()>,
{
    driver.listen(listener);
    let mut errors = AcceptErrors::new();
    loop {
        tokio::select! {
            biased;
            _ = &mut shutdown => break,
            res = std::future::poll_fn(|cx| driver.poll_accept(cx)) => match res {
                Ok(fd) => {
                    let _ = socket2::SockRef::from(&fd).set_nodelay(true);
                    let stream = UringStream::open(&driver, fd);
                    let guard = ctx.manager.register(stream.raw_fd());
                    spawn_conn(stream, ctx, guard);
                }
                Err(e) => errors.failed(e, &ctx.manager).await,
            },
        }
    }
    driver.close_accept();
}

#[cfg(test)]
mod tests {
    use super::out_of_descriptors;
    use std::io;

    #[test]
    fn only_descriptor_exhaustion_is_relieved() {
        let table = [
            (libc::EMFILE, true),
            (libc::ENFILE, true),
            (libc::ECONNABORTED, false),
            (libc::ENOBUFS, false),
        ];
        for (errno, want) in table {
            let e = io::Error::from_raw_os_error(errno);
            assert_eq!(out_of_descriptors(&e), want, "{e}");
        }
        assert!(!out_of_descriptors(&io::ErrorKind::Other.into()));
    }
}
