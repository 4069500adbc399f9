//! Per-worker state: the app's factories for values built once on each worker by factories the app gives
//! ([`App::worker_state`](crate::App::worker_state)), kept on that worker's thread and
//! reached by handlers through [`WorkerState`](crate::extract::WorkerState).
//!
//! Each worker runs its factories on its own runtime before the server listens; the
//! values it builds live in a thread-local table of that worker thread (so they need
//! not be `Send`) until the worker stops, and are dropped there, on its runtime.

use std::any::{Any, TypeId};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

use crate::error::Error;
use crate::rt::worker_state::install;
pub(crate) use crate::rt::worker_state::{Installed, WorkerInfo};

/// A factory's error, before it is wrapped into [`Error`].
pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// What a factory's future gives back once its value is type-erased.
type Built = Pin<Box<dyn Future<Output = Result<Rc<dyn Any>, BoxError>>>>;

/// One registered factory, its output type erased.
struct Factory {
    type_id: TypeId,
    type_name: &'static str,
    build: Box<dyn Fn(WorkerInfo) -> Built + Send + Sync>,
}

/// The app's factories, one per type (a later one for the same type replaces the
/// earlier), run in the order they were first registered.
#[derive(Default)]
pub(crate) struct Factories(Vec<Factory>);

impl Factories {
    /// Registers `factory` for `T`, replacing an earlier one for the same `T`.
    pub fn insert<T, E, F, Fut>(&mut self, factory: F)
    where
        T: 'static,
        E: Into<BoxError>,
        F: Fn(WorkerInfo) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<T, E>> + 'static,
    {
        let entry = Factory {
            type_id: TypeId::of::<T>(),
            type_name: std::any::type_name::<T>(),
            build: Box::new(move |info| {
                let fut = factory(info);
                Box::pin(async move {
                    match fut.await {
                        Ok(value) => Ok(Rc::new(value) as Rc<dyn Any>),
                        Err(e) => Err(e.into()),
                    }
                })
            }),
        };
        match self.0.iter_mut().find(|f| f.type_id == entry.type_id) {
            Some(slot) => *slot = entry,
            None => self.0.push(entry),
        }
    }

    /// Runs every factory for `info`'s worker, in order, and installs the values on
    /// this thread; they stay until the returned guard is dropped. The first error
    /// stops the rest and drops what was built.
    pub async fn build(&self, info: WorkerInfo) -> Result<Installed, Error> {
        let mut values = Vec::with_capacity(self.0.len());
        for factory in &self.0 {
            match (factory.build)(info).await {
                Ok(value) => values.push((factory.type_id, value)),
                Err(source) => return Err(Error::worker_state(info, factory.type_name, source)),
            }
        }
        Ok(install(values, info.index()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rt::worker_state::get;

    fn block_on<F: Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    #[test]
    fn a_later_factory_for_the_same_type_replaces_the_earlier() {
        let mut factories = Factories::default();
        factories.insert(|_| async { Ok::<_, BoxError>(1u32) });
        factories.insert(|_| async { Ok::<_, BoxError>("text") });
        factories.insert(|w: WorkerInfo| async move { Ok::<_, BoxError>(w.index() as u32 + 10) });
        assert_eq!(factories.0.len(), 2);
        let guard = block_on(factories.build(WorkerInfo::new(3, 4))).unwrap();
        assert_eq!(get::<u32>().as_deref(), Some(&13));
        assert_eq!(get::<&str>().as_deref(), Some(&"text"));
        assert!(get::<u64>().is_none());
        drop(guard);
        assert!(get::<u32>().is_none(), "values outlived their guard");
    }

    #[test]
    fn the_first_error_names_the_worker_and_the_type_and_installs_nothing() {
        let mut factories = Factories::default();
        factories.insert(|_| async { Ok::<_, BoxError>(1u8) });
        factories.insert(|_| async { Err::<u16, _>("database is down") });
        let err = match block_on(factories.build(WorkerInfo::new(1, 2))) {
            Ok(_) => panic!("a failing factory built"),
            Err(e) => e,
        };
        assert!(err.is_worker_state());
        let text = err.to_string();
        assert!(text.contains("worker 1"), "{text}");
        assert!(text.contains("u16"), "{text}");
        assert!(text.ends_with(": database is down"), "{text}");
        assert!(get::<u8>().is_none());
    }
}
