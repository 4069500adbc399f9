//! The server: the `App` builder, binding one `SO_REUSEPORT` listener per worker,
//! running a single-threaded tokio runtime on each, and graceful shutdown.

mod config;
pub(crate) mod conn;
pub(crate) mod date;
mod shutdown;
pub(crate) mod worker;

use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::Arc;
use std::thread::JoinHandle;

pub use config::ServerConfig;
pub use shutdown::ShutdownHandle;

use crate::error::Error;
use crate::handler::{Erased, ErasedHandler, Handler};
use crate::http::Method;
use crate::routing::Router;

/// A route's handler and its parameter names, as the router stores it.
pub(crate) struct Endpoint<S> {
    pub handler: Box<dyn ErasedHandler<S>>,
    /// Parameter names in pattern order, interned for the life of the process so
    /// requests can refer to them without allocating or reference counting. Apps
    /// build their routes once; each costs a few bytes.
    pub params: &'static [&'static str],
}

/// What every worker shares.
pub(crate) struct Shared<S> {
    pub router: Router<Endpoint<S>>,
    pub state: Arc<S>,
    pub config: ServerConfig,
}

/// An application: routes, shared state and configuration.
///
/// ```no_run
/// use armature_core::{App, fast_response::fast};
///
/// fn main() -> Result<(), armature_core::Error> {
///     App::new()
///         .get("/health", || async { fast::ok() })
///         .get("/plaintext", || async { "Hello, World!" })
///         .serve(armature_core::addr_from_env("127.0.0.1:3000"))
/// }
/// ```
pub struct App<S = ()> {
    state: Arc<S>,
    routes: Vec<(Method, String, Box<dyn ErasedHandler<S>>)>,
    config: ServerConfig,
}

impl App<()> {
    /// An app without state.
    pub fn new() -> Self {
        App::with_state(())
    }
}

impl Default for App<()> {
    fn default() -> Self {
        App::new()
    }
}

macro_rules! method_fns {
    ($($name:ident => $method:expr),+ $(,)?) => {
        $(
            #[doc = concat!("Adds a `", stringify!($name), "` route (`/users/:id` and `/users/{id}` are both accepted).")]
            pub fn $name<H, T>(self, pattern: &str, handler: H) -> Self
            where
                H: Handler<T, S>,
                T: 'static,
            {
                self.route($method, pattern, handler)
            }
        )+
    };
}

impl<S: Send + Sync + 'static> App<S> {
    /// An app whose handlers can take `State<S>`.
    pub fn with_state(state: S) -> Self {
        App {
            state: Arc::new(state),
            routes: Vec::new(),
            config: ServerConfig::default(),
        }
    }

    /// Adds a route. Invalid or conflicting patterns are reported by [`App::bind`].
    pub fn route<H, T>(mut self, method: Method, pattern: &str, handler: H) -> Self
    where
        H: Handler<T, S>,
        T: 'static,
    {
        self.routes
            .push((method, pattern.to_owned(), Box::new(Erased::new(handler))));
        self
    }

    method_fns! {
        get => Method::Get,
        post => Method::Post,
        put => Method::Put,
        delete => Method::Delete,
        patch => Method::Patch,
        head => Method::Head,
        options => Method::Options,
    }

    /// Replaces the server configuration.
    pub fn config(mut self, config: ServerConfig) -> Self {
        self.config = config;
        self
    }

    /// The server configuration.
    pub fn get_config(&self) -> &ServerConfig {
        &self.config
    }

    fn build_router(
        routes: Vec<(Method, String, Box<dyn ErasedHandler<S>>)>,
    ) -> Result<Router<Endpoint<S>>, Error> {
        let mut router = Router::new();
        for (method, pattern, handler) in routes {
            let names = crate::routing::pattern_params(&pattern)
                .map_err(|e| Error::route(format!("invalid route `{method} {pattern}`: {e}")))?;
            let params: Vec<&'static str> = names
                .into_iter()
                .map(|n| &*Box::leak(n.into_boxed_str()))
                .collect();
            let endpoint = Endpoint {
                handler,
                params: Box::leak(params.into_boxed_slice()),
            };
            router
                .route(method, &pattern, endpoint)
                .map_err(|e| Error::route(format!("invalid route `{method} {pattern}`: {e}")))?;
        }
        Ok(router)
    }

    /// Checks the configuration and builds the router.
    pub(crate) fn into_shared(self) -> Result<Arc<Shared<S>>, Error> {
        if self.config.workers == 0 {
            return Err(Error::config("ServerConfig::workers must be at least 1"));
        }
        let router = Self::build_router(self.routes)?;
        Ok(Arc::new(Shared {
            router,
            state: self.state,
            config: self.config,
        }))
    }

    /// Builds the router (an invalid or conflicting route is an error here, never a
    /// panic) and binds one listener per worker on `addr`.
    pub fn bind(self, addr: impl ToSocketAddrs) -> Result<Server, Error> {
        let shared = self.into_shared()?;
        let config = &shared.config;
        let addr = addr
            .to_socket_addrs()
            .map_err(|e| Error::io("cannot resolve the listen address", e))?
            .next()
            .ok_or_else(|| Error::config("the listen address resolved to nothing"))?;
        let listeners = worker::bind_listeners(addr, config.workers, config.backlog)?;
        let local_addr = listeners[0]
            .local_addr()
            .map_err(|e| Error::io("cannot read the bound address", e))?;
        let handle = ShutdownHandle::new();
        let start: Box<dyn FnOnce() -> Result<(), Error> + Send> = {
            let handle = handle.clone();
            Box::new(move || worker::run_workers(shared, listeners, handle))
        };
        Ok(Server {
            local_addr,
            handle,
            start,
        })
    }

    /// Binds and runs until shut down (SIGINT/SIGTERM by default): see [`Server::run`].
    pub fn serve(self, addr: impl ToSocketAddrs) -> Result<(), Error> {
        self.bind(addr)?.run()
    }
}

/// A bound server, ready to run.
pub struct Server {
    local_addr: SocketAddr,
    handle: ShutdownHandle,
    start: Box<dyn FnOnce() -> Result<(), Error> + Send>,
}

impl Server {
    /// The address the listeners are bound to (the real port when `:0` was asked).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// A handle that stops the server gracefully.
    pub fn handle(&self) -> ShutdownHandle {
        self.handle.clone()
    }

    /// Runs the workers and blocks until a graceful shutdown completes: listeners
    /// closed, in-flight requests finished (within the drain timeout), idle
    /// connections closed. Returning normally lets `main` return normally, which is
    /// what writes a PGO-instrumented binary's profile.
    pub fn run(self) -> Result<(), Error> {
        (self.start)()
    }

    /// Runs the server on a background thread.
    pub fn spawn(self) -> RunningServer {
        let addr = self.local_addr;
        let handle = self.handle.clone();
        let thread = std::thread::Builder::new()
            .name("armature-server".into())
            .spawn(move || self.run())
            .expect("spawning the server thread");
        RunningServer {
            addr,
            handle,
            thread: Some(thread),
        }
    }
}

/// A server running on a background thread (tests, embedding).
pub struct RunningServer {
    addr: SocketAddr,
    handle: ShutdownHandle,
    thread: Option<JoinHandle<Result<(), Error>>>,
}

impl RunningServer {
    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The shutdown handle.
    pub fn handle(&self) -> ShutdownHandle {
        self.handle.clone()
    }

    /// Shuts down gracefully and waits for the server thread.
    pub fn shutdown(mut self) -> Result<(), Error> {
        self.handle.shutdown();
        match self.thread.take().map(JoinHandle::join) {
            Some(Ok(r)) => r,
            Some(Err(_)) => Err(Error::internal("the server thread panicked")),
            None => Ok(()),
        }
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        if let Some(t) = self.thread.take() {
            self.handle.shutdown();
            let _ = t.join();
        }
    }
}

/// The listen address from `HOST` and `PORT` in the environment, each falling back
/// to its part of `default` (e.g. `"127.0.0.1:3000"`).
///
/// ```
/// let addr = armature_core::addr_from_env("127.0.0.1:3000");
/// assert!(addr.contains(':'));
/// ```
pub fn addr_from_env(default: &str) -> String {
    let (dhost, dport) = default.rsplit_once(':').unwrap_or((default, "8080"));
    let host = std::env::var("HOST").ok().filter(|h| !h.is_empty());
    let port = std::env::var("PORT").ok().filter(|p| !p.is_empty());
    let host = host.as_deref().unwrap_or(dhost);
    let port = port.as_deref().unwrap_or(dport);
    if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}
