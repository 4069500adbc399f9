//! Streamed bodies of known length (`HttpResponse::with_sized_stream`): sent with
//! `Content-Length` and no transfer coding; a stream that ends short of its length
//! or runs past it closes the connection instead of breaking the framing.

use std::collections::VecDeque;
use std::time::Duration;

use armature_core::{App, Bytes, HttpResponse};

use crate::support::{self, get, show, Framing, RawConn, IO_TIMEOUT};

fn sized(len: u64, parts: &[&'static str]) -> HttpResponse {
    let chunks: VecDeque<Bytes> = parts
        .iter()
        .map(|p| Bytes::from_static(p.as_bytes()))
        .collect();
    HttpResponse::ok().with_sized_stream(len, support::ChunkStream::new(chunks))
}

fn app() -> App<()> {
    App::new()
        .get("/exact", || async {
            sized(15, &["part1", "part2", "part3"])
        })
        .get("/short", || async { sized(15, &["part1", "part2"]) })
        .get("/long", || async { sized(7, &["part1", "part2"]) })
        .get(
            "/echo/:n",
            |armature_core::Path(n): armature_core::Path<String>| async move { n },
        )
}

#[test]
fn sent_with_content_length_and_keep_alive_survives() {
    let server = support::start(app());
    let mut conn = RawConn::connect(server.addr());
    conn.send(&get("/exact"));
    let resp = conn.read_response();
    assert_eq!(resp.framing, Framing::Length, "{}", show(&resp.raw));
    assert_eq!(resp.header("content-length"), Some("15"));
    assert_eq!(resp.header("transfer-encoding"), None);
    assert_eq!(resp.text(), "part1part2part3");
    conn.send(&get("/echo/next"));
    assert_eq!(conn.read_response().text(), "next");
    support::stop(server);
}

#[test]
fn a_stream_off_its_length_closes_the_connection() {
    let server = support::start(app());
    for (path, sent) in [("/short", "part1part2"), ("/long", "part1")] {
        let mut conn = RawConn::connect(server.addr());
        conn.send(&get(path));
        let bytes = conn
            .closed_within(IO_TIMEOUT + Duration::from_secs(1))
            .unwrap_or_else(|| panic!("{path}: connection left open"));
        let text = String::from_utf8_lossy(&bytes);
        assert!(
            text.ends_with(&format!("\r\n\r\n{sent}")),
            "{path}: {}",
            show(&bytes)
        );
    }
    support::stop(server);
}
