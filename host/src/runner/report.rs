//! What a run returns: [`TaskReport`], and how a plugin error is classified
//! ([`classify_error`]).

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use crate::bindings::{TaskError, TaskOutcome};
use crate::mask::Masker;

use super::exit::{exit_status_of_workload, EXIT_CANCELLED, EXIT_OTHER, EXIT_TIMED_OUT};

/// Final state of a task.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TaskState {
    /// The task succeeded.
    Success,
    /// The task failed (see `error` and `exit_status`).
    Failed,
}

impl fmt::Display for TaskState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TaskState::Success => "success",
            TaskState::Failed => "failed",
        })
    }
}

/// The class of a failure, for callers that branch on it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ErrorKind {
    /// Invalid parameters or task file.
    InvalidParams,
    /// Connection missing or credentials refused.
    Connection,
    /// A request denied by the outbound policy.
    Denied,
    /// An error from ARM or another remote service.
    Remote,
    /// The workload failed (see `reason`).
    Failed,
    /// `container_timeout` expired.
    TimedOut,
    /// Cancelled by the user.
    Cancelled,
    /// A plugin or host bug, or a trap.
    Internal,
}

/// How a plugin error is reported: its class, message and exit status.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Classification {
    /// The class.
    pub kind: ErrorKind,
    /// The message for humans (not yet masked).
    pub message: String,
    /// The process exit status it maps to (contract.md).
    pub exit_status: i32,
    /// The workload's exit code, when it ran and failed.
    pub exit_code: Option<i32>,
    /// The plugin's failure reason (`nonzero-exit`, `image-pull`, `timeout`, ...).
    pub reason: Option<String>,
}

impl Classification {
    fn new(kind: ErrorKind, message: String, exit_status: i32) -> Self {
        Classification {
            kind,
            message,
            exit_status,
            exit_code: None,
            reason: None,
        }
    }
}

/// Maps a plugin error to its class, message and exit status (contract.md).
pub fn classify_error(e: &TaskError) -> Classification {
    use Classification as C;
    match e {
        TaskError::InvalidParams(m) => C::new(ErrorKind::InvalidParams, m.clone(), EXIT_OTHER),
        TaskError::Connection(m) => C::new(
            ErrorKind::Connection,
            format!("connection error: {m}"),
            EXIT_OTHER,
        ),
        TaskError::Denied(m) => C::new(
            ErrorKind::Denied,
            format!("request denied by the host policy: {m}"),
            EXIT_OTHER,
        ),
        TaskError::Remote(r) => {
            let msg = if r.status == 0 {
                format!("{}: {}", r.code, r.message)
            } else {
                format!("({}) {} [HTTP {}]", r.code, r.message, r.status)
            };
            C::new(ErrorKind::Remote, msg, EXIT_OTHER)
        }
        TaskError::Failed(f) => C {
            exit_code: f.exit_code,
            reason: Some(f.reason.clone()),
            ..C::new(
                ErrorKind::Failed,
                f.message.clone(),
                exit_status_of_workload(f.exit_code),
            )
        },
        TaskError::TimedOut(m) => C {
            reason: Some("timeout".into()),
            ..C::new(
                ErrorKind::TimedOut,
                format!("timed out: {m}"),
                EXIT_TIMED_OUT,
            )
        },
        TaskError::Cancelled(m) => C::new(
            ErrorKind::Cancelled,
            format!("cancelled: {m}"),
            EXIT_CANCELLED,
        ),
        TaskError::Internal(m) => C::new(
            ErrorKind::Internal,
            format!("plugin error: {m}"),
            EXIT_OTHER,
        ),
    }
}

/// The outcome of one task run, as the contract's `--json` shape plus details.
#[derive(Clone, Debug, Serialize)]
pub struct TaskReport {
    /// The task id.
    pub task_id: String,
    /// `success` or `failed`.
    pub state: TaskState,
    /// The container's exit code, when known.
    pub exit_code: Option<i32>,
    /// The task's return value (`null` when it failed).
    pub return_value: serde_json::Value,
    /// XCom values the task pushed.
    pub xcom: BTreeMap<String, serde_json::Value>,
    /// The error message (masked), when the task failed.
    pub error: Option<String>,
    /// The error class, when the task failed.
    #[serde(skip)]
    pub error_kind: Option<ErrorKind>,
    /// The failure reason reported by the plugin (`nonzero-exit`, `image-pull`, ...).
    #[serde(skip)]
    pub reason: Option<String>,
    /// The process exit status this outcome maps to (contract.md).
    #[serde(skip)]
    pub exit_status: i32,
    /// Outbound requests the policy allowed and denied.
    #[serde(skip)]
    pub requests: (u64, u64),
}

impl TaskReport {
    /// The contract's JSON object for `run --json`.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "task_id": self.task_id,
            "state": self.state,
            "exit_code": self.exit_code,
            "return_value": self.return_value,
            "xcom": self.xcom,
            "error": self.error,
        })
    }

    fn new(task_id: &str, state: TaskState, exit_status: i32) -> Self {
        TaskReport {
            task_id: task_id.to_string(),
            state,
            exit_code: None,
            return_value: serde_json::Value::Null,
            xcom: BTreeMap::new(),
            error: None,
            error_kind: None,
            reason: None,
            exit_status,
            requests: (0, 0),
        }
    }

    pub(super) fn failed(task_id: &str, kind: ErrorKind, error: String, exit_status: i32) -> Self {
        TaskReport {
            error: Some(error),
            error_kind: Some(kind),
            ..TaskReport::new(task_id, TaskState::Failed, exit_status)
        }
    }

    /// The report of a plugin's answer, with everything shown masked by `masker`.
    pub(super) fn from_result(
        task_id: &str,
        result: Result<TaskOutcome, TaskError>,
        xcom: BTreeMap<String, serde_json::Value>,
        requests: (u64, u64),
        masker: &Masker,
    ) -> Self {
        let xcom = xcom
            .into_iter()
            .map(|(k, v)| (k, masker.mask_json(&v)))
            .collect();
        let mut report = match result {
            Ok(outcome) => {
                let return_value = serde_json::from_str(&outcome.return_value)
                    .unwrap_or(serde_json::Value::String(outcome.return_value));
                TaskReport {
                    exit_code: outcome.exit_code,
                    return_value: masker.mask_json(&return_value),
                    ..TaskReport::new(task_id, TaskState::Success, 0)
                }
            }
            Err(e) => {
                let c = classify_error(&e);
                TaskReport {
                    exit_code: c.exit_code,
                    reason: c.reason,
                    ..TaskReport::failed(task_id, c.kind, masker.mask(&c.message), c.exit_status)
                }
            }
        };
        report.xcom = xcom;
        report.requests = requests;
        report
    }

    /// A task that failed before the plugin ran (bad task file, template error).
    pub fn not_started(task_id: &str, kind: ErrorKind, error: String) -> Self {
        let status = if kind == ErrorKind::Cancelled {
            EXIT_CANCELLED
        } else {
            EXIT_OTHER
        };
        TaskReport::failed(task_id, kind, error, status)
    }

    /// A task that never started because the run was cancelled first.
    pub fn cancelled_before_start(task_id: &str) -> Self {
        TaskReport::failed(
            task_id,
            ErrorKind::Cancelled,
            "cancelled before it started".into(),
            EXIT_CANCELLED,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bindings::{Failure, RemoteError};

    #[test]
    fn errors_map_to_the_contract_statuses() {
        let failed = TaskError::Failed(Failure {
            exit_code: Some(3),
            reason: "nonzero-exit".into(),
            message: "exited 3".into(),
        });
        assert_eq!(
            classify_error(&failed),
            Classification {
                kind: ErrorKind::Failed,
                message: "exited 3".into(),
                exit_status: 3,
                exit_code: Some(3),
                reason: Some("nonzero-exit".into()),
            }
        );
        let timed_out = classify_error(&TaskError::TimedOut("10s".into()));
        assert_eq!(
            (timed_out.exit_status, timed_out.reason.as_deref()),
            (EXIT_TIMED_OUT, Some("timeout"))
        );
        assert_eq!(
            classify_error(&TaskError::Cancelled("x".into())).exit_status,
            EXIT_CANCELLED
        );
        let remote = classify_error(&TaskError::Remote(RemoteError {
            status: 404,
            code: "ResourceNotFound".into(),
            message: "gone".into(),
        }));
        assert_eq!(remote.message, "(ResourceNotFound) gone [HTTP 404]");
        assert_eq!(remote.exit_status, EXIT_OTHER);
    }

    #[test]
    fn reports_mask_what_they_show() {
        let masker = Masker::new();
        masker.add("s3cret-value");
        let ok = TaskReport::from_result(
            "t",
            Ok(TaskOutcome {
                return_value: "[\"s3cret-value\"]".into(),
                exit_code: Some(0),
            }),
            BTreeMap::from([("k".to_string(), serde_json::json!("s3cret-value"))]),
            (2, 1),
            &masker,
        );
        assert_eq!(ok.state, TaskState::Success);
        assert_eq!(ok.exit_status, 0);
        assert_eq!(ok.return_value, serde_json::json!(["***"]));
        assert_eq!(ok.xcom["k"], "***");
        assert_eq!(ok.requests, (2, 1));
        let bad = TaskReport::from_result(
            "t",
            Err(TaskError::Internal("leaked s3cret-value".into())),
            BTreeMap::new(),
            (0, 0),
            &masker,
        );
        assert_eq!(bad.error.as_deref(), Some("plugin error: leaked ***"));
        assert_eq!(bad.error_kind, Some(ErrorKind::Internal));
        assert!(bad.return_value.is_null());
    }
}
