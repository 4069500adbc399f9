//! Profiles `async-db` and `crud`: HttpArena's `items` table in the PostgreSQL
//! server of `DATABASE_URL`.
//!
//! Each worker has its own deadpool-postgres pool (it lives on that worker's
//! runtime), `DATABASE_MAX_CONN / workers` connections at most. A pool connects
//! lazily, at the first request that needs it, and replaces a broken connection at
//! the next: a database that is down or not yet up never stops the server.
//! `async-db` then answers `{"items":[],"count":0}` (HttpArena's rule), `crud` `503`.
//!
//! `crud`'s single-item reads go through a cache shared by the workers (one
//! process, one heap), 200 ms absolute expiry, emptied for an id on its `PUT`.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use armature_core::extract::WorkerState;
use armature_core::{
    App, Bytes, Error, IntoResponse, Json, Path, Query, Response, StatusCode, WorkerInfo,
};
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use serde::{Deserialize, Serialize};
use tokio_postgres::{NoTls, Row};

use crate::json::Dataset;
use crate::Environment;

/// How long a request waits for a connection (or for one to open).
const POOL_WAIT: Duration = Duration::from_secs(5);
/// `crud`'s cache-aside expiry, absolute from the miss that filled it.
const CACHE_TTL: Duration = Duration::from_millis(200);

/// At most this many items in `crud`'s cache, whatever the clients ask for.
const CACHE_ENTRIES: usize = 4096;

// `tags` is JSONB; read as text and parsed here, because tokio-postgres reads JSONB
// only with its `with-serde_json-1` feature, which the workspace lock (which
// generated apps start from) does not carry.
macro_rules! select_items {
    ($rest:literal) => {
        concat!(
            "SELECT id, name, category, price, quantity, active, tags::text, rating_score, rating_count FROM items ",
            $rest
        )
    };
}

/// One worker's pool; `None` without `DATABASE_URL` (or with one that does not parse).
pub struct Db {
    pool: Option<Pool>,
}

impl Db {
    fn new(config: Option<&tokio_postgres::Config>, size: usize) -> Db {
        let pool = config.and_then(|config| {
            let manager = Manager::from_config(
                config.clone(),
                NoTls,
                ManagerConfig {
                    recycling_method: RecyclingMethod::Fast,
                },
            );
            Pool::builder(manager)
                .max_size(size)
                .runtime(Runtime::Tokio1)
                .wait_timeout(Some(POOL_WAIT))
                .create_timeout(Some(POOL_WAIT))
                .build()
                .map_err(|e| eprintln!("database pool: {e}"))
                .ok()
        });
        Db { pool }
    }

    /// The rows of `sql` with `params`; `None` when the database is unavailable.
    async fn query(
        &self,
        sql: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> Option<Vec<Row>> {
        let client = self
            .pool
            .as_ref()?
            .get()
            .await
            .map_err(|e| eprintln!("database unavailable: {e}"))
            .ok()?;
        let statement = client
            .prepare_cached(sql)
            .await
            .map_err(|e| eprintln!("{sql}: {e}"))
            .ok()?;
        client
            .query(&statement, params)
            .await
            .map_err(|e| eprintln!("{sql}: {e}"))
            .ok()
    }
}

fn unavailable() -> Error {
    Error::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "the database is unavailable",
    )
}

/// A row of `items`, shaped as HttpArena answers it.
#[derive(Serialize)]
struct Item {
    id: i32,
    name: String,
    category: String,
    price: i32,
    quantity: i32,
    active: bool,
    tags: Vec<String>,
    rating: Rating,
}

#[derive(Serialize)]
struct Rating {
    score: i32,
    count: i32,
}

impl Item {
    fn from_row(row: &Row) -> Item {
        Item {
            id: row.get(0),
            name: row.get(1),
            category: row.get(2),
            price: row.get(3),
            quantity: row.get(4),
            active: row.get(5),
            tags: serde_json::from_str(row.get(6)).unwrap_or_default(),
            rating: Rating {
                score: row.get(7),
                count: row.get(8),
            },
        }
    }
}

// --- async-db ---------------------------------------------------------------

#[derive(Deserialize)]
struct PriceRange {
    min: Option<i32>,
    max: Option<i32>,
    limit: Option<i64>,
}

#[derive(Serialize)]
struct Items {
    items: Vec<Item>,
    count: usize,
}

/// `GET /async-db?min=&max=&limit=` (defaults 10, 50, 50; `limit` within 1..=50).
async fn async_db(db: WorkerState<Db>, Query(q): Query<PriceRange>) -> Json<Items> {
    let min = q.min.unwrap_or(10);
    let max = q.max.unwrap_or(50);
    let limit = q.limit.unwrap_or(50).clamp(1, 50);
    const SQL: &str = select_items!("WHERE price BETWEEN $1 AND $2 LIMIT $3");
    let items: Vec<Item> = db
        .query(SQL, &[&min, &max, &limit])
        .await
        .map(|rows| rows.iter().map(Item::from_row).collect())
        .unwrap_or_default();
    Json(Items {
        count: items.len(),
        items,
    })
}

// --- crud -------------------------------------------------------------------

/// The single-item cache: id -> (filled at, serialised item).
#[derive(Default)]
pub struct ItemCache {
    entries: Mutex<HashMap<i32, (Instant, Bytes)>>,
}

impl ItemCache {
    fn get(&self, id: i32) -> Option<Bytes> {
        let entries = self.entries.lock().unwrap();
        let (filled, body) = entries.get(&id)?;
        (filled.elapsed() < CACHE_TTL).then(|| body.clone())
    }

    fn put(&self, id: i32, body: Bytes) {
        let mut entries = self.entries.lock().unwrap();
        // Expired entries are dropped as the map grows; should CACHE_ENTRIES
        // misses fill it within one CACHE_TTL, the item is not cached.
        if entries.len() >= CACHE_ENTRIES && !entries.contains_key(&id) {
            entries.retain(|_, (filled, _)| filled.elapsed() < CACHE_TTL);
            if entries.len() >= CACHE_ENTRIES {
                return;
            }
        }
        entries.insert(id, (Instant::now(), body));
    }

    fn forget(&self, id: i32) {
        self.entries.lock().unwrap().remove(&id);
    }
}

#[derive(Deserialize)]
struct Page {
    category: Option<String>,
    page: Option<i64>,
    limit: Option<i64>,
}

#[derive(Serialize)]
struct PageOf {
    items: Vec<Item>,
    total: usize,
    page: i64,
    limit: i64,
}

/// `GET /crud/items?category=&page=&limit=` ("load more": `total` is this page's count).
async fn list(db: WorkerState<Db>, Query(q): Query<Page>) -> Result<Json<PageOf>, Error> {
    let category = q.category.unwrap_or_else(|| "electronics".into());
    let page = q.page.unwrap_or(1).max(1);
    let limit = q.limit.unwrap_or(10).clamp(1, 50);
    let offset = (page - 1) * limit;
    const SQL: &str = select_items!("WHERE category = $1 ORDER BY id LIMIT $2 OFFSET $3");
    let rows = db
        .query(SQL, &[&category, &limit, &offset])
        .await
        .ok_or_else(unavailable)?;
    let items: Vec<Item> = rows.iter().map(Item::from_row).collect();
    Ok(Json(PageOf {
        total: items.len(),
        items,
        page,
        limit,
    }))
}

fn with_cache_header(body: Bytes, state: &'static str) -> Response {
    let mut response = body.into_response();
    response.insert_header("Content-Type", "application/json");
    response.insert_header("X-Cache", state);
    response
}

/// `GET /crud/items/{id}`: from the cache (`X-Cache: HIT`) or the database (`MISS`).
async fn read(
    db: WorkerState<Db>,
    cache: WorkerState<std::sync::Arc<ItemCache>>,
    Path(id): Path<i32>,
) -> Result<Response, Error> {
    if let Some(body) = cache.get(id) {
        return Ok(with_cache_header(body, "HIT"));
    }
    const SQL: &str = select_items!("WHERE id = $1");
    let rows = db.query(SQL, &[&id]).await.ok_or_else(unavailable)?;
    let row = rows
        .first()
        .ok_or_else(|| Error::not_found(format!("no item {id}")))?;
    let body =
        serde_json::to_vec(&Item::from_row(row)).map_err(|e| Error::internal(e.to_string()))?;
    let body = Bytes::from(body);
    cache.put(id, body.clone());
    Ok(with_cache_header(body, "MISS"))
}

#[derive(Deserialize, Serialize)]
struct NewItem {
    id: i32,
    name: String,
    category: String,
    price: i32,
    quantity: i32,
}

/// `POST /crud/items`: an upsert; `201` with the item.
async fn create(db: WorkerState<Db>, Json(item): Json<NewItem>) -> Result<Response, Error> {
    const SQL: &str = "INSERT INTO items \
        (id, name, category, price, quantity, active, tags, rating_score, rating_count) \
        VALUES ($1, $2, $3, $4, $5, true, '[]', 0, 0) \
        ON CONFLICT (id) DO UPDATE SET name = $2, category = $3, price = $4, quantity = $5";
    db.query(
        SQL,
        &[
            &item.id,
            &item.name,
            &item.category,
            &item.price,
            &item.quantity,
        ],
    )
    .await
    .ok_or_else(unavailable)?;
    Ok((StatusCode::CREATED, Json(item)).into_response())
}

#[derive(Deserialize, Serialize)]
struct ItemUpdate {
    name: String,
    category: Option<String>,
    price: i32,
    quantity: i32,
}

/// `PUT /crud/items/{id}`: `200` with the new fields, `404` for no such item; the
/// id's cache entry is dropped.
async fn update(
    db: WorkerState<Db>,
    cache: WorkerState<std::sync::Arc<ItemCache>>,
    Path(id): Path<i32>,
    Json(change): Json<ItemUpdate>,
) -> Result<Json<ItemUpdate>, Error> {
    const SQL: &str = "UPDATE items SET name = $2, category = coalesce($3, category), \
        price = $4, quantity = $5 WHERE id = $1 RETURNING id";
    let rows = db
        .query(
            SQL,
            &[
                &id,
                &change.name,
                &change.category,
                &change.price,
                &change.quantity,
            ],
        )
        .await
        .ok_or_else(unavailable)?;
    cache.forget(id);
    if rows.is_empty() {
        return Err(Error::not_found(format!("no item {id}")));
    }
    Ok(Json(change))
}

/// Adds the database routes and each worker's pool to `app`.
pub fn routes(app: App<Dataset>, env: &Environment, workers: usize) -> App<Dataset> {
    let config = env.database_url.as_deref().and_then(|url| {
        tokio_postgres::Config::from_str(url)
            .map_err(|e| {
                eprintln!(
                    "DATABASE_URL does not parse ({e}); the database profiles answer without it"
                )
            })
            .ok()
    });
    let per_worker = (env.database_max_conn / workers.max(1)).max(1);
    let cache = std::sync::Arc::new(ItemCache::default());
    app.worker_state_sync(move |_: WorkerInfo| Ok::<_, Error>(Db::new(config.as_ref(), per_worker)))
        .worker_state_sync(move |_: WorkerInfo| Ok::<_, Error>(cache.clone()))
        .get("/async-db", async_db)
        .get("/crud/items", list)
        .post("/crud/items", create)
        .get("/crud/items/:id", read)
        .put("/crud/items/:id", update)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_item_cache_holds_at_most_cache_entries() {
        let cache = ItemCache::default();
        let body = Bytes::from_static(b"{}");
        for id in 0..CACHE_ENTRIES as i32 + 100 {
            cache.put(id, body.clone());
        }
        let len = || cache.entries.lock().unwrap().len();
        assert_eq!(len(), CACHE_ENTRIES);
        // A cached item is still refreshed when the cache is full.
        cache.put(0, Bytes::from_static(b"[]"));
        assert_eq!(cache.get(0).as_deref(), Some(&b"[]"[..]));
        assert_eq!(cache.get(CACHE_ENTRIES as i32), None);
        // Once they expire, new items take their place.
        std::thread::sleep(CACHE_TTL);
        cache.put(-1, body);
        assert_eq!(len(), 1);
    }
}
