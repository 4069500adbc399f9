//! The profiles without a database: validate.sh's sections "Baseline",
//! "Pipelined", "JSON Processing", "JSON Compressed", "Upload",
//! "JSON TLS", "Static Files H1" and "WebSocket Echo" (validate-ws.py).

use std::io::{Read, Write};
use std::time::Duration;

use crate::support::{content_type_is, pseudo_random, Entry, Reply, STATIC_FILES};

/// A client that connects on reading the "listening" line (as validate.sh's
/// first try does) is accepted on every start: the line is printed once the
/// sockets listen. (Printed after `bind`, it was refused about 1 start in 10.)
#[test]
fn the_listening_line_comes_once_the_entry_listens() {
    let mut refused = Vec::new();
    for start in 0..30 {
        let e = if start % 3 == 0 {
            Entry::start_tls(&[])
        } else {
            Entry::start(&[])
        };
        if let Err(err) = &e.first_connect {
            refused.push(format!("start {start}: {err}"));
        }
    }
    assert!(refused.is_empty(), "refused: {refused:?}");
}

#[test]
fn baseline() {
    let e = Entry::start(&[]);
    assert_eq!(e.get("/baseline11?a=13&b=42").text(), "55");
    let plain = [("Content-Type", "text/plain")];
    assert_eq!(
        e.request("POST", "/baseline11?a=13&b=42", &plain, b"20")
            .text(),
        "75"
    );
    let chunked = [
        ("Content-Type", "text/plain"),
        ("Transfer-Encoding", "chunked"),
    ];
    let post = e.request(
        "POST",
        "/baseline11?a=13&b=42",
        &chunked,
        b"2\r\n20\r\n0\r\n\r\n",
    );
    assert_eq!(post.text(), "75", "{post:?}");

    let get = e.get("/baseline11?a=13&b=42");
    assert!(content_type_is(&get, "text/plain"), "{get:?}");
    let post = e.request("POST", "/baseline11?a=13&b=42", &plain, b"20");
    assert!(content_type_is(&post, "text/plain"), "{post:?}");

    // Anti-cheat: random operands and two different bodies in a row.
    let mut rand = pseudo_random(1);
    let (a, b) = (rand(900) + 100, rand(900) + 100);
    assert_eq!(
        e.get(&format!("/baseline11?a={a}&b={b}")).text(),
        (a + b).to_string()
    );
    let body1 = rand(900) + 100;
    let body2 = if body1 == 999 { 100 } else { body1 + 1 };
    for body in [body1, body2] {
        let got = e.request(
            "POST",
            "/baseline11?a=13&b=42",
            &plain,
            body.to_string().as_bytes(),
        );
        assert_eq!(got.text(), (55 + body).to_string());
    }
}

#[test]
fn baseline_tcp_fragmentation() {
    let e = Entry::start(&[]);
    let pause = Duration::from_millis(30);
    let post_head = b"POST /baseline11?a=13&b=42 HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/plain\r\nContent-Length: 2\r\nConnection: close\r\n\r\n";
    let cases: [(&str, Vec<&[u8]>, &str); 4] = [
        (
            "split request line",
            vec![
                b"GET /baseli",
                b"ne11?a=13&b=42 HTTP/1.1\r\n",
                b"Host: localhost\r\nConnection: close\r\n\r\n",
            ],
            "55",
        ),
        (
            "split before headers",
            vec![
                b"GET /baseline11?a=13&b=42 HTTP/1.1\r\n",
                b"Host: localhost\r\n",
                b"User-Agent: arena-frag/1.0\r\n",
                b"Connection: close\r\n\r\n",
            ],
            "55",
        ),
        ("split headers/body", vec![post_head, b"20"], "75"),
        ("split body bytes", vec![post_head, b"2", b"0"], "75"),
    ];
    for (label, fragments, expected) in cases {
        assert_eq!(
            e.send_fragments(&fragments, pause).text(),
            expected,
            "{label}"
        );
    }
}

#[test]
fn pipelined() {
    let e = Entry::start(&[]);
    let one = e.get("/pipeline");
    assert_eq!(one.text(), "ok");
    assert!(content_type_is(&one, "text/plain"), "{one:?}");

    // HttpArena's load: requests/pipeline.raw 16 deep in one write.
    let mut s = e.connect();
    let raw = b"GET /pipeline HTTP/1.1\r\nHost: localhost:8080\r\n\r\n".repeat(16);
    s.write_all(&raw).unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let mut answered = 0;
    while answered < 16 {
        let n = s.read(&mut buf).unwrap();
        assert!(n > 0, "closed after {answered} responses");
        got.extend_from_slice(&buf[..n]);
        answered = 0;
        let mut at = 0;
        while let Some((reply, used)) = Reply::parse_one(&got[at..]) {
            assert_eq!(reply.text(), "ok");
            answered += 1;
            at += used;
        }
    }
    assert_eq!(answered, 16);
}

/// validate.sh's JSON check: `count` items, each with `total = price * quantity * m`.
fn check_items(body: &serde_json::Value, count: u64, m: i64) {
    assert_eq!(body["count"], count, "{body}");
    let items = body["items"].as_array().unwrap();
    assert_eq!(items.len() as u64, count);
    for item in items {
        let expected = item["price"].as_i64().unwrap() * item["quantity"].as_i64().unwrap() * m;
        assert_eq!(item["total"].as_i64(), Some(expected), "{item}");
    }
}

#[test]
fn json() {
    let e = Entry::start(&[]);
    for (count, m) in [(12, 3), (22, 7), (31, 2), (50, 5)] {
        check_items(&e.get(&format!("/json/{count}?m={m}")).json(), count, m);
    }
    let reply = e.get("/json/50?m=1");
    assert!(content_type_is(&reply, "application/json"), "{reply:?}");
}

#[test]
fn json_comp() {
    let e = Entry::start(&[]);
    let accept = [("Accept-Encoding", "gzip, br")];
    let reply = e.request("GET", "/json/50?m=1", &accept, b"");
    let coding = reply.header("content-encoding").unwrap_or("");
    assert!(coding == "gzip" || coding == "br", "{reply:?}");
    for (count, m) in [(25, 3), (40, 7), (50, 2)] {
        let reply = e.request("GET", &format!("/json/{count}?m={m}"), &accept, b"");
        assert!(reply.header("content-encoding").is_some(), "{reply:?}");
        check_items(&serde_json::from_slice(&reply.decoded()).unwrap(), count, m);
    }
    // gzip alone is honoured too, and nothing is compressed unasked.
    let gzip = e.request("GET", "/json/50?m=1", &[("Accept-Encoding", "gzip")], b"");
    assert_eq!(gzip.header("content-encoding"), Some("gzip"));
    let plain = e.get("/json/50?m=1");
    assert_eq!(plain.header("content-encoding"), None, "{plain:?}");
}

/// validate.sh's "JSON TLS" section (on HttpArena's 8081, here `TLS_PORT=0`):
/// HTTP/1.1 negotiated (curl --http1.1 offers ALPN `http/1.1` alone), three
/// (count, m) pairs, `Content-Type: application/json`. Beyond it: a client that
/// also offers `h2` (curl's default) still gets `http/1.1`, and the body is the
/// plain listener's `/json` body byte for byte (the profile's client asks for no
/// compression).
#[test]
fn json_tls() {
    let e = Entry::start_tls(&[]);
    for offer in [&[&b"http/1.1"[..]][..], &[b"h2", b"http/1.1"]] {
        let (alpn, reply) = e.get_tls("/json/1?m=1", offer);
        assert_eq!(alpn.as_deref(), Some(&b"http/1.1"[..]), "offered {offer:?}");
        assert_eq!(reply.status, 200, "{reply:?}");
        assert!(content_type_is(&reply, "application/json"), "{reply:?}");
    }
    for (count, m) in [(7, 2), (23, 11), (50, 1)] {
        let target = format!("/json/{count}?m={m}");
        let (_, reply) = e.get_tls(&target, &[b"http/1.1"]);
        check_items(&reply.json(), count, m);
        assert_eq!(reply.header("content-encoding"), None, "{reply:?}");
        assert_eq!(
            reply.body,
            e.get(&target).body,
            "{target}: TLS and plain differ"
        );
    }
}

/// The certificate without its key: the entry refuses to start (a failure
/// status, promptly) rather than run without the json-tls listener.
#[test]
fn json_tls_without_a_key_fails_to_start() {
    let certs = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("httparena-no-key");
    let _ = std::fs::remove_dir_all(&certs);
    std::fs::create_dir_all(&certs).unwrap();
    std::fs::copy(
        crate::support::test_certs().join("a.pem"),
        certs.join("server.crt"),
    )
    .unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_armature-httparena"))
        .env("HOST", "127.0.0.1")
        .env("PORT", "0")
        .env("TLS_PORT", "0")
        .env("WORKERS", "1")
        .env("DATA_DIR", crate::support::data_dir())
        .env("CERTS_DIR", &certs)
        .env_remove("DATABASE_URL")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the entry ran for 30 s without server.key");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(!status.success(), "{status}");
}

#[test]
fn upload() {
    let e = Entry::start(&[]);
    let octets = [("Content-Type", "application/octet-stream")];
    let small = b"Hello, HttpArena!";
    assert_eq!(
        e.request("POST", "/upload", &octets, small).text(),
        small.len().to_string()
    );
    let mut rand = pseudo_random(2);
    let random: Vec<u8> = (0..48).map(|_| b'A' + rand(26) as u8).collect();
    assert_eq!(e.request("POST", "/upload", &octets, &random).text(), "48");
    for size in [512_000usize, 2_097_152, 10_485_760, 20_971_520] {
        let body: Vec<u8> = (0..size).map(|i| (i * 31 + 7) as u8).collect();
        let reply = e.request("POST", "/upload", &octets, &body);
        assert_eq!(reply.text(), size.to_string(), "{size} bytes");
    }
    // Chunked too; and the 25 MiB limit is this route's only: the others keep 2 MiB.
    let chunked = [("Transfer-Encoding", "chunked")];
    let body = b"5\r\nHello\r\n6\r\n Arena\r\n0\r\n\r\n";
    assert_eq!(e.request("POST", "/upload", &chunked, body).text(), "11");
    let big = vec![b'1'; 3 << 20];
    assert_eq!(
        e.request("POST", "/baseline11?a=1&b=2", &[], &big).status,
        413
    );
}

#[test]
fn static_files() {
    let e = Entry::start(&[]);
    for (file, ty) in [
        ("reset.css", "text/css"),
        ("app.js", "application/javascript"),
        ("manifest.json", "application/json"),
    ] {
        let reply = e.get(&format!("/static/{file}"));
        assert!(content_type_is(&reply, ty), "{file}: {reply:?}");
    }
    // Sizes, as sent without Accept-Encoding; then with what `curl --compressed`
    // sends, each compressed answer decoded to the file itself.
    let mut compressed = 0;
    for file in STATIC_FILES {
        let on_disk = std::fs::read(e.data().join("static").join(file)).unwrap();
        let reply = e.get(&format!("/static/{file}"));
        assert_eq!(reply.status, 200, "{file}");
        assert_eq!(reply.body.len(), on_disk.len(), "{file}");
        let accept = [("Accept-Encoding", "deflate, gzip, br, zstd")];
        let reply = e.request("GET", &format!("/static/{file}"), &accept, b"");
        if reply.header("content-encoding").is_some() {
            compressed += 1;
            assert_eq!(
                reply.decoded(),
                on_disk,
                "{file}: {:?}",
                reply.header("content-encoding")
            );
        }
    }
    // Upstream ships .br/.gz beside its 15 text files (not the fonts and images),
    // as the fixture does; validate.sh's "static compression" passes with any.
    assert_eq!(compressed, 15, "static compression");
    assert_eq!(e.get("/static/nonexistent.txt").status, 404);
}

/// A masked client frame.
fn frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
    let mut f = vec![0x80 | opcode];
    match payload.len() {
        n if n < 126 => f.push(0x80 | n as u8),
        n => {
            f.push(0x80 | 126);
            f.extend_from_slice(&(n as u16).to_be_bytes());
        }
    }
    let mask = [0x12, 0x34, 0x56, 0x78];
    f.extend_from_slice(&mask);
    f.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    f
}

/// One server frame: (opcode, payload).
fn read_frame(s: &mut std::net::TcpStream) -> (u8, Vec<u8>) {
    let mut head = [0u8; 2];
    s.read_exact(&mut head).unwrap();
    let len = match head[1] & 0x7f {
        126 => {
            let mut l = [0u8; 2];
            s.read_exact(&mut l).unwrap();
            u16::from_be_bytes(l) as usize
        }
        127 => {
            let mut l = [0u8; 8];
            s.read_exact(&mut l).unwrap();
            u64::from_be_bytes(l) as usize
        }
        n => n as usize,
    };
    let mut payload = vec![0u8; len];
    s.read_exact(&mut payload).unwrap();
    (head[0] & 0x0f, payload)
}

/// validate-ws.py's upgrade: the connection after a `101` with the right accept key.
fn upgrade(e: &Entry) -> std::net::TcpStream {
    let key = "dGhlIHNhbXBsZSBub25jZQ==";
    let mut s = e.connect();
    write!(
        s,
        "GET /ws HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    .unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        s.read_exact(&mut byte).unwrap();
        head.push(byte[0]);
    }
    let reply = Reply::parse(&head);
    assert_eq!(reply.status, 101, "{reply:?}");
    let expected = tokio_tungstenite::tungstenite::handshake::derive_accept_key(key.as_bytes());
    assert_eq!(
        reply.header("sec-websocket-accept"),
        Some(expected.as_str())
    );
    s
}

#[test]
fn echo_ws() {
    let mut e = Entry::start(&[]);
    let mut s = upgrade(&e);
    let text = format!("HttpArena-validate-{:016x}", pseudo_random(3)(u64::MAX));
    s.write_all(&frame(1, text.as_bytes())).unwrap();
    assert_eq!(read_frame(&mut s), (1, text.into_bytes()));
    let binary: Vec<u8> = (0..=255u8).collect();
    s.write_all(&frame(2, &binary)).unwrap();
    assert_eq!(read_frame(&mut s), (2, binary));
    let messages: Vec<String> = (0..5)
        .map(|i| format!("msg-{i}-{:08x}", i * 7919))
        .collect();
    for m in &messages {
        s.write_all(&frame(1, m.as_bytes())).unwrap();
    }
    for m in &messages {
        assert_eq!(read_frame(&mut s), (1, m.clone().into_bytes()));
    }
    let mut close = 1000u16.to_be_bytes().to_vec();
    close.extend_from_slice(b"validate done");
    s.write_all(&frame(8, &close)).unwrap();
    assert_eq!(read_frame(&mut s).0, 8);

    // A plain GET /ws is a 4xx, not a 101 or a 5xx, and the server lives on.
    let plain = e.request("GET", "/ws", &[], b"");
    assert!((400..500).contains(&plain.status), "{plain:?}");
    let mut s = upgrade(&e);
    s.write_all(&frame(1, b"health")).unwrap();
    assert_eq!(read_frame(&mut s), (1, b"health".to_vec()));
    assert!(e.alive());
}
