//! `TlsConn`: a connection after its TLS handshake, as the connection loop's `Io`;
//! and `accept`, the handshake under its timeout.

use std::io::{self, Write};
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_rustls::server::TlsStream;

use super::config::TlsConfig;
use crate::error::Error;
use crate::rt::drain::Draining;
use crate::rt::io::Io;

/// Runs the server side of the handshake on `io`, bounded by the configuration's
/// handshake timeout (a client that connects and sends nothing, or too little, is
/// closed then) and by the worker's drain (a shutdown does not wait for it).
/// A failure is reported ([`TlsConfig::on_handshake_error`], and a `debug` event
/// of target `armature::tls`) and `io` is dropped, which closes it.
pub(crate) async fn accept<T: Io>(
    tls: &TlsConfig,
    io: T,
    draining: &Draining,
) -> Option<TlsConn<T>> {
    let handshake = tokio_rustls::TlsAcceptor::from(tls.server.clone()).accept(io);
    let done = tokio::select! {
        biased;
        done = tokio::time::timeout(tls.handshake_timeout, handshake) => done,
        () = draining.wait() => return None,
    };
    match done {
        Ok(Ok(inner)) => Some(TlsConn { inner, accepted: 0 }),
        Ok(Err(e)) => {
            tls.report(Error::tls("TLS handshake failed", Some(Box::new(e))));
            None
        }
        Err(_) => {
            tls.report(Error::tls(
                format!("TLS handshake timed out after {:?}", tls.handshake_timeout),
                None,
            ));
            None
        }
    }
}

/// A TLS connection whose writes complete as a plain socket's do: once the bytes
/// are in the kernel.
///
/// tokio-rustls' stream takes plaintext, encrypts it, and returns as soon as the
/// socket refuses more, keeping the rest of the records for a later `flush`. The
/// connection loop never flushes (a `TcpStream` needs none, and the io_uring
/// stream's flush waits for the send's completion), so here a write that was
/// taken also sends its records: until they are all out it is `Pending`, and the
/// caller's retry with the same bytes (what `write_all`, the connection loop's
/// vectored writes and tungstenite all do) returns the count taken the first time.
/// The send timeout therefore covers TLS records too, and a streamed body's chunk
/// leaves at once rather than with the next one.
pub(crate) struct TlsConn<T> {
    inner: TlsStream<T>,
    /// Plaintext bytes taken by a write whose records are not all sent yet.
    accepted: usize,
}

impl<T: Io> TlsConn<T> {
    /// Sends the records rustls holds, until none is left or the socket is full.
    fn poll_send(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let (io, session) = self.inner.get_mut();
        while session.wants_write() {
            match session.write_tls(&mut SyncWriter { io, cx }) {
                Ok(0) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Poll::Pending,
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
        Poll::Ready(Ok(()))
    }

    /// A write through `write`, complete once its records are sent.
    fn poll_written(
        &mut self,
        cx: &mut Context<'_>,
        write: impl FnOnce(Pin<&mut TlsStream<T>>, &mut Context<'_>) -> Poll<io::Result<usize>>,
    ) -> Poll<io::Result<usize>> {
        if self.accepted == 0 {
            let n = ready!(write(Pin::new(&mut self.inner), cx))?;
            if n == 0 {
                return Poll::Ready(Ok(0));
            }
            self.accepted = n;
        }
        ready!(self.poll_send(cx))?;
        Poll::Ready(Ok(std::mem::take(&mut self.accepted)))
    }
}

impl<T: Io> AsyncRead for TlsConn<T> {
    #[inline]
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

impl<T: Io> AsyncWrite for TlsConn<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut()
            .poll_written(cx, |inner, cx| inner.poll_write(cx, buf))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.get_mut()
            .poll_written(cx, |inner, cx| inner.poll_write_vectored(cx, bufs))
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    /// Sends `close_notify`, then shuts the socket's write side.
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

impl<T: Io> Io for TlsConn<T> {
    /// An idle TLS connection parks as its socket does: rustls keeps what it holds
    /// (a partial record), the connection's buffers go back to the pools.
    #[inline]
    fn parks(&self) -> bool {
        self.inner.get_ref().0.parks()
    }

    /// Ready at once when rustls holds decrypted bytes not read yet (or the peer's
    /// `close_notify`); otherwise when the socket is.
    fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let (io, session) = self.inner.get_ref();
        if !session.wants_read() {
            return Poll::Ready(Ok(()));
        }
        io.poll_read_ready(cx)
    }
}

/// The socket as rustls' `Write`: `Pending` becomes `WouldBlock` (the task is
/// woken when the socket takes more).
struct SyncWriter<'a, 'b, T> {
    io: &'a mut T,
    cx: &'a mut Context<'b>,
}

impl<T: AsyncWrite + Unpin> Write for SyncWriter<'_, '_, T> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match Pin::new(&mut *self.io).poll_write(self.cx, buf) {
            Poll::Ready(r) => r,
            Poll::Pending => Err(io::ErrorKind::WouldBlock.into()),
        }
    }

    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        match Pin::new(&mut *self.io).poll_write_vectored(self.cx, bufs) {
            Poll::Ready(r) => r,
            Poll::Pending => Err(io::ErrorKind::WouldBlock.into()),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, ServerName};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::{accept, TlsConn};
    use crate::rt::drain::Draining;
    use crate::tls::TlsConfig;

    fn cert(name: &str) -> String {
        format!("{}/tests/certs/{name}", env!("CARGO_MANIFEST_DIR"))
    }

    /// A handshake over an in-memory pipe that holds `pipe` bytes each way: the
    /// server's `TlsConn` and tokio-rustls' client.
    async fn pair(
        pipe: usize,
    ) -> (
        TlsConn<tokio::io::DuplexStream>,
        tokio_rustls::client::TlsStream<tokio::io::DuplexStream>,
    ) {
        let tls = TlsConfig::from_pem_files(cert("a.pem"), cert("a.key")).unwrap();
        let mut roots = rustls::RootCertStore::empty();
        roots
            .add(CertificateDer::from_pem_file(cert("ca.pem")).unwrap())
            .unwrap();
        #[allow(deprecated)]
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let client = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        let (client_io, server_io) = tokio::io::duplex(pipe);
        let draining = Draining::default();
        let connector = tokio_rustls::TlsConnector::from(Arc::new(client));
        let name = ServerName::try_from("localhost").unwrap();
        let (server, client) = tokio::join!(
            accept(&tls, server_io, &draining),
            connector.connect(name, client_io)
        );
        (server.expect("server handshake"), client.unwrap())
    }

    #[tokio::test]
    async fn a_write_completes_only_once_its_records_are_in_the_socket() {
        // A 1 KiB pipe: every write of the 256 KiB below fills it, and rustls keeps
        // records back; the write must not complete before they are sent (the
        // connection loop never flushes), while the peer reads slowly.
        let (mut server, mut client) = pair(1024).await;
        let body = vec![b'x'; 256 * 1024];
        let reader = async {
            let mut got = Vec::new();
            let mut chunk = [0u8; 512];
            while got.len() < body.len() {
                let n = client.read(&mut chunk).await.unwrap();
                assert!(n > 0, "closed early");
                got.extend_from_slice(&chunk[..n]);
                tokio::task::yield_now().await;
            }
            got
        };
        let writer = async {
            let mut at = 0;
            while at < body.len() {
                let n = server.write(&body[at..]).await.unwrap();
                assert!(
                    !server.inner.get_ref().1.wants_write(),
                    "a write of {n} bytes returned with records not sent"
                );
                at += n;
            }
        };
        let ((), got) = tokio::join!(writer, reader);
        assert_eq!(got, body);
    }

    #[tokio::test]
    async fn vectored_writes_and_shutdown_reach_the_peer() {
        let (mut server, mut client) = pair(4096).await;
        let parts = [&b"head "[..], &[b'y'; 50_000][..], &b" tail"[..]];
        let slices: Vec<_> = parts.iter().map(|p| std::io::IoSlice::new(p)).collect();
        let writer = async {
            let mut left: usize = parts.iter().map(|p| p.len()).sum();
            // Once: a vectored write takes what it can; the rest plainly.
            let n = server.write_vectored(&slices).await.unwrap();
            assert!(!server.inner.get_ref().1.wants_write());
            left -= n;
            let all = parts.concat();
            server.write_all(&all[all.len() - left..]).await.unwrap();
            server.shutdown().await.unwrap();
        };
        let reader = async {
            let mut got = Vec::new();
            // To the end: close_notify reads as a clean end of stream.
            client.read_to_end(&mut got).await.unwrap();
            got
        };
        let ((), got) = tokio::join!(writer, reader);
        assert_eq!(got, parts.concat());
    }
}
