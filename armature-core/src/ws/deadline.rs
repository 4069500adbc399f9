//! `Deadlines`: an upgraded connection's I/O with the WebSocket's two time limits:
//! a write that makes no progress for the write timeout, and a frame (or fragmented
//! message) that does not arrive whole within the read timeout.
//!
//! Cost on the message path: each read walks the frame headers in the bytes it got
//! (a few comparisons per frame; a payload is skipped, not scanned), and a timer is
//! armed only when a read or a write has to wait in the middle of something: a
//! frame begun but not finished, bytes the client has not taken. A message that
//! arrives whole, and a write the socket takes at once, touch no timer.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

use crate::rt::io::Io;

/// The upgraded connection as tungstenite reads and writes it.
///
/// Writes go through the inner stream's `poll_write_vectored`. Why: a `dyn` vtable
/// holding the socket's own `poll_write` gives that function a second caller, and
/// LLVM then stopped inlining it into the HTTP loop's `write_all`: +27 instructions
/// a request on `/json` (callgrind). Writing through the vectored call leaves the
/// HTTP path's `poll_write` with its one caller.
pub(crate) struct Deadlines<T> {
    io: T,
    frames: Frames,
    read_limit: Duration,
    write_limit: Duration,
    read_timer: Timer,
    write_timer: Timer,
    /// Set once a limit passed. A read timeout fails every later read (a close frame
    /// can still be sent); a write timeout fails everything (the peer takes nothing).
    expired: Option<Expired>,
}

#[derive(Clone, Copy, PartialEq)]
enum Expired {
    Read,
    Write,
}

impl<T: Io> Deadlines<T> {
    /// `read_ahead`: the bytes the client sent behind the handshake, which
    /// tungstenite gets without reading them here.
    pub(crate) fn new(
        io: T,
        read_ahead: &[u8],
        read_limit: Duration,
        write_limit: Duration,
    ) -> Self {
        let mut frames = Frames::default();
        frames.observe(read_ahead);
        Deadlines {
            io,
            frames,
            read_limit,
            write_limit,
            read_timer: Timer::default(),
            write_timer: Timer::default(),
            expired: None,
        }
    }

    fn read_error() -> io::Error {
        io::Error::new(
            io::ErrorKind::TimedOut,
            "a WebSocket frame did not arrive whole within the read timeout",
        )
    }

    fn write_error() -> io::Error {
        io::Error::new(
            io::ErrorKind::TimedOut,
            "the WebSocket peer did not take what was sent within the write timeout",
        )
    }

    /// The error every call returns once the write timeout passed.
    fn dead(&self) -> Option<io::Error> {
        (self.expired == Some(Expired::Write)).then(Self::write_error)
    }

    /// After a write (or flush) went `Pending`: the timeout's error once it passed.
    fn write_pending(&mut self, cx: &mut Context<'_>) -> Option<io::Error> {
        if self.write_timer.poll_expired(self.write_limit, cx) {
            self.expired = Some(Expired::Write);
            return Some(Self::write_error());
        }
        None
    }

    fn wrote<R>(
        &mut self,
        polled: Poll<io::Result<R>>,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<R>> {
        match polled {
            Poll::Pending => match self.write_pending(cx) {
                Some(e) => Poll::Ready(Err(e)),
                None => Poll::Pending,
            },
            done => {
                self.write_timer.disarm();
                done
            }
        }
    }
}

impl<T: Io> Io for Deadlines<T> {}

impl<T: Io> AsyncRead for Deadlines<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if let Some(expired) = this.expired {
            return Poll::Ready(Err(match expired {
                Expired::Read => Self::read_error(),
                Expired::Write => Self::write_error(),
            }));
        }
        let before = buf.filled().len();
        match Pin::new(&mut this.io).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                this.frames.observe(&buf.filled()[before..]);
                if !this.frames.partial() {
                    this.read_timer.disarm();
                }
                Poll::Ready(Ok(()))
            }
            Poll::Pending => {
                if this.frames.partial() && this.read_timer.poll_expired(this.read_limit, cx) {
                    this.expired = Some(Expired::Read);
                    return Poll::Ready(Err(Self::read_error()));
                }
                Poll::Pending
            }
            failed => failed,
        }
    }
}

impl<T: Io> AsyncWrite for Deadlines<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_write_vectored(cx, &[io::IoSlice::new(buf)])
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        if let Some(e) = this.dead() {
            return Poll::Ready(Err(e));
        }
        let polled = Pin::new(&mut this.io).poll_write_vectored(cx, bufs);
        this.wrote(polled, cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if let Some(e) = this.dead() {
            return Poll::Ready(Err(e));
        }
        let polled = Pin::new(&mut this.io).poll_flush(cx);
        this.wrote(polled, cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if let Some(e) = this.dead() {
            return Poll::Ready(Err(e));
        }
        let polled = Pin::new(&mut this.io).poll_shutdown(cx);
        this.wrote(polled, cx)
    }
}

/// A deadline armed when a wait begins and disarmed when it ends; its `Sleep` is
/// made on first use and reset after that.
#[derive(Default)]
struct Timer {
    sleep: Option<Pin<Box<Sleep>>>,
    armed: bool,
}

impl Timer {
    /// Arms the timer `limit` from now unless it is armed; whether it has passed
    /// (if not, `cx` is woken when it does).
    fn poll_expired(&mut self, limit: Duration, cx: &mut Context<'_>) -> bool {
        if !self.armed {
            self.armed = true;
            let deadline = Instant::now() + limit;
            match &mut self.sleep {
                Some(sleep) => sleep.as_mut().reset(deadline),
                None => self.sleep = Some(Box::pin(tokio::time::sleep_until(deadline))),
            }
        }
        match &mut self.sleep {
            Some(sleep) => sleep.as_mut().poll(cx).is_ready(),
            None => false,
        }
    }

    /// The wait ended in time. The `Sleep` stays registered (a late wake-up of the
    /// task is harmless) and is reset when the next wait begins.
    #[inline]
    fn disarm(&mut self) {
        self.armed = false;
    }
}

/// Where the bytes from the client stand among frames: just enough of RFC 6455's
/// framing (§5.2) to tell whether a frame, or a message fragmented over several,
/// has begun and not ended. tungstenite still parses and checks every frame.
#[derive(Debug, Default, PartialEq)]
struct Frames {
    /// The header of the frame being received, while it is incomplete.
    head: [u8; MAX_HEAD],
    head_len: usize,
    /// Payload bytes of the current frame still to come.
    payload_left: u64,
    /// A data frame without FIN was seen: its message goes on in continuation
    /// frames (control frames may come in between).
    in_message: bool,
}

/// The longest frame header: 2 bytes, an 8-byte length and a 4-byte mask.
const MAX_HEAD: usize = 14;

/// The length of a header whose second byte is `b1`.
fn head_size(b1: u8) -> usize {
    let mask = if b1 & 0x80 != 0 { 4 } else { 0 };
    match b1 & 0x7f {
        126 => 4 + mask,
        127 => 10 + mask,
        _ => 2 + mask,
    }
}

impl Frames {
    /// A frame or a fragmented message has begun and not ended.
    fn partial(&self) -> bool {
        self.head_len > 0 || self.payload_left > 0 || self.in_message
    }

    /// Follows the frames through `bytes`, the next bytes from the client.
    fn observe(&mut self, mut bytes: &[u8]) {
        loop {
            if self.payload_left > 0 {
                let n = self.payload_left.min(bytes.len() as u64);
                self.payload_left -= n;
                bytes = &bytes[n as usize..];
            }
            let Some(&first) = bytes.first() else {
                return;
            };
            // A header begins here. The usual case: all of it is in `bytes`.
            if self.head_len == 0 {
                if let Some(h) = bytes.get(1).and_then(|&b1| bytes.get(..head_size(b1))) {
                    self.begin(h);
                    bytes = &bytes[h.len()..];
                    continue;
                }
            }
            // A header cut by the end of a read: gathered a byte at a time.
            self.head[self.head_len] = first;
            self.head_len += 1;
            bytes = &bytes[1..];
            if self.head_len >= 2 && self.head_len == head_size(self.head[1]) {
                let head = self.head;
                self.begin(&head[..self.head_len]);
            }
        }
    }

    /// A whole frame header `h`: its payload (if any) comes next.
    #[inline]
    fn begin(&mut self, h: &[u8]) {
        self.payload_left = match h[1] & 0x7f {
            126 => u64::from(u16::from_be_bytes([h[2], h[3]])),
            127 => u64::from_be_bytes([h[2], h[3], h[4], h[5], h[6], h[7], h[8], h[9]]),
            n => u64::from(n),
        };
        // Opcodes 0-7 are data (and continuation) frames; 8-15 control frames,
        // which never end or begin a message.
        if h[0] & 0x08 == 0 {
            self.in_message = h[0] & 0x80 == 0;
        }
        self.head_len = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::Frames;

    /// A masked client frame header: `fin`, `opcode`, payload length `len`.
    fn head(fin: bool, opcode: u8, len: u64) -> Vec<u8> {
        let mut h = vec![if fin { 0x80 } else { 0 } | opcode];
        match len {
            0..=125 => h.push(0x80 | len as u8),
            126..=0xffff => {
                h.push(0x80 | 126);
                h.extend_from_slice(&(len as u16).to_be_bytes());
            }
            _ => {
                h.push(0x80 | 127);
                h.extend_from_slice(&len.to_be_bytes());
            }
        }
        h.extend_from_slice(&[1, 2, 3, 4]);
        h
    }

    fn frame(fin: bool, opcode: u8, len: usize) -> Vec<u8> {
        let mut f = head(fin, opcode, len as u64);
        f.resize(f.len() + len, 0xaa);
        f
    }

    #[test]
    fn whole_frames_leave_nothing_partial_however_they_are_cut() {
        let mut stream = Vec::new();
        for (fin, opcode, len) in [
            (true, 1, 5),
            (true, 2, 0),
            (true, 2, 300),
            (true, 2, 70_000),
            (false, 1, 10),
            (true, 9, 4), // a ping inside the fragmented message
            (true, 0, 10),
        ] {
            stream.extend(frame(fin, opcode, len));
        }
        for cut in [1, 2, 3, 7, 13, 14, 1000, stream.len()] {
            let mut f = Frames::default();
            for piece in stream.chunks(cut) {
                f.observe(piece);
            }
            assert!(!f.partial(), "pieces of {cut}: {f:?}");
        }
    }

    #[test]
    fn a_frame_or_message_under_way_is_partial() {
        let table: &[(&str, Vec<u8>)] = &[
            ("one header byte", vec![0x82]),
            (
                "a 64-bit length cut short",
                head(true, 2, 15 << 20)[..6].to_vec(),
            ),
            ("a header without its mask", head(true, 2, 10)[..3].to_vec()),
            ("a 15 MiB frame's header", head(true, 2, 15 << 20)),
            (
                "a payload short of one byte",
                frame(true, 1, 100)[..105].to_vec(),
            ),
            ("a first fragment", frame(false, 2, 10)),
            ("a first fragment and a ping", {
                let mut v = frame(false, 2, 10);
                v.extend(frame(true, 9, 0));
                v
            }),
        ];
        for (what, bytes) in table {
            let mut f = Frames::default();
            f.observe(bytes);
            assert!(f.partial(), "{what}: {f:?}");
        }
    }
}
