//! The connection loop: read, parse every complete request in the buffer
//! (pipelining), run the handlers in order, encode all responses into one buffer
//! and write the batch at once. Keep-alive, limits, timeouts and draining live here.

use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::time::Duration;

use bytes::Bytes;
use tokio::io::{AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::time::{Instant, Sleep};

use super::body::{self, BodyDriver, Framed};
use super::config::ServerConfig;
use super::dispatch::{route, route_refused, Caught};
use super::send_timeout::SendTimeout;
use super::shared::WorkerCtx;
use crate::connection_manager::buffers::ConnBuffers;
use crate::connection_manager::ConnHandle;
use crate::extract::Rejection;
use crate::http::request::Version;
use crate::http::{HttpRequest, Method, StatusCode};
use crate::middleware;
use crate::proto::encode::{BodyFraming, More, OutBuffer, Pending};
use crate::response::Response;
pub(crate) use crate::rt::io::Io;

const CONTINUE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";

/// Where a batch's next request may start at most to be answered from the batch
/// (its ranges are `u32` offsets into it, below `HeaderMap`'s bit for added
/// headers); past it, the rest goes back to the read buffer.
const MAX_BATCH_OFFSET: usize = 1 << 30;

/// What the next read waits for, which decides its timeout.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Waiting {
    /// Nothing buffered: an idle keep-alive connection.
    Idle,
    /// Part of a head arrived at the given instant.
    Head(Instant),
    /// A complete head whose body is still arriving, since the given instant.
    Body(Instant),
}

/// Serves one connection until it closes, is handed over to another protocol, or
/// the worker shuts down. Each turn of the loop is three steps: answer every
/// complete request already buffered (encoding the responses into one buffer),
/// write that batch at once, then read more under the timeout of what is awaited.
pub(crate) async fn serve<S: Send + Sync + 'static, T: Io + 'static>(
    stream: T,
    ctx: Rc<WorkerCtx<S>>,
    guard: Option<ConnHandle>,
) {
    let timer = tokio::time::sleep(ctx.manager.keep_alive_timeout());
    tokio::pin!(timer);
    let mut conn = Conn {
        req: HttpRequest::empty(),
        batch: Bytes::new(),
        at: 0,
        carries: middleware::Carries::new(),
        bufs: ctx.manager.buffers(),
        waiting: Waiting::Idle,
        continue_sent: false,
        stream,
        ctx: &ctx,
        config: &ctx.shared.config,
        timer,
        guard: guard.as_ref(),
    };

    loop {
        // 1. Answer every complete request already buffered (pipelining), in order.
        let end = loop {
            let (wants_keep_alive, streamed) = match conn.next_request() {
                Next::Request {
                    keep_alive,
                    streamed,
                } => (keep_alive, streamed),
                Next::Wait => break BatchEnd::Read,
                Next::TooLarge => {
                    // Boxed: this future's state stays as it was for the requests
                    // answered (unboxed, /json measured ~2 instructions a request more).
                    if Box::pin(conn.refuse_too_large()).await.is_err() {
                        return;
                    }
                    break BatchEnd::Close;
                }
                Next::Close => break BatchEnd::Close,
            };
            let (pending, keep_alive) = if let Some(driver) = streamed {
                // Boxed, as for `TooLarge`.
                match Box::pin(conn.dispatch_streamed(wants_keep_alive, driver)).await {
                    Some(answered) => answered,
                    None => return,
                }
            } else {
                // Awaited where `dispatch` put it, by reference: moved into the
                // await's own slot, it was copied a word at a time after being
                // written a word at a time, a copy the CPU stalls on (~1.5% of the
                // pipelined profile's CPU in `perf`, at that one load).
                let mut dispatched = conn.dispatch(wants_keep_alive);
                match &mut dispatched {
                    Ok(running) => running.await,
                    Err(answered) => std::mem::replace(answered, (Pending::Done, false)),
                }
            };
            if let Pending::More(more) = pending {
                match *more {
                    More::Stream(body, framing) => {
                        if conn.send_streamed(body, framing).await.is_err() {
                            return;
                        }
                        if framing == BodyFraming::Close {
                            // The body was delimited by the close (no transfer coding on 1.0).
                            break BatchEnd::Close;
                        }
                    }
                    More::Upgrade(upgrade) => {
                        if conn.flush().await.is_err() {
                            return;
                        }
                        // The new protocol runs on the socket until it ends.
                        let read_ahead = conn.hand_over();
                        return upgrade
                            .start(conn.stream, read_ahead, &ctx.going_away, conn.config)
                            .await;
                    }
                }
            }
            if !keep_alive {
                break BatchEnd::Close;
            }
            if conn.backpressure() {
                break BatchEnd::Full;
            }
        };

        // 2. One write for the whole batch, under the send timeout.
        if conn.has_output() && conn.flush().await.is_err() {
            return;
        }
        match end {
            BatchEnd::Close => return conn.close_gracefully().await,
            // Sent: answer the pipelined requests still buffered before reading more.
            BatchEnd::Full => continue,
            BatchEnd::Read => {}
        }

        // 3. Read more, under the timeout of what we wait for.
        let Some(wait) = conn.begin_read() else {
            return;
        };
        let read = if wait.idle && conn.stream.parks() {
            conn.read_parked(wait).await
        } else {
            conn.read_timed(wait).await
        };
        conn.end_read(wait);
        match read {
            Ok(Ok(0)) | Ok(Err(_)) => return,
            Ok(Ok(_)) => {}
            Err(()) => return conn.time_out(wait).await,
        }
    }
}

/// A connection between the steps of [`serve`].
// Field order is drop order: the request lets go of the read buffer before the
// buffers go back to the pools, and the socket closes last.
struct Conn<'a, S, T> {
    /// One request value per connection, refilled by the parser for each head.
    req: HttpRequest,
    /// The requests that followed the first of a pipelined batch: the bytes read
    /// after it, frozen once, which its requests share (`req` holds a handle to
    /// them while answering, kept from one request to the next), so a request of
    /// the batch costs no `Bytes` of its own (`BytesMut::split_to` and the
    /// atomic increment and decrement of its handle: ~10% of the user CPU of
    /// HttpArena's pipelined profile in `perf`). Empty when no batch is open;
    /// while one is, the read buffer is empty (nothing is read before the batch
    /// is answered), and what is left of it when it ends goes back there.
    batch: Bytes,
    /// Where the next request starts in `batch`.
    at: usize,
    /// What hook middleware keeps from a request's `before` to its `after`.
    carries: middleware::Carries,
    /// Sized from the worker's recent traffic, from its buffer pools; given back
    /// (and the connection's traffic reported) when the connection ends.
    bufs: ConnBuffers<'a>,
    waiting: Waiting,
    /// Whether the request whose body is awaited was sent `100 Continue`.
    continue_sent: bool,
    stream: T,
    ctx: &'a WorkerCtx<S>,
    config: &'a ServerConfig,
    /// The read deadline's timer, which the send timeout borrows while writing
    /// (see [`SendTimeout`]).
    timer: Pin<&'a mut Sleep>,
    /// The connection's entry in the worker's registry, told when the connection
    /// waits idle (the worker may cull its longest-idle connections).
    guard: Option<&'a ConnHandle>,
}

/// What [`Conn::next_request`] found in the read buffer.
enum Next {
    /// A request, in `Conn::req`: whether its client asked to keep the connection
    /// open, and, for a body that streams to its route's handler as it arrives
    /// (only the head in `Conn::req`), the body's driver.
    Request {
        keep_alive: bool,
        streamed: Option<Box<BodyDriver>>,
    },
    /// Nothing more to answer until more bytes arrive.
    Wait,
    /// A request whose body is over the limit (its head in `Conn::req`): the app
    /// answers the rejection, then the connection closes with the body unread.
    TooLarge,
    /// Unanswerable (a malformed head or framing): an error response is encoded,
    /// the connection closes after it.
    Close,
}

/// Why a batch of answered requests ended.
#[derive(Clone, Copy)]
enum BatchEnd {
    /// The buffer holds no complete request: write, then read more.
    Read,
    /// The responses waiting to be written reached `max_pending_output`: write,
    /// then answer the requests still buffered.
    Full,
    /// The connection ends after this batch is written.
    Close,
}

/// What a read waits for ([`Conn::begin_read`]).
#[derive(Clone, Copy)]
struct Wait {
    /// Nothing buffered: an idle keep-alive connection.
    idle: bool,
    deadline: Instant,
}

impl<'a, S: Send + Sync + 'static, T: Io + 'static> Conn<'a, S, T> {
    /// Parses the next pipelined request off the front of the read buffer: its
    /// head and, once complete, its body. A body still arriving starts the body
    /// timeout (and gets `100 Continue` when the client asked for it).
    ///
    /// Out of line: inlined into [`serve`], the loop's code cost ~30 instructions a
    /// request more than before the split (spills, and `HttpRequest::release` left
    /// out of line), pipelined `/plaintext` 1349 -> 1325 in callgrind.
    #[inline(never)]
    fn next_request(&mut self) -> Next {
        if self.at < self.batch.len() {
            if let Some(next) = self.next_in_batch() {
                return next;
            }
        }
        if !self.batch.is_empty() {
            self.end_batch();
        }
        if self.bufs.rbuf.is_empty() {
            // Waiting for more: the last request's head lets go of the read buffer
            // (its allocation is then reused for the next read).
            self.req.release();
            return Next::Wait;
        }
        let head = match self
            .ctx
            .parser
            .parse_head(&self.bufs.rbuf, &mut self.req, 0)
        {
            Ok(head) => head,
            Err(e) if e.is_incomplete() => {
                if !matches!(self.waiting, Waiting::Head(_)) {
                    self.waiting = Waiting::Head(Instant::now());
                }
                self.req.release();
                return Next::Wait;
            }
            Err(e) => {
                error_response(&mut self.bufs.out, e.status(), Cow::Owned(e.to_string()));
                return Next::Close;
            }
        };
        let (bytes, body, streamed) =
            match body::frame(self.ctx, head, &self.req, &mut self.bufs.rbuf) {
                Framed::Complete(bytes, body) => (bytes, body, None),
                Framed::Stream(head_bytes, driver) => (head_bytes, Bytes::new(), Some(driver)),
                Framed::NeedMore => {
                    if !matches!(self.waiting, Waiting::Body(_)) {
                        self.waiting = Waiting::Body(Instant::now());
                    }
                    self.req.release();
                    if head.framing.expect_continue && !self.continue_sent {
                        // Earlier responses of this batch go first, then the interim one.
                        self.bufs.out.raw().extend_from_slice(CONTINUE);
                        self.continue_sent = true;
                    }
                    return Next::Wait;
                }
                Framed::TooLarge(head_bytes) => {
                    self.req.headers.buf = head_bytes;
                    self.req.body = Bytes::new();
                    return Next::TooLarge;
                }
                Framed::Error(status, msg) => {
                    error_response(&mut self.bufs.out, status, Cow::Borrowed(msg));
                    return Next::Close;
                }
            };
        self.waiting = Waiting::Idle;
        self.continue_sent = false;
        self.bufs.note_request(bytes.len());
        self.req.headers.buf = bytes;
        self.req.body = body;
        if streamed.is_none() && !self.bufs.rbuf.is_empty() {
            // More bytes follow (pipelining): the batch's other requests share them.
            self.batch = self.bufs.rbuf.split().freeze();
            self.at = 0;
        }
        Next::Request {
            keep_alive: head.framing.keep_alive,
            streamed,
        }
    }

    /// The next request of the open batch, when it is complete and needs nothing
    /// but its bytes: no body, or a buffered one already there under the
    /// server's limit. `None` for anything else (an incomplete head, a malformed
    /// one, a body still arriving, over the limit, chunked, or that a route may
    /// stream): the batch then ends, and the read buffer's path parses it again
    /// and answers it as the first request of a read.
    #[inline(always)]
    fn next_in_batch(&mut self) -> Option<Next> {
        let at = self.at;
        // Offsets into the batch are kept below `HeaderMap`'s bit for added headers.
        if at > MAX_BATCH_OFFSET {
            return None;
        }
        let buf = &self.batch[at..];
        let head = self
            .ctx
            .parser
            .parse_head(buf, &mut self.req, at as u32)
            .ok()?;
        let hl = head.head_len;
        let total = body::buffered_len(self.ctx, &head, buf.len())?;
        if total > hl {
            self.req.body = self.batch.slice(at + hl..at + total);
        }
        // `req` keeps its handle to the batch from one request to the next (only
        // middleware that let the whole request go make it take another).
        let held = &self.req.headers.buf;
        if held.as_ptr() != self.batch.as_ptr() || held.len() != self.batch.len() {
            self.req.headers.buf = self.batch.clone();
        }
        self.at = at + total;
        self.waiting = Waiting::Idle;
        self.continue_sent = false;
        self.bufs.note_request(total);
        Some(Next::Request {
            keep_alive: head.framing.keep_alive,
            streamed: None,
        })
    }

    /// Ends the open batch: the bytes not answered (part of a request, or one the
    /// batch's path leaves to the read buffer's) go back to the read buffer, and
    /// the batch's bytes are let go.
    #[cold]
    fn end_batch(&mut self) {
        let rest = &self.batch[self.at..];
        if !rest.is_empty() {
            // The read buffer is empty (frozen into the batch); its spare room is
            // usually enough, without an allocation.
            self.bufs.rbuf.extend_from_slice(rest);
        }
        self.req.release();
        self.batch = Bytes::new();
        self.at = 0;
    }

    /// Routes the request and starts its handler (inside its middleware); the
    /// future runs it and encodes its response into the output buffer, and gives
    /// what is left to send (a streamed body, an upgrade) and whether the
    /// connection stays open. `Err`: that, for a request answered without a
    /// handler (no route matched, no fallback).
    ///
    /// The response is encoded where the handler's future returns it: kept in a
    /// variable of the connection's future across an await, it was copied into
    /// that future's state (~400 bytes, 64 instructions a request in callgrind).
    /// A `poll_fn`, not an `async fn` (one state machine less on each request: with
    /// an `async fn`, `/json` behind three hook middleware measured +1.1% in
    /// callgrind), and without the answered case inside (its drop, left out of
    /// line, cost 19 instructions a request).
    #[inline(always)]
    fn dispatch(
        &mut self,
        wants_keep_alive: bool,
    ) -> Result<impl Future<Output = (Pending, bool)> + Unpin + use<'_, 'a, S, T>, (Pending, bool)>
    {
        let http10 = self.req.version == Version::Http10;
        let head_only = self.req.method == Method::Head;
        let ctx = self.ctx;
        // Checked after the handler: a shutdown that began meanwhile ends the
        // connection with this response, announced by `Connection: close`.
        let keep_alive = move || wants_keep_alive && !ctx.shutting_down.get();
        // Extractors take what they need: the request's hold on the read buffer
        // ends before the handler's await (but for what hook middleware's `after`s
        // may read: see `route`).
        let call = route::<_, false>(
            ctx,
            &mut self.req,
            &mut self.carries,
            &mut self.bufs.futures,
        );
        let out = &mut self.bufs.out;
        let mut encode = move |resp: &mut Response| {
            let keep_alive = keep_alive();
            (out.encode(resp, keep_alive, http10, head_only), keep_alive)
        };
        match call {
            Ok(mut call) => Ok(std::future::poll_fn(move |cx| {
                call.poll_with(cx, &mut encode)
            })),
            Err(mut resp) => Err(encode(&mut resp)),
        }
    }

    /// [`Self::dispatch`] for a request whose body streams to its handler (see
    /// [`body::respond`]). `None`: the connection failed and ends.
    fn dispatch_streamed(
        &mut self,
        wants_keep_alive: bool,
        driver: Box<BodyDriver>,
    ) -> impl Future<Output = Option<(Pending, bool)>> + use<'_, 'a, S, T> {
        let ctx = self.ctx;
        body::respond(
            ctx,
            &mut self.stream,
            self.timer.as_mut(),
            &mut self.req,
            &mut self.carries,
            &mut self.bufs,
            driver,
            move || wants_keep_alive && !ctx.shutting_down.get(),
        )
    }

    /// A request whose body is over the limit, refused (see [`refuse`]) under the
    /// send timeout.
    #[cold]
    async fn refuse_too_large(&mut self) -> std::io::Result<()> {
        let mut w = SendTimeout::new(&mut self.stream, self.timer.as_mut(), self.config);
        refuse(self.ctx, &mut w, &mut self.req, &mut self.bufs).await
    }

    /// Sends a streamed body: the responses encoded before it first, then the
    /// stream, all under the send timeout.
    async fn send_streamed(
        &mut self,
        body: crate::http::BodyStream,
        framing: BodyFraming,
    ) -> std::io::Result<()> {
        self.bufs.note_batch();
        let mut w = SendTimeout::new(&mut self.stream, self.timer.as_mut(), self.config);
        self.bufs.out.flush(&mut w).await?;
        send_stream(&mut w, body, framing).await
    }

    /// The connection leaves HTTP (its responses flushed): what is buffered past
    /// the upgrade's request belongs to the new protocol (returned), the buffers
    /// go back to the pools.
    #[cold]
    fn hand_over(&mut self) -> Bytes {
        if !self.batch.is_empty() {
            self.end_batch();
        }
        let read_ahead = self.bufs.rbuf.split().freeze();
        self.bufs.give_back();
        read_ahead
    }

    /// Backpressure: whether the responses waiting to be written reached
    /// `max_pending_output`, so that they are written before any more request is
    /// answered. A client that pipelines and does not read holds at most that much.
    #[inline(always)]
    fn backpressure(&self) -> bool {
        self.bufs.out.pending_len() >= self.config.max_pending_output
    }

    /// Whether responses wait to be written.
    #[inline(always)]
    fn has_output(&self) -> bool {
        !self.bufs.out.is_empty()
    }

    /// Writes what the output buffer holds, under the send timeout.
    async fn flush(&mut self) -> std::io::Result<()> {
        self.bufs.note_batch();
        let mut w = SendTimeout::new(&mut self.stream, self.timer.as_mut(), self.config);
        self.bufs.out.flush(&mut w).await
    }

    /// Ends the connection after its last response: shuts the write side down,
    /// then lingers briefly (see [`linger_close`]).
    #[cold]
    async fn close_gracefully(&mut self) {
        let mut w = SendTimeout::new(&mut self.stream, self.timer.as_mut(), self.config);
        let _ = w.shutdown().await;
        linger_close(&mut self.stream).await;
    }

    /// Before a read: what it waits for and until when; room in the read buffer;
    /// an idle connection marked so in the registry. `None`: the connection is idle
    /// and the worker is shutting down, so it ends here.
    #[inline(always)]
    fn begin_read(&mut self) -> Option<Wait> {
        let idle = self.bufs.rbuf.is_empty() && self.waiting == Waiting::Idle;
        if idle && self.ctx.shutting_down.get() {
            return None;
        }
        let deadline = match self.waiting {
            // Adaptive: shorter as the worker fills up (connection_manager).
            Waiting::Idle => Instant::now() + self.ctx.manager.keep_alive_timeout(),
            Waiting::Head(since) => since + self.config.head_timeout,
            Waiting::Body(since) => since + self.config.body_timeout,
        };
        self.bufs.make_room();
        if idle {
            if let Some(g) = self.guard {
                g.enter_idle();
            }
        }
        // The timer only ever moves earlier here; a later deadline (the usual case:
        // each request pushes the keep-alive deadline out) is applied lazily when the
        // timer fires. So a busy connection touches the timer wheel about once per
        // timeout period, not once per request.
        if deadline < self.timer.deadline() {
            self.timer.as_mut().reset(deadline);
        }
        Some(Wait { idle, deadline })
    }

    /// The read of an idle connection whose transport can wait without its
    /// buffers (see [`read_parked`]).
    #[inline(always)]
    fn read_parked(
        &mut self,
        wait: Wait,
    ) -> impl Future<Output = Result<std::io::Result<usize>, ()>> + use<'_, 'a, S, T> {
        read_parked(
            &mut self.stream,
            &mut self.bufs,
            self.timer.as_mut(),
            wait.deadline,
        )
    }

    /// Reads into the read buffer until bytes arrive or `wait.deadline` passes
    /// (`Err`).
    async fn read_timed(&mut self, wait: Wait) -> Result<std::io::Result<usize>, ()> {
        loop {
            tokio::select! {
                biased;
                r = self.stream.read_buf(&mut self.bufs.rbuf) => break Ok(r),
                () = &mut self.timer => {
                    if Instant::now() >= wait.deadline {
                        break Err(());
                    }
                    self.timer.as_mut().reset(wait.deadline);
                }
            }
        }
    }

    /// After a read: an idle connection is no longer marked so.
    #[inline(always)]
    fn end_read(&self, wait: Wait) {
        if wait.idle {
            if let Some(g) = self.guard {
                g.leave_idle();
            }
        }
    }

    /// The read's deadline passed: an idle connection just closes; one in the
    /// middle of a request is answered `408` first.
    #[cold]
    async fn time_out(&mut self, wait: Wait) {
        if wait.idle {
            return;
        }
        error_response(
            &mut self.bufs.out,
            StatusCode::REQUEST_TIMEOUT,
            Cow::Borrowed("request timed out"),
        );
        let mut w = SendTimeout::new(&mut self.stream, self.timer.as_mut(), self.config);
        let _ = self.bufs.out.flush(&mut w).await;
    }
}

/// The idle wait without buffers (see [`Io`]): park the buffers, wait for
/// readiness under the keep-alive timer, then take buffers and read what came.
async fn read_parked<T: Io>(
    stream: &mut T,
    bufs: &mut crate::connection_manager::buffers::ConnBuffers<'_>,
    mut timer: std::pin::Pin<&mut tokio::time::Sleep>,
    deadline: Instant,
) -> Result<std::io::Result<usize>, ()> {
    use std::future::poll_fn;
    loop {
        bufs.park();
        let ready = loop {
            tokio::select! {
                biased;
                r = poll_fn(|cx| stream.poll_read_ready(cx)) => break r,
                () = &mut timer => {
                    if Instant::now() >= deadline {
                        return Err(());
                    }
                    timer.as_mut().reset(deadline);
                }
            }
        };
        if let Err(e) = ready {
            return Ok(Err(e));
        }
        bufs.unpark();
        bufs.make_room();
        // One poll of a plain read, not `try_read_buf`: tokio's `poll_read` clears
        // the socket's readiness after a short read, so the next idle wait parks
        // at once instead of finding the readiness stale and paying an `EAGAIN`
        // recv (strace on /json: 1.96 recvfrom per request with `try_read_buf`).
        let polled = {
            let mut read = std::pin::pin!(stream.read_buf(&mut bufs.rbuf));
            poll_fn(|cx| std::task::Poll::Ready(std::future::Future::poll(read.as_mut(), cx))).await
        };
        match polled {
            std::task::Poll::Ready(r) => return Ok(r),
            // The readiness was stale (tokio cleared it on the EAGAIN): park again.
            std::task::Poll::Pending => continue,
        }
    }
}

/// A request whose body is over the limit, refused before its handler could run:
/// the app's answer to the rejection ([`App::rejection`](crate::App::rejection)),
/// encoded with `Connection: close`, through the middleware of the route the request
/// matched (the app-wide middleware when it matched none), as `route` runs a
/// handler's response.
#[cold]
async fn refuse<S: Send + Sync + 'static, W: AsyncWrite + Unpin>(
    ctx: &WorkerCtx<S>,
    stream: &mut W,
    req: &mut HttpRequest,
    bufs: &mut crate::connection_manager::buffers::ConnBuffers<'_>,
) -> std::io::Result<()> {
    let http10 = req.version == Version::Http10;
    let head_only = req.method == Method::Head;
    let answer = Caught::new(|| route_refused(ctx, req, Rejection::body_too_large()));
    req.release();
    let mut resp = answer.await;
    // A body a middleware made a stream is sent; a refused request is not upgraded.
    if let Pending::More(more) = bufs.out.encode(&mut resp, false, http10, head_only) {
        if let More::Stream(body, framing) = *more {
            bufs.note_batch();
            bufs.out.flush(stream).await?;
            send_stream(stream, body, framing).await?;
        }
    }
    Ok(())
}

fn error_response(out: &mut OutBuffer, status: StatusCode, msg: Cow<'static, str>) {
    let _ = out.encode(&mut Response::text(status, msg), false, false, false);
}

/// Sends a streamed body: as chunks then the last chunk; as raw bytes that the
/// connection's close delimits (`Close`, for HTTP/1.0); or as exactly the announced
/// `Content-Length` of raw bytes (`Length`: a stream that yields fewer or more is an
/// error, and the connection closes).
async fn send_stream<W: AsyncWrite + Unpin>(
    stream: &mut W,
    mut body: crate::http::BodyStream,
    framing: BodyFraming,
) -> std::io::Result<()> {
    use std::future::poll_fn;
    let chunked = framing == BodyFraming::Chunked;
    let mut left = match framing {
        BodyFraming::Length(n) => Some(n),
        _ => None,
    };
    let mut frame = Vec::with_capacity(64);
    loop {
        let item = poll_fn(|cx| body.as_mut().poll_next(cx)).await;
        match item {
            Some(Ok(chunk)) if chunk.is_empty() => continue,
            Some(Ok(chunk)) if !chunked => {
                if let Some(left) = &mut left {
                    *left = left
                        .checked_sub(chunk.len())
                        .ok_or_else(|| std::io::Error::other("body longer than its length"))?;
                }
                stream.write_all(&chunk).await?
            }
            Some(Ok(chunk)) => {
                frame.clear();
                frame.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
                let slices = [
                    std::io::IoSlice::new(&frame),
                    std::io::IoSlice::new(&chunk),
                    std::io::IoSlice::new(b"\r\n"),
                ];
                let total = frame.len() + chunk.len() + 2;
                let n = stream.write_vectored(&slices).await?;
                if n < total {
                    // Rare partial write: send the rest plainly.
                    let mut all = Vec::with_capacity(total);
                    all.extend_from_slice(&frame);
                    all.extend_from_slice(&chunk);
                    all.extend_from_slice(b"\r\n");
                    stream.write_all(&all[n..]).await?;
                }
            }
            Some(Err(_)) => {
                // The body failed midway: the framing cannot be completed, so close.
                return Err(std::io::Error::other("response body stream failed"));
            }
            None if !chunked => {
                return match left {
                    Some(n) if n > 0 => Err(std::io::Error::other("body shorter than its length")),
                    _ => Ok(()),
                }
            }
            None => return stream.write_all(b"0\r\n\r\n").await,
        }
    }
}

/// After an error response, read (and discard) briefly so the peer sees the
/// response rather than a reset caused by unread request bytes.
async fn linger_close<T: Io>(stream: &mut T) {
    // On the heap: an array here would be part of every connection's future.
    let mut sink = vec![0u8; 4096];
    let deadline = Instant::now() + Duration::from_millis(200);
    while let Ok(Ok(n)) = tokio::time::timeout_at(deadline, stream.read(&mut sink)).await {
        if n == 0 {
            break;
        }
    }
}
