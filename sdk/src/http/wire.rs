//! The part that talks to `wasi:http`. Compiles natively (the imports are stubs) but
//! only runs inside the component.

use super::{classify_error_code, redact_query, HttpError, Method, Request, Response, Url};
use super::{MAX_REQUEST_BYTES, MAX_RESPONSE_BYTES};
use wasi::http::outgoing_handler;
use wasi::http::types::{
    ErrorCode, Fields, FutureIncomingResponse, IncomingBody, IncomingResponse, Method as WMethod,
    OutgoingBody, OutgoingRequest, RequestOptions, Scheme,
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
        ErrorCode::HttpRequestDenied => {
            format!("{what} is not allowed by the host's outbound policy")
        }
        ErrorCode::InternalError(Some(m)) => format!("{what}: {m}"),
        ErrorCode::DnsError(p) => {
            format!("{what}: DNS error {}", p.rcode.clone().unwrap_or_default())
        }
        _ => format!("{what}: {name}"),
    };
    classify_error_code(name, detail)
}

pub(super) fn send(req: &Request, url: &Url) -> Result<Response, HttpError> {
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

    let request = outgoing_request(req, url, &what)?;
    // Write and finish the body before handing the request over. A request without a
    // body gets no body resource at all: hosts then see a body that is known to be
    // empty (one written and finished, even empty, has an unknown size, which a host
    // must treat as possibly carrying a secret on plain http).
    if !req.body.is_empty() {
        write_body(&request, &req.body, &what)?;
    }
    let future = outgoing_handler::handle(request, Some(request_options(timeout_ms)))
        .map_err(|e| error_from_code(&e, &what))?;
    let incoming = wait_for_head(&future, deadline, &what, timeout_ms)?;

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

/// The request head: headers (with a `content-length` where one is needed),
/// method, scheme, authority and path.
fn outgoing_request(req: &Request, url: &Url, what: &str) -> Result<OutgoingRequest, HttpError> {
    let mut entries: Vec<(String, Vec<u8>)> = req
        .headers
        .iter()
        .map(|(n, v)| (n.to_ascii_lowercase(), v.as_bytes().to_vec()))
        .collect();
    // Always state the length of a POST/PUT/PATCH, even 0: front ends such as ARM's
    // answer `411 Length Required` to a body-less POST without it.
    let needs_length =
        !req.body.is_empty() || matches!(req.method, Method::Post | Method::Put | Method::Patch);
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
    let bad = |field: &str| HttpError::InvalidUrl(format!("{what}: the host rejected the {field}"));
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
    Ok(request)
}

/// Writes the whole request body and finishes it.
fn write_body(request: &OutgoingRequest, bytes: &[u8], what: &str) -> Result<(), HttpError> {
    let body = request
        .body()
        .map_err(|_| HttpError::Other(format!("{what}: request body unavailable")))?;
    {
        let stream = body
            .write()
            .map_err(|_| HttpError::Other(format!("{what}: request body stream unavailable")))?;
        let mut rest: &[u8] = bytes;
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
    OutgoingBody::finish(body, None).map_err(|e| error_from_code(&e, what))
}

/// The host-side timeouts (connect / first byte / between bytes).
fn request_options(timeout_ms: u64) -> RequestOptions {
    let options = RequestOptions::new();
    let ns = |ms: u64| ms.saturating_mul(1_000_000);
    // Hosts may not support every option; the overall deadline still applies.
    let _ = options.set_connect_timeout(Some(ns(timeout_ms.min(CONNECT_TIMEOUT_MS))));
    let _ = options.set_first_byte_timeout(Some(ns(timeout_ms)));
    let _ = options.set_between_bytes_timeout(Some(ns(timeout_ms)));
    options
}

/// Waits for the response head, against the deadline.
fn wait_for_head(
    future: &FutureIncomingResponse,
    deadline: u64,
    what: &str,
    timeout_ms: u64,
) -> Result<IncomingResponse, HttpError> {
    let ready = future.subscribe();
    let timer = wasi::clocks::monotonic_clock::subscribe_instant(deadline);
    // Bounded: each round either returns or sees the timer fire.
    loop {
        if let Some(result) = future.get() {
            return match result {
                Ok(Ok(resp)) => Ok(resp),
                Ok(Err(code)) => Err(error_from_code(&code, what)),
                Err(()) => Err(HttpError::Other(format!("{what}: response already taken"))),
            };
        }
        if now_ns() >= deadline {
            return Err(HttpError::Timeout(format!(
                "{what}: no complete response within {timeout_ms} ms"
            )));
        }
        wasi::io::poll::poll(&[&ready, &timer]);
    }
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
                if out.len() + chunk.len() > MAX_RESPONSE_BYTES {
                    return Err(HttpError::TooLarge(format!(
                        "{what}: the response body is larger than {MAX_RESPONSE_BYTES} bytes"
                    )));
                }
                out.extend_from_slice(&chunk);
            }
            Err(StreamError::Closed) => break,
            Err(StreamError::LastOperationFailed(e)) => {
                return Err(match wasi::http::types::http_error_code(&e) {
                    Some(code) => error_from_code(&code, what),
                    None => HttpError::Connection(format!("{what}: reading the response failed")),
                });
            }
        }
    }
    drop(ready);
    drop(stream);
    Ok(out)
}
