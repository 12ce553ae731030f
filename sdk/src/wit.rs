//! The record and variant types of `orchestrator:task/types`, as the bindings
//! generate them.
//!
//! Operators see the ones they need re-exported at the crate root
//! ([`TaskContext`], [`TaskOutcome`], [`OperatorInfo`], [`Connection`],
//! [`LogLevel`], [`TaskPlan`], [`Origin`]) and report failures as [`Error`](crate::Error), which the SDK turns
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
    Budget, Connection, Failure, LogLevel, OperatorInfo, Origin, RemoteError, TaskContext,
    TaskError, TaskOutcome, TaskPlan,
};

use crate::http::{HttpError, Url};

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

impl Origin {
    /// The origin of an absolute `http(s)` URL: `https://Login.Example/x` is
    /// `https`, `login.example`, `443`.
    pub fn of_url(url: &str) -> Result<Origin, HttpError> {
        let u = Url::parse(url)?;
        Ok(Origin {
            scheme: if u.https { "https" } else { "http" }.to_string(),
            host: u.host_name(),
            port: u.port()?,
        })
    }
}

impl PartialEq for Origin {
    fn eq(&self, other: &Origin) -> bool {
        self.scheme == other.scheme && self.host == other.host && self.port == other.port
    }
}

impl Default for TaskPlan {
    /// A plan that needs nothing.
    fn default() -> TaskPlan {
        TaskPlan {
            origins: Vec::new(),
            files: Vec::new(),
            budgets: Vec::new(),
        }
    }
}

impl TaskPlan {
    /// Adds an origin, unless it is there already.
    pub fn add_origin(&mut self, origin: Origin) {
        if !self.origins.contains(&origin) {
            self.origins.push(origin);
        }
    }

    /// Adds the origin of an absolute `http(s)` URL.
    pub fn add_url(&mut self, url: &str) -> Result<(), HttpError> {
        self.add_origin(Origin::of_url(url)?);
        Ok(())
    }

    /// Adds a file path, unless it is there already.
    pub fn add_file(&mut self, path: &str) {
        if !self.files.iter().any(|f| f == path) {
            self.files.push(path.to_string());
        }
    }

    /// Adds a budget, unless one with its key is there already.
    pub fn add_budget(&mut self, budget: Budget) {
        if !self.budgets.iter().any(|b| b.key == budget.key) {
            self.budgets.push(budget);
        }
    }
}
