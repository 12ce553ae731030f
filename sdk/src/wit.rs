//! The record and variant types of `orchestrator:task/types`, as the bindings
//! generate them.
//!
//! Operators see the ones they need re-exported at the crate root
//! ([`TaskContext`], [`TaskOutcome`], [`OperatorInfo`], [`Connection`],
//! [`LogLevel`]) and report failures as [`Error`](crate::Error), which the SDK turns
//! into [`TaskError`]. A plugin that exports an interface of its own using these
//! types maps them onto this module in its own `wit_bindgen::generate!`:
//!
//! ```ignore
//! wit_bindgen::generate!({
//!     world: "my:plugin/extra-exports",
//!     path: "../wit",
//!     with: { "orchestrator:task/types@0.1.0": task_plugin_sdk::wit },
//! });
//! ```

pub use crate::bindings::orchestrator::task::types::{
    Connection, Failure, LogLevel, OperatorInfo, RemoteError, TaskContext, TaskError, TaskOutcome,
};

impl TaskOutcome {
    /// An outcome whose return value is `value` (stored by the host as the
    /// `return_value` XCom) and whose workload exited with `exit_code`, if any.
    pub fn new(value: &serde_json::Value, exit_code: Option<i32>) -> TaskOutcome {
        TaskOutcome {
            return_value: value.to_string(),
            exit_code,
        }
    }
}
