//! `FutureSlot`: memory for a connection's handler future, reused from one request
//! to the next.
//!
//! A connection runs its requests one after another, so it never has more than one
//! handler future alive. Boxing each one cost a `malloc` and a `free` a request
//! (~140 instructions with glibc in callgrind, pipelined `/plaintext`: 7% of the
//! request); the slot keeps one allocation instead, grown to the largest future the
//! connection has run, and goes back to the worker's pool with the connection's
//! buffers while it is idle (`connection_manager::buffers`), so an idle keep-alive
//! connection still holds none.
//!
//! No crate does this: `stackfuture` stores a future inline in a fixed-size value
//! (moved with it, sized for the largest future up front), and an arena would
//! still need a free per request. The unsafe code here is the slot's whole job:
//! one write of a future into memory it owns, one drop in place.

use std::alloc::{self, Layout};
use std::future::Future;
use std::pin::Pin;
use std::ptr::NonNull;
use std::task::{Context, Poll};

use crate::response::{BoxFuture, Response};

/// The alignment of the slot's memory; a future needing more is boxed.
const ALIGN: usize = 16;

/// Slots larger than this are not kept by the worker's pool.
pub(crate) const MAX_POOLED: usize = 4096;

/// Reusable memory for one future at a time (see the module's documentation).
pub(crate) struct FutureSlot {
    ptr: NonNull<u8>,
    /// Bytes allocated at `ptr`; 0: nothing allocated.
    size: usize,
}

impl Default for FutureSlot {
    fn default() -> Self {
        FutureSlot::new()
    }
}

impl FutureSlot {
    /// An empty slot: it allocates on its first future.
    pub(crate) const fn new() -> Self {
        FutureSlot {
            ptr: NonNull::dangling(),
            size: 0,
        }
    }

    /// Bytes the slot holds.
    pub(crate) fn capacity(&self) -> usize {
        self.size
    }

    /// Moves `fut` into the slot (boxed first, the box in the slot, when it needs an
    /// alignment above the slot's). The slot stays borrowed while the future lives,
    /// so nothing else can be put there until it is dropped.
    #[inline]
    pub(crate) fn put<F>(&mut self, fut: F) -> SlotFuture<'_>
    where
        F: Future<Output = Response> + 'static,
    {
        if align_of::<F>() > ALIGN {
            let boxed: BoxFuture = Box::pin(fut);
            return self.put_aligned(boxed);
        }
        self.put_aligned(fut)
    }

    /// [`Self::put`] for a future whose alignment the slot's memory has.
    #[inline(always)]
    fn put_aligned<F>(&mut self, fut: F) -> SlotFuture<'_>
    where
        F: Future<Output = Response> + 'static,
    {
        assert!(align_of::<F>() <= ALIGN);
        let layout = Layout::new::<F>();
        if layout.size() > self.size {
            self.grow(layout.size());
        }
        let p = self.ptr.as_ptr().cast::<F>();
        // SAFETY: `p` is valid for writes of `F`: `size` bytes at `ptr` are allocated
        // with alignment `ALIGN` >= `align_of::<F>()`, and `size >= size_of::<F>()`
        // (for a zero-sized `F`, `grow` has allocated at least `ALIGN` bytes, so `p`
        // is non-null and aligned). Nothing else lives there: the previous future
        // was dropped in place when its `SlotFuture` dropped, which the `&mut self`
        // borrow of that `SlotFuture` guarantees happened before this call.
        let fut: &mut (dyn Future<Output = Response> + 'static) = unsafe {
            p.write(fut);
            &mut *p
        };
        // SAFETY: the future is never moved: it stays at `p` until `SlotFuture`'s
        // drop runs it in place, and the memory is neither freed nor reused before
        // (the slot is mutably borrowed for the `SlotFuture`'s lifetime, and it is
        // only ever dropped, never forgotten, by the crate).
        SlotFuture(unsafe { Pin::new_unchecked(fut) })
    }

    #[cold]
    fn grow(&mut self, need: usize) {
        self.release();
        let size = need.max(ALIGN).next_multiple_of(ALIGN);
        let layout = Layout::from_size_align(size, ALIGN).expect("future layout");
        // SAFETY: `layout` has a non-zero size.
        let ptr = unsafe { alloc::alloc(layout) };
        self.ptr = NonNull::new(ptr).unwrap_or_else(|| alloc::handle_alloc_error(layout));
        self.size = size;
    }

    /// Frees the memory (the slot holds no future: it is not borrowed).
    fn release(&mut self) {
        if self.size > 0 {
            // SAFETY: allocated by `grow` with exactly this layout.
            unsafe {
                alloc::dealloc(
                    self.ptr.as_ptr(),
                    Layout::from_size_align_unchecked(self.size, ALIGN),
                )
            };
            self.ptr = NonNull::dangling();
            self.size = 0;
        }
    }
}

impl Drop for FutureSlot {
    fn drop(&mut self) {
        self.release();
    }
}

/// A handler future in a connection's [`FutureSlot`], dropped in place with it.
///
/// Two words, returned in registers: as an enum (in the slot, or boxed) it was
/// returned through memory, written a word at a time by the handler's `call_in`
/// and read back as one 16-byte load by the connection loop, a load the CPU
/// cannot forward from those stores (~1% of the pipelined profile's CPU in
/// `perf`, at that one instruction).
pub(crate) struct SlotFuture<'s>(Pin<&'s mut (dyn Future<Output = Response> + 'static)>);

impl Future for SlotFuture<'_> {
    type Output = Response;

    #[inline]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Response> {
        self.0.as_mut().poll(cx)
    }
}

impl Drop for SlotFuture<'_> {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: the future was written at this address by `FutureSlot::put` and
        // is dropped exactly once, here; the slot's memory outlives `'s`. After
        // this, the pinned reference is never used again.
        unsafe { std::ptr::drop_in_place(self.0.as_mut().get_unchecked_mut()) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;
    use std::rc::Rc;

    struct Counted(Rc<Cell<u32>>);
    impl Drop for Counted {
        fn drop(&mut self) {
            self.0.set(self.0.get() + 1);
        }
    }

    fn run(mut f: SlotFuture<'_>) -> Response {
        let waker = std::task::Waker::noop();
        let mut cx = Context::from_waker(waker);
        loop {
            if let Poll::Ready(r) = Pin::new(&mut f).poll(&mut cx) {
                return r;
            }
        }
    }

    #[test]
    fn futures_run_in_one_allocation_and_are_dropped_in_place() {
        let drops = Rc::new(Cell::new(0));
        let mut slot = FutureSlot::new();
        for i in 0..3u16 {
            let held = Counted(drops.clone());
            let resp = run(slot.put(async move {
                tokio::task::yield_now().await;
                let _held = &held;
                Response::text(crate::StatusCode::from_u16(200 + i).unwrap(), "x")
            }));
            assert_eq!(resp.status().as_u16(), 200 + i);
            assert_eq!(drops.get(), u32::from(i) + 1, "dropped when the future is");
        }
        let size = slot.capacity();
        assert!(size > 0);
        // A larger future grows the slot; an unfinished one is dropped in place too.
        let held = Counted(drops.clone());
        let big = [1u8; 512];
        let pending = slot.put(async move {
            std::future::pending::<()>().await;
            let _ = (&held, big);
            Response::text(crate::StatusCode::OK, "never")
        });
        drop(pending);
        assert_eq!(drops.get(), 4);
        assert!(slot.capacity() >= 512 && slot.capacity() > size);
    }

    #[test]
    fn over_aligned_futures_are_boxed_and_the_box_kept_in_the_slot() {
        #[repr(align(64))]
        struct Aligned(u8);
        let drops = Rc::new(Cell::new(0));
        let mut slot = FutureSlot::new();
        let (a, held) = (Aligned(7), Counted(drops.clone()));
        let f = slot.put(async move {
            let (a, _held) = (&a, &held);
            Response::text(crate::StatusCode::OK, format!("{}", a.0))
        });
        assert_eq!(run(f).body_bytes(), Some(&b"7"[..]));
        assert_eq!(drops.get(), 1);
        // The slot holds the box (two words), not the 64-aligned future.
        assert_eq!(
            slot.capacity(),
            size_of::<BoxFuture>().next_multiple_of(ALIGN)
        );
        // An unfinished one is dropped (box and future) with its `SlotFuture`.
        let (a, held) = (Aligned(8), Counted(drops.clone()));
        let pending = slot.put(async move {
            std::future::pending::<()>().await;
            let _ = (&a, &held);
            Response::text(crate::StatusCode::OK, "never")
        });
        drop(pending);
        assert_eq!(drops.get(), 2);
    }
}
