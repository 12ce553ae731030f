//! A minimal `orchestrator:task` operator plugin for the host's end-to-end
//! tests: `execute` with `{"url": "..."}` makes one GET through
//! `wasi:http/outgoing-handler` and returns the status, or `denied` when the
//! host's policy refused the request. `{"spin": true}` loops forever (to test
//! interruption); `{"bearer": true}` adds an Authorization header.

mod bindings {
    wit_bindgen::generate!({
        world: "orchestrator:task/operator-plugin",
        path: "../../../wit",
        generate_all,
    });
}

use bindings::exports::orchestrator::task::task_operator::Guest;
use bindings::orchestrator::task::types::{
    OperatorInfo, RemoteError, TaskContext, TaskError, TaskOutcome,
};
use wasi::http::outgoing_handler;
use wasi::http::types::{ErrorCode, Fields, Method, OutgoingBody, OutgoingRequest, Scheme};

struct Probe;

fn get(url: &str, bearer: bool) -> Result<u16, TaskError> {
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| TaskError::InvalidParams("url needs a scheme".into()))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let headers = Fields::new();
    if bearer {
        headers
            .append("authorization", b"Bearer test-token")
            .map_err(|e| TaskError::Internal(format!("{e:?}")))?;
    }
    let req = OutgoingRequest::new(headers);
    req.set_method(&Method::Get)
        .map_err(|_| TaskError::Internal("method".into()))?;
    let scheme = match scheme {
        "http" => Scheme::Http,
        "https" => Scheme::Https,
        other => Scheme::Other(other.to_string()),
    };
    req.set_scheme(Some(&scheme))
        .map_err(|_| TaskError::Internal("scheme".into()))?;
    req.set_authority(Some(authority))
        .map_err(|_| TaskError::Internal("authority".into()))?;
    req.set_path_with_query(Some(path))
        .map_err(|_| TaskError::Internal("path".into()))?;
    let body = req.body().map_err(|_| TaskError::Internal("body".into()))?;
    OutgoingBody::finish(body, None).map_err(|e| TaskError::Internal(format!("{e:?}")))?;
    let fut = outgoing_handler::handle(req, None).map_err(map_err)?;
    fut.subscribe().block();
    let resp = fut
        .get()
        .ok_or_else(|| TaskError::Internal("no response".into()))?
        .map_err(|_| TaskError::Internal("response taken twice".into()))?
        .map_err(map_err)?;
    Ok(resp.status())
}

fn map_err(e: ErrorCode) -> TaskError {
    match e {
        ErrorCode::HttpRequestDenied => TaskError::Denied("HTTP request denied".into()),
        other => TaskError::Remote(RemoteError {
            status: 0,
            code: "http".into(),
            message: format!("{other:?}"),
        }),
    }
}

impl Guest for Probe {
    fn describe() -> OperatorInfo {
        OperatorInfo {
            name: "HttpProbe".into(),
            version: "0.1.0".into(),
            template_fields: vec!["url".into()],
            params_schema: "{}".into(),
        }
    }
    fn validate(_params: String) -> Result<(), TaskError> {
        Ok(())
    }
    fn execute(_context: TaskContext, params: String) -> Result<TaskOutcome, TaskError> {
        let v: serde_json::Value =
            serde_json::from_str(&params).map_err(|e| TaskError::InvalidParams(e.to_string()))?;
        if v.get("spin").and_then(|s| s.as_bool()) == Some(true) {
            // Spin without ever calling the host; `black_box` keeps the
            // optimiser from folding the loop away.
            let mut x: u64 = 0;
            while !std::hint::black_box(false) {
                x = std::hint::black_box(x.wrapping_add(1));
            }
            return Ok(TaskOutcome {
                return_value: x.to_string(),
                exit_code: None,
            });
        }
        let url = v
            .get("url")
            .and_then(|u| u.as_str())
            .ok_or_else(|| TaskError::InvalidParams("url is required".into()))?;
        let bearer = v.get("bearer").and_then(|b| b.as_bool()).unwrap_or(false);
        let status = get(url, bearer)?;
        Ok(TaskOutcome {
            return_value: status.to_string(),
            exit_code: Some(0),
        })
    }
    fn on_kill(_context: TaskContext, _params: String) -> Result<(), TaskError> {
        Ok(())
    }
}

bindings::export!(Probe with_types_in bindings);
