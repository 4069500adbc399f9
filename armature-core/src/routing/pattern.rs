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

/// What is wrong with a route pattern: the one grammar, checked by [`check`] both
/// when a literal is compiled (`route!`) and when a route is added at run time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fault {
    /// The pattern is empty.
    Empty,
    /// The pattern does not start with `/`.
    MissingLeadingSlash,
    /// `//`: a segment with nothing in it (only a literal checked strictly; at
    /// run time `//double` stays a valid static route, as it always was).
    EmptySegment,
    /// A parameter name, `pattern[start..end]`, is empty or not an identifier.
    InvalidName { start: usize, end: usize },
    /// The parameter `pattern[start..end]` repeats an earlier one's name.
    DuplicateParam { start: usize, end: usize },
    /// A catch-all is not the whole last segment.
    CatchAllNotLast,
    /// `{` without its `}`.
    UnclosedBrace,
    /// `}` without its `{`.
    UnmatchedBrace,
    /// `{name}` followed by more of its segment.
    ParamNotAtSegmentEnd,
}

impl Fault {
    /// For the faults without a variant of their own in [`RouteError`]: the reason.
    pub(crate) const fn reason(self) -> &'static str {
        match self {
            Fault::UnclosedBrace => "unclosed `{` (write `{{` for a literal brace)",
            Fault::UnmatchedBrace => "unmatched `}` (write `}}` for a literal brace)",
            Fault::ParamNotAtSegmentEnd => {
                "a parameter must end its path segment (a static prefix is fine)"
            }
            Fault::EmptySegment => "empty path segment (`//`)",
            Fault::Empty => "empty route pattern (patterns start with `/`)",
            Fault::MissingLeadingSlash => "must start with `/`",
            Fault::InvalidName { start, end } if start == end => "unnamed parameter",
            Fault::InvalidName { .. } => {
                "invalid parameter name (names are letters, digits and `_`, not starting with a digit)"
            }
            Fault::DuplicateParam { .. } => "parameter name appears twice",
            Fault::CatchAllNotLast => "a catch-all parameter must be the whole last segment",
        }
    }

    /// The run-time error for this fault in `pattern`.
    fn into_error(self, pattern: &str) -> RouteError {
        let pattern_owned = || pattern.to_owned();
        match self {
            Fault::Empty => RouteError::Empty,
            Fault::MissingLeadingSlash => RouteError::MissingLeadingSlash {
                pattern: pattern_owned(),
            },
            Fault::InvalidName { start, end } => RouteError::InvalidParamName {
                pattern: pattern_owned(),
                name: pattern[start..end].to_owned(),
            },
            Fault::DuplicateParam { start, end } => RouteError::DuplicateParam {
                pattern: pattern_owned(),
                name: pattern[start..end].to_owned(),
            },
            Fault::CatchAllNotLast => RouteError::InvalidCatchAll {
                pattern: pattern_owned(),
            },
            Fault::UnclosedBrace
            | Fault::UnmatchedBrace
            | Fault::ParamNotAtSegmentEnd
            | Fault::EmptySegment => RouteError::InvalidPattern {
                pattern: pattern_owned(),
                reason: self.reason().to_owned(),
            },
        }
    }
}

/// Whether `b[start..end]` is `[A-Za-z_][A-Za-z0-9_]*`.
const fn valid_name(b: &[u8], start: usize, end: usize) -> bool {
    if start >= end || !matches!(b[start], b'a'..=b'z' | b'A'..=b'Z' | b'_') {
        return false;
    }
    let mut i = start + 1;
    while i < end {
        if !(b[i].is_ascii_alphanumeric() || b[i] == b'_') {
            return false;
        }
        i += 1;
    }
    true
}

/// The end of the segment that starts at `start` (the next `/`, or the end).
const fn segment_end(b: &[u8], start: usize) -> usize {
    let mut end = start;
    while end < b.len() && b[end] != b'/' {
        end += 1;
    }
    end
}

/// Checks one segment, `b[start..end]`, which is the last one when `last`.
const fn check_segment(b: &[u8], start: usize, end: usize, last: bool) -> Result<(), Fault> {
    if start < end && (b[start] == b':' || b[start] == b'*') {
        if !valid_name(b, start + 1, end) {
            return Err(Fault::InvalidName {
                start: start + 1,
                end,
            });
        }
        if b[start] == b'*' && !last {
            return Err(Fault::CatchAllNotLast);
        }
        return Ok(());
    }
    // A static segment, possibly ending with a `{name}`, with `{{`/`}}` escapes.
    let mut i = start;
    while i < end {
        let doubled = i + 1 < end && b[i + 1] == b[i];
        match b[i] {
            b'{' | b'}' if doubled => i += 2,
            b'}' => return Err(Fault::UnmatchedBrace),
            b'{' => {
                let mut close = i + 1;
                while close < end && b[close] != b'}' {
                    close += 1;
                }
                if close == end {
                    return Err(Fault::UnclosedBrace);
                }
                let after = close + 1;
                if close > i + 1 && b[i + 1] == b'*' {
                    if !valid_name(b, i + 2, close) {
                        return Err(Fault::InvalidName {
                            start: i + 2,
                            end: close,
                        });
                    }
                    if i != start || after != end || !last {
                        return Err(Fault::CatchAllNotLast);
                    }
                } else {
                    if !valid_name(b, i + 1, close) {
                        return Err(Fault::InvalidName {
                            start: i + 1,
                            end: close,
                        });
                    }
                    if after != end {
                        return Err(Fault::ParamNotAtSegmentEnd);
                    }
                }
                i = after;
            }
            _ => i += 1,
        }
    }
    Ok(())
}

/// In a checked pattern, the first parameter at or after the segment starting at
/// `from`: its name's span and where the next segment starts.
const fn next_param(b: &[u8], mut from: usize) -> Option<(usize, usize, usize)> {
    while from <= b.len() {
        let end = segment_end(b, from);
        if from < end && (b[from] == b':' || b[from] == b'*') {
            return Some((from + 1, end, end + 1));
        }
        let mut i = from;
        while i < end {
            if b[i] == b'{' || b[i] == b'}' {
                if i + 1 < end && b[i + 1] == b[i] {
                    i += 2;
                    continue;
                }
                // A parameter ends its segment: `{name}` or `{*name}`.
                let start = if b[i + 1] == b'*' { i + 2 } else { i + 1 };
                return Some((start, end - 1, end + 1));
            }
            i += 1;
        }
        from = end + 1;
    }
    None
}

/// Whether `b[a..a_end]` and `b[c..c_end]` are the same bytes.
const fn same(b: &[u8], a: usize, a_end: usize, c: usize, c_end: usize) -> bool {
    if a_end - a != c_end - c {
        return false;
    }
    let mut i = 0;
    while i < a_end - a {
        if b[a + i] != b[c + i] {
            return false;
        }
        i += 1;
    }
    true
}

/// Checks `pattern` against the route grammar (see [`parse`]); with `strict`, an
/// empty segment (`//`) is a fault too. A `const fn`, so that `route!` runs it when
/// the app compiles; [`parse`] runs it when a route is added.
pub(crate) const fn check(pattern: &str, strict: bool) -> Result<(), Fault> {
    let b = pattern.as_bytes();
    if b.is_empty() {
        return Err(Fault::Empty);
    }
    if b[0] != b'/' {
        return Err(Fault::MissingLeadingSlash);
    }
    let mut start = 1;
    loop {
        let end = segment_end(b, start);
        let last = end == b.len();
        if strict && start == end && !last {
            return Err(Fault::EmptySegment);
        }
        if let Err(fault) = check_segment(b, start, end, last) {
            return Err(fault);
        }
        if last {
            break;
        }
        start = end + 1;
    }
    // A repeated name: the first parameter whose name an earlier one has.
    let mut later = 1;
    while let Some((start, end, next)) = next_param(b, later) {
        let mut earlier = 1;
        while let Some((s, e, n)) = next_param(b, earlier) {
            if s >= start {
                break;
            }
            if same(b, s, e, start, end) {
                return Err(Fault::DuplicateParam { start, end });
            }
            earlier = n;
        }
        later = next;
    }
    Ok(())
}

/// Checks `pattern` and converts it to matchit's syntax.
///
/// Accepted: a whole segment `:name` (a parameter) or, as the last segment, `*name`
/// (a catch-all); matchit's `{name}` at the end of a segment (after an optional static
/// prefix, as in `/v{version}`), `{*name}` as the whole last segment, and `{{` / `}}`
/// for literal braces.
pub(crate) fn parse(pattern: &str) -> Result<Pattern, RouteError> {
    check(pattern, false).map_err(|fault| fault.into_error(pattern))?;
    // Checked: what follows only converts.
    let mut matchit = String::with_capacity(pattern.len() + 8);
    let mut literal = String::with_capacity(pattern.len());
    let mut params: Vec<String> = Vec::new();
    for segment in pattern[1..].split('/') {
        matchit.push('/');
        literal.push('/');
        if let Some(name) = segment.strip_prefix(':') {
            matchit.push('{');
            matchit.push_str(name);
            matchit.push('}');
            params.push(name.to_owned());
            continue;
        }
        if let Some(name) = segment.strip_prefix('*') {
            matchit.push_str("{*");
            matchit.push_str(name);
            matchit.push('}');
            params.push(name.to_owned());
            continue;
        }
        let bytes = segment.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                // `{{` or `}}` (a lone `}` is a fault).
                b @ (b'{' | b'}') if bytes.get(i + 1) == Some(&b) => {
                    matchit.push_str(&segment[i..i + 2]);
                    literal.push(char::from(b));
                    i += 2;
                }
                _ if bytes[i] == b'{' => {
                    // `{name}` or `{*name}`, the rest of the segment.
                    let inner = &segment[i + 1..segment.len() - 1];
                    params.push(inner.trim_start_matches('*').to_owned());
                    matchit.push_str(&segment[i..]);
                    i = bytes.len();
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
