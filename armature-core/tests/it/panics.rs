//! A panicking handler: 500 for that request, the connection and the server go on.

use std::time::Duration;

use armature_core::App;

use crate::support::{assert_standard_headers, echo_app, get, show, start, stop, RawConn};

#[test]
fn a_panicking_handler_answers_500_and_the_connection_serves_the_next_request() {
    let server = start(echo_app());
    let mut conn = RawConn::connect(server.addr());
    conn.send(&get("/panic"));
    let resp = conn.read_response();
    assert_eq!(resp.status, 500, "{}", show(&resp.raw));
    assert_standard_headers(&resp);
    conn.send(&get("/echo/after-panic"));
    let resp = conn.read_response();
    assert_eq!(
        (resp.status, resp.text().as_str()),
        (200, "after-panic"),
        "{}",
        show(&resp.raw)
    );
    drop(conn);
    stop(server);
}

#[test]
fn a_panic_after_an_await_is_caught_too() {
    let app = App::new()
        .get("/late-panic", || async {
            tokio::time::sleep(Duration::from_millis(5)).await;
            if std::hint::black_box(true) {
                panic!("panicked after an await on purpose (armature-core test)");
            }
            "unreachable"
        })
        .get("/ok", || async { "ok" });
    let server = start(app);
    let mut conn = RawConn::connect(server.addr());
    conn.send(&get("/late-panic"));
    assert_eq!(conn.read_response().status, 500, "{}", show(&conn.received));
    conn.send(&get("/ok"));
    assert_eq!(conn.read_response().text(), "ok");
    drop(conn);
    stop(server);
}

#[test]
fn the_server_keeps_serving_other_connections_after_many_panics() {
    let server = start(echo_app());
    // With one worker, a panic that killed the worker would leave nobody to answer.
    for _ in 0..5 {
        let mut conn = RawConn::connect(server.addr());
        conn.send(&get("/panic"));
        assert_eq!(conn.read_response().status, 500);
    }
    let mut conn = RawConn::connect(server.addr());
    conn.send(&get("/echo/alive"));
    assert_eq!(conn.read_response().text(), "alive");
    drop(conn);
    stop(server);
}
