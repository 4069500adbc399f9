//! Table tests for the JSON API. The same expectations hold with and without the
//! `simd-json` feature: run `cargo test -p armature-core json` and again with
//! `--features simd-json`.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::io;

use serde::{Deserialize, Serialize};

use super::{from_slice, from_slice_mut, to_vec, to_writer, Error};

#[derive(Serialize, Deserialize, Debug, PartialEq, Clone)]
struct User {
    id: u64,
    name: String,
    email: Option<String>,
    tags: Vec<String>,
    score: f64,
    active: bool,
}

#[derive(Serialize, Deserialize, Debug, PartialEq)]
enum Shape {
    Unit,
    Circle(f64),
    Point(i32, i32),
    Rect { w: u32, h: u32 },
}

#[derive(Serialize, Deserialize, Debug, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Event {
    Login { user: u32 },
    Logout,
}

#[derive(Serialize, Deserialize, Debug, PartialEq)]
struct Unit;

#[derive(Deserialize, Debug, PartialEq)]
struct Borrowing<'a> {
    name: &'a str,
    #[serde(borrow)]
    note: Cow<'a, str>,
}

fn user() -> User {
    User {
        id: 7,
        name: "Ann \"the\" Admin\\".into(),
        email: None,
        tags: vec!["a/b".into(), "é\u{1F600}".into(), "\n\t\u{1}".into()],
        score: 0.1,
        active: true,
    }
}

fn ser<T: Serialize + ?Sized>(value: &T) -> String {
    let bytes = to_vec(value).expect("serializes");
    let mut via_writer = Vec::new();
    to_writer(&mut via_writer, value).expect("writes");
    assert_eq!(bytes, via_writer, "to_vec and to_writer differ");
    String::from_utf8(bytes).expect("UTF-8 output")
}

#[test]
fn serialize_table() {
    let cases: Vec<(String, &str)> = vec![
        (
            ser(&user()),
            r#"{"id":7,"name":"Ann \"the\" Admin\\","email":null,"tags":["a/b","é😀","\n\t\u0001"],"score":0.1,"active":true}"#,
        ),
        (ser(&[1u8, 2, 3][..]), "[1,2,3]"),
        (
            ser(&(i64::MIN, u64::MAX)),
            "[-9223372036854775808,18446744073709551615]",
        ),
        (
            ser(&[1.5f64, -2.0, 1e20, 3.25e-7]),
            "[1.5,-2.0,1e+20,3.25e-7]",
        ),
        (ser(&f32::MAX), "3.4028235e+38"),
        (ser(&"\u{7f}<>&'"), "\"\u{7f}<>&'\""),
        (ser(&'x'), r#""x""#),
        (ser(&()), "null"),
        (ser(&Unit), "null"),
        (ser(&Some(3)), "3"),
        (ser(&Shape::Unit), r#""Unit""#),
        (ser(&Shape::Circle(1.5)), r#"{"Circle":1.5}"#),
        (ser(&Shape::Point(-1, 2)), r#"{"Point":[-1,2]}"#),
        (
            ser(&Shape::Rect { w: 3, h: 4 }),
            r#"{"Rect":{"w":3,"h":4}}"#,
        ),
        (
            ser(&Event::Login { user: 9 }),
            r#"{"type":"login","user":9}"#,
        ),
        (
            ser(&BTreeMap::from([("b", 2), ("a", 1)])),
            r#"{"a":1,"b":2}"#,
        ),
        (ser(&Vec::<u8>::new()), "[]"),
        (ser(&BTreeMap::<String, u8>::new()), "{}"),
        (ser(""), r#""""#),
    ];
    for (got, want) in cases {
        assert_eq!(got, want);
    }
}

#[test]
fn serialize_errors() {
    let tuple_keys = BTreeMap::from([((1, 2), 3)]);
    let err = to_vec(&tuple_keys).unwrap_err();
    assert!(
        err.is_serialize() && !err.is_data() && !err.is_syntax(),
        "{err:?}"
    );

    struct Broken;
    impl io::Write for Broken {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::Error::new(io::ErrorKind::BrokenPipe, "gone"))
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    let err = to_writer(Broken, &user()).unwrap_err();
    assert!(err.is_io() && !err.is_serialize(), "{err:?}");
    assert!(std::error::Error::source(&err).is_some());
}

/// Parses with both entry points and checks they agree.
fn de<T: for<'a> Deserialize<'a> + PartialEq + std::fmt::Debug>(input: &str) -> Result<T, Error> {
    let shared = from_slice::<T>(input.as_bytes());
    let mut buf = input.as_bytes().to_vec();
    let in_place = from_slice_mut::<T>(&mut buf);
    match (&shared, &in_place) {
        (Ok(a), Ok(b)) => assert_eq!(a, b, "from_slice and from_slice_mut differ on {input:?}"),
        (Err(a), Err(b)) => assert_eq!(
            (a.is_syntax(), a.is_data()),
            (b.is_syntax(), b.is_data()),
            "error kinds differ on {input:?}: {a} / {b}"
        ),
        _ => panic!("from_slice {shared:?} but from_slice_mut {in_place:?} on {input:?}"),
    }
    shared
}

#[test]
fn deserialize_values_table() {
    let u = user();
    let text = String::from_utf8(to_vec(&u).unwrap()).unwrap();
    assert_eq!(de::<User>(&text).unwrap(), u);
    let spaced = r#" { "tags" : [ ] , "active":false, "score": -1.25e2, "name":"B\u00e9", "id": 18446744073709551615 } "#;
    assert_eq!(
        de::<User>(spaced).unwrap(),
        User {
            id: u64::MAX,
            name: "Bé".into(),
            email: None,
            tags: vec![],
            score: -125.0,
            active: false
        }
    );
    assert_eq!(
        de::<Vec<Shape>>(r#"["Unit",{"Circle":2},{"Point":[1,-1]},{"Rect":{"h":1,"w":2}}]"#)
            .unwrap(),
        vec![
            Shape::Unit,
            Shape::Circle(2.0),
            Shape::Point(1, -1),
            Shape::Rect { w: 2, h: 1 }
        ]
    );
    assert_eq!(
        de::<Event>(r#"{"user":3,"type":"login"}"#).unwrap(),
        Event::Login { user: 3 }
    );
    assert_eq!(de::<Event>(r#"{"type":"logout"}"#).unwrap(), Event::Logout);
    assert_eq!(de::<Option<u8>>("null").unwrap(), None);
    assert_eq!(
        de::<(i8, String, bool)>(r#"[-128,"\"",true]"#).unwrap(),
        (-128, "\"".into(), true)
    );
    assert_eq!(
        de::<BTreeMap<String, f64>>(r#"{"x":0.5,"y":1e-3}"#).unwrap()["y"],
        0.001
    );
    assert_eq!(
        de::<f64>("0.30000000000000004").unwrap(),
        0.30000000000000004
    );
    assert_eq!(
        de::<String>(r#""\ud83d\ude00 \/ \b\f\n\r\t""#).unwrap(),
        "😀 / \u{8}\u{c}\n\r\t"
    );
    assert_eq!(de::<Unit>("null").unwrap(), Unit);
    assert_eq!(de::<char>(r#""z""#).unwrap(), 'z');
}

#[test]
fn deserialize_error_kinds() {
    // (input, is_syntax): malformed JSON is a syntax error, well-formed JSON of the
    // wrong shape a data error. (A document both malformed and of the wrong shape may
    // be classified either way: serde_json reports the first problem it reads, simd-json
    // checks the syntax of the whole document first; no case here is both.)
    let cases: &[(&str, bool)] = &[
        ("", true),
        ("   ", true),
        ("{", true),
        (r#"{"id":1,"#, true),
        (
            r#"{"id":1,"name":"a","tags":[],"score":1,"active":true}}"#,
            true,
        ),
        (r#"{"id":01}"#, true),
        (r#"{'id':1}"#, true),
        (r#"{"id":1,}"#, true),
        (r#"{"name":"unterminated}"#, true),
        ("[1 2]", true),
        ("nul", true),
        ("tru", true),
        (r#""\x""#, true),
        (
            r#"{"id":1,"name":"a","tags":[],"score":1,"active":true} {}"#,
            true,
        ),
        ("[]", false),
        ("null", false),
        ("42", false),
        (r#"{"id":1}"#, false),
        (
            r#"{"id":"1","name":"a","tags":[],"score":1,"active":true}"#,
            false,
        ),
        (
            r#"{"id":-1,"name":"a","tags":[],"score":1,"active":true}"#,
            false,
        ),
        (
            r#"{"id":1,"name":"a","tags":[1],"score":1,"active":true}"#,
            false,
        ),
        (
            r#"{"id":1,"name":"a","tags":[],"score":"x","active":true}"#,
            false,
        ),
        (
            r#"{"id":1,"name":"a","tags":[],"score":1,"active":1}"#,
            false,
        ),
    ];
    for &(input, syntax) in cases {
        let err = de::<User>(input).expect_err(input);
        assert_eq!(
            (err.is_syntax(), err.is_data()),
            (syntax, !syntax),
            "{input:?}: {err}"
        );
        assert!(!err.is_io() && !err.is_serialize());
        assert!(!err.to_string().is_empty());
    }
    let err = de::<Shape>(r#""Hexagon""#).unwrap_err();
    assert!(err.is_data(), "{err}");
    let err = de::<u8>("256").unwrap_err();
    assert!(err.is_data(), "{err}");
    let err = from_slice::<String>(b"\"\xff\"").unwrap_err();
    assert!(err.is_syntax(), "{err}");
    let err = de::<User>(r#"{"name":"a","tags":[],"score":1,"active":true}"#).unwrap_err();
    assert!(err.to_string().contains("missing field `id`"), "{err}");
}

#[test]
fn borrowed_strings_follow_serde_json_rules() {
    let input = br#"{"name":"plain","note":"also plain"}"#;
    let b: Borrowing<'_> = from_slice(input).unwrap();
    assert_eq!(b.name, "plain");
    let range = input.as_ptr_range();
    assert!(
        range.contains(&b.name.as_ptr()),
        "&str must point into the input"
    );
    assert!(matches!(b.note, Cow::Borrowed(s) if range.contains(&s.as_ptr())));

    // An escaped string cannot be borrowed: `&str` fails (a data error), `Cow` owns.
    let escaped = br#"{"name":"tab\there","note":"x"}"#;
    let err = from_slice::<Borrowing<'_>>(escaped).unwrap_err();
    assert!(err.is_data(), "{err}");
    let cow_escaped = br#"{"name":"n","note":"line\nbreak"}"#;
    let b: Borrowing<'_> = from_slice(cow_escaped).unwrap();
    assert!(matches!(b.note, Cow::Owned(ref s) if s == "line\nbreak"));

    // Borrowed map keys work too.
    let m: BTreeMap<&str, u8> = from_slice(br#"{"k1":1,"k2":2}"#).unwrap();
    assert_eq!(m.into_iter().collect::<Vec<_>>(), [("k1", 1), ("k2", 2)]);

    // from_slice_mut lets values borrow from the (possibly rewritten) buffer.
    let mut buf = br#"{"name":"in place","note":"x"}"#.to_vec();
    let b: Borrowing<'_> = from_slice_mut(&mut buf).unwrap();
    assert_eq!((b.name, &*b.note), ("in place", "x"));
}

#[test]
fn round_trips_large_documents() {
    let users: Vec<User> = (0..500)
        .map(|i| User {
            id: i,
            name: format!("user {i} \"quoted\""),
            email: (i % 2 == 0).then(|| format!("u{i}@example.com")),
            tags: (0..i % 5).map(|t| format!("t{t}")).collect(),
            score: i as f64 / 7.0,
            active: i % 3 == 0,
        })
        .collect();
    let bytes = to_vec(&users).unwrap();
    assert_eq!(
        bytes,
        serde_json::to_vec(&users).unwrap(),
        "output must match serde_json"
    );
    let back: Vec<User> = from_slice(&bytes).unwrap();
    assert_eq!(back, users);
}
