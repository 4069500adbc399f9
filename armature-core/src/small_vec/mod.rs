//! Inline key/value collections for request data: query strings, path parameters,
//! cookies and form fields.
//!
//! Each type keeps its first `N` pairs inside the value itself (a [`SmallVec`]), so the
//! usual request never allocates for them. Keys and values are [`Cow`]s: parsing borrows
//! from the input and allocates only for a component that percent- or plus-decoding
//! actually changes.
//!
//! ```
//! use armature_core::small_vec::{Cookies, FormFields, PathParams, QueryParams};
//!
//! let params = QueryParams::parse("name=Alice&age=30");
//! assert!(params.is_inline()); // no heap allocation
//! assert_eq!(params.get("age"), Some("30"));
//!
//! let mut path = PathParams::new();
//! path.push("id", "123");
//! path.push("slug", "hello-world");
//! assert_eq!(path.get("slug"), Some("hello-world"));
//!
//! let cookies = Cookies::parse("session=abc; user=alice");
//! assert_eq!(cookies.get("user"), Some("alice"));
//!
//! let fields = FormFields::parse("name=Alice&email=alice%40example.com");
//! assert_eq!(fields.get("email"), Some("alice@example.com"));
//! ```

mod decode;
#[cfg(test)]
mod tests;

use std::borrow::Cow;
use std::fmt;
use std::iter::FusedIterator;
use std::slice;

use smallvec::SmallVec;

pub use decode::{decode_form, decode_percent};

/// One key/value pair as stored by the collections of this module.
pub type Pair<'a> = (Cow<'a, str>, Cow<'a, str>);

/// Iterator over the pairs of a collection as `(&str, &str)`, in insertion order.
#[derive(Clone)]
pub struct Iter<'s, 'a> {
    inner: slice::Iter<'s, Pair<'a>>,
}

impl<'s> Iterator for Iter<'s, '_> {
    type Item = (&'s str, &'s str);

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        self.inner.next().map(|(k, v)| (&**k, &**v))
    }

    #[inline]
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }
}

impl DoubleEndedIterator for Iter<'_, '_> {
    #[inline]
    fn next_back(&mut self) -> Option<Self::Item> {
        self.inner.next_back().map(|(k, v)| (&**k, &**v))
    }
}

impl ExactSizeIterator for Iter<'_, '_> {}
impl FusedIterator for Iter<'_, '_> {}

impl fmt::Debug for Iter<'_, '_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.clone()).finish()
    }
}

/// Iterator over every value stored under one key, in insertion order.
#[derive(Clone, Debug)]
pub struct GetAll<'s, 'a, 'k> {
    inner: slice::Iter<'s, Pair<'a>>,
    key: &'k str,
}

impl<'s> Iterator for GetAll<'s, '_, '_> {
    type Item = &'s str;

    #[inline]
    fn next(&mut self) -> Option<&'s str> {
        let key = self.key;
        self.inner.find(|(k, _)| k == key).map(|(_, v)| &**v)
    }
}

impl FusedIterator for GetAll<'_, '_, '_> {}

/// Defines one pair collection with its inline capacity and the methods they share.
macro_rules! pair_collection {
    ($(#[$meta:meta])* $name:ident, $cap:literal) => {
        $(#[$meta])*
        #[derive(Clone, Default, PartialEq, Eq, Hash)]
        pub struct $name<'a> {
            inner: SmallVec<[Pair<'a>; $cap]>,
        }

        impl<'a> $name<'a> {
            /// How many pairs fit before the collection moves to the heap.
            pub const INLINE_CAPACITY: usize = $cap;

            /// An empty collection (no allocation).
            #[inline]
            pub const fn new() -> Self {
                Self { inner: SmallVec::new_const() }
            }

            /// Appends a pair; keys may repeat.
            #[inline]
            pub fn push(&mut self, key: impl Into<Cow<'a, str>>, value: impl Into<Cow<'a, str>>) {
                self.inner.push((key.into(), value.into()));
            }

            /// The value of the first pair whose key is `key`.
            #[inline]
            pub fn get(&self, key: &str) -> Option<&str> {
                self.inner.iter().find(|(k, _)| k == key).map(|(_, v)| &**v)
            }

            /// Every value stored under `key`, in order.
            #[inline]
            pub fn get_all<'s, 'k>(&'s self, key: &'k str) -> GetAll<'s, 'a, 'k> {
                GetAll { inner: self.inner.iter(), key }
            }

            /// Whether some pair has the key `key`.
            #[inline]
            pub fn contains_key(&self, key: &str) -> bool {
                self.inner.iter().any(|(k, _)| k == key)
            }

            /// The pairs as `(&str, &str)`, in insertion order.
            #[inline]
            pub fn iter(&self) -> Iter<'_, 'a> {
                Iter { inner: self.inner.iter() }
            }

            /// The pairs as stored.
            #[inline]
            pub fn as_slice(&self) -> &[Pair<'a>] {
                &self.inner
            }

            /// The number of pairs.
            #[inline]
            pub fn len(&self) -> usize {
                self.inner.len()
            }

            /// Whether there are no pairs.
            #[inline]
            pub fn is_empty(&self) -> bool {
                self.inner.is_empty()
            }

            /// Whether the pairs are still stored inline (nothing spilled to the heap).
            #[inline]
            pub fn is_inline(&self) -> bool {
                !self.inner.spilled()
            }

            /// Removes every pair, keeping any heap storage.
            #[inline]
            pub fn clear(&mut self) {
                self.inner.clear();
            }

            /// Detaches the collection from the input it borrows from (copies borrowed
            /// keys and values; owned ones are moved).
            pub fn into_owned(self) -> $name<'static> {
                $name {
                    inner: self
                        .inner
                        .into_iter()
                        .map(|(k, v)| (Cow::Owned(k.into_owned()), Cow::Owned(v.into_owned())))
                        .collect(),
                }
            }
        }

        impl fmt::Debug for $name<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_map().entries(self.iter()).finish()
            }
        }

        impl<'s, 'a> IntoIterator for &'s $name<'a> {
            type Item = (&'s str, &'s str);
            type IntoIter = Iter<'s, 'a>;

            #[inline]
            fn into_iter(self) -> Iter<'s, 'a> {
                self.iter()
            }
        }

        impl<'a> IntoIterator for $name<'a> {
            type Item = Pair<'a>;
            type IntoIter = smallvec::IntoIter<[Pair<'a>; $cap]>;

            #[inline]
            fn into_iter(self) -> Self::IntoIter {
                self.inner.into_iter()
            }
        }

        impl<'a, K, V> FromIterator<(K, V)> for $name<'a>
        where
            K: Into<Cow<'a, str>>,
            V: Into<Cow<'a, str>>,
        {
            fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
                let mut out = Self::new();
                out.extend(iter);
                out
            }
        }

        impl<'a, K, V> Extend<(K, V)> for $name<'a>
        where
            K: Into<Cow<'a, str>>,
            V: Into<Cow<'a, str>>,
        {
            fn extend<I: IntoIterator<Item = (K, V)>>(&mut self, iter: I) {
                self.inner.extend(iter.into_iter().map(|(k, v)| (k.into(), v.into())));
            }
        }
    };
}

pair_collection! {
    /// Query-string parameters; 8 pairs inline.
    ///
    /// ```
    /// use armature_core::small_vec::QueryParams;
    ///
    /// let q = QueryParams::parse("q=rust+web&tag=a&tag=b&page");
    /// assert_eq!(q.get("q"), Some("rust web"));
    /// assert_eq!(q.get_all("tag").collect::<Vec<_>>(), ["a", "b"]);
    /// assert_eq!(q.get("page"), Some(""));
    /// assert!(q.is_inline());
    /// ```
    QueryParams, 8
}

pair_collection! {
    /// Path parameters captured by a route; 4 pairs inline.
    ///
    /// The router fills it with keys borrowed from the route pattern and values
    /// borrowed from the request path (still percent-encoded).
    ///
    /// ```
    /// use armature_core::small_vec::PathParams;
    ///
    /// let mut p = PathParams::new();
    /// p.push("id", "123");
    /// assert_eq!(p.get("id"), Some("123"));
    /// assert!(p.is_inline());
    /// ```
    PathParams, 4
}

pair_collection! {
    /// Cookies of a `Cookie` request header; 8 pairs inline.
    ///
    /// ```
    /// use armature_core::small_vec::Cookies;
    ///
    /// let c = Cookies::parse(r#"session=abc; theme="dark"; id=a%20b"#);
    /// assert_eq!(c.get("session"), Some("abc"));
    /// assert_eq!(c.get("theme"), Some("dark"));
    /// assert_eq!(c.get("id"), Some("a b"));
    /// ```
    Cookies, 8
}

pair_collection! {
    /// Fields of an `application/x-www-form-urlencoded` body; 16 pairs inline.
    ///
    /// ```
    /// use armature_core::small_vec::FormFields;
    ///
    /// let f = FormFields::parse("name=Alice&email=alice%40example.com");
    /// assert_eq!(f.get("email"), Some("alice@example.com"));
    /// ```
    FormFields, 16
}

/// Calls `f(piece, eq, escaped)` for each non-empty `sep`-separated piece of `input`,
/// where `eq` is the index of the piece's first `=` and `escaped` tells whether the
/// piece contains `esc1` or `esc2` (the bytes that call for decoding).
///
/// One plain byte loop does the splitting and the escape check. Measured with
/// callgrind on `name=Alice&age=30`, a whole `QueryParams::parse` costs 528
/// instructions this way, 553 with `str::split` + `split_once` and a `memchr2`
/// pre-scan, 749 with `memchr2_iter` (whose setup does not pay on short inputs), and
/// 1188 with `split` + `split_once` + a `memchr2` per component.
#[inline]
fn for_each_piece<'a>(
    input: &'a str,
    sep: u8,
    esc1: u8,
    esc2: u8,
    mut f: impl FnMut(&'a str, Option<usize>, bool),
) {
    let bytes = input.as_bytes();
    let mut start = 0;
    let mut eq = None;
    let mut escaped = false;
    for (i, &b) in bytes.iter().enumerate() {
        if b == sep {
            if i > start {
                // `sep` and `=` are ASCII, so every index used here is a char boundary.
                f(&input[start..i], eq.map(|e| e - start), escaped);
            }
            start = i + 1;
            eq = None;
            escaped = false;
        } else if b == b'=' {
            eq = eq.or(Some(i));
        } else {
            escaped |= b == esc1 || b == esc2;
        }
    }
    if bytes.len() > start {
        f(&input[start..], eq.map(|e| e - start), escaped);
    }
}

/// Trims spaces and tabs (byte-wise: cheaper than a `char` predicate).
#[inline]
fn trim_ws(s: &str) -> &str {
    let bytes = s.as_bytes();
    let is_ws = |b: &u8| *b == b' ' || *b == b'\t';
    let start = bytes.iter().position(|b| !is_ws(b)).unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|b| !is_ws(b))
        .map_or(start, |i| i + 1);
    // Spaces and tabs are ASCII: both ends are char boundaries.
    &s[start..end]
}

/// Splits a piece at its first `=` (found by [`for_each_piece`]).
#[inline]
fn split_at_eq(piece: &str, eq: Option<usize>) -> (&str, &str) {
    match eq {
        Some(e) => (&piece[..e], &piece[e + 1..]),
        None => (piece, ""),
    }
}

/// Splits `application/x-www-form-urlencoded` text into decoded pairs.
///
/// `&` separates pairs (empty pieces are skipped), the first `=` separates key from
/// value (a piece without `=` has the value `""`), `+` is a space and `%XX` a byte.
#[inline]
fn parse_urlencoded<'a>(input: &'a str, mut push: impl FnMut(Pair<'a>)) {
    for_each_piece(input, b'&', b'%', b'+', |piece, eq, escaped| {
        let (key, value) = split_at_eq(piece, eq);
        if escaped {
            push((decode_form(key), decode_form(value)));
        } else {
            push((Cow::Borrowed(key), Cow::Borrowed(value)));
        }
    });
}

impl<'a> QueryParams<'a> {
    /// Parses a query string (the part after `?`, without the `?`).
    ///
    /// Follows the WHATWG `application/x-www-form-urlencoded` parser: pairs split on
    /// `&`, `+` decodes to a space, `%XX` escapes are decoded, invalid UTF-8 after
    /// decoding becomes U+FFFD. Components that need no decoding are borrowed.
    #[inline]
    pub fn parse(query: &'a str) -> Self {
        let mut out = Self::new();
        parse_urlencoded(query, |pair| out.inner.push(pair));
        out
    }
}

impl<'a> FormFields<'a> {
    /// Parses an `application/x-www-form-urlencoded` body, with the same rules as
    /// [`QueryParams::parse`].
    #[inline]
    pub fn parse(body: &'a str) -> Self {
        let mut out = Self::new();
        parse_urlencoded(body, |pair| out.inner.push(pair));
        out
    }
}

impl<'a> Cookies<'a> {
    /// Parses the value of a `Cookie` header.
    ///
    /// Pairs are separated by `;`; whitespace around names and values is trimmed, one
    /// pair of double quotes around a value is removed, and `%XX` escapes are decoded
    /// (a `+` stays a `+`). A piece without `=` is a name with the value `""`.
    pub fn parse(header: &'a str) -> Self {
        let mut out = Self::new();
        for_each_piece(header, b';', b'%', b'%', |piece, eq, escaped| {
            let (name, value) = split_at_eq(piece, eq);
            let name = trim_ws(name);
            if eq.is_none() && name.is_empty() {
                return; // only whitespace between two `;`
            }
            let value = trim_ws(value);
            let value = match value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
                Some(unquoted) => unquoted,
                None => value,
            };
            if escaped {
                out.inner
                    .push((decode_percent(name), decode_percent(value)));
            } else {
                out.inner.push((Cow::Borrowed(name), Cow::Borrowed(value)));
            }
        });
        out
    }
}
