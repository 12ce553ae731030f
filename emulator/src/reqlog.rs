//! `--request-log FILE`: one JSON line per request, so users can see what their client sent.
//!
//! A line holds `time` (RFC 3339, UTC), `method`, `path`, `query` (values of parameters that
//! look secret replaced by `***`), `status` (0: connection reset injected), `kind` (the
//! operation, as in the statistics, or `Misdirected` for a refused `Host`), `ms` and
//! `client_request_id` (`x-ms-client-request-id`, or `null`). Bodies and headers are never
//! written, so neither are secrets and tokens.

use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::sync::Mutex;
use std::time::Instant;

use serde_json::json;

/// Query parameter names whose values are never logged (matched as substrings,
/// case-insensitively), except the paging token `$skiptoken`.
const SECRET_PARAMS: [&str; 7] = [
    "secret",
    "password",
    "token",
    "assertion",
    "sig",
    "key",
    "code",
];

/// The open log file.
#[derive(Debug)]
pub(crate) struct RequestLog {
    file: Mutex<File>,
}

/// What one request was, for its log line.
#[derive(Debug)]
pub(crate) struct Entry<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub query: Option<&'a str>,
    pub status: u16,
    pub kind: &'a str,
    pub started: Instant,
    pub client_request_id: Option<&'a str>,
}

/// The query with secret-looking values replaced by `***`.
fn redacted_query(query: &str) -> String {
    let mut out = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
        let lower = k.to_ascii_lowercase();
        let secret = lower != "$skiptoken" && SECRET_PARAMS.iter().any(|s| lower.contains(s));
        out.append_pair(&k, if secret { "***" } else { &v });
    }
    out.finish()
}

impl RequestLog {
    /// Opens (creates or appends to) `path`.
    pub fn open(path: &Path) -> std::io::Result<RequestLog> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| {
                std::io::Error::new(e.kind(), format!("request log {}: {e}", path.display()))
            })?;
        Ok(RequestLog {
            file: Mutex::new(file),
        })
    }

    /// Writes one line (one `write` call; errors are ignored: logging never fails a request).
    pub fn write(&self, e: &Entry<'_>) {
        let line = json!({
            "time": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "method": e.method,
            "path": e.path,
            "query": e.query.map(redacted_query),
            "status": e.status,
            "kind": e.kind,
            "ms": (e.started.elapsed().as_secs_f64() * 1000.0 * 1000.0).round() / 1000.0,
            "client_request_id": e.client_request_id,
        });
        let mut text = line.to_string();
        text.push('\n');
        let mut f = self.file.lock().unwrap_or_else(|p| p.into_inner());
        let _ = f.write_all(text.as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_json_without_secrets() {
        let path = std::env::temp_dir().join(format!(
            "aci-emulator-reqlog-{}.jsonl",
            uuid::Uuid::new_v4().simple()
        ));
        let log = RequestLog::open(&path).unwrap();
        log.write(&Entry {
            method: "GET",
            path: "/subscriptions/s/providers/Microsoft.ContainerInstance/containerGroups",
            query: Some("api-version=2023-05-01&client_secret=hunter2&sig=abc&$skiptoken=1"),
            status: 200,
            kind: "ContainerGroups_List",
            started: Instant::now(),
            client_request_id: Some("req-1"),
        });
        log.write(&Entry {
            method: "POST",
            path: "/t/oauth2/v2.0/token",
            query: None,
            status: 401,
            kind: "Token_Issue",
            started: Instant::now(),
            client_request_id: None,
        });
        let text = std::fs::read_to_string(&path).unwrap();
        let _ = std::fs::remove_file(&path);
        assert!(!text.contains("hunter2") && !text.contains("abc"), "{text}");
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0]["status"], 200);
        assert_eq!(lines[0]["kind"], "ContainerGroups_List");
        assert_eq!(lines[0]["client_request_id"], "req-1");
        assert_eq!(
            lines[0]["query"],
            "api-version=2023-05-01&client_secret=***&sig=***&%24skiptoken=1"
        );
        assert!(lines[0]["ms"].is_number() && lines[0]["time"].is_string());
        assert!(lines[1]["query"].is_null() && lines[1]["client_request_id"].is_null());
    }
}
