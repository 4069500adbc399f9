//! The error of deserializing from string pairs.

use std::fmt;

/// Why [`from_pairs`](super::from_pairs) failed: which key or value, and what was
/// expected.
///
/// Opaque so that it can grow; ask it questions ([`is_missing`](Self::is_missing),
/// [`is_invalid`](Self::is_invalid), [`is_wrong_count`](Self::is_wrong_count)) or
/// print it:
///
/// ```
/// use armature_core::de::from_pairs;
///
/// let err = from_pairs::<u32, _>([("id", "abc")]).unwrap_err();
/// assert!(err.is_invalid());
/// assert_eq!(err.key(), Some("id"));
/// assert_eq!(err.to_string(), r#"invalid value "abc" for `id`: expected u32"#);
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct DeError {
    kind: Kind,
    key: Option<Box<str>>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Kind {
    /// A required key has no pair.
    Missing,
    /// A value could not be turned into the expected type.
    Invalid { value: Box<str>, expected: Box<str> },
    /// A tuple or single value got the wrong number of values.
    Count { expected: usize, found: usize },
    /// Anything else a `Deserialize` impl reported.
    Custom(Box<str>),
}

/// Values longer than this are cut short in messages (they come from the client).
const MAX_SHOWN: usize = 64;

impl DeError {
    pub(super) fn invalid(key: Option<&str>, value: &str, expected: impl fmt::Display) -> Self {
        DeError {
            kind: Kind::Invalid {
                value: value.into(),
                expected: expected.to_string().into(),
            },
            key: key.map(Into::into),
        }
    }

    pub(super) fn count(expected: usize, found: usize) -> Self {
        DeError {
            kind: Kind::Count { expected, found },
            key: None,
        }
    }

    /// Attaches `key` unless the error already names one.
    pub(super) fn with_key(mut self, key: &str) -> Self {
        if self.key.is_none() && !matches!(self.kind, Kind::Count { .. }) {
            self.key = Some(key.into());
        }
        self
    }

    /// A required field had no pair (e.g. a struct field that is not an `Option`).
    pub fn is_missing(&self) -> bool {
        matches!(self.kind, Kind::Missing)
    }

    /// A value was present but is not what the type expects (`"abc"` for a `u32`,
    /// an unknown enum variant, ...).
    pub fn is_invalid(&self) -> bool {
        matches!(self.kind, Kind::Invalid { .. } | Kind::Custom(_))
    }

    /// A single value or tuple was asked for, but the number of pairs differs
    /// (e.g. `Path<(u32, u32)>` on a route with one parameter).
    pub fn is_wrong_count(&self) -> bool {
        matches!(self.kind, Kind::Count { .. })
    }

    /// The key whose value failed, when known.
    pub fn key(&self) -> Option<&str> {
        self.key.as_deref()
    }

    /// The offending value, for [`is_invalid`](Self::is_invalid) errors that have one.
    pub fn value(&self) -> Option<&str> {
        match &self.kind {
            Kind::Invalid { value, .. } => Some(value),
            _ => None,
        }
    }
}

/// Writes at most [`MAX_SHOWN`] characters of `value`, marking a cut with `…`.
fn shorten(value: &str) -> (&str, &'static str) {
    match value.char_indices().nth(MAX_SHOWN) {
        Some((cut, _)) => (&value[..cut], "…"),
        None => (value, ""),
    }
}

impl fmt::Display for DeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.kind, self.key.as_deref()) {
            (Kind::Missing, Some(key)) => write!(f, "missing field `{key}`"),
            (Kind::Missing, None) => f.write_str("missing field"),
            (Kind::Invalid { value, expected }, key) => {
                let (shown, ellipsis) = shorten(value);
                write!(f, "invalid value {:?}{ellipsis}", shown)?;
                if let Some(key) = key {
                    write!(f, " for `{key}`")?;
                }
                write!(f, ": expected {expected}")
            }
            (Kind::Count { expected, found }, _) => {
                let plural = if *expected == 1 { "" } else { "s" };
                write!(f, "expected {expected} value{plural}, found {found}")
            }
            (Kind::Custom(msg), Some(key)) => write!(f, "invalid `{key}`: {msg}"),
            (Kind::Custom(msg), None) => f.write_str(msg),
        }
    }
}

impl fmt::Debug for DeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeError")
            .field("kind", &self.kind)
            .field("key", &self.key)
            .field("message", &self.to_string())
            .finish()
    }
}

impl std::error::Error for DeError {}

impl serde::de::Error for DeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        DeError {
            kind: Kind::Custom(msg.to_string().into()),
            key: None,
        }
    }

    fn invalid_type(unexp: serde::de::Unexpected<'_>, exp: &dyn serde::de::Expected) -> Self {
        Self::invalid_value(unexp, exp)
    }

    fn invalid_value(unexp: serde::de::Unexpected<'_>, exp: &dyn serde::de::Expected) -> Self {
        match unexp {
            serde::de::Unexpected::Str(s) => DeError::invalid(None, s, exp),
            other => DeError::invalid(None, &other.to_string(), exp),
        }
    }

    fn unknown_variant(variant: &str, expected: &'static [&'static str]) -> Self {
        let expected = match expected {
            [] => "no variant".to_owned(),
            [one] => format!("`{one}`"),
            many => {
                let list: Vec<String> = many.iter().map(|v| format!("`{v}`")).collect();
                format!("one of {}", list.join(", "))
            }
        };
        DeError::invalid(None, variant, expected)
    }

    fn missing_field(field: &'static str) -> Self {
        DeError {
            kind: Kind::Missing,
            key: Some(field.into()),
        }
    }
}
