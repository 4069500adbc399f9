//! The per-worker table: which worker this thread is ([`WorkerInfo`]) and the
//! values its factories built, by type, kept in a thread-local of the worker thread
//! (so they need not be `Send`) until the worker stops. The factories themselves
//! are the server's (`server/worker_state.rs`); extractors read the table here.

use std::any::{Any, TypeId};
use std::cell::{Cell, RefCell};
use std::rc::Rc;

/// Which worker a factory is building for.
///
/// ```
/// # fn info(w: armature_core::WorkerInfo) {
/// assert!(w.index() < w.count());
/// # }
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct WorkerInfo {
    index: usize,
    count: usize,
}

impl WorkerInfo {
    pub(crate) fn new(index: usize, count: usize) -> Self {
        WorkerInfo { index, count }
    }

    /// This worker's number, from 0.
    pub fn index(&self) -> usize {
        self.index
    }

    /// How many workers the server runs
    /// ([`ServerConfig::workers`](crate::ServerConfig::workers)).
    pub fn count(&self) -> usize {
        self.count
    }
}

thread_local! {
    /// The current worker's values, by type. Empty on threads that are not workers
    /// and on workers of apps without factories.
    static CURRENT: RefCell<Vec<(TypeId, Rc<dyn Any>)>> = const { RefCell::new(Vec::new()) };

    /// The current worker's index; `usize::MAX` on threads that are not workers.
    static WORKER: Cell<usize> = const { Cell::new(usize::MAX) };
}

/// Installs `values` as the table of worker `index`; they stay until the guard is
/// dropped.
pub(crate) fn install(values: Vec<(TypeId, Rc<dyn Any>)>, index: usize) -> Installed {
    CURRENT.with(|c| *c.borrow_mut() = values);
    WORKER.set(index);
    Installed(())
}

/// The index of the worker this thread runs ([`WorkerInfo::index`]), or `usize::MAX`
/// on a thread that is not a worker (an in-memory test server, say). A thread-local
/// read: per-worker tables (the metrics middleware's) are indexed by it.
#[inline]
pub(crate) fn worker_index() -> usize {
    WORKER.get()
}

/// Keeps this worker's values installed; dropping it drops them (on this thread).
pub(crate) struct Installed(());

impl Drop for Installed {
    fn drop(&mut self) {
        // Taken out first: a value's `Drop` may itself look the table up.
        let values = CURRENT.with(|c| std::mem::take(&mut *c.borrow_mut()));
        drop(values);
        WORKER.set(usize::MAX);
    }
}

/// This worker's value of type `T`, if a factory for `T` was registered.
#[inline]
pub(crate) fn get<T: 'static>() -> Option<Rc<T>> {
    CURRENT.with(|c| {
        let values = c.borrow();
        let (_, value) = values.iter().find(|(id, _)| *id == TypeId::of::<T>())?;
        value.clone().downcast::<T>().ok()
    })
}
