//! Request bodies in the connection loop: framing a request against its route's
//! body limit, and, for a route whose handler streams its body
//! ([`StreamingBody`](crate::extract::StreamingBody)), running the handler while
//! the body arrives: the socket is read only when the handler waits for a chunk,
//! and what it left unread is drained (or the connection closed) after it answered.

use std::cell::Cell;
use std::future::{poll_fn, Future};
use std::pin::{pin, Pin};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tokio::io::AsyncReadExt;
use tokio::time::{Instant, Sleep};

use super::dispatch::route;
use super::send_timeout::SendTimeout;
use super::shared::WorkerCtx;
use crate::connection_manager::buffers::ConnBuffers;
use crate::http::incoming::Incoming;
use crate::http::{BodyError, BodyErrorKind, HttpRequest, StatusCode};
use crate::middleware::Carries;
use crate::proto::body::{BodyDecoder, Decoded};
use crate::proto::chunked::{decode_chunked, ChunkedError};
use crate::proto::encode::Pending;
use crate::proto::parse::{BodyKind, Head};
use crate::response::Response;
use crate::rt::io::Io;

/// The most body bytes read and thrown away after a handler answered without
/// reading all of its streamed body, for the connection to go on; past it (or when
/// the declared rest is larger) the response says `Connection: close` instead.
/// Reading 256 KiB costs less than the client's next connection (a handshake and
/// a slow start), and a bounded drain keeps a client from holding the worker.
pub(crate) const MAX_DRAIN: u64 = 256 * 1024;

/// What the connection reads into while streaming a body, and what it holds of the
/// body at most (with the chunk the handler has). `scripts/upload-memory.py` (16
/// connections posting 20 MiB bodies, one worker, 3 runs each): 64 KiB took
/// 7.7-7.9 ms of system CPU per upload at a 3.9 MiB peak RSS, 256 KiB 6.1-6.3 ms
/// at 6.7 MiB (fewer reads of the socket).
const STREAM_READ: usize = 256 * 1024;

const CONTINUE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";

pub(super) enum Framed {
    /// The request's bytes (head at the start) and its decoded body.
    Complete(Bytes, Bytes),
    NeedMore,
    /// The body is over the limit: the head's bytes (a rejection the app answers).
    TooLarge(Bytes),
    /// Broken framing (a malformed chunk): answered by the connection itself.
    Error(StatusCode, &'static str),
    /// The head's bytes, and the body to stream to the route's handler.
    Stream(Bytes, Box<BodyDriver>),
}

/// Cuts the request (head + body) off the front of `rbuf` once its body is
/// complete, under the server's body limit, or the route's when some route has a
/// body setting of its own (then a route that streams gets its body as it comes).
/// Inlined whole into the connection loop: with `frame_whole` out of line (its
/// `Framed` returned through memory) pipelined `/plaintext` took 19 instructions a
/// request more in callgrind.
#[inline(always)]
pub(super) fn frame<S>(
    ctx: &WorkerCtx<S>,
    head: Head,
    req: &HttpRequest,
    rbuf: &mut BytesMut,
) -> Framed {
    let config = &ctx.shared.config;
    if head.framing.body != BodyKind::None && ctx.shared.route_bodies {
        return frame_routed(ctx, head, req, rbuf);
    }
    frame_whole(head, rbuf, config.max_body_size, config.max_head_size)
}

/// [`frame`]'s answer for a request of a pipelined batch (see `server::conn`), when
/// it needs nothing but its bytes: its whole length (head and body) when its body is
/// none, or one of a known length under the server's limit that `available` bytes
/// (from the head's start) already hold, and no route may set a limit or stream it.
/// `None` for anything else, which [`frame`] answers from the read buffer.
#[inline(always)]
pub(super) fn buffered_len<S>(ctx: &WorkerCtx<S>, head: &Head, available: usize) -> Option<usize> {
    let hl = head.head_len;
    match head.framing.body {
        BodyKind::None => Some(hl),
        BodyKind::Length(n)
            if !ctx.shared.route_bodies
                && n <= ctx.shared.config.max_body_size as u64
                && (available - hl) as u64 >= n =>
        {
            Some(hl + n as usize)
        }
        _ => None,
    }
}

/// [`frame`] under the limit of the route the request matches, streaming the body
/// when its handler takes it so.
#[cold]
#[inline(never)]
fn frame_routed<S>(
    ctx: &WorkerCtx<S>,
    head: Head,
    req: &HttpRequest,
    rbuf: &mut BytesMut,
) -> Framed {
    let config = &ctx.shared.config;
    let (limit, streams) = route_body(ctx, req, rbuf);
    let hl = head.head_len;
    let decoder = match head.framing.body {
        // Whole already (or refused): as a buffered body. Checked before framing it
        // so, for a body still arriving, no room is reserved for all of it.
        _ if !streams => return frame_whole(head, rbuf, limit, config.max_head_size),
        BodyKind::Length(n) if n > limit as u64 || rbuf.len() as u64 >= hl as u64 + n => {
            return frame_whole(head, rbuf, limit, config.max_head_size)
        }
        BodyKind::Length(n) => BodyDecoder::Length(n),
        _ => match decode_chunked(&rbuf[hl..], limit, config.max_head_size) {
            Ok(None) => BodyDecoder::chunked(),
            _ => return frame_whole(head, rbuf, limit, config.max_head_size),
        },
    };
    let head_bytes = rbuf.split_to(head.head_len).freeze();
    Framed::Stream(
        head_bytes,
        Box::new(BodyDriver {
            decoder,
            limit: limit as u64,
            max_trailers: config.max_head_size,
            incoming: Incoming::new(),
            continue_left: if head.framing.expect_continue {
                CONTINUE.len()
            } else {
                0
            },
            state: State::Going,
            deadline: Instant::now() + config.body_timeout,
            timeout: config.body_timeout,
        }),
    )
}

/// The body limit of the route `req` (parsed, its head at the front of `rbuf`)
/// matches, and whether its handler streams the body. A request no route matches
/// has the server's limit.
fn route_body<S>(ctx: &WorkerCtx<S>, req: &HttpRequest, rbuf: &BytesMut) -> (usize, bool) {
    let start = req.target.0 as usize;
    let path = std::str::from_utf8(&rbuf[start..start + req.path_len as usize]).unwrap_or("");
    let mut cache = ctx.route_cache.borrow_mut();
    match ctx.shared.router.find(&mut cache, req.method, path) {
        Ok(m) => (m.value.body_limit, m.value.streams_body),
        Err(_) => (ctx.shared.config.max_body_size, false),
    }
}

#[inline(always)]
fn frame_whole(head: Head, rbuf: &mut BytesMut, max_body: usize, max_trailers: usize) -> Framed {
    let hl = head.head_len;
    match head.framing.body {
        BodyKind::None => Framed::Complete(rbuf.split_to(hl).freeze(), Bytes::new()),
        BodyKind::Length(n) => {
            if n > max_body as u64 {
                return Framed::TooLarge(rbuf.split_to(hl).freeze());
            }
            let total = hl + n as usize;
            if rbuf.len() < total {
                rbuf.reserve(total - rbuf.len());
                return Framed::NeedMore;
            }
            let bytes = rbuf.split_to(total).freeze();
            let body = bytes.slice(hl..);
            Framed::Complete(bytes, body)
        }
        BodyKind::Chunked => match decode_chunked(&rbuf[hl..], max_body, max_trailers) {
            Ok(None) => Framed::NeedMore,
            Ok(Some(chunked)) => {
                let bytes = rbuf.split_to(hl + chunked.consumed).freeze();
                let body = chunked.collect(&bytes, hl);
                Framed::Complete(bytes, body)
            }
            Err(ChunkedError::TooLarge) => Framed::TooLarge(rbuf.split_to(hl).freeze()),
            Err(ChunkedError::Malformed(what)) => Framed::Error(StatusCode::BAD_REQUEST, what),
        },
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    Going,
    Ended,
    Failed,
}

/// A body being streamed to its handler: the decoder, the hand-off to the
/// extractor, the `100 Continue` owed, and the time the next bytes have.
pub(super) struct BodyDriver {
    decoder: BodyDecoder,
    limit: u64,
    max_trailers: usize,
    incoming: Incoming,
    /// Bytes of `100 Continue` still to write before the first read (sent when the
    /// handler first asks for the body, not before: a handler that answers without
    /// it spares the client the upload).
    continue_left: usize,
    state: State,
    /// When the body times out unless a byte arrives: each read moves it.
    deadline: Instant,
    timeout: Duration,
}

/// One step of reading a body.
enum Step {
    Data(Bytes),
    /// The last bytes of the body, or its end.
    End(Option<Bytes>),
    Failed(BodyError),
}

impl BodyDriver {
    /// Whether the connection can go on after the handler's response as things
    /// stand: the body ended, or its rest can be drained.
    fn reusable(&self) -> bool {
        match self.state {
            State::Ended => true,
            State::Failed => false,
            // A client owed a `100 Continue` may never send the body.
            State::Going => {
                self.continue_left == 0 && self.decoder.known_left().is_none_or(|n| n <= MAX_DRAIN)
            }
        }
    }

    /// Reads until the next piece of the body (or its end, or its failure).
    fn poll_step<T: Io>(
        &mut self,
        cx: &mut Context<'_>,
        stream: &mut T,
        rbuf: &mut BytesMut,
        timer: &mut Pin<&mut Sleep>,
    ) -> Poll<Step> {
        loop {
            match self.decoder.decode(rbuf, self.limit, self.max_trailers) {
                Ok(Decoded::Data(d)) if self.decoder.known_left() == Some(0) => {
                    self.state = State::Ended;
                    return Poll::Ready(Step::End(Some(d)));
                }
                Ok(Decoded::Data(d)) => return Poll::Ready(Step::Data(d)),
                Ok(Decoded::End) => {
                    self.state = State::Ended;
                    return Poll::Ready(Step::End(None));
                }
                Err(e) => {
                    return Poll::Ready(self.fail(match e {
                        ChunkedError::TooLarge => BodyErrorKind::TooLarge,
                        ChunkedError::Malformed(what) => BodyErrorKind::Malformed(what),
                    }))
                }
                Ok(Decoded::NeedMore) => {}
            }
            let progress = if self.continue_left > 0 {
                let sent = &CONTINUE[CONTINUE.len() - self.continue_left..];
                // Vectored (one slice): a plain `poll_write` here was the socket's
                // second caller of it, which LLVM then kept out of line in the
                // connection loop's flush too (+27 instructions a request on `/json`
                // in callgrind).
                let sent = [std::io::IoSlice::new(sent)];
                match Pin::new(&mut *stream).poll_write_vectored(cx, &sent) {
                    Poll::Ready(Ok(n)) if n > 0 => {
                        self.continue_left -= n;
                        continue;
                    }
                    Poll::Ready(_) => return Poll::Ready(self.fail(BodyErrorKind::Incomplete)),
                    Poll::Pending => false,
                }
            } else {
                if rbuf.capacity() - rbuf.len() < 1024 {
                    rbuf.reserve(STREAM_READ);
                }
                let read = pin!(stream.read_buf(rbuf)).poll(cx);
                match read {
                    Poll::Ready(Ok(0)) | Poll::Ready(Err(_)) => {
                        return Poll::Ready(self.fail(BodyErrorKind::Incomplete))
                    }
                    Poll::Ready(Ok(_)) => true,
                    Poll::Pending => false,
                }
            };
            if progress {
                self.deadline = Instant::now() + self.timeout;
                continue;
            }
            // Waiting on the socket, under the body timeout (the timer is re-armed
            // lazily, as the connection loop does).
            if self.deadline < timer.deadline() {
                timer.as_mut().reset(self.deadline);
            }
            loop {
                match timer.as_mut().poll(cx) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(()) if Instant::now() >= self.deadline => {
                        return Poll::Ready(self.fail(BodyErrorKind::TimedOut))
                    }
                    Poll::Ready(()) => timer.as_mut().reset(self.deadline),
                }
            }
        }
    }

    fn fail(&mut self, kind: BodyErrorKind) -> Step {
        self.state = State::Failed;
        Step::Failed(BodyError::new(kind))
    }

    /// When the handler waits for a chunk: reads one and hands it over (`Ready`:
    /// poll the handler again). Otherwise reads nothing (backpressure).
    fn poll_fill<T: Io>(
        &mut self,
        cx: &mut Context<'_>,
        stream: &mut T,
        rbuf: &mut BytesMut,
        timer: &mut Pin<&mut Sleep>,
    ) -> Poll<()> {
        if self.state != State::Going || !self.incoming.wants(cx) {
            return Poll::Pending;
        }
        let step = std::task::ready!(self.poll_step(cx, stream, rbuf, timer));
        match step {
            Step::Data(d) => self.incoming.deliver(Some(d), None, cx),
            Step::End(d) => self.incoming.deliver(d, Some(Ok(())), cx),
            Step::Failed(e) => self.incoming.deliver(None, Some(Err(e)), cx),
        }
        Poll::Ready(())
    }

    /// After the response: reads and discards what the handler left of the body, up
    /// to [`MAX_DRAIN`] bytes. Whether the connection can go on.
    async fn drain<T: Io>(
        &mut self,
        stream: &mut T,
        rbuf: &mut BytesMut,
        timer: &mut Pin<&mut Sleep>,
    ) -> bool {
        let mut drained = 0u64;
        while self.reusable() && self.state == State::Going {
            match poll_fn(|cx| self.poll_step(cx, stream, rbuf, timer)).await {
                Step::Data(d) => drained += d.len() as u64,
                Step::End(_) => return drained <= MAX_DRAIN,
                Step::Failed(_) => return false,
            }
            if drained > MAX_DRAIN {
                return false;
            }
        }
        self.state == State::Ended
    }
}

/// Runs the handler of a request whose body streams (`driver`): reads the body as
/// the handler asks, encodes its response, then drains the rest of the body. The
/// response and whether the connection goes on; `None` when it failed (closed).
#[cold]
#[allow(clippy::too_many_arguments)]
pub(super) async fn respond<S: Send + Sync + 'static, T: Io>(
    ctx: &WorkerCtx<S>,
    stream: &mut T,
    mut timer: Pin<&mut Sleep>,
    req: &mut HttpRequest,
    carries: &mut Carries,
    bufs: &mut ConnBuffers<'_>,
    mut driver: Box<BodyDriver>,
    keep_alive: impl Fn() -> bool,
) -> Option<(Pending, bool)> {
    let config = &ctx.shared.config;
    let http10 = req.version == crate::http::request::Version::Http10;
    let head_only = req.method == crate::http::Method::Head;
    // Earlier responses of the batch first: the client may wait for them before it
    // sends this body.
    if !bufs.out.is_empty() {
        bufs.note_batch();
        let mut w = SendTimeout::new(stream, timer.as_mut(), config);
        bufs.out.flush(&mut w).await.ok()?;
    }
    timer.as_mut().reset(driver.deadline);
    req.incoming = Some(driver.incoming.clone());
    let reusable = Cell::new(driver.reusable());
    let (pending, keep_alive) = {
        // Lets go of the request's `incoming` and its bytes (see `route`).
        let call = route::<_, true>(ctx, req, carries, &mut bufs.futures);
        let out = &mut bufs.out;
        let rbuf = &mut bufs.rbuf;
        let mut encode = |resp: &mut Response| {
            let keep_alive = keep_alive() && reusable.get();
            (out.encode(resp, keep_alive, http10, head_only), keep_alive)
        };
        match call {
            Ok(mut call) => {
                poll_fn(|cx| loop {
                    if let Poll::Ready(r) = call.poll_with(cx, &mut encode) {
                        return Poll::Ready(r);
                    }
                    std::task::ready!(driver.poll_fill(cx, stream, rbuf, &mut timer));
                    reusable.set(driver.reusable());
                })
                .await
            }
            Err(mut resp) => encode(&mut resp),
        }
    };
    let mut keep_alive = keep_alive;
    if keep_alive && driver.state == State::Going {
        // The response first (a client may wait for it before sending the rest).
        bufs.note_batch();
        let mut w = SendTimeout::new(stream, timer.as_mut(), config);
        bufs.out.flush(&mut w).await.ok()?;
        keep_alive = driver.drain(stream, &mut bufs.rbuf, &mut timer).await;
    }
    // A consumer kept past the response (moved into a task) sees the body end.
    driver.incoming.abandon();
    Some((pending, keep_alive))
}
