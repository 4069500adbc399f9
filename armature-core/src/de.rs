//! Deserialization of typed values from string pairs: what the `Path`, `Query` and
//! `Form` extractors turn path parameters, query strings and form bodies into.
//!
//! [`from_pairs`] reads a list of `(key, value)` string pairs as
//!
//! - a **struct or map**: one field per key. A missing `Option` field is `None`; an
//!   empty value for an `Option` field is `None` too. A key that repeats fills a
//!   `Vec` field with every value; a scalar field takes the first one.
//! - a **single value** (`u32`, `String`, a unit enum, ...): exactly one pair must be
//!   present; its key is ignored.
//! - a **tuple or sequence**: the values in order (a tuple must get exactly as many
//!   values as it has elements).
//!
//! Scalars are parsed from the string with `FromStr` rules: integers, floats,
//! `bool` (`true`/`false`), `char` (one character), strings (borrowed), unit enum
//! variants by name.
//!
//! ```
//! use armature_core::de::from_pairs;
//! use serde::Deserialize;
//!
//! #[derive(Deserialize, Debug, PartialEq)]
//! struct Search<'a> {
//!     q: &'a str,
//!     page: Option<u32>,
//!     tag: Vec<String>,
//! }
//!
//! let s: Search<'_> = from_pairs([("q", "rust"), ("tag", "a"), ("tag", "b")]).unwrap();
//! assert_eq!(s, Search { q: "rust", page: None, tag: vec!["a".into(), "b".into()] });
//!
//! let id: u32 = from_pairs([("id", "42")]).unwrap();
//! let (id, slug): (u32, String) = from_pairs([("id", "7"), ("slug", "hello")]).unwrap();
//! assert_eq!((id, slug.as_str()), (7, "hello"));
//! ```

mod error;
#[cfg(test)]
mod tests;

use std::collections::HashSet;
use std::str::FromStr;

use serde::de::{self, Deserialize, DeserializeSeed, Visitor};
use smallvec::SmallVec;

pub use error::DeError;

/// One pair as the deserializer sees it.
type StrPair<'de> = (&'de str, &'de str);

/// Deserializes `T` from string pairs (see the [module docs](self) for the rules).
///
/// # Errors
///
/// A [`DeError`] naming the key and value that failed, a missing required key, or a
/// wrong number of values for a single value or tuple.
pub fn from_pairs<'de, T, I>(pairs: I) -> Result<T, DeError>
where
    T: Deserialize<'de>,
    I: IntoIterator<Item = (&'de str, &'de str)>,
{
    let pairs: SmallVec<[StrPair<'de>; 16]> = pairs.into_iter().collect();
    T::deserialize(PairsDeserializer { pairs: &pairs })
}

/// The top level: a whole list of pairs.
struct PairsDeserializer<'p, 'de> {
    pairs: &'p [StrPair<'de>],
}

impl<'p, 'de> PairsDeserializer<'p, 'de> {
    /// The only pair, as a value deserializer, or a count error.
    fn single(&self) -> Result<ValueDeserializer<'p, 'de>, DeError> {
        match self.pairs {
            [(key, value)] => Ok(ValueDeserializer {
                key: Some(key),
                value,
                repeats: &[],
            }),
            other => Err(DeError::count(1, other.len())),
        }
    }

    fn values(&self) -> ValuesSeq<'p, 'de> {
        ValuesSeq {
            pairs: self.pairs.iter(),
            key: None,
        }
    }
}

/// Names `key` in `err` when there is one.
fn with_key(err: DeError, key: Option<&str>) -> DeError {
    match key {
        Some(key) => err.with_key(key),
        None => err,
    }
}

macro_rules! forward_to_single {
    ($($method:ident)*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
            let value = self.single()?;
            let key = value.key;
            value.$method(visitor).map_err(|e| with_key(e, key))
        }
    )*};
}

impl<'de> de::Deserializer<'de> for PairsDeserializer<'_, 'de> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_map(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_map(PairsMap::new(self.pairs))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_map(visitor)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_seq(self.values())
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        if self.pairs.len() != len {
            return Err(DeError::count(len, self.pairs.len()));
        }
        visitor.visit_seq(self.values())
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_tuple(len, visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        if self.pairs.is_empty() {
            visitor.visit_none()
        } else {
            visitor.visit_some(self)
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_unit()
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        visitor.visit_unit()
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_unit()
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        let value = self.single()?;
        let key = value.key;
        value
            .deserialize_enum(name, variants, visitor)
            .map_err(|e| with_key(e, key))
    }

    forward_to_single! {
        deserialize_bool deserialize_char deserialize_str deserialize_string
        deserialize_bytes deserialize_byte_buf deserialize_identifier
        deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64 deserialize_i128
        deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64 deserialize_u128
        deserialize_f32 deserialize_f64
    }
}

/// Above this many pairs, repeated keys are found with a set instead of a scan, so a
/// large form cannot make deserialization quadratic.
const SCAN_LIMIT: usize = 32;

/// The pairs as a map; a repeated key is visited once (its value deserializer sees
/// every repeat).
struct PairsMap<'p, 'de> {
    pairs: &'p [StrPair<'de>],
    next: usize,
    current: Option<usize>,
    seen: Option<HashSet<&'de str>>,
}

impl<'p, 'de> PairsMap<'p, 'de> {
    fn new(pairs: &'p [StrPair<'de>]) -> Self {
        let seen = (pairs.len() > SCAN_LIMIT).then(HashSet::new);
        PairsMap {
            pairs,
            next: 0,
            current: None,
            seen,
        }
    }

    /// Whether the key of pair `i` is the first occurrence of that key.
    fn is_first(&mut self, i: usize) -> bool {
        let key = self.pairs[i].0;
        match &mut self.seen {
            Some(seen) => seen.insert(key),
            None => !self.pairs[..i].iter().any(|(k, _)| *k == key),
        }
    }
}

impl<'de> de::MapAccess<'de> for PairsMap<'_, 'de> {
    type Error = DeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, DeError> {
        while self.next < self.pairs.len() {
            let i = self.next;
            self.next += 1;
            if self.is_first(i) {
                self.current = Some(i);
                let key = de::value::BorrowedStrDeserializer::<DeError>::new(self.pairs[i].0);
                return seed.deserialize(key).map(Some);
            }
        }
        Ok(None)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, DeError> {
        let i = self
            .current
            .take()
            .ok_or_else(|| de::Error::custom("value asked before key"))?;
        let (key, value) = self.pairs[i];
        let repeats = &self.pairs[i + 1..];
        seed.deserialize(ValueDeserializer {
            key: Some(key),
            value,
            repeats,
        })
        .map_err(|e| e.with_key(key))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.pairs.len() - self.next)
    }
}

/// The values of a list of pairs, in order (all of them, or those of one key).
struct ValuesSeq<'p, 'de> {
    pairs: std::slice::Iter<'p, StrPair<'de>>,
    /// When set, only pairs with this key are visited.
    key: Option<&'de str>,
}

impl<'de> de::SeqAccess<'de> for ValuesSeq<'_, 'de> {
    type Error = DeError;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, DeError> {
        let only = self.key;
        let Some(&(key, value)) = self.pairs.find(|(k, _)| only.is_none_or(|only| *k == only))
        else {
            return Ok(None);
        };
        seed.deserialize(ValueDeserializer {
            key: Some(key),
            value,
            repeats: &[],
        })
        .map(Some)
        .map_err(|e| e.with_key(key))
    }

    fn size_hint(&self) -> Option<usize> {
        match self.key {
            None => Some(self.pairs.len()),
            Some(_) => None,
        }
    }
}

/// One value (and, for a map entry, the pairs after it that may repeat its key).
struct ValueDeserializer<'p, 'de> {
    key: Option<&'de str>,
    value: &'de str,
    repeats: &'p [StrPair<'de>],
}

impl ValueDeserializer<'_, '_> {
    fn parse<T: FromStr>(&self, expected: &'static str) -> Result<T, DeError> {
        self.value
            .parse()
            .map_err(|_| DeError::invalid(self.key, self.value, expected))
    }
}

macro_rules! parse_scalar {
    ($($method:ident => $visit:ident $ty:ident,)*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
            visitor.$visit(self.parse::<$ty>(stringify!($ty))?)
        }
    )*};
}

impl<'de> de::Deserializer<'de> for ValueDeserializer<'_, 'de> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_borrowed_str(self.value)
    }

    parse_scalar! {
        deserialize_bool => visit_bool bool,
        deserialize_i8 => visit_i8 i8,
        deserialize_i16 => visit_i16 i16,
        deserialize_i32 => visit_i32 i32,
        deserialize_i64 => visit_i64 i64,
        deserialize_i128 => visit_i128 i128,
        deserialize_u8 => visit_u8 u8,
        deserialize_u16 => visit_u16 u16,
        deserialize_u32 => visit_u32 u32,
        deserialize_u64 => visit_u64 u64,
        deserialize_u128 => visit_u128 u128,
        deserialize_f32 => visit_f32 f32,
        deserialize_f64 => visit_f64 f64,
        deserialize_char => visit_char char,
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_borrowed_str(self.value)
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_borrowed_str(self.value)
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_borrowed_str(self.value)
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_borrowed_bytes(self.value.as_bytes())
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_borrowed_bytes(self.value.as_bytes())
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        if self.value.is_empty() {
            visitor.visit_none()
        } else {
            visitor.visit_some(self)
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_unit()
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        visitor.visit_unit()
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        visitor.visit_newtype_struct(self)
    }

    /// The value and every later pair with the same key (`?tag=a&tag=b`).
    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_seq(Repeats {
            key: self.key,
            first: Some(self.value),
            rest: self.repeats.iter(),
        })
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        Err(de::Error::invalid_type(
            de::Unexpected::Str(self.value),
            &visitor,
        ))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_map(visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        visitor.visit_enum(UnitVariant { value: self.value })
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_unit()
    }
}

/// The values of one key: the first occurrence, then each repeat.
struct Repeats<'p, 'de> {
    key: Option<&'de str>,
    first: Option<&'de str>,
    rest: std::slice::Iter<'p, StrPair<'de>>,
}

impl<'de> de::SeqAccess<'de> for Repeats<'_, 'de> {
    type Error = DeError;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, DeError> {
        let value = match self.first.take() {
            Some(value) => value,
            None => match self.key.and_then(|key| self.rest.find(|(k, _)| *k == key)) {
                Some(&(_, value)) => value,
                None => return Ok(None),
            },
        };
        let element = ValueDeserializer {
            key: self.key,
            value,
            repeats: &[],
        };
        seed.deserialize(element).map(Some)
    }
}

/// An enum given by a variant name: only unit variants can be built from a string.
struct UnitVariant<'de> {
    value: &'de str,
}

impl<'de> de::EnumAccess<'de> for UnitVariant<'de> {
    type Error = DeError;
    type Variant = Self;

    fn variant_seed<S: DeserializeSeed<'de>>(self, seed: S) -> Result<(S::Value, Self), DeError> {
        let name = de::value::BorrowedStrDeserializer::<DeError>::new(self.value);
        Ok((seed.deserialize(name)?, self))
    }
}

impl<'de> de::VariantAccess<'de> for UnitVariant<'de> {
    type Error = DeError;

    fn unit_variant(self) -> Result<(), DeError> {
        Ok(())
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, _seed: T) -> Result<T::Value, DeError> {
        Err(DeError::invalid(None, self.value, "a unit variant"))
    }

    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, _visitor: V) -> Result<V::Value, DeError> {
        Err(DeError::invalid(None, self.value, "a unit variant"))
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, DeError> {
        Err(DeError::invalid(None, self.value, "a unit variant"))
    }
}
