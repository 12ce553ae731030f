//! Answers have the JSON shape of the recorded ARM examples in `testdata/arm-examples/`.

use crate::common::*;

pub(crate) fn example(name: &str) -> Value {
    let p = format!(
        "{}/../testdata/arm-examples/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{p}: {e}")))
        .unwrap()
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Every field of `example` exists in `actual` with the same JSON type, recursively (array
/// elements are compared with the element at the same index, or the last one).
fn shape_diff(example: &Value, actual: &Value, path: &str, out: &mut Vec<String>) {
    match (example, actual) {
        (Value::Object(e), Value::Object(a)) => {
            for (k, ev) in e {
                match a.get(k) {
                    Some(av) => shape_diff(ev, av, &format!("{path}.{k}"), out),
                    None => out.push(format!("{path}.{k} missing")),
                }
            }
        }
        (Value::Array(e), Value::Array(a)) => {
            for (i, ev) in e.iter().enumerate() {
                match a.get(i).or(a.last()) {
                    Some(av) => shape_diff(ev, av, &format!("{path}[{i}]"), out),
                    None => out.push(format!("{path}[{i}] missing (empty array)")),
                }
            }
        }
        (e, a) if kind(e) != kind(a) => out.push(format!(
            "{path}: {} in the example, {} here",
            kind(e),
            kind(a)
        )),
        _ => {}
    }
}

fn assert_shape(example: &Value, actual: &Value, what: &str) {
    let mut diffs = Vec::new();
    shape_diff(example, actual, "", &mut diffs);
    assert!(
        diffs.is_empty(),
        "{what}: shape differs from the recorded example:\n{}\nactual: {actual:#}",
        diffs.join("\n")
    );
}

#[test]
fn shape_comparator_reports_differences() {
    let ex = json!({"a": {"b": [{"c": 1, "d": "x"}]}, "e": true});
    let mut out = Vec::new();
    shape_diff(
        &ex,
        &json!({"a": {"b": [{"c": 2.5, "d": "y", "extra": 1}]}, "e": false, "f": 0}),
        "",
        &mut out,
    );
    assert!(out.is_empty(), "{out:?}");
    shape_diff(
        &ex,
        &json!({"a": {"b": [{"c": "1"}]}, "e": true}),
        "",
        &mut out,
    );
    assert_eq!(
        out,
        vec![
            ".a.b[0].c: number in the example, string here",
            ".a.b[0].d missing"
        ]
    );
    out.clear();
    shape_diff(&ex, &json!({"a": {"b": []}}), "", &mut out);
    assert_eq!(out, vec![".a.b[0] missing (empty array)", ".e missing"]);
}

/// The container group of the Get/List/Delete examples, as a PUT body.
pub(crate) fn example_group_body(image: &str) -> Value {
    json!({
        "location": "westus",
        "zones": ["1"],
        "properties": {
            "containers": [{"name": "demo1", "properties": {
                "command": [], "environmentVariables": [], "image": image,
                "ports": [{"port": 80}],
                "resources": {"requests": {"cpu": 1, "memoryInGB": 1.5}},
                "volumeMounts": [{"name": "volume1", "mountPath": "/mnt/volume1", "readOnly": false}]
            }}],
            "imageRegistryCredentials": [{"server": "azcloudconsoleregistry.azurecr.io", "username": "azcloudconsoleregistry", "password": "pw-secret"}],
            "ipAddress": {"type": "Public", "ports": [{"port": 80, "protocol": "TCP"}]},
            "osType": "Linux",
            "volumes": [{"name": "volume1", "azureFile": {"readOnly": false, "shareName": "share1", "storageAccountName": "storage1", "storageAccountKey": "key"}}]
        }
    })
}

/// An emulator deleting synchronously with the examples' group `demo/demo1` (image nginx)
/// provisioned: the emulator, a client, the group's path and its GET.
pub(crate) async fn examples_group() -> (Emulator, Arm, String, Value) {
    let emu = Emulator::start(EmulatorConfig {
        sync_delete: true,
        ..config()
    })
    .await
    .unwrap();
    let arm = Arm::new(&emu).await;
    let path = cg("demo", "demo1");
    assert_eq!(
        arm.put(&path, &example_group_body("nginx")).await.status,
        201
    );
    let got = arm
        .wait_for(&path, "Succeeded", |v| prov(v) == "Succeeded")
        .await;
    (emu, arm, path, got)
}

/// GET, lists, PATCH, usage, capabilities, logs and (synchronous) DELETE of a running group.
#[tokio::test]
async fn get_list_patch_logs_and_delete_have_the_recorded_shapes() {
    let (emu, arm, path, got) = examples_group().await;
    let ok = |name: &str| example(name)["responses"]["200"]["body"].clone();

    // Get succeeded / list / list by resource group / delete.
    assert_shape(&ok("ContainerGroupsGet_Succeeded"), &got, "GET");
    let list = arm
        .get(&format!("/subscriptions/{LOCAL_SUBSCRIPTION_ID}/providers/Microsoft.ContainerInstance/containerGroups"))
        .await
        .json();
    assert_shape(&ok("ContainerGroupsList"), &list, "List");
    let list = arm.get(&format!("/subscriptions/{LOCAL_SUBSCRIPTION_ID}/resourceGroups/demo/providers/Microsoft.ContainerInstance/containerGroups")).await.json();
    assert_shape(
        &ok("ContainerGroupsListByResourceGroup"),
        &list,
        "ListByResourceGroup",
    );
    let patched = arm
        .call(
            "PATCH",
            &path,
            Some(&json!({"tags": {"tag1key": "tag1Value", "tag2key": "tag2Value"}})),
        )
        .await;
    assert_eq!(patched.status, 200);
    let mut update_example = ok("ContainerGroupsUpdate");
    // That example's group has more volumes than the GET one; compare the common part.
    update_example["properties"]["volumes"] =
        ok("ContainerGroupsGet_Succeeded")["properties"]["volumes"].clone();
    update_example["properties"]["containers"][0]["properties"]["volumeMounts"] =
        ok("ContainerGroupsGet_Succeeded")["properties"]["containers"][0]["properties"]
            ["volumeMounts"]
            .clone();
    update_example["properties"]["ipAddress"] =
        ok("ContainerGroupsGet_Succeeded")["properties"]["ipAddress"].clone();
    assert_shape(&update_example, &patched.json(), "PATCH");
    assert_eq!(patched.json()["tags"]["tag1key"], "tag1Value");

    // Usage, capabilities, logs, exec, attach.
    let usage = arm
        .get(&format!(
            "/subscriptions/{LOCAL_SUBSCRIPTION_ID}/providers/Microsoft.ContainerInstance/locations/westus/usages"
        ))
        .await
        .json();
    assert_shape(&ok("ContainerGroupUsage"), &usage, "Usage");
    let caps = arm.get(&format!("/subscriptions/{LOCAL_SUBSCRIPTION_ID}/providers/Microsoft.ContainerInstance/locations/westus/capabilities")).await.json();
    assert_shape(&ok("CapabilitiesList"), &caps, "Capabilities");
    let logs = arm
        .get(&format!("{path}/containers/demo1/logs?tail=10"))
        .await
        .json();
    assert_shape(&ok("ContainerListLogs"), &logs, "Logs");

    let del = arm
        .put_when_ready(&path, &example_group_body("nginx"))
        .await;
    assert_eq!(del.status, 200);
    arm.wait_for(&path, "Succeeded again", |v| prov(v) == "Succeeded")
        .await;
    let deleted = arm.delete(&path).await;
    assert_eq!(deleted.status, 200);
    assert_shape(&ok("ContainerGroupsDelete"), &deleted.json(), "DELETE");
    assert!(!deleted.text().contains("pw-secret"));
    emu.shutdown().await;
}

/// Exec and attach answers (they need a running container).
#[tokio::test]
async fn exec_and_attach_have_the_recorded_shapes() {
    let emu = Emulator::start(config()).await.unwrap();
    let arm = Arm::new(&emu).await;
    let ok = |name: &str| example(name)["responses"]["200"]["body"].clone();

    // Exec and attach need a running container.
    let svc = cg("demo", "demo5");
    let mut body = example_group_body("nginx");
    body["properties"]["containers"][0]["properties"]["command"] = json!(["sleep", "300"]);
    assert_eq!(arm.put(&svc, &body).await.status, 201);
    arm.wait_for(&svc, "container running", |v| {
        current(v)["state"] == "Running"
    })
    .await;
    let exec = arm
        .call(
            "POST",
            &format!("{svc}/containers/demo1/exec"),
            Some(&json!({"command": "/bin/sh", "terminalSize": {"cols": 12, "rows": 12}})),
        )
        .await;
    assert_eq!(exec.status, 200, "{}", exec.text());
    assert_shape(&ok("ContainerExec"), &exec.json(), "Exec");
    let attach = arm.post(&format!("{svc}/containers/demo1/attach")).await;
    assert_eq!(attach.status, 200, "{}", attach.text());
    assert_shape(&ok("ContainerAttach"), &attach.json(), "Attach");
    arm.delete_and_wait(&svc).await;
    emu.shutdown().await;
}

/// GET of a group whose provisioning failed.
#[tokio::test]
async fn a_failed_group_has_the_recorded_shape() {
    let emu = Emulator::start(config()).await.unwrap();
    let arm = Arm::new(&emu).await;
    let ok = |name: &str| example(name)["responses"]["200"]["body"].clone();

    // Get failed (a provisioning failure).
    let failed_path = cg("demo", "demo2");
    assert_eq!(
        arm.put(&failed_path, &example_group_body("nginx-nocapacity"))
            .await
            .status,
        201
    );
    let failed = arm
        .wait_for(&failed_path, "Failed", |v| prov(v) == "Failed")
        .await;
    let mut failed_example = ok("ContainerGroupsGet_Failed");
    failed_example["name"] = json!("demo2");
    assert_shape(&failed_example, &failed, "GET failed");
    emu.shutdown().await;
}

/// PUT 201 and 200 with the full example body.
#[tokio::test]
async fn create_or_update_has_the_recorded_shapes() {
    let emu = Emulator::start(config()).await.unwrap();
    let arm = Arm::new(&emu).await;

    // Create or update (the full example body, with zones in the body).
    let create = example("ContainerGroupsCreateOrUpdate");
    let mut body = create["parameters"]["containerGroup"].clone();
    body["zones"] = json!(["1"]);
    // The example's subnet id is an ARM template expression; any string is accepted.
    let r = arm.put(&cg("demo", "demo3"), &body).await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert_shape(&create["responses"]["201"]["body"], &r.json(), "PUT 201");
    for secret in ["accountKey", "workspaceKey\"", "SecretValue1InBase64"] {
        assert!(!r.text().contains(secret), "{secret} echoed");
    }
    arm.wait_for(&cg("demo", "demo3"), "demo3 Succeeded", |v| {
        prov(v) == "Succeeded"
    })
    .await;
    let r = arm.put_when_ready(&cg("demo", "demo3"), &body).await;
    assert_eq!(r.status, 200);
    assert_shape(&create["responses"]["200"]["body"], &r.json(), "PUT 200");
    emu.shutdown().await;
}

/// PUT and GET of a finished Spot job.
#[tokio::test]
async fn a_priority_group_has_the_recorded_shapes() {
    let emu = Emulator::start(config()).await.unwrap();
    let arm = Arm::new(&emu).await;
    let ok = |name: &str| example(name)["responses"]["200"]["body"].clone();

    // Get with priority: a finished Spot job.
    let prio = example("ContainerGroupsCreatePriority");
    let mut body = prio["parameters"]["containerGroup"].clone();
    body["properties"]["containers"][0]["properties"]["command"] = json!(["/bin/sh", "-c", "true"]);
    let r = arm.put(&cg("demo", "demo4"), &body).await;
    assert_eq!(r.status, 201);
    assert_shape(
        &prio["responses"]["201"]["body"],
        &r.json(),
        "PUT priority 201",
    );
    let done = arm
        .wait_for(&cg("demo", "demo4"), "job Succeeded", |v| {
            state(v) == "Succeeded"
        })
        .await;
    assert_shape(&ok("ContainerGroupsGetPriority"), &done, "GET priority");
    emu.shutdown().await;
}
