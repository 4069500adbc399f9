//! `RequestLog`: the access log, one `tracing` event per request in a fixed format
//! (documented on [`RequestLog`], a contract with `cargo armature pgo`).

use std::time::Instant;

use super::chain::around;
use super::hooks::{AnyHooks, Carry, Hooks, Pending};
use super::{Middleware, Next, REQUEST_ID_HEADER};
use crate::handler::BoxFuture;
use crate::http::HttpRequest;
use crate::response::Response;

/// The target of the access-log events.
pub const ACCESS_TARGET: &str = "armature::access";

/// Logs every request through `tracing`: the access log.
///
/// # The format (a contract: `cargo armature pgo --workload-from-log` parses it)
///
/// Each request, once its response is ready, emits one event at `INFO` level with
/// target `armature::access`, no message, and exactly these fields in this order:
///
/// | field | value |
/// | --- | --- |
/// | `method` | the request method (`GET`), Display |
/// | `path` | the request target as received: path plus `?query`, Display |
/// | `status` | the response status, a number |
/// | `bytes` | the response body's bytes (0 for a streamed body) |
/// | `duration_us` | microseconds from the request reaching this middleware to its response being ready, an integer |
/// | `request_id` | the `x-request-id` (the response's, else the request's), or `-` when none, Display |
///
/// With `tracing_subscriber`'s default `fmt` output a line reads:
///
/// ```text
/// 2026-12-01T20:00:00.123Z  INFO armature::access: method=GET path=/users/42?page=2 status=200 bytes=512 duration_us=87 request_id=3f2a9c
/// ```
///
/// The event is emitted outside the request's span (so the line carries no span
/// prefix); the span (`request`, with `method` and `path`) encloses the handler and
/// inner middleware, so their own events are tagged with the request. Without a
/// subscriber that takes `INFO` events of `armature::access`, a request costs one
/// check and nothing else.
///
/// Put it outside (added after) [`RequestId`](super::RequestId) to log generated ids
/// too: it reads the id from the response first.
///
/// ```
/// use armature_core::middleware::{RequestId, RequestLog};
/// let app = armature_core::App::new()
///     .get("/", || async { "hi" })
///     .middleware(RequestId::new())
///     .middleware(RequestLog::new()); // outermost: sees the generated id
/// # drop(app);
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct RequestLog {
    _private: (),
}

impl RequestLog {
    /// The access log, in the format above.
    pub fn new() -> Self {
        RequestLog::default()
    }
}

impl Hooks for RequestLog {
    // Always: `Builtin::before` is inlined into both instances of `HookStack::start`
    // (the connection loop's and a streamed body's); with a third caller LLVM kept
    // this out of line.
    #[inline(always)]
    fn before(&self, req: &mut HttpRequest, carry: &mut Carry) -> Option<Response> {
        // The one check a request pays without a subscriber for the access log: the
        // callsite's interest is cached by `tracing`.
        if !tracing::enabled!(target: "armature::access", tracing::Level::INFO) {
            return None;
        }
        let method = req.method();
        let target = req.uri().to_owned();
        let sent_id = req.header_str(REQUEST_ID_HEADER).map(str::to_owned);
        let span = tracing::info_span!(target: "armature::access", "request", method = %method, path = %target);
        carry.set(Carry::Log(Box::new(Pending {
            start: Instant::now(),
            method,
            target,
            sent_id,
            span,
        })));
        None
    }

    fn after(&self, carry: &mut Carry, resp: &mut Response) {
        let Carry::Log(pending) = carry.take() else {
            return;
        };
        let Pending {
            start,
            method,
            target,
            sent_id,
            span,
        } = *pending;
        drop(span);
        let duration_us = start.elapsed().as_micros() as u64;
        let bytes = resp.body_bytes().map_or(0, <[u8]>::len) as u64;
        let request_id = resp
            .header(REQUEST_ID_HEADER)
            .or(sent_id.as_deref())
            .unwrap_or("-");
        tracing::info!(
            target: "armature::access",
            method = %method,
            path = %target,
            status = resp.status().as_u16(),
            bytes = bytes,
            duration_us = duration_us,
            request_id = %request_id,
        );
    }
}

impl Middleware for RequestLog {
    fn call(&self, req: HttpRequest, next: Next) -> BoxFuture {
        around(self, req, next)
    }

    fn hooks(self: std::sync::Arc<Self>) -> Option<AnyHooks> {
        Some(AnyHooks(self))
    }
}
