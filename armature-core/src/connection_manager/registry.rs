//! The registry of a worker's live connections: their sockets and idle state, idle
//! culling, and closing idle connections at shutdown.

use std::cell::Cell;
use std::os::fd::{BorrowedFd, RawFd};
use std::rc::Rc;

use socket2::SockRef;

use super::ConnectionManager;

/// A live connection as the registry sees it.
#[derive(Debug)]
pub(super) struct Slot {
    fd: RawFd,
    /// Waiting for the first byte of a request (or just accepted).
    idle: Cell<bool>,
    /// When the current idle period began, as a stamp from `idle_seq`.
    since: Cell<u64>,
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
        if excess == 0 {
            return;
        }
        let conns = self.conns.borrow();
        let mut idle: Vec<&Rc<Slot>> = conns.values().filter(|s| s.idle.get()).collect();
        let excess = excess.min(idle.len());
        if excess < idle.len() {
            idle.select_nth_unstable_by_key(excess, |s| s.since.get());
        }
        for slot in &idle[..excess] {
            // No longer counted idle: its loop sees end-of-file and unregisters.
            slot.idle.set(false);
            shutdown_read(slot.fd);
        }
        self.idle.set(self.idle.get() - excess);
        self.culled.set(self.culled.get() + excess as u64);
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
