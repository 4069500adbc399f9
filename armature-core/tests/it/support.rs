//! Test support: starting servers, raw TCP exchanges, a minimal HTTP/1.1 response parser.
//!
//! The parser here is deliberately independent of armature-core (and strict about
//! framing): it is the judge of what the server wrote on the wire.

#![allow(dead_code)] // each topic module uses a different subset

use std::collections::VecDeque;
use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant, SystemTime};

use armature_core::extract::Path;
use armature_core::{App, Bytes, HttpResponse, RunningServer, ServerConfig};

/// How long any read in the tests may block before the test fails: generous, so a
/// loaded CI machine never trips it; a passing test never waits this long.
pub const IO_TIMEOUT: Duration = Duration::from_secs(5);

/// The configuration every test server starts from: one worker, no signal handlers
/// (the test harness must not have its SIGINT taken), a short drain; on the io_uring
/// backend when built with the `io_uring` feature and [`IO_URING_ENV`] is `1` (how
/// scripts/test.sh runs the whole suite a second time).
pub fn config() -> ServerConfig {
    let cfg = ServerConfig::default()
        .workers(1)
        .handle_signals(false)
        .drain_timeout(Duration::from_secs(2));
    #[cfg(all(feature = "io_uring", target_os = "linux"))]
    let cfg = if on_io_uring() {
        cfg.io_uring(armature_core::io_uring::IoUringConfig::default())
    } else {
        cfg
    };
    cfg
}

/// Set to `1` to run the suite's servers on the io_uring backend.
pub const IO_URING_ENV: &str = "ARMATURE_TEST_IO_URING";

/// Whether this run's servers use the io_uring backend.
pub fn on_io_uring() -> bool {
    cfg!(all(feature = "io_uring", target_os = "linux"))
        && std::env::var_os(IO_URING_ENV).is_some_and(|v| v == "1")
}

/// Binds `app` on an ephemeral loopback port with `cfg` and runs it on a background thread.
pub fn start_with<S: Send + Sync + 'static>(app: App<S>, cfg: ServerConfig) -> RunningServer {
    app.config(cfg)
        .bind("127.0.0.1:0")
        .expect("binding 127.0.0.1:0")
        .spawn()
}

/// [`start_with`] the default test [`config`].
pub fn start<S: Send + Sync + 'static>(app: App<S>) -> RunningServer {
    start_with(app, config())
}

/// Shuts a test server down, failing the test if that errors or takes longer than
/// [`IO_TIMEOUT`] (a hang here would otherwise stall the whole binary).
pub fn stop(server: RunningServer) {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(server.shutdown());
    });
    match rx.recv_timeout(IO_TIMEOUT) {
        Ok(result) => result.expect("RunningServer::shutdown returned an error"),
        Err(_) => panic!("RunningServer::shutdown did not return within {IO_TIMEOUT:?}"),
    }
}

/// [`stop`] from async code (it blocks, so it runs on the blocking pool).
pub async fn stop_async(server: RunningServer) {
    tokio::task::spawn_blocking(move || stop(server))
        .await
        .expect("the stop task panicked");
}

/// The routes most framing tests need.
///
/// - `GET /echo/:n` answers `n` (text/plain), so pipelined responses are told apart;
/// - `POST /body` echoes the request body;
/// - `GET /text` answers `Hello, World!`;
/// - `GET /panic` panics; `GET /stream` answers a streamed (chunked) body
///   `part1part2part3`; `GET /slow` sleeps 300 ms then answers `slow`.
pub fn echo_app() -> App<()> {
    App::new()
        .get("/echo/:n", |Path(n): Path<String>| async move { n })
        .post("/body", |body: Bytes| async move { body })
        .get("/text", || async { "Hello, World!" })
        .get("/panic", || async {
            if std::hint::black_box(true) {
                panic!("handler panicked on purpose (armature-core test)");
            }
            "unreachable"
        })
        .get("/stream", || async {
            stream_response(&["part1", "part2", "part3"])
        })
        .get("/slow", || async {
            tokio::time::sleep(Duration::from_millis(300)).await;
            "slow"
        })
}

/// A response whose body is streamed: one chunk per item of `parts`.
pub fn stream_response(parts: &[&'static str]) -> HttpResponse {
    let chunks = parts
        .iter()
        .map(|p| Bytes::from_static(p.as_bytes()))
        .collect();
    HttpResponse::ok()
        .with_content_type("text/plain")
        .with_stream(ChunkStream::new(chunks))
}

/// A body stream over prepared chunks, each yielded after one `Pending` so the
/// server must really drive the stream (not just read it synchronously).
pub struct ChunkStream {
    chunks: VecDeque<Bytes>,
    primed: bool,
}

impl ChunkStream {
    /// A stream yielding `chunks` in order.
    pub fn new(chunks: VecDeque<Bytes>) -> ChunkStream {
        ChunkStream {
            chunks,
            primed: false,
        }
    }
}

impl futures_core::Stream for ChunkStream {
    type Item = Result<Bytes, armature_core::http::BoxError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if !self.primed {
            self.primed = true;
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        self.primed = false;
        Poll::Ready(self.chunks.pop_front().map(Ok))
    }
}

/// A GET request for `path` with a `Host` header.
pub fn get(path: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n").into_bytes()
}

/// A POST request with a Content-Length body.
pub fn post(path: &str, content_type: &str, body: &[u8]) -> Vec<u8> {
    let mut req = format!(
        "POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    req.extend_from_slice(body);
    req
}

/// Bytes shown in a failure message: printable ASCII as is, the rest escaped.
pub fn show(bytes: &[u8]) -> String {
    bytes.escape_ascii().to_string()
}

// ---------------------------------------------------------------------------------
// Responses
// ---------------------------------------------------------------------------------

/// How a parsed response's body was delimited on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Framing {
    /// No body allowed (1xx, 204, 304, or a response to HEAD).
    None,
    /// `Content-Length`.
    Length,
    /// `Transfer-Encoding: chunked`.
    Chunked,
    /// Neither: the body ran to the end of the connection.
    Close,
}

/// One parsed HTTP response.
#[derive(Clone, Debug)]
pub struct Response {
    /// `HTTP/1.1` or `HTTP/1.0`.
    pub version: String,
    /// The status code.
    pub status: u16,
    /// The reason phrase.
    pub reason: String,
    /// Header fields in wire order, names as sent.
    pub headers: Vec<(String, String)>,
    /// The body, de-chunked.
    pub body: Vec<u8>,
    /// How the body was delimited.
    pub framing: Framing,
    /// The raw bytes of this response as received.
    pub raw: Vec<u8>,
}

impl Response {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every value of header `name` (case-insensitive).
    pub fn header_all(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The body as UTF-8 (lossy).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// Whether `Connection` lists the `token` option (case-insensitive).
    pub fn connection_has(&self, token: &str) -> bool {
        self.header_all("connection")
            .iter()
            .flat_map(|v| v.split(','))
            .any(|t| t.trim().eq_ignore_ascii_case(token))
    }
}

/// The outcome of parsing the front of a buffer.
#[derive(Debug)]
pub enum Parsed {
    /// A full response and the number of bytes it used.
    Complete(Box<Response>, usize),
    /// More bytes are needed.
    Partial,
    /// The bytes are not a valid HTTP/1.1 response.
    Invalid(String),
}

/// Parses one response from the front of `buf`. `head_request` says the request was
/// HEAD (no body follows whatever the headers say); `eof` says no more bytes will come.
pub fn parse_response(buf: &[u8], head_request: bool, eof: bool) -> Parsed {
    let Some(head_end) = find(buf, b"\r\n\r\n") else {
        return Parsed::Partial;
    };
    let head = match std::str::from_utf8(&buf[..head_end]) {
        Ok(h) => h,
        Err(_) => return Parsed::Invalid("response head is not UTF-8".into()),
    };
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or_default().to_owned();
    if version != "HTTP/1.1" && version != "HTTP/1.0" {
        return Parsed::Invalid(format!("bad status line {status_line:?}"));
    }
    let code = parts.next().unwrap_or_default();
    let status: u16 = match code.parse() {
        Ok(s) if code.len() == 3 => s,
        _ => return Parsed::Invalid(format!("bad status code in {status_line:?}")),
    };
    let reason = parts.next().unwrap_or_default().to_owned();
    let mut headers = Vec::new();
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            return Parsed::Invalid(format!("header line without a colon: {line:?}"));
        };
        if name.is_empty() || name.bytes().any(|b| b == b' ' || b == b'\t') {
            return Parsed::Invalid(format!("bad header name in {line:?}"));
        }
        headers.push((name.to_owned(), value.trim().to_owned()));
    }
    let mut resp = Response {
        version,
        status,
        reason,
        headers,
        body: Vec::new(),
        framing: Framing::None,
        raw: Vec::new(),
    };
    let body_start = head_end + 4;
    let no_body = head_request || status / 100 == 1 || status == 204 || status == 304;
    let te = resp.header("transfer-encoding").map(str::to_owned);
    let cl = resp.header_all("content-length");
    let used = if no_body {
        body_start
    } else if let Some(te) = te {
        if !te.eq_ignore_ascii_case("chunked") {
            return Parsed::Invalid(format!("unexpected Transfer-Encoding {te:?}"));
        }
        if !cl.is_empty() {
            return Parsed::Invalid("both Content-Length and Transfer-Encoding".into());
        }
        resp.framing = Framing::Chunked;
        match dechunk(&buf[body_start..]) {
            Ok(Some((body, n))) => {
                resp.body = body;
                body_start + n
            }
            Ok(None) => return Parsed::Partial,
            Err(e) => return Parsed::Invalid(e),
        }
    } else if let Some(cl) = cl.first() {
        if resp.header_all("content-length").len() > 1 {
            return Parsed::Invalid("several Content-Length headers".into());
        }
        let Ok(len) = cl.parse::<usize>() else {
            return Parsed::Invalid(format!("bad Content-Length {cl:?}"));
        };
        resp.framing = Framing::Length;
        if buf.len() < body_start + len {
            return Parsed::Partial;
        }
        resp.body = buf[body_start..body_start + len].to_vec();
        body_start + len
    } else {
        if !eof {
            return Parsed::Partial;
        }
        resp.framing = Framing::Close;
        resp.body = buf[body_start..].to_vec();
        buf.len()
    };
    resp.raw = buf[..used].to_vec();
    Parsed::Complete(Box::new(resp), used)
}

/// Decodes a chunked body from the front of `buf`: `Ok(None)` when incomplete,
/// else the body and the bytes used (trailers included).
pub fn dechunk(buf: &[u8]) -> Result<Option<(Vec<u8>, usize)>, String> {
    let mut body = Vec::new();
    let mut pos = 0;
    loop {
        let Some(eol) = find(&buf[pos..], b"\r\n") else {
            return Ok(None);
        };
        let line = &buf[pos..pos + eol];
        let size_hex = line.split(|&b| b == b';').next().unwrap_or_default();
        let size_str = std::str::from_utf8(size_hex).map_err(|_| "chunk size not ASCII")?;
        let size = usize::from_str_radix(size_str.trim(), 16)
            .map_err(|_| format!("bad chunk size line {:?}", show(line)))?;
        pos += eol + 2;
        if size == 0 {
            // Trailer section: header lines until an empty line.
            loop {
                let Some(eol) = find(&buf[pos..], b"\r\n") else {
                    return Ok(None);
                };
                pos += eol + 2;
                if eol == 0 {
                    return Ok(Some((body, pos)));
                }
            }
        }
        if buf.len() < pos + size + 2 {
            return Ok(None);
        }
        body.extend_from_slice(&buf[pos..pos + size]);
        if &buf[pos + size..pos + size + 2] != b"\r\n" {
            return Err("chunk data not followed by CRLF".into());
        }
        pos += size + 2;
    }
}

/// Parses every complete response in `buf` (none of them to HEAD), stopping at the
/// first incomplete one; `eof` as in [`parse_response`].
pub fn parse_all(buf: &[u8], eof: bool) -> Vec<Response> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < buf.len() {
        match parse_response(&buf[pos..], false, eof) {
            Parsed::Complete(r, n) => {
                out.push(*r);
                pos += n;
            }
            Parsed::Partial => break,
            Parsed::Invalid(e) => panic!("invalid response bytes ({e}): {}", show(&buf[pos..])),
        }
    }
    out
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Asserts what every Armature response carries: `Server: armature`, an IMF-fixdate
/// `Date` near now, and `Content-Length` matching the body unless it is chunked (or
/// has no body by definition).
pub fn assert_standard_headers(resp: &Response) {
    let raw = show(&resp.raw);
    assert_eq!(
        resp.header("server"),
        Some("armature"),
        "Server header in {raw}"
    );
    let date = resp
        .header("date")
        .unwrap_or_else(|| panic!("no Date header in {raw}"));
    assert_imf_fixdate(date);
    match resp.framing {
        Framing::Chunked => assert!(
            resp.header("content-length").is_none(),
            "chunked response also has Content-Length: {raw}"
        ),
        Framing::Length => assert_eq!(
            resp.header("content-length").map(str::to_owned),
            Some(resp.body.len().to_string()),
            "Content-Length vs body in {raw}"
        ),
        Framing::Close => panic!("response delimited by closing the connection: {raw}"),
        Framing::None => {
            if resp.status / 100 != 1 && resp.status != 204 && resp.status != 304 {
                assert!(
                    resp.header("content-length").is_some(),
                    "no Content-Length in {raw}"
                );
            }
        }
    }
}

/// Asserts `date` is an RFC 7231 IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`) within a
/// minute of now.
pub fn assert_imf_fixdate(date: &str) {
    let b = date.as_bytes();
    let shape_ok = b.len() == 29
        && b[3] == b','
        && b[4] == b' '
        && date.ends_with(" GMT")
        && b[5..7].iter().all(u8::is_ascii_digit)
        && b[12..16].iter().all(u8::is_ascii_digit)
        && b[19] == b':'
        && b[22] == b':';
    assert!(shape_ok, "Date {date:?} is not an IMF-fixdate");
    let when = httpdate::parse_http_date(date)
        .unwrap_or_else(|e| panic!("Date {date:?} does not parse: {e}"));
    let now = SystemTime::now();
    let skew = match now.duration_since(when) {
        Ok(d) => d,
        Err(e) => e.duration(),
    };
    assert!(
        skew < Duration::from_secs(60),
        "Date {date:?} is {skew:?} away from now"
    );
}

// ---------------------------------------------------------------------------------
// Raw connections
// ---------------------------------------------------------------------------------

/// A raw TCP client connection with a receive buffer.
pub struct RawConn {
    stream: TcpStream,
    buf: Vec<u8>,
    /// Every byte received so far, for failure messages.
    pub received: Vec<u8>,
    eof: bool,
}

impl RawConn {
    /// Connects to `addr` with [`IO_TIMEOUT`] read/write timeouts.
    pub fn connect(addr: SocketAddr) -> RawConn {
        RawConn::over(TcpStream::connect(addr).expect("connecting to the test server"))
    }

    /// Wraps a connected stream, with [`IO_TIMEOUT`] read/write timeouts.
    pub fn over(stream: TcpStream) -> RawConn {
        stream.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
        stream.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
        stream.set_nodelay(true).unwrap();
        RawConn {
            stream,
            buf: Vec::new(),
            received: Vec::new(),
            eof: false,
        }
    }

    /// The underlying socket.
    pub fn stream(&self) -> &TcpStream {
        &self.stream
    }

    /// Writes all of `bytes` in one `write_all`.
    pub fn send(&mut self, bytes: &[u8]) {
        self.stream
            .write_all(bytes)
            .unwrap_or_else(|e| panic!("writing {}: {e}", show(bytes)));
    }

    /// Writes `bytes`, returning the error instead of failing (for peers that may
    /// already have closed).
    pub fn try_send(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.stream.write_all(bytes)
    }

    /// Half-closes the write side.
    pub fn shutdown_write(&self) {
        let _ = self.stream.shutdown(Shutdown::Write);
    }

    /// Reads once into the buffer; `false` at EOF (or a reset, which is a close too).
    fn fill(&mut self) -> bool {
        let mut chunk = [0u8; 16 * 1024];
        match self.stream.read(&mut chunk) {
            Ok(0) => {
                self.eof = true;
                false
            }
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                self.received.extend_from_slice(&chunk[..n]);
                true
            }
            Err(e) if e.kind() == ErrorKind::ConnectionReset => {
                self.eof = true;
                false
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => panic!(
                "no complete response within {IO_TIMEOUT:?}; received so far: {}",
                show(&self.received)
            ),
            Err(e) => panic!("read error {e}; received so far: {}", show(&self.received)),
        }
    }

    /// Reads the next response (interim 1xx responses included) to a non-HEAD request.
    pub fn read_response(&mut self) -> Response {
        self.read_response_to(false)
    }

    /// Reads the next response to a HEAD request (no body).
    pub fn read_head_response(&mut self) -> Response {
        self.read_response_to(true)
    }

    fn read_response_to(&mut self, head_request: bool) -> Response {
        loop {
            match parse_response(&self.buf, head_request, self.eof) {
                Parsed::Complete(r, n) => {
                    self.buf.drain(..n);
                    return *r;
                }
                Parsed::Invalid(e) => {
                    panic!("invalid response ({e}); received: {}", show(&self.received))
                }
                Parsed::Partial if self.eof => panic!(
                    "connection closed before a complete response; received: {}",
                    show(&self.received)
                ),
                Parsed::Partial => {
                    self.fill();
                }
            }
        }
    }

    /// Asserts the server closes the connection with nothing more to say: reads until
    /// EOF (failing after [`IO_TIMEOUT`]) and fails if any byte arrives first.
    pub fn expect_eof(&mut self) {
        while !self.eof {
            self.fill();
        }
        assert!(
            self.buf.is_empty(),
            "unexpected bytes before the close: {}",
            show(&self.buf)
        );
    }

    /// Whether the server has closed the connection, looking for at most `wait`:
    /// `Some(bytes)` (what came before the close) if it did, `None` if it is still open.
    pub fn closed_within(&mut self, wait: Duration) -> Option<Vec<u8>> {
        let deadline = Instant::now() + wait;
        let mut chunk = [0u8; 4096];
        while !self.eof {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return None;
            }
            self.stream.set_read_timeout(Some(left)).unwrap();
            match self.stream.read(&mut chunk) {
                Ok(0) => self.eof = true,
                Ok(n) => {
                    self.buf.extend_from_slice(&chunk[..n]);
                    self.received.extend_from_slice(&chunk[..n]);
                }
                Err(e) if e.kind() == ErrorKind::ConnectionReset => self.eof = true,
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                Err(e) => panic!("read error {e}"),
            }
        }
        self.stream.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
        Some(std::mem::take(&mut self.buf))
    }
}

/// What a [`raw_exchange`] got back.
#[derive(Debug)]
pub struct Exchange {
    /// Every byte the server sent.
    pub bytes: Vec<u8>,
    /// Whether the server closed the connection (EOF or reset) before [`IO_TIMEOUT`].
    pub closed: bool,
}

impl Exchange {
    /// The complete responses received (none of them to HEAD).
    pub fn responses(&self) -> Vec<Response> {
        parse_all(&self.bytes, self.closed)
    }
}

/// Connects, writes `request` in one write, and reads until the server closes the
/// connection or [`IO_TIMEOUT`] passes without a byte.
pub fn raw_exchange(addr: SocketAddr, request: &[u8]) -> Exchange {
    let mut stream = TcpStream::connect(addr).expect("connecting to the test server");
    stream.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    // The server may reject the request and close before reading all of it; what it
    // answered is still readable, so a failed write is not the test's verdict.
    let _ = stream.write_all(request);
    let mut bytes = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    let closed = loop {
        match stream.read(&mut chunk) {
            Ok(0) => break true,
            Ok(n) => bytes.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == ErrorKind::ConnectionReset => break true,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                break false
            }
            Err(e) => panic!("read error {e}"),
        }
    };
    Exchange { bytes, closed }
}

/// Sends `request` on a fresh connection and asserts the server answers exactly one
/// response with `status`, carrying the standard headers, then closes the connection.
pub fn assert_rejected(addr: SocketAddr, request: &[u8], status: u16) -> Response {
    let ex = raw_exchange(addr, request);
    let ctx = format!("request: {}\nresponse: {}", show(request), show(&ex.bytes));
    let responses = ex.responses();
    assert!(!responses.is_empty(), "no response\n{ctx}");
    assert_eq!(responses[0].status, status, "status\n{ctx}");
    assert_eq!(responses.len(), 1, "more than one response\n{ctx}");
    assert_standard_headers(&responses[0]);
    assert!(ex.closed, "connection not closed after the {status}\n{ctx}");
    responses.into_iter().next().unwrap()
}

// ---------------------------------------------------------------------------------
// hyper client
// ---------------------------------------------------------------------------------

/// One hyper HTTP/1 client connection to `addr` (its driver spawned on the current
/// tokio runtime).
pub async fn hyper_conn<B>(addr: SocketAddr) -> hyper::client::conn::http1::SendRequest<B>
where
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let (sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .expect("hyper handshake");
    tokio::spawn(async move {
        let _ = conn.await;
    });
    sender
}

/// A request builder for a [`hyper_conn`] connection: origin-form target, `Host` set.
pub fn hyper_request(method: &str, addr: SocketAddr, path: &str) -> hyper::http::request::Builder {
    hyper::Request::builder()
        .method(method)
        .uri(path)
        .header("host", addr.to_string())
}

/// A pooling hyper-util client (the "legacy" client most hyper users have).
pub fn hyper_client<B>(
) -> hyper_util::client::legacy::Client<hyper_util::client::legacy::connect::HttpConnector, B>
where
    B: hyper::body::Body + Send + 'static + Unpin,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new()).build_http()
}

/// Sends `req` on a fresh [`hyper_conn`] connection and collects the response's body.
pub async fn hyper_send(
    addr: SocketAddr,
    req: hyper::Request<http_body_util::Full<Bytes>>,
) -> hyper::Response<Bytes> {
    use http_body_util::BodyExt;
    let mut sender = hyper_conn(addr).await;
    let resp = sender.send_request(req).await.expect("hyper request");
    let (parts, body) = resp.into_parts();
    let body = body.collect().await.expect("response body").to_bytes();
    hyper::Response::from_parts(parts, body)
}

/// `GET path` through [`hyper_send`].
pub async fn hyper_get(addr: SocketAddr, path: &str) -> hyper::Response<Bytes> {
    let req = hyper_request("GET", addr, path)
        .body(http_body_util::Full::new(Bytes::new()))
        .unwrap();
    hyper_send(addr, req).await
}

/// Connects once `addr` accepts (a server started with `Server::run` on another
/// thread refuses connections until its workers are ready), failing the test after
/// [`IO_TIMEOUT`].
pub fn connect_when_listening(addr: SocketAddr) -> RawConn {
    let deadline = Instant::now() + IO_TIMEOUT;
    loop {
        match TcpStream::connect(addr) {
            Ok(stream) => return RawConn::over(stream),
            Err(e) if e.kind() == ErrorKind::ConnectionRefused && Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(2));
            }
            Err(e) => panic!("{addr} never accepted a connection: {e}"),
        }
    }
}
