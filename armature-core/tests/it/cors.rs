//! `Cors` over TCP: preflights (allowed, refused), allowed and disallowed origins on
//! actual requests, credentials, max-age, exposed headers.

use std::time::Duration;

use armature_core::middleware::Cors;
use armature_core::{App, Bytes, Method};

use crate::support::{hyper_request, hyper_send, start, stop_async};

async fn send(
    addr: std::net::SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> hyper::Response<Bytes> {
    let mut req = hyper_request(method, addr, path);
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    let req = req.body(http_body_util::Full::new(Bytes::new())).unwrap();
    hyper_send(addr, req).await
}

fn h<'a>(resp: &'a hyper::Response<Bytes>, name: &str) -> Option<&'a str> {
    resp.headers().get(name).map(|v| v.to_str().unwrap())
}

fn cors_headers(resp: &hyper::Response<Bytes>) -> Vec<String> {
    resp.headers()
        .keys()
        .map(|k| k.as_str().to_owned())
        .filter(|k| k.starts_with("access-control-"))
        .collect()
}

const GOOD: &str = "https://app.example.com";

fn app() -> App {
    App::new()
        .get("/api", || async { "data" })
        .post("/api", || async { "posted" })
        .middleware(
            Cors::new()
                .allow_origin(GOOD)
                .allow_methods([Method::Get, Method::Post])
                .allow_headers(["Content-Type", "x-api-key"])
                .expose_headers(["x-total"])
                .allow_credentials(true)
                .max_age(Duration::from_secs(600)),
        )
}

#[tokio::test]
async fn preflight_from_an_allowed_origin_is_answered_as_configured() {
    let server = start(app());
    let addr = server.addr();
    let resp = send(
        addr,
        "OPTIONS",
        "/api",
        &[
            ("origin", GOOD),
            ("access-control-request-method", "POST"),
            ("access-control-request-headers", "content-type, X-API-Key"),
        ],
    )
    .await;
    assert_eq!(resp.status(), 204, "{:?}", resp.body());
    assert_eq!(h(&resp, "access-control-allow-origin"), Some(GOOD));
    assert_eq!(h(&resp, "access-control-allow-methods"), Some("GET, POST"));
    assert_eq!(
        h(&resp, "access-control-allow-headers"),
        Some("content-type, x-api-key")
    );
    assert_eq!(h(&resp, "access-control-allow-credentials"), Some("true"));
    assert_eq!(h(&resp, "access-control-max-age"), Some("600"));
    assert!(h(&resp, "vary").unwrap().contains("Origin"));

    // A method or a header not allowed: refused, no CORS headers.
    for (method, headers) in [("DELETE", "content-type"), ("POST", "x-other")] {
        let resp = send(
            addr,
            "OPTIONS",
            "/api",
            &[
                ("origin", GOOD),
                ("access-control-request-method", method),
                ("access-control-request-headers", headers),
            ],
        )
        .await;
        assert_eq!(resp.status(), 403, "{method} {headers}");
        assert!(cors_headers(&resp).is_empty(), "{:?}", resp.headers());
    }
    stop_async(server).await;
}

#[tokio::test]
async fn a_disallowed_origin_gets_no_cors_headers() {
    let server = start(app());
    let addr = server.addr();
    let evil = [("origin", "https://evil.example")];
    let resp = send(addr, "GET", "/api", &evil).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.body(), "data");
    assert!(cors_headers(&resp).is_empty(), "{:?}", resp.headers());
    assert_eq!(h(&resp, "vary"), Some("Origin"));
    // Its preflight is not answered by CORS either (OPTIONS has no route: 405).
    let resp = send(
        addr,
        "OPTIONS",
        "/api",
        &[evil[0], ("access-control-request-method", "GET")],
    )
    .await;
    assert_eq!(resp.status(), 405);
    assert!(cors_headers(&resp).is_empty(), "{:?}", resp.headers());
    // No Origin at all: a plain request.
    let resp = send(addr, "GET", "/api", &[]).await;
    assert!(cors_headers(&resp).is_empty());
    stop_async(server).await;
}

#[tokio::test]
async fn actual_requests_from_an_allowed_origin_are_tagged() {
    let server = start(app());
    let addr = server.addr();
    let resp = send(addr, "POST", "/api", &[("origin", GOOD)]).await;
    assert_eq!(resp.body(), "posted");
    assert_eq!(h(&resp, "access-control-allow-origin"), Some(GOOD));
    assert_eq!(h(&resp, "access-control-allow-credentials"), Some("true"));
    assert_eq!(h(&resp, "access-control-expose-headers"), Some("x-total"));
    assert_eq!(h(&resp, "vary"), Some("Origin"));
    stop_async(server).await;

    // Any origin without credentials: `*`, no Vary.
    let app = App::new()
        .get("/open", || async { "open" })
        .middleware(Cors::new().allow_any_origin().allow_methods([Method::Get]));
    let server = start(app);
    let resp = send(
        server.addr(),
        "GET",
        "/open",
        &[("origin", "https://x.example")],
    )
    .await;
    assert_eq!(h(&resp, "access-control-allow-origin"), Some("*"));
    assert_eq!(h(&resp, "vary"), None);
    assert_eq!(h(&resp, "access-control-allow-credentials"), None);
    stop_async(server).await;
}
