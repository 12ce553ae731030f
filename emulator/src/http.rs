//! A small request/response model used by every route: decoded path segments, query
//! parameters, headers and a complete body in; status, headers and body out.

use bytes::Bytes;
use hyper::{HeaderMap, Method};
use serde_json::{json, Value};

/// A fully read HTTP request.
#[derive(Debug)]
pub(crate) struct Req {
    pub method: Method,
    /// Decoded query pairs, in order.
    pub query: Vec<(String, String)>,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// `scheme://host[:port]` this request came in on (empty: the bound address).
    pub base: String,
}

impl Req {
    /// Builds a request from its parts.
    pub fn new(method: Method, query: Option<&str>, headers: HeaderMap, body: Bytes) -> Req {
        let query = query
            .map(|q| {
                url::form_urlencoded::parse(q.as_bytes())
                    .map(|(k, v)| (k.into_owned(), v.into_owned()))
                    .collect()
            })
            .unwrap_or_default();
        Req {
            method,
            query,
            headers,
            body,
            base: String::new(),
        }
    }

    /// The same request, as come in on `base` (`scheme://host[:port]`).
    pub fn with_base(mut self, base: String) -> Req {
        self.base = base;
        self
    }

    /// The base of every URL handed out in the answer: the scheme and host the request came
    /// in on, or the public URL it came through, else the bound address.
    pub fn base<'a>(&'a self, inner: &'a super::state::Inner) -> &'a str {
        if self.base.is_empty() {
            &inner.base_url
        } else {
            &self.base
        }
    }

    /// The first query value for `key` (ARM query names are case-insensitive).
    pub fn query(&self, key: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_str())
    }

    /// A header value as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The form fields of an `application/x-www-form-urlencoded` body.
    pub fn form(&self) -> Vec<(String, String)> {
        url::form_urlencoded::parse(&self.body)
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect()
    }
}

/// A response before it is turned into a hyper response.
#[derive(Debug, Clone)]
pub(crate) struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
}

impl Resp {
    /// A JSON response.
    pub fn json(status: u16, body: &Value) -> Resp {
        Resp {
            status,
            headers: vec![(
                "content-type".to_string(),
                "application/json; charset=utf-8".to_string(),
            )],
            body: Bytes::from(serde_json::to_vec(body).unwrap_or_default()),
        }
    }

    /// A response without body.
    pub fn empty(status: u16) -> Resp {
        Resp {
            status,
            headers: Vec::new(),
            body: Bytes::new(),
        }
    }

    /// Adds (or replaces) a header.
    pub fn with_header(mut self, name: &str, value: impl Into<String>) -> Resp {
        self.set_header(name, value);
        self
    }

    /// Sets a header, replacing any previous value of the same name.
    pub fn set_header(&mut self, name: &str, value: impl Into<String>) {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self.headers.push((name.to_string(), value.into()));
    }

    /// A header value, if set.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body parsed as JSON (tests).
    #[cfg(test)]
    pub fn json_body(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

/// An ARM error in the `{"error":{"code","message"}}` envelope.
pub(crate) fn arm_error(status: u16, code: &str, message: impl Into<String>) -> Resp {
    Resp::json(
        status,
        &json!({"error": {"code": code, "message": message.into()}}),
    )
}

/// `400 InvalidRequestContent`: what ARM's deserializer answers for a body it cannot read.
pub(crate) fn invalid_content(detail: impl AsRef<str>) -> Resp {
    arm_error(
        400,
        "InvalidRequestContent",
        format!(
            "The request content was invalid and could not be deserialized: '{}'.",
            detail.as_ref()
        ),
    )
}

/// The request body as JSON, or `400 InvalidRequestContent`.
pub(crate) fn json_body(body: &[u8]) -> Result<serde_json::Value, Resp> {
    serde_json::from_slice(body).map_err(|e| invalid_content(e.to_string()))
}

/// An Entra ID (AAD) style error body.
pub(crate) fn aad_error(status: u16, error: &str, code: u32, description: &str) -> Resp {
    let now = chrono::Utc::now().format("%Y-%m-%d %H:%M:%SZ").to_string();
    let trace = uuid::Uuid::new_v4().to_string();
    let corr = uuid::Uuid::new_v4().to_string();
    Resp::json(
        status,
        &json!({
            "error": error,
            "error_description": format!("AADSTS{code}: {description} Trace ID: {trace} Correlation ID: {corr} Timestamp: {now}"),
            "error_codes": [code],
            "timestamp": now,
            "trace_id": trace,
            "correlation_id": corr,
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_parsing_decodes_query() {
        let r = Req::new(
            Method::GET,
            Some("api-version=2023-05-01&tail=5&x=%2F"),
            HeaderMap::new(),
            Bytes::new(),
        );
        assert_eq!(r.query("API-VERSION"), Some("2023-05-01"));
        assert_eq!(r.query("x"), Some("/"));
        assert_eq!(r.query("nope"), None);
    }

    #[test]
    fn error_envelopes() {
        let e = arm_error(404, "ResourceNotFound", "gone");
        assert_eq!(e.status, 404);
        assert_eq!(e.json_body()["error"]["code"], "ResourceNotFound");
        let a = aad_error(400, "invalid_scope", 70011, "bad scope");
        let b = a.json_body();
        assert_eq!(b["error"], "invalid_scope");
        assert_eq!(b["error_codes"][0], 70011);
        assert!(b["error_description"]
            .as_str()
            .unwrap()
            .starts_with("AADSTS70011: bad scope"));
    }

    #[test]
    fn headers_replace() {
        let r = Resp::empty(204)
            .with_header("X-A", "1")
            .with_header("x-a", "2");
        assert_eq!(r.headers.len(), 1);
        assert_eq!(r.header("X-A"), Some("2"));
    }
}
