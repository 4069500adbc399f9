//! Handlers: `async fn`s (or closures returning futures) whose arguments are
//! extractors and whose output converts into a response.

use std::future::Future;
use std::marker::PhantomData;
use std::sync::Arc;

use crate::extract::{FromRequest, Rejection, Rejections};
use crate::future_slot::{FutureSlot, SlotFuture};
use crate::http::HttpRequest;
use crate::response::{IntoResponse, Response};

/// The future a handler call returns (defined with [`Response`], re-exported here).
pub use crate::response::BoxFuture;

/// A function usable as a route handler. `T` is the tuple of its extractor types.
///
/// The request is lent, not moved: extractors read what they need from it and the
/// request itself stays in the connection loop (it is a few hundred bytes; moving
/// it through each layer showed up as memcpy in instruction counts).
pub trait Handler<T, S>: Clone + Send + Sync + Sized + 'static {
    /// Whether one of its extractors streams the body (see
    /// [`FromRequest::STREAMS_BODY`]).
    #[doc(hidden)]
    const STREAMS_BODY: bool = false;

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
            const STREAMS_BODY: bool = false $(|| $ty::STREAMS_BODY)+;

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
        slot.put(self.call(req, state))
    }

    /// From now on, answers its extractors' rejections with `rejections` (the app's
    /// [`App::rejection`](crate::App::rejection)); called when the app is built.
    fn answer_rejections_with(&mut self, rejections: &Rejections);

    /// Whether the handler streams the request body ([`Handler::STREAMS_BODY`]).
    fn streams_body(&self) -> bool {
        false
    }

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

    fn streams_body(&self) -> bool {
        H::STREAMS_BODY
    }
}
