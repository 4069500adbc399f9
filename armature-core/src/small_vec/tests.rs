//! Table tests for the inline collections and their parsers.

use std::borrow::Cow;

use super::*;

/// An input and the decoded pairs a parse must produce, in order.
struct ParseCase {
    input: &'static str,
    pairs: &'static [(&'static str, &'static str)],
}

fn pairs_of<'s>(it: impl Iterator<Item = (&'s str, &'s str)>) -> Vec<(&'s str, &'s str)> {
    it.collect()
}

#[test]
fn query_params_table() {
    let cases = [
        ParseCase {
            input: "",
            pairs: &[],
        },
        ParseCase {
            input: "name=Alice&age=30",
            pairs: &[("name", "Alice"), ("age", "30")],
        },
        ParseCase {
            input: "a=1&&b=2&",
            pairs: &[("a", "1"), ("b", "2")],
        },
        ParseCase {
            input: "flag&x=",
            pairs: &[("flag", ""), ("x", "")],
        },
        ParseCase {
            input: "=v",
            pairs: &[("", "v")],
        },
        ParseCase {
            input: "k=a=b",
            pairs: &[("k", "a=b")],
        },
        ParseCase {
            input: "q=rust+web",
            pairs: &[("q", "rust web")],
        },
        ParseCase {
            input: "q=1%2B1",
            pairs: &[("q", "1+1")],
        },
        ParseCase {
            input: "na+me=x",
            pairs: &[("na me", "x")],
        },
        ParseCase {
            input: "e=alice%40example.com",
            pairs: &[("e", "alice@example.com")],
        },
        ParseCase {
            input: "u=caf%C3%A9",
            pairs: &[("u", "café")],
        },
        ParseCase {
            input: "u=caf%c3%a9",
            pairs: &[("u", "café")],
        },
        ParseCase {
            input: "p=100%",
            pairs: &[("p", "100%")],
        },
        ParseCase {
            input: "p=%zz%4",
            pairs: &[("p", "%zz%4")],
        },
        ParseCase {
            input: "bad=%FF%FE",
            pairs: &[("bad", "\u{FFFD}\u{FFFD}")],
        },
        ParseCase {
            input: "amp=%26&eq=%3D",
            pairs: &[("amp", "&"), ("eq", "=")],
        },
        ParseCase {
            input: "t=a&t=b&t=c",
            pairs: &[("t", "a"), ("t", "b"), ("t", "c")],
        },
    ];
    for case in &cases {
        let q = QueryParams::parse(case.input);
        assert_eq!(
            pairs_of(q.iter()),
            case.pairs,
            "QueryParams::parse({:?})",
            case.input
        );
        let f = FormFields::parse(case.input);
        assert_eq!(
            pairs_of(f.iter()),
            case.pairs,
            "FormFields::parse({:?})",
            case.input
        );
    }
}

#[test]
fn cookies_table() {
    let cases = [
        ParseCase {
            input: "",
            pairs: &[],
        },
        ParseCase {
            input: "session=abc; user=alice",
            pairs: &[("session", "abc"), ("user", "alice")],
        },
        ParseCase {
            input: "a=1;b=2",
            pairs: &[("a", "1"), ("b", "2")],
        },
        ParseCase {
            input: "  a = 1 ;\tb=2 ; ",
            pairs: &[("a", "1"), ("b", "2")],
        },
        ParseCase {
            input: r#"t="dark mode""#,
            pairs: &[("t", "dark mode")],
        },
        ParseCase {
            input: r#"t=""; u="x"#,
            pairs: &[("t", ""), ("u", "\"x")],
        },
        ParseCase {
            input: "plus=a+b",
            pairs: &[("plus", "a+b")],
        },
        ParseCase {
            input: "pct=a%20b%3B",
            pairs: &[("pct", "a b;")],
        },
        ParseCase {
            input: "lonely; k=v",
            pairs: &[("lonely", ""), ("k", "v")],
        },
        ParseCase {
            input: "b64=YWJj==",
            pairs: &[("b64", "YWJj==")],
        },
        ParseCase {
            input: ";;;",
            pairs: &[],
        },
    ];
    for case in &cases {
        let c = Cookies::parse(case.input);
        assert_eq!(
            pairs_of(c.iter()),
            case.pairs,
            "Cookies::parse({:?})",
            case.input
        );
    }
}

#[test]
fn guide_examples() {
    let params = QueryParams::parse("name=Alice&age=30");
    assert!(params.is_inline());
    assert_eq!(params.get("name"), Some("Alice"));

    let mut path = PathParams::new();
    path.push("id", "123");
    path.push("slug", "hello-world");
    assert_eq!(path.len(), 2);
    assert_eq!(path.get("slug"), Some("hello-world"));

    let cookies = Cookies::parse("session=abc; user=alice");
    assert_eq!(cookies.get("session"), Some("abc"));

    let fields = FormFields::parse("name=Alice&email=alice@example.com");
    assert_eq!(fields.get("email"), Some("alice@example.com"));
    assert!(fields.is_inline());
}

#[test]
fn borrows_unless_decoding_changes_something() {
    let q = QueryParams::parse("a=plain&b=x+y&c=100%&d=%41");
    let borrowed: Vec<bool> = q
        .as_slice()
        .iter()
        .map(|(_, v)| matches!(v, Cow::Borrowed(_)))
        .collect();
    // "100%" has a `%` but nothing to decode: still borrowed.
    assert_eq!(borrowed, [true, false, true, false]);
    assert!(q
        .as_slice()
        .iter()
        .all(|(k, _)| matches!(k, Cow::Borrowed(_))));

    let c = Cookies::parse("a=x+y; b=%41");
    assert!(matches!(c.as_slice()[0].1, Cow::Borrowed("x+y")));
    assert!(matches!(c.as_slice()[1].1, Cow::Owned(ref s) if s == "A"));
}

#[test]
fn inline_capacities_and_spilling() {
    fn query_of(n: usize) -> String {
        (0..n)
            .map(|i| format!("k{i}=v{i}"))
            .collect::<Vec<_>>()
            .join("&")
    }
    for (n, inline) in [(0, true), (1, true), (8, true), (9, false), (40, false)] {
        let s = query_of(n);
        let q = QueryParams::parse(&s);
        assert_eq!(q.len(), n);
        assert_eq!(q.is_inline(), inline, "{n} query params");
        assert_eq!(q.get(&format!("k{}", n.saturating_sub(1))).is_some(), n > 0);
    }
    for (n, inline) in [(16, true), (17, false)] {
        let s = query_of(n);
        assert_eq!(FormFields::parse(&s).is_inline(), inline, "{n} form fields");
    }
    let mut p = PathParams::new();
    for i in 0..4 {
        p.push(format!("p{i}"), "v");
    }
    assert!(p.is_inline());
    p.push("p4", "v");
    assert!(!p.is_inline());
    assert_eq!(p.get("p4"), Some("v"));

    let many: String = (0..9).map(|i| format!("c{i}=v; ")).collect();
    assert!(!Cookies::parse(&many).is_inline());
    assert!(Cookies::parse(&many[..many.len() - 6]).is_inline());

    assert_eq!(QueryParams::INLINE_CAPACITY, 8);
    assert_eq!(PathParams::INLINE_CAPACITY, 4);
    assert_eq!(Cookies::INLINE_CAPACITY, 8);
    assert_eq!(FormFields::INLINE_CAPACITY, 16);
}

#[test]
fn get_returns_first_and_get_all_returns_every_match() {
    let q = QueryParams::parse("a=1&b=2&a=3");
    assert_eq!(q.get("a"), Some("1"));
    assert_eq!(q.get_all("a").collect::<Vec<_>>(), ["1", "3"]);
    assert_eq!(q.get_all("zz").count(), 0);
    assert_eq!(q.get("zz"), None);
    assert!(q.contains_key("b"));
    assert!(!q.contains_key("B"));
    assert_eq!(q.iter().next_back(), Some(("a", "3")));
    assert_eq!(q.iter().len(), 3);
}

#[test]
fn into_owned_outlives_the_input() {
    let owned: QueryParams<'static> = {
        let input = String::from("x=1&y=a+b");
        QueryParams::parse(&input).into_owned()
    };
    assert_eq!(owned.get("x"), Some("1"));
    assert_eq!(owned.get("y"), Some("a b"));

    let cookies: Cookies<'static> = {
        let input = String::from("s=abc");
        Cookies::parse(&input).into_owned()
    };
    assert_eq!(cookies.get("s"), Some("abc"));
}

#[test]
fn collect_extend_debug_and_equality() {
    let p: PathParams<'_> = [("id", "1"), ("slug", "x")].into_iter().collect();
    assert_eq!(format!("{p:?}"), r#"{"id": "1", "slug": "x"}"#);
    let mut q = QueryParams::new();
    q.extend([("id".to_string(), "1".to_string())]);
    q.push("slug", String::from("x"));
    assert_eq!(q, QueryParams::parse("id=1&slug=x"));
    q.clear();
    assert!(q.is_empty());
    let pairs: Vec<Pair<'_>> = QueryParams::parse("a=b").into_iter().collect();
    assert_eq!(pairs, [(Cow::Borrowed("a"), Cow::Borrowed("b"))]);
}

#[test]
fn decode_functions() {
    let cases: &[(&str, &str, &str)] = &[
        // input, decode_form, decode_percent
        ("", "", ""),
        ("a+b", "a b", "a+b"),
        ("%2F%2f", "//", "//"),
        ("%", "%", "%"),
        ("%4", "%4", "%4"),
        ("%%41", "%A", "%A"),
        ("%e2%82%ac", "€", "€"),
        ("%C3", "\u{FFFD}", "\u{FFFD}"),
        ("x%00y", "x\0y", "x\0y"),
    ];
    for &(input, form, percent) in cases {
        assert_eq!(decode_form(input), form, "decode_form({input:?})");
        assert_eq!(decode_percent(input), percent, "decode_percent({input:?})");
    }
}

mod reference {
    //! Straightforward parsers built from `str::split` and the percent-encoding crate,
    //! which the optimised ones must agree with.

    fn decode(s: &str, plus: bool) -> String {
        let s = if plus {
            s.replace('+', " ")
        } else {
            s.to_owned()
        };
        percent_encoding::percent_decode_str(&s)
            .decode_utf8_lossy()
            .into_owned()
    }

    pub fn urlencoded(input: &str) -> Vec<(String, String)> {
        input
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap_or((p, ""));
                (decode(k, true), decode(v, true))
            })
            .collect()
    }

    pub fn cookies(input: &str) -> Vec<(String, String)> {
        let ws: &[char] = &[' ', '\t'];
        input
            .split(';')
            .map(|p| p.trim_matches(ws))
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap_or((p, ""));
                let v = v.trim_matches(ws);
                let v = v
                    .strip_prefix('"')
                    .and_then(|v| v.strip_suffix('"'))
                    .unwrap_or(v);
                (decode(k.trim_matches(ws), false), decode(v, false))
            })
            .collect()
    }
}

fn owned<'s>(it: impl Iterator<Item = (&'s str, &'s str)>) -> Vec<(String, String)> {
    it.map(|(k, v)| (k.to_owned(), v.to_owned())).collect()
}

proptest::proptest! {
    #[test]
    fn urlencoded_parsers_agree_with_reference(input in "[a-c&=%+ 0-9A-Fé;\"\t]{0,40}") {
        let want = reference::urlencoded(&input);
        proptest::prop_assert_eq!(owned(QueryParams::parse(&input).iter()), want.clone());
        proptest::prop_assert_eq!(owned(FormFields::parse(&input).iter()), want);
    }

    #[test]
    fn cookie_parser_agrees_with_reference(input in "[a-c&=%+ 0-9A-Fé;\"\t]{0,40}") {
        proptest::prop_assert_eq!(owned(Cookies::parse(&input).iter()), reference::cookies(&input));
    }
}
