//! A request body that is still arriving: the hand-off between the connection,
//! which reads and decodes it, and the extractor a handler reads it through
//! ([`StreamingBody`](crate::extract::StreamingBody)), one chunk at a time.
//!
//! Backpressure: the connection reads the socket only while the consumer waits
//! for a chunk, and holds at most one decoded chunk for it.

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use bytes::Bytes;

use super::StatusCode;

/// Why a streamed request body could not be read to its end. The request is
/// answered with [`status`](BodyError::status) (`400`, `408` or `413`) when the
/// handler returns the error, and the connection closes after the response: the
/// body's framing is lost.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BodyError {
    kind: BodyErrorKind,
}

/// Which [`BodyError`] it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum BodyErrorKind {
    /// The client closed the connection (or it failed) before the body ended: `400`.
    Incomplete,
    /// No byte of the body arrived for
    /// [`body_timeout`](crate::ServerConfig::body_timeout): `408`.
    TimedOut,
    /// Broken `chunked` framing: `400`.
    Malformed(&'static str),
    /// More bytes than the route's body limit: `413`.
    TooLarge,
}

impl BodyError {
    pub(crate) fn new(kind: BodyErrorKind) -> Self {
        BodyError { kind }
    }

    /// Which error it is.
    pub fn kind(&self) -> BodyErrorKind {
        self.kind
    }

    /// The status the request is answered with.
    pub fn status(&self) -> StatusCode {
        match self.kind {
            BodyErrorKind::TimedOut => StatusCode::REQUEST_TIMEOUT,
            BodyErrorKind::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            BodyErrorKind::Incomplete | BodyErrorKind::Malformed(_) => StatusCode::BAD_REQUEST,
        }
    }
}

impl fmt::Display for BodyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            BodyErrorKind::Incomplete => f.write_str("the request body ended early"),
            BodyErrorKind::TimedOut => f.write_str("the request body timed out"),
            BodyErrorKind::Malformed(what) => write!(f, "malformed request body: {what}"),
            BodyErrorKind::TooLarge => f.write_str("the request body is too large"),
        }
    }
}

impl std::error::Error for BodyError {}

/// One streamed body, shared by the connection (producer) and the extractor
/// (consumer). An `Arc<Mutex>`, not an `Rc<RefCell>`: `HttpRequest` is `Send`, and
/// the lock is taken about once per read buffer's worth of body, never on a request
/// without a streamed body.
#[derive(Clone)]
pub(crate) struct Incoming(Arc<Mutex<Slot>>);

#[derive(Default)]
struct Slot {
    /// Decoded, not yet taken by the consumer.
    chunk: Option<Bytes>,
    /// How the body ended, once it did (an error is given to the consumer once).
    end: Option<Result<(), BodyError>>,
    /// The consumer waits for a chunk (set by its poll, cleared by a delivery).
    want: bool,
    /// The consumer let go of the body: nothing more will be asked for.
    dropped: bool,
    consumer: Option<Waker>,
    producer: Option<Waker>,
}

impl fmt::Debug for Incoming {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Incoming")
    }
}

impl Incoming {
    pub(crate) fn new() -> Self {
        Incoming(Arc::default())
    }

    fn lock(&self) -> MutexGuard<'_, Slot> {
        // A panic while holding it leaves plain data: go on with it.
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    // --- consumer side ---

    /// The next chunk, `None` at the end, the error once if the body failed.
    pub(crate) fn poll_chunk(
        &self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, BodyError>>> {
        let mut slot = self.lock();
        if let Some(chunk) = slot.chunk.take() {
            return Poll::Ready(Some(Ok(chunk)));
        }
        match &mut slot.end {
            Some(Ok(())) => return Poll::Ready(None),
            Some(end @ Err(_)) => {
                let e = std::mem::replace(end, Ok(()));
                return Poll::Ready(Some(e.map(|()| Bytes::new())));
            }
            None => {}
        }
        slot.want = true;
        if !slot
            .consumer
            .as_ref()
            .is_some_and(|w| w.will_wake(cx.waker()))
        {
            slot.consumer = Some(cx.waker().clone());
        }
        // The producer runs in the task that polls the handler; when the consumer
        // lives in another task, that one must be woken to read.
        if let Some(p) = &slot.producer {
            if !p.will_wake(cx.waker()) {
                p.wake_by_ref();
            }
        }
        Poll::Pending
    }

    /// The consumer is gone (the extractor was dropped).
    pub(crate) fn drop_consumer(&self) {
        let mut slot = self.lock();
        slot.dropped = true;
        slot.want = false;
        slot.chunk = None;
        if let Some(p) = slot.producer.take() {
            p.wake();
        }
    }

    // --- producer side ---

    /// Whether the consumer waits for a chunk that has not been produced yet; when
    /// not, the producer's waker is kept, to be woken when it does.
    pub(crate) fn wants(&self, cx: &mut Context<'_>) -> bool {
        let mut slot = self.lock();
        let wants = slot.want && slot.chunk.is_none() && slot.end.is_none();
        if !wants
            && !slot.dropped
            && slot.end.is_none()
            && !slot
                .producer
                .as_ref()
                .is_some_and(|w| w.will_wake(cx.waker()))
        {
            slot.producer = Some(cx.waker().clone());
        }
        wants
    }

    /// Hands a chunk (possibly with the end right after it) to the consumer and
    /// wakes it unless it is the task at `cx` (which polls it next anyway).
    pub(crate) fn deliver(
        &self,
        chunk: Option<Bytes>,
        end: Option<Result<(), BodyError>>,
        cx: &Context<'_>,
    ) {
        let mut slot = self.lock();
        if let Some(chunk) = chunk {
            slot.chunk = Some(chunk);
        }
        if end.is_some() {
            slot.end = end;
        }
        slot.want = false;
        if let Some(w) = slot.consumer.take() {
            if !w.will_wake(cx.waker()) {
                w.wake();
            }
        }
    }

    /// Ends the body for a consumer that is still there after its handler returned
    /// (kept past the response, it sees the body fail rather than wait forever).
    pub(crate) fn abandon(&self) {
        let mut slot = self.lock();
        if slot.end.is_none() {
            slot.end = Some(Err(BodyError::new(BodyErrorKind::Incomplete)));
        }
        slot.producer = None;
        if let Some(w) = slot.consumer.take() {
            w.wake();
        }
    }
}
