//! The per-worker ring: setup and feature detection, the provided-buffer ring, the
//! table of each connection's operations, and the driver task that submits and reaps.
//!
//! Ownership of memory the kernel uses: a connection's send buffer and its queue of
//! received buffers live here, in the connection's slot, not in the stream; a slot
//! (and its socket) is released only when the stream is gone *and* the kernel has
//! posted the last completion of every operation on it. So no operation ever sees a
//! freed buffer or a reused descriptor.

use std::alloc::Layout;
use std::cell::RefCell;
use std::collections::VecDeque;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::rc::Rc;
use std::sync::atomic::{AtomicU16, Ordering};
use std::task::{Context, Poll, Waker};

use ::io_uring::{cqueue, opcode, squeue, types, IoUring, Probe};
use tokio::io::unix::AsyncFd;

use super::{IoUringConfig, FORCE_FALLBACK_ENV};

/// The largest send buffer a connection keeps between batches (bigger ones are
/// freed once sent).
const MAX_KEPT_SEND_BUF: usize = 16 * 1024;

/// The one buffer group of a worker's ring.
const BGID: u16 = 0;

/// `user_data`: the slot in the upper bits, the kind of operation in the low two.
const KIND_MASK: u64 = 0b11;
const ACCEPT: u64 = 0;
const RECV: u64 = 1;
const SEND: u64 = 2;
/// Cancellations: their own completion carries nothing to act on.
const CANCEL: u64 = 3;

fn user_data(slot: usize, kind: u64) -> u64 {
    ((slot as u64) << 2) | kind
}

/// The worker's ring and what the driver task watches it with.
pub(crate) struct Driver {
    pub(super) inner: RefCell<Inner>,
    /// Signalled by the kernel on every completion (`IORING_REGISTER_EVENTFD`).
    eventfd: AsyncFd<OwnedFd>,
}

impl Driver {
    /// Sets up the ring, or says in a few words why the kernel refused.
    pub(crate) fn new(cfg: &IoUringConfig) -> Result<Rc<Driver>, String> {
        if std::env::var_os(FORCE_FALLBACK_ENV).is_some_and(|v| v == "1") {
            return Err(format!("{FORCE_FALLBACK_ENV}=1"));
        }
        let entries = cfg.ring_size.clamp(8, 32768).next_power_of_two();
        let build = |fast: bool| {
            let mut b = IoUring::builder();
            b.setup_cqsize(entries * 4).setup_clamp();
            if cfg.sqpoll {
                // The kernel rejects SINGLE_ISSUER with SQPOLL (its thread is the issuer).
                b.setup_sqpoll(cfg.sqpoll_idle_ms);
            } else if fast {
                // Not DEFER_TASKRUN: with it the kernel posts completions only when
                // the thread enters the ring to wait for them, so the eventfd the
                // driver sleeps on (in tokio's epoll wait) was not signalled, and a
                // received request waited for some other wake-up: 16 ms median a
                // request on one connection (`IO_URING=1` hello, wrk -c1: 62 req/s,
                // 11,262 without it).
                b.setup_single_issuer();
            }
            b.build(entries)
        };
        let ring = match build(true) {
            Ok(ring) => ring,
            // Before 6.0: no SINGLE_ISSUER; the rest may still be there.
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) && !cfg.sqpoll => match build(false) {
                Ok(ring) => ring,
                Err(e) => return Err(format!("io_uring_setup failed: {e}")),
            },
            Err(e) => return Err(format!("io_uring_setup failed: {e}")),
        };
        let mut probe = Probe::new();
        ring.submitter()
            .register_probe(&mut probe)
            .map_err(|e| format!("cannot probe the kernel's io_uring operations: {e}"))?;
        for (code, name) in [
            (opcode::AcceptMulti::CODE, "ACCEPT"),
            (opcode::RecvMulti::CODE, "RECV"),
            (opcode::Send::CODE, "SEND"),
            (opcode::AsyncCancel::CODE, "ASYNC_CANCEL"),
            // Multishot receive has no opcode of its own; it came in 6.0 with SEND_ZC.
            (
                opcode::SendZc::CODE,
                "SEND_ZC (kernel 6.0, multishot receive)",
            ),
        ] {
            if !probe.is_supported(code) {
                return Err(format!("the kernel lacks IORING_OP_{name}"));
            }
        }
        if !ring.params().is_feature_nodrop() || !ring.params().is_feature_fast_poll() {
            return Err("the kernel lacks IORING_FEAT_NODROP or IORING_FEAT_FAST_POLL".into());
        }
        let bufs = BufRing::new(&ring, cfg.buffers, cfg.buffer_size)
            .map_err(|e| format!("cannot register a provided-buffer ring: {e}"))?;
        let fixed_files = register_file_table(&ring);
        // SAFETY: eventfd takes no pointers; a negative return is checked below.
        let efd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
        if efd < 0 {
            return Err(format!("eventfd failed: {}", io::Error::last_os_error()));
        }
        // SAFETY: `efd` was just created and is owned by nothing else.
        let efd = unsafe { OwnedFd::from_raw_fd(efd) };
        ring.submitter()
            .register_eventfd(efd.as_raw_fd())
            .map_err(|e| format!("cannot register an eventfd with the ring: {e}"))?;
        // SAFETY: the `OwnedFd` moves into the `AsyncFd`, which owns it from here on:
        // nothing else closes or replaces the descriptor while it is registered.
        let eventfd =
            unsafe { AsyncFd::register_with_interest(efd, tokio::io::Interest::READABLE) }
                .map_err(|e| format!("cannot watch the ring's eventfd: {e}"))?;
        Ok(Rc::new(Driver {
            inner: RefCell::new(Inner {
                ring,
                fixed_files,
                bufs: std::mem::ManuallyDrop::new(bufs),
                conns: Vec::new(),
                free: Vec::new(),
                accept: Accept::default(),
                driver_waker: None,
                kicked: false,
                starved: Vec::new(),
                max_per_conn: usize::from(cfg.max_buffers_per_connection.max(1)),
                cqes: Vec::new(),
            }),
            eventfd,
        }))
    }

    /// The driver task: one turn each time it is woken, by the eventfd (completions)
    /// or by a connection that queued a submission. Runs until aborted.
    pub(crate) async fn run(self: Rc<Self>) {
        std::future::poll_fn(|cx| {
            self.turn(cx);
            Poll::<()>::Pending
        })
        .await
    }

    fn turn(&self, cx: &mut Context<'_>) {
        // Readiness is cleared *before* the reap: a completion posted after it signals
        // the eventfd again, and that wakes this task. The eventfd is never read: tokio
        // registers it edge-triggered, and every signal is a new edge (the counter
        // only grows; 2^64 completions are out of reach). That saves a read per turn.
        while let Poll::Ready(Ok(mut ready)) = self.eventfd.poll_read_ready(cx) {
            ready.clear_ready();
        }
        let mut inner = self.inner.borrow_mut();
        match &inner.driver_waker {
            Some(w) if w.will_wake(cx.waker()) => {}
            _ => inner.driver_waker = Some(cx.waker().clone()),
        }
        inner.kicked = false;
        inner.submit_and_reap();
        // What the completions queued (a partial send's rest, a re-armed receive) goes
        // with the next turn's submissions, after the connections it woke have run.
        if !inner.ring.submission().is_empty() || !inner.cqes.is_empty() {
            inner.kicked = true;
            cx.waker().wake_by_ref();
        }
    }

    /// Takes ownership of the worker's listener; accepted sockets come from
    /// [`Driver::poll_accept`].
    pub(crate) fn listen(&self, listener: std::net::TcpListener) {
        let mut inner = self.inner.borrow_mut();
        inner.accept.listener = Some(listener);
    }

    /// The next accepted socket (multishot accept, re-armed when the kernel ends it).
    pub(crate) fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<OwnedFd>> {
        let mut inner = self.inner.borrow_mut();
        if let Some(r) = inner.accept.queue.pop_front() {
            return Poll::Ready(r);
        }
        if !inner.accept.armed && !inner.accept.closed {
            if let Some(fd) = inner.accept.listener.as_ref().map(AsRawFd::as_raw_fd) {
                let sqe = opcode::AcceptMulti::new(types::Fd(fd))
                    .flags(libc::SOCK_CLOEXEC)
                    .build()
                    .user_data(user_data(0, ACCEPT));
                inner.push(sqe);
                inner.accept.armed = true;
            }
        }
        inner.accept.waker = Some(cx.waker().clone());
        Poll::Pending
    }

    /// Stops accepting: the multishot accept is cancelled and the listener closed once
    /// the kernel has let go of it (at once when nothing is in flight).
    pub(crate) fn close_accept(&self) {
        let mut inner = self.inner.borrow_mut();
        inner.accept.closed = true;
        inner.accept.queue.clear();
        inner.accept.waker = None;
        if inner.accept.armed {
            let sqe = opcode::AsyncCancel::new(user_data(0, ACCEPT))
                .build()
                .user_data(user_data(0, CANCEL));
            inner.push(sqe);
        } else {
            inner.accept.listener = None;
        }
    }

    /// A new connection's slot, its multishot receive armed at once.
    pub(crate) fn open(&self, fd: OwnedFd) -> usize {
        let mut inner = self.inner.borrow_mut();
        let conn = Conn::new(fd);
        let slot = match inner.free.pop() {
            Some(slot) => {
                inner.conns[slot] = Some(conn);
                slot
            }
            None => {
                inner.conns.push(Some(conn));
                inner.conns.len() - 1
            }
        };
        inner.register_file(slot);
        inner.arm_recv(slot);
        slot
    }
}

/// The multishot accept's state.
#[derive(Default)]
struct Accept {
    listener: Option<std::net::TcpListener>,
    armed: bool,
    closed: bool,
    queue: VecDeque<io::Result<OwnedFd>>,
    waker: Option<Waker>,
}

/// One connection's side of the ring.
pub(super) struct Conn {
    pub fd: OwnedFd,
    /// The socket is also in the ring's file table, at the slot's index: receives
    /// and sends name it there (`types::Fixed`). The descriptor stays open beside it
    /// for what is done outside the ring (shutdown, the connection manager's culls).
    pub fixed: bool,
    /// The stream still exists.
    pub open: bool,
    /// A multishot receive is in flight (until its final completion).
    pub recv_armed: bool,
    /// Its cancellation has been queued.
    pub recv_cancelling: bool,
    /// Received, unread data: `(buffer id, offset, length)`.
    pub data: VecDeque<(u16, u32, u32)>,
    pub eof: bool,
    pub read_err: Option<io::Error>,
    pub read_waker: Option<Waker>,
    /// The batch being sent; the kernel reads `send_buf[send_pos..]` while
    /// `send_inflight`, so it is not touched then.
    pub send_buf: Vec<u8>,
    pub send_pos: usize,
    pub send_inflight: bool,
    pub send_err: Option<io::Error>,
    pub write_waker: Option<Waker>,
}

impl Conn {
    fn new(fd: OwnedFd) -> Conn {
        Conn {
            fd,
            fixed: false,
            open: true,
            recv_armed: false,
            recv_cancelling: false,
            data: VecDeque::new(),
            eof: false,
            read_err: None,
            read_waker: None,
            send_buf: Vec::new(),
            send_pos: 0,
            send_inflight: false,
            send_err: None,
            write_waker: None,
        }
    }

    fn busy(&self) -> bool {
        self.recv_armed || self.send_inflight
    }
}

pub(super) struct Inner {
    ring: IoUring,
    /// Entries of the ring's registered file table (0: none, see
    /// [`register_file_table`]): slot `i` below it has its socket at index `i`.
    fixed_files: u32,
    /// Dropped by hand (see `Drop`): leaked if the kernel may still write into it.
    pub bufs: std::mem::ManuallyDrop<BufRing>,
    conns: Vec<Option<Conn>>,
    free: Vec<usize>,
    accept: Accept,
    driver_waker: Option<Waker>,
    /// The driver has been woken and not run since.
    kicked: bool,
    /// Connections whose receive ended for want of buffers (`ENOBUFS`).
    starved: Vec<usize>,
    pub max_per_conn: usize,
    /// Scratch for one reap.
    cqes: Vec<(u64, i32, u32)>,
}

impl Inner {
    pub fn conn(&mut self, slot: usize) -> &mut Conn {
        self.conns[slot].as_mut().expect("a live connection slot")
    }

    /// Queues a submission and wakes the driver (once per turn), which submits
    /// everything queued in one `io_uring_enter`.
    pub fn push(&mut self, sqe: squeue::Entry) {
        loop {
            // SAFETY: every entry built here points only at memory that outlives the
            // operation: send buffers and received-buffer memory are held in
            // connection slots and the buffer ring until the final completion (see the
            // module's comment).
            if unsafe { self.ring.submission().push(&sqe) }.is_ok() {
                break;
            }
            // The queue is full: hand it to the kernel now and retry. If the kernel
            // refuses (`EBUSY`: completions it could not post yet), take the posted
            // ones off the completion queue, for the next turn to act on, and retry.
            if self.ring.submit().is_err() {
                let cqes = &mut self.cqes;
                cqes.extend(
                    self.ring
                        .completion()
                        .map(|c| (c.user_data(), c.result(), c.flags())),
                );
            }
        }
        self.kick();
    }

    /// Arms the connection's multishot receive if it should be receiving.
    pub fn arm_recv(&mut self, slot: usize) {
        let max = self.max_per_conn;
        let c = self.conn(slot);
        if c.recv_armed || !c.open || c.eof || c.read_err.is_some() || c.data.len() >= max {
            return;
        }
        c.recv_armed = true;
        let sqe = if c.fixed {
            opcode::RecvMulti::new(types::Fixed(slot as u32), BGID).build()
        } else {
            opcode::RecvMulti::new(types::Fd(c.fd.as_raw_fd()), BGID).build()
        }
        .user_data(user_data(slot, RECV));
        self.push(sqe);
    }

    /// Starts sending `send_buf[send_pos..]`.
    pub fn start_send(&mut self, slot: usize) {
        let c = self.conn(slot);
        c.send_inflight = true;
        let rest = &c.send_buf[c.send_pos..];
        let (ptr, len) = (rest.as_ptr(), rest.len().min(u32::MAX as usize) as u32);
        let sqe = if c.fixed {
            opcode::Send::new(types::Fixed(slot as u32), ptr, len)
                .flags(libc::MSG_NOSIGNAL)
                .build()
        } else {
            opcode::Send::new(types::Fd(c.fd.as_raw_fd()), ptr, len)
                .flags(libc::MSG_NOSIGNAL)
                .build()
        }
        .user_data(user_data(slot, SEND));
        self.push(sqe);
    }

    /// Gives a received buffer back (to the kernel at the next turn, see
    /// [`BufRing::top_up`]); a receive that stopped for want of one is re-armed then,
    /// so the driver is woken for it.
    pub fn recycle(&mut self, bid: u16) {
        self.bufs.recycle(bid);
        if !self.starved.is_empty() {
            self.kick();
        }
    }

    /// Wakes the driver (once per turn).
    fn kick(&mut self) {
        if !self.kicked {
            self.kicked = true;
            if let Some(w) = &self.driver_waker {
                w.wake_by_ref();
            }
        }
    }

    /// Before each submit: publish the buffers this turn may need, then re-arm the
    /// receives that stopped for want of one (they go in the same submit).
    fn refill(&mut self) {
        self.bufs.top_up();
        if !self.starved.is_empty() && self.bufs.published > 0 {
            let starved = std::mem::take(&mut self.starved);
            for slot in starved {
                if matches!(self.conns.get(slot), Some(Some(_))) {
                    self.arm_recv(slot);
                }
            }
        }
    }

    /// The stream is gone: stop receiving, drop unread data; the slot is freed when
    /// the kernel is done with it.
    pub fn release(&mut self, slot: usize) {
        let c = self.conn(slot);
        c.open = false;
        c.read_waker = None;
        c.write_waker = None;
        let unread: Vec<u16> = c.data.drain(..).map(|(bid, _, _)| bid).collect();
        let cancel = c.recv_armed && !c.recv_cancelling;
        if cancel {
            c.recv_cancelling = true;
        }
        for bid in unread {
            self.bufs.recycle(bid);
        }
        if cancel {
            self.cancel(user_data(slot, RECV));
        }
        self.try_free(slot);
    }

    /// Puts a new connection's socket in the ring's file table, at its slot's index,
    /// when the table has room for it (otherwise its operations name the descriptor).
    ///
    /// Why: the kernel looks a plain descriptor up (`fget`, and `fput` after) on
    /// every `SEND`; a fixed file is an index into the table (perf, hello
    /// /plaintext c=64: `fget` + `fput` 0.06-0.07 µs per request, 0.01-0.02 with
    /// the table). It costs one `io_uring_register` when the connection opens and
    /// one when it closes, not per request; the descriptor itself stays open (see
    /// [`Conn::fixed`]), so nothing else changes.
    fn register_file(&mut self, slot: usize) {
        if (slot as u64) < u64::from(self.fixed_files) {
            let fd = self.conn(slot).fd.as_raw_fd();
            let ok = self
                .ring
                .submitter()
                .register_files_update(slot as u32, &[fd])
                .is_ok_and(|n| n == 1);
            self.conn(slot).fixed = ok;
        }
    }

    fn cancel(&mut self, target: u64) {
        let sqe = opcode::AsyncCancel::new(target)
            .build()
            .user_data(user_data(0, CANCEL));
        self.push(sqe);
    }

    fn try_free(&mut self, slot: usize) {
        let c = self.conn(slot);
        if !c.open && !c.busy() {
            if c.fixed {
                // The table's reference goes first, or closing the descriptor would
                // not close the socket (the peer would never see the FIN). Nothing
                // in flight names the index any more.
                let _ = self
                    .ring
                    .submitter()
                    .register_files_update(slot as u32, &[-1]);
            }
            // Closes the socket: nothing queued or in flight refers to it any more.
            self.conns[slot] = None;
            self.free.push(slot);
        }
    }

    fn submit_and_reap(&mut self) {
        self.refill();
        // Only when there is something to submit: completions are posted by the
        // kernel as they happen (and signal the eventfd).
        if !self.ring.submission().is_empty() {
            let _ = self.ring.submit();
        }
        // Completions taken off early (see `push`) come first, in order.
        let mut cqes = std::mem::take(&mut self.cqes);
        cqes.extend(
            self.ring
                .completion()
                .map(|c| (c.user_data(), c.result(), c.flags())),
        );
        for &(ud, res, flags) in &cqes {
            let slot = (ud >> 2) as usize;
            match ud & KIND_MASK {
                ACCEPT => self.on_accept(res, flags),
                RECV => self.on_recv(slot, res, flags),
                SEND => self.on_send(slot, res),
                _ => {}
            }
        }
        cqes.clear();
        // What `push` took off the queue meanwhile waits for the next turn.
        cqes.append(&mut self.cqes);
        self.cqes = cqes;
    }

    fn on_accept(&mut self, res: i32, flags: u32) {
        let more = cqueue::more(flags);
        if !more {
            self.accept.armed = false;
        }
        if self.accept.closed {
            if res >= 0 {
                // SAFETY: the kernel gave us this new descriptor; nothing else owns it.
                drop(unsafe { OwnedFd::from_raw_fd(res) });
            }
            if !more {
                self.accept.listener = None;
            }
            return;
        }
        let r = if res >= 0 {
            // SAFETY: as above.
            Ok(unsafe { OwnedFd::from_raw_fd(res) })
        } else if res == -libc::ECANCELED {
            return;
        } else {
            Err(io::Error::from_raw_os_error(-res))
        };
        self.accept.queue.push_back(r);
        if let Some(w) = &self.accept.waker {
            w.wake_by_ref();
        }
    }

    fn on_recv(&mut self, slot: usize, res: i32, flags: u32) {
        let more = cqueue::more(flags);
        let max = self.max_per_conn;
        let mut recycle = None;
        let mut cancel = false;
        let mut starved = false;
        if cqueue::buffer_select(flags).is_some() {
            self.bufs.taken();
        }
        let c = self.conns[slot].as_mut().expect("a receive's slot is live");
        if res > 0 {
            let bid = cqueue::buffer_select(flags).expect("a receive into a provided buffer");
            if c.open {
                c.data.push_back((bid, 0, res as u32));
                // Too much unread: pause this connection's receive until it reads.
                if more && c.data.len() >= max && !c.recv_cancelling {
                    c.recv_cancelling = true;
                    cancel = true;
                }
            } else {
                recycle = Some(bid);
            }
        } else {
            recycle = cqueue::buffer_select(flags);
            match -res {
                0 => c.eof = true,
                libc::ENOBUFS => starved = c.open,
                libc::ECANCELED => {}
                errno => c.read_err = Some(io::Error::from_raw_os_error(errno)),
            }
        }
        if !more {
            c.recv_armed = false;
            c.recv_cancelling = false;
        }
        if let Some(w) = &c.read_waker {
            w.wake_by_ref();
        }
        let empty = c.data.is_empty();
        if let Some(bid) = recycle {
            self.bufs.recycle(bid);
        }
        if cancel {
            self.cancel(user_data(slot, RECV));
        }
        // With data queued, the reader re-arms once it has read it; without, the next
        // buffer given back does.
        if starved && empty {
            self.starved.push(slot);
        }
        if !more {
            self.try_free(slot);
        }
    }

    fn on_send(&mut self, slot: usize, res: i32) {
        let c = self.conns[slot].as_mut().expect("a send's slot is live");
        c.send_inflight = false;
        if res > 0 {
            c.send_pos += res as usize;
            if c.send_pos < c.send_buf.len() {
                // A partial send: the rest goes at once, even if the stream is gone
                // (its last responses are still owed to the peer).
                self.start_send(slot);
                return;
            }
            c.send_buf.clear();
            c.send_pos = 0;
            // A large batch's buffer is not kept by a connection that may now idle.
            if c.send_buf.capacity() > MAX_KEPT_SEND_BUF {
                c.send_buf = Vec::new();
            }
        } else {
            c.send_err = Some(if res == 0 {
                io::ErrorKind::WriteZero.into()
            } else {
                io::Error::from_raw_os_error(-res)
            });
            c.send_buf.clear();
            c.send_pos = 0;
        }
        if let Some(w) = &c.write_waker {
            w.wake_by_ref();
        }
        self.try_free(slot);
    }

    fn in_flight(&self) -> bool {
        self.accept.armed || self.conns.iter().flatten().any(Conn::busy)
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        if self.in_flight() {
            // Operations still in flight (a worker stopped with connections cut off
            // after the drain timeout) may still write into received buffers or read
            // send buffers after the ring is closed: their memory is left to the
            // process rather than freed under the kernel.
            std::mem::forget(std::mem::take(&mut self.conns));
        } else {
            // SAFETY: dropped once, here; no operation in flight can use it.
            unsafe { std::mem::ManuallyDrop::drop(&mut self.bufs) };
        }
    }
}

/// The most entries of a worker's registered file table: the kernel allocates them
/// all (8 bytes each) up front; connections past it use their plain descriptors.
const MAX_FIXED_FILES: u32 = 16384;

/// Registers an empty (sparse, 5.19) file table for the connections' sockets and
/// returns its size, or 0 where the kernel refuses (older kernels, or a descriptor
/// limit of 0: the kernel caps the table at `RLIMIT_NOFILE`); then every connection
/// uses its plain descriptor, as before.
fn register_file_table(ring: &IoUring) -> u32 {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `lim` is a valid out-pointer for the call.
    let nofile = if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } == 0 {
        lim.rlim_cur.min(u64::from(MAX_FIXED_FILES)) as u32
    } else {
        0
    };
    if nofile == 0 || ring.submitter().register_files_sparse(nofile).is_err() {
        return 0;
    }
    nofile
}

/// The provided-buffer ring (`IORING_REGISTER_PBUF_RING`): `count` buffers of `size`
/// bytes that the kernel picks from for multishot receives.
///
/// Only a hot few are in the ring at a time: a buffer given back goes on a stack
/// (`spare`), and each turn puts back in the ring, from the top of that stack, as many
/// as the last turn used (twice that, and at least [`MIN_HOT`]). The kernel takes
/// buffers in ring order, so with all of them in the ring every receive would land in
/// the one used longest ago, `count` buffers back: cold in the cache and the TLB.
///
/// The buffers lie `stride(size)` bytes apart, an odd number of cache lines, not `size`:
/// the kernel takes them in ring order, so each receive lands in the buffer used
/// longest ago, and with a 4 KiB stride the first lines of all of them (where a small
/// request lands) map to the same few cache sets: every receive's copy missed the
/// cache (perf, hello /plaintext c=64: `_copy_to_iter` 8.5% of the server's CPU, 2.2%
/// with an odd stride, against 1.1% for epoll's `recv` into a pooled buffer).
pub(super) struct BufRing {
    entries: *mut types::BufRingEntry,
    entries_layout: Layout,
    mem: *mut u8,
    mem_layout: Layout,
    size: u32,
    stride: usize,
    mask: u16,
    tail: u16,
    /// Buffers given back and not yet in the ring, the most recent last.
    spare: Vec<u16>,
    /// Buffers in the ring that no completion has reported taken yet.
    pub published: usize,
    /// Buffers completions reported taken since the last [`BufRing::top_up`].
    taken: usize,
}

/// The buffer memory is 2 MiB-aligned and advised `MADV_HUGEPAGE`: each receive lands
/// in a different buffer, each on its own 4 KiB page, so with small pages the
/// kernel's copy into them missed the TLB (perf, hello /plaintext c=64:
/// `_copy_to_iter` 0.15-0.16 µs per request, 0.08-0.09 on huge pages, against 0.07
/// for epoll's `recv` into a pooled buffer). The hot buffers are the lowest ids (the
/// spare stack starts with buffer 0 on top), so they share the first huge page: it
/// costs up to 2 MiB resident per worker, where 4 KiB pages held only the buffers
/// used.
const HUGE_PAGE: usize = 2 << 20;

/// The fewest buffers [`BufRing::top_up`] leaves in the ring.
const MIN_HOT: usize = 32;

impl BufRing {
    fn new(ring: &IoUring, count: u16, size: u32) -> io::Result<BufRing> {
        let count = count.clamp(1, 32768).next_power_of_two();
        let size = size.max(64);
        let stride = stride(size);
        let entries_layout = Layout::from_size_align(
            usize::from(count) * std::mem::size_of::<types::BufRingEntry>(),
            4096,
        )
        .map_err(io::Error::other)?;
        let len = usize::from(count) * stride;
        // Transparent huge pages for the buffers (see `HUGE_PAGE`) when they fill one.
        let huge = len >= HUGE_PAGE;
        let (len, align) = if huge {
            (len.next_multiple_of(HUGE_PAGE), HUGE_PAGE)
        } else {
            (len, 64)
        };
        let mem_layout = Layout::from_size_align(len, align).map_err(io::Error::other)?;
        // SAFETY: both layouts have a non-zero size.
        let entries =
            unsafe { std::alloc::alloc_zeroed(entries_layout) }.cast::<types::BufRingEntry>();
        // SAFETY: as above.
        let mem = unsafe { std::alloc::alloc(mem_layout) };
        if entries.is_null() || mem.is_null() {
            std::alloc::handle_alloc_error(entries_layout);
        }
        if huge {
            // Advice only: where the kernel has no transparent huge pages (or they are
            // off), the buffers stay on 4 KiB pages, as before.
            // SAFETY: `mem` is a live allocation of `len` bytes, 2 MiB-aligned; the
            // advice changes how it is backed, not its contents or validity.
            unsafe { libc::madvise(mem.cast(), len, libc::MADV_HUGEPAGE) };
        }
        let mut bufs = BufRing {
            entries,
            entries_layout,
            mem,
            mem_layout,
            size,
            stride,
            mask: count - 1,
            tail: 0,
            // Popped from the end: buffer 0 first.
            spare: (0..count).rev().collect(),
            published: 0,
            taken: 0,
        };
        // SAFETY: `entries` is page-aligned memory for `count` entries that lives until
        // `bufs` is dropped, which happens only after the ring (see `Inner`'s drop).
        unsafe {
            ring.submitter()
                .register_buf_ring_with_flags(entries as u64, count, BGID, 0)?;
        }
        bufs.top_up();
        Ok(bufs)
    }

    fn add(&mut self, bid: u16) {
        let idx = usize::from(self.tail & self.mask);
        // SAFETY: `idx` is within the `mask + 1` entries; the kernel reads entries only
        // up to the published tail, and this one is past it.
        let entry = unsafe { &mut *self.entries.add(idx) };
        // SAFETY: `bid` < count, so the buffer lies within `mem`.
        entry.set_addr(unsafe { self.mem.add(usize::from(bid) * self.stride) } as u64);
        entry.set_len(self.size);
        entry.set_bid(bid);
        self.tail = self.tail.wrapping_add(1);
    }

    fn publish(&self) {
        // SAFETY: the tail field sits in the first entry's reserved bytes, which
        // `set_*` never touch; the kernel reads it atomically.
        let tail = unsafe { &*types::BufRingEntry::tail(self.entries).cast::<AtomicU16>() };
        tail.store(self.tail, Ordering::Release);
    }

    /// A buffer back from a connection (or a closed one), for a later `top_up`.
    pub fn recycle(&mut self, bid: u16) {
        self.spare.push(bid);
    }

    /// A completion reported that the kernel took a buffer from the ring.
    pub fn taken(&mut self) {
        self.published = self.published.saturating_sub(1);
        self.taken += 1;
    }

    /// Puts the most recently used spare buffers in the ring until it holds twice
    /// what the last turn took (at least `MIN_HOT`, at most all of them).
    pub fn top_up(&mut self) {
        let want = (2 * self.taken).max(MIN_HOT);
        self.taken = 0;
        let before = self.published;
        while self.published < want {
            let Some(bid) = self.spare.pop() else { break };
            self.add(bid);
            self.published += 1;
        }
        if self.published != before {
            self.publish();
        }
    }

    /// `len` bytes at `off` of buffer `bid`, which the kernel filled and does not own.
    pub fn get(&self, bid: u16, off: u32, len: u32) -> &[u8] {
        debug_assert!(off + len <= self.size);
        // SAFETY: the buffer was handed to us by a completion and is not in the ring
        // until recycled, so the kernel does not write it while this borrow lives; the
        // range lies within it.
        unsafe {
            std::slice::from_raw_parts(
                self.mem.add(usize::from(bid) * self.stride + off as usize),
                len as usize,
            )
        }
    }
}

/// The distance between two receive buffers of `size` bytes: `size` rounded up to
/// whole cache lines, plus one when that is even, so that consecutive buffers start
/// in different cache sets (see [`BufRing`]).
fn stride(size: u32) -> usize {
    const LINE: usize = 64;
    let lines = (size as usize).div_ceil(LINE);
    (lines | 1) * LINE
}

impl Drop for BufRing {
    fn drop(&mut self) {
        // SAFETY: allocated in `new` with these layouts; the kernel no longer uses
        // them (the ring is closed and nothing was in flight).
        unsafe {
            std::alloc::dealloc(self.entries.cast(), self.entries_layout);
            std::alloc::dealloc(self.mem, self.mem_layout);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::stride;

    #[test]
    fn buffers_start_an_odd_number_of_cache_lines_apart() {
        for (size, want) in [
            (64, 64),
            (100, 192),
            (1088, 1088),
            (2048, 2112),
            (4096, 4160),
        ] {
            assert_eq!(stride(size), want, "size {size}");
        }
    }
}
