//! `Builtin`: the built-in hook layers as one enum, which the connection loop
//! dispatches over (each `before` and `after` inlined, no vtable), and a route's
//! stack of them (`HookStack`) with what its requests leave for the `after`s
//! (`Carries`, `After`). The hooks themselves, and what a layer leaves, are in
//! `hooks.rs`; why they are shaped so (with the measurements) in its docs.

use std::sync::Arc;

use smallvec::SmallVec;

use super::chain::Stack;
use super::hooks::{AnyHooks, Carry, Hooks};
use super::metrics::{Recorder, Started};
use super::{Compression, Cors, DefaultHeaders, RequestId, RequestLog};
use crate::http::HttpRequest;
use crate::response::Response;

/// A built-in layer's hooks, as [`Middleware::hooks`](super::Middleware::hooks)
/// gives them: an enum rather than a trait object, so that the loop over a route's
/// layers calls each `before` and `after` directly (inlined), not through a vtable.
///
/// `pub` in a private module, as [`Hooks`].
pub enum Builtin {
    RequestId(Arc<RequestId>),
    Cors(Arc<Cors>),
    RequestLog(RequestLog),
    DefaultHeaders(Arc<DefaultHeaders>),
    Metrics(Recorder),
    Compression(Arc<Compression>),
}

impl Builtin {
    /// What [`Middleware::hooks`](super::Middleware::hooks) gave, as the built-in
    /// it is (`None` for a type with no variant here). Run once per route when the
    /// app is built.
    fn of(hooks: AnyHooks) -> Option<Builtin> {
        let any = hooks.0;
        let any = match any.downcast::<RequestId>() {
            Ok(h) => return Some(Builtin::RequestId(h)),
            Err(any) => any,
        };
        let any = match any.downcast::<Cors>() {
            Ok(h) => return Some(Builtin::Cors(h)),
            Err(any) => any,
        };
        let any = match any.downcast::<RequestLog>() {
            Ok(h) => return Some(Builtin::RequestLog(*h)),
            Err(any) => any,
        };
        let any = match any.downcast::<DefaultHeaders>() {
            Ok(h) => return Some(Builtin::DefaultHeaders(h)),
            Err(any) => any,
        };
        let any = match any.downcast::<Recorder>() {
            Ok(h) => return Some(Builtin::Metrics((*h).clone())),
            Err(any) => any,
        };
        match any.downcast::<Compression>() {
            Ok(h) => Some(Builtin::Compression(h)),
            Err(_) => None,
        }
    }

    /// Runs this layer's `before`, which leaves what its `after` needs in `carry`
    /// (this layer's own slot of the connection's [`Carries`], written in place:
    /// no copy of the carry, no push). `spans` is set if that opened a span: only
    /// the request log's can, so only its arm looks.
    // Always: `HookStack::before` is inlined into both instances of
    // `HookStack::start` (the connection loop's and a streamed body's), and
    // `before_more` calls it too; with those callers LLVM kept it out of line.
    #[inline(always)]
    pub(crate) fn before(
        &self,
        req: &mut HttpRequest,
        carry: &mut Carry,
        spans: &mut bool,
    ) -> Option<Response> {
        let answer = match self {
            Builtin::RequestId(h) => h.before(req, carry),
            Builtin::Cors(h) => h.before(req, carry),
            Builtin::RequestLog(h) => {
                let answer = h.before(req, carry);
                *spans |= carry.span().is_some();
                answer
            }
            Builtin::DefaultHeaders(h) => h.before(req, carry),
            Builtin::Metrics(h) => h.before(req, carry),
            // Nothing to keep: its `after` reads the request (see `After::req`).
            Builtin::Compression(_) => {
                carry.set(Carry::Run);
                None
            }
        };
        if answer.is_some() {
            // What it left is dropped: its `after` does not run.
            drop_carry(carry);
        }
        answer
    }

    // Always: `After::run` is inlined into both instances of
    // `CatchPanic::poll_with` (the connection loop's and a streamed body's), and
    // `run_more` calls it too; with those callers LLVM kept it out of line.
    #[inline(always)]
    fn after(&self, carry: &mut Carry, req: &HttpRequest, resp: &mut Response) {
        match self {
            Builtin::RequestId(h) => h.after(carry, resp),
            Builtin::Cors(h) => h.after(carry, resp),
            Builtin::RequestLog(h) => h.after(carry, resp),
            Builtin::DefaultHeaders(h) => h.after(carry, resp),
            Builtin::Metrics(h) => h.after(carry, resp),
            Builtin::Compression(h) => h.after_request(req, resp),
        }
        // Each `after` has taken what owns memory (the request id's and CORS's
        // values, the request log's record), or left nothing that does.
        carry.forget_plain();
    }
}

/// Drops what a layer that answered in its `before` left (out of line: a request
/// answered by a layer is the uncommon case).
#[cold]
fn drop_carry(carry: &mut Carry) {
    *carry = Carry::Done;
}

/// The layers of a route when all have hooks, outermost first.
pub(crate) struct HookStack {
    pub(crate) layers: Box<[Builtin]>,
    /// The stack's one layer when it has a path of its own (see [`Alone`]).
    /// `None` (the loops) is one test, as it was when only `Compression` had a
    /// path of its own. With the loops a third variant of `Alone`, LLVM decoded
    /// the tag from `Compression`'s niche at each test (a subtraction, a `cmov`,
    /// two tests), and with a `repr(u8)` tag the route table's entries grew:
    /// request id, CORS and request log on `/json` ~4,160 against ~4,150, and
    /// `Compression` alone on pipelined `/plaintext` ~1,362-1,366 against ~1,359,
    /// in callgrind.
    pub(crate) alone: Option<Alone>,
    /// The same layers as general middleware, for the cold paths (a request refused
    /// before its handler could run): run there as futures ([`around`]), the hot
    /// path's inlined code keeps its one caller.
    stack: Stack,
}

/// A stack of one layer that runs without the loops over the layers and their
/// carries ([`HookStack::alone`], decided when the app is built): app-wide
/// compression, or app-wide metrics, in an app without other built-ins.
pub(crate) enum Alone {
    /// A [`Compression`], which has nothing to do before the handler (its `after`
    /// reads the request: see [`After::req`]): a request runs no `before` and
    /// keeps no carries, its handler is started as without middleware, and this
    /// `after` is all that runs after it. Decided for each request instead (a
    /// flag, the loops over the layers and their carries): ~18 instructions more
    /// on pipelined `/plaintext` in callgrind.
    Compression(Compression),
    /// A [`Metrics`](super::Metrics) recorder: its start is kept in
    /// [`Carries::timed`] (plain data: no tag written, tested or emptied), and
    /// it is called directly, not through the loops and `Builtin`'s dispatch.
    /// Through them: ~190 instructions a request on hello's `/json` in
    /// callgrind, ~120 so (see `Metrics`' documentation).
    Metrics(Recorder),
}

/// Where a connection keeps its request's [`Carry`]s: one slot per layer of the
/// route's stack (slot `i` is layer `i`'s), which its `before` writes in place and
/// its `after` takes; a layer with nothing to do after leaves its slot
/// [`Carry::Done`], and its `after` is skipped. Owned by the connection loop rather
/// than by the request's future, which so stays as small as without middleware (a
/// future holding them measured ~180 instructions a request more in memcpy and
/// drop on routes without middleware).
///
/// The first [`Carries::INLINE`] slots live in place. One slot per layer rather
/// than a stack of the carries left: a `before` writes its slot directly (no copy
/// of the carry, no out-of-line push, no index kept), and the `after`s walk the
/// route's layers (a test of each slot) rather than popping until empty.
pub(crate) struct Carries {
    inline: [Carry; Carries::INLINE],
    /// The slots of the layers past `INLINE` (a stack of that many built-ins).
    more: Vec<Carry>,
    /// How many slots may hold something: the layers of the last request started,
    /// 0 once its `after`s ran.
    live: usize,
    /// Whether a carry of the request started holds a span, entered around each
    /// poll of its handler (set for each request). Here rather than in [`After`],
    /// which so stays three pointers: with it there, the connection loop's code
    /// moved the `After` about field by field, ~8 instructions a request more
    /// on every route, hooks or not (callgrind, pipelined `/plaintext`).
    pub(crate) spans: bool,
    /// When the request started, for a [`Metrics`](super::Metrics) alone
    /// ([`Alone::Metrics`]), which keeps no carry in a slot.
    pub(crate) timed: Started,
}

impl Carries {
    const INLINE: usize = 4;

    pub(crate) fn new() -> Carries {
        Carries {
            inline: Default::default(),
            more: Vec::new(),
            live: 0,
            spans: false,
            timed: Started::default(),
        }
    }

    /// Empties every slot (what is left over only by a request whose future was
    /// dropped unfinished), ready for a stack of `layers`.
    #[inline]
    pub(crate) fn start(&mut self, layers: usize) {
        if self.live != 0 || layers > Carries::INLINE {
            self.start_slow(layers);
        }
        self.live = layers;
    }

    #[cold]
    fn start_slow(&mut self, layers: usize) {
        for carry in &mut self.inline {
            *carry = Carry::Done;
        }
        self.more.clear();
        self.more
            .resize_with(layers.saturating_sub(Carries::INLINE), Carry::default);
    }

    /// The slots that hold something, outermost first.
    fn iter(&self) -> impl Iterator<Item = &Carry> {
        self.inline
            .iter()
            .chain(&self.more)
            .take(self.live)
            .filter(|carry| !matches!(carry, Carry::Done))
    }
}

/// The state of the layers' `after`s while the handler runs.
pub(crate) struct After<'a> {
    /// The route's layers (one pointer: the `After` is part of the connection's
    /// future, moved with it).
    pub(crate) hooks: &'a HookStack,
    /// The layers' carries (only `spans` set, and `timed` for a `Metrics`, for
    /// a stack of one layer alone: [`HookStack::alone`]).
    pub(crate) carries: &'a mut Carries,
    /// The connection's request, still whole (but a streamed body's handle, let
    /// go when the handler started): an `after` may read its headers
    /// (`Compression`'s `Accept-Encoding`, read only for a response it may
    /// compress, so the request costs nothing more). It lets go of the read
    /// buffer's bytes once the `after`s ran (before the response is encoded).
    pub(crate) req: &'a mut HttpRequest,
}

impl HookStack {
    /// The stack's hooks, if every layer has them.
    pub(crate) fn of(stack: &Stack) -> Option<HookStack> {
        let layers = stack
            .iter()
            .map(|layer| layer.clone().hooks().and_then(Builtin::of))
            .collect::<Option<Box<[_]>>>()?;
        Some(HookStack {
            alone: match &*layers {
                [Builtin::Compression(c)] => Some(Alone::Compression(**c)),
                [Builtin::Metrics(m)] => Some(Alone::Metrics(m.clone())),
                _ => None,
            },
            layers,
            stack: stack.clone(),
        })
    }

    /// Runs the `before`s on `req`, outermost first, each into its layer's slot of
    /// `carries` (made ready by [`Carries::start`]); stops at a layer that answers,
    /// and returns its answer. `spans` is set if one opened a span.
    // Always: `HookStack::start` is inlined into both callers of `route` (the
    // connection loop and a streamed body's `body::respond`); with a second caller
    // LLVM kept this out of line.
    #[inline(always)]
    pub(crate) fn before(
        &self,
        req: &mut HttpRequest,
        carries: &mut Carries,
        spans: &mut bool,
    ) -> Option<Response> {
        for (layer, carry) in self.layers.iter().zip(&mut carries.inline) {
            if let Some(answer) = layer.before(req, carry, spans) {
                return Some(answer);
            }
        }
        if self.layers.len() > Carries::INLINE {
            return before_more(&self.layers, req, &mut carries.more, spans);
        }
        None
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
    /// Whether a layer opened a span for this request.
    #[inline]
    pub(crate) fn has_spans(&self) -> bool {
        self.carries.spans
    }

    /// Enters the layers' spans (outermost first) until the guard drops.
    #[inline]
    pub(crate) fn enter(&self) -> Option<SmallVec<[tracing::span::Entered<'_>; 1]>> {
        self.carries.spans.then(|| enter(self.carries))
    }

    /// Runs the `after`s on `resp`, innermost first: each layer's whose slot holds
    /// something, which it takes (or the one layer of an [`Alone`], which keeps
    /// no carry); then the request lets go of its body.
    // Always: called from both instances of `CatchPanic::poll_with` (the connection
    // loop's and a streamed body's); with two callers LLVM kept it out of line.
    #[inline(always)]
    pub(crate) fn run(&mut self, resp: &mut Response) {
        match &self.hooks.alone {
            None => self.run_kept(resp),
            Some(Alone::Compression(compression)) => compression.after_request(self.req, resp),
            Some(Alone::Metrics(recorder)) => {
                recorder.finish(&self.carries.timed, resp.status());
            }
        }
        self.req.release_body();
    }

    /// [`run`](Self::run) after the `before`s: the layers whose slot holds
    /// something.
    #[inline(always)]
    fn run_kept(&mut self, resp: &mut Response) {
        let carries = &mut *self.carries;
        let req = &*self.req;
        let layers = &*self.hooks.layers;
        let mut n = layers.len();
        if n > Carries::INLINE {
            run_more(layers, carries, req, resp);
            n = Carries::INLINE;
        }
        while let Some(i) = n.checked_sub(1) {
            n = i;
            let (Some(layer), Some(carry)) = (layers.get(i), carries.inline.get_mut(i)) else {
                break;
            };
            if !matches!(carry, Carry::Done) {
                layer.after(carry, req, resp);
            }
        }
        carries.live = 0;
    }
}

/// The `before`s of the layers past [`Carries::INLINE`] (of `layers`, the whole
/// stack), into `more`.
#[cold]
#[inline(never)]
fn before_more(
    layers: &[Builtin],
    req: &mut HttpRequest,
    more: &mut [Carry],
    spans: &mut bool,
) -> Option<Response> {
    let inner = layers.get(Carries::INLINE..).unwrap_or_default();
    for (layer, carry) in inner.iter().zip(more) {
        if let Some(answer) = layer.before(req, carry, spans) {
            return Some(answer);
        }
    }
    None
}

/// The `after`s of the layers past [`Carries::INLINE`], innermost first.
#[cold]
fn run_more(layers: &[Builtin], carries: &mut Carries, req: &HttpRequest, resp: &mut Response) {
    let inner = layers.get(Carries::INLINE..).unwrap_or_default();
    for (layer, carry) in inner.iter().zip(&mut carries.more).rev() {
        if !matches!(carry, Carry::Done) {
            layer.after(carry, req, resp);
        }
    }
}
