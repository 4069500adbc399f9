//! Object pools: reuse expensive-to-build objects (buffers, arenas) instead of
//! allocating a fresh one each time.
//!
//! [`ObjectPool`] is single-threaded on purpose, like everything a worker owns: a
//! `RefCell<Vec<T>>` and a few `Cell` counters, no lock and no atomic. Each worker
//! keeps its own pools; the server uses them for connection read and write buffers
//! (see [`ConnectionManagerConfig::buffer_pool_size`]) and for request arenas
//! (the [`Arena`](crate::arena::Arena) extractor).
//!
//! [`ConnectionManagerConfig::buffer_pool_size`]:
//!     crate::connection_manager::ConnectionManagerConfig::buffer_pool_size

use std::cell::{Cell, RefCell};
use std::fmt;

/// A bounded pool of reusable objects.
///
/// [`get`](ObjectPool::get) hands out a pooled object, or makes a new one when the
/// pool is empty; [`put`](ObjectPool::put) gives one back, first passing it through
/// the reset hook (when one is set), which may refuse it (say, a buffer that grew
/// too large to be worth keeping). A full pool drops what it is given.
///
/// ```
/// use armature_core::memory_opt::ObjectPool;
///
/// let pool: ObjectPool<Vec<u8>> = ObjectPool::new(8).with_reset(|v: &mut Vec<u8>| {
///     v.clear();
///     v.capacity() <= 64 * 1024 // keep only reasonably sized buffers
/// });
/// let mut buf = pool.get(); // empty pool: a new Vec
/// buf.extend_from_slice(b"hello");
/// pool.put(buf);
/// let again = pool.get(); // the same allocation, cleared
/// assert!(again.is_empty() && again.capacity() >= 5);
/// assert_eq!(pool.stats().hits, 1);
/// ```
///
/// The pool is not `Sync`: it belongs to one thread (one worker). That is what
/// makes `get` and `put` a few instructions each.
pub struct ObjectPool<T> {
    items: RefCell<Vec<T>>,
    capacity: usize,
    create: Factory<T>,
    reset: Option<Reset<T>>,
    hits: Cell<u64>,
    misses: Cell<u64>,
    returned: Cell<u64>,
    discarded: Cell<u64>,
}

/// Makes a new object when the pool is empty.
type Factory<T> = Box<dyn Fn() -> T>;
/// Prepares a returned object for reuse; `false` drops it.
type Reset<T> = Box<dyn Fn(&mut T) -> bool>;

/// Counters of an [`ObjectPool`] since it was created.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PoolStats {
    /// `get`s answered from the pool.
    pub hits: u64,
    /// `get`s that had to create a new object (or `try_get`s that found none).
    pub misses: u64,
    /// Objects kept by `put`.
    pub returned: u64,
    /// Objects `put` dropped: refused by the reset hook, or the pool was full.
    pub discarded: u64,
}

impl<T: Default + 'static> ObjectPool<T> {
    /// A pool keeping up to `capacity` objects, creating new ones with `T::default()`.
    pub fn new(capacity: usize) -> Self {
        ObjectPool::with_factory(capacity, T::default)
    }
}

impl<T> ObjectPool<T> {
    /// A pool keeping up to `capacity` objects, creating new ones with `create`.
    pub fn with_factory(capacity: usize, create: impl Fn() -> T + 'static) -> Self {
        ObjectPool {
            items: RefCell::new(Vec::with_capacity(capacity.min(1024))),
            capacity,
            create: Box::new(create),
            reset: None,
            hits: Cell::new(0),
            misses: Cell::new(0),
            returned: Cell::new(0),
            discarded: Cell::new(0),
        }
    }

    /// Sets the hook `put` runs on each returned object: it should clear the object
    /// for its next user, and returns whether the object is worth keeping (`false`
    /// drops it).
    pub fn with_reset(mut self, reset: impl Fn(&mut T) -> bool + 'static) -> Self {
        self.reset = Some(Box::new(reset));
        self
    }

    /// A pooled object, or a new one when the pool is empty.
    #[inline]
    pub fn get(&self) -> T {
        match self.try_get() {
            Some(obj) => obj,
            None => (self.create)(),
        }
    }

    /// A pooled object, or `None` when the pool is empty (the caller then builds
    /// one to its own measure; counted as a miss).
    #[inline]
    pub fn try_get(&self) -> Option<T> {
        let obj = self.items.borrow_mut().pop();
        match &obj {
            Some(_) => self.hits.set(self.hits.get() + 1),
            None => self.misses.set(self.misses.get() + 1),
        }
        obj
    }

    /// Gives an object back. It is reset (when a hook is set) and kept if the hook
    /// accepts it and the pool has room; otherwise dropped.
    #[inline]
    pub fn put(&self, mut obj: T) {
        if self.items.borrow().len() >= self.capacity {
            self.discarded.set(self.discarded.get() + 1);
            return;
        }
        if let Some(reset) = &self.reset {
            if !reset(&mut obj) {
                self.discarded.set(self.discarded.get() + 1);
                return;
            }
        }
        self.items.borrow_mut().push(obj);
        self.returned.set(self.returned.get() + 1);
    }

    /// Objects waiting in the pool.
    pub fn len(&self) -> usize {
        self.items.borrow().len()
    }

    /// Whether the pool holds no object.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The most objects the pool keeps.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Drops every pooled object.
    pub fn clear(&self) {
        self.items.borrow_mut().clear();
    }

    /// Hit, miss, return and discard counts.
    pub fn stats(&self) -> PoolStats {
        PoolStats {
            hits: self.hits.get(),
            misses: self.misses.get(),
            returned: self.returned.get(),
            discarded: self.discarded.get(),
        }
    }
}

impl<T> fmt::Debug for ObjectPool<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ObjectPool")
            .field("len", &self.len())
            .field("capacity", &self.capacity)
            .field("stats", &self.stats())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::HttpRequest;
    use std::rc::Rc;

    #[test]
    fn get_reuses_what_put_returned() {
        let pool: ObjectPool<Vec<u8>> = ObjectPool::new(2);
        let mut v = pool.get();
        v.reserve(100);
        let ptr = v.as_ptr();
        pool.put(v);
        assert_eq!(pool.len(), 1);
        let w = pool.get();
        assert_eq!(w.as_ptr(), ptr);
        assert_eq!(
            pool.stats(),
            PoolStats {
                hits: 1,
                misses: 1,
                returned: 1,
                discarded: 0
            }
        );
    }

    #[test]
    fn a_full_pool_drops_what_it_is_given() {
        let pool: ObjectPool<String> = ObjectPool::new(1);
        pool.put("a".into());
        pool.put("b".into());
        assert_eq!(pool.len(), 1);
        assert_eq!(pool.stats().discarded, 1);
        assert_eq!(pool.get(), "a");
        assert!(pool.is_empty());
    }

    #[test]
    fn the_reset_hook_clears_and_may_refuse() {
        let pool = ObjectPool::<Vec<u32>>::new(4).with_reset(|v| {
            v.clear();
            v.capacity() <= 16
        });
        pool.put(vec![1, 2, 3]);
        pool.put(Vec::with_capacity(1000));
        assert_eq!(pool.len(), 1);
        assert!(pool.get().is_empty(), "a pooled object is reset");
        assert_eq!(pool.stats().discarded, 1);
    }

    #[test]
    fn the_factory_builds_on_a_miss_and_try_get_does_not() {
        let made = Rc::new(Cell::new(0));
        let m = made.clone();
        let pool = ObjectPool::with_factory(1, move || {
            m.set(m.get() + 1);
            vec![0u8; 4]
        });
        assert!(pool.try_get().is_none());
        assert_eq!(made.get(), 0);
        assert_eq!(pool.get().len(), 4);
        assert_eq!(made.get(), 1);
        assert_eq!(pool.stats().misses, 2);
    }

    #[test]
    fn zero_capacity_keeps_nothing() {
        let pool: ObjectPool<Vec<u8>> = ObjectPool::new(0);
        pool.put(Vec::new());
        assert!(pool.is_empty());
    }

    #[test]
    fn the_guides_request_pool_works() {
        let pool: ObjectPool<HttpRequest> = ObjectPool::new(100);
        let req = pool.get();
        assert_eq!(req.path(), "/");
        pool.put(req);
        assert_eq!(pool.len(), 1);
    }
}
