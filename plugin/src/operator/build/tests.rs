//! Airflow's operator tests that inspect the built `ContainerGroup`
//! (cases 1, 4, 9, 10, 15–19 of `test_container_instances.py`), as pure tests
//! on the ARM body, plus the other mapping rules.

use serde_json::{json, Value};

use super::*;
use crate::operator::sim::airflow_params as params;

fn ti() -> TaskInstance {
    TaskInstance {
        dag_id: "dag".into(),
        task_id: "task".into(),
        run_id: "manual__2026-01-01T00:00:00+00:00".into(),
        try_number: 1,
        logical_date: String::new(),
        owner: None,
        created: None,
    }
}

fn build(extra: Value) -> Value {
    container_group(&params(extra), &ti(), &Resolved::default())
}

fn container(cg: &Value) -> &Value {
    &cg["properties"]["containers"][0]
}

// 1: test_execute
#[test]
fn airflow_1_execute() {
    let cg = build(json!({"remove_on_error": false}));
    assert_eq!(cg["location"], "region");
    assert!(cg["properties"].get("imageRegistryCredentials").is_none());
    assert_eq!(cg["properties"]["restartPolicy"], "Never");
    assert_eq!(cg["properties"]["osType"], "Linux");
    assert_eq!(container(&cg)["name"], "container-name");
    assert_eq!(container(&cg)["properties"]["image"], "container-image");
    assert_eq!(
        container(&cg)["properties"]["resources"],
        json!({"requests": {"cpu": 1.0, "memoryInGB": 2.0}})
    );
    assert_eq!(cg["properties"]["priority"], "Regular");
    assert!(container(&cg)["properties"].get("ports").is_none());
    assert!(cg["properties"].get("ipAddress").is_none());
}

// 4: test_execute_with_tags
#[test]
fn airflow_4_tags() {
    let cg = build(json!({"tags": {"testKey": "testValue"}}));
    assert_eq!(cg["tags"]["testKey"], "testValue");
    // The task-instance tags are added.
    assert_eq!(cg["tags"][TAG_DAG], "dag");
    assert_eq!(cg["tags"][TAG_TASK], "task");
    assert_eq!(cg["tags"][TAG_RUN], "manual__2026-01-01T00:00:00+00:00");
    assert_eq!(cg["tags"][TAG_TRY], "1");
    assert_eq!(
        cg["tags"][TAG_CREATOR],
        format!("aci-plugin/{}", env!("CARGO_PKG_VERSION"))
    );
    assert_eq!(cg["tags"].as_object().unwrap().len(), 6);
}

// 9: test_execute_with_ipaddress
#[test]
fn airflow_9_ip_address_and_default_port() {
    let p = params(
        json!({"ip_address": {"type": "Public", "ports": [{"port": 8080}], "dns_name_label": "lbl"}}),
    );
    assert!(uses_default_port(&p));
    let cg = container_group(&p, &ti(), &Resolved::default());
    assert_eq!(
        cg["properties"]["ipAddress"],
        json!({"type": "Public", "ports": [{"port": 8080}], "dnsNameLabel": "lbl"})
    );
    // The container listens on Airflow's default port 80.
    assert_eq!(container(&cg)["properties"]["ports"], json!([{"port": 80}]));
    // An IP address without ports exposes the container's ports.
    let cg = build(json!({"ip_address": {"type": "Private"}}));
    assert_eq!(
        cg["properties"]["ipAddress"],
        json!({"type": "Private", "ports": [{"port": 80}]})
    );
    // Explicit ports: no default.
    let cg = build(
        json!({"ip_address": {"type": "Public"}, "ports": [443, {"port": 53, "protocol": "UDP"}]}),
    );
    assert_eq!(
        container(&cg)["properties"]["ports"],
        json!([{"port": 443}, {"port": 53, "protocol": "UDP"}])
    );
    assert_eq!(
        cg["properties"]["ipAddress"]["ports"],
        json!([{"port": 443}, {"port": 53, "protocol": "UDP"}])
    );
}

// 10: test_execute_with_windows_os_and_diff_restart_policy
#[test]
fn airflow_10_windows_and_always() {
    let cg = build(json!({"restart_policy": "Always", "os_type": "Windows"}));
    assert_eq!(cg["properties"]["restartPolicy"], "Always");
    assert_eq!(cg["properties"]["osType"], "Windows");
}

// 15: test_execute_with_dnsconfig
#[test]
fn airflow_15_dns_config() {
    let cg = build(
        json!({"dns_config": {"name_servers": ["10.0.0.10", "10.0.0.11"], "search_domains": "corp.local", "options": "ndots:2"}}),
    );
    assert_eq!(
        cg["properties"]["dnsConfig"],
        json!({"nameServers": ["10.0.0.10", "10.0.0.11"], "searchDomains": "corp.local", "options": "ndots:2"})
    );
}

// 16: test_execute_with_diagnostics
#[test]
fn airflow_16_diagnostics() {
    let cg = build(
        json!({"diagnostics": {"log_analytics": {"workspace_id": "wid", "workspace_key": "wkey", "log_type": "ContainerInsights", "metadata": {"a": "b"}}}}),
    );
    assert_eq!(
        cg["properties"]["diagnostics"],
        json!({"logAnalytics": {"workspaceId": "wid", "workspaceKey": "wkey", "logType": "ContainerInsights", "metadata": {"a": "b"}}})
    );
}

// 17: test_execute_with_spot_discount
#[test]
fn airflow_17_spot() {
    let cg = build(json!({"priority": "Spot"}));
    assert_eq!(cg["properties"]["priority"], "Spot");
    assert_eq!(cg["location"], "region");
    assert_eq!(container(&cg)["name"], "container-name");
}

// 18: test_execute_with_identity (an ARM-shaped identity passes through)
#[test]
fn airflow_18_identity_passthrough() {
    let rid = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id";
    let cg = build(
        json!({"identity": {"type": "SystemAssigned, UserAssigned", "userAssignedIdentities": {rid: {}}}}),
    );
    assert_eq!(
        cg["identity"],
        json!({"type": "SystemAssigned, UserAssigned", "userAssignedIdentities": {rid: {}}})
    );
    let cg = build(json!({"identity": {"type": "SystemAssigned"}}));
    assert_eq!(cg["identity"], json!({"type": "SystemAssigned"}));
}

// 19: test_execute_with_identity_dict
#[test]
fn airflow_19_identity_dict() {
    let rid = "/subscriptions/00000000-0000-0000-0000-00000000000/resourceGroups/my_rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/my_identity";
    let cg = build(json!({"identity": {"type": "UserAssigned", "resource_ids": [rid]}}));
    assert_eq!(cg["identity"]["type"], "UserAssigned");
    assert!(cg["identity"]["userAssignedIdentities"].get(rid).is_some());
}

#[test]
fn environment_variables_secured_as_secure_value_in_order() {
    let cg = build(json!({
        "environment_variables": {"MODE": "batch", "TOKEN": "s3cr3t", "N": 5},
        "secured_variables": ["TOKEN"]
    }));
    assert_eq!(
        container(&cg)["properties"]["environmentVariables"],
        json!([{"name": "MODE", "value": "batch"}, {"name": "TOKEN", "secureValue": "s3cr3t"}, {"name": "N", "value": "5"}])
    );
}

#[test]
fn volumes_mount_in_order() {
    let p = params(json!({"volumes": [
        ["wasb", "acct", "share-a", "/mnt/a", false],
        {"conn_id": "wasb", "account_name": "acct", "share_name": "share-b", "mount_path": "/mnt/b", "read_only": true}
    ]}));
    let resolved = Resolved {
        registry_credential: Some(
            json!({"server": "reg.azurecr.io", "username": "u", "password": "p"}),
        ),
        volumes: vec![
            json!({"name": "mount-0", "azureFile": {}}),
            json!({"name": "mount-1", "azureFile": {}}),
        ],
    };
    let cg = container_group(&p, &ti(), &resolved);
    assert_eq!(
        container(&cg)["properties"]["volumeMounts"],
        json!([{"name": "mount-0", "mountPath": "/mnt/a", "readOnly": false}, {"name": "mount-1", "mountPath": "/mnt/b", "readOnly": true}])
    );
    assert_eq!(cg["properties"]["volumes"].as_array().unwrap().len(), 2);
    assert_eq!(
        cg["properties"]["imageRegistryCredentials"],
        json!([{"server": "reg.azurecr.io", "username": "u", "password": "p"}])
    );
    assert_eq!(mount_name(0), "mount-0");
}

#[test]
fn resources_command_gpu_subnets() {
    let subnet =
        "/subscriptions/s/resourceGroups/r/providers/Microsoft.Network/virtualNetworks/v/subnets/a";
    let cg = build(json!({
        "cpu": 2, "memory_in_gb": 3.5, "gpu": {"count": 1, "sku": "V100"},
        "command": ["sh", "-c", "echo hi; exit 3"],
        "subnet_ids": [{"id": subnet, "name": "a"}],
        "network_profile": {"id": subnet}
    }));
    assert_eq!(
        container(&cg)["properties"]["resources"],
        json!({"requests": {"cpu": 2.0, "memoryInGB": 3.5, "gpu": {"count": 1, "sku": "V100"}}})
    );
    assert_eq!(
        container(&cg)["properties"]["command"],
        json!(["sh", "-c", "echo hi; exit 3"])
    );
    assert_eq!(
        cg["properties"]["subnetIds"],
        json!([{"id": subnet, "name": "a"}])
    );
}

#[test]
fn task_tags_identify_the_task_instance() {
    let t = ti();
    let tags: HashMap<String, String> = task_tags(&t).into_iter().collect();
    assert!(same_task(&tags, &t));
    let retry = TaskInstance {
        try_number: 2,
        ..ti()
    };
    assert!(
        same_task(&tags, &retry),
        "a retry of the same run is the same task instance"
    );
    let other_run = TaskInstance {
        run_id: "other".into(),
        ..ti()
    };
    assert!(!same_task(&tags, &other_run));
    let mut foreign = tags.clone();
    foreign.remove(TAG_CREATOR);
    assert!(
        !same_task(&foreign, &t),
        "groups we did not create are never ours"
    );
    let long = TaskInstance {
        run_id: "r".repeat(400),
        ..ti()
    };
    let tags: HashMap<String, String> = task_tags(&long).into_iter().collect();
    assert_eq!(tags[TAG_RUN].len(), 256);
    assert!(same_task(&tags, &long));
}

#[test]
fn owner_and_creation_time_are_tagged_when_known() {
    let t = TaskInstance {
        owner: Some("host:boot:4026531836/4242.99".into()),
        created: Some(1_795_000_000),
        ..ti()
    };
    let tags: HashMap<String, String> = task_tags(&t).into_iter().collect();
    assert_eq!(tags[TAG_OWNER], "host:boot:4026531836/4242.99");
    assert_eq!(tags[TAG_CREATED], "2026-11-18T11:06:40Z");
    let untagged: HashMap<String, String> = task_tags(&ti()).into_iter().collect();
    assert!(!untagged.contains_key(TAG_OWNER) && !untagged.contains_key(TAG_CREATED));
    let too_long = TaskInstance {
        owner: Some("x".repeat(300)),
        ..ti()
    };
    let tags: HashMap<String, String> = task_tags(&too_long).into_iter().collect();
    assert!(!tags.contains_key(TAG_OWNER));
}

#[test]
fn rfc3339_round_trips() {
    for unix in [0u64, 951_782_400, 1_795_000_000, 4_102_444_799] {
        let text = format_rfc3339(unix);
        let (back, _) = crate::operator::logs::parse_rfc3339(&text).unwrap();
        assert_eq!(back, unix as i64, "{text}");
    }
    assert_eq!(format_rfc3339(0), "1970-01-01T00:00:00Z");
    assert_eq!(format_rfc3339(951_782_400), "2000-02-29T00:00:00Z");
}
