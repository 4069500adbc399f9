//! `?` in handlers on the library's own errors: `ParseError` and `MatchError` convert
//! into `Error` and are answered with their status (and `Allow` for a `405`).

use armature_core::extract::State;
use armature_core::routing::Router;
use armature_core::simd_parser::SIMDParser;
use armature_core::{App, Bytes, Error};

use crate::support::{post, start, stop, RawConn};

/// A handler that parses the HTTP head it is sent and looks its path up in an
/// app-level router: both failures travel out with `?`.
async fn inspect(State(router): State<Router<&'static str>>, body: Bytes) -> Result<String, Error> {
    let (req, _) = SIMDParser::new().parse(&body)?;
    let matched = router.match_route(req.method(), req.path())?;
    Ok(matched.value.to_string())
}

#[test]
fn parse_and_match_errors_answer_through_question_mark() {
    let mut router = Router::new();
    router
        .get("/users", "list users")
        .post("/users", "create user");
    let app = App::with_state(router).post("/inspect", inspect);
    let server = start(app);
    let mut conn = RawConn::connect(server.addr());
    let cases: [(&[u8], u16, Option<&str>, &str); 4] = [
        (
            b"GET /users HTTP/1.1\r\nHost: a\r\n\r\n",
            200,
            None,
            "list users",
        ),
        (
            b"GET /nope HTTP/1.1\r\nHost: a\r\n\r\n",
            404,
            None,
            "Not Found",
        ),
        (
            b"DELETE /users HTTP/1.1\r\nHost: a\r\n\r\n",
            405,
            Some("GET, HEAD, POST"),
            "Method Not Allowed",
        ),
        (
            b"GET /users HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
            400,
            None,
            "Host",
        ),
    ];
    for (inner, status, allow, text) in cases {
        conn.send(&post("/inspect", "application/octet-stream", inner));
        let resp = conn.read_response();
        let shown = String::from_utf8_lossy(inner).into_owned();
        assert_eq!(resp.status, status, "{shown:?}: {}", resp.text());
        assert_eq!(resp.header("allow"), allow, "{shown:?}");
        assert!(resp.text().contains(text), "{shown:?}: {}", resp.text());
    }
    drop(conn);
    stop(server);
}
