//! The wire protocol, private to the crate (as hyper's `proto/h1`): the request
//! head parser, the `chunked` body decoder, the response encoder and the cached
//! `Date`. The guide's public names stay as thin facades over it:
//! [`crate::simd_parser`] (the parser and its error) and [`crate::vectored_io`]
//! (encoded responses as write chunks).

pub(crate) mod body;
pub(crate) mod chunked;
pub(crate) mod date;
pub(crate) mod encode;
pub(crate) mod parse;
pub(crate) mod swar;
