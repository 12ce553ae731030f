//! `aci-host run`: render, validate and execute tasks, several at once.
//!
//! Every task runs on the one shared [`Runner`] (one engine, one compiled
//! component, pooled instances); at most `--max-parallel` tasks hold a slot at
//! a time (rendering included). Results come out in the order the files were
//! given, whatever order the tasks finish in. Each task gets exactly the grant
//! its operator declares (plus `--allow-host`; `-v` shows it), and is refused
//! when that goes beyond `--grant FILE`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::bindings::LogLevel;
use crate::connections::ConnectionResolver;
use crate::grant::Grant;
use crate::policy::AllowRule;
use crate::runner::{ErrorKind, Runner, TaskEnv, TaskReport, TaskState};
use crate::runtime::{CancelToken, ConnectionProvider, LogSink};
use crate::xcom_store::{XcomStore, RETURN_VALUE_KEY};

use super::args::RunArgs;
use super::inputs::{
    allow_rules, expand_tasks, open_xcom, parse_logical_date, pinned_grant, resolver,
};
use super::prepare::{prepare, Overrides};
use super::signals::spawn_signal_handler;
use super::status::{human_duration, summary_table, Board, TaskSink, Verbosity};
use super::Ui;

/// What every task of one `run` shares.
struct Shared {
    runner: Arc<Runner>,
    connections: Arc<ConnectionResolver>,
    plugin_connections: Arc<dyn ConnectionProvider>,
    xcom: Arc<XcomStore>,
    allow: Vec<AllowRule>,
    pinned: Option<Grant>,
    overrides: Overrides,
    cancel: CancelToken,
    cancel_grace: Duration,
    max_requests_per_task: usize,
    max_xcom_bytes: usize,
    board: Arc<Board>,
    ui: Ui,
    prefix: bool,
}

/// The task file's stem: the task's name until its file is loaded.
fn label_of(path: &Path) -> String {
    path.file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("task")
        .to_string()
}

/// How many tasks `run` runs at once: `--max-parallel`, but never more than
/// there are task files (an unreadable task list counts as one).
pub(super) fn concurrency(args: &RunArgs) -> usize {
    let files = expand_tasks(&args.tasks).map_or(1, |f| f.len());
    args.max_parallel.min(files).max(1)
}

/// What `run` reads before any task starts.
struct Inputs {
    files: Vec<PathBuf>,
    connections: Arc<ConnectionResolver>,
    allow: Vec<AllowRule>,
    pinned: Option<Grant>,
    xcom: Arc<XcomStore>,
    logical_date: Option<chrono::DateTime<chrono::Utc>>,
}

fn inputs(args: &RunArgs) -> Result<Inputs, String> {
    if args.max_parallel == 0 {
        return Err("--max-parallel must be at least 1".into());
    }
    if args.max_requests_per_task == 0 {
        return Err("--max-requests-per-task must be at least 1".into());
    }
    let files = expand_tasks(&args.tasks)?;
    if files.is_empty() {
        return Err("no task files given".to_string());
    }
    Ok(Inputs {
        files,
        connections: Arc::new(resolver(&args.conn)?),
        allow: allow_rules(&args.conn)?,
        pinned: pinned_grant(&args.conn)?,
        xcom: open_xcom(args.state_dir.as_deref())?,
        logical_date: parse_logical_date(args.logical_date.as_deref())?,
    })
}

/// Local mode (`--local`): one in-process ARM emulator for every task of this
/// invocation, and the connections that point the plugin at it.
#[cfg(feature = "local")]
mod local {
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use aci_emulator::{Emulator, EmulatorConfig};

    use crate::local::LocalConnections;
    use crate::runtime::ConnectionProvider;

    use super::RunArgs;

    /// The running emulator, if any; shared with the second-signal exit path.
    pub(super) type Slot = Arc<Mutex<Option<Emulator>>>;

    /// Starts the emulator when `--local` asks for it.
    pub(super) async fn start(args: &RunArgs) -> Result<Slot, String> {
        let emulator = if args.local {
            let config = EmulatorConfig {
                provision_delay: Duration::from_secs_f64(args.local_provision_delay.max(0.0)),
                ..EmulatorConfig::default()
            };
            let e = Emulator::start(config)
                .await
                .map_err(|e| format!("starting the local emulator: {e}"))?;
            tracing::info!("local mode: ARM emulator at {}", e.base_url());
            Some(e)
        } else {
            None
        };
        Ok(Arc::new(Mutex::new(emulator)))
    }

    /// The emulator's connections in local mode, else `otherwise`.
    pub(super) fn connections(
        slot: &Slot,
        otherwise: Arc<dyn ConnectionProvider>,
    ) -> Arc<dyn ConnectionProvider> {
        match slot.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
            Some(e) => Arc::new(LocalConnections::of(e)),
            None => otherwise,
        }
    }

    /// Stops the emulator: now (second signal: this kills its container
    /// processes, which would outlive us, and removes its directories) or
    /// cleanly at the end.
    pub(super) fn stop_now(slot: &Slot) {
        drop(slot.lock().unwrap_or_else(|e| e.into_inner()).take());
    }

    /// Shuts the emulator down at the end of the run.
    pub(super) async fn shutdown(slot: &Slot) {
        let emulator = slot.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(e) = emulator {
            e.shutdown().await;
        }
    }
}

/// Local mode in a build without the emulator (no `local` feature): `--local`
/// is refused, everything else runs as usual.
#[cfg(not(feature = "local"))]
mod local {
    use std::sync::Arc;

    use crate::runtime::ConnectionProvider;

    use super::RunArgs;

    /// No emulator can run.
    #[derive(Clone)]
    pub(super) struct Slot;

    /// Refuses `--local`.
    pub(super) async fn start(args: &RunArgs) -> Result<Slot, String> {
        match args.local {
            true => Err(
                "--local needs the built-in ARM emulator, but this aci-host was \
                 built without the `local` feature (rebuild it with default features)"
                    .into(),
            ),
            false => Ok(Slot),
        }
    }

    /// Always `otherwise`.
    pub(super) fn connections(
        _: &Slot,
        otherwise: Arc<dyn ConnectionProvider>,
    ) -> Arc<dyn ConnectionProvider> {
        otherwise
    }

    /// Nothing to stop.
    pub(super) fn stop_now(_: &Slot) {
        // No emulator was started.
    }

    /// Nothing to shut down.
    pub(super) async fn shutdown(_: &Slot) {
        // No emulator was started.
    }
}

/// Runs the tasks; returns the exit status of the first task (in the given
/// order) that did not succeed, or `0`.
pub async fn run_command(runner: Arc<Runner>, args: RunArgs, ui: &Ui) -> i32 {
    let inputs = match inputs(&args) {
        Ok(i) => i,
        Err(e) => return ui.fail(&e),
    };
    let emulator = match local::start(&args).await {
        Ok(e) => e,
        Err(e) => return ui.fail(&e),
    };
    let live = ui.console.is_live() && ui.verbosity != Verbosity::Quiet;
    let labels = inputs.files.iter().map(|f| label_of(f)).collect();
    let board = Arc::new(Board::new(ui.console.clone(), labels, live));
    let cancel = CancelToken::new();
    let slot = emulator.clone();
    let on_exit = Box::new(move || local::stop_now(&slot));
    spawn_signal_handler(
        cancel.clone(),
        ui.console.clone(),
        Some(board.clone()),
        "cancelling: deleting container groups (press Ctrl-C again to exit at once)",
        on_exit,
    );
    let files = inputs.files.clone();
    let shared = Arc::new(Shared {
        runner,
        plugin_connections: local::connections(&emulator, inputs.connections.clone()),
        connections: inputs.connections,
        xcom: inputs.xcom,
        allow: inputs.allow,
        pinned: inputs.pinned,
        overrides: Overrides {
            run_id: args.run_id.clone(),
            logical_date: inputs.logical_date,
            try_number: args.try_number,
            templates: args.templates.limits(),
        },
        cancel,
        cancel_grace: Duration::from_secs(args.cancel_grace),
        max_requests_per_task: args.max_requests_per_task,
        max_xcom_bytes: args.max_xcom_bytes,
        board,
        ui: ui.clone(),
        prefix: files.len() > 1,
    });
    let (dispatcher, receivers) = dispatch(shared.clone(), files.clone(), concurrency(&args));
    let reports = collect(&shared, &files, receivers, args.json).await;
    dispatcher.abort();
    ui.console.clear_status();
    local::shutdown(&emulator).await;
    print_summary(ui, &reports);
    reports
        .iter()
        .map(|(r, _)| r.exit_status)
        .find(|s| *s != 0)
        .unwrap_or(0)
}

/// What one task sends back: its report and how long it took.
type Finished = (TaskReport, Duration);

/// Starts the tasks in the order given, at most `max_parallel` at a time;
/// each reports back on its own channel so results can be read in that order.
fn dispatch(
    shared: Arc<Shared>,
    files: Vec<PathBuf>,
    max_parallel: usize,
) -> (
    tokio::task::JoinHandle<()>,
    Vec<tokio::sync::oneshot::Receiver<Finished>>,
) {
    let semaphore = Arc::new(tokio::sync::Semaphore::new(max_parallel));
    let (senders, receivers): (Vec<_>, Vec<_>) = files
        .iter()
        .map(|_| tokio::sync::oneshot::channel())
        .unzip();
    let dispatcher = tokio::spawn(async move {
        for ((index, path), tx) in files.into_iter().enumerate().zip(senders) {
            // The semaphore is never closed, so this only waits for a slot.
            let Ok(permit) = semaphore.clone().acquire_owned().await else {
                break;
            };
            let shared = shared.clone();
            tokio::spawn(async move {
                let result = run_one(&shared, index, &path).await;
                drop(permit);
                let _ = tx.send(result);
            });
        }
    });
    (dispatcher, receivers)
}

/// The results in the given order, each printed (with `--json`) as soon as it
/// and all before it are known.
async fn collect(
    shared: &Shared,
    files: &[PathBuf],
    receivers: Vec<tokio::sync::oneshot::Receiver<Finished>>,
    json: bool,
) -> Vec<Finished> {
    let mut reports = Vec::with_capacity(receivers.len());
    for (index, rx) in receivers.into_iter().enumerate() {
        let (report, took) = rx.await.unwrap_or_else(|_| {
            // The task's future was dropped without an answer: it panicked.
            shared.board.done(index, false);
            let label = label_of(&files[index]);
            let report =
                TaskReport::not_started(&label, ErrorKind::Internal, "the task panicked".into());
            (report, Duration::ZERO)
        });
        if json {
            shared.ui.console.out_line(&report.to_json().to_string());
        }
        reports.push((report, took));
    }
    reports
}

/// One task: its outcome line; several: the summary table.
fn print_summary(ui: &Ui, reports: &[Finished]) {
    if let [(r, took)] = reports {
        let prefix = if r.state == TaskState::Success {
            ""
        } else {
            "error: "
        };
        ui.console
            .line(&format!("{prefix}{} {}", r.task_id, outcome(r, *took)));
    } else {
        ui.console.line(&summary_table(reports));
    }
}

/// `succeeded in 1.0s` / `failed after 1.0s (exit status 3): <error>`.
fn outcome(r: &TaskReport, took: Duration) -> String {
    match r.state {
        TaskState::Success => format!("succeeded in {}", human_duration(took)),
        TaskState::Failed => {
            format!(
                "failed after {} (exit status {}): {}",
                human_duration(took),
                r.exit_status,
                r.error.as_deref().unwrap_or("unknown error")
            )
        }
    }
}

/// Renders and runs one task file, stores its XComs, and reports.
async fn run_one(shared: &Shared, index: usize, path: &Path) -> Finished {
    let started = Instant::now();
    let board = &shared.board;
    let label = label_of(path);
    if shared.cancel.is_cancelled() {
        board.done(index, false);
        return (
            TaskReport::cancelled_before_start(&label),
            started.elapsed(),
        );
    }
    board.rendering(index);
    let sink = Arc::new(TaskSink {
        index,
        board: Some(board.clone()),
        console: shared.ui.console.clone(),
        prefix: shared.prefix,
        verbosity: shared.ui.verbosity,
    });
    let prepared = match prepare(
        &shared.runner,
        path,
        &shared.connections,
        &shared.xcom,
        &shared.overrides,
    )
    .await
    {
        Ok(p) => p,
        Err(e) => {
            let report =
                TaskReport::not_started(e.task_id.as_deref().unwrap_or(&label), e.kind, e.message);
            return finish(shared, index, &sink, report, started);
        }
    };
    let ctx = prepared.spec.context.clone();
    board.running(index, &ctx.task_id);
    let mut env = TaskEnv::new(shared.plugin_connections.clone());
    env.log = sink.clone();
    env.masker = prepared.masker.clone();
    env.cancel = shared.cancel.clone();
    env.allow_hosts.extend(shared.allow.iter().cloned());
    env.pinned_grant = shared.pinned.clone();
    env.cancel_grace = shared.cancel_grace;
    env.max_requests_in_flight = shared.max_requests_per_task;
    env.limits.max_xcom_total_bytes = shared.max_xcom_bytes;
    let report = shared.runner.run(prepared.spec, env).await;
    // XComs go to the local store so later tasks can `ti.xcom_pull` them.
    let xcom = &shared.xcom;
    let mut stored: Vec<(&str, &serde_json::Value)> =
        report.xcom.iter().map(|(k, v)| (k.as_str(), v)).collect();
    if report.state == TaskState::Success {
        stored.push((RETURN_VALUE_KEY, &report.return_value));
    }
    for (key, value) in stored {
        if let Err(e) = xcom.push(&ctx.dag_id, &ctx.run_id, &ctx.task_id, key, value) {
            sink.log(
                &ctx.task_id,
                LogLevel::Warning,
                &format!("could not store XCom `{key}`: {e}"),
            );
        }
    }
    finish(shared, index, &sink, report, started)
}

/// Marks the task done; with several tasks on screen, says so in its log.
fn finish(
    shared: &Shared,
    index: usize,
    sink: &TaskSink,
    report: TaskReport,
    started: Instant,
) -> Finished {
    let took = started.elapsed();
    shared.board.done(index, report.state == TaskState::Success);
    if shared.prefix {
        let level = if report.state == TaskState::Success {
            LogLevel::Info
        } else {
            LogLevel::Error
        };
        sink.log(&report.task_id, level, &outcome(&report, took));
    }
    (report, took)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_say_what_happened() {
        let mut r = TaskReport::not_started("t", ErrorKind::InvalidParams, "bad name".into());
        assert_eq!(
            outcome(&r, Duration::from_millis(1500)),
            "failed after 1.5s (exit status 125): bad name"
        );
        r.state = TaskState::Success;
        assert_eq!(outcome(&r, Duration::from_secs(61)), "succeeded in 1m01s");
        assert_eq!(label_of(Path::new("dir/hello.toml")), "hello");
        assert_eq!(crate::runner::EXIT_OTHER, 125);
    }
}
