//! The library API: load the component once, run tasks and hook calls.
//!
//! A [`Runner`] holds the engine and the compiled component; it is `Send +
//! Sync`, so one `Arc<Runner>` serves every task of a process, each on a fresh
//! (pooled) instance. A run takes a [`TaskSpec`] (the task context and the
//! *rendered* parameters) and a [`TaskEnv`] (where connections come from,
//! where logs go, secrets to mask, a cancel token, extra outbound grants) and
//! returns a [`TaskReport`] (the contract's `--json` object via
//! [`TaskReport::to_json`], plus the exit status the CLI would use).
//!
//! Rendering templates is a separate step (see [`crate::templates`]); the
//! CLI (`crate::cli`) is a thin layer that renders task files, runs them
//! through this API and prints the reports.
//!
//! This example runs a task against the built-in ARM emulator (the container's
//! command runs as a local process), so it needs no Azure account:
//!
#![cfg_attr(feature = "local", doc = "```")]
#![cfg_attr(not(feature = "local"), doc = "```ignore")]
//! use std::sync::{Arc, Mutex};
//! use aci_emulator::{Emulator, EmulatorConfig};
//! use aci_host::bindings::LogLevel;
//! use aci_host::local::LocalConnections;
//! use aci_host::runner::{Runner, RunnerOptions, TaskEnv, TaskSpec, TaskState};
//! use aci_host::runtime_impl::{CancelToken, LogSink};
//!
//! /// Keeps the task's log lines (already masked by the host).
//! #[derive(Default)]
//! struct Lines(Mutex<Vec<String>>);
//! impl LogSink for Lines {
//!     fn log(&self, _task_id: &str, _level: LogLevel, message: &str) {
//!         self.0.lock().unwrap().push(message.to_string());
//!     }
//! }
//!
//! # #[tokio::main(flavor = "multi_thread", worker_threads = 2)]
//! # async fn main() -> wasmtime::Result<()> {
//! // 1. Load the built-in ACI component (compiled once, then cached as .cwasm).
//! let runner = Arc::new(Runner::new(RunnerOptions::default())?);
//!
//! // 2. Say where connections come from and where logs go. Against Azure use
//! //    `ConnectionResolver::new().with_env(std::env::vars())` (Airflow's
//! //    `AIRFLOW_CONN_*`) or your own `ConnectionProvider`.
//! let emulator = Emulator::start(EmulatorConfig::default()).await?;
//! let mut env = TaskEnv::new(Arc::new(LocalConnections::new(emulator.base_url())));
//! let lines = Arc::new(Lines::default());
//! env.log = lines.clone();
//! env.masker.add("hunter2-secret"); // never shown in logs or results
//! let cancel = CancelToken::new(); // `cancel.cancel()` stops the task cleanly
//! env.cancel = cancel.clone();
//!
//! // 3. Run a task with its (already rendered) parameters.
//! let params = serde_json::json!({
//!     "ci_conn_id": "azure_default", "resource_group": "rg", "name": "hello",
//!     "image": "busybox", "region": "westeurope",
//!     "command": ["sh", "-c", "echo hi; echo hunter2-secret"],
//! });
//! let spec = TaskSpec::new("hello", params.as_object().unwrap().clone());
//! let report = runner.run(spec, env).await;
//!
//! assert_eq!(report.state, TaskState::Success, "{:?}", report.error);
//! assert_eq!(report.exit_status, 0);
//! let lines = lines.0.lock().unwrap();
//! assert!(lines.iter().any(|l| l == "hi"));
//! assert!(lines.iter().any(|l| l == "***"));
//! println!("{}", report.to_json());
//! emulator.shutdown().await;
//! # Ok(()) }
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use wasmtime::Store;

use crate::bindings::aci::exports::aci::container_instance::container_instance_hook as hook_api;
use crate::bindings::{OperatorInfo, TaskContext, TaskError};
use crate::engine::{EngineOptions, Plugin, PluginEngine};
use crate::http_hooks::{HookStats, PolicyHooks, SharedPolicy};
use crate::mask::Masker;
use crate::policy::{AllowRule, OutboundPolicy};
use crate::runtime_impl::{CancelToken, ConnectionProvider, LogSink, TaskRuntime, TracingLogSink};
use crate::state::HostState;

/// The ACI component built together with this host.
pub static BUILTIN_PLUGIN: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/aci_plugin.wasm"));

/// Exit status when `container_timeout` expired.
pub const EXIT_TIMED_OUT: i32 = 124;
/// Exit status for every failure other than a container's own exit code.
pub const EXIT_OTHER: i32 = 125;
/// Exit status when the task was cancelled.
pub const EXIT_CANCELLED: i32 = 130;

/// How to build a [`Runner`].
#[derive(Clone, Debug, Default)]
pub struct RunnerOptions {
    /// Engine settings (pooling, cache directory).
    pub engine: EngineOptions,
    /// A component to load instead of the built-in one.
    pub plugin: Option<PathBuf>,
}

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

    fn failed(task_id: &str, kind: ErrorKind, error: String, exit_status: i32) -> Self {
        TaskReport {
            task_id: task_id.to_string(),
            state: TaskState::Failed,
            exit_code: None,
            return_value: serde_json::Value::Null,
            xcom: BTreeMap::new(),
            error: Some(error),
            error_kind: Some(kind),
            reason: None,
            exit_status,
            requests: (0, 0),
        }
    }
}

/// Maps a plugin error to its class, message and exit status (contract.md).
pub fn classify_error(e: &TaskError) -> (ErrorKind, String, i32, Option<i32>, Option<String>) {
    match e {
        TaskError::InvalidParams(m) => {
            (ErrorKind::InvalidParams, m.clone(), EXIT_OTHER, None, None)
        }
        TaskError::Connection(m) => (
            ErrorKind::Connection,
            format!("connection error: {m}"),
            EXIT_OTHER,
            None,
            None,
        ),
        TaskError::Denied(m) => (
            ErrorKind::Denied,
            format!("request denied by the host policy: {m}"),
            EXIT_OTHER,
            None,
            None,
        ),
        TaskError::Remote(r) => {
            let msg = if r.status == 0 {
                format!("{}: {}", r.code, r.message)
            } else {
                format!("({}) {} [HTTP {}]", r.code, r.message, r.status)
            };
            (ErrorKind::Remote, msg, EXIT_OTHER, None, None)
        }
        TaskError::Failed(f) => {
            let status = match f.exit_code {
                Some(c) if (1..=255).contains(&c) => c,
                _ => EXIT_OTHER,
            };
            (
                ErrorKind::Failed,
                f.message.clone(),
                status,
                f.exit_code,
                Some(f.reason.clone()),
            )
        }
        TaskError::TimedOut(m) => (
            ErrorKind::TimedOut,
            format!("timed out: {m}"),
            EXIT_TIMED_OUT,
            None,
            Some("timeout".into()),
        ),
        TaskError::Cancelled(m) => (
            ErrorKind::Cancelled,
            format!("cancelled: {m}"),
            EXIT_CANCELLED,
            None,
            None,
        ),
        TaskError::Internal(m) => (
            ErrorKind::Internal,
            format!("plugin error: {m}"),
            EXIT_OTHER,
            None,
            None,
        ),
    }
}

/// A hook method call (the `container-instance-hook` export).
#[derive(Clone, Debug)]
pub enum HookCall {
    /// `exists`.
    Exists(hook_api::GroupRef),
    /// `get-state`.
    GetState(hook_api::GroupRef),
    /// `get-logs` with an optional tail.
    GetLogs(hook_api::GroupRef, Option<u32>),
    /// `delete`, optionally waiting.
    Delete(hook_api::GroupRef, bool),
    /// `create-or-update` with an ARM JSON body, optionally waiting.
    CreateOrUpdate(hook_api::GroupRef, String, bool),
    /// `test-connection`.
    TestConnection(String),
    /// `get-state-exitcode-details`.
    GetStateExitcodeDetails(hook_api::GroupRef),
    /// `get-messages`.
    GetMessages(hook_api::GroupRef),
    /// `stop`.
    Stop(hook_api::GroupRef),
    /// `start`.
    Start(hook_api::GroupRef),
    /// `restart`.
    Restart(hook_api::GroupRef),
    /// `list`, in a resource group or the whole subscription.
    List(String, Option<String>),
}

/// Re-export of the hook's group reference.
pub use hook_api::GroupRef;

/// Loads a component once and runs tasks and hook calls on fresh instances.
pub struct Runner {
    engine: PluginEngine,
    plugin: Plugin,
    info: tokio::sync::OnceCell<OperatorInfo>,
}

impl Runner {
    /// Builds the engine and loads the plugin (the built-in ACI component
    /// unless `options.plugin` names another).
    pub fn new(options: RunnerOptions) -> wasmtime::Result<Runner> {
        let engine = PluginEngine::new(options.engine.clone())?;
        let bytes;
        let wasm: &[u8] = match &options.plugin {
            Some(path) => {
                bytes = std::fs::read(path)
                    .map_err(|e| wasmtime::format_err!("reading plugin {}: {e}", path.display()))?;
                &bytes
            }
            None => BUILTIN_PLUGIN,
        };
        let plugin = engine.load_plugin(wasm)?;
        Ok(Runner {
            engine,
            plugin,
            info: tokio::sync::OnceCell::new(),
        })
    }

    /// The loaded plugin (component, pre-instances, load info).
    pub fn plugin(&self) -> &Plugin {
        &self.plugin
    }

    /// The engine.
    pub fn engine(&self) -> &PluginEngine {
        &self.engine
    }

    fn store(
        &self,
        task_id: &str,
        env: &TaskEnv,
        cancel: CancelToken,
    ) -> (Store<HostState>, HookStats) {
        let policy = SharedPolicy::new(OutboundPolicy::deny_all());
        policy.allow_all(env.allow_hosts.iter().cloned());
        let stats = HookStats::default();
        let runtime = TaskRuntime::new(
            task_id,
            env.connections.clone(),
            env.log.clone(),
            env.masker.clone(),
            policy.clone(),
            cancel,
        );
        for f in &env.granted_files {
            runtime.grant_file(f.clone());
        }
        let hooks = PolicyHooks::new(policy, stats.clone(), task_id);
        let state = HostState::new(
            runtime,
            hooks,
            &env.guest_env,
            self.engine.options().max_memory_bytes,
        );
        let mut store = Store::new(self.engine.engine(), state);
        store.limiter(|s| s.limits());
        // Yield to the executor on every epoch tick: a spinning guest stays
        // cancellable by dropping its future.
        store.epoch_deadline_async_yield_and_update(1);
        (store, stats)
    }

    /// The operator's description (cached after the first call).
    pub async fn describe(&self) -> wasmtime::Result<OperatorInfo> {
        self.info
            .get_or_try_init(|| async {
                let env = TaskEnv::new(Arc::new(NoConnections));
                let (mut store, _) = self.store("describe", &env, CancelToken::new());
                let instance = self.plugin.task.instantiate_async(&mut store).await?;
                instance
                    .orchestrator_task_task_operator()
                    .call_describe(&mut store)
                    .await
            })
            .await
            .cloned()
    }

    /// Validates rendered parameters (no network: the store allows nothing).
    pub async fn validate(
        &self,
        params: &serde_json::Map<String, serde_json::Value>,
    ) -> wasmtime::Result<Result<(), TaskError>> {
        let env = TaskEnv::new(Arc::new(NoConnections));
        let (mut store, _) = self.store("validate", &env, CancelToken::new());
        let instance = self.plugin.task.instantiate_async(&mut store).await?;
        let json = serde_json::Value::Object(params.clone()).to_string();
        instance
            .orchestrator_task_task_operator()
            .call_validate(&mut store, &json)
            .await
    }

    /// Runs one task: validate, execute; on cancellation the plugin gets
    /// `env.cancel_grace` to clean up, after which it is interrupted and
    /// `on-kill` runs in a fresh instance.
    pub async fn run(&self, spec: TaskSpec, env: TaskEnv) -> TaskReport {
        let task_id = spec.context.task_id.clone();
        let params_json = serde_json::Value::Object(spec.params.clone()).to_string();
        let (mut store, stats) = self.store(&task_id, &env, env.cancel.clone());
        let outcome = {
            let instance = match self.plugin.task.instantiate_async(&mut store).await {
                Ok(i) => i,
                Err(e) => {
                    return TaskReport::failed(
                        &task_id,
                        ErrorKind::Internal,
                        format!("instantiating the plugin failed: {e:#}"),
                        EXIT_OTHER,
                    )
                }
            };
            let op = instance.orchestrator_task_task_operator();
            match op.call_validate(&mut store, &params_json).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => return self.report(&task_id, Err(e), &store, &stats, &env),
                Err(trap) => {
                    return TaskReport::failed(
                        &task_id,
                        ErrorKind::Internal,
                        format!("plugin trapped in validate: {trap:#}"),
                        EXIT_OTHER,
                    )
                }
            }
            let exec = op.call_execute(&mut store, &spec.context, &params_json);
            tokio::pin!(exec);
            let cancel = env.cancel.clone();
            tokio::select! {
                r = &mut exec => Some(r),
                _ = cancel.cancelled() => {
                    env.log.log(&task_id, crate::bindings::LogLevel::Warning, "cancellation requested; waiting for the plugin to clean up");
                    tokio::time::timeout(env.cancel_grace, &mut exec).await.ok()
                }
            }
        };
        match outcome {
            Some(Ok(result)) => self.report(&task_id, result, &store, &stats, &env),
            Some(Err(trap)) => {
                let msg = env.masker.mask(&format!("plugin trapped: {trap:#}"));
                let mut report = TaskReport::failed(&task_id, ErrorKind::Internal, msg, EXIT_OTHER);
                self.run_on_kill(&spec, &env).await;
                report.xcom = store.data().runtime.xcom();
                report
            }
            None => {
                // The plugin did not return within the grace period: drop its
                // instance and release what it created from a fresh one.
                drop(store);
                env.log.log(
                    &task_id,
                    crate::bindings::LogLevel::Warning,
                    "plugin did not stop within the grace period; interrupted, running on-kill",
                );
                self.run_on_kill(&spec, &env).await;
                TaskReport::failed(
                    &task_id,
                    ErrorKind::Cancelled,
                    "cancelled: interrupted after the grace period; on-kill ran".into(),
                    EXIT_CANCELLED,
                )
            }
        }
    }

    /// Runs `on-kill` in a fresh instance with a fresh (uncancelled) token,
    /// bounded by `env.on_kill_timeout`. Failures are logged.
    pub async fn run_on_kill(&self, spec: &TaskSpec, env: &TaskEnv) {
        let task_id = spec.context.task_id.clone();
        let params_json = serde_json::Value::Object(spec.params.clone()).to_string();
        let (mut store, _) = self.store(&task_id, env, CancelToken::new());
        let fut = async {
            let instance = self.plugin.task.instantiate_async(&mut store).await?;
            instance
                .orchestrator_task_task_operator()
                .call_on_kill(&mut store, &spec.context, &params_json)
                .await
        };
        match tokio::time::timeout(env.on_kill_timeout, fut).await {
            Ok(Ok(Ok(()))) => {}
            Ok(Ok(Err(e))) => env.log.log(
                &task_id,
                crate::bindings::LogLevel::Error,
                &env.masker
                    .mask(&format!("on-kill failed: {}", classify_error(&e).1)),
            ),
            Ok(Err(trap)) => env.log.log(
                &task_id,
                crate::bindings::LogLevel::Error,
                &env.masker.mask(&format!("on-kill trapped: {trap:#}")),
            ),
            Err(_) => env.log.log(
                &task_id,
                crate::bindings::LogLevel::Error,
                "on-kill did not finish in time",
            ),
        }
    }

    fn report(
        &self,
        task_id: &str,
        result: Result<crate::bindings::TaskOutcome, TaskError>,
        store: &Store<HostState>,
        stats: &HookStats,
        env: &TaskEnv,
    ) -> TaskReport {
        let xcom = store.data().runtime.xcom();
        let requests = stats.get();
        match result {
            Ok(outcome) => {
                let return_value = serde_json::from_str(&outcome.return_value)
                    .unwrap_or(serde_json::Value::String(outcome.return_value));
                TaskReport {
                    task_id: task_id.to_string(),
                    state: TaskState::Success,
                    exit_code: outcome.exit_code,
                    return_value: env.masker.mask_json(&return_value),
                    xcom: xcom
                        .into_iter()
                        .map(|(k, v)| (k, env.masker.mask_json(&v)))
                        .collect(),
                    error: None,
                    error_kind: None,
                    reason: None,
                    exit_status: 0,
                    requests,
                }
            }
            Err(e) => {
                let (kind, msg, exit_status, exit_code, reason) = classify_error(&e);
                TaskReport {
                    task_id: task_id.to_string(),
                    state: TaskState::Failed,
                    exit_code,
                    return_value: serde_json::Value::Null,
                    xcom: xcom
                        .into_iter()
                        .map(|(k, v)| (k, env.masker.mask_json(&v)))
                        .collect(),
                    error: Some(env.masker.mask(&msg)),
                    error_kind: Some(kind),
                    reason,
                    exit_status,
                    requests,
                }
            }
        }
    }

    /// Calls one hook method on a fresh instance. The result is JSON
    /// (`true`/`false` for exists, the group for get-state, lines for get-logs...).
    pub async fn hook(
        &self,
        call: HookCall,
        env: TaskEnv,
    ) -> wasmtime::Result<Result<serde_json::Value, TaskError>> {
        let Some(pre) = &self.plugin.aci else {
            wasmtime::bail!("this plugin does not export `container-instance-hook`");
        };
        let (mut store, _) = self.store("hook", &env, env.cancel.clone());
        let instance = pre.instantiate_async(&mut store).await?;
        let h = instance.aci_container_instance_container_instance_hook();
        let json_str = |s: String| {
            serde_json::from_str::<serde_json::Value>(&s).unwrap_or(serde_json::Value::String(s))
        };
        use serde_json::json;
        Ok(match call {
            HookCall::Exists(t) => h.call_exists(&mut store, &t).await?.map(|b| json!(b)),
            HookCall::GetState(t) => h.call_get_state(&mut store, &t).await?.map(json_str),
            HookCall::GetLogs(t, tail) => h
                .call_get_logs(&mut store, &t, tail)
                .await?
                .map(|l| json!(l)),
            HookCall::Delete(t, wait) => {
                h.call_delete(&mut store, &t, wait).await?.map(|b| json!(b))
            }
            HookCall::CreateOrUpdate(t, body, wait) => h
                .call_create_or_update(&mut store, &t, &body, wait)
                .await?
                .map(json_str),
            HookCall::TestConnection(c) => {
                let (ok, msg) = h.call_test_connection(&mut store, &c).await?;
                Ok(json!([ok, env.masker.mask(&msg)]))
            }
            HookCall::GetStateExitcodeDetails(t) => h
                .call_get_state_exitcode_details(&mut store, &t)
                .await?
                .map(|d| json!([d.state, d.exit_code, d.detail_status])),
            HookCall::GetMessages(t) => {
                h.call_get_messages(&mut store, &t).await?.map(|m| json!(m))
            }
            HookCall::Stop(t) => h.call_stop(&mut store, &t).await?.map(|()| json!(null)),
            HookCall::Start(t) => h.call_start(&mut store, &t).await?.map(|()| json!(null)),
            HookCall::Restart(t) => h.call_restart(&mut store, &t).await?.map(|()| json!(null)),
            HookCall::List(c, rg) => h
                .call_list(&mut store, &c, rg.as_deref())
                .await?
                .map(json_str),
        })
    }
}

/// A provider with no connections (describe/validate never resolve any).
struct NoConnections;

impl ConnectionProvider for NoConnections {
    fn connection(&self, conn_id: &str) -> Result<crate::connections::Connection, String> {
        Err(format!(
            "no connections are available here (asked for `{conn_id}`)"
        ))
    }
}

impl TaskReport {
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

impl Runner {
    /// A store with no connections and an empty policy (benchmarks, tests).
    #[doc(hidden)]
    pub fn bench_store(&self) -> Store<HostState> {
        let env = TaskEnv::new(Arc::new(NoConnections));
        self.store("bench", &env, CancelToken::new()).0
    }
}
