//! The database side of the TechEmpower workloads (`/db`, `/queries`, `/fortunes`,
//! `/updates`), shared by `armature_db`, `axum_db` and `actix_db` so that the three
//! servers send the same queries and render the same bytes: what differs between
//! them is only the framework.
//!
//! One [`Db`] per worker: one tokio-postgres connection with its statements prepared
//! once. Queries issued together (`/queries`, `/updates`) are polled together, so
//! tokio-postgres pipelines them on that one connection, as TechEmpower's
//! tokio-postgres entries do.

use std::cell::Cell;

use futures_util::future::try_join_all;
use serde::Serialize;
use tokio_postgres::{Client, NoTls, Statement};

/// Rows in TechEmpower's `World` table (ids 1..=10,000).
pub const WORLD_ROWS: i32 = 10_000;

/// The most rows one `/queries` or `/updates` request asks for.
pub const MAX_QUERIES: usize = 500;

/// `Content-Type` of `/fortunes`.
pub const HTML_CONTENT_TYPE: &str = "text/html; charset=utf-8";

/// Where the database is: `DATABASE_URL`, else TechEmpower's local default.
pub fn url_from_env() -> String {
    std::env::var("DATABASE_URL").unwrap_or_else(|_| {
        "postgres://benchmarkdbuser:benchmarkdbpass@127.0.0.1/hello_world".to_owned()
    })
}

/// One row of `World`, serialised as TechEmpower's `{"id":N,"randomNumber":N}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct World {
    /// 1..=10,000.
    pub id: i32,
    /// 1..=10,000.
    #[serde(rename = "randomNumber")]
    pub random_number: i32,
}

/// Serialised size of one [`World`] at most (`{"id":10000,"randomNumber":10000}` + `,`).
pub const WORLD_JSON_CAPACITY: usize = 40;

/// One row of `Fortune`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fortune {
    /// The row id (0 for the one added at request time).
    pub id: i32,
    /// The text, not escaped.
    pub message: String,
}

/// A worker's connection and its prepared statements.
pub struct Db {
    client: Client,
    world: Statement,
    fortunes: Statement,
    update: Statement,
}

impl Db {
    /// Connects to `url`, runs the connection on this thread's `LocalSet`
    /// (`tokio::task::spawn_local`) and prepares the statements.
    pub async fn connect(url: &str) -> Result<Db, tokio_postgres::Error> {
        let (client, connection) = tokio_postgres::connect(url, NoTls).await?;
        tokio::task::spawn_local(async move {
            if let Err(e) = connection.await {
                eprintln!("database connection closed: {e}");
            }
        });
        let world = client
            .prepare("SELECT id, randomnumber FROM world WHERE id = $1")
            .await?;
        let fortunes = client.prepare("SELECT id, message FROM fortune").await?;
        // One statement for any count: the new values travel as two arrays.
        let update = client
            .prepare(
                "UPDATE world SET randomnumber = new.r \
                 FROM (SELECT unnest($1::int[]) AS i, unnest($2::int[]) AS r) AS new \
                 WHERE world.id = new.i",
            )
            .await?;
        Ok(Db {
            client,
            world,
            fortunes,
            update,
        })
    }

    /// The `World` row `id`.
    pub async fn world(&self, id: i32) -> Result<World, tokio_postgres::Error> {
        let row = self.client.query_one(&self.world, &[&id]).await?;
        Ok(World {
            id: row.get(0),
            random_number: row.get(1),
        })
    }

    /// `n` random `World` rows, queried one by one but pipelined.
    pub async fn worlds(&self, n: usize) -> Result<Vec<World>, tokio_postgres::Error> {
        try_join_all((0..n).map(|_| self.world(random_id()))).await
    }

    /// `n` random rows with a new random number each, written back in one statement.
    pub async fn update(&self, n: usize) -> Result<Vec<World>, tokio_postgres::Error> {
        let mut worlds = self.worlds(n).await?;
        for w in &mut worlds {
            w.random_number = random_id();
        }
        // Sorted by id so concurrent updates (several workers) lock rows in one order.
        let mut sorted = worlds.clone();
        sorted.sort_unstable_by_key(|w| w.id);
        sorted.dedup_by_key(|w| w.id);
        let ids: Vec<i32> = sorted.iter().map(|w| w.id).collect();
        let numbers: Vec<i32> = sorted.iter().map(|w| w.random_number).collect();
        self.client.execute(&self.update, &[&ids, &numbers]).await?;
        Ok(worlds)
    }

    /// Every `Fortune` row plus the one added at request time, sorted by message.
    pub async fn fortunes(&self) -> Result<Vec<Fortune>, tokio_postgres::Error> {
        let rows = self.client.query(&self.fortunes, &[]).await?;
        let mut fortunes = Vec::with_capacity(rows.len() + 1);
        fortunes.extend(rows.iter().map(|row| Fortune {
            id: row.get(0),
            message: row.get(1),
        }));
        fortunes.push(Fortune {
            id: 0,
            message: "Additional fortune added at request time.".to_owned(),
        });
        fortunes.sort_unstable_by(|a, b| a.message.cmp(&b.message));
        Ok(fortunes)
    }
}

thread_local! {
    static RNG: Cell<u64> = Cell::new(seed());
}

fn seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    // std's per-thread random hasher keys; `| 1`: never zero (xorshift's fixed point).
    std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish()
        | 1
}

/// A random id in 1..=10,000 (xorshift64*, one state per thread).
pub fn random_id() -> i32 {
    RNG.with(|s| {
        let mut x = s.get();
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        s.set(x);
        let r = x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 32;
        (r % WORLD_ROWS as u64) as i32 + 1
    })
}

/// The `q` of a query string as TechEmpower reads it: missing or not a number is 1,
/// otherwise clamped to 1..=500.
pub fn query_count(query: Option<&str>) -> usize {
    let q = query
        .into_iter()
        .flat_map(|q| q.split('&'))
        .find_map(|pair| pair.strip_prefix("q="))
        .and_then(|v| v.parse::<i64>().ok())
        .unwrap_or(1);
    q.clamp(1, MAX_QUERIES as i64) as usize
}

/// TechEmpower's fortunes page for `fortunes` (already sorted), HTML-escaped.
pub fn fortunes_html(fortunes: &[Fortune]) -> Vec<u8> {
    const HEAD: &str = "<!DOCTYPE html><html><head><title>Fortunes</title></head><body>\
                        <table><tr><th>id</th><th>message</th></tr>";
    const TAIL: &str = "</table></body></html>";
    let mut out = Vec::with_capacity(1200);
    out.extend_from_slice(HEAD.as_bytes());
    let mut id = itoa::Buffer::new();
    for f in fortunes {
        out.extend_from_slice(b"<tr><td>");
        out.extend_from_slice(id.format(f.id).as_bytes());
        out.extend_from_slice(b"</td><td>");
        escape_html(&f.message, &mut out);
        out.extend_from_slice(b"</td></tr>");
    }
    out.extend_from_slice(TAIL.as_bytes());
    out
}

/// Appends `text` to `out` with `& < > " '` escaped.
pub fn escape_html(text: &str, out: &mut Vec<u8>) {
    let bytes = text.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let esc: &[u8] = match b {
            b'&' => b"&amp;",
            b'<' => b"&lt;",
            b'>' => b"&gt;",
            b'"' => b"&quot;",
            b'\'' => b"&#x27;",
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        out.extend_from_slice(esc);
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_count_follows_the_spec() {
        for (query, n) in [
            (None, 1),
            (Some(""), 1),
            (Some("q="), 1),
            (Some("q=foo"), 1),
            (Some("q=0"), 1),
            (Some("q=-3"), 1),
            (Some("q=20"), 20),
            (Some("x=1&q=7"), 7),
            (Some("q=501"), 500),
            (Some("q=99999999999999999999"), 1),
        ] {
            assert_eq!(query_count(query), n, "{query:?}");
        }
    }

    #[test]
    fn random_ids_cover_the_table() {
        let ids: Vec<i32> = (0..100_000).map(|_| random_id()).collect();
        assert!(ids.iter().all(|&i| (1..=WORLD_ROWS).contains(&i)));
        assert!(ids.contains(&1) && ids.contains(&WORLD_ROWS));
    }

    #[test]
    fn world_serialises_as_the_spec_says() {
        let w = World {
            id: 10_000,
            random_number: 10_000,
        };
        let json = serde_json::to_vec(&w).unwrap();
        assert_eq!(json, br#"{"id":10000,"randomNumber":10000}"#);
        assert!(json.len() < WORLD_JSON_CAPACITY);
    }

    #[test]
    fn fortunes_are_escaped() {
        let html = fortunes_html(&[Fortune {
            id: 11,
            message: r#"<script>alert("x & 'y'");</script>"#.to_owned(),
        }]);
        let html = String::from_utf8(html).unwrap();
        assert!(html.contains(
            "<tr><td>11</td><td>&lt;script&gt;alert(&quot;x &amp; &#x27;y&#x27;&quot;);\
             &lt;/script&gt;</td></tr>"
        ));
        assert!(html.starts_with("<!DOCTYPE html>") && html.ends_with("</table></body></html>"));
    }
}
