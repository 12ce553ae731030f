//! Answers compared by VALUE with the recorded ARM examples in `testdata/arm-examples/`
//! (status codes, states, bodies, async-operation headers), not only by shape.
//!
//! Before comparing, both sides are normalised for what differs by nature: times become
//! `<time>`, subscription ids `<sub>`, `location` is compared lower-case without spaces,
//! `ipAddress.ip` becomes `<ip>`. Every other difference must be listed, with its reason, in
//! the test that allows it, and every listed difference must occur (no stale allowance).
//! The examples are hand-written by the spec's authors; where they disagree with observed
//! traffic (arm-aci.md, [OBS]), the emulator follows the traffic and the reason says so.

use crate::common::*;
use crate::shapes::{example, example_group_body, examples_group};

/// Extras every full group answer has over the hand-written examples.
const GROUP_EXTRAS: [(&str, &str); 4] = [
    (
        ".properties.sku",
        "real answers carry sku Standard (arm-aci 3.2 OBS)",
    ),
    (
        ".properties.restartPolicy",
        "the service default (Always) is returned",
    ),
    (
        ".properties.initContainers",
        "returned as [] when none were sent",
    ),
    (
        ".properties.isCreatedFromStandbyPool",
        "2026-07-01 read-only field (the CreateOrUpdate example has it)",
    ),
];

/// The same with a `prefix` (for a list's `.value[0]`), plus `more`.
fn allowed(prefix: &str, more: &[(&str, &str)]) -> Vec<(String, String)> {
    GROUP_EXTRAS
        .iter()
        .map(|(p, r)| (format!("{prefix}{p}"), r.to_string()))
        .chain(more.iter().map(|(p, r)| (p.to_string(), r.to_string())))
        .collect()
}

fn normalise(v: &Value, key: &str) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, x)| (k.clone(), normalise(x, k)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(|x| normalise(x, key)).collect()),
        Value::String(s) if chrono::DateTime::parse_from_rfc3339(s).is_ok() => json!("<time>"),
        Value::String(_) if key == "ip" => json!("<ip>"),
        Value::String(s) if key == "location" => json!(s.to_ascii_lowercase().replace(' ', "")),
        Value::String(s) if s.contains("/subscriptions/") => {
            let (head, rest) = s.split_once("/subscriptions/").unwrap();
            let tail = rest.split_once('/').map(|(_, t)| t).unwrap_or("");
            json!(format!("{head}/subscriptions/<sub>/{tail}"))
        }
        other => other.clone(),
    }
}

/// Every difference between `example` and `actual` (`path: what`).
fn value_diff(example: &Value, actual: &Value, path: &str, out: &mut Vec<String>) {
    match (example, actual) {
        (Value::Object(e), Value::Object(a)) => {
            for (k, ev) in e {
                match a.get(k) {
                    Some(av) => value_diff(ev, av, &format!("{path}.{k}"), out),
                    None => out.push(format!("{path}.{k}: missing")),
                }
            }
            for k in a.keys().filter(|k| !e.contains_key(*k)) {
                out.push(format!("{path}.{k}: extra"));
            }
        }
        (Value::Array(e), Value::Array(a)) if e.len() == a.len() => {
            for (i, (ev, av)) in e.iter().zip(a).enumerate() {
                value_diff(ev, av, &format!("{path}[{i}]"), out);
            }
        }
        (Value::Number(e), Value::Number(a)) if e.as_f64() == a.as_f64() => {}
        (e, a) if e != a => out.push(format!("{path}: {e} in the example, {a} here")),
        _ => {}
    }
}

/// `actual` equals `example` but for the `allowed` paths (each of which must differ).
fn assert_example(what: &str, example: &Value, actual: &Value, allowed: &[(String, String)]) {
    let mut diffs = Vec::new();
    value_diff(
        &normalise(example, ""),
        &normalise(actual, ""),
        "",
        &mut diffs,
    );
    let path_of = |d: &str| d.split(": ").next().unwrap_or("").to_string();
    let unexplained: Vec<&String> = diffs
        .iter()
        .filter(|d| !allowed.iter().any(|(p, _)| *p == path_of(d)))
        .collect();
    let stale: Vec<&String> = allowed
        .iter()
        .map(|(p, _)| p)
        .filter(|p| !diffs.iter().any(|d| path_of(d) == **p))
        .collect();
    assert!(
        unexplained.is_empty() && stale.is_empty(),
        "{what} differs from the recorded example:\n  unexplained: {unexplained:#?}\n  allowed but not seen: {stale:?}\nactual: {actual:#}"
    );
}

/// The recorded `azure-asyncoperation` header of an example, and ours with its variable parts
/// (host, subscription, location, operation id, api-version) replaced by the example's.
fn async_header(example: &Value, status: &str, ours: &str, base: &str) -> (String, String) {
    let recorded = example["responses"][status]["headers"]["azure-asyncoperation"]
        .as_str()
        .unwrap()
        .to_string();
    let ours = ours
        .replace(base, "https://management.azure.com")
        .replace(LOCAL_SUBSCRIPTION_ID, "subid");
    let (path, _) = ours.split_once('?').unwrap();
    let mut segs: Vec<&str> = path.split('/').collect();
    let n = segs.len();
    (segs[n - 3], segs[n - 1]) = ("location", "operationId");
    (
        recorded,
        format!("{}?api-version=apiVersion", segs.join("/")),
    )
}

/// GET, both lists, logs and the synchronous DELETE of the examples' group `demo/demo1`.
#[tokio::test]
async fn get_lists_logs_and_sync_delete_equal_the_examples() {
    let (emu, arm, path, got) = examples_group().await;
    let ok = |name: &str| example(name)["responses"]["200"]["body"].clone();
    let views = [
        (
            ".properties.instanceView",
            "GET carries the instance views (arm-aci 3.2 OBS)",
        ),
        (
            ".properties.containers[0].properties.instanceView",
            "the same, per container",
        ),
    ];
    assert_example(
        "GET",
        &ok("ContainerGroupsGet_Succeeded"),
        &got,
        &allowed("", &views),
    );
    let subscription = format!("/subscriptions/{LOCAL_SUBSCRIPTION_ID}/providers/{CG_TYPE}");
    let list = arm.get(&subscription).await;
    assert_eq!(list.status, 200);
    assert_example(
        "List",
        &ok("ContainerGroupsList"),
        &list.json(),
        &allowed(".value[0]", &[]),
    );
    let by_rg = arm
        .get(&format!(
            "/subscriptions/{LOCAL_SUBSCRIPTION_ID}/resourceGroups/demo/providers/{CG_TYPE}"
        ))
        .await;
    assert_example(
        "ListByResourceGroup",
        &ok("ContainerGroupsListByResourceGroup"),
        &by_rg.json(),
        &allowed(".value[0]", &[]),
    );
    let deleted = arm.delete(&path).await;
    assert_eq!(deleted.status, 200);
    assert_example(
        "DELETE 200",
        &ok("ContainerGroupsDelete"),
        &deleted.json(),
        &allowed("", &views),
    );
    let absent = arm.delete(&path).await;
    assert_eq!(
        (absent.status, absent.body.len()),
        (204, 0),
        "the example's 204 {{}}"
    );
    emu.shutdown().await;
}

const CG_TYPE: &str = "Microsoft.ContainerInstance/containerGroups";

/// `Containers_ListLogs` with the example's `tail=10`.
#[tokio::test]
async fn logs_equal_the_example() {
    let emu = Emulator::start(config()).await.unwrap();
    let arm = Arm::new(&emu).await;
    let path = cg("demo", "demo1");
    let mut body = example_group_body("nginx");
    body["properties"]["containers"][0]["name"] = json!("container1");
    body["properties"]["containers"][0]["properties"]["command"] =
        json!(["printf", "log content\n"]);
    body["properties"]["restartPolicy"] = json!("Never");
    assert_eq!(arm.put(&path, &body).await.status, 201);
    arm.wait_for(&path, "done", |v| state(v) == "Succeeded")
        .await;
    let logs = arm
        .get(&format!("{path}/containers/container1/logs?tail=10"))
        .await;
    assert_eq!(logs.status, 200);
    let recorded = example("ContainerListLogs");
    assert_eq!(recorded["parameters"]["tail"], 10);
    // The example's placeholder has no line end; real content is the lines as written.
    let mut got = logs.json();
    let content = got["content"].as_str().unwrap().to_string();
    assert!(content.ends_with('\n'), "{content:?}");
    got["content"] = json!(content.trim_end_matches('\n'));
    assert_example("ListLogs", &recorded["responses"]["200"]["body"], &got, &[]);
    emu.shutdown().await;
}

/// The asynchronous DELETE: `202` with the recorded `azure-asyncoperation` (under the
/// resource group), then `204` once gone.
#[tokio::test]
async fn async_delete_equals_the_example() {
    let emu = Emulator::start(config()).await.unwrap();
    let arm = Arm::new(&emu).await;
    let path = cg("demo", "demo1");
    assert_eq!(
        arm.put(&path, &example_group_body("nginx")).await.status,
        201
    );
    arm.wait_for(&path, "Succeeded", |v| prov(v) == "Succeeded")
        .await;
    let r = arm.delete_and_wait(&path).await;
    assert!(r.body.is_empty());
    let recorded = example("ContainerGroupsDelete");
    let (want, got) = async_header(
        &recorded,
        "202",
        r.header("azure-asyncoperation").unwrap(),
        &emu.base_url(),
    );
    assert_eq!(got, want);
    assert_eq!(recorded["responses"]["204"], json!({}));
    assert_eq!(arm.delete(&path).await.status, 204);
    emu.shutdown().await;
}

/// Stop `204`; Start `202` with the recorded header (then `204` when already running);
/// Restart `204`.
#[tokio::test]
async fn stop_start_restart_equal_the_examples() {
    let emu = Emulator::start(config()).await.unwrap();
    let arm = Arm::new(&emu).await;
    let path = cg("demo", "demo1");
    let mut body = example_group_body("nginx");
    body["properties"]["containers"][0]["properties"]["command"] = json!(["sleep", "300"]);
    assert_eq!(arm.put(&path, &body).await.status, 201);
    arm.wait_for(&path, "Running", |v| state(v) == "Running")
        .await;
    let codes = |name: &str| -> Vec<u16> {
        let r = &example(name)["responses"];
        r.as_object()
            .unwrap()
            .keys()
            .map(|k| k.parse().unwrap())
            .collect()
    };
    assert_eq!(codes("ContainerGroupsStop"), [204]);
    let stop = arm.post(&format!("{path}/stop")).await;
    assert_eq!((stop.status, stop.body.len()), (204, 0));
    assert_eq!(state(&arm.get(&path).await.json()), "Stopped");
    assert_eq!(codes("ContainerGroupsStart"), [202, 204]);
    let start = arm.post(&format!("{path}/start")).await;
    assert_eq!(start.status, 202);
    let recorded = example("ContainerGroupsStart");
    let header = start.header("azure-asyncoperation").unwrap();
    let (want, got) = async_header(&recorded, "202", header, &emu.base_url());
    assert_eq!(got, want);
    arm.wait_for(&path, "Running", |v| state(v) == "Running")
        .await;
    assert_eq!(
        arm.post(&format!("{path}/start")).await.status,
        204,
        "already running"
    );
    assert_eq!(codes("ContainerGroupsRestart"), [204]);
    let restart = arm.post(&format!("{path}/restart")).await;
    assert_eq!((restart.status, restart.body.len()), (204, 0));
    arm.wait_for(&path, "Running", |v| {
        prov(v) == "Succeeded" && state(v) == "Running"
    })
    .await;
    arm.delete_and_wait(&path).await;
    emu.shutdown().await;
}

/// A group whose volume cannot be mounted: the recorded `ContainerGroupsGet_Failed`.
#[tokio::test]
async fn a_failed_mount_equals_get_failed() {
    let emu = Emulator::start(EmulatorConfig {
        faults: Faults {
            fail_provisioning: Some(ProvisionFailure::MountFailed),
            ..Faults::default()
        },
        ..config()
    })
    .await
    .unwrap();
    let arm = Arm::new(&emu).await;
    let path = cg("demo", "demo1");
    let mut body = example_group_body("nginx");
    body.as_object_mut().unwrap().remove("zones"); // as in that example
    assert_eq!(arm.put(&path, &body).await.status, 201);
    let failed = arm.wait_for(&path, "Failed", |v| prov(v) == "Failed").await;
    let recorded = example("ContainerGroupsGet_Failed")["responses"]["200"]["body"].clone();
    assert_example("GET failed", &recorded, &failed, &allowed("", &[]));
    emu.shutdown().await;
}

/// PUT: `201` on create, `200` on update, with the example's full body.
#[tokio::test]
async fn create_or_update_equals_the_example() {
    let emu = Emulator::start(config()).await.unwrap();
    let arm = Arm::new(&emu).await;
    let recorded = example("ContainerGroupsCreateOrUpdate");
    let mut body = recorded["parameters"]["containerGroup"].clone();
    body["zones"] = json!(["1"]); // the example's response has zones its request lacks
    let path = cg("demo", "demo1");
    let created = arm.put(&path, &body).await;
    assert_eq!(created.status, 201, "{}", created.text());
    let put_differences = [
        (".properties.provisioningState", "observed PUT answers are Pending (arm-aci 3.1 OBS); the example says Succeeded"),
        (".properties.instanceView", "observed PUT answers carry {events: [], state: Pending} (3.1 OBS)"),
        (".properties.ipAddress.fqdn", "real FQDNs are <label>.<region>.azurecontainer.io (4 OBS); the example's is hand-written"),
        (".identity", "the group as accepted is echoed (3.1); the example's response leaves the identity out"),
        (".properties.subnetIds", "echoed as accepted; the example's response leaves them out"),
    ];
    let mut on_create = put_differences.to_vec();
    on_create.extend([
        (
            ".properties.diagnostics",
            "the example's 201 leaves out the diagnostics its 200 keeps",
        ),
        (
            ".properties.dnsConfig.options",
            "the example's 201 leaves out what its 200 keeps",
        ),
        (".properties.dnsConfig.searchDomains", "the same"),
    ]);
    let mut create_allowed = allowed("", &on_create);
    create_allowed.retain(|(p, _)| p != ".properties.isCreatedFromStandbyPool");
    assert_example(
        "PUT 201",
        &recorded["responses"]["201"]["body"],
        &created.json(),
        &create_allowed,
    );
    arm.wait_for(&path, "Succeeded", |v| prov(v) == "Succeeded")
        .await;
    let updated = arm.put_when_ready(&path, &body).await;
    assert_eq!(updated.status, 200);
    let mut on_update = put_differences.to_vec();
    on_update.extend([
        (
            ".properties.diagnostics.logAnalytics.logType",
            "echoed as accepted; the example's 200 leaves out what its request sent",
        ),
        (".properties.diagnostics.logAnalytics.metadata", "the same"),
    ]);
    let mut update_allowed = allowed("", &on_update);
    update_allowed.retain(|(p, _)| p != ".properties.isCreatedFromStandbyPool");
    assert_example(
        "PUT 200",
        &recorded["responses"]["200"]["body"],
        &updated.json(),
        &update_allowed,
    );
    emu.shutdown().await;
}

/// The operation status resource, as decoded from recorded traffic (arm-aci 3.10): `id`,
/// `status`, `startTime`, `properties.events` (`Pulling`, `Pulled`, `Created`, `Started` when
/// it succeeded); no `endTime`, no `name`.
#[tokio::test]
async fn the_operation_status_equals_the_recorded_body() {
    let emu = Emulator::start(config()).await.unwrap();
    let arm = Arm::new(&emu).await;
    let path = cg("demo", "demo1");
    let mut body = example_group_body("nginx");
    body["properties"]["containers"][0]["properties"]["command"] = json!(["sleep", "300"]);
    let put = arm.put(&path, &body).await;
    let url = put.header("azure-asyncoperation").unwrap().to_string();
    arm.wait_for(&path, "Succeeded", |v| prov(v) == "Succeeded")
        .await;
    let status = arm.get(&url).await;
    assert_eq!(status.status, 200);
    let event = |name: &str, message: &str| json!({"count": 1, "firstTimestamp": "t", "lastTimestamp": "t", "name": name, "message": message, "type": "Normal"});
    let recorded = json!({
        "id": format!("/subscriptions/x/resourceGroups/demo/providers/{CG_TYPE}/demo1"),
        "status": "Succeeded",
        "startTime": "2022-01-04T03:06:13.0238998Z",
        "properties": {"events": [
            event("Pulling", "pulling image \"nginx\""),
            event("Pulled", "Successfully pulled image \"nginx\""),
            event("Created", "Created container"),
            event("Started", "Started container"),
        ]},
    });
    let mut got = status.json();
    for e in got["properties"]["events"].as_array_mut().unwrap() {
        e["firstTimestamp"] = json!("t");
        e["lastTimestamp"] = json!("t");
    }
    assert_example("operation status", &recorded, &got, &[]);
    assert!(
        status.header("retry-after").is_none(),
        "no Retry-After once it ended"
    );
    arm.delete_and_wait(&path).await;
    emu.shutdown().await;
}
