//! What the workers share (the app as built: the router, the fallback, the state,
//! the configuration) and what each worker keeps for its connections: the
//! server's own types, which the accept loops, the connection loop, dispatch and
//! the workers all use.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::Arc;

use super::config::ServerConfig;
use super::shutdown::Draining;
use super::worker_state::Factories;
use crate::connection_manager::ConnectionManager;
use crate::extract::Rejections;
use crate::handler::ErasedHandler;
use crate::middleware::{self, Stack};
use crate::proto::parse::SIMDParser;
use crate::routing::{RouteCache, Router};

/// A route's handler and its parameter names, as the router stores it.
pub(crate) struct Endpoint<S> {
    pub handler: Box<dyn ErasedHandler<S>>,
    /// Parameter names in pattern order, interned for the life of the process so
    /// requests can refer to them without allocating or reference counting. Apps
    /// build their routes once; each costs a few bytes.
    pub params: &'static [&'static str],
    /// The route's middleware when it is all hooks (then `handler` is the bare
    /// handler, and the connection loop runs the hooks around it).
    pub hooks: Option<middleware::HookStack>,
    /// The largest body the route accepts (its own limit, else the server's).
    pub body_limit: usize,
    /// Whether its handler streams the body (runs before the body has arrived).
    pub streams_body: bool,
}

/// What every worker shares.
pub(crate) struct Shared<S> {
    pub router: Router<Endpoint<S>>,
    /// What answers a path no route matches, inside the app-wide middleware.
    pub fallback: Option<Arc<middleware::Bound<S>>>,
    /// The app-wide middleware (outermost first), for requests no route matched; `None`
    /// when there is none, so those answer at once.
    pub unmatched_stack: Option<Stack>,
    /// Whether some route has a body limit of its own or streams its body: then a
    /// request with a body finds its route before the body is framed.
    pub route_bodies: bool,
    /// The app's answer to requests refused before their handler ran.
    pub rejections: Rejections,
    pub state: Arc<S>,
    pub config: ServerConfig,
    /// Per-worker state factories, run by each worker before the server listens.
    pub worker_states: Factories,
}

/// Per-worker state shared by its connections (single-threaded: `Rc`/`Cell`).
pub(crate) struct WorkerCtx<S> {
    pub shared: Arc<Shared<S>>,
    pub parser: SIMDParser,
    pub route_cache: RefCell<RouteCache>,
    pub shutting_down: Cell<bool>,
    /// Fired with `shutting_down`, for upgraded (WebSocket) connections.
    pub going_away: Rc<Draining>,
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
            going_away: Rc::default(),
            manager: Rc::new(ConnectionManager::for_worker(
                config.get_connection_manager().clone(),
                config.workers,
            )),
            shared,
        }
    }
}
