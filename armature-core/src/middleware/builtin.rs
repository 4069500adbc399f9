//! `Builtin`: the built-in hook layers as one enum, which the connection loop
//! dispatches over (each `before` and `after` inlined, no vtable), and a route's
//! stack of them (`HookStack`) with what its requests leave for the `after`s
//! (`Carries`, `After`). The hooks themselves, and what a layer leaves, are in
//! `hooks.rs`; why they are shaped so (with the measurements) in its docs.

use std::sync::Arc;

use smallvec::SmallVec;

use super::chain::Stack;
use super::hooks::{AnyHooks, Carry, Hooks};
use super::metrics::Recorder;
use super::{Cors, DefaultHeaders, RequestId, RequestLog};
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
        match any.downcast::<Recorder>() {
            Ok(h) => Some(Builtin::Metrics((*h).clone())),
            Err(_) => None,
        }
    }

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
            Builtin::Metrics(h) => before_into(h, req, i, carries, spans),
        }
    }

    #[inline]
    fn after(&self, carry: Carry, resp: &mut Response) {
        match self {
            Builtin::RequestId(h) => h.after(carry, resp),
            Builtin::Cors(h) => h.after(carry, resp),
            Builtin::RequestLog(h) => h.after(carry, resp),
            Builtin::DefaultHeaders(h) => h.after(carry, resp),
            Builtin::Metrics(h) => h.after(carry, resp),
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
            .map(|layer| layer.clone().hooks().and_then(Builtin::of))
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
    /// Whether a layer opened a span for this request.
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
