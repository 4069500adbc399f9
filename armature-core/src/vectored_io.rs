//! Response encoding and vectored writes: heads and small bodies are copied into one
//! output buffer, large bodies are sent by reference with `writev`, so a whole
//! pipelined batch leaves in one syscall without copying big payloads.
//!
//! A facade: the encoder lives in the crate's private wire-protocol module
//! (`proto::encode`); [`ResponseChunks`] shows a response as the chunks it writes.

pub use crate::proto::encode::ResponseChunks;
