//! Request and response types: methods, status codes, headers, bodies.

pub(crate) mod headers;
pub(crate) mod incoming;
mod method;
pub(crate) mod request;
mod response;
mod status;
pub(crate) mod upgrade;

pub use headers::{HeaderMap, LazyHeaders, StandardHeader};
pub use incoming::{BodyError, BodyErrorKind};
pub use method::{Method, UnknownMethod};
pub use request::{HttpRequest, Version};
pub use response::{Body, BodyStream, BoxError, HttpResponse};
pub use status::StatusCode;
