//! Routing over the wire: 404, 405 with `Allow`, path parameters, wildcards, and
//! route errors reported by `bind` instead of a panic.

use armature_core::extract::Path;
use armature_core::{App, HttpRequest, Method};

use crate::support::{get, post, show, start, stop, RawConn};

fn app() -> App<()> {
    App::new()
        .get("/users", || async { "list" })
        .post("/users", || async { "created" })
        .get("/users/me", || async { "me" })
        .get("/users/:id", |Path(id): Path<String>| async move {
            format!("user {id}")
        })
        .put("/users/:id", |Path(id): Path<String>| async move {
            format!("put {id}")
        })
        .delete("/users/:id", |Path(id): Path<String>| async move {
            format!("delete {id}")
        })
        .patch("/users/:id", |Path(id): Path<String>| async move {
            format!("patch {id}")
        })
        .get("/braces/{name}", |Path(n): Path<String>| async move {
            format!("braces {n}")
        })
        .get("/files/*rest", |Path(rest): Path<String>| async move {
            format!("file {rest}")
        })
        .route(Method::Options, "/opt", || async { "options" })
        .get(
            "/raw",
            |req: HttpRequest| async move { req.path().to_owned() },
        )
}

fn send(conn: &mut RawConn, req: &[u8]) -> crate::support::Response {
    conn.send(req);
    conn.read_response()
}

fn method(m: &str, path: &str) -> Vec<u8> {
    format!("{m} {path} HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\n\r\n").into_bytes()
}

#[test]
fn routes_match_by_method_and_path() {
    let server = start(app());
    let mut conn = RawConn::connect(server.addr());
    let table: &[(Vec<u8>, u16, &str)] = &[
        (get("/users"), 200, "list"),
        (post("/users", "text/plain", b""), 200, "created"),
        (get("/users/me"), 200, "me"),
        (get("/users/42"), 200, "user 42"),
        (method("PUT", "/users/7"), 200, "put 7"),
        (method("DELETE", "/users/8"), 200, "delete 8"),
        (method("PATCH", "/users/9"), 200, "patch 9"),
        (get("/braces/x"), 200, "braces x"),
        (get("/files/a/b/c.txt"), 200, "file a/b/c.txt"),
        (method("OPTIONS", "/opt"), 200, "options"),
        (get("/users/42?verbose=1&x=y"), 200, "user 42"),
        (get("/raw?q=1"), 200, "/raw"),
        (get("http://localhost/users/abs"), 200, "user abs"),
    ];
    for (req, status, body) in table {
        let resp = send(&mut conn, req);
        assert_eq!(
            (resp.status, resp.text().as_str()),
            (*status, *body),
            "{} -> {}",
            show(req),
            show(&resp.raw)
        );
    }
    drop(conn);
    stop(server);
}

#[test]
fn unknown_path_is_404() {
    let server = start(app());
    let mut conn = RawConn::connect(server.addr());
    for path in ["/nope", "/users/1/extra", "/", "/files", "/USERS"] {
        let resp = send(&mut conn, &get(path));
        assert_eq!(resp.status, 404, "{path}: {}", show(&resp.raw));
    }
    // A 404 does not end the connection.
    assert_eq!(send(&mut conn, &get("/users")).text(), "list");
    drop(conn);
    stop(server);
}

#[test]
fn wrong_method_is_405_with_allow() {
    let server = start(app());
    let mut conn = RawConn::connect(server.addr());
    let resp = send(&mut conn, &method("DELETE", "/users"));
    assert_eq!(resp.status, 405, "{}", show(&resp.raw));
    let allow = resp
        .header("allow")
        .unwrap_or_else(|| panic!("405 without Allow: {}", show(&resp.raw)));
    let allowed: Vec<&str> = allow.split(',').map(str::trim).collect();
    assert!(
        allowed.contains(&"GET") && allowed.contains(&"POST"),
        "Allow: {allow}"
    );
    assert!(
        !allowed.contains(&"DELETE") && !allowed.contains(&"PUT"),
        "Allow: {allow}"
    );

    let resp = send(&mut conn, &post("/users/5", "text/plain", b""));
    assert_eq!(resp.status, 405, "{}", show(&resp.raw));
    let allow = resp.header("allow").expect("Allow");
    for m in ["GET", "PUT", "DELETE", "PATCH"] {
        assert!(
            allow.split(',').any(|a| a.trim() == m),
            "{m} missing from Allow: {allow}"
        );
    }
    // The connection goes on.
    assert_eq!(send(&mut conn, &get("/users/5")).text(), "user 5");
    drop(conn);
    stop(server);
}

#[test]
fn conflicting_routes_are_an_error_from_bind_not_a_panic() {
    let app = App::new()
        .get("/a/:x", || async { "x" })
        .get("/a/:y", || async { "y" });
    let result = app.bind("127.0.0.1:0");
    assert!(
        result.is_err(),
        "conflicting routes /a/:x and /a/:y were accepted"
    );
}

#[test]
fn percent_encoded_path_parameters_are_decoded() {
    let server = start(app());
    let mut conn = RawConn::connect(server.addr());
    let resp = send(&mut conn, &get("/users/J%C3%BCrgen%20B"));
    assert_eq!(resp.text(), "user Jürgen B", "{}", show(&resp.raw));
    drop(conn);
    stop(server);
}
