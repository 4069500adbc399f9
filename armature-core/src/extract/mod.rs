//! Extractors: typed pieces of a request (path parameters, query, JSON, form,
//! cookies, headers, shared and per-worker state) that handlers take as arguments.

use std::ops::Deref;
use std::sync::Arc;

use bytes::Bytes;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::Error;
use crate::fast_response::FastResponse;
use crate::http::{HeaderMap, HttpRequest, StatusCode};
use crate::response::{IntoResponse, Response};
use crate::small_vec::{FormFields, QueryParams};

mod body;
mod from_request;
mod rejection;
mod worker_state;

pub use body::StreamingBody;
pub use from_request::FromRequest;
pub(crate) use rejection::Rejections;
pub use rejection::{Rejection, RejectionKind};
pub use worker_state::WorkerState;

/// A per-request bump arena (see [`crate::arena`]).
pub use crate::arena::Arena;

// The arena lives in the foundation layer (`crate::arena`); its extractor lives
// here, with the trait it implements.
impl<S> FromRequest<S> for Arena {
    #[inline]
    fn from_request(_: &HttpRequest, _: &Arc<S>) -> Result<Self, Rejection> {
        Ok(Arena::take())
    }
}

/// Path parameters, deserialised: a single value (`Path<u32>`), a tuple in pattern
/// order (`Path<(u32, String)>`) or a struct by name.
///
/// ```
/// use armature_core::extract::{FromRequest, Path};
/// use armature_core::{HttpRequest, Method};
/// use std::sync::Arc;
/// let req = HttpRequest::new(Method::Get, "/users/42").with_param_ranges(&[("id", 7..9)]);
/// let Path(id) = Path::<u32>::from_request(&req, &Arc::new(())).unwrap();
/// assert_eq!(id, 42);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Path<T>(pub T);

impl<S, T: DeserializeOwned> FromRequest<S> for Path<T> {
    fn from_request(req: &HttpRequest, _: &Arc<S>) -> Result<Self, Rejection> {
        let params = req.params();
        crate::de::from_pairs(params.iter()).map(Path).map_err(|e| {
            Rejection::of(
                RejectionKind::Path,
                StatusCode::BAD_REQUEST,
                format!("invalid path parameter: {e}"),
            )
        })
    }
}

/// The query string, deserialised (`?page=2&q=rust` into a struct).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Query<T>(pub T);

impl<S, T: DeserializeOwned> FromRequest<S> for Query<T> {
    fn from_request(req: &HttpRequest, _: &Arc<S>) -> Result<Self, Rejection> {
        let params = QueryParams::parse(req.query().unwrap_or(""));
        crate::de::from_pairs(params.iter())
            .map(Query)
            .map_err(|e| {
                Rejection::of(
                    RejectionKind::Query,
                    StatusCode::BAD_REQUEST,
                    format!("invalid query string: {e}"),
                )
            })
    }
}

/// A JSON body (`Content-Type: application/json`), and a JSON response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Json<T>(pub T);

/// A `400` for a body that does not parse.
fn malformed(message: &'static str) -> Rejection {
    Rejection::of(
        RejectionKind::MalformedBody,
        StatusCode::BAD_REQUEST,
        message,
    )
}

fn media_type(req: &HttpRequest) -> Option<&str> {
    req.content_type()
        .map(|ct| ct.split(';').next().unwrap_or("").trim())
}

impl<S, T: DeserializeOwned> FromRequest<S> for Json<T> {
    fn from_request(req: &HttpRequest, _: &Arc<S>) -> Result<Self, Rejection> {
        let is_json = media_type(req).is_some_and(|mt| {
            mt.eq_ignore_ascii_case("application/json")
                || (mt.len() > 5 && mt[mt.len() - 5..].eq_ignore_ascii_case("+json"))
        });
        if !is_json {
            return Err(Rejection::of(
                RejectionKind::MediaType,
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "expected a request with `Content-Type: application/json`",
            ));
        }
        crate::json::from_slice::<T>(req.body())
            .map(Json)
            .map_err(|e| {
                if e.is_data() {
                    Rejection::of(
                        RejectionKind::InvalidBody,
                        StatusCode::UNPROCESSABLE_ENTITY,
                        format!("invalid JSON body: {e}"),
                    )
                } else {
                    Rejection::of(
                        RejectionKind::MalformedBody,
                        StatusCode::BAD_REQUEST,
                        format!("malformed JSON body: {e}"),
                    )
                }
            })
    }
}

/// A value answered as JSON (`200`, `Content-Type: application/json`); a value that
/// fails to serialise is answered `500`.
impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        let mut buf = Vec::with_capacity(128);
        match crate::json::to_writer(&mut buf, &self.0) {
            Ok(()) => FastResponse::ok()
                .with_content_type("application/json")
                .with_bytes(Bytes::from(buf))
                .into_response(),
            Err(e) => Error::from(e).into_response(),
        }
    }
}

/// An `application/x-www-form-urlencoded` body, deserialised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Form<T>(pub T);

impl<S, T: DeserializeOwned> FromRequest<S> for Form<T> {
    fn from_request(req: &HttpRequest, _: &Arc<S>) -> Result<Self, Rejection> {
        if !media_type(req)
            .is_some_and(|mt| mt.eq_ignore_ascii_case("application/x-www-form-urlencoded"))
        {
            return Err(Rejection::of(
                RejectionKind::MediaType,
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "expected a request with `Content-Type: application/x-www-form-urlencoded`",
            ));
        }
        let body =
            std::str::from_utf8(req.body()).map_err(|_| malformed("form body is not UTF-8"))?;
        let fields = FormFields::parse(body);
        crate::de::from_pairs(fields.iter()).map(Form).map_err(|e| {
            Rejection::of(
                RejectionKind::InvalidBody,
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("invalid form body: {e}"),
            )
        })
    }
}

/// The request's cookies (owned, so the handler may keep them past an `.await`).
#[derive(Debug, Clone, Default)]
pub struct Cookies(pub crate::small_vec::Cookies<'static>);

impl Deref for Cookies {
    type Target = crate::small_vec::Cookies<'static>;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl<S> FromRequest<S> for Cookies {
    fn from_request(req: &HttpRequest, _: &Arc<S>) -> Result<Self, Rejection> {
        Ok(Cookies(req.cookies().into_owned()))
    }
}

/// A copy of the request headers (values share the read buffer; nothing is copied).
#[derive(Debug, Clone, Default)]
pub struct Headers(pub HeaderMap);

impl Deref for Headers {
    type Target = HeaderMap;
    fn deref(&self) -> &HeaderMap {
        &self.0
    }
}

impl<S> FromRequest<S> for Headers {
    fn from_request(req: &HttpRequest, _: &Arc<S>) -> Result<Self, Rejection> {
        Ok(Headers(req.headers().clone()))
    }
}

/// The app's shared state (`App::with_state`).
#[derive(Debug)]
pub struct State<S>(pub Arc<S>);

impl<S> Clone for State<S> {
    fn clone(&self) -> Self {
        State(self.0.clone())
    }
}

impl<S> Deref for State<S> {
    type Target = S;
    fn deref(&self) -> &S {
        &self.0
    }
}

impl<S> FromRequest<S> for State<S> {
    #[inline]
    fn from_request(_: &HttpRequest, state: &Arc<S>) -> Result<Self, Rejection> {
        Ok(State(state.clone()))
    }
}

impl<S> FromRequest<S> for HttpRequest {
    fn from_request(req: &HttpRequest, _: &Arc<S>) -> Result<Self, Rejection> {
        Ok(req.clone())
    }
}

impl<S> FromRequest<S> for Bytes {
    fn from_request(req: &HttpRequest, _: &Arc<S>) -> Result<Self, Rejection> {
        Ok(req.body().clone())
    }
}

impl<S> FromRequest<S> for String {
    fn from_request(req: &HttpRequest, _: &Arc<S>) -> Result<Self, Rejection> {
        String::from_utf8(req.body().to_vec()).map_err(|_| malformed("request body is not UTF-8"))
    }
}

impl<S, T: FromRequest<S>> FromRequest<S> for Option<T> {
    const STREAMS_BODY: bool = T::STREAMS_BODY;

    fn from_request(req: &HttpRequest, state: &Arc<S>) -> Result<Self, Rejection> {
        Ok(T::from_request(req, state).ok())
    }
}
