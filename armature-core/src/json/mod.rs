//! JSON encoding and decoding behind one API: serde_json by default, simd-json's
//! parser with the `simd-json` feature.
//!
//! Both builds give the same values for the same input, and errors are classified
//! the same way ([`Error::is_syntax`] for malformed JSON, [`Error::is_data`] for JSON
//! of the wrong shape), so handlers and extractors do not care which one is built.
//!
//! Serialization uses serde_json in both builds: simd-json's serializer measured
//! slower here (callgrind: 1.38x serde_json's instructions for a 113-byte and a 23 KB
//! payload; criterion: 1.25x and 1.35x the time, `benches/benches/json.rs`) and writes
//! float exponents differently (`1e20` where serde_json writes `1e+20`), which would
//! make the two builds' output differ.
//!
//! ```
//! use armature_core::json;
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Serialize, Deserialize, Debug, PartialEq)]
//! struct User<'a> {
//!     id: u32,
//!     name: &'a str,
//! }
//!
//! let bytes = json::to_vec(&User { id: 1, name: "Ann" })?;
//! assert_eq!(bytes, br#"{"id":1,"name":"Ann"}"#);
//! let user: User<'_> = json::from_slice(&bytes)?;
//! assert_eq!(user, User { id: 1, name: "Ann" });
//! # Ok::<(), json::Error>(())
//! ```
//!
//! With simd-json, [`from_slice`] parses a private copy of the input (simd-json
//! rewrites its input while parsing); [`from_slice_mut`] parses in place and saves
//! that copy when the caller owns a buffer it no longer needs. Strings a value
//! borrows still point into the caller's input, exactly as with serde_json.

mod error;
#[cfg(feature = "simd-json")]
mod rebase;
#[cfg(feature = "simd-json")]
mod simd;
#[cfg(test)]
mod tests;

use std::io;

use serde::{Deserialize, Serialize};

pub use error::Error;

/// Serializes `value` as compact JSON.
///
/// # Errors
///
/// [`Error::is_serialize`] when `value` cannot be represented (e.g. a map whose keys
/// are not strings, or a `Serialize` impl that fails).
#[inline]
pub fn to_vec<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, Error> {
    serde_json::to_vec(value).map_err(Error::from_serde_json_ser)
}

/// Serializes `value` as compact JSON into `writer`.
///
/// `writer` gets many small writes: give it a `Vec<u8>`, a `BytesMut` writer or a
/// buffered writer, not a socket.
///
/// # Errors
///
/// [`Error::is_io`] when `writer` fails, [`Error::is_serialize`] when `value` cannot
/// be represented.
#[inline]
pub fn to_writer<W: io::Write, T: Serialize + ?Sized>(writer: W, value: &T) -> Result<(), Error> {
    serde_json::to_writer(writer, value).map_err(Error::from_serde_json_ser)
}

/// Deserializes a `T` from JSON bytes. `T` may borrow strings from `input` (those
/// without escapes, as serde's rules allow).
///
/// # Errors
///
/// [`Error::is_syntax`] for malformed JSON (including trailing characters and
/// invalid UTF-8), [`Error::is_data`] for well-formed JSON that does not fit `T`.
#[inline]
pub fn from_slice<'a, T: Deserialize<'a>>(input: &'a [u8]) -> Result<T, Error> {
    #[cfg(feature = "simd-json")]
    {
        simd::from_slice(input)
    }
    #[cfg(not(feature = "simd-json"))]
    {
        serde_json::from_slice(input).map_err(Error::from_serde_json_de)
    }
}

/// Like [`from_slice`], for a buffer the caller may let the parser overwrite.
///
/// With simd-json the buffer is parsed in place (no copy) and its contents are
/// unspecified afterwards; with serde_json it is only read.
///
/// # Errors
///
/// As [`from_slice`].
#[inline]
pub fn from_slice_mut<'a, T: Deserialize<'a>>(input: &'a mut [u8]) -> Result<T, Error> {
    #[cfg(feature = "simd-json")]
    {
        simd::from_slice_mut(input)
    }
    #[cfg(not(feature = "simd-json"))]
    {
        serde_json::from_slice(input).map_err(Error::from_serde_json_de)
    }
}
