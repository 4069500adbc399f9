//! Route patterns: checking them and turning the `:name` / `*name` syntax into
//! matchit's `{name}` / `{*name}`.

use super::RouteError;

/// A checked pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Pattern {
    /// The pattern in matchit's syntax.
    pub(crate) matchit: String,
    /// The parameter names, in order.
    pub(crate) params: Vec<String>,
    /// For a pattern without parameters: the one path it matches (escapes undone).
    pub(crate) literal: Option<String>,
}

/// Whether `name` is `[A-Za-z_][A-Za-z0-9_]*`.
fn valid_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    matches!(bytes.next(), Some(b'a'..=b'z' | b'A'..=b'Z' | b'_'))
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Checks `pattern` and converts it to matchit's syntax.
///
/// Accepted: a whole segment `:name` (a parameter) or, as the last segment, `*name`
/// (a catch-all); matchit's `{name}` at the end of a segment (after an optional static
/// prefix, as in `/v{version}`), `{*name}` as the whole last segment, and `{{` / `}}`
/// for literal braces.
pub(crate) fn parse(pattern: &str) -> Result<Pattern, RouteError> {
    if pattern.is_empty() {
        return Err(RouteError::Empty);
    }
    let Some(rest) = pattern.strip_prefix('/') else {
        return Err(RouteError::MissingLeadingSlash {
            pattern: pattern.to_owned(),
        });
    };
    let invalid_name = |name: &str| RouteError::InvalidParamName {
        pattern: pattern.to_owned(),
        name: name.to_owned(),
    };
    let invalid = |reason: &str| RouteError::InvalidPattern {
        pattern: pattern.to_owned(),
        reason: reason.to_owned(),
    };
    let catch_all = || RouteError::InvalidCatchAll {
        pattern: pattern.to_owned(),
    };

    let mut matchit = String::with_capacity(pattern.len() + 8);
    let mut literal = String::with_capacity(pattern.len());
    let mut params: Vec<String> = Vec::new();
    let mut segments = rest.split('/').peekable();
    while let Some(segment) = segments.next() {
        let last = segments.peek().is_none();
        matchit.push('/');
        literal.push('/');
        if let Some(name) = segment.strip_prefix(':') {
            if !valid_name(name) {
                return Err(invalid_name(name));
            }
            matchit.push('{');
            matchit.push_str(name);
            matchit.push('}');
            params.push(name.to_owned());
            continue;
        }
        if let Some(name) = segment.strip_prefix('*') {
            if !valid_name(name) {
                return Err(invalid_name(name));
            }
            if !last {
                return Err(catch_all());
            }
            matchit.push_str("{*");
            matchit.push_str(name);
            matchit.push('}');
            params.push(name.to_owned());
            continue;
        }
        // A static segment, possibly ending with a `{name}`, with `{{`/`}}` escapes.
        let mut i = 0;
        let bytes = segment.as_bytes();
        while i < bytes.len() {
            match bytes[i] {
                b'{' if bytes.get(i + 1) == Some(&b'{') => {
                    matchit.push_str("{{");
                    literal.push('{');
                    i += 2;
                }
                b'}' if bytes.get(i + 1) == Some(&b'}') => {
                    matchit.push_str("}}");
                    literal.push('}');
                    i += 2;
                }
                b'}' => return Err(invalid("unmatched `}` (write `}}` for a literal brace)")),
                b'{' => {
                    let Some(len) = segment[i + 1..].find('}') else {
                        return Err(invalid("unclosed `{` (write `{{` for a literal brace)"));
                    };
                    let inner = &segment[i + 1..i + 1 + len];
                    let end = i + 2 + len;
                    if let Some(name) = inner.strip_prefix('*') {
                        if !valid_name(name) {
                            return Err(invalid_name(name));
                        }
                        if i != 0 || end != bytes.len() || !last {
                            return Err(catch_all());
                        }
                        params.push(name.to_owned());
                    } else {
                        if !valid_name(inner) {
                            return Err(invalid_name(inner));
                        }
                        if end != bytes.len() {
                            return Err(invalid(
                                "a parameter must end its path segment (a static prefix is fine)",
                            ));
                        }
                        params.push(inner.to_owned());
                    }
                    matchit.push_str(&segment[i..end]);
                    i = end;
                }
                _ => {
                    // Copy the run of ordinary characters up to the next brace.
                    let run = segment[i..].find(['{', '}']).unwrap_or(segment.len() - i);
                    matchit.push_str(&segment[i..i + run]);
                    literal.push_str(&segment[i..i + run]);
                    i += run;
                }
            }
        }
    }
    for (i, name) in params.iter().enumerate() {
        if params[..i].contains(name) {
            return Err(RouteError::DuplicateParam {
                pattern: pattern.to_owned(),
                name: name.clone(),
            });
        }
    }
    let literal = params.is_empty().then_some(literal);
    Ok(Pattern {
        matchit,
        params,
        literal,
    })
}

/// The parameter names of a route pattern, in order.
///
/// ```
/// use armature_core::routing::pattern_params;
///
/// assert_eq!(pattern_params("/users/:id/posts/{post}").unwrap(), ["id", "post"]);
/// assert_eq!(pattern_params("/files/*path").unwrap(), ["path"]);
/// assert!(pattern_params("/users/:id/:id").is_err());
/// ```
///
/// # Errors
///
/// The [`RouteError`] that adding the pattern to a router would give for its syntax.
pub fn pattern_params(pattern: &str) -> Result<Vec<String>, RouteError> {
    parse(pattern).map(|p| p.params)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversions() {
        let cases: &[(&str, &str, &[&str], Option<&str>)] = &[
            ("/", "/", &[], Some("/")),
            ("/users", "/users", &[], Some("/users")),
            ("/users/", "/users/", &[], Some("/users/")),
            ("/users/:id", "/users/{id}", &["id"], None),
            ("/users/{id}", "/users/{id}", &["id"], None),
            ("/u/:uid/p/{pid}", "/u/{uid}/p/{pid}", &["uid", "pid"], None),
            ("/files/*rest", "/files/{*rest}", &["rest"], None),
            ("/files/{*rest}", "/files/{*rest}", &["rest"], None),
            ("/img/icon-{name}", "/img/icon-{name}", &["name"], None),
            ("/v1:batch", "/v1:batch", &[], Some("/v1:batch")),
            ("/a*b", "/a*b", &[], Some("/a*b")),
            ("/{{raw}}", "/{{raw}}", &[], Some("/{raw}")),
            ("/x/{{{id}", "/x/{{{id}", &["id"], None),
            ("/x/{{a}}/{{", "/x/{{a}}/{{", &[], Some("/x/{a}/{")),
            ("/_a/:_b9", "/_a/{_b9}", &["_b9"], None),
            ("//double", "//double", &[], Some("//double")),
            ("/é/:ü_ok", "", &[], None),
        ];
        for &(input, matchit, params, literal) in cases {
            let got = parse(input);
            if matchit.is_empty() {
                assert!(got.is_err(), "{input} must be rejected");
                continue;
            }
            let got = got.unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(got.matchit, matchit, "{input}");
            assert_eq!(got.params, params, "{input}");
            assert_eq!(got.literal.as_deref(), literal, "{input}");
        }
    }

    #[test]
    fn errors() {
        let cases: &[(&str, &str)] = &[
            ("", "empty route pattern (patterns start with `/`)"),
            ("users", "route pattern `users` must start with `/`"),
            ("/users/:", "invalid parameter name `` in route pattern `/users/:` (names are letters, digits and `_`, not starting with a digit)"),
            ("/users/:1d", "invalid parameter name `1d` in route pattern `/users/:1d` (names are letters, digits and `_`, not starting with a digit)"),
            ("/users/:id.json", "invalid parameter name `id.json` in route pattern `/users/:id.json` (names are letters, digits and `_`, not starting with a digit)"),
            ("/users/{}", "invalid parameter name `` in route pattern `/users/{}` (names are letters, digits and `_`, not starting with a digit)"),
            ("/users/{a-b}", "invalid parameter name `a-b` in route pattern `/users/{a-b}` (names are letters, digits and `_`, not starting with a digit)"),
            ("/files/*", "invalid parameter name `` in route pattern `/files/*` (names are letters, digits and `_`, not starting with a digit)"),
            ("/a/:id/b/{id}", "parameter `id` appears twice in route pattern `/a/:id/b/{id}`"),
            ("/files/*rest/more", "catch-all parameter in route pattern `/files/*rest/more` must be the whole last segment"),
            ("/files/{*rest}/more", "catch-all parameter in route pattern `/files/{*rest}/more` must be the whole last segment"),
            ("/files/x{*rest}", "catch-all parameter in route pattern `/files/x{*rest}` must be the whole last segment"),
            ("/a/{id", "invalid route pattern `/a/{id`: unclosed `{` (write `{{` for a literal brace)"),
            ("/a/id}", "invalid route pattern `/a/id}`: unmatched `}` (write `}}` for a literal brace)"),
            ("/a/{x}-{y}", "invalid route pattern `/a/{x}-{y}`: a parameter must end its path segment (a static prefix is fine)"),
            ("/img/{name}.png", "invalid route pattern `/img/{name}.png`: a parameter must end its path segment (a static prefix is fine)"),
        ];
        for &(input, message) in cases {
            let err = parse(input).expect_err(input);
            assert_eq!(err.to_string(), message, "{input}");
            assert_eq!(pattern_params(input).unwrap_err(), err);
        }
    }
}
