//! The `api` template's databases for real. A generated app of each kind
//! (`--db sqlite`, `--db postgres`) is built once in the shared target
//! directory and its own tests run (as in `generated_apps`); then its binary is
//! started and queried: CRUD, data kept across a restart, 20 rounds of "write
//! acknowledged, `kill -9`, restart, read it back", 64 concurrent writers on 2
//! workers, two PostgreSQL-backed instances seeing each other's writes, and bad
//! input (a malformed `DATABASE_URL`, a read-only file, a failing migration, an
//! unreachable server, a wrong password): a message that says what and where,
//! a non-zero exit, and the database left as it was. The app's
//! `GET /openapi.json` passes `openapi-spec-validator` (PyPI, pinned in
//! `scripts/test.sh`; missing, it fails the test under `CI` and is skipped,
//! loudly, otherwise).
//!
//! PostgreSQL comes from `ARMATURE_TEST_POSTGRES_URL` (`scripts/with-postgres.sh`
//! sets it). Without it the PostgreSQL test fails when `CI` is set, and is
//! skipped, loudly, otherwise.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::generated_apps::check_app;
use crate::lint::{linter, run_ok};
use crate::support::{dump, http, shared_target_dir, RunningApp, TempProject};

const STOP: Duration = Duration::from_secs(20);

fn body(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// `POST /todos`; the new item.
fn create(addr: SocketAddr, title: &str) -> Value {
    let (status, text) = http(
        addr,
        "POST",
        "/todos",
        Some(&json!({ "title": title }).to_string()),
    );
    assert_eq!(status, 201, "POST /todos {title:?}: {text}");
    body(&text)
}

/// Every route and its errors, on an empty database.
fn crud(addr: SocketAddr) {
    assert_eq!(http(addr, "GET", "/ready", None).0, 200);
    let a = create(addr, "first");
    let id = a["id"].as_i64().unwrap();
    assert_eq!(a, json!({ "id": id, "title": "first", "done": false }));
    let b = create(addr, "second");
    let (status, text) = http(addr, "GET", &format!("/todos/{id}"), None);
    assert_eq!((status, body(&text)), (200, a.clone()));

    let (status, text) = http(
        addr,
        "PUT",
        &format!("/todos/{id}"),
        Some(r#"{"done": true}"#),
    );
    assert_eq!(status, 200, "{text}");
    assert_eq!(body(&text)["done"], true);
    let (_, text) = http(addr, "GET", "/todos?done=true", None);
    assert_eq!(
        body(&text),
        json!([{ "id": id, "title": "first", "done": true }])
    );
    let (_, text) = http(addr, "GET", "/todos?limit=1&offset=1", None);
    assert_eq!(body(&text), json!([b]));

    let child = json!({ "title": "child", "parent_id": b["id"] }).to_string();
    assert_eq!(http(addr, "POST", "/todos", Some(&child)).0, 201);
    let orphan = r#"{"title": "orphan", "parent_id": 999999}"#;
    assert_eq!(http(addr, "POST", "/todos", Some(orphan)).0, 409);
    let b_path = format!("/todos/{}", b["id"]);
    assert_eq!(http(addr, "DELETE", &b_path, None).0, 409);
    assert_eq!(http(addr, "DELETE", &format!("/todos/{id}"), None).0, 204);
    assert_eq!(http(addr, "GET", &format!("/todos/{id}"), None).0, 404);
    assert_eq!(http(addr, "POST", "/todos", Some(r#"{"title": 1}"#)).0, 422);
    assert_eq!(http(addr, "GET", "/todos?limit=101", None).0, 400);
}

/// `GET /openapi.json` answers a document that `openapi-spec-validator`
/// accepts (written to `dir` for it).
fn openapi_validates(addr: SocketAddr, dir: &Path) {
    let (status, text) = http(addr, "GET", "/openapi.json", None);
    assert_eq!(status, 200, "GET /openapi.json: {text}");
    assert!(body(&text)["openapi"]
        .as_str()
        .is_some_and(|v| v.starts_with("3.1.")));
    let Some(validator) = linter("openapi-spec-validator", "openapi-spec-validator") else {
        return;
    };
    let file = dir.join("openapi.json");
    std::fs::write(&file, &text).unwrap();
    let out = run_ok(&validator, &[file.to_str().unwrap()], dir);
    assert!(out.contains("OK"), "{out}");
}

/// Data written before a clean stop is there after a restart.
fn restart_keeps_data(binary: &Path, env: &[(&str, &str)]) {
    let app = RunningApp::start_with(binary, env);
    let todo = create(app.addr, "kept across a restart");
    assert!(app.terminate(STOP), "no clean exit on SIGTERM");
    let app = RunningApp::start_with(binary, env);
    let (status, text) = http(app.addr, "GET", &format!("/todos/{}", todo["id"]), None);
    assert_eq!((status, body(&text)), (200, todo));
    assert!(app.terminate(STOP));
}

/// `rounds` times: a write answered 201, `kill -9` at once, restart, read it.
fn writes_survive_kill_9(binary: &Path, env: &[(&str, &str)], rounds: usize) {
    for round in 0..rounds {
        let app = RunningApp::start_with(binary, env);
        let todo = create(app.addr, &format!("round {round}"));
        app.kill();
        let app = RunningApp::start_with(binary, env);
        let (status, text) = http(app.addr, "GET", &format!("/todos/{}", todo["id"]), None);
        assert_eq!(
            status, 200,
            "round {round}: the acknowledged write is gone: {text}"
        );
        assert_eq!(body(&text), todo, "round {round}");
        app.kill();
    }
}

/// 64 writers at once against 2 workers, on an empty database: 64 distinct
/// ids, 64 items.
fn concurrent_writers(binary: &Path, env: &[(&str, &str)]) {
    let mut env = env.to_vec();
    env.push(("WORKERS", "2"));
    let app = RunningApp::start_with(binary, &env);
    let addr = app.addr;
    let ids: Vec<i64> = std::thread::scope(|s| {
        let writers: Vec<_> = (0..64)
            .map(|i| s.spawn(move || create(addr, &format!("writer {i}"))["id"].as_i64().unwrap()))
            .collect();
        writers.into_iter().map(|w| w.join().unwrap()).collect()
    });
    let unique: BTreeSet<i64> = ids.iter().copied().collect();
    assert_eq!(unique.len(), 64, "ids repeat: {ids:?}");
    let (status, text) = http(addr, "GET", "/todos?limit=100", None);
    assert_eq!(status, 200);
    let listed: BTreeSet<i64> = body(&text)
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_i64().unwrap())
        .collect();
    assert_eq!(listed, unique);
    assert!(app.terminate(STOP));
}

/// Runs `binary` with `env`, expecting it to give up: a non-zero exit within
/// 30 s, before it listens; its output.
fn fails_to_start(binary: &Path, env: &[(&str, &str)]) -> Output {
    let mut child = Command::new(binary)
        .env("HOST", "127.0.0.1")
        .env("PORT", "0")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            panic!("{} kept running with {env:?}", binary.display());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    assert!(
        !out.status.success(),
        "{env:?} should fail:\n{}",
        dump(&out)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("error: "), "{}", dump(&out));
    assert!(!stderr.contains("listening on"), "{}", dump(&out));
    out
}

#[track_caller]
fn stderr_has(out: &Output, needles: &[&str]) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    for needle in needles {
        assert!(
            stderr.contains(needle),
            "stderr lacks {needle:?}:\n{}",
            dump(out)
        );
    }
}

#[test]
fn sqlite_app() {
    let tmp = TempProject::new();
    let health_db = format!("sqlite://{}/health/app.db", tmp.path().display());
    let app = check_app(
        &tmp,
        "todo-sqlite",
        &["--template", "api"],
        &[("DATABASE_URL", &health_db)],
    );
    let tests = std::fs::read_to_string(app.join("tests/api.rs")).unwrap();
    for route in [
        "\"POST\", \"/todos\"",
        "\"PUT\", \"/todos/1\"",
        "\"DELETE\", \"/todos/1\"",
        "\"/todos?done=true\"",
    ] {
        assert!(tests.contains(route), "tests/api.rs never calls {route}");
    }
    let binary = shared_target_dir().join("debug/todo-sqlite");
    let url = |name: &str| format!("sqlite://{}/{name}/data/app.db", tmp.path().display());

    // A data directory that does not exist yet is created.
    let crud_url = url("crud");
    assert!(!tmp.path().join("crud").exists());
    let running = RunningApp::start_with(&binary, &[("DATABASE_URL", &crud_url)]);
    crud(running.addr);
    openapi_validates(running.addr, tmp.path());
    assert!(running.terminate(STOP));
    assert!(tmp.path().join("crud/data/app.db").is_file());

    restart_keeps_data(&binary, &[("DATABASE_URL", &url("restart"))]);
    writes_survive_kill_9(&binary, &[("DATABASE_URL", &url("kill"))], 20);
    concurrent_writers(&binary, &[("DATABASE_URL", &url("writers"))]);

    // A malformed DATABASE_URL.
    for bad in ["postgres://u:p@h/db", "data/app.db", "sqlite://"] {
        let out = fails_to_start(&binary, &[("DATABASE_URL", bad)]);
        stderr_has(&out, &["DATABASE_URL", bad]);
    }

    // A read-only database file: named, refused, untouched.
    let file = tmp.path().join("crud/data/app.db");
    let before = std::fs::read(&file).unwrap();
    let mut perms = std::fs::metadata(&file).unwrap().permissions();
    perms.set_readonly(true);
    std::fs::set_permissions(&file, perms.clone()).unwrap();
    let out = fails_to_start(&binary, &[("DATABASE_URL", &crud_url)]);
    stderr_has(&out, &[&file.display().to_string(), "read-only"]);
    assert_eq!(std::fs::read(&file).unwrap(), before);
    #[allow(clippy::permissions_set_readonly_false)]
    perms.set_readonly(false);
    std::fs::set_permissions(&file, perms).unwrap();

    // A migration that fails (a `todos` table of another shape is in the way):
    // the migration and the file named, nothing applied, the file unchanged.
    let clash = tmp.path().join("clash.db");
    let conn = rusqlite::Connection::open(&clash).unwrap();
    conn.execute_batch("CREATE TABLE todos (what TEXT); INSERT INTO todos VALUES ('mine');")
        .unwrap();
    drop(conn);
    let before = std::fs::read(&clash).unwrap();
    let clash_url = format!("sqlite://{}", clash.display());
    let out = fails_to_start(&binary, &[("DATABASE_URL", &clash_url)]);
    stderr_has(
        &out,
        &[
            "0001_todos.sql",
            &clash.display().to_string(),
            "no migration was applied",
        ],
    );
    assert_eq!(
        std::fs::read(&clash).unwrap(),
        before,
        "the failed migration changed the file"
    );
}

/// `ARMATURE_TEST_POSTGRES_URL`; `None` (after saying so) outside CI.
fn postgres_url() -> Option<String> {
    match std::env::var("ARMATURE_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var_os("CI").is_some() => panic!(
            "ARMATURE_TEST_POSTGRES_URL is not set; CI runs the suite under scripts/with-postgres.sh"
        ),
        _ => {
            eprintln!(
                "SKIPPED: the PostgreSQL app test needs a server: scripts/with-postgres.sh cargo test -p cargo-armature --test cli postgres"
            );
            None
        }
    }
}

/// Runs `sql` on the server at `url`.
fn postgres_execute(url: &str, sql: &str) {
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
            .batch_execute(sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    });
}

/// A new empty schema on the server at `url` (`sql` run in it first); the URL
/// of a connection that works in it.
fn postgres_schema(url: &str, name: &str, sql: &str) -> String {
    let schema = format!("cli_{name}_{}", std::process::id());
    postgres_execute(
        url,
        &format!("DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}; SET search_path = {schema}; {sql}"),
    );
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}options=-csearch_path%3D{schema}")
}

#[test]
fn postgres_app() {
    let Some(server) = postgres_url() else { return };
    let tmp = TempProject::new();
    let health = postgres_schema(&server, "health", "");
    check_app(
        &tmp,
        "todo-postgres",
        &["--template", "api", "--db", "postgres"],
        &[("TEST_DATABASE_URL", &server), ("DATABASE_URL", &health)],
    );
    let binary = shared_target_dir().join("debug/todo-postgres");

    let url = postgres_schema(&server, "crud", "");
    let running = RunningApp::start_with(&binary, &[("DATABASE_URL", &url)]);
    crud(running.addr);
    openapi_validates(running.addr, tmp.path());
    assert!(running.terminate(STOP));

    restart_keeps_data(
        &binary,
        &[("DATABASE_URL", &postgres_schema(&server, "restart", ""))],
    );
    writes_survive_kill_9(
        &binary,
        &[("DATABASE_URL", &postgres_schema(&server, "kill", ""))],
        20,
    );
    concurrent_writers(
        &binary,
        &[("DATABASE_URL", &postgres_schema(&server, "writers", ""))],
    );

    // Two instances on different ports over one database see each other's writes.
    let shared = postgres_schema(&server, "shared", "");
    let a = RunningApp::start_with(&binary, &[("DATABASE_URL", &shared)]);
    let b = RunningApp::start_with(&binary, &[("DATABASE_URL", &shared)]);
    assert_ne!(a.addr.port(), b.addr.port());
    let from_a = create(a.addr, "written through a");
    let (status, text) = http(b.addr, "GET", &format!("/todos/{}", from_a["id"]), None);
    assert_eq!((status, body(&text)), (200, from_a.clone()));
    let from_b = create(b.addr, "written through b");
    let (_, text) = http(a.addr, "GET", "/todos", None);
    assert_eq!(body(&text), json!([from_a, from_b]));
    assert!(a.terminate(STOP) && b.terminate(STOP));

    // Bad input: a message naming host, port and database (never the
    // password), and a non-zero exit.
    let parsed: tokio_postgres::Config = server.parse().unwrap();
    let user = parsed.get_user().unwrap();
    let db = parsed.get_dbname().unwrap();
    let unreachable = format!("postgres://{user}:not-the-secret-4711@127.0.0.1:1/{db}");
    let out = fails_to_start(&binary, &[("DATABASE_URL", &unreachable)]);
    stderr_has(&out, &["127.0.0.1:1", &format!("database \"{db}\"")]);
    assert!(!String::from_utf8_lossy(&out.stderr).contains("not-the-secret-4711"));

    let tokio_postgres::config::Host::Tcp(host) = &parsed.get_hosts()[0] else {
        panic!("ARMATURE_TEST_POSTGRES_URL is not a TCP address");
    };
    let port = parsed.get_ports()[0];
    let wrong = format!("postgres://{user}:wrong-secret-4711@{host}:{port}/{db}");
    let out = fails_to_start(&binary, &[("DATABASE_URL", &wrong)]);
    stderr_has(
        &out,
        &[&format!("{host}:{port}"), "password authentication failed"],
    );
    assert!(!String::from_utf8_lossy(&out.stderr).contains("wrong-secret-4711"));

    for bad in [
        "",
        "sqlite://data/app.db",
        "postgres://u:secret-4711@h:port/db",
    ] {
        let out = fails_to_start(&binary, &[("DATABASE_URL", bad)]);
        stderr_has(&out, &["DATABASE_URL"]);
        assert!(!String::from_utf8_lossy(&out.stderr).contains("secret-4711"));
    }

    // A migration that fails: named, and nothing applied (no _migrations).
    let clash = postgres_schema(&server, "clash", "CREATE TABLE todos (what TEXT)");
    let out = fails_to_start(&binary, &[("DATABASE_URL", &clash)]);
    stderr_has(&out, &["0001_todos.sql", "no migration was applied"]);
    let schema = format!("cli_clash_{}", std::process::id());
    postgres_execute(
        &server,
        &format!(
            "DO $$ BEGIN IF to_regclass('{schema}._migrations') IS NOT NULL THEN \
             RAISE EXCEPTION 'the failed migration left _migrations behind'; END IF; END $$"
        ),
    );
}
