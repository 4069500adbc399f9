//! Profile `upload`: `POST /upload` answers the number of body bytes it read
//! (500 KB to 20 MB bodies).
//!
//! SWITCH POINT (streaming bodies): this is written with today's buffered
//! [`Bytes`] extractor, so the whole body is in memory before [`upload`] runs and
//! the body limit is the server-wide `max_body_size` ([`config`]). When
//! armature-core has a streaming body extractor and per-route limits, replace the
//! extractor here with it (count the chunks as they arrive) and move the limit
//! from [`config`] to this route; nothing else in the entry changes.

use armature_core::{Bytes, ServerConfig};

/// HttpArena's largest upload is 20 MiB; actix's entry allows 25 MiB.
pub const MAX_UPLOAD: usize = 25 * 1024 * 1024;

/// The server-wide settings the upload route needs.
pub fn config(config: ServerConfig) -> ServerConfig {
    config.max_body_size(MAX_UPLOAD)
}

/// `POST /upload`: the length of the body that was read.
pub async fn upload(body: Bytes) -> String {
    body.len().to_string()
}
