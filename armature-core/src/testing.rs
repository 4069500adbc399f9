//! In-process testing and benchmarking: the real connection loop (parser, router,
//! handlers, encoder) over an in-memory stream instead of a socket.

use std::rc::Rc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::server::conn;
use crate::server::shared::WorkerCtx;
use crate::server::worker_state::Installed;
use crate::server::WorkerInfo;
use crate::{App, Error};

/// One app served over in-memory connections. Use it inside a tokio current-thread
/// runtime with a `LocalSet` (or `#[tokio::test]`), like a worker does.
///
/// ```
/// use armature_core::testing::TestConnection;
/// use armature_core::App;
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let conn = TestConnection::new(App::new().get("/hi", || async { "hi" })).unwrap();
/// let out = conn.roundtrip(b"GET /hi HTTP/1.1\r\nHost: x\r\n\r\n").await;
/// assert!(out.starts_with(b"HTTP/1.1 200 OK\r\n"));
/// assert!(out.ends_with(b"\r\n\r\nhi"));
/// # });
/// ```
pub struct TestConnection<S> {
    ctx: Rc<WorkerCtx<S>>,
    /// The worker state built by [`TestConnection::start`], installed on this thread.
    _states: Option<Installed>,
}

impl<S: Send + Sync + 'static> TestConnection<S> {
    /// Builds the app's router (route errors are reported here, as by `bind`). Its
    /// [`worker_state`](App::worker_state) is not built: use
    /// [`start`](TestConnection::start) for an app that has some.
    pub fn new(app: App<S>) -> Result<Self, Error> {
        Ok(TestConnection {
            ctx: Rc::new(WorkerCtx::new(app.into_shared()?)),
            _states: None,
        })
    }

    /// Like [`new`](TestConnection::new), and builds the app's
    /// [`worker_state`](App::worker_state) on this thread, as worker 0 of 1 would; the
    /// values live as long as the `TestConnection` (one at a time per thread).
    ///
    /// ```
    /// use std::cell::Cell;
    /// use armature_core::extract::WorkerState;
    /// use armature_core::testing::TestConnection;
    /// use armature_core::App;
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let app = App::new()
    ///     .worker_state(|_| async { Ok::<_, std::io::Error>(Cell::new(41u32)) })
    ///     .get("/n", |n: WorkerState<Cell<u32>>| async move {
    ///         n.set(n.get() + 1);
    ///         n.get().to_string()
    ///     });
    /// let conn = TestConnection::start(app).await.unwrap();
    /// let out = conn.roundtrip(b"GET /n HTTP/1.1\r\nHost: x\r\n\r\n").await;
    /// assert!(out.ends_with(b"\r\n\r\n42"));
    /// # });
    /// ```
    pub async fn start(app: App<S>) -> Result<Self, Error> {
        let shared = app.into_shared()?;
        let states = shared.worker_states.build(WorkerInfo::new(0, 1)).await?;
        Ok(TestConnection {
            ctx: Rc::new(WorkerCtx::new(shared)),
            _states: Some(states),
        })
    }

    /// Sends `raw` on a fresh connection, closes the client's write side, and returns
    /// every byte the server wrote until it closed the connection.
    pub async fn roundtrip(&self, raw: &[u8]) -> Vec<u8> {
        // Format the date once for the round trip, as a worker's timer would, rather
        // than checking the clock on every response (about 65 ns a response here).
        crate::proto::date::refresh();
        let (mut client, server) = tokio::io::duplex(64 * 1024);
        let serve = conn::serve(server, self.ctx.clone(), None);
        let talk = async move {
            let mut out = Vec::with_capacity(256);
            if client.write_all(raw).await.is_ok() && client.shutdown().await.is_ok() {
                let _ = client.read_to_end(&mut out).await;
            }
            out
        };
        let out = tokio::join!(serve, talk).1;
        crate::proto::date::release();
        out
    }
}
