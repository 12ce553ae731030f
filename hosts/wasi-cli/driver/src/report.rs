//! What `run` prints and exits with: `aci-host run --json`'s object and
//! `aci-host`'s exit statuses (contract.md).

use serde_json::{json, Value};

use crate::bindings::aci::cli::session;
use crate::bindings::orchestrator::task::types::{TaskError, TaskOutcome};

/// Exit status when `container_timeout` expired.
pub const EXIT_TIMED_OUT: i32 = 124;
/// Exit status for every failure other than a container's own exit code.
pub const EXIT_OTHER: i32 = 125;
/// Exit status when the task was cancelled.
pub const EXIT_CANCELLED: i32 = 130;

/// How an error is reported: its message (not yet masked), exit status and
/// the workload's exit code.
pub struct Classified {
    /// For people.
    pub message: String,
    /// The exit status it maps to.
    pub exit_status: i32,
    /// The workload's exit code, when it ran and failed.
    pub exit_code: Option<i32>,
}

/// `aci-host`'s classification of a plugin error.
pub fn classify(e: &TaskError) -> Classified {
    let other = |message: String| Classified {
        message,
        exit_status: EXIT_OTHER,
        exit_code: None,
    };
    match e {
        TaskError::InvalidParams(m) => other(m.clone()),
        TaskError::Connection(m) => other(format!("connection error: {m}")),
        TaskError::Denied(m) => other(format!("request denied by the host policy: {m}")),
        TaskError::Remote(r) if r.status == 0 => other(format!("{}: {}", r.code, r.message)),
        TaskError::Remote(r) => other(format!("({}) {} [HTTP {}]", r.code, r.message, r.status)),
        TaskError::Failed(f) => Classified {
            message: f.message.clone(),
            exit_status: match f.exit_code {
                Some(c) if (1..=255).contains(&c) => c,
                _ => EXIT_OTHER,
            },
            exit_code: f.exit_code,
        },
        TaskError::TimedOut(m) => Classified {
            message: format!("timed out: {m}"),
            exit_status: EXIT_TIMED_OUT,
            exit_code: None,
        },
        TaskError::Cancelled(m) => Classified {
            message: format!("cancelled: {m}"),
            exit_status: EXIT_CANCELLED,
            exit_code: None,
        },
        TaskError::Internal(m) => other(format!("plugin error: {m}")),
    }
}

/// The outcome of one run, masked.
pub struct Report {
    task_id: String,
    exit_code: Option<i32>,
    return_value: Value,
    /// The error message, when the task failed.
    pub error: Option<String>,
    /// The process exit status.
    pub exit_status: i32,
}

impl Report {
    /// The report of `execute`'s answer (or of the error that kept it from running).
    pub fn new(task_id: &str, result: Result<TaskOutcome, TaskError>) -> Report {
        match result {
            Ok(outcome) => Report {
                task_id: task_id.to_string(),
                exit_code: outcome.exit_code,
                return_value: masked_json(&outcome.return_value),
                error: None,
                exit_status: 0,
            },
            Err(e) => {
                let c = classify(&e);
                Report {
                    task_id: task_id.to_string(),
                    exit_code: c.exit_code,
                    return_value: Value::Null,
                    error: Some(session::mask(&c.message)),
                    exit_status: c.exit_status,
                }
            }
        }
    }

    /// `{"task_id", "state", "exit_code", "return_value", "xcom", "error"}`.
    pub fn to_json(&self) -> Value {
        let xcom: serde_json::Map<String, Value> = session::xcom()
            .into_iter()
            .map(|(k, v)| (k, masked_json(&v)))
            .collect();
        json!({
            "task_id": self.task_id,
            "state": if self.error.is_none() { "success" } else { "failed" },
            "exit_code": self.exit_code,
            "return_value": self.return_value,
            "xcom": xcom,
            "error": self.error,
        })
    }
}

/// JSON text with known secrets masked, parsed (a string when it is not JSON).
fn masked_json(text: &str) -> Value {
    let text = session::mask(text);
    serde_json::from_str(&text).unwrap_or(Value::String(text))
}
