//! `UringStream`: a connection on the ring, as the connection loop's `Io` (tokio's
//! `AsyncRead`/`AsyncWrite`, plus the parking calls that let an idle connection wait
//! without buffers). The accept loop that makes them is the server's
//! (`server/accept.rs`).

use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::driver::{Driver, Inner};
use crate::server::conn::Io;

/// A connection whose receives and sends go through the worker's ring.
///
/// Reads copy out of the provided buffers the multishot receive filled (then hand
/// them back to the kernel); a write copies the batch into the connection's send
/// buffer and queues one `SEND` (the rest of a partial send is queued by the driver),
/// and is accepted at once: the next write, a flush or a shutdown waits for it, and
/// a send's error is reported there.
pub(crate) struct UringStream {
    driver: Rc<Driver>,
    slot: usize,
}

impl UringStream {
    /// The accepted socket `fd`, opened on `driver`'s ring.
    pub(crate) fn open(driver: &Rc<Driver>, fd: std::os::fd::OwnedFd) -> UringStream {
        UringStream {
            slot: driver.open(fd),
            driver: driver.clone(),
        }
    }

    pub(crate) fn raw_fd(&self) -> RawFd {
        self.driver
            .inner
            .borrow_mut()
            .conn(self.slot)
            .fd
            .as_raw_fd()
    }

    /// Ready when data, EOF or an error is there; arms the receive otherwise.
    fn poll_readable(inner: &mut Inner, slot: usize, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let c = inner.conn(slot);
        if !c.data.is_empty() || c.eof {
            return Poll::Ready(Ok(()));
        }
        if let Some(e) = c.read_err.take() {
            c.eof = true;
            return Poll::Ready(Err(e));
        }
        match &c.read_waker {
            Some(w) if w.will_wake(cx.waker()) => {}
            _ => c.read_waker = Some(cx.waker().clone()),
        }
        inner.arm_recv(slot);
        Poll::Pending
    }

    /// Copies queued data into `dst` (at most `room` bytes), recycling each buffer
    /// read to its end. Returns the bytes copied.
    fn copy_out(inner: &mut Inner, slot: usize, room: usize, mut dst: impl FnMut(&[u8])) -> usize {
        let mut copied = 0;
        while copied < room {
            let Some(&(bid, off, len)) = inner.conn(slot).data.front() else {
                break;
            };
            let n = (len as usize).min(room - copied);
            dst(inner.bufs.get(bid, off, n as u32));
            copied += n;
            let c = inner.conn(slot);
            if n == len as usize {
                c.data.pop_front();
                inner.recycle(bid);
            } else if let Some(front) = c.data.front_mut() {
                *front = (bid, off + n as u32, len - n as u32);
            }
        }
        // A receive paused for too much unread data resumes once it has been read.
        if inner.conn(slot).data.is_empty() {
            inner.arm_recv(slot);
        }
        copied
    }

    /// Ready once no send is in flight, with its error if it failed.
    fn poll_sent(inner: &mut Inner, slot: usize, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let c = inner.conn(slot);
        if c.send_inflight {
            match &c.write_waker {
                Some(w) if w.will_wake(cx.waker()) => {}
                _ => c.write_waker = Some(cx.waker().clone()),
            }
            return Poll::Pending;
        }
        match c.send_err.take() {
            Some(e) => Poll::Ready(Err(e)),
            None => Poll::Ready(Ok(())),
        }
    }
}

impl AsyncRead for UringStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if buf.remaining() == 0 {
            return Poll::Ready(Ok(()));
        }
        let mut inner = self.driver.inner.borrow_mut();
        match Self::poll_readable(&mut inner, self.slot, cx) {
            Poll::Ready(Ok(())) => {
                let room = buf.remaining();
                Self::copy_out(&mut inner, self.slot, room, |b| buf.put_slice(b));
                Poll::Ready(Ok(()))
            }
            other => other,
        }
    }
}

impl AsyncWrite for UringStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_write_vectored(cx, &[io::IoSlice::new(buf)])
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let mut inner = self.driver.inner.borrow_mut();
        match Self::poll_sent(&mut inner, self.slot, cx) {
            Poll::Ready(Ok(())) => {}
            other => return other.map_ok(|()| 0),
        }
        let c = inner.conn(self.slot);
        let total: usize = bufs.iter().map(|b| b.len()).sum();
        if total == 0 {
            return Poll::Ready(Ok(0));
        }
        // The whole batch in one SEND: one copy into the connection's own buffer,
        // which stays put until the kernel has sent it.
        c.send_buf.clear();
        c.send_buf.reserve(total);
        for b in bufs {
            c.send_buf.extend_from_slice(b);
        }
        c.send_pos = 0;
        inner.start_send(self.slot);
        Poll::Ready(Ok(total))
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut inner = self.driver.inner.borrow_mut();
        Self::poll_sent(&mut inner, self.slot, cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut inner = self.driver.inner.borrow_mut();
        match Self::poll_sent(&mut inner, self.slot, cx) {
            Poll::Ready(Ok(())) => {}
            other => return other,
        }
        let fd = inner.conn(self.slot).fd.as_raw_fd();
        // SAFETY: `fd` is this connection's open socket (the slot owns it).
        if unsafe { libc::shutdown(fd, libc::SHUT_WR) } < 0 {
            let e = io::Error::last_os_error();
            if e.raw_os_error() != Some(libc::ENOTCONN) {
                return Poll::Ready(Err(e));
            }
        }
        Poll::Ready(Ok(()))
    }
}

impl Io for UringStream {
    #[inline]
    fn parks(&self) -> bool {
        true
    }

    fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut inner = self.driver.inner.borrow_mut();
        Self::poll_readable(&mut inner, self.slot, cx)
    }
}

impl Drop for UringStream {
    fn drop(&mut self) {
        self.driver.inner.borrow_mut().release(self.slot);
    }
}
