//! `WorkerState<T>`: the extractor for a value built on each worker by
//! [`App::worker_state`](crate::App::worker_state).

use std::fmt;
use std::ops::Deref;
use std::rc::Rc;
use std::sync::Arc;

use super::{FromRequest, Rejection, RejectionKind};
use crate::http::{HttpRequest, StatusCode};

/// The value of type `T` that this worker's factory built
/// ([`App::worker_state`](crate::App::worker_state) or
/// [`App::worker_state_sync`](crate::App::worker_state_sync)).
///
/// It holds an `Rc<T>` and derefs to `T`: cloning it is cheap, and `T` need not be
/// `Send` or `Sync` (wrap what changes in a `RefCell` or `Cell`). When no factory for
/// `T` was registered, the request is answered `500` with a text naming `T`.
///
/// ```
/// use std::cell::Cell;
/// use armature_core::extract::WorkerState;
///
/// // Counts the requests its worker served.
/// async fn hits(counter: WorkerState<Cell<u64>>) -> String {
///     counter.set(counter.get() + 1);
///     counter.get().to_string()
/// }
/// let app = armature_core::App::new()
///     .worker_state_sync(|_| Ok::<_, std::convert::Infallible>(Cell::new(0u64)))
///     .get("/hits", hits);
/// # drop(app);
/// ```
pub struct WorkerState<T>(pub Rc<T>);

impl<T> Clone for WorkerState<T> {
    fn clone(&self) -> Self {
        WorkerState(self.0.clone())
    }
}

impl<T> Deref for WorkerState<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: fmt::Debug> fmt::Debug for WorkerState<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("WorkerState").field(&*self.0).finish()
    }
}

impl<S, T: 'static> FromRequest<S> for WorkerState<T> {
    #[inline]
    fn from_request(_: &HttpRequest, _: &Arc<S>) -> Result<Self, Rejection> {
        match crate::rt::worker_state::get::<T>() {
            Some(value) => Ok(WorkerState(value)),
            None => Err(unregistered::<T>()),
        }
    }
}

#[cold]
fn unregistered<T>() -> Rejection {
    let name = std::any::type_name::<T>();
    Rejection::of(
        RejectionKind::WorkerState,
        StatusCode::INTERNAL_SERVER_ERROR,
        format!(
            "no WorkerState<{name}> on this worker: call App::worker_state (or \
             App::worker_state_sync) with a factory that builds a {name}"
        ),
    )
}
