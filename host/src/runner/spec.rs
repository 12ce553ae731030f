//! What a run takes: the task ([`TaskSpec`]) and what the host provides to
//! it ([`TaskEnv`]).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::bindings::TaskContext;
use crate::mask::Masker;
use crate::policy::AllowRule;
use crate::runtime::{CancelToken, ConnectionProvider, LogSink, TracingLogSink};

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

/// What the host provides to a run: connections, log sink, masking,
/// cancellation, outbound grants.
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
    /// Extra endpoints the plugin may reach (`--allow-host`).
    pub allow_hosts: Vec<AllowRule>,
    /// Environment variables visible to the guest (nothing else is inherited).
    pub guest_env: Vec<(String, String)>,
    /// Files the guest may read through `read-granted-file`.
    pub granted_files: Vec<PathBuf>,
    /// After cancellation, how long the plugin gets to clean up before it is
    /// interrupted and `on-kill` runs in a fresh instance.
    pub cancel_grace: Duration,
    /// Time limit for `on-kill`.
    pub on_kill_timeout: Duration,
}

impl TaskEnv {
    /// An environment with the given connections, logs to `tracing`, no
    /// extra grants, and the workload-identity variables of this process
    /// (`AZURE_CLIENT_ID`, `AZURE_TENANT_ID`, `AZURE_AUTHORITY_HOST`,
    /// `AZURE_FEDERATED_TOKEN_FILE`, with read access to that file).
    pub fn new(connections: Arc<dyn ConnectionProvider>) -> Self {
        let mut env = TaskEnv {
            connections,
            log: Arc::new(TracingLogSink),
            masker: Masker::default(),
            cancel: CancelToken::new(),
            allow_hosts: Vec::new(),
            guest_env: Vec::new(),
            granted_files: Vec::new(),
            cancel_grace: Duration::from_secs(30),
            on_kill_timeout: Duration::from_secs(60),
        };
        env.inherit_workload_identity(std::env::vars());
        env
    }

    /// Exposes the workload-identity variables found in `vars` to the guest
    /// and grants read access to exactly the federated token file.
    pub fn inherit_workload_identity(&mut self, vars: impl IntoIterator<Item = (String, String)>) {
        for (k, v) in vars {
            match k.as_str() {
                "AZURE_CLIENT_ID" | "AZURE_TENANT_ID" | "AZURE_AUTHORITY_HOST" => {
                    self.guest_env.push((k, v))
                }
                "AZURE_FEDERATED_TOKEN_FILE" => {
                    self.granted_files.push(PathBuf::from(&v));
                    self.guest_env.push((k, v));
                }
                _ => {}
            }
        }
        if let Some(rule) = self
            .guest_env
            .iter()
            .find(|(k, _)| k == "AZURE_AUTHORITY_HOST")
            .and_then(|(_, v)| AllowRule::from_url(v))
        {
            self.allow_hosts.push(rule);
        }
    }
}
