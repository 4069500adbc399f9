//! Route patterns written as literals, checked when the app compiles: the
//! [`route!`](crate::route) macro and the message a malformed one fails the build with.

use super::pattern::{check, Fault};

/// Longest message [`message`] builds; a longer pattern is cut (with `...`).
const MESSAGE_CAP: usize = 320;

/// A message built at compile time, in a fixed buffer (a `const fn` cannot allocate).
#[doc(hidden)]
#[derive(Debug, Clone, Copy)]
pub struct Message {
    buf: [u8; MESSAGE_CAP],
    len: usize,
    /// Whether it was cut (and ends with `...`): nothing more is added.
    cut: bool,
}

impl Message {
    const fn new() -> Self {
        Self {
            buf: [0; MESSAGE_CAP],
            len: 0,
            cut: false,
        }
    }

    /// Appends `bytes`, cut at a character boundary when the buffer is full.
    const fn push(mut self, bytes: &[u8]) -> Self {
        if self.cut {
            return self;
        }
        let room = MESSAGE_CAP - 3 - self.len; // keep room for `...`
        let mut take = if bytes.len() < room {
            bytes.len()
        } else {
            room
        };
        // Back off to a character boundary (a UTF-8 continuation byte is 10xxxxxx).
        while take < bytes.len() && take > 0 && bytes[take] & 0xC0 == 0x80 {
            take -= 1;
        }
        let mut i = 0;
        while i < take {
            self.buf[self.len + i] = bytes[i];
            i += 1;
        }
        self.len += take;
        if take < bytes.len() {
            let mut j = 0;
            while j < 3 {
                self.buf[self.len + j] = b'.';
                j += 1;
            }
            self.len += 3;
            self.cut = true;
        }
        self
    }

    const fn push_str(self, s: &str) -> Self {
        self.push(s.as_bytes())
    }

    /// The message. Only whole characters are ever pushed, so it is UTF-8.
    pub const fn as_str(&self) -> &str {
        match core::str::from_utf8(self.buf.split_at(self.len).0) {
            Ok(s) => s,
            Err(_) => "invalid route pattern",
        }
    }
}

/// `b[start..end]` as bytes (a range index is not `const`).
const fn slice(b: &[u8], start: usize, end: usize) -> &[u8] {
    b.split_at(end).0.split_at(start).1
}

/// The message for `fault` in `pattern`: the pattern, then what is wrong with it.
const fn message(pattern: &str, fault: Fault) -> Message {
    let b = pattern.as_bytes();
    let m = Message::new()
        .push_str("invalid route pattern \"")
        .push_str(pattern)
        .push_str("\": ");
    match fault {
        Fault::InvalidName { start, end } if start != end => m
            .push_str("invalid parameter name `")
            .push(slice(b, start, end))
            .push_str("` (names are letters, digits and `_`, not starting with a digit)"),
        Fault::InvalidName { .. } => {
            m.push_str("unnamed parameter (write `:name`, `*name`, `{name}` or `{*name}`)")
        }
        Fault::DuplicateParam { start, end } => m
            .push_str("parameter `")
            .push(slice(b, start, end))
            .push_str("` appears twice"),
        _ => m.push_str(fault.reason()),
    }
}

/// What `route!` expands to: `Ok` for a valid literal, else the message to fail
/// the build with. Stricter than adding a route at run time in one way: an empty
/// segment (`//`) is refused.
#[doc(hidden)]
// The message is returned by value because a `const fn` cannot allocate; it is only
// ever built by the compiler (in `route!`'s constant), never at run time.
#[allow(clippy::result_large_err)]
pub const fn check_literal(pattern: &str) -> Result<(), Message> {
    match check(pattern, true) {
        Ok(()) => Ok(()),
        Err(fault) => Err(message(pattern, fault)),
    }
}

/// A route pattern written as a literal, checked when the app compiles.
///
/// Expands to the literal itself (a `&'static str`), so it goes wherever a pattern
/// does (`App::get`, `Router::route`, ...) and costs nothing at run time: the check
/// is a constant, evaluated by the compiler. A malformed pattern fails `cargo build`
/// with a message naming the pattern and the fault: an empty segment (`//`), an
/// unnamed, invalid or repeated parameter, a catch-all that is not the whole last
/// segment, a pattern not starting with `/`, an unbalanced brace. Patterns built at
/// run time are checked when the route is added, as always.
///
/// ```
/// use armature_core::{route, App};
///
/// const USER: &str = route!("/users/:id/posts/{post}");
/// let app = App::new()
///     .get(route!("/health"), || async { "ok" })
///     .get(USER, || async { "a post" })
///     .get(route!("/files/*path"), || async { "a file" });
/// # let _ = app;
/// ```
///
/// ```compile_fail
/// // error: invalid route pattern "/users/:id/:id": parameter `id` appears twice
/// let p = armature_core::route!("/users/:id/:id");
/// ```
#[macro_export]
macro_rules! route {
    ($pattern:literal) => {{
        const PATTERN: &str = $pattern;
        const _: () = match $crate::routing::__private::check_literal(PATTERN) {
            ::core::result::Result::Ok(()) => (),
            ::core::result::Result::Err(message) => ::core::panic!("{}", message.as_str()),
        };
        PATTERN
    }};
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages() {
        let cases: &[(&str, &str)] = &[
            ("", "invalid route pattern \"\": empty route pattern (patterns start with `/`)"),
            ("users/:id", "invalid route pattern \"users/:id\": must start with `/`"),
            ("/users//:id", "invalid route pattern \"/users//:id\": empty path segment (`//`)"),
            ("//", "invalid route pattern \"//\": empty path segment (`//`)"),
            ("/users/:", "invalid route pattern \"/users/:\": unnamed parameter (write `:name`, `*name`, `{name}` or `{*name}`)"),
            ("/users/{}", "invalid route pattern \"/users/{}\": unnamed parameter (write `:name`, `*name`, `{name}` or `{*name}`)"),
            ("/files/*", "invalid route pattern \"/files/*\": unnamed parameter (write `:name`, `*name`, `{name}` or `{*name}`)"),
            ("/users/:1d", "invalid route pattern \"/users/:1d\": invalid parameter name `1d` (names are letters, digits and `_`, not starting with a digit)"),
            ("/a/:id/b/{id}", "invalid route pattern \"/a/:id/b/{id}\": parameter `id` appears twice"),
            ("/a/:x/:y/:x", "invalid route pattern \"/a/:x/:y/:x\": parameter `x` appears twice"),
            ("/files/*rest/more", "invalid route pattern \"/files/*rest/more\": a catch-all parameter must be the whole last segment"),
            ("/files/x{*rest}", "invalid route pattern \"/files/x{*rest}\": a catch-all parameter must be the whole last segment"),
            ("/a/{id", "invalid route pattern \"/a/{id\": unclosed `{` (write `{{` for a literal brace)"),
            ("/a/id}", "invalid route pattern \"/a/id}\": unmatched `}` (write `}}` for a literal brace)"),
            ("/img/{name}.png", "invalid route pattern \"/img/{name}.png\": a parameter must end its path segment (a static prefix is fine)"),
        ];
        for &(pattern, want) in cases {
            let got = check_literal(pattern).expect_err(pattern);
            assert_eq!(got.as_str(), want, "{pattern}");
        }
    }

    #[test]
    fn long_patterns_are_cut_at_a_character() {
        let pattern = format!("/{}/:a/:a", "é".repeat(400));
        let message = check_literal(&pattern).unwrap_err();
        let text = message.as_str();
        assert!(text.starts_with("invalid route pattern \"/éé"), "{text}");
        assert!(text.ends_with("..."), "{text}");
        assert!(text.len() <= MESSAGE_CAP);
    }

    /// A valid literal costs nothing at run time: `route!` is a constant (it can
    /// initialise a `const`, which no run-time code can), equal to the literal, and
    /// the router it builds is the one the bare literal builds.
    #[test]
    fn a_valid_literal_is_a_constant_equal_to_itself() {
        const USER: &str = crate::route!("/users/:id");
        const FILES: &str = crate::route!("/files/{*path}");
        static HEALTH: &str = crate::route!("/health");
        assert_eq!(
            [USER, FILES, HEALTH],
            ["/users/:id", "/files/{*path}", "/health"]
        );

        let mut checked = super::super::Router::new();
        let mut bare = super::super::Router::new();
        for (router, patterns) in [
            (&mut checked, [USER, FILES, HEALTH]),
            (&mut bare, ["/users/:id", "/files/{*path}", "/health"]),
        ] {
            for (i, pattern) in patterns.into_iter().enumerate() {
                router.route(crate::Method::Get, pattern, i).unwrap();
            }
        }
        for path in ["/users/7", "/files/a/b", "/health", "/nope"] {
            let a = checked.match_route("GET", path).map(|m| *m.value);
            let b = bare.match_route("GET", path).map(|m| *m.value);
            assert_eq!(a.ok(), b.ok(), "{path}");
        }
    }

    /// Every pattern the run-time parser accepts is accepted here too, except an
    /// empty segment; every one it refuses is refused here.
    #[test]
    fn agrees_with_the_run_time_check() {
        let patterns = [
            "/",
            "/users",
            "/users/",
            "/users/:id",
            "/u/:uid/p/{pid}",
            "/files/*rest",
            "/files/{*rest}",
            "/img/icon-{name}",
            "/v1:batch",
            "/a*b",
            "/{{raw}}",
            "/x/{{{id}",
            "/x/{{a}}/{{",
            "/é/:ü_ok",
            "/users/:id.json",
            "/a/{x}-{y}",
            "/files/{*rest}/more",
        ];
        for pattern in patterns {
            assert_eq!(
                check_literal(pattern).is_ok(),
                super::super::pattern::parse(pattern).is_ok(),
                "{pattern}"
            );
        }
        assert!(super::super::pattern::parse("//double").is_ok());
        assert!(check_literal("//double").is_err());
    }
}
