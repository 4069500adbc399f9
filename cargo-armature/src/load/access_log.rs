//! Training from real traffic: an access log turned into a weighted [`Workload`].
//!
//! Two formats, one parser each, detected per line:
//!
//! - the *combined* log format nginx, Apache and most ingress controllers write:
//!   `1.2.3.4 - - [01/Dec/2026:20:00:00 +0000] "GET /users/42?page=2 HTTP/1.1" 200 512 "-" "curl/8"`
//! - Armature's own access log: a tracing event at INFO with target `armature::access`
//!   and the fields `method`, `path`, `status`, `bytes`, `duration_us`, `request_id`, as
//!   tracing_subscriber's default fmt writes it
//!   (`2026-12-01T20:00:00.123Z  INFO armature::access: method=GET path=/users/42 status=200 ...`;
//!   any prefix, ANSI colours, Debug-quoted values) or as its JSON lines
//!   (`{"level":"INFO","target":"armature::access","fields":{"method":"GET",...}}`).
//!
//! Each distinct `METHOD path?query` keeps its count as its weight. A log carries no
//! request bodies: a POST, PUT or PATCH takes the body of the workload entry for the
//! same route (`--workload`), or is dropped. What was kept and dropped, and why, is in
//! the returned [`LogSummary`].

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use anyhow::{Context, Result};

use super::workload::{RequestSpec, Workload};

/// The most distinct requests kept; rarer ones are dropped (and counted).
pub const MAX_DISTINCT: usize = 1000;

/// One request read from a log line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedRequest {
    /// `GET`, `POST`, ...
    pub method: String,
    /// Path and query.
    pub target: String,
    /// The response status.
    pub status: u16,
}

/// Why a line gave no request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Dropped {
    /// Neither format.
    Unreadable,
    /// A tracing line of another target or level.
    OtherEvent,
    /// A method with a body the log does not carry, and no body for its route in the
    /// workload file.
    NoBody,
    /// A status of 400 or more: training on it would train the error path.
    ErrorStatus,
    /// Not an origin-form target (`*`, `CONNECT host:port`, an absolute URL).
    NotAPath,
    /// Beyond the [`MAX_DISTINCT`] most frequent requests.
    Rare,
}

impl fmt::Display for Dropped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Dropped::Unreadable => "neither the combined format nor an armature::access event",
            Dropped::OtherEvent => "a log event of another target or level",
            Dropped::NoBody => {
                "POST/PUT/PATCH whose body the log does not carry, and no body for the route in --workload"
            }
            Dropped::ErrorStatus => "status >= 400 (would train the error path)",
            Dropped::NotAPath => "target is not a path (`*`, CONNECT, absolute URL)",
            Dropped::Rare => "rarer than the 1000 most frequent requests",
        })
    }
}

/// What reading a log kept and dropped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogSummary {
    /// Lines read (non-empty).
    pub lines: u64,
    /// Lines in the combined format.
    pub combined: u64,
    /// Armature access events.
    pub armature: u64,
    /// Requests kept.
    pub kept: u64,
    /// Distinct requests kept.
    pub distinct: usize,
    /// Requests that took their body from the workload file.
    pub bodies_from_workload: u64,
    /// Dropped lines by reason.
    pub dropped: BTreeMap<Dropped, u64>,
}

impl fmt::Display for LogSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} line(s): {} combined-format, {} armature::access; kept {} request(s) as {} distinct \
             weighted entries",
            self.lines, self.combined, self.armature, self.kept, self.distinct
        )?;
        if self.bodies_from_workload > 0 {
            write!(
                f,
                " ({} with bodies from --workload)",
                self.bodies_from_workload
            )?;
        }
        for (why, n) in &self.dropped {
            write!(f, "\n  dropped {n}: {why}")?;
        }
        Ok(())
    }
}

enum Parsed {
    Combined(LoggedRequest),
    Armature(LoggedRequest),
    Other(Dropped),
}

/// Parses one line of the combined log format: the quoted request line, then status.
pub fn parse_combined(line: &str) -> Option<LoggedRequest> {
    // `host ident user [time] "METHOD target PROTO" status bytes ...`
    let open = line.find("] \"")? + 3;
    let rest = &line[open..];
    let close = rest.find('"')?;
    let request = &rest[..close];
    let mut parts = request.split(' ');
    let method = parts.next()?;
    let target = parts.next()?;
    let proto = parts.next()?;
    if !proto.starts_with("HTTP/") || parts.next().is_some() {
        return None;
    }
    let status = rest[close + 1..].split_whitespace().next()?.parse().ok()?;
    valid_method(method).then(|| LoggedRequest {
        method: method.to_owned(),
        target: target.to_owned(),
        status,
    })
}

/// Parses an Armature access event written by tracing_subscriber's fmt layer (text).
/// `None` when the line is no `armature::access:` event.
pub fn parse_armature_text(line: &str) -> Option<Result<LoggedRequest, Dropped>> {
    let plain = crate::cargo::strip_ansi(line);
    let at = plain.find(" armature::access: ")?;
    let prefix = &plain[..at];
    if !prefix.split_whitespace().any(|w| w == "INFO") {
        return Some(Err(Dropped::OtherEvent));
    }
    let fields = text_fields(&plain[at + " armature::access: ".len()..]);
    let get = |k: &str| fields.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    Some(logged(get("method"), get("path"), get("status")).ok_or(Dropped::Unreadable))
}

/// Parses an Armature access event written by tracing_subscriber's JSON layer.
pub fn parse_armature_json(line: &str) -> Option<Result<LoggedRequest, Dropped>> {
    let value: serde_json::Value = serde_json::from_str(line.trim()).ok()?;
    if value.get("target").and_then(|t| t.as_str()) != Some("armature::access") {
        return Some(Err(Dropped::OtherEvent));
    }
    if value.get("level").and_then(|l| l.as_str()) != Some("INFO") {
        return Some(Err(Dropped::OtherEvent));
    }
    let fields = value.get("fields")?;
    let text = |k: &str| -> Option<String> {
        match fields.get(k)? {
            serde_json::Value::String(s) => Some(s.clone()),
            serde_json::Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    };
    let (m, p, s) = (text("method"), text("path"), text("status"));
    Some(logged(m.as_deref(), p.as_deref(), s.as_deref()).ok_or(Dropped::Unreadable))
}

fn logged(method: Option<&str>, path: Option<&str>, status: Option<&str>) -> Option<LoggedRequest> {
    let method = method?;
    valid_method(method).then_some(())?;
    Some(LoggedRequest {
        method: method.to_owned(),
        target: path?.to_owned(),
        status: status?.parse().ok()?,
    })
}

fn valid_method(m: &str) -> bool {
    !m.is_empty() && m.bytes().all(|b| b.is_ascii_uppercase())
}

/// `key=value` pairs, where a value is bare (up to a space) or Debug-quoted
/// (`"a \"b\" c"`), as tracing_subscriber's fmt writes them.
fn text_fields(s: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = s.trim_start();
    while let Some(eq) = rest.find('=') {
        let key = rest[..eq].trim().to_owned();
        let after = &rest[eq + 1..];
        let (value, next) = if let Some(quoted) = after.strip_prefix('"') {
            let mut value = String::new();
            let mut chars = quoted.char_indices();
            let mut end = quoted.len();
            while let Some((i, c)) = chars.next() {
                match c {
                    '\\' => match chars.next() {
                        Some((_, 'n')) => value.push('\n'),
                        Some((_, 't')) => value.push('\t'),
                        Some((_, other)) => value.push(other),
                        None => {}
                    },
                    '"' => {
                        end = i + 1;
                        break;
                    }
                    c => value.push(c),
                }
            }
            (value, &quoted[end.min(quoted.len())..])
        } else {
            let end = after.find(' ').unwrap_or(after.len());
            (after[..end].to_owned(), &after[end..])
        };
        out.push((key, value));
        rest = next.trim_start();
    }
    out
}

fn parse_line(line: &str) -> Parsed {
    let trimmed = line.trim_start();
    if trimmed.starts_with('{') {
        return match parse_armature_json(line) {
            Some(Ok(r)) => Parsed::Armature(r),
            Some(Err(d)) => Parsed::Other(d),
            None => Parsed::Other(Dropped::Unreadable),
        };
    }
    match parse_armature_text(line) {
        Some(Ok(r)) => return Parsed::Armature(r),
        Some(Err(d)) => return Parsed::Other(d),
        None => {}
    }
    match parse_combined(line) {
        Some(r) => Parsed::Combined(r),
        None => Parsed::Other(Dropped::Unreadable),
    }
}

/// Whether the workload's `route` (`/todos/{id}` or `/todos/:id` segments match any
/// segment; the query is ignored) matches `path`.
fn route_matches(route: &str, path: &str) -> bool {
    let strip = |p: &str| {
        p.split('?')
            .next()
            .unwrap_or("")
            .trim_end_matches('/')
            .to_owned()
    };
    let (route, path) = (strip(route), strip(path));
    let r: Vec<&str> = route.split('/').collect();
    let p: Vec<&str> = path.split('/').collect();
    r.len() == p.len()
        && r.iter()
            .zip(&p)
            .all(|(r, p)| r == p || r.starts_with('{') || (r.starts_with(':') && !p.is_empty()))
}

/// Turns the log text into a workload; `bodies` (the `--workload` entries) give the
/// bodies and headers of POST/PUT/PATCH routes. `source` names the log in messages.
pub fn workload_from_log(
    text: &str,
    source: &str,
    bodies: &[RequestSpec],
) -> (Option<Workload>, LogSummary) {
    let mut summary = LogSummary::default();
    let mut counts: BTreeMap<(String, String), u64> = BTreeMap::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        summary.lines += 1;
        let request = match parse_line(line) {
            Parsed::Combined(r) => {
                summary.combined += 1;
                r
            }
            Parsed::Armature(r) => {
                summary.armature += 1;
                r
            }
            Parsed::Other(why) => {
                *summary.dropped.entry(why).or_default() += 1;
                continue;
            }
        };
        let drop = if !request.target.starts_with('/') {
            Some(Dropped::NotAPath)
        } else if request.status >= 400 {
            Some(Dropped::ErrorStatus)
        } else {
            None
        };
        if let Some(why) = drop {
            *summary.dropped.entry(why).or_default() += 1;
            continue;
        }
        *counts.entry((request.method, request.target)).or_default() += 1;
    }

    let mut entries: Vec<(RequestSpec, u64)> = Vec::new();
    for ((method, target), n) in counts {
        let needs_body = matches!(method.as_str(), "POST" | "PUT" | "PATCH");
        let mut spec = RequestSpec::get(&target);
        spec.method = method.clone();
        if needs_body {
            match bodies
                .iter()
                .find(|b| b.method == method && route_matches(&b.path, &target))
            {
                Some(b) => {
                    spec.body = b.body.clone();
                    spec.headers = b.headers.clone();
                    summary.bodies_from_workload += n;
                }
                None => {
                    *summary.dropped.entry(Dropped::NoBody).or_default() += n;
                    continue;
                }
            }
        }
        entries.push((spec, n));
    }
    // The most frequent first; ties in path order (stable sort).
    entries.sort_by_key(|e| std::cmp::Reverse(e.1));
    if entries.len() > MAX_DISTINCT {
        let rare: u64 = entries[MAX_DISTINCT..].iter().map(|e| e.1).sum();
        summary.bodies_from_workload -= entries[MAX_DISTINCT..]
            .iter()
            .filter(|e| !e.0.body.is_empty())
            .map(|e| e.1)
            .sum::<u64>();
        *summary.dropped.entry(Dropped::Rare).or_default() += rare;
        entries.truncate(MAX_DISTINCT);
    }
    summary.kept = entries.iter().map(|e| e.1).sum();
    summary.distinct = entries.len();
    let requests: Vec<RequestSpec> = entries
        .into_iter()
        .map(|(mut spec, n)| {
            spec.weight = u32::try_from(n).unwrap_or(u32::MAX);
            spec
        })
        .collect();
    let workload = (!requests.is_empty()).then(|| Workload {
        source: format!("access log {source}"),
        requests,
    });
    (workload, summary)
}

/// Reads an access log file into a workload (see [`workload_from_log`]); fails when
/// nothing usable is left, with the summary.
pub fn read_log(path: &Path, bodies: &[RequestSpec]) -> Result<(Workload, LogSummary)> {
    let bytes =
        std::fs::read(path).with_context(|| format!("reading access log {}", path.display()))?;
    let text = String::from_utf8_lossy(&bytes);
    let (workload, summary) = workload_from_log(&text, &path.display().to_string(), bodies);
    let workload = workload.with_context(|| {
        format!(
            "no usable request in access log {}:\n{summary}\n(expected the combined log format or \
             Armature's `armature::access` events)",
            path.display()
        )
    })?;
    Ok((workload, summary))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn combined_lines() {
        let r = parse_combined(
            r#"10.0.0.1 - frank [01/Dec/2026:20:00:00 +0000] "GET /users/42?page=2 HTTP/1.1" 200 512 "-" "curl/8.0""#,
        )
        .unwrap();
        assert_eq!(r.method, "GET");
        assert_eq!(r.target, "/users/42?page=2");
        assert_eq!(r.status, 200);
        for bad in [
            "",
            "GET / HTTP/1.1",
            r#"1.2.3.4 - - [x] "\x16\x03\x01" 400 0 "-" "-""#,
            r#"1.2.3.4 - - [x] "GET / HTTP/1.1" - 0"#,
        ] {
            assert_eq!(parse_combined(bad), None, "{bad}");
        }
    }

    #[test]
    fn armature_text_lines() {
        for (line, method, target) in [
            (
                "2026-12-01T20:00:00.123Z  INFO armature::access: method=GET path=/users/42?page=2 status=200 bytes=512 duration_us=87 request_id=3f2a9c",
                "GET",
                "/users/42?page=2",
            ),
            (
                "\u{1b}[2m2026-12-01T20:00:00Z\u{1b}[0m \u{1b}[32m INFO\u{1b}[0m \u{1b}[2marmature::access\u{1b}[0m\u{1b}[2m:\u{1b}[0m method=POST path=\"/a b?q=\\\"x\\\"\" status=201 bytes=2 duration_us=5 request_id=-",
                "POST",
                "/a b?q=\"x\"",
            ),
            (
                "worker-1 ThreadId(2) INFO armature::access: method=PUT path=/todos/1 status=204 bytes=0 duration_us=9 request_id=-",
                "PUT",
                "/todos/1",
            ),
        ] {
            let r = parse_armature_text(line).unwrap().unwrap();
            assert_eq!((r.method.as_str(), r.target.as_str()), (method, target), "{line}");
        }
        assert_eq!(
            parse_armature_text("2026 DEBUG armature::access: method=GET path=/ status=200"),
            Some(Err(Dropped::OtherEvent))
        );
        assert_eq!(parse_armature_text("2026 INFO app: started"), None);
    }

    #[test]
    fn armature_json_lines() {
        let line = r#"{"timestamp":"2026-12-01T20:00:00Z","level":"INFO","fields":{"method":"GET","path":"/users/7","status":200,"bytes":5,"duration_us":3,"request_id":"-"},"target":"armature::access"}"#;
        let r = parse_armature_json(line).unwrap().unwrap();
        assert_eq!(
            (r.method.as_str(), r.target.as_str(), r.status),
            ("GET", "/users/7", 200)
        );
        let other = r#"{"level":"INFO","fields":{"message":"hi"},"target":"app"}"#;
        assert_eq!(parse_armature_json(other), Some(Err(Dropped::OtherEvent)));
    }

    #[test]
    fn weights_bodies_and_drops() {
        let mut post = RequestSpec::get("/todos");
        post.method = "POST".into();
        post.body = b"{\"title\":\"x\"}".to_vec();
        let log = "\
1.1.1.1 - - [t] \"GET /a?x=1 HTTP/1.1\" 200 1 \"-\" \"-\"
1.1.1.1 - - [t] \"GET /a?x=1 HTTP/1.1\" 200 1 \"-\" \"-\"
1.1.1.1 - - [t] \"GET /a?x=2 HTTP/1.1\" 304 0 \"-\" \"-\"
1.1.1.1 - - [t] \"POST /todos HTTP/1.1\" 201 1 \"-\" \"-\"
1.1.1.1 - - [t] \"PATCH /todos/1 HTTP/1.1\" 200 1 \"-\" \"-\"
1.1.1.1 - - [t] \"GET /missing HTTP/1.1\" 404 1 \"-\" \"-\"
1.1.1.1 - - [t] \"OPTIONS * HTTP/1.1\" 200 0 \"-\" \"-\"
garbage
";
        let (w, s) = workload_from_log(log, "x.log", &[post]);
        let w = w.unwrap();
        let got: Vec<String> = w.requests.iter().map(|r| r.to_string()).collect();
        assert_eq!(
            got,
            ["GET /a?x=1 ×2", "GET /a?x=2", "POST /todos (13 B body)"]
        );
        assert_eq!((s.lines, s.combined, s.kept, s.distinct), (8, 7, 4, 3));
        assert_eq!(s.bodies_from_workload, 1);
        assert_eq!(s.dropped[&Dropped::NoBody], 1);
        assert_eq!(s.dropped[&Dropped::ErrorStatus], 1);
        assert_eq!(s.dropped[&Dropped::NotAPath], 1);
        assert_eq!(s.dropped[&Dropped::Unreadable], 1);
        let text = s.to_string();
        assert!(
            text.contains("dropped 1: POST/PUT/PATCH whose body"),
            "{text}"
        );
    }

    fn fixture(name: &str) -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/pgo")
            .join(name)
    }

    fn bodies(file: &str) -> Vec<RequestSpec> {
        let c = crate::load::PgoConfig::from_toml_file(&fixture(file)).unwrap();
        c.training.into_iter().flat_map(|w| w.requests).collect()
    }

    #[test]
    fn the_combined_fixture() {
        let (w, s) = read_log(
            &fixture("combined-access.log"),
            &bodies("combined-workload.toml"),
        )
        .unwrap();
        let got: Vec<String> = w.requests.iter().map(|r| r.to_string()).collect();
        assert_eq!(
            got,
            [
                "GET /health ×3",
                "GET /users/7 ×2",
                "GET /",
                "GET /users/12?expand=teams",
                "POST /echo (11 B body)",
            ]
        );
        assert_eq!((s.lines, s.combined, s.armature, s.kept), (11, 10, 0, 8));
        assert_eq!(s.dropped[&Dropped::NoBody], 1, "POST /users");
        assert_eq!(s.dropped[&Dropped::ErrorStatus], 1);
        assert_eq!(s.dropped[&Dropped::Unreadable], 1, "a TLS hello");
    }

    #[test]
    fn the_armature_fixture() {
        let (w, s) = read_log(
            &fixture("armature-access.log"),
            &bodies("api-workload.toml"),
        )
        .unwrap();
        let got: Vec<String> = w.requests.iter().map(|r| r.to_string()).collect();
        assert_eq!(got[0], "GET /todos/1 ×2");
        for want in [
            "GET /health",
            "GET /todos?limit=10",
            "GET /todos?done=false&limit=5",
            "GET /todos/2",
            "DELETE /todos/3",
        ] {
            assert!(got.iter().any(|g| g == want), "{want} in {got:?}");
        }
        let post = w.requests.iter().find(|r| r.method == "POST").unwrap();
        assert!(String::from_utf8_lossy(&post.body).contains("water the plants"));
        assert!(w
            .requests
            .iter()
            .any(|r| r.method == "PUT" && !r.body.is_empty()));
        assert_eq!((s.lines, s.armature, s.kept, s.distinct), (14, 11, 9, 8));
        assert_eq!(s.dropped[&Dropped::NoBody], 1, "PATCH has no workload body");
        assert_eq!(
            s.dropped[&Dropped::OtherEvent],
            2,
            "DEBUG and another target"
        );
        assert_eq!(s.dropped[&Dropped::ErrorStatus], 1);
        assert_eq!(s.dropped[&Dropped::Unreadable], 1, "the startup line");
    }

    #[test]
    fn a_log_with_nothing_usable_fails_with_the_summary() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("empty.log");
        std::fs::write(&log, "hello\n").unwrap();
        let err = format!("{:#}", read_log(&log, &[]).unwrap_err());
        assert!(err.contains("no usable request"), "{err}");
        assert!(err.contains("dropped 1: neither"), "{err}");
    }

    #[test]
    fn routes_with_parameters_match() {
        assert!(route_matches("/todos/{id}", "/todos/9?x=1"));
        assert!(route_matches("/todos/:id", "/todos/9"));
        assert!(route_matches("/todos/", "/todos"));
        assert!(!route_matches("/todos/{id}", "/todos"));
        assert!(!route_matches("/users/{id}", "/todos/9"));
    }
}
