//! Hooks: the built-in middleware in a form the connection loop runs without a
//! future, a clone of the request or a move of the response per layer.
//!
//! A built-in layer that only looks at the request, may answer it, and then changes
//! the response (request id, CORS, request log, default headers) is two plain
//! calls: [`Hooks::before`] on the connection's own request, and [`Hooks::after`]
//! on the response in place. When every layer of a route has hooks, the route's
//! handler is called as without middleware (its future in the connection's future
//! slot) and the `after`s run on the response where the poll left it
//! (`HookStack::start` and `CatchPanic::poll_with`, in `server::dispatch`). Any other layer in the
//! stack (an `async fn`, `Timeout`, `Compression`) puts the route on the general
//! path, where each hook layer runs as the same code inside its own future
//! ([`around`]), so the behaviour is the same on both paths.
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
//! common `before` and its `after` (~45); [`Carries`] as a plain array (~25); a
//! header line written with one capacity test and no `memcpy` call (~50); each
//! layer's carry test in its own `match` arm of [`Builtin::before`], with the push
//! out of line (~15). Dispatching over [`Builtin`] instead of `Arc<dyn Hooks>`
//! showed no saving of its own (within the noise of a few instructions).

use std::sync::Arc;

use smallvec::SmallVec;
use tracing::Instrument;

use super::{Next, Stack};
use crate::fast_response::FastValue;
use crate::handler::BoxFuture;
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
    /// something other than [`Carry::Done`].
    fn after(&self, carry: Carry, resp: &mut Response);
}

/// A built-in layer's hooks, as [`Middleware::hooks`](super::Middleware::hooks)
/// gives them: an enum rather than a trait object, so that the loop over a route's
/// layers calls each `before` and `after` directly (inlined), not through a vtable.
///
/// `pub` in a private module, as [`Hooks`].
pub enum Builtin {
    RequestId(Arc<super::RequestId>),
    Cors(Arc<super::Cors>),
    RequestLog(super::RequestLog),
    DefaultHeaders(Arc<super::DefaultHeaders>),
}

impl Builtin {
    /// Runs the `before` of layer `i` (this one) and keeps what it leaves in
    /// `carries`; `spans` is set if that opened a span. Done in each arm, so that
    /// where a `before` is inlined, whether it left a carry is known there (a shared
    /// test after the `match` measured ~20 instructions a request more for the
    /// request id, CORS and request log stack in callgrind; see also
    /// [`Carries::push`]).
    #[inline]
    pub(crate) fn before(
        &self,
        req: &mut HttpRequest,
        i: usize,
        carries: &mut Carries,
        spans: &mut bool,
    ) -> Option<Response> {
        match self {
            Builtin::RequestId(h) => before_into(&**h, req, i, carries, spans),
            Builtin::Cors(h) => before_into(&**h, req, i, carries, spans),
            Builtin::RequestLog(h) => before_into(h, req, i, carries, spans),
            Builtin::DefaultHeaders(h) => before_into(&**h, req, i, carries, spans),
        }
    }

    #[inline]
    fn after(&self, carry: Carry, resp: &mut Response) {
        match self {
            Builtin::RequestId(h) => h.after(carry, resp),
            Builtin::Cors(h) => h.after(carry, resp),
            Builtin::RequestLog(h) => h.after(carry, resp),
            Builtin::DefaultHeaders(h) => h.after(carry, resp),
        }
    }
}

/// [`Builtin::before`] for one kind of layer.
#[inline(always)]
fn before_into<H: Hooks>(
    hooks: &H,
    req: &mut HttpRequest,
    i: usize,
    carries: &mut Carries,
    spans: &mut bool,
) -> Option<Response> {
    let mut carry = Carry::Done;
    if let Some(answer) = hooks.before(req, &mut carry) {
        // What it left is dropped: its `after` does not run.
        return Some(answer);
    }
    if matches!(carry, Carry::Done) {
        // Owns nothing: skip the out-of-line drop glue (as in `Carry::set`).
        std::mem::forget(carry);
    } else {
        *spans |= carry.span().is_some();
        carries.push(i, carry);
    }
    None
}

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
    Log(Box<super::request_log::Pending>),
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

    /// The span the rest of the request runs in, if this layer opened one.
    fn span(&self) -> Option<&tracing::Span> {
        match self {
            Carry::Log(pending) => Some(&pending.span),
            _ => None,
        }
    }
}

/// The layers of a route when all have hooks, outermost first.
pub(crate) struct HookStack {
    pub(crate) layers: Box<[Builtin]>,
    /// The same layers as general middleware, for the cold paths (a request refused
    /// before its handler could run): run there as futures ([`around`]), the hot
    /// path's inlined code keeps its one caller.
    stack: Stack,
}

/// Where a connection keeps its request's [`Carry`]s: one per layer whose `before`
/// ran (and did not answer). Owned by the connection loop rather than by the
/// request's future, which so stays as small as without middleware (a future
/// holding them measured ~180 instructions a request more in memcpy and drop on
/// routes without middleware).
/// Each entry is a layer's index and what its `after` needs; layers with nothing to do
/// after (a `Carry::Done`) are not kept, so theirs costs nothing.
///
/// The first [`Carries::INLINE`] live in place: none of a `SmallVec`'s
/// inline-or-heap tests on each push and pop.
pub(crate) struct Carries {
    /// How many of `inline` are kept (the others are `Done`).
    len: usize,
    inline: [(usize, Carry); Carries::INLINE],
    /// The carries past `INLINE`, in order (a stack of that many layers with
    /// something to do after).
    more: Vec<(usize, Carry)>,
}

impl Carries {
    const INLINE: usize = 4;

    pub(crate) fn new() -> Carries {
        Carries {
            len: 0,
            inline: Default::default(),
            more: Vec::new(),
        }
    }

    /// Drops what is kept (left over only by a request whose future was dropped
    /// unfinished).
    #[inline]
    pub(crate) fn clear(&mut self) {
        if self.len != 0 || !self.more.is_empty() {
            self.clear_slow();
        }
    }

    #[cold]
    fn clear_slow(&mut self) {
        for (_, carry) in &mut self.inline[..self.len] {
            *carry = Carry::Done;
        }
        self.len = 0;
        self.more.clear();
    }

    /// Keeps layer `i`'s `carry` (not `Done`). Out of line: [`Builtin::before`]
    /// calls it from each arm, and four inlined copies in the connection loop cost
    /// routes without middleware ~10 instructions a request (hello's pipelined
    /// `/plaintext` in callgrind) by the code they moved.
    #[inline(never)]
    fn push(&mut self, i: usize, carry: Carry) {
        match self.inline.get_mut(self.len) {
            Some(entry) => {
                entry.0 = i;
                entry.1.set(carry);
                self.len += 1;
            }
            None => self.more.push((i, carry)),
        }
    }

    /// The kept carries, outermost first.
    fn iter(&self) -> impl Iterator<Item = &Carry> {
        self.inline[..self.len]
            .iter()
            .chain(&self.more)
            .map(|(_, carry)| carry)
    }

    /// The innermost kept carry and its layer's index, taken out.
    #[inline]
    fn pop(&mut self) -> Option<(usize, Carry)> {
        if !self.more.is_empty() {
            return self.pop_more();
        }
        let len = self.len.checked_sub(1)?;
        self.len = len;
        let (i, carry) = self.inline.get_mut(len)?;
        Some((*i, std::mem::take(carry)))
    }

    #[cold]
    fn pop_more(&mut self) -> Option<(usize, Carry)> {
        self.more.pop()
    }
}

/// The state of the layers' `after`s while the handler runs.
pub(crate) struct After<'a> {
    pub(crate) layers: &'a [Builtin],
    pub(crate) carries: &'a mut Carries,
    /// Whether a carry holds a span, entered around each poll of the handler.
    pub(crate) spans: bool,
}

impl HookStack {
    /// The stack's hooks, if every layer has them.
    pub(crate) fn of(stack: &Stack) -> Option<HookStack> {
        let layers = stack
            .iter()
            .map(|layer| layer.clone().hooks())
            .collect::<Option<Box<[_]>>>()?;
        Some(HookStack {
            layers,
            stack: stack.clone(),
        })
    }

    /// The layers as general middleware, for the cold paths.
    pub(crate) fn as_stack(&self) -> &Stack {
        &self.stack
    }
}

/// Enters the spans of `carries` (outermost first) until the guard drops.
pub(crate) fn enter(carries: &Carries) -> SmallVec<[tracing::span::Entered<'_>; 1]> {
    carries
        .iter()
        .filter_map(Carry::span)
        .map(tracing::Span::enter)
        .collect()
}

impl After<'_> {
    /// Whether a layer opened a span for this request (used where panics abort).
    #[cfg_attr(panic = "unwind", allow(dead_code))]
    #[inline]
    pub(crate) fn has_spans(&self) -> bool {
        self.spans
    }

    /// Enters the layers' spans (outermost first) until the guard drops.
    #[inline]
    pub(crate) fn enter(&self) -> Option<SmallVec<[tracing::span::Entered<'_>; 1]>> {
        self.spans.then(|| enter(self.carries))
    }

    /// Runs the `after`s on `resp`, innermost first.
    pub(crate) fn run(self, resp: &mut Response) {
        while let Some((i, carry)) = self.carries.pop() {
            if let Some(layer) = self.layers.get(i) {
                layer.after(carry, resp);
            }
        }
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
                hooks.after(carry, &mut resp);
                resp
            })
        }
        None => {
            let inner = next.run(req);
            Box::pin(async move {
                let mut resp = inner.await;
                hooks.after(carry, &mut resp);
                resp
            })
        }
    }
}
