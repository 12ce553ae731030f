//! The library API: load the component once, run tasks and hook calls.
//!
//! A [`Runner`] holds the engine and the compiled component; it is `Send +
//! Sync`, so one `Arc<Runner>` serves every task of a process, each on a fresh
//! (pooled) instance. A run takes a [`TaskSpec`] (the task context and the
//! *rendered* parameters) and a [`TaskEnv`] (where connections come from,
//! where logs go, secrets to mask, a cancel token, extra outbound grants) and
//! returns a [`TaskReport`] (the contract's `--json` object via
//! [`TaskReport::to_json`], plus the exit status the CLI would use).
//! [`Runner::hook`] calls the plugin's hook methods (see [`HookInterface`]).
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
//! use aci_host::runtime::{CancelToken, LogSink};
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
//! let mut env = TaskEnv::new(Arc::new(LocalConnections::of(&emulator)));
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
//! let report = runner.run(spec, env.clone()).await;
//!
//! assert_eq!(report.state, TaskState::Success, "{:?}", report.error);
//! assert_eq!(report.exit_status, 0);
//! {
//!     let lines = lines.0.lock().unwrap();
//!     assert!(lines.iter().any(|l| l == "hi"));
//!     assert!(lines.iter().any(|l| l == "***"));
//! }
//! println!("{}", report.to_json());
//!
//! // 4. Call hook methods: JSON arguments in, JSON out. The task removed its group after
//! //    success; ARM deletes asynchronously, so `delete` with `wait` waits for that to end.
//! let target = serde_json::json!({"conn_id": "azure_default", "resource_group": "rg", "name": "hello"});
//! let args = serde_json::json!({"target": target, "wait": true});
//! runner.hook("delete", args, env.clone()).await?.unwrap();
//! let exists = runner.hook("exists", serde_json::json!({"target": target}), env).await?;
//! assert_eq!(exists.unwrap(), serde_json::json!(false));
//! emulator.shutdown().await;
//! # Ok(()) }
//! ```

mod deadline;
pub mod declare;
mod exit;
mod hook;
mod report;
mod spec;
pub mod values;

use std::path::PathBuf;
use std::sync::Arc;

use wasmtime::Store;

use crate::bindings::task::exports::orchestrator::task::task_operator::Guest as TaskOperator;
use crate::bindings::{LogLevel, OperatorInfo, TaskError, TaskOutcome};
use crate::budget::Budgets;
use crate::connections::Connection;
use crate::engine::{EngineOptions, Plugin, PluginEngine};
use crate::grant::Grant;
use crate::http_hooks::{HookStats, PolicyHooks};
use crate::policy::OutboundPolicy;
use crate::runtime::{CancelToken, ConnectionLookupError, ConnectionProvider, TaskRuntime};
use crate::state::HostState;

use deadline::{guarded, Guard, Stopped};

pub use deadline::{CallDeadlines, DEFAULT_HOOK_TIMEOUT, DEFAULT_VALIDATE_TIMEOUT};
pub use exit::{exit_status_of_workload, EXIT_CANCELLED, EXIT_OTHER, EXIT_TIMED_OUT};
pub use hook::{HookInterface, HookMethod};
pub use report::{classify_error, Classification, ErrorKind, TaskReport, TaskState};
pub use spec::{HostEnv, TaskEnv, TaskSpec};

/// The ACI component built together with this host.
pub static BUILTIN_PLUGIN: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/aci_plugin.wasm"));

/// How to build a [`Runner`].
#[derive(Clone, Debug, Default)]
pub struct RunnerOptions {
    /// Engine settings (pooling, cache directory).
    pub engine: EngineOptions,
    /// A component to load instead of the built-in one.
    pub plugin: Option<PathBuf>,
    /// Deadlines of `describe`, `validate` (and planning) and hook calls.
    pub deadlines: CallDeadlines,
}

/// Loads a component once and runs tasks and hook calls on fresh instances.
pub struct Runner {
    engine: PluginEngine,
    plugin: Plugin,
    info: tokio::sync::OnceCell<OperatorInfo>,
    deadlines: CallDeadlines,
    budgets: Arc<Budgets>,
}

/// How `execute` ended: its answer (or the error that kept it from
/// starting), a trap, or no answer within the grace period; the last two
/// with the grant `on-kill` then runs with.
enum Execution {
    Answered(Result<TaskOutcome, TaskError>),
    Trapped(wasmtime::Error, Grant),
    Interrupted(Grant),
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
            deadlines: options.deadlines,
            budgets: Arc::new(Budgets::default()),
        })
    }

    /// Draws every call's declared budgets from `budgets` (by default, a
    /// registry with [`crate::budget::DEFAULT_SHARE`] and no override).
    pub fn with_budgets(mut self, budgets: Arc<Budgets>) -> Runner {
        self.budgets = budgets;
        self
    }

    /// The shared budgets every task and hook call of this runner draws on
    /// (one bucket per declared key), e.g. for their statistics.
    pub fn budgets(&self) -> &Arc<Budgets> {
        &self.budgets
    }

    /// The loaded plugin (component, pre-instances, load info).
    pub fn plugin(&self) -> &Plugin {
        &self.plugin
    }

    /// The engine.
    pub fn engine(&self) -> &PluginEngine {
        &self.engine
    }

    /// A store that grants nothing yet (deny-all policy, no connection, no
    /// file) and passes `guest_env` to the plugin's environment.
    fn store(
        &self,
        task_id: &str,
        env: &TaskEnv,
        cancel: CancelToken,
        guest_env: &[(String, String)],
    ) -> (Store<HostState>, HookStats) {
        let stats = HookStats::default();
        let runtime = TaskRuntime::new(
            task_id,
            env.connections.clone(),
            env.log.clone(),
            env.masker.clone(),
            cancel,
        )
        .with_limits(env.limits.clone())
        .with_budgets(self.budgets.clone());
        let hooks = PolicyHooks::new(OutboundPolicy::deny_all(), stats.clone(), task_id)
            .with_max_in_flight(env.max_requests_in_flight);
        let state = HostState::new(
            runtime,
            hooks,
            guest_env,
            self.engine.options().max_memory_bytes,
        );
        let mut store = Store::new(self.engine.engine(), state);
        store.limiter(|s| s.limits());
        // Yield to the executor on every epoch tick: a spinning guest stays
        // cancellable by dropping its future.
        store.epoch_deadline_async_yield_and_update(1);
        (store, stats)
    }

    /// The description and a store for a call that passes the operator's
    /// declared environment variables (those set in `env.host_env`) and this
    /// process's owner token in [`OWNER_ENV`](crate::owner::OWNER_ENV).
    async fn call_store(
        &self,
        task_id: &str,
        env: &TaskEnv,
        cancel: CancelToken,
    ) -> wasmtime::Result<(OperatorInfo, Store<HostState>, HookStats)> {
        let info = self.describe().await?;
        let mut guest_env = env.host_env.select(&info.environment);
        if let Some(token) = crate::owner::current() {
            guest_env.push((crate::owner::OWNER_ENV.to_string(), token));
        }
        let (store, stats) = self.store(task_id, env, cancel, &guest_env);
        Ok((info, store, stats))
    }

    /// The grant of a task's call (validate first when asked), with
    /// `--allow-host` added and a pinned grant checked.
    async fn task_grant(
        &self,
        operator: &TaskOperator,
        store: &mut Store<HostState>,
        info: &OperatorInfo,
        spec: &TaskSpec,
        env: &TaskEnv,
    ) -> wasmtime::Result<Result<Grant, TaskError>> {
        let decl = declare::Declaration {
            info,
            connections: env.connections.as_ref(),
            masker: &env.masker,
        };
        let grant = declare::task_grant(store, operator, &decl, &spec.params_json()).await?;
        Ok(grant.and_then(|g| finish_grant(g, env)))
    }

    /// The deadlines of `describe`, `validate` (and planning) and hook calls.
    pub fn deadlines(&self) -> CallDeadlines {
        self.deadlines
    }

    /// The operator's description (cached after the first call); an error
    /// when it does not answer within its deadline.
    pub async fn describe(&self) -> wasmtime::Result<OperatorInfo> {
        self.info
            .get_or_try_init(|| async {
                let env = TaskEnv::new(Arc::new(NoConnections));
                let (mut store, _) = self.store("describe", &env, CancelToken::new(), &[]);
                let call = async {
                    let instance = self.plugin.task.instantiate_async(&mut store).await?;
                    instance
                        .orchestrator_task_task_operator()
                        .call_describe(&mut store)
                        .await
                };
                let guard = Guard::new(self.deadlines.describe, None);
                guarded(guard, call)
                    .await
                    .map_err(|stop| wasmtime::format_err!("{}", stop.describe("describe")))?
            })
            .await
            .cloned()
    }

    /// Validates rendered parameters (no network: the store allows nothing).
    pub async fn validate(
        &self,
        params: &serde_json::Map<String, serde_json::Value>,
    ) -> wasmtime::Result<Result<(), TaskError>> {
        self.validate_cancellable(params, &CancelToken::new()).await
    }

    /// [`Runner::validate`], stopped by `cancel` (answering
    /// [`TaskError::Cancelled`]) and by the validate deadline (answering
    /// [`TaskError::TimedOut`]).
    pub async fn validate_cancellable(
        &self,
        params: &serde_json::Map<String, serde_json::Value>,
        cancel: &CancelToken,
    ) -> wasmtime::Result<Result<(), TaskError>> {
        let env = TaskEnv::new(Arc::new(NoConnections));
        let (mut store, _) = self.store("validate", &env, CancelToken::new(), &[]);
        let json = serde_json::Value::Object(params.clone()).to_string();
        let call = async {
            let instance = self.plugin.task.instantiate_async(&mut store).await?;
            instance
                .orchestrator_task_task_operator()
                .call_validate(&mut store, &json)
                .await
        };
        match guarded(Guard::new(self.deadlines.validate, Some(cancel)), call).await {
            Ok(answer) => answer,
            Err(stop @ Stopped::Cancelled) => {
                Ok(Err(TaskError::Cancelled(stop.describe("validate"))))
            }
            Err(stop) => Ok(Err(TaskError::TimedOut(stop.describe("validate")))),
        }
    }

    /// What a task would be granted, with no network: validates, asks the
    /// operator for its connection ids and plan (connections resolved through
    /// `env.connections`, in a store that allows nothing), adds
    /// `env.allow_hosts`, and checks `env.pinned_grant`. What `aci-host
    /// validate --explain` prints. Bounded by the validate deadline and
    /// `env.cancel`.
    pub async fn explain(
        &self,
        spec: &TaskSpec,
        env: &TaskEnv,
    ) -> wasmtime::Result<Result<Grant, TaskError>> {
        let task_id = &spec.context.task_id;
        let (info, mut store, _) = self.call_store(task_id, env, CancelToken::new()).await?;
        let call = async {
            let instance = self.plugin.task.instantiate_async(&mut store).await?;
            let op = instance.orchestrator_task_task_operator();
            if let Err(e) = op.call_validate(&mut store, &spec.params_json()).await? {
                return Ok(Err(e));
            }
            self.task_grant(op, &mut store, &info, spec, env).await
        };
        match guarded(Guard::new(self.deadlines.validate, Some(&env.cancel)), call).await {
            Ok(answer) => answer,
            Err(stop @ Stopped::Cancelled) => Ok(Err(TaskError::Cancelled(
                stop.describe("validate and planning"),
            ))),
            Err(stop) => Ok(Err(TaskError::TimedOut(
                stop.describe("validate and planning"),
            ))),
        }
    }

    /// Runs one task: validate, execute; on cancellation the plugin gets
    /// `env.cancel_grace` to clean up, after which it is interrupted and
    /// `on-kill` runs in a fresh instance.
    pub async fn run(&self, spec: TaskSpec, env: TaskEnv) -> TaskReport {
        let task_id = spec.context.task_id.clone();
        let internal =
            |msg: String| TaskReport::failed(&task_id, ErrorKind::Internal, msg, EXIT_OTHER);
        let (info, mut store, stats) =
            match self.call_store(&task_id, &env, env.cancel.clone()).await {
                Ok(s) => s,
                Err(e) => return internal(format!("describing the plugin failed: {e:#}")),
            };
        let execution = match self.execute(&spec, &env, &info, &mut store).await {
            Ok(e) => e,
            Err(report) => return *report,
        };
        match execution {
            Execution::Answered(result) => TaskReport::from_result(
                &task_id,
                result,
                store.data().runtime.xcom(),
                stats.get(),
                &env.masker,
            ),
            Execution::Trapped(trap, grant) => {
                let msg = env.masker.mask(&format!("plugin trapped: {trap:#}"));
                let mut report = TaskReport::failed(&task_id, ErrorKind::Internal, msg, EXIT_OTHER);
                self.on_kill(&spec, &env, Some(grant)).await;
                report.xcom = store.data().runtime.xcom();
                report
            }
            Execution::Interrupted(grant) => {
                // The plugin did not return within the grace period: drop its
                // instance and release what it created from a fresh one.
                drop(store);
                env.log.log(
                    &task_id,
                    LogLevel::Warning,
                    "plugin did not stop within the grace period; interrupted, running on-kill",
                );
                self.on_kill(&spec, &env, Some(grant)).await;
                TaskReport::failed(
                    &task_id,
                    ErrorKind::Cancelled,
                    "cancelled: interrupted after the grace period; on-kill ran".into(),
                    EXIT_CANCELLED,
                )
            }
        }
    }

    /// Instantiates, validates, plans the grant and executes, giving the
    /// plugin `env.cancel_grace` after a cancellation. An `Err` is the final
    /// report of a task that could not start (instantiation, or a trap in
    /// validate or while planning).
    async fn execute(
        &self,
        spec: &TaskSpec,
        env: &TaskEnv,
        info: &OperatorInfo,
        store: &mut Store<HostState>,
    ) -> Result<Execution, Box<TaskReport>> {
        let task_id = &spec.context.task_id;
        let internal = |msg: String| {
            Box::new(TaskReport::failed(
                task_id,
                ErrorKind::Internal,
                msg,
                EXIT_OTHER,
            ))
        };
        let instance = self
            .plugin
            .task
            .instantiate_async(&mut *store)
            .await
            .map_err(|e| internal(format!("instantiating the plugin failed: {e:#}")))?;
        let op = instance.orchestrator_task_task_operator();
        let params_json = spec.params_json();
        // Validate and plan within the validate deadline each; a cancel
        // stops them at once (nothing to clean up yet).
        let before = || Guard::new(self.deadlines.validate, Some(&env.cancel));
        let cancelled = || {
            let e = TaskError::Cancelled("cancelled before execute".into());
            Ok(Execution::Answered(Err(e)))
        };
        match guarded(before(), op.call_validate(&mut *store, &params_json)).await {
            Ok(Ok(Ok(()))) => {}
            Ok(Ok(Err(e))) => return Ok(Execution::Answered(Err(e))),
            Ok(Err(trap)) => return Err(internal(format!("plugin trapped in validate: {trap:#}"))),
            Err(Stopped::Cancelled) => return cancelled(),
            Err(stop) => return Err(internal(stop.describe("validate"))),
        }
        let grant = match guarded(before(), self.task_grant(op, store, info, spec, env)).await {
            Ok(Ok(Ok(grant))) => grant,
            Ok(Ok(Err(e))) => return Ok(Execution::Answered(Err(e))),
            Ok(Err(trap)) => {
                return Err(internal(format!("plugin trapped while planning: {trap:#}")))
            }
            Err(Stopped::Cancelled) => return cancelled(),
            Err(stop) => return Err(internal(stop.describe("planning"))),
        };
        log_grant(env, task_id, &grant);
        store.data_mut().apply_grant(&grant);
        let exec = op.call_execute(&mut *store, &spec.context, &params_json);
        Ok(match self.guarded_execute(task_id, env, exec).await {
            Ok(Ok(result)) => Execution::Answered(result),
            Ok(Err(trap)) => Execution::Trapped(trap, grant),
            Err(_) => Execution::Interrupted(grant),
        })
    }

    /// Runs `execute` until it answers or, once cancelled (which it logs),
    /// until `env.cancel_grace` has passed.
    async fn guarded_execute<T>(
        &self,
        task_id: &str,
        env: &TaskEnv,
        exec: impl std::future::Future<Output = T>,
    ) -> Result<T, Stopped> {
        let cancel = env.cancel.clone();
        let log = env.log.clone();
        // Says so once when cancelled; never finishes.
        let announce = async move {
            cancel.cancelled().await;
            log.log(
                task_id,
                LogLevel::Warning,
                "cancellation requested; waiting for the plugin to clean up",
            );
            std::future::pending::<std::convert::Infallible>().await
        };
        let guard = Guard {
            deadline: None,
            cancel: Some(&env.cancel),
            grace: env.cancel_grace,
        };
        tokio::select! {
            answer = guarded(guard, exec) => answer,
            never = announce => match never {},
        }
    }

    /// Runs `on-kill` in a fresh instance with a fresh (uncancelled) token,
    /// bounded by `env.on_kill_timeout`, with the grant the operator declares
    /// for it. Failures are logged.
    pub async fn run_on_kill(&self, spec: &TaskSpec, env: &TaskEnv) {
        self.on_kill(spec, env, None).await
    }

    /// [`Runner::run_on_kill`] with the grant of the interrupted `execute`,
    /// when there is one (else it is planned again).
    async fn on_kill(&self, spec: &TaskSpec, env: &TaskEnv, grant: Option<Grant>) {
        let task_id = spec.context.task_id.clone();
        let params_json = spec.params_json();
        let fut = async {
            let (info, mut store, _) = self.call_store(&task_id, env, CancelToken::new()).await?;
            let instance = self.plugin.task.instantiate_async(&mut store).await?;
            let op = instance.orchestrator_task_task_operator();
            let grant = match grant {
                Some(g) => g,
                None => match self.task_grant(op, &mut store, &info, spec, env).await? {
                    Ok(g) => g,
                    Err(e) => return Ok(Err(e)),
                },
            };
            store.data_mut().apply_grant(&grant);
            op.call_on_kill(&mut store, &spec.context, &params_json)
                .await
        };
        let failure = match guarded(Guard::new(env.on_kill_timeout, None), fut).await {
            Ok(Ok(Ok(()))) => return,
            Ok(Ok(Err(e))) => format!("on-kill failed: {}", classify_error(&e).message),
            Ok(Err(trap)) => format!("on-kill trapped: {trap:#}"),
            Err(stop) => stop.describe("on-kill"),
        };
        env.log
            .log(&task_id, LogLevel::Error, &env.masker.mask(&failure));
    }

    /// A store with no connections and an empty policy (benchmarks, tests).
    #[doc(hidden)]
    pub fn bench_store(&self) -> Store<HostState> {
        let env = TaskEnv::new(Arc::new(NoConnections));
        self.store("bench", &env, CancelToken::new(), &[]).0
    }
}

/// A planned grant with `env.allow_hosts` added, refused (`denied`) when it
/// goes beyond `env.pinned_grant`.
fn finish_grant(mut grant: Grant, env: &TaskEnv) -> Result<Grant, TaskError> {
    if let Some(refusal) = env.pinned_grant.as_ref().and_then(|p| p.refusal(&grant)) {
        return Err(TaskError::Denied(refusal));
    }
    grant.allow_hosts = env.allow_hosts.iter().cloned().collect();
    Ok(grant)
}

/// Writes the grant to the task's log at debug level (`run -v` shows it).
fn log_grant(env: &TaskEnv, task_id: &str, grant: &Grant) {
    env.log
        .log(task_id, LogLevel::Debug, "granted to this task:");
    for line in grant.lines() {
        env.log.log(task_id, LogLevel::Debug, &format!("  {line}"));
    }
}

/// A provider with no connections (describe/validate never resolve any).
struct NoConnections;

impl ConnectionProvider for NoConnections {
    fn connection(&self, conn_id: &str) -> Result<Connection, ConnectionLookupError> {
        Err(ConnectionLookupError::NotFound(format!(
            "no connections are available here (asked for `{conn_id}`)"
        )))
    }
}
