//! Parsing tests: defaults, both name styles, type errors, Airflow's rules
//! and their order.

use serde_json::{json, Value};

use super::*;

fn base() -> Value {
    json!({
        "ci_conn_id": "azure_default",
        "resource_group": "resource-group",
        "name": "container-name",
        "image": "container-image",
        "region": "region",
    })
}

fn with(extra: Value) -> Value {
    let mut v = base();
    for (k, e) in extra.as_object().unwrap() {
        v[k] = e.clone();
    }
    v
}

fn err(v: Value) -> String {
    match from_value(&v) {
        Err(Error::InvalidParams(m)) => m,
        other => panic!("expected InvalidParams for {v}, got {other:?}"),
    }
}

#[test]
fn airflow_defaults() {
    let p = from_value(&base()).unwrap();
    assert_eq!(p.ci_conn_id, "azure_default");
    assert_eq!(p.memory_in_gb, 2.0);
    assert_eq!(p.cpu, 1.0);
    assert_eq!(p.os_type, "Linux");
    assert_eq!(p.restart_policy, "Never");
    assert_eq!(p.priority, "Regular");
    assert!(p.remove_on_error && p.remove_on_success && p.fail_if_exists);
    assert_eq!(p.xcom_all, None);
    assert_eq!(p.polling_interval, 30.0);
    assert_eq!(p.container_timeout, None);
    assert!(
        p.environment_variables.is_empty()
            && p.secured_variables.is_empty()
            && p.volumes.is_empty()
    );
    assert!(
        p.registry_conn_id.is_none() && p.gpu.is_none() && p.command.is_none() && p.tags.is_none()
    );
    assert!(p.ip_address.is_none() && p.ports.is_empty() && p.subnet_ids.is_empty());
    assert!(p.dns_config.is_none() && p.diagnostics.is_none() && p.identity.is_none());
    assert!(!p.deferrable);
}

#[test]
fn parses_from_a_json_string() {
    let p = parse(&base().to_string()).unwrap();
    assert_eq!(p.name, "container-name");
    assert!(parse("{not json")
        .unwrap_err()
        .to_string()
        .starts_with("params are not valid JSON"));
    assert_eq!(
        err(json!([1])),
        "params must be a table/object, found array"
    );
}

#[test]
fn memory_and_cpu_use_python_or_semantics() {
    for falsy in [json!(null), json!(0), json!(0.0), json!(false), json!("")] {
        let p = from_value(&with(json!({"memory_in_gb": falsy, "cpu": falsy}))).unwrap();
        assert_eq!((p.memory_in_gb, p.cpu), (2.0, 1.0), "{falsy}");
    }
    let p = from_value(&with(json!({"memory_in_gb": 1.5, "cpu": 4}))).unwrap();
    assert_eq!((p.memory_in_gb, p.cpu), (1.5, 4.0));
    assert_eq!(
        err(with(json!({"memory_in_gb": "x"}))),
        "memory_in_gb must be a number, found string \"x\""
    );
    assert_eq!(
        err(with(json!({"cpu": true}))),
        "cpu must be a number, found boolean true"
    );
    assert_eq!(
        err(with(json!({"cpu": -1}))),
        "cpu must be greater than 0, found -1"
    );
}

#[test]
fn required_params() {
    for key in REQUIRED {
        let mut v = base();
        v.as_object_mut().unwrap().remove(key);
        assert_eq!(err(v), format!("missing required parameter `{key}`"));
        let mut v = base();
        v[key] = Value::Null;
        assert_eq!(err(v), format!("missing required parameter `{key}`"));
    }
    assert_eq!(
        err(with(json!({"image": 5}))),
        "image must be a string, found number 5"
    );
    assert_eq!(err(with(json!({"region": ""}))), "region must not be empty");
    // An empty name is Airflow's name-pattern error.
    assert_eq!(
        err(with(json!({"name": ""}))),
        validate::NAME_PATTERN_MESSAGE
    );
}

#[test]
fn unknown_keys_are_named_with_suggestions() {
    assert_eq!(
        err(with(json!({"memroy_in_gb": 2}))),
        "unknown parameter `memroy_in_gb`; did you mean `memory_in_gb`?"
    );
    assert_eq!(
        err(with(json!({"restartPolicy": "Never"}))),
        "unknown parameter `restartPolicy`; did you mean `restart_policy`?"
    );
    assert_eq!(
        err(with(json!({"execution_timeout": 5}))),
        "unknown parameter `execution_timeout`"
    );
    assert_eq!(
        err(with(json!({"containerTimeout": 5}))),
        "unknown parameter `containerTimeout`; did you mean `container_timeout`?"
    );
}

// Airflow test 11 / 12 and the priority rule.
#[test]
fn airflow_constructor_messages() {
    assert_eq!(
        err(with(json!({"os_type": "MacOs"}))),
        "Invalid value for the os_type argument. Please set 'Linux' or 'Windows' as the os_type. Found `MacOs`."
    );
    assert_eq!(
        err(with(json!({"restart_policy": "Everyday"}))),
        "Invalid value for the restart_policy argument. Please set one of 'Always', 'OnFailure','Never' as the restart_policy. Found `Everyday`"
    );
    assert_eq!(
        err(with(json!({"priority": "Low"}))),
        "Invalid value for the priority argument. Please set 'Regular' or 'Spot' as the priority. Found `Low`."
    );
    assert_eq!(
        err(with(json!({"priority": null}))),
        "Invalid value for the priority argument. Please set 'Regular' or 'Spot' as the priority. Found `None`."
    );
    assert_eq!(
        err(with(json!({"identity": {"resource_ids": []}}))),
        validate::IDENTITY_TYPE_MESSAGE
    );
    assert_eq!(
        err(with(
            json!({"identity": {"type": "UserAssigned", "resource_ids": "/subscriptions/x"}})
        )),
        validate::IDENTITY_RESOURCE_IDS_MESSAGE
    );
}

#[test]
fn airflow_rule_order_is_os_type_restart_policy_identity_priority_then_name() {
    let all_bad = json!({
        "os_type": "MacOs", "restart_policy": "Everyday", "identity": {}, "priority": "Low", "name": "Bad_Name"
    });
    assert!(err(with(all_bad.clone())).contains("os_type"));
    let mut v = all_bad.clone();
    v.as_object_mut().unwrap().remove("os_type");
    assert!(err(with(v.clone())).contains("restart_policy"));
    v.as_object_mut().unwrap().remove("restart_policy");
    assert_eq!(err(with(v.clone())), validate::IDENTITY_TYPE_MESSAGE);
    v.as_object_mut().unwrap().remove("identity");
    assert!(err(with(v.clone())).contains("priority"));
    v.as_object_mut().unwrap().remove("priority");
    assert_eq!(err(with(v)), validate::NAME_PATTERN_MESSAGE);
}

// Airflow test_name_checker, through the full parser.
#[test]
fn name_check_through_parse() {
    for ok in ["test-dash".to_string(), "name-with-length---63".repeat(3)] {
        assert!(from_value(&with(json!({"name": ok}))).is_ok(), "{ok}");
    }
    for bad in [
        "test_underscore".to_string(),
        "name-ending-with-dash-".into(),
        "-name-starting-with-dash".into(),
    ] {
        assert_eq!(
            err(with(json!({"name": bad}))),
            validate::NAME_PATTERN_MESSAGE
        );
    }
    assert_eq!(
        err(with(json!({"name": "name-with-length---84".repeat(4)}))),
        validate::NAME_LENGTH_MESSAGE
    );
}

#[test]
fn environment_variables_keep_order_and_convert_numbers() {
    let p = from_value(&with(json!({
        "environment_variables": {"B": "2", "A": 1, "C": "x"},
        "secured_variables": ["A"]
    })))
    .unwrap();
    let names: Vec<_> = p
        .environment_variables
        .iter()
        .map(|e| e.name.as_str())
        .collect();
    assert_eq!(names, ["B", "A", "C"]);
    assert_eq!(p.environment_variables[1].value, "1");
    assert_eq!(p.secured_variables, ["A"]);
    assert!(
        !format!("{p:?}").contains("\"x\""),
        "Debug must hide env values"
    );
    let e = err(with(json!({"environment_variables": {"FLAG": true}})));
    assert!(
        e.starts_with("environment_variables.FLAG must be a string, found boolean true"),
        "{e}"
    );
    assert_eq!(
        err(with(json!({"environment_variables": ["A=1"]}))),
        "environment_variables must be a table/object, found array"
    );
    let p = from_value(&with(json!({"secured_variables": "TOKEN"}))).unwrap();
    assert_eq!(p.secured_variables, ["TOKEN"]);
}

#[test]
fn command_must_be_a_list() {
    let p = from_value(&with(json!({"command": ["sh", "-c", "exit 3"]}))).unwrap();
    assert_eq!(p.command.unwrap(), ["sh", "-c", "exit 3"]);
    assert_eq!(
        err(with(json!({"command": "echo hi"}))),
        "command must be a list, found string \"echo hi\""
    );
    assert_eq!(
        err(with(json!({"command": ["a", ["b"]]}))),
        "command[1] must be a string, found array"
    );
}

#[test]
fn booleans_and_optionals() {
    assert_eq!(
        err(with(json!({"remove_on_error": "no"}))),
        "remove_on_error must be a boolean (true or false), found string \"no\""
    );
    assert_eq!(
        err(with(json!({"xcom_all": 1}))),
        "xcom_all must be a boolean (true or false), found number 1"
    );
    assert_eq!(
        from_value(&with(json!({"xcom_all": false})))
            .unwrap()
            .xcom_all,
        Some(false)
    );
    assert_eq!(
        from_value(&with(json!({"xcom_all": null})))
            .unwrap()
            .xcom_all,
        None
    );
    assert_eq!(
        from_value(&with(json!({"registry_conn_id": ""})))
            .unwrap()
            .registry_conn_id,
        None
    );
    assert_eq!(
        from_value(&with(json!({"registry_conn_id": "acr"})))
            .unwrap()
            .registry_conn_id
            .as_deref(),
        Some("acr")
    );
    assert_eq!(
        err(with(json!({"polling_interval": 0}))),
        "polling_interval must be greater than 0, found 0"
    );
    assert_eq!(
        from_value(&with(json!({"polling_interval": 10.0})))
            .unwrap()
            .polling_interval,
        10.0
    );
}

#[test]
fn container_timeout_forms() {
    let t = |v: Value| {
        from_value(&with(json!({"container_timeout": v})))
            .unwrap()
            .container_timeout
            .unwrap()
            .as_secs()
    };
    assert_eq!(t(json!(60)), 60);
    assert_eq!(t(json!("1h30m")), 5400);
    assert_eq!(t(json!("PT1H")), 3600);
    assert!(from_value(&with(json!({"container_timeout": null})))
        .unwrap()
        .container_timeout
        .is_none());
    assert!(
        err(with(json!({"container_timeout": "later"}))).starts_with("container_timeout must be")
    );
}

#[test]
fn nested_objects_take_both_name_styles() {
    let snake = from_value(&with(json!({
        "dns_config": {"name_servers": ["10.0.0.10"]},
        "diagnostics": {"log_analytics": {"workspace_id": "w", "workspace_key": "k"}},
        "identity": {"type": "UserAssigned", "resource_ids": ["/subscriptions/s/rg/id"]},
        "ip_address": {"type": "Public", "ports": [{"port": 8080}], "dns_name_label": "lbl"},
        "gpu": {"count": 1, "sku": "V100"},
        "subnet_ids": [{"id": "/subscriptions/s/resourceGroups/r/providers/Microsoft.Network/virtualNetworks/v/subnets/a"}]
    })))
    .unwrap();
    let camel = from_value(&with(json!({
        "dns_config": {"nameServers": ["10.0.0.10"]},
        "diagnostics": {"logAnalytics": {"workspaceId": "w", "workspaceKey": "k"}},
        "identity": {"type": "UserAssigned", "userAssignedIdentities": {"/subscriptions/s/rg/id": {}}},
        "ip_address": {"type": "Public", "ports": [{"port": 8080}], "dnsNameLabel": "lbl"},
        "gpu": {"count": 1, "sku": "V100"},
        "subnet_ids": ["/subscriptions/s/resourceGroups/r/providers/Microsoft.Network/virtualNetworks/v/subnets/a"]
    })))
    .unwrap();
    assert_eq!(snake, camel);
}

#[test]
fn nested_type_errors_name_the_path() {
    assert_eq!(
        err(with(json!({"dns_config": {"name_servers": [1, {}]}}))),
        "dns_config.name_servers[1] must be a string, found table/object"
    );
    assert_eq!(
        err(with(json!({"gpu": {"count": "1", "sku": "K80"}}))),
        "gpu.count must be an integer, found string \"1\""
    );
    assert_eq!(
        err(with(json!({"volumes": [["c", "a", "s", "/m"]]})))
            .split(',')
            .next()
            .unwrap(),
        "volumes[0] must have exactly 5 elements [conn_id"
    );
    assert_eq!(
        err(with(json!({"ports": [{"port": 80, "proto": "TCP"}]}))),
        "unknown key `ports[0].proto`; did you mean `protocol`?"
    );
}

#[test]
fn network_profile_maps_to_subnet_or_is_rejected() {
    let subnet =
        "/subscriptions/s/resourceGroups/r/providers/Microsoft.Network/virtualNetworks/v/subnets/a";
    let p = from_value(&with(json!({"network_profile": {"id": subnet}}))).unwrap();
    assert_eq!(p.subnet_ids.len(), 1);
    assert_eq!(p.subnet_ids[0].id, subnet);
    let p = from_value(&with(
        json!({"network_profile": subnet, "subnet_ids": [subnet]}),
    ))
    .unwrap();
    assert_eq!(p.subnet_ids.len(), 1, "no duplicate subnet");
    let e = err(with(
        json!({"network_profile": {"id": "/subscriptions/s/resourceGroups/r/providers/Microsoft.Network/networkProfiles/p"}}),
    ));
    assert!(
        e.starts_with("network_profile is no longer supported"),
        "{e}"
    );
}

#[test]
fn volumes_in_both_forms() {
    let p = from_value(&with(json!({"volumes": [
        ["wasb", "acct", "share", "/mnt/a", false],
        {"conn_id": "wasb", "account_name": "acct", "share_name": "s2", "mount_path": "/mnt/b", "read_only": true}
    ]})))
    .unwrap();
    assert_eq!(p.volumes.len(), 2);
    assert_eq!(p.volumes[1].share_name, "s2");
    assert!(p.volumes[1].read_only);
}

#[test]
fn tags_rules() {
    let p = from_value(&with(json!({"tags": {"testKey": "testValue", "n": 5}}))).unwrap();
    assert_eq!(
        p.tags.unwrap(),
        vec![
            ("testKey".into(), "testValue".into()),
            ("n".into(), "5".into())
        ]
    );
    assert!(err(with(json!({"tags": {"aci-runner-dag": "x"}}))).contains("reserved"));
    assert!(err(with(json!({"tags": {"a/b": "x"}}))).contains("not a valid Azure tag name"));
    let many: serde_json::Map<String, Value> =
        (0..46).map(|i| (format!("k{i}"), json!("v"))).collect();
    assert!(err(with(json!({"tags": many}))).starts_with("tags: at most 45 tags"));
}

#[test]
fn resource_group_is_checked() {
    assert!(err(with(json!({"resource_group": "a/b"})))
        .starts_with("resource_group must be 1-90 characters"));
}
