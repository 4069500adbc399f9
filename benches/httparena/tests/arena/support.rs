//! The entry as a process, HttpArena's mounts in a temp folder, and a small
//! HTTP/1.1 client over raw TCP (what curl does in validate.sh, bytes visible).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The 20 files validate.sh requests under `/static/`.
pub const STATIC_FILES: [&str; 20] = [
    "reset.css",
    "layout.css",
    "theme.css",
    "components.css",
    "utilities.css",
    "analytics.js",
    "helpers.js",
    "app.js",
    "vendor.js",
    "router.js",
    "header.html",
    "footer.html",
    "regular.woff2",
    "bold.woff2",
    "logo.svg",
    "icon-sprite.svg",
    "hero.webp",
    "thumb1.webp",
    "thumb2.webp",
    "manifest.json",
];

/// HttpArena's `/data` mount: its `dataset.json` (tests/fixtures, from
/// HttpArena 28606baf) and a `static/` folder with the same names as upstream's, text
/// files with `.br` and `.gz` siblings as upstream ships them (contents generated:
/// only names, sizes and types are checked).
/// Made once per test run (in cargo's temp folder for tests) and shared,
/// read-only, by every entry started.
pub fn data_dir() -> &'static Path {
    static DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    DIR.get_or_init(make_data_dir)
}

fn make_data_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("httparena-data");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/dataset.json");
    std::fs::copy(fixture, dir.join("dataset.json")).unwrap();
    let static_dir = dir.join("static");
    std::fs::create_dir(&static_dir).unwrap();
    for (i, name) in STATIC_FILES.iter().enumerate() {
        let binary = name.ends_with(".woff2") || name.ends_with(".webp");
        let content: Vec<u8> = if binary {
            (0..2000 + i * 311).map(|j| (j * 7 + i) as u8).collect()
        } else {
            format!("/* {name} */\n")
                .into_bytes()
                .into_iter()
                .chain(
                    (0..300 + i * 40)
                        .flat_map(|j| format!(".c{j} {{ margin: {}px }}\n", j % 17).into_bytes()),
                )
                .collect()
        };
        std::fs::write(static_dir.join(name), &content).unwrap();
        if !binary {
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
            gz.write_all(&content).unwrap();
            std::fs::write(static_dir.join(format!("{name}.gz")), gz.finish().unwrap()).unwrap();
            let mut br = Vec::new();
            brotli::BrotliCompress(
                &mut &content[..],
                &mut br,
                &brotli::enc::BrotliEncoderParams::default(),
            )
            .unwrap();
            std::fs::write(static_dir.join(format!("{name}.br")), br).unwrap();
        }
    }
    dir
}

/// HttpArena's `/certs` mount: `server.crt` and `server.key`, copies of
/// armature-core's committed test pair `a.pem`/`a.key` (ECDSA P-256, for
/// `localhost` and 127.0.0.1, signed by `ca.pem`; nothing is generated here).
pub fn certs_dir() -> &'static Path {
    static DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("httparena-certs");
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let test_certs = test_certs();
        std::fs::copy(test_certs.join("a.pem"), dir.join("server.crt")).unwrap();
        std::fs::copy(test_certs.join("a.key"), dir.join("server.key")).unwrap();
        dir
    })
}

/// armature-core's `tests/certs`.
pub fn test_certs() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../armature-core/tests/certs")
}

/// The entry's binary, running with HttpArena's environment; killed on drop.
pub struct Entry {
    child: Child,
    pub addr: SocketAddr,
    /// The json-tls listener (`TLS_PORT`), when started with the certificates.
    pub tls_addr: Option<SocketAddr>,
    /// How a connection made the moment the "listening" line was read went (and,
    /// with json-tls, one to its address after its line): `Err` when refused.
    pub first_connect: std::io::Result<()>,
}

/// The address after `scheme` in one of the entry's "listening" lines.
fn listen_addr(line: &str, scheme: &str) -> SocketAddr {
    line.trim()
        .rsplit(scheme)
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("the entry did not say where it listens ({scheme}): {line:?}"))
}

impl Entry {
    /// Starts the entry on `127.0.0.1:0` with two workers (so that state shared
    /// by the workers is tested as such), the data mount, no certificates, and `env`.
    pub fn start(env: &[(&str, &str)]) -> Entry {
        Entry::start_with(env, None)
    }

    /// [`start`](Entry::start) with HttpArena's `/certs` mount ([`certs_dir`]) and
    /// `TLS_PORT=0`: the json-tls listener too.
    pub fn start_tls(env: &[(&str, &str)]) -> Entry {
        Entry::start_with(env, Some(certs_dir()))
    }

    fn start_with(env: &[(&str, &str)], certs: Option<&Path>) -> Entry {
        let data = data_dir();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_armature-httparena"));
        cmd.env("HOST", "127.0.0.1")
            .env("PORT", "0")
            .env("TLS_PORT", "0")
            .env("WORKERS", "2")
            .env("DATA_DIR", data)
            .env(
                "CERTS_DIR",
                certs.map_or_else(|| data.join("no-certs"), Path::to_path_buf),
            )
            .env_remove("DATABASE_URL")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("start armature-httparena");
        let mut line = String::new();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        stdout.read_line(&mut line).unwrap();
        let addr = listen_addr(&line, "http://");
        let tls_addr = certs.map(|_| {
            line.clear();
            stdout.read_line(&mut line).unwrap();
            listen_addr(&line, "https://")
        });
        let first_connect = TcpStream::connect(addr)
            .and_then(|_| tls_addr.map_or(Ok(()), |a| TcpStream::connect(a).map(drop)));
        // The rest of its output is read on, so that the server never writes to a
        // closed pipe.
        std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
        let entry = Entry {
            child,
            addr,
            tls_addr,
            first_connect,
        };
        entry.wait_until_answering();
        entry
    }

    /// validate.sh's "[wait] Waiting for server..." loop: `GET /baseline11?a=1&b=1`
    /// until it is answered. (The entry prints its "listening" line from
    /// `on_ready`, once its sockets listen, so the first try is answered; printed
    /// after `bind`, as it was, 1 start in 10 was refused here.)
    fn wait_until_answering(&self) {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            let answered = TcpStream::connect(self.addr).and_then(|mut s| {
                s.write_all(b"GET /baseline11?a=1&b=1 HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")?;
                let mut raw = Vec::new();
                s.read_to_end(&mut raw)?;
                Ok(raw.starts_with(b"HTTP/1.1 200"))
            });
            if let Ok(true) = answered {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the entry did not answer within 30 s"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn data(&self) -> &'static Path {
        data_dir()
    }

    /// Whether the process is still running.
    pub fn alive(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// `METHOD target` with `headers` and `body` on a new connection.
    pub fn request(
        &self,
        method: &str,
        target: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Reply {
        let mut req =
            format!("{method} {target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n");
        for (k, v) in headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        if !body.is_empty()
            && !headers
                .iter()
                .any(|(k, _)| k.eq_ignore_ascii_case("transfer-encoding"))
        {
            req.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
        req.push_str("\r\n");
        let mut wire = req.into_bytes();
        wire.extend_from_slice(body);
        self.send_fragments(&[&wire], Duration::ZERO)
    }

    pub fn get(&self, target: &str) -> Reply {
        self.request("GET", target, &[], b"")
    }

    /// Writes each fragment with `pause` between them (TCP_NODELAY), reads to EOF.
    pub fn send_fragments(&self, fragments: &[&[u8]], pause: Duration) -> Reply {
        let mut s = self.connect();
        for (i, f) in fragments.iter().enumerate() {
            s.write_all(f).unwrap();
            if i + 1 < fragments.len() {
                std::thread::sleep(pause);
            }
        }
        let mut raw = Vec::new();
        s.read_to_end(&mut raw).unwrap();
        Reply::parse(&raw)
    }

    /// `GET target` over TLS to the json-tls listener on a new connection, the
    /// client offering `alpn` and trusting armature-core's test CA only (a
    /// certificate check curl -k skips): the protocol ALPN chose and the reply,
    /// read to a clean TLS close.
    pub fn get_tls(&self, target: &str, alpn: &[&[u8]]) -> (Option<Vec<u8>>, Reply) {
        use armature_core::tls::rustls::{
            self, pki_types::pem::PemObject, pki_types::CertificateDer, pki_types::ServerName,
        };
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_file_iter(test_certs().join("ca.pem")).unwrap() {
            roots.add(cert.unwrap()).unwrap();
        }
        // The provider the server is built with.
        #[allow(deprecated)]
        let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
        let mut cfg = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        cfg.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        let addr = self.tls_addr.expect("the entry was started with start_tls");
        let sock = TcpStream::connect(addr).unwrap();
        sock.set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        let name = ServerName::try_from("localhost").unwrap();
        let conn = rustls::ClientConnection::new(std::sync::Arc::new(cfg), name).unwrap();
        let mut tls = rustls::StreamOwned::new(conn, sock);
        write!(
            tls,
            "GET {target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        tls.flush().unwrap();
        let mut raw = Vec::new();
        tls.read_to_end(&mut raw)
            .unwrap_or_else(|e| panic!("GET {target} over TLS: {e}"));
        let alpn = tls.conn.alpn_protocol().map(<[u8]>::to_vec);
        (alpn, Reply::parse(&raw))
    }

    pub fn connect(&self) -> TcpStream {
        let s = TcpStream::connect(self.addr).unwrap();
        s.set_nodelay(true).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        s
    }
}

impl Drop for Entry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A response: status, headers (names in lower case), the body (de-chunked).
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    /// The first response in `raw`.
    pub fn parse(raw: &[u8]) -> Reply {
        Self::parse_one(raw)
            .unwrap_or_else(|| panic!("not an HTTP response: {:?}", String::from_utf8_lossy(raw)))
            .0
    }

    /// One response from the start of `raw` and the bytes it took.
    pub fn parse_one(raw: &[u8]) -> Option<(Reply, usize)> {
        let end = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
        let head = std::str::from_utf8(&raw[..end]).ok()?;
        let mut lines = head.split("\r\n");
        let status = lines.next()?.split(' ').nth(1)?.parse().ok()?;
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        let mut rest = &raw[end + 4..];
        let start_len = rest.len();
        let find = |name: &str| {
            headers
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        };
        let body = if find("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
            let mut body = Vec::new();
            loop {
                let nl = rest.windows(2).position(|w| w == b"\r\n")?;
                let size = usize::from_str_radix(
                    std::str::from_utf8(&rest[..nl]).ok()?.split(';').next()?,
                    16,
                )
                .ok()?;
                rest = &rest[nl + 2..];
                if size == 0 {
                    rest = rest.get(2..)?;
                    break;
                }
                body.extend_from_slice(rest.get(..size)?);
                rest = rest.get(size + 2..)?;
            }
            body
        } else if let Some(len) = find("content-length") {
            let len: usize = len.parse().ok()?;
            let body = rest.get(..len)?.to_vec();
            rest = &rest[len..];
            body
        } else {
            let body = rest.to_vec();
            rest = &rest[rest.len()..];
            body
        };
        let used = end + 4 + (start_len - rest.len());
        Some((
            Reply {
                status,
                headers,
                body,
            },
            used,
        ))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).trim().to_owned()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    /// The body decoded from its `Content-Encoding` (gzip, br or none).
    pub fn decoded(&self) -> Vec<u8> {
        let mut out = Vec::new();
        match self.header("content-encoding") {
            None => out.clone_from(&self.body),
            Some("gzip") => {
                flate2::read::GzDecoder::new(&self.body[..])
                    .read_to_end(&mut out)
                    .unwrap();
            }
            Some("br") => {
                brotli::Decompressor::new(&self.body[..], 4096)
                    .read_to_end(&mut out)
                    .unwrap();
            }
            Some(other) => panic!("unexpected Content-Encoding {other}"),
        }
        out
    }
}

/// validate.sh's `check_header`: the value, or the value followed by `;`
/// parameters, `text/javascript` and `application/javascript` being the same.
pub fn content_type_is(reply: &Reply, expected: &str) -> bool {
    let norm = |v: &str| v.replace("text/javascript", "application/javascript");
    let got = norm(reply.header("content-type").unwrap_or(""));
    let expected = norm(expected);
    got == expected || got.starts_with(&format!("{expected};"))
}

/// A small deterministic generator for validate.sh's `$RANDOM` inputs.
pub fn pseudo_random(seed: u64) -> impl FnMut(u64) -> u64 {
    let mut x = seed ^ 0x9E37_79B9_7F4A_7C15 ^ u64::from(std::process::id());
    move |bound| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % bound
    }
}
