//! Request and response types: methods, status codes, headers.

mod method;
mod status;

pub use method::{Method, UnknownMethod};
pub use status::StatusCode;
