//! Response encoding and vectored writes: heads and small bodies are copied into one
//! output buffer, large bodies are sent by reference with `writev`, so a whole
//! pipelined batch leaves in one syscall without copying big payloads.
//!
//! A facade: the encoder lives in the crate's private wire-protocol module
//! (`proto::encode`); [`ResponseChunks`] shows a response as the chunks it writes.

use crate::http::HttpResponse;
use crate::response::Response;

pub use crate::proto::encode::ResponseChunks;

// `HttpResponse::into_chunks` is written here, with the chunks it makes, so that
// `http` names nothing of the encoder; users still call it on `HttpResponse`.
impl HttpResponse {
    /// Converts into the chunks a vectored write sends (see [`crate::vectored_io`]).
    pub fn into_chunks(self) -> ResponseChunks {
        ResponseChunks::from_response(Response::from(self))
    }
}
