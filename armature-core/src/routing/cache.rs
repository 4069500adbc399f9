//! A per-worker LRU cache of resolved dynamic routes.

use std::hash::BuildHasher;
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
    pub(crate) ranges: super::ParamRanges,
}

/// A bounded least-recently-used cache of dynamic route matches, for one worker
/// thread (no lock: it is used through `&mut`).
///
/// [`Router::match_cached`](super::Router::match_cached) consults it after the static
/// fast path and fills it only with matches of routes that have parameters; misses
/// (404, 405) are never stored, so a scan of random paths cannot grow it. A path is
/// admitted on its second miss (a small filter of recent misses decides), so paths
/// seen once, such as unique ids, cost no allocation or eviction. A cache of capacity
/// 0 is off. It is tied to the router state it was filled from: when routes are
/// added, or the cache is used with another router, it empties itself.
///
/// ```
/// use armature_core::routing::{RouteCache, Router};
/// use armature_core::Method;
///
/// let mut router = Router::new();
/// router.get("/users/:id", "user");
/// let mut cache = RouteCache::new(1024);
/// for _ in 0..3 {
///     let m = router.match_cached(&mut cache, Method::Get, "/users/42").unwrap();
///     assert_eq!(m.params.get("id"), Some("42"));
/// }
/// // Stored on the second miss, answered from the cache the third time.
/// assert_eq!((cache.hits(), cache.misses(), cache.len()), (1, 2, 1));
/// assert!(router.match_cached(&mut cache, Method::Get, "/missing").is_err());
/// assert_eq!(cache.len(), 1);
/// ```
pub struct RouteCache {
    lru: Option<LruCache<Box<str>, SmallVec<[Resolved; 1]>>>,
    /// Admission filter: the hash of the last path that missed, per slot. A path is
    /// stored only when it misses a second time while still remembered here.
    doorkeeper: Box<[u64]>,
    hasher: lru::DefaultHasher,
    stamp: u64,
    hits: u64,
    misses: u64,
}

/// Doorkeeper slots per cache entry (a power of two is used, at least this many times
/// the capacity, at most [`MAX_DOORKEEPER`]).
const DOORKEEPER_PER_ENTRY: usize = 4;
const MAX_DOORKEEPER: usize = 1 << 16;

impl RouteCache {
    /// A cache holding up to `capacity` paths (each with the methods requested for it);
    /// `0` disables caching.
    pub fn new(capacity: usize) -> Self {
        let slots = match capacity {
            0 => 0,
            n => n
                .saturating_mul(DOORKEEPER_PER_ENTRY)
                .next_power_of_two()
                .min(MAX_DOORKEEPER),
        };
        RouteCache {
            lru: NonZeroUsize::new(capacity).map(LruCache::new),
            doorkeeper: vec![0; slots].into_boxed_slice(),
            hasher: lru::DefaultHasher::default(),
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
        self.doorkeeper.fill(0);
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

    /// Whether a resolution that just missed should be stored: yes when the same
    /// method and path missed recently (a hot path), no on its first miss, so that a
    /// stream of distinct paths (unique ids, scans) neither allocates nor evicts.
    #[inline]
    fn admit(&mut self, method: Method, path: &str) -> bool {
        let mask = self.doorkeeper.len() - 1;
        // 0 marks an empty slot, so hashes are made odd.
        let hash = self.hasher.hash_one((method.index(), path)) | 1;
        let slot = &mut self.doorkeeper[(hash >> 32) as usize & mask];
        if *slot == hash {
            *slot = 0;
            true
        } else {
            *slot = hash;
            false
        }
    }

    /// Stores a resolution on its second miss (see `admit`), evicting the least
    /// recently used path when full.
    pub(crate) fn insert(&mut self, path: &str, resolved: Resolved) {
        if self.lru.is_none() || path.len() > MAX_CACHED_PATH || !self.admit(resolved.method, path)
        {
            return;
        }
        let Some(lru) = &mut self.lru else { return };
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
