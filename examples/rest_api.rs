//! A small REST API: CRUD over in-memory state with path params, query
//! parameters, JSON bodies and JSON error responses.
//!
//! Run with: `cargo run --release --example rest_api`, then e.g.
//! `curl -X POST localhost:8080/users -H 'content-type: application/json' -d '{"name":"Ada","email":"ada@example.com"}'`.

use std::collections::BTreeMap;
use std::sync::RwLock;

use armature_core::fast_response::fast;
use armature_core::{App, Error, Json, Path, Query, State, StatusCode};
use serde::{Deserialize, Serialize};

#[derive(Clone, Serialize)]
struct User {
    id: u64,
    name: String,
    email: String,
}

#[derive(Deserialize)]
struct NewUser {
    name: String,
    email: String,
}

#[derive(Deserialize)]
struct UserPatch {
    name: Option<String>,
    email: Option<String>,
}

#[derive(Deserialize)]
struct ListParams {
    #[serde(default)]
    offset: usize,
    limit: Option<usize>,
    name: Option<String>,
}

#[derive(Default)]
struct Db {
    next_id: u64,
    users: BTreeMap<u64, User>,
}

#[derive(Default)]
struct AppState {
    db: RwLock<Db>,
}

fn validate(name: &str, email: &str) -> Result<(), Error> {
    if name.trim().is_empty() {
        return Err(Error::unprocessable("`name` must not be empty"));
    }
    if !email.contains('@') {
        return Err(Error::unprocessable("`email` must contain `@`"));
    }
    Ok(())
}

async fn list_users(State(st): State<AppState>, Query(q): Query<ListParams>) -> Json<Vec<User>> {
    let db = st.db.read().unwrap();
    let users = db
        .users
        .values()
        .filter(|u| q.name.as_deref().is_none_or(|n| u.name.contains(n)))
        .skip(q.offset)
        .take(q.limit.unwrap_or(100).min(1000))
        .cloned()
        .collect();
    Json(users)
}

async fn get_user(State(st): State<AppState>, Path(id): Path<u64>) -> Result<Json<User>, Error> {
    let db = st.db.read().unwrap();
    db.users
        .get(&id)
        .cloned()
        .map(Json)
        .ok_or_else(|| Error::not_found(format!("no user with id {id}")))
}

async fn create_user(
    State(st): State<AppState>,
    Json(new): Json<NewUser>,
) -> Result<(StatusCode, Json<User>), Error> {
    validate(&new.name, &new.email)?;
    let mut db = st.db.write().unwrap();
    db.next_id += 1;
    let user = User {
        id: db.next_id,
        name: new.name,
        email: new.email,
    };
    db.users.insert(user.id, user.clone());
    Ok((StatusCode::CREATED, Json(user)))
}

async fn update_user(
    State(st): State<AppState>,
    Path(id): Path<u64>,
    Json(patch): Json<UserPatch>,
) -> Result<Json<User>, Error> {
    let mut db = st.db.write().unwrap();
    let user = db
        .users
        .get_mut(&id)
        .ok_or_else(|| Error::not_found(format!("no user with id {id}")))?;
    let name = patch.name.unwrap_or_else(|| user.name.clone());
    let email = patch.email.unwrap_or_else(|| user.email.clone());
    validate(&name, &email)?;
    user.name = name;
    user.email = email;
    Ok(Json(user.clone()))
}

async fn delete_user(State(st): State<AppState>, Path(id): Path<u64>) -> Result<StatusCode, Error> {
    let mut db = st.db.write().unwrap();
    db.users
        .remove(&id)
        .map(|_| StatusCode::NO_CONTENT)
        .ok_or_else(|| Error::not_found(format!("no user with id {id}")))
}

fn app() -> App<AppState> {
    App::with_state(AppState::default())
        .get("/health", || async { fast::ok() })
        .get("/users", list_users)
        .post("/users", create_user)
        .get("/users/:id", get_user)
        .patch("/users/:id", update_user)
        .delete("/users/:id", delete_user)
}

fn main() -> Result<(), Error> {
    app()
        .bind(armature_core::addr_from_env("127.0.0.1:8080"))?
        // Once every worker listens (after `bind` alone, connections are refused).
        .on_ready(|addr| println!("rest_api listening on http://{addr}"))
        .run()
}
