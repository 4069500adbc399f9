//! Workers: one OS thread per worker, each running a current-thread tokio runtime
//! that accepts on its own `SO_REUSEPORT` listener and serves its connections.

use std::cell::{Cell, RefCell};
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::TcpListener;

use super::shutdown::ShutdownHandle;
use super::{conn, date, Shared};
use crate::connection_manager::{self, ConnectionManager};
use crate::error::Error;
use crate::routing::RouteCache;
use crate::simd_parser::SIMDParser;

/// Binds `n` listeners on `addr` with `SO_REUSEPORT`; the kernel spreads incoming
/// connections across them. When `addr` has port 0, the first socket picks the
/// port and the others join it.
pub(crate) fn bind_listeners(
    addr: SocketAddr,
    n: usize,
    backlog: u32,
) -> Result<Vec<std::net::TcpListener>, Error> {
    let mut out = Vec::with_capacity(n);
    let mut bind_addr = addr;
    for _ in 0..n {
        let socket = Socket::new(
            Domain::for_address(bind_addr),
            Type::STREAM,
            Some(Protocol::TCP),
        )
        .map_err(|e| Error::io("cannot create a socket", e))?;
        socket
            .set_reuse_address(true)
            .and_then(|_| socket.set_reuse_port(true))
            .and_then(|_| socket.set_nonblocking(true))
            .map_err(|e| Error::io("cannot configure the listening socket", e))?;
        socket
            .bind(&bind_addr.into())
            .map_err(|e| Error::io(format!("cannot bind {bind_addr}"), e))?;
        socket
            .listen(backlog.min(i32::MAX as u32) as i32)
            .map_err(|e| Error::io(format!("cannot listen on {bind_addr}"), e))?;
        let listener: std::net::TcpListener = socket.into();
        if bind_addr.port() == 0 {
            bind_addr = listener
                .local_addr()
                .map_err(|e| Error::io("cannot read the bound address", e))?;
        }
        out.push(listener);
    }
    Ok(out)
}

/// Runs one worker per listener; returns when all have drained.
pub(crate) fn run_workers<S: Send + Sync + 'static>(
    shared: Arc<Shared<S>>,
    listeners: Vec<std::net::TcpListener>,
    handle: ShutdownHandle,
) -> Result<(), Error> {
    let mut threads = Vec::with_capacity(listeners.len());
    for (i, listener) in listeners.into_iter().enumerate() {
        let shared = shared.clone();
        let handle = handle.clone();
        let signals = i == 0 && shared.config.handle_signals;
        let t = std::thread::Builder::new()
            .name(format!("armature-worker-{i}"))
            .spawn(move || worker_main(shared, listener, handle, signals))
            .map_err(|e| Error::io("cannot spawn a worker thread", e))?;
        threads.push(t);
    }
    let mut result = Ok(());
    for t in threads {
        match t.join() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => result = Err(e),
            Err(_) => result = Err(Error::internal("a worker thread panicked")),
        }
    }
    result
}

/// Per-worker state shared by its connections (single-threaded: `Rc`/`Cell`).
pub(crate) struct WorkerCtx<S> {
    pub shared: Arc<Shared<S>>,
    pub parser: SIMDParser,
    pub route_cache: RefCell<RouteCache>,
    pub shutting_down: Cell<bool>,
    /// Buffer sizing and pools, adaptive keep-alive, the registry of live
    /// connections and idle culling.
    pub manager: Rc<ConnectionManager>,
}

impl<S> WorkerCtx<S> {
    pub fn new(shared: Arc<Shared<S>>) -> Self {
        let config = &shared.config;
        WorkerCtx {
            parser: SIMDParser::with_limits(
                config.max_headers,
                config.max_head_size,
                config.max_uri_len,
            ),
            route_cache: RefCell::new(RouteCache::new(config.route_cache_size)),
            shutting_down: Cell::new(false),
            manager: Rc::new(ConnectionManager::for_server(config)),
            shared,
        }
    }
}

fn worker_main<S: Send + Sync + 'static>(
    shared: Arc<Shared<S>>,
    listener: std::net::TcpListener,
    handle: ShutdownHandle,
    signals: bool,
) -> Result<(), Error> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::io("cannot start a worker runtime", e))?;
    let local = tokio::task::LocalSet::new();
    local.block_on(&rt, async move {
        let listener = TcpListener::from_std(listener)
            .map_err(|e| Error::io("cannot register the listener", e))?;
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
        if signals {
            let h = handle.clone();
            tokio::task::spawn_local(async move {
                wait_for_signal().await;
                h.shutdown();
            });
        }

        let shutdown = handle.wait();
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                biased;
                _ = &mut shutdown => break,
                res = listener.accept() => match res {
                    Ok((stream, _)) => {
                        let _ = stream.set_nodelay(true);
                        let guard = ctx.manager.register(stream.as_raw_fd());
                        tokio::task::spawn_local(conn::serve(stream, ctx.clone(), Some(guard)));
                    }
                    // Out of file descriptors and similar: back off instead of spinning.
                    Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
                },
            }
        }
        // Drain: stop accepting, close idle connections, let busy ones finish.
        drop(listener);
        ctx.shutting_down.set(true);
        ctx.manager.close_idle();
        let _ = tokio::time::timeout(config.drain_timeout, ctx.manager.drained()).await;
        ticker.abort();
        connection_manager::set_current(None);
        Ok(())
    })
}

async fn wait_for_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    match (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) {
        (Ok(mut term), Ok(mut int)) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
        }
        _ => std::future::pending::<()>().await,
    }
}
