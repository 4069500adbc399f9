//! `Io`: the byte stream a connection runs over, below HTTP (hyper's `rt::io`).

use tokio::io::{AsyncRead, AsyncWrite};

/// The byte stream a connection runs over: a `TcpStream`, or an in-memory duplex
/// in tests and benchmarks.
///
/// A stream that can report readiness without reading ([`Io::parks`]) lets an
/// idle keep-alive connection wait with no buffer at all: it gives its buffers
/// back to the worker's pools, waits until the socket is readable, and only
/// then takes a buffer and polls one plain read (a stale readiness costs one
/// `EAGAIN` read, as a plain read would, and parks again).
pub(crate) trait Io: AsyncRead + AsyncWrite + Unpin {
    /// Whether [`Io::poll_read_ready`] works (a method,
    /// not a constant, so that `dyn Io` exists: upgraded connections use it; for a
    /// concrete stream it inlines to a constant).
    fn parks(&self) -> bool {
        false
    }

    /// Ready when the stream has bytes (or an error, or EOF) to read.
    fn poll_read_ready(
        &self,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
}

impl Io for tokio::net::TcpStream {
    #[inline]
    fn parks(&self) -> bool {
        true
    }

    #[inline]
    fn poll_read_ready(
        &self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        tokio::net::TcpStream::poll_read_ready(self, cx)
    }
}

impl Io for tokio::io::DuplexStream {}

impl<T: Io + ?Sized> Io for Box<T> {
    fn parks(&self) -> bool {
        (**self).parks()
    }

    fn poll_read_ready(
        &self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        (**self).poll_read_ready(cx)
    }
}
