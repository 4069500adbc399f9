//! The HttpArena entry checked over HTTP against HttpArena's validation rules:
//! the checks of `scripts/validate.sh` (and `scripts/validate-ws.py`) at
//! MDA2AV/HttpArena commit 28606bafd5526c28b8438f630d7dca73b2869e28, written here, one test per profile section, against the
//! entry's binary started with HttpArena's environment. Nothing is fetched.
//!
//! The database profiles (async-db, crud) need PostgreSQL:
//! `ARMATURE_TEST_POSTGRES_URL` (scripts/with-postgres.sh sets it); without it they
//! fail under `CI` and are skipped, loudly, otherwise.

mod database;
mod profiles;
mod support;
