//! The host side of `orchestrator:task/runtime`: connections, logs, XCom,
//! cancellation and granted files, for one task instance.
//!
//! Error rule: every function returns `wasmtime::Result<..>`; an outer error
//! is a trap (a host bug or an exhausted limit), while a WIT `result` inside is
//! an error the guest handles (`host-error`, with a distinct `denied` case).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;

use crate::bindings::task::orchestrator::task::types;
use crate::bindings::{HostError, LogLevel, RuntimeHost, WitConnection};
use crate::connections::Connection;
use crate::http_hooks::SharedPolicy;
use crate::mask::Masker;
use crate::policy;
use crate::state::HostState;

/// Resolves connection ids for a task. Implemented by the CLI's resolver (env,
/// files, `--conn`, local mode) and by embedders.
pub trait ConnectionProvider: Send + Sync {
    /// The connection, or a message saying where the provider looked.
    fn connection(&self, conn_id: &str) -> Result<Connection, String>;
}

impl ConnectionProvider for crate::connections::ConnectionResolver {
    fn connection(&self, conn_id: &str) -> Result<Connection, String> {
        self.get(conn_id).map_err(|e| e.to_string())
    }
}

/// Receives the task's log lines (already masked).
pub trait LogSink: Send + Sync {
    /// One line from the plugin of task `task_id`.
    fn log(&self, task_id: &str, level: LogLevel, message: &str);
}

/// A log sink that forwards to `tracing` (target `task`).
#[derive(Clone, Debug, Default)]
pub struct TracingLogSink;

impl LogSink for TracingLogSink {
    fn log(&self, task_id: &str, level: LogLevel, message: &str) {
        match level {
            LogLevel::Trace => tracing::trace!(target: "task", task = task_id, "{message}"),
            LogLevel::Debug => tracing::debug!(target: "task", task = task_id, "{message}"),
            LogLevel::Info => tracing::info!(target: "task", task = task_id, "{message}"),
            LogLevel::Warning => tracing::warn!(target: "task", task = task_id, "{message}"),
            LogLevel::Error => tracing::error!(target: "task", task = task_id, "{message}"),
        }
    }
}

/// A cancellation signal shared by the caller and the running task.
#[derive(Clone, Debug)]
pub struct CancelToken {
    tx: Arc<watch::Sender<bool>>,
}

impl Default for CancelToken {
    fn default() -> Self {
        CancelToken {
            tx: Arc::new(watch::channel(false).0),
        }
    }
}

impl CancelToken {
    /// A token that is not cancelled.
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks the task to stop.
    pub fn cancel(&self) {
        self.tx.send_replace(true);
    }

    /// True once cancelled.
    pub fn is_cancelled(&self) -> bool {
        *self.tx.borrow()
    }

    /// Resolves once cancelled.
    pub async fn cancelled(&self) {
        let mut rx = self.tx.subscribe();
        // `wait_for` returns immediately when the value already matches.
        let _ = rx.wait_for(|c| *c).await;
    }
}

/// Bounds on what a plugin may push through the runtime interface.
#[derive(Clone, Debug)]
pub struct RuntimeLimits {
    /// Largest XCom value, in bytes of JSON.
    pub max_xcom_bytes: usize,
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
    policy: SharedPolicy,
    cancel: CancelToken,
    granted_files: Mutex<Vec<PathBuf>>,
    xcom: Mutex<BTreeMap<String, serde_json::Value>>,
    limits: RuntimeLimits,
}

impl TaskRuntime {
    /// Runtime services for `task_id`.
    pub fn new(
        task_id: impl Into<String>,
        connections: Arc<dyn ConnectionProvider>,
        log: Arc<dyn LogSink>,
        masker: Masker,
        policy: SharedPolicy,
        cancel: CancelToken,
    ) -> Self {
        TaskRuntime {
            task_id: task_id.into(),
            connections,
            log,
            masker,
            policy,
            cancel,
            granted_files: Mutex::new(Vec::new()),
            xcom: Mutex::new(BTreeMap::new()),
            limits: RuntimeLimits::default(),
        }
    }

    /// Grants read access to exactly this file.
    pub fn grant_file(&self, path: impl Into<PathBuf>) {
        self.granted_files
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(path.into());
    }

    /// Overrides the limits.
    pub fn with_limits(mut self, limits: RuntimeLimits) -> Self {
        self.limits = limits;
        self
    }

    /// The XCom values pushed so far.
    pub fn xcom(&self) -> BTreeMap<String, serde_json::Value> {
        self.xcom.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The masker applied to every log line.
    pub fn masker(&self) -> &Masker {
        &self.masker
    }

    /// The cancellation token.
    pub fn cancel_token(&self) -> &CancelToken {
        &self.cancel
    }

    fn emit(&self, level: LogLevel, message: &str) {
        let mut text = self.masker.mask(message);
        if text.len() > self.limits.max_log_line {
            let mut cut = self.limits.max_log_line;
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            text.truncate(cut);
            text.push_str(" …[truncated]");
        }
        self.log.log(&self.task_id, level, &text);
    }
}

fn opt(s: Option<String>) -> Option<String> {
    s.filter(|v| !v.is_empty())
}

impl types::Host for HostState {}

impl RuntimeHost for HostState {
    async fn get_connection(
        &mut self,
        conn_id: String,
    ) -> wasmtime::Result<Result<WitConnection, HostError>> {
        let rt = &self.runtime;
        let conn = match rt.connections.connection(&conn_id) {
            Ok(c) => c,
            Err(where_) => return Ok(Err(HostError::NotFound(where_))),
        };
        // Secrets of every resolved connection are masked from here on.
        for secret in conn.secrets() {
            rt.masker.add(&secret);
        }
        // The plugin may reach exactly the endpoints this connection names.
        let rules = policy::rules_for_connection(conn.password.as_deref(), &conn.extra);
        rt.policy.allow_all(rules);
        // Key and certificate files named by the connection may be read, and nothing else.
        for key in ["key_path", "client_certificate_path"] {
            if let Some(path) = conn
                .extra
                .get(key)
                .and_then(|v| v.as_str())
                .filter(|p| !p.is_empty())
            {
                rt.grant_file(path);
            }
        }
        Ok(Ok(WitConnection {
            conn_id: conn.conn_id.clone(),
            conn_type: opt(conn.conn_type.clone()),
            host: opt(conn.host.clone()),
            login: opt(conn.login.clone()),
            password: opt(conn.password.clone()),
            schema: opt(conn.schema.clone()),
            port: conn.port,
            extra: serde_json::Value::Object(conn.extra.clone()).to_string(),
        }))
    }

    async fn log(&mut self, level: LogLevel, message: String) -> wasmtime::Result<()> {
        self.runtime.emit(level, &message);
        Ok(())
    }

    async fn xcom_push(
        &mut self,
        key: String,
        value: String,
    ) -> wasmtime::Result<Result<(), HostError>> {
        let rt = &self.runtime;
        if value.len() > rt.limits.max_xcom_bytes {
            return Ok(Err(HostError::Invalid(format!(
                "XCom `{key}` is {} bytes, over the {} byte limit",
                value.len(),
                rt.limits.max_xcom_bytes
            ))));
        }
        let parsed: serde_json::Value = match serde_json::from_str(&value) {
            Ok(v) => v,
            Err(e) => {
                return Ok(Err(HostError::Invalid(format!(
                    "XCom `{key}` is not JSON: {e}"
                ))))
            }
        };
        let mut xcom = rt.xcom.lock().unwrap_or_else(|e| e.into_inner());
        if !xcom.contains_key(&key) && xcom.len() >= rt.limits.max_xcom_keys {
            return Ok(Err(HostError::Invalid(format!(
                "more than {} XCom keys",
                rt.limits.max_xcom_keys
            ))));
        }
        xcom.insert(key, parsed);
        Ok(Ok(()))
    }

    async fn cancelled(&mut self) -> wasmtime::Result<bool> {
        Ok(self.runtime.cancel.is_cancelled())
    }

    async fn wait_cancelled(&mut self, millis: u64) -> wasmtime::Result<bool> {
        let cancel = self.runtime.cancel.clone();
        if cancel.is_cancelled() {
            return Ok(true);
        }
        // Bounded: one day at most per call.
        let wait = Duration::from_millis(millis.min(86_400_000));
        tokio::select! {
            _ = tokio::time::sleep(wait) => Ok(false),
            _ = cancel.cancelled() => Ok(true),
        }
    }

    async fn read_granted_file(
        &mut self,
        path: String,
    ) -> wasmtime::Result<Result<Vec<u8>, HostError>> {
        let rt = &self.runtime;
        let requested = PathBuf::from(&path);
        let granted = rt
            .granted_files
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(&requested);
        if !granted {
            return Ok(Err(HostError::Denied(format!(
                "`{path}` is not a file the host granted to this task"
            ))));
        }
        let meta = match tokio::fs::metadata(&requested).await {
            Ok(m) => m,
            Err(e) => return Ok(Err(HostError::NotFound(format!("`{path}`: {e}")))),
        };
        if meta.len() > rt.limits.max_file_bytes {
            return Ok(Err(HostError::Invalid(format!(
                "`{path}` is larger than {} bytes",
                rt.limits.max_file_bytes
            ))));
        }
        match tokio::fs::read(&requested).await {
            Ok(bytes) => Ok(Ok(bytes)),
            Err(e) => Ok(Err(HostError::NotFound(format!("`{path}`: {e}")))),
        }
    }
}

#[cfg(test)]
mod tests {
    //! The runtime interface without a guest: host functions called directly.

    use super::*;
    use crate::http_hooks::{HookStats, PolicyHooks};
    use crate::policy::{Decision, RequestFacts};

    struct OneConnection(Connection);

    impl ConnectionProvider for OneConnection {
        fn connection(&self, conn_id: &str) -> Result<Connection, String> {
            if conn_id == self.0.conn_id {
                Ok(self.0.clone())
            } else {
                Err(format!("`{conn_id}` not found in: test"))
            }
        }
    }

    struct Sink(Mutex<Vec<String>>);

    impl LogSink for Sink {
        fn log(&self, _task: &str, _level: LogLevel, message: &str) {
            self.0.lock().unwrap().push(message.to_string());
        }
    }

    fn state(conn: Connection) -> (HostState, SharedPolicy, Arc<Sink>, CancelToken) {
        let policy = SharedPolicy::default();
        let sink = Arc::new(Sink(Mutex::new(Vec::new())));
        let cancel = CancelToken::new();
        let rt = TaskRuntime::new(
            "t",
            Arc::new(OneConnection(conn)),
            sink.clone(),
            Masker::default(),
            policy.clone(),
            cancel.clone(),
        );
        let hooks = PolicyHooks::new(policy.clone(), HookStats::default(), "t");
        (
            HostState::new(rt, hooks, &[], 1 << 20),
            policy,
            sink,
            cancel,
        )
    }

    fn azure_conn() -> Connection {
        let mut c = Connection::new("azure_default", "azure_container_instance");
        c.login = Some("client".into());
        c.password = Some("super-secret-value".into());
        c.extra = serde_json::json!({"tenantId": "t", "key_path": "/keys/k.json"})
            .as_object()
            .unwrap()
            .clone();
        c
    }

    #[tokio::test]
    async fn get_connection_grants_its_endpoints_and_masks_its_secrets() {
        let (mut s, policy, sink, _) = state(azure_conn());
        fn https(host: &str) -> RequestFacts<'_> {
            RequestFacts {
                scheme: "https",
                authority: host,
                has_credentials: true,
            }
        }
        assert!(matches!(
            policy.check(&https("management.azure.com")),
            Decision::Deny(_)
        ));
        let c = s
            .get_connection("azure_default".into())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(c.login.as_deref(), Some("client"));
        assert_eq!(
            policy.check(&https("management.azure.com")),
            Decision::Allow
        );
        assert_eq!(
            policy.check(&https("login.microsoftonline.com")),
            Decision::Allow
        );
        assert!(matches!(
            policy.check(&https("evil.example")),
            Decision::Deny(_)
        ));
        s.log(LogLevel::Info, "password is super-secret-value".into())
            .await
            .unwrap();
        assert_eq!(sink.0.lock().unwrap().last().unwrap(), "password is ***");
    }

    #[tokio::test]
    async fn missing_connection_is_not_found_not_a_trap() {
        let (mut s, _, _, _) = state(azure_conn());
        let r = s.get_connection("nope".into()).await.unwrap();
        assert!(matches!(r, Err(HostError::NotFound(m)) if m.contains("nope")));
    }

    #[tokio::test]
    async fn only_granted_files_can_be_read() {
        let dir = std::env::temp_dir().join(format!("aci-rt-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let granted = dir.join("token");
        let other = dir.join("other");
        std::fs::write(&granted, b"tok").unwrap();
        std::fs::write(&other, b"no").unwrap();
        let (mut s, _, _, _) = state(azure_conn());
        s.runtime.grant_file(&granted);
        assert_eq!(
            s.read_granted_file(granted.display().to_string())
                .await
                .unwrap()
                .unwrap(),
            b"tok"
        );
        assert!(matches!(
            s.read_granted_file(other.display().to_string())
                .await
                .unwrap(),
            Err(HostError::Denied(_))
        ));
        // The key file named by a resolved connection becomes readable (it does not exist here).
        s.get_connection("azure_default".into())
            .await
            .unwrap()
            .unwrap();
        assert!(matches!(
            s.read_granted_file("/keys/k.json".into()).await.unwrap(),
            Err(HostError::NotFound(_))
        ));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test]
    async fn xcom_values_must_be_json_and_bounded() {
        let (mut s, _, _, _) = state(azure_conn());
        assert!(matches!(
            s.xcom_push("k".into(), "not json".into()).await.unwrap(),
            Err(HostError::Invalid(_))
        ));
        s.xcom_push("logs".into(), "[\"a\\n\"]".into())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(s.runtime.xcom()["logs"], serde_json::json!(["a\n"]));
        s.runtime.limits.max_xcom_bytes = 4;
        assert!(matches!(
            s.xcom_push("big".into(), "\"12345\"".into()).await.unwrap(),
            Err(HostError::Invalid(_))
        ));
    }

    #[tokio::test]
    async fn wait_cancelled_returns_early_on_cancel() {
        let (mut s, _, _, cancel) = state(azure_conn());
        assert!(!s.wait_cancelled(1).await.unwrap());
        assert!(!s.cancelled().await.unwrap());
        let c = cancel.clone();
        tokio::spawn(async move { c.cancel() });
        // A one-hour wait ends as soon as the token is cancelled.
        let r = tokio::time::timeout(Duration::from_secs(30), s.wait_cancelled(3_600_000)).await;
        assert!(r.expect("returned early").unwrap());
        assert!(s.cancelled().await.unwrap());
    }
}
