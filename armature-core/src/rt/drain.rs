//! `Draining`: one worker's "draining has begun" signal.

use std::cell::Cell;

use tokio::sync::Notify;

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
