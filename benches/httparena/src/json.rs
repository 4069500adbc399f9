//! Profiles `json` and `json-comp`: `GET /json/{count}?m=M` answers the first
//! `count` items of `dataset.json`, each with `total = price * quantity * m`,
//! serialised at every request.

use std::path::Path as FsPath;

use armature_core::{IntoResponse, Json, Path, Query, Response, State};
use serde::{Deserialize, Serialize};

/// One item of HttpArena's `dataset.json`.
#[derive(Clone, Deserialize, Serialize)]
pub struct Item {
    id: i64,
    name: String,
    category: String,
    price: i64,
    quantity: i64,
    active: bool,
    tags: Vec<String>,
    rating: Rating,
}

#[derive(Clone, Deserialize, Serialize)]
struct Rating {
    score: i64,
    count: i64,
}

/// The items, read once at start-up (the app's state; the json-tls app has a copy).
#[derive(Clone)]
pub struct Dataset {
    items: Vec<Item>,
}

impl Dataset {
    /// `path` parsed; empty (and said so) when it is missing or not the dataset,
    /// so that the profiles without it still run.
    pub fn load(path: &FsPath) -> Dataset {
        let items = match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|e| {
                eprintln!(
                    "{}: not HttpArena's dataset ({e}); /json answers no items",
                    path.display()
                );
                Vec::new()
            }),
            Err(e) => {
                eprintln!("{}: {e}; /json answers no items", path.display());
                Vec::new()
            }
        };
        Dataset { items }
    }
}

#[derive(Deserialize)]
pub struct Multiplier {
    m: Option<i64>,
}

#[derive(Serialize)]
struct Processed<'a> {
    #[serde(flatten)]
    item: &'a Item,
    total: i64,
}

#[derive(Serialize)]
struct Answer<'a> {
    items: Vec<Processed<'a>>,
    count: usize,
}

/// `GET /json/{count}?m=M`.
pub async fn items(
    State(data): State<Dataset>,
    Path(count): Path<usize>,
    Query(q): Query<Multiplier>,
) -> Response {
    let m = q.m.unwrap_or(1);
    let items: Vec<Processed<'_>> = data.items[..count.min(data.items.len())]
        .iter()
        .map(|item| Processed {
            item,
            total: item.price * item.quantity * m,
        })
        .collect();
    Json(Answer {
        count: items.len(),
        items,
    })
    .into_response()
}
