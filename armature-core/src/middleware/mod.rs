//! Middleware: `async fn`s around the handler that get the request and a [`Next`]
//! to call, shaped after axum's `from_fn`.
//!
//! ```
//! use armature_core::middleware::Next;
//! use armature_core::{App, HttpRequest, IntoResponse, Response, StatusCode};
//!
//! /// Short-circuits without a token; otherwise tags the request and the response.
//! async fn require_token(mut req: HttpRequest, next: Next) -> Response {
//!     if req.header("authorization").is_none() {
//!         return StatusCode::UNAUTHORIZED.into_response();
//!     }
//!     req.set_header("x-authenticated", "yes"); // handlers see it
//!     let mut resp = next.run(req).await;
//!     resp.insert_header("x-checked", "token");
//!     resp
//! }
//!
//! let app = App::new()
//!     .get("/public", || async { "hello" })
//!     .get("/admin", || async { "secret" })
//!     .with(require_token); // this route only
//! # drop(app);
//! ```
//!
//! # Where middleware applies, and in what order
//!
//! - [`App::middleware`](crate::App::middleware) adds app-wide middleware: it wraps
//!   every request the app answers, whichever route (added before or after it), the
//!   [`fallback`](crate::App::fallback), and the built-in `404` and `405`.
//! - [`App::with`](crate::App::with) adds middleware to the routes of the last route
//!   call only (all methods of an [`any`](crate::App::any) route).
//! - Of the middleware at one level, **the one added last runs first** (it is the
//!   outermost, as axum's layers); app-wide middleware runs before (around) per-route
//!   middleware. With `.middleware(a).middleware(b)` and `.get(..).with(x).with(y)` a
//!   request meets `b`, `a`, `y`, `x`, then the handler, and the response travels
//!   back the other way.
//! - Routing happens first: middleware sees (and may change) the routed request, its
//!   path parameters already found; it cannot send the request to another route.
//! - A request refused before its handler runs (an extractor's
//!   [`Rejection`](crate::extract::Rejection), a body over
//!   [`max_body_size`](crate::ServerConfig::max_body_size)) meets the same middleware:
//!   the app's answer ([`App::rejection`](crate::App::rejection)) takes the handler's
//!   place. A request whose body is over the limit reaches it without its body, and
//!   its connection closes after the answer.
//!
//! Middleware gets the request by value: changes to it (headers, body) are what
//! the next layer and the handler's extractors see. It may return a response without
//! calling [`Next::run`] (short-circuit), and may change the response it gets back.
//! A panic in middleware is answered `500`, as in a handler.
//!
//! An app without middleware pays nothing for the feature: no request is cloned and
//! the route's handler is called as before (instructions per request measured equal).
//! A route whose middleware is all built-in and future-free ([`RequestId`], [`Cors`],
//! [`RequestLog`], [`DefaultHeaders`]) costs no more than their own work: they run as
//! plain calls on the connection's request and on the response in place. With other
//! middleware (an `async fn`, [`Timeout`], [`Compression`]) a request costs one clone
//! of the request (its bytes are shared, not copied) and one boxed future per layer.
//!
//! Built-in middleware, each configured by a builder: [`RequestId`], [`RequestLog`]
//! (the access log through `tracing`; its format is documented there), [`Timeout`],
//! [`DefaultHeaders`], [`Cors`], [`Compression`].

pub(crate) mod compression;
mod cors;
mod default_headers;
mod hooks;
mod request_id;
mod request_log;
mod timeout;

use std::future::Future;
use std::sync::Arc;

use crate::extract::Rejections;
use crate::handler::{BoxFuture, ErasedHandler};
use crate::http::HttpRequest;
use crate::response::{IntoResponse, Response};

pub(crate) use hooks::{enter, After, Carries, HookStack};

pub use compression::Compression;
pub use cors::Cors;
pub use default_headers::DefaultHeaders;
pub use request_id::{RequestId, REQUEST_ID_HEADER};
pub use request_log::{RequestLog, ACCESS_TARGET};
pub use timeout::Timeout;

/// A layer around handlers. Implemented by every
/// `Fn(HttpRequest, Next) -> impl Future<Output = impl IntoResponse>` (so an
/// `async fn(HttpRequest, Next) -> Response` is middleware), and by the built-in
/// middleware types.
pub trait Middleware: Send + Sync + 'static {
    /// Handles `req`: calls `next.run(req)` to go on (or not, to answer itself).
    fn call(&self, req: HttpRequest, next: Next) -> BoxFuture;

    /// The built-in middleware's fast form (the connection loop runs it without a
    /// future per layer); `None` for any other middleware. Not for use outside the
    /// crate: the returned type cannot be named there.
    #[doc(hidden)]
    fn hooks(self: Arc<Self>) -> Option<hooks::Builtin> {
        None
    }
}

impl<F, Fut, R> Middleware for F
where
    F: Fn(HttpRequest, Next) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = R> + 'static,
    R: IntoResponse,
{
    fn call(&self, req: HttpRequest, next: Next) -> BoxFuture {
        let fut = self(req, next);
        Box::pin(async move { fut.await.into_response() })
    }
}

/// Middleware as the router stores it: shared by every worker.
pub(crate) type Layer = Arc<dyn Middleware>;

/// The layers of one route, outermost first.
pub(crate) type Stack = Arc<[Layer]>;

/// A handler bound to the app's state: what a route's innermost layer calls.
pub(crate) trait Endpoint: Send + Sync {
    fn call(&self, req: &HttpRequest) -> BoxFuture;
}

/// A route's (or the fallback's) handler with the app's state.
pub(crate) struct Bound<S> {
    pub handler: Box<dyn ErasedHandler<S>>,
    pub state: Arc<S>,
}

impl<S: Send + Sync + 'static> Endpoint for Bound<S> {
    fn call(&self, req: &HttpRequest) -> BoxFuture {
        self.handler.call(req, &self.state)
    }
}

/// What the innermost layer calls: a handler (no allocation: a shared reference), or
/// a response ready at once (the built-in `404`/`405`; boxed, so that `Next`, which
/// every middleware future holds, stays small: unboxed it cost ~300 instructions a
/// request in memcpy through an `async fn` layer).
pub(crate) enum Terminal {
    Endpoint(Arc<dyn Endpoint>),
    Ready(Box<Response>),
}

/// The rest of the chain: the inner layers, then the handler.
pub struct Next {
    stack: Stack,
    pos: usize,
    terminal: Terminal,
}

impl Next {
    /// Runs the rest of the chain on `req` (the handler's extractors read this
    /// request, with the changes made to it) and returns its response.
    pub fn run(mut self, req: HttpRequest) -> BoxFuture {
        match self.stack.get(self.pos).cloned() {
            Some(layer) => {
                self.pos += 1;
                layer.call(req, self)
            }
            None => match self.terminal {
                Terminal::Endpoint(endpoint) => endpoint.call(&req),
                Terminal::Ready(resp) => Box::pin(std::future::ready(*resp)),
            },
        }
    }
}

impl std::fmt::Debug for Next {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Next")
            .field("layers_left", &(self.stack.len() - self.pos))
            .finish()
    }
}

/// Runs `req` through `stack` (outermost first) into `terminal`.
pub(crate) fn run(stack: &Stack, req: HttpRequest, terminal: Terminal) -> BoxFuture {
    Next {
        stack: stack.clone(),
        pos: 0,
        terminal,
    }
    .run(req)
}

/// The layers for a route, outermost first, from the app-wide and the route's own
/// middleware, each in the order added (the last added runs first).
pub(crate) fn stack(app: &[Layer], route: &[Layer]) -> Stack {
    app.iter()
        .rev()
        .chain(route.iter().rev())
        .cloned()
        .collect()
}

/// A route's handler inside its middleware.
pub(crate) struct Layered {
    endpoint: Arc<dyn Endpoint>,
    stack: Stack,
}

impl Layered {
    /// `handler` (with the app's `state`, which every call passes anyway) inside
    /// `stack`.
    pub fn new<S: Send + Sync + 'static>(
        handler: Box<dyn ErasedHandler<S>>,
        state: Arc<S>,
        stack: Stack,
    ) -> Self {
        Layered {
            endpoint: Arc::new(Bound { handler, state }),
            stack,
        }
    }
}

impl<S: Send + Sync + 'static> ErasedHandler<S> for Layered {
    fn call(&self, req: &HttpRequest, _state: &Arc<S>) -> BoxFuture {
        run(
            &self.stack,
            req.clone(),
            Terminal::Endpoint(self.endpoint.clone()),
        )
    }

    fn answer_rejections_with(&mut self, _: &Rejections) {
        // Nothing to do: the handler inside was given them before it was wrapped
        // (`App::into_shared`), and a refused request's answer comes made (`refuse`).
    }

    fn refuse(&self, req: &HttpRequest, resp: Response) -> BoxFuture {
        run(&self.stack, req.clone(), Terminal::Ready(Box::new(resp)))
    }
}
