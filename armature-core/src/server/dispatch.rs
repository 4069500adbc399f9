//! Running the routed handler: routing a request to its endpoint, starting the
//! handler (inside its hook middleware, or its general middleware), and polling it
//! to a response with a panic answered `500`. The connection loop (`conn`) calls
//! [`route`] and polls the [`CatchPanic`] it returns.

use std::borrow::Cow;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use super::shared::{Endpoint, Shared, WorkerCtx};
use crate::extract::Rejection;
use crate::fast_response::FastResponse;
use crate::future_slot::{FutureSlot, SlotFuture};
use crate::handler::{BoxFuture, ErasedHandler};
use crate::http::{HttpRequest, StatusCode};
use crate::middleware::{self, After, Alone, Carries, HookStack};
use crate::response::Response;
use crate::routing::MatchError;
use crate::IntoResponse;

/// Routes a request and starts its handler (extractors run here). Routing failures
/// and rejections answer at once; a panic in the handler becomes `500`.
///
/// The request lets go of the read buffer here, before the handler's first poll
/// (its extractors have taken what they need), unless the route's hook
/// middleware run `after`s, which may read its head (see [`After`]): then the
/// `after`s let it go once they ran.
// The large `Err` (a whole response) never travels: `route` is inlined into the
// loop, which matches on the result at once. Always: with a second caller (a
// streamed body's, `body::respond`) LLVM kept it out of line, +14 instructions a
// request on pipelined `/plaintext` in callgrind. `STREAMED`: which caller (a
// streamed body's `body::respond`, or the connection loop), so that each has its
// own instance of what `route` inlines (see `HookStack::start`).
#[allow(clippy::result_large_err)]
#[inline(always)]
pub(crate) fn route<'a, S: Send + Sync + 'static, const STREAMED: bool>(
    ctx: &'a WorkerCtx<S>,
    req: &'a mut HttpRequest,
    carries: &'a mut Carries,
    slot: &'a mut FutureSlot,
) -> Result<CatchPanic<'a>, Response> {
    let shared = &*ctx.shared;
    let endpoint = match find(ctx, req) {
        Ok(endpoint) => endpoint,
        Err(e) => {
            let answer = unmatched(shared, req, e, slot);
            let_go::<STREAMED>(req);
            return answer;
        }
    };
    Ok(match &endpoint.hooks {
        None => {
            let call = CatchPanic::new(&*endpoint.handler, req, &shared.state, slot);
            let_go::<STREAMED>(req);
            call
        }
        Some(hooks) => {
            hooks.start::<S, STREAMED>(req, &*endpoint.handler, &shared.state, carries, slot)
        }
    })
}

/// Lets go of what the request holds that its handler, once started, does not
/// need: its body, and a streamed body's handle (the handler's `StreamingBody`
/// has its own). The head's bytes stay until the connection waits for more (see
/// `HttpRequest::release_body`).
#[inline(always)]
fn let_go<const STREAMED: bool>(req: &mut HttpRequest) {
    req.release_body();
    if STREAMED {
        req.incoming = None;
    }
}

/// The route `req` matches (its path parameters set on `req`), or why none does.
#[inline(always)]
fn find<'a, S>(
    ctx: &'a WorkerCtx<S>,
    req: &mut HttpRequest,
) -> Result<&'a Endpoint<S>, MatchError> {
    let matched = {
        let mut cache = ctx.route_cache.borrow_mut();
        ctx.shared.router.find(&mut cache, req.method, req.path())
    };
    let m = matched?;
    // A fresh request has no parameters: static routes skip the copy.
    if !m.ranges.is_empty() {
        req.params = m.ranges;
        req.param_names = Cow::Borrowed(m.value.params);
    }
    Ok(m.value)
}

/// [`route`] for a refused request: the app's answer to `rejection` in the
/// handler's place. On the general (future per layer) path, even for a route
/// whose middleware are all hooks: what the hot path inlines keeps its one caller.
pub(crate) fn route_refused<S: Send + Sync + 'static>(
    ctx: &WorkerCtx<S>,
    req: &mut HttpRequest,
    rejection: Rejection,
) -> BoxFuture {
    let shared = &*ctx.shared;
    let answer = shared.rejections.answer(rejection);
    let stack = match find(ctx, req) {
        Ok(endpoint) => match &endpoint.hooks {
            Some(hooks) => hooks.as_stack(),
            None => return endpoint.handler.refuse(req, answer),
        },
        Err(_) => match &shared.unmatched_stack {
            Some(stack) => stack,
            None => return Box::pin(std::future::ready(answer)),
        },
    };
    middleware::run(
        stack,
        req.clone(),
        middleware::Terminal::Ready(Box::new(answer)),
    )
}

/// A request no route matched: the fallback (for a path no method has) or the
/// built-in `404`/`405`, inside the app-wide middleware when there is some.
#[cold]
#[allow(clippy::result_large_err)]
fn unmatched<'a, S: Send + Sync + 'static>(
    shared: &Shared<S>,
    req: &HttpRequest,
    e: MatchError,
    slot: &'a mut FutureSlot,
) -> Result<CatchPanic<'a>, Response> {
    let fixed = match e {
        MatchError::MethodNotAllowed { allow } => FastResponse::new(StatusCode::METHOD_NOT_ALLOWED)
            .with_header("Allow", allow)
            .into_response(),
        _ => Response::text(StatusCode::NOT_FOUND, "Not Found"),
    };
    let fallback = match &shared.fallback {
        Some(h) if fixed.status() == StatusCode::NOT_FOUND => Some(h),
        _ => None,
    };
    match (&shared.unmatched_stack, fallback) {
        (None, None) => Err(fixed),
        (None, Some(b)) => Ok(CatchPanic::new(&*b.handler, req, &b.state, slot)),
        (Some(stack), fallback) => {
            let terminal = match fallback {
                Some(b) => middleware::Terminal::Endpoint(b.clone()),
                None => middleware::Terminal::Ready(Box::new(fixed)),
            };
            Ok(CatchPanic::build(slot, || {
                middleware::run(stack, req.clone(), terminal)
            }))
        }
    }
}

impl HookStack {
    // Here rather than beside the hooks: starting a route's handler inside its hooks
    // is the hook path's half of running the routed handler.
    /// Runs the `before`s on `req`, then starts `handler`; the future answers `500`
    /// for a panic anywhere in the chain, as the general path does.
    // Always, and an instance per caller of `route` (`STREAMED`): with one function
    // (and one closure for `catching`) called from both the connection loop and a
    // streamed body's `body::respond`, LLVM kept both out of line (+~110
    // instructions a request behind request id, CORS and request log in callgrind).
    #[inline(always)]
    pub(crate) fn start<'a, S, const STREAMED: bool>(
        &'a self,
        req: &'a mut HttpRequest,
        handler: &dyn ErasedHandler<S>,
        state: &Arc<S>,
        carries: &'a mut Carries,
        slot: &'a mut FutureSlot,
    ) -> CatchPanic<'a> {
        // A layer alone (`Compression`, `Metrics`): no loop over the layers, no
        // carry kept in a slot (see `HookStack::alone`).
        let loops = self.alone.is_none();
        if loops {
            carries.start(self.layers.len());
        }
        // Taken out of an `Option`: the borrow itself moves into the call (see
        // `CatchPanic::new`).
        let mut slot = Some(slot);
        // One closure for both, and one way to the handler: with a second closure
        // (for `alone`), LLVM kept this one out of line (+~65 instructions a
        // request behind `Metrics` on `/json` in callgrind), and with a return of
        // its own for `alone`, ~5 more there.
        let started = catching(|| {
            let slot = slot.take().expect("called once");
            if loops {
                let mut spans = false;
                if let Some(resp) = self.before(req, carries, &mut spans) {
                    return (slot.put(std::future::ready(resp)), spans);
                }
                if spans {
                    let _entered = middleware::enter(carries);
                    return (handler.call_in(req, state, slot), true);
                }
            } else if let Some(Alone::Metrics(recorder)) = &self.alone {
                carries.timed = recorder.start(req.method());
            }
            // A layer alone opens no span: tested only after the loops.
            (handler.call_in(req, state, slot), false)
        });
        // The `after`s read the request's head (see `After`), and let go of the
        // read buffer's bytes (head and body, in one place: the body let go here
        // measured the same) once they ran; a streamed body's handle is let go
        // now.
        if STREAMED {
            req.incoming = None;
        }
        match started {
            Some((fut, spans)) => {
                carries.spans = spans;
                CatchPanic::with_after(
                    fut,
                    After {
                        hooks: self,
                        carries,
                        req,
                    },
                )
            }
            None => {
                let_go::<STREAMED>(req);
                CatchPanic::panicked()
            }
        }
    }
}

/// Runs a handler future, turning a panic (while building or polling it) into `500`;
/// with hook middleware (see `middleware::hooks`), enters their spans around each
/// poll, and runs their `after`s on the response.
pub(crate) struct CatchPanic<'a> {
    inner: Option<SlotFuture<'a>>,
    after: Option<After<'a>>,
}

impl<'a> CatchPanic<'a> {
    /// `h`'s future, in the connection's `slot`.
    pub fn new<S>(
        h: &dyn ErasedHandler<S>,
        req: &HttpRequest,
        state: &Arc<S>,
        slot: &'a mut FutureSlot,
    ) -> CatchPanic<'a> {
        // Taken out of an `Option`: the borrow itself moves into the call (the closure
        // is `FnMut`, so a reborrow of a captured `slot` could not be returned).
        let mut slot = Some(slot);
        CatchPanic {
            inner: catch_unwind(AssertUnwindSafe(|| {
                h.call_in(req, state, slot.take().expect("called once"))
            }))
            .ok(),
            after: None,
        }
    }

    /// The future `start` returns, in `slot` (a panic in `start` itself answers
    /// `500` too).
    pub fn build(slot: &'a mut FutureSlot, start: impl FnOnce() -> BoxFuture) -> CatchPanic<'a> {
        CatchPanic {
            inner: catch_unwind(AssertUnwindSafe(start))
                .ok()
                .map(|fut| slot.put(fut)),
            after: None,
        }
    }

    /// `inner`, then `after` on its response.
    pub(crate) fn with_after(inner: SlotFuture<'a>, after: After<'a>) -> CatchPanic<'a> {
        CatchPanic {
            inner: Some(inner),
            after: Some(after),
        }
    }

    /// Answers `500`.
    pub(crate) fn panicked() -> CatchPanic<'a> {
        CatchPanic {
            inner: None,
            after: None,
        }
    }
}

/// `f()`, or `None` if it panicked. Built with `panic = "abort"` (the release-fat
/// profile) a panic never returns, so this is a plain call: `catch_unwind` would
/// only pass the result through its union (a response is ~400 bytes: two copies
/// and ~20 instructions a request in callgrind).
#[inline(always)]
pub(crate) fn catching<R>(f: impl FnOnce() -> R) -> Option<R> {
    #[cfg(not(panic = "unwind"))]
    return Some(f());
    #[cfg(panic = "unwind")]
    return catch_unwind(AssertUnwindSafe(f)).ok();
}

/// A boxed future's response, or `500` for a panic while building or polling it:
/// [`CatchPanic`] for the cold paths (a request refused before its handler could
/// run), which need neither the connection's future slot nor the hook middleware's
/// `after`s. Kept apart so that the hot path's inlined code has no second caller
/// (with one, LLVM moved the hooks out of line: ~100 instructions a request).
pub(crate) struct Caught(Option<BoxFuture>);

impl Caught {
    /// The future `start` returns.
    pub(crate) fn new(start: impl FnOnce() -> BoxFuture) -> Caught {
        Caught(catching(start))
    }
}

impl Future for Caught {
    type Output = Response;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Response> {
        let Some(fut) = self.0.as_mut() else {
            return Poll::Ready(panic_response());
        };
        match catching(|| fut.as_mut().poll(cx)) {
            Some(polled) => polled,
            None => {
                self.0 = None;
                Poll::Ready(panic_response())
            }
        }
    }
}

fn panic_response() -> Response {
    Response::text(
        crate::StatusCode::INTERNAL_SERVER_ERROR,
        "internal server error: the handler panicked",
    )
}

impl CatchPanic<'_> {
    /// Polls the handler; when it is ready, runs the hook middleware's `after`s on
    /// its response, then `f`, all on the response where the poll put it: returned
    /// from a `Future::poll`, each response (~400 bytes) was copied once more,
    /// 64 instructions a request in callgrind. A panic while polling (or in an
    /// `after`) answers `500`. Built with `panic = "abort"` (the release-fat
    /// profile) a panic never returns, and `catching` is a plain call.
    #[inline]
    #[allow(clippy::redundant_closure)] // `run_after` in a closure: see below
    pub(crate) fn poll_with<R>(
        &mut self,
        cx: &mut Context<'_>,
        f: impl FnOnce(&mut Response) -> R,
    ) -> Poll<R> {
        let Some(fut) = self.inner.as_mut() else {
            return Poll::Ready(f(&mut panic_response()));
        };
        // Each path answers `f` on its own poll's response, where the poll put it
        // (`answer`): with the two paths' responses merged into one result, the
        // response (~400 bytes) was copied (+80 instructions a request on hello's
        // pipelined `/plaintext` in callgrind), and so it was when returned from a
        // function that ran the `after`s (+85 on `/json` behind request id, CORS
        // and request log).
        let after = &mut self.after;
        let answered = if after.is_none() {
            answer(after, |_| Pin::new(&mut *fut).poll(cx), |_, _| {}, f)
        } else {
            // A closure, not `run_after` itself: a function item is called through
            // `FnOnce::call_once` for its type, one function for both callers of
            // `poll_with` (the connection loop's and `body::respond`'s), which LLVM
            // kept out of line with the `after`s in it; a closure's type is this
            // instance's own.
            answer(
                after,
                |after| poll_in_spans(fut, after, cx),
                |after, resp| run_after(after, resp),
                f,
            )
        };
        answered.unwrap_or_else(|panicked| {
            self.inner = None;
            self.after = None;
            Poll::Ready(panicked)
        })
    }
}

/// `poll`, then, if it is ready, `then` and `f` on its response (`ref mut`: where
/// the poll put it, not on a copy); `Err`, with `f` on `500`, when `poll` or `then`
/// panicked. Built with `panic = "abort"` (the release-fat profile) a panic never
/// returns, so there is nothing to catch (see `catching`).
#[inline(always)]
fn answer<T, R>(
    state: &mut T,
    poll: impl FnOnce(&mut T) -> Poll<Response>,
    then: impl FnOnce(&mut T, &mut Response),
    f: impl FnOnce(&mut Response) -> R,
) -> Result<Poll<R>, R> {
    #[cfg(not(panic = "unwind"))]
    return Ok(match poll(state) {
        Poll::Ready(ref mut resp) => {
            then(state, resp);
            Poll::Ready(f(resp))
        }
        Poll::Pending => Poll::Pending,
    });
    #[cfg(panic = "unwind")]
    {
        let mut then = Some(then);
        match catching(|| {
            let mut polled = poll(state);
            if let Poll::Ready(ref mut resp) = polled {
                (then.take().expect("run once"))(state, resp);
            }
            polled
        }) {
            Some(Poll::Ready(ref mut resp)) => Ok(Poll::Ready(f(resp))),
            Some(Poll::Pending) => Ok(Poll::Pending),
            None => {
                // The `after`s see the `500` too (the metrics count it, the access
                // log logs it), unless it is one of them that panicked.
                let mut resp = panic_response();
                if let Some(then) = then.take() {
                    let _ = catching(|| then(state, &mut resp));
                }
                Err(f(&mut resp))
            }
        }
    }
}

/// Polls `fut` inside the hook middleware's spans (a request log's). The common
/// case, none, tests a flag (not building and dropping an empty guard).
#[inline(always)]
fn poll_in_spans(
    fut: &mut SlotFuture<'_>,
    after: &mut Option<After<'_>>,
    cx: &mut Context<'_>,
) -> Poll<Response> {
    if after.as_ref().is_some_and(After::has_spans) {
        let _entered = after.as_ref().and_then(After::enter);
        Pin::new(&mut *fut).poll(cx)
    } else {
        Pin::new(&mut *fut).poll(cx)
    }
}

/// Runs the hook middleware's `after`s on the handler's response (in place: the
/// future is not polled again).
#[inline(always)]
fn run_after(after: &mut Option<After<'_>>, resp: &mut Response) {
    if let Some(after) = after {
        after.run(resp);
    }
}
