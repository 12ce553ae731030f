//! A small, synchronous HTTP client on `wasi:http/outgoing-handler`.
//!
//! Deliberately not `wstd`: its 0.6.8 client writes the (empty) body concurrently with
//! waiting for the response, which races wasmtime's body stream (see
//! `wasmtime-notes.md` §1). Here the outgoing body is written and finished *before*
//! `handle()` is called, the response is awaited with a deadline, and the response body
//! is read fully in a bounded loop.
//!
//! Every request carries a timeout: it is passed to the host as `request-options`
//! (connect / first-byte / between-bytes) and also enforced here as an overall deadline
//! by polling the response and body streams against a monotonic-clock timer.
//!
//! The module also holds the URL helpers the plugin needs (splitting an absolute URL,
//! percent-encoding path segments, query values and form bodies), so that nothing else
//! builds URLs by hand.

use std::fmt;

mod url;
mod wire;

pub use url::{encode_component, form_encode, query_param, redact_query, with_query, Url};

/// HTTP request method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// `GET`
    Get,
    /// `PUT`
    Put,
    /// `POST`
    Post,
    /// `DELETE`
    Delete,
    /// `PATCH`
    Patch,
}

impl Method {
    /// The method's name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Put => "PUT",
            Method::Post => "POST",
            Method::Delete => "DELETE",
            Method::Patch => "PATCH",
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An outgoing request. `body` may be empty; `timeout_ms` bounds the whole exchange.
#[derive(Clone)]
pub struct Request {
    /// The method.
    pub method: Method,
    /// Absolute `http://` or `https://` URL.
    pub url: String,
    /// Header name/value pairs (names are case-insensitive).
    pub headers: Vec<(String, String)>,
    /// The request body (empty for none).
    pub body: Vec<u8>,
    /// Overall time limit for connect + response + body, in milliseconds.
    pub timeout_ms: u64,
}

impl fmt::Debug for Request {
    /// Prints method and URL only: headers and body may carry tokens or secrets.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Request")
            .field("method", &self.method)
            .field("url", &self.url)
            .field("headers", &header_names(&self.headers))
            .field("body_len", &self.body.len())
            .field("timeout_ms", &self.timeout_ms)
            .finish()
    }
}

/// The names of `headers`: what `Debug` shows (values may carry tokens or secrets).
fn header_names(headers: &[(String, String)]) -> Vec<&str> {
    headers.iter().map(|(n, _)| n.as_str()).collect()
}

impl Request {
    /// A request with no headers or body and the default timeout (60 s).
    pub fn new(method: Method, url: impl Into<String>) -> Request {
        Request {
            method,
            url: url.into(),
            headers: Vec::new(),
            body: Vec::new(),
            timeout_ms: DEFAULT_TIMEOUT_MS,
        }
    }

    /// Adds a header.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Request {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Sets the body.
    pub fn body(mut self, body: Vec<u8>) -> Request {
        self.body = body;
        self
    }

    /// Sets the overall timeout.
    pub fn timeout_ms(mut self, ms: u64) -> Request {
        self.timeout_ms = ms;
        self
    }
}

/// Default overall timeout of a request.
pub const DEFAULT_TIMEOUT_MS: u64 = 60_000;
/// Largest response body read (ARM logs are capped at 4 MB; leave room).
pub const MAX_RESPONSE_BYTES: usize = 32 * 1024 * 1024;
/// Largest request body written before `handle()` (wasmtime buffers two chunks of up to 1 MiB
/// before the request is sent; container-group documents are a few KiB).
pub const MAX_REQUEST_BYTES: usize = 1024 * 1024;

/// A response, with its body read completely.
#[derive(Clone, Default)]
pub struct Response {
    /// HTTP status.
    pub status: u16,
    /// Header name/value pairs as received (names lower-case on wasmtime).
    pub headers: Vec<(String, String)>,
    /// The whole body.
    pub body: Vec<u8>,
}

impl fmt::Debug for Response {
    /// Prints status and header names only: bodies may carry tokens.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Response")
            .field("status", &self.status)
            .field("headers", &header_names(&self.headers))
            .field("body_len", &self.body.len())
            .finish()
    }
}

impl Response {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Parses the body as JSON.
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_slice(&self.body)
    }

    /// The body as text (lossy UTF-8).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// True for a 2xx status.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// Why a request got no response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HttpError {
    /// The host's outbound policy refused the request (`ErrorCode::HttpRequestDenied`).
    Denied(String),
    /// The request timed out (connect, first byte, between bytes or the overall deadline).
    Timeout(String),
    /// The connection failed or broke (refused, reset, DNS, incomplete response).
    Connection(String),
    /// The URL could not be used.
    InvalidUrl(String),
    /// Anything else (TLS failures, protocol errors, oversized bodies).
    Other(String),
}

impl HttpError {
    /// True when retrying the same request may succeed (timeouts and connection failures).
    pub fn is_transient(&self) -> bool {
        matches!(self, HttpError::Timeout(_) | HttpError::Connection(_))
    }
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HttpError::Denied(m) => write!(f, "denied by the host's outbound policy: {m}"),
            HttpError::Timeout(m) => write!(f, "timed out: {m}"),
            HttpError::Connection(m) => write!(f, "connection failed: {m}"),
            HttpError::InvalidUrl(m) => write!(f, "invalid URL: {m}"),
            HttpError::Other(m) => write!(f, "{m}"),
        }
    }
}

impl std::error::Error for HttpError {}

/// Sends `req` and reads the whole response. Never retries: callers decide.
pub fn send(req: &Request) -> Result<Response, HttpError> {
    wire::send(req)
}

/// How a host error code maps onto [`HttpError`] (pure, testable by name).
fn classify_error_code(name: &str, detail: String) -> HttpError {
    match name {
        "HttpRequestDenied" => HttpError::Denied(detail),
        "DnsTimeout"
        | "ConnectionTimeout"
        | "ConnectionReadTimeout"
        | "ConnectionWriteTimeout"
        | "HttpResponseTimeout" => HttpError::Timeout(detail),
        "DnsError"
        | "DestinationNotFound"
        | "DestinationUnavailable"
        | "DestinationIpUnroutable"
        | "ConnectionRefused"
        | "ConnectionTerminated"
        | "ConnectionLimitReached"
        | "HttpResponseIncomplete"
        | "HttpProtocolError" => HttpError::Connection(detail),
        "HttpRequestUriInvalid" | "HttpRequestUriTooLong" | "HttpRequestMethodInvalid" => {
            HttpError::InvalidUrl(detail)
        }
        _ => HttpError::Other(detail),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn response_helpers() {
        let r = Response {
            status: 200,
            headers: vec![("Retry-After".into(), "5".into())],
            body: br#"{"a":1}"#.to_vec(),
        };
        assert_eq!(r.header("retry-after"), Some("5"));
        assert_eq!(r.header("x"), None);
        assert!(r.is_success());
        let v: serde_json::Value = r.json().unwrap();
        assert_eq!(v["a"], 1);
        assert!(!format!("{r:?}").contains("\"a\""));
    }

    #[test]
    fn request_debug_hides_headers_and_body() {
        let r = Request::new(Method::Post, "https://login/t")
            .header("Authorization", "Bearer TOKEN")
            .body(b"client_secret=SECRET".to_vec());
        let d = format!("{r:?}");
        assert!(!d.contains("TOKEN") && !d.contains("SECRET"), "{d}");
        assert!(d.contains("Authorization"));
    }

    #[test]
    fn error_code_classes() {
        assert!(matches!(
            classify_error_code("HttpRequestDenied", "x".into()),
            HttpError::Denied(_)
        ));
        assert!(matches!(
            classify_error_code("ConnectionRefused", "x".into()),
            HttpError::Connection(_)
        ));
        assert!(matches!(
            classify_error_code("ConnectionReadTimeout", "x".into()),
            HttpError::Timeout(_)
        ));
        assert!(matches!(
            classify_error_code("TlsCertificateError", "x".into()),
            HttpError::Other(_)
        ));
        assert!(classify_error_code("ConnectionTerminated", "x".into()).is_transient());
        assert!(!classify_error_code("HttpRequestDenied", "x".into()).is_transient());
    }
}
