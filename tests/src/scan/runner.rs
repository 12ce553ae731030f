//! [`ScannedRunner`]: the host's [`Runner`] with every call's outputs scanned.

use std::ops::Deref;
use std::sync::{Arc, Mutex};

use aci_host::bindings::{LogLevel, TaskError};
use aci_host::connections::Connection;
use aci_host::runner::{HostEnv, Runner, TaskEnv, TaskReport, TaskSpec};
use aci_host::runtime::{CancelToken, ConnectionLookupError, ConnectionProvider, LogSink};
use serde_json::{Map, Value};

use super::Secrets;

/// A [`Runner`] whose `run`, `hook`, `validate`, `validate_cancellable` and `explain` scan
/// what they return and what the plugin logged for the secrets of the call (see [the
/// module docs](super)). Everything else is the runner's, through `Deref`.
#[derive(Clone)]
pub struct ScannedRunner {
    runner: Arc<Runner>,
    secrets: Secrets,
}

impl From<Runner> for ScannedRunner {
    fn from(runner: Runner) -> Self {
        ScannedRunner::new(Arc::new(runner))
    }
}

impl Deref for ScannedRunner {
    type Target = Runner;

    fn deref(&self) -> &Runner {
        &self.runner
    }
}

impl ScannedRunner {
    /// `runner`, scanning for the secrets of each call only.
    pub fn new(runner: Arc<Runner>) -> Self {
        ScannedRunner {
            runner,
            secrets: Secrets::new(),
        }
    }

    /// Secrets scanned for in every call, besides each call's own (e.g. the emulator's
    /// client secret); add more through it.
    pub fn secrets(&self) -> &Secrets {
        &self.secrets
    }

    /// The runner itself (its outputs unscanned).
    pub fn inner(&self) -> &Arc<Runner> {
        &self.runner
    }

    /// The secrets of a call, and `env` changed so that they grow with each connection it
    /// resolves and its log lines are kept for the scan.
    fn prepare(&self, params: Option<&Map<String, Value>>, env: &mut TaskEnv) -> Call {
        let secrets = Secrets::new();
        secrets.extend_from(&self.secrets);
        if let Some(params) = params {
            secrets.add_task_params(params);
        }
        if let HostEnv::Fixed(vars) = &env.host_env {
            secrets.add_environment_map(vars);
        }
        env.connections = Arc::new(Recording {
            inner: env.connections.clone(),
            secrets: secrets.clone(),
        });
        let tee = Arc::new(Tee {
            inner: env.log.clone(),
            lines: Mutex::default(),
        });
        env.log = tee.clone();
        Call { secrets, tee }
    }

    /// [`Runner::run`], then the report and the log lines scanned.
    pub async fn run(&self, spec: TaskSpec, mut env: TaskEnv) -> TaskReport {
        let call = self.prepare(Some(&spec.params), &mut env);
        let report = self.runner.run(spec, env).await;
        call.check("run");
        call.secrets
            .check_json("the task report", &report.to_json());
        report
    }

    /// [`Runner::hook`], then the answer and the log lines scanned.
    pub async fn hook(
        &self,
        method: &str,
        args: Value,
        mut env: TaskEnv,
    ) -> wasmtime::Result<Result<Value, TaskError>> {
        let call = self.prepare(None, &mut env);
        let answer = self.runner.hook(method, args, env).await;
        call.check("hook");
        check_answer(&call.secrets, "the hook's answer", &answer);
        if let Ok(Ok(value)) = &answer {
            call.secrets.check_json("the hook's answer", value);
        }
        answer
    }

    /// [`Runner::validate`], then its answer scanned.
    pub async fn validate(
        &self,
        params: &Map<String, Value>,
    ) -> wasmtime::Result<Result<(), TaskError>> {
        self.validate_cancellable(params, &CancelToken::new()).await
    }

    /// [`Runner::validate_cancellable`], then its answer scanned.
    pub async fn validate_cancellable(
        &self,
        params: &Map<String, Value>,
        cancel: &CancelToken,
    ) -> wasmtime::Result<Result<(), TaskError>> {
        let secrets = Secrets::new();
        secrets.extend_from(&self.secrets);
        secrets.add_task_params(params);
        let answer = self.runner.validate_cancellable(params, cancel).await;
        check_answer(&secrets, "validate's answer", &answer);
        answer
    }

    /// [`Runner::explain`], then its answer scanned.
    pub async fn explain(
        &self,
        spec: &TaskSpec,
        env: &TaskEnv,
    ) -> wasmtime::Result<Result<aci_host::grant::Grant, TaskError>> {
        let secrets = Secrets::new();
        secrets.extend_from(&self.secrets);
        secrets.add_task_params(&spec.params);
        if let HostEnv::Fixed(vars) = &env.host_env {
            secrets.add_environment_map(vars);
        }
        let answer = self.runner.explain(spec, env).await;
        check_answer(&secrets, "explain's answer", &answer);
        answer
    }
}

/// Scans a call's answer: the value, the task error or the trap, as text.
fn check_answer<T: std::fmt::Debug>(
    secrets: &Secrets,
    place: &str,
    answer: &wasmtime::Result<Result<T, TaskError>>,
) {
    let text = match answer {
        Ok(Ok(value)) => format!("{value:?}"),
        Ok(Err(e)) => format!("{e:?}\n{e}"),
        Err(trap) => format!("{trap:?}"),
    };
    secrets.check_text(place, &text);
}

/// One call being scanned.
struct Call {
    secrets: Secrets,
    tee: Arc<Tee>,
}

impl Call {
    /// Scans the log lines of each task of the call, as one stream per task.
    fn check(&self, what: &str) {
        let lines = self
            .tee
            .lines
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let mut tasks: Vec<&str> = lines.iter().map(|(t, _)| t.as_str()).collect();
        tasks.sort_unstable();
        tasks.dedup();
        for task in tasks {
            let place = format!("the log lines of {what} `{task}`");
            let stream = lines
                .iter()
                .filter(|(t, _)| t == task)
                .map(|(_, m)| m.as_str());
            self.secrets.check_lines(&place, stream);
        }
    }
}

/// A connection provider that adds the secrets of each connection it hands out.
struct Recording {
    inner: Arc<dyn ConnectionProvider>,
    secrets: Secrets,
}

impl ConnectionProvider for Recording {
    fn connection(&self, conn_id: &str) -> Result<Connection, ConnectionLookupError> {
        let c = self.inner.connection(conn_id)?;
        self.secrets.add_connection(&c);
        Ok(c)
    }
}

/// A log sink that keeps each line for the scan and passes it on.
struct Tee {
    inner: Arc<dyn LogSink>,
    lines: Mutex<Vec<(String, String)>>,
}

impl LogSink for Tee {
    fn log(&self, task_id: &str, level: LogLevel, message: &str) {
        self.lines
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((task_id.to_string(), message.to_string()));
        self.inner.log(task_id, level, message);
    }
}
