//! The orphan sweeper end to end: the hook's `sweep` against the emulator
//! (tagged orphans deleted; groups whose owner runs, untagged groups and
//! young groups of unknown owners kept; a dry run deletes nothing), and
//! `aci-host sweep` after a `kill -9` of `aci-host run` mid-job.

use std::process::Stdio;
use std::time::Duration;

use aci_e2e::cli::{aci_host, emulator_conn, text};
use aci_e2e::{quick_emulator, wait_until, Emulator, Harness, RESOURCE_GROUP};
use aci_host::owner;
use serde_json::{json, Value};

/// A group running `command` with `tags`.
fn group(name: &str, tags: Value, command: &str) -> String {
    json!({
        "location": "westeurope", "tags": tags,
        "properties": {"osType": "Linux", "restartPolicy": "Never", "containers": [{
            "name": name, "properties": {"image": "busybox",
            "command": ["sh", "-c", command],
            "resources": {"requests": {"cpu": 1, "memoryInGB": 1}}}}]}
    })
    .to_string()
}

/// Our tags, with this owner and creation time when given.
fn ours(owner: Option<&str>, created: Option<&str>) -> Value {
    let mut t = json!({"aci-runner-creator": "aci-plugin/0.1.0", "aci-runner-task": "t"});
    if let Some(o) = owner {
        t["aci-runner-owner"] = json!(o);
    }
    if let Some(c) = created {
        t["aci-runner-created"] = json!(c);
    }
    t
}

async fn create(h: &Harness, name: &str, tags: Value, command: &str) {
    let r = h
        .hook(
            "create-or-update",
            json!({"target": Harness::group(name), "container_group": group(name, tags, command), "wait": true}),
        )
        .await;
    assert!(r.is_ok(), "creating {name}: {r:?}");
}

/// The hook's `sweep` with this machine's processes.
async fn sweep(h: &Harness, dry_run: bool, older_than: Option<u64>) -> Value {
    let options = json!({
        "conn_id": "azure_default", "resource_group": RESOURCE_GROUP,
        "older_than_secs": older_than, "dry_run": dry_run,
        "machine": owner::this_machine(), "live_processes": owner::live_processes(),
    });
    h.hook("sweep", json!({ "options": options }))
        .await
        .expect("sweep")
}

/// `name → (action, reason)` of a report.
fn actions(report: &Value) -> std::collections::BTreeMap<String, (String, String)> {
    report["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["name"].as_str().unwrap().to_string(),
                (
                    g["action"].as_str().unwrap().to_string(),
                    g["reason"].as_str().unwrap().to_string(),
                ),
            )
        })
        .collect()
}

/// The names of the groups that exist.
fn live(h: &Harness) -> Vec<String> {
    let mut names: Vec<String> = h
        .stats()
        .live_groups
        .iter()
        .map(|id| id.rsplit('/').next().unwrap().to_string())
        .collect();
    names.sort();
    names
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tagged_orphans_are_deleted_and_the_rest_kept() {
    let h = Harness::start().await;
    let machine = owner::this_machine().expect("Linux");
    let me = owner::current().expect("Linux");
    // A pid that does not run (pid_max is at most 2^22).
    let dead = format!("{machine}/4999999.1");
    let two_hours_ago = "2000-01-01T00:00:00Z";
    create(&h, "orphan", ours(Some(&dead), None), "sleep 60").await;
    create(&h, "running", ours(Some(&me), None), "sleep 60").await;
    create(&h, "untagged", json!({"team": "data"}), "sleep 60").await;
    create(
        &h,
        "elsewhere-old",
        ours(Some("other-host:b:1/42.1"), Some(two_hours_ago)),
        "sleep 60",
    )
    .await;
    create(
        &h,
        "elsewhere-new",
        ours(Some("other-host:b:1/42.1"), None),
        "sleep 60",
    )
    .await;
    let all = live(&h);
    assert_eq!(all.len(), 5, "{all:?}");

    let dry = sweep(&h, true, Some(3600)).await;
    let a = actions(&dry);
    assert_eq!(a["orphan"].0, "would delete", "{dry}");
    assert!(a["orphan"].1.contains("no longer running"), "{dry}");
    assert_eq!(a["running"].0, "kept", "{dry}");
    assert!(a["running"].1.contains("is running"), "{dry}");
    assert_eq!(a["elsewhere-old"].0, "would delete", "{dry}");
    assert_eq!(a["elsewhere-new"].0, "kept", "{dry}");
    assert!(a["elsewhere-new"].1.contains("another machine"), "{dry}");
    assert!(!a.contains_key("untagged"), "never even reported: {dry}");
    assert_eq!(
        (dry["deleted"].as_u64(), dry["not_ours"].as_u64()),
        (Some(2), Some(1))
    );
    assert_eq!(live(&h), all, "a dry run deletes nothing");

    let done = sweep(&h, false, Some(3600)).await;
    assert_eq!(actions(&done)["orphan"].0, "deleted", "{done}");
    assert_eq!(
        (done["deleted"].as_u64(), done["kept"].as_u64()),
        (Some(2), Some(2))
    );
    // The emulator deletes asynchronously (202, Deleting, then gone).
    let kept = ["elsewhere-new", "running", "untagged"];
    let gone = wait_until(Duration::from_secs(30), || live(&h) == kept).await;
    assert!(gone, "left: {:?}", live(&h));
    h.emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terminated_groups_of_unknown_owners_wait_out_the_grace() {
    let h = Harness::start().await;
    create(&h, "finished", ours(None, None), "exit 0").await;
    let terminated = wait_until(Duration::from_secs(30), || h.stats().live_processes == 0).await;
    assert!(terminated);
    let report = sweep(&h, false, None).await;
    let a = actions(&report);
    assert_eq!(a["finished"].0, "kept", "{report}");
    assert!(a["finished"].1.contains("terminated only"), "{report}");
    assert_eq!(live(&h), ["finished"]);
    h.emulator.shutdown().await;
}

/// `aci-host run` of a 5-minute job, killed with SIGKILL once its container
/// runs: nothing cleans up, then `aci-host sweep` deletes the group.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sweep_after_kill_9_leaves_zero_groups() {
    let emulator = quick_emulator().await;
    let conn = emulator_conn(&emulator);
    let state = tempfile::tempdir().unwrap();
    let task = state.path().join("long.toml");
    std::fs::write(
        &task,
        "task_id = \"long\"\n[params]\nci_conn_id = \"azure_default\"\nresource_group = \"rg\"\n\
         name = \"killed-host-job\"\nimage = \"busybox\"\nregion = \"westeurope\"\ncommand = [\"sleep\", \"300\"]\n",
    )
    .unwrap();
    kill_9_mid_run(&emulator, &task, state.path(), &conn).await;
    assert_eq!(emulator.stats().live_groups.len(), 1, "left behind");

    let sweep = |args: &[&str]| {
        let mut all = vec!["sweep", "--resource-group", "rg"];
        all.extend_from_slice(args);
        aci_host(&all, state.path())
            .env("AIRFLOW_CONN_AZURE_DEFAULT", &conn)
            .output()
            .unwrap()
    };
    let dry = sweep(&["--dry-run"]);
    assert_eq!(dry.status.code(), Some(0), "{}", text(&dry.stderr));
    let stderr = text(&dry.stderr);
    assert!(
        stderr.contains("would delete  rg/killed-host-job: its owner, process")
            && stderr.contains("is no longer running"),
        "{stderr}"
    );
    assert_eq!(
        emulator.stats().live_groups.len(),
        1,
        "a dry run deletes nothing"
    );
    let out = sweep(&["--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let report: Value = serde_json::from_str(text(&out.stdout).trim()).unwrap();
    assert_eq!(report["deleted"], 1, "{report}");
    assert_eq!(report["groups"][0]["action"], "deleted", "{report}");
    let gone = emulator.wait_until_empty(Duration::from_secs(30)).await;
    assert!(gone, "groups left: {:?}", emulator.stats().live_groups);
    emulator.shutdown().await;
}

/// Runs `aci-host run TASK` (data dir `state`, `conn` as `azure_default`) and kills it with
/// SIGKILL once its container runs: nothing cleans up.
pub(crate) async fn kill_9_mid_run(
    emulator: &Emulator,
    task: &std::path::Path,
    state: &std::path::Path,
    conn: &str,
) {
    let mut child = aci_host(&["run", task.to_str().unwrap()], state)
        .env("AIRFLOW_CONN_AZURE_DEFAULT", conn)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let running = wait_until(Duration::from_secs(60), || {
        emulator.stats().live_processes > 0
    })
    .await;
    if !running {
        let _ = child.kill();
        let _ = child.wait();
    }
    assert!(running, "the container never started");
    child.kill().unwrap(); // SIGKILL: no cleanup of any kind
    child.wait().unwrap();
}
