//! `Cors`: cross-origin resource sharing (the Fetch standard's CORS protocol):
//! preflights answered, allowed origins' responses tagged, others left untouched.

use std::sync::Arc;
use std::time::Duration;

use super::chain::around;
use super::hooks::{self, AnyHooks, Carry, Hooks};
use super::{Middleware, Next};
use crate::fast_response::FastValue;
use crate::handler::BoxFuture;
use crate::http::{HttpRequest, Method, StandardHeader, StatusCode};
use crate::response::{IntoResponse, Response};

/// CORS, configured by allow-lists; nothing is allowed until configured.
///
/// - A request without `Origin`, or from an origin not allowed, passes through and
///   its response gets no CORS headers (the browser then blocks the response).
/// - A preflight (`OPTIONS` with `Origin` and `Access-Control-Request-Method`) from an
///   allowed origin is answered here with `204`: `Access-Control-Allow-Origin`,
///   `-Allow-Methods`, `-Allow-Headers`, `-Allow-Credentials` and `-Max-Age` as
///   configured. One asking for a method or header not allowed is answered `403`
///   without CORS headers; it never reaches a route.
/// - Other requests from an allowed origin go on, and their response gets
///   `Access-Control-Allow-Origin` (and `-Allow-Credentials`, `-Expose-Headers`).
///
/// Responses that depend on the origin carry `Vary: Origin`. With credentials the
/// origin is echoed, never `*` (browsers refuse `*` with credentials).
///
/// ```
/// use std::time::Duration;
/// use armature_core::middleware::Cors;
/// use armature_core::Method;
/// let cors = Cors::new()
///     .allow_origin("https://app.example.com")
///     .allow_methods([Method::Get, Method::Post])
///     .allow_headers(["content-type", "authorization"])
///     .allow_credentials(true)
///     .max_age(Duration::from_secs(600));
/// let app = armature_core::App::new().get("/api", || async { "{}" }).middleware(cors);
/// # drop(app);
/// ```
#[derive(Clone, Debug, Default)]
pub struct Cors {
    config: Arc<Config>,
}

#[derive(Clone, Debug, Default)]
struct Config {
    any_origin: bool,
    origins: Vec<String>,
    methods: Vec<Method>,
    /// Lower case.
    headers: Vec<String>,
    any_header: bool,
    expose: Vec<String>,
    credentials: bool,
    max_age: Option<Duration>,
}

impl Cors {
    /// Allows nothing yet.
    pub fn new() -> Self {
        Cors::default()
    }

    fn edit(mut self, f: impl FnOnce(&mut Config)) -> Self {
        f(Arc::make_mut(&mut self.config));
        self
    }

    /// Allows `origin` (`scheme://host[:port]`, compared exactly).
    pub fn allow_origin(self, origin: impl Into<String>) -> Self {
        self.edit(|c| c.origins.push(origin.into()))
    }

    /// Allows every origin.
    pub fn allow_any_origin(self) -> Self {
        self.edit(|c| c.any_origin = true)
    }

    /// The methods a preflight may ask for.
    pub fn allow_methods(self, methods: impl IntoIterator<Item = Method>) -> Self {
        self.edit(|c| c.methods.extend(methods))
    }

    /// The request headers a preflight may ask for (case-insensitive).
    pub fn allow_headers<I: IntoIterator<Item = H>, H: Into<String>>(self, headers: I) -> Self {
        self.edit(|c| {
            c.headers
                .extend(headers.into_iter().map(|h| h.into().to_ascii_lowercase()))
        })
    }

    /// Allows every request header a preflight asks for (they are echoed).
    pub fn allow_any_header(self) -> Self {
        self.edit(|c| c.any_header = true)
    }

    /// Response headers scripts may read (`Access-Control-Expose-Headers`).
    pub fn expose_headers<I: IntoIterator<Item = H>, H: Into<String>>(self, headers: I) -> Self {
        self.edit(|c| c.expose.extend(headers.into_iter().map(Into::into)))
    }

    /// Sends `Access-Control-Allow-Credentials: true` (cookies, HTTP auth).
    pub fn allow_credentials(self, allow: bool) -> Self {
        self.edit(|c| c.credentials = allow)
    }

    /// How long a browser may cache a preflight's answer (`Access-Control-Max-Age`).
    pub fn max_age(self, max_age: Duration) -> Self {
        self.edit(|c| c.max_age = Some(max_age))
    }
}

impl Config {
    fn allows_origin(&self, origin: &str) -> bool {
        self.any_origin || self.origins.iter().any(|o| o == origin)
    }

    /// `Access-Control-Allow-Origin` for an allowed `origin`.
    fn allow_origin_value(&self, origin: &str) -> FastValue {
        if self.any_origin && !self.credentials {
            FastValue::Static("*")
        } else {
            FastValue::copied(origin)
        }
    }

    /// Whether the response depends on the origin (and so must say `Vary: Origin`).
    fn varies(&self) -> bool {
        !self.any_origin || self.credentials
    }

    fn preflight(&self, origin: &str, method: &str, headers: Option<&str>) -> Response {
        let method_ok = self.methods.iter().any(|m| m.as_str() == method.trim());
        let asked: Vec<String> = headers
            .unwrap_or("")
            .split(',')
            .map(|h| h.trim().to_ascii_lowercase())
            .filter(|h| !h.is_empty())
            .collect();
        let headers_ok = self.any_header || asked.iter().all(|h| self.headers.contains(h));
        if !method_ok || !headers_ok {
            return (
                StatusCode::FORBIDDEN,
                "CORS preflight refused: method or header not allowed",
            )
                .into_response();
        }
        let mut resp = StatusCode::NO_CONTENT.into_response();
        resp.insert_value(
            "Access-Control-Allow-Origin",
            self.allow_origin_value(origin),
        );
        let methods: Vec<&str> = self.methods.iter().map(|m| m.as_str()).collect();
        resp.insert_header("Access-Control-Allow-Methods", methods.join(", "));
        let allowed_headers = if self.any_header {
            asked.join(", ")
        } else {
            self.headers.join(", ")
        };
        if !allowed_headers.is_empty() {
            resp.insert_header("Access-Control-Allow-Headers", allowed_headers);
        }
        if self.credentials {
            resp.insert_header("Access-Control-Allow-Credentials", "true");
        }
        if let Some(max_age) = self.max_age {
            resp.insert_header("Access-Control-Max-Age", max_age.as_secs().to_string());
        }
        resp.insert_header(
            "Vary",
            "Origin, Access-Control-Request-Method, Access-Control-Request-Headers",
        );
        resp
    }

    fn tag(&self, resp: &mut Response, allow_origin: FastValue) {
        resp.insert_value("Access-Control-Allow-Origin", allow_origin);
        if self.credentials {
            resp.insert_header("Access-Control-Allow-Credentials", "true");
        }
        if !self.expose.is_empty() {
            resp.insert_header("Access-Control-Expose-Headers", self.expose.join(", "));
        }
    }
}

impl Hooks for Cors {
    // Always: `Builtin::before` is inlined into both instances of `HookStack::start`
    // (the connection loop's and a streamed body's); with a third caller LLVM kept
    // this out of line.
    #[inline(always)]
    fn before(&self, req: &mut HttpRequest, carry: &mut Carry) -> Option<Response> {
        let config = &*self.config;
        // A request without `Origin` (most of them) costs this one lookup.
        let origin = req
            .headers
            .get_standard(StandardHeader::Origin)
            .and_then(|o| std::str::from_utf8(o).ok());
        let origin = match origin {
            Some(origin) if config.allows_origin(origin) => origin,
            _ => {
                // Not a CORS request we answer; only say the answer depends on Origin.
                if config.varies() {
                    carry.set(Carry::Run);
                }
                return None;
            }
        };
        if req.method() == Method::Options {
            if let Some(method) = req.header_str("access-control-request-method") {
                return Some(config.preflight(
                    origin,
                    method,
                    req.header_str("access-control-request-headers"),
                ));
            }
        }
        carry.set(Carry::Value(hooks::Value(
            config.allow_origin_value(origin),
        )));
        None
    }

    fn after(&self, carry: &mut Carry, resp: &mut Response) {
        let config = &*self.config;
        if let Carry::Value(hooks::Value(allow_origin)) = carry.take() {
            config.tag(resp, allow_origin);
        }
        if config.varies() {
            resp.append_header("Vary", "Origin");
        }
    }
}

impl Middleware for Cors {
    fn call(&self, req: HttpRequest, next: Next) -> BoxFuture {
        around(self, req, next)
    }

    fn hooks(self: Arc<Self>) -> Option<AnyHooks> {
        Some(AnyHooks(self))
    }
}
