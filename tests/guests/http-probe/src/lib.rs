//! A minimal `orchestrator:task` operator plugin for the host's end-to-end
//! tests, written on the guest SDK: `execute` with `{"url": "..."}` makes one
//! GET through `wasi:http/outgoing-handler` and returns the status, or
//! `denied` when the host's policy refused the request. `{"spin": true}` loops
//! forever (to test interruption); `{"bearer": true}` adds an Authorization
//! header. `{"url": "...", "concurrent": N}` sends N GETs at once and returns
//! how many answered 200 (to test the host's per-task bound on requests in
//! flight). `{"eprint": "text"}` writes the text to stderr and stdout, and
//! `{"panic": "text"}` panics with it (to test that guest output is masked).
//! `validate` spins forever when given `{"spin_validate": true}` (to test
//! deadlines and Ctrl-C).
//! It declares nothing (the SDK's default `connection_ids` and `plan`): what
//! it may reach is what the host adds (`--allow-host`).

use task_plugin_sdk::http::{self, HttpError, Method, Request, Url};
use task_plugin_sdk::{Error, Operator, OperatorInfo, Result, TaskContext, TaskOutcome};

mod concurrent;

struct Probe;

fn get(url: &str, bearer: bool) -> Result<u16> {
    if !url.contains("://") {
        return Err(Error::InvalidParams("url needs a scheme".into()));
    }
    let mut request = Request::new(Method::Get, url);
    if bearer {
        request = request.header("authorization", "Bearer test-token");
    }
    match http::send(&request) {
        Ok(response) => Ok(response.status),
        Err(HttpError::Denied(_)) => Err(Error::Denied("HTTP request denied".into())),
        Err(other) => Err(Error::remote(0, "http", other.to_string())),
    }
}

/// Spins without ever calling the host; `black_box` keeps the optimiser from
/// folding the loop away.
fn spin() -> u64 {
    let mut x: u64 = 0;
    while !std::hint::black_box(false) {
        x = std::hint::black_box(x.wrapping_add(1));
    }
    x
}

impl Operator for Probe {
    fn describe() -> OperatorInfo {
        OperatorInfo {
            name: "HttpProbe".into(),
            version: "0.1.0".into(),
            template_fields: vec!["url".into()],
            params_schema: "{}".into(),
            environment: Vec::new(),
            secret_extras: Vec::new(),
        }
    }

    fn validate(params: &str) -> Result<()> {
        let v: serde_json::Value =
            serde_json::from_str(params).map_err(|e| Error::InvalidParams(e.to_string()))?;
        if v.get("spin_validate").and_then(|s| s.as_bool()) == Some(true) {
            spin();
        }
        Ok(())
    }

    fn execute(_context: TaskContext, params: &str) -> Result<TaskOutcome> {
        let v: serde_json::Value =
            serde_json::from_str(params).map_err(|e| Error::InvalidParams(e.to_string()))?;
        if v.get("spin").and_then(|s| s.as_bool()) == Some(true) {
            return Ok(TaskOutcome {
                return_value: spin().to_string(),
                exit_code: None,
            });
        }
        if let Some(text) = v.get("eprint").and_then(|t| t.as_str()) {
            eprintln!("{text}");
            println!("{text}");
        }
        if let Some(text) = v.get("panic").and_then(|t| t.as_str()) {
            panic!("{text}");
        }
        let url = v
            .get("url")
            .and_then(|u| u.as_str())
            .ok_or_else(|| Error::InvalidParams("url is required".into()))?;
        if let Some(n) = v.get("concurrent").and_then(|n| n.as_u64()) {
            let url = Url::parse(url).map_err(|e| Error::InvalidParams(e.to_string()))?;
            let ok = concurrent::get_all(&url, n as usize)?;
            return Ok(TaskOutcome {
                return_value: ok.to_string(),
                exit_code: Some(0),
            });
        }
        let bearer = v.get("bearer").and_then(|b| b.as_bool()).unwrap_or(false);
        let status = get(url, bearer)?;
        Ok(TaskOutcome {
            return_value: status.to_string(),
            exit_code: Some(0),
        })
    }
}

task_plugin_sdk::export_operator!(Probe);
