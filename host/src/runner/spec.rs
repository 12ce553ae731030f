//! What a run takes: the task ([`TaskSpec`]) and what the host provides to
//! it ([`TaskEnv`]).

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::bindings::TaskContext;
use crate::grant::Grant;
use crate::http_hooks::DEFAULT_MAX_REQUESTS_IN_FLIGHT;
use crate::mask::Masker;
use crate::policy::AllowRule;
use crate::runtime::{CancelToken, ConnectionProvider, LogSink, RuntimeLimits, TracingLogSink};

/// Identity and parameters of one task run.
#[derive(Clone, Debug)]
pub struct TaskSpec {
    /// The task context passed to the plugin.
    pub context: TaskContext,
    /// The rendered parameters.
    pub params: serde_json::Map<String, serde_json::Value>,
}

impl TaskSpec {
    /// A spec with a default context (`dag_id` empty, run id `manual__<now>`, try 1).
    pub fn new(
        task_id: impl Into<String>,
        params: serde_json::Map<String, serde_json::Value>,
    ) -> Self {
        let now = chrono::Utc::now();
        TaskSpec {
            context: TaskContext {
                dag_id: String::new(),
                task_id: task_id.into(),
                run_id: format!("manual__{}", now.format("%Y-%m-%dT%H:%M:%S%.6f+00:00")),
                try_number: 1,
                logical_date: now.to_rfc3339(),
            },
            params,
        }
    }

    /// The parameters as the JSON object text the plugin receives.
    pub fn params_json(&self) -> String {
        serde_json::Value::Object(self.params.clone()).to_string()
    }
}

/// Where the host reads the environment variables an operator declares
/// (`operator-info.environment`): this process's environment, or a fixed set.
/// Only the declared variables that are set reach the plugin.
#[derive(Clone, Default)]
pub enum HostEnv {
    /// This process's environment.
    #[default]
    Process,
    /// These variables only (tests, embedders).
    Fixed(BTreeMap<String, String>),
}

impl HostEnv {
    /// A fixed environment of these variables.
    pub fn fixed<K: Into<String>, V: Into<String>>(vars: impl IntoIterator<Item = (K, V)>) -> Self {
        HostEnv::Fixed(
            vars.into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        )
    }

    /// The value of `name`, if set.
    pub fn get(&self, name: &str) -> Option<String> {
        match self {
            HostEnv::Process => std::env::var(name).ok(),
            HostEnv::Fixed(vars) => vars.get(name).cloned(),
        }
    }

    /// The variables among `names` that are set, as `(name, value)`.
    pub fn select(&self, names: &[String]) -> Vec<(String, String)> {
        names
            .iter()
            .filter_map(|n| self.get(n).map(|v| (n.clone(), v)))
            .collect()
    }
}

impl fmt::Debug for HostEnv {
    /// Names only: values may be sensitive.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HostEnv::Process => f.write_str("HostEnv::Process"),
            HostEnv::Fixed(vars) => f
                .debug_tuple("HostEnv::Fixed")
                .field(&vars.keys().collect::<Vec<_>>())
                .finish(),
        }
    }
}

/// What the host provides to a run: connections, log sink, masking,
/// cancellation, outbound grants.
///
/// What a call may use is what its operator declares (see [`Grant`]), plus
/// `allow_hosts`; with `pinned_grant`, a call whose declared grant goes beyond
/// it is refused before it runs.
#[derive(Clone)]
pub struct TaskEnv {
    /// Resolves the plugin's connection requests.
    pub connections: Arc<dyn ConnectionProvider>,
    /// Receives the plugin's log lines (masked).
    pub log: Arc<dyn LogSink>,
    /// Secrets to mask in logs and results.
    pub masker: Masker,
    /// Cancels the run.
    pub cancel: CancelToken,
    /// Extra origins the plugin may reach (`--allow-host`).
    pub allow_hosts: Vec<AllowRule>,
    /// Where the operator's declared environment variables are read.
    pub host_env: HostEnv,
    /// A reviewed grant (`--grant FILE`) the call's declared grant must stay within.
    pub pinned_grant: Option<Grant>,
    /// After cancellation, how long the plugin gets to clean up before it is
    /// interrupted and `on-kill` runs in a fresh instance.
    pub cancel_grace: Duration,
    /// Time limit for `on-kill`.
    pub on_kill_timeout: Duration,
    /// Bounds on what the plugin pushes through the runtime interface (XCom
    /// per value and per task, log lines, granted files).
    pub limits: RuntimeLimits,
    /// Most outbound requests in flight at once (`--max-requests-per-task`).
    pub max_requests_in_flight: usize,
}

impl TaskEnv {
    /// An environment with the given connections, logs to `tracing`, no
    /// extra grants, and this process's environment for the variables the
    /// operator declares.
    pub fn new(connections: Arc<dyn ConnectionProvider>) -> Self {
        TaskEnv {
            connections,
            log: Arc::new(TracingLogSink),
            masker: Masker::default(),
            cancel: CancelToken::new(),
            allow_hosts: Vec::new(),
            host_env: HostEnv::Process,
            pinned_grant: None,
            cancel_grace: Duration::from_secs(30),
            on_kill_timeout: Duration::from_secs(60),
            limits: RuntimeLimits::default(),
            max_requests_in_flight: DEFAULT_MAX_REQUESTS_IN_FLIGHT,
        }
    }
}
