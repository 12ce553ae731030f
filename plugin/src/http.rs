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
            .field(
                "headers",
                &self
                    .headers
                    .iter()
                    .map(|(n, _)| n.as_str())
                    .collect::<Vec<_>>(),
            )
            .field("body_len", &self.body.len())
            .field("timeout_ms", &self.timeout_ms)
            .finish()
    }
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
            .field(
                "headers",
                &self
                    .headers
                    .iter()
                    .map(|(n, _)| n.as_str())
                    .collect::<Vec<_>>(),
            )
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

// ---------------------------------------------------------------------------------------------
// URL helpers (pure)
// ---------------------------------------------------------------------------------------------

/// An absolute URL split the way `wasi:http` wants it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Url {
    /// `true` for `https`.
    pub https: bool,
    /// `host[:port]`.
    pub authority: String,
    /// Path and query, starting with `/`.
    pub path_with_query: String,
}

impl Url {
    /// Splits an absolute `http(s)://authority/path?query` URL (a fragment is dropped).
    pub fn parse(url: &str) -> Result<Url, HttpError> {
        let (https, rest) = if let Some(r) = strip_prefix_ci(url, "https://") {
            (true, r)
        } else if let Some(r) = strip_prefix_ci(url, "http://") {
            (false, r)
        } else {
            return Err(HttpError::InvalidUrl(format!(
                "`{}` is not an absolute http(s) URL",
                redact_query(url)
            )));
        };
        let rest = rest.split('#').next().unwrap_or("");
        let split = rest.find(['/', '?']).unwrap_or(rest.len());
        let authority = &rest[..split];
        if authority.is_empty()
            || authority.contains('@')
            || authority.chars().any(|c| c.is_whitespace())
        {
            return Err(HttpError::InvalidUrl(format!(
                "`{}` has no usable host",
                redact_query(url)
            )));
        }
        let tail = &rest[split..];
        let path_with_query = if tail.is_empty() {
            "/".to_string()
        } else if tail.starts_with('?') {
            format!("/{tail}")
        } else {
            tail.to_string()
        };
        if path_with_query
            .chars()
            .any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(HttpError::InvalidUrl(format!(
                "`{}` contains whitespace",
                redact_query(url)
            )));
        }
        Ok(Url {
            https,
            authority: authority.to_string(),
            path_with_query,
        })
    }

    /// The host without port (brackets kept for IPv6 literals).
    pub fn host(&self) -> &str {
        let a = self.authority.as_str();
        if a.starts_with('[') {
            match a.find(']') {
                Some(i) => &a[..=i],
                None => a,
            }
        } else {
            a.rsplit_once(':').map(|(h, _)| h).unwrap_or(a)
        }
    }

    /// True when the host is a loopback address (`127.x.x.x`, `localhost`, `[::1]`).
    pub fn is_loopback(&self) -> bool {
        let h = self.host().to_ascii_lowercase();
        h == "localhost" || h == "[::1]" || h.starts_with("127.")
    }

    /// True when credentials (bearer tokens, secrets) may be sent to this URL: https, or
    /// plain http to a loopback address.
    pub fn may_carry_credentials(&self) -> bool {
        self.https || self.is_loopback()
    }

    /// `scheme://authority` (no trailing slash).
    pub fn origin(&self) -> String {
        format!(
            "{}://{}",
            if self.https { "https" } else { "http" },
            self.authority
        )
    }
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    if s.len() >= prefix.len()
        && s.is_char_boundary(prefix.len())
        && s[..prefix.len()].eq_ignore_ascii_case(prefix)
    {
        Some(&s[prefix.len()..])
    } else {
        None
    }
}

/// A URL with its query string removed (query strings may carry skip tokens or SAS
/// signatures; never print them).
pub fn redact_query(url: &str) -> String {
    match url.find('?') {
        Some(i) => format!("{}?…", &url[..i]),
        None => url.to_string(),
    }
}

/// Percent-encodes everything except RFC 3986 unreserved characters.
pub fn encode_component(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Encodes `application/x-www-form-urlencoded` pairs.
pub fn form_encode(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", encode_component(k), encode_component(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Appends `key=value` pairs (encoded) to a URL that may already have a query.
pub fn with_query(url: &str, pairs: &[(&str, &str)]) -> String {
    if pairs.is_empty() {
        return url.to_string();
    }
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}{}", form_encode(pairs))
}

/// The value of query parameter `key` in `url` (not decoded), if present.
pub fn query_param<'a>(url: &'a str, key: &str) -> Option<&'a str> {
    let q = url.split_once('?')?.1;
    q.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        (k == key).then_some(v)
    })
}

// ---------------------------------------------------------------------------------------------
// Sending (wasi:http)
// ---------------------------------------------------------------------------------------------

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

mod wire {
    //! The part that talks to `wasi:http`. Compiles natively (the imports are stubs) but
    //! only runs inside the component.

    use super::{classify_error_code, redact_query, HttpError, Method, Request, Response, Url};
    use super::{MAX_REQUEST_BYTES, MAX_RESPONSE_BYTES};
    use wasi::http::outgoing_handler;
    use wasi::http::types::{
        ErrorCode, Fields, IncomingBody, Method as WMethod, OutgoingBody, OutgoingRequest,
        RequestOptions, Scheme,
    };
    use wasi::io::streams::StreamError;

    /// Longest connect timeout asked of the host.
    const CONNECT_TIMEOUT_MS: u64 = 10_000;
    /// Bytes asked per read of the response body.
    const READ_CHUNK: u64 = 64 * 1024;

    fn now_ns() -> u64 {
        wasi::clocks::monotonic_clock::now()
    }

    fn error_from_code(code: &ErrorCode, what: &str) -> HttpError {
        let dbg = format!("{code:?}");
        let name = dbg.trim_start_matches("ErrorCode::");
        let name = name.split(['(', ' ']).next().unwrap_or(name);
        let detail = match code {
            ErrorCode::HttpRequestDenied => format!("{what} is not allowed"),
            ErrorCode::InternalError(Some(m)) => format!("{what}: {m}"),
            ErrorCode::DnsError(p) => {
                format!("{what}: DNS error {}", p.rcode.clone().unwrap_or_default())
            }
            _ => format!("{what}: {name}"),
        };
        classify_error_code(name, detail)
    }

    pub(super) fn send(req: &Request) -> Result<Response, HttpError> {
        let url = Url::parse(&req.url)?;
        let what = format!(
            "{} {}{}",
            req.method,
            url.origin(),
            redact_query(&url.path_with_query)
        );
        if req.body.len() > MAX_REQUEST_BYTES {
            return Err(HttpError::Other(format!(
                "{what}: request body of {} bytes is too large",
                req.body.len()
            )));
        }
        let timeout_ms = req.timeout_ms.max(1);
        let deadline = now_ns().saturating_add(timeout_ms.saturating_mul(1_000_000));

        let mut entries: Vec<(String, Vec<u8>)> = req
            .headers
            .iter()
            .map(|(n, v)| (n.to_ascii_lowercase(), v.as_bytes().to_vec()))
            .collect();
        // Always state the length of a POST/PUT/PATCH, even 0: front ends such as ARM's
        // answer `411 Length Required` to a body-less POST without it.
        let needs_length = !req.body.is_empty()
            || matches!(req.method, Method::Post | Method::Put | Method::Patch);
        if needs_length && !entries.iter().any(|(n, _)| n == "content-length") {
            entries.push((
                "content-length".into(),
                req.body.len().to_string().into_bytes(),
            ));
        }
        let headers = Fields::from_list(&entries)
            .map_err(|e| HttpError::Other(format!("{what}: invalid request header ({e:?})")))?;
        let request = OutgoingRequest::new(headers);
        let method = match req.method {
            Method::Get => WMethod::Get,
            Method::Put => WMethod::Put,
            Method::Post => WMethod::Post,
            Method::Delete => WMethod::Delete,
            Method::Patch => WMethod::Patch,
        };
        let bad =
            |field: &str| HttpError::InvalidUrl(format!("{what}: the host rejected the {field}"));
        request.set_method(&method).map_err(|_| bad("method"))?;
        request
            .set_scheme(Some(if url.https {
                &Scheme::Https
            } else {
                &Scheme::Http
            }))
            .map_err(|_| bad("scheme"))?;
        request
            .set_authority(Some(&url.authority))
            .map_err(|_| bad("authority"))?;
        request
            .set_path_with_query(Some(&url.path_with_query))
            .map_err(|_| bad("path"))?;

        // Write and finish the body before handing the request over.
        let body = request
            .body()
            .map_err(|_| HttpError::Other(format!("{what}: request body unavailable")))?;
        {
            let stream = body.write().map_err(|_| {
                HttpError::Other(format!("{what}: request body stream unavailable"))
            })?;
            let mut rest: &[u8] = &req.body;
            // Bounded: each round writes at least one byte or fails.
            while !rest.is_empty() {
                let n = match stream.check_write() {
                    Ok(n) => n as usize,
                    Err(_) => {
                        return Err(HttpError::Connection(format!(
                            "{what}: request body stream closed"
                        )))
                    }
                };
                if n == 0 {
                    return Err(HttpError::Other(format!(
                        "{what}: request body too large to buffer"
                    )));
                }
                let take = n.min(rest.len());
                stream.write(&rest[..take]).map_err(|_| {
                    HttpError::Connection(format!("{what}: writing the request body failed"))
                })?;
                rest = &rest[take..];
            }
            drop(stream);
        }
        OutgoingBody::finish(body, None).map_err(|e| error_from_code(&e, &what))?;

        let options = RequestOptions::new();
        let ns = |ms: u64| ms.saturating_mul(1_000_000);
        // Hosts may not support every option; the overall deadline below still applies.
        let _ = options.set_connect_timeout(Some(ns(timeout_ms.min(CONNECT_TIMEOUT_MS))));
        let _ = options.set_first_byte_timeout(Some(ns(timeout_ms)));
        let _ = options.set_between_bytes_timeout(Some(ns(timeout_ms)));

        let future = outgoing_handler::handle(request, Some(options))
            .map_err(|e| error_from_code(&e, &what))?;
        let timeout = || {
            HttpError::Timeout(format!(
                "{what}: no complete response within {timeout_ms} ms"
            ))
        };

        // Wait for the head, against the deadline.
        let incoming = {
            let ready = future.subscribe();
            let timer = wasi::clocks::monotonic_clock::subscribe_instant(deadline);
            // Bounded: each round either returns or sees the timer fire.
            loop {
                if let Some(result) = future.get() {
                    break match result {
                        Ok(Ok(resp)) => resp,
                        Ok(Err(code)) => return Err(error_from_code(&code, &what)),
                        Err(()) => {
                            return Err(HttpError::Other(format!("{what}: response already taken")))
                        }
                    };
                }
                if now_ns() >= deadline {
                    return Err(timeout());
                }
                wasi::io::poll::poll(&[&ready, &timer]);
            }
        };

        let status = incoming.status();
        let headers: Vec<(String, String)> = {
            let h = incoming.headers();
            let list = h.entries();
            drop(h);
            list.into_iter()
                .map(|(n, v)| (n, String::from_utf8_lossy(&v).into_owned()))
                .collect()
        };

        let body = incoming
            .consume()
            .map_err(|_| HttpError::Other(format!("{what}: response body unavailable")))?;
        let bytes = read_body(&body, deadline, &what, timeout_ms)?;
        let _trailers = IncomingBody::finish(body);
        drop(incoming);
        Ok(Response {
            status,
            headers,
            body: bytes,
        })
    }

    fn read_body(
        body: &IncomingBody,
        deadline: u64,
        what: &str,
        timeout_ms: u64,
    ) -> Result<Vec<u8>, HttpError> {
        let stream = body
            .stream()
            .map_err(|_| HttpError::Other(format!("{what}: response stream unavailable")))?;
        let ready = stream.subscribe();
        let timer = wasi::clocks::monotonic_clock::subscribe_instant(deadline);
        let mut out = Vec::new();
        // Bounded by the deadline and by MAX_RESPONSE_BYTES.
        loop {
            match stream.read(READ_CHUNK) {
                Ok(chunk) if chunk.is_empty() => {
                    if now_ns() >= deadline {
                        return Err(HttpError::Timeout(format!(
                            "{what}: response body incomplete after {timeout_ms} ms"
                        )));
                    }
                    wasi::io::poll::poll(&[&ready, &timer]);
                }
                Ok(chunk) => {
                    out.extend_from_slice(&chunk);
                    if out.len() > MAX_RESPONSE_BYTES {
                        return Err(HttpError::Other(format!(
                            "{what}: response body larger than {MAX_RESPONSE_BYTES} bytes"
                        )));
                    }
                }
                Err(StreamError::Closed) => break,
                Err(StreamError::LastOperationFailed(e)) => {
                    return Err(match wasi::http::types::http_error_code(&e) {
                        Some(code) => error_from_code(&code, what),
                        None => {
                            HttpError::Connection(format!("{what}: reading the response failed"))
                        }
                    });
                }
            }
        }
        drop(ready);
        drop(stream);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_parsing() {
        let u = Url::parse("https://management.azure.com/subscriptions/x?api-version=1").unwrap();
        assert!(u.https);
        assert_eq!(u.authority, "management.azure.com");
        assert_eq!(u.path_with_query, "/subscriptions/x?api-version=1");
        assert_eq!(u.host(), "management.azure.com");
        assert!(!u.is_loopback());
        assert!(u.may_carry_credentials());

        let u = Url::parse("http://127.0.0.1:8080").unwrap();
        assert_eq!(u.authority, "127.0.0.1:8080");
        assert_eq!(u.path_with_query, "/");
        assert_eq!(u.host(), "127.0.0.1");
        assert!(u.is_loopback() && u.may_carry_credentials());
        assert_eq!(u.origin(), "http://127.0.0.1:8080");

        let u = Url::parse("HTTP://[::1]:99?x=1#frag").unwrap();
        assert_eq!(u.host(), "[::1]");
        assert_eq!(u.path_with_query, "/?x=1");
        assert!(u.is_loopback());

        let u = Url::parse("http://169.254.169.254/metadata").unwrap();
        assert!(!u.may_carry_credentials());

        for bad in [
            "ftp://x/",
            "management.azure.com/x",
            "https:///x",
            "https://user@host/",
            "https://h/a b",
        ] {
            assert!(
                matches!(Url::parse(bad), Err(HttpError::InvalidUrl(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn invalid_url_message_hides_query() {
        let e = Url::parse("ftp://x/?sig=SECRET").unwrap_err();
        assert!(!e.to_string().contains("SECRET"), "{e}");
    }

    #[test]
    fn encoding() {
        assert_eq!(encode_component("a b/c+d=é"), "a%20b%2Fc%2Bd%3D%C3%A9");
        assert_eq!(encode_component("AZaz09-._~"), "AZaz09-._~");
        assert_eq!(
            form_encode(&[
                ("grant_type", "client_credentials"),
                ("scope", "https://x/.default")
            ]),
            "grant_type=client_credentials&scope=https%3A%2F%2Fx%2F.default"
        );
        assert_eq!(
            with_query("https://h/p", &[("api-version", "2023-05-01")]),
            "https://h/p?api-version=2023-05-01"
        );
        assert_eq!(
            with_query("https://h/p?a=1", &[("tail", "5")]),
            "https://h/p?a=1&tail=5"
        );
        assert_eq!(with_query("https://h/p", &[]), "https://h/p");
        assert_eq!(
            query_param("https://h/p?a=1&api-version=2018-06-01", "api-version"),
            Some("2018-06-01")
        );
        assert_eq!(query_param("https://h/p", "a"), None);
        assert_eq!(redact_query("https://h/p?$skiptoken=abc"), "https://h/p?…");
    }

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
