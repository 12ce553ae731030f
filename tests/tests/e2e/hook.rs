//! The hook end to end: the real component's `container-instance-hook` export in the real
//! host, against the emulator's ARM, Entra ID and IMDS endpoints.
//!
//! The first part ports Airflow's hook tests (airflow-aci.md §4.2 `test_container_instance`,
//! §4.4 `test_container_volume`, §4.5 `test_container_registry`; the cloud-environment
//! table and the credential selection are unit tests in `plugin/src/arm/cloud.rs` and
//! `plugin/src/auth/credential.rs`). The second part covers what the issue adds: token
//! refresh, throttling, 5xx bursts, the retry bound, every auth mode, and the host denying a
//! host the connection does not name. Request counts per call come from the emulator's
//! statistics.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use aci_e2e::{
    reqlog, CaptureSink, Connection, EmulatorConfig, Faults, Harness, HostEnv, StaticConnections,
    TaskEnv, TaskError, TaskSpec, TaskState,
};
use aci_host::grant::Grant;
use serde_json::{json, Value};

const SUB: &str = "00000000-0000-0000-0000-00000000bbbb";
const TENANT: &str = "00000000-0000-0000-0000-00000000aaaa";
const PEM: &str = include_str!("../../../plugin/tests/data/test-client-cert.pem");

// ---------------------------------------------------------------------------------------------
// helpers
// ---------------------------------------------------------------------------------------------

/// The emulator's client-secret connection under `id`.
fn secret_conn(h: &Harness, id: &str) -> Connection {
    h.connection(id)
}

/// A connection with no login/password, pointed at the emulator, with `extra` merged in.
fn bare_conn(h: &Harness, id: &str, extra: Value) -> Connection {
    let mut c = h.connection(id);
    c.login = None;
    c.password = None;
    c.host = None;
    c.extra.remove("tenantId");
    c.extra.remove("authority_host");
    if let Value::Object(m) = extra {
        for (k, v) in m {
            c.extra.insert(k, v);
        }
    }
    c
}

fn with_extra(mut c: Connection, extra: Value) -> Connection {
    if let Value::Object(m) = extra {
        for (k, v) in m {
            c.extra.insert(k, v);
        }
    }
    c
}

fn env_for(h: &Harness, conns: Vec<Connection>) -> (TaskEnv, Arc<CaptureSink>) {
    let map: HashMap<String, Connection> =
        conns.into_iter().map(|c| (c.conn_id.clone(), c)).collect();
    h.env_with(Arc::new(StaticConnections(map)))
}

async fn call_in(h: &Harness, env: TaskEnv, method: &str, args: Value) -> Result<Value, TaskError> {
    h.runner
        .hook(method, args, env)
        .await
        .expect("the plugin trapped")
}

async fn call_with(
    h: &Harness,
    conns: Vec<Connection>,
    method: &str,
    args: Value,
) -> Result<Value, TaskError> {
    let (env, _) = env_for(h, conns);
    call_in(h, env, method, args).await
}

/// `exists` on a group of the default resource group, with these connections.
async fn exists_with(h: &Harness, conns: Vec<Connection>, name: &str) -> Result<Value, TaskError> {
    call_with(h, conns, "exists", json!({"target": Harness::group(name)})).await
}

fn gref(conn_id: &str, rg: &str, name: &str) -> Value {
    json!({"conn_id": conn_id, "resource_group": rg, "name": name})
}

/// A minimal job group whose container runs `command`.
fn job(name: &str, command: Value) -> String {
    json!({
        "location": "westeurope",
        "properties": {
            "osType": "Linux",
            "restartPolicy": "Never",
            "containers": [{"name": name, "properties": {
                "image": "busybox:latest",
                "command": command,
                "resources": {"requests": {"cpu": 1.0, "memoryInGB": 1.5}}
            }}]
        }
    })
    .to_string()
}

fn count(h: &Harness, op: &str, status: u16) -> u64 {
    h.stats().count(op, status)
}

fn count_all(h: &Harness, op: &str) -> u64 {
    h.stats().count_all(op)
}

/// Every 401 the emulator answered, all operations together.
fn unauthorized(h: &Harness) -> u64 {
    h.stats()
        .requests
        .values()
        .map(|m| m.get(&401).copied().unwrap_or(0))
        .sum()
}

fn remote(e: &TaskError) -> (u16, String, String) {
    match e {
        TaskError::Remote(r) => (r.status, r.code.clone(), r.message.clone()),
        other => panic!("expected a remote error, got {other:?}"),
    }
}

/// Creates `name` (no wait) with the default emulator connection.
async fn create(h: &Harness, name: &str, command: Value) {
    let r = h
        .hook("create-or-update", json!({"target": Harness::group(name), "container_group": job(name, command), "wait": false}))
        .await;
    assert!(r.is_ok(), "create failed: {r:?}");
}

/// Polls get-state until the first container has terminated (bounded).
async fn wait_terminated(h: &Harness, name: &str) -> Value {
    for _ in 0..200 {
        let g = h
            .hook("get-state", json!({"target": Harness::group(name)}))
            .await
            .expect("get-state");
        if g["properties"]["containers"][0]["properties"]["instanceView"]["currentState"]["state"]
            == "Terminated"
        {
            return g;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("container of `{name}` did not terminate within 10 s");
}

// ---------------------------------------------------------------------------------------------
// Airflow §4.2 hooks/test_container_instance.py
// ---------------------------------------------------------------------------------------------

/// `test_create_or_update`: one PUT for (`resource_group`, `aci-test`, cg).
#[tokio::test]
async fn create_or_update_puts_once() {
    let h = Harness::start().await;
    let conn = secret_conn(&h, "azure_container_instance_test");
    let body = job("aci-test", json!(["true"]));
    let g = call_with(
        &h,
        vec![conn],
        "create-or-update",
        json!({"target": gref(
                "azure_container_instance_test",
                "resource_group",
                "aci-test",
            ), "container_group": body, "wait": false}),
    )
    .await
    .expect("create_or_update");
    assert_eq!(count_all(&h, "ContainerGroups_CreateOrUpdate"), 1);
    assert_eq!(count(&h, "ContainerGroups_CreateOrUpdate", 201), 1);
    assert_eq!(g["name"], "aci-test");
    assert!(g["id"].as_str().unwrap().ends_with("/resourceGroups/resource_group/providers/Microsoft.ContainerInstance/containerGroups/aci-test"));
    assert_eq!(g["properties"]["provisioningState"], "Pending");
    // Without `wait`: no polling.
    assert_eq!(
        count_all(&h, "AsyncOperation_Get") + count_all(&h, "ContainerGroups_Get"),
        0
    );
}

/// `test_get_state`: one GET for (`resource_group`, `aci-test`), the group with instance views.
#[tokio::test]
async fn get_state_gets_once() {
    let h = Harness::start().await;
    create(&h, "aci-test", json!(["true"])).await;
    let before = count_all(&h, "ContainerGroups_Get");
    let g = h
        .hook("get-state", json!({"target": Harness::group("aci-test")}))
        .await
        .expect("get_state");
    assert_eq!(count_all(&h, "ContainerGroups_Get") - before, 1);
    assert_eq!(g["name"], "aci-test");
    assert!(g["properties"]["instanceView"].is_object(), "{g}");
}

/// `test_get_logs[content]`: lines with their endings.
#[tokio::test]
async fn get_logs_keeps_line_endings() {
    let h = Harness::start().await;
    create(
        &h,
        "logs",
        json!([
            "sh",
            "-c",
            "printf 'log line 1\\nlog line 2\\nlog line 3\\n'"
        ]),
    )
    .await;
    wait_terminated(&h, "logs").await;
    let lines = h
        .hook(
            "get-logs",
            json!({"target": Harness::group("logs"), "tail": null}),
        )
        .await
        .expect("get_logs");
    assert_eq!(
        lines,
        json!(["log line 1\n", "log line 2\n", "log line 3\n"])
    );
    let tail = h
        .hook(
            "get-logs",
            json!({"target": Harness::group("logs"), "tail": Some(2)}),
        )
        .await
        .expect("get_logs tail");
    assert_eq!(tail, json!(["log line 2\n", "log line 3\n"]));
    assert_eq!(count_all(&h, "Containers_ListLogs"), 2);
}

/// `test_get_logs[None]`: no content gives an empty list.
#[tokio::test]
async fn get_logs_without_content_is_empty() {
    let h = Harness::start().await;
    create(&h, "quiet", json!(["true"])).await;
    wait_terminated(&h, "quiet").await;
    let lines = h
        .hook(
            "get-logs",
            json!({"target": Harness::group("quiet"), "tail": null}),
        )
        .await
        .expect("get_logs");
    assert_eq!(lines, json!([]));
}

/// Logs asked for while the group is provisioning: ARM's `409 ContainerGroupTransitioning`
/// comes back at once (one request), since log readers poll anyway.
#[tokio::test]
async fn get_logs_while_provisioning_fails_fast() {
    let h = Harness::with_config(EmulatorConfig {
        provision_delay: Duration::from_secs(5),
        ..EmulatorConfig::default()
    })
    .await;
    create(&h, "early", json!(["true"])).await;
    let e = h
        .hook(
            "get-logs",
            json!({"target": Harness::group("early"), "tail": null}),
        )
        .await
        .expect_err("logs before the container started");
    let (status, code, _) = remote(&e);
    assert_eq!(
        (status, code.as_str()),
        (409, "ContainerGroupTransitioning")
    );
    assert_eq!(count_all(&h, "Containers_ListLogs"), 1);
    h.hook(
        "delete",
        json!({"target": Harness::group("early"), "wait": false}),
    )
    .await
    .expect("cleanup: delete the provisioning group");
}

/// `test_delete`: one DELETE; `true` when it existed, `false` afterwards. The emulator
/// deletes asynchronously (`202`, `Deleting`, then `404`), so the first call waits for the
/// deletion to finish (following `Azure-AsyncOperation`) before the second one.
#[tokio::test]
async fn delete_deletes_once() {
    let h = Harness::start().await;
    create(&h, "aci-test", json!(["true"])).await;
    wait_terminated(&h, "aci-test").await;
    let deleted = h
        .hook(
            "delete",
            json!({"target": Harness::group("aci-test"), "wait": true}),
        )
        .await
        .expect("delete");
    assert_eq!(deleted, json!(true));
    assert_eq!(count_all(&h, "ContainerGroups_Delete"), 1);
    assert_eq!(count(&h, "ContainerGroups_Delete", 202), 1);
    assert!(
        count(&h, "AsyncOperation_Get", 200) >= 1,
        "the operation was followed"
    );
    assert!(
        h.stats().live_groups.is_empty(),
        "gone when the wait returns"
    );
    let again = h
        .hook(
            "delete",
            json!({"target": Harness::group("aci-test"), "wait": false}),
        )
        .await
        .expect("delete again");
    assert_eq!(again, json!(false));
    assert_eq!(count(&h, "ContainerGroups_Delete", 204), 1);
}

/// `test_exists_with_existing`: `exists("test", "test1")` is true after one GET.
#[tokio::test]
async fn exists_with_existing() {
    let h = Harness::start().await;
    let body = job("test1", json!(["true"]));
    h.hook("create-or-update", json!({"target": gref("azure_default", "test", "test1"), "container_group": body, "wait": false}))
    .await
    .expect("create");
    let before = count_all(&h, "ContainerGroups_Get");
    let r = h
        .hook(
            "exists",
            json!({"target": gref("azure_default", "test", "test1")}),
        )
        .await
        .expect("exists");
    assert_eq!(r, json!(true));
    assert_eq!(count_all(&h, "ContainerGroups_Get") - before, 1);
}

/// `test_exists_with_not_existing`: false after one GET (404).
#[tokio::test]
async fn exists_with_not_existing() {
    let h = Harness::start().await;
    let r = h
        .hook(
            "exists",
            json!({"target": gref("azure_default", "test", "not-found")}),
        )
        .await
        .expect("exists");
    assert_eq!(r, json!(false));
    assert_eq!(count(&h, "ContainerGroups_Get", 404), 1);
    assert_eq!(count_all(&h, "ContainerGroups_Get"), 1);
}

/// `test_exists_unexpected_exception`: other errors propagate.
#[tokio::test]
async fn exists_unexpected_error_propagates() {
    let h = Harness::start().await;
    let conn = with_extra(secret_conn(&h, "azure_default"), json!({"max_retries": 0}));
    h.emulator.set_faults(Faults {
        error_burst: 5,
        error_status: 500,
        ..Faults::default()
    });
    let e = exists_with(&h, vec![conn], "test1")
        .await
        .expect_err("exists must fail");
    let (status, code, _) = remote(&e);
    assert_eq!((status, code.as_str()), (500, "InternalServerError"));
}

/// `test_connection_success`.
#[tokio::test]
async fn test_connection_success() {
    let h = Harness::start().await;
    let r = h
        .hook("test-connection", json!({"conn_id": "azure_default"}))
        .await
        .expect("test_connection");
    assert_eq!(
        r,
        json!([true, "Successfully connected to Azure Container Instance."])
    );
    assert_eq!(count_all(&h, "ContainerGroups_List"), 1);
}

/// `test_connection_failure`: `(false, message)`; the message names the AAD error, never the
/// secret.
#[tokio::test]
async fn test_connection_failure() {
    let h = Harness::start().await;
    let mut conn = secret_conn(&h, "azure_default");
    conn.password = Some("not-the-secret-value".into());
    let r = call_with(
        &h,
        vec![conn],
        "test-connection",
        json!({"conn_id": "azure_default"}),
    )
    .await
    .expect("test_connection");
    assert_eq!(r[0], json!(false));
    let msg = r[1].as_str().unwrap();
    assert!(
        msg.contains("invalid_client") && msg.contains("AADSTS7000215"),
        "{msg}"
    );
    assert!(msg.contains("client secret credential"), "{msg}");
    assert!(!msg.contains("not-the-secret-value"), "{msg}");
    assert_eq!(count_all(&h, "ContainerGroups_List"), 0);
}

/// `test_connection` of a connection that does not exist is `(false, reason)` too.
#[tokio::test]
async fn test_connection_unknown_connection() {
    let h = Harness::start().await;
    let r = call_with(&h, vec![], "test-connection", json!({"conn_id": "nope"}))
        .await
        .expect("test_connection");
    assert_eq!(r[0], json!(false));
    assert!(r[1].as_str().unwrap().contains("nope"), "{r}");
}

/// `test_get_conn_fallback_to_default_azure_credential`: only `subscriptionId` → managed
/// identity (IMDS), no client secret.
#[tokio::test]
async fn fallback_to_default_azure_credential() {
    let h = Harness::start().await;
    let base = h.base_url();
    let conn = bare_conn(&h, "azure_default", json!({"imds_endpoint": base}));
    let r = exists_with(&h, vec![conn], "x").await.expect("exists");
    assert_eq!(r, json!(false));
    assert_eq!(count(&h, "Imds_Token", 200), 1);
    assert_eq!(count_all(&h, "Token_Issue"), 0);
}

/// `test_get_conn_cloud_environment` end to end: a sovereign cloud's token scope is
/// requested (the emulator accepts the US Gov and China ARM audiences) while the endpoint
/// overrides point at the emulator.
#[tokio::test]
async fn cloud_environment_with_overrides() {
    let h = Harness::start().await;
    for cloud in ["AzurePublicCloud", "AzureUSGovernment", "AzureChinaCloud"] {
        let conn = with_extra(
            secret_conn(&h, "azure_default"),
            json!({"cloud_environment": cloud}),
        );
        let r = call_with(
            &h,
            vec![conn],
            "test-connection",
            json!({"conn_id": "azure_default"}),
        )
        .await
        .expect("test_connection");
        assert_eq!(r[0], json!(true), "{cloud}: {r}");
    }
}

/// Airflow's removed `get_state_exitcode_details` and `get_messages`.
#[tokio::test]
async fn deprecated_state_methods() {
    let h = Harness::start().await;
    create(&h, "old", json!(["sh", "-c", "exit 3"])).await;
    wait_terminated(&h, "old").await;
    let d = h
        .hook(
            "get-state-exitcode-details",
            json!({"target": Harness::group("old")}),
        )
        .await
        .expect("details");
    assert_eq!(d, json!(["Terminated", 3, "Error"]));
    let m = h
        .hook("get-messages", json!({"target": Harness::group("old")}))
        .await
        .expect("messages");
    let msgs: Vec<&str> = m
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(
        !msgs.is_empty() && msgs.iter().any(|s| s.contains("busybox")),
        "{msgs:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// The methods beyond Airflow's: wait, stop/start/restart, list
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn create_or_update_wait_follows_the_operation() {
    let h = Harness::start().await;
    let g = h
        .hook("create-or-update", json!({"target": Harness::group("waited"), "container_group": job("waited", json!(["sleep", "5"])), "wait": true}))
        .await
        .expect("create with wait");
    assert_eq!(g["properties"]["provisioningState"], "Succeeded", "{g}");
    assert!(count_all(&h, "AsyncOperation_Get") >= 1);
    // The final answer is a GET (with instance views).
    assert!(g["properties"]["instanceView"].is_object());
}

#[tokio::test]
async fn create_or_update_wait_reports_provisioning_failure() {
    let h = Harness::start().await;
    let body =
        job("bad", json!(["true"])).replace("busybox:latest", "myreg.azurecr.io/inaccessible:1");
    let e = h
        .hook(
            "create-or-update",
            json!({"target": Harness::group("bad"), "container_group": body, "wait": true}),
        )
        .await
        .expect_err("must fail");
    let (_, code, message) = remote(&e);
    assert_eq!(code, "InaccessibleImage", "{message}");
}

#[tokio::test]
async fn delete_wait_returns_once_gone() {
    let h = Harness::start().await;
    create(&h, "gone", json!(["sleep", "30"])).await;
    let g = h.hook("create-or-update", json!({"target": Harness::group("gone"), "container_group": job("gone", json!(["sleep", "30"])), "wait": true}))
    .await
    .expect("the update waits for the group");
    assert_eq!(g["properties"]["provisioningState"], "Succeeded");
    let r = h
        .hook(
            "delete",
            json!({"target": Harness::group("gone"), "wait": true}),
        )
        .await
        .expect("delete");
    assert_eq!(r, json!(true));
    let e = h
        .hook("exists", json!({"target": Harness::group("gone")}))
        .await
        .expect("exists");
    assert_eq!(e, json!(false));
}

#[tokio::test]
async fn stop_start_restart() {
    // Starting takes 2 s here, so the restart right after the start meets the transition.
    let h = Harness::with_config(EmulatorConfig {
        provision_delay: Duration::from_secs(2),
        ..EmulatorConfig::default()
    })
    .await;
    let g = Harness::group("svc");
    h.hook("create-or-update", json!({"target": g.clone(), "container_group": job("svc", json!(["sleep", "30"])), "wait": true}))
    .await
    .expect("create");
    h.hook("stop", json!({"target": g.clone()}))
        .await
        .expect("stop");
    let s = h
        .hook("get-state", json!({"target": g.clone()}))
        .await
        .expect("state");
    assert_eq!(s["properties"]["instanceView"]["state"], "Stopped");
    h.hook("start", json!({"target": g.clone()}))
        .await
        .expect("start");
    assert_eq!(count_all(&h, "ContainerGroups_Start"), 1);
    // Restart needs the group running again; 409 ContainerGroupTransitioning is retried.
    h.hook("restart", json!({"target": g.clone()}))
        .await
        .expect("restart");
    assert_eq!(count(&h, "ContainerGroups_Restart", 204), 1);
    assert!(
        count(&h, "ContainerGroups_Restart", 409) >= 1,
        "the restart met ContainerGroupTransitioning and retried it"
    );
    assert_eq!(
        count_all(&h, "ContainerGroups_Restart"),
        count(&h, "ContainerGroups_Restart", 409) + 1,
        "only 409s before the 204"
    );
    h.hook("delete", json!({"target": g, "wait": true}))
        .await
        .expect("cleanup");
}

#[tokio::test]
async fn list_follows_next_link() {
    let h = Harness::with_config(EmulatorConfig {
        page_size: 2,
        provision_delay: Duration::from_millis(100),
        ..EmulatorConfig::default()
    })
    .await;
    for n in ["l1", "l2", "l3"] {
        create(&h, n, json!(["true"])).await;
    }
    h.hook("create-or-update", json!({"target": gref("azure_default", "other-rg", "l4"), "container_group": job("l4", json!(["true"])), "wait": false}))
    .await
    .expect("create");
    let rg = h
        .hook(
            "list",
            json!({"conn_id": "azure_default", "resource_group": aci_e2e::RESOURCE_GROUP}),
        )
        .await
        .expect("list");
    let mut names: Vec<&str> = rg
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["name"].as_str().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["l1", "l2", "l3"]);
    assert_eq!(
        count_all(&h, "ContainerGroups_ListByResourceGroup"),
        2,
        "two pages"
    );
    let all = h
        .hook(
            "list",
            json!({"conn_id": "azure_default", "resource_group": null}),
        )
        .await
        .expect("list all");
    assert_eq!(all.as_array().unwrap().len(), 4);
}

// ---------------------------------------------------------------------------------------------
// Requests per call
// ---------------------------------------------------------------------------------------------

/// Each hook call runs in a fresh instance, so it pays one token request plus its ARM
/// requests: 2 for exists / get-state / get-logs / delete / stop / create (no wait) /
/// test-connection.
#[tokio::test]
async fn requests_per_hook_call() {
    let h = Harness::start().await;
    let g = Harness::group("counted");
    let total = |h: &Harness| h.stats().total_requests;
    let mut costs = Vec::new();
    let calls: Vec<(&str, &str, Value)> = vec![
        (
            "create_or_update",
            "create-or-update",
            json!({"target": g.clone(), "container_group": job("counted", json!(["sh", "-c", "echo hi"])), "wait": false}),
        ),
        ("exists", "exists", json!({"target": g.clone()})),
        ("get_state", "get-state", json!({"target": g.clone()})),
        (
            "test_connection",
            "test-connection",
            json!({"conn_id": "azure_default"}),
        ),
    ];
    for (name, method, args) in calls {
        let before = total(&h);
        h.hook(method, args)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e:?}"));
        costs.push((name, total(&h) - before));
    }
    wait_terminated(&h, "counted").await;
    for (name, method, args) in [
        (
            "get_logs",
            "get-logs",
            json!({"target": g.clone(), "tail": null}),
        ),
        (
            "delete",
            "delete",
            json!({"target": g.clone(), "wait": false}),
        ),
    ] {
        let before = total(&h);
        h.hook(method, args)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e:?}"));
        costs.push((name, total(&h) - before));
    }
    eprintln!("requests per hook call (token + ARM): {costs:?}");
    for (name, n) in &costs {
        assert_eq!(*n, 2, "{name}: one token request and one ARM request");
    }
}

// ---------------------------------------------------------------------------------------------
// Retries, throttling, token refresh
// ---------------------------------------------------------------------------------------------

/// A 429 with `Retry-After: 2` is waited out and then succeeds: by the emulator's clock, the
/// retry arrives at least 2 s after the 429 was answered (the default backoff alone would
/// retry after 0.25-0.5 s).
#[tokio::test]
async fn throttling_honours_retry_after() {
    let dir = tempfile::tempdir().unwrap();
    let (h, log) = reqlog::harness(&dir).await;
    h.emulator.set_faults(Faults {
        throttle_burst: 1,
        retry_after_secs: 2,
        ..Faults::default()
    });
    let r = h
        .hook("exists", json!({"target": Harness::group("x")}))
        .await
        .expect("exists");
    assert_eq!(r, json!(false));
    assert_eq!(count(&h, "ContainerGroups_Get", 429), 1);
    assert_eq!(count(&h, "ContainerGroups_Get", 404), 1);
    let log = reqlog::read(&log);
    assert_eq!(reqlog::statuses(&log, "ContainerGroups_Get"), [429, 404]);
    let gaps = reqlog::gaps(&log, "ContainerGroups_Get");
    // Log times are truncated to the millisecond: 1 ms of slack.
    assert!(gaps[0] >= 1999.0, "retried {} ms after the 429", gaps[0]);
}

/// A 429 storm: five 429s in a row (Retry-After 1 s) are survived with the default policy
/// (6 attempts), and every retry waits the full second the server asked for: the pauses
/// between the requests, by the emulator's clock, not the test's duration (the default
/// backoff alone would make the first pause 0.25-0.5 s).
#[tokio::test]
async fn throttle_storm_honours_every_retry_after() {
    let dir = tempfile::tempdir().unwrap();
    let (h, log) = reqlog::harness(&dir).await;
    h.emulator.set_faults(Faults {
        throttle_burst: 5,
        retry_after_secs: 1,
        ..Faults::default()
    });
    h.hook("exists", json!({"target": Harness::group("x")}))
        .await
        .expect("exists survives 5 throttles");
    assert_eq!(count(&h, "ContainerGroups_Get", 429), 5);
    assert_eq!(count_all(&h, "ContainerGroups_Get"), 6);
    let log = reqlog::read(&log);
    assert_eq!(
        reqlog::statuses(&log, "ContainerGroups_Get"),
        [429, 429, 429, 429, 429, 404]
    );
    let gaps = reqlog::gaps(&log, "ContainerGroups_Get");
    assert_eq!(gaps.len(), 5);
    for (i, g) in gaps.iter().enumerate() {
        assert!(*g >= 999.0, "retry {} came {g} ms after its 429", i + 1);
    }
}

/// A 5xx burst is survived with backoff.
#[tokio::test]
async fn server_error_burst_is_survived() {
    let h = Harness::start().await;
    h.emulator.set_faults(Faults {
        error_burst: 3,
        error_status: 503,
        ..Faults::default()
    });
    let r = h
        .hook("exists", json!({"target": Harness::group("x")}))
        .await
        .expect("exists survives the burst");
    assert_eq!(r, json!(false));
    assert_eq!(count(&h, "ContainerGroups_Get", 503), 3);
}

/// Connection resets are retried.
#[tokio::test]
async fn connection_resets_are_retried() {
    let h = Harness::start().await;
    h.emulator.set_faults(Faults {
        reset_burst: 2,
        ..Faults::default()
    });
    let r = h
        .hook("exists", json!({"target": Harness::group("x")}))
        .await
        .expect("exists survives resets");
    assert_eq!(r, json!(false));
    // Two resets (status 0), then the answer: each reset retried once.
    assert_eq!(count(&h, "ContainerGroups_Get", 0), 2);
    assert_eq!(count(&h, "ContainerGroups_Get", 404), 1);
    assert_eq!(count_all(&h, "ContainerGroups_Get"), 3);
}

/// Retries stop at the bound (`max_retries` = 2 → 3 attempts) with a clear error.
#[tokio::test]
async fn retries_give_up_after_the_bound() {
    let h = Harness::start().await;
    let conn = with_extra(
        secret_conn(&h, "azure_default"),
        json!({"max_retries": 2, "retry_backoff_ms": 20}),
    );
    h.emulator.set_faults(Faults {
        error_burst: 100,
        error_status: 500,
        ..Faults::default()
    });
    let e = exists_with(&h, vec![conn], "x")
        .await
        .expect_err("must give up");
    let (status, code, message) = remote(&e);
    assert_eq!((status, code.as_str()), (500, "InternalServerError"));
    assert!(message.contains("gave up after 3 attempts"), "{message}");
    assert_eq!(count_all(&h, "ContainerGroups_Get"), 3);
}

/// The default bound is 6 attempts.
#[tokio::test]
async fn default_retry_bound_is_six_attempts() {
    let h = Harness::start().await;
    let conn = with_extra(
        secret_conn(&h, "azure_default"),
        json!({"retry_backoff_ms": 10}),
    );
    h.emulator.set_faults(Faults {
        error_burst: 100,
        error_status: 502,
        ..Faults::default()
    });
    let e = call_with(
        &h,
        vec![conn],
        "get-state",
        json!({"target": Harness::group("x")}),
    )
    .await
    .expect_err("must give up");
    let (status, code, message) = remote(&e);
    assert_eq!((status, code.as_str()), (502, "BadGateway"));
    assert!(message.contains("gave up after 6 attempts"), "{message}");
    assert_eq!(count_all(&h, "ContainerGroups_Get"), 6);
}

/// A token ARM rejects as expired (revoked early) is replaced once and the call goes on.
/// Every token is accepted for two ARM requests, then refused (`token_uses`): an expiry that
/// does not depend on timing, so the count holds under any load.
#[tokio::test]
async fn expired_token_is_refreshed_on_401() {
    let h = Harness::with_config(EmulatorConfig {
        provision_delay: Duration::from_secs(1),
        ..EmulatorConfig::default()
    })
    .await;
    h.emulator.set_faults(Faults {
        token_uses: Some(2),
        ..Faults::default()
    });
    let g = h
        .hook("create-or-update", json!({"target": Harness::group("refresh"), "container_group": job("refresh", json!(["sleep", "5"])), "wait": true}))
        .await
        .expect("create with wait survives token expiry");
    assert_eq!(g["properties"]["provisioningState"], "Succeeded");
    // Every 401 was followed by exactly one fresh token (and the retried call, its first
    // use, accepted), so the tokens issued are the first one plus one per 401.
    let rejected = unauthorized(&h);
    assert!(rejected >= 1, "the fault should have produced a 401");
    assert_eq!(count(&h, "Token_Issue", 200), 1 + rejected);
}

/// A 401 that persists after the refresh (every token is rejected at once) is not retried
/// forever: one fresh token, one more try, then a clear `401` error.
#[tokio::test]
async fn a_401_that_persists_after_the_refresh_fails_clearly() {
    let h = Harness::start().await;
    h.emulator.set_faults(Faults {
        token_expiry: Some(Duration::ZERO),
        ..Faults::default()
    });
    let e = h
        .hook("exists", json!({"target": Harness::group("x")}))
        .await
        .expect_err("every token is rejected");
    let (status, code, message) = remote(&e);
    assert_eq!(
        (status, code.as_str()),
        (401, "ExpiredAuthenticationToken"),
        "{message}"
    );
    assert_eq!(
        count(&h, "ContainerGroups_Get", 401),
        2,
        "one retry with a new token"
    );
    assert_eq!(count_all(&h, "ContainerGroups_Get"), 2);
    assert_eq!(
        count(&h, "Token_Issue", 200),
        2,
        "the first token and one refresh"
    );
    assert_eq!(unauthorized(&h), 2);
}

/// A token is refreshed before it expires: with a 4 s lifetime, a 5 s wait needs a second
/// token and never meets a 401.
#[tokio::test]
async fn token_is_refreshed_before_expiry() {
    let h = Harness::with_config(EmulatorConfig {
        provision_delay: Duration::from_secs(5),
        token_lifetime: Duration::from_secs(4),
        ..EmulatorConfig::default()
    })
    .await;
    let g = h
        .hook("create-or-update", json!({"target": Harness::group("proactive"), "container_group": job("proactive", json!(["sleep", "5"])), "wait": true}))
        .await
        .expect("create with wait");
    assert_eq!(g["properties"]["provisioningState"], "Succeeded");
    assert_eq!(unauthorized(&h), 0);
    assert!(count(&h, "Token_Issue", 200) >= 2);
}

// ---------------------------------------------------------------------------------------------
// Auth modes
// ---------------------------------------------------------------------------------------------

async fn assert_auth_works(h: &Harness, env: TaskEnv, token_op: &str) {
    let before = count(h, token_op, 200);
    let r = call_in(
        h,
        env,
        "test-connection",
        json!({"conn_id": "azure_default"}),
    )
    .await
    .expect("test_connection");
    assert_eq!(
        r,
        json!([true, "Successfully connected to Azure Container Instance."])
    );
    assert_eq!(count(h, token_op, 200) - before, 1, "{token_op}");
}

fn key_doc(h: &Harness) -> Value {
    let base = h.base_url();
    json!({
        "clientId": "local-client", "clientSecret": h.emulator.credentials().client_secret,
        "tenantId": TENANT, "subscriptionId": SUB,
        "activeDirectoryEndpointUrl": base, "resourceManagerEndpointUrl": base,
    })
}

#[tokio::test]
async fn auth_client_secret() {
    let h = Harness::start().await;
    let (env, _) = env_for(&h, vec![secret_conn(&h, "azure_default")]);
    assert_auth_works(&h, env, "Token_Issue").await;
}

#[tokio::test]
async fn auth_key_json() {
    let h = Harness::start().await;
    // As an object and as a string.
    for key_json in [key_doc(&h), Value::String(key_doc(&h).to_string())] {
        let conn = bare_conn(&h, "azure_default", json!({"key_json": key_json}));
        let (env, logs) = env_for(&h, vec![conn]);
        assert_auth_works(&h, env, "Token_Issue").await;
        assert!(logs
            .messages()
            .iter()
            .any(|m| m == "Getting connection using a JSON config."));
    }
}

#[tokio::test]
async fn auth_key_path() {
    let h = Harness::start().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("key.json");
    std::fs::write(&path, key_doc(&h).to_string()).unwrap();
    let conn = bare_conn(
        &h,
        "azure_default",
        json!({"key_path": path.to_str().unwrap()}),
    );
    // The host grants the key file the connection names.
    let (env, logs) = env_for(&h, vec![conn]);
    assert_auth_works(&h, env, "Token_Issue").await;
    assert!(logs
        .messages()
        .iter()
        .any(|m| m == "Getting connection using a JSON key file."));
    // A key file without the .json extension is refused before anything is read.
    let conn = bare_conn(&h, "azure_default", json!({"key_path": "/keys/key.txt"}));
    let e = exists_with(&h, vec![conn], "x")
        .await
        .expect_err("bad extension");
    match e {
        TaskError::Connection(m) => {
            assert!(m.contains("Unrecognised extension for key file."), "{m}")
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn auth_client_certificate_inline() {
    let h = Harness::start().await;
    let mut conn = secret_conn(&h, "azure_default");
    conn.password = None;
    let conn = with_extra(conn, json!({"client_certificate": PEM}));
    let (env, _) = env_for(&h, vec![conn]);
    assert_auth_works(&h, env, "Token_Issue").await;
}

#[tokio::test]
async fn auth_client_certificate_path() {
    let h = Harness::start().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("client.pem");
    std::fs::write(&path, PEM).unwrap();
    let mut conn = secret_conn(&h, "azure_default");
    conn.password = None;
    let conn = with_extra(
        conn,
        json!({"client_certificate_path": path.to_str().unwrap()}),
    );
    // The plan declares the certificate file: nothing else grants it.
    let (env, _) = env_for(&h, vec![conn]);
    assert_auth_works(&h, env, "Token_Issue").await;
}

#[tokio::test]
async fn auth_workload_identity() {
    let h = Harness::start().await;
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("azure-identity-token");
    std::fs::write(&token_file, "eyJhbGciOiJSUzI1NiJ9.e30.federated-test-token").unwrap();
    let base = h.base_url();
    let conn = bare_conn(&h, "azure_default", json!({"authority_host": base}));
    let (mut env, _) = env_for(&h, vec![conn]);
    // The operator declares these variables; the plan grants the token file.
    env.host_env = HostEnv::fixed([
        ("AZURE_FEDERATED_TOKEN_FILE", token_file.to_str().unwrap()),
        ("AZURE_CLIENT_ID", "local-client"),
        ("AZURE_TENANT_ID", TENANT),
        ("UNDECLARED_SECRET", "never-passed"),
    ]);
    assert_auth_works(&h, env, "Token_Issue").await;
}

#[tokio::test]
async fn auth_managed_identity_system_and_user_assigned() {
    let h = Harness::start().await;
    let base = h.base_url();
    let system = bare_conn(&h, "azure_default", json!({"imds_endpoint": base}));
    let (env, _) = env_for(&h, vec![system]);
    assert_auth_works(&h, env, "Imds_Token").await;
    let user = bare_conn(
        &h,
        "azure_default",
        json!({"imds_endpoint": base, "managed_identity_client_id": "00000000-1111-2222-3333-444444444444"}),
    );
    let (env, _) = env_for(&h, vec![user]);
    assert_auth_works(&h, env, "Imds_Token").await;
}

/// The issue's attack on the real plugin: an `authority_host` that only starts like a
/// loopback address. The plan declares it (the connection names it), but the plugin refuses
/// to send the client secret over plain http to it (a connection error); the SDK and the
/// host would refuse it next. Nothing is sent, for every look-alike.
#[tokio::test]
async fn a_client_secret_never_goes_to_a_look_alike_loopback_authority() {
    let h = Harness::start().await;
    for authority in [
        "http://127.attacker.example",
        "http://localhost.evil",
        "http://[::ffff:10.0.0.1]",
    ] {
        let conn = with_extra(
            secret_conn(&h, "azure_default"),
            json!({"authority_host": authority}),
        );
        let e = exists_with(&h, vec![conn], "x")
            .await
            .expect_err("must be refused");
        match e {
            TaskError::Connection(m) => assert!(
                m.contains("refusing to send credentials over plain http"),
                "{authority}: {m}"
            ),
            other => panic!("{authority}: {other:?}"),
        }
    }
    assert_eq!(h.stats().total_requests, 0);
}

/// A reviewed grant pins a call's reach: here the workload identity's
/// `AZURE_AUTHORITY_HOST` points at a loopback address the reviewed grant never
/// names, so the plan (which declares it) goes beyond the pinned grant and the call is
/// refused before anything is contacted.
#[tokio::test]
async fn a_wider_reach_than_the_pinned_grant_is_refused() {
    let h = Harness::start().await;
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, "federated").unwrap();
    let port = h.base_url().rsplit(':').next().unwrap().to_string();
    let conn = bare_conn(&h, "azure_default", json!({}));
    let (mut env, _) = env_for(&h, vec![conn]);
    env.host_env = HostEnv::fixed([
        ("AZURE_FEDERATED_TOKEN_FILE", token_file.to_str().unwrap()),
        ("AZURE_CLIENT_ID", "local-client"),
        ("AZURE_TENANT_ID", TENANT),
        // The emulator answers on `localhost` too: had the call not been refused, the token
        // request would have reached it.
        ("AZURE_AUTHORITY_HOST", &format!("http://localhost:{port}")),
    ]);
    let reviewed = json!({
        "connections": ["azure_default"],
        "origins": [h.base_url()],
        "files": [token_file.to_str().unwrap()],
        "environment": ["AZURE_AUTHORITY_HOST", "AZURE_CLIENT_ID", "AZURE_FEDERATED_TOKEN_FILE", "AZURE_TENANT_ID"],
    });
    env.pinned_grant = Some(Grant::from_json(&reviewed.to_string()).unwrap());
    let e = call_in(&h, env, "exists", json!({"target": Harness::group("x")}))
        .await
        .expect_err("must be refused");
    match e {
        TaskError::Denied(m) => {
            assert!(
                m.contains(&format!("origin `http://localhost:{port}`")),
                "{m}"
            )
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(h.stats().total_requests, 0, "nothing reached the emulator");
}

// ---------------------------------------------------------------------------------------------
// Airflow §4.4 / §4.5: volume and registry hooks, through the operator
// ---------------------------------------------------------------------------------------------

async fn run_with(
    h: &Harness,
    name: &str,
    extra: Value,
    conns: Vec<Connection>,
) -> aci_e2e::TaskRun {
    let mut all = vec![secret_conn(h, "azure_default")];
    all.extend(conns);
    let (env, logs) = env_for(h, all);
    let mut params = Harness::params(name, extra);
    params.insert("polling_interval".into(), json!(1.0));
    params.insert("remove_on_success".into(), json!(false));
    h.run_task_with(TaskSpec::new(name, params), env, logs)
        .await
}

fn volume_conn(id: &str, login: Option<&str>, password: Option<&str>, extra: Value) -> Connection {
    let mut c = Connection::new(id, "wasb");
    c.login = login.map(String::from);
    c.password = password.map(String::from);
    c.extra = extra.as_object().cloned().unwrap_or_default();
    c
}

/// `test_get_file_volume` (password), `…_connection_string` (AccountKey) and
/// `…_default_azure_credential` (Storage listKeys): the task runs with the share mounted,
/// and only the last mode calls listKeys.
#[tokio::test]
async fn volume_keys() {
    let h = Harness::start().await;
    let base = h.base_url();
    let cases = [
        (
            "vol-password",
            volume_conn("vol_pw", Some("login"), Some("key"), json!({})),
            0u64,
        ),
        (
            "vol-connstr",
            volume_conn(
                "vol_cs",
                Some("login"),
                Some("key"),
                json!({"connection_string": "a=b;AccountKey=1"}),
            ),
            0,
        ),
        (
            "vol-listkeys",
            volume_conn(
                "vol_mi",
                Some(""),
                Some(""),
                json!({"subscription_id": SUB, "resource_group": "storage-rg", "resource_manager_url": base, "imds_endpoint": base}),
            ),
            1,
        ),
    ];
    for (name, conn, list_keys) in cases {
        let before = count_all(&h, "StorageAccounts_ListKeys");
        let id = conn.conn_id.clone();
        let run = run_with(
            &h,
            name,
            json!({"command": ["true"], "volumes": [[id, "storage", "share", "/mnt/share", true]]}),
            vec![conn],
        )
        .await;
        assert_eq!(
            run.report.state,
            TaskState::Success,
            "{name}: {:?}",
            run.report.error
        );
        assert_eq!(
            count_all(&h, "StorageAccounts_ListKeys") - before,
            list_keys,
            "{name}"
        );
        let g = h
            .hook("get-state", json!({"target": Harness::group(name)}))
            .await
            .expect("state");
        let vol = &g["properties"]["volumes"][0];
        assert_eq!(vol["azureFile"]["shareName"], "share", "{g}");
        assert_eq!(vol["azureFile"]["storageAccountName"], "storage");
        assert_eq!(vol["azureFile"]["readOnly"], true);
    }
}

/// `test_get_conn` (login/password/host) and `test_get_conn_with_default_azure_credential`
/// (ACR listCredentials): the group carries server and user name (ARM never echoes the
/// password).
#[tokio::test]
async fn registry_credentials() {
    let h = Harness::start().await;
    let base = h.base_url();
    let mut static_conn = Connection::new("acr_static", "azure_container_registry");
    static_conn.host = Some("test.cr".into());
    static_conn.login = Some("myuser".into());
    static_conn.password = Some("password".into());
    let mut arm_conn = Connection::new("acr_arm", "azure_container_registry");
    arm_conn.host = Some("myuser.azurecr.io".into());
    arm_conn.login = Some("myuser".into());
    arm_conn.password = Some(String::new());
    arm_conn.extra = json!({"subscription_id": SUB, "resource_group": "acr-rg", "resource_manager_url": base, "imds_endpoint": base})
        .as_object()
        .cloned()
        .unwrap();
    for (name, conn, server, list_calls) in [
        ("reg-static", static_conn, "test.cr", 0u64),
        ("reg-arm", arm_conn, "myuser.azurecr.io", 1),
    ] {
        let before = count_all(&h, "Registries_ListCredentials");
        let id = conn.conn_id.clone();
        let run = run_with(
            &h,
            name,
            json!({"command": ["true"], "registry_conn_id": id}),
            vec![conn],
        )
        .await;
        assert_eq!(
            run.report.state,
            TaskState::Success,
            "{name}: {:?}",
            run.report.error
        );
        assert_eq!(
            count_all(&h, "Registries_ListCredentials") - before,
            list_calls,
            "{name}"
        );
        let g = h
            .hook("get-state", json!({"target": Harness::group(name)}))
            .await
            .expect("state");
        let cred = &g["properties"]["imageRegistryCredentials"][0];
        assert_eq!(cred["server"], server, "{g}");
        assert_eq!(cred["username"], "myuser");
        assert!(cred.get("password").is_none());
    }
}
