//! Per-worker state (`App::worker_state`, the `WorkerState` extractor): one value per
//! worker, built before anything listens; a factory's error stops the server before
//! it serves a connection.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::net::{SocketAddr, TcpStream};
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use armature_core::extract::WorkerState;
use armature_core::{App, Error, WorkerInfo};

use crate::support::{config, get, hyper_get, start, start_with, stop, RawConn, IO_TIMEOUT};

/// A worker's state that is neither `Send` nor `Sync` (an `Rc` inside, a `RefCell`).
struct Counter {
    info: WorkerInfo,
    hits: RefCell<u32>,
    _not_send: Rc<()>,
}

async fn whoami(counter: WorkerState<Counter>) -> String {
    *counter.hits.borrow_mut() += 1;
    // Across an await: the state lives on this worker's runtime.
    tokio::task::yield_now().await;
    let c = counter.clone();
    format!("{} {} {}", c.info.index(), c.info.count(), c.hits.borrow())
}

#[test]
fn each_worker_gets_its_own_non_send_state() {
    let built = Arc::new(Mutex::new(Vec::new()));
    let app = {
        let built = built.clone();
        App::new()
            .worker_state(move |info: WorkerInfo| {
                built.lock().unwrap().push(info);
                async move {
                    tokio::task::yield_now().await;
                    Ok::<_, std::io::Error>(Counter {
                        info,
                        hits: RefCell::new(0),
                        _not_send: Rc::new(()),
                    })
                }
            })
            .get("/whoami", whoami)
    };
    let server = start_with(app, config().workers(2));
    let mut built_for: Vec<_> = built.lock().unwrap().iter().map(|w| w.index()).collect();
    built_for.sort_unstable();
    assert_eq!(
        built_for,
        [0, 1],
        "one factory call per worker, before spawn returned"
    );

    // SO_REUSEPORT spreads fresh connections over both workers.
    let mut last_hits: BTreeMap<usize, u32> = BTreeMap::new();
    let requests = 64;
    for _ in 0..requests {
        let mut conn = RawConn::connect(server.addr());
        conn.send(&get("/whoami"));
        let resp = conn.read_response();
        assert_eq!(resp.status, 200, "{}", resp.text());
        let text = resp.text();
        let fields: Vec<u32> = text.split(' ').map(|f| f.parse().unwrap()).collect();
        let [index, count, hits] = fields[..] else {
            panic!("unexpected body {text:?}")
        };
        assert_eq!(count, 2);
        let last = last_hits.entry(index as usize).or_insert(0);
        assert_eq!(hits, *last + 1, "worker {index}'s counter skipped: {text}");
        *last = hits;
    }
    assert_eq!(
        last_hits.keys().copied().collect::<Vec<_>>(),
        [0, 1],
        "both workers answered, each with its own counter"
    );
    assert_eq!(last_hits.values().sum::<u32>(), requests);
    stop(server);
}

#[tokio::test]
async fn sync_factories_several_types_and_a_replaced_one() {
    let app = App::new()
        .worker_state_sync(|_| Ok::<_, std::io::Error>(Cell::new(1u32)))
        .worker_state_sync(|w: WorkerInfo| Ok::<_, std::io::Error>(format!("worker-{}", w.index())))
        // Replaces the first `Cell<u32>` factory.
        .worker_state(|_| async { Ok::<_, std::io::Error>(Cell::new(7u32)) })
        .get(
            "/both",
            |n: WorkerState<Cell<u32>>, name: WorkerState<String>| async move {
                format!("{} {}", n.get(), *name)
            },
        );
    let server = start(app);
    let resp = hyper_get(server.addr(), "/both").await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.body(), "7 worker-0");
    crate::support::stop_async(server).await;
}

#[tokio::test]
async fn an_unregistered_type_is_a_500_that_says_what_to_do() {
    let app = App::new().get("/db", |_: WorkerState<Vec<u8>>| async { "never" });
    let server = start(app);
    let resp = hyper_get(server.addr(), "/db").await;
    assert_eq!(resp.status(), 500);
    let text = String::from_utf8_lossy(resp.body()).into_owned();
    assert!(text.contains("WorkerState<alloc::vec::Vec<u8>>"), "{text}");
    assert!(text.contains("App::worker_state"), "{text}");
    crate::support::stop_async(server).await;
}

/// Runs `app` with `Server::run` on a thread while another thread keeps trying to
/// connect; returns what `run` returned and how many connections were accepted.
fn run_while_probing<S: Send + Sync + 'static>(app: App<S>) -> (Result<(), Error>, usize) {
    let server = app.bind("127.0.0.1:0").expect("bind");
    let addr: SocketAddr = server.local_addr();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(server.run());
    });
    let mut accepted = 0;
    let deadline = Instant::now() + IO_TIMEOUT;
    let result = loop {
        if let Ok(result) = rx.try_recv() {
            break result;
        }
        assert!(Instant::now() < deadline, "Server::run did not return");
        match TcpStream::connect(addr) {
            Ok(_) => accepted += 1,
            Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::ConnectionRefused),
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    (result, accepted)
}

#[test]
fn a_factory_error_is_what_run_returns_and_nothing_is_served() {
    let served = Arc::new(AtomicUsize::new(0));
    let app = {
        let served = served.clone();
        App::new()
            .worker_state(|w: WorkerInfo| async move {
                // Worker 0 is fine; worker 1 fails after a while, so worker 0 is long
                // ready and waiting when it does.
                if w.index() == 1 {
                    tokio::time::sleep(Duration::from_millis(150)).await;
                    return Err(std::io::Error::other("database is down"));
                }
                Ok(())
            })
            .get("/", move || {
                served.fetch_add(1, Ordering::SeqCst);
                async { "served" }
            })
            .config(config().workers(2))
    };
    let (result, accepted) = run_while_probing(app);
    let err = result.expect_err("run succeeded although a factory failed");
    assert!(err.is_worker_state(), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("worker 1 of 2"), "{text}");
    assert!(text.contains("()"), "names the state's type: {text}");
    assert!(text.ends_with(": database is down"), "{text}");
    let source = std::error::Error::source(&err).expect("the factory's error as source");
    assert_eq!(source.to_string(), "database is down");
    assert_eq!(
        accepted, 0,
        "a connection was accepted before every worker was ready"
    );
    assert_eq!(served.load(Ordering::SeqCst), 0);
}

#[test]
fn a_factory_error_does_not_wait_for_a_factory_that_never_finishes() {
    let app = App::new()
        .worker_state(|w: WorkerInfo| async move {
            if w.index() == 0 {
                Err("no such database".to_string())
            } else {
                std::future::pending::<Result<u8, String>>().await
            }
        })
        .config(config().workers(2));
    let (result, accepted) = run_while_probing(app);
    let err = result.expect_err("run succeeded although a factory failed");
    assert!(err.to_string().contains("worker 0 of 2"), "{err}");
    assert!(err.to_string().ends_with("no such database"), "{err}");
    assert_eq!(accepted, 0);
}

#[test]
fn connections_are_refused_until_every_factory_has_finished() {
    let (release, released) = mpsc::channel::<()>();
    let released = Mutex::new(released);
    let app = App::new()
        .worker_state_sync(move |_| {
            // Blocks the (only) worker until the test lets it go.
            released.lock().unwrap().recv().map(|()| 42u64)
        })
        .get("/n", |n: WorkerState<u64>| async move { n.to_string() })
        .config(config());
    let server = app.bind("127.0.0.1:0").expect("bind");
    let addr = server.local_addr();
    let handle = server.handle();
    let (done, finished) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = done.send(server.run());
    });
    // The worker is inside its factory (or not yet there): nothing listens.
    std::thread::sleep(Duration::from_millis(50));
    let err = TcpStream::connect(addr).expect_err("connected before the factory finished");
    assert_eq!(err.kind(), std::io::ErrorKind::ConnectionRefused);
    release.send(()).unwrap();
    let mut conn = crate::support::connect_when_listening(addr);
    conn.send(&get("/n"));
    assert_eq!(conn.read_response().text(), "42");
    handle.shutdown();
    finished
        .recv_timeout(IO_TIMEOUT)
        .expect("Server::run did not return after shutdown")
        .expect("Server::run returned an error");
}

#[test]
fn spawn_with_a_failing_factory_returns_and_shutdown_reports_the_error() {
    let app = App::new()
        .worker_state_sync(|_| Err::<(), _>("cannot open the cache"))
        .get("/", || async { "never" });
    let server = start(app);
    let err = server
        .shutdown()
        .expect_err("shutdown of a server that never started returned Ok");
    assert!(err.is_worker_state() && err.to_string().ends_with("cannot open the cache"));
}

#[test]
fn a_panicking_factory_stops_the_server_with_an_error() {
    let app = App::new()
        .worker_state_sync(|w: WorkerInfo| {
            if w.index() == 1 {
                panic!("on purpose (armature-core test)");
            }
            Ok::<_, std::io::Error>(0u8)
        })
        .config(config().workers(2));
    let (result, accepted) = run_while_probing(app);
    let err = result.expect_err("run succeeded although a factory panicked");
    assert!(err.to_string().contains("panicked"), "{err}");
    assert_eq!(accepted, 0);
}
