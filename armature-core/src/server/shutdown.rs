//! `ShutdownHandle`: asks every worker to stop accepting and drain.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use tokio::sync::Notify;

pub(crate) use crate::rt::drain::Draining;

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
