//! Descriptor exhaustion: a server whose file descriptors are all held by idle
//! keep-alive connections still answers a new client within a second, by closing
//! its longest-idle connections (and, by default, by keeping fewer idle ones than
//! its descriptor limit allows).
//!
//! The server runs in a child process (this test binary again, running only
//! [`nofile_child_server`]) whose `RLIMIT_NOFILE` is lowered before it starts: the
//! limit of this test process is never touched.

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use armature_core::connection_manager::ConnectionManagerConfig;
use armature_core::App;

use crate::support::{self, RawConn, IO_TIMEOUT};

/// Names the child's mode: `explicit` (an idle cap far above the descriptor limit,
/// so only relief on `EMFILE` can help) or `default` (the cap derived from the
/// limit).
const CHILD_ENV: &str = "ARMATURE_TEST_NOFILE_CHILD";

/// The child's soft `RLIMIT_NOFILE`.
const LIMIT: libc::rlim_t = 128;

/// What the child logs when a descriptor-exhaustion episode begins.
const LOG_LINE: &str = "out of file descriptors";

/// The server of [`new_clients_are_answered_when_idle_connections_hold_every_descriptor`]:
/// it does something only in the child process that test starts.
#[test]
#[ignore = "the server half of a test in this module, run in a child process"]
fn nofile_child_server() {
    let Ok(mode) = std::env::var(CHILD_ENV) else {
        return;
    };
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .init();
    let mut cfg = support::config().workers(2);
    if mode == "explicit" {
        cfg =
            cfg.connection_manager(ConnectionManagerConfig::default().max_idle_connections(10_000));
    }
    let server = support::start_with(App::new().get("/", || async { "ok" }), cfg);
    println!("LISTENING {}", server.addr());
    // Serves until the parent closes this process's stdin.
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
    support::stop(server);
}

/// The child: its address, and its standard error once it has exited.
struct ChildServer {
    child: Child,
    addr: SocketAddr,
    stderr: mpsc::Receiver<String>,
}

impl ChildServer {
    fn start(mode: &str) -> ChildServer {
        let mut cmd = Command::new(std::env::current_exe().unwrap());
        cmd.args([
            "--exact",
            "descriptors::nofile_child_server",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, mode)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
        // SAFETY: the hook runs in the forked child before `exec` and only calls
        // `setrlimit`, which is async-signal-safe; `limit` is a plain value.
        unsafe {
            cmd.pre_exec(|| {
                let mut limit = libc::rlimit {
                    rlim_cur: 0,
                    rlim_max: 0,
                };
                if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                limit.rlim_cur = LIMIT;
                if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let mut child = cmd.spawn().expect("starting the child server");
        let stdout = child.stdout.take().unwrap();
        let (addr_tx, addr_rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                // The harness may have begun the line ("test ... ").
                if let Some((_, addr)) = line.split_once("LISTENING ") {
                    let _ = addr_tx.send(addr.parse::<SocketAddr>().unwrap());
                }
            }
        });
        let mut stderr = child.stderr.take().unwrap();
        let (err_tx, err_rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            let _ = err_tx.send(text);
        });
        let addr = match addr_rx.recv_timeout(IO_TIMEOUT) {
            Ok(addr) => addr,
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "the child server did not start: {}",
                    err_rx.recv_timeout(IO_TIMEOUT).unwrap_or_default()
                );
            }
        };
        ChildServer {
            child,
            addr,
            stderr: err_rx,
        }
    }

    /// Stops the child; returns its standard error.
    fn stop(mut self) -> String {
        drop(self.child.stdin.take());
        let deadline = Instant::now() + IO_TIMEOUT;
        while self.child.try_wait().unwrap().is_none() {
            if Instant::now() > deadline {
                let _ = self.child.kill();
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.wait();
        self.stderr.recv_timeout(IO_TIMEOUT).unwrap_or_default()
    }
}

impl Drop for ChildServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Fills the child's descriptors with keep-alive connections (each sent one
/// request, none closed), then asks on a new connection and returns how long the
/// answer took; fails if it takes a second.
fn answer_time_when_full(addr: SocketAddr) -> Duration {
    let request = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    // More than the limit: the last ones wait in the listen backlog.
    let mut fill = Vec::new();
    for _ in 0..LIMIT + 64 {
        let mut c = RawConn::connect(addr);
        c.send(request);
        fill.push(c);
    }
    std::thread::sleep(Duration::from_millis(200));
    let started = Instant::now();
    let mut probe = RawConn::connect(addr);
    probe
        .stream()
        .set_read_timeout(Some(Duration::from_secs(1)))
        .unwrap();
    probe.send(request);
    let r = probe.read_response();
    let took = started.elapsed();
    assert_eq!((r.status, r.text().as_str()), (200, "ok"));
    took
}

#[test]
fn new_clients_are_answered_when_idle_connections_hold_every_descriptor() {
    // Only closing idle connections on EMFILE can make room here.
    let server = ChildServer::start("explicit");
    let took = answer_time_when_full(server.addr);
    eprintln!("explicit idle cap: answered in {took:?}");
    let log = server.stop();
    let lines = log.lines().filter(|l| l.contains(LOG_LINE)).count();
    assert_eq!(
        lines, 1,
        "one line for the episode, not one per accept:\n{log}"
    );
}

#[test]
fn the_default_idle_cap_leaves_descriptors_for_new_clients() {
    let server = ChildServer::start("default");
    let took = answer_time_when_full(server.addr);
    eprintln!("default idle cap: answered in {took:?}");
    server.stop();
}
