//! Workers: one OS thread per worker, each running a current-thread tokio runtime
//! that accepts on its own `SO_REUSEPORT` listener and serves its connections.

use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::{mpsc, Arc};

use socket2::{Domain, Protocol, Socket, Type};
use tokio::sync::oneshot;

use super::accept;
use super::shared::{Shared, WorkerCtx};
use super::shutdown::ShutdownHandle;
use super::worker_state::WorkerInfo;
use crate::connection_manager;
use crate::error::Error;
use crate::proto::date;

/// Binds `n` sockets on `addr` with `SO_REUSEPORT`, without listening yet (a client
/// is refused until [`run_workers`] has every worker ready); the kernel will spread
/// incoming connections across them. Fails when another socket holds the address
/// ([`claim`]). When `addr` has port 0, the claim picks the port and the workers
/// join it. Returns the sockets and the bound address.
pub(crate) fn bind_sockets(addr: SocketAddr, n: usize) -> Result<(Vec<Socket>, SocketAddr), Error> {
    let probe = claim(addr)?;
    let bind_addr = probe
        .local_addr()
        .ok()
        .and_then(|a| a.as_socket())
        .ok_or_else(|| Error::config("cannot read the bound address"))?;
    let mut out = Vec::with_capacity(n);
    // The probe stays bound meanwhile, so a port the kernel picked stays ours. It
    // does not listen, and so lets the workers' sockets bind beside it.
    for _ in 0..n {
        let socket = new_socket(bind_addr)?;
        socket
            .set_reuse_port(true)
            .map_err(|e| Error::io("cannot configure the listening socket", e))?;
        socket
            .bind(&bind_addr.into())
            .map_err(|e| Error::io(format!("cannot bind {bind_addr}"), e))?;
        out.push(socket);
    }
    Ok((out, bind_addr))
}

/// A nonblocking TCP socket for `addr` with `SO_REUSEADDR` (so connections of an
/// earlier run still in `TIME_WAIT` do not block a restart).
fn new_socket(addr: SocketAddr) -> Result<Socket, Error> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))
        .map_err(|e| Error::io("cannot create a socket", e))?;
    socket
        .set_reuse_address(true)
        .and_then(|_| socket.set_nonblocking(true))
        .map_err(|e| Error::io("cannot configure the listening socket", e))?;
    Ok(socket)
}

/// Checks that no other socket listens on `addr`, by binding a socket without
/// `SO_REUSEPORT`: the kernel refuses it beside a listening socket, while a socket
/// with the option would join that socket's group (any process of the same user
/// may), and take a share of its connections. Returns the bound probe (its address
/// is the port the kernel picked, for port 0).
///
/// The workers' own sockets, bound and not yet listening, do not stand in its way,
/// so [`run_workers`] checks again just before they listen.
pub(crate) fn claim(addr: SocketAddr) -> Result<Socket, Error> {
    let probe = new_socket(addr)?;
    match probe.bind(&addr.into()) {
        Ok(()) => Ok(probe),
        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => Err(Error::io(
            format!("cannot bind {addr}: another socket already holds it"),
            e,
        )),
        Err(e) => Err(Error::io(format!("cannot bind {addr}"), e)),
    }
}

/// How a worker's start went, as it tells [`run_workers`].
enum Startup {
    /// Signal handler installed (worker 0), worker state built: waiting for its
    /// listener.
    Ready,
    /// A worker-state factory (or the runtime) failed.
    Failed(Error),
    /// Shutdown was asked for while it was starting.
    Stopped,
}

/// Runs one worker per socket; returns when all have drained.
///
/// Start-up is two-phase: each worker builds its runtime, installs the signal
/// handler (worker 0) and its worker state, and reports; only when every worker is
/// ready do the sockets `listen()` and go to their workers (then `on_ready` runs). The
/// first failure asks the others to stop (an async factory still running is
/// dropped), nothing listens, and that error is returned once all have stopped.
///
/// A single worker runs on the calling thread, and the start-up on a thread that
/// ends once the socket listens: the process then serves from one thread. In a
/// process of more than one thread the kernel takes and drops a reference to the
/// socket's file on every read and write (`fdget`/`fput`: ~1% of the CPU of
/// HttpArena's pipelined profile in `perf`, one worker on one core); with one
/// thread it does not. (Not from a thread already inside a tokio runtime: there
/// the worker gets a thread of its own, as with several.)
pub(crate) fn run_workers<S: Send + Sync + 'static>(
    shared: Arc<Shared<S>>,
    sockets: Vec<Socket>,
    handle: ShutdownHandle,
    on_ready: Box<dyn FnOnce() + Send>,
) -> Result<(), Error> {
    let count = sockets.len();
    let backlog = shared.config.backlog.min(i32::MAX as u32) as i32;
    let (report, reports) = mpsc::channel();
    // Not on a thread that is already in a runtime (a `run` from async code): a
    // worker's runtime cannot start there.
    let (startup_error, served) = if count == 1 && tokio::runtime::Handle::try_current().is_err() {
        let (gate, listener) = oneshot::channel();
        let start_handle = handle.clone();
        let starter = std::thread::Builder::new()
            .name("armature-start".into())
            .spawn(move || {
                start_up(
                    reports,
                    1,
                    None,
                    sockets,
                    vec![gate],
                    backlog,
                    &start_handle,
                    on_ready,
                )
            })
            .map_err(|e| Error::io("cannot spawn the start-up thread", e))?;
        let info = WorkerInfo::new(0, 1);
        let served = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            worker_main(shared, info, listener, report, handle)
        }))
        .unwrap_or_else(|_| Err(worker_panicked()));
        let startup_error = starter
            .join()
            .unwrap_or_else(|_| Some(Error::internal("the start-up thread panicked")));
        (startup_error, served)
    } else {
        let mut threads = Vec::with_capacity(count);
        let mut gates = Vec::with_capacity(count);
        let mut spawn_error = None;
        for index in 0..count {
            let shared = shared.clone();
            let handle = handle.clone();
            let report = report.clone();
            let (gate, listener) = oneshot::channel();
            let info = WorkerInfo::new(index, count);
            let spawned = std::thread::Builder::new()
                .name(format!("armature-worker-{index}"))
                .spawn(move || worker_main(shared, info, listener, report, handle));
            match spawned {
                Ok(t) => {
                    threads.push(t);
                    gates.push(gate);
                }
                Err(e) => {
                    spawn_error = Some(Error::io("cannot spawn a worker thread", e));
                    break;
                }
            }
        }
        drop(report);
        let startup_error = start_up(
            reports,
            threads.len(),
            spawn_error,
            sockets,
            gates,
            backlog,
            &handle,
            on_ready,
        );
        let mut served = Ok(());
        for t in threads {
            match t.join() {
                Ok(Ok(())) => {}
                Ok(Err(e)) => served = Err(e),
                Err(_) => served = Err(worker_panicked()),
            }
        }
        (startup_error, served)
    };
    match startup_error {
        Some(e) => Err(e),
        None => served,
    }
}

/// What `run` returns for a worker that panicked (on its own thread or on the
/// caller's).
fn worker_panicked() -> Error {
    Error::internal("a worker thread panicked")
}

/// The start-up's second phase (see [`run_workers`]): waits for the `count`
/// started workers' reports, then, when all are ready and nothing failed, makes
/// the sockets listen, hands each to its worker and runs `on_ready`. The first
/// error (`startup_error`: one from before, such as a worker that could not be
/// spawned) asks every worker to stop, and is returned.
#[allow(clippy::too_many_arguments)]
fn start_up(
    reports: mpsc::Receiver<Startup>,
    count: usize,
    mut startup_error: Option<Error>,
    sockets: Vec<Socket>,
    mut gates: Vec<oneshot::Sender<std::net::TcpListener>>,
    backlog: i32,
    handle: &ShutdownHandle,
    on_ready: Box<dyn FnOnce() + Send>,
) -> Option<Error> {
    if startup_error.is_some() {
        handle.shutdown();
    }
    let mut ready = 0;
    // Every worker reports once, or drops its sender by panicking: `recv` ends then.
    while let Ok(startup) = reports.recv() {
        match startup {
            Startup::Ready => ready += 1,
            Startup::Failed(e) => {
                if startup_error.is_none() {
                    startup_error = Some(e);
                    handle.shutdown();
                }
            }
            Startup::Stopped => {}
        }
    }
    if startup_error.is_none() && ready < count && !handle.is_shutdown() {
        startup_error = Some(Error::internal("a worker thread panicked while starting"));
        handle.shutdown();
    }
    if startup_error.is_none() && !handle.is_shutdown() {
        // Whoever started listening on the address since `bind` would share it.
        let taken = sockets
            .first()
            .and_then(|s| s.local_addr().ok()?.as_socket())
            .map_or(Ok(()), |addr| claim(addr).map(drop));
        if let Err(e) = taken {
            startup_error = Some(e);
            handle.shutdown();
        }
    }
    if startup_error.is_none() && !handle.is_shutdown() {
        for (socket, gate) in sockets.into_iter().zip(gates.drain(..)) {
            if let Err(e) = socket.listen(backlog) {
                startup_error = Some(Error::io("cannot listen on the bound address", e));
                handle.shutdown();
                break;
            }
            let _ = gate.send(socket.into());
        }
    }
    // Unsent gates are dropped here: those workers stop without listening.
    drop(gates);
    if startup_error.is_none() && !handle.is_shutdown() {
        on_ready();
    }
    startup_error
}

fn worker_main<S: Send + Sync + 'static>(
    shared: Arc<Shared<S>>,
    info: WorkerInfo,
    gate: oneshot::Receiver<std::net::TcpListener>,
    report: mpsc::Sender<Startup>,
    handle: ShutdownHandle,
) -> Result<(), Error> {
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            let _ = report.send(Startup::Failed(Error::io(
                "cannot start a worker runtime",
                e,
            )));
            return Ok(());
        }
    };
    let local = tokio::task::LocalSet::new();
    local.block_on(&rt, async move {
        // Before anything listens, so a signal can never find the process without its
        // handler (the default action would kill it).
        if info.index() == 0 && shared.config.handle_signals {
            let signals = Signals::install();
            let h = handle.clone();
            tokio::task::spawn_local(async move {
                signals.recv().await;
                h.shutdown();
            });
        }
        // Before anything listens too: `SIGHUP` reloads the certificate.
        #[cfg(feature = "tls")]
        if let (0, Some(tls)) = (info.index(), &shared.config.tls) {
            let watch = crate::tls::Watch::new(tls, shared.config.handle_signals);
            tokio::task::spawn_local(watch.run());
        }
        let shutdown = handle.wait();
        tokio::pin!(shutdown);
        // Dropped last, after the connections: the values stay usable to the end.
        let _states = tokio::select! {
            biased;
            built = shared.worker_states.build(info) => match built {
                Ok(installed) => installed,
                Err(e) => {
                    let _ = report.send(Startup::Failed(e));
                    return Ok(());
                }
            },
            () = &mut shutdown => {
                let _ = report.send(Startup::Stopped);
                return Ok(());
            }
        };
        // Before the worker reports ready, so a server that listens has every ring (or
        // has said why it runs on epoll).
        let backend = accept::Backend::new(&shared.config);
        let _ = report.send(Startup::Ready);
        drop(report);
        let listener = tokio::select! {
            biased;
            listener = gate => match listener {
                Ok(listener) => listener,
                // Another worker failed: nothing listens.
                Err(_) => return Ok(()),
            },
            () = &mut shutdown => return Ok(()),
        };
        let config = &shared.config;
        let ctx = Rc::new(WorkerCtx::new(shared.clone()));
        connection_manager::set_current(Some(ctx.manager.clone()));

        date::refresh();
        let ticker = tokio::task::spawn_local(async {
            let mut interval = tokio::time::interval(date::REFRESH);
            interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                interval.tick().await;
                date::refresh();
            }
        });
        // Both backends stop accepting on `shutdown` (the listener closed), then drain
        // the same way.
        let accepted = backend.accept(listener, &ctx, shutdown.as_mut()).await?;
        // Drain: close idle connections, let busy ones finish.
        ctx.shutting_down.set(true);
        ctx.going_away.fire();
        ctx.manager.close_idle();
        let _ = tokio::time::timeout(config.drain_timeout, ctx.manager.drained()).await;
        accepted.finish();
        ticker.abort();
        connection_manager::set_current(None);
        Ok(())
    })
}

/// SIGTERM and SIGINT, caught from the moment [`Signals::install`] returns.
struct Signals(Option<(tokio::signal::unix::Signal, tokio::signal::unix::Signal)>);

impl Signals {
    /// Replaces the default action (terminate) of both signals; from here on they are
    /// queued for [`recv`](Self::recv). Needs the worker's runtime.
    fn install() -> Signals {
        use tokio::signal::unix::{signal, SignalKind};
        match (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) {
            (Ok(term), Ok(int)) => Signals(Some((term, int))),
            _ => Signals(None),
        }
    }

    /// Resolves at the first signal (never, if installing failed).
    async fn recv(self) {
        match self.0 {
            Some((mut term, mut int)) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = int.recv() => {}
                }
            }
            None => std::future::pending::<()>().await,
        }
    }
}
