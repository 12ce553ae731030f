//! The host side of `orchestrator:task/runtime` (connections, logs, XCom,
//! cancellation, granted files, shared rate budgets), embeddable in any
//! wasmtime host.
//!
//! Shaped like `wasmtime-wasi-http`: the embedder's store data implements
//! [`TaskRuntimeView`] (it holds one [`TaskRuntime`] per task instance) and
//! [`add_to_linker`] links `orchestrator:task/runtime` and `types` into its
//! `Linker<T>`, next to `wasmtime_wasi::p2::add_to_linker_async` and
//! `wasmtime_wasi_http::p2::add_only_http_to_linker_async`:
//!
//! ```no_run
//! # use wasmtime::component::Linker;
//! # use aci_host::runtime::{TaskRuntime, TaskRuntimeView};
//! # struct MyState { runtime: TaskRuntime }
//! impl TaskRuntimeView for MyState {
//!     fn task_runtime(&mut self) -> &mut TaskRuntime {
//!         &mut self.runtime
//!     }
//! }
//! # fn link(linker: &mut Linker<MyState>) -> wasmtime::Result<()> {
//! aci_host::runtime::add_to_linker(linker)?;
//! # Ok(()) }
//! ```
//!
//! `host/examples/embed.rs` is a whole embedding (its own store data,
//! connections and linker) that runs a task against the local emulator.
//!
//! # Errors: trap or `host-error`, one rule
//!
//! Host functions return [`RuntimeResult`]. An error is **guest-visible**
//! (`host-error`, which the plugin handles) when the guest asked for something
//! the host declines: a connection that is missing (`not-found`), malformed
//! (`invalid`, e.g. an `AIRFLOW_CONN_X` URI that does not parse) or refused
//! (`denied`); a file that was not granted (`denied`) or cannot be read
//! (`not-found`); a malformed request (`invalid`). The per-call bounds of this
//! interface are guest-visible too, because the plugin can react to them:
//! an XCom value over [`RuntimeLimits::max_xcom_bytes`], XCom values over
//! [`RuntimeLimits::max_xcom_total_bytes`] together, an XCom key beyond
//! [`RuntimeLimits::max_xcom_keys`] and a file over
//! [`RuntimeLimits::max_file_bytes`] are `invalid`; a log line over
//! [`RuntimeLimits::max_log_line`] is truncated, not refused; a
//! `wait-cancelled` longer than a day waits a day.
//!
//! An error **traps** (ends the instance; [`RuntimeError::trap`]) when it is a
//! host bug or when a limit of the *store* is exhausted: linear memory,
//! instances and tables (wasmtime's `StoreLimits`) and the epoch deadline.
//! No function of this interface traps on guest input.

mod budgets;
mod cancel;
mod connections;
mod error;
mod files;
mod log;
mod output;
mod xcom;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;

use wasmtime::component::{HasSelf, Linker};

use crate::bindings::task::orchestrator::task::{runtime, types};
use crate::bindings::{LogLevel, WitConnection};
use crate::budget::{Budgets, Limit};
use crate::grant::Grant;
use crate::mask::{LineMasker, Masker};

pub use cancel::CancelToken;
pub use connections::{ConnectionLookupError, ConnectionProvider};
pub use error::{RuntimeError, RuntimeResult};
pub use log::{LogSink, TracingLogSink};
pub use output::{GuestOutput, GuestStream};

/// Store data that holds a [`TaskRuntime`]: what [`add_to_linker`] needs.
pub trait TaskRuntimeView: Send {
    /// The runtime services of the task this store runs.
    fn task_runtime(&mut self) -> &mut TaskRuntime;
}

/// Links `orchestrator:task/runtime` (and its `types`) into `linker` for any
/// store data `T` that implements [`TaskRuntimeView`].
pub fn add_to_linker<T: TaskRuntimeView + 'static>(linker: &mut Linker<T>) -> wasmtime::Result<()> {
    crate::bindings::task::OperatorPlugin::add_to_linker::<T, HasSelf<TaskRuntime>>(
        linker,
        T::task_runtime,
    )
}

/// Default of [`RuntimeLimits::max_xcom_total_bytes`]: 64 MiB per task.
pub const DEFAULT_MAX_XCOM_TOTAL_BYTES: usize = 64 * 1024 * 1024;

/// Bounds on what a plugin may push through the runtime interface (see the
/// module docs for what happens at each bound).
#[derive(Clone, Debug)]
pub struct RuntimeLimits {
    /// Largest XCom value, in bytes of JSON.
    pub max_xcom_bytes: usize,
    /// Most bytes of JSON all of a task's XCom values may hold together (a
    /// value pushed again under the same key counts once, at its new size).
    pub max_xcom_total_bytes: usize,
    /// Most XCom keys per task.
    pub max_xcom_keys: usize,
    /// Largest log line, in bytes (longer lines are truncated, not dropped).
    pub max_log_line: usize,
    /// Largest file `read-granted-file` returns.
    pub max_file_bytes: u64,
}

impl Default for RuntimeLimits {
    fn default() -> Self {
        RuntimeLimits {
            max_xcom_bytes: 48 * 1024 * 1024,
            max_xcom_total_bytes: DEFAULT_MAX_XCOM_TOTAL_BYTES,
            max_xcom_keys: 1024,
            max_log_line: 64 * 1024,
            max_file_bytes: 1024 * 1024,
        }
    }
}

/// One task instance's runtime services.
pub struct TaskRuntime {
    task_id: String,
    connections: Arc<dyn ConnectionProvider>,
    log: Arc<dyn LogSink>,
    masker: Masker,
    /// `runtime.log` lines as one masked stream.
    log_lines: LineMasker,
    cancel: CancelToken,
    granted_connections: BTreeSet<String>,
    granted_files: Vec<PathBuf>,
    granted_budgets: BTreeSet<String>,
    budgets: Option<Arc<Budgets>>,
    xcom: xcom::Xcoms,
    limits: RuntimeLimits,
}

impl TaskRuntime {
    /// Runtime services for `task_id`: connections come from `connections`
    /// (only those granted, see [`TaskRuntime::apply_grant`]), log lines
    /// (masked with `masker`) go to `log`, and `cancel` stops the task.
    pub fn new(
        task_id: impl Into<String>,
        connections: Arc<dyn ConnectionProvider>,
        log: Arc<dyn LogSink>,
        masker: Masker,
        cancel: CancelToken,
    ) -> Self {
        TaskRuntime {
            task_id: task_id.into(),
            connections,
            log,
            log_lines: LineMasker::new(masker.clone()),
            masker,
            cancel,
            granted_connections: BTreeSet::new(),
            granted_files: Vec::new(),
            granted_budgets: BTreeSet::new(),
            budgets: None,
            xcom: Default::default(),
            limits: RuntimeLimits::default(),
        }
    }

    /// Grants exactly the connection ids, files and budgets of `grant`
    /// (replacing any earlier grant), declaring its budgets in the shared
    /// registry. Its origins are enforced by the send hook, not here.
    pub fn apply_grant(&mut self, grant: &Grant) {
        self.granted_connections = grant.connections.clone();
        self.granted_files = grant.files.iter().map(PathBuf::from).collect();
        self.granted_budgets = grant.budgets.iter().map(|b| b.key.clone()).collect();
        if let Some(budgets) = &self.budgets {
            for b in &grant.budgets {
                if let Ok(remote) = Limit::new(f64::from(b.capacity), b.refill_per_second) {
                    budgets.declare(&b.key, &b.class, remote);
                }
            }
        }
    }

    /// Draws the granted budgets from `budgets`, the registry every task of
    /// the process shares (one bucket per key). Without one, every
    /// `acquire-budget` of a granted key succeeds at once.
    pub fn with_budgets(mut self, budgets: Arc<Budgets>) -> Self {
        self.budgets = Some(budgets);
        self
    }

    /// Overrides the limits.
    pub fn with_limits(mut self, limits: RuntimeLimits) -> Self {
        self.limits = limits;
        self
    }

    /// The masker applied to every log line.
    pub fn masker(&self) -> &Masker {
        &self.masker
    }

    /// The cancellation token.
    pub fn cancel_token(&self) -> &CancelToken {
        &self.cancel
    }
}

impl types::Host for TaskRuntime {}

impl runtime::Host for TaskRuntime {
    fn convert_host_error(&mut self, err: RuntimeError) -> wasmtime::Result<runtime::HostError> {
        err.downcast()
    }

    async fn get_connection(&mut self, conn_id: String) -> RuntimeResult<WitConnection> {
        self.resolve_connection(&conn_id)
    }

    async fn log(&mut self, level: LogLevel, message: String) -> wasmtime::Result<()> {
        self.emit(level, &message);
        Ok(())
    }

    async fn xcom_push(&mut self, key: String, value: String) -> RuntimeResult<()> {
        self.push_xcom(key, &value)
    }

    async fn cancelled(&mut self) -> wasmtime::Result<bool> {
        Ok(self.cancel.is_cancelled())
    }

    async fn wait_cancelled(&mut self, millis: u64) -> wasmtime::Result<bool> {
        Ok(self.cancel.wait(millis).await)
    }

    async fn acquire_budget(&mut self, key: String, urgent: bool) -> RuntimeResult<bool> {
        self.take_budget(&key, urgent).await
    }

    async fn pause_budget(&mut self, key: String, millis: u64) -> RuntimeResult<()> {
        self.hold_budget(&key, millis)
    }

    async fn read_granted_file(&mut self, path: String) -> RuntimeResult<Vec<u8>> {
        self.read_file(&path).await
    }
}

#[cfg(test)]
mod tests;
