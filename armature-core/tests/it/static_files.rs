//! Static files over TCP: content types and validators, 304, byte ranges (206/416),
//! HEAD, directory indexes, large files, and every way out of the root answered 404.

use std::fs;
use std::os::unix::fs::symlink;
use std::path::Path;

use armature_core::{App, ServeDir, ServeFile};

use crate::support::{self, Framing, RawConn, Response};

const HELLO: &[u8] = b"Hello, static world!\n";

/// A temp dir with `secret.txt` outside the served root `public/`, and in `public/`:
/// files of a few types, `sub/index.html`, a 3 MiB `big.bin`, and symlinks: `out`
/// (to the temp dir), `out.txt` (to the secret) and `in.txt` (to `hello.txt`).
fn tree() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let p = |rel: &str| dir.path().join(rel);
    fs::write(p("secret.txt"), "top secret").unwrap();
    fs::create_dir_all(p("public/sub")).unwrap();
    fs::write(p("public/hello.txt"), HELLO).unwrap();
    fs::write(p("public/site.css"), "body {}").unwrap();
    fs::write(p("public/data.unknownext"), [0u8, 1, 2]).unwrap();
    fs::write(p("public/index.html"), "<h1>root</h1>").unwrap();
    fs::write(p("public/sub/index.html"), "<h1>sub</h1>").unwrap();
    fs::write(p("public/big.bin"), big()).unwrap();
    symlink(dir.path(), p("public/out")).unwrap();
    symlink(p("secret.txt"), p("public/out.txt")).unwrap();
    symlink(p("public/hello.txt"), p("public/in.txt")).unwrap();
    dir
}

/// 3 MiB that are not all alike, so a misplaced chunk shows.
fn big() -> Vec<u8> {
    (0..3u32 << 20).map(|i| (i % 251) as u8).collect()
}

fn app(root: &Path) -> App<()> {
    let public = root.join("public");
    App::new()
        .get("/static/", ServeDir::new(&public))
        .get("/static/{*path}", ServeDir::new(&public))
        .get("/noindex/{*path}", ServeDir::new(&public).index_file(None))
        .get("/one", ServeFile::new(public.join("hello.txt")))
        .get("/missing", ServeFile::new(public.join("nope.txt")))
}

/// `method path` with extra header lines, on a kept-alive raw connection.
fn ask(conn: &mut RawConn, method: &str, path: &str, headers: &str) -> Response {
    conn.send(format!("{method} {path} HTTP/1.1\r\nHost: x\r\n{headers}\r\n").as_bytes());
    if method == "HEAD" {
        conn.read_head_response()
    } else {
        conn.read_response()
    }
}

fn get(conn: &mut RawConn, path: &str) -> Response {
    ask(conn, "GET", path, "")
}

#[test]
fn serves_files_with_type_length_and_validators() {
    let dir = tree();
    let server = support::start(app(dir.path()));
    let mut c = RawConn::connect(server.addr());
    let r = get(&mut c, "/static/hello.txt");
    assert_eq!(r.status, 200);
    assert_eq!(r.body, HELLO);
    assert_eq!(r.framing, Framing::Length, "a file has a known length");
    assert_eq!(r.header("content-type"), Some("text/plain; charset=utf-8"));
    assert_eq!(r.header("accept-ranges"), Some("bytes"));
    let etag = r.header("etag").expect("ETag");
    assert!(etag.starts_with('"') && etag.ends_with('"'), "{etag}");
    support::assert_imf_fixdate(r.header("last-modified").expect("Last-Modified"));
    support::assert_standard_headers(&r);

    let table = [
        ("/static/site.css", "text/css; charset=utf-8"),
        ("/static/data.unknownext", "application/octet-stream"),
        ("/static/index.html", "text/html; charset=utf-8"),
    ];
    for (path, ct) in table {
        let r = get(&mut c, path);
        assert_eq!(
            (r.status, r.header("content-type")),
            (200, Some(ct)),
            "{path}"
        );
    }
    // Percent-encoded names and symlinks that stay inside the root are fine.
    assert_eq!(get(&mut c, "/static/hell%6F.txt").body, HELLO);
    assert_eq!(get(&mut c, "/static/in.txt").body, HELLO);
    assert_eq!(get(&mut c, "/one").body, HELLO);
    assert_eq!(get(&mut c, "/missing").status, 404);
    assert_eq!(get(&mut c, "/static/nope.txt").status, 404);
    support::stop(server);
}

#[test]
fn directories_answer_their_index() {
    let dir = tree();
    let server = support::start(app(dir.path()));
    let mut c = RawConn::connect(server.addr());
    assert_eq!(get(&mut c, "/static/").text(), "<h1>root</h1>");
    assert_eq!(get(&mut c, "/static/sub/").text(), "<h1>sub</h1>");
    assert_eq!(get(&mut c, "/static/sub").text(), "<h1>sub</h1>");
    assert_eq!(get(&mut c, "/noindex/sub/").status, 404);
    assert_eq!(get(&mut c, "/noindex/hello.txt").body, HELLO);
    support::stop(server);
}

#[test]
fn conditional_requests_answer_304() {
    let dir = tree();
    let server = support::start(app(dir.path()));
    let mut c = RawConn::connect(server.addr());
    let first = get(&mut c, "/static/hello.txt");
    let etag = first.header("etag").unwrap().to_owned();
    let modified = first.header("last-modified").unwrap().to_owned();

    let r = ask(
        &mut c,
        "GET",
        "/static/hello.txt",
        &format!("If-None-Match: {etag}\r\n"),
    );
    assert_eq!((r.status, r.framing), (304, Framing::None));
    assert!(r.body.is_empty());
    assert_eq!(r.header("etag"), Some(etag.as_str()));
    // A 304 announces the length a 200 would have (RFC 9110 §8.6), not 0.
    assert_eq!(
        r.header("content-length"),
        Some(HELLO.len().to_string().as_str())
    );

    let inm = format!("If-None-Match: \"other\", W/{etag}\r\n");
    assert_eq!(ask(&mut c, "GET", "/static/hello.txt", &inm).status, 304);
    let r = ask(
        &mut c,
        "GET",
        "/static/hello.txt",
        "If-None-Match: \"other\"\r\n",
    );
    assert_eq!((r.status, r.body.as_slice()), (200, HELLO));

    let ims = format!("If-Modified-Since: {modified}\r\n");
    assert_eq!(ask(&mut c, "GET", "/static/hello.txt", &ims).status, 304);
    let old = "If-Modified-Since: Mon, 01 Jan 2001 00:00:00 GMT\r\n";
    assert_eq!(ask(&mut c, "GET", "/static/hello.txt", old).status, 200);
    // If-None-Match wins over If-Modified-Since.
    let both = format!("If-None-Match: \"other\"\r\n{ims}");
    assert_eq!(ask(&mut c, "GET", "/static/hello.txt", &both).status, 200);
    // The connection is still in step after the bodiless answers.
    assert_eq!(get(&mut c, "/static/hello.txt").body, HELLO);
    support::stop(server);
}

#[test]
fn byte_ranges_answer_206_or_416() {
    let dir = tree();
    let server = support::start(app(dir.path()));
    let mut c = RawConn::connect(server.addr());
    let len = HELLO.len();
    let table: &[(&str, u16, Option<String>, &[u8])] = &[
        (
            "bytes=0-4",
            206,
            Some(format!("bytes 0-4/{len}")),
            &HELLO[..5],
        ),
        (
            "bytes=7-",
            206,
            Some(format!("bytes 7-{}/{len}", len - 1)),
            &HELLO[7..],
        ),
        (
            "bytes=-7",
            206,
            Some(format!("bytes {}-{}/{len}", len - 7, len - 1)),
            &HELLO[len - 7..],
        ),
        (
            "bytes=5-100000",
            206,
            Some(format!("bytes 5-{}/{len}", len - 1)),
            &HELLO[5..],
        ),
        ("bytes=1000-", 416, Some(format!("bytes */{len}")), b""),
        ("bytes=-0", 416, Some(format!("bytes */{len}")), b""),
        // Several ranges: the whole file. Nonsense: ignored.
        ("bytes=0-1,3-4", 200, None, HELLO),
        ("bytes=x-y", 200, None, HELLO),
    ];
    for (range, status, content_range, body) in table {
        let r = ask(
            &mut c,
            "GET",
            "/static/hello.txt",
            &format!("Range: {range}\r\n"),
        );
        assert_eq!(r.status, *status, "{range}");
        assert_eq!(
            r.header("content-range"),
            content_range.as_deref(),
            "{range}"
        );
        assert_eq!(r.body, *body, "{range}");
        assert_eq!(
            r.header("content-length"),
            Some(body.len().to_string().as_str())
        );
    }
    // If-Range: a range applies only to the same file.
    let etag = get(&mut c, "/static/hello.txt")
        .header("etag")
        .unwrap()
        .to_owned();
    let r = ask(
        &mut c,
        "GET",
        "/static/hello.txt",
        &format!("Range: bytes=0-1\r\nIf-Range: {etag}\r\n"),
    );
    assert_eq!((r.status, r.body.as_slice()), (206, &HELLO[..2]));
    let r = ask(
        &mut c,
        "GET",
        "/static/hello.txt",
        "Range: bytes=0-1\r\nIf-Range: \"stale\"\r\n",
    );
    assert_eq!((r.status, r.body.as_slice()), (200, HELLO));
    support::stop(server);
}

#[test]
fn head_has_the_get_head_and_no_body() {
    let dir = tree();
    let server = support::start(app(dir.path()));
    let mut c = RawConn::connect(server.addr());
    let r = ask(&mut c, "HEAD", "/static/big.bin", "");
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("content-length"),
        Some((3u32 << 20).to_string().as_str())
    );
    assert!(r.header("etag").is_some() && r.header("last-modified").is_some());
    let r = ask(&mut c, "HEAD", "/static/hello.txt", "Range: bytes=0-2\r\n");
    assert_eq!(
        (r.status, r.header("content-range")),
        (206, Some(format!("bytes 0-2/{}", HELLO.len()).as_str()))
    );
    // No body was sent: the next response is read right after the heads.
    assert_eq!(get(&mut c, "/static/hello.txt").body, HELLO);
    support::stop(server);
}

#[tokio::test]
async fn large_files_arrive_whole_and_in_ranges() {
    let dir = tree();
    let server = support::start(app(dir.path()));
    let want = big();
    let resp = support::hyper_get(server.addr(), "/static/big.bin").await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-length"], want.len().to_string());
    assert!(resp.headers().get("transfer-encoding").is_none());
    assert!(resp.body()[..] == want[..], "the 3 MiB body differs");

    let (a, b) = (1_000_000usize, 2_500_000usize);
    let req = support::hyper_request("GET", server.addr(), "/static/big.bin")
        .header("range", format!("bytes={a}-{b}"))
        .body(http_body_util::Full::new(armature_core::Bytes::new()))
        .unwrap();
    let resp = support::hyper_send(server.addr(), req).await;
    assert_eq!(resp.status(), 206);
    assert!(resp.body()[..] == want[a..=b], "the range differs");
    support::stop_async(server).await;
}

#[test]
fn nothing_outside_the_root_is_served() {
    let dir = tree();
    let server = support::start(app(dir.path()));
    let escapes = [
        "/static/../Cargo.toml",
        "/static/../secret.txt",
        "/static/%2e%2e/secret.txt",
        "/static/%2E%2E%2Fsecret.txt",
        "/static/sub/..%2f..%2fsecret.txt",
        "/static//etc/passwd",
        "/static/%2fetc%2fpasswd",
        "/static/..%5csecret.txt",
        "/static/out/secret.txt",
        "/static/out.txt",
        "/static/out/",
        "/static/./hello.txt",
        "/static/hello.txt%00.png",
        "/static/sub",
    ];
    for path in escapes {
        let req = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        let ex = support::raw_exchange(server.addr(), req.as_bytes());
        let responses = ex.responses();
        let status = responses.first().map(|r| r.status);
        let body = responses.first().map(|r| r.text()).unwrap_or_default();
        if path == "/static/sub" {
            // The control: a directory inside the root is served.
            assert_eq!(status, Some(200), "{path}");
            continue;
        }
        assert_eq!(status, Some(404), "{path}: {}", support::show(&ex.bytes));
        assert!(
            !body.contains("top secret") && !body.contains("root:"),
            "{path}: {body}"
        );
    }
    support::stop(server);
}

#[test]
fn pipelined_requests_around_a_file_stay_in_order() {
    let dir = tree();
    let server = support::start(app(dir.path()));
    let mut c = RawConn::connect(server.addr());
    c.send(
        b"GET /static/hello.txt HTTP/1.1\r\nHost: x\r\n\r\n\
          GET /static/nope HTTP/1.1\r\nHost: x\r\n\r\n\
          GET /static/site.css HTTP/1.1\r\nHost: x\r\nRange: bytes=0-3\r\n\r\n",
    );
    assert_eq!(c.read_response().body, HELLO);
    assert_eq!(c.read_response().status, 404);
    let r = c.read_response();
    assert_eq!((r.status, r.text().as_str()), (206, "body"));
    support::stop(server);
}

/// Makes a FIFO at `path`.
fn mkfifo(path: &Path) {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes()).unwrap();
    // SAFETY: `c` is a valid NUL-terminated path for the duration of the call.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0, "mkfifo");
}

#[test]
fn a_fifo_is_not_found_at_once_and_holds_no_thread() {
    let dir = tree();
    mkfifo(&dir.path().join("public/pipe"));
    let app = app(dir.path()).get("/pipe", ServeFile::new(dir.path().join("public/pipe")));
    let server = support::start(app);
    // Opening a FIFO for reading waits for a writer: a server that opened it before
    // checking its type would never answer (RawConn fails after its 5 s timeout).
    let mut c = RawConn::connect(server.addr());
    assert_eq!(get(&mut c, "/static/pipe").status, 404);
    assert_eq!(get(&mut c, "/pipe").status, 404, "ServeFile of a FIFO");
    // More FIFO requests at once than tokio's blocking pool has threads (512): had
    // each held a thread, the file after them would wait for one forever.
    let conns: Vec<RawConn> = (0..600)
        .map(|_| {
            let mut c = RawConn::connect(server.addr());
            c.send(b"GET /static/pipe HTTP/1.1\r\nHost: x\r\n\r\n");
            c
        })
        .collect();
    for mut c in conns {
        assert_eq!(c.read_response().status, 404);
    }
    let r = get(&mut c, "/static/hello.txt");
    assert_eq!((r.status, r.body.as_slice()), (200, HELLO));
    support::stop(server);
}

#[test]
fn a_file_named_as_a_directory_is_not_found() {
    let dir = tree();
    let server = support::start(app(dir.path()));
    let mut c = RawConn::connect(server.addr());
    let table = [
        ("/static/hello.txt/", 404),
        ("/static/hello.txt%2f", 404),
        ("/static/in.txt/", 404),
        ("/noindex/hello.txt/", 404),
        ("/static/hello.txt", 200),
        ("/static/sub/", 200),
        ("/static/sub", 200),
    ];
    for (path, status) in table {
        let r = get(&mut c, path);
        assert_eq!(r.status, status, "{path}: {}", support::show(&r.raw));
    }
    support::stop(server);
}

/// `public/app.js` with both precompressed siblings, `public/only-gz.js` with a
/// gzip one only, `public/link.js` whose `.br` sibling is a symlink out of the root.
fn precompressed_tree() -> tempfile::TempDir {
    let dir = tree();
    let p = |rel: &str| dir.path().join("public").join(rel);
    fs::write(p("app.js"), "console.log('identity');\n").unwrap();
    fs::write(p("app.js.br"), "BROTLI BYTES").unwrap();
    fs::write(p("app.js.gz"), "GZIP BYTES").unwrap();
    fs::write(p("only-gz.js"), "console.log('gz');\n").unwrap();
    fs::write(p("only-gz.js.gz"), "ONLY GZIP").unwrap();
    fs::write(p("link.js"), "console.log('link');\n").unwrap();
    symlink(dir.path().join("secret.txt"), p("link.js.br")).unwrap();
    dir
}

#[test]
fn a_precompressed_sibling_is_served_to_a_client_that_accepts_it() {
    let dir = precompressed_tree();
    let public = dir.path().join("public");
    let app = app(dir.path())
        .get(
            "/plain/{*path}",
            ServeDir::new(&public).precompressed(false),
        )
        .get("/app.js", ServeFile::new(public.join("app.js")));
    let server = support::start(app);
    let mut c = RawConn::connect(server.addr());
    let ae = |v: &str| format!("Accept-Encoding: {v}\r\n");

    let identity = get(&mut c, "/static/app.js");
    assert_eq!(identity.text(), "console.log('identity');\n");
    assert_eq!(identity.header("content-encoding"), None);
    assert_eq!(identity.header("vary"), Some("Accept-Encoding"));
    let identity_tag = identity.header("etag").unwrap().to_string();

    for (path, accept, body, coding) in [
        ("/static/app.js", "gzip, deflate, br", "BROTLI BYTES", "br"),
        ("/static/app.js", "gzip", "GZIP BYTES", "gzip"),
        ("/static/app.js", "br;q=0.5, gzip", "GZIP BYTES", "gzip"),
        ("/static/app.js", "*", "BROTLI BYTES", "br"),
        ("/static/only-gz.js", "br, gzip", "ONLY GZIP", "gzip"),
        ("/app.js", "br", "BROTLI BYTES", "br"),
    ] {
        let r = ask(&mut c, "GET", path, &ae(accept));
        assert_eq!(
            (r.status, r.text().as_str()),
            (200, body),
            "{path} {accept}"
        );
        assert_eq!(
            r.header("content-encoding"),
            Some(coding),
            "{path} {accept}"
        );
        assert!(
            r.header("content-type").unwrap().contains("javascript"),
            "the original's type: {:?}",
            r.header("content-type")
        );
        assert_eq!(r.header("vary"), Some("Accept-Encoding"));
        let tag = r.header("etag").unwrap();
        assert_ne!(tag, identity_tag, "an ETag per encoding");
        assert!(tag.ends_with(&format!("-{coding}\"")), "{tag}");
        // The tag revalidates the same encoding.
        let again = ask(
            &mut c,
            "GET",
            path,
            &format!("{}If-None-Match: {tag}\r\n", ae(accept)),
        );
        assert_eq!(again.status, 304, "{path} {accept}");
    }

    // Refused or unknown codings, a range, the lookup turned off, a sibling that is
    // a symlink out of the root: the file itself.
    for (path, headers) in [
        ("/static/app.js", ae("identity")),
        ("/static/app.js", ae("br;q=0, gzip;q=0")),
        ("/static/app.js", ae("zstd")),
        (
            "/static/app.js",
            format!("{}Range: bytes=0-6\r\n", ae("br")),
        ),
        ("/plain/app.js", ae("br")),
        ("/static/link.js", ae("br")),
    ] {
        let r = ask(&mut c, "GET", path, &headers);
        assert!(
            r.status == 200 || r.status == 206,
            "{path} {headers}: {}",
            r.status
        );
        assert_eq!(r.header("content-encoding"), None, "{path} {headers}");
        assert!(
            r.text().starts_with("console"),
            "{path} {headers}: {}",
            r.text()
        );
    }
    let plain = ask(&mut c, "GET", "/plain/app.js", &ae("br"));
    assert_eq!(plain.header("vary"), None, "no lookup, nothing varies");
    support::stop(server);
}
