//! The server: the `App` builder, binding one `SO_REUSEPORT` listener per worker,
//! running a single-threaded tokio runtime on each, and graceful shutdown.

pub(crate) mod accept;
mod body;
mod config;
pub(crate) mod conn;
mod dispatch;
mod send_timeout;
pub(crate) mod shared;
mod shutdown;
pub(crate) mod worker;
pub(crate) mod worker_state;

use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::Arc;
use std::thread::JoinHandle;

pub use crate::rt::worker_state::WorkerInfo;
pub use config::ServerConfig;
pub(crate) use shared::{Endpoint, Shared};
pub use shutdown::ShutdownHandle;

use crate::error::Error;
use crate::extract::{Rejection, Rejections};
use crate::handler::{Erased, ErasedHandler, Handler};
use crate::http::Method;
use crate::middleware::{self, Layer, Layered, Middleware};
use crate::response::IntoResponse;
use crate::routing::Router;
use worker_state::{BoxError, Factories};

/// One route as the app collects it, before the router is built.
struct RouteEntry<S> {
    method: Method,
    pattern: String,
    handler: Box<dyn ErasedHandler<S>>,
    /// Its own middleware, in the order added.
    middleware: Vec<Layer>,
    /// Its own body limit ([`App::body_limit`]), else the server's.
    body_limit: Option<usize>,
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
    routes: Vec<RouteEntry<S>>,
    /// Where the routes of the last route call start (what [`App::with`] applies to).
    last_call: usize,
    middleware: Vec<Layer>,
    fallback: Option<Box<dyn ErasedHandler<S>>>,
    rejections: Rejections,
    /// A misuse found while building (reported by `bind`).
    build_error: Option<String>,
    config: ServerConfig,
    worker_states: Factories,
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
            last_call: 0,
            middleware: Vec::new(),
            fallback: None,
            rejections: Rejections::default(),
            build_error: None,
            config: ServerConfig::default(),
            worker_states: Factories::default(),
        }
    }

    /// Adds a route. Invalid or conflicting patterns are reported by [`App::bind`].
    pub fn route<H, T>(mut self, method: Method, pattern: &str, handler: H) -> Self
    where
        H: Handler<T, S>,
        T: 'static,
    {
        self.last_call = self.routes.len();
        self.push_route(method, pattern.to_owned(), handler);
        self
    }

    fn push_route<H, T>(&mut self, method: Method, pattern: String, handler: H)
    where
        H: Handler<T, S>,
        T: 'static,
    {
        self.routes.push(RouteEntry {
            method,
            pattern,
            handler: Box::new(Erased::new(handler)),
            middleware: Vec::new(),
            body_limit: None,
        });
    }

    /// Adds a route for every method ([`Method::ALL`]) at `pattern`; routes added for
    /// single methods of the same pattern conflict with it.
    ///
    /// ```
    /// use armature_core::App;
    /// let app = App::new().any("/echo", |req: armature_core::HttpRequest| async move {
    ///     req.method().to_string()
    /// });
    /// # drop(app);
    /// ```
    pub fn any<H, T>(mut self, pattern: &str, handler: H) -> Self
    where
        H: Handler<T, S>,
        T: 'static,
    {
        self.last_call = self.routes.len();
        for method in Method::ALL {
            self.push_route(method, pattern.to_owned(), handler.clone());
        }
        self
    }

    /// Adds app-wide middleware: around every request (see [`crate::middleware`] for
    /// the order).
    pub fn middleware<M: Middleware>(mut self, middleware: M) -> Self {
        self.middleware.push(Arc::new(middleware));
        self
    }

    /// Adds middleware to the routes of the last route call (one route, every
    /// method of an [`any`](App::any) route, or every route a [`nest`](App::nest) or
    /// [`merge`](App::merge) brought in). See [`crate::middleware`] for the order.
    /// Called before any route, it is an error that [`App::bind`] reports.
    pub fn with<M: Middleware>(mut self, middleware: M) -> Self {
        if self.routes.is_empty() {
            self.build_error
                .get_or_insert_with(|| "App::with was called before any route".into());
            return self;
        }
        let layer: Layer = Arc::new(middleware);
        for route in &mut self.routes[self.last_call..] {
            route.middleware.push(layer.clone());
        }
        self
    }

    /// Sets the largest request body the routes of the last route call accept (one
    /// route, every method of an [`any`](App::any) route, or every route a
    /// [`nest`](App::nest) or [`merge`](App::merge) brought in: a whole nested app), in
    /// place of the server-wide
    /// [`max_body_size`](ServerConfig::max_body_size), larger or smaller. As axum's
    /// `DefaultBodyLimit`, the innermost limit wins: a route that has its own keeps
    /// it when the app it is in is nested and limited. It applies to the buffered
    /// extractors (`Bytes`, `String`, `Json`, ...: over it, `413` before the handler
    /// runs) and to [`StreamingBody`](crate::extract::StreamingBody).
    /// Called before any route, it is an error that [`App::bind`] reports.
    ///
    /// ```
    /// use armature_core::extract::StreamingBody;
    /// use armature_core::{App, Bytes};
    /// let app = App::new()
    ///     // 64 MiB for uploads, streamed; every other route keeps the default 2 MiB.
    ///     .post("/upload", |_body: StreamingBody| async { "ok" })
    ///     .body_limit(64 << 20)
    ///     // A whole nested app: 16 KiB.
    ///     .nest("/small", App::new().post("/echo", |b: Bytes| async move { b }))
    ///     .body_limit(16 << 10);
    /// # drop(app);
    /// ```
    pub fn body_limit(mut self, limit: usize) -> Self {
        if self.routes.is_empty() {
            self.build_error
                .get_or_insert_with(|| "App::body_limit was called before any route".into());
            return self;
        }
        for route in &mut self.routes[self.last_call..] {
            route.body_limit.get_or_insert(limit);
        }
        self
    }

    /// Answers requests whose path matches no route with `handler` instead of the
    /// built-in `404` (a path that has routes for other methods still gets `405`).
    pub fn fallback<H, T>(mut self, handler: H) -> Self
    where
        H: Handler<T, S>,
        T: 'static,
    {
        self.fallback = Some(Box::new(Erased::new(handler)));
        self
    }

    /// Answers requests refused before their handler ran with `answer`'s response,
    /// instead of the status and the message as `text/plain`: an extractor's
    /// [`Rejection`] (a wrong `Content-Type`: `415`; malformed JSON: `400`; JSON of
    /// the wrong shape: `422`; a path parameter or query that does not deserialise:
    /// `400`; ...), and a body over
    /// [`max_body_size`](ServerConfig::max_body_size) (`413`). One function for the
    /// whole app (nested and merged apps' routes included), so that every such error
    /// has the app's format; [`Rejection::kind`] says which one it is.
    ///
    /// The answer takes the handler's place: it passes through the route's
    /// middleware (request id, CORS, compression, the request log) as the handler's
    /// response would have, and a header the protocol needs (`Allow` on a `405`,
    /// `Sec-WebSocket-Version` on a `426`) is added to it. A panic in `answer` is
    /// answered `500`. Built-in `404` and `405` for paths no route has are not
    /// rejections (see [`fallback`](App::fallback)).
    ///
    /// ```
    /// use armature_core::extract::{Json, Rejection, RejectionKind};
    /// use armature_core::testing::TestConnection;
    /// use armature_core::{App, IntoResponse, Response, ServerConfig};
    /// use serde_json::json;
    ///
    /// /// `{"error": "...", "kind": "..."}`, whatever refused the request.
    /// fn json_error(rejection: Rejection) -> Response {
    ///     let kind = match rejection.kind() {
    ///         RejectionKind::BodyTooLarge => "too_large",
    ///         RejectionKind::MediaType => "media_type",
    ///         _ => "invalid",
    ///     };
    ///     let body = json!({ "error": rejection.message(), "kind": kind });
    ///     (rejection.status(), Json(body)).into_response()
    /// }
    ///
    /// let app = App::new()
    ///     .post("/echo", |Json(v): Json<serde_json::Value>| async move { Json(v) })
    ///     .rejection(json_error)
    ///     .config(ServerConfig::default().max_body_size(16));
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let conn = TestConnection::new(app).unwrap();
    /// let out = conn
    ///     .roundtrip(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}")
    ///     .await;
    /// let out = String::from_utf8(out).unwrap();
    /// assert!(out.starts_with("HTTP/1.1 415 "), "{out}");
    /// assert!(out.contains("Content-Type: application/json\r\n"), "{out}");
    /// assert!(out.ends_with(r#""kind":"media_type"}"#), "{out}");
    ///
    /// let out = conn
    ///     .roundtrip(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 99\r\n\r\n")
    ///     .await;
    /// let out = String::from_utf8(out).unwrap();
    /// assert!(out.starts_with("HTTP/1.1 413 "), "{out}");
    /// assert!(out.ends_with(r#""kind":"too_large"}"#), "{out}");
    /// # });
    /// ```
    ///
    /// [`armature_core::Error`](Error) answers `{"error": "..."}` with the status,
    /// so `.rejection(Error::from)` makes rejections look like handler errors.
    pub fn rejection<F, R>(mut self, answer: F) -> Self
    where
        F: Fn(Rejection) -> R + Send + Sync + 'static,
        R: IntoResponse,
    {
        self.rejections = Rejections::new(answer);
        self
    }

    /// Adds every route of `other` under `prefix` (`"/api"`: its `/users` becomes
    /// `/api/users`, its `/` becomes `/api`). `other`'s app-wide middleware wraps its
    /// routes only; its fallback, configuration and state are not used (its routes get
    /// this app's state).
    pub fn nest(mut self, prefix: &str, other: App<S>) -> Self {
        let prefix = prefix.trim_end_matches('/');
        if !prefix.is_empty() && !prefix.starts_with('/') {
            self.build_error
                .get_or_insert_with(|| format!("nest prefix `{prefix}` must start with `/`"));
        }
        self.adopt(other, |pattern| match pattern {
            "/" if !prefix.is_empty() => prefix.to_owned(),
            p => format!("{prefix}{p}"),
        })
    }

    /// Adds every route of `other` as it is. `other`'s app-wide middleware wraps its
    /// routes only; its fallback (when this app has none) becomes this app's; its
    /// configuration and state are not used (its routes get this app's state).
    pub fn merge(mut self, mut other: App<S>) -> Self {
        if self.fallback.is_none() {
            self.fallback = other.fallback.take();
        }
        self.adopt(other, str::to_owned)
    }

    fn adopt(mut self, other: App<S>, pattern: impl Fn(&str) -> String) -> Self {
        if let Some(e) = other.build_error {
            self.build_error.get_or_insert(e);
        }
        self.last_call = self.routes.len();
        for mut route in other.routes {
            // Its app-wide middleware becomes the outermost of each route's own.
            route.middleware.extend(other.middleware.iter().cloned());
            route.pattern = pattern(&route.pattern);
            self.routes.push(route);
        }
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

    /// Adds per-worker state: `factory` runs once on each worker thread, on that
    /// worker's runtime, and the value it builds is what handlers on that worker get
    /// from the [`WorkerState<T>`](crate::extract::WorkerState) extractor (the
    /// worker's own database connections, caches, clients: no cross-thread hop and no
    /// lock per request). `T` need not be `Send` or `Sync`; nor need the future.
    ///
    /// Every worker's factories finish before the server listens: until then a
    /// client's connection is refused, never queued. If a factory fails, the other
    /// workers stop, nothing is served, and [`Server::run`] (or
    /// [`App::serve`]) returns an [`Error`] for which
    /// [`is_worker_state`](Error::is_worker_state) holds, whose text names the worker
    /// and ends with the factory's own error. Several factories for different types
    /// may be added (each worker runs them in the order added); a second one for the
    /// same `T` replaces the first. An app with none pays nothing per request.
    ///
    /// ```
    /// use std::cell::RefCell;
    /// use armature_core::extract::WorkerState;
    /// use armature_core::{App, ServerConfig, WorkerInfo};
    ///
    /// /// A stand-in for a connection pool: one per worker, used without locks.
    /// struct Db {
    ///     worker: usize,
    ///     queries: RefCell<Vec<String>>,
    /// }
    ///
    /// impl Db {
    ///     async fn open(worker: usize) -> Result<Db, std::io::Error> {
    ///         Ok(Db { worker, queries: RefCell::new(Vec::new()) })
    ///     }
    /// }
    ///
    /// async fn todos(db: WorkerState<Db>) -> String {
    ///     db.queries.borrow_mut().push("SELECT * FROM todos".into());
    ///     format!("worker {}: {} queries", db.worker, db.queries.borrow().len())
    /// }
    ///
    /// fn main() -> Result<(), armature_core::Error> {
    ///     let server = App::new()
    ///         .worker_state(|w: WorkerInfo| async move { Db::open(w.index()).await })
    ///         .get("/todos", todos)
    ///         .config(ServerConfig::default().workers(2).handle_signals(false))
    ///         .bind("127.0.0.1:0")?
    ///         .spawn(); // returns once both workers have opened their Db
    ///     server.shutdown()
    /// }
    /// ```
    pub fn worker_state<T, E, F, Fut>(mut self, factory: F) -> Self
    where
        T: 'static,
        E: Into<BoxError>,
        F: Fn(WorkerInfo) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = Result<T, E>> + 'static,
    {
        self.worker_states.insert(factory);
        self
    }

    /// [`worker_state`](App::worker_state) with a factory that is a plain function
    /// (it runs on the worker's thread, before the worker serves anything).
    ///
    /// ```
    /// use std::cell::Cell;
    /// use armature_core::{App, WorkerInfo};
    /// use armature_core::extract::WorkerState;
    ///
    /// let app = App::new()
    ///     .worker_state_sync(|w: WorkerInfo| Ok::<_, std::io::Error>(Cell::new(w.index())))
    ///     .get("/worker", |n: WorkerState<Cell<usize>>| async move { n.get().to_string() });
    /// # drop(app);
    /// ```
    pub fn worker_state_sync<T, E, F>(self, factory: F) -> Self
    where
        T: 'static,
        E: Into<BoxError> + 'static,
        F: Fn(WorkerInfo) -> Result<T, E> + Send + Sync + 'static,
    {
        self.worker_state(move |w| std::future::ready(factory(w)))
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

    /// The routes added so far as `(method, pattern)`, patterns as given (after
    /// [`nest`](App::nest)'s prefix), in the order added: what an API description
    /// (an OpenAPI document) is checked against. The fallback is not a route.
    ///
    /// ```
    /// use armature_core::{App, Method};
    /// let app = App::new()
    ///     .get("/todos/:id", || async { "one" })
    ///     .nest("/v1", App::new().post("/todos", || async { "new" }));
    /// let routes: Vec<_> = app.routes().collect();
    /// assert_eq!(routes, [(Method::Get, "/todos/:id"), (Method::Post, "/v1/todos")]);
    /// ```
    pub fn routes(&self) -> impl Iterator<Item = (Method, &str)> + '_ {
        self.routes.iter().map(|r| (r.method, r.pattern.as_str()))
    }

    fn build_router(
        routes: Vec<RouteEntry<S>>,
        app_middleware: &[Layer],
        rejections: &Rejections,
        state: &Arc<S>,
        config: &ServerConfig,
    ) -> Result<Router<Endpoint<S>>, Error> {
        let workers = config.workers;
        let mut router = Router::new();
        for mut route in routes {
            route.handler.answer_rejections_with(rejections);
            let streams_body = route.handler.streams_body();
            let (method, pattern) = (route.method, route.pattern);
            let (handler, hooks) = if app_middleware.is_empty() && route.middleware.is_empty() {
                (route.handler, None)
            } else {
                let label = middleware::RouteLabel {
                    method: Some(method),
                    pattern: Some(&pattern),
                    workers,
                };
                let stack =
                    middleware::bind(middleware::stack(app_middleware, &route.middleware), &label);
                match middleware::HookStack::of(&stack) {
                    Some(hooks) => (route.handler, Some(hooks)),
                    None => {
                        let layered: Box<dyn ErasedHandler<S>> =
                            Box::new(Layered::new(route.handler, state.clone(), stack));
                        (layered, None)
                    }
                }
            };
            let names = crate::routing::pattern_params(&pattern)
                .map_err(|e| Error::route(format!("invalid route `{method} {pattern}`: {e}")))?;
            let params: Vec<&'static str> = names
                .into_iter()
                .map(|n| &*Box::leak(n.into_boxed_str()))
                .collect();
            let endpoint = Endpoint {
                handler,
                params: Box::leak(params.into_boxed_slice()),
                hooks,
                body_limit: route.body_limit.unwrap_or(config.max_body_size),
                streams_body,
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
        if let Some(e) = self.build_error {
            return Err(Error::config(e));
        }
        let workers = self.config.workers;
        // Requests with a body look their route up before framing it only when some
        // route has a body setting of its own.
        let route_bodies = self
            .routes
            .iter()
            .any(|r| r.body_limit.is_some() || r.handler.streams_body());
        let router = Self::build_router(
            self.routes,
            &self.middleware,
            &self.rejections,
            &self.state,
            &self.config,
        )?;
        let unmatched = middleware::RouteLabel {
            method: None,
            pattern: None,
            workers,
        };
        let unmatched_stack = (!self.middleware.is_empty())
            .then(|| middleware::bind(middleware::stack(&self.middleware, &[]), &unmatched));
        Ok(Arc::new(Shared {
            router,
            fallback: self.fallback.map(|mut handler| {
                handler.answer_rejections_with(&self.rejections);
                Arc::new(middleware::Bound {
                    handler,
                    state: self.state.clone(),
                })
            }),
            unmatched_stack,
            route_bodies,
            rejections: self.rejections,
            state: self.state,
            config: self.config,
            worker_states: self.worker_states,
        }))
    }

    /// Builds the router (an invalid or conflicting route is an error here, never a
    /// panic) and binds one socket per worker on `addr`. The sockets listen only once
    /// [`Server::run`] has every worker ready (its signal handler installed, its
    /// [`worker_state`](App::worker_state) built): until then the address is taken but
    /// a client's connection is refused.
    ///
    /// The workers share the address with `SO_REUSEPORT`, which would also let them
    /// join a group another process already listens with (and take part of its
    /// connections). So an address some other socket listens on is an error
    /// ("cannot bind ADDR: another socket already holds it"), here and
    /// again in [`Server::run`] just before listening; [`App::serve`] then returns it
    /// and a `main` that returns it exits with a failure status.
    pub fn bind(self, addr: impl ToSocketAddrs) -> Result<Server, Error> {
        let shared = self.into_shared()?;
        let config = &shared.config;
        let addr = addr
            .to_socket_addrs()
            .map_err(|e| Error::io("cannot resolve the listen address", e))?
            .next()
            .ok_or_else(|| Error::config("the listen address resolved to nothing"))?;
        let (sockets, local_addr) = worker::bind_sockets(addr, config.workers)?;
        let handle = ShutdownHandle::new();
        let start: Start = {
            let handle = handle.clone();
            Box::new(move |on_ready| worker::run_workers(shared, sockets, handle, on_ready))
        };
        Ok(Server {
            local_addr,
            handle,
            start,
            on_ready: None,
        })
    }

    /// Binds and runs until shut down (SIGINT/SIGTERM by default): see [`Server::run`].
    pub fn serve(self, addr: impl ToSocketAddrs) -> Result<(), Error> {
        self.bind(addr)?.run()
    }
}

/// Runs the workers; calls its argument once every worker is ready and listening.
type Start = Box<dyn FnOnce(Box<dyn FnOnce() + Send>) -> Result<(), Error> + Send>;

/// A bound server, ready to run.
pub struct Server {
    local_addr: SocketAddr,
    handle: ShutdownHandle,
    start: Start,
    on_ready: Option<Box<dyn FnOnce(SocketAddr) + Send>>,
}

impl Server {
    /// The address the listeners are bound to (the real port when `:0` was asked).
    ///
    /// Known from [`App::bind`] on, but nothing listens on it yet: a connection made
    /// before [`run`](Server::run) has every worker ready is refused. A "listening
    /// on" line for clients to act on belongs in [`on_ready`](Server::on_ready).
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
    ///
    /// Each worker first installs the signal handler (when
    /// [`handle_signals`](ServerConfig::handle_signals) is on) and builds its
    /// [`worker_state`](App::worker_state); only when all have done so do the sockets
    /// listen. A factory's error stops the other workers and is returned here.
    ///
    /// With one worker, the worker runs on the thread that called `run` (unless
    /// that thread is inside a tokio runtime already), so that once started the
    /// server is one thread; several workers get a thread each.
    pub fn run(self) -> Result<(), Error> {
        let (addr, on_ready) = (self.local_addr, self.on_ready);
        (self.start)(Box::new(move || {
            if let Some(f) = on_ready {
                f(addr);
            }
        }))
    }

    /// Calls `f` with the address once, when the server is ready: every worker has
    /// started (its [`worker_state`](App::worker_state) built) and every worker's
    /// socket has had `listen()` called on it, so a connection made from then on
    /// (from inside `f` too) is accepted, never refused; one made before is refused.
    /// Called from [`run`](Server::run) or [`spawn`](Server::spawn): the moment a
    /// "listening on" line is true, and the place to print it (printed after
    /// [`App::bind`] instead, a client that connects on seeing it may be refused).
    /// Not called when the server stops before that.
    ///
    /// ```no_run
    /// # fn main() -> Result<(), armature_core::Error> {
    /// armature_core::App::new()
    ///     .get("/", || async { "hi" })
    ///     .bind("127.0.0.1:8080")?
    ///     .on_ready(|addr| eprintln!("listening on http://{addr}"))
    ///     .run()
    /// # }
    /// ```
    pub fn on_ready(mut self, f: impl FnOnce(SocketAddr) + Send + 'static) -> Self {
        self.on_ready = Some(Box::new(f));
        self
    }

    /// Runs the server on a background thread, returning once it is ready (as for
    /// [`on_ready`](Server::on_ready): every worker's socket listens) or has stopped
    /// before that: a startup error, such as a failed
    /// [`worker_state`](App::worker_state) factory, is then what
    /// [`RunningServer::shutdown`] returns.
    pub fn spawn(self) -> RunningServer {
        let addr = self.local_addr;
        let handle = self.handle.clone();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("armature-server".into())
            .spawn(move || {
                let on_ready = self.on_ready;
                (self.start)(Box::new(move || {
                    if let Some(f) = on_ready {
                        f(addr);
                    }
                    let _ = ready_tx.send(());
                }))
            })
            .expect("spawning the server thread");
        // `Err` (the sender dropped unsent): the server stopped before listening.
        let _ = ready_rx.recv();
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
