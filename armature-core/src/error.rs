//! `Error`: the one error type of armature-core, for handlers and for the server.

use std::borrow::Cow;
use std::fmt;
use std::io;

use crate::http::StatusCode;

/// An error from a handler (answered with its status and `{"error": "..."}`) or from
/// the server itself (binding, route conflicts, I/O).
///
/// ```
/// use armature_core::{Error, StatusCode};
/// let e = Error::not_found("no user 7");
/// assert_eq!(e.status(), StatusCode::NOT_FOUND);
/// assert_eq!(e.to_string(), "no user 7");
/// ```
pub struct Error {
    kind: Kind,
    status: StatusCode,
    message: Cow<'static, str>,
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Http,
    Json,
    Io,
    Route,
    Config,
    WorkerState,
    Parse,
    NoRoute,
    Tls,
}

impl Error {
    fn build(kind: Kind, status: StatusCode, message: impl Into<Cow<'static, str>>) -> Self {
        Error {
            kind,
            status,
            message: message.into(),
            source: None,
        }
    }

    /// An error answered with `status` and `message`.
    pub fn new(status: StatusCode, message: impl Into<Cow<'static, str>>) -> Self {
        Error::build(Kind::Http, status, message)
    }

    /// `400 Bad Request`.
    pub fn bad_request(message: impl Into<Cow<'static, str>>) -> Self {
        Error::new(StatusCode::BAD_REQUEST, message)
    }

    /// `404 Not Found`.
    pub fn not_found(message: impl Into<Cow<'static, str>>) -> Self {
        Error::new(StatusCode::NOT_FOUND, message)
    }

    /// `409 Conflict`.
    pub fn conflict(message: impl Into<Cow<'static, str>>) -> Self {
        Error::new(StatusCode::CONFLICT, message)
    }

    /// `422 Unprocessable Entity`.
    pub fn unprocessable(message: impl Into<Cow<'static, str>>) -> Self {
        Error::new(StatusCode::UNPROCESSABLE_ENTITY, message)
    }

    /// `500 Internal Server Error`.
    pub fn internal(message: impl Into<Cow<'static, str>>) -> Self {
        Error::new(StatusCode::INTERNAL_SERVER_ERROR, message)
    }

    pub(crate) fn route(message: String) -> Self {
        Error::build(Kind::Route, StatusCode::INTERNAL_SERVER_ERROR, message)
    }

    pub(crate) fn config(message: impl Into<Cow<'static, str>>) -> Self {
        Error::build(Kind::Config, StatusCode::INTERNAL_SERVER_ERROR, message)
    }

    pub(crate) fn io(context: impl Into<Cow<'static, str>>, err: io::Error) -> Self {
        let mut e = Error::build(Kind::Io, StatusCode::INTERNAL_SERVER_ERROR, context);
        e.source = Some(Box::new(err));
        e
    }

    /// A request head that failed to parse ([`is_parse`](Error::is_parse)); made by
    /// the parser's `From` conversion, next to its error type.
    pub(crate) fn parse(
        status: StatusCode,
        message: String,
        source: Box<dyn std::error::Error + Send + Sync>,
    ) -> Self {
        let mut err = Error::build(Kind::Parse, status, message);
        err.source = Some(source);
        err
    }

    /// A path that matched no route ([`is_no_route`](Error::is_no_route)); made by
    /// the router's `From` conversion, next to its error type.
    pub(crate) fn no_route(
        status: StatusCode,
        message: &'static str,
        source: Box<dyn std::error::Error + Send + Sync>,
    ) -> Self {
        let mut err = Error::build(Kind::NoRoute, status, message);
        err.source = Some(source);
        err
    }

    /// A TLS error ([`is_tls`](Error::is_tls)): certificates that cannot be loaded,
    /// a handshake that failed or timed out.
    #[cfg_attr(not(feature = "tls"), allow(dead_code))]
    pub(crate) fn tls(
        message: impl Into<Cow<'static, str>>,
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        let mut err = Error::build(Kind::Tls, StatusCode::INTERNAL_SERVER_ERROR, message);
        err.source = source;
        err
    }

    pub(crate) fn worker_state(
        worker: crate::rt::worker_state::WorkerInfo,
        type_name: &'static str,
        source: Box<dyn std::error::Error + Send + Sync>,
    ) -> Self {
        let message = format!(
            "worker {} of {} could not build its WorkerState<{type_name}>",
            worker.index(),
            worker.count()
        );
        let mut e = Error::build(
            Kind::WorkerState,
            StatusCode::INTERNAL_SERVER_ERROR,
            message,
        );
        e.source = Some(source);
        e
    }

    /// The status this error is answered with.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The message (without the source).
    pub fn message(&self) -> &str {
        &self.message
    }

    /// A JSON (de)serialisation error.
    pub fn is_json(&self) -> bool {
        self.kind == Kind::Json
    }

    /// An I/O error (binding a listener, for instance).
    pub fn is_io(&self) -> bool {
        self.kind == Kind::Io
    }

    /// An invalid or conflicting route, found when the app was built.
    pub fn is_route(&self) -> bool {
        self.kind == Kind::Route
    }

    /// An invalid server configuration.
    pub fn is_config(&self) -> bool {
        self.kind == Kind::Config
    }

    /// A request head that failed to parse (from
    /// [`SIMDParser::parse`](crate::simd_parser::SIMDParser::parse)); answered with the
    /// parser's status (`400`, `414`, `431`, `501`, ...).
    pub fn is_parse(&self) -> bool {
        self.kind == Kind::Parse
    }

    /// A path that matched no route (from a [`Router`](crate::routing::Router) the
    /// handler asked); answered `404`, or `405` with its `Allow` header.
    pub fn is_no_route(&self) -> bool {
        self.kind == Kind::NoRoute
    }

    /// A per-worker state factory ([`App::worker_state`](crate::App::worker_state))
    /// failed, so the server did not start. The text names the worker and the type;
    /// [`source`](std::error::Error::source) is the factory's own error.
    pub fn is_worker_state(&self) -> bool {
        self.kind == Kind::WorkerState
    }

    /// A TLS error (the `tls` feature): a certificate or key that cannot be loaded
    /// (from `tls::TlsConfig::from_pem_files` or a reload; the text names the file),
    /// or a handshake that failed or ran past its timeout (what
    /// `tls::TlsConfig::on_handshake_error` is given). Never true without the feature.
    pub fn is_tls(&self) -> bool {
        self.kind == Kind::Tls
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Some(src) = &self.source {
            write!(f, ": {src}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Error")
            .field("kind", &self.kind)
            .field("status", &self.status.as_u16())
            .field("message", &self.message)
            .field("source", &self.source)
            .finish()
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

impl From<crate::json::Error> for Error {
    fn from(e: crate::json::Error) -> Self {
        let mut err = Error::build(
            Kind::Json,
            StatusCode::INTERNAL_SERVER_ERROR,
            "JSON serialisation failed",
        );
        err.source = Some(Box::new(e));
        err
    }
}

impl From<io::Error> for Error {
    fn from(e: io::Error) -> Self {
        Error::io("I/O error", e)
    }
}
