//! Routing errors: invalid or conflicting routes, and failed matches.

use std::fmt;

use crate::http::StatusCode;
use crate::{Error, Method};

/// A route that cannot be added: an invalid pattern or a conflict with an existing
/// route. Reported when the router is built, never by a panic.
///
/// ```
/// use armature_core::routing::{RouteError, Router};
/// use armature_core::Method;
///
/// let mut router = Router::new();
/// router.route(Method::Get, "/users/:id", 1).unwrap();
/// let err = router.route(Method::Get, "/users/{user}", 2).unwrap_err();
/// assert!(matches!(err, RouteError::Conflict { .. }));
/// assert_eq!(err.to_string(), "route `GET /users/{user}` conflicts with `GET /users/:id`");
/// ```
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RouteError {
    /// The pattern is empty.
    Empty,
    /// The pattern does not start with `/`.
    MissingLeadingSlash {
        /// The pattern as given.
        pattern: String,
    },
    /// A parameter name is empty or not `[A-Za-z_][A-Za-z0-9_]*`.
    InvalidParamName {
        /// The pattern as given.
        pattern: String,
        /// The offending name.
        name: String,
    },
    /// Two parameters of one pattern have the same name.
    DuplicateParam {
        /// The pattern as given.
        pattern: String,
        /// The repeated name.
        name: String,
    },
    /// A catch-all parameter (`*rest`, `{*rest}`) is not the whole last segment.
    InvalidCatchAll {
        /// The pattern as given.
        pattern: String,
    },
    /// Another syntax error (unbalanced braces, two parameters in one segment, ...).
    InvalidPattern {
        /// The pattern as given.
        pattern: String,
        /// What is wrong.
        reason: String,
    },
    /// The route overlaps a route already added for the same method: the same
    /// pattern, or one that matches the same paths (`/users/:id` and `/users/{name}`).
    Conflict {
        /// The method of both routes.
        method: Method,
        /// The pattern being added.
        pattern: String,
        /// The pattern of the existing route.
        with: String,
    },
}

impl fmt::Display for RouteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RouteError::Empty => f.write_str("empty route pattern (patterns start with `/`)"),
            RouteError::MissingLeadingSlash { pattern } => {
                write!(f, "route pattern `{pattern}` must start with `/`")
            }
            RouteError::InvalidParamName { pattern, name } => write!(
                f,
                "invalid parameter name `{name}` in route pattern `{pattern}` \
                 (names are letters, digits and `_`, not starting with a digit)"
            ),
            RouteError::DuplicateParam { pattern, name } => {
                write!(
                    f,
                    "parameter `{name}` appears twice in route pattern `{pattern}`"
                )
            }
            RouteError::InvalidCatchAll { pattern } => write!(
                f,
                "catch-all parameter in route pattern `{pattern}` must be the whole last segment"
            ),
            RouteError::InvalidPattern { pattern, reason } => {
                write!(f, "invalid route pattern `{pattern}`: {reason}")
            }
            RouteError::Conflict {
                method,
                pattern,
                with,
            } => {
                write!(
                    f,
                    "route `{method} {pattern}` conflicts with `{method} {with}`"
                )
            }
        }
    }
}

impl std::error::Error for RouteError {}

/// Why a request matched no route.
///
/// ```
/// use armature_core::routing::{MatchError, Router};
///
/// let mut router = Router::new();
/// router.get("/users", "list").post("/users", "create");
/// assert_eq!(router.match_route("GET", "/nope").unwrap_err(), MatchError::NotFound);
/// assert_eq!(
///     router.match_route("DELETE", "/users").unwrap_err(),
///     MatchError::MethodNotAllowed { allow: "GET, HEAD, POST".into() }
/// );
/// ```
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MatchError {
    /// No route matches the path with any method: answer `404 Not Found`.
    NotFound,
    /// Routes match the path, but not with this method: answer
    /// `405 Method Not Allowed` with this `Allow` header.
    MethodNotAllowed {
        /// The value of the `Allow` header: the methods that have a route for the path,
        /// in [`Method::ALL`] order, `HEAD` included wherever `GET` is.
        allow: String,
    },
}

impl fmt::Display for MatchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MatchError::NotFound => f.write_str("no route matches the path"),
            MatchError::MethodNotAllowed { allow } => {
                write!(f, "method not allowed for the path (allowed: {allow})")
            }
        }
    }
}

impl std::error::Error for MatchError {}

/// `?` on a route lookup in a handler: `404`, or `405` with the `Allow` header.
///
/// ```
/// use armature_core::{routing::Router, Error};
/// let mut router = Router::new();
/// router.get("/users", ());
/// let lookup = |method: &str, path: &str| -> Result<(), Error> {
///     router.match_route(method, path)?;
///     Ok(())
/// };
/// assert_eq!(lookup("GET", "/nope").unwrap_err().status().as_u16(), 404);
/// let err = lookup("POST", "/users").unwrap_err();
/// assert!(err.is_no_route());
/// assert_eq!(err.status().as_u16(), 405);
/// ```
impl From<MatchError> for Error {
    fn from(e: MatchError) -> Self {
        let (status, message) = match &e {
            MatchError::MethodNotAllowed { .. } => {
                (StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed")
            }
            _ => (StatusCode::NOT_FOUND, "Not Found"),
        };
        Error::no_route(status, message, Box::new(e))
    }
}

impl Error {
    /// The `Allow` value of a `405` made from a [`MatchError`] (the router's part of
    /// [`Error`]'s answer, so it lives here with the type it looks for).
    pub(crate) fn allow(&self) -> Option<&str> {
        match std::error::Error::source(self)?.downcast_ref::<MatchError>()? {
            MatchError::MethodNotAllowed { allow } => Some(allow),
            _ => None,
        }
    }
}
