//! Static files: [`ServeDir`] serves a directory under a catch-all route,
//! [`ServeFile`] one file, both as route handlers.
//!
//! ```no_run
//! use armature_core::static_files::{ServeDir, ServeFile};
//! use armature_core::App;
//!
//! App::new()
//!     .get("/", ServeFile::new("public/index.html"))
//!     .get("/static/{*path}", ServeDir::new("public"))
//!     .serve("127.0.0.1:3000")
//!     .unwrap();
//! ```
//!
//! What a response carries: `Content-Type` from the extension (`mime_guess`;
//! `application/octet-stream` when unknown, `; charset=utf-8` on `text/*`),
//! `Content-Length`, `ETag` (strong, from the modification time and length),
//! `Last-Modified` and `Accept-Ranges: bytes`.
//!
//! - `If-None-Match` (or, without it, `If-Modified-Since`) that still holds: `304`.
//! - `Range: bytes=a-b`, `a-` or `-n`: `206` with `Content-Range`; a range with no
//!   byte in the file: `416` with `Content-Range: bytes */len`. Several ranges are
//!   answered with the whole file (`200`), not `multipart/byteranges`. `If-Range`
//!   is honoured (strong entity-tag comparison, or the exact `Last-Modified` date).
//! - `HEAD` (routed to the `GET` route) gets the same head and no body.
//! - Anything that would leave the root — `..`, percent-encoded or not, an empty
//!   segment (`//etc/passwd`), a symlink inside the root that points outside, a
//!   path that is not a regular file (a directory without an index, a FIFO, a
//!   device, a socket), a file named as a directory (`a.txt/`) — answers `404`, as
//!   a missing file does.
//!
//! - `Accept-Encoding` that allows brotli or gzip, and a precompressed sibling
//!   (`app.js.br`, `app.js.gz`) beside the file: the sibling, with the file's
//!   `Content-Type`, `Content-Encoding`, its own `ETag` and `Vary: Accept-Encoding`
//!   (see [`ServeDir`]).
//!
//! Files are sent in 64 KiB pieces, each read on tokio's blocking pool (see
//! [`tokio::task::spawn_blocking`]); no file is read whole into memory, and opening
//! and resolving the path happens on that pool too. A file is opened with
//! `O_NONBLOCK` and its type read from the open descriptor, so a FIFO (whose open
//! would wait for a writer) or a device never holds a pool thread.

mod range;
mod resolve;
mod stream;

use std::borrow::Cow;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use futures_core::Stream;

use self::range::{Ranged, Validators};
use self::resolve::Opened;
use self::stream::FileStream;
use crate::handler::{BoxFuture, Handler};
use crate::http::{BoxError, HttpRequest, Method};
use crate::middleware::compression::{acceptable, Coding};
use crate::response::{IntoResponse, Response};
use crate::{Bytes, HttpResponse, StatusCode};

/// Serves the files under a directory. The request's file is the route's last path
/// parameter (a catch-all such as `{*path}`); a route without parameters serves the
/// directory's index.
///
/// Precompressed files are served when the client accepts them: for `app.js`, the
/// sibling `app.js.br` (brotli) or `app.js.gz` (gzip) that the request's
/// `Accept-Encoding` prefers (q-values; brotli first on a tie), with `app.js`'s
/// `Content-Type`, `Content-Encoding`, `Vary: Accept-Encoding` and an `ETag` of its
/// own. A `Range` request is always answered from the file itself. Files without a
/// sibling are sent as they are: compressing a file at each request would spend
/// the CPU a build step (`brotli -k`, `gzip -k`) spends once, so it is not done
/// here. [`precompressed(false)`](Self::precompressed) turns the lookup off.
///
/// ```
/// use armature_core::static_files::ServeDir;
/// use armature_core::App;
///
/// let app = App::new()
///     .get("/assets/{*path}", ServeDir::new("public"))
///     .get("/docs/{*path}", ServeDir::new("docs").index_file(None)); // no index
/// # let _ = app;
/// ```
#[derive(Clone, Debug)]
pub struct ServeDir {
    root: Arc<Path>,
    index: Option<Arc<str>>,
    precompressed: bool,
}

impl ServeDir {
    /// Serves the files under `root` (resolved at each request, so it may be created
    /// after the app starts); a directory is answered with its `index.html`.
    pub fn new(root: impl Into<PathBuf>) -> ServeDir {
        ServeDir {
            root: root.into().into(),
            index: Some("index.html".into()),
            precompressed: true,
        }
    }

    /// Whether a precompressed sibling (`.br`, `.gz`) is served to a client that
    /// accepts it (default `true`; `false` saves the lookup of the siblings, one
    /// `open` each, on a directory that has none).
    pub fn precompressed(mut self, on: bool) -> ServeDir {
        self.precompressed = on;
        self
    }

    /// The file answered for a directory (`None`: a directory is `404`).
    pub fn index_file(mut self, name: Option<&str>) -> ServeDir {
        self.index = name.map(Into::into);
        self
    }
}

/// Serves one file, whatever the request's path; its precompressed siblings as
/// [`ServeDir`] does.
///
/// ```
/// use armature_core::static_files::ServeFile;
/// use armature_core::App;
///
/// let app = App::new().get("/favicon.ico", ServeFile::new("public/favicon.ico"));
/// # let _ = app;
/// ```
#[derive(Clone, Debug)]
pub struct ServeFile {
    path: Arc<Path>,
    precompressed: bool,
}

impl ServeFile {
    /// Serves the file at `path`.
    pub fn new(path: impl Into<PathBuf>) -> ServeFile {
        ServeFile {
            path: path.into().into(),
            precompressed: true,
        }
    }

    /// Whether a precompressed sibling (`.br`, `.gz`) is served to a client that
    /// accepts it (default `true`).
    pub fn precompressed(mut self, on: bool) -> ServeFile {
        self.precompressed = on;
        self
    }
}

/// The [`Handler`] type parameter of [`ServeDir`] and [`ServeFile`] (no value of it
/// exists; it only keeps their impls apart from those of `async fn`s).
#[derive(Debug)]
pub enum FileHandler {}

/// The request headers a file response depends on, copied out of the lent request.
struct Conditions {
    if_none_match: Option<String>,
    if_modified_since: Option<String>,
    range: Option<String>,
    if_range: Option<String>,
    /// The precompressed codings to look for, best first (none for a `Range`
    /// request: ranges are served from the file itself).
    codings: [Option<Coding>; 2],
    /// Whether the response varies by `Accept-Encoding`.
    vary: bool,
}

impl Conditions {
    fn of(req: &HttpRequest, precompressed: bool) -> Conditions {
        let get = |name: &str| req.header_str(name).map(str::to_owned);
        let ranged = matches!(req.method(), Method::Get | Method::Head);
        let range = get("range").filter(|_| ranged);
        let codings = match req.header_str("accept-encoding") {
            Some(accept) if precompressed && range.is_none() => acceptable(accept, true, true),
            _ => [None, None],
        };
        Conditions {
            if_none_match: get("if-none-match"),
            if_modified_since: get("if-modified-since"),
            range,
            if_range: get("if-range"),
            codings,
            vary: precompressed,
        }
    }
}

impl<S: Send + Sync + 'static> Handler<FileHandler, S> for ServeDir {
    fn call(&self, req: &HttpRequest, _state: &Arc<S>) -> BoxFuture {
        let raw = req
            .params
            .len()
            .checked_sub(1)
            .and_then(|last| req.raw_param(last))
            .unwrap_or("");
        let Some(rel) = resolve::relative(raw) else {
            return Box::pin(std::future::ready(not_found()));
        };
        let cond = Conditions::of(req, self.precompressed);
        let (root, index, codings) = (self.root.clone(), self.index.clone(), cond.codings);
        Box::pin(serve(
            move || resolve::open_under(&root, &rel, index.as_deref(), codings),
            cond,
        ))
    }
}

impl<S: Send + Sync + 'static> Handler<FileHandler, S> for ServeFile {
    fn call(&self, req: &HttpRequest, _state: &Arc<S>) -> BoxFuture {
        let (path, cond) = (self.path.clone(), Conditions::of(req, self.precompressed));
        let codings = cond.codings;
        Box::pin(serve(
            move || resolve::open_file(path.to_path_buf(), codings),
            cond,
        ))
    }
}

fn not_found() -> Response {
    Response::text(StatusCode::NOT_FOUND, "Not Found")
}

/// Opens the file on the blocking pool, then answers the request.
async fn serve<F>(open: F, cond: Conditions) -> Response
where
    F: FnOnce() -> io::Result<Opened> + Send + 'static,
{
    let opened = match tokio::task::spawn_blocking(open).await {
        Ok(Ok(opened)) => opened,
        // Missing, outside the root, not a regular file, unreadable: all look the same.
        Ok(Err(_)) => return not_found(),
        Err(_) => {
            return Response::text(StatusCode::INTERNAL_SERVER_ERROR, "could not open the file")
        }
    };
    respond(opened, &cond)
}

fn respond(opened: Opened, cond: &Conditions) -> Response {
    let Opened {
        file,
        meta,
        path,
        coding,
    } = opened;
    let len = meta.len();
    let mut v = Validators::new(len, meta.modified().ok());
    if let Some(coding) = coding {
        // An entity tag per encoding: `"…-br"` never matches the identity form's.
        v.etag
            .insert_str(v.etag.len() - 1, &format!("-{}", coding.token()));
    }
    let mut resp = HttpResponse::ok();
    // Through `headers_mut`, whose signature is the same for any header name.
    let headers = resp.headers_mut();
    headers.insert(Cow::Borrowed("ETag"), Cow::Owned(v.etag.clone()));
    headers.insert(Cow::Borrowed("Accept-Ranges"), Cow::Borrowed("bytes"));
    if cond.vary {
        headers.insert(Cow::Borrowed("Vary"), Cow::Borrowed("Accept-Encoding"));
    }
    if let Some(coding) = coding {
        headers.insert(
            Cow::Borrowed("Content-Encoding"),
            Cow::Borrowed(coding.token()),
        );
    }
    if let Some(m) = v.modified {
        let date = httpdate::fmt_http_date(m);
        headers.insert(Cow::Borrowed("Last-Modified"), Cow::Owned(date));
    }
    if v.not_modified(
        cond.if_none_match.as_deref(),
        cond.if_modified_since.as_deref(),
    ) {
        // No body; the length is the one a 200 would have (RFC 9110 §8.6).
        return resp
            .with_status(StatusCode::NOT_MODIFIED)
            .with_sized_stream(len, Empty)
            .into_response();
    }
    resp = resp.with_content_type(content_type(&path));
    let range = match &cond.range {
        Some(r) if v.range_applies(cond.if_range.as_deref()) => range::parse(r, len),
        _ => Ranged::Whole,
    };
    let (status, content_range, first, n) = match range {
        Ranged::Whole => (StatusCode::OK, None, 0, len),
        Ranged::Part(first, last) => (
            StatusCode::PARTIAL_CONTENT,
            Some(format!("bytes {first}-{last}/{len}")),
            first,
            last - first + 1,
        ),
        Ranged::Unsatisfiable => {
            let r = format!("bytes */{len}");
            resp.headers_mut()
                .insert(Cow::Borrowed("Content-Range"), Cow::Owned(r));
            return resp
                .with_status(StatusCode::RANGE_NOT_SATISFIABLE)
                .into_response();
        }
    };
    if let Some(r) = content_range {
        resp.headers_mut()
            .insert(Cow::Borrowed("Content-Range"), Cow::Owned(r));
    }
    resp.with_status(status)
        .with_sized_stream(n, FileStream::new(file, first, n))
        .into_response()
}

fn content_type(path: &Path) -> Cow<'static, str> {
    match mime_guess::from_path(path).first_raw() {
        Some(t) if t.starts_with("text/") => format!("{t}; charset=utf-8").into(),
        Some(t) => t.into(),
        None => "application/octet-stream".into(),
    }
}

/// The body of a `304`: announces a length, sends nothing (never polled: the status
/// forbids a body).
struct Empty;

impl Stream for Empty {
    type Item = Result<Bytes, BoxError>;
    fn poll_next(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        std::task::Poll::Ready(None)
    }
}
