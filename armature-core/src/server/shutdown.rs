//! `ShutdownHandle`: asks every worker to stop accepting and drain.

use std::cell::Cell;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use tokio::sync::Notify;

/// Stops a server gracefully. Cheap to clone; usable from any thread.
#[derive(Clone, Debug, Default)]
pub struct ShutdownHandle {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    requested: AtomicBool,
    notify: Notify,
}

impl ShutdownHandle {
    pub(crate) fn new() -> Self {
        ShutdownHandle::default()
    }

    /// Asks the server to stop: listeners close at once, in-flight requests finish.
    pub fn shutdown(&self) {
        self.inner.requested.store(true, Ordering::SeqCst);
        self.inner.notify.notify_waiters();
    }

    /// Whether shutdown was asked for.
    pub fn is_shutdown(&self) -> bool {
        self.inner.requested.load(Ordering::SeqCst)
    }

    /// Resolves once shutdown is asked for.
    pub(crate) async fn wait(&self) {
        loop {
            let notified = self.inner.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.is_shutdown() {
                return;
            }
            notified.await;
        }
    }
}

/// One worker's "draining has begun", for connections that have left HTTP
/// (WebSocket): they are not idle, so closing idle connections does not reach them;
/// they wait on this and end themselves with a close frame.
#[derive(Debug, Default)]
pub(crate) struct Draining {
    fired: Cell<bool>,
    notify: Notify,
}

impl Draining {
    /// Marks the worker as draining and wakes every waiter.
    pub fn fire(&self) {
        self.fired.set(true);
        self.notify.notify_waiters();
    }

    /// Whether draining has begun.
    pub fn is_fired(&self) -> bool {
        self.fired.get()
    }

    /// Resolves once draining has begun (at once if it has).
    pub async fn wait(&self) {
        // Single-threaded: nothing runs between the check and the `Notified`'s
        // creation, and a `Notified` sees every `notify_waiters` after its creation.
        while !self.fired.get() {
            self.notify.notified().await;
        }
    }
}
