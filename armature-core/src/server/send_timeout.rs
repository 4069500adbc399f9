//! `SendTimeout`: the write side of a connection under the send timeout, shared by
//! the connection loop and the streamed-body driver.

use std::future::Future;
use std::task::Poll;
use std::time::Duration;

use tokio::io::AsyncWrite;
use tokio::time::Instant;

/// The write side of a connection under the send timeout
/// ([`ServerConfig::write_timeout`](crate::ServerConfig::write_timeout), nginx's
/// `send_timeout`): a write that cannot proceed arms the connection's timer for the
/// timeout from then, and each write that makes progress disarms it; when the timer
/// fires first, the write fails with `TimedOut` and the connection closes. A write
/// that completes at once (the usual case: the socket buffer has room) touches no
/// timer. The timer is the connection's read timer: the read path only ever moves
/// it earlier and re-arms it lazily (see `Conn::begin_read` in `conn`), so
/// borrowing it here costs the read path nothing.
pub(super) struct SendTimeout<'a, T> {
    io: &'a mut T,
    timer: std::pin::Pin<&'a mut tokio::time::Sleep>,
    timeout: Duration,
    armed: bool,
}

impl<'a, T: AsyncWrite + Unpin> SendTimeout<'a, T> {
    #[inline]
    pub(super) fn new(
        io: &'a mut T,
        timer: std::pin::Pin<&'a mut tokio::time::Sleep>,
        config: &crate::ServerConfig,
    ) -> Self {
        SendTimeout {
            io,
            timer,
            timeout: config.write_timeout,
            armed: false,
        }
    }

    /// The inner write is pending: wait on the timer, arming it at the first wait
    /// since the last progress.
    #[cold]
    fn blocked<R>(&mut self, cx: &mut std::task::Context<'_>) -> Poll<std::io::Result<R>> {
        if !self.armed {
            self.armed = true;
            self.timer.as_mut().reset(Instant::now() + self.timeout);
        }
        match self.timer.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "the client did not read the response within the write timeout",
            ))),
            Poll::Pending => Poll::Pending,
        }
    }

    #[inline]
    fn progress<R>(
        &mut self,
        r: Poll<std::io::Result<R>>,
        cx: &mut std::task::Context<'_>,
    ) -> Poll<std::io::Result<R>> {
        match r {
            Poll::Ready(r) => {
                self.armed = false;
                Poll::Ready(r)
            }
            Poll::Pending => self.blocked(cx),
        }
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for SendTimeout<'_, T> {
    #[inline]
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let this = self.get_mut();
        let r = std::pin::Pin::new(&mut *this.io).poll_write(cx, buf);
        this.progress(r, cx)
    }

    #[inline]
    fn poll_write_vectored(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let this = self.get_mut();
        let r = std::pin::Pin::new(&mut *this.io).poll_write_vectored(cx, bufs);
        this.progress(r, cx)
    }

    #[inline]
    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        let r = std::pin::Pin::new(&mut *this.io).poll_flush(cx);
        this.progress(r, cx)
    }

    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        let r = std::pin::Pin::new(&mut *this.io).poll_shutdown(cx);
        this.progress(r, cx)
    }
}
