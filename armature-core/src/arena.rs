//! Request arenas: bump allocation for the short-lived data of one request, freed
//! all at once, and the [`Arena`] extractor that lends handlers a pooled one.
//!
//! Allocating from an arena is a pointer bump (no `malloc`, no per-object `free`);
//! everything goes when the arena is reset or dropped. Handlers that build many
//! small temporary objects (parsed fragments, scratch vectors, trees) take an
//! [`Arena`]: each worker keeps a pool of arenas, so the memory is reused from one
//! request to the next and a warm arena allocates nothing from the system.

use std::cell::RefCell;
use std::fmt;
use std::mem;
use std::ops::{Deref, DerefMut};

use bumpalo::Bump;

use crate::memory_opt::ObjectPool;

/// A bump allocator for one request's data.
///
/// ```
/// use armature_core::arena::RequestArena;
///
/// #[derive(Debug, PartialEq)]
/// struct Point { x: i32, y: i32 }
///
/// let arena = RequestArena::new();
/// let p = arena.alloc(Point { x: 1, y: 2 });
/// p.x += 10;
/// let mut v = arena.alloc_vec::<u8>(1024);
/// v.extend_from_slice_copy(b"scratch");
/// assert_eq!(*p, Point { x: 11, y: 2 });
/// assert_eq!(&v[..], b"scratch");
/// // All of it is freed together when `arena` drops.
/// ```
///
/// [`alloc`](RequestArena::alloc) runs the value's destructor when the arena is
/// reset or dropped (values with destructors must be `'static`, so a destructor can
/// never see arena memory that was already released); [`alloc_copy`],
/// [`alloc_str`] and [`alloc_slice_copy`] take plain data that may borrow.
///
/// [`alloc_copy`]: RequestArena::alloc_copy
/// [`alloc_str`]: RequestArena::alloc_str
/// [`alloc_slice_copy`]: RequestArena::alloc_slice_copy
pub struct RequestArena {
    bump: Bump,
    /// Destructors to run at reset or drop, in allocation order.
    drops: RefCell<Vec<PendingDrop>>,
}

/// A value in the arena whose destructor has not run yet.
struct PendingDrop {
    ptr: *mut u8,
    drop: unsafe fn(*mut u8),
}

/// # Safety
/// `ptr` must point to a live, initialised `T` that nothing uses afterwards.
unsafe fn drop_erased<T>(ptr: *mut u8) {
    // SAFETY: per this function's contract.
    unsafe { std::ptr::drop_in_place(ptr.cast::<T>()) }
}

impl RequestArena {
    /// An empty arena (it allocates its first chunk on first use).
    pub fn new() -> Self {
        RequestArena {
            bump: Bump::new(),
            drops: RefCell::new(Vec::new()),
        }
    }

    /// An arena with room for `bytes` before it needs another chunk.
    pub fn with_capacity(bytes: usize) -> Self {
        RequestArena {
            bump: Bump::with_capacity(bytes),
            drops: RefCell::new(Vec::new()),
        }
    }

    /// Moves `value` into the arena. Its destructor (if any) runs when the arena is
    /// reset or dropped.
    #[inline]
    pub fn alloc<T: 'static>(&self, value: T) -> &mut T {
        let r = self.bump.alloc(value);
        if mem::needs_drop::<T>() {
            self.drops.borrow_mut().push(PendingDrop {
                ptr: (r as *mut T).cast(),
                drop: drop_erased::<T>,
            });
        }
        r
    }

    /// Copies plain data (which has no destructor, and so may borrow) into the arena.
    #[inline]
    pub fn alloc_copy<T: Copy>(&self, value: T) -> &mut T {
        self.bump.alloc(value)
    }

    /// Copies a string into the arena.
    #[inline]
    pub fn alloc_str(&self, s: &str) -> &mut str {
        self.bump.alloc_str(s)
    }

    /// Copies a slice of plain data into the arena.
    #[inline]
    pub fn alloc_slice_copy<T: Copy>(&self, s: &[T]) -> &mut [T] {
        self.bump.alloc_slice_copy(s)
    }

    /// A growable vector whose storage is in the arena, with room for `capacity`
    /// elements. Its elements are dropped when the vector is; growing it past its
    /// capacity takes new arena space (the old space is reclaimed with the arena).
    #[inline]
    pub fn alloc_vec<T>(&self, capacity: usize) -> ArenaVec<'_, T> {
        ArenaVec(bumpalo::collections::Vec::with_capacity_in(
            capacity, &self.bump,
        ))
    }

    /// Bytes of arena chunks currently held (what the arena costs in memory).
    pub fn allocated_bytes(&self) -> usize {
        self.bump.allocated_bytes()
    }

    /// Runs pending destructors and frees everything, keeping the largest chunk
    /// for reuse.
    pub fn reset(&mut self) {
        self.run_drops();
        self.bump.reset();
    }

    fn run_drops(&mut self) {
        let drops = mem::take(self.drops.get_mut());
        for d in &drops {
            // SAFETY: each entry was pushed by `alloc` for a live `T` stored in
            // `bump`; the arena is exclusively borrowed (`&mut self`), so no
            // reference handed out by `alloc` is alive, and entries are taken out
            // of the list before running, so none runs twice.
            unsafe { (d.drop)(d.ptr) };
        }
        // Keep the list's allocation for the next request.
        let mut drops = drops;
        drops.clear();
        *self.drops.get_mut() = drops;
    }
}

impl Default for RequestArena {
    fn default() -> Self {
        RequestArena::new()
    }
}

impl Drop for RequestArena {
    fn drop(&mut self) {
        self.run_drops();
    }
}

impl fmt::Debug for RequestArena {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestArena")
            .field("allocated_bytes", &self.allocated_bytes())
            .finish_non_exhaustive()
    }
}

/// A vector whose storage lives in a [`RequestArena`]
/// (from [`RequestArena::alloc_vec`]). Derefs to a slice.
pub struct ArenaVec<'a, T>(bumpalo::collections::Vec<'a, T>);

impl<T> ArenaVec<'_, T> {
    /// Appends an element.
    #[inline]
    pub fn push(&mut self, value: T) {
        self.0.push(value);
    }

    /// Removes and returns the last element.
    #[inline]
    pub fn pop(&mut self) -> Option<T> {
        self.0.pop()
    }

    /// Elements it can hold without growing.
    pub fn capacity(&self) -> usize {
        self.0.capacity()
    }

    /// Drops every element, keeping the storage.
    pub fn clear(&mut self) {
        self.0.clear();
    }

    /// Keeps the first `len` elements.
    pub fn truncate(&mut self, len: usize) {
        self.0.truncate(len);
    }

    /// Appends clones of the elements of `other` (one by one; for plain data,
    /// [`extend_from_slice_copy`](ArenaVec::extend_from_slice_copy) is a `memcpy`).
    pub fn extend_from_slice(&mut self, other: &[T])
    where
        T: Clone,
    {
        self.0.extend_from_slice(other);
    }

    /// Appends a copy of `other` in one `memcpy`.
    pub fn extend_from_slice_copy(&mut self, other: &[T])
    where
        T: Copy,
    {
        self.0.extend_from_slice_copy(other);
    }
}

impl<T> Deref for ArenaVec<'_, T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        &self.0
    }
}

impl<T> DerefMut for ArenaVec<'_, T> {
    fn deref_mut(&mut self) -> &mut [T] {
        &mut self.0
    }
}

impl<T> Extend<T> for ArenaVec<'_, T> {
    fn extend<I: IntoIterator<Item = T>>(&mut self, iter: I) {
        self.0.extend(iter);
    }
}

impl<T: fmt::Debug> fmt::Debug for ArenaVec<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// Arenas kept per worker thread, and the largest one worth keeping.
const POOLED_ARENAS: usize = 16;
const MAX_POOLED_BYTES: usize = 1 << 20;

thread_local! {
    static ARENAS: ObjectPool<RequestArena> = ObjectPool::new(POOLED_ARENAS).with_reset(|a: &mut RequestArena| {
        a.reset();
        a.allocated_bytes() <= MAX_POOLED_BYTES
    });
}

/// Extractor: a [`RequestArena`] for this request, taken from the worker's pool
/// and given back (reset) when the handler finishes, so a warm worker serves it
/// without asking the system for memory.
///
/// ```
/// use armature_core::arena::Arena;
/// use armature_core::App;
///
/// async fn words(arena: Arena, body: String) -> String {
///     let mut lens = arena.alloc_vec::<usize>(16);
///     lens.extend(body.split_whitespace().map(str::len));
///     format!("{} words, longest {}", lens.len(), lens.iter().max().unwrap_or(&0))
/// }
/// let app = App::new().post("/words", words);
/// ```
///
/// What the handler returns must own its data (responses outlive the arena).
pub struct Arena(Option<RequestArena>);

impl Arena {
    /// An arena from this thread's pool (a new one when the pool is empty).
    pub fn take() -> Arena {
        let arena = ARENAS
            .try_with(|pool| pool.get())
            .unwrap_or_else(|_| RequestArena::new());
        Arena(Some(arena))
    }
}

impl Deref for Arena {
    type Target = RequestArena;
    fn deref(&self) -> &RequestArena {
        self.0
            .as_ref()
            .expect("an Arena holds its arena until dropped")
    }
}

impl DerefMut for Arena {
    fn deref_mut(&mut self) -> &mut RequestArena {
        self.0
            .as_mut()
            .expect("an Arena holds its arena until dropped")
    }
}

impl Drop for Arena {
    fn drop(&mut self) {
        if let Some(arena) = self.0.take() {
            // During thread teardown the pool may be gone: then just drop it.
            let _ = ARENAS.try_with(move |pool| pool.put(arena));
        }
    }
}

impl fmt::Debug for Arena {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Arena").field(&**self).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;
    use std::rc::Rc;

    struct CountsDrops(Rc<Cell<u32>>);
    impl Drop for CountsDrops {
        fn drop(&mut self) {
            self.0.set(self.0.get() + 1);
        }
    }

    #[test]
    fn destructors_run_once_at_reset_and_at_drop() {
        let n = Rc::new(Cell::new(0));
        let mut arena = RequestArena::new();
        arena.alloc(CountsDrops(n.clone()));
        arena.alloc(CountsDrops(n.clone()));
        arena.alloc(String::from("owned"));
        arena.reset();
        assert_eq!(n.get(), 2);
        arena.alloc(CountsDrops(n.clone()));
        drop(arena);
        assert_eq!(n.get(), 3);
    }

    #[test]
    fn vectors_drop_their_elements() {
        let n = Rc::new(Cell::new(0));
        let arena = RequestArena::new();
        let mut v = arena.alloc_vec(1);
        for _ in 0..10 {
            v.push(CountsDrops(n.clone())); // grows past its capacity
        }
        assert_eq!(v.len(), 10);
        drop(v.pop());
        assert_eq!(n.get(), 1);
        drop(v);
        assert_eq!(n.get(), 10);
    }

    #[test]
    fn plain_data_may_borrow() {
        let text = String::from("a/b/c");
        let arena = RequestArena::new();
        let parts = arena.alloc_copy(["", "", ""]);
        for (slot, part) in parts.iter_mut().zip(text.split('/')) {
            *slot = part;
        }
        assert_eq!(*parts, ["a", "b", "c"]);
        assert_eq!(arena.alloc_str("hi"), "hi");
        assert_eq!(arena.alloc_slice_copy(&[1u16, 2]), &[1, 2]);
        let mut v = arena.alloc_vec::<u8>(2);
        v.extend_from_slice_copy(b"abc");
        v.extend_from_slice(b"d");
        assert_eq!(&v[..], b"abcd");
    }

    #[test]
    fn reset_keeps_memory_for_reuse() {
        let mut arena = RequestArena::new();
        for i in 0..1000u64 {
            arena.alloc(i);
        }
        let held = arena.allocated_bytes();
        assert!(held >= 8000);
        arena.reset();
        for i in 0..1000u64 {
            arena.alloc(i);
        }
        assert!(
            arena.allocated_bytes() <= held,
            "no new chunk after a reset"
        );
    }

    #[test]
    fn the_extractor_pools_arenas_per_thread() {
        std::thread::spawn(|| {
            let first = {
                let a = Arena::take();
                a.alloc(7u64);
                a.allocated_bytes()
            };
            assert!(first > 0);
            assert_eq!(ARENAS.with(|p| p.len()), 1, "returned to the pool");
            let a = Arena::take();
            assert_eq!(a.allocated_bytes(), first, "the warm arena came back");
            assert_eq!(ARENAS.with(|p| p.stats().hits), 1);
        })
        .join()
        .unwrap();
    }

    #[test]
    fn handlers_take_an_arena_on_the_real_connection_loop() {
        use crate::testing::TestConnection;
        use crate::App;
        async fn words(arena: Arena, body: String) -> String {
            let mut lens = arena.alloc_vec::<usize>(4);
            lens.extend(body.split_whitespace().map(str::len));
            let longest = arena.alloc(lens.iter().copied().max().unwrap_or(0));
            format!("{} words, longest {}", lens.len(), longest)
        }
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let conn = TestConnection::new(App::new().post("/words", words)).unwrap();
            for _ in 0..3 {
                let out = conn
                    .roundtrip(
                        b"POST /words HTTP/1.1\r\nHost: x\r\nContent-Length: 19\r\n\r\nthe quick brown fox",
                    )
                    .await;
                let text = String::from_utf8_lossy(&out);
                assert!(text.ends_with("4 words, longest 5"), "{text}");
            }
        });
        // One arena served all three requests.
        let stats = ARENAS.with(|p| p.stats());
        assert_eq!((stats.misses, stats.hits), (1, 2));
    }
}
