//! Hooks: the built-in middleware in a form the connection loop runs without a
//! future, a clone of the request or a move of the response per layer.
//!
//! A built-in layer that only looks at the request, may answer it, and then changes
//! the response (request id, CORS, request log, default headers, metrics,
//! compression) is two plain
//! calls: [`Hooks::before`] on the connection's own request, and [`Hooks::after`]
//! on the response in place. When every layer of a route has hooks, the route's
//! handler is called as without middleware (its future in the connection's future
//! slot) and the `after`s run on the response where the poll left it
//! (`HookStack::start` and `CatchPanic::poll_with`, in `server::dispatch`). Any other layer in the
//! stack (an `async fn`, `Timeout`) puts the route on the general
//! path, where each hook layer runs as the same code inside its own future
//! (`around`), so the behaviour is the same on both paths. (`Compression` is one
//! call on the hook path: its `after`, which reads the request's
//! `Accept-Encoding` from the connection's request; see the last paragraph.)
//!
//! Measured with callgrind on `/json` (`examples/middleware`, one worker): request
//! id, CORS (any origin, a request without `Origin`) and request log (no
//! subscriber) cost 3,780 instructions a request as futures (8,378 against 4,599
//! without middleware), and as hooks 381 (4,201 against 3,820: +9.98%, 2026-12-02,
//! after the hook path got the connection's future slot and the in-place response;
//! 400 before, against a costlier connection loop: 4,937 against 4,537; 707 before
//! the changes below). Of the 400, by callgrind's line attribution (approximate:
//! the layers are inlined into the connection loop): the request id's `before`
//! ~65 (generating the id, adding it to the request), its header line ~85
//! (`push_line` and the encoder's loop), `Cors::before` and `RequestLog::before`
//! ~40 (mostly the scan of the request's headers for `Origin`), the loop's own
//! work ~95 (`start`, the carries), the `after`s ~75 (taking the carry,
//! dispatching, inserting the id into the response's headers).
//!
//! What brought it from 707 to 400 (each step measured on its own): a generated
//! id added to the request under the interned name with one 16-byte store (~70),
//! formatted in one SSE2 register (~13) and made ASCII without an `Option` (~40);
//! `Cors::before` and `RequestLog::before` inlined (~40), and the request id's
//! common `before` and its `after` (~45); `Carries` as a plain array (~25); a
//! header line written with one capacity test and no `memcpy` call (~50); each
//! layer's carry test in its own `match` arm of `Builtin::before`, with the push
//! out of line (~15). Dispatching over `Builtin` instead of `Arc<dyn Hooks>`
//! showed no saving of its own (within the noise of a few instructions).
//!
//! Since (2026-12-06, same binary with and without the layer, `scripts/instructions.sh`):
//! one carry slot per layer, written in place by its `before` (no copy of the
//! carry, no out-of-line push, no index kept), the `after`s given their carry by
//! reference and the slot emptied with a store of the tag rather than `Carry`'s
//! out-of-line drop glue (~15 a layer) or a test of its variants (~14), the
//! request log's arm alone looking for a span. Request id, CORS and request log on
//! `/json`: 4,101 → ~4,076. `Compression` became a hook layer: app-wide on
//! pipelined `/plaintext` (a 13-byte body) it cost 2,811 instructions a request as
//! a future (1,331 without it), and ~1,396 as hooks (1,286 without: +8.6%; the
//! hook path's own loop, dispatch and `After` ~80, `Accept-Encoding`'s lookup
//! ~15, the body's size ~12). Those figures are from before streamed request
//! bodies gave the routing a second caller (`body::respond`): with it, LLVM kept
//! `HookStack::start` (and its closure), the `after`s (`run_after`'s
//! `FnOnce::call_once`, then `After::run`), `HookStack::before`,
//! `Builtin::after`, `Cors::before`, `RequestLog::before` and the request id's
//! `next_id` out of line, one after another as each was inlined again (callgrind
//! shows them as functions of their own): 1,516 against 1,322 (`Compression`),
//! 4,214 (request id, CORS, request log). Each of them is now `#[inline(always)]`
//! or has an instance per caller (`route`'s `STREAMED`): ~1,431 against ~1,314,
//! and ~4,103 (2026-12-06).
//!
//! Since (2026-12-06, same binaries, `scripts/instructions.sh`): `Compression`
//! does nothing before the handler on the hook path. Its `after` decides on the
//! response first (the body's size: a small body or a stream costs a length
//! test) and only for a response it may compress looks up `Accept-Encoding`, in
//! the connection's request, which now keeps its head and body until the
//! `after`s ran (`After::req`; let go before the response is encoded). A stack
//! of `Compression` alone (`HookStack::alone`, decided when the app is built)
//! runs no `before` loop and keeps no carries. App-wide on pipelined
//! `/plaintext`: 1,448 against 1,328 without it before (+9.1%), 1,353 against
//! 1,327 now (+1.9%; with the `before` loop and the carries decided per request
//! instead, ~18 more). Request id, CORS and request log on `/json`: 4,149-4,151
//! before, 4,151-4,158 now; `Metrics` on hello's `/json`: 3,922-3,927 before,
//! 3,928-3,933 now (+4.9-5.0% → +5.0% over 3,739-3,746 without).
//!
//! Since (2026-12-06, same binaries, `scripts/instructions.sh`, two runs each):
//! a stack of `Metrics` alone has a path of its own too (`Alone::Metrics`): its
//! start in a field of `Carries` rather than a slot, its `before` and `after`
//! called directly. `Metrics` on hello's `/json`: 3,929-3,931 → 3,845-3,849
//! (+5.1% → +2.8-3.0% over 3,738-3,740 without). `Compression` alone on
//! pipelined `/plaintext`: 1,352-1,353 → 1,359 (+1.9% → +2.4% over 1,327
//! without: `alone` now tells two layers apart); request id, CORS and request
//! log on `/json`: 4,149-4,152 before and after.

use std::any::Any;
use std::sync::Arc;
use std::time::Instant;

use crate::fast_response::FastValue;
use crate::http::HttpRequest;
use crate::response::Response;

/// The two halves of a built-in middleware (see the module's documentation).
///
/// `pub` in a private module: nameable only inside the crate, so that
/// [`Middleware::hooks`](super::Middleware::hooks) can return it.
pub trait Hooks: Send + Sync + 'static {
    /// Runs before the inner layers and the handler: may change the request, leaves
    /// in `carry` what [`after`](Self::after) needs (it stays [`Carry::Done`] when
    /// nothing is left to do), or answers at once (`Some`: no inner layer, nor this
    /// layer's `after`, runs; the outer layers' `after`s do).
    fn before(&self, req: &mut HttpRequest, carry: &mut Carry) -> Option<Response>;

    /// Changes the response of the inner layers; called only when `before` left
    /// something other than [`Carry::Done`], which it gets in `carry` (by
    /// reference: most read it, or ignore it; one that needs what it holds takes
    /// it, [`Carry::take`]). What is left there is dropped after.
    fn after(&self, carry: &mut Carry, resp: &mut Response);
}

/// A built-in layer as [`Middleware::hooks`](super::Middleware::hooks) gives it, its
/// type erased (`Builtin::of` finds which it is, once, when the app is built): so
/// that the trait, which every layer implements, need not name the built-ins.
///
/// `pub` in a private module, as [`Hooks`], and made only inside the crate.
pub struct AnyHooks(pub(crate) Arc<dyn Any + Send + Sync>);

/// What one layer's [`Hooks::before`] leaves for its [`Hooks::after`].
#[derive(Default)]
pub enum Carry {
    /// Nothing to do after.
    #[default]
    Done,
    /// Run `after`, with no state.
    Run,
    /// A header value for the response (a request id, an allowed origin).
    Value(Value),
    /// The request log's record of a request that is being logged.
    Log(Box<Pending>),
    /// When the metrics' request started, and its method's slot.
    Timed(super::metrics::Started),
    /// The request's `Accept-Encoding`, for [`Compression`](super::Compression) as
    /// general middleware.
    Accept(super::coding::Accept),
}

/// A header value kept for [`Carry::Value`] (a wrapper: the stored form itself is
/// not reachable from the public [`Middleware`](super::Middleware) trait).
pub struct Value(pub(crate) FastValue);

impl Carry {
    /// Sets a carry that is [`Carry::Done`] (as `before` gets it) to `value`.
    ///
    /// A plain assignment would drop the `Done` through `Carry`'s out-of-line drop
    /// glue (~11 instructions a layer in callgrind); a `Done` owns nothing, so it is
    /// forgotten instead.
    #[inline]
    pub fn set(&mut self, value: Carry) {
        let done = std::mem::replace(self, value);
        debug_assert!(matches!(done, Carry::Done));
        std::mem::forget(done);
    }

    /// What this holds, leaving [`Carry::Done`].
    #[inline]
    pub fn take(&mut self) -> Carry {
        std::mem::take(self)
    }

    /// Empties a carry that owns nothing (what a built-in's `after` leaves: those
    /// whose carry owns memory take it): a store of the tag. Dropping it, through
    /// `Carry`'s out-of-line drop glue, measured ~15 instructions a layer in
    /// callgrind, and a test of the variants for what owns memory ~14.
    #[inline]
    pub(crate) fn forget_plain(&mut self) {
        debug_assert!(!self.owns_memory(), "an `after` left what owns memory");
        std::mem::forget(std::mem::take(self));
    }

    /// Whether dropping this frees memory.
    fn owns_memory(&self) -> bool {
        match self {
            Carry::Done | Carry::Run | Carry::Timed(_) | Carry::Accept(_) => false,
            Carry::Value(Value(value)) => value.owns_memory(),
            Carry::Log(_) => true,
        }
    }

    /// The span the rest of the request runs in, if this layer opened one.
    pub(crate) fn span(&self) -> Option<&tracing::Span> {
        match self {
            Carry::Log(pending) => Some(&pending.span),
            _ => None,
        }
    }
}

/// What the request log ([`RequestLog`](super::RequestLog)) keeps of a request it
/// logs, until the response: here, beside the [`Carry`] that holds it.
pub struct Pending {
    pub(super) start: Instant,
    pub(super) method: crate::http::Method,
    pub(super) target: String,
    pub(super) sent_id: Option<String>,
    /// Encloses the inner layers and the handler.
    pub(super) span: tracing::Span,
}
