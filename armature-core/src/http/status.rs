//! HTTP status codes with pre-encoded status lines.

use std::fmt;

/// An HTTP status code.
///
/// ```
/// use armature_core::StatusCode;
/// assert_eq!(StatusCode::NOT_FOUND.as_u16(), 404);
/// assert_eq!(StatusCode::OK.reason(), "OK");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StatusCode(u16);

macro_rules! status_codes {
    ($( ($name:ident, $num:literal, $reason:literal), )+) => {
        impl StatusCode {
            $(
                #[doc = concat!("`", stringify!($num), " ", $reason, "`")]
                pub const $name: StatusCode = StatusCode($num);
            )+

            /// The canonical reason phrase, or `""` for an unregistered code.
            pub const fn reason(self) -> &'static str {
                match self.0 {
                    $( $num => $reason, )+
                    _ => "",
                }
            }

            /// The full pre-encoded status line, `HTTP/1.1 200 OK\r\n`, for known codes.
            #[inline]
            pub(crate) const fn status_line(self) -> Option<&'static [u8]> {
                match self.0 {
                    $( $num => Some(concat!("HTTP/1.1 ", stringify!($num), " ", $reason, "\r\n").as_bytes()), )+
                    _ => None,
                }
            }
        }
    };
}

status_codes! {
    (CONTINUE, 100, "Continue"),
    (SWITCHING_PROTOCOLS, 101, "Switching Protocols"),
    (OK, 200, "OK"),
    (CREATED, 201, "Created"),
    (ACCEPTED, 202, "Accepted"),
    (NO_CONTENT, 204, "No Content"),
    (PARTIAL_CONTENT, 206, "Partial Content"),
    (MOVED_PERMANENTLY, 301, "Moved Permanently"),
    (FOUND, 302, "Found"),
    (SEE_OTHER, 303, "See Other"),
    (NOT_MODIFIED, 304, "Not Modified"),
    (TEMPORARY_REDIRECT, 307, "Temporary Redirect"),
    (PERMANENT_REDIRECT, 308, "Permanent Redirect"),
    (BAD_REQUEST, 400, "Bad Request"),
    (UNAUTHORIZED, 401, "Unauthorized"),
    (FORBIDDEN, 403, "Forbidden"),
    (NOT_FOUND, 404, "Not Found"),
    (METHOD_NOT_ALLOWED, 405, "Method Not Allowed"),
    (NOT_ACCEPTABLE, 406, "Not Acceptable"),
    (REQUEST_TIMEOUT, 408, "Request Timeout"),
    (CONFLICT, 409, "Conflict"),
    (GONE, 410, "Gone"),
    (LENGTH_REQUIRED, 411, "Length Required"),
    (PAYLOAD_TOO_LARGE, 413, "Payload Too Large"),
    (URI_TOO_LONG, 414, "URI Too Long"),
    (UNSUPPORTED_MEDIA_TYPE, 415, "Unsupported Media Type"),
    (RANGE_NOT_SATISFIABLE, 416, "Range Not Satisfiable"),
    (EXPECTATION_FAILED, 417, "Expectation Failed"),
    (UNPROCESSABLE_ENTITY, 422, "Unprocessable Entity"),
    (UPGRADE_REQUIRED, 426, "Upgrade Required"),
    (TOO_MANY_REQUESTS, 429, "Too Many Requests"),
    (REQUEST_HEADER_FIELDS_TOO_LARGE, 431, "Request Header Fields Too Large"),
    (INTERNAL_SERVER_ERROR, 500, "Internal Server Error"),
    (NOT_IMPLEMENTED, 501, "Not Implemented"),
    (BAD_GATEWAY, 502, "Bad Gateway"),
    (SERVICE_UNAVAILABLE, 503, "Service Unavailable"),
    (GATEWAY_TIMEOUT, 504, "Gateway Timeout"),
    (HTTP_VERSION_NOT_SUPPORTED, 505, "HTTP Version Not Supported"),
}

impl StatusCode {
    /// A status code from its number; `None` outside `100..=999`.
    pub const fn from_u16(code: u16) -> Option<StatusCode> {
        if code >= 100 && code <= 999 {
            Some(StatusCode(code))
        } else {
            None
        }
    }

    /// The numeric code.
    pub const fn as_u16(self) -> u16 {
        self.0
    }

    /// `true` for `1xx`.
    pub const fn is_informational(self) -> bool {
        self.0 < 200
    }

    /// `true` for `2xx`.
    pub const fn is_success(self) -> bool {
        self.0 >= 200 && self.0 < 300
    }

    /// `true` for `4xx`.
    pub const fn is_client_error(self) -> bool {
        self.0 >= 400 && self.0 < 500
    }

    /// `true` for `5xx`.
    pub const fn is_server_error(self) -> bool {
        self.0 >= 500
    }

    /// Whether a response with this status carries no body by definition (1xx, 204, 304).
    pub const fn forbids_body(self) -> bool {
        self.0 < 200 || self.0 == 204 || self.0 == 304
    }
}

impl Default for StatusCode {
    fn default() -> Self {
        StatusCode::OK
    }
}

impl fmt::Display for StatusCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.0, self.reason())
    }
}
