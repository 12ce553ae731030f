//! The operator end to end: the real component in the real host against the
//! emulator, whose containers are real local processes.
//!
//! The first part ports Airflow's 30 operator tests
//! (`operators/test_container_instances.py`, see airflow-aci.md §4.1; the
//! deferrable ones become "one host waits on many groups"); the second covers
//! what Airflow gets wrong or lacks: logs exactly once, exit codes, external
//! deletion, Unhealthy loops, provisioning failures, throttling, timeouts,
//! cancellation and re-attach.
//!
//! Most tests pass `polling_interval = 1` (Airflow's parameter, which caps the
//! adaptive interval) so they finish quickly; the default schedule is
//! measured by the benchmark and by the plugin's simulation tests.

use std::time::Duration;

use aci_e2e::{reqlog, wait_until, Faults, Harness, TaskRun, TaskSpec, TaskState};
use aci_host::runner::{ErrorKind, TaskReport};
use serde_json::{json, Value};

const RID: &str = "/subscriptions/00000000-0000-0000-0000-00000000000/resourceGroups/my_rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/my_identity";
const SUBNET: &str = "/subscriptions/00000000-0000-0000-0000-00000000bbbb/resourceGroups/e2e-rg/providers/Microsoft.Network/virtualNetworks/vnet/subnets/default";

/// `extra` with `polling_interval = 1` unless it sets one.
pub(crate) fn fast(extra: Value) -> Value {
    let mut v = extra;
    if v.get("polling_interval").is_none() {
        v["polling_interval"] = json!(1.0);
    }
    v
}

/// A shell command (exec form, `sh -c`).
pub(crate) fn sh(script: &str) -> Value {
    json!(["sh", "-c", script])
}

pub(crate) async fn run(h: &Harness, name: &str, extra: Value) -> TaskRun {
    h.run_task(name, fast(extra)).await
}

fn count(h: &Harness, op: &str) -> u64 {
    h.stats().count_all(op)
}

fn puts(h: &Harness) -> u64 {
    count(h, "ContainerGroups_CreateOrUpdate")
}

fn deletes(h: &Harness) -> u64 {
    count(h, "ContainerGroups_Delete")
}

/// ARM reads of the group and its logs.
fn reads(h: &Harness) -> u64 {
    count(h, "ContainerGroups_Get") + count(h, "Containers_ListLogs")
}

/// The group as ARM returns it, if it exists.
async fn group(h: &Harness, name: &str) -> Option<Value> {
    h.hook("get-state", json!({"target": Harness::group(name)}))
        .await
        .ok()
}

pub(crate) fn alive(h: &Harness, name: &str) -> bool {
    h.stats()
        .live_groups
        .iter()
        .any(|id| id.ends_with(&format!("/containerGroups/{name}")))
}

/// The group is gone: its DELETE was accepted and, the emulator deleting asynchronously as
/// ARM does (`202`, `Deleting`, then `404`), its deletion finished (bounded wait).
pub(crate) async fn gone(h: &Harness, name: &str) -> bool {
    wait_until(Duration::from_secs(10), || !alive(h, name)).await
}

pub(crate) fn success(r: &TaskReport) {
    assert_eq!(
        r.state,
        TaskState::Success,
        "task failed: {:?} ({:?})",
        r.error,
        r.reason
    );
    assert_eq!(r.exit_code, Some(0));
    assert_eq!(r.return_value, json!(0));
    assert_eq!(r.exit_status, 0);
}

pub(crate) fn failed(r: &TaskReport, kind: ErrorKind, reason: Option<&str>) {
    assert_eq!(r.state, TaskState::Failed, "task succeeded");
    assert_eq!(r.error_kind.as_ref(), Some(&kind), "error: {:?}", r.error);
    assert_eq!(r.reason.as_deref(), reason, "error: {:?}", r.error);
}

pub(crate) fn messages(run: &TaskRun) -> Vec<String> {
    run.logs.messages()
}

pub(crate) fn logged(run: &TaskRun, needle: &str) -> bool {
    messages(run).iter().any(|m| m.contains(needle))
}

/// The group's `properties`.
fn props(g: &Value) -> &Value {
    &g["properties"]
}

/// Runs a task with `remove_on_success = false` and returns the kept group.
async fn kept_group(h: &Harness, name: &str, extra: Value) -> Value {
    let mut extra = extra;
    extra["remove_on_success"] = json!(false);
    if extra.get("command").is_none() {
        extra["command"] = sh("exit 0");
    }
    let r = run(h, name, extra).await;
    success(&r.report);
    group(h, name).await.expect("the group was kept")
}

// ---------------------------------------------------------------------------
// Airflow's operator tests (airflow-aci.md §4.1)
// ---------------------------------------------------------------------------

// 1. test_execute: the group is built from the params; success deletes it
// whatever remove_on_error says.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t01_execute() {
    let h = Harness::start().await;
    let g = kept_group(&h, "container-name", json!({"image": "container-image"})).await;
    assert_eq!(g["location"], "westeurope");
    assert!(props(&g).get("imageRegistryCredentials").is_none());
    assert_eq!(props(&g)["restartPolicy"], "Never");
    assert_eq!(props(&g)["osType"], "Linux");
    assert_eq!(props(&g)["containers"][0]["name"], "container-name");
    assert_eq!(
        props(&g)["containers"][0]["properties"]["image"],
        "container-image"
    );

    let h = Harness::start().await;
    let r = run(
        &h,
        "container-name",
        json!({"command": sh("exit 0"), "remove_on_error": false}),
    )
    .await;
    success(&r.report);
    assert_eq!(puts(&h), 1);
    assert_eq!(deletes(&h), 1);
    assert!(gone(&h, "container-name").await);
}

// 2. test_execute_with_failures: a failing container fails the task and is deleted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t02_execute_with_failures() {
    let h = Harness::start().await;
    let r = run(&h, "fails", json!({"command": sh("exit 1")})).await;
    failed(&r.report, ErrorKind::Failed, Some("nonzero-exit"));
    assert_eq!(
        r.report.error.as_deref(),
        Some("Container had a non-zero exit code, 1")
    );
    assert_eq!(r.report.exit_status, 1);
    assert_eq!(deletes(&h), 1);
    assert!(gone(&h, "fails").await);
}

// 3. test_execute_with_failures_without_removal[Terminated | Unhealthy].
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t03_execute_with_failures_without_removal() {
    let h = Harness::start().await;
    let r = run(
        &h,
        "terminated",
        json!({"command": sh("exit 1"), "remove_on_error": false}),
    )
    .await;
    failed(&r.report, ErrorKind::Failed, Some("nonzero-exit"));
    assert_eq!(deletes(&h), 0);
    assert!(alive(&h, "terminated"));

    let r = run(
        &h,
        "unhealthy",
        json!({"image": "busybox-unhealthy", "command": sh("sleep 30"), "remove_on_error": false}),
    )
    .await;
    // The emulator reports an `Evicted` event with the Unhealthy state.
    failed(&r.report, ErrorKind::Failed, Some("evicted"));
    assert_eq!(deletes(&h), 0);
    assert!(alive(&h, "unhealthy"));
}

// 4. test_execute_with_tags: user tags plus the task-instance tags.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t04_execute_with_tags() {
    let h = Harness::start().await;
    let g = kept_group(&h, "tagged", json!({"tags": {"testKey": "testValue"}})).await;
    let tags = &g["tags"];
    assert_eq!(tags["testKey"], "testValue");
    assert_eq!(tags["aci-runner-task"], "tagged");
    assert_eq!(tags["aci-runner-try"], "1");
    assert!(tags["aci-runner-run"]
        .as_str()
        .unwrap()
        .starts_with("manual__"));
    assert!(tags["aci-runner-creator"]
        .as_str()
        .unwrap()
        .starts_with("aci-plugin/"));
}

// 5. test_execute_with_messages_logs: events and container output reach the task log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t05_execute_with_messages_logs() {
    let h = Harness::start().await;
    let r = run(
        &h,
        "messages",
        json!({"command": sh("echo test; sleep 1.5; echo logs")}),
    )
    .await;
    success(&r.report);
    let m = messages(&r);
    assert_eq!(m.iter().filter(|l| *l == "test").count(), 1);
    assert_eq!(m.iter().filter(|l| *l == "logs").count(), 1);
    assert!(logged(&r, "Event Started: Started container"), "{m:?}");
    assert!(
        logged(&r, "Container group state changed to Running"),
        "{m:?}"
    );
    assert_eq!((puts(&h), deletes(&h)), (1, 1));
}

// 6. test_execute_with_messages_all_logs_in_xcom_logs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t06_all_logs_in_xcom() {
    let h = Harness::start().await;
    let r = run(
        &h,
        "xcom-all",
        json!({"command": sh("echo test; echo logs"), "xcom_all": true}),
    )
    .await;
    success(&r.report);
    assert_eq!(
        r.report.xcom.get("logs"),
        Some(&json!(["test\n", "logs\n"]))
    );
}

// 7. test_execute_with_messages_last_log_in_xcom_logs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t07_last_log_in_xcom() {
    let h = Harness::start().await;
    let r = run(
        &h,
        "xcom-last",
        json!({"command": sh("echo test; echo logs"), "xcom_all": false}),
    )
    .await;
    success(&r.report);
    assert_eq!(r.report.xcom.get("logs"), Some(&json!(["logs\n"])));
    // xcom_all = None pushes nothing.
    let r = run(&h, "xcom-none", json!({"command": sh("echo test")})).await;
    success(&r.report);
    assert!(!r.report.xcom.contains_key("logs"));
}

// 8. test_name_checker: Airflow's messages, before any ARM request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t08_name_checker() {
    let h = Harness::start().await;
    let pattern = "ACI name must match regex [a-z0-9]([-a-z0-9]*[a-z0-9])? (like \"my-name\")";
    for bad in [
        "test_underscore",
        "name-ending-with-dash-",
        "-name-starting-with-dash",
    ] {
        let r = run(&h, bad, json!({"command": sh("exit 0")})).await;
        failed(&r.report, ErrorKind::InvalidParams, None);
        assert_eq!(r.report.error.as_deref(), Some(pattern));
        assert_eq!(r.report.exit_status, 125);
    }
    let r = run(&h, &"name-with-length---84".repeat(4), json!({})).await;
    assert_eq!(
        r.report.error.as_deref(),
        Some("ACI name cannot be longer than 63 characters")
    );
    assert_eq!(h.stats().total_requests, 0, "validation makes no request");
    // 63 characters pass Airflow's check (and ACI's, which also forbids "--").
    let name63 = format!("a{}z", "-b".repeat(30) + "c");
    assert_eq!(name63.len(), 63);
    let r = run(&h, &name63, json!({"command": sh("exit 0")})).await;
    success(&r.report);
}

// 9. test_execute_with_ipaddress: the IP address is set; the container listens on 80.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t09_execute_with_ipaddress() {
    let h = Harness::start().await;
    let g = kept_group(
        &h,
        "with-ip",
        json!({"ip_address": {"type": "Public", "ports": [{"port": 80}]}}),
    )
    .await;
    assert_eq!(props(&g)["ipAddress"]["type"], "Public");
    assert_eq!(
        props(&g)["containers"][0]["properties"]["ports"],
        json!([{"port": 80}])
    );
}

// 10. test_execute_with_windows_os_and_diff_restart_policy: an `Always`
// group never completes, so container_timeout ends it (and deletes it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t10_windows_os_and_always_restart_policy() {
    let h = Harness::start().await;
    let (env, logs) = h.env();
    let spec = TaskSpec::new(
        "always",
        Harness::params(
            "always",
            fast(
                json!({"restart_policy": "Always", "os_type": "Windows", "command": sh("echo again"), "container_timeout": 4}),
            ),
        ),
    );
    let runner = h.runner.clone();
    let task = tokio::spawn(async move { runner.run(spec, env).await });
    assert!(wait_until(Duration::from_secs(10), || alive(&h, "always")).await);
    let g = group(&h, "always").await.expect("group");
    assert_eq!(props(&g)["restartPolicy"], "Always");
    assert_eq!(props(&g)["osType"], "Windows");
    let report = task.await.unwrap();
    failed(&report, ErrorKind::TimedOut, Some("timeout"));
    assert_eq!(report.exit_status, 124);
    assert!(gone(&h, "always").await);
    assert!(
        logs.messages().iter().filter(|m| *m == "again").count() >= 2,
        "the container restarted"
    );
}

// 11. test_execute_fails_with_incorrect_os_type.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t11_incorrect_os_type() {
    let h = Harness::start().await;
    let r = run(&h, "os", json!({"os_type": "MacOs"})).await;
    failed(&r.report, ErrorKind::InvalidParams, None);
    assert_eq!(
        r.report.error.as_deref(),
        Some("Invalid value for the os_type argument. Please set 'Linux' or 'Windows' as the os_type. Found `MacOs`.")
    );
    assert_eq!(r.report.exit_status, 125);
    assert_eq!(h.stats().total_requests, 0);
}

// 12. test_execute_fails_with_incorrect_restart_policy.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t12_incorrect_restart_policy() {
    let h = Harness::start().await;
    let r = run(&h, "policy", json!({"restart_policy": "Everyday"})).await;
    failed(&r.report, ErrorKind::InvalidParams, None);
    assert_eq!(
        r.report.error.as_deref(),
        Some("Invalid value for the restart_policy argument. Please set one of 'Always', 'OnFailure','Never' as the restart_policy. Found `Everyday`")
    );
    assert_eq!(h.stats().total_requests, 0);
}

// 13. test_execute_correct_sleep_cycle: no polling after the terminal state.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t13_no_polling_after_termination() {
    let dir = tempfile::tempdir().unwrap();
    let (h, log) = reqlog::harness(&dir).await;
    let r = run(&h, "sleep-cycle", json!({"command": sh("sleep 2")})).await;
    success(&r.report);

    // By order and by the emulator's clock, not the test's: the DELETE is the last request
    // (no poll after the terminal state), and the polls keep the 1 s polling interval
    // (Airflow's loop reads twice a second). Once `execute` has returned, the instance is gone
    // and cannot send anything more, so the log read now is the whole story.
    let log = reqlog::read(&log);
    assert_eq!(log.len() as u64, h.stats().total_requests, "{log:?}");
    let polls = poll_sequence(&log);
    assert!(polls.len() >= 2, "{polls:?}");
    for pair in polls.windows(2) {
        let gap = pair[1].start_ms - pair[0].start_ms;
        assert!(gap >= 950.0, "two polls {gap} ms apart with a 1 s interval");
    }
}

/// The group reads of the polling loop, checked for shape: after the PUT, each poll is one
/// group read, followed (while the container runs) by at most one log read, and the DELETE
/// is the last request of the run.
fn poll_sequence(log: &[reqlog::Logged]) -> Vec<&reqlog::Logged> {
    let kinds: Vec<&str> = log.iter().map(|l| l.kind.as_str()).collect();
    let put = kinds
        .iter()
        .position(|k| *k == "ContainerGroups_CreateOrUpdate")
        .expect("a PUT");
    assert_eq!(kinds.last(), Some(&"ContainerGroups_Delete"), "{kinds:?}");
    let between = &kinds[put + 1..kinds.len() - 1];
    assert!(
        between
            .iter()
            .all(|k| *k == "ContainerGroups_Get" || *k == "Containers_ListLogs"),
        "{kinds:?}"
    );
    assert_eq!(between.first(), Some(&"ContainerGroups_Get"), "{kinds:?}");
    for pair in between.windows(2) {
        assert!(
            pair != ["Containers_ListLogs", "Containers_ListLogs"],
            "two log reads in one poll: {kinds:?}"
        );
    }
    log[put + 1..]
        .iter()
        .filter(|l| l.kind == "ContainerGroups_Get")
        .collect()
}

// 14. test_execute_with_missing_events: a normal run logs no error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t14_missing_events_log_no_exception() {
    let h = Harness::start().await;
    let r = run(&h, "quiet", json!({"command": sh("exit 0")})).await;
    success(&r.report);
    let lines = r.logs.lines();
    assert!(
        lines
            .iter()
            .all(|(_, level, _)| !matches!(level, aci_e2e::LogLevel::Error)),
        "{lines:?}"
    );
    assert!(!logged(&r, "Exception"));
}

// 15. test_execute_with_dnsconfig.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t15_dns_config() {
    let h = Harness::start().await;
    let g = kept_group(
        &h,
        "dns",
        json!({"dns_config": {"name_servers": ["10.0.0.10"], "search_domains": "corp.local"}}),
    )
    .await;
    assert_eq!(props(&g)["dnsConfig"]["nameServers"], json!(["10.0.0.10"]));
    assert_eq!(props(&g)["dnsConfig"]["searchDomains"], "corp.local");
}

// 16. test_execute_with_diagnostics (the key is a secret ARM never returns).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t16_diagnostics() {
    let h = Harness::start().await;
    let g =
        kept_group(&h, "diag", json!({"diagnostics": {"log_analytics": {"workspace_id": "wid", "workspace_key": "wkey-secret"}}})).await;
    assert_eq!(
        props(&g)["diagnostics"]["logAnalytics"]["workspaceId"],
        "wid"
    );
    assert!(!g.to_string().contains("wkey-secret"));
}

// 17. test_execute_with_spot_discount.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t17_spot() {
    let h = Harness::start().await;
    let g = kept_group(&h, "spot", json!({"priority": "Spot"})).await;
    assert_eq!(props(&g)["priority"], "Spot");
    assert_eq!(props(&g)["containers"][0]["name"], "spot");
}

// 18. test_execute_with_identity (ARM-shaped identity passes through).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t18_identity() {
    let h = Harness::start().await;
    let g = kept_group(
        &h,
        "identity",
        json!({"identity": {"type": "SystemAssigned"}}),
    )
    .await;
    assert_eq!(g["identity"]["type"], "SystemAssigned");
}

// 19. test_execute_with_identity_dict.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t19_identity_dict() {
    let h = Harness::start().await;
    let g = kept_group(
        &h,
        "identity-dict",
        json!({"identity": {"type": "UserAssigned", "resource_ids": [RID]}}),
    )
    .await;
    assert_eq!(g["identity"]["type"], "UserAssigned");
    assert!(
        g["identity"]["userAssignedIdentities"].get(RID).is_some(),
        "{g}"
    );
}

/// Runs `n` tasks concurrently in one host; returns their reports in order.
async fn run_many(
    h: &Harness,
    n: usize,
    extra: impl Fn(usize) -> Value,
) -> Vec<(String, TaskReport)> {
    let mut tasks = Vec::new();
    for i in 0..n {
        let name = format!("many-{i}");
        let (env, _) = h.env();
        let spec = TaskSpec::new(name.clone(), Harness::params(&name, fast(extra(i))));
        let runner = h.runner.clone();
        tasks.push((
            name,
            tokio::spawn(async move { runner.run(spec, env).await }),
        ));
    }
    let mut out = Vec::new();
    for (name, t) in tasks {
        out.push((name, t.await.unwrap()));
    }
    out
}

// 20 / 21. Deferrable: one host waits on many groups at once (no worker slot
// is held per task); already-finished groups complete at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t20_21_one_host_waits_on_many_groups() {
    let h = Harness::start().await;
    let reports = run_many(
        &h,
        6,
        |i| json!({"deferrable": true, "command": sh(&format!("sleep {}; echo done-{i}", i % 3))}),
    )
    .await;
    for (name, r) in &reports {
        success(r);
        assert!(gone(&h, name).await);
    }
    assert_eq!((puts(&h), deletes(&h)), (6, 6));
    // Deferrable mode reads the log once per task, at the end.
    assert_eq!(count(&h, "Containers_ListLogs"), 6);
}

// 22 / 23. execute_complete success with remove_on_success true / false.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t22_23_deferrable_success_cleanup() {
    let h = Harness::start().await;
    let r = run(
        &h,
        "def-remove",
        json!({"deferrable": true, "command": sh("exit 0")}),
    )
    .await;
    success(&r.report);
    assert!(gone(&h, "def-remove").await);
    let r = run(
        &h,
        "def-keep",
        json!({"deferrable": true, "remove_on_success": false, "command": sh("exit 0")}),
    )
    .await;
    success(&r.report);
    assert!(alive(&h, "def-keep"));
    assert_eq!(deletes(&h), 1);
}

// 24 / 25. execute_complete error, with remove_on_error false / true.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t24_25_deferrable_error_cleanup() {
    let h = Harness::start().await;
    let r = run(
        &h,
        "def-err-keep",
        json!({"deferrable": true, "remove_on_error": false, "command": sh("exit 1")}),
    )
    .await;
    failed(&r.report, ErrorKind::Failed, Some("nonzero-exit"));
    assert!(alive(&h, "def-err-keep"));
    let r = run(
        &h,
        "def-err-remove",
        json!({"deferrable": true, "command": sh("exit 1")}),
    )
    .await;
    failed(&r.report, ErrorKind::Failed, Some("nonzero-exit"));
    assert!(gone(&h, "def-err-remove").await);
}

// 26. execute_complete with no event: the equivalent is losing the group
// while waiting, which must end with a clear error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t26_deferrable_lost_group_is_a_clear_error() {
    let h = Harness::start().await;
    h.emulator.set_faults(Faults {
        delete_after: Some(Duration::from_millis(800)),
        ..Faults::default()
    });
    let r = run(
        &h,
        "def-lost",
        json!({"deferrable": true, "command": sh("sleep 30")}),
    )
    .await;
    failed(&r.report, ErrorKind::Failed, Some("deleted-externally"));
    assert!(r
        .report
        .error
        .as_deref()
        .unwrap()
        .contains("deleted by another process"));
}

// 27 / 28. execute_complete pushes all / the last log line to XCom.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t27_28_deferrable_xcom_logs() {
    let h = Harness::start().await;
    let r = run(
        &h,
        "def-xcom-all",
        json!({"deferrable": true, "xcom_all": true, "remove_on_success": false, "command": sh("echo line1; echo line2")}),
    )
    .await;
    success(&r.report);
    assert_eq!(
        r.report.xcom.get("logs"),
        Some(&json!(["line1\n", "line2\n"]))
    );
    let r = run(
        &h,
        "def-xcom-last",
        json!({"deferrable": true, "xcom_all": false, "remove_on_success": false, "command": sh("echo line1; echo line2")}),
    )
    .await;
    success(&r.report);
    assert_eq!(r.report.xcom.get("logs"), Some(&json!(["line2\n"])));
}

// 29 / 30. remove_on_success on the synchronous path.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t29_30_remove_on_success_sync() {
    let h = Harness::start().await;
    let r = run(
        &h,
        "keep",
        json!({"remove_on_success": false, "command": sh("exit 0")}),
    )
    .await;
    success(&r.report);
    assert!(alive(&h, "keep"));
    assert_eq!(deletes(&h), 0);
    let r = run(
        &h,
        "remove",
        json!({"remove_on_success": true, "command": sh("exit 0")}),
    )
    .await;
    success(&r.report);
    assert!(gone(&h, "remove").await);
    assert_eq!(deletes(&h), 1);
}

// ---------------------------------------------------------------------------
// Beyond Airflow
// ---------------------------------------------------------------------------

/// The container output lines (no operator messages) starting with `prefix`.
pub(crate) fn output(run: &TaskRun, prefix: &str) -> Vec<String> {
    messages(run)
        .into_iter()
        .filter(|m| m.starts_with(prefix))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_thousand_lines_at_once_arrive_exactly_once() {
    let h = Harness::start().await;
    let script = "sleep 1.5; i=0; while [ $i -lt 3000 ]; do echo \"burst $i\"; i=$((i+1)); done; sleep 2.5; echo after";
    let r = run(
        &h,
        "burst",
        json!({"command": sh(script), "xcom_all": true}),
    )
    .await;
    success(&r.report);
    let burst = output(&r, "burst ");
    assert_eq!(burst.len(), 3000, "every line exactly once");
    for (i, l) in burst.iter().enumerate() {
        assert_eq!(l, &format!("burst {i}"));
    }
    assert_eq!(output(&r, "after"), ["after"]);
    // XCom keeps Airflow's 1000-line tail.
    let xcom = r.report.xcom["logs"].as_array().unwrap().clone();
    assert_eq!(xcom.len(), 1000);
    assert_eq!(xcom.last().unwrap(), "after\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_identical_lines_are_kept() {
    let h = Harness::start().await;
    let r = run(
        &h,
        "repeat",
        json!({"command": sh("for i in 1 2 3 4 5; do echo same; echo same; sleep 0.4; done")}),
    )
    .await;
    success(&r.report);
    assert_eq!(output(&r, "same").len(), 10);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exit_codes_0_1_3_137() {
    let h = Harness::start().await;
    let r = run(&h, "code-0", json!({"command": sh("exit 0")})).await;
    success(&r.report);
    for (code, reason) in [
        (1, "nonzero-exit"),
        (3, "nonzero-exit"),
        (137, "out-of-memory"),
    ] {
        let name = format!("code-{code}");
        let r = run(
            &h,
            &name,
            json!({"command": sh(&format!("echo hi; exit {code}"))}),
        )
        .await;
        failed(&r.report, ErrorKind::Failed, Some(reason));
        assert_eq!(r.report.exit_code, Some(code));
        assert_eq!(r.report.exit_status, code);
        assert_eq!(
            r.report.error.clone().unwrap(),
            format!("Container had a non-zero exit code, {code}")
        );
        assert!(logged(&r, &format!("Container had exit code: {code}")));
        assert!(gone(&h, &name).await);
    }
    // A process killed by SIGKILL (what the OOM killer sends) reports 137.
    let r = run(&h, "killed", json!({"command": sh("kill -9 $$")})).await;
    failed(&r.report, ErrorKind::Failed, Some("out-of-memory"));
    assert_eq!(r.report.exit_code, Some(137));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn external_deletion_ends_with_a_clear_error() {
    let h = Harness::start().await;
    h.emulator.set_faults(Faults {
        delete_after: Some(Duration::from_millis(1500)),
        ..Faults::default()
    });
    let r = run(
        &h,
        "vanishing",
        json!({"command": sh("echo started; sleep 30")}),
    )
    .await;
    failed(&r.report, ErrorKind::Failed, Some("deleted-externally"));
    assert!(r
        .report
        .error
        .as_deref()
        .unwrap()
        .contains("was deleted by another process"));
    assert!(logged(
        &r,
        "ResourceNotFound, container is probably removed by another process"
    ));
    assert_eq!(deletes(&h), 0, "nothing left to delete");
    assert!(wait_until(Duration::from_secs(10), || h.stats().live_processes == 0).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unhealthy_loop_ends_the_run() {
    let h = Harness::start().await;
    let r = run(
        &h,
        "loop",
        json!({"image": "busybox-unhealthy", "command": sh("sleep 60")}),
    )
    .await;
    failed(&r.report, ErrorKind::Failed, Some("evicted"));
    assert!(
        r.report.error.as_deref().unwrap().contains("Evicted"),
        "{:?}",
        r.report.error
    );
    assert!(logged(&r, "Azure provision unhealthy"));
    assert!(gone(&h, "loop").await);
    let r = run(
        &h,
        "spot-loop",
        json!({"image": "busybox-unhealthy", "priority": "Spot", "command": sh("sleep 60")}),
    )
    .await;
    failed(&r.report, ErrorKind::Failed, Some("evicted"));
    assert!(wait_until(Duration::from_secs(10), || h.stats().live_processes == 0).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provisioning_failures_are_classified() {
    let h = Harness::start().await;
    for (image, reason) in [
        ("myreg.azurecr.io/inaccessible:1", "image-pull"),
        ("quota-test", "quota"),
        ("alpine-nocapacity", "capacity"),
    ] {
        let r = run(&h, "prov", json!({"image": image, "command": sh("exit 0")})).await;
        failed(&r.report, ErrorKind::Failed, Some(reason));
        assert!(logged(&r, "Azure provision failure"), "{image}");
        assert!(gone(&h, "prov").await);
    }
    // The same failures answered synchronously on the PUT.
    h.emulator.set_faults(Faults {
        sync_provisioning_errors: true,
        ..Faults::default()
    });
    for (image, reason) in [
        ("myreg.azurecr.io/inaccessible:1", "image-pull"),
        ("quota-test", "quota"),
        ("alpine-nocapacity", "capacity"),
    ] {
        let r = run(
            &h,
            "prov-sync",
            json!({"image": image, "command": sh("exit 0")}),
        )
        .await;
        failed(&r.report, ErrorKind::Failed, Some(reason));
        assert!(
            r.report
                .error
                .as_deref()
                .unwrap()
                .starts_with("Could not start container group"),
            "{:?}",
            r.report.error
        );
        assert!(gone(&h, "prov-sync").await);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttling_storm_is_ridden_out() {
    let h = Harness::start().await;
    h.emulator.set_faults(Faults {
        throttle_every: Some(2),
        retry_after_secs: 1,
        ..Faults::default()
    });
    let r = run(
        &h,
        "throttled",
        json!({"command": sh("echo one; sleep 3; echo two")}),
    )
    .await;
    success(&r.report);
    // Every second ARM request was answered 429 and retried (the run succeeded with each
    // line once): exactly half of the ARM requests, rounded down, are 429s.
    let stats = h.stats();
    let throttled: u64 = stats.requests.values().filter_map(|m| m.get(&429)).sum();
    let arm: u64 = stats
        .requests
        .iter()
        .filter(|(op, _)| op.as_str() != "Token_Issue")
        .flat_map(|(_, m)| m.values())
        .sum();
    assert!(throttled >= 3, "a storm: {throttled} 429s of {arm}");
    assert_eq!(throttled, arm / 2, "{:?}", stats.requests);
    assert_eq!(output(&r, "one").len(), 1);
    assert_eq!(output(&r, "two").len(), 1);
    assert!(gone(&h, "throttled").await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn container_timeout_deletes_the_group() {
    let h = Harness::start().await;
    let r = run(
        &h,
        "slow",
        json!({"command": sh("sleep 60"), "container_timeout": "3s", "remove_on_error": false}),
    )
    .await;
    failed(&r.report, ErrorKind::TimedOut, Some("timeout"));
    assert_eq!(r.report.exit_status, 124);
    assert!(r
        .report
        .error
        .as_deref()
        .unwrap()
        .contains("container_timeout of 3s expired"));
    assert!(gone(&h, "slow").await);
    assert!(wait_until(Duration::from_secs(10), || h.stats().live_processes == 0).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancellation_deletes_the_group() {
    let h = Harness::start().await;
    let (env, logs) = h.env();
    let cancel = env.cancel.clone();
    let spec = TaskSpec::new(
        "cancel-me",
        Harness::params(
            "cancel-me",
            fast(json!({"command": sh("echo up; sleep 60"), "remove_on_error": false})),
        ),
    );
    let runner = h.runner.clone();
    let task = tokio::spawn(async move { runner.run(spec, env).await });
    assert!(
        wait_until(Duration::from_secs(20), || logs
            .messages()
            .iter()
            .any(|m| m == "up"))
        .await,
        "the container ran"
    );
    let reads_before = reads(&h);
    cancel.cancel();
    let report = task.await.unwrap();
    // Promptly, by counts: at most the poll in flight (a group read and a log read) after
    // the cancel, not the 60 s of polling the container would still need.
    let late_reads = reads(&h) - reads_before;
    assert!(late_reads <= 2, "{late_reads} reads after the cancel");
    failed(&report, ErrorKind::Cancelled, None);
    assert_eq!(report.exit_status, 130);
    assert!(gone(&h, "cancel-me").await);
    assert!(wait_until(Duration::from_secs(10), || h.stats().live_processes == 0).await);
}

/// A plugin that does not stop within the grace period is interrupted and
/// `on-kill` (a fresh instance) deletes the group (tagged for this task instance), even with
/// `remove_on_error = false`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_kill_deletes_the_group_after_the_grace_period() {
    let h = Harness::start().await;
    let (mut env, logs) = h.env();
    env.cancel_grace = Duration::ZERO;
    let cancel = env.cancel.clone();
    let spec = TaskSpec::new(
        "killed",
        Harness::params(
            "killed",
            fast(json!({"command": sh("echo up; sleep 60"), "remove_on_error": false})),
        ),
    );
    let runner = h.runner.clone();
    let task = tokio::spawn(async move { runner.run(spec, env).await });
    assert!(
        wait_until(Duration::from_secs(20), || logs
            .messages()
            .iter()
            .any(|m| m == "up"))
        .await,
        "the container ran"
    );
    cancel.cancel();
    let report = task.await.unwrap();
    failed(&report, ErrorKind::Cancelled, None);
    assert!(
        report.error.as_deref().unwrap().contains("on-kill ran"),
        "{:?}",
        report.error
    );
    assert!(logs
        .messages()
        .iter()
        .any(|m| m == "Deleting container group"));
    assert!(gone(&h, "killed").await);
    assert!(wait_until(Duration::from_secs(10), || h.stats().live_processes == 0).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fail_if_exists_refuses_an_existing_group() {
    let h = Harness::start().await;
    let r = run(
        &h,
        "twice",
        json!({"command": sh("exit 0"), "remove_on_success": false}),
    )
    .await;
    success(&r.report);
    let r = run(&h, "twice", json!({"command": sh("exit 0")})).await;
    failed(&r.report, ErrorKind::Failed, Some("already-exists"));
    assert_eq!(r.report.error.as_deref(), Some("Container group exists"));
    assert_eq!(r.report.exit_status, 125);
    assert_eq!(puts(&h), 1);
    assert!(alive(&h, "twice"), "the existing group is left alone");
}

/// Creates a running group `name` through the hook, as another job would (1 cpu, 1.5 GB,
/// no `aci-runner-*` tags), and waits until its container runs (bounded).
async fn foreign_running_group(h: &Harness, name: &str) {
    let body = json!({
        "location": "westeurope",
        "tags": {"owner": "another-job"},
        "properties": {
            "osType": "Linux",
            "restartPolicy": "Never",
            "containers": [{"name": name, "properties": {
                "image": "busybox:latest",
                "command": sh("sleep 60"),
                "resources": {"requests": {"cpu": 1.0, "memoryInGB": 1.5}}
            }}]
        }
    });
    let args =
        json!({"target": Harness::group(name), "container_group": body.to_string(), "wait": false});
    h.hook("create-or-update", args)
        .await
        .expect("the other job's group was created");
    let running = |g: &Value| {
        g["properties"]["containers"][0]["properties"]["instanceView"]["currentState"]["state"]
            == "Running"
    };
    for _ in 0..400 {
        if group(h, name).await.is_some_and(|g| running(&g)) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("the other job's group `{name}` did not start running");
}

/// Never delete what is not ours: with `fail_if_exists = false`, a task whose PUT over
/// another job's running group is refused (more memory: `400 InvalidContainerGroupUpdate`)
/// fails, and its cleanup leaves that group running and says why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_update_leaves_another_jobs_group_running() {
    let h = Harness::start().await;
    foreign_running_group(&h, "shared-name").await;
    let r = run(
        &h,
        "shared-name",
        json!({"command": sh("exit 0"), "fail_if_exists": false, "memory_in_gb": 4.0}),
    )
    .await;
    assert_eq!(r.report.state, TaskState::Failed);
    assert!(
        r.report
            .error
            .as_deref()
            .is_some_and(|e| e.contains("InvalidContainerGroupUpdate")),
        "{:?}",
        r.report.error
    );
    assert_eq!(h.stats().count("ContainerGroups_CreateOrUpdate", 400), 1);
    assert_eq!(deletes(&h), 0, "nothing was deleted");
    assert!(!logged(&r, "Deleting container group"));
    assert!(
        logged(
            &r,
            "Not deleting container group e2e-rg/shared-name: it existed before this task"
        ),
        "{:?}",
        messages(&r)
    );
    let g = group(&h, "shared-name")
        .await
        .expect("the other group is there");
    assert_eq!(g["tags"]["owner"], "another-job");
    assert_eq!(
        props(&g)["containers"][0]["properties"]["instanceView"]["currentState"]["state"],
        "Running"
    );
}

/// `on-kill` (as the host runs it after a trap or an interruption) reads the group's tags and
/// leaves a group of another job alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_kill_leaves_another_jobs_group_running() {
    let h = Harness::start().await;
    foreign_running_group(&h, "not-mine").await;
    let (env, logs) = h.env();
    let spec = TaskSpec::new("not-mine", Harness::params("not-mine", json!({})));
    h.runner.run_on_kill(&spec, &env).await;
    assert_eq!(deletes(&h), 0);
    let msgs = logs.messages();
    assert!(
        msgs.iter()
            .any(|m| m.contains("its tags do not name this task instance")),
        "{msgs:?}"
    );
    assert!(alive(&h, "not-mine"));
}

/// A second try of the same task instance after the host died (its task is
/// dropped mid-wait, without cleanup) waits on the running group instead of
/// recreating it, shows the lines printed before, and cleans up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reattaches_to_the_group_of_the_same_task_instance() {
    let h = Harness::start().await;
    let first = TaskSpec::new(
        "reattach",
        Harness::params(
            "reattach",
            fast(json!({"command": sh("echo early; sleep 4; echo late")})),
        ),
    );
    let mut second = first.clone();
    second.context.try_number = 2;
    second.params.insert("fail_if_exists".into(), json!(false));
    let (env1, logs1) = h.env();
    let runner = h.runner.clone();
    let t1 = tokio::spawn(async move { runner.run(first, env1).await });
    assert!(
        wait_until(Duration::from_secs(20), || logs1
            .messages()
            .iter()
            .any(|m| m == "early"))
        .await
    );
    // The "host" dies: the first try is dropped where it stands.
    t1.abort();
    let _ = t1.await;
    assert!(alive(&h, "reattach"));
    let (env2, logs2) = h.env();
    let r2 = h.runner.run(second, env2).await;
    success(&r2);
    assert_eq!(puts(&h), 1, "the second try did not recreate the group");
    let msgs = logs2.messages();
    assert!(
        msgs.iter()
            .any(|m| m.contains("is already running for this task instance")),
        "{msgs:?}"
    );
    assert_eq!(
        msgs.iter().filter(|m| *m == "early").count(),
        1,
        "lines printed before the re-attach are shown"
    );
    assert_eq!(msgs.iter().filter(|m| *m == "late").count(), 1);
    assert!(gone(&h, "reattach").await, "the second try cleaned up");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn environment_and_secured_variables_reach_the_container() {
    let h = Harness::start().await;
    let r = run(
        &h,
        "env",
        json!({
            "command": sh("echo \"mode=$MODE\"; echo \"token-length=${#TOKEN}\""),
            "environment_variables": {"MODE": "batch", "TOKEN": "s3cr3t-value"},
            "secured_variables": ["TOKEN"],
            "remove_on_success": false
        }),
    )
    .await;
    success(&r.report);
    assert_eq!(output(&r, "mode="), ["mode=batch"]);
    assert_eq!(output(&r, "token-length="), ["token-length=12"]);
    let g = group(&h, "env").await.unwrap();
    assert!(
        !g.to_string().contains("s3cr3t-value"),
        "secureValue is never returned"
    );
    assert!(messages(&r).iter().all(|m| !m.contains("s3cr3t-value")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registry_volumes_gpu_and_subnets_are_sent() {
    let h = Harness::start().await;
    let g = kept_group(
        &h,
        "full",
        json!({
            "registry_conn_id": "acr",
            "volumes": [["wasb_default", "acct", "share", "/mnt/data", true]],
            "cpu": 2, "memory_in_gb": 3,
            "subnet_ids": [{"id": SUBNET}],
            "command": sh("exit 0")
        }),
    )
    .await;
    let p = props(&g);
    assert_eq!(
        p["imageRegistryCredentials"][0]["server"],
        "local.azurecr.io"
    );
    assert_eq!(p["volumes"][0]["name"], "mount-0");
    assert_eq!(
        p["containers"][0]["properties"]["volumeMounts"],
        json!([{"name": "mount-0", "mountPath": "/mnt/data", "readOnly": true}])
    );
    assert_eq!(
        p["containers"][0]["properties"]["resources"]["requests"]["cpu"],
        json!(2.0)
    );
    assert_eq!(p["subnetIds"][0]["id"], SUBNET);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn default_schedule_read_budget_for_a_short_job() {
    let dir = tempfile::tempdir().unwrap();
    let (h, log) = reqlog::harness(&dir).await;
    let r = h
        .run_task("budget", json!({"command": sh("echo a; sleep 10; echo b")}))
        .await;
    success(&r.report);
    // Uncontended: a poll a second and the log every 4 s while it runs.
    let n = reads(&h);
    assert!(n <= 24, "{n} reads for a 10 s job");
    assert_eq!(output(&r, "b").len(), 1);
    // Default polling with the budget to spare, by the emulator's clock: at
    // least 1 s between polls of the state; the log of the running container
    // read at most every 4 s and every third poll. The read budget of longer
    // jobs is checked on the virtual clock: `cargo test -p aci-plugin simulated_costs`.
    let log = reqlog::read(&log);
    let polls = poll_sequence(&log);
    let index = |p: &reqlog::Logged| log.iter().position(|l| std::ptr::eq(l, p)).unwrap();
    for pair in polls.windows(2) {
        let gap = pair[1].start_ms - pair[0].start_ms;
        assert!(gap >= 950.0, "polls {gap} ms apart");
    }
    let log_polls: Vec<(usize, f64)> = polls
        .iter()
        .enumerate()
        .filter(|(_, p)| log[index(p) + 1].kind == "Containers_ListLogs")
        .map(|(i, p)| (i, p.start_ms))
        .collect();
    // The read after the exit (the last poll) drains the log whenever it comes.
    let while_running = match log_polls.last() {
        Some((i, _)) if *i == polls.len() - 1 => &log_polls[..log_polls.len() - 1],
        _ => &log_polls[..],
    };
    assert!(while_running.len() >= 2, "{log_polls:?}");
    for pair in while_running.windows(2) {
        let (polls_apart, gap) = (pair[1].0 - pair[0].0, pair[1].1 - pair[0].1);
        assert!(
            polls_apart >= 3,
            "log read {polls_apart} polls after the last"
        );
        assert!(gap >= 3_900.0, "log reads {gap} ms apart");
    }
}
