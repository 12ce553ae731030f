//! Parameters → the ARM `ContainerGroup` body, following Airflow's `execute`
//! steps: environment variables (secured ones as `secureValue`), Azure File
//! volumes mounted as `mount-0`, `mount-1`, …, registry credentials,
//! resources (requests only), port 80 by default when an IP address is asked
//! for without ports, and every optional group setting. Tags identifying the
//! task instance are merged over the user's tags.

use std::collections::HashMap;

use serde_json::{json, Map, Value};

use crate::params::{
    DiagnosticsSpec, DnsConfigSpec, IdentitySpec, IpAddressSpec, Params, PortSpec, SubnetSpec,
};

/// Tag: the DAG id.
pub const TAG_DAG: &str = "aci-runner-dag";
/// Tag: the task id.
pub const TAG_TASK: &str = "aci-runner-task";
/// Tag: the run id.
pub const TAG_RUN: &str = "aci-runner-run";
/// Tag: the try number.
pub const TAG_TRY: &str = "aci-runner-try";
/// Tag: who created the group (`aci-plugin/<version>`).
pub const TAG_CREATOR: &str = "aci-runner-creator";
/// Tag: the host process that ran the task (its owner token, see
/// [`crate::hook::sweep`]), when the host gave one.
pub const TAG_OWNER: &str = "aci-runner-owner";
/// Tag: when the group was created, RFC 3339 UTC (`2026-11-23T10:00:00Z`).
pub const TAG_CREATED: &str = "aci-runner-created";
/// The guest environment variable in which the host names the task's owner.
pub const OWNER_ENV: &str = "ORCHESTRATOR_TASK_OWNER";
/// Longest tag value Azure accepts.
const MAX_TAG_VALUE: usize = 256;
/// The port a container listens on when an IP address has no ports (Airflow).
pub const DEFAULT_PORT: i32 = 80;

/// The task instance a group is created for.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TaskInstance {
    /// DAG id (may be empty).
    pub dag_id: String,
    /// Task id.
    pub task_id: String,
    /// Run id.
    pub run_id: String,
    /// Try number (1 for the first try).
    pub try_number: u32,
    /// Logical date (RFC 3339).
    pub logical_date: String,
    /// The host process running the task (its owner token), if the host says.
    pub owner: Option<String>,
    /// When the group is created, seconds since the Unix epoch.
    pub created: Option<u64>,
}

/// What the operator's hooks resolved before the group is built.
#[derive(Debug, Clone, Default)]
pub struct Resolved {
    /// The registry credential (ARM JSON), when `registry_conn_id` is set.
    pub registry_credential: Option<Value>,
    /// One ARM `Volume` per params volume, in order, named `mount-<i>`.
    pub volumes: Vec<Value>,
}

fn truncate(s: &str) -> String {
    s.chars().take(MAX_TAG_VALUE).collect()
}

/// The tags that identify the task instance (and the creator, the owner and
/// the creation time, when known).
pub fn task_tags(ti: &TaskInstance) -> Vec<(String, String)> {
    let mut tags = vec![
        (TAG_DAG.into(), truncate(&ti.dag_id)),
        (TAG_TASK.into(), truncate(&ti.task_id)),
        (TAG_RUN.into(), truncate(&ti.run_id)),
        (TAG_TRY.into(), ti.try_number.to_string()),
        (
            TAG_CREATOR.into(),
            format!("aci-plugin/{}", env!("CARGO_PKG_VERSION")),
        ),
    ];
    // An owner token longer than a tag value could not be matched later.
    if let Some(owner) = ti
        .owner
        .as_ref()
        .filter(|o| o.chars().count() <= MAX_TAG_VALUE)
    {
        tags.push((TAG_OWNER.into(), owner.clone()));
    }
    if let Some(at) = ti.created {
        tags.push((TAG_CREATED.into(), format_rfc3339(at)));
    }
    tags
}

/// The owner token the host put in [`OWNER_ENV`], if it is a usable one.
pub fn owner_from_env() -> Option<String> {
    std::env::var(OWNER_ENV)
        .ok()
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty() && !v.chars().any(char::is_control))
}

/// `YYYY-MM-DDTHH:MM:SSZ` for seconds since the Unix epoch.
pub fn format_rfc3339(unix: u64) -> String {
    let days = (unix / 86_400) as i64;
    let secs = unix % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

/// True when a group's tags say it was created for this task instance (same
/// DAG, task and run; any try).
pub fn same_task(tags: &HashMap<String, String>, ti: &TaskInstance) -> bool {
    let is = |k: &str, v: &str| tags.get(k).map(String::as_str) == Some(truncate(v).as_str());
    tags.contains_key(TAG_CREATOR)
        && is(TAG_DAG, &ti.dag_id)
        && is(TAG_TASK, &ti.task_id)
        && is(TAG_RUN, &ti.run_id)
}

/// The mount name of the `i`-th volume (Airflow: `mount-{len(volumes)}`).
pub fn mount_name(i: usize) -> String {
    format!("mount-{i}")
}

/// True when the container gets Airflow's default port 80
/// (`ip_address and not ports`).
pub fn uses_default_port(p: &Params) -> bool {
    p.ip_address.is_some() && p.ports.is_empty()
}

fn ports_json(ports: &[PortSpec]) -> Value {
    Value::Array(
        ports
            .iter()
            .map(|p| match &p.protocol {
                Some(proto) => json!({"port": p.port, "protocol": proto}),
                None => json!({"port": p.port}),
            })
            .collect(),
    )
}

fn ip_address_json(ip: &IpAddressSpec, container_ports: &[PortSpec]) -> Value {
    // ARM requires ports on the IP address; Airflow's callers pass them. When
    // they are missing, expose the container's ports (80 by default).
    let ports = if ip.ports.is_empty() {
        container_ports
    } else {
        &ip.ports
    };
    let mut m = Map::new();
    m.insert("type".into(), json!(ip.ip_type));
    m.insert("ports".into(), ports_json(ports));
    if let Some(v) = &ip.ip {
        m.insert("ip".into(), json!(v));
    }
    if let Some(v) = &ip.dns_name_label {
        m.insert("dnsNameLabel".into(), json!(v));
    }
    if let Some(v) = &ip.auto_generated_domain_name_label_scope {
        m.insert("autoGeneratedDomainNameLabelScope".into(), json!(v));
    }
    Value::Object(m)
}

/// The ARM `ContainerGroup` body for `p`.
pub fn container_group(p: &Params, ti: &TaskInstance, resolved: &Resolved) -> Value {
    let container_ports: Vec<PortSpec> = if uses_default_port(p) {
        vec![PortSpec {
            port: DEFAULT_PORT,
            protocol: None,
        }]
    } else {
        p.ports.clone()
    };

    let mut group = Map::new();
    group.insert("location".into(), json!(p.region));
    group.insert("tags".into(), tags_json(p, ti));
    if let Some(id) = &p.identity {
        group.insert("identity".into(), identity_json(id));
    }
    group.insert(
        "properties".into(),
        Value::Object(group_properties(p, resolved, &container_ports)),
    );
    Value::Object(group)
}

/// The group's `properties`: its one container and every group setting.
fn group_properties(
    p: &Params,
    resolved: &Resolved,
    container_ports: &[PortSpec],
) -> Map<String, Value> {
    let mut props = Map::new();
    props.insert(
        "containers".into(),
        json!([{"name": p.name, "properties": container_properties(p, container_ports)}]),
    );
    if let Some(cred) = &resolved.registry_credential {
        props.insert("imageRegistryCredentials".into(), json!([cred]));
    }
    props.insert("restartPolicy".into(), json!(p.restart_policy));
    props.insert("osType".into(), json!(p.os_type));
    if let Some(ip) = &p.ip_address {
        props.insert("ipAddress".into(), ip_address_json(ip, container_ports));
    }
    if !resolved.volumes.is_empty() {
        props.insert("volumes".into(), Value::Array(resolved.volumes.clone()));
    }
    if !p.subnet_ids.is_empty() {
        props.insert("subnetIds".into(), subnets_json(&p.subnet_ids));
    }
    if let Some(d) = &p.dns_config {
        props.insert("dnsConfig".into(), dns_config_json(d));
    }
    if let Some(d) = &p.diagnostics {
        props.insert(
            "diagnostics".into(),
            json!({"logAnalytics": log_analytics_json(d)}),
        );
    }
    props.insert("priority".into(), json!(p.priority));
    props
}

/// The container's `properties`: image, command, ports, environment
/// variables (in order; secured ones as `secureValue`), resources and mounts.
fn container_properties(p: &Params, container_ports: &[PortSpec]) -> Map<String, Value> {
    let env: Vec<Value> = p
        .environment_variables
        .iter()
        .map(|e| {
            if p.secured_variables.iter().any(|s| s == &e.name) {
                json!({"name": e.name, "secureValue": e.value})
            } else {
                json!({"name": e.name, "value": e.value})
            }
        })
        .collect();
    let mounts: Vec<Value> = p
        .volumes
        .iter()
        .enumerate()
        .map(|(i, v)| json!({"name": mount_name(i), "mountPath": v.mount_path, "readOnly": v.read_only}))
        .collect();

    let mut requests = Map::new();
    requests.insert("cpu".into(), json!(p.cpu));
    requests.insert("memoryInGB".into(), json!(p.memory_in_gb));
    if let Some(g) = &p.gpu {
        requests.insert("gpu".into(), json!({"count": g.count, "sku": g.sku}));
    }

    let mut cprops = Map::new();
    cprops.insert("image".into(), json!(p.image));
    if let Some(cmd) = p.command.as_ref().filter(|c| !c.is_empty()) {
        cprops.insert("command".into(), json!(cmd));
    }
    if !container_ports.is_empty() {
        cprops.insert("ports".into(), ports_json(container_ports));
    }
    if !env.is_empty() {
        cprops.insert("environmentVariables".into(), Value::Array(env));
    }
    cprops.insert("resources".into(), json!({"requests": requests}));
    if !mounts.is_empty() {
        cprops.insert("volumeMounts".into(), Value::Array(mounts));
    }
    cprops
}

fn subnets_json(subnets: &[SubnetSpec]) -> Value {
    Value::Array(
        subnets
            .iter()
            .map(|s| match &s.name {
                Some(n) => json!({"id": s.id, "name": n}),
                None => json!({"id": s.id}),
            })
            .collect(),
    )
}

fn dns_config_json(d: &DnsConfigSpec) -> Value {
    let mut m = Map::new();
    m.insert("nameServers".into(), json!(d.name_servers));
    if let Some(s) = &d.search_domains {
        m.insert("searchDomains".into(), json!(s));
    }
    if let Some(o) = &d.options {
        m.insert("options".into(), json!(o));
    }
    Value::Object(m)
}

fn log_analytics_json(d: &DiagnosticsSpec) -> Value {
    let mut la = Map::new();
    la.insert("workspaceId".into(), json!(d.workspace_id));
    la.insert("workspaceKey".into(), json!(d.workspace_key.expose()));
    if let Some(t) = &d.log_type {
        la.insert("logType".into(), json!(t));
    }
    if !d.metadata.is_empty() {
        la.insert(
            "metadata".into(),
            Value::Object(
                d.metadata
                    .iter()
                    .map(|(k, v)| (k.clone(), json!(v)))
                    .collect(),
            ),
        );
    }
    if let Some(r) = &d.workspace_resource_id {
        la.insert("workspaceResourceId".into(), json!(r.expose()));
    }
    Value::Object(la)
}

/// The user's tags with the task instance's tags merged over them.
fn tags_json(p: &Params, ti: &TaskInstance) -> Value {
    let mut tags = Map::new();
    for (k, v) in p.tags.iter().flatten() {
        tags.insert(k.clone(), json!(v));
    }
    for (k, v) in task_tags(ti) {
        tags.insert(k, json!(v));
    }
    Value::Object(tags)
}

fn identity_json(id: &IdentitySpec) -> Value {
    let mut m = Map::new();
    m.insert("type".into(), json!(id.identity_type));
    if !id.user_assigned_identities.is_empty() {
        m.insert(
            "userAssignedIdentities".into(),
            Value::Object(
                id.user_assigned_identities
                    .iter()
                    .map(|r| (r.clone(), json!({})))
                    .collect(),
            ),
        );
    }
    Value::Object(m)
}

#[cfg(test)]
mod tests;
