//! In-process testing and benchmarking: the real connection loop (parser, router,
//! handlers, encoder) over an in-memory stream instead of a socket.

use std::rc::Rc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::server::conn;
use crate::server::worker::WorkerCtx;
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
}

impl<S: Send + Sync + 'static> TestConnection<S> {
    /// Builds the app's router (route errors are reported here, as by `bind`).
    pub fn new(app: App<S>) -> Result<Self, Error> {
        Ok(TestConnection {
            ctx: Rc::new(WorkerCtx::new(app.into_shared()?)),
        })
    }

    /// Sends `raw` on a fresh connection, closes the client's write side, and returns
    /// every byte the server wrote until it closed the connection.
    pub async fn roundtrip(&self, raw: &[u8]) -> Vec<u8> {
        // Format the date once for the round trip, as a worker's timer would, rather
        // than checking the clock on every response (about 65 ns a response here).
        crate::server::date::refresh();
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
        crate::server::date::release();
        out
    }
}
