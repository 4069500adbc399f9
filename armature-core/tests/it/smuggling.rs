//! Request smuggling: ambiguous framing is refused with 400 and a close, and nothing
//! hidden behind the ambiguous request is ever answered.

use crate::support::{config, echo_app, raw_exchange, show, start_with, stop};

/// Framing attacks. Each request is followed by a hidden `GET /echo/smuggled` that a
/// lenient parser would answer.
const AMBIGUOUS: &[(&str, &[u8])] = &[
    (
        "Content-Length and Transfer-Encoding",
        b"POST /body HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    ),
    (
        "Transfer-Encoding and Content-Length",
        b"POST /body HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n",
    ),
    (
        "two different Content-Lengths",
        b"POST /body HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
    ),
    (
        "Content-Length list of different values",
        b"POST /body HTTP/1.1\r\nHost: x\r\nContent-Length: 5, 6\r\n\r\nhello!",
    ),
    (
        "Content-Length with a plus sign",
        b"POST /body HTTP/1.1\r\nHost: x\r\nContent-Length: +5\r\n\r\nhello",
    ),
    (
        "negative Content-Length",
        b"POST /body HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
    ),
    (
        "non-numeric Content-Length",
        b"POST /body HTTP/1.1\r\nHost: x\r\nContent-Length: 5x\r\n\r\nhello",
    ),
    (
        "Content-Length overflowing u64",
        b"POST /body HTTP/1.1\r\nHost: x\r\nContent-Length: 18446744073709551621\r\n\r\nhello",
    ),
    (
        "bad chunk size",
        b"POST /body HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
    ),
    (
        "chunk size overflowing u64",
        b"POST /body HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000005\r\nhello\r\n0\r\n\r\n",
    ),
    (
        "chunk size with 0x prefix",
        b"POST /body HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n0\r\n\r\n",
    ),
    (
        "negative chunk size",
        b"POST /body HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n-5\r\nhello\r\n0\r\n\r\n",
    ),
    (
        "chunk data longer than its size",
        b"POST /body HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nhello\r\n0\r\n\r\n",
    ),
    (
        "Transfer-Encoding in HTTP/1.0",
        b"POST /body HTTP/1.0\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n",
    ),
    (
        "chunked twice",
        b"POST /body HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    ),
    (
        "chunk size line ending in a bare LF",
        b"POST /body HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\nhello\r\n0\r\n\r\n",
    ),
    (
        "obs-fold with a space",
        b"GET /text HTTP/1.1\r\nHost: x\r\nX-Folded: a\r\n b\r\n\r\n",
    ),
    (
        "obs-fold with a tab",
        b"GET /text HTTP/1.1\r\nHost: x\r\nX-Folded: a\r\n\tb\r\n\r\n",
    ),
    (
        "folded Transfer-Encoding",
        b"POST /body HTTP/1.1\r\nHost: x\r\nTransfer-Encoding:\r\n chunked\r\nContent-Length: 5\r\n\r\nhello",
    ),
    (
        "space before the colon",
        b"GET /text HTTP/1.1\r\nHost : x\r\n\r\n",
    ),
    (
        "space before the colon of Transfer-Encoding",
        b"POST /body HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : chunked\r\nContent-Length: 5\r\n\r\nhello",
    ),
    (
        "tab before the colon",
        b"GET /text HTTP/1.1\r\nHost\t: x\r\n\r\n",
    ),
];

#[test]
fn ambiguous_framing_is_400_and_close() {
    let server = start_with(echo_app(), config());
    let mut failures = Vec::new();
    for (what, attack) in AMBIGUOUS {
        let mut req = attack.to_vec();
        req.extend_from_slice(b"GET /echo/smuggled HTTP/1.1\r\nHost: x\r\n\r\n");
        let ex = raw_exchange(server.addr(), &req);
        let statuses: Vec<u16> = ex.responses().iter().map(|r| r.status).collect();
        let smuggled = ex.bytes.windows(8).any(|w| w == b"smuggled");
        if statuses != [400] || !ex.closed || smuggled {
            failures.push(format!(
                "{what}:\n  sent {}\n  got  {} (statuses {statuses:?}, closed: {})",
                show(&req),
                show(&ex.bytes),
                ex.closed
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} framing attacks not refused:\n{}",
        failures.len(),
        failures.join("\n")
    );
    stop(server);
}

#[test]
fn identical_duplicate_content_length_is_not_a_smuggling_vector() {
    // RFC 9112 6.3 allows either rejecting `Content-Length: 5` twice or reading it as 5;
    // what is never allowed is to answer the bytes after the body as a request.
    let server = start_with(echo_app(), config());
    let req = b"POST /body HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhelloGET /echo/smuggled HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    let ex = raw_exchange(server.addr(), req);
    let responses = ex.responses();
    assert!(!responses.is_empty(), "no response: {}", show(&ex.bytes));
    match responses[0].status {
        400 => assert!(responses.len() == 1 && ex.closed, "{}", show(&ex.bytes)),
        200 => {
            assert_eq!(responses[0].body, b"hello", "{}", show(&ex.bytes));
            // The follow-up is a genuine, well-framed request here: answering it is right.
            assert_eq!(responses.len(), 2, "{}", show(&ex.bytes));
            assert_eq!(responses[1].text(), "smuggled");
        }
        s => panic!("unexpected status {s}: {}", show(&ex.bytes)),
    }
    stop(server);
}

#[test]
fn http11_request_without_host_or_with_two_hosts_is_400() {
    // RFC 9112 3.2: a server MUST answer 400 to an HTTP/1.1 request without a Host
    // header, or with more than one (host confusion behind proxies).
    let server = start_with(echo_app(), config());
    let mut failures = Vec::new();
    for (what, req) in [
        ("no Host", &b"GET /echo/1 HTTP/1.1\r\n\r\n"[..]),
        (
            "two Hosts",
            b"GET /echo/1 HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
        ),
    ] {
        let ex = raw_exchange(server.addr(), req);
        let statuses: Vec<u16> = ex.responses().iter().map(|r| r.status).collect();
        if statuses != [400] || !ex.closed {
            failures.push(format!(
                "{what}:\n  sent {}\n  got  {} (closed: {})",
                show(req),
                show(&ex.bytes),
                ex.closed
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "expected 400 and close:\n{}",
        failures.join("\n")
    );
    stop(server);
}
