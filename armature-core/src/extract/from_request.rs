//! `FromRequest`: the extractor trait, apart from the extractors so that each
//! extractor's file imports it without importing the module that lists them all.

use std::sync::Arc;

use super::rejection::Rejection;
use crate::http::HttpRequest;

/// Builds a value from a request (and the app's state). A failure answers the
/// request with the rejection instead of calling the handler.
pub trait FromRequest<S>: Sized {
    /// Whether this extractor reads the body as it arrives
    /// ([`StreamingBody`](crate::extract::StreamingBody)): its route's handler then
    /// runs once the head is in, before the body.
    #[doc(hidden)]
    const STREAMS_BODY: bool = false;

    /// Extracts `Self`.
    fn from_request(req: &HttpRequest, state: &Arc<S>) -> Result<Self, Rejection>;
}
