//! Fault-matrix rows end to end (README, "Reliability and security"): the guest trapping
//! mid-run, the emulator restarting mid-run, tokens expiring mid-run, answers slower than
//! the request timeout, and `kill -9` of `aci-host run` followed by a rerun of the same task
//! instance. Each asserts the outcome, the error class and that no container group is left.

use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use aci_e2e::cli::{aci_host, emulator_conn};
use aci_e2e::{
    quick_emulator, wait_until, CaptureSink, Faults, Harness, Runner, RunnerOptions,
    StaticConnections, TaskEnv, TaskRun, TaskSpec,
};
use aci_host::engine::EngineOptions;
use aci_host::runner::{ErrorKind, EXIT_OTHER};
use serde_json::{json, Value};

use crate::operator::{failed, fast, logged, messages, output, run, sh, success};

/// A task `name` running `script` with `polling_interval = 1`.
fn task(name: &str, script: &str, extra: Value) -> TaskSpec {
    let mut extra = fast(extra);
    extra["command"] = sh(script);
    TaskSpec::new(name, Harness::params(name, extra))
}

/// Requests the emulator answered with a connection reset.
fn resets(h: &Harness) -> u64 {
    let stats = h.stats();
    stats.requests.values().filter_map(|m| m.get(&0)).sum()
}

/// Requests the emulator answered `401`.
fn unauthorized(h: &Harness) -> u64 {
    let stats = h.stats();
    stats.requests.values().filter_map(|m| m.get(&401)).sum()
}

/// No group and no container process is left (bounded wait: ARM deletes asynchronously).
async fn nothing_left(h: &Harness) -> bool {
    h.emulator.wait_until_empty(Duration::from_secs(20)).await
}

/// The plugin's warnings that an attempt timed out and is retried.
fn timeout_retries(r: &TaskRun) -> usize {
    messages(r)
        .iter()
        .filter(|m| m.contains("timed out") && m.contains("retrying in"))
        .count()
}

/// A task environment whose `azure_default` connection (to the emulator) has `extras`.
fn env_with_extras(h: &Harness, extras: Value) -> (TaskEnv, Arc<CaptureSink>) {
    let mut conn = h.connection("azure_default");
    for (k, v) in extras.as_object().unwrap() {
        conn.extra.insert(k.clone(), v.clone());
    }
    h.env_with(Arc::new(StaticConnections(
        [("azure_default".to_string(), conn)].into(),
    )))
}

/// The built-in plugin in an engine that lets it grow its memory to 8 MiB only.
fn small_memory_runner() -> Runner {
    Runner::new(RunnerOptions {
        engine: EngineOptions {
            max_memory_bytes: 8 << 20,
            pooling: false,
            ..aci_e2e::engine_options()
        },
        ..RunnerOptions::default()
    })
    .expect("load the built-in component")
}

/// The guest traps mid-run (its memory bound: a 4 MB log answer and its parse do not fit
/// in 8 MiB): the task fails as `Internal`, and the host runs `on-kill` in a fresh instance,
/// which deletes the group even with `remove_on_error = false`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guest_trap_mid_run_still_deletes_the_group() {
    let h = Harness::start().await;
    let runner = small_memory_runner();
    let (env, logs) = h.env();
    let script = "echo up; yes 0123456789abcdefghijklmnopqrstuvwxyz | head -c 4000000; sleep 60";
    let spec = task("trapped", script, json!({"remove_on_error": false}));
    let r = TaskRun {
        report: runner.run(spec, env).await,
        logs,
    };
    failed(&r.report, ErrorKind::Internal, None);
    assert_eq!(r.report.exit_status, EXIT_OTHER);
    let error = r.report.error.as_deref().unwrap_or_default();
    assert!(error.starts_with("plugin trapped"), "{error}");
    assert!(logged(&r, "Container group started"), "{:?}", messages(&r));
    assert!(
        logged(&r, "Deleting container group"),
        "on-kill deleted it: {:?}",
        messages(&r)
    );
    assert!(nothing_left(&h).await, "left: {:?}", h.stats());
}

/// The emulator restarts mid-run (connections reset, every request reset while it is down,
/// then the same state answers): the task retries through it, ends right, shows each line
/// once and cleans up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_emulator_restart_mid_run_is_ridden_out() {
    let h = Harness::start().await;
    let (env, logs) = h.env();
    let spec = task("restarted", "echo up; sleep 3; echo done", json!({}));
    let runner = h.runner.clone();
    let t = tokio::spawn(async move { runner.run(spec, env).await });
    let up = wait_until(Duration::from_secs(30), || {
        logs.messages().iter().any(|m| m == "up")
    })
    .await;
    assert!(up, "the container ran");
    // Down until the task has met the restart twice (a request and its retry), so the
    // test does not depend on when the task polls.
    h.emulator.restart(Duration::from_secs(3600));
    let met = wait_until(Duration::from_secs(30), || resets(&h) >= 2).await;
    h.emulator.end_restart();
    assert!(met, "the task never met the restart");
    let r = TaskRun {
        report: t.await.unwrap(),
        logs,
    };
    success(&r.report);
    assert_eq!(output(&r, "up").len(), 1, "{:?}", messages(&r));
    assert_eq!(output(&r, "done").len(), 1, "{:?}", messages(&r));
    assert_eq!(h.stats().count_all("ContainerGroups_CreateOrUpdate"), 1);
    assert!(nothing_left(&h).await, "left: {:?}", h.stats());
}

/// Tokens expire mid-run (each is accepted for three ARM requests, then refused as
/// expired): every `401` is followed by exactly one new token, and the task succeeds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_expiring_mid_run_are_refreshed() {
    let h = Harness::start().await;
    h.emulator.set_faults(Faults {
        token_uses: Some(3),
        ..Faults::default()
    });
    let r = run(
        &h,
        "expiring",
        json!({"command": sh("echo up; sleep 2; echo done")}),
    )
    .await;
    success(&r.report);
    let rejected = unauthorized(&h);
    assert!(rejected >= 2, "tokens expired mid-run: {:?}", h.stats());
    assert_eq!(h.stats().count("Token_Issue", 200), 1 + rejected);
    assert_eq!(
        messages(&r)
            .iter()
            .filter(|m| m.contains("ARM rejected the access token (ExpiredAuthenticationToken)"))
            .count() as u64,
        rejected
    );
    assert_eq!(output(&r, "done").len(), 1);
    assert!(nothing_left(&h).await, "left: {:?}", h.stats());
}

/// Answers slower than the request timeout (`request_timeout_ms` = 300, two answers delayed
/// by 1.5 s): each attempt times out, is retried, and the task succeeds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_slower_than_the_request_timeout_are_retried() {
    let h = Harness::start().await;
    h.emulator.set_faults(Faults {
        latency: Some(Duration::from_millis(1500)),
        latency_burst: 2,
        ..Faults::default()
    });
    let (env, logs) = env_with_extras(
        &h,
        json!({"request_timeout_ms": 300, "retry_backoff_ms": 50}),
    );
    let spec = task("slow", "echo up", json!({}));
    let r = h.run_task_with(spec, env, logs).await;
    success(&r.report);
    assert_eq!(timeout_retries(&r), 2, "{:?}", messages(&r));
    assert!(nothing_left(&h).await, "left: {:?}", h.stats());
}

/// Every answer slower than the request timeout: the retries stop at their bound
/// (`max_retries` = 1: two attempts) and the task fails as a `Remote` error naming the
/// timeout, without hanging and without creating anything.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_always_slower_than_the_request_timeout_fail_the_task() {
    let h = Harness::start().await;
    h.emulator.set_faults(Faults {
        latency: Some(Duration::from_millis(1500)),
        ..Faults::default()
    });
    let (env, logs) = env_with_extras(
        &h,
        json!({"request_timeout_ms": 300, "retry_backoff_ms": 50, "max_retries": 1}),
    );
    let spec = task("too-slow", "echo up", json!({}));
    let r = h.run_task_with(spec, env, logs).await;
    failed(&r.report, ErrorKind::Remote, None);
    assert_eq!(r.report.exit_status, EXIT_OTHER);
    let error = r.report.error.as_deref().unwrap_or_default();
    assert!(
        error.contains("Timeout") && error.contains("gave up after 2 attempts"),
        "{error}"
    );
    // Two attempts of the first GET: one retry, then the task gave up.
    assert_eq!(timeout_retries(&r), 1, "{:?}", messages(&r));
    assert_eq!(h.stats().count_all("ContainerGroups_CreateOrUpdate"), 0);
    assert!(nothing_left(&h).await, "left: {:?}", h.stats());
}

/// A task file for the same task instance every time (dag, task and run ids fixed) whose
/// container prints `early`, waits (bounded) for the file `go`, then prints `late`.
fn rerun_task(dir: &std::path::Path) -> std::path::PathBuf {
    let go = dir.join("go");
    let script = format!(
        "echo early; for i in $(seq 600); do [ -f {} ] && break; sleep 0.1; done; echo late",
        go.display()
    );
    let body = format!(
        "task_id = \"rerun\"\ndag_id = \"nightly\"\nrun_id = \"manual__kill-9\"\n[params]\n\
         ci_conn_id = \"azure_default\"\nresource_group = \"rg\"\nname = \"rerun-after-kill\"\n\
         image = \"busybox\"\nregion = \"westeurope\"\nfail_if_exists = false\npolling_interval = 1\n\
         command = [\"sh\", \"-c\", {}]\n",
        json!(script)
    );
    let path = dir.join("rerun.toml");
    std::fs::write(&path, body).unwrap();
    path
}

/// `kill -9` of `aci-host run` mid-run, then a rerun of the same task instance (same state
/// dir, same dag/task/run ids): the rerun re-attaches to the running group (no second PUT),
/// waits for it to end, succeeds and deletes it; zero groups are left.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rerun_after_kill_9_reattaches_and_cleans_up() {
    let emulator = quick_emulator().await;
    let conn = emulator_conn(&emulator);
    let state = tempfile::tempdir().unwrap();
    let file = rerun_task(state.path());
    crate::sweep::kill_9_mid_run(&emulator, &file, state.path(), &conn).await;
    assert_eq!(emulator.stats().live_groups.len(), 1, "left running");

    let mut second = aci_host(&["run", file.to_str().unwrap()], state.path())
        .env("AIRFLOW_CONN_AZURE_DEFAULT", &conn)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = crate::cli::collect_lines(second.stderr.take().unwrap());
    let attached = wait_until(Duration::from_secs(60), || {
        stderr
            .lock()
            .unwrap()
            .contains("is already running for this task instance")
    })
    .await;
    // Let the container finish either way, so that a failure below does not wait on it.
    std::fs::write(state.path().join("go"), "").unwrap();
    assert!(attached, "{}", stderr.lock().unwrap());
    let (secrets, place) = (second.secrets().clone(), second.place().to_string());
    let out = tokio::task::spawn_blocking(move || second.finish(Duration::from_secs(60)))
        .await
        .unwrap();
    let text = stderr.lock().unwrap().clone();
    secrets.check_text(&place, &text);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("late"), "{text}");
    let stats = emulator.stats();
    assert_eq!(
        stats.count_all("ContainerGroups_CreateOrUpdate"),
        1,
        "the rerun did not create the group again"
    );
    let gone = emulator.wait_until_empty(Duration::from_secs(30)).await;
    assert!(gone, "left: {:?}", emulator.stats());
    emulator.shutdown().await;
}
