//! `FromRequest`: the extractor trait, apart from the extractors so that each
//! extractor's file imports it without importing the module that lists them all.

use std::sync::Arc;

use super::rejection::Rejection;
use crate::http::HttpRequest;

/// Builds a value from a request (and the app's state). A failure answers the
/// request with the rejection instead of calling the handler.
pub trait FromRequest<S>: Sized {
    /// Extracts `Self`.
    fn from_request(req: &HttpRequest, state: &Arc<S>) -> Result<Self, Rejection>;
}
