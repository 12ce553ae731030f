//! The JSON Schema (draft 2020-12) of the parameters object, returned by
//! `describe`. It covers every parameter of the newest Airflow operator plus
//! `container_timeout` and the seed's `network_profile`, with types, defaults,
//! enums and descriptions. Nested objects list both spellings of each field
//! (Azure Python SDK `snake_case` and ARM `camelCase`).

use serde_json::{json, Map, Value};

use super::validate::{MAX_NAME_LEN, OS_TYPES, PRIORITIES, RESTART_POLICIES};
use super::{DEFAULT_CPU, DEFAULT_MEMORY_IN_GB, DEFAULT_POLLING_INTERVAL, REQUIRED};

/// The name pattern Airflow's `_check_name` enforces (anchored).
pub const NAME_PATTERN: &str = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$";

/// The schema as a JSON value.
pub fn params_schema() -> Value {
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "urn:aci-plugin:AzureContainerInstancesOperator:params",
        "title": "AzureContainerInstancesOperator parameters",
        "description": "Keyword arguments of Airflow's AzureContainerInstancesOperator, plus container_timeout and the seed's network_profile. Template fields (name, image, command, environment_variables, volumes) are rendered by the host before validation.",
        "type": "object",
        "required": REQUIRED,
        "additionalProperties": false,
        "properties": properties(),
        "$defs": defs(),
    })
}

/// All parameter schemas, keyed by parameter name.
fn properties() -> Map<String, Value> {
    let mut m = target_props();
    m.extend(resource_props());
    m.extend(network_props());
    m
}

/// Where the group runs and what it runs.
fn target_props() -> Map<String, Value> {
    let v = json!({
        "ci_conn_id": {
            "type": "string", "minLength": 1,
            "description": "Connection id of the Azure Container Instances (ARM) connection."
        },
        "resource_group": {
            "type": "string", "minLength": 1, "maxLength": 90,
            "description": "Resource group of the container group: letters, digits, '-', '_', '.', '(' and ')', not ending with '.'."
        },
        "name": {
            "type": "string", "pattern": NAME_PATTERN, "maxLength": MAX_NAME_LEN,
            "description": "Container group name, also the container's name. Lower-case letters, digits and inner hyphens, at most 63 characters. Templated. Must be unique for parallel runs."
        },
        "image": {
            "type": "string", "minLength": 1,
            "description": "Container image, e.g. `myreg.azurecr.io/app:1.2`. Templated."
        },
        "region": {
            "type": "string", "minLength": 1,
            "description": "Azure region of the container group (`ContainerGroup.location`), e.g. `westeurope`."
        },
        "registry_conn_id": {
            "type": ["string", "null"], "default": null,
            "description": "Connection id of a private container registry (host = server, login, password); its credentials are sent as imageRegistryCredentials."
        },
        "environment_variables": {
            "type": ["object", "null"], "default": {},
            "additionalProperties": {"type": ["string", "number"]},
            "description": "Environment variables of the container (name -> value, order kept). Templated."
        },
        "secured_variables": {
            "type": ["array", "string", "null"], "default": [],
            "items": {"type": "string"},
            "description": "Names of environment_variables whose values are sent as secureValue (never shown by ARM). A single string is one name."
        },
        "volumes": {
            "type": ["array", "null"], "default": [],
            "items": {"$ref": "#/$defs/volume"},
            "description": "Azure File shares to mount, each [conn_id, account_name, share_name, mount_path, read_only] or a table with those keys. Mounted as mount-0, mount-1, ... Templated."
        }
    });
    match v {
        Value::Object(m) => m,
        _ => unreachable!("a JSON object literal"),
    }
}

/// Resources, command and lifecycle switches.
fn resource_props() -> Map<String, Value> {
    let v = json!({
        "memory_in_gb": {
            "type": ["number", "null"], "minimum": 0, "default": DEFAULT_MEMORY_IN_GB,
            "description": "Memory request in GB. Null or 0 means the default (2.0), as Python's `or`."
        },
        "cpu": {
            "type": ["number", "null"], "minimum": 0, "default": DEFAULT_CPU,
            "description": "CPU request (cores). Null or 0 means the default (1.0), as Python's `or`."
        },
        "gpu": {
            "oneOf": [{"$ref": "#/$defs/gpu"}, {"type": "null"}], "default": null,
            "description": "GPU request (GpuResource): count and sku."
        },
        "command": {
            "type": ["array", "null"], "default": null,
            "items": {"type": ["string", "number"]},
            "description": "Container command in exec form (replaces the image's ENTRYPOINT), e.g. [\"sh\", \"-c\", \"echo hi\"]. Templated."
        },
        "remove_on_error": {
            "type": "boolean", "default": true,
            "description": "Delete the container group when the run fails (non-zero exit or any error after creation)."
        },
        "remove_on_success": {
            "type": "boolean", "default": true,
            "description": "Delete the container group after a successful run (exit code 0)."
        },
        "fail_if_exists": {
            "type": "boolean", "default": true,
            "description": "Fail with \"Container group exists\" when a group of that name exists. When false an existing group is reused: one still running for the same task instance (same dag/task/run tags) is waited on instead of recreated."
        },
        "tags": {
            "type": ["object", "null"], "default": null,
            "maxProperties": super::MAX_USER_TAGS,
            "additionalProperties": {"type": ["string", "number"], "maxLength": 256},
            "description": "Tags of the container group. The operator adds aci-runner-dag, aci-runner-task, aci-runner-run, aci-runner-try and aci-runner-creator to identify the task instance (keys with that prefix are reserved)."
        },
        "xcom_all": {
            "type": ["boolean", "null"], "default": null,
            "description": "Push container logs to the XCom key `logs`: null = no, true = all lines, false = the last line only (as a 1-element list)."
        }
    });
    match v {
        Value::Object(m) => m,
        _ => unreachable!("a JSON object literal"),
    }
}

/// Networking, identity and the remaining settings.
fn network_props() -> Map<String, Value> {
    let v = json!({
        "os_type": {
            "enum": OS_TYPES, "default": "Linux",
            "description": "Operating system of the container group."
        },
        "restart_policy": {
            "enum": RESTART_POLICIES, "default": "Never",
            "description": "Restart policy of the container group."
        },
        "ip_address": {
            "oneOf": [{"$ref": "#/$defs/ip_address"}, {"type": "null"}], "default": null,
            "description": "IP address of the group (IpAddress). When set and `ports` is empty, the container listens on port 80."
        },
        "ports": {
            "type": ["array", "null"], "default": null,
            "items": {"$ref": "#/$defs/port"},
            "description": "Container ports (ContainerPort), numbers or {port, protocol}."
        },
        "subnet_ids": {
            "type": ["array", "null"], "default": null,
            "items": {"$ref": "#/$defs/subnet"},
            "description": "Subnets for virtual-network integration (ContainerGroupSubnetId): ids or {id, name}."
        },
        "network_profile": {
            "oneOf": [
                {"type": "string"},
                {"type": "object", "properties": {"id": {"type": "string"}}, "required": ["id"], "additionalProperties": false},
                {"type": "null"}
            ],
            "default": null, "deprecated": true,
            "description": "Removed from Airflow (provider 8.0.0); network profiles are retired by Azure. A subnet id given here is mapped to subnet_ids; a network-profile id is rejected."
        },
        "dns_config": {
            "oneOf": [{"$ref": "#/$defs/dns_config"}, {"type": "null"}], "default": null,
            "description": "DNS configuration (DnsConfiguration)."
        },
        "diagnostics": {
            "oneOf": [{"$ref": "#/$defs/diagnostics"}, {"type": "null"}], "default": null,
            "description": "Log Analytics diagnostics (ContainerGroupDiagnostics)."
        },
        "priority": {
            "enum": PRIORITIES, "default": "Regular",
            "description": "Priority of the container group (Spot is cheaper and may be evicted)."
        },
        "identity": {
            "oneOf": [{"$ref": "#/$defs/identity"}, {"type": "null"}], "default": null,
            "description": "Managed identity (ContainerGroupIdentity or a dict normalised as Airflow's _ensure_identity)."
        },
        "deferrable": {
            "type": "boolean", "default": false,
            "description": "Airflow's deferrable mode. The host never blocks a worker while waiting; here it only turns off live log streaming (the logs are printed once, at the end)."
        },
        "polling_interval": {
            "type": "number", "exclusiveMinimum": 0, "default": DEFAULT_POLLING_INTERVAL,
            "description": "Upper bound, in seconds, of the adaptive poll interval (fast while provisioning and starting, backing off for long runs)."
        },
        "container_timeout": {
            "oneOf": [
                {"type": "number", "exclusiveMinimum": 0},
                {"type": "string", "examples": ["3600", "1h30m", "90s", "PT1H30M", "1:30:00"]},
                {"type": "null"}
            ],
            "default": null,
            "description": "Maximum time from creation of the container group to its exit: seconds, or a duration such as \"1h30m\", \"PT1H30M\" or \"1:30:00\". On expiry the group is deleted and the run ends as timed out. Null: no limit."
        }
    });
    match v {
        Value::Object(m) => m,
        _ => unreachable!("a JSON object literal"),
    }
}

/// Nested object schemas referenced with `#/$defs/...`.
fn defs() -> Map<String, Value> {
    let mut m = defs_a();
    m.extend(defs_b());
    m
}

/// Volume, GPU, port, IP address and subnet schemas.
fn defs_a() -> Map<String, Value> {
    let v = json!({
        "volume": {
            "oneOf": [
                {
                    "type": "array", "minItems": 5, "maxItems": 5,
                    "prefixItems": [
                        {"type": "string", "description": "conn_id: storage connection"},
                        {"type": "string", "description": "account_name: storage account"},
                        {"type": "string", "description": "share_name: file share"},
                        {"type": "string", "description": "mount_path: path inside the container"},
                        {"type": ["boolean", "string"], "description": "read_only"}
                    ]
                },
                {
                    "type": "object",
                    "required": ["conn_id", "account_name", "share_name", "mount_path"],
                    "additionalProperties": false,
                    "properties": {
                        "conn_id": {"type": "string", "description": "Storage connection id."},
                        "account_name": {"type": "string", "description": "Storage account name."},
                        "share_name": {"type": "string", "description": "File share name."},
                        "mount_path": {"type": "string", "description": "Mount path inside the container (no ':')."},
                        "read_only": {"type": ["boolean", "string"], "default": false, "description": "Mount read-only."}
                    }
                }
            ]
        },
        "gpu": {
            "type": "object", "required": ["count", "sku"], "additionalProperties": false,
            "properties": {
                "count": {"type": "integer", "minimum": 1, "description": "Number of GPUs."},
                "sku": {"type": "string", "examples": ["K80", "P100", "V100"], "description": "GPU SKU."}
            }
        },
        "port": {
            "oneOf": [
                {"type": "integer", "minimum": 1, "maximum": 65535},
                {
                    "type": "object", "required": ["port"], "additionalProperties": false,
                    "properties": {
                        "port": {"type": "integer", "minimum": 1, "maximum": 65535, "description": "Port number."},
                        "protocol": {"enum": ["TCP", "UDP", "tcp", "udp"], "description": "Protocol."}
                    }
                }
            ]
        },
        "ip_address": {
            "type": "object", "additionalProperties": false,
            "properties": {
                "type": {"enum": ["Public", "Private"], "default": "Public", "description": "Public or private (VNet) address."},
                "ports": {"type": "array", "items": {"$ref": "#/$defs/port"}, "description": "Ports on the IP address; the container's ports when empty."},
                "ip": {"type": "string", "description": "Requested IP address."},
                "dns_name_label": {"type": "string", "description": "DNS name label (SDK name)."},
                "dnsNameLabel": {"type": "string", "description": "DNS name label (ARM name)."},
                "auto_generated_domain_name_label_scope": {"enum": ["Unsecure", "TenantReuse", "SubscriptionReuse", "ResourceGroupReuse", "Noreuse"], "description": "DNS label reuse scope (SDK name)."},
                "autoGeneratedDomainNameLabelScope": {"enum": ["Unsecure", "TenantReuse", "SubscriptionReuse", "ResourceGroupReuse", "Noreuse"], "description": "DNS label reuse scope (ARM name)."}
            }
        }
    });
    match v {
        Value::Object(m) => m,
        _ => unreachable!("a JSON object literal"),
    }
}

/// DNS, diagnostics and identity schemas.
fn defs_b() -> Map<String, Value> {
    let v = json!({
        "subnet": {
            "oneOf": [
                {"type": "string", "description": "Subnet resource id."},
                {
                    "type": "object", "required": ["id"], "additionalProperties": false,
                    "properties": {
                        "id": {"type": "string", "description": "Subnet resource id (/subscriptions/…/virtualNetworks/…/subnets/…)."},
                        "name": {"type": "string", "description": "Subnet name."}
                    }
                }
            ]
        },
        "dns_config": {
            "type": "object", "additionalProperties": false,
            "oneOf": [{"required": ["name_servers"]}, {"required": ["nameServers"]}],
            "properties": {
                "name_servers": {"type": "array", "minItems": 1, "items": {"type": "string"}, "description": "DNS servers (SDK name)."},
                "nameServers": {"type": "array", "minItems": 1, "items": {"type": "string"}, "description": "DNS servers (ARM name)."},
                "search_domains": {"type": ["string", "array"], "items": {"type": "string"}, "description": "Search domains, space-separated or a list (SDK name)."},
                "searchDomains": {"type": ["string", "array"], "items": {"type": "string"}, "description": "Search domains (ARM name)."},
                "options": {"type": "string", "description": "resolv.conf options."}
            }
        },
        "log_analytics": {
            "type": "object", "additionalProperties": false,
            "allOf": [
                {"oneOf": [{"required": ["workspace_id"]}, {"required": ["workspaceId"]}]},
                {"oneOf": [{"required": ["workspace_key"]}, {"required": ["workspaceKey"]}]}
            ],
            "properties": {
                "workspace_id": {"type": "string", "description": "Workspace id (SDK name)."},
                "workspaceId": {"type": "string", "description": "Workspace id (ARM name)."},
                "workspace_key": {"type": "string", "writeOnly": true, "description": "Workspace key, secret (SDK name)."},
                "workspaceKey": {"type": "string", "writeOnly": true, "description": "Workspace key, secret (ARM name)."},
                "log_type": {"enum": ["ContainerInsights", "ContainerInstanceLogs"], "description": "Log type (SDK name)."},
                "logType": {"enum": ["ContainerInsights", "ContainerInstanceLogs"], "description": "Log type (ARM name)."},
                "metadata": {"type": "object", "additionalProperties": {"type": "string"}, "description": "Metadata."},
                "workspace_resource_id": {"type": "string", "writeOnly": true, "description": "Workspace resource id (SDK name)."},
                "workspaceResourceId": {"type": "string", "writeOnly": true, "description": "Workspace resource id (ARM name)."}
            }
        },
        "diagnostics": {
            "type": "object", "additionalProperties": false,
            "oneOf": [{"required": ["log_analytics"]}, {"required": ["logAnalytics"]}],
            "properties": {
                "log_analytics": {"$ref": "#/$defs/log_analytics", "description": "Log Analytics settings (SDK name)."},
                "logAnalytics": {"$ref": "#/$defs/log_analytics", "description": "Log Analytics settings (ARM name)."}
            }
        },
        "identity": {
            "type": "object", "required": ["type"], "additionalProperties": false,
            "properties": {
                "type": {
                    "type": "string",
                    "examples": ["SystemAssigned", "UserAssigned", "SystemAssigned, UserAssigned", "SystemAssigned,UserAssigned", "None"],
                    "description": "Identity type; 'SystemAssigned,UserAssigned' is normalised, other strings pass through."
                },
                "resource_ids": {"type": "array", "items": {"type": "string"}, "description": "User-assigned identity resource ids (Airflow's dict form)."},
                "resourceIds": {"type": "array", "items": {"type": "string"}, "description": "Same as resource_ids."},
                "user_assigned_identities": {"type": "object", "additionalProperties": {"type": ["object", "null"]}, "description": "Resource id -> {} (SDK name)."},
                "userAssignedIdentities": {"type": "object", "additionalProperties": {"type": ["object", "null"]}, "description": "Resource id -> {} (ARM name)."}
            }
        }
    });
    match v {
        Value::Object(m) => m,
        _ => unreachable!("a JSON object literal"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::{from_value, PARAM_NAMES};

    #[test]
    fn schema_is_draft_2020_12_and_closed() {
        let s = params_schema();
        assert_eq!(s["$schema"], "https://json-schema.org/draft/2020-12/schema");
        assert_eq!(s["type"], "object");
        assert_eq!(s["additionalProperties"], false);
        assert_eq!(
            s["required"],
            json!(["ci_conn_id", "resource_group", "name", "image", "region"])
        );
    }

    #[test]
    fn schema_covers_every_param_and_nothing_else() {
        let s = params_schema();
        let props = s["properties"].as_object().unwrap();
        for p in PARAM_NAMES {
            let entry = props.get(p).unwrap_or_else(|| panic!("schema lacks `{p}`"));
            assert!(
                entry["description"].as_str().is_some_and(|d| d.len() > 10),
                "`{p}` lacks a description"
            );
        }
        for k in props.keys() {
            assert!(
                PARAM_NAMES.contains(&k.as_str()),
                "schema has `{k}`, which the parser rejects"
            );
        }
        assert_eq!(props.len(), PARAM_NAMES.len());
    }

    #[test]
    fn every_ref_resolves() {
        let s = params_schema();
        fn walk(v: &Value, root: &Value) {
            match v {
                Value::Object(m) => {
                    if let Some(Value::String(r)) = m.get("$ref") {
                        let name = r.strip_prefix("#/$defs/").expect("local ref");
                        assert!(root["$defs"].get(name).is_some(), "dangling $ref {r}");
                    }
                    m.values().for_each(|c| walk(c, root));
                }
                Value::Array(a) => a.iter().for_each(|c| walk(c, root)),
                _ => {}
            }
        }
        walk(&s, &s);
    }

    #[test]
    fn schema_defaults_match_the_parser() {
        let s = params_schema();
        let p = from_value(&json!({"ci_conn_id": "c", "resource_group": "rg", "name": "n", "image": "i", "region": "r"})).unwrap();
        let d = |k: &str| s["properties"][k]["default"].clone();
        assert_eq!(d("memory_in_gb"), json!(p.memory_in_gb));
        assert_eq!(d("cpu"), json!(p.cpu));
        assert_eq!(d("os_type"), json!(p.os_type));
        assert_eq!(d("restart_policy"), json!(p.restart_policy));
        assert_eq!(d("priority"), json!(p.priority));
        assert_eq!(d("remove_on_error"), json!(p.remove_on_error));
        assert_eq!(d("remove_on_success"), json!(p.remove_on_success));
        assert_eq!(d("fail_if_exists"), json!(p.fail_if_exists));
        assert_eq!(d("deferrable"), json!(p.deferrable));
        assert_eq!(d("polling_interval"), json!(p.polling_interval));
        assert_eq!(d("xcom_all"), Value::Null);
        assert!(p.xcom_all.is_none());
        assert_eq!(d("container_timeout"), Value::Null);
        assert!(p.container_timeout.is_none());
    }

    #[test]
    fn enums_match_airflow() {
        let s = params_schema();
        assert_eq!(
            s["properties"]["os_type"]["enum"],
            json!(["Linux", "Windows"])
        );
        assert_eq!(
            s["properties"]["restart_policy"]["enum"],
            json!(["Always", "OnFailure", "Never"])
        );
        assert_eq!(
            s["properties"]["priority"]["enum"],
            json!(["Regular", "Spot"])
        );
    }
}
