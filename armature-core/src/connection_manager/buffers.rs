//! `ConnBuffers`: a connection's read and write buffers, sized from the worker's
//! traffic history, taken from and given back to the worker's pools, and the
//! connection's own traffic report.

use std::mem;

use bytes::BytesMut;

use super::ConnectionManager;
use crate::future_slot::FutureSlot;
use crate::proto::encode::OutBuffer;

/// The buffers of one connection. Dropping it (the connection closed) reports the
/// traffic not yet reported and returns both buffers to the pools.
pub(crate) struct ConnBuffers<'a> {
    pub rbuf: BytesMut,
    pub out: OutBuffer,
    /// Memory for the handler futures of the connection's requests (pooled with
    /// the buffers: an idle connection holds none).
    pub futures: FutureSlot,
    /// The read buffer size this connection was given: what refills aim for.
    pub size: usize,
    largest_request: usize,
    largest_batch: usize,
    manager: &'a ConnectionManager,
}

impl ConnectionManager {
    /// Buffers for a new connection, at the sizes recent traffic calls for.
    pub(crate) fn buffers(&self) -> ConnBuffers<'_> {
        ConnBuffers {
            rbuf: self.take_read(),
            out: self.take_write(),
            futures: self.future_pool.try_get().unwrap_or_default(),
            size: self.read_size.get(),
            largest_request: 0,
            largest_batch: 0,
            manager: self,
        }
    }

    fn take_read(&self) -> BytesMut {
        let size = self.read_size.get();
        match self.read_pool.try_get() {
            // `reserve` on an empty buffer we own reuses its whole allocation
            // when it is large enough; a pooled buffer much larger than needed
            // is let go, so memory follows the traffic down too.
            Some(mut b) if b.capacity() <= 2 * size => {
                b.reserve(size);
                b
            }
            _ => BytesMut::with_capacity(size),
        }
    }

    fn take_write(&self) -> OutBuffer {
        let wsize = self.write_size.get();
        match self.write_pool.try_get() {
            Some(mut o) => {
                let raw = o.raw();
                if raw.capacity() <= 2 * wsize {
                    raw.reserve(wsize);
                    o
                } else {
                    OutBuffer::with_capacity(wsize)
                }
            }
            None => OutBuffer::with_capacity(wsize),
        }
    }
}

impl ConnBuffers<'_> {
    /// Gives both (empty) buffers back to the pools while the connection waits
    /// for its next request, so that an idle keep-alive connection holds no
    /// buffer memory; [`Self::unpark`] takes them again when bytes arrive.
    #[inline]
    pub fn park(&mut self) {
        debug_assert!(self.rbuf.is_empty() && self.out.is_empty());
        if self.rbuf.capacity() != 0 {
            self.manager.read_pool.put(mem::take(&mut self.rbuf));
        }
        if self.out.raw().capacity() != 0 {
            self.manager.write_pool.put(mem::take(&mut self.out));
        }
        if self.futures.capacity() != 0 {
            self.manager.future_pool.put(mem::take(&mut self.futures));
        }
    }

    /// Takes buffers again after [`Self::park`] (a no-op when they are held).
    #[inline]
    pub fn unpark(&mut self) {
        if self.rbuf.capacity() == 0 {
            self.size = self.manager.read_size.get();
            self.rbuf = self.manager.take_read();
        }
        if self.out.raw().capacity() == 0 {
            self.out = self.manager.take_write();
        }
        if self.futures.capacity() == 0 {
            if let Some(slot) = self.manager.future_pool.try_get() {
                self.futures = slot;
            }
        }
    }

    /// Notes a complete request of `len` bytes (head and body).
    #[inline]
    pub fn note_request(&mut self, len: usize) {
        self.largest_request = self.largest_request.max(len);
    }

    /// Notes the size of the batch about to be written.
    #[inline]
    pub fn note_batch(&mut self) {
        self.largest_batch = self.largest_batch.max(self.out.raw().len());
    }

    /// Makes room to read: when less than 1 KiB is free, the buffer is refilled
    /// to this connection's size (reusing its allocation when no request still
    /// points into it), keeping at least 1 KiB free past what is buffered. A refill
    /// is also when the connection reports its traffic: about once per buffer's
    /// worth of requests, which keeps the history current on long keep-alive
    /// connections without a report per request.
    #[inline]
    pub fn make_room(&mut self) {
        let len = self.rbuf.len();
        if self.rbuf.capacity() - len < 1024 {
            self.refill(len);
        }
    }

    #[cold]
    fn refill(&mut self, len: usize) {
        self.report();
        self.rbuf.reserve(self.size.max(len + 1024) - len);
        if len == 0 && self.rbuf.capacity() > self.manager.settings.max_buffer {
            // `reserve` took back the whole allocation of a large request (a body
            // bigger than the largest buffer): let it go rather than keep it.
            self.rbuf = BytesMut::with_capacity(self.size);
        }
        self.shrink_out();
    }

    /// An output buffer that grew past `max_buffer_size` for one large batch goes
    /// back to the normal size instead of staying at its peak for the rest of the
    /// connection. Checked at each refill (about once per read buffer's worth of
    /// requests, off the per-request path); a parked or closed connection's
    /// oversized buffer is not pooled either.
    fn shrink_out(&mut self) {
        if self.out.is_empty() {
            self.out.shrink_to(
                self.manager.settings.max_buffer,
                self.manager.write_size.get(),
            );
        }
    }

    #[cold]
    fn report(&mut self) {
        if self.largest_request > 0 {
            self.manager.record_request(self.largest_request);
        }
        if self.largest_batch > 0 {
            self.manager.record_response(self.largest_batch);
        }
        self.largest_request = 0;
        self.largest_batch = 0;
    }

    /// Reports the traffic and returns both buffers to the pools now, for a
    /// connection that leaves HTTP (an upgrade) but lives on; dropping afterwards
    /// returns nothing more. A method, not a `drop` of the buffers: moving them out
    /// of the connection loop gave it a drop flag, ~3 instructions a request.
    #[cold]
    pub fn give_back(&mut self) {
        self.report();
        if self.rbuf.capacity() > 0 {
            self.manager.read_pool.put(mem::take(&mut self.rbuf));
        }
        if self.out.raw().capacity() > 0 {
            self.manager.write_pool.put(mem::take(&mut self.out));
        }
        if self.futures.capacity() > 0 {
            self.manager.future_pool.put(mem::take(&mut self.futures));
        }
    }
}

impl Drop for ConnBuffers<'_> {
    fn drop(&mut self) {
        self.give_back();
    }
}

#[cfg(test)]
mod tests {
    use super::super::ConnectionManagerConfig;
    use super::*;

    fn manager(pool: usize) -> ConnectionManager {
        ConnectionManager::new(
            ConnectionManagerConfig::default()
                .min_buffer_size(4096)
                .max_buffer_size(65536)
                .buffer_history_size(8)
                .buffer_pool_size(pool),
        )
    }

    #[test]
    fn a_closed_connection_reports_and_returns_its_buffers() {
        let m = manager(4);
        {
            let mut b = m.buffers();
            assert_eq!(b.rbuf.capacity(), 8192);
            b.note_request(40_000);
            b.out.raw().extend_from_slice(&[0; 300]);
            b.note_batch();
        }
        assert_eq!(m.stats().request_samples, 1);
        assert_eq!(m.read_buffer_size(), 65536);
        assert_eq!(m.write_buffer_size(), 4096);
        assert_eq!((m.read_pool.len(), m.write_pool.len()), (1, 1));
        // The next connection reuses them, grown to the new read size.
        let b = m.buffers();
        assert!(b.rbuf.capacity() >= 65536);
        assert!(b.out.is_empty(), "a pooled write buffer comes back empty");
        assert_eq!(m.read_pool.stats().hits, 1);
    }

    #[test]
    fn a_used_up_read_buffer_still_shared_with_a_request_is_not_pooled() {
        let m = manager(4);
        let kept;
        {
            let mut b = m.buffers();
            b.rbuf.extend_from_slice(&[b'x'; 8000]);
            kept = b.rbuf.split().freeze(); // a handler kept the request's bytes
        }
        assert_eq!(m.read_pool.len(), 0);
        assert_eq!(kept.len(), 8000);
        {
            let mut b = m.buffers();
            b.rbuf.extend_from_slice(&[b'x'; 8000]);
            drop(b.rbuf.split()); // handled and gone: the buffer is reclaimed
        }
        assert_eq!(m.read_pool.len(), 1);
    }

    #[test]
    fn buffers_given_back_early_are_not_given_back_twice() {
        let m = manager(4);
        let mut b = m.buffers();
        b.note_request(100);
        b.give_back(); // an upgraded connection, still open
        assert_eq!((m.read_pool.len(), m.write_pool.len()), (1, 1));
        assert_eq!(m.stats().request_samples, 1);
        drop(b);
        assert_eq!((m.read_pool.len(), m.write_pool.len()), (1, 1));
        assert_eq!(m.stats().request_samples, 1);
    }

    #[test]
    fn oversized_buffers_are_not_pooled() {
        let m = manager(4);
        {
            let mut b = m.buffers();
            b.rbuf.reserve(1 << 20);
            b.out.raw().reserve(1 << 20);
        }
        assert_eq!((m.read_pool.len(), m.write_pool.len()), (0, 0));
    }

    #[test]
    fn long_connections_report_at_each_refill() {
        let m = manager(0);
        let mut b = m.buffers();
        for round in 1..=3 {
            // A buffer's worth of requests, handled.
            while b.rbuf.capacity() - b.rbuf.len() >= 1024 {
                b.rbuf.extend_from_slice(&[b'x'; 100]);
                drop(b.rbuf.split());
                b.note_request(100);
                b.note_batch();
            }
            b.make_room();
            assert_eq!(m.stats().request_samples, round);
        }
        drop(b);
        assert_eq!(m.stats().request_samples, 3, "nothing new to report");
    }

    #[test]
    fn buffers_grown_by_one_burst_go_back_to_the_normal_size() {
        let m = manager(4);
        let mut b = m.buffers();
        // A batch of pipelined responses far larger than max_buffer_size, sent.
        b.out.raw().extend_from_slice(&vec![b'x'; 1 << 20]);
        b.out.raw().clear();
        // A request body larger than max_buffer_size, handled and gone: the next
        // refill lets both go.
        b.rbuf.reserve(1 << 20);
        b.rbuf.extend_from_slice(&vec![b'y'; 1 << 20]);
        drop(b.rbuf.split());
        b.make_room();
        assert!(b.rbuf.capacity() <= 65536, "{}", b.rbuf.capacity());
        assert!(
            b.out.raw().capacity() <= 65536,
            "{}",
            b.out.raw().capacity()
        );
        // Normal-sized buffers are kept as they are.
        let (rbase, obase) = (b.rbuf.as_ptr(), b.out.raw().as_ptr());
        let fill = b.rbuf.capacity() - 100;
        b.rbuf.extend_from_slice(&vec![b'z'; fill]);
        drop(b.rbuf.split());
        b.make_room();
        assert_eq!((b.rbuf.as_ptr(), b.out.raw().as_ptr()), (rbase, obase));
    }

    #[test]
    fn make_room_reuses_the_buffer_once_requests_are_gone() {
        let m = manager(0);
        let mut b = m.buffers();
        let base = b.rbuf.as_ptr();
        b.rbuf.extend_from_slice(&[b'x'; 8000]);
        drop(b.rbuf.split_to(8000)); // a handled request
        b.make_room();
        assert_eq!(b.rbuf.as_ptr(), base, "reclaimed in place");
        assert!(b.rbuf.capacity() >= 8192);
    }
}
