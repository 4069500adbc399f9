//! The simd-json parsing backend (feature `simd-json`).

use std::cell::Cell;

use serde::Deserialize;
use simd_json::{Buffers, Deserializer};

use super::error::{Error, Kind};
use super::rebase::{Origin, Rebased};

/// Inputs up to this size are parsed with the thread's reusable scratch buffers, so a
/// thread keeps at most a few times this much; larger inputs get buffers of their own.
const REUSE_LIMIT: usize = 64 * 1024;

thread_local! {
    /// simd-json's scratch buffers, kept between parses (taken out while in use, so a
    /// nested parse simply allocates its own).
    static BUFFERS: Cell<Option<Buffers>> = const { Cell::new(None) };
}

/// Validates `input` and builds simd-json's tape. simd-json checks the whole document
/// here, so a failure is a syntax error.
#[inline]
fn tape(input: &mut [u8]) -> Result<Deserializer<'_>, Error> {
    let result = if input.len() <= REUSE_LIMIT {
        let mut buffers = BUFFERS
            .try_with(Cell::take)
            .ok()
            .flatten()
            .unwrap_or_else(|| Buffers::new(input.len()));
        let result = Deserializer::from_slice_with_buffers(input, &mut buffers);
        let _ = BUFFERS.try_with(|cell| cell.set(Some(buffers)));
        result
    } else {
        Deserializer::from_slice(input)
    };
    result.map_err(|e| Error::from_simd(Kind::Syntax, e))
}

/// Parses in place; once the tape is built, any error is about the shape.
#[inline]
pub(super) fn from_slice_mut<'a, T: Deserialize<'a>>(input: &'a mut [u8]) -> Result<T, Error> {
    let mut de = tape(input)?;
    T::deserialize(&mut de).map_err(|e| Error::from_simd(Kind::Data, e))
}

/// Parses a copy of `input`; strings that `T` borrows are pointed back into `input`.
#[inline]
pub(super) fn from_slice<'a, T: Deserialize<'a>>(input: &'a [u8]) -> Result<T, Error> {
    let mut copy = input.to_vec();
    let origin = Origin::new(input, &copy);
    let mut de = tape(&mut copy)?;
    T::deserialize(Rebased::new(&mut de, origin)).map_err(|e| Error::from_simd(Kind::Data, e))
}
