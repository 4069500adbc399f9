//! Profile `upload`: `POST /upload` answers the number of body bytes it read
//! (500 KB to 20 MB bodies), counted chunk by chunk as they arrive
//! ([`StreamingBody`]: the server holds about one read buffer of the body per
//! connection, whatever its size). The route's own limit ([`MAX_UPLOAD`], set with
//! `App::body_limit` in `main.rs`) leaves every other route at the default 2 MiB.

use armature_core::extract::StreamingBody;
use armature_core::http::BodyError;

/// HttpArena's largest upload is 20 MiB; actix's entry allows 25 MiB.
pub const MAX_UPLOAD: usize = 25 * 1024 * 1024;

/// `POST /upload`: the length of the body that was read.
pub async fn upload(mut body: StreamingBody) -> Result<String, BodyError> {
    let mut n = 0;
    while let Some(chunk) = body.chunk().await {
        n += chunk?.len();
    }
    Ok(n.to_string())
}
