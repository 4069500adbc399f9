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
//! [`RequestLog`], [`DefaultHeaders`], [`Metrics`], [`Compression`]) costs no more
//! than their own work: they run as plain calls on the connection's request and on
//! the response in place. With other middleware (an `async fn`, [`Timeout`]) a
//! request costs one clone
//! of the request (its bytes are shared, not copied) and one boxed future per layer.
//!
//! Built-in middleware, each configured by a builder: [`RequestId`], [`RequestLog`]
//! (the access log through `tracing`; its format is documented there), [`Timeout`],
//! [`DefaultHeaders`], [`Cors`], [`Compression`], [`Metrics`] (request count, errors
//! and latency per route template, for Prometheus).

mod builtin;
mod chain;
mod coding;
pub(crate) mod compression;
mod cors;
mod default_headers;
mod hooks;
mod metrics;
mod request_id;
mod request_log;
mod timeout;

pub(crate) use builtin::{enter, After, Alone, Carries, HookStack};
pub(crate) use chain::{bind, run, stack, Bound, Layer, Layered, RouteLabel, Stack, Terminal};
pub use chain::{Middleware, Next};

pub use compression::Compression;
pub use cors::Cors;
pub use default_headers::DefaultHeaders;
pub use metrics::{Metrics, DEFAULT_BUCKETS, OPENMETRICS_TEXT, PROMETHEUS_TEXT, UNMATCHED_ROUTE};
pub use request_id::{RequestId, REQUEST_ID_HEADER};
pub use request_log::{RequestLog, ACCESS_TARGET};
pub use timeout::Timeout;
