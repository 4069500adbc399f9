//! The `Metrics` middleware over real TCP: counts by method, route template and
//! status class, summed over two workers; the histogram consistent with the
//! counts; unmatched paths under one label; the output accepted by the Prometheus
//! project's own Python parsers (`prometheus-client` from PyPI, which
//! scripts/test.sh installs in its linter venv).

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::process::{Command, Stdio};

use armature_core::extract::WorkerState;
use armature_core::middleware::{Metrics, RequestId, DEFAULT_BUCKETS, UNMATCHED_ROUTE};
use armature_core::{App, StatusCode};

use crate::support::{config, get, post, start_with, stop, RawConn};

/// The test app: a few routes, the index of the worker that answered each request
/// in an `x-worker` header, metrics at `/metrics`, with a request id inside them
/// (the hook path's loop over a route's layers).
fn app(metrics: &Metrics) -> App {
    routes(metrics)
        .middleware(RequestId::new())
        .middleware(metrics.clone())
}

/// [`app`] with `Metrics` its only middleware (the hook path's `Metrics` alone,
/// without the loop over the layers).
fn app_alone(metrics: &Metrics) -> App {
    routes(metrics).middleware(metrics.clone())
}

fn routes(metrics: &Metrics) -> App {
    App::new()
        .worker_state_sync(|w| Ok::<_, std::io::Error>(w.index()))
        .get("/todos/:id", |w: WorkerState<usize>| async move {
            armature_core::HttpResponse::ok()
                .with_header("x-worker", w.to_string())
                .with_body("item")
        })
        .post("/todos", || async { (StatusCode::CREATED, "made") })
        .get("/fail", || async { StatusCode::SERVICE_UNAVAILABLE })
        .get("/panic", || async {
            if true {
                panic!("handler bug");
            }
            "unreachable"
        })
        .get("/metrics", metrics.handler())
}

/// One request on a fresh connection (so that `SO_REUSEPORT` spreads them over
/// the workers); the response's status and `x-worker`.
fn send(addr: std::net::SocketAddr, request: &[u8]) -> (u16, Option<String>) {
    let mut conn = RawConn::connect(addr);
    conn.send(request);
    let resp = if request.starts_with(b"HEAD") {
        conn.read_head_response()
    } else {
        conn.read_response()
    };
    (resp.status, resp.header("x-worker").map(str::to_owned))
}

/// A scrape: the body and its content type.
fn scrape(addr: std::net::SocketAddr, accept: Option<&str>) -> (String, String) {
    let mut conn = RawConn::connect(addr);
    let request = match accept {
        Some(accept) => format!("GET /metrics HTTP/1.1\r\nHost: x\r\nAccept: {accept}\r\n\r\n"),
        None => String::from_utf8(get("/metrics")).unwrap(),
    };
    conn.send(request.as_bytes());
    let resp = conn.read_response();
    assert_eq!(resp.status, 200, "{}", resp.text());
    let content_type = resp.header("content-type").unwrap_or_default().to_owned();
    (resp.text(), content_type)
}

/// The samples of the text format: `name{labels}` (labels sorted) to value.
fn samples(text: &str) -> BTreeMap<(String, BTreeMap<String, String>), f64> {
    let mut out = BTreeMap::new();
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let (series, value) = line.rsplit_once(' ').expect("a sample has a value");
        let (name, labels) = match series.split_once('{') {
            Some((name, rest)) => {
                let labels = rest.strip_suffix('}').expect("labels end with }");
                let labels = labels
                    .split(',')
                    .filter(|l| !l.is_empty())
                    .map(|l| {
                        let (k, v) = l.split_once('=').expect("label=value");
                        let v = v.trim_matches('"');
                        // A bound as Rust prints it (the encoder may write `1.0`).
                        let v = match (k, v.parse::<f64>()) {
                            ("le", Ok(bound)) if bound.is_finite() => bound.to_string(),
                            _ => v.to_owned(),
                        };
                        (k.to_owned(), v)
                    })
                    .collect();
                (name, labels)
            }
            None => (series, BTreeMap::new()),
        };
        let value = match value {
            "+Inf" => f64::INFINITY,
            v => v
                .parse()
                .unwrap_or_else(|_| panic!("bad value in {line:?}")),
        };
        assert!(
            out.insert((name.to_owned(), labels), value).is_none(),
            "duplicate sample {line:?}"
        );
    }
    out
}

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

type Samples = BTreeMap<(String, BTreeMap<String, String>), f64>;

fn value(samples: &Samples, name: &str, pairs: &[(&str, &str)]) -> f64 {
    samples
        .get(&(name.to_owned(), labels(pairs)))
        .copied()
        .unwrap_or(0.0)
}

#[test]
fn counts_by_route_template_method_and_status_class_summed_over_workers() {
    counts_by_route_template_method_and_status_class(app);
}

#[test]
fn counts_the_same_as_the_only_middleware() {
    counts_by_route_template_method_and_status_class(app_alone);
}

fn counts_by_route_template_method_and_status_class(app: fn(&Metrics) -> App) {
    let metrics = Metrics::new();
    let server = start_with(app(&metrics), config().workers(2));
    let addr = server.addr();

    let mut workers = BTreeSet::new();
    for id in 0..40 {
        let (status, worker) = send(addr, &get(&format!("/todos/{id}")));
        assert_eq!(status, 200);
        workers.insert(worker.expect("x-worker"));
    }
    assert_eq!(
        workers.len(),
        2,
        "both workers answered (fresh connections over SO_REUSEPORT)"
    );
    for _ in 0..3 {
        assert_eq!(
            send(addr, b"HEAD /todos/7 HTTP/1.1\r\nHost: x\r\n\r\n").0,
            200
        );
    }
    for _ in 0..5 {
        assert_eq!(send(addr, &post("/todos", "text/plain", b"x")).0, 201);
    }
    for _ in 0..4 {
        assert_eq!(send(addr, &get("/fail")).0, 503);
    }
    for _ in 0..2 {
        assert_eq!(send(addr, &get("/panic")).0, 500);
    }
    // Scanners: every path new, none may become a label value.
    for i in 0..25 {
        assert_eq!(send(addr, &get(&format!("/wp-admin/{i}.php"))).0, 404);
    }
    for _ in 0..2 {
        assert_eq!(
            send(addr, b"DELETE /todos/1 HTTP/1.1\r\nHost: x\r\n\r\n").0,
            405
        );
    }

    // Scraped several times over fresh connections, so from both workers: each
    // sees the other's counts. The scrapes count themselves (after the response).
    let mut scrapes = Vec::new();
    for _ in 0..6 {
        scrapes.push(samples(&scrape(addr, None).0));
    }
    stop(server);

    let requests = "http_requests_total";
    for (n, s) in scrapes.iter().enumerate() {
        let expected = [
            (("GET", "/todos/:id", "2xx"), 40.0),
            (("HEAD", "/todos/:id", "2xx"), 3.0),
            (("POST", "/todos", "2xx"), 5.0),
            (("GET", "/fail", "5xx"), 4.0),
            (("GET", "/panic", "5xx"), 2.0),
            (("GET", UNMATCHED_ROUTE, "4xx"), 25.0),
            (("DELETE", UNMATCHED_ROUTE, "4xx"), 2.0),
            (("GET", "/metrics", "2xx"), n as f64),
        ];
        for ((method, route, status), count) in expected {
            let labels = [("method", method), ("route", route), ("status", status)];
            assert_eq!(
                value(s, requests, &labels),
                count,
                "scrape {n}: {method} {route} {status}"
            );
        }
        let errors = "http_request_errors_total";
        assert_eq!(
            value(s, errors, &[("method", "GET"), ("route", "/fail")]),
            4.0
        );
        assert_eq!(
            value(s, errors, &[("method", "GET"), ("route", "/panic")]),
            2.0
        );
        assert!(s.contains_key(&(
            errors.to_owned(),
            labels(&[("method", "GET"), ("route", "/todos/:id")])
        )));
        assert_eq!(
            value(s, errors, &[("method", "GET"), ("route", "/todos/:id")]),
            0.0
        );

        // Bounded cardinality: the label values are the templates and one more.
        let routes: BTreeSet<&str> = s
            .keys()
            .filter_map(|(_, l)| l.get("route"))
            .map(String::as_str)
            .collect();
        let allowed = [
            "/todos/:id",
            "/todos",
            "/fail",
            "/panic",
            "/metrics",
            UNMATCHED_ROUTE,
        ];
        assert!(routes.iter().all(|r| allowed.contains(r)), "{routes:?}");
        assert_eq!(
            s.keys().filter(|(name, _)| name == requests).count(),
            7 + (n > 0) as usize
        );

        check_histograms(s);
    }
}

/// For every `http_requests_total` label set: the histogram's buckets are the
/// default bounds, cumulative, `+Inf` equal to `_count` equal to the request count.
fn check_histograms(s: &Samples) {
    let name = "http_request_duration_seconds";
    for ((_, labels), &count) in s.iter().filter(|((n, _), _)| n == "http_requests_total") {
        let with = |extra: Option<(&str, String)>| {
            let mut l = labels.clone();
            if let Some((k, v)) = extra {
                l.insert(k.to_owned(), v);
            }
            l
        };
        let hist_count = s[&(format!("{name}_count"), with(None))];
        assert_eq!(hist_count, count, "{labels:?}");
        assert!(s[&(format!("{name}_sum"), with(None))] >= 0.0);
        let mut last = 0.0;
        for bound in DEFAULT_BUCKETS
            .iter()
            .map(|b| b.to_string())
            .chain(["+Inf".into()])
        {
            let key = (format!("{name}_bucket"), with(Some(("le", bound.clone()))));
            let bucket = *s
                .get(&key)
                .unwrap_or_else(|| panic!("no bucket le={bound} for {labels:?}"));
            assert!(
                bucket >= last,
                "buckets not cumulative at le={bound}: {labels:?}"
            );
            last = bucket;
        }
        assert_eq!(last, count, "+Inf bucket of {labels:?}");
    }
}

/// The scrape in both formats, parsed by the `prometheus_client` Python package's
/// parsers (the OpenMetrics one is strict: types, suffixes, bucket order, `# EOF`).
#[test]
fn the_output_is_accepted_by_the_prometheus_parsers() {
    let metrics = Metrics::new();
    let server = start_with(app(&metrics), config().workers(2));
    let addr = server.addr();
    send(addr, &get("/todos/1"));
    send(addr, &get("/fail"));
    send(addr, &get("/nowhere"));
    let (text, text_type) = scrape(addr, None);
    let openmetrics_accept =
        "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
    let (om, om_type) = scrape(addr, Some(openmetrics_accept));
    stop(server);
    assert_eq!(text_type, "text/plain; version=0.0.4; charset=utf-8");
    assert_eq!(
        om_type,
        "application/openmetrics-text; version=1.0.0; charset=utf-8"
    );
    assert!(om.ends_with("# EOF\n"), "{om}");

    let Some(python) = python_with_prometheus_client() else {
        return;
    };
    for (format, body) in [("prometheus", &text), ("openmetrics", &om)] {
        let families = parse_with_python(&python, format, body);
        for (family, kind) in [
            ("http_requests", "counter"),
            ("http_request_errors", "counter"),
            ("http_request_duration_seconds", "histogram"),
        ] {
            assert!(
                families.contains(&format!("{family} {kind}")),
                "{format}: no {kind} {family} in {families:?}\n{body}"
            );
        }
    }
}

const PARSE: &str = r#"
import sys
from prometheus_client.parser import text_string_to_metric_families as prometheus
from prometheus_client.openmetrics.parser import text_string_to_metric_families as openmetrics
parse = openmetrics if sys.argv[1] == "openmetrics" else prometheus
for family in parse(sys.stdin.read()):
    print(family.name, family.type)
"#;

/// Parses `body` with the Python parser of `format`; the families' `name type`.
fn parse_with_python(python: &str, format: &str, body: &str) -> Vec<String> {
    let mut child = Command::new(python)
        .args(["-c", PARSE, format])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run python");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(body.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "the {format} parser rejected the scrape:\n{}\n---\n{body}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// `python3` when it can import `prometheus_client` (scripts/test.sh puts its venv,
/// which has it, first on `PATH`); otherwise `None` after saying so, or a failure
/// under `CI`.
fn python_with_prometheus_client() -> Option<String> {
    let python = "python3".to_owned();
    let found = Command::new(&python)
        .args(["-c", "import prometheus_client"])
        .output()
        .is_ok_and(|o| o.status.success());
    if found {
        return Some(python);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "python3 cannot import prometheus_client; CI runs the tests through \
         scripts/test.sh, which installs it in target/lint-venv"
    );
    eprintln!(
        "SKIPPED: the Prometheus parsers (python3 cannot import prometheus_client: run \
         scripts/test.sh, or pip install prometheus-client)"
    );
    None
}
