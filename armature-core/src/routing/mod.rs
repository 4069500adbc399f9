//! Request routing: one matchit tree per method, an exact-match map in front of them
//! for routes without parameters, and an optional per-worker LRU cache of dynamic
//! matches.
//!
//! ```
//! use armature_core::routing::Router;
//!
//! let mut router = Router::new();
//! router.get("/health", "health");
//! router.get("/users/:id", "get_user");            // or "/users/{id}"
//! router.post("/users", "create_user");
//! router.get("/files/*path", "file");              // or "/files/{*path}"
//! router.check().expect("valid routes");
//!
//! let m = router.match_route("GET", "/users/123")?;
//! assert_eq!((*m.value, m.params.get("id")), ("get_user", Some("123")));
//! let m = router.match_route("HEAD", "/files/a/b.txt")?;  // HEAD falls back to GET
//! assert_eq!(m.params.get("path"), Some("a/b.txt"));
//! # Ok::<(), armature_core::routing::MatchError>(())
//! ```
//!
//! A path is matched as it arrives (still percent-encoded): parameter values borrow
//! from it undecoded. Static segments win over parameters, parameters over catch-alls
//! (matchit's priority); a catch-all matches one or more characters, so
//! `/files/*path` matches neither `/files` nor `/files/`. A trailing slash matters:
//! `/users` and `/users/` are different routes.

mod cache;
mod error;
mod literal;
mod method;
mod pattern;
#[cfg(test)]
mod tests;

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;

pub(crate) use crate::http::request::ParamRanges;
use crate::small_vec::PathParams;
use crate::Method;

pub use cache::RouteCache;
pub use error::{MatchError, RouteError};
pub use method::RouteMethod;
pub use pattern::pattern_params;

/// What [`route!`](crate::route) expands to; not part of the API.
#[doc(hidden)]
pub mod __private {
    pub use super::literal::{check_literal, Message};
}

use cache::Resolved;

/// Number of methods, the size of per-method tables.
const METHODS: usize = Method::ALL.len();

/// An empty slot in [`Slots`].
const NO_ROUTE: u32 = u32::MAX;

/// For one static path: the route of each method (by [`Method::index`]).
type Slots = [u32; METHODS];

/// The static map's hasher: foldhash (lru's default, through hashbrown). The map's keys
/// are the app's own routes, fixed once built, so a client can neither grow it nor fill
/// a bucket; what matters is hashing a short path cheaply. Measured with callgrind on
/// the 100-route bench table, a whole static `match_route` costs 233 instructions with
/// it and 403 with std's SipHash (a hand-written FxHash-style hasher was no better).
type StaticHasher = lru::DefaultHasher;

/// Up to this many static paths are found by a scan rather than a hash.
const FEW_STATICS: usize = 8;

/// The static routes' slots by path: a list scanned by length and bytes while
/// there are few (most apps; the scan costs ~30 instructions a request less than
/// hashing the path and probing, callgrind, pipelined /plaintext), a hash map once
/// there are more than [`FEW_STATICS`].
#[derive(Debug, Default)]
enum Statics {
    #[default]
    None,
    Few(Vec<(Box<str>, Slots)>),
    Many(HashMap<Box<str>, Slots, StaticHasher>),
}

impl Statics {
    #[inline(always)]
    fn get(&self, path: &str) -> Option<&Slots> {
        match self {
            Statics::None => None,
            Statics::Few(few) => {
                // A loop, not `Iter::find`: inlined into each caller with this
                // function (with two callers, `Router::find` in the connection loop
                // and its refused-request path, LLVM kept `Iter::find` out of line,
                // ~10 instructions a request on pipelined `/plaintext`).
                for (p, slots) in few {
                    if crate::proto::swar::bytes_eq(p.as_bytes(), path.as_bytes()) {
                        return Some(slots);
                    }
                }
                None
            }
            Statics::Many(many) => many.get(path),
        }
    }

    /// The slots of `path`, added (every method absent) when new.
    fn slots_mut(&mut self, path: &str) -> &mut Slots {
        if let Statics::Few(few) = self {
            if few.len() >= FEW_STATICS && !few.iter().any(|(p, _)| &**p == path) {
                let many = std::mem::take(few).into_iter().collect();
                *self = Statics::Many(many);
            }
        }
        match self {
            Statics::None => {
                *self = Statics::Few(vec![(path.into(), [NO_ROUTE; METHODS])]);
                match self {
                    Statics::Few(few) => &mut few[0].1,
                    _ => unreachable!("just set"),
                }
            }
            Statics::Few(few) => match few.iter().position(|(p, _)| &**p == path) {
                Some(i) => &mut few[i].1,
                None => {
                    few.push((path.into(), [NO_ROUTE; METHODS]));
                    &mut few.last_mut().expect("just pushed").1
                }
            },
            Statics::Many(many) => many.entry(path.into()).or_insert([NO_ROUTE; METHODS]),
        }
    }
}

/// A successful match: the route's value and its parameters.
///
/// Parameter keys borrow from the router, values from the path (undecoded).
#[derive(Debug)]
pub struct RouteMatch<'r, 'p, T> {
    /// The value the route was added with.
    pub value: &'r T,
    /// The parameters, in the order of the pattern.
    pub params: PathParams<'p>,
}

/// A match as the server takes it: the value and its parameters' ranges.
pub(crate) struct Matched<'r, T> {
    pub value: &'r T,
    pub ranges: ParamRanges,
}

/// One added route.
struct Route<T> {
    method: Method,
    /// The pattern as given.
    pattern: Box<str>,
    /// The pattern in matchit's syntax (to recognise conflicts).
    matchit: Box<str>,
    /// Parameter names in pattern order.
    params: Box<[Box<str>]>,
    value: T,
}

/// Where a lookup found its route.
enum Found<'r, 'p> {
    Static(u32),
    Dynamic(u32, matchit::Params<'r, 'p>),
}

/// Maps `(method, path)` to a value of type `T` (typically a handler).
///
/// Routes are added with [`route`](Self::route) (which reports an invalid or
/// conflicting route as an `Err`) or the builder methods [`get`](Self::get),
/// [`post`](Self::post), ... (which record the first error for
/// [`check`](Self::check)). Matching never allocates for a static route or for up to
/// four parameters.
///
/// `HEAD` requests use the `GET` route of a path when there is no `HEAD` route for
/// it, and `Allow` lists `HEAD` wherever `GET` is.
pub struct Router<T> {
    routes: Vec<Route<T>>,
    trees: [matchit::Router<u32>; METHODS],
    statics: Statics,
    /// Bit `i`: the tree of method `i` has a route with parameters.
    dynamic: u16,
    first_error: Option<RouteError>,
    /// Identity of this router state, for [`RouteCache`].
    stamp: u64,
}

impl<T> Default for Router<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> fmt::Debug for Router<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut list = f.debug_list();
        for route in &self.routes {
            list.entry(&format_args!("{} {}", route.method, route.pattern));
        }
        list.finish()
    }
}

macro_rules! method_builders {
    ($($name:ident => $method:ident,)*) => {$(
        #[doc = concat!("Adds a `", stringify!($method), "` route; an error is kept for [`check`](Self::check).")]
        pub fn $name(&mut self, pattern: &str, value: T) -> &mut Self {
            self.add(Method::$method, pattern, value)
        }
    )*};
}

impl<T> Router<T> {
    /// An empty router.
    pub fn new() -> Self {
        Router {
            routes: Vec::new(),
            trees: std::array::from_fn(|_| matchit::Router::new()),
            statics: Statics::default(),
            dynamic: 0,
            first_error: None,
            stamp: cache::next_stamp(),
        }
    }

    /// Adds a route for `method` and `pattern`.
    ///
    /// Patterns start with `/`; a segment `:name` or `{name}` is a parameter, a last
    /// segment `*name` or `{*name}` a catch-all; `{name}` may follow a static prefix
    /// within its segment (`/v{version}`); `{{` and `}}` are literal braces.
    ///
    /// # Errors
    ///
    /// [`RouteError`] for an invalid pattern, or a conflict with a route of the same
    /// method (the same pattern, or one matching the same paths).
    pub fn route(
        &mut self,
        method: Method,
        pattern: &str,
        value: T,
    ) -> Result<&mut Self, RouteError> {
        let parsed = pattern::parse(pattern)?;
        let m = method.index();
        if let Some(existing) = self
            .routes
            .iter()
            .find(|r| r.method == method && *r.matchit == *parsed.matchit)
        {
            return Err(RouteError::Conflict {
                method,
                pattern: pattern.to_owned(),
                with: existing.pattern.to_string(),
            });
        }
        let id = u32::try_from(self.routes.len())
            .ok()
            .filter(|&id| id != NO_ROUTE)
            .ok_or_else(|| RouteError::InvalidPattern {
                pattern: pattern.to_owned(),
                reason: "too many routes".into(),
            })?;
        if let Err(e) = self.trees[m].insert(parsed.matchit.as_str(), id) {
            return Err(self.insert_error(method, pattern, e));
        }
        match &parsed.literal {
            Some(literal) => {
                self.statics.slots_mut(literal.as_str())[m] = id;
            }
            None => self.dynamic |= 1 << m,
        }
        self.routes.push(Route {
            method,
            pattern: pattern.into(),
            matchit: parsed.matchit.into(),
            params: parsed.params.into_iter().map(Into::into).collect(),
            value,
        });
        self.stamp = cache::next_stamp();
        Ok(self)
    }

    /// Turns matchit's insertion error into ours, naming our patterns.
    fn insert_error(&self, method: Method, pattern: &str, e: matchit::InsertError) -> RouteError {
        let pattern = pattern.to_owned();
        match e {
            matchit::InsertError::Conflict { with } => {
                let with = self
                    .routes
                    .iter()
                    .find(|r| r.method == method && *r.matchit == *with)
                    .map_or(with, |r| r.pattern.to_string());
                RouteError::Conflict {
                    method,
                    pattern,
                    with,
                }
            }
            matchit::InsertError::InvalidCatchAll => RouteError::InvalidCatchAll { pattern },
            other => RouteError::InvalidPattern {
                pattern,
                reason: other.to_string(),
            },
        }
    }

    /// Adds a route, keeping the first error for [`check`](Self::check).
    fn add(&mut self, method: Method, pattern: &str, value: T) -> &mut Self {
        if let Err(e) = self.route(method, pattern, value) {
            self.first_error.get_or_insert(e);
        }
        self
    }

    method_builders! {
        get => Get,
        post => Post,
        put => Put,
        delete => Delete,
        patch => Patch,
        head => Head,
        options => Options,
    }

    /// The first error of the builder methods ([`get`](Self::get), ...), if any.
    ///
    /// # Errors
    ///
    /// That [`RouteError`]; the failed route was not added.
    pub fn check(&self) -> Result<(), RouteError> {
        match &self.first_error {
            Some(e) => Err(e.clone()),
            None => Ok(()),
        }
    }

    /// The number of routes.
    pub fn len(&self) -> usize {
        self.routes.len()
    }

    /// Whether no route was added.
    pub fn is_empty(&self) -> bool {
        self.routes.is_empty()
    }

    /// The routes, as `(method, pattern as given, value)`, in the order added.
    pub fn routes(&self) -> impl Iterator<Item = (Method, &str, &T)> + '_ {
        self.routes
            .iter()
            .map(|r| (r.method, &*r.pattern, &r.value))
    }

    /// Finds the route for `method` (a [`Method`] or a name like `"GET"`) and `path`.
    ///
    /// # Errors
    ///
    /// [`MatchError::NotFound`] when no method has a route for `path`,
    /// [`MatchError::MethodNotAllowed`] (with the `Allow` value) when others do.
    #[inline]
    pub fn match_route<'r, 'p>(
        &'r self,
        method: impl RouteMethod,
        path: &'p str,
    ) -> Result<RouteMatch<'r, 'p, T>, MatchError>
    where
        'r: 'p,
    {
        let slots = self.statics.get(path);
        let method = method.route_method();
        let found = method.and_then(|method| {
            self.slot(slots, method)
                .map(Found::Static)
                .or_else(|| self.lookup_after_static(method, path, slots))
        });
        match found {
            Some(found) => {
                let (id, ranges) = ranges_of(found, path);
                Ok(self.route_match(id, &ranges, path))
            }
            None => Err(self.not_matched(path, slots, method)),
        }
    }

    /// Like [`match_route`](Self::match_route), answering repeated dynamic paths from
    /// `cache` (see [`RouteCache`]). Always gives the same result as `match_route`.
    ///
    /// # Errors
    ///
    /// As [`match_route`](Self::match_route).
    #[inline]
    pub fn match_cached<'r, 'p>(
        &'r self,
        cache: &mut RouteCache,
        method: Method,
        path: &'p str,
    ) -> Result<RouteMatch<'r, 'p, T>, MatchError>
    where
        'r: 'p,
    {
        let (id, ranges) = self.find_cached(cache, method, path)?;
        Ok(self.route_match(id, &ranges, path))
    }

    /// [`match_cached`](Self::match_cached) as the server uses it: the value and
    /// where the parameters lie, nothing built from them. Always inlined: the
    /// connection loop calls it from two places (a request, and one refused before
    /// its body was read), and with two callers LLVM kept it out of line, 14
    /// instructions a request on pipelined `/plaintext` in callgrind.
    #[inline(always)]
    pub(crate) fn find(
        &self,
        cache: &mut RouteCache,
        method: Method,
        path: &str,
    ) -> Result<Matched<'_, T>, MatchError> {
        let (id, ranges) = self.find_cached(cache, method, path)?;
        Ok(Matched {
            value: &self.routes[id as usize].value,
            ranges,
        })
    }

    #[inline(always)]
    fn find_cached(
        &self,
        cache: &mut RouteCache,
        method: Method,
        path: &str,
    ) -> Result<(u32, ParamRanges), MatchError> {
        let slots = self.statics.get(path);
        if let Some(id) = self.slot(slots, method) {
            return Ok((id, ParamRanges::new()));
        }
        if self.dynamic == 0 || !cache.enabled() {
            return match self.lookup_after_static(method, path, slots) {
                Some(found) => Ok(ranges_of(found, path)),
                None => Err(self.not_matched(path, slots, Some(method))),
            };
        }
        cache.sync(self.stamp);
        if let Some(resolved) = cache.get(method, path) {
            if (resolved.route as usize) < self.routes.len() {
                return Ok((resolved.route, resolved.ranges.clone()));
            }
        }
        match self.lookup_after_static(method, path, slots) {
            Some(found) => {
                let dynamic = matches!(found, Found::Dynamic(..));
                let (id, ranges) = ranges_of(found, path);
                if dynamic {
                    cache.insert(
                        path,
                        Resolved {
                            method,
                            route: id,
                            ranges: ranges.clone(),
                        },
                    );
                }
                Ok((id, ranges))
            }
            None => Err(self.not_matched(path, slots, Some(method))),
        }
    }

    /// The route of `method` in a static path's slots.
    #[inline(always)]
    fn slot(&self, slots: Option<&Slots>, method: Method) -> Option<u32> {
        slots
            .map(|s| s[method.index()])
            .filter(|&id| id != NO_ROUTE)
    }

    /// The lookup once the static route of `method` is known to be absent: its tree,
    /// then for `HEAD` the `GET` routes.
    #[inline(always)]
    fn lookup_after_static<'r, 'p>(
        &'r self,
        method: Method,
        path: &'p str,
        slots: Option<&Slots>,
    ) -> Option<Found<'r, 'p>> {
        if let Some(found) = self.tree_lookup(method, path) {
            return Some(found);
        }
        if method == Method::Head {
            if let Some(id) = self.slot(slots, Method::Get) {
                return Some(Found::Static(id));
            }
            return self.tree_lookup(Method::Get, path);
        }
        None
    }

    #[inline(always)]
    fn tree_lookup<'r, 'p>(&'r self, method: Method, path: &'p str) -> Option<Found<'r, 'p>> {
        let m = method.index();
        if self.dynamic & (1 << m) == 0 {
            return None;
        }
        let matched = self.trees[m].at(path).ok()?;
        Some(Found::Dynamic(*matched.value, matched.params))
    }

    /// The public form of a match: names from the route, values sliced from `path`.
    #[inline(always)]
    fn route_match<'r, 'p>(
        &'r self,
        id: u32,
        ranges: &ParamRanges,
        path: &'p str,
    ) -> RouteMatch<'r, 'p, T>
    where
        'r: 'p,
    {
        let route = &self.routes[id as usize];
        let mut params = PathParams::new();
        for (name, &(start, end)) in route.params.iter().zip(ranges) {
            if let Some(value) = path.get(start as usize..end as usize) {
                params.push(Cow::Borrowed(&**name), Cow::Borrowed(value));
            }
        }
        RouteMatch {
            value: &route.value,
            params,
        }
    }

    /// The error for a path with no route for the request's method.
    #[cold]
    ///
    /// `tried` is the request's method: it is known to have no route for `path` (nor,
    /// for `HEAD`, has `GET`), so its tree is not searched again.
    fn not_matched(&self, path: &str, slots: Option<&Slots>, tried: Option<Method>) -> MatchError {
        let mut allowed = 0u16;
        for method in Method::ALL {
            let known_miss =
                tried == Some(method) || (tried == Some(Method::Head) && method == Method::Get);
            if known_miss {
                continue;
            }
            if self.slot(slots, method).is_some() || self.tree_lookup(method, path).is_some() {
                allowed |= 1 << method.index();
            }
        }
        if allowed & (1 << Method::Get.index()) != 0 {
            allowed |= 1 << Method::Head.index();
        }
        if allowed == 0 {
            return MatchError::NotFound;
        }
        let mut allow = String::with_capacity(32);
        for method in Method::ALL
            .into_iter()
            .filter(|m| allowed & (1 << m.index()) != 0)
        {
            if !allow.is_empty() {
                allow.push_str(", ");
            }
            allow.push_str(method.as_str());
        }
        MatchError::MethodNotAllowed { allow }
    }

    /// Matches with the trees alone (no static map, no cache): the reference the fast
    /// paths are tested against.
    #[cfg(test)]
    fn match_trees_only<'r, 'p>(
        &'r self,
        method: Method,
        path: &'p str,
    ) -> Result<RouteMatch<'r, 'p, T>, MatchError>
    where
        'r: 'p,
    {
        let any = |m: Method| {
            self.trees[m.index()].at(path).ok().map(|matched| {
                let id = *matched.value;
                if self.routes[id as usize].params.is_empty() {
                    Found::Static(id)
                } else {
                    Found::Dynamic(id, matched.params)
                }
            })
        };
        let found = any(method).or_else(|| {
            if method == Method::Head {
                any(Method::Get)
            } else {
                None
            }
        });
        if let Some(found) = found {
            let (id, ranges) = ranges_of(found, path);
            return Ok(self.route_match(id, &ranges, path));
        }
        let mut allow: Vec<&str> = Method::ALL
            .into_iter()
            .filter(|&m| any(m).is_some() || (m == Method::Head && any(Method::Get).is_some()))
            .map(Method::as_str)
            .collect();
        allow.dedup();
        if allow.is_empty() {
            Err(MatchError::NotFound)
        } else {
            Err(MatchError::MethodNotAllowed {
                allow: allow.join(", "),
            })
        }
    }
}

/// The route of a lookup and where its parameter values lie in `path` (matchit's
/// values are slices of it: their offsets are taken once, here).
#[inline(always)]
fn ranges_of(found: Found<'_, '_>, path: &str) -> (u32, ParamRanges) {
    match found {
        Found::Static(id) => (id, ParamRanges::new()),
        Found::Dynamic(id, params) => {
            let base = path.as_ptr() as usize;
            let ranges = params
                .iter()
                .filter_map(|(_, value)| {
                    let start = (value.as_ptr() as usize).checked_sub(base)?;
                    let end = start + value.len();
                    (end <= path.len()).then_some((start as u32, end as u32))
                })
                .collect();
            (id, ranges)
        }
    }
}
