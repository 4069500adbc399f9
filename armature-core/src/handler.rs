//! Handlers: `async fn`s (or closures returning futures) whose arguments are
//! extractors and whose output converts into a response.

use std::future::Future;
use std::marker::PhantomData;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use crate::extract::FromRequest;
use crate::future_slot::{FutureSlot, SlotFuture};
use crate::http::HttpRequest;
use crate::middleware::After;
use crate::response::{IntoResponse, Response};

/// The future a handler call returns. Not `Send`: each worker is a single-threaded
/// runtime, so handlers may hold `Rc`s and `RefCell` borrows across `.await`s.
pub type BoxFuture = Pin<Box<dyn Future<Output = Response>>>;

/// A function usable as a route handler. `T` is the tuple of its extractor types.
///
/// The request is lent, not moved: extractors read what they need from it and the
/// request itself stays in the connection loop (it is a few hundred bytes; moving
/// it through each layer showed up as memcpy in instruction counts).
pub trait Handler<T, S>: Clone + Send + Sync + Sized + 'static {
    /// Runs the extractors, then the handler.
    fn call(&self, req: &HttpRequest, state: &Arc<S>) -> BoxFuture;

    /// [`call`](Self::call) without the box: the connection loop puts the future
    /// in memory it reuses from request to request (no allocation per request).
    /// The default boxes (through `call`); the `async fn` handlers return their
    /// future itself.
    #[doc(hidden)]
    fn call_unboxed(
        &self,
        req: &HttpRequest,
        state: &Arc<S>,
    ) -> impl Future<Output = Response> + 'static {
        self.call(req, state)
    }
}

/// A handler's future, or the response its extractors answered with: one type, so
/// that [`Handler::call_unboxed`] has one. The rejection is boxed, so the
/// common case's future (moved into the connection's slot) stays as small as the
/// handler's own.
enum Call<Fut> {
    Run(Fut),
    Rejected(Option<Box<Response>>),
}

impl<Fut: Future<Output = Response>> Future for Call<Fut> {
    type Output = Response;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Response> {
        // SAFETY: `Run`'s future is never moved out of the pinned value (structural
        // pinning of that field); `Rejected` holds nothing pinned.
        match unsafe { self.get_unchecked_mut() } {
            // SAFETY: as above: `fut` stays where it is until `Call` drops.
            Call::Run(fut) => unsafe { Pin::new_unchecked(fut) }.poll(cx),
            Call::Rejected(resp) => Poll::Ready(match resp.take() {
                Some(resp) => *resp,
                None => panic!("`Call` polled after it answered"),
            }),
        }
    }
}

impl<F, Fut, R, S> Handler<(), S> for F
where
    F: Fn() -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = R> + 'static,
    R: IntoResponse,
{
    #[inline]
    fn call(&self, req: &HttpRequest, state: &Arc<S>) -> BoxFuture {
        Box::pin(self.call_unboxed(req, state))
    }

    #[inline]
    fn call_unboxed(
        &self,
        _req: &HttpRequest,
        _state: &Arc<S>,
    ) -> impl Future<Output = Response> + 'static {
        let fut = self();
        async move { fut.await.into_response() }
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
                Box::pin(self.call_unboxed(req, state))
            }

            #[allow(non_snake_case)]
            #[inline]
            fn call_unboxed(
                &self,
                req: &HttpRequest,
                state: &Arc<S>,
            ) -> impl Future<Output = Response> + 'static {
                $(
                    let $ty = match $ty::from_request(req, state) {
                        Ok(v) => v,
                        Err(rejection) => {
                            let resp = rejection.into_response();
                            return Call::Rejected(Some(Box::new(resp)));
                        }
                    };
                )+
                let fut = self($($ty),+);
                Call::Run(async move { fut.await.into_response() })
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
}

pub(crate) struct Erased<H, T>(pub H, PhantomData<fn() -> T>);

impl<H, T> Erased<H, T> {
    pub fn new(h: H) -> Self {
        Erased(h, PhantomData)
    }
}

impl<H, T, S> ErasedHandler<S> for Erased<H, T>
where
    H: Handler<T, S>,
    T: 'static,
{
    #[inline]
    fn call(&self, req: &HttpRequest, state: &Arc<S>) -> BoxFuture {
        self.0.call(req, state)
    }

    #[inline]
    fn call_in<'s>(
        &self,
        req: &HttpRequest,
        state: &Arc<S>,
        slot: &'s mut FutureSlot,
    ) -> SlotFuture<'s> {
        slot.put(self.0.call_unboxed(req, state))
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
    pub(crate) fn with_after(inner: BoxFuture, after: After<'a>) -> CatchPanic<'a> {
        CatchPanic {
            inner: Some(SlotFuture::Boxed(inner)),
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

fn panic_response() -> Response {
    Response::text(
        crate::StatusCode::INTERNAL_SERVER_ERROR,
        "internal server error: the handler panicked",
    )
}

impl Future for CatchPanic<'_> {
    type Output = Response;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Response> {
        let this = &mut *self;
        let Some(fut) = this.inner.as_mut() else {
            return Poll::Ready(panic_response());
        };
        if this.after.is_none() {
            // Kept apart from the hooked case: the response is returned as polled
            // (with the hooked code in the same path, it cost a ~400-byte memcpy).
            // Built with `panic = "abort"` (the release-fat profile) a panic never
            // returns, so there is nothing to catch: `catch_unwind` would only pass
            // the response through its union (two ~400-byte copies and ~20
            // instructions a request in callgrind, pipelined /plaintext).
            #[cfg(not(panic = "unwind"))]
            return Pin::new(&mut *fut).poll(cx);
            #[cfg(panic = "unwind")]
            return match catch_unwind(AssertUnwindSafe(|| Pin::new(&mut *fut).poll(cx))) {
                Ok(p) => p,
                Err(_) => {
                    this.inner = None;
                    Poll::Ready(panic_response())
                }
            };
        }
        let after = &mut this.after;
        let polled = catch_unwind(AssertUnwindSafe(|| {
            let mut polled = {
                // The hook middleware's spans (a request log's) enclose each poll.
                let _entered = after.as_ref().and_then(After::enter);
                Pin::new(&mut *fut).poll(cx)
            };
            if let Poll::Ready(resp) = &mut polled {
                if let Some(after) = after.take() {
                    after.run(resp);
                }
            }
            polled
        }));
        match polled {
            Ok(p) => p,
            Err(_) => {
                this.inner = None;
                this.after = None;
                Poll::Ready(panic_response())
            }
        }
    }
}
