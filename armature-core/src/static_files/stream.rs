//! A file read piece by piece as a response body: each chunk is one positioned
//! read on tokio's blocking pool, so a slow disk never stalls the worker's runtime.

use std::fs::File;
use std::future::Future;
use std::io;
use std::os::unix::fs::FileExt;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use bytes::{Bytes, BytesMut};
use futures_core::Stream;
use tokio::task::JoinHandle;

use crate::http::BoxError;

/// Bytes per read: large enough that the hop to the blocking pool (a few
/// microseconds) is small beside the read and the socket write, small enough that a
/// connection holds little memory.
pub(super) const CHUNK: usize = 64 * 1024;

/// `len` bytes of a file from `offset`.
pub(super) struct FileStream {
    file: Arc<File>,
    offset: u64,
    remaining: u64,
    pending: Option<JoinHandle<io::Result<Bytes>>>,
}

impl FileStream {
    pub fn new(file: File, offset: u64, len: u64) -> FileStream {
        FileStream {
            file: Arc::new(file),
            offset,
            remaining: len,
            pending: None,
        }
    }
}

impl Stream for FileStream {
    type Item = Result<Bytes, BoxError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        if this.remaining == 0 {
            return Poll::Ready(None);
        }
        let pending = this.pending.get_or_insert_with(|| {
            let file = this.file.clone();
            let (offset, n) = (this.offset, this.remaining.min(CHUNK as u64) as usize);
            tokio::task::spawn_blocking(move || {
                let mut buf = BytesMut::zeroed(n);
                let read = file.read_at(&mut buf, offset)?;
                buf.truncate(read);
                Ok(buf.freeze())
            })
        });
        let done = ready!(Pin::new(pending).poll(cx));
        this.pending = None;
        Poll::Ready(Some(match done {
            Ok(Ok(chunk)) if chunk.is_empty() => {
                // The file shrank while being sent: the length is already promised.
                this.remaining = 0;
                Err("file truncated while being sent".into())
            }
            Ok(Ok(chunk)) => {
                this.offset += chunk.len() as u64;
                this.remaining -= chunk.len() as u64;
                Ok(chunk)
            }
            Ok(Err(e)) => Err(e.into()),
            Err(e) => Err(e.into()),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::{FileStream, CHUNK};
    use std::future::poll_fn;
    use std::pin::Pin;

    use futures_core::Stream;

    #[test]
    fn a_file_is_read_in_bounded_chunks_from_its_offset() {
        let data: Vec<u8> = (0..(3 * CHUNK + 100)).map(|i| (i % 253) as u8).collect();
        let mut file = tempfile::tempfile().unwrap();
        std::io::Write::write_all(&mut file, &data).unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let (offset, len) = (10u64, (3 * CHUNK) as u64);
        let mut s = FileStream::new(file, offset, len);
        let chunks: Vec<_> = rt.block_on(async {
            let mut out = Vec::new();
            while let Some(c) = poll_fn(|cx| Pin::new(&mut s).poll_next(cx)).await {
                out.push(c.unwrap());
            }
            out
        });
        assert!(chunks.len() >= 3, "{} chunks", chunks.len());
        assert!(chunks.iter().all(|c| c.len() <= CHUNK));
        assert!(chunks.concat() == data[10..10 + 3 * CHUNK]);
    }
}
