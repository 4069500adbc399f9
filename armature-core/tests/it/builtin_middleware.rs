//! The built-in middleware over TCP: request id, the access log (its exact line
//! format), timeout, default headers.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use armature_core::middleware::{DefaultHeaders, RequestId, RequestLog, Timeout};
use armature_core::{App, Bytes, HttpRequest};

use crate::support::{hyper_get, hyper_request, hyper_send, start, stop_async};

fn get_with(
    addr: std::net::SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
) -> hyper::Request<http_body_util::Full<Bytes>> {
    let mut req = hyper_request("GET", addr, path);
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    req.body(http_body_util::Full::new(Bytes::new())).unwrap()
}

async fn echo_id(req: HttpRequest) -> String {
    req.header_str("x-request-id").unwrap_or("none").to_owned()
}

#[tokio::test]
async fn request_id_is_generated_when_absent_kept_when_present_and_echoed() {
    let app = App::new().get("/id", echo_id).middleware(RequestId::new());
    let server = start(app);
    let addr = server.addr();
    let resp = hyper_get(addr, "/id").await;
    let generated = resp.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_eq!(generated.len(), 16, "{generated}");
    assert_eq!(
        resp.body(),
        generated.as_str(),
        "the handler saw the generated id"
    );
    let again = hyper_get(addr, "/id").await;
    assert_ne!(again.headers()["x-request-id"], generated.as_str());

    let resp = hyper_send(addr, get_with(addr, "/id", &[("x-request-id", "abc-123")])).await;
    assert_eq!(resp.headers()["x-request-id"], "abc-123");
    assert_eq!(resp.body(), "abc-123");
    // An unusable one (too long) is replaced.
    let long = "x".repeat(200);
    let resp = hyper_send(addr, get_with(addr, "/id", &[("x-request-id", &long)])).await;
    assert_eq!(resp.headers()["x-request-id"].len(), 16);
    stop_async(server).await;
}

#[tokio::test]
async fn more_hook_layers_than_kept_inline_each_run_their_after() {
    // Six request ids under six names: six carries, past the four the connection
    // keeps in place, each echoed on the response by its own layer's `after`.
    const NAMES: [&str; 6] = ["x-id-1", "x-id-2", "x-id-3", "x-id-4", "x-id-5", "x-id-6"];
    let mut app = App::new().get("/ids", |req: HttpRequest| async move {
        NAMES
            .iter()
            .map(|n| req.header_str(n).unwrap_or("none").to_owned())
            .collect::<Vec<_>>()
            .join(",")
    });
    for name in NAMES {
        app = app.middleware(RequestId::new().header(name));
    }
    let server = start(app);
    let addr = server.addr();
    for _ in 0..3 {
        let resp = hyper_get(addr, "/ids").await;
        let echoed: Vec<&str> = NAMES
            .iter()
            .map(|n| resp.headers()[*n].to_str().unwrap())
            .collect();
        assert!(echoed.iter().all(|id| id.len() == 16), "{echoed:?}");
        assert_eq!(resp.body(), echoed.join(",").as_str());
    }
    stop_async(server).await;
}

/// Everything the test subscriber wrote (the fmt layer's default format, no ANSI).
fn log_buffer() -> &'static Arc<Mutex<Vec<u8>>> {
    static BUF: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    BUF.get_or_init(|| {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let writer = buf.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_max_level(tracing::Level::INFO)
            .with_writer(move || Capture(writer.clone()))
            .finish();
        // Global: the server's workers are other threads. The other tests of this
        // binary log nothing at INFO under `armature::access` but their own paths.
        tracing::subscriber::set_global_default(subscriber).expect("a global subscriber");
        buf
    })
}

struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The captured lines that mention `needle`.
fn log_lines(needle: &str) -> Vec<String> {
    let text = String::from_utf8_lossy(&log_buffer().lock().unwrap()).into_owned();
    text.lines()
        .filter(|l| l.contains(needle))
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
async fn request_log_emits_the_contract_line_once_per_request() {
    log_buffer();
    let app = App::new()
        .get("/logged/:id", |req: HttpRequest| async move {
            tracing::info!(target: "armature_it", "inside the handler");
            format!("user {}", req.param("id").unwrap_or("?"))
        })
        .middleware(RequestId::new())
        .middleware(RequestLog::new());
    let server = start(app);
    let addr = server.addr();
    let resp = hyper_send(
        addr,
        get_with(addr, "/logged/42?page=2", &[("x-request-id", "3f2a9c")]),
    )
    .await;
    assert_eq!(resp.body(), "user 42");
    let resp = hyper_get(addr, "/logged/43").await;
    let generated = resp.headers()["x-request-id"].to_str().unwrap().to_owned();
    stop_async(server).await;

    let lines = log_lines("armature::access: method=GET path=/logged/");
    assert_eq!(lines.len(), 2, "one event per request: {lines:#?}");
    for (line, path, id) in [
        (&lines[0], "/logged/42?page=2", "3f2a9c"),
        (&lines[1], "/logged/43", generated.as_str()),
    ] {
        // `<timestamp>  INFO armature::access: method=GET path=.. status=.. ...`
        let (stamp, rest) = line.split_once("  INFO ").expect(line);
        assert!(stamp.ends_with('Z') && stamp.contains('T'), "{line}");
        let fields = rest
            .strip_prefix("armature::access: ")
            .unwrap_or_else(|| panic!("no span prefix, target first: {line}"));
        let expected_start = format!("method=GET path={path} status=200 bytes=7 duration_us=");
        assert!(fields.starts_with(&expected_start), "{line}");
        let (duration, tail) = fields[expected_start.len()..].split_once(' ').expect(line);
        assert!(duration.parse::<u64>().is_ok(), "{line}");
        assert_eq!(tail, format!("request_id={id}"), "{line}");
    }
    // The handler's own event is inside the request's span.
    let inner = log_lines("inside the handler");
    assert!(
        inner
            .iter()
            .any(|l| l.contains("request{method=GET path=/logged/42?page=2}")),
        "{inner:#?}"
    );
}

#[tokio::test]
async fn request_log_without_an_id_logs_a_dash() {
    log_buffer();
    let app = App::new()
        .get("/no-id-logged", || async { "" })
        .middleware(RequestLog::new());
    let server = start(app);
    let resp = hyper_get(server.addr(), "/no-id-logged").await;
    assert_eq!(resp.status(), 200);
    stop_async(server).await;
    let lines = log_lines("path=/no-id-logged ");
    assert_eq!(lines.len(), 1, "{lines:#?}");
    assert!(
        lines[0].contains(" status=200 bytes=0 duration_us="),
        "{}",
        lines[0]
    );
    assert!(lines[0].ends_with(" request_id=-"), "{}", lines[0]);
}

#[test]
fn request_log_logs_refused_requests() {
    use crate::support::{config, raw_exchange, start_with, stop};
    log_buffer();
    let app = App::new()
        .post("/refused", |_: armature_core::Json<u32>| async { "" })
        .middleware(RequestId::new())
        .middleware(RequestLog::new());
    let server = start_with(app, config().max_body_size(8));
    for (request, status) in [
        // Declared over the limit: refused before the body is read.
        (&b"POST /refused HTTP/1.1\r\nHost: x\r\nContent-Length: 9\r\n\r\n"[..], 413),
        // Not JSON: refused by the extractor.
        (&b"POST /refused HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nConnection: close\r\n\r\n1"[..], 415),
    ] {
        let ex = raw_exchange(server.addr(), request);
        assert_eq!(ex.responses()[0].status, status);
    }
    stop(server);
    let lines = log_lines("method=POST path=/refused ");
    assert_eq!(lines.len(), 2, "{lines:#?}");
    for (line, status) in lines.iter().zip([413, 415]) {
        assert!(line.contains(&format!(" status={status} ")), "{line}");
        assert!(!line.ends_with(" request_id=-"), "{line}");
    }
}

#[tokio::test]
async fn timeout_answers_503_and_drops_the_handler() {
    struct Dropped(Arc<AtomicBool>);
    impl Drop for Dropped {
        fn drop(&mut self) {
            self.0.store(true, Ordering::SeqCst);
        }
    }
    let dropped = Arc::new(AtomicBool::new(false));
    let flag = dropped.clone();
    let app = App::new()
        .get("/stuck", move || {
            let guard = Dropped(flag.clone());
            async move {
                tokio::time::sleep(Duration::from_secs(60)).await;
                drop(guard);
                "never"
            }
        })
        .get("/quick", || async { "quick" })
        .middleware(Timeout::new(Duration::from_millis(100)));
    let server = start(app);
    let started = Instant::now();
    let resp = hyper_get(server.addr(), "/stuck").await;
    assert_eq!(resp.status(), 503);
    assert_eq!(resp.body(), "request timed out");
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(
        dropped.load(Ordering::SeqCst),
        "the handler's future was not dropped"
    );
    let resp = hyper_get(server.addr(), "/quick").await;
    assert_eq!(
        (resp.status().as_u16(), &resp.body()[..]),
        (200, &b"quick"[..])
    );
    stop_async(server).await;
}

#[tokio::test]
async fn default_headers_fill_in_and_replace() {
    let app = App::new()
        .get("/plain", || async { "x" })
        .get("/own", || async {
            armature_core::HttpResponse::ok()
                .with_header("Cache-Control", "max-age=60")
                .with_header("X-Frame-Options", "SAMEORIGIN")
                .with_body("y")
        })
        .middleware(
            DefaultHeaders::new()
                .header("Cache-Control", "no-store")
                .replace("X-Frame-Options", "DENY"),
        );
    let server = start(app);
    let resp = hyper_get(server.addr(), "/plain").await;
    assert_eq!(resp.headers()["cache-control"], "no-store");
    assert_eq!(resp.headers()["x-frame-options"], "DENY");
    let resp = hyper_get(server.addr(), "/own").await;
    assert_eq!(
        resp.headers()["cache-control"],
        "max-age=60",
        "kept the route's own"
    );
    assert_eq!(resp.headers()["x-frame-options"], "DENY", "replaced");
    assert_eq!(resp.headers().get_all("x-frame-options").iter().count(), 1);
    stop_async(server).await;
}

/// Runs `next` and nothing else: an `async fn` layer, which puts the built-in
/// layers beside it on the general (future per layer) path.
async fn pass(req: HttpRequest, next: armature_core::middleware::Next) -> armature_core::Response {
    next.run(req).await
}

#[tokio::test]
async fn built_in_layers_answer_the_same_alone_and_beside_an_async_fn() {
    use armature_core::middleware::Cors;
    use armature_core::Method;
    let build = |with_fn: bool| {
        let cors = Cors::new()
            .allow_origin("https://app.example.com")
            .allow_methods([Method::Get, Method::Post]);
        let app = App::new()
            .get("/id", echo_id)
            .middleware(DefaultHeaders::new().header("x-default", "1"))
            .middleware(cors);
        let app = if with_fn { app.middleware(pass) } else { app };
        app.middleware(RequestId::new())
    };
    // (method, headers) of each request; both apps must answer alike.
    let origin = ("origin", "https://app.example.com");
    let cases: &[(&str, &[(&str, &str)])] = &[
        ("GET", &[]),
        ("GET", &[("x-request-id", "kept-1")]),
        ("GET", &[origin]),
        ("GET", &[("origin", "https://other.example.com")]),
        (
            "OPTIONS",
            &[origin, ("access-control-request-method", "POST")],
        ),
        (
            "OPTIONS",
            &[origin, ("access-control-request-method", "DELETE")],
        ),
    ];
    let mut answers = Vec::new();
    for with_fn in [false, true] {
        let server = start(build(with_fn));
        let addr = server.addr();
        let mut got = Vec::new();
        for (method, headers) in cases {
            let mut req = hyper_request(method, addr, "/id");
            for (name, value) in *headers {
                req = req.header(*name, *value);
            }
            let resp = hyper_send(
                addr,
                req.body(http_body_util::Full::new(Bytes::new())).unwrap(),
            )
            .await;
            let header = |name: &str| {
                resp.headers()
                    .get_all(name)
                    .iter()
                    .map(|v| v.to_str().unwrap().to_owned())
                    .collect::<Vec<_>>()
            };
            let id = header("x-request-id");
            assert_eq!(id.len(), 1, "{method} {headers:?}: one request id");
            // A generated id differs per request: compare its shape, and that the
            // handler saw the same one.
            let id = if id[0] == "kept-1" {
                id[0].clone()
            } else {
                assert_eq!(id[0].len(), 16, "{id:?}");
                if resp.status() == 200 {
                    assert_eq!(resp.body(), id[0].as_str());
                }
                "generated".to_owned()
            };
            got.push((
                resp.status().as_u16(),
                id,
                header("access-control-allow-origin"),
                header("access-control-allow-methods"),
                header("vary"),
                header("x-default"),
            ));
        }
        stop_async(server).await;
        answers.push(got);
    }
    assert_eq!(answers[0], answers[1]);
    // And they are the answers CORS promises.
    let statuses: Vec<u16> = answers[0].iter().map(|a| a.0).collect();
    assert_eq!(statuses, [200, 200, 200, 200, 204, 403]);
    assert_eq!(answers[0][2].2, ["https://app.example.com"]);
    assert!(
        answers[0][3].2.is_empty(),
        "a disallowed origin gets no CORS headers"
    );
}
