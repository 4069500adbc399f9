//! TLS (the `tls` feature): requests over rustls' and curl's clients (one request,
//! pipelined batches past the backpressure bound, streamed bodies, a WebSocket),
//! ALPN, the certificate reloaded on a file change and on `SIGHUP` (new handshakes
//! get the new one, open connections go on), bad certificate files, and the
//! handshake timeout.
//!
//! The certificates are committed (`tests/certs`, made once by its `gen.sh`, valid
//! until 2126): a test CA and two leaves it signed, `a` (ECDSA) and `b` (RSA), both
//! for `localhost` and `127.0.0.1`.

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use armature_core::extract::StreamingBody;
use armature_core::tls::rustls::pki_types::pem::PemObject;
use armature_core::tls::rustls::pki_types::{CertificateDer, ServerName};
use armature_core::tls::rustls::{self, ClientConfig, ClientConnection, RootCertStore};
use armature_core::tls::TlsConfig;
use armature_core::ws::WebSocketUpgrade;
use armature_core::{App, Error, RunningServer, ServerConfig};

use crate::support::{self, parse_response, show, Parsed, Response, IO_TIMEOUT};

fn cert_file(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/certs")
        .join(name)
}

/// The server certificate in `file` (DER), to compare with what a server presents.
fn leaf(file: &Path) -> CertificateDer<'static> {
    CertificateDer::pem_file_iter(file)
        .unwrap()
        .next()
        .expect("a certificate")
        .unwrap()
}

fn tls_config(cert: &Path, key: &Path) -> TlsConfig {
    TlsConfig::from_pem_files(cert, key).expect("loading the test certificate")
}

/// The app of these tests: the support echo app, `/big` (4 KiB), `/ws` (echo) and
/// `/upload` (the byte count of a streamed body of up to 8 MiB).
fn app() -> App<()> {
    support::echo_app()
        .get("/big", || async { "x".repeat(4096) })
        .post("/upload", |mut body: StreamingBody| async move {
            let mut n = 0;
            while let Some(chunk) = body.chunk().await {
                n += chunk?.len();
            }
            Ok::<_, armature_core::http::BodyError>(n.to_string())
        })
        .body_limit(8 << 20)
        .get("/ws", |ws: WebSocketUpgrade| async move {
            ws.on_upgrade(|mut socket| async move {
                while let Some(Ok(msg)) = socket.recv().await {
                    if socket.send(msg).await.is_err() {
                        break;
                    }
                }
            })
        })
}

fn start(tls: TlsConfig) -> RunningServer {
    start_with(tls, support::config())
}

fn start_with(tls: TlsConfig, cfg: ServerConfig) -> RunningServer {
    support::start_with(app(), cfg.tls(tls))
}

// ---------------------------------------------------------------------------------
// A TLS client: rustls over a blocking socket
// ---------------------------------------------------------------------------------

#[derive(Clone, Copy)]
enum Version {
    Any,
    Tls12,
}

fn client_config(alpn: &[&[u8]], version: Version) -> Arc<ClientConfig> {
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(cert_file("ca.pem")).unwrap() {
        roots.add(cert.unwrap()).unwrap();
    }
    // The provider the server uses (deprecated only for lacking post-quantum groups).
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider);
    let builder = match version {
        Version::Any => builder.with_safe_default_protocol_versions(),
        Version::Tls12 => builder.with_protocol_versions(&[&rustls::version::TLS12]),
    };
    let mut cfg = builder
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    cfg.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Arc::new(cfg)
}

/// A TLS connection to the test server, handshake done, with a receive buffer.
struct TlsClient {
    tls: rustls::StreamOwned<ClientConnection, TcpStream>,
    buf: Vec<u8>,
    eof: bool,
}

impl TlsClient {
    /// Connects with ALPN `http/1.1`; panics if the handshake fails.
    fn connect(addr: SocketAddr) -> TlsClient {
        TlsClient::try_connect(addr, client_config(&[b"http/1.1"], Version::Any))
            .unwrap_or_else(|e| panic!("TLS handshake with {addr}: {e}"))
    }

    fn try_connect(addr: SocketAddr, cfg: Arc<ClientConfig>) -> std::io::Result<TlsClient> {
        TlsClient::over(TcpStream::connect(addr)?, cfg)
    }

    fn over(sock: TcpStream, cfg: Arc<ClientConfig>) -> std::io::Result<TlsClient> {
        sock.set_read_timeout(Some(IO_TIMEOUT))?;
        sock.set_write_timeout(Some(IO_TIMEOUT))?;
        sock.set_nodelay(true)?;
        let name = ServerName::try_from("localhost").unwrap();
        let conn = ClientConnection::new(cfg, name).map_err(std::io::Error::other)?;
        let mut tls = rustls::StreamOwned::new(conn, sock);
        while tls.conn.is_handshaking() {
            tls.conn.complete_io(&mut tls.sock)?;
        }
        Ok(TlsClient {
            tls,
            buf: Vec::new(),
            eof: false,
        })
    }

    /// The certificate the server presented.
    fn server_cert(&self) -> CertificateDer<'static> {
        self.tls
            .conn
            .peer_certificates()
            .expect("a server certificate")[0]
            .clone()
    }

    fn send(&mut self, bytes: &[u8]) {
        self.tls.write_all(bytes).unwrap();
        self.tls.flush().unwrap();
    }

    /// Reads once; `false` at the end of the stream, which must be a clean TLS close
    /// (`close_notify`): a bare TCP close fails the test.
    fn fill(&mut self) -> bool {
        let mut chunk = [0u8; 16 * 1024];
        match self.tls.read(&mut chunk) {
            Ok(0) => {
                self.eof = true;
                false
            }
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                true
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                panic!(
                    "nothing within {IO_TIMEOUT:?}; buffered: {}",
                    show(&self.buf)
                )
            }
            Err(e) => panic!("TLS read: {e}; buffered: {}", show(&self.buf)),
        }
    }

    fn read_response(&mut self) -> Response {
        loop {
            match parse_response(&self.buf, false, self.eof) {
                Parsed::Complete(r, n) => {
                    self.buf.drain(..n);
                    return *r;
                }
                Parsed::Invalid(e) => panic!("invalid response ({e}): {}", show(&self.buf)),
                Parsed::Partial if self.eof => {
                    panic!("closed before a complete response: {}", show(&self.buf))
                }
                Parsed::Partial => {
                    self.fill();
                }
            }
        }
    }

    fn get(&mut self, path: &str) -> Response {
        self.send(format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n").as_bytes());
        self.read_response()
    }

    /// Reads to the end of the stream (a clean TLS close), which must come with no
    /// byte before it.
    fn expect_close(&mut self) {
        while self.fill() {}
        assert!(
            self.buf.is_empty(),
            "bytes before the close: {}",
            show(&self.buf)
        );
    }
}

/// A new connection's server certificate, once it is `want` (the reload runs on
/// the server's own schedule); panics after [`IO_TIMEOUT`].
fn wait_for_cert(addr: SocketAddr, want: &CertificateDer<'_>, what: &str) {
    let deadline = Instant::now() + IO_TIMEOUT;
    loop {
        let mut c = TlsClient::connect(addr);
        if c.server_cert() == *want {
            assert_eq!(c.get("/text").text(), "Hello, World!");
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: still the old certificate"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// What `on_handshake_error` was told, shared with the test.
fn recorder() -> (
    Arc<Mutex<Vec<Error>>>,
    impl Fn(&Error) + Send + Sync + 'static,
) {
    let seen: Arc<Mutex<Vec<Error>>> = Arc::default();
    let sink = seen.clone();
    (seen, move |e: &Error| {
        let copy = Error::internal(e.to_string());
        assert!(e.is_tls(), "a handshake error that is not is_tls: {e:?}");
        sink.lock().unwrap().push(copy);
    })
}

/// Waits until `seen` has an error whose text contains `needle`.
fn wait_reported(seen: &Mutex<Vec<Error>>, needle: &str) {
    let deadline = Instant::now() + IO_TIMEOUT;
    while !seen
        .lock()
        .unwrap()
        .iter()
        .any(|e| e.to_string().contains(needle))
    {
        assert!(
            Instant::now() < deadline,
            "no handshake error with {needle:?} reported; got {:?}",
            seen.lock().unwrap()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

// ---------------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------------

#[test]
fn get_over_tls_13_and_12_negotiates_http11() {
    let server = start(tls_config(&cert_file("a.pem"), &cert_file("a.key")));
    for version in [Version::Any, Version::Tls12] {
        let cfg = client_config(&[b"http/1.1"], version);
        let mut c = TlsClient::try_connect(server.addr(), cfg).unwrap();
        let want_version = match version {
            Version::Any => rustls::ProtocolVersion::TLSv1_3,
            Version::Tls12 => rustls::ProtocolVersion::TLSv1_2,
        };
        assert_eq!(c.tls.conn.protocol_version(), Some(want_version));
        assert_eq!(c.tls.conn.alpn_protocol(), Some(&b"http/1.1"[..]));
        assert_eq!(c.server_cert(), leaf(&cert_file("a.pem")));
        let resp = c.get("/text");
        assert_eq!(resp.status, 200);
        assert_eq!(resp.text(), "Hello, World!");
        support::assert_standard_headers(&resp);
        // Keep-alive: the same connection answers again, a body and a stream too.
        c.send(b"POST /body HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello");
        assert_eq!(c.read_response().text(), "hello");
        let streamed = c.get("/stream");
        assert_eq!(streamed.text(), "part1part2part3");
        assert!(matches!(streamed.framing, support::Framing::Chunked));
        // A streamed request body, larger than the read buffer and the default limit.
        let body = vec![b'u'; 5 << 20];
        c.send(
            format!(
                "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n",
                body.len()
            )
            .as_bytes(),
        );
        c.send(&body);
        assert_eq!(c.read_response().text(), body.len().to_string());
        assert_eq!(c.get("/text").text(), "Hello, World!");
    }
    support::stop(server);
}

#[test]
fn a_client_without_alpn_is_served_and_one_offering_only_h2_is_refused() {
    let (seen, record) = recorder();
    let tls = tls_config(&cert_file("a.pem"), &cert_file("a.key")).on_handshake_error(record);
    let server = start(tls);
    let mut plain = TlsClient::try_connect(server.addr(), client_config(&[], Version::Any))
        .expect("a client offering no ALPN");
    assert_eq!(plain.tls.conn.alpn_protocol(), None);
    assert_eq!(plain.get("/text").status, 200);

    let refused = TlsClient::try_connect(server.addr(), client_config(&[b"h2"], Version::Any));
    let err = refused.err().expect("an h2-only client must be refused");
    assert!(
        err.to_string()
            .to_lowercase()
            .contains("noapplicationprotocol")
            || err.to_string().contains("no_application_protocol"),
        "{err}"
    );
    wait_reported(&seen, "TLS handshake failed");
    support::stop(server);
}

#[test]
fn pipelined_requests_over_tls_are_answered_in_order_past_the_backpressure_bound() {
    // 8 KiB of pending output at most: 64 answers of 4 KiB take many batches, each
    // written (as TLS records) before more requests are read.
    let cfg = support::config().max_pending_output(8 * 1024);
    let server = start_with(tls_config(&cert_file("b.pem"), &cert_file("b.key")), cfg);
    let mut c = TlsClient::connect(server.addr());
    assert_eq!(c.server_cert(), leaf(&cert_file("b.pem")));
    let mut batch = Vec::new();
    for i in 0..64 {
        let path = if i % 2 == 0 {
            "/big".to_owned()
        } else {
            format!("/echo/{i}")
        };
        batch.extend_from_slice(format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes());
    }
    batch.extend_from_slice(b"GET /text HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    c.send(&batch);
    for i in 0..64 {
        let resp = c.read_response();
        assert_eq!(resp.status, 200, "response {i}");
        if i % 2 == 0 {
            assert_eq!(resp.body.len(), 4096, "response {i}");
        } else {
            assert_eq!(resp.text(), i.to_string(), "response {i}");
        }
    }
    let last = c.read_response();
    assert_eq!(last.text(), "Hello, World!");
    assert!(last.connection_has("close"));
    // `Connection: close`: the server ends TLS with close_notify, then closes.
    c.expect_close();
    support::stop(server);
}

#[test]
fn a_websocket_runs_over_tls() {
    use tokio_tungstenite::tungstenite::{self, Message};
    let server = start(tls_config(&cert_file("a.pem"), &cert_file("a.key")));
    let c = TlsClient::connect(server.addr());
    let url = format!("wss://localhost:{}/ws", server.addr().port());
    let (mut ws, resp) = tungstenite::client::client(url, c.tls).expect("WebSocket handshake");
    assert_eq!(resp.status(), 101);
    ws.send(Message::text("over tls")).unwrap();
    assert_eq!(ws.read().unwrap(), Message::text("over tls"));
    ws.send(Message::binary(vec![7u8; 100_000])).unwrap();
    assert_eq!(ws.read().unwrap(), Message::binary(vec![7u8; 100_000]));
    ws.close(None).unwrap();
    support::stop(server);
}

/// curl (OpenSSL, an implementation independent of rustls), when installed:
/// scripts/test.sh installs it, and under `CI` its absence fails the test.
fn curl() -> Option<&'static str> {
    if Command::new("curl").arg("--version").output().is_ok() {
        return Some("curl");
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "curl is missing; CI runs the tests through scripts/test.sh, which installs it"
    );
    eprintln!("SKIPPED: curl is not installed (scripts/test.sh installs it)");
    None
}

#[test]
fn curl_gets_over_tls_with_alpn_http11() {
    let Some(curl) = curl() else { return };
    let server = start(tls_config(&cert_file("a.pem"), &cert_file("a.key")));
    let port = server.addr().port();
    let url = format!("https://localhost:{port}/echo/curl");
    // curl offers `h2` and `http/1.1` (ALPN); the server must pick `http/1.1`.
    let out = Command::new(curl)
        .args(["-sS", "--max-time", "10", "--cacert"])
        .arg(cert_file("ca.pem"))
        .args(["--resolve", &format!("localhost:{port}:127.0.0.1")])
        .args(["-w", "\n%{http_code} %{http_version} %{ssl_verify_result}"])
        .args([&url, &url])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "curl failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Two requests on one connection, each answered over HTTP/1.1, the chain verified.
    assert_eq!(stdout, "curl\n200 1.1 0curl\n200 1.1 0", "{stdout}");
    support::stop(server);
}

// ---------------------------------------------------------------------------------
// The handshake timeout
// ---------------------------------------------------------------------------------

#[test]
fn a_client_that_sends_no_client_hello_is_closed_after_the_handshake_timeout() {
    let (seen, record) = recorder();
    let tls = tls_config(&cert_file("a.pem"), &cert_file("a.key"))
        .handshake_timeout(Duration::from_millis(200))
        .on_handshake_error(record);
    let server = start(tls);
    let mut silent = support::RawConn::connect(server.addr());
    let said = silent
        .closed_within(IO_TIMEOUT)
        .expect("a silent client must be closed after the handshake timeout");
    assert!(said.is_empty(), "unexpected bytes: {}", show(&said));
    wait_reported(&seen, "TLS handshake timed out after 200ms");

    // Half a ClientHello is no better.
    let mut slow = support::RawConn::connect(server.addr());
    slow.send(&[0x16, 0x03, 0x01, 0x02, 0x00, 0x01]);
    assert!(
        slow.closed_within(IO_TIMEOUT).is_some(),
        "a partial ClientHello held its slot"
    );

    // Plain HTTP on the TLS port: refused by the handshake, reported.
    let ex = support::raw_exchange(server.addr(), b"GET /text HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(ex.closed, "plain HTTP sent to the TLS port was not closed");
    assert!(!show(&ex.bytes).contains("Hello"), "{}", show(&ex.bytes));
    wait_reported(&seen, "TLS handshake failed");

    // And the server still serves TLS.
    assert_eq!(TlsClient::connect(server.addr()).get("/text").status, 200);
    support::stop(server);
}

// ---------------------------------------------------------------------------------
// Certificates: errors and reloads
// ---------------------------------------------------------------------------------

#[test]
fn unusable_certificate_files_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let garbage = dir.path().join("garbage.pem");
    std::fs::write(&garbage, "not a certificate\n").unwrap();
    let missing = dir.path().join("missing.pem");
    let (a_pem, a_key, b_key) = (cert_file("a.pem"), cert_file("a.key"), cert_file("b.key"));
    let table: [(&Path, &Path, &str, &Path); 6] = [
        (
            &missing,
            &a_key,
            "cannot read the certificate file",
            &missing,
        ),
        (
            &a_pem,
            &missing,
            "cannot read the private key file",
            &missing,
        ),
        (
            &garbage,
            &a_key,
            "no certificate (-----BEGIN CERTIFICATE-----) in",
            &garbage,
        ),
        (&a_key, &a_key, "no certificate", &a_key),
        (&a_pem, &a_pem, "no private key", &a_pem),
        (
            &a_pem,
            &b_key,
            "does not belong to the certificate in",
            &b_key,
        ),
    ];
    for (cert, key, want, names) in table {
        let err = TlsConfig::from_pem_files(cert, key).unwrap_err();
        let text = err.to_string();
        assert!(err.is_tls(), "{text}");
        assert!(text.contains(want), "{cert:?} {key:?}: {text}");
        assert!(
            text.contains(&*names.to_string_lossy()),
            "names no file: {text}"
        );
    }
}

/// Installs `name`'s certificate and key (`a` or `b`) as `dir`'s `server.pem` and
/// `server.key`, each by a rename (as deploy tools do).
fn install(dir: &Path, name: &str) {
    for (from, to) in [
        (format!("{name}.key"), "server.key"),
        (format!("{name}.pem"), "server.pem"),
    ] {
        let tmp = dir.join(format!("{to}.tmp"));
        std::fs::copy(cert_file(&from), &tmp).unwrap();
        std::fs::rename(&tmp, dir.join(to)).unwrap();
    }
}

#[test]
fn a_changed_certificate_file_is_served_to_new_handshakes_and_a_bad_one_is_not() {
    let dir = tempfile::tempdir().unwrap();
    install(dir.path(), "a");
    let tls = tls_config(
        &dir.path().join("server.pem"),
        &dir.path().join("server.key"),
    )
    .poll_interval(Some(Duration::from_millis(20)));
    let server = start(tls.clone());
    let (a, b) = (leaf(&cert_file("a.pem")), leaf(&cert_file("b.pem")));
    let mut old = TlsClient::connect(server.addr());
    assert_eq!(old.server_cert(), a);
    assert_eq!(old.get("/echo/1").text(), "1");

    install(dir.path(), "b");
    wait_for_cert(server.addr(), &b, "after the files changed");
    assert_eq!(tls.certificate_chain()[0], b);
    // The connection made before goes on, on its own session.
    assert_eq!(old.get("/echo/2").text(), "2");
    assert_eq!(old.server_cert(), a);

    // A broken certificate file: the reload fails, clearly, and b stays.
    std::fs::write(
        dir.path().join("server.pem"),
        "-----BEGIN CERTIFICATE-----\ngarbage\n",
    )
    .unwrap();
    let err = tls.reload().unwrap_err();
    assert!(err.is_tls(), "{err}");
    assert!(err.to_string().contains("server.pem"), "{err}");
    // Several checks of the watcher see it too, and keep b.
    std::thread::sleep(Duration::from_millis(200));
    let mut c = TlsClient::connect(server.addr());
    assert_eq!(c.server_cert(), b);
    assert_eq!(c.get("/text").status, 200);
    // The watcher lived through it: a good pair again is picked up.
    install(dir.path(), "a");
    wait_for_cert(
        server.addr(),
        &a,
        "after a good pair replaced the broken file",
    );
    support::stop(server);
}

#[test]
fn reload_reads_the_files_again_at_once() {
    let dir = tempfile::tempdir().unwrap();
    install(dir.path(), "a");
    let tls = tls_config(
        &dir.path().join("server.pem"),
        &dir.path().join("server.key"),
    )
    .poll_interval(None);
    let server = start(tls.clone());
    install(dir.path(), "b");
    // No watcher and no signal: a new handshake still gets a...
    assert_eq!(
        TlsClient::connect(server.addr()).server_cert(),
        leaf(&cert_file("a.pem"))
    );
    // ...until the app reloads.
    tls.reload().unwrap();
    assert_eq!(
        TlsClient::connect(server.addr()).server_cert(),
        leaf(&cert_file("b.pem"))
    );
    support::stop(server);
}

/// Where [`sighup_reloads_the_certificate`] tells its child process the files are.
const CHILD_DIR_ENV: &str = "ARMATURE_TEST_TLS_SIGHUP_DIR";
const CHILD_ADDR_LINE: &str = "armature-tls-child listening on ";

/// The server of [`sighup_reloads_the_certificate`], in a process of its own (it
/// handles signals, which the test harness's process must not).
#[test]
#[ignore = "run in a child process by sighup_reloads_the_certificate"]
fn sighup_child() {
    let dir = PathBuf::from(std::env::var_os(CHILD_DIR_ENV).expect(CHILD_DIR_ENV));
    let tls = tls_config(&dir.join("server.pem"), &dir.join("server.key")).poll_interval(None);
    app()
        .config(support::config().handle_signals(true).tls(tls))
        .bind("127.0.0.1:0")
        .unwrap()
        .on_ready(|addr| {
            println!("{CHILD_ADDR_LINE}{addr}");
            std::io::stdout().flush().unwrap();
        })
        .run()
        .unwrap();
}

/// Kills the child when the test fails before it has stopped it.
struct ChildGuard(Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn signal(child: &Child, sig: libc::c_int) {
    // SAFETY: `kill` with a pid this test spawned (and has not waited for).
    assert_eq!(unsafe { libc::kill(child.id() as libc::pid_t, sig) }, 0);
}

#[test]
fn sighup_reloads_the_certificate() {
    let dir = tempfile::tempdir().unwrap();
    install(dir.path(), "a");
    let child = Command::new(std::env::current_exe().unwrap())
        .args(["--ignored", "--exact", "tls::sighup_child", "--nocapture"])
        .env(CHILD_DIR_ENV, dir.path())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut child = ChildGuard(child);
    let stdout = child.0.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if let Some(addr) = line.strip_prefix(CHILD_ADDR_LINE) {
                let _ = tx.send(addr.parse::<SocketAddr>().unwrap());
            }
        }
    });
    let addr = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("the child server did not start");
    let mut old = TlsClient::connect(addr);
    assert_eq!(old.server_cert(), leaf(&cert_file("a.pem")));

    install(dir.path(), "b");
    // No polling in the child: the change alone reloads nothing.
    assert_eq!(
        TlsClient::connect(addr).server_cert(),
        leaf(&cert_file("a.pem"))
    );
    signal(&child.0, libc::SIGHUP);
    wait_for_cert(addr, &leaf(&cert_file("b.pem")), "after SIGHUP");
    assert_eq!(old.get("/echo/still").text(), "still");

    // SIGTERM still stops it gracefully (SIGHUP did not replace that handler).
    drop(old);
    signal(&child.0, libc::SIGTERM);
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = child.0.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "the child did not stop on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "the child server failed: {status}");
}
