//! Requests refused before their handler runs (a body over the limit, a wrong content
//! type, malformed or ill-shaped JSON, a bad path parameter or query): answered
//! through the same middleware as a handler's response, with the body the app chose.

use armature_core::extract::{Json, Path, Query, Rejection};
use armature_core::middleware::{Compression, Cors, Next, RequestId};
use armature_core::{App, HttpRequest, IntoResponse, Response};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::support::{config, raw_exchange, show, start_with, stop, RawConn};

const ORIGIN: &str = "https://app.example.com";

/// Bodies over this many bytes are refused with 413.
const LIMIT: usize = 64;

#[derive(Deserialize)]
struct Item {
    name: String,
}

#[derive(Deserialize)]
struct Page {
    #[allow(dead_code)]
    limit: u32,
}

/// Where the app's middleware sits: the two paths the connection loop runs it on.
#[derive(Clone, Copy, Debug)]
enum Stack {
    /// Request id and CORS app-wide: built-in layers only (run as plain calls).
    Builtin,
    /// The same beside an `async fn` layer (each layer its own future).
    WithAsyncFn,
    /// The same on the routes themselves (`App::with`), none app-wide.
    PerRoute,
}

const STACKS: [Stack; 3] = [Stack::Builtin, Stack::WithAsyncFn, Stack::PerRoute];

/// Marks the response, so the test sees this layer ran.
async fn outer(req: HttpRequest, next: Next) -> Response {
    let mut resp = next.run(req).await;
    resp.insert_header("x-outer", "ran");
    resp
}

fn cors() -> Cors {
    Cors::new().allow_origin(ORIGIN)
}

fn app(stack: Stack) -> App {
    let app = App::new()
        .post("/items", |Json(item): Json<Item>| async move { item.name })
        .get(
            "/items/:id",
            |Path(id): Path<u32>| async move { id.to_string() },
        )
        .get("/items", |Query(_): Query<Page>| async { "page" });
    match stack {
        Stack::Builtin => app.middleware(cors()).middleware(RequestId::new()),
        Stack::WithAsyncFn => app
            .middleware(cors())
            .middleware(outer)
            .middleware(RequestId::new()),
        Stack::PerRoute => App::new()
            .post("/items", |Json(item): Json<Item>| async move { item.name })
            .with(cors())
            .with(RequestId::new())
            .get(
                "/items/:id",
                |Path(id): Path<u32>| async move { id.to_string() },
            )
            .with(cors())
            .with(RequestId::new())
            .get("/items", |Query(_): Query<Page>| async { "page" })
            .with(cors())
            .with(RequestId::new()),
    }
}

/// One refused request: what it is, its bytes, the status it gets, and whether the
/// connection closes after it (a body that is not read leaves the stream unframed).
struct Case {
    what: &'static str,
    request: Vec<u8>,
    status: u16,
    /// Its [`RejectionKind`], as `Debug` writes it.
    kind: &'static str,
    closes: bool,
}

fn request(method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: localhost\r\nOrigin: {ORIGIN}\r\n");
    for (name, value) in headers {
        req.push_str(&format!("{name}: {value}\r\n"));
    }
    req.push_str("\r\n");
    let mut req = req.into_bytes();
    req.extend_from_slice(body);
    req
}

fn json_post(path: &str, content_type: &str, body: &[u8]) -> Vec<u8> {
    let len = body.len().to_string();
    request(
        "POST",
        path,
        &[("Content-Type", content_type), ("Content-Length", &len)],
        body,
    )
}

fn cases() -> Vec<Case> {
    let too_long = (LIMIT + 1).to_string();
    vec![
        Case {
            what: "Content-Length over the limit",
            // The head alone: the declared length decides.
            request: request(
                "POST",
                "/items",
                &[
                    ("Content-Type", "application/json"),
                    ("Content-Length", &too_long),
                ],
                b"",
            ),
            status: 413,
            kind: "BodyTooLarge",
            closes: true,
        },
        Case {
            what: "chunked body over the limit",
            request: request(
                "POST",
                "/items",
                &[
                    ("Content-Type", "application/json"),
                    ("Transfer-Encoding", "chunked"),
                ],
                format!("{:x}\r\n{}\r\n0\r\n\r\n", LIMIT + 1, "a".repeat(LIMIT + 1)).as_bytes(),
            ),
            status: 413,
            kind: "BodyTooLarge",
            closes: true,
        },
        Case {
            what: "Content-Length over the limit on a path no route has",
            request: request("POST", "/nowhere", &[("Content-Length", &too_long)], b""),
            status: 413,
            kind: "BodyTooLarge",
            closes: true,
        },
        Case {
            what: "wrong content type",
            request: json_post("/items", "text/plain", br#"{"name":"a"}"#),
            status: 415,
            kind: "MediaType",
            closes: false,
        },
        Case {
            what: "malformed JSON",
            request: json_post("/items", "application/json", br#"{"name":"#),
            status: 400,
            kind: "MalformedBody",
            closes: false,
        },
        Case {
            what: "JSON of the wrong shape",
            request: json_post("/items", "application/json", br#"{"name":7}"#),
            status: 422,
            kind: "InvalidBody",
            closes: false,
        },
        Case {
            what: "bad path parameter",
            request: request("GET", "/items/abc", &[], b""),
            status: 400,
            kind: "Path",
            closes: false,
        },
        Case {
            what: "bad query",
            request: request("GET", "/items?limit=many", &[], b""),
            status: 400,
            kind: "Query",
            closes: false,
        },
    ]
}

/// Sends `case` on a fresh connection: its one response, after which the connection
/// is closed (when `case.closes`) or still answers.
fn exchange(addr: std::net::SocketAddr, case: &Case) -> crate::support::Response {
    let ctx = |bytes: &[u8]| format!("{}: {}", case.what, show(bytes));
    if case.closes {
        let ex = raw_exchange(addr, &case.request);
        let responses = ex.responses();
        assert_eq!(responses.len(), 1, "{}", ctx(&ex.bytes));
        assert!(ex.closed, "not closed after: {}", ctx(&ex.bytes));
        return responses.into_iter().next().unwrap();
    }
    let mut conn = RawConn::connect(addr);
    conn.send(&case.request);
    let resp = conn.read_response();
    // Still keep-alive: the next request is answered on the same connection.
    conn.send(&request("GET", "/items/7", &[], b""));
    let next = conn.read_response();
    assert_eq!(next.status, 200, "after {}: {}", case.what, show(&next.raw));
    resp
}

#[test]
fn refused_requests_pass_through_the_middleware() {
    for stack in STACKS {
        let server = start_with(app(stack), config().max_body_size(LIMIT));
        for case in cases() {
            if matches!(stack, Stack::PerRoute) && case.what.contains("no route") {
                // No app-wide middleware: a path no route has meets none.
                continue;
            }
            let resp = exchange(server.addr(), &case);
            let ctx = format!("{stack:?}, {}: {}", case.what, show(&resp.raw));
            assert_eq!(resp.status, case.status, "{ctx}");
            let id = resp.header("x-request-id").unwrap_or_default();
            assert_eq!(id.len(), 16, "a generated request id; {ctx}");
            assert_eq!(
                resp.header("access-control-allow-origin"),
                Some(ORIGIN),
                "{ctx}"
            );
            assert!(
                resp.header_all("vary").iter().any(|v| v.contains("Origin")),
                "{ctx}"
            );
            if matches!(stack, Stack::WithAsyncFn) {
                assert_eq!(resp.header("x-outer"), Some("ran"), "{ctx}");
            }
        }
        stop(server);
    }
}

/// The app's answer to every rejection: `{"error": .., "kind": ..}` as JSON.
fn json_answer(rejection: Rejection) -> Response {
    let body = json!({
        "error": rejection.message(),
        "kind": format!("{:?}", rejection.kind()),
    });
    (rejection.status(), Json(body)).into_response()
}

#[test]
fn the_app_chooses_the_body_of_every_rejection() {
    for stack in STACKS {
        let app = app(stack).rejection(json_answer);
        let server = start_with(app, config().max_body_size(LIMIT));
        for case in cases() {
            if matches!(stack, Stack::PerRoute) && case.what.contains("no route") {
                continue;
            }
            let resp = exchange(server.addr(), &case);
            let ctx = format!("{stack:?}, {}: {}", case.what, show(&resp.raw));
            assert_eq!(resp.status, case.status, "{ctx}");
            assert_eq!(
                resp.header("content-type"),
                Some("application/json"),
                "{ctx}"
            );
            let body: Value = serde_json::from_slice(&resp.body)
                .unwrap_or_else(|e| panic!("not JSON ({e}); {ctx}"));
            assert_eq!(body["kind"], case.kind, "{ctx}");
            let error = body["error"].as_str().unwrap_or_default();
            assert!(!error.is_empty(), "{ctx}");
            // Still inside the middleware.
            assert_eq!(resp.header("x-request-id").map(str::len), Some(16), "{ctx}");
        }
        stop(server);
    }
}

#[test]
fn rejections_pass_through_compression() {
    /// `case`'s request from a client that accepts gzip.
    fn accepting_gzip(case: &Case) -> Case {
        let mut request = case.request.clone();
        let at = request.iter().position(|&b| b == b'\n').unwrap() + 1;
        request.splice(at..at, b"Accept-Encoding: gzip\r\n".iter().copied());
        Case { request, ..*case }
    }
    // The default answers are too short to gain from gzip (sent as they are), but
    // the layer saw them: the answer varies by `Accept-Encoding`.
    let server = start_with(
        app(Stack::Builtin).middleware(Compression::new().min_size(16)),
        config().max_body_size(LIMIT),
    );
    for case in cases() {
        let resp = exchange(server.addr(), &accepting_gzip(&case));
        let ctx = format!("{}: {}", case.what, show(&resp.raw));
        assert_eq!(resp.status, case.status, "{ctx}");
        assert!(
            resp.header_all("vary")
                .iter()
                .any(|v| v.contains("Accept-Encoding")),
            "{ctx}"
        );
    }
    stop(server);
    // An app's answer long enough to gain: gzip.
    let long = |r: Rejection| (r.status(), r.message().repeat(8));
    let server = start_with(
        app(Stack::Builtin)
            .rejection(long)
            .middleware(Compression::new().min_size(16)),
        config().max_body_size(LIMIT),
    );
    for case in cases() {
        let resp = exchange(server.addr(), &accepting_gzip(&case));
        let ctx = format!("{}: {}", case.what, show(&resp.raw));
        assert_eq!(resp.status, case.status, "{ctx}");
        assert_eq!(resp.header("content-encoding"), Some("gzip"), "{ctx}");
        let mut text = String::new();
        std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&resp.body[..]), &mut text)
            .unwrap_or_else(|e| panic!("not gzip ({e}): {ctx}"));
        assert!(
            text.len() > 8 && text.len().is_multiple_of(8),
            "{text}; {ctx}"
        );
    }
    stop(server);
}

#[test]
fn a_panic_in_the_app_answer_is_a_500() {
    let app = app(Stack::Builtin).rejection(|r: Rejection| -> Response {
        if std::hint::black_box(true) {
            panic!("the rejection answer panicked on purpose (armature-core test)");
        }
        r.into_response()
    });
    let server = start_with(app, config().max_body_size(LIMIT));
    for case in cases() {
        let resp = exchange(server.addr(), &case);
        assert_eq!(resp.status, 500, "{}: {}", case.what, show(&resp.raw));
    }
    stop(server);
}
