//! Workloads: weighted HTTP requests, read from `[package.metadata.armature.pgo]` or a TOML file.
//!
//! The format (the same keys at the top level of a `--workload` file, or under
//! `[package.metadata.armature.pgo]` in `Cargo.toml`):
//!
//! ```toml
//! duration = 10                 # seconds of training load (optional; the CLI wins)
//! connections = 16              # (optional; the CLI wins)
//! server-args = ["--addr", "{addr}"]   # how the server learns its address (default: $HOST/$PORT)
//! routes = ["/", "/health"]     # shorthand: GET, weight 1 (same as `requests`)
//! requests = [                  # the training mix
//!   "/users/7",                 # "PATH" or "METHOD PATH"
//!   { method = "POST", path = "/users", weight = 3, json = { name = "ann" } },
//!   { path = "/search?q=x", headers = { accept = "application/json" } },
//!   { method = "PUT", path = "/raw", body = "plain text" },
//! ]
//! measure = ["/", "/users/9"]   # the mix for the before/after comparison (default: the training mix)
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use anyhow::{bail, Context, Result};
use serde_json::Value;

/// One kind of request in a workload, with its share of the load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestSpec {
    /// `GET`, `POST`, ... (upper case).
    pub method: String,
    /// Path and query, starting with `/`.
    pub path: String,
    /// Extra headers (`Host` and `Content-Length` are added by the driver).
    pub headers: Vec<(String, String)>,
    /// The body; empty for none.
    pub body: Vec<u8>,
    /// Relative weight, at least 1.
    pub weight: u32,
}

impl RequestSpec {
    /// `GET path`, weight 1.
    pub fn get(path: &str) -> RequestSpec {
        RequestSpec {
            method: "GET".into(),
            path: path.into(),
            headers: Vec::new(),
            body: Vec::new(),
            weight: 1,
        }
    }
}

impl fmt::Display for RequestSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.method, self.path)?;
        if !self.body.is_empty() {
            write!(f, " ({} B body)", self.body.len())?;
        }
        if self.weight != 1 {
            write!(f, " ×{}", self.weight)?;
        }
        Ok(())
    }
}

/// A weighted mix of requests.
///
/// ```
/// use cargo_armature::load::{RequestSpec, Workload};
/// let mut post = RequestSpec::get("/users");
/// post.method = "POST".into();
/// post.weight = 3;
/// let w = Workload { source: "example".into(), requests: vec![RequestSpec::get("/"), post] };
/// let order = w.schedule();
/// assert_eq!(order.len(), 4);
/// assert_eq!(order.iter().filter(|&&i| i == 1).count(), 3);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Workload {
    /// Where it came from, for messages (`Cargo.toml [package.metadata.armature.pgo]`).
    pub source: String,
    /// The requests; never empty.
    pub requests: Vec<RequestSpec>,
}

/// Longest schedule built from weights; larger weight sums are scaled down.
const MAX_SCHEDULE: u64 = 10_000;

impl Workload {
    /// The default when nothing is configured: `GET /` and `GET /health`.
    pub fn default_routes() -> Workload {
        Workload {
            source: "default (GET / and GET /health)".into(),
            requests: vec![RequestSpec::get("/"), RequestSpec::get("/health")],
        }
    }

    /// The order in which requests are sent, as indexes into `requests`: each appears
    /// `weight` times (after dividing by the weights' gcd, and scaling down when the sum
    /// exceeds 10 000), interleaved by smooth weighted round-robin so that the mix is
    /// even over any stretch of the run.
    pub fn schedule(&self) -> Vec<usize> {
        let g = self
            .requests
            .iter()
            .fold(0u64, |g, r| gcd(g, u64::from(r.weight.max(1))));
        let mut weights: Vec<u64> = self
            .requests
            .iter()
            .map(|r| u64::from(r.weight.max(1)) / g.max(1))
            .collect();
        let total: u64 = weights.iter().sum();
        if total > MAX_SCHEDULE {
            for w in &mut weights {
                *w = (*w * MAX_SCHEDULE / total).max(1);
            }
        }
        let total: i64 = weights.iter().sum::<u64>() as i64;
        let mut current = vec![0i64; weights.len()];
        let mut out = Vec::with_capacity(total as usize);
        for _ in 0..total {
            for (c, w) in current.iter_mut().zip(&weights) {
                *c += *w as i64;
            }
            let (best, _) = current
                .iter()
                .enumerate()
                .max_by_key(|&(i, c)| (*c, std::cmp::Reverse(i)))
                .expect("a workload has at least one request");
            current[best] -= total;
            out.push(best);
        }
        out
    }
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

/// The `pgo` settings of a project or workload file (see the module docs).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PgoConfig {
    /// The training mix (`requests` and `routes` together), if given.
    pub training: Option<Workload>,
    /// The measurement mix (`measure`), if given.
    pub measure: Option<Workload>,
    /// `duration`, seconds.
    pub duration: Option<f64>,
    /// `connections`.
    pub connections: Option<u32>,
    /// `server-args`, with `{addr}`, `{host}` and `{port}` placeholders.
    pub server_args: Option<Vec<String>>,
}

impl PgoConfig {
    /// Reads a workload file (TOML). Any error is bad input ([`crate::error::USAGE`]).
    pub fn from_toml_file(path: &Path) -> Result<PgoConfig> {
        Self::read_toml_file(path).map_err(|e| crate::error::usage(format!("{e:#}")))
    }

    fn read_toml_file(path: &Path) -> Result<PgoConfig> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading workload file {}", path.display()))?;
        let doc: toml_edit::DocumentMut = text
            .parse()
            .with_context(|| format!("parsing workload file {} as TOML", path.display()))?;
        let value = table_to_json(doc.as_table());
        PgoConfig::read_json(&value, &path.display().to_string())
            .with_context(|| format!("in workload file {}", path.display()))
    }

    /// Reads the value of `[package.metadata.armature.pgo]` as cargo metadata gives it.
    /// `source` names it in messages. Any error is bad input ([`crate::error::USAGE`]).
    pub fn from_json(value: &Value, source: &str) -> Result<PgoConfig> {
        Self::read_json(value, source).map_err(|e| crate::error::usage(format!("{e:#}")))
    }

    fn read_json(value: &Value, source: &str) -> Result<PgoConfig> {
        let obj = value
            .as_object()
            .context("the pgo settings must be a table")?;
        const KNOWN: [&str; 6] = [
            "routes",
            "requests",
            "measure",
            "duration",
            "connections",
            "server-args",
        ];
        for key in obj.keys() {
            if !KNOWN.contains(&key.as_str()) {
                bail!(
                    "unknown key `{key}` (known: {})",
                    KNOWN.map(|k| format!("`{k}`")).join(", ")
                );
            }
        }
        let mut training = Vec::new();
        for key in ["routes", "requests"] {
            if let Some(v) = obj.get(key) {
                training.extend(parse_requests(v).with_context(|| format!("in `{key}`"))?);
            }
        }
        let measure = match obj.get("measure") {
            Some(v) => Some(parse_requests(v).context("in `measure`")?),
            None => None,
        };
        let duration = match obj.get("duration") {
            Some(v) => Some(
                v.as_f64()
                    .filter(|d| *d > 0.0)
                    .context("`duration` must be a positive number of seconds")?,
            ),
            None => None,
        };
        let connections = match obj.get("connections") {
            Some(v) => Some(
                v.as_u64()
                    .filter(|c| (1..=10_000).contains(c))
                    .context("`connections` must be an integer from 1 to 10000")?
                    as u32,
            ),
            None => None,
        };
        let server_args = match obj.get("server-args") {
            Some(Value::Array(a)) => Some(
                a.iter()
                    .map(|s| s.as_str().map(str::to_owned))
                    .collect::<Option<Vec<_>>>()
                    .context("`server-args` must be an array of strings")?,
            ),
            Some(_) => bail!("`server-args` must be an array of strings"),
            None => None,
        };
        let workload = |requests: Vec<RequestSpec>, what: &str| Workload {
            source: format!("{source} ({what})"),
            requests,
        };
        Ok(PgoConfig {
            training: (!training.is_empty()).then(|| workload(training, "training mix")),
            measure: measure.map(|m| workload(m, "measurement mix")),
            duration,
            connections,
            server_args,
        })
    }
}

fn parse_requests(v: &Value) -> Result<Vec<RequestSpec>> {
    let items = v
        .as_array()
        .context("expected an array of requests (strings or tables)")?;
    if items.is_empty() {
        bail!("the array is empty");
    }
    items
        .iter()
        .enumerate()
        .map(|(i, item)| parse_request(item).with_context(|| format!("request #{}", i + 1)))
        .collect()
}

fn parse_request(v: &Value) -> Result<RequestSpec> {
    let spec = match v {
        Value::String(s) => {
            let mut parts = s.split_whitespace();
            let (method, path) = match (parts.next(), parts.next(), parts.next()) {
                (Some(p), None, None) => ("GET", p),
                (Some(m), Some(p), None) => (m, p),
                _ => bail!("expected \"PATH\" or \"METHOD PATH\", got {s:?}"),
            };
            RequestSpec {
                method: method.to_owned(),
                path: path.to_owned(),
                headers: Vec::new(),
                body: Vec::new(),
                weight: 1,
            }
        }
        Value::Object(o) => {
            const KNOWN: [&str; 6] = ["method", "path", "weight", "headers", "body", "json"];
            if let Some(k) = o.keys().find(|k| !KNOWN.contains(&k.as_str())) {
                bail!(
                    "unknown key `{k}` (known: {})",
                    KNOWN.map(|k| format!("`{k}`")).join(", ")
                );
            }
            let path = o
                .get("path")
                .and_then(Value::as_str)
                .context("missing `path` (a string)")?;
            let method = match o.get("method") {
                Some(m) => m.as_str().context("`method` must be a string")?,
                None => "GET",
            };
            let weight = match o.get("weight") {
                Some(w) => w
                    .as_u64()
                    .filter(|w| (1..=1_000_000).contains(w))
                    .context("`weight` must be an integer from 1 to 1000000")?
                    as u32,
                None => 1,
            };
            let mut headers = Vec::new();
            if let Some(h) = o.get("headers") {
                let h = h
                    .as_object()
                    .context("`headers` must be a table of strings")?;
                for (k, v) in h {
                    let v = v
                        .as_str()
                        .with_context(|| format!("header `{k}` must be a string"))?;
                    headers.push((k.clone(), v.to_owned()));
                }
            }
            let mut body = Vec::new();
            match (o.get("body"), o.get("json")) {
                (Some(_), Some(_)) => bail!("give either `body` or `json`, not both"),
                (Some(b), None) => {
                    body = b
                        .as_str()
                        .context("`body` must be a string")?
                        .as_bytes()
                        .to_vec();
                }
                (None, Some(j)) => {
                    body = serde_json::to_vec(j)?;
                    if !headers
                        .iter()
                        .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
                    {
                        headers.push(("Content-Type".into(), "application/json".into()));
                    }
                }
                (None, None) => {}
            }
            RequestSpec {
                method: method.to_owned(),
                path: path.to_owned(),
                headers,
                body,
                weight,
            }
        }
        _ => bail!("expected a string or a table"),
    };
    validate(spec)
}

fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

fn validate(mut spec: RequestSpec) -> Result<RequestSpec> {
    spec.method = spec.method.to_ascii_uppercase();
    if !is_token(&spec.method) {
        bail!("invalid method {:?}", spec.method);
    }
    if !spec.path.starts_with('/') || spec.path.bytes().any(|b| b <= b' ' || b == 0x7f) {
        bail!(
            "invalid path {:?}: it must start with `/` and contain no spaces or control characters",
            spec.path
        );
    }
    for (k, v) in &spec.headers {
        if !is_token(k) {
            bail!("invalid header name {k:?}");
        }
        if v.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0) {
            bail!("header `{k}` has a line break in its value");
        }
        if k.eq_ignore_ascii_case("content-length") || k.eq_ignore_ascii_case("host") {
            bail!("header `{k}` is set by the load driver; leave it out");
        }
    }
    Ok(spec)
}

/// Converts a TOML table to JSON (dates become strings), so that a workload file and
/// cargo's metadata go through one parser.
fn table_to_json(t: &toml_edit::Table) -> Value {
    let map: BTreeMap<String, Value> = t
        .iter()
        .filter_map(|(k, item)| item_to_json(item).map(|v| (k.to_owned(), v)))
        .collect();
    Value::Object(map.into_iter().collect())
}

fn item_to_json(item: &toml_edit::Item) -> Option<Value> {
    match item {
        toml_edit::Item::None => None,
        toml_edit::Item::Value(v) => Some(value_to_json(v)),
        toml_edit::Item::Table(t) => Some(table_to_json(t)),
        toml_edit::Item::ArrayOfTables(a) => {
            Some(Value::Array(a.iter().map(table_to_json).collect()))
        }
    }
}

fn value_to_json(v: &toml_edit::Value) -> Value {
    use toml_edit::Value as V;
    match v {
        V::String(s) => Value::String(s.value().clone()),
        V::Integer(i) => Value::from(*i.value()),
        V::Float(f) => serde_json::Number::from_f64(*f.value())
            .map(Value::Number)
            .unwrap_or(Value::Null),
        V::Boolean(b) => Value::Bool(*b.value()),
        V::Datetime(d) => Value::String(d.value().to_string()),
        V::Array(a) => Value::Array(a.iter().map(value_to_json).collect()),
        V::InlineTable(t) => Value::Object(
            t.iter()
                .map(|(k, v)| (k.to_owned(), value_to_json(v)))
                .collect(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_toml(text: &str) -> Result<PgoConfig> {
        let doc: toml_edit::DocumentMut = text.parse()?;
        PgoConfig::from_json(&table_to_json(doc.as_table()), "test")
    }

    #[test]
    fn full_workload_file() {
        let cfg = parse_toml(
            r#"
            duration = 2.5
            connections = 8
            server-args = ["--addr", "{addr}"]
            routes = ["/", "/health"]

            [[requests]]
            method = "post"
            path = "/users"
            weight = 3
            json = { name = "ann" }

            [[requests]]
            path = "/search?q=x"
            headers = { accept = "application/json" }

            [[measure]]
            path = "/users/9"
            "#,
        )
        .unwrap();
        let t = cfg.training.unwrap();
        assert_eq!(t.requests.len(), 4);
        assert_eq!(t.requests[0], RequestSpec::get("/"));
        let post = &t.requests[2];
        assert_eq!(post.method, "POST");
        assert_eq!(post.weight, 3);
        assert_eq!(post.body, br#"{"name":"ann"}"#);
        assert!(post
            .headers
            .contains(&("Content-Type".into(), "application/json".into())));
        assert_eq!(
            t.requests[3].headers,
            vec![("accept".into(), "application/json".into())]
        );
        assert_eq!(
            cfg.measure.unwrap().requests,
            vec![RequestSpec::get("/users/9")]
        );
        assert_eq!(cfg.duration, Some(2.5));
        assert_eq!(cfg.connections, Some(8));
        assert_eq!(cfg.server_args.unwrap(), vec!["--addr", "{addr}"]);
    }

    #[test]
    fn short_forms_and_metadata_json() {
        let v = serde_json::json!({ "requests": ["/a", "DELETE /b"] });
        let cfg = PgoConfig::from_json(&v, "Cargo.toml").unwrap();
        let r = cfg.training.unwrap().requests;
        assert_eq!(r[1].method, "DELETE");
        assert_eq!(r[1].path, "/b");
        assert!(cfg.measure.is_none());
        assert_eq!(
            PgoConfig::from_json(&serde_json::json!({}), "x").unwrap(),
            PgoConfig::default()
        );
    }

    #[test]
    fn mistakes_are_reported() {
        let cases = [
            ("routes = [\"users\"]", "invalid path"),
            ("requests = [{ path = \"/\", weight = 0 }]", "`weight`"),
            (
                "requests = [{ path = \"/\", wieght = 2 }]",
                "unknown key `wieght`",
            ),
            ("requests = [{ method = \"GET\" }]", "missing `path`"),
            (
                "requests = [{ path = \"/\", body = \"x\", json = 1 }]",
                "either `body` or `json`",
            ),
            (
                "requests = [{ path = \"/\", headers = { Host = \"x\" } }]",
                "set by the load driver",
            ),
            ("requests = [\"GET / extra\"]", "METHOD PATH"),
            ("requests = []", "empty"),
            ("duraton = 3", "unknown key `duraton`"),
            ("duration = -1", "positive"),
        ];
        for (text, want) in cases {
            let err = format!("{:#}", parse_toml(text).unwrap_err());
            assert!(err.contains(want), "{text}: {err}");
        }
    }

    #[test]
    fn schedule_interleaves_by_weight() {
        let mut reqs = vec![RequestSpec::get("/a"), RequestSpec::get("/b")];
        reqs[0].weight = 6;
        reqs[1].weight = 2;
        let w = Workload {
            source: "t".into(),
            requests: reqs,
        };
        // gcd 2: weights 3 and 1, interleaved, not "a a a b".
        assert_eq!(w.schedule(), vec![0, 0, 1, 0]);

        let mut big = RequestSpec::get("/big");
        big.weight = 1_000_000;
        let w = Workload {
            source: "t".into(),
            requests: vec![big, RequestSpec::get("/small")],
        };
        let s = w.schedule();
        assert!(s.len() as u64 <= MAX_SCHEDULE + 1);
        assert!(s.contains(&1));
    }
}
