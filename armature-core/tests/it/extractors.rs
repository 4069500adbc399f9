//! Extractors end to end: Path, Query, Json, Form, Cookies, Headers, State, and the
//! status codes their rejections produce.

use std::sync::atomic::{AtomicUsize, Ordering};

use serde::{Deserialize, Serialize};

use armature_core::extract::{Cookies, Form, Headers, Json, Path, Query, State};
use armature_core::{App, Bytes, Error, HttpRequest, Method, StatusCode};

use crate::support::{get, post, show, start, stop, RawConn, Response};

struct AppState {
    name: &'static str,
    hits: AtomicUsize,
}

#[derive(Deserialize)]
struct Search {
    q: String,
    limit: Option<u32>,
}

#[derive(Deserialize, Serialize)]
struct Person {
    name: String,
    age: u8,
}

#[derive(Deserialize)]
struct Pair {
    a: String,
    b: u32,
}

fn app() -> App<AppState> {
    App::with_state(AppState {
        name: "armature-test",
        hits: AtomicUsize::new(0),
    })
    .get("/users/:id", |Path(id): Path<u32>| async move {
        format!("user {id}")
    })
    .get(
        "/pairs/:a/:b",
        |Path((a, b)): Path<(String, u32)>| async move { format!("{a}+{b}") },
    )
    .get("/struct/:a/:b", |Path(p): Path<Pair>| async move {
        format!("{}-{}", p.a, p.b)
    })
    .get("/search", |Query(s): Query<Search>| async move {
        format!(
            "{}:{}",
            s.q,
            s.limit.map_or("none".to_owned(), |l| l.to_string())
        )
    })
    .post("/people", |Json(p): Json<Person>| async move {
        (
            StatusCode::CREATED,
            Json(Person {
                name: p.name.to_uppercase(),
                age: p.age + 1,
            }),
        )
    })
    .post("/form", |Form(p): Form<Person>| async move {
        format!("{} is {}", p.name, p.age)
    })
    .get("/cookies", |cookies: Cookies| async move {
        format!(
            "{}/{}",
            cookies.get("session").unwrap_or("-"),
            cookies.get("user").unwrap_or("-")
        )
    })
    .get("/headers", |Headers(h): Headers| async move {
        h.get("x-custom")
            .map(|v| String::from_utf8_lossy(v).into_owned())
            .unwrap_or_else(|| "missing".to_owned())
    })
    .get("/state", |State(st): State<AppState>| async move {
        let n = st.hits.fetch_add(1, Ordering::SeqCst) + 1;
        format!("{} {n}", st.name)
    })
    .get("/request", |req: HttpRequest| async move {
        format!("{} {}", req.method().as_str(), req.path())
    })
    .post("/bytes", |b: Bytes| async move { b })
    .post("/string", |s: String| async move {
        s.chars().rev().collect::<String>()
    })
    .get("/lookup/:id", |Path(id): Path<u32>| async move {
        if id == 1 {
            Ok("found")
        } else {
            Err(Error::not_found(format!("no user {id}")))
        }
    })
    .post(
        "/eight/:id",
        |Path(id): Path<u32>,
         Query(s): Query<Search>,
         State(st): State<AppState>,
         Headers(h): Headers,
         cookies: Cookies,
         req: HttpRequest,
         Headers(h2): Headers,
         Json(p): Json<Person>| async move {
            format!(
                "{id} {} {} {} {} {} {} {}",
                s.q,
                st.name,
                h.get("x-custom").is_some() && h2.get("x-custom").is_some(),
                cookies.get("c").unwrap_or("-"),
                req.method() == Method::Post,
                p.name,
                p.age
            )
        },
    )
}

fn send(conn: &mut RawConn, req: &[u8]) -> Response {
    conn.send(req);
    conn.read_response()
}

fn with_headers(method: &str, path: &str, headers: &str, body: &[u8]) -> Vec<u8> {
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\n{headers}Content-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    req.extend_from_slice(body);
    req
}

/// Asserts the status and that the body names the problem: one of `words` appears in
/// it as a whole word (so `id` is not found inside `invalid`).
fn assert_rejection_names(resp: &Response, status: u16, words: &[&str]) {
    assert_eq!(resp.status, status, "{}", show(&resp.raw));
    let body = resp.text();
    let has_word = |w: &str| {
        body.match_indices(w).any(|(i, _)| {
            let before = body[..i].chars().next_back();
            let after = body[i + w.len()..].chars().next();
            !before.is_some_and(|c| c.is_alphanumeric() || c == '_')
                && !after.is_some_and(|c| c.is_alphanumeric() || c == '_')
        })
    };
    assert!(
        words.iter().any(|w| has_word(w)),
        "the {status} body does not name the problem (expected one of {words:?}): {body:?}"
    );
}

#[test]
fn path_extractor() {
    let server = start(app());
    let mut conn = RawConn::connect(server.addr());
    assert_eq!(send(&mut conn, &get("/users/42")).text(), "user 42");
    assert_eq!(send(&mut conn, &get("/pairs/x/7")).text(), "x+7");
    assert_eq!(send(&mut conn, &get("/struct/y/8")).text(), "y-8");
    let resp = send(&mut conn, &get("/users/abc"));
    assert_rejection_names(&resp, 400, &["abc", "id"]);
    // Out of range for u32.
    let resp = send(&mut conn, &get("/users/99999999999"));
    assert_eq!(resp.status, 400, "{}", show(&resp.raw));
    let resp = send(&mut conn, &get("/pairs/x/notanumber"));
    assert_eq!(resp.status, 400, "{}", show(&resp.raw));
    // A rejection does not end the connection.
    assert_eq!(send(&mut conn, &get("/users/1")).text(), "user 1");
    drop(conn);
    stop(server);
}

#[test]
fn query_extractor() {
    let server = start(app());
    let mut conn = RawConn::connect(server.addr());
    assert_eq!(
        send(&mut conn, &get("/search?q=rust&limit=5")).text(),
        "rust:5"
    );
    assert_eq!(send(&mut conn, &get("/search?limit=3&q=x")).text(), "x:3");
    assert_eq!(send(&mut conn, &get("/search?q=only")).text(), "only:none");
    assert_eq!(
        send(&mut conn, &get("/search?q=hello%20world+again%26more")).text(),
        "hello world again&more:none"
    );
    let resp = send(&mut conn, &get("/search?limit=5"));
    assert_rejection_names(&resp, 400, &["q"]);
    let resp = send(&mut conn, &get("/search?q=x&limit=many"));
    assert_rejection_names(&resp, 400, &["limit", "many"]);
    let resp = send(&mut conn, &get("/search"));
    assert_eq!(resp.status, 400, "{}", show(&resp.raw));
    drop(conn);
    stop(server);
}

#[test]
fn json_extractor() {
    let server = start(app());
    let mut conn = RawConn::connect(server.addr());
    let resp = send(
        &mut conn,
        &post("/people", "application/json", br#"{"name":"ada","age":36}"#),
    );
    assert_eq!(resp.status, 201, "{}", show(&resp.raw));
    assert_eq!(resp.text(), r#"{"name":"ADA","age":37}"#);
    assert!(resp
        .header("content-type")
        .unwrap_or_default()
        .starts_with("application/json"));
    let resp = send(
        &mut conn,
        &post(
            "/people",
            "application/json; charset=utf-8",
            br#"{"name":"b","age":1}"#,
        ),
    );
    assert_eq!(
        resp.status,
        201,
        "content type with parameters: {}",
        show(&resp.raw)
    );

    let resp = send(
        &mut conn,
        &post("/people", "text/plain", br#"{"name":"ada","age":36}"#),
    );
    assert_eq!(resp.status, 415, "wrong content type: {}", show(&resp.raw));
    let resp = send(
        &mut conn,
        &with_headers("POST", "/people", "", br#"{"name":"ada","age":36}"#),
    );
    assert_eq!(resp.status, 415, "no content type: {}", show(&resp.raw));
    let resp = send(
        &mut conn,
        &post("/people", "application/json", br#"{"name":"ada","#),
    );
    assert_eq!(resp.status, 400, "malformed JSON: {}", show(&resp.raw));
    let resp = send(
        &mut conn,
        &post("/people", "application/json", br#"{"name":1,"age":2}"#),
    );
    assert_eq!(resp.status, 422, "wrong shape: {}", show(&resp.raw));
    let resp = send(
        &mut conn,
        &post("/people", "application/json", br#"{"name":"x"}"#),
    );
    assert_rejection_names(&resp, 422, &["age"]);
    let resp = send(
        &mut conn,
        &post("/people", "application/json", br#"{"name":"x","age":300}"#),
    );
    assert_eq!(resp.status, 422, "out of range: {}", show(&resp.raw));
    drop(conn);
    stop(server);
}

#[test]
fn form_extractor() {
    let server = start(app());
    let mut conn = RawConn::connect(server.addr());
    let ct = "application/x-www-form-urlencoded";
    assert_eq!(
        send(&mut conn, &post("/form", ct, b"name=Al+ice%21&age=30")).text(),
        "Al ice! is 30"
    );
    let resp = send(
        &mut conn,
        &post("/form", "application/json", b"name=a&age=1"),
    );
    assert_eq!(resp.status, 415, "{}", show(&resp.raw));
    let resp = send(&mut conn, &post("/form", ct, b"name=a&age=old"));
    assert!(
        matches!(resp.status, 400 | 422),
        "bad field: {}",
        show(&resp.raw)
    );
    drop(conn);
    stop(server);
}

#[test]
fn cookies_and_headers_extractors() {
    let server = start(app());
    let mut conn = RawConn::connect(server.addr());
    let req = with_headers(
        "GET",
        "/cookies",
        "Cookie: session=abc; user=alice\r\n",
        b"",
    );
    assert_eq!(send(&mut conn, &req).text(), "abc/alice");
    let req = with_headers(
        "GET",
        "/cookies",
        "Cookie: user=bob\r\nCookie: session=s2\r\n",
        b"",
    );
    assert_eq!(
        send(&mut conn, &req).text(),
        "s2/bob",
        "two Cookie header lines"
    );
    assert_eq!(send(&mut conn, &get("/cookies")).text(), "-/-");
    let req = with_headers("GET", "/headers", "X-Custom: value 1\r\n", b"");
    assert_eq!(send(&mut conn, &req).text(), "value 1");
    let req = with_headers("GET", "/headers", "x-CUSTOM: lower\r\n", b"");
    assert_eq!(
        send(&mut conn, &req).text(),
        "lower",
        "header names are case-insensitive"
    );
    assert_eq!(send(&mut conn, &get("/headers")).text(), "missing");
    drop(conn);
    stop(server);
}

#[test]
fn state_extractor_shares_one_state() {
    let server = start(app());
    let mut conn = RawConn::connect(server.addr());
    assert_eq!(send(&mut conn, &get("/state")).text(), "armature-test 1");
    assert_eq!(send(&mut conn, &get("/state")).text(), "armature-test 2");
    drop(conn);
    let mut other = RawConn::connect(server.addr());
    assert_eq!(send(&mut other, &get("/state")).text(), "armature-test 3");
    drop(other);
    stop(server);
}

#[test]
fn request_bytes_and_string_extractors() {
    let server = start(app());
    let mut conn = RawConn::connect(server.addr());
    assert_eq!(send(&mut conn, &get("/request?x=1")).text(), "GET /request");
    let binary: Vec<u8> = (0..=255).collect();
    assert_eq!(
        send(
            &mut conn,
            &post("/bytes", "application/octet-stream", &binary)
        )
        .body,
        binary
    );
    assert_eq!(
        send(&mut conn, &post("/string", "text/plain", "abcé".as_bytes())).text(),
        "écba"
    );
    let resp = send(&mut conn, &post("/string", "text/plain", b"\xff\xfe"));
    assert_eq!(
        resp.status,
        400,
        "invalid UTF-8 into String: {}",
        show(&resp.raw)
    );
    drop(conn);
    stop(server);
}

#[test]
fn result_and_error_responses() {
    let server = start(app());
    let mut conn = RawConn::connect(server.addr());
    assert_eq!(send(&mut conn, &get("/lookup/1")).text(), "found");
    let resp = send(&mut conn, &get("/lookup/7"));
    assert_eq!(resp.status, 404);
    assert_eq!(resp.text(), r#"{"error":"no user 7"}"#);
    assert!(resp
        .header("content-type")
        .unwrap_or_default()
        .starts_with("application/json"));
    drop(conn);
    stop(server);
}

#[test]
fn eight_extractors_in_one_handler() {
    let server = start(app());
    let mut conn = RawConn::connect(server.addr());
    let req = with_headers(
        "POST",
        "/eight/3?q=z",
        "X-Custom: 1\r\nCookie: c=v\r\nContent-Type: application/json\r\n",
        br#"{"name":"n","age":9}"#,
    );
    let resp = send(&mut conn, &req);
    assert_eq!(
        resp.text(),
        "3 z armature-test true v true n 9",
        "{}",
        show(&resp.raw)
    );
    drop(conn);
    stop(server);
}
