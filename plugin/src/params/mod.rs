//! The operator's parameters: Airflow's `AzureContainerInstancesOperator`
//! keyword arguments (plus `container_timeout` and the seed's
//! `network_profile`), parsed from the rendered params JSON object into
//! [`Params`], with Airflow's defaults and validation.
//!
//! Order of checks (the first failure is reported): the object itself,
//! unknown keys (with a "did you mean"), required keys, Airflow's constructor
//! checks in its order (`os_type`, `restart_policy`, `identity`, `priority`),
//! the type and range of every other parameter, and finally Airflow's name
//! check (which Airflow runs at the start of `execute`, after templating).

mod args;
mod duration;
pub mod nested;
pub mod schema;
pub mod validate;
mod value;

use std::fmt;
use std::time::Duration;

use serde_json::{Map, Value};

use args::Args;
pub use nested::{
    DiagnosticsSpec, DnsConfigSpec, GpuSpec, IdentitySpec, IpAddressSpec, PortSpec, SubnetSpec,
    VolumeSpec,
};
use task_plugin_sdk::{Error, Result};
use value::{boolean, string, truthy, type_error};

/// Every parameter the operator accepts, in Airflow's signature order
/// followed by the additions (`network_profile`, `container_timeout`).
pub const PARAM_NAMES: [&str; 31] = [
    "ci_conn_id",
    "resource_group",
    "name",
    "image",
    "region",
    "registry_conn_id",
    "environment_variables",
    "secured_variables",
    "volumes",
    "memory_in_gb",
    "cpu",
    "gpu",
    "command",
    "remove_on_error",
    "remove_on_success",
    "fail_if_exists",
    "tags",
    "xcom_all",
    "os_type",
    "restart_policy",
    "ip_address",
    "ports",
    "subnet_ids",
    "dns_config",
    "diagnostics",
    "priority",
    "identity",
    "deferrable",
    "polling_interval",
    "network_profile",
    "container_timeout",
];

/// The parameters that must be given.
pub const REQUIRED: [&str; 5] = ["ci_conn_id", "resource_group", "name", "image", "region"];

/// The parameters the host renders as templates (Airflow's `template_fields`).
pub const TEMPLATE_FIELDS: [&str; 5] = [
    "name",
    "image",
    "command",
    "environment_variables",
    "volumes",
];

/// Airflow's `DEFAULT_MEMORY_IN_GB`.
pub const DEFAULT_MEMORY_IN_GB: f64 = 2.0;
/// Airflow's `DEFAULT_CPU`.
pub const DEFAULT_CPU: f64 = 1.0;
/// Airflow's default `polling_interval` (seconds).
pub const DEFAULT_POLLING_INTERVAL: f64 = 30.0;
/// Tag keys starting with this are set by the operator (task identity).
pub const RESERVED_TAG_PREFIX: &str = "aci-runner-";
/// At most this many user tags (Azure allows 50 per resource; the operator adds 5).
pub const MAX_USER_TAGS: usize = 45;

/// A secret string: its `Debug` never shows the value.
#[derive(Clone, PartialEq)]
pub struct Secret(pub String);

impl Secret {
    /// The secret value, for the request body only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// One environment variable, in the order given.
#[derive(Clone, PartialEq)]
pub struct EnvVar {
    /// Variable name.
    pub name: String,
    /// Its value (may be a secret; `Debug` hides it).
    pub value: String,
}

impl fmt::Debug for EnvVar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EnvVar({}=***)", self.name)
    }
}

/// The operator's parameters with Airflow's defaults applied.
#[derive(Debug, Clone, PartialEq)]
pub struct Params {
    /// Connection for the ACI management API.
    pub ci_conn_id: String,
    /// Resource group of the container group.
    pub resource_group: String,
    /// Container group name, also the container's name.
    pub name: String,
    /// Container image.
    pub image: String,
    /// Azure region (`ContainerGroup.location`).
    pub region: String,
    /// Registry connection (`None` when absent or empty).
    pub registry_conn_id: Option<String>,
    /// Environment variables, in the order given.
    pub environment_variables: Vec<EnvVar>,
    /// Names whose values are sent as `secureValue`.
    pub secured_variables: Vec<String>,
    /// Azure File shares to mount.
    pub volumes: Vec<VolumeSpec>,
    /// Memory request (GB); Python `or` semantics: falsy gives 2.0.
    pub memory_in_gb: f64,
    /// CPU request; Python `or` semantics: falsy gives 1.0.
    pub cpu: f64,
    /// GPU request.
    pub gpu: Option<GpuSpec>,
    /// Container command (exec form).
    pub command: Option<Vec<String>>,
    /// Delete the group when the run fails.
    pub remove_on_error: bool,
    /// Delete the group after a successful run.
    pub remove_on_success: bool,
    /// Fail when a group of that name exists.
    pub fail_if_exists: bool,
    /// User tags, in the order given (`None` when not given).
    pub tags: Option<Vec<(String, String)>>,
    /// Push logs to XCom: `None` no, `Some(true)` all lines, `Some(false)` the last line.
    pub xcom_all: Option<bool>,
    /// `Linux` or `Windows`.
    pub os_type: String,
    /// `Always`, `OnFailure` or `Never`.
    pub restart_policy: String,
    /// The group's IP address.
    pub ip_address: Option<IpAddressSpec>,
    /// Container ports (empty when not given).
    pub ports: Vec<PortSpec>,
    /// Subnets for VNet integration (including a mapped `network_profile`).
    pub subnet_ids: Vec<SubnetSpec>,
    /// DNS configuration.
    pub dns_config: Option<DnsConfigSpec>,
    /// Log Analytics diagnostics.
    pub diagnostics: Option<DiagnosticsSpec>,
    /// `Regular` or `Spot`.
    pub priority: String,
    /// Managed identity.
    pub identity: Option<IdentitySpec>,
    /// Airflow's `deferrable`: here it means "do not stream logs live" (the
    /// host already waits without blocking a worker); logs are printed once
    /// at the end.
    pub deferrable: bool,
    /// Upper bound of the poll interval (seconds).
    pub polling_interval: f64,
    /// Time limit from creation to exit (`None`: no limit).
    pub container_timeout: Option<Duration>,
}

/// Parses and validates the rendered params JSON.
pub fn parse(json: &str) -> Result<Params> {
    let v: Value = serde_json::from_str(json)
        .map_err(|e| Error::InvalidParams(format!("params are not valid JSON: {e}")))?;
    from_value(&v)
}

/// Parses and validates a params JSON value.
pub fn from_value(v: &Value) -> Result<Params> {
    let map = match v {
        Value::Object(m) => m,
        other => return Err(type_error("params", "a table/object", other)),
    };
    check_unknown_keys(map)?;
    let args = Args(map);
    let [ci_conn_id, resource_group, name, image, region] = args.required()?;

    // Airflow's constructor checks, in its order.
    let os_type = validate::check_os_type(args.get("os_type"))?;
    let restart_policy = validate::check_restart_policy(args.get("restart_policy"))?;
    let identity = args.opt("identity", nested::parse_identity)?;
    let priority = validate::check_priority(args.get("priority"))?;

    validate::check_resource_group(&resource_group)?;

    let registry_conn_id = args
        .opt("registry_conn_id", |v| string("registry_conn_id", v))?
        .filter(|s| !s.is_empty());
    let environment_variables = args.list("environment_variables", args::environment_variables)?;
    let secured_variables = args.list("secured_variables", args::secured_variables)?;
    let volumes = args.list("volumes", args::volumes)?;
    let memory_in_gb = args.or_number("memory_in_gb", DEFAULT_MEMORY_IN_GB)?;
    let cpu = args.or_number("cpu", DEFAULT_CPU)?;
    let gpu = match args.get("gpu") {
        Some(v) if truthy(v) => Some(nested::parse_gpu(v)?),
        _ => None,
    };
    let command = args.opt("command", |v| value::string_list("command", v))?;
    let remove_on_error = args.flag("remove_on_error", true)?;
    let remove_on_success = args.flag("remove_on_success", true)?;
    let fail_if_exists = args.flag("fail_if_exists", true)?;
    let tags = args.opt("tags", parse_tags)?;
    let xcom_all = args.opt("xcom_all", |v| boolean("xcom_all", v))?;
    let ip_address = args.opt("ip_address", nested::parse_ip_address)?;
    let ports = args.list("ports", |v| nested::parse_ports("ports", v))?;
    let mut subnet_ids = args.list("subnet_ids", nested::parse_subnets)?;
    let dns_config = args.opt("dns_config", nested::parse_dns_config)?;
    let diagnostics = args.opt("diagnostics", nested::parse_diagnostics)?;
    let deferrable = args.flag("deferrable", false)?;
    let polling_interval = args.polling_interval()?;
    if let Some(subnet) = args.opt("network_profile", nested::parse_network_profile)? {
        if !subnet_ids
            .iter()
            .any(|s| s.id.eq_ignore_ascii_case(&subnet.id))
        {
            subnet_ids.push(subnet);
        }
    }
    let container_timeout = match args.get("container_timeout") {
        Some(v) => duration::parse_timeout(v)?,
        None => None,
    };

    // Airflow's name check (runs in `execute`, after templating).
    validate::check_name(&name)?;

    Ok(Params {
        ci_conn_id,
        resource_group,
        name,
        image,
        region,
        registry_conn_id,
        environment_variables,
        secured_variables,
        volumes,
        memory_in_gb,
        cpu,
        gpu,
        command,
        remove_on_error,
        remove_on_success,
        fail_if_exists,
        tags,
        xcom_all,
        os_type,
        restart_policy,
        ip_address,
        ports,
        subnet_ids,
        dns_config,
        diagnostics,
        priority,
        identity,
        deferrable,
        polling_interval,
        container_timeout,
    })
}

/// Rejects the first key that is not a parameter, suggesting a close one.
fn check_unknown_keys(map: &Map<String, Value>) -> Result<()> {
    for key in map.keys() {
        if !PARAM_NAMES.contains(&key.as_str()) {
            let hint = validate::did_you_mean(key, &PARAM_NAMES)
                .map(|s| format!("; did you mean `{s}`?"))
                .unwrap_or_default();
            return Err(Error::InvalidParams(format!(
                "unknown parameter `{key}`{hint}"
            )));
        }
    }
    Ok(())
}

/// User tags: string values (numbers converted), Azure's key rules, and the
/// operator's reserved prefix.
fn parse_tags(v: &Value) -> Result<Vec<(String, String)>> {
    let tags = value::string_map("tags", v)?;
    if tags.len() > MAX_USER_TAGS {
        return Err(Error::InvalidParams(format!(
            "tags: at most {MAX_USER_TAGS} tags (Azure allows 50 per resource and the operator adds 5), found {}",
            tags.len()
        )));
    }
    for (k, val) in &tags {
        if k.is_empty()
            || k.chars().count() > 512
            || k.contains(['<', '>', '%', '&', '\\', '?', '/'])
        {
            return Err(Error::InvalidParams(format!(
                "tags: key `{k}` is not a valid Azure tag name (1-512 characters, none of < > % & \\ ? /)"
            )));
        }
        if k.to_ascii_lowercase().starts_with(RESERVED_TAG_PREFIX) {
            return Err(Error::InvalidParams(format!(
                "tags: key `{k}` is reserved: the operator sets `{RESERVED_TAG_PREFIX}*` tags to identify the task instance"
            )));
        }
        if val.chars().count() > 256 {
            return Err(Error::InvalidParams(format!(
                "tags.{k}: a tag value may have at most 256 characters"
            )));
        }
    }
    Ok(tags)
}

#[cfg(test)]
mod tests;
