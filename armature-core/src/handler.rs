//! Handlers: `async fn`s (or closures returning futures) whose arguments are
//! extractors and whose output converts into a response.

use std::future::Future;
use std::marker::PhantomData;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use crate::extract::{FromRequest, Rejection, Rejections};
use crate::future_slot::{FutureSlot, SlotFuture};
use crate::http::HttpRequest;
use crate::middleware::After;
use crate::response::{IntoResponse, Response};

/// The future a handler call returns (defined with [`Response`], re-exported here).
pub use crate::response::BoxFuture;

/// A function usable as a route handler. `T` is the tuple of its extractor types.
///
/// The request is lent, not moved: extractors read what they need from it and the
/// request itself stays in the connection loop (it is a few hundred bytes; moving
/// it through each layer showed up as memcpy in instruction counts).
pub trait Handler<T, S>: Clone + Send + Sync + Sized + 'static {
    /// Runs the extractors, then the handler (a rejection is answered with its
    /// [`IntoResponse`]).
    fn call(&self, req: &HttpRequest, state: &Arc<S>) -> BoxFuture;

    /// Runs the extractors: the handler's future, or the rejection of the first
    /// extractor that refused the request (the server answers it with the app's
    /// [`App::rejection`](crate::App::rejection)). Unboxed: the connection loop puts
    /// the future in memory it reuses from request to request (no allocation per
    /// request). The default boxes (through `call`), and never rejects; the
    /// `async fn` handlers return their future itself.
    #[doc(hidden)]
    fn extract(
        &self,
        req: &HttpRequest,
        state: &Arc<S>,
    ) -> Result<impl Future<Output = Response> + 'static, Rejection> {
        Ok(self.call(req, state))
    }
}

impl<F, Fut, R, S> Handler<(), S> for F
where
    F: Fn() -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = R> + 'static,
    R: IntoResponse,
{
    #[inline]
    fn call(&self, _req: &HttpRequest, _state: &Arc<S>) -> BoxFuture {
        let fut = self();
        Box::pin(async move { fut.await.into_response() })
    }

    #[inline]
    fn extract(
        &self,
        _req: &HttpRequest,
        _state: &Arc<S>,
    ) -> Result<impl Future<Output = Response> + 'static, Rejection> {
        let fut = self();
        Ok(async move { fut.await.into_response() })
    }
}

macro_rules! impl_handler {
    ($($ty:ident),+) => {
        impl<F, Fut, R, S, $($ty,)+> Handler<($($ty,)+), S> for F
        where
            F: Fn($($ty),+) -> Fut + Clone + Send + Sync + 'static,
            Fut: Future<Output = R> + 'static,
            R: IntoResponse,
            $( $ty: FromRequest<S>, )+
        {
            #[inline]
            fn call(&self, req: &HttpRequest, state: &Arc<S>) -> BoxFuture {
                match self.extract(req, state) {
                    Ok(fut) => Box::pin(fut),
                    Err(rejection) => Box::pin(std::future::ready(rejection.into_response())),
                }
            }

            #[allow(non_snake_case)]
            #[inline]
            fn extract(
                &self,
                req: &HttpRequest,
                state: &Arc<S>,
            ) -> Result<impl Future<Output = Response> + 'static, Rejection> {
                $( let $ty = $ty::from_request(req, state)?; )+
                let fut = self($($ty),+);
                Ok(async move { fut.await.into_response() })
            }
        }
    };
}

impl_handler!(T1);
impl_handler!(T1, T2);
impl_handler!(T1, T2, T3);
impl_handler!(T1, T2, T3, T4);
impl_handler!(T1, T2, T3, T4, T5);
impl_handler!(T1, T2, T3, T4, T5, T6);
impl_handler!(T1, T2, T3, T4, T5, T6, T7);
impl_handler!(T1, T2, T3, T4, T5, T6, T7, T8);

/// A handler with its extractor types erased, as the router stores it.
pub(crate) trait ErasedHandler<S>: Send + Sync {
    fn call(&self, req: &HttpRequest, state: &Arc<S>) -> BoxFuture;

    /// `call`, with the future in `slot` (see [`FutureSlot`]).
    fn call_in<'s>(
        &self,
        req: &HttpRequest,
        state: &Arc<S>,
        slot: &'s mut FutureSlot,
    ) -> SlotFuture<'s> {
        let _ = slot;
        SlotFuture::Boxed(self.call(req, state))
    }

    /// From now on, answers its extractors' rejections with `rejections` (the app's
    /// [`App::rejection`](crate::App::rejection)); called when the app is built.
    fn answer_rejections_with(&mut self, rejections: &Rejections);

    /// `resp`, the answer to a request refused before this handler could run (its
    /// body over the limit), inside the handler's own middleware: as it is when the
    /// handler has none.
    fn refuse(&self, req: &HttpRequest, resp: Response) -> BoxFuture {
        let _ = req;
        Box::pin(std::future::ready(resp))
    }
}

/// A [`Handler`] as an [`ErasedHandler`], with the app's answer to its rejections.
pub(crate) struct Erased<H, T> {
    handler: H,
    rejections: Rejections,
    types: PhantomData<fn() -> T>,
}

impl<H, T> Erased<H, T> {
    pub fn new(handler: H) -> Self {
        Erased {
            handler,
            rejections: Rejections::default(),
            types: PhantomData,
        }
    }
}

impl<H, T, S> ErasedHandler<S> for Erased<H, T>
where
    H: Handler<T, S>,
    T: 'static,
{
    #[inline]
    fn call(&self, req: &HttpRequest, state: &Arc<S>) -> BoxFuture {
        match self.handler.extract(req, state) {
            Ok(fut) => Box::pin(fut),
            Err(rejection) => Box::pin(std::future::ready(self.rejections.answer(rejection))),
        }
    }

    #[inline]
    fn call_in<'s>(
        &self,
        req: &HttpRequest,
        state: &Arc<S>,
        slot: &'s mut FutureSlot,
    ) -> SlotFuture<'s> {
        match self.handler.extract(req, state) {
            Ok(fut) => slot.put(fut),
            Err(rejection) => slot.put(std::future::ready(self.rejections.answer(rejection))),
        }
    }

    fn answer_rejections_with(&mut self, rejections: &Rejections) {
        self.rejections = rejections.clone();
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

    /// The future `start` returns (a panic in `start` itself answers `500` too).
    pub fn build(start: impl FnOnce() -> BoxFuture) -> CatchPanic<'a> {
        CatchPanic {
            inner: catch_unwind(AssertUnwindSafe(start))
                .ok()
                .map(SlotFuture::Boxed),
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
    /// `after`) answers `500`.
    #[inline]
    pub(crate) fn poll_with<R>(
        &mut self,
        cx: &mut Context<'_>,
        f: impl FnOnce(&mut Response) -> R,
    ) -> Poll<R> {
        let Some(fut) = self.inner.as_mut() else {
            return Poll::Ready(f(&mut panic_response()));
        };
        if self.after.is_none() {
            // Built with `panic = "abort"` (the release-fat profile) a panic never
            // returns, so there is nothing to catch (see `catching`).
            #[cfg(not(panic = "unwind"))]
            return match Pin::new(&mut *fut).poll(cx) {
                Poll::Ready(ref mut resp) => Poll::Ready(f(resp)),
                Poll::Pending => Poll::Pending,
            };
            #[cfg(panic = "unwind")]
            return match catch_unwind(AssertUnwindSafe(|| Pin::new(&mut *fut).poll(cx))) {
                Ok(Poll::Ready(ref mut resp)) => Poll::Ready(f(resp)),
                Ok(Poll::Pending) => Poll::Pending,
                Err(_) => {
                    self.inner = None;
                    Poll::Ready(f(&mut panic_response()))
                }
            };
        }
        let after = &mut self.after;
        #[cfg(not(panic = "unwind"))]
        {
            // The hook middleware's spans (a request log's) enclose each poll; the
            // common case, none, tests a flag (not building and dropping an empty
            // guard).
            let mut polled = if after.as_ref().is_some_and(After::has_spans) {
                let _entered = after.as_ref().and_then(After::enter);
                Pin::new(&mut *fut).poll(cx)
            } else {
                Pin::new(&mut *fut).poll(cx)
            };
            return match polled {
                Poll::Ready(ref mut resp) => {
                    if let Some(after) = after.take() {
                        after.run(resp);
                    }
                    Poll::Ready(f(resp))
                }
                Poll::Pending => Poll::Pending,
            };
        }
        #[cfg(panic = "unwind")]
        let mut polled = catching(|| {
            let mut polled = {
                // The hook middleware's spans (a request log's) enclose each poll.
                let _entered = after.as_ref().and_then(After::enter);
                Pin::new(&mut *fut).poll(cx)
            };
            if let Poll::Ready(ref mut resp) = polled {
                if let Some(after) = after.take() {
                    after.run(resp);
                }
            }
            polled
        });
        // `ref mut`: `f` runs on the response where it is, not on a copy.
        #[cfg(panic = "unwind")]
        match polled {
            Some(Poll::Ready(ref mut resp)) => Poll::Ready(f(resp)),
            Some(Poll::Pending) => Poll::Pending,
            None => {
                self.inner = None;
                // The `after`s see the `500` too (the metrics count it, the access
                // log logs it).
                let mut resp = panic_response();
                if let Some(after) = self.after.take() {
                    after.run(&mut resp);
                }
                Poll::Ready(f(&mut resp))
            }
        }
    }
}
