//! The connection loop: read, parse every complete request in the buffer
//! (pipelining), run the handlers in order, encode all responses into one buffer
//! and write the batch at once. Keep-alive, limits, timeouts and draining live here.

use std::borrow::Cow;
use std::rc::Rc;
use std::time::Duration;

use bytes::Bytes;
use tokio::io::{AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::time::Instant;

use super::body::{self, Framed};
use super::dispatch::{route, route_refused, Caught};
use super::send_timeout::SendTimeout;
use super::shared::WorkerCtx;
use crate::connection_manager::ConnHandle;
use crate::extract::Rejection;
use crate::http::request::Version;
use crate::http::{HttpRequest, Method, StatusCode};
use crate::middleware;
use crate::proto::encode::{BodyFraming, More, OutBuffer, Pending};
use crate::response::Response;
pub(crate) use crate::rt::io::Io;

const CONTINUE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";

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

pub(crate) async fn serve<S: Send + Sync + 'static, T: Io + 'static>(
    mut stream: T,
    ctx: Rc<WorkerCtx<S>>,
    guard: Option<ConnHandle>,
) {
    // Sized from the worker's recent traffic, from its buffer pools; given back
    // (and the connection's traffic reported) when this function returns.
    let mut bufs = ctx.manager.buffers();
    let mut waiting = Waiting::Idle;
    // One request value per connection, refilled by the parser for each head.
    let mut req = HttpRequest::empty();
    // What hook middleware keeps from a request's `before` to its `after`.
    let mut carries = middleware::Carries::new();
    let mut continue_sent = false;
    let config = &ctx.shared.config;
    let timer = tokio::time::sleep(ctx.manager.keep_alive_timeout());
    tokio::pin!(timer);

    loop {
        // 1. Answer every complete request already buffered, until the responses
        //    waiting to be written reach `max_pending_output` (backpressure: a
        //    client that pipelines and does not read holds at most that much).
        let mut close = false;
        let mut full = false;
        while !bufs.rbuf.is_empty() {
            let head = match ctx.parser.parse_head(&bufs.rbuf, &mut req) {
                Ok(head) => head,
                Err(e) if e.is_incomplete() => {
                    if !matches!(waiting, Waiting::Head(_)) {
                        waiting = Waiting::Head(Instant::now());
                    }
                    break;
                }
                Err(e) => {
                    error_response(&mut bufs.out, e.status(), Cow::Owned(e.to_string()));
                    close = true;
                    break;
                }
            };
            let framed = match body::frame(&ctx, head, &req, &mut bufs.rbuf) {
                Framed::Complete(bytes, body) => (bytes, body, None),
                Framed::Stream(head_bytes, driver) => (head_bytes, Bytes::new(), Some(driver)),
                Framed::NeedMore => {
                    if !matches!(waiting, Waiting::Body(_)) {
                        waiting = Waiting::Body(Instant::now());
                    }
                    if head.framing.expect_continue && !continue_sent {
                        // Earlier responses of this batch go first, then the interim one.
                        bufs.out.raw().extend_from_slice(CONTINUE);
                        continue_sent = true;
                    }
                    break;
                }
                Framed::TooLarge(head_bytes) => {
                    // The app answers (through the middleware of the route the request
                    // matched), then the connection closes: the body stays unread.
                    // Boxed: this future's state stays as it was for the requests
                    // answered (unboxed, /json measured ~2 instructions a request more).
                    req.headers.buf = head_bytes;
                    req.body = Bytes::new();
                    let mut w = SendTimeout::new(&mut stream, timer.as_mut(), config);
                    if Box::pin(refuse(&ctx, &mut w, &mut req, &mut bufs))
                        .await
                        .is_err()
                    {
                        return;
                    }
                    close = true;
                    break;
                }
                Framed::Error(status, msg) => {
                    error_response(&mut bufs.out, status, Cow::Borrowed(msg));
                    close = true;
                    break;
                }
            };
            waiting = Waiting::Idle;
            continue_sent = false;

            let http10 = req.version == Version::Http10;
            let head_only = req.method == Method::Head;
            let wants_keep_alive = head.framing.keep_alive;
            let (bytes, body, streamed) = framed;
            bufs.note_request(bytes.len());
            req.headers.buf = bytes;
            req.body = body;

            // Checked after the handler: a shutdown that began meanwhile ends the
            // connection with this response, announced by `Connection: close`.
            let keep_alive = || wants_keep_alive && !ctx.shutting_down.get();
            // The response is encoded where the handler's future returns it: kept in
            // a variable of this function across the awaits below, it was copied
            // into this future's state (~400 bytes, 64 instructions a request in
            // callgrind). In a block: what `call` borrows (the connection's future
            // slot among it) is free again after it.
            let (pending, keep_alive) = if let Some(driver) = streamed {
                // The body streams to the handler (boxed: see `refuse`).
                let timer = timer.as_mut();
                let respond = body::respond(
                    &ctx,
                    &mut stream,
                    timer,
                    &mut req,
                    &mut carries,
                    &mut bufs,
                    driver,
                    keep_alive,
                );
                match Box::pin(respond).await {
                    Some(answered) => answered,
                    None => return,
                }
            } else {
                let call = route(&ctx, &mut req, &mut carries, &mut bufs.futures);
                // Extractors have taken what they need: the request's hold on the read
                // buffer ends before the handler's await.
                req.release();
                let out = &mut bufs.out;
                let mut encode = |resp: &mut Response| {
                    let keep_alive = keep_alive();
                    (out.encode(resp, keep_alive, http10, head_only), keep_alive)
                };
                match call {
                    Ok(mut call) => {
                        std::future::poll_fn(|cx| call.poll_with(cx, &mut encode)).await
                    }
                    Err(mut resp) => encode(&mut resp),
                }
            };
            match pending {
                Pending::Done => {}
                Pending::More(more) => match *more {
                    More::Stream(body, framing) => {
                        bufs.note_batch();
                        let mut w = SendTimeout::new(&mut stream, timer.as_mut(), config);
                        if bufs.out.flush(&mut w).await.is_err()
                            || send_stream(&mut w, body, framing).await.is_err()
                        {
                            return;
                        }
                        if framing == BodyFraming::Close {
                            // The body was delimited by the close (no transfer coding on 1.0).
                            close = true;
                            break;
                        }
                    }
                    More::Upgrade(upgrade) => {
                        // The connection leaves HTTP: what is buffered past this request
                        // belongs to the new protocol, the buffers go back to the pool.
                        bufs.note_batch();
                        let mut w = SendTimeout::new(&mut stream, timer.as_mut(), config);
                        if bufs.out.flush(&mut w).await.is_err() {
                            return;
                        }
                        let read_ahead = bufs.rbuf.split().freeze();
                        bufs.give_back();
                        return upgrade
                            .start(stream, read_ahead, &ctx.going_away, config)
                            .await;
                    }
                },
            }
            if !keep_alive {
                close = true;
                break;
            }
            if bufs.out.pending_len() >= config.max_pending_output {
                full = true;
                break;
            }
        }

        // 2. One write for the whole batch, under the send timeout.
        if !bufs.out.is_empty() {
            bufs.note_batch();
            let mut w = SendTimeout::new(&mut stream, timer.as_mut(), config);
            if bufs.out.flush(&mut w).await.is_err() {
                return;
            }
        }
        if close {
            let mut w = SendTimeout::new(&mut stream, timer.as_mut(), config);
            let _ = w.shutdown().await;
            linger_close(&mut stream).await;
            return;
        }
        if full {
            // Sent: answer the pipelined requests still buffered before reading more.
            continue;
        }

        // 3. Read more, under the timeout of what we wait for.
        let idle = bufs.rbuf.is_empty() && waiting == Waiting::Idle;
        if idle && ctx.shutting_down.get() {
            return;
        }
        let deadline = match waiting {
            // Adaptive: shorter as the worker fills up (connection_manager).
            Waiting::Idle => Instant::now() + ctx.manager.keep_alive_timeout(),
            Waiting::Head(since) => since + config.head_timeout,
            Waiting::Body(since) => since + config.body_timeout,
        };
        bufs.make_room();
        if idle {
            if let Some(g) = &guard {
                g.enter_idle();
            }
        }
        // The timer only ever moves earlier here; a later deadline (the usual case:
        // each request pushes the keep-alive deadline out) is applied lazily when the
        // timer fires. So a busy connection touches the timer wheel about once per
        // timeout period, not once per request.
        if deadline < timer.deadline() {
            timer.as_mut().reset(deadline);
        }
        let read = if idle && stream.parks() {
            read_parked(&mut stream, &mut bufs, timer.as_mut(), deadline).await
        } else {
            loop {
                tokio::select! {
                    biased;
                    r = stream.read_buf(&mut bufs.rbuf) => break Ok(r),
                    () = &mut timer => {
                        if Instant::now() >= deadline {
                            break Err(());
                        }
                        timer.as_mut().reset(deadline);
                    }
                }
            }
        };
        if idle {
            if let Some(g) = &guard {
                g.leave_idle();
            }
        }
        match read {
            Ok(Ok(0)) | Ok(Err(_)) => return,
            Ok(Ok(_)) => {}
            Err(()) => {
                if !idle {
                    error_response(
                        &mut bufs.out,
                        StatusCode::REQUEST_TIMEOUT,
                        Cow::Borrowed("request timed out"),
                    );
                    let mut w = SendTimeout::new(&mut stream, timer.as_mut(), config);
                    let _ = bufs.out.flush(&mut w).await;
                }
                return;
            }
        }
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
