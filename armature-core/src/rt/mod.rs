//! Runtime foundations below HTTP: the transport trait a connection runs over, a
//! worker's drain signal and its per-worker table.

pub(crate) mod drain;
pub(crate) mod io;
pub(crate) mod worker_state;
