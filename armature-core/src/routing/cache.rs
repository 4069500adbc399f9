//! A per-worker LRU cache of resolved dynamic routes.

use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicU64, Ordering};

use lru::LruCache;
use smallvec::SmallVec;

use crate::Method;

/// Paths longer than this are never cached: hot paths are short, and the bound keeps a
/// full cache at most `capacity * MAX_CACHED_PATH` bytes of keys.
pub(crate) const MAX_CACHED_PATH: usize = 256;

/// Hands out router identities; a router takes a new one whenever a route is added,
/// so a cache filled from an older state (or another router) is never trusted.
static NEXT_STAMP: AtomicU64 = AtomicU64::new(1);

pub(crate) fn next_stamp() -> u64 {
    NEXT_STAMP.fetch_add(1, Ordering::Relaxed)
}

/// How one method resolved for one path: the route and where its parameter values
/// lie in the path (byte ranges, in the route's parameter order).
#[derive(Clone, Debug)]
pub(crate) struct Resolved {
    pub(crate) method: Method,
    pub(crate) route: u32,
    pub(crate) ranges: SmallVec<[(u32, u32); 4]>,
}

/// A bounded least-recently-used cache of dynamic route matches, for one worker
/// thread (no lock: it is used through `&mut`).
///
/// [`Router::match_cached`](super::Router::match_cached) consults it after the static
/// fast path and fills it only with matches of routes that have parameters; misses
/// (404, 405) are never stored, so a scan of random paths cannot grow it. A cache of
/// capacity 0 is off. It is tied to the router state it was filled from: when routes
/// are added, or the cache is used with another router, it empties itself.
///
/// ```
/// use armature_core::routing::{RouteCache, Router};
/// use armature_core::Method;
///
/// let mut router = Router::new();
/// router.get("/users/:id", "user");
/// let mut cache = RouteCache::new(1024);
/// for _ in 0..2 {
///     let m = router.match_cached(&mut cache, Method::Get, "/users/42").unwrap();
///     assert_eq!(m.params.get("id"), Some("42"));
/// }
/// assert_eq!((cache.hits(), cache.misses(), cache.len()), (1, 1, 1));
/// assert!(router.match_cached(&mut cache, Method::Get, "/missing").is_err());
/// assert_eq!(cache.len(), 1);
/// ```
pub struct RouteCache {
    lru: Option<LruCache<Box<str>, SmallVec<[Resolved; 1]>>>,
    stamp: u64,
    hits: u64,
    misses: u64,
}

impl RouteCache {
    /// A cache holding up to `capacity` paths (each with the methods requested for it);
    /// `0` disables caching.
    pub fn new(capacity: usize) -> Self {
        RouteCache {
            lru: NonZeroUsize::new(capacity).map(LruCache::new),
            stamp: 0,
            hits: 0,
            misses: 0,
        }
    }

    /// The most paths it holds.
    pub fn capacity(&self) -> usize {
        self.lru.as_ref().map_or(0, |lru| lru.cap().get())
    }

    /// The number of paths it holds.
    pub fn len(&self) -> usize {
        self.lru.as_ref().map_or(0, LruCache::len)
    }

    /// Whether it holds nothing.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Forgets every entry (the counters stay).
    pub fn clear(&mut self) {
        if let Some(lru) = &mut self.lru {
            lru.clear();
        }
    }

    /// Lookups answered from the cache.
    pub fn hits(&self) -> u64 {
        self.hits
    }

    /// Lookups of dynamic routes the cache could not answer (including paths that
    /// matched nothing).
    pub fn misses(&self) -> u64 {
        self.misses
    }

    /// Whether the cache is on.
    #[inline]
    pub(crate) fn enabled(&self) -> bool {
        self.lru.is_some()
    }

    /// Empties the cache unless it was filled from the router state `stamp`.
    #[inline]
    pub(crate) fn sync(&mut self, stamp: u64) {
        if self.stamp != stamp {
            self.clear();
            self.stamp = stamp;
        }
    }

    /// The cached resolution of `method` for `path`, marking it most recently used.
    #[inline]
    pub(crate) fn get(&mut self, method: Method, path: &str) -> Option<&Resolved> {
        let found = self
            .lru
            .as_mut()
            .and_then(|lru| lru.get(path))
            .and_then(|entry| entry.iter().find(|r| r.method == method));
        match found {
            Some(resolved) => {
                self.hits += 1;
                Some(resolved)
            }
            None => {
                self.misses += 1;
                None
            }
        }
    }

    /// Stores a resolution (evicting the least recently used path when full).
    pub(crate) fn insert(&mut self, path: &str, resolved: Resolved) {
        let Some(lru) = &mut self.lru else { return };
        if path.len() > MAX_CACHED_PATH {
            return;
        }
        if let Some(entry) = lru.get_mut(path) {
            entry.retain(|r| r.method != resolved.method);
            entry.push(resolved);
        } else {
            let mut entry = SmallVec::new();
            entry.push(resolved);
            lru.put(path.into(), entry);
        }
    }
}

impl std::fmt::Debug for RouteCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RouteCache")
            .field("capacity", &self.capacity())
            .field("len", &self.len())
            .field("hits", &self.hits)
            .field("misses", &self.misses)
            .finish()
    }
}
