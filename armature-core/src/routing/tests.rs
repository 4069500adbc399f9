//! Table tests (matchit style) and property tests for the router and its cache.

use proptest::prelude::*;

use super::*;

/// What a lookup must give.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Expect {
    /// The route added as `"METHOD pattern"`, with these parameters.
    Route(&'static str, &'static [(&'static str, &'static str)]),
    NotFound,
    /// 405 with this `Allow` value.
    NotAllowed(&'static str),
}

use Expect::{NotAllowed, NotFound, Route as R};

struct MatchTest {
    routes: Vec<(Method, &'static str)>,
    matches: Vec<(&'static str, &'static str, Expect)>,
}

/// A lookup result in a comparable form.
type Outcome = Result<(String, Vec<(String, String)>), MatchError>;

fn outcome(result: Result<RouteMatch<'_, '_, String>, MatchError>) -> Outcome {
    result.map(|m| {
        let params = m
            .params
            .iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        (m.value.clone(), params)
    })
}

fn expected(e: &Expect) -> Outcome {
    match e {
        R(route, params) => Ok((
            route.to_string(),
            params
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )),
        NotFound => Err(MatchError::NotFound),
        NotAllowed(allow) => Err(MatchError::MethodNotAllowed {
            allow: allow.to_string(),
        }),
    }
}

fn router_of(routes: &[(Method, &str)]) -> Router<String> {
    let mut router = Router::new();
    for &(method, pattern) in routes {
        if let Err(e) = router.route(method, pattern, format!("{method} {pattern}")) {
            panic!("adding {method} {pattern}: {e}");
        }
    }
    router
}

impl MatchTest {
    fn run(self) {
        let router = router_of(&self.routes);
        let mut cache = RouteCache::new(16);
        for (method, path, expect) in &self.matches {
            let want = expected(expect);
            let got = outcome(router.match_route(*method, path));
            assert_eq!(got, want, "match_route({method}, {path})");
            if let Ok(m) = method.parse::<Method>() {
                let reference = outcome(router.match_trees_only(m, path));
                assert_eq!(reference, want, "trees only ({method}, {path})");
                for round in ["miss", "hit"] {
                    let cached = outcome(router.match_cached(&mut cache, m, path));
                    assert_eq!(cached, want, "match_cached ({round}) ({method}, {path})");
                }
                let typed = outcome(router.match_route(m, path));
                assert_eq!(typed, want, "match_route(Method::{m:?}, {path})");
            }
        }
    }
}

#[test]
fn static_and_dynamic() {
    MatchTest {
        routes: vec![
            (Method::Get, "/"),
            (Method::Get, "/health"),
            (Method::Get, "/users"),
            (Method::Post, "/users"),
            (Method::Get, "/users/:id"),
            (Method::Get, "/users/me"),
            (Method::Put, "/users/{id}"),
            (Method::Delete, "/users/:id"),
            (Method::Get, "/users/:id/posts/:post"),
            (Method::Get, "/files/*path"),
            (Method::Get, "/img/icon-{name}"),
            (Method::Get, "/{{literal}}"),
        ],
        matches: vec![
            ("GET", "/", R("GET /", &[])),
            ("GET", "/health", R("GET /health", &[])),
            ("GET", "/users", R("GET /users", &[])),
            ("POST", "/users", R("POST /users", &[])),
            ("GET", "/users/123", R("GET /users/:id", &[("id", "123")])),
            ("GET", "/users/me", R("GET /users/me", &[])),
            ("PUT", "/users/me", R("PUT /users/{id}", &[("id", "me")])),
            ("DELETE", "/users/7", R("DELETE /users/:id", &[("id", "7")])),
            (
                "GET",
                "/users/7/posts/hello-world",
                R(
                    "GET /users/:id/posts/:post",
                    &[("id", "7"), ("post", "hello-world")],
                ),
            ),
            (
                "GET",
                "/users/a%20b",
                R("GET /users/:id", &[("id", "a%20b")]),
            ),
            ("GET", "/users/é", R("GET /users/:id", &[("id", "é")])),
            (
                "GET",
                "/files/a/b/c.txt",
                R("GET /files/*path", &[("path", "a/b/c.txt")]),
            ),
            ("GET", "/files/x", R("GET /files/*path", &[("path", "x")])),
            (
                "GET",
                "/img/icon-home",
                R("GET /img/icon-{name}", &[("name", "home")]),
            ),
            ("GET", "/{literal}", R("GET /{{literal}}", &[])),
            ("GET", "/files/", NotFound),
            ("GET", "/files", NotFound),
            ("GET", "/img/logo", NotFound),
            ("GET", "/img/icon-", NotFound),
            ("GET", "/users/", NotFound),
            ("GET", "/health/", NotFound),
            ("GET", "/nope", NotFound),
            ("GET", "/users/1/posts", NotFound),
            ("GET", "", NotFound),
            ("GET", "health", NotFound),
        ],
    }
    .run();
}

#[test]
fn head_falls_back_to_get() {
    MatchTest {
        routes: vec![
            (Method::Get, "/a"),
            (Method::Get, "/b/:id"),
            (Method::Head, "/c"),
            (Method::Get, "/c"),
            (Method::Get, "/d/me"),
            (Method::Head, "/d/:id"),
            (Method::Post, "/e"),
        ],
        matches: vec![
            ("HEAD", "/a", R("GET /a", &[])),
            ("HEAD", "/b/9", R("GET /b/:id", &[("id", "9")])),
            ("HEAD", "/c", R("HEAD /c", &[])),
            ("GET", "/c", R("GET /c", &[])),
            // A HEAD route for the path wins over the GET route, even a static one.
            ("HEAD", "/d/me", R("HEAD /d/:id", &[("id", "me")])),
            ("HEAD", "/d/x", R("HEAD /d/:id", &[("id", "x")])),
            ("GET", "/d/x", NotAllowed("HEAD")),
            ("HEAD", "/e", NotAllowed("POST")),
            ("HEAD", "/zzz", NotFound),
        ],
    }
    .run();
}

#[test]
fn method_not_allowed_lists_allow() {
    MatchTest {
        routes: vec![
            (Method::Get, "/users"),
            (Method::Post, "/users"),
            (Method::Put, "/users/:id"),
            (Method::Patch, "/users/:id"),
            (Method::Delete, "/users/{id}"),
            (Method::Options, "/users/:id"),
            (Method::Get, "/users/me"),
            (Method::Post, "/upload/*rest"),
        ],
        matches: vec![
            ("DELETE", "/users", NotAllowed("GET, HEAD, POST")),
            ("PATCH", "/users", NotAllowed("GET, HEAD, POST")),
            ("GET", "/users/1", NotAllowed("PUT, DELETE, PATCH, OPTIONS")),
            (
                "POST",
                "/users/me",
                NotAllowed("GET, HEAD, PUT, DELETE, PATCH, OPTIONS"),
            ),
            ("GET", "/upload/a/b", NotAllowed("POST")),
            ("TRACE", "/users", NotAllowed("GET, HEAD, POST")),
            // A method the router does not know is not allowed where routes exist.
            ("BREW", "/users", NotAllowed("GET, HEAD, POST")),
            ("get", "/users", NotAllowed("GET, HEAD, POST")),
            ("BREW", "/teapot", NotFound),
        ],
    }
    .run();
}

#[test]
fn colon_and_brace_syntax_are_the_same_route() {
    for (a, b) in [
        ("/u/:id", "/u/{id}"),
        ("/f/*rest", "/f/{*rest}"),
        ("/u/:id", "/u/{other}"),
    ] {
        let mut router = Router::new();
        router.route(Method::Get, a, 1).unwrap();
        let err = router.route(Method::Get, b, 2).unwrap_err();
        assert_eq!(
            err,
            RouteError::Conflict {
                method: Method::Get,
                pattern: b.into(),
                with: a.into()
            }
        );
        // Other methods are separate trees.
        router.route(Method::Post, b, 3).unwrap();
    }
}

#[test]
fn route_errors_never_panic() {
    type Check = fn(&RouteError) -> bool;
    let cases: &[(&str, Check)] = &[
        ("", |e| matches!(e, RouteError::Empty)),
        ("users", |e| {
            matches!(e, RouteError::MissingLeadingSlash { .. })
        }),
        ("/users/:9", |e| {
            matches!(e, RouteError::InvalidParamName { .. })
        }),
        ("/a/:x/:x", |e| {
            matches!(e, RouteError::DuplicateParam { .. })
        }),
        ("/a/*x/y", |e| {
            matches!(e, RouteError::InvalidCatchAll { .. })
        }),
        ("/a/{x", |e| matches!(e, RouteError::InvalidPattern { .. })),
        ("/a/{x}{y}", |e| {
            matches!(e, RouteError::InvalidPattern { .. })
        }),
        ("/dup", |e| matches!(e, RouteError::Conflict { .. })),
        ("/p/:id", |e| matches!(e, RouteError::Conflict { .. })),
        ("/p/{name}", |e| matches!(e, RouteError::Conflict { .. })),
        ("/c/{*all}", |e| matches!(e, RouteError::Conflict { .. })),
    ];
    for &(pattern, is_expected) in cases {
        let mut router = Router::new();
        router.get("/dup", 0).get("/p/{id}", 0).get("/c/*rest", 0);
        router.check().unwrap();
        let err = router.route(Method::Get, pattern, 1).unwrap_err();
        assert!(is_expected(&err), "{pattern}: {err:?}");
        assert!(!err.to_string().is_empty());
        if !matches!(err, RouteError::Empty) {
            assert!(
                err.to_string().contains(pattern),
                "{err} must name {pattern}"
            );
        }
        assert_eq!(router.len(), 3, "a failed route is not added");
    }
}

#[test]
fn builder_methods_record_the_first_error() {
    let mut router = Router::new();
    router
        .get("/a", 1)
        .post("bad", 2)
        .put("/x/:", 3)
        .delete("/a", 4)
        .patch("/a", 5)
        .head("/a", 6)
        .options("/a", 7);
    assert_eq!(
        router.check(),
        Err(RouteError::MissingLeadingSlash {
            pattern: "bad".into()
        })
    );
    let methods: Vec<Method> = router.routes().map(|(m, _, _)| m).collect();
    assert_eq!(
        methods,
        [
            Method::Get,
            Method::Delete,
            Method::Patch,
            Method::Head,
            Method::Options
        ]
    );
    assert_eq!(*router.match_route("OPTIONS", "/a").unwrap().value, 7);
    assert_eq!(
        format!("{router:?}"),
        "[GET /a, DELETE /a, PATCH /a, HEAD /a, OPTIONS /a]"
    );

    let mut ok = Router::new();
    ok.get("/", ());
    assert_eq!(ok.check(), Ok(()));
    assert!(!ok.is_empty() && ok.len() == 1);
}

#[test]
fn params_borrow_keys_from_router_and_values_from_path() {
    let mut router = Router::new();
    router.get("/users/:id", ());
    let path = String::from("/users/42");
    let m = router.match_route(Method::Get, &path).unwrap();
    let (key, value) = m.params.as_slice()[0].clone();
    assert!(matches!(key, Cow::Borrowed("id")));
    match value {
        Cow::Borrowed(v) => assert!(path.as_bytes().as_ptr_range().contains(&v.as_ptr())),
        Cow::Owned(_) => panic!("value must borrow from the path"),
    }
    assert!(m.params.is_inline());
}

#[test]
fn router_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Router<Box<dyn Fn() + Send + Sync>>>();
    assert_send_sync::<RouteError>();
    assert_send_sync::<MatchError>();
}

/// The value `match_cached` finds (panics on a miss).
fn cached(router: &Router<String>, cache: &mut RouteCache, method: Method, path: &str) -> String {
    router
        .match_cached(cache, method, path)
        .unwrap()
        .value
        .clone()
}

/// Looks `path` up twice: a path is stored on its second miss.
fn warm(router: &Router<String>, cache: &mut RouteCache, path: &str) {
    for _ in 0..2 {
        cached(router, cache, Method::Get, path);
    }
}

#[test]
fn cache_holds_only_hot_dynamic_hits_and_stays_bounded() {
    let router = router_of(&[
        (Method::Get, "/static"),
        (Method::Get, "/u/:id"),
        (Method::Post, "/u/:id"),
    ]);
    let mut cache = RouteCache::new(4);
    assert_eq!(cache.capacity(), 4);

    // Static routes and misses are never cached.
    for _ in 0..3 {
        for path in ["/static", "/nope", "/u", "/u/1/2"] {
            let _ = router.match_cached(&mut cache, Method::Get, path);
        }
    }
    assert_eq!(cache.len(), 0);
    for i in 0..1000 {
        let _ = router.match_cached(&mut cache, Method::Get, &format!("/random/{i}"));
    }
    assert_eq!(cache.len(), 0, "404s must not grow the cache");

    // A dynamic path seen once is not stored (unique ids cost no allocation).
    for i in 0..1000 {
        cached(&router, &mut cache, Method::Get, &format!("/u/{i}"));
    }
    assert_eq!(cache.len(), 0, "paths seen once must not enter the cache");

    // Hot dynamic paths are cached, up to the capacity, least recently used out first.
    cache.clear();
    for id in ["1", "2", "3", "4"] {
        warm(&router, &mut cache, &format!("/u/{id}"));
    }
    assert_eq!(cache.len(), 4);
    let hits = cache.hits();
    cached(&router, &mut cache, Method::Get, "/u/1"); // a hit; 1 is now the most recent
    assert_eq!(cache.hits(), hits + 1);
    warm(&router, &mut cache, "/u/5"); // evicts 2, the least recently used
    assert_eq!(cache.len(), 4);
    cached(&router, &mut cache, Method::Get, "/u/1");
    assert_eq!(cache.hits(), hits + 2, "/u/1 stayed");
    cached(&router, &mut cache, Method::Get, "/u/2");
    assert_eq!(cache.hits(), hits + 2, "/u/2 was evicted");

    // Another method on a cached path is its own resolution.
    for _ in 0..3 {
        assert_eq!(
            cached(&router, &mut cache, Method::Post, "/u/1"),
            "POST /u/:id"
        );
    }
    assert_eq!(
        cached(&router, &mut cache, Method::Get, "/u/1"),
        "GET /u/:id"
    );
    assert_eq!(cache.hits(), hits + 4);

    // Very long paths are answered but not stored.
    cache.clear();
    let long = format!("/u/{}", "x".repeat(cache::MAX_CACHED_PATH));
    for _ in 0..3 {
        let m = router.match_cached(&mut cache, Method::Get, &long).unwrap();
        assert_eq!(
            m.params.get("id").map(str::len),
            Some(cache::MAX_CACHED_PATH)
        );
    }
    assert_eq!(cache.len(), 0);
}

#[test]
fn cache_forgets_when_routes_change_or_router_differs() {
    let mut router = router_of(&[(Method::Get, "/u/:id")]);
    let mut cache = RouteCache::new(8);
    warm(&router, &mut cache, "/u/me");
    assert_eq!(cache.len(), 1);
    router
        .route(Method::Get, "/u/me", "GET /u/me".to_string())
        .unwrap();
    assert_eq!(
        cached(&router, &mut cache, Method::Get, "/u/me"),
        "GET /u/me"
    );

    let other = router_of(&[(Method::Get, "/u/{name}/x"), (Method::Get, "/u/:id")]);
    warm(&router, &mut cache, "/u/9");
    assert_eq!(cache.len(), 1);
    let m = other.match_cached(&mut cache, Method::Get, "/u/9").unwrap();
    assert_eq!(
        (m.value.as_str(), m.params.get("id")),
        ("GET /u/:id", Some("9"))
    );
    assert_eq!(
        cache.len(),
        0,
        "a cache used with another router starts over"
    );

    let mut off = RouteCache::new(0);
    for _ in 0..3 {
        assert_eq!(cached(&other, &mut off, Method::Get, "/u/9"), "GET /u/:id");
    }
    assert_eq!((off.len(), off.capacity(), off.hits()), (0, 0, 0));
}

/// Route patterns the property tests draw from (overlapping on purpose).
const POOL: &[&str] = &[
    "/",
    "/a",
    "/a/",
    "/a/b",
    "/a/:x",
    "/a/:x/b",
    "/a/:x/:y",
    "/a/b/:y",
    "/b/*rest",
    "/b/c",
    "/c/v{x}",
    "/c/index.json",
    "/:top",
    "/:top/z",
    "/d/{x}",
    "/d/*tail",
];

/// Path segments the property tests build paths from.
const SEGMENTS: &[&str] = &[
    "",
    "a",
    "b",
    "c",
    "d",
    "z",
    "x.json",
    "index.json",
    "%20",
    "é",
    "a.b",
];

fn methods() -> impl Strategy<Value = Method> {
    prop::sample::select(vec![
        Method::Get,
        Method::Head,
        Method::Post,
        Method::Delete,
    ])
}

fn route_set() -> impl Strategy<Value = Vec<(Method, &'static str)>> {
    prop::collection::vec((methods(), prop::sample::select(POOL.to_vec())), 0..14)
}

fn paths() -> impl Strategy<Value = Vec<(Method, String)>> {
    let path = prop::collection::vec(prop::sample::select(SEGMENTS.to_vec()), 0..4)
        .prop_map(|segments| format!("/{}", segments.join("/")));
    prop::collection::vec((methods(), path), 1..60)
}

/// Builds a router from a random route set, skipping routes that conflict.
fn lenient_router(routes: &[(Method, &str)]) -> Router<String> {
    let mut router = Router::new();
    for &(method, pattern) in routes {
        let _ = router.route(method, pattern, format!("{method} {pattern}"));
    }
    router
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// The cache (tiny, so that it evicts constantly) never changes an answer.
    #[test]
    fn cached_equals_uncached(routes in route_set(), lookups in paths(), capacity in 1usize..5) {
        let router = lenient_router(&routes);
        let mut cache = RouteCache::new(capacity);
        for _ in 0..3 {
            for (method, path) in &lookups {
                let plain = outcome(router.match_route(*method, path));
                let cached = outcome(router.match_cached(&mut cache, *method, path));
                prop_assert_eq!(&cached, &plain, "{} {}", method, path);
                prop_assert!(cache.len() <= capacity);
            }
        }
    }

    /// The static fast path and HEAD fallback agree with plain tree lookups.
    #[test]
    fn fast_paths_equal_tree_lookup(routes in route_set(), lookups in paths()) {
        let router = lenient_router(&routes);
        for (method, path) in &lookups {
            let fast = outcome(router.match_route(*method, path));
            let reference = outcome(router.match_trees_only(*method, path));
            prop_assert_eq!(&fast, &reference, "{} {}", method, path);
        }
    }

    /// Any pattern string gives a route or an error, never a panic; valid ones match
    /// a path built from them.
    #[test]
    fn arbitrary_patterns_never_panic(pattern in "[/:*{}a-c_0-9.]{0,12}") {
        let mut router = Router::new();
        if router.route(Method::Get, &pattern, ()).is_ok() {
            let params = pattern_params(&pattern).unwrap();
            prop_assert!(params.len() <= pattern.len());
        }
    }
}

#[test]
fn static_routes_are_found_before_and_after_the_table_grows_into_a_map() {
    // Few (a scanned list) up to FEW_STATICS paths, a hash map past it: every count
    // around the switch, each path on two methods, added in an order that puts a
    // path's second method after the switch.
    for n in [
        1,
        FEW_STATICS - 1,
        FEW_STATICS,
        FEW_STATICS + 1,
        3 * FEW_STATICS,
    ] {
        let mut router = Router::new();
        for i in 0..n {
            router
                .route(Method::Get, &format!("/p{i}"), format!("GET {i}"))
                .unwrap();
        }
        for i in 0..n {
            router
                .route(Method::Post, &format!("/p{i}"), format!("POST {i}"))
                .unwrap();
        }
        for i in 0..n {
            let path = format!("/p{i}");
            let get = router.match_route(Method::Get, &path).unwrap();
            assert_eq!(get.value, &format!("GET {i}"), "{n} {path}");
            let post = router.match_route(Method::Post, &path).unwrap();
            assert_eq!(post.value, &format!("POST {i}"), "{n} {path}");
            assert!(matches!(
                router.match_route(Method::Put, &path),
                Err(MatchError::MethodNotAllowed { .. })
            ));
        }
        for miss in ["/p", "/q0", &format!("/p{n}"), "/p00"] {
            assert!(
                matches!(
                    router.match_route(Method::Get, miss),
                    Err(MatchError::NotFound)
                ),
                "{n} {miss}"
            );
        }
    }
}
