//! The middleware chain: the [`Middleware`] trait, a route's stack of layers and
//! [`Next`], which runs the rest of it into the handler.

use std::future::Future;
use std::sync::Arc;

use tracing::Instrument;

use super::hooks::{AnyHooks, Carry, Hooks};
use crate::extract::Rejections;
use crate::handler::{BoxFuture, ErasedHandler};
use crate::http::{HttpRequest, Method};
use crate::response::{IntoResponse, Response};

/// The route a layer is being bound to (see
/// [`Middleware::bind`]).
///
/// `pub` in a private module: nameable only inside the crate.
#[derive(Debug)]
pub struct RouteLabel<'a> {
    /// The route's method; `None` for the requests no route matched.
    pub(crate) method: Option<Method>,
    /// The route's template; `None` for the requests no route matched.
    pub(crate) pattern: Option<&'a str>,
    /// How many workers the server runs.
    pub(crate) workers: usize,
}

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
    fn hooks(self: Arc<Self>) -> Option<AnyHooks> {
        None
    }

    /// This layer as it runs on one route (the [`Metrics`](super::Metrics) label
    /// their counters with it), or `None` to run as it is. Called once per route
    /// when the app is built. Not for use outside the crate, as
    /// [`hooks`](Self::hooks).
    #[doc(hidden)]
    fn bind(&self, _route: &RouteLabel<'_>) -> Option<Layer> {
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

/// `stack` with each layer bound to `route` (see [`Middleware::bind`]); the same
/// stack when no layer binds.
pub(crate) fn bind(stack: Stack, route: &RouteLabel<'_>) -> Stack {
    let bound: Vec<Option<Layer>> = stack.iter().map(|layer| layer.bind(route)).collect();
    if bound.iter().all(Option::is_none) {
        return stack;
    }
    stack
        .iter()
        .zip(bound)
        .map(|(layer, bound)| bound.unwrap_or_else(|| layer.clone()))
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

/// A hook layer as general middleware: the same `before` and `after`, around a
/// future of its own (only when `after` has something to do).
pub(crate) fn around<H: Hooks + Clone>(hooks: &H, mut req: HttpRequest, next: Next) -> BoxFuture {
    let mut carry = Carry::Done;
    if let Some(resp) = hooks.before(&mut req, &mut carry) {
        return Box::pin(std::future::ready(resp));
    }
    if matches!(carry, Carry::Done) {
        return next.run(req);
    }
    let hooks = hooks.clone();
    match carry.span().cloned() {
        Some(span) => {
            let inner = span.in_scope(|| next.run(req)).instrument(span);
            Box::pin(async move {
                let mut resp = inner.await;
                hooks.after(&mut carry, &mut resp);
                resp
            })
        }
        None => {
            let inner = next.run(req);
            Box::pin(async move {
                let mut resp = inner.await;
                hooks.after(&mut carry, &mut resp);
                resp
            })
        }
    }
}
