//! Routing composition: any-method routes, a fallback, nesting under a prefix and
//! merging apps, with `405` and its `Allow` right across all of them.

use armature_core::middleware::Next;
use armature_core::{App, HttpRequest, StatusCode};

use crate::support::{hyper_request, hyper_send, start, stop_async};

async fn call(
    addr: std::net::SocketAddr,
    method: &str,
    path: &str,
) -> (u16, Option<String>, String) {
    let req = hyper_request(method, addr, path)
        .body(http_body_util::Full::new(armature_core::Bytes::new()))
        .unwrap();
    let resp = hyper_send(addr, req).await;
    let allow = resp
        .headers()
        .get("allow")
        .map(|v| v.to_str().unwrap().to_owned());
    let body = String::from_utf8_lossy(resp.body()).into_owned();
    (resp.status().as_u16(), allow, body)
}

fn users() -> App {
    App::new()
        .get("/", || async { "users index" })
        .get("/:id", |req: HttpRequest| async move {
            format!("user {}", req.param("id").unwrap_or("?"))
        })
        .post("/", || async { "created" })
        // Its own app-wide middleware: wraps its routes only.
        .middleware(|req: HttpRequest, next: Next| async move {
            let mut resp = next.run(req).await;
            resp.insert_header("x-users", "1");
            resp
        })
}

fn health() -> App {
    App::new()
        .get("/health", || async { "ok" })
        .fallback(|| async { (StatusCode::NOT_FOUND, "merged fallback") })
}

#[tokio::test]
async fn any_nest_merge_and_fallback_compose_with_right_405s() {
    let app = App::new()
        .any("/echo", |req: HttpRequest| async move {
            req.method().to_string()
        })
        .nest("/api/users", users())
        .merge(health())
        .delete("/api/users/:id", || async { "deleted" });
    let server = start(app);
    let addr = server.addr();
    let cases: &[(&str, &str, u16, Option<&str>, &str)] = &[
        ("GET", "/echo", 200, None, "GET"),
        ("PATCH", "/echo", 200, None, "PATCH"),
        ("OPTIONS", "/echo", 200, None, "OPTIONS"),
        ("GET", "/api/users", 200, None, "users index"),
        ("POST", "/api/users", 200, None, "created"),
        ("GET", "/api/users/7", 200, None, "user 7"),
        ("DELETE", "/api/users/7", 200, None, "deleted"),
        ("PUT", "/api/users", 405, Some("GET, HEAD, POST"), ""),
        ("PUT", "/api/users/7", 405, Some("GET, HEAD, DELETE"), ""),
        ("GET", "/health", 200, None, "ok"),
        ("POST", "/health", 405, Some("GET, HEAD"), ""),
        ("GET", "/users", 404, None, "merged fallback"),
        ("GET", "/api/users/7/more", 404, None, "merged fallback"),
    ];
    for &(method, path, status, allow, body) in cases {
        let (got_status, got_allow, got_body) = call(addr, method, path).await;
        assert_eq!(
            (got_status, got_allow.as_deref()),
            (status, allow),
            "{method} {path}: {got_body}"
        );
        if !body.is_empty() {
            assert_eq!(got_body, body, "{method} {path}");
        }
    }
    let resp = crate::support::hyper_get(addr, "/api/users/7").await;
    assert_eq!(resp.headers()["x-users"], "1", "nested app's middleware");
    let resp = crate::support::hyper_get(addr, "/health").await;
    assert!(
        resp.headers().get("x-users").is_none(),
        "leaked outside the nest"
    );
    stop_async(server).await;
}

#[test]
fn a_single_method_route_conflicts_with_an_any_route() {
    let result = App::new()
        .any("/x", || async { "any" })
        .get("/x", || async { "get" })
        .bind("127.0.0.1:0");
    let err = result.err().expect("a conflicting route was accepted");
    assert!(err.is_route(), "{err:?}");
}
