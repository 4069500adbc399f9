//! `Metrics`: request count, errors and latency per method, route template and
//! status class, kept per worker and served in the Prometheus text format.

mod scrape;
mod series;

use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex, PoisonError};

use futures_util::FutureExt;

use super::hooks::{self, Carry, Hooks};
use super::{Layer, Middleware, Next, RouteLabel};
use crate::extract::Headers;
use crate::handler::BoxFuture;
use crate::http::{HttpRequest, HttpResponse, Method, StatusCode};
use crate::response::Response;
use series::{Buckets, Series};

pub use series::Started;

/// The `route` label of requests no route matched (the built-in `404` and `405`,
/// and what the [`fallback`](crate::App::fallback) answers): one fixed value, so
/// that scanners probing random paths add no label values. Route templates start
/// with `/`, so it cannot clash with one.
pub const UNMATCHED_ROUTE: &str = "unmatched";

/// The content type of the Prometheus text format, as [`Metrics::handler`] serves it.
pub const PROMETHEUS_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The content type of the OpenMetrics text format, served to scrapers that ask for it.
pub const OPENMETRICS_TEXT: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The histogram's default upper bounds, in seconds: from 100 µs (a framework that
/// answers in microseconds needs buckets there) to 10 s.
pub const DEFAULT_BUCKETS: [f64; 16] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0,
];

/// Request metrics for Prometheus: added as middleware, served by
/// [`handler`](Metrics::handler) on the route the app chooses.
///
/// ```
/// use armature_core::middleware::Metrics;
/// use armature_core::App;
///
/// let metrics = Metrics::new();
/// let app = App::new()
///     .get("/todos/:id", || async { "one item" })
///     .get("/metrics", metrics.handler()) // the scrape route
///     .middleware(metrics); // app-wide: every route, and unmatched requests
/// # drop(app);
/// ```
///
/// # What it exposes
///
/// | family | type | labels |
/// | --- | --- | --- |
/// | `http_requests_total` | counter | `method`, `route`, `status` |
/// | `http_request_errors_total` | counter: responses with a 5xx status | `method`, `route` |
/// | `http_request_duration_seconds` | histogram ([`DEFAULT_BUCKETS`]) | `method`, `route`, `status` |
///
/// `route` is the route's template as it was added (`/todos/:id`, never the
/// path: the label values are bounded by the app's routes), or
/// [`UNMATCHED_ROUTE`] for requests no route matched; `status` is the class (`2xx`,
/// `4xx`, ..); `method` is the request's (a `GET` route also answers `HEAD`).
/// The duration runs from the request reaching this middleware to its response
/// being ready (the handler and the middleware inside this one; add it last, so
/// that it is the outermost, to time them all). A label set appears once it had a
/// request.
///
/// # Cost
///
/// An app without it pays nothing. With it, a request costs two reads of the
/// monotonic clock and two increments of cells that only its worker writes: no
/// lock, no shared atomic, no allocation. Measured with callgrind on
/// `examples/hello` (`METRICS=1`, one worker, `scripts/instructions.sh`,
/// 2026-12-06): `/json` 3,845-3,849 instructions per request against
/// 3,738-3,740 without (+2.9%). There it is the only middleware of its routes,
/// and its `before` and `after` are called directly from the connection loop
/// (`HookStack::alone`). Beside other built-ins it runs through the loops over
/// the layers, as it did alone too before that path: 3,929-3,931 (+5.0%). Of those ~190
/// instructions (callgrind, per instruction): the loops and the layers'
/// dispatch ~95, the metrics' own ~75 (the start ~23; the finish ~53: the
/// status class, this worker's block, the bucket search, which stops at the
/// first bound for a request under 100 µs, two increments), the two
/// `clock_gettime` calls ~20 (valgrind does not use the vDSO). A scrape sums
/// every worker's cells (see the `series` module for how that is safe without
/// locking the request path), so it costs in proportion to routes × workers.
///
/// On a route whose middleware is all built-in it runs as two plain calls around
/// the handler; with an `async fn` layer (or [`Timeout`](super::Timeout)) as a
/// future. Either way a panic below it is
/// counted as the `500` it is answered with.
///
/// Clones share the counters: one `Metrics` may serve several apps (their counts
/// add up).
#[derive(Clone, Debug)]
pub struct Metrics {
    inner: Arc<Inner>,
}

struct Inner {
    buckets: Arc<Buckets>,
    /// Every series bound so far: locked when a route is bound and at each scrape,
    /// never by a request.
    series: Mutex<Vec<Arc<Series>>>,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let routes = self
            .series
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len();
        f.debug_struct("Metrics")
            .field("buckets", &self.buckets.seconds)
            .field("routes", &routes)
            .finish()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    /// Metrics with the [`DEFAULT_BUCKETS`].
    pub fn new() -> Self {
        Metrics::with_buckets(&DEFAULT_BUCKETS)
    }

    /// Metrics whose latency histogram has these upper bounds, in seconds (`+Inf`
    /// is added).
    ///
    /// # Panics
    ///
    /// When `bounds` is empty, or not finite, positive and strictly increasing.
    pub fn with_buckets(bounds: &[f64]) -> Self {
        assert!(
            !bounds.is_empty()
                && bounds.iter().all(|b| b.is_finite() && *b > 0.0)
                && bounds.windows(2).all(|w| w[0] < w[1]),
            "histogram bounds must be finite, positive and strictly increasing: {bounds:?}"
        );
        Metrics {
            inner: Arc::new(Inner {
                buckets: Arc::new(Buckets::new(bounds)),
                series: Mutex::new(Vec::new()),
            }),
        }
    }

    /// The metrics in the Prometheus text format (version 0.0.4).
    pub fn render(&self) -> String {
        self.snapshot().prometheus_text()
    }

    /// The metrics in the OpenMetrics text format (1.0.0).
    pub fn render_openmetrics(&self) -> String {
        self.snapshot().openmetrics()
    }

    fn snapshot(&self) -> scrape::Snapshot {
        let series = self
            .inner
            .series
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        scrape::Snapshot::take(&series, &self.inner.buckets.seconds)
    }

    /// The scrape handler, for the route the app chooses (`/metrics` by
    /// convention). It answers in the Prometheus text format ([`PROMETHEUS_TEXT`]),
    /// or in OpenMetrics ([`OPENMETRICS_TEXT`]) when the request's `Accept` names
    /// `application/openmetrics-text` (as Prometheus' own requests do).
    ///
    /// Runs on whichever worker took the scrape's connection and reads the other
    /// workers' counters from there.
    pub fn handler(
        &self,
    ) -> impl Fn(Headers) -> std::future::Ready<HttpResponse> + Clone + Send + Sync + 'static {
        let metrics = self.clone();
        move |headers: Headers| {
            let openmetrics = headers
                .get_str("accept")
                .is_some_and(|accept| accept.contains("application/openmetrics-text"));
            let (body, content_type) = if openmetrics {
                (metrics.render_openmetrics(), OPENMETRICS_TEXT)
            } else {
                (metrics.render(), PROMETHEUS_TEXT)
            };
            std::future::ready(
                HttpResponse::new(StatusCode::OK)
                    .with_content_type(content_type)
                    .with_body(body),
            )
        }
    }

    /// A recorder for the requests of `route`, registered for the scrape.
    fn series(&self, route: &RouteLabel<'_>) -> Recorder {
        let methods: Box<[Method]> = match route.method {
            // A `GET` route answers `HEAD` too.
            Some(Method::Get) => [Method::Get, Method::Head].into(),
            Some(method) => [method].into(),
            None => Method::ALL.into(),
        };
        let series = Arc::new(Series::new(
            route.pattern.unwrap_or(UNMATCHED_ROUTE),
            methods,
            self.inner.buckets.clone(),
            route.workers,
        ));
        self.inner
            .series
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(series.clone());
        Recorder { series }
    }
}

impl Middleware for Metrics {
    /// Not bound to a route (not reached: the app binds every stack it builds).
    fn call(&self, req: HttpRequest, next: Next) -> BoxFuture {
        next.run(req)
    }

    fn bind(&self, route: &RouteLabel<'_>) -> Option<Layer> {
        Some(Arc::new(self.series(route)))
    }
}

/// [`Metrics`] bound to one route: what the route's stack runs.
#[derive(Clone)]
pub struct Recorder {
    series: Arc<Series>,
}

impl Recorder {
    /// A request of `method` starts now: what [`finish`](Self::finish) is given.
    /// (Called directly for a `Metrics` alone on a route: `HookStack::alone`.)
    #[inline(always)]
    pub(crate) fn start(&self, method: Method) -> Started {
        self.series.start(method)
    }

    /// Counts the request `started` answered `status`.
    #[inline(always)]
    pub(crate) fn finish(&self, started: &Started, status: StatusCode) {
        self.series.finish(started, status);
    }
}

impl Hooks for Recorder {
    #[inline]
    fn before(&self, req: &mut HttpRequest, carry: &mut Carry) -> Option<Response> {
        carry.set(Carry::Timed(self.series.start(req.method())));
        None
    }

    #[inline]
    fn after(&self, carry: &mut Carry, resp: &mut Response) {
        if let Carry::Timed(started) = carry {
            self.series.finish(started, resp.status());
        }
    }
}

impl Middleware for Recorder {
    /// The general path (a stack with a layer that is not built-in): [`Hooks`]'
    /// `before` and `after` around the inner future, which also counts a panic
    /// inside as the `500` it is answered with (then lets it go on to the
    /// connection's catch, which answers).
    fn call(&self, req: HttpRequest, next: Next) -> BoxFuture {
        let started = self.series.start(req.method());
        let inner = match catch_unwind(AssertUnwindSafe(|| next.run(req))) {
            Ok(inner) => inner,
            Err(panic) => {
                self.series
                    .finish(&started, StatusCode::INTERNAL_SERVER_ERROR);
                resume_unwind(panic)
            }
        };
        let recorder = self.clone();
        Box::pin(async move {
            match AssertUnwindSafe(inner).catch_unwind().await {
                Ok(resp) => {
                    recorder.series.finish(&started, resp.status());
                    resp
                }
                Err(panic) => {
                    recorder
                        .series
                        .finish(&started, StatusCode::INTERNAL_SERVER_ERROR);
                    resume_unwind(panic)
                }
            }
        })
    }

    fn hooks(self: Arc<Self>) -> Option<hooks::AnyHooks> {
        Some(hooks::AnyHooks(self))
    }
}
