//! Runtime foundations below HTTP: the per-worker table.

pub(crate) mod worker_state;
