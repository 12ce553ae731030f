//! A small, synchronous HTTP client on `wasi:http/outgoing-handler`.
//!
//! Deliberately not `wstd`: its 0.6.8 client writes the (empty) body concurrently with
//! waiting for the response, which races wasmtime's body stream (see
//! `wasmtime-notes.md` §1). Here the outgoing body is written and finished *before*
//! `handle()` is called, the response is awaited with a deadline, and the response body
//! is read fully in a bounded loop.
//!
//! Credentials go only over https or to loopback: [`send`] refuses, before anything is
//! sent, a request to a plain-http origin that is not loopback (see
//! [`is_loopback_host`]) when it carries an `Authorization`, `Proxy-Authorization` or
//! `Cookie` header, or a body not marked [`Request::credential_free`]. Hosts enforce the
//! same rule on their side (`aci-host` refuses any body there).
//!
//! Every request carries a timeout: it is passed to the host as `request-options`
//! (connect / first-byte / between-bytes) and also enforced here as an overall deadline
//! by polling the response and body streams against a monotonic-clock timer.
//!
//! The module also holds the URL helpers the plugin needs (splitting an absolute URL,
//! percent-encoding path segments, query values and form bodies), so that nothing else
//! builds URLs by hand.

use std::fmt;

mod json;
mod url;
mod wire;

pub use json::{json_parse_cost, parse_json_body, MAX_JSON_PARSE_BYTES};
pub use url::{
    encode_component, form_encode, is_loopback_host, query_param, redact_query, with_query, Url,
};

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
    /// The caller vouches that the body carries no secret, so it may go to a plain-http
    /// origin that is not loopback (headers that carry credentials never may).
    pub credential_free: bool,
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
            .field("credential_free", &self.credential_free)
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
            credential_free: false,
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

    /// Marks the body as carrying no secret (see [`Request::credential_free`]).
    pub fn credential_free(mut self) -> Request {
        self.credential_free = true;
        self
    }
}

/// Request headers that carry credentials (compared case-insensitively).
pub const CREDENTIAL_HEADERS: [&str; 3] = ["authorization", "proxy-authorization", "cookie"];

/// Refuses (as [`HttpError::Denied`]) a request that would carry credentials over plain
/// http to a host that is not loopback: a [`CREDENTIAL_HEADERS`] header, or a body not
/// marked [`Request::credential_free`]. Pure; [`send`] calls it before anything is sent.
pub fn check_credentials(req: &Request, url: &Url) -> Result<(), HttpError> {
    if url.may_carry_credentials() {
        return Ok(());
    }
    let header = req
        .headers
        .iter()
        .find(|(n, _)| CREDENTIAL_HEADERS.iter().any(|c| n.eq_ignore_ascii_case(c)));
    let what = match header {
        Some((name, _)) => format!("a `{}` header", name.to_ascii_lowercase()),
        None if !req.body.is_empty() && !req.credential_free => "a request body".to_string(),
        None => return Ok(()),
    };
    Err(HttpError::Denied(format!(
        "{} {}: refused by the plugin: {what} may go over plain http only to loopback (use https)",
        req.method,
        url.origin()
    )))
}

/// Default overall timeout of a request.
pub const DEFAULT_TIMEOUT_MS: u64 = 60_000;
/// Largest response body read: ARM logs are capped at 4 MB, so 16 MiB leaves
/// room, and with [`MAX_JSON_PARSE_BYTES`] for parsing it keeps a response
/// well inside a plugin's memory (see [`parse_json_body`]).
pub const MAX_RESPONSE_BYTES: usize = 16 * 1024 * 1024;
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

    /// Parses the body as JSON; a body too costly to parse within the
    /// plugin's memory is an error saying so (see [`parse_json_body`]).
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        parse_json_body(&self.body)
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
    /// The request may not go out: the host's outbound policy refused it
    /// (`ErrorCode::HttpRequestDenied`), or this client did, because it would carry
    /// credentials over plain http ([`check_credentials`]).
    Denied(String),
    /// The request timed out (connect, first byte, between bytes or the overall deadline).
    Timeout(String),
    /// The connection failed or broke (refused, reset, DNS, incomplete response).
    Connection(String),
    /// The URL could not be used.
    InvalidUrl(String),
    /// The response body is larger than [`MAX_RESPONSE_BYTES`].
    TooLarge(String),
    /// Anything else (TLS failures, protocol errors, oversized requests).
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
            HttpError::Denied(m) => write!(f, "request denied: {m}"),
            HttpError::Timeout(m) => write!(f, "timed out: {m}"),
            HttpError::Connection(m) => write!(f, "connection failed: {m}"),
            HttpError::InvalidUrl(m) => write!(f, "invalid URL: {m}"),
            HttpError::TooLarge(m) => write!(f, "response too large: {m}"),
            HttpError::Other(m) => write!(f, "{m}"),
        }
    }
}

impl std::error::Error for HttpError {}

/// Sends `req` and reads the whole response. Never retries: callers decide. A request
/// that would carry credentials over plain http to a host that is not loopback is
/// refused before anything is sent ([`check_credentials`]).
pub fn send(req: &Request) -> Result<Response, HttpError> {
    let url = Url::parse(&req.url)?;
    check_credentials(req, &url)?;
    wire::send(req, &url)
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
    fn credentials_never_go_over_plain_http_to_a_remote_host() {
        let remote = [
            "http://127.attacker.example/t",
            "http://localhost.evil/t",
            "http://[::ffff:10.0.0.1]/t",
            "http://[::ffff:127.0.0.1]:8080/t",
            "http://169.254.169.254/metadata",
        ];
        let bearer = |u: &str| Request::new(Method::Get, u).header("Authorization", "Bearer T");
        let secret = |u: &str| Request::new(Method::Post, u).body(b"client_secret=S".to_vec());
        for url in remote {
            let u = Url::parse(url).unwrap();
            for (req, what) in [
                (bearer(url), "`authorization` header"),
                (secret(url), "request body"),
                (
                    Request::new(Method::Get, url).header("Cookie", "a=b"),
                    "`cookie` header",
                ),
                (bearer(url).credential_free(), "`authorization` header"),
            ] {
                let e = check_credentials(&req, &u).unwrap_err();
                assert!(
                    matches!(&e, HttpError::Denied(m) if m.contains(what)),
                    "{url}: {e}"
                );
                let text = e.to_string();
                assert!(!text.contains("Bearer T") && !text.contains("=S"), "{text}");
            }
            // What IMDS needs: a GET with neither, or a body vouched for.
            let get = Request::new(Method::Get, url).header("metadata", "true");
            assert_eq!(check_credentials(&get, &u), Ok(()), "{url}");
            assert_eq!(
                check_credentials(&secret(url).credential_free(), &u),
                Ok(())
            );
        }
        for url in [
            "https://login.example/t",
            "http://127.0.0.1:9/t",
            "http://[::1]/t",
            "http://localhost/t",
        ] {
            let u = Url::parse(url).unwrap();
            assert_eq!(check_credentials(&bearer(url), &u), Ok(()), "{url}");
            assert_eq!(check_credentials(&secret(url), &u), Ok(()), "{url}");
        }
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
