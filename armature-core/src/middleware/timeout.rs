//! `Timeout`: answers `503` when the rest of the chain takes longer than a set
//! duration, dropping the handler's future.

use std::time::Duration;

use super::{Middleware, Next};
use crate::handler::BoxFuture;
use crate::http::{HttpRequest, StatusCode};
use crate::response::Response;

/// Answers `503 Service Unavailable` (text `request timed out`) when the inner
/// middleware and the handler have not produced a response within the duration. The
/// handler's future is dropped then, so what it held (a database connection, a
/// lock) is released at once.
///
/// ```
/// use std::time::Duration;
/// use armature_core::middleware::Timeout;
/// let app = armature_core::App::new()
///     .get("/slow", || async { "done" })
///     .middleware(Timeout::new(Duration::from_secs(5)));
/// # drop(app);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Timeout {
    after: Duration,
    status: StatusCode,
}

impl Timeout {
    /// `503` after `after`.
    pub fn new(after: Duration) -> Self {
        Timeout {
            after,
            status: StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// Answers `status` instead of `503` (e.g. `504` behind a gateway).
    pub fn status(mut self, status: StatusCode) -> Self {
        self.status = status;
        self
    }
}

impl Middleware for Timeout {
    fn call(&self, req: HttpRequest, next: Next) -> BoxFuture {
        let (after, status) = (self.after, self.status);
        let inner = next.run(req);
        Box::pin(async move {
            match tokio::time::timeout(after, inner).await {
                Ok(resp) => resp,
                Err(_) => Response::text(status, "request timed out"),
            }
        })
    }
}
