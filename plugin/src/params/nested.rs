//! The nested parameter objects (`volumes`, `gpu`, `ip_address`, `ports`,
//! `subnet_ids`, `network_profile`, `dns_config`, `diagnostics`, `identity`).
//!
//! Each takes the field names of Azure's Python SDK models that Airflow users
//! pass (`name_servers`, `log_analytics.workspace_id`, `resource_ids`,
//! `dns_name_label`) and ARM's camelCase names (`nameServers`,
//! `logAnalytics.workspaceId`, `dnsNameLabel`).

use serde_json::Value;

use super::validate::{
    normalise_identity_type, IDENTITY_RESOURCE_IDS_MESSAGE, IDENTITY_TYPE_MESSAGE,
};
use super::value::{
    self, array, boolean_lenient, integer, non_empty_string, scalar_string_secret, string, truthy,
    type_error, Obj,
};
use super::Secret;
use task_plugin_sdk::{Error, Result};

fn invalid(msg: impl Into<String>) -> Error {
    Error::InvalidParams(msg.into())
}

/// One Azure File share to mount: Airflow's
/// `(conn_id, account_name, share_name, mount_path, read_only)`.
#[derive(Debug, Clone, PartialEq)]
pub struct VolumeSpec {
    /// Connection id of the storage account (its key or connection string).
    pub conn_id: String,
    /// Storage account name.
    pub account_name: String,
    /// File share name.
    pub share_name: String,
    /// Where the share appears inside the container.
    pub mount_path: String,
    /// Mount read-only.
    pub read_only: bool,
}

/// The field names of a volume, in tuple order.
pub const VOLUME_FIELDS: [&str; 5] = [
    "conn_id",
    "account_name",
    "share_name",
    "mount_path",
    "read_only",
];

/// Parses one volume: a 5-element list or a table with [`VOLUME_FIELDS`]
/// (`read_only` optional there, default false).
pub fn parse_volume(path: &str, v: &Value) -> Result<VolumeSpec> {
    let spec = match v {
        Value::Array(items) => {
            if items.len() != 5 {
                return Err(invalid(format!(
                    "{path} must have exactly 5 elements [conn_id, account_name, share_name, mount_path, read_only], found {}",
                    items.len()
                )));
            }
            let s = |i: usize| non_empty_string(&format!("{path}[{i}] ({})", VOLUME_FIELDS[i]), &items[i]);
            VolumeSpec {
                conn_id: s(0)?,
                account_name: s(1)?,
                share_name: s(2)?,
                mount_path: s(3)?,
                read_only: boolean_lenient(&format!("{path}[4] (read_only)"), &items[4])?,
            }
        }
        Value::Object(_) => {
            let mut o = Obj::new(path, v)?;
            let s = |o: &mut Obj, n: &'static str| -> Result<String> {
                let (_, v) = o.require(&[n])?;
                non_empty_string(&o.child(n), v)
            };
            let conn_id = s(&mut o, "conn_id")?;
            let account_name = s(&mut o, "account_name")?;
            let share_name = s(&mut o, "share_name")?;
            let mount_path = s(&mut o, "mount_path")?;
            let read_only = match o.get(&["read_only"])? {
                Some((_, v)) => boolean_lenient(&o.child("read_only"), v)?,
                None => false,
            };
            o.finish()?;
            VolumeSpec { conn_id, account_name, share_name, mount_path, read_only }
        }
        other => {
            return Err(type_error(
                path,
                "a list [conn_id, account_name, share_name, mount_path, read_only] or a table with those keys",
                other,
            ))
        }
    };
    if spec.mount_path.contains(':') {
        return Err(invalid(format!(
            "{path}: mount_path must not contain ':' (ACI rule), found `{}`",
            spec.mount_path
        )));
    }
    Ok(spec)
}

/// `GpuResource(count, sku)`.
#[derive(Debug, Clone, PartialEq)]
pub struct GpuSpec {
    /// Number of GPUs.
    pub count: i32,
    /// GPU SKU (`K80`, `P100`, `V100`, or any newer name ACI accepts).
    pub sku: String,
}

/// Parses `gpu`.
pub fn parse_gpu(v: &Value) -> Result<GpuSpec> {
    let mut o = Obj::new("gpu", v)?;
    let (_, c) = o.require(&["count"])?;
    let count = integer("gpu.count", c, 1, 64)? as i32;
    let (_, s) = o.require(&["sku"])?;
    let sku = non_empty_string("gpu.sku", s)?;
    o.finish()?;
    Ok(GpuSpec { count, sku })
}

/// `ContainerPort(port, protocol)`.
#[derive(Debug, Clone, PartialEq)]
pub struct PortSpec {
    /// Port number.
    pub port: i32,
    /// `TCP` or `UDP`, when given.
    pub protocol: Option<String>,
}

/// Parses one port: a number or `{port, protocol}`.
pub fn parse_port(path: &str, v: &Value) -> Result<PortSpec> {
    match v {
        Value::Number(_) => Ok(PortSpec {
            port: integer(path, v, 1, 65535)? as i32,
            protocol: None,
        }),
        Value::Object(_) => {
            let mut o = Obj::new(path, v)?;
            let (_, p) = o.require(&["port"])?;
            let port = integer(&o.child("port"), p, 1, 65535)? as i32;
            let protocol = match o.get(&["protocol"])? {
                Some((_, p)) => {
                    let s = string(&o.child("protocol"), p)?;
                    match s.to_ascii_uppercase().as_str() {
                        "TCP" => Some("TCP".to_string()),
                        "UDP" => Some("UDP".to_string()),
                        _ => {
                            return Err(invalid(format!(
                                "{} must be \"TCP\" or \"UDP\", found `{s}`",
                                o.child("protocol")
                            )))
                        }
                    }
                }
                None => None,
            };
            o.finish()?;
            Ok(PortSpec { port, protocol })
        }
        other => Err(type_error(
            path,
            "a port number or a table {port, protocol}",
            other,
        )),
    }
}

/// Parses a list of ports.
pub fn parse_ports(path: &str, v: &Value) -> Result<Vec<PortSpec>> {
    array(path, v)?
        .iter()
        .enumerate()
        .map(|(i, p)| parse_port(&format!("{path}[{i}]"), p))
        .collect()
}

/// `IpAddress`: the group's IP address.
#[derive(Debug, Clone, PartialEq)]
pub struct IpAddressSpec {
    /// `Public` or `Private` (default `Public`).
    pub ip_type: String,
    /// Ports exposed on the IP address (may be empty: the operator then uses
    /// the container's ports).
    pub ports: Vec<PortSpec>,
    /// A requested IP, if any.
    pub ip: Option<String>,
    /// DNS name label.
    pub dns_name_label: Option<String>,
    /// Scope of the auto-generated DNS label.
    pub auto_generated_domain_name_label_scope: Option<String>,
}

/// Parses `ip_address`.
pub fn parse_ip_address(v: &Value) -> Result<IpAddressSpec> {
    let mut o = Obj::new("ip_address", v)?;
    let ip_type = match o.get(&["type"])? {
        Some((_, t)) => {
            let s = string("ip_address.type", t)?;
            match s.to_ascii_lowercase().as_str() {
                "public" => "Public".to_string(),
                "private" => "Private".to_string(),
                _ => {
                    return Err(invalid(format!(
                        "ip_address.type must be \"Public\" or \"Private\", found `{s}`"
                    )))
                }
            }
        }
        None => "Public".into(),
    };
    let ports = match o.get(&["ports"])? {
        Some((_, p)) => parse_ports("ip_address.ports", p)?,
        None => Vec::new(),
    };
    let opt = |o: &mut Obj, names: &[&'static str]| -> Result<Option<String>> {
        match o.get(names)? {
            Some((n, v)) => Ok(Some(non_empty_string(&o.child(n), v)?)),
            None => Ok(None),
        }
    };
    let ip = opt(&mut o, &["ip"])?;
    let dns_name_label = opt(&mut o, &["dns_name_label", "dnsNameLabel"])?;
    let scope = opt(
        &mut o,
        &[
            "auto_generated_domain_name_label_scope",
            "autoGeneratedDomainNameLabelScope",
        ],
    )?;
    o.finish()?;
    Ok(IpAddressSpec {
        ip_type,
        ports,
        ip,
        dns_name_label,
        auto_generated_domain_name_label_scope: scope,
    })
}

/// `ContainerGroupSubnetId(id, name)`.
#[derive(Debug, Clone, PartialEq)]
pub struct SubnetSpec {
    /// The subnet's ARM resource id.
    pub id: String,
    /// Optional subnet name.
    pub name: Option<String>,
}

/// True when `id` looks like a subnet's ARM id
/// (`/subscriptions/…/providers/Microsoft.Network/virtualNetworks/…/subnets/…`).
pub fn is_subnet_id(id: &str) -> bool {
    let lower = id.to_ascii_lowercase();
    lower.starts_with("/subscriptions/")
        && lower.contains("/providers/microsoft.network/virtualnetworks/")
        && lower.contains("/subnets/")
        && !lower.ends_with("/subnets/")
}

const SUBNET_SHAPE: &str =
    "/subscriptions/…/resourceGroups/…/providers/Microsoft.Network/virtualNetworks/…/subnets/…";

/// Parses one subnet: an id string or `{id, name}`.
pub fn parse_subnet(path: &str, v: &Value) -> Result<SubnetSpec> {
    let (id_path, id, name) = match v {
        Value::String(s) => (path.to_string(), s.clone(), None),
        Value::Object(_) => {
            let mut o = Obj::new(path, v)?;
            let (_, id) = o.require(&["id"])?;
            let id = string(&o.child("id"), id)?;
            let name = match o.get(&["name"])? {
                Some((_, n)) => Some(non_empty_string(&o.child("name"), n)?),
                None => None,
            };
            let id_path = o.child("id");
            o.finish()?;
            (id_path, id, name)
        }
        other => {
            return Err(type_error(
                path,
                "a subnet id string or a table {id, name}",
                other,
            ))
        }
    };
    if !is_subnet_id(&id) {
        return Err(invalid(format!(
            "{id_path} must be a subnet resource id ({SUBNET_SHAPE}), found `{id}`"
        )));
    }
    Ok(SubnetSpec { id, name })
}

/// Parses `subnet_ids`.
pub fn parse_subnets(v: &Value) -> Result<Vec<SubnetSpec>> {
    array("subnet_ids", v)?
        .iter()
        .enumerate()
        .map(|(i, s)| parse_subnet(&format!("subnet_ids[{i}]"), s))
        .collect()
}

/// Parses the seed's `network_profile` (removed from Airflow in provider
/// 8.0.0, and network profiles are retired by Azure): a subnet id (string or
/// `{id}`) maps to a subnet; a network-profile id is refused with advice.
pub fn parse_network_profile(v: &Value) -> Result<SubnetSpec> {
    let id = match v {
        Value::String(s) => s.clone(),
        Value::Object(_) => {
            let mut o = Obj::new("network_profile", v)?;
            let (_, id) = o.require(&["id"])?;
            let id = string("network_profile.id", id)?;
            o.finish()?;
            id
        }
        other => {
            return Err(type_error(
                "network_profile",
                "a subnet id string or a table {id}",
                other,
            ))
        }
    };
    if is_subnet_id(&id) {
        return Ok(SubnetSpec { id, name: None });
    }
    Err(invalid(format!(
        "network_profile is no longer supported: Azure retired container network profiles and Airflow replaced \
         network_profile with subnet_ids (provider 8.0.0). Pass subnet_ids = [{{ id = \"{SUBNET_SHAPE}\" }}] \
         (or give network_profile a subnet id, which is mapped to subnet_ids). Found `{id}`"
    )))
}

/// `DnsConfiguration`.
#[derive(Debug, Clone, PartialEq)]
pub struct DnsConfigSpec {
    /// DNS servers.
    pub name_servers: Vec<String>,
    /// Space-separated search domains.
    pub search_domains: Option<String>,
    /// resolv.conf options.
    pub options: Option<String>,
}

/// Parses `dns_config`.
pub fn parse_dns_config(v: &Value) -> Result<DnsConfigSpec> {
    let mut o = Obj::new("dns_config", v)?;
    let (n, ns) = o.require(&["name_servers", "nameServers"])?;
    let name_servers = value::string_list(&o.child(n), ns)?;
    if name_servers.is_empty() {
        return Err(invalid(format!(
            "{} must list at least one name server",
            o.child(n)
        )));
    }
    let search_domains = match o.get(&["search_domains", "searchDomains"])? {
        Some((n, d @ Value::Array(_))) => Some(value::string_list(&o.child(n), d)?.join(" ")),
        Some((n, d)) => Some(string(&o.child(n), d)?),
        None => None,
    };
    let options = match o.get(&["options"])? {
        Some((_, d)) => Some(string("dns_config.options", d)?),
        None => None,
    };
    o.finish()?;
    Ok(DnsConfigSpec {
        name_servers,
        search_domains,
        options,
    })
}

/// `ContainerGroupDiagnostics(log_analytics=LogAnalytics(...))`.
#[derive(Debug, Clone, PartialEq)]
pub struct DiagnosticsSpec {
    /// Log Analytics workspace id.
    pub workspace_id: String,
    /// Log Analytics workspace key (secret).
    pub workspace_key: Secret,
    /// `ContainerInsights` or `ContainerInstanceLogs`.
    pub log_type: Option<String>,
    /// Metadata for Log Analytics.
    pub metadata: Vec<(String, String)>,
    /// Workspace resource id (secret in ARM).
    pub workspace_resource_id: Option<Secret>,
}

/// Parses `diagnostics`.
pub fn parse_diagnostics(v: &Value) -> Result<DiagnosticsSpec> {
    let mut o = Obj::new("diagnostics", v)?;
    let (n, la) = o.require(&["log_analytics", "logAnalytics"])?;
    let mut la = Obj::new(o.child(n), la)?;
    let (n, id) = la.require(&["workspace_id", "workspaceId"])?;
    let workspace_id = non_empty_string(&la.child(n), id)?;
    let (n, key) = la.require(&["workspace_key", "workspaceKey"])?;
    let workspace_key = Secret(scalar_string_secret(&la.child(n), key)?);
    let log_type = match la.get(&["log_type", "logType"])? {
        Some((n, t)) => {
            let s = string(&la.child(n), t)?;
            if s != "ContainerInsights" && s != "ContainerInstanceLogs" {
                return Err(invalid(format!(
                    "{} must be \"ContainerInsights\" or \"ContainerInstanceLogs\", found `{s}`",
                    la.child(n)
                )));
            }
            Some(s)
        }
        None => None,
    };
    let metadata = match la.get(&["metadata"])? {
        Some((n, m)) => value::string_map(&la.child(n), m)?,
        None => Vec::new(),
    };
    let workspace_resource_id = match la.get(&["workspace_resource_id", "workspaceResourceId"])? {
        Some((n, r)) => Some(Secret(scalar_string_secret(&la.child(n), r)?)),
        None => None,
    };
    la.finish()?;
    o.finish()?;
    Ok(DiagnosticsSpec {
        workspace_id,
        workspace_key,
        log_type,
        metadata,
        workspace_resource_id,
    })
}

/// `ContainerGroupIdentity`, normalised as Airflow's `_ensure_identity`.
#[derive(Debug, Clone, PartialEq)]
pub struct IdentitySpec {
    /// `SystemAssigned`, `UserAssigned`, `SystemAssigned, UserAssigned`,
    /// `None`, or any other string (passed through verbatim).
    pub identity_type: String,
    /// Resource ids of the user-assigned identities (order kept, no duplicates).
    pub user_assigned_identities: Vec<String>,
}

/// Parses `identity` with Airflow's checks and messages: `type` is required;
/// a truthy `resource_ids` must be a list; otherwise
/// `user_assigned_identities` (a table keyed by resource id) is used.
pub fn parse_identity(v: &Value) -> Result<IdentitySpec> {
    let mut o = match v {
        Value::Object(_) => Obj::new("identity", v)?,
        other => {
            return Err(type_error(
                "identity",
                "a table/object with a 'type' key",
                other,
            ))
        }
    };
    let identity_type = match o.get(&["type"])? {
        Some((_, t)) => normalise_identity_type(&string("identity.type", t)?),
        None => return Err(invalid(IDENTITY_TYPE_MESSAGE)),
    };
    let mut ids: Vec<String> = Vec::new();
    let mut push = |id: String| {
        if !ids.contains(&id) {
            ids.push(id)
        }
    };
    if let Some((n, r)) = o.get(&["resource_ids", "resourceIds"])? {
        if truthy(r) {
            let list = match r {
                Value::Array(a) => a,
                _ => return Err(invalid(IDENTITY_RESOURCE_IDS_MESSAGE)),
            };
            for (i, id) in list.iter().enumerate() {
                push(non_empty_string(&format!("identity.{n}[{i}]"), id)?);
            }
        }
    }
    if let Some((n, u)) = o.get(&["user_assigned_identities", "userAssignedIdentities"])? {
        let path = o.child(n);
        for (id, details) in value::object(&path, u)? {
            if !(details.is_object() || details.is_null()) {
                return Err(type_error(
                    &format!("{path}[{id:?}]"),
                    "a table/object (may be empty)",
                    details,
                ));
            }
            push(id.clone());
        }
    }
    o.finish()?;
    Ok(IdentitySpec {
        identity_type,
        user_assigned_identities: ids,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const RID: &str = "/subscriptions/00000000-0000-0000-0000-00000000000/resourceGroups/my_rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/my_identity";
    const SUBNET: &str = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/vnet/subnets/default";

    #[test]
    fn volume_as_list_and_table() {
        let a = parse_volume(
            "volumes[0]",
            &json!(["wasb", "acct", "share", "/mnt/a", true]),
        )
        .unwrap();
        let b = parse_volume(
            "volumes[0]",
            &json!({"conn_id": "wasb", "account_name": "acct", "share_name": "share", "mount_path": "/mnt/a", "read_only": true}),
        )
        .unwrap();
        assert_eq!(a, b);
        assert!(a.read_only);
        let c = parse_volume(
            "v",
            &json!({"conn_id": "w", "account_name": "a", "share_name": "s", "mount_path": "/m"}),
        )
        .unwrap();
        assert!(!c.read_only);
    }

    #[test]
    fn volume_errors_name_the_element() {
        let e = parse_volume("volumes[1]", &json!(["w", "a", "s", "/m"]))
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("volumes[1] must have exactly 5 elements"),
            "{e}"
        );
        let e = parse_volume("volumes[0]", &json!(["w", "a", "s", "/m", 3]))
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "volumes[0][4] (read_only) must be a boolean (true or false), found number 3"
        );
        let e = parse_volume("volumes[0]", &json!(["w", 1, "s", "/m", false]))
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "volumes[0][1] (account_name) must be a string, found number 1"
        );
        let e = parse_volume(
            "volumes[0]",
            &json!({"conn_id": "w", "account": "a", "share_name": "s", "mount_path": "/m"}),
        )
        .unwrap_err()
        .to_string();
        assert_eq!(e, "volumes[0] requires `account_name`");
        assert!(parse_volume("v", &json!(["w", "a", "s", "c:/m", false])).is_err());
    }

    #[test]
    fn gpu_and_ports() {
        assert_eq!(
            parse_gpu(&json!({"count": 1, "sku": "K80"})).unwrap(),
            GpuSpec {
                count: 1,
                sku: "K80".into()
            }
        );
        assert_eq!(
            parse_gpu(&json!({"count": 0, "sku": "K80"}))
                .unwrap_err()
                .to_string(),
            "gpu.count must be between 1 and 64, found 0"
        );
        assert_eq!(
            parse_gpu(&json!({"sku": "K80"})).unwrap_err().to_string(),
            "gpu requires `count`"
        );
        let ports = parse_ports("ports", &json!([80, {"port": 53, "protocol": "udp"}])).unwrap();
        assert_eq!(
            ports,
            vec![
                PortSpec {
                    port: 80,
                    protocol: None
                },
                PortSpec {
                    port: 53,
                    protocol: Some("UDP".into())
                }
            ]
        );
        assert!(parse_ports("ports", &json!([70000])).is_err());
        assert_eq!(
            parse_ports("ports", &json!(["80"]))
                .unwrap_err()
                .to_string(),
            "ports[0] must be a port number or a table {port, protocol}, found string \"80\""
        );
    }

    #[test]
    fn ip_address_both_name_styles() {
        let snake = parse_ip_address(
            &json!({"type": "Public", "ports": [{"port": 80}], "dns_name_label": "x"}),
        )
        .unwrap();
        let camel =
            parse_ip_address(&json!({"type": "public", "ports": [80], "dnsNameLabel": "x"}))
                .unwrap();
        assert_eq!(snake, camel);
        assert_eq!(snake.dns_name_label.as_deref(), Some("x"));
        assert_eq!(parse_ip_address(&json!({})).unwrap().ip_type, "Public");
        assert!(parse_ip_address(&json!({"type": "Internal"})).is_err());
    }

    #[test]
    fn subnets_and_network_profile() {
        let s = parse_subnets(&json!([SUBNET, {"id": SUBNET, "name": "default"}])).unwrap();
        assert_eq!(s[0].id, SUBNET);
        assert_eq!(s[1].name.as_deref(), Some("default"));
        let e = parse_subnets(&json!([{"id": "/subscriptions/s/x"}]))
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("subnet_ids[0].id must be a subnet resource id"),
            "{e}"
        );
        assert_eq!(
            parse_network_profile(&json!({"id": SUBNET})).unwrap().id,
            SUBNET
        );
        assert_eq!(parse_network_profile(&json!(SUBNET)).unwrap().id, SUBNET);
        let e = parse_network_profile(&json!({"id": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/networkProfiles/p"}))
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("network_profile is no longer supported"),
            "{e}"
        );
        assert!(e.contains("subnet_ids"), "{e}");
    }

    #[test]
    fn dns_config_both_name_styles() {
        let a = parse_dns_config(
            &json!({"name_servers": ["10.0.0.10"], "search_domains": "a.local b.local"}),
        )
        .unwrap();
        let b = parse_dns_config(
            &json!({"nameServers": ["10.0.0.10"], "searchDomains": ["a.local", "b.local"]}),
        )
        .unwrap();
        assert_eq!(a, b);
        assert_eq!(
            parse_dns_config(&json!({})).unwrap_err().to_string(),
            "dns_config requires `name_servers`"
        );
        assert!(parse_dns_config(&json!({"name_servers": []})).is_err());
    }

    #[test]
    fn diagnostics_both_name_styles_and_no_secret_in_errors() {
        let a = parse_diagnostics(&json!({"log_analytics": {"workspace_id": "w", "workspace_key": "k", "log_type": "ContainerInsights"}}))
            .unwrap();
        let b =
            parse_diagnostics(&json!({"logAnalytics": {"workspaceId": "w", "workspaceKey": "k", "logType": "ContainerInsights"}})).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.workspace_key.expose(), "k");
        assert!(!format!("{a:?}").contains("\"k\""));
        let e = parse_diagnostics(
            &json!({"log_analytics": {"workspace_id": "w", "workspace_key": ["topsecret"]}}),
        )
        .unwrap_err()
        .to_string();
        assert_eq!(
            e,
            "diagnostics.log_analytics.workspace_key must be a string, found array"
        );
        let e = parse_diagnostics(
            &json!({"log_analytics": {"workspace_id": "w", "workspace_key": true}}),
        )
        .unwrap_err()
        .to_string();
        assert!(!e.contains("true"), "{e}");
    }

    // Airflow _ensure_identity cases.
    #[test]
    fn identity_dict_cases() {
        let i = parse_identity(&json!({"type": "UserAssigned", "resource_ids": [RID]})).unwrap();
        assert_eq!(i.identity_type, "UserAssigned");
        assert_eq!(i.user_assigned_identities, vec![RID.to_string()]);
        let i = parse_identity(&json!({"type": "SystemAssigned"})).unwrap();
        assert!(i.user_assigned_identities.is_empty());
        let i = parse_identity(
            &json!({"type": "SystemAssigned,UserAssigned", "user_assigned_identities": {RID: {}}}),
        )
        .unwrap();
        assert_eq!(i.identity_type, "SystemAssigned, UserAssigned");
        assert_eq!(i.user_assigned_identities, vec![RID.to_string()]);
        let i =
            parse_identity(&json!({"type": "UserAssigned", "userAssignedIdentities": {RID: {}}}))
                .unwrap();
        assert_eq!(i.user_assigned_identities, vec![RID.to_string()]);
        // Falsy resource_ids falls back to user_assigned_identities, as `if resource_ids:`.
        let i = parse_identity(&json!({"type": "SystemAssigned", "resource_ids": []})).unwrap();
        assert!(i.user_assigned_identities.is_empty());
    }

    #[test]
    fn identity_messages_are_airflows() {
        assert_eq!(
            parse_identity(&json!({"resource_ids": [RID]})).unwrap_err(),
            Error::InvalidParams(IDENTITY_TYPE_MESSAGE.into())
        );
        assert_eq!(
            parse_identity(&json!({"type": "UserAssigned", "resource_ids": RID})).unwrap_err(),
            Error::InvalidParams(IDENTITY_RESOURCE_IDS_MESSAGE.into())
        );
        assert_eq!(
            IDENTITY_TYPE_MESSAGE,
            "identity dict must include 'type' key with value 'UserAssigned' or 'SystemAssigned'"
        );
        assert_eq!(
            IDENTITY_RESOURCE_IDS_MESSAGE,
            "identity['resource_ids'] must be a list of resource id strings"
        );
        assert!(parse_identity(&json!("SystemAssigned")).is_err());
        assert!(
            parse_identity(&json!({"type": "UserAssigned", "principal": "x"}))
                .unwrap_err()
                .to_string()
                .starts_with("unknown key `identity.principal`")
        );
    }
}
