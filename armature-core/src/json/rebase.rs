//! Borrow rebasing: deserializing from a private copy of the input while letting the
//! value borrow from the caller's input.
//!
//! simd-json parses in place, so [`json::from_slice`](super::from_slice) (which only has
//! `&[u8]`) parses a copy. A string simd-json hands out borrowed points into that copy,
//! at the same offset as in the caller's input; when the bytes at that offset of the
//! input are identical (the string had no escapes to rewrite), the adapter passes the
//! input's bytes on as borrowed, otherwise it passes the string on as transient (the
//! visitor copies it). That is the rule serde_json follows, so a `&'a str` field works
//! (or fails, for an escaped string) the same way with either backend.
//!
//! The adapter wraps every serde trait that carries the deserializer's lifetime
//! (`Deserializer`, `Visitor`, `DeserializeSeed`, `SeqAccess`, `MapAccess`,
//! `EnumAccess`, `VariantAccess`) and forwards each call unchanged apart from that.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, DeserializeSeed, Deserializer, Visitor};

/// Where the caller's input and its copy live.
#[derive(Clone, Copy)]
pub(super) struct Origin<'a> {
    input: &'a [u8],
    copy_start: usize,
}

impl<'a> Origin<'a> {
    /// `copy` must be a copy of `input` (same length), about to be parsed.
    pub(super) fn new(input: &'a [u8], copy: &[u8]) -> Self {
        debug_assert_eq!(input.len(), copy.len());
        Origin {
            input,
            copy_start: copy.as_ptr() as usize,
        }
    }

    /// The bytes of `input` at the place `bytes` occupies in the copy, if `bytes` lies
    /// inside the copy and the two are identical.
    #[inline]
    fn bytes(&self, bytes: &[u8]) -> Option<&'a [u8]> {
        let offset = (bytes.as_ptr() as usize).checked_sub(self.copy_start)?;
        let end = offset.checked_add(bytes.len())?;
        let same_place = self.input.get(offset..end)?;
        (same_place == bytes).then_some(same_place)
    }

    #[inline]
    fn str(&self, s: &str) -> Option<&'a str> {
        let bytes = self.bytes(s.as_bytes())?;
        // SAFETY: `bytes` is equal, byte for byte, to `s`, which is valid UTF-8.
        Some(unsafe { std::str::from_utf8_unchecked(bytes) })
    }
}

/// A deserializer over the copy (lifetime `'c`) that deserializes values borrowing
/// from the input (lifetime `'a`).
pub(super) struct Rebased<'a, 'c, D> {
    inner: D,
    origin: Origin<'a>,
    copy: PhantomData<&'c ()>,
}

impl<'a, D> Rebased<'a, '_, D> {
    pub(super) fn new(inner: D, origin: Origin<'a>) -> Self {
        Rebased {
            inner,
            origin,
            copy: PhantomData,
        }
    }
}

/// Wraps a visitor of the caller's lifetime so the inner deserializer can drive it.
struct RebasedVisitor<'a, V> {
    inner: V,
    origin: Origin<'a>,
}

impl<'a, V> RebasedVisitor<'a, V> {
    fn new(inner: V, origin: Origin<'a>) -> Self {
        RebasedVisitor { inner, origin }
    }
}

macro_rules! forward_deserialize {
    ($($method:ident)*) => {$(
        #[inline]
        fn $method<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, Self::Error> {
            self.inner.$method(RebasedVisitor::new(visitor, self.origin))
        }
    )*};
}

impl<'a, 'c, D: Deserializer<'c>> Deserializer<'a> for Rebased<'a, 'c, D> {
    type Error = D::Error;

    forward_deserialize! {
        deserialize_any deserialize_bool
        deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64 deserialize_i128
        deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64 deserialize_u128
        deserialize_f32 deserialize_f64 deserialize_char deserialize_str deserialize_string
        deserialize_bytes deserialize_byte_buf deserialize_option deserialize_unit
        deserialize_seq deserialize_map deserialize_identifier deserialize_ignored_any
    }

    #[inline]
    fn deserialize_unit_struct<V: Visitor<'a>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.inner
            .deserialize_unit_struct(name, RebasedVisitor::new(visitor, self.origin))
    }

    #[inline]
    fn deserialize_newtype_struct<V: Visitor<'a>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.inner
            .deserialize_newtype_struct(name, RebasedVisitor::new(visitor, self.origin))
    }

    #[inline]
    fn deserialize_tuple<V: Visitor<'a>>(
        self,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.inner
            .deserialize_tuple(len, RebasedVisitor::new(visitor, self.origin))
    }

    #[inline]
    fn deserialize_tuple_struct<V: Visitor<'a>>(
        self,
        name: &'static str,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.inner
            .deserialize_tuple_struct(name, len, RebasedVisitor::new(visitor, self.origin))
    }

    #[inline]
    fn deserialize_struct<V: Visitor<'a>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.inner
            .deserialize_struct(name, fields, RebasedVisitor::new(visitor, self.origin))
    }

    #[inline]
    fn deserialize_enum<V: Visitor<'a>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.inner
            .deserialize_enum(name, variants, RebasedVisitor::new(visitor, self.origin))
    }

    fn is_human_readable(&self) -> bool {
        self.inner.is_human_readable()
    }
}

macro_rules! forward_visit {
    ($($method:ident($ty:ty))*) => {$(
        #[inline]
        fn $method<E: de::Error>(self, v: $ty) -> Result<Self::Value, E> {
            self.inner.$method(v)
        }
    )*};
}

impl<'a, 'c, V: Visitor<'a>> Visitor<'c> for RebasedVisitor<'a, V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.expecting(f)
    }

    forward_visit! {
        visit_bool(bool)
        visit_i8(i8) visit_i16(i16) visit_i32(i32) visit_i64(i64) visit_i128(i128)
        visit_u8(u8) visit_u16(u16) visit_u32(u32) visit_u64(u64) visit_u128(u128)
        visit_f32(f32) visit_f64(f64) visit_char(char)
        visit_str(&str) visit_string(String) visit_bytes(&[u8]) visit_byte_buf(Vec<u8>)
    }

    #[inline]
    fn visit_borrowed_str<E: de::Error>(self, v: &'c str) -> Result<Self::Value, E> {
        match self.origin.str(v) {
            Some(borrowed) => self.inner.visit_borrowed_str(borrowed),
            None => self.inner.visit_str(v),
        }
    }

    #[inline]
    fn visit_borrowed_bytes<E: de::Error>(self, v: &'c [u8]) -> Result<Self::Value, E> {
        match self.origin.bytes(v) {
            Some(borrowed) => self.inner.visit_borrowed_bytes(borrowed),
            None => self.inner.visit_bytes(v),
        }
    }

    #[inline]
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        self.inner.visit_none()
    }

    #[inline]
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        self.inner.visit_unit()
    }

    #[inline]
    fn visit_some<D: Deserializer<'c>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        self.inner
            .visit_some(Rebased::new(deserializer, self.origin))
    }

    #[inline]
    fn visit_newtype_struct<D: Deserializer<'c>>(
        self,
        deserializer: D,
    ) -> Result<Self::Value, D::Error> {
        self.inner
            .visit_newtype_struct(Rebased::new(deserializer, self.origin))
    }

    #[inline]
    fn visit_seq<A: de::SeqAccess<'c>>(self, seq: A) -> Result<Self::Value, A::Error> {
        self.inner.visit_seq(RebasedAccess::new(seq, self.origin))
    }

    #[inline]
    fn visit_map<A: de::MapAccess<'c>>(self, map: A) -> Result<Self::Value, A::Error> {
        self.inner.visit_map(RebasedAccess::new(map, self.origin))
    }

    #[inline]
    fn visit_enum<A: de::EnumAccess<'c>>(self, data: A) -> Result<Self::Value, A::Error> {
        self.inner.visit_enum(RebasedAccess::new(data, self.origin))
    }
}

/// Wraps a seed of the caller's lifetime so the inner deserializer can feed it.
struct RebasedSeed<'a, S> {
    inner: S,
    origin: Origin<'a>,
}

impl<'a, 'c, S: DeserializeSeed<'a>> DeserializeSeed<'c> for RebasedSeed<'a, S> {
    type Value = S::Value;

    #[inline]
    fn deserialize<D: Deserializer<'c>>(self, deserializer: D) -> Result<S::Value, D::Error> {
        self.inner
            .deserialize(Rebased::new(deserializer, self.origin))
    }
}

/// Wraps a `SeqAccess`, `MapAccess`, `EnumAccess` or `VariantAccess` of the copy.
struct RebasedAccess<'a, 'c, A> {
    inner: A,
    origin: Origin<'a>,
    copy: PhantomData<&'c ()>,
}

impl<'a, A> RebasedAccess<'a, '_, A> {
    fn new(inner: A, origin: Origin<'a>) -> Self {
        RebasedAccess {
            inner,
            origin,
            copy: PhantomData,
        }
    }

    fn seed<S>(&self, inner: S) -> RebasedSeed<'a, S> {
        RebasedSeed {
            inner,
            origin: self.origin,
        }
    }
}

impl<'a, 'c, A: de::SeqAccess<'c>> de::SeqAccess<'a> for RebasedAccess<'a, 'c, A> {
    type Error = A::Error;

    #[inline]
    fn next_element_seed<T: DeserializeSeed<'a>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, A::Error> {
        let seed = self.seed(seed);
        self.inner.next_element_seed(seed)
    }

    fn size_hint(&self) -> Option<usize> {
        self.inner.size_hint()
    }
}

impl<'a, 'c, A: de::MapAccess<'c>> de::MapAccess<'a> for RebasedAccess<'a, 'c, A> {
    type Error = A::Error;

    #[inline]
    fn next_key_seed<K: DeserializeSeed<'a>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        let seed = self.seed(seed);
        self.inner.next_key_seed(seed)
    }

    #[inline]
    fn next_value_seed<V: DeserializeSeed<'a>>(&mut self, seed: V) -> Result<V::Value, A::Error> {
        let seed = self.seed(seed);
        self.inner.next_value_seed(seed)
    }

    fn size_hint(&self) -> Option<usize> {
        self.inner.size_hint()
    }
}

impl<'a, 'c, A: de::EnumAccess<'c>> de::EnumAccess<'a> for RebasedAccess<'a, 'c, A> {
    type Error = A::Error;
    type Variant = RebasedAccess<'a, 'c, A::Variant>;

    #[inline]
    fn variant_seed<V: DeserializeSeed<'a>>(
        self,
        seed: V,
    ) -> Result<(V::Value, Self::Variant), A::Error> {
        let origin = self.origin;
        let (value, variant) = self.inner.variant_seed(RebasedSeed {
            inner: seed,
            origin,
        })?;
        Ok((value, RebasedAccess::new(variant, origin)))
    }
}

impl<'a, 'c, A: de::VariantAccess<'c>> de::VariantAccess<'a> for RebasedAccess<'a, 'c, A> {
    type Error = A::Error;

    #[inline]
    fn unit_variant(self) -> Result<(), A::Error> {
        self.inner.unit_variant()
    }

    #[inline]
    fn newtype_variant_seed<T: DeserializeSeed<'a>>(self, seed: T) -> Result<T::Value, A::Error> {
        let seed = self.seed(seed);
        self.inner.newtype_variant_seed(seed)
    }

    #[inline]
    fn tuple_variant<V: Visitor<'a>>(self, len: usize, visitor: V) -> Result<V::Value, A::Error> {
        self.inner
            .tuple_variant(len, RebasedVisitor::new(visitor, self.origin))
    }

    #[inline]
    fn struct_variant<V: Visitor<'a>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, A::Error> {
        self.inner
            .struct_variant(fields, RebasedVisitor::new(visitor, self.origin))
    }
}
