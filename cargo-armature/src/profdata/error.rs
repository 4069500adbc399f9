//! What can be wrong with a profile, as the readers and the merger report it.

use std::fmt;

/// The class of a [`FormatError`]: lets callers (and tests) tell a truncated
/// file from a foreign one without matching on message text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The file does not start with a profraw or indexed-profile magic.
    NotAProfile,
    /// A profile, but of a format version this reader does not handle.
    UnsupportedVersion,
    /// The file ends before a section the header announces.
    Truncated,
    /// Offsets, sizes or contents contradict each other.
    Malformed,
    /// Valid LLVM data that rustc never produces (32-bit, big-endian, vtables, …).
    Unsupported,
    /// Profiles that cannot be merged (different instrumentation kinds).
    Incompatible,
}

impl ErrorKind {
    fn describe(self) -> &'static str {
        match self {
            ErrorKind::NotAProfile => "not an LLVM instrumentation profile",
            ErrorKind::UnsupportedVersion => "unsupported profile format version",
            ErrorKind::Truncated => "truncated profile",
            ErrorKind::Malformed => "malformed profile",
            ErrorKind::Unsupported => "unsupported profile feature",
            ErrorKind::Incompatible => "incompatible profiles",
        }
    }
}

/// A defect in a profile file, with the detail needed to find it.
///
/// ```
/// use cargo_armature::profdata::{parse_raw, ErrorKind};
/// let err = parse_raw(b"not a profile").unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::NotAProfile);
/// ```
#[derive(Debug, Clone)]
pub struct FormatError {
    kind: ErrorKind,
    detail: String,
}

impl FormatError {
    pub(crate) fn new(kind: ErrorKind, detail: impl Into<String>) -> Self {
        FormatError {
            kind,
            detail: detail.into(),
        }
    }

    /// The class of the defect.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }
}

impl fmt::Display for FormatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind.describe(), self.detail)
    }
}

impl std::error::Error for FormatError {}

pub(crate) fn truncated(detail: impl Into<String>) -> FormatError {
    FormatError::new(ErrorKind::Truncated, detail)
}

pub(crate) fn malformed(detail: impl Into<String>) -> FormatError {
    FormatError::new(ErrorKind::Malformed, detail)
}

/// Bounds-checked little-endian reads from a byte slice.
pub(crate) struct Bytes<'a> {
    pub(crate) buf: &'a [u8],
}

impl<'a> Bytes<'a> {
    /// The `len` bytes at `off`, or a truncation error naming `what`.
    pub(crate) fn slice(&self, off: u64, len: u64, what: &str) -> Result<&'a [u8], FormatError> {
        let end = off.checked_add(len);
        match end {
            Some(end) if end <= self.buf.len() as u64 => Ok(&self.buf[off as usize..end as usize]),
            _ => Err(truncated(format!(
                "{what} (bytes {off}..{}) extends past the end of the data ({} bytes)",
                off as u128 + len as u128,
                self.buf.len()
            ))),
        }
    }

    pub(crate) fn u64(&self, off: u64, what: &str) -> Result<u64, FormatError> {
        let s = self.slice(off, 8, what)?;
        Ok(u64::from_le_bytes(s.try_into().expect("8 bytes")))
    }
}

/// Reads a little-endian u64 from the first 8 bytes of `s` (which must have them).
pub(crate) fn le64(s: &[u8]) -> u64 {
    u64::from_le_bytes(s[..8].try_into().expect("8 bytes"))
}
