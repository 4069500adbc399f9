//! The database profiles: validate.sh's "Async Database" and "CRUD" sections,
//! against HttpArena's `items` table seeded here, and its rule that a database
//! that is down never takes the server with it.

use crate::support::{content_type_is, Entry};

/// `ARMATURE_TEST_POSTGRES_URL`; `None` (after saying so) outside CI.
fn postgres_url() -> Option<String> {
    match std::env::var("ARMATURE_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var_os("CI").is_some() => panic!(
            "ARMATURE_TEST_POSTGRES_URL is not set; CI runs the suite under scripts/with-postgres.sh"
        ),
        _ => {
            eprintln!(
                "SKIPPED: the HttpArena database profiles need a server: scripts/with-postgres.sh cargo test -p armature-httparena"
            );
            None
        }
    }
}

/// HttpArena's schema, as data/pgdb-seed.sql (written by scripts/generate-pgdb.py)
/// creates it: the table exactly, no index on `price`.
const SCHEMA: &str = "CREATE TABLE items (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    category TEXT NOT NULL,
    price INTEGER NOT NULL,
    quantity INTEGER NOT NULL,
    active BOOLEAN NOT NULL,
    tags JSONB NOT NULL,
    rating_score INTEGER NOT NULL,
    rating_count INTEGER NOT NULL
);";

/// Rows as generate-pgdb.py makes them (ids from 1; names from dataset.json's plus
/// the id; its ten categories; price 1-500, quantity 1-1000, 1-4 tags, rating score
/// 1-50 and count 1-500), from a fixed formula instead of its Random(42) stream and
/// 2,000 rows instead of 100,000: enough for every check, seeded in milliseconds.
const SEED: &str = "INSERT INTO items
SELECT i,
       (ARRAY['Alpha Widget','Pro Valve','Eco Lamp','Smart Desk','Nano Drill'])[1 + i % 5] || ' ' || i,
       (ARRAY['auto','books','clothing','electronics','garden','home','office','sports','tools','toys'])[1 + (i * 7) % 10],
       1 + (i * 37) % 500,
       1 + (i * 11) % 1000,
       i % 2 = 0,
       (jsonb_build_array('fast','new','sale','popular') - ((i % 4)::int)),
       1 + i % 50,
       1 + (i * 13) % 500
FROM generate_series(1, 2000) AS i;";

/// A schema of this test's own with HttpArena's table seeded; the URL that works
/// in it (through the connection's `search_path`, as the entry reads it from
/// `DATABASE_URL`).
fn seeded(url: &str, name: &str) -> String {
    let schema = format!("arena_{name}_{}", std::process::id());
    let sql = format!(
        "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}; SET search_path = {schema}; {SCHEMA} {SEED}"
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
            .await
            .unwrap_or_else(|e| panic!("cannot connect to ARMATURE_TEST_POSTGRES_URL: {e}"));
        tokio::spawn(connection);
        client
            .batch_execute(&sql)
            .await
            .unwrap_or_else(|e| panic!("seeding: {e}"));
    });
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}options=-csearch_path%3D{schema}")
}

fn start(url: &str) -> Entry {
    Entry::start(&[("DATABASE_URL", url), ("DATABASE_MAX_CONN", "16")])
}

#[test]
fn async_db() {
    let Some(url) = postgres_url() else { return };
    let e = start(&seeded(&url, "async_db"));
    for (query, limit) in [
        ("min=5&max=80&limit=7", 7),
        ("min=20&max=150&limit=18", 18),
        ("min=100&max=400&limit=33", 33),
        ("min=10&max=50&limit=50", 50),
    ] {
        let body = e.get(&format!("/async-db?{query}")).json();
        assert_eq!(body["count"], limit, "{query}: {body}");
        let items = body["items"].as_array().unwrap();
        assert_eq!(items.len(), limit, "{query}");
        for item in items {
            assert!(item["rating"]["score"].is_i64(), "{item}");
            assert!(item["tags"].is_array(), "{item}");
            assert!(item["active"].is_boolean(), "{item}");
            let price = item["price"].as_i64().unwrap();
            let (min, max) = match limit {
                7 => (5, 80),
                18 => (20, 150),
                33 => (100, 400),
                _ => (10, 50),
            };
            assert!((min..=max).contains(&price), "{query}: {item}");
        }
    }
    let reply = e.get("/async-db?min=10&max=50&limit=50");
    assert!(content_type_is(&reply, "application/json"), "{reply:?}");
    // Anti-cheat: an empty range has no rows; defaults and the clamp of `limit`.
    assert_eq!(
        e.get("/async-db?min=9999&max=9999&limit=50").json()["count"],
        0
    );
    assert_eq!(e.get("/async-db").json()["count"], 50);
    assert_eq!(e.get("/async-db?limit=500").json()["count"], 50);
    assert_eq!(e.get("/async-db?limit=0").json()["count"], 1);
}

#[test]
fn crud() {
    let Some(url) = postgres_url() else { return };
    let e = start(&seeded(&url, "crud"));

    let list = e
        .get("/crud/items?category=electronics&page=1&limit=5")
        .json();
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 5, "{list}");
    assert!(list["total"].as_u64().unwrap() > 0);
    assert_eq!(list["page"], 1);
    assert!(items
        .iter()
        .all(|i| i["rating"].is_object() && i["category"] == "electronics"));
    let page2 = e
        .get("/crud/items?category=electronics&page=2&limit=5")
        .json();
    assert!(
        page2["items"][0]["id"].as_i64() > items[4]["id"].as_i64(),
        "{page2}"
    );

    assert_eq!(e.get("/crud/items/1").json()["id"], 1);

    // Cache-aside: a miss, then a hit (the workers share the cache).
    let first = e.get("/crud/items/42");
    let second = e.get("/crud/items/42");
    assert_eq!(first.header("x-cache"), Some("MISS"), "{first:?}");
    assert_eq!(second.header("x-cache"), Some("HIT"), "{second:?}");
    assert_eq!(first.body, second.body);
    assert!(content_type_is(&second, "application/json"));
    // 200 ms absolute expiry.
    std::thread::sleep(std::time::Duration::from_millis(250));
    assert_eq!(e.get("/crud/items/42").header("x-cache"), Some("MISS"));

    assert_eq!(e.get("/crud/items/999999").status, 404);

    let json = [("Content-Type", "application/json")];
    let created = e.request(
        "POST",
        "/crud/items",
        &json,
        br#"{"id":200001,"name":"ValidateItem","category":"test","price":42,"quantity":7}"#,
    );
    assert_eq!(created.status, 201, "{created:?}");
    assert_eq!(e.get("/crud/items/200001").json()["id"], 200001);
    // The same id again is an upsert, not a conflict.
    let again = e.request(
        "POST",
        "/crud/items",
        &json,
        br#"{"id":200001,"name":"Bench Test","category":"test","price":25,"quantity":10}"#,
    );
    assert_eq!(again.status, 201, "{again:?}");

    e.get("/crud/items/200001"); // warm the cache
    let put = e.request(
        "PUT",
        "/crud/items/200001",
        &json,
        br#"{"name":"UpdatedItem","category":"test","price":99,"quantity":1}"#,
    );
    assert_eq!(put.status, 200, "{put:?}");
    let after = e.get("/crud/items/200001");
    assert_eq!(after.header("x-cache"), Some("MISS"), "{after:?}");
    assert_eq!(after.json()["name"], "UpdatedItem");
    assert_eq!(after.json()["price"], 99);

    let missing = e.request(
        "PUT",
        "/crud/items/999999",
        &json,
        br#"{"name":"x","price":1,"quantity":1}"#,
    );
    assert_eq!(missing.status, 404, "{missing:?}");
}

/// The async-db rule: with PostgreSQL down (here: nothing listens at the URL's
/// port), `{"items":[],"count":0}`, and the server keeps serving; no server needed.
#[test]
fn database_down_is_not_a_crash() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let url = format!("postgres://bench:bench@127.0.0.1:{port}/benchmark");
    let mut e = start(&url);
    for _ in 0..2 {
        let reply = e.get("/async-db?min=10&max=50&limit=20");
        assert_eq!(reply.status, 200);
        assert_eq!(reply.text(), r#"{"items":[],"count":0}"#);
    }
    assert_eq!(e.get("/crud/items/1").status, 503);
    assert_eq!(e.get("/baseline11?a=1&b=2").text(), "3");
    assert!(e.alive());
}
