//! `SIMDParser`: the HTTP/1.1 request-head parser (httparse + memchr), zero-copy,
//! with interned header names and strict framing rules against request smuggling.
//!
//! A facade: the parser lives in the crate's private wire-protocol module
//! (`proto::parse`), beside the `chunked` decoder and the response encoder.

pub use crate::proto::parse::{ParseError, SIMDParser};
