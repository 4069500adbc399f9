//! Port ownership: an address another socket listens on is refused, even though the
//! workers' sockets use `SO_REUSEPORT` (which would let them join that socket's
//! group and take a share of its connections); the workers of one server still
//! share their port.

use std::collections::HashSet;
use std::net::SocketAddr;

use armature_core::extract::WorkerState;
use armature_core::{App, Error, WorkerInfo};
use socket2::{Domain, Protocol, Socket, Type};

use crate::support::{self, RawConn};

/// `/` answers the index of the worker that served it.
fn app() -> App<()> {
    App::new()
        .worker_state_sync(|w: WorkerInfo| Ok::<_, std::io::Error>(w.index()))
        .get("/", |w: WorkerState<usize>| async move { w.to_string() })
}

/// The worker that answers a new connection's request.
fn served_by(addr: SocketAddr) -> String {
    let mut c = RawConn::connect(addr);
    c.send(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    let r = c.read_response();
    assert_eq!(r.status, 200);
    r.text()
}

fn assert_in_use(err: &Error, addr: SocketAddr) {
    let text = err.to_string();
    assert!(err.is_io(), "{text}");
    assert!(
        text.contains(&addr.to_string()),
        "names the address: {text}"
    );
    assert!(
        text.to_ascii_lowercase().contains("already in use"),
        "says why: {text}"
    );
}

#[test]
fn a_second_server_on_a_busy_port_is_refused() {
    let first = support::start_with(app(), support::config().workers(2));
    let addr = first.addr();
    for workers in [1, 2] {
        let second = app()
            .config(support::config().workers(workers))
            .bind(addr)
            .map(|s| s.spawn());
        match second {
            Ok(running) => {
                let _ = running.shutdown();
                panic!("a second server ({workers} workers) bound {addr}, which another serves");
            }
            Err(e) => assert_in_use(&e, addr),
        }
    }
    // The first server still serves every connection.
    for _ in 0..20 {
        assert!(["0", "1"].contains(&served_by(addr).as_str()));
    }
    // A plain listener (no SO_REUSEPORT) holds its address too.
    let plain = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let taken = plain.local_addr().unwrap();
    let err = app().config(support::config()).bind(taken).err();
    assert_in_use(&err.expect("bound beside a plain listener"), taken);
    support::stop(first);
}

#[test]
fn a_listener_that_joins_between_bind_and_run_is_refused() {
    let server = app()
        .config(support::config().workers(2))
        .bind("127.0.0.1:0")
        .expect("bind");
    let addr = server.local_addr();
    // Another process of this user could do this: join the port with SO_REUSEPORT
    // while the server is bound but not yet listening.
    let intruder = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP)).unwrap();
    intruder.set_reuse_address(true).unwrap();
    intruder.set_reuse_port(true).unwrap();
    intruder.bind(&addr.into()).expect("the intruder binds");
    intruder.listen(16).expect("the intruder listens");
    let err = server
        .spawn()
        .shutdown()
        .expect_err("the server ran beside another listener on its port");
    assert_in_use(&err, addr);
}

#[test]
fn the_workers_of_one_server_share_its_port() {
    // A port of the kernel's choice, and a named one (free a moment ago).
    let named = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap();
    for addr in ["127.0.0.1:0".parse().unwrap(), named] {
        let server = app()
            .config(support::config().workers(4))
            .bind(addr)
            .unwrap_or_else(|e| panic!("binding {addr}: {e}"))
            .spawn();
        if addr.port() != 0 {
            assert_eq!(server.addr(), addr);
        }
        let workers: HashSet<String> = (0..64).map(|_| served_by(server.addr())).collect();
        assert!(
            workers.len() > 1,
            "{addr}: every connection went to {workers:?}"
        );
        assert!(workers
            .iter()
            .all(|w| ["0", "1", "2", "3"].contains(&w.as_str())));
        support::stop(server);
    }
}

/// "Ready" means listening: a connection made the moment `on_ready` is called (from
/// inside the callback), or the moment `spawn` returns, is accepted and served on
/// every start, with one worker or several, on a port of the kernel's choice.
#[test]
fn a_connection_made_as_soon_as_the_server_is_ready_is_accepted() {
    const STARTS: usize = 100;
    let mut refused = Vec::new();
    for workers in [1, 3] {
        for start in 0..STARTS {
            let (tx, rx) = std::sync::mpsc::channel();
            let server = app()
                .config(support::config().workers(workers))
                .bind("127.0.0.1:0")
                .expect("bind")
                .on_ready(move |addr| {
                    let _ = tx.send(std::net::TcpStream::connect(addr).map(|_| ()));
                })
                .spawn();
            let in_callback = rx.recv().expect("on_ready was called");
            let after_spawn = std::net::TcpStream::connect(server.addr()).map(RawConn::over);
            match (in_callback, after_spawn) {
                (Ok(()), Ok(mut c)) => {
                    c.send(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
                    assert_eq!(c.read_response().status, 200);
                }
                (a, b) => refused.push(format!(
                    "{workers} workers, start {start}: in on_ready {:?}, after spawn {:?}",
                    a.err(),
                    b.err()
                )),
            }
            support::stop(server);
        }
    }
    assert!(refused.is_empty(), "refused:\n{}", refused.join("\n"));
}

/// The repository's servers (examples, benchmark binaries) print their "listening
/// on" line from `on_ready`: printed between `bind` and `run`, it came before the
/// sockets listened, and a client that connected on seeing it was refused (most
/// starts of `PORT=0 hello`).
#[test]
fn the_repositorys_servers_announce_their_address_when_ready() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = vec![root.join("benches/httparena/src/main.rs")];
    for dir in ["examples", "benches/src/bin"] {
        for entry in std::fs::read_dir(root.join(dir)).expect(dir) {
            let path = entry.expect(dir).path();
            if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    let mut checked = 0;
    let mut early = Vec::new();
    for path in files {
        let text = std::fs::read_to_string(&path).expect("reading a server's source");
        if !text.contains("armature_core") {
            continue;
        }
        for (at, _) in text.match_indices("listening on") {
            checked += 1;
            let from = (0..=at.saturating_sub(200))
                .rev()
                .find(|&i| text.is_char_boundary(i))
                .unwrap_or(0);
            let before = &text[from..at];
            if !before.contains(".on_ready(") || text.contains("server.local_addr()") {
                early.push(path.display().to_string());
            }
        }
    }
    assert!(checked >= 10, "only {checked} servers found under {root:?}");
    assert!(
        early.is_empty(),
        "these print their address before it listens (print it from `on_ready`): {early:?}"
    );
}
