//! Headers every response carries: `Server: armature`, an RFC 7231 `Date`, and
//! `Content-Length` (or chunked), whatever produced the response.

use armature_core::{App, Error, HttpResponse, StatusCode};

use crate::support::{
    assert_standard_headers, get, post, raw_exchange, show, start, stop, RawConn,
};

#[test]
fn every_kind_of_response_has_server_date_and_content_length() {
    let app = App::new()
        .get("/str", || async { "text" })
        .get("/string", || async { String::from("owned") })
        .get("/empty", || async {})
        .get("/status", || async { StatusCode::NO_CONTENT })
        .get("/accepted", || async { StatusCode::ACCEPTED })
        .get("/error", || async { Error::bad_request("nope") })
        .get("/http", || async { HttpResponse::ok().with_body("built") })
        .get("/fast", || async {
            armature_core::fast_response::fast::ok()
        })
        .get("/panic", || async {
            if std::hint::black_box(true) {
                panic!("on purpose (armature-core test)");
            }
        })
        .post("/only-post", || async { "p" });
    let server = start(app);
    let mut conn = RawConn::connect(server.addr());
    let cases: &[(Vec<u8>, u16)] = &[
        (get("/str"), 200),
        (get("/string"), 200),
        (get("/empty"), 200),
        (get("/status"), 204),
        (get("/accepted"), 202),
        (get("/error"), 400),
        (get("/http"), 200),
        (get("/fast"), 200),
        (get("/panic"), 500),
        (get("/missing"), 404),
        (get("/only-post"), 405),
        (post("/only-post", "text/plain", b""), 200),
    ];
    for (req, status) in cases {
        conn.send(req);
        let resp = conn.read_response();
        assert_eq!(resp.status, *status, "{} -> {}", show(req), show(&resp.raw));
        assert_standard_headers(&resp);
        if *status == 204 {
            // RFC 9110 8.6: a server MUST NOT send Content-Length in a 204 response.
            assert!(
                resp.header("content-length").is_none(),
                "{}",
                show(&resp.raw)
            );
        }
    }
    drop(conn);
    stop(server);
}

#[test]
fn rejections_from_the_connection_layer_have_the_standard_headers() {
    let server = start(App::new().get("/", || async { "root" }));
    for req in [
        &b"GET / HTTP/1.1\r\nHost : x\r\n\r\n"[..],
        b"FOO / HTTP/1.1\r\nHost: x\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n",
    ] {
        let ex = raw_exchange(server.addr(), req);
        let responses = ex.responses();
        assert_eq!(responses.len(), 1, "{} -> {}", show(req), show(&ex.bytes));
        assert_standard_headers(&responses[0]);
    }
    stop(server);
}

#[test]
fn text_responses_are_text_plain_and_json_is_application_json() {
    let app = App::new()
        .get("/text", || async { "t" })
        .get("/json", || async {
            armature_core::extract::Json(vec![1, 2, 3])
        });
    let server = start(app);
    let mut conn = RawConn::connect(server.addr());
    conn.send(&get("/text"));
    let resp = conn.read_response();
    let ct = resp.header("content-type").unwrap_or_default().to_owned();
    assert!(ct.starts_with("text/plain"), "Content-Type {ct:?}");
    conn.send(&get("/json"));
    let resp = conn.read_response();
    assert_eq!(resp.text(), "[1,2,3]");
    let ct = resp.header("content-type").unwrap_or_default().to_owned();
    assert!(ct.starts_with("application/json"), "Content-Type {ct:?}");
    drop(conn);
    stop(server);
}

#[test]
fn handlers_cannot_inject_headers_or_override_framing() {
    let app = App::new()
        .get("/inject", || async {
            HttpResponse::ok()
                .with_header("X-Evil", "a\r\nSet-Cookie: stolen=1")
                .with_header("X-Fine", "ok")
                .with_body("body")
        })
        .get("/framing", || async {
            HttpResponse::ok()
                .with_header("Content-Length", "999")
                .with_header("Transfer-Encoding", "chunked")
                .with_header("Connection", "close")
                .with_body("four")
        });
    let server = start(app);
    let mut conn = RawConn::connect(server.addr());
    conn.send(&get("/inject"));
    let resp = conn.read_response();
    assert!(
        resp.header("set-cookie").is_none(),
        "header injected: {}",
        show(&resp.raw)
    );
    assert_eq!(resp.header("x-fine"), Some("ok"));
    assert_eq!(resp.text(), "body");
    conn.send(&get("/framing"));
    let resp = conn.read_response();
    assert_standard_headers(&resp);
    assert_eq!(resp.text(), "four", "{}", show(&resp.raw));
    // The connection is still in sync (the handler's framing headers were not used).
    conn.send(&get("/inject"));
    assert_eq!(conn.read_response().text(), "body");
    drop(conn);
    stop(server);
}

#[test]
fn a_content_type_header_replaces_the_default_in_any_order() {
    use armature_core::fast_response::FastResponse;
    let html = || "text/html".to_string();
    // (path, expected Content-Type): the response must carry exactly that one line.
    let app = App::new()
        .get("/fast-owned-then-body", move || async move {
            FastResponse::ok()
                .with_header("Content-Type", html())
                .with_static_body(b"<p>1</p>")
        })
        .get("/fast-body-then-owned", move || async move {
            FastResponse::ok()
                .with_static_body(b"<p>2</p>")
                .with_header("content-type", html())
        })
        .get("/fast-static-then-bytes", || async {
            FastResponse::ok()
                .with_header("Content-Type", "image/png")
                .with_bytes(armature_core::Bytes::from_static(b"png"))
        })
        .get("/fast-owned-then-static", move || async move {
            FastResponse::ok()
                .with_header("Content-Type", html())
                .with_content_type("text/csv")
                .with_static_body(b"a,b")
        })
        .get("/fast-owned-then-json", move || async move {
            FastResponse::ok()
                .with_header("Content-Type", html())
                .with_json(&[1, 2])
        })
        .get("/http-owned", move || async move {
            HttpResponse::ok()
                .with_header("Content-Type", html())
                .with_body("<p>3</p>")
        });
    let server = start(app);
    let mut conn = RawConn::connect(server.addr());
    for (path, expected) in [
        ("/fast-owned-then-body", "text/html"),
        ("/fast-body-then-owned", "text/html"),
        ("/fast-static-then-bytes", "image/png"),
        ("/fast-owned-then-static", "text/csv"),
        ("/fast-owned-then-json", "application/json"),
        ("/http-owned", "text/html"),
    ] {
        conn.send(&get(path));
        let resp = conn.read_response();
        assert_eq!(resp.status, 200, "{path}: {}", show(&resp.raw));
        assert_eq!(
            resp.header_all("content-type"),
            [expected],
            "{path}: {}",
            show(&resp.raw)
        );
        assert_standard_headers(&resp);
    }
    drop(conn);
    stop(server);
}
