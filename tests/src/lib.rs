//! Shared harness for the end-to-end tests: the real component in the real
//! host against the local ARM emulator on loopback.
//!
//! ```ignore
//! let h = Harness::start().await;
//! let run = h.run_task("hello", json!({"name": "hello", "command": ["echo", "hi"]})).await;
//! assert_eq!(run.report.exit_status, 0);
//! ```

#![deny(missing_docs)]

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

pub use aci_emulator::{Emulator, EmulatorConfig, Faults, Stats};
pub use aci_host::bindings::{LogLevel, TaskError};
pub use aci_host::connections::Connection;
use aci_host::engine::EngineOptions;
use aci_host::local::LocalConnections;
pub use aci_host::runner::{
    HostEnv, Runner, RunnerOptions, TaskEnv, TaskReport, TaskSpec, TaskState,
};
pub use aci_host::runtime::{CancelToken, ConnectionLookupError, ConnectionProvider, LogSink};

/// The test-guest component: a task-operator that makes one HTTP request.
pub const HTTP_PROBE_COMPONENT: &str = env!("HTTP_PROBE_COMPONENT");

/// The hostile test guest: an operator that tries to escape its declared grant.
pub const HOSTILE_COMPONENT: &str = env!("HOSTILE_COMPONENT");

/// The guest SDK's example operator (`sdk/examples/echo_operator.rs`) as a component.
pub const ECHO_OPERATOR_COMPONENT: &str = env!("ECHO_OPERATOR_COMPONENT");

/// The resource group every harness task uses by default.
pub const RESOURCE_GROUP: &str = "e2e-rg";

/// Engine options for tests: a cache dir private to the test run.
pub fn engine_options() -> EngineOptions {
    EngineOptions {
        cache_dir: Some(std::env::temp_dir().join("aci-e2e-cwasm-cache")),
        ..EngineOptions::default()
    }
}

/// One runner (engine + compiled component) shared by all tests of a binary, its outputs
/// scanned for secrets ([`scan`]).
pub fn runner() -> ScannedRunner {
    static RUNNER: OnceLock<Arc<Runner>> = OnceLock::new();
    let runner = RUNNER
        .get_or_init(|| {
            Arc::new(
                Runner::new(RunnerOptions {
                    engine: engine_options(),
                    plugin: None,
                    ..RunnerOptions::default()
                })
                .expect("load the built-in component"),
            )
        })
        .clone();
    ScannedRunner::new(runner)
}

/// Captures task log lines for assertions.
#[derive(Default)]
pub struct CaptureSink {
    lines: Mutex<Vec<(String, LogLevel, String)>>,
}

impl CaptureSink {
    /// All lines `(task, level, message)` so far.
    pub fn lines(&self) -> Vec<(String, LogLevel, String)> {
        self.lines.lock().unwrap().clone()
    }

    /// Only the messages.
    pub fn messages(&self) -> Vec<String> {
        self.lines().into_iter().map(|(_, _, m)| m).collect()
    }
}

impl LogSink for CaptureSink {
    fn log(&self, task_id: &str, level: LogLevel, message: &str) {
        if std::env::var_os("E2E_ECHO_LOGS").is_some() {
            eprintln!("[{task_id}] {level:?} {message}");
        }
        self.lines
            .lock()
            .unwrap()
            .push((task_id.to_string(), level, message.to_string()));
    }
}

/// A fixed set of connections.
#[derive(Clone, Default)]
pub struct StaticConnections(pub HashMap<String, Connection>);

impl ConnectionProvider for StaticConnections {
    fn connection(&self, conn_id: &str) -> Result<Connection, ConnectionLookupError> {
        self.0.get(conn_id).cloned().ok_or_else(|| {
            ConnectionLookupError::NotFound(format!(
                "`{conn_id}` is not one of the test connections"
            ))
        })
    }
}

/// The result of one task run, with its captured logs.
pub struct TaskRun {
    /// The host's report.
    pub report: TaskReport,
    /// The log lines the plugin wrote.
    pub logs: Arc<CaptureSink>,
}

/// An emulator plus the shared runner.
pub struct Harness {
    /// The emulator on a loopback port.
    pub emulator: Emulator,
    /// The shared runner; every call's outputs are scanned for the call's secrets and the
    /// emulator's client secret ([`scan`]).
    pub runner: ScannedRunner,
}

impl Harness {
    /// An emulator with a short provisioning delay (100 ms), IMDS on, and the local client
    /// also allowed to sign in with certificate and federated assertions (for the auth tests).
    pub async fn start() -> Harness {
        Harness::with_config(EmulatorConfig {
            provision_delay: Duration::from_millis(100),
            imds: true,
            certificate_clients: vec![aci_emulator::LOCAL_CLIENT_ID.into()],
            federated_clients: vec![aci_emulator::LOCAL_CLIENT_ID.into()],
            ..EmulatorConfig::default()
        })
        .await
    }

    /// An emulator with the given configuration.
    pub async fn with_config(config: EmulatorConfig) -> Harness {
        let emulator = Emulator::start(config).await.expect("start the emulator");
        let runner = runner();
        runner.secrets().add(
            "the emulator's client secret",
            emulator.credentials().client_secret,
        );
        Harness { emulator, runner }
    }

    /// The emulator's base URL.
    pub fn base_url(&self) -> String {
        self.emulator.base_url()
    }

    /// The emulator connection (client secret auth) under `conn_id`; modify
    /// it to test other auth modes.
    pub fn connection(&self, conn_id: &str) -> Connection {
        LocalConnections::of(&self.emulator).connection_for(conn_id)
    }

    /// A task environment whose every connection resolves to the emulator.
    pub fn env(&self) -> (TaskEnv, Arc<CaptureSink>) {
        self.env_with(Arc::new(LocalConnections::of(&self.emulator)))
    }

    /// A task environment with the given connections.
    pub fn env_with(
        &self,
        connections: Arc<dyn ConnectionProvider>,
    ) -> (TaskEnv, Arc<CaptureSink>) {
        let sink = Arc::new(CaptureSink::default());
        let mut env = TaskEnv::new(connections);
        // Nothing from this process's environment reaches the plugin.
        env.host_env = HostEnv::Fixed(Default::default());
        env.log = sink.clone();
        env.cancel_grace = Duration::from_secs(20);
        (env, sink)
    }

    /// Default operator params for a task: `ci_conn_id`, resource group,
    /// image and region, with `name` and `extra` merged over them.
    pub fn params(
        name: &str,
        extra: serde_json::Value,
    ) -> serde_json::Map<String, serde_json::Value> {
        let mut p = serde_json::json!({
            "ci_conn_id": "azure_default",
            "resource_group": RESOURCE_GROUP,
            "name": name,
            "image": "busybox:latest",
            "region": "westeurope",
        })
        .as_object()
        .unwrap()
        .clone();
        if let serde_json::Value::Object(m) = extra {
            for (k, v) in m {
                p.insert(k, v);
            }
        }
        p
    }

    /// Runs a task (default params merged with `extra`) against the emulator.
    pub async fn run_task(&self, name: &str, extra: serde_json::Value) -> TaskRun {
        let (env, logs) = self.env();
        self.run_task_with(TaskSpec::new(name, Harness::params(name, extra)), env, logs)
            .await
    }

    /// Runs a prepared spec in a prepared environment (outputs scanned, see [`scan`]).
    pub async fn run_task_with(
        &self,
        spec: TaskSpec,
        env: TaskEnv,
        logs: Arc<CaptureSink>,
    ) -> TaskRun {
        let report = self.runner.run(spec, env).await;
        TaskRun { report, logs }
    }

    /// Calls hook method `method` with `args` (JSON keyed by parameter
    /// name), every connection resolving to the emulator.
    pub async fn hook(
        &self,
        method: &str,
        args: serde_json::Value,
    ) -> Result<serde_json::Value, TaskError> {
        let (env, _) = self.env();
        self.runner
            .hook(method, args, env)
            .await
            .expect("the plugin trapped")
    }

    /// A hook `group-ref` (JSON) in the default resource group.
    pub fn group(name: &str) -> serde_json::Value {
        serde_json::json!({
            "conn_id": "azure_default",
            "resource_group": RESOURCE_GROUP,
            "name": name,
        })
    }

    /// The emulator's request statistics.
    pub fn stats(&self) -> Stats {
        self.emulator.stats()
    }
}

/// The path of the built `aci-host` binary (for CLI tests). It is built by
/// `cargo test` because the host package has integration tests.
pub fn aci_host_bin() -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    let dir = exe.parent().and_then(|d| d.parent()).expect("target dir");
    let bin = dir.join("aci-host");
    assert!(
        bin.is_file(),
        "{} is missing: run the tests with `cargo test --workspace`",
        bin.display()
    );
    bin
}

/// An emulator for CLI tests: a 100 ms provisioning delay, nothing else configured.
pub async fn quick_emulator() -> Emulator {
    Emulator::start(EmulatorConfig {
        provision_delay: Duration::from_millis(100),
        ..EmulatorConfig::default()
    })
    .await
    .expect("start the emulator")
}

/// Polls `cond` every 50 ms until it holds or `timeout` passes; true if it held.
pub async fn wait_until(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if cond() {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub mod clients;
pub mod hosts;
pub mod reqlog;
pub mod scan;

pub use scan::{HostCommand, ScannedChild, ScannedRunner, Secrets};

/// Helpers for tests that drive the `aci-host` binary.
pub mod cli {
    use std::path::{Path, PathBuf};

    use crate::scan::HostCommand;

    /// The workspace root (task files such as `examples/hello.toml` are relative to it).
    pub fn root() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .unwrap()
            .to_path_buf()
    }

    /// `aci-host ARGS` run from the workspace root, with a test-private
    /// component cache, `state` as its data dir, and no `RUST_LOG`; its `output()` is
    /// scanned for the secrets it is given ([`crate::scan`]).
    pub fn aci_host(args: &[&str], state: &Path) -> HostCommand {
        let mut cmd = HostCommand::new(super::aci_host_bin());
        cmd.args(args)
            .current_dir(root())
            .env(
                "XDG_CACHE_HOME",
                std::env::temp_dir().join("aci-e2e-cli-cache"),
            )
            .env("XDG_DATA_HOME", state)
            .env_remove("RUST_LOG");
        cmd
    }

    /// Process output as text.
    pub fn text(b: &[u8]) -> String {
        String::from_utf8_lossy(b).into_owned()
    }

    /// An `AIRFLOW_CONN_*` JSON connection (client secret) to `emulator`.
    pub fn emulator_conn(emulator: &aci_emulator::Emulator) -> String {
        let base = emulator.base_url();
        let c = emulator.credentials();
        serde_json::json!({
            "conn_type": "azure_container_instance",
            "login": c.client_id,
            "password": c.client_secret,
            "extra": {
                "tenantId": c.tenant_id,
                "subscriptionId": c.subscription_id,
                "resource_manager_url": base,
                "authority_host": base,
            }
        })
        .to_string()
    }
}
