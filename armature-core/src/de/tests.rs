//! Table tests for deserializing from string pairs.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};

use serde::Deserialize;

use super::{from_pairs, DeError};

#[derive(Deserialize, Debug, PartialEq)]
struct User {
    id: u32,
    name: String,
    admin: Option<bool>,
}

#[derive(Deserialize, Debug, PartialEq)]
#[serde(rename_all = "lowercase")]
enum Order {
    Asc,
    Desc,
}

#[derive(Deserialize, Debug, PartialEq)]
struct Search<'a> {
    q: &'a str,
    #[serde(borrow, default)]
    lang: Cow<'a, str>,
    page: Option<u32>,
    order: Option<Order>,
    #[serde(default)]
    tag: Vec<String>,
    score: Option<f64>,
    initial: Option<char>,
}

#[derive(Deserialize, Debug, PartialEq)]
struct UserId(u32);

#[derive(Deserialize, Debug, PartialEq)]
struct Pair2(u32, String);

/// A list of pairs and the value (or error message) `from_pairs` must give for them.
struct Case<T> {
    pairs: &'static [(&'static str, &'static str)],
    expect: Result<T, &'static str>,
}

fn run<T>(cases: Vec<Case<T>>)
where
    T: for<'de> Deserialize<'de> + PartialEq + std::fmt::Debug,
{
    for case in cases {
        let got = from_pairs::<T, _>(case.pairs.iter().copied()).map_err(|e| e.to_string());
        match (&got, &case.expect) {
            (Ok(got), Ok(want)) => assert_eq!(got, want, "pairs {:?}", case.pairs),
            (Err(got), Err(want)) => assert_eq!(got, want, "pairs {:?}", case.pairs),
            _ => panic!(
                "pairs {:?}: got {got:?}, want {:?}",
                case.pairs, case.expect
            ),
        }
    }
}

#[test]
fn single_values() {
    run::<u32>(vec![
        Case {
            pairs: &[("id", "42")],
            expect: Ok(42),
        },
        Case {
            pairs: &[("id", "abc")],
            expect: Err(r#"invalid value "abc" for `id`: expected u32"#),
        },
        Case {
            pairs: &[("id", "-1")],
            expect: Err(r#"invalid value "-1" for `id`: expected u32"#),
        },
        Case {
            pairs: &[("id", "4294967296")],
            expect: Err(r#"invalid value "4294967296" for `id`: expected u32"#),
        },
        Case {
            pairs: &[],
            expect: Err("expected 1 value, found 0"),
        },
        Case {
            pairs: &[("a", "1"), ("b", "2")],
            expect: Err("expected 1 value, found 2"),
        },
    ]);
    run::<i8>(vec![Case {
        pairs: &[("n", "-128")],
        expect: Ok(-128),
    }]);
    run::<u128>(vec![Case {
        pairs: &[("n", "340282366920938463463374607431768211455")],
        expect: Ok(u128::MAX),
    }]);
    run::<f64>(vec![
        Case {
            pairs: &[("x", "2.5")],
            expect: Ok(2.5),
        },
        Case {
            pairs: &[("x", "1e3")],
            expect: Ok(1000.0),
        },
        Case {
            pairs: &[("x", "two")],
            expect: Err(r#"invalid value "two" for `x`: expected f64"#),
        },
    ]);
    run::<bool>(vec![
        Case {
            pairs: &[("b", "true")],
            expect: Ok(true),
        },
        Case {
            pairs: &[("b", "false")],
            expect: Ok(false),
        },
        Case {
            pairs: &[("b", "yes")],
            expect: Err(r#"invalid value "yes" for `b`: expected bool"#),
        },
    ]);
    run::<char>(vec![
        Case {
            pairs: &[("c", "é")],
            expect: Ok('é'),
        },
        Case {
            pairs: &[("c", "ab")],
            expect: Err(r#"invalid value "ab" for `c`: expected char"#),
        },
    ]);
    run::<String>(vec![Case {
        pairs: &[("s", "hello world")],
        expect: Ok("hello world".into()),
    }]);
    run::<Order>(vec![
        Case {
            pairs: &[("o", "desc")],
            expect: Ok(Order::Desc),
        },
        Case {
            pairs: &[("o", "up")],
            expect: Err(r#"invalid value "up" for `o`: expected one of `asc`, `desc`"#),
        },
    ]);
    run::<UserId>(vec![Case {
        pairs: &[("id", "9")],
        expect: Ok(UserId(9)),
    }]);
    run::<Option<u32>>(vec![
        Case {
            pairs: &[],
            expect: Ok(None),
        },
        Case {
            pairs: &[("id", "5")],
            expect: Ok(Some(5)),
        },
    ]);
}

#[test]
fn tuples_and_sequences() {
    run::<(u32, String)>(vec![
        Case {
            pairs: &[("id", "7"), ("slug", "hello")],
            expect: Ok((7, "hello".into())),
        },
        Case {
            pairs: &[("id", "x"), ("slug", "hello")],
            expect: Err(r#"invalid value "x" for `id`: expected u32"#),
        },
        Case {
            pairs: &[("id", "7")],
            expect: Err("expected 2 values, found 1"),
        },
        Case {
            pairs: &[("a", "1"), ("b", "2"), ("c", "3")],
            expect: Err("expected 2 values, found 3"),
        },
    ]);
    run::<Pair2>(vec![Case {
        pairs: &[("a", "1"), ("b", "x")],
        expect: Ok(Pair2(1, "x".into())),
    }]);
    run::<Vec<u16>>(vec![
        Case {
            pairs: &[],
            expect: Ok(vec![]),
        },
        Case {
            pairs: &[("a", "1"), ("b", "2"), ("a", "3")],
            expect: Ok(vec![1, 2, 3]),
        },
        Case {
            pairs: &[("a", "1"), ("b", "-2")],
            expect: Err(r#"invalid value "-2" for `b`: expected u16"#),
        },
    ]);
}

#[test]
fn structs() {
    run::<User>(vec![
        Case {
            pairs: &[("id", "1"), ("name", "Ann")],
            expect: Ok(User {
                id: 1,
                name: "Ann".into(),
                admin: None,
            }),
        },
        Case {
            pairs: &[
                ("name", "Bo"),
                ("admin", "true"),
                ("id", "2"),
                ("extra", "ignored"),
            ],
            expect: Ok(User {
                id: 2,
                name: "Bo".into(),
                admin: Some(true),
            }),
        },
        Case {
            // An empty value for an Option field is None.
            pairs: &[("id", "3"), ("name", ""), ("admin", "")],
            expect: Ok(User {
                id: 3,
                name: "".into(),
                admin: None,
            }),
        },
        Case {
            pairs: &[("name", "Ann")],
            expect: Err("missing field `id`"),
        },
        Case {
            pairs: &[("id", "x"), ("name", "Ann")],
            expect: Err(r#"invalid value "x" for `id`: expected u32"#),
        },
        Case {
            pairs: &[("id", "1"), ("name", "Ann"), ("admin", "maybe")],
            expect: Err(r#"invalid value "maybe" for `admin`: expected bool"#),
        },
        Case {
            // A scalar field takes the first of repeated values.
            pairs: &[("id", "1"), ("id", "2"), ("name", "Ann")],
            expect: Ok(User {
                id: 1,
                name: "Ann".into(),
                admin: None,
            }),
        },
    ]);
}

#[test]
fn borrowed_fields_and_repeated_keys() {
    let pairs = [
        ("q", "rust"),
        ("tag", "a"),
        ("lang", "en"),
        ("tag", "b"),
        ("order", "asc"),
        ("score", "0.5"),
    ];
    let s: Search<'_> = from_pairs(pairs).unwrap();
    assert_eq!(
        s,
        Search {
            q: "rust",
            lang: Cow::Borrowed("en"),
            page: None,
            order: Some(Order::Asc),
            tag: vec!["a".into(), "b".into()],
            score: Some(0.5),
            initial: None,
        }
    );
    assert!(matches!(s.lang, Cow::Borrowed(_)));

    let s: Search<'_> = from_pairs([("q", ""), ("initial", "z")]).unwrap();
    assert_eq!((s.q, s.tag.len(), s.initial), ("", 0, Some('z')));

    let err = from_pairs::<Search<'_>, _>([("q", "x"), ("order", "sideways")]).unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"invalid value "sideways" for `order`: expected one of `asc`, `desc`"#
    );

    let first_wins =
        from_pairs::<Search<'_>, _>([("q", "x"), ("page", "1"), ("page", "z")]).unwrap();
    assert_eq!(first_wins.page, Some(1));
}

#[test]
fn maps() {
    let m: HashMap<String, String> = from_pairs([("a", "1"), ("b", "2")]).unwrap();
    assert_eq!(m.len(), 2);
    assert_eq!(m["b"], "2");

    let m: BTreeMap<&str, u8> = from_pairs([("x", "1"), ("y", "2"), ("x", "3")]).unwrap();
    assert_eq!(m.into_iter().collect::<Vec<_>>(), [("x", 1), ("y", 2)]);

    let m: HashMap<String, Vec<String>> = from_pairs([("t", "a"), ("u", "b"), ("t", "c")]).unwrap();
    assert_eq!(m["t"], ["a", "c"]);
    assert_eq!(m["u"], ["b"]);

    let err = from_pairs::<HashMap<String, u8>, _>([("x", "300")]).unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"invalid value "300" for `x`: expected u8"#
    );
}

#[test]
fn many_pairs_with_repeats_use_the_set_path() {
    let keys: Vec<String> = (0..100).map(|i| format!("k{}", i % 50)).collect();
    let pairs: Vec<(&str, &str)> = keys.iter().map(|k| (k.as_str(), "1")).collect();
    let m: HashMap<&str, Vec<u8>> = from_pairs(pairs).unwrap();
    assert_eq!(m.len(), 50);
    assert!(m.values().all(|v| v == &[1, 1]));
}

#[test]
fn error_questions() {
    let missing = from_pairs::<User, _>([("name", "x")]).unwrap_err();
    assert!(missing.is_missing() && !missing.is_invalid() && !missing.is_wrong_count());
    assert_eq!(missing.key(), Some("id"));
    assert_eq!(missing.value(), None);

    let invalid = from_pairs::<User, _>([("id", "nope"), ("name", "x")]).unwrap_err();
    assert!(invalid.is_invalid() && !invalid.is_missing());
    assert_eq!((invalid.key(), invalid.value()), (Some("id"), Some("nope")));

    let count = from_pairs::<(u8, u8), _>([("a", "1")]).unwrap_err();
    assert!(count.is_wrong_count() && !count.is_invalid());

    let long = "9".repeat(100);
    let err = from_pairs::<u8, _>([("n", long.as_str())]).unwrap_err();
    assert_eq!(err.value(), Some(long.as_str()));
    let shown = err.to_string();
    assert!(shown.contains('…') && shown.len() < 120, "{shown}");

    let unit_only = from_pairs::<Tagged, _>([("t", "Newtype")]).unwrap_err();
    assert!(unit_only.is_invalid(), "{unit_only}");

    fn assert_error<E: std::error::Error + Send + Sync + 'static>(_: &E) {}
    assert_error::<DeError>(&count);
}

#[derive(Deserialize, Debug)]
#[allow(dead_code)]
enum Tagged {
    Unit,
    Newtype(u32),
}

#[test]
fn from_parsed_query_params() {
    use crate::small_vec::QueryParams;

    #[derive(Deserialize, Debug, PartialEq)]
    struct Q {
        name: String,
        n: Option<i64>,
    }
    let q = QueryParams::parse("name=Ann+Lee&n=-3");
    let got: Q = from_pairs(q.iter()).unwrap();
    assert_eq!(
        got,
        Q {
            name: "Ann Lee".into(),
            n: Some(-3)
        }
    );
}
