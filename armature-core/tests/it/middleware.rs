//! Middleware (`App::middleware`, `App::with`): the documented order, changing the
//! request and the response, short-circuits, and coverage of 404/405/fallback.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use armature_core::extract::Path;
use armature_core::middleware::Next;
use armature_core::{App, HttpRequest, IntoResponse, Response, StatusCode};

use crate::support::{hyper_get, start, stop_async};

/// Middleware that appends `name` to the request's and the response's `x-trace`.
fn tracer(name: &'static str) -> impl Fn(HttpRequest, Next) -> armature_core::handler::BoxFuture {
    move |mut req: HttpRequest, next: Next| {
        let seen = req.header_str("x-trace").unwrap_or("").to_owned();
        req.set_header("x-trace", &format!("{seen}{name},"));
        Box::pin(async move {
            let mut resp = next.run(req).await;
            let back = resp.header("x-trace").unwrap_or("").to_owned();
            resp.insert_header("x-trace", format!("{back}{name},"));
            resp
        })
    }
}

async fn show_trace(req: HttpRequest) -> String {
    req.header_str("x-trace").unwrap_or("").to_owned()
}

fn header(resp: &hyper::Response<armature_core::Bytes>, name: &str) -> Option<String> {
    resp.headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_owned())
}

#[tokio::test]
async fn layers_run_in_the_documented_order_around_the_handler() {
    let app = App::new()
        .middleware(tracer("a"))
        .get("/traced", show_trace)
        .with(tracer("x"))
        .with(tracer("y"))
        .get("/plain", show_trace)
        // Added after the routes: still wraps all of them.
        .middleware(tracer("b"));
    let server = start(app);
    let resp = hyper_get(server.addr(), "/traced").await;
    assert_eq!(resp.status(), 200);
    // The request meets b, a (app-wide, last added first), then y, x (the route's).
    assert_eq!(resp.body(), "b,a,y,x,");
    // The response travels back the other way.
    assert_eq!(header(&resp, "x-trace").as_deref(), Some("x,y,a,b,"));
    let resp = hyper_get(server.addr(), "/plain").await;
    assert_eq!(resp.body(), "b,a,", "`with` applies to its route only");
    stop_async(server).await;
}

async fn require_token(req: HttpRequest, next: Next) -> Response {
    if req.header_str("authorization") != Some("Bearer good") {
        return (StatusCode::UNAUTHORIZED, "no token").into_response();
    }
    next.run(req).await
}

#[tokio::test]
async fn middleware_can_short_circuit_and_sees_path_parameters() {
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = calls.clone();
    let app = App::new()
        .get("/users/:id", move |Path(id): Path<u32>| {
            counted.fetch_add(1, Ordering::SeqCst);
            async move { format!("user {id}") }
        })
        .with(require_token)
        .with(|req: HttpRequest, next: Next| async move {
            // Routed already: the parameter is there for middleware too.
            assert_eq!(req.param("id"), Some("7"));
            next.run(req).await
        });
    let server = start(app);
    let resp = hyper_get(server.addr(), "/users/7").await;
    assert_eq!(resp.status(), 401);
    assert_eq!(resp.body(), "no token");
    assert_eq!(calls.load(Ordering::SeqCst), 0, "the handler ran");
    let req = crate::support::hyper_request("GET", server.addr(), "/users/7")
        .header("authorization", "Bearer good")
        .body(http_body_util::Full::new(armature_core::Bytes::new()))
        .unwrap();
    let resp = crate::support::hyper_send(server.addr(), req).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.body(), "user 7");
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    stop_async(server).await;
}

#[tokio::test]
async fn app_wide_middleware_wraps_404_405_and_the_fallback() {
    let app = App::new()
        .get("/only-get", || async { "got" })
        .middleware(tracer("m"));
    let server = start(app);
    let resp = hyper_get(server.addr(), "/missing").await;
    assert_eq!(resp.status(), 404);
    assert_eq!(header(&resp, "x-trace").as_deref(), Some("m,"));
    let req = crate::support::hyper_request("DELETE", server.addr(), "/only-get")
        .body(http_body_util::Full::new(armature_core::Bytes::new()))
        .unwrap();
    let resp = crate::support::hyper_send(server.addr(), req).await;
    assert_eq!(resp.status(), 405);
    assert_eq!(header(&resp, "allow").as_deref(), Some("GET, HEAD"));
    assert_eq!(header(&resp, "x-trace").as_deref(), Some("m,"));
    stop_async(server).await;

    let app = App::new()
        .get("/only-get", || async { "got" })
        .fallback(|req: HttpRequest| async move {
            (StatusCode::NOT_FOUND, format!("nothing at {}", req.path()))
        })
        .middleware(tracer("m"));
    let server = start(app);
    let resp = hyper_get(server.addr(), "/missing").await;
    assert_eq!(resp.status(), 404);
    assert_eq!(resp.body(), "nothing at /missing");
    assert_eq!(header(&resp, "x-trace").as_deref(), Some("m,"));
    stop_async(server).await;
}

#[tokio::test]
async fn a_panic_in_middleware_is_a_500() {
    let app = App::new().get("/boom", || async { "never" }).with(
        |req: HttpRequest, next: Next| async move {
            if std::hint::black_box(req.path() == "/boom") {
                panic!("on purpose (armature-core test)");
            }
            next.run(req).await
        },
    );
    let server = start(app);
    let resp = hyper_get(server.addr(), "/boom").await;
    assert_eq!(resp.status(), 500);
    stop_async(server).await;
}

#[test]
fn with_before_any_route_is_an_error_at_bind() {
    let err = match App::new().with(tracer("x")).bind("127.0.0.1:0") {
        Ok(_) => panic!("bind accepted App::with before any route"),
        Err(e) => e,
    };
    assert!(err.is_config(), "{err:?}");
    assert!(err.to_string().contains("App::with"), "{err}");
}
