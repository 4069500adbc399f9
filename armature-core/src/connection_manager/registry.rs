//! The registry of a worker's live connections: their sockets and idle state, idle
//! culling (past the idle cap, or when `accept` is out of descriptors), and closing
//! idle connections at shutdown.

use std::cell::Cell;
use std::os::fd::{BorrowedFd, RawFd};
use std::rc::Rc;

use socket2::SockRef;

use super::{ConnectionManager, Slot};

/// What [`ConnectionManager::relieve_descriptors`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Relief {
    /// Closed this many idle connections: their descriptors are free once their
    /// loops have run.
    Closed(usize),
    /// Connections closed before are still letting go of their descriptors.
    Closing,
    /// No connection is idle: nothing to close.
    Nothing,
}

/// A connection's registration with its worker's manager; unregisters on drop.
pub(crate) struct ConnHandle {
    manager: Rc<ConnectionManager>,
    slot: Rc<Slot>,
    id: u64,
}

impl ConnectionManager {
    /// Registers a just-accepted connection. It counts as idle from when its loop
    /// first waits for a request ([`ConnHandle::enter_idle`]).
    pub(crate) fn register(self: &Rc<Self>, fd: RawFd) -> ConnHandle {
        let id = self.next_id.get();
        self.next_id.set(id + 1);
        let slot = Rc::new(Slot {
            fd,
            idle: Cell::new(false),
            since: Cell::new(0),
            shed: Cell::new(false),
        });
        self.conns.borrow_mut().insert(id, slot.clone());
        self.update_keep_alive();
        ConnHandle {
            manager: self.clone(),
            slot,
            id,
        }
    }

    /// Closes the idle connections that have waited longest, down to a little under
    /// `max_idle_connections`.
    #[cold]
    fn cull(&self) {
        let max = self.settings.max_idle;
        let target = max - max / 16;
        let excess = self.idle.get().saturating_sub(target);
        if excess > 0 {
            self.close_longest_idle(excess, false);
        }
    }

    /// Closes up to `n` of the connections idle the longest; returns how many.
    /// `shed`: to free their descriptors (counted until they unregister).
    fn close_longest_idle(&self, n: usize, shed: bool) -> usize {
        let conns = self.conns.borrow();
        let mut idle: Vec<&Rc<Slot>> = conns.values().filter(|s| s.idle.get()).collect();
        let n = n.min(idle.len());
        if n < idle.len() {
            idle.select_nth_unstable_by_key(n, |s| s.since.get());
        }
        for slot in &idle[..n] {
            // No longer counted idle: its loop sees end-of-file and unregisters.
            slot.idle.set(false);
            slot.shed.set(shed);
            shutdown_read(slot.fd);
        }
        self.idle.set(self.idle.get() - n);
        self.culled.set(self.culled.get() + n as u64);
        if shed {
            self.shedding.set(self.shedding.get() + n);
        }
        n
    }

    /// `accept` ran out of file descriptors: closes some of the connections idle
    /// the longest (an eighth of the idle ones, at least 1, at most 32), unless
    /// those closed last time have not let go of theirs yet. What it did tells the
    /// accept loop whether to retry at once or to wait.
    #[cold]
    pub(crate) fn relieve_descriptors(&self) -> Relief {
        if self.shedding.get() > 0 {
            return Relief::Closing;
        }
        let idle = self.idle.get();
        if idle == 0 {
            return Relief::Nothing;
        }
        let n = (idle / 8).clamp(1, 32);
        Relief::Closed(self.close_longest_idle(n, true))
    }

    /// Wakes every idle connection so it closes (shutdown); busy ones close after
    /// their response, which announces it.
    pub(crate) fn close_idle(&self) {
        for slot in self.conns.borrow().values() {
            if slot.idle.get() {
                shutdown_read(slot.fd);
            }
        }
    }

    /// Resolves once no connection is registered.
    pub(crate) async fn drained(&self) {
        while !self.conns.borrow().is_empty() {
            self.drained.notified().await;
        }
    }
}

/// Ends the read side of a registered connection's socket: its pending read returns
/// end-of-file and its loop finishes.
fn shutdown_read(fd: RawFd) {
    // SAFETY: `fd` belongs to a live connection: a slot leaves the registry
    // (`ConnHandle::drop`) before its connection's socket is dropped, and the
    // registry is only touched from the worker's thread.
    let fd = unsafe { BorrowedFd::borrow_raw(fd) };
    let _ = SockRef::from(&fd).shutdown(std::net::Shutdown::Read);
}

impl ConnHandle {
    /// Marks the connection idle: it waits for the first byte of a request. May
    /// cull the worker's longest-idle connections (never this one: it is the
    /// newest). Pairs with [`leave_idle`](ConnHandle::leave_idle).
    #[inline]
    pub fn enter_idle(&self) {
        let slot = &*self.slot;
        let m = &*self.manager;
        slot.idle.set(true);
        let stamp = m.idle_seq.get();
        m.idle_seq.set(stamp + 1);
        slot.since.set(stamp);
        let n = m.idle.get() + 1;
        m.idle.set(n);
        if n > m.settings.max_idle {
            m.cull();
        }
    }

    /// Marks the connection busy again (a no-op when it was culled meanwhile).
    #[inline]
    pub fn leave_idle(&self) {
        let slot = &*self.slot;
        if slot.idle.get() {
            slot.idle.set(false);
            let m = &*self.manager;
            m.idle.set(m.idle.get() - 1);
        }
    }
}

impl Drop for ConnHandle {
    fn drop(&mut self) {
        let m = &*self.manager;
        if self.slot.idle.get() {
            m.idle.set(m.idle.get() - 1);
        }
        if self.slot.shed.get() {
            m.shedding.set(m.shedding.get() - 1);
        }
        let empty = {
            let mut conns = m.conns.borrow_mut();
            conns.remove(&self.id);
            conns.is_empty()
        };
        m.update_keep_alive();
        if empty {
            m.drained.notify_one();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::ConnectionManagerConfig;
    use super::*;
    use std::net::{TcpListener, TcpStream};
    use std::os::fd::AsRawFd;
    use std::time::Duration;

    /// A connected pair of loopback sockets: (client, server side).
    fn pair(listener: &TcpListener) -> (TcpStream, TcpStream) {
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        (client, server)
    }

    fn is_read_shut(s: &TcpStream) -> bool {
        use std::io::Read;
        s.set_nonblocking(true).unwrap();
        let mut b = [0u8; 1];
        matches!((&*s).read(&mut b), Ok(0))
    }

    #[test]
    fn culling_closes_the_longest_idle_first() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let m = Rc::new(ConnectionManager::new(
            ConnectionManagerConfig::default().max_idle_connections(2),
        ));
        let socks: Vec<_> = (0..4).map(|_| pair(&listener)).collect();
        let handles: Vec<_> = socks
            .iter()
            .map(|(_, s)| {
                let h = m.register(s.as_raw_fd());
                h.enter_idle();
                h
            })
            .collect();
        let shut: Vec<bool> = socks.iter().map(|(_, s)| is_read_shut(s)).collect();
        assert_eq!(shut, [true, true, false, false]);
        let st = m.stats();
        assert_eq!((st.live_connections, st.idle_connections), (4, 2));
        assert_eq!(st.culled_connections, 2);
        drop(handles);
        let st = m.stats();
        assert_eq!((st.live_connections, st.idle_connections), (0, 0));
    }

    #[test]
    fn a_busy_connection_is_never_culled_and_going_idle_again_is_newest() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let m = Rc::new(ConnectionManager::new(
            ConnectionManagerConfig::default().max_idle_connections(1),
        ));
        let (_c1, s1) = pair(&listener);
        let (_c2, s2) = pair(&listener);
        let h1 = m.register(s1.as_raw_fd());
        h1.enter_idle();
        h1.leave_idle(); // busy with a request
        let h2 = m.register(s2.as_raw_fd());
        h2.enter_idle();
        assert!(!is_read_shut(&s1) && !is_read_shut(&s2));
        h1.enter_idle(); // h1 is now the newest idle one: h2 goes
        assert!(is_read_shut(&s2));
        assert!(!is_read_shut(&s1));
        drop((h1, h2));
    }

    #[test]
    fn descriptor_relief_closes_the_longest_idle_and_waits_for_them() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let m = Rc::new(ConnectionManager::new(
            ConnectionManagerConfig::default().max_idle_connections(0),
        ));
        assert_eq!(m.relieve_descriptors(), Relief::Nothing);
        let socks: Vec<_> = (0..20).map(|_| pair(&listener)).collect();
        let mut handles: Vec<_> = socks
            .iter()
            .map(|(_, s)| m.register(s.as_raw_fd()))
            .collect();
        handles[0].enter_idle();
        handles[0].leave_idle(); // busy: never closed
        for h in &handles[1..] {
            h.enter_idle();
        }
        // 19 idle: an eighth (2), the longest idle first.
        assert_eq!(m.relieve_descriptors(), Relief::Closed(2));
        let shut: Vec<bool> = socks.iter().map(|(_, s)| is_read_shut(s)).collect();
        assert_eq!(&shut[..4], [false, true, true, false]);
        assert!(shut[4..].iter().all(|s| !s));
        assert_eq!(
            m.relieve_descriptors(),
            Relief::Closing,
            "until they unregister"
        );
        handles.remove(2);
        assert_eq!(m.relieve_descriptors(), Relief::Closing);
        handles.remove(1);
        assert_eq!(m.relieve_descriptors(), Relief::Closed(2));
        let st = m.stats();
        assert_eq!((st.idle_connections, st.culled_connections), (15, 4));
    }

    #[test]
    fn keep_alive_follows_live_connections() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let m = Rc::new(ConnectionManager::new(
            ConnectionManagerConfig::default()
                .keep_alive_timeout(Duration::from_secs(60))
                .min_keep_alive_timeout(Duration::from_secs(1))
                .max_idle_connections(10)
                .load_threshold_low(0.1)
                .load_threshold_high(0.3),
        ));
        let socks: Vec<_> = (0..3).map(|_| pair(&listener)).collect();
        let mut handles = Vec::new();
        assert_eq!(m.keep_alive_timeout(), Duration::from_secs(60));
        for (_, s) in &socks {
            handles.push(m.register(s.as_raw_fd()));
        }
        assert_eq!(m.load(), 0.3);
        assert_eq!(m.keep_alive_timeout(), Duration::from_secs(1));
        handles.pop();
        assert!(m.keep_alive_timeout() > Duration::from_secs(1));
        handles.clear();
        assert_eq!(m.keep_alive_timeout(), Duration::from_secs(60));
    }
}
