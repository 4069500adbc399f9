//! `DefaultHeaders`: response headers every response gets (unless it set its own)
//! or gets in any case.

use std::borrow::Cow;
use std::sync::Arc;

use super::chain::around;
use super::hooks::{AnyHooks, Carry, Hooks};
use super::{Middleware, Next};
use crate::handler::BoxFuture;
use crate::http::HttpRequest;
use crate::response::Response;

/// Adds headers to every response: [`header`](Self::header) ones unless the response
/// already has that header, [`replace`](Self::replace) ones in any case.
///
/// ```
/// use armature_core::middleware::DefaultHeaders;
/// let app = armature_core::App::new()
///     .get("/", || async { "hi" })
///     .middleware(
///         DefaultHeaders::new()
///             .header("Cache-Control", "no-store")
///             .replace("X-Content-Type-Options", "nosniff"),
///     );
/// # drop(app);
/// ```
#[derive(Clone, Debug, Default)]
pub struct DefaultHeaders {
    headers: Arc<Vec<(&'static str, Cow<'static, str>, bool)>>,
}

impl DefaultHeaders {
    /// No headers yet.
    pub fn new() -> Self {
        DefaultHeaders::default()
    }

    /// Sets `name: value` on responses that do not set `name` themselves.
    pub fn header(self, name: &'static str, value: impl Into<Cow<'static, str>>) -> Self {
        self.push(name, value.into(), false)
    }

    /// Sets `name: value` on every response, replacing the response's own value.
    pub fn replace(self, name: &'static str, value: impl Into<Cow<'static, str>>) -> Self {
        self.push(name, value.into(), true)
    }

    fn push(mut self, name: &'static str, value: Cow<'static, str>, replace: bool) -> Self {
        Arc::make_mut(&mut self.headers).push((name, value, replace));
        self
    }
}

impl Hooks for DefaultHeaders {
    fn before(&self, _req: &mut HttpRequest, carry: &mut Carry) -> Option<Response> {
        carry.set(Carry::Run);
        None
    }

    fn after(&self, _carry: &mut Carry, resp: &mut Response) {
        for (name, value, replace) in self.headers.iter() {
            if *replace || resp.header(name).is_none() {
                resp.insert_header(name, value.clone());
            }
        }
    }
}

impl Middleware for DefaultHeaders {
    fn call(&self, req: HttpRequest, next: Next) -> BoxFuture {
        around(self, req, next)
    }

    fn hooks(self: std::sync::Arc<Self>) -> Option<AnyHooks> {
        Some(AnyHooks(self))
    }
}
