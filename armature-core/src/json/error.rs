//! The JSON error: what failed (syntax, shape, I/O, serialization) without exposing
//! which backend produced it.

use std::fmt;

/// A JSON error from [`to_vec`](super::to_vec), [`to_writer`](super::to_writer),
/// [`from_slice`](super::from_slice) or [`from_slice_mut`](super::from_slice_mut).
///
/// Opaque, like hyper's errors: ask it what happened. For a request body,
/// [`is_syntax`](Self::is_syntax) means the client sent malformed JSON (answer 400)
/// and [`is_data`](Self::is_data) well-formed JSON of the wrong shape (422); any
/// other error is the server's (500).
///
/// ```
/// use armature_core::json;
///
/// let err = json::from_slice::<Vec<u32>>(b"[1, 2").unwrap_err();
/// assert!(err.is_syntax());
/// let err = json::from_slice::<Vec<u32>>(br#"["one"]"#).unwrap_err();
/// assert!(err.is_data());
/// ```
pub struct Error {
    kind: Kind,
    source: Source,
}

/// What kind of failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    Syntax,
    Data,
    Io,
    Serialize,
}

/// The backend's own error, kept for `Display` and `source()`.
enum Source {
    SerdeJson(serde_json::Error),
    #[cfg(feature = "simd-json")]
    Simd(simd_json::Error),
}

impl Error {
    /// A deserialization error from serde_json, classified by its category.
    #[cfg_attr(feature = "simd-json", allow(dead_code))]
    pub(super) fn from_serde_json_de(e: serde_json::Error) -> Self {
        use serde_json::error::Category;
        let kind = match e.classify() {
            Category::Syntax | Category::Eof => Kind::Syntax,
            Category::Data => Kind::Data,
            Category::Io => Kind::Io,
        };
        Error {
            kind,
            source: Source::SerdeJson(e),
        }
    }

    /// A serialization error from serde_json.
    pub(super) fn from_serde_json_ser(e: serde_json::Error) -> Self {
        let kind = if e.is_io() { Kind::Io } else { Kind::Serialize };
        Error {
            kind,
            source: Source::SerdeJson(e),
        }
    }

    /// An error from simd-json; `kind` is decided by the caller (which knows the stage
    /// that failed), except that I/O errors are always [`Kind::Io`].
    #[cfg(feature = "simd-json")]
    pub(super) fn from_simd(kind: Kind, e: simd_json::Error) -> Self {
        let kind = match e.error() {
            simd_json::ErrorType::Io(_) => Kind::Io,
            _ => kind,
        };
        Error {
            kind,
            source: Source::Simd(e),
        }
    }

    /// The input is not well-formed JSON (bad token, unterminated value, trailing
    /// characters, invalid UTF-8, empty input). A request body with such an error
    /// deserves `400 Bad Request`.
    pub fn is_syntax(&self) -> bool {
        self.kind == Kind::Syntax
    }

    /// The input is well-formed JSON but does not fit the target type (missing
    /// field, wrong type, number out of range, unknown variant). A request body with
    /// such an error deserves `422 Unprocessable Entity`.
    pub fn is_data(&self) -> bool {
        self.kind == Kind::Data
    }

    /// Writing the output failed ([`to_writer`](super::to_writer)).
    pub fn is_io(&self) -> bool {
        self.kind == Kind::Io
    }

    /// The value could not be serialized (a map with non-string keys, a failing
    /// `Serialize` impl).
    pub fn is_serialize(&self) -> bool {
        self.kind == Kind::Serialize
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.source {
            Source::SerdeJson(e) => fmt::Display::fmt(e, f),
            #[cfg(feature = "simd-json")]
            Source::Simd(e) => match e.error() {
                // Messages from `Deserialize` impls ("missing field `id`") are shown as is.
                simd_json::ErrorType::Serde(msg) => f.write_str(msg),
                _ => fmt::Display::fmt(e, f),
            },
        }
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("json::Error")
            .field("kind", &self.kind)
            .field("message", &self.to_string())
            .finish()
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.source {
            Source::SerdeJson(e) => Some(e),
            #[cfg(feature = "simd-json")]
            Source::Simd(e) => Some(e),
        }
    }
}
