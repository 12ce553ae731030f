//! Validation of container group bodies as Azure does it (name rules, required fields, enum
//! values, types), producing the public body (read-only fields dropped, secrets removed) and
//! the private run spec (commands and environment values, secure ones included).
//!
//! Error codes: malformed JSON, missing required fields, wrong types and bad enum values are
//! `400 InvalidRequestContent` (what ARM's deserializer answers); a missing `location` is
//! `400 LocationRequired`; semantic rules use ACI-style codes chosen by the emulator
//! (`InvalidContainerGroupName`, `InvalidContainerName`, `DuplicateContainerName`,
//! `InvalidEnvironmentVariableName`, `InvalidVolumeName`, `InvalidVolumeMount`,
//! `InvalidDnsNameLabel`, `InvalidPort`, `InvalidResourceRequests`, `InvalidImageName`),
//! all `400`.

mod container;
mod json;
mod names;

use serde_json::{Map, Value};

use container::{container, ports, Place};
use json::{
    content_error, obj, opt_arr, opt_bool, opt_enum, opt_obj, opt_str, req_str, required,
    string_list, wrong_type, VResult,
};
pub(crate) use names::normalize_location;
use names::{valid_dns_label, valid_group_name, valid_volume_name};

use super::http::{arm_error, json_body};

/// Restart policy of a group.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RestartPolicy {
    Always,
    OnFailure,
    Never,
}

/// What the emulator needs to run one container.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct ContainerSpec {
    pub name: String,
    pub image: String,
    /// Exec-form command; empty when absent.
    pub command: Vec<String>,
    /// `value` or `secureValue` of every environment variable, in order.
    pub env: Vec<(String, String)>,
    pub cpu: f64,
    pub memory_gb: f64,
    pub ports: Vec<(i64, String)>,
}

/// What the emulator needs to run a group.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct RunSpec {
    pub os_type: String,
    pub restart_policy: RestartPolicy,
    pub containers: Vec<ContainerSpec>,
    pub init_containers: Vec<ContainerSpec>,
}

impl RunSpec {
    /// All images (init containers included).
    pub fn images(&self) -> impl Iterator<Item = &str> {
        self.init_containers
            .iter()
            .chain(&self.containers)
            .map(|c| c.image.as_str())
    }

    /// Total requested CPU.
    pub fn cpu(&self) -> f64 {
        self.containers.iter().map(|c| c.cpu).sum()
    }

    /// Why an in-place update from `self` to `new` is not allowed (OS type, restart policy,
    /// CPU, memory, ports), if it is not.
    pub fn update_conflict(&self, new: &RunSpec) -> Option<String> {
        if self.os_type != new.os_type {
            return Some("os type".into());
        }
        if self.restart_policy != new.restart_policy {
            return Some("restart policy".into());
        }
        for c in &new.containers {
            if let Some(old) = self.containers.iter().find(|o| o.name == c.name) {
                if old.cpu != c.cpu || old.memory_gb != c.memory_gb {
                    return Some("CPU or memory resources".into());
                }
                if old.ports != c.ports {
                    return Some("ports".into());
                }
            }
        }
        None
    }
}

/// A validated PUT body.
#[derive(Clone, Debug)]
pub(crate) struct Accepted {
    /// Normalised location (`west us` → `westus`).
    pub location: String,
    /// `tags`, `zones`, `identity` and `properties` as accepted, secrets and read-only fields
    /// removed.
    pub public: Map<String, Value>,
    pub spec: RunSpec,
}

/// Validates the body of `PUT {CG}` for group `name`.
pub(crate) fn validate_group(name: &str, body: &[u8]) -> VResult<Accepted> {
    if !valid_group_name(name) {
        return Err(arm_error(
            400,
            "InvalidContainerGroupName",
            format!(
                "The container group name '{name}' is invalid. A container group name must be 1 to 63 characters of lowercase letters, numbers and hyphens, cannot start or end with a hyphen and cannot contain consecutive hyphens."
            ),
        ));
    }
    let mut root = json_body(body)?;
    let top = root
        .as_object_mut()
        .ok_or_else(|| content_error("Unexpected JSON token: the body must be a JSON object"))?;
    let location = top_level(top)?;
    let pp = "properties";
    let props = match top.get_mut("properties") {
        Some(Value::Object(p)) => p,
        Some(_) => return Err(wrong_type(pp, "Object")),
        None => return Err(required("", "properties")),
    };
    let (os_type, restart_policy) = group_settings(props)?;
    // Volumes first: container mounts refer to them.
    let volume_names = volumes(props, name)?;
    let (containers, init_containers) = all_containers(props, name, &volume_names)?;
    registry_credentials(props)?;
    ip_address(props, name)?;
    diagnostics(props)?;
    network(props)?;
    if let Some(Value::Array(exts)) = props.get_mut("extensions") {
        for e in exts.iter_mut() {
            if let Some(p) = e.get_mut("properties").and_then(Value::as_object_mut) {
                p.remove("protectedSettings");
            }
        }
    }

    let mut public = Map::new();
    for key in ["tags", "zones", "identity", "properties"] {
        if let Some(v) = top.get(key) {
            if !v.is_null() {
                public.insert(key.to_string(), v.clone());
            }
        }
    }
    Ok(Accepted {
        location,
        public,
        spec: RunSpec {
            os_type,
            restart_policy,
            containers,
            init_containers,
        },
    })
}

/// `location` (required, normalised), `tags`, `zones` and `identity`.
fn top_level(top: &Map<String, Value>) -> VResult<String> {
    let location = match top.get("location") {
        Some(Value::String(s)) if !s.trim().is_empty() => normalize_location(s),
        Some(Value::String(_)) | None | Some(Value::Null) => {
            return Err(arm_error(
                400,
                "LocationRequired",
                "The location property is required for this definition.",
            ))
        }
        Some(_) => return Err(wrong_type("location", "String")),
    };
    if let Some(tags) = opt_obj(top, "tags", "")? {
        if tags.values().any(|v| !v.is_string()) {
            return Err(wrong_type("tags", "String"));
        }
    }
    string_list(top, "zones", "")?;
    if let Some(id) = opt_obj(top, "identity", "")? {
        opt_enum(
            id,
            "type",
            "identity",
            &[
                "SystemAssigned",
                "UserAssigned",
                "SystemAssigned, UserAssigned",
                "None",
            ],
        )?;
        opt_obj(id, "userAssignedIdentities", "identity")?;
    }
    Ok(location)
}

/// Read-only fields dropped; `osType` (required), `restartPolicy`, `sku`, `priority`.
fn group_settings(props: &mut Map<String, Value>) -> VResult<(String, RestartPolicy)> {
    let pp = "properties";
    for ro in [
        "provisioningState",
        "instanceView",
        "isCreatedFromStandbyPool",
    ] {
        props.remove(ro);
    }
    let os_type = opt_enum(props, "osType", pp, &["Linux", "Windows"])?
        .ok_or_else(|| required(pp, "osType"))?
        .to_string();
    let restart_policy = match opt_enum(
        props,
        "restartPolicy",
        pp,
        &["Always", "OnFailure", "Never"],
    )? {
        Some("Never") => RestartPolicy::Never,
        Some("OnFailure") => RestartPolicy::OnFailure,
        _ => RestartPolicy::Always,
    };
    opt_enum(
        props,
        "sku",
        pp,
        &["NotSpecified", "Standard", "Dedicated", "Confidential"],
    )?;
    opt_enum(props, "priority", pp, &["Regular", "Spot"])?;
    Ok((os_type, restart_policy))
}

/// The volume kinds; a volume names exactly one.
const VOLUME_KINDS: [&str; 5] = [
    "azureFile",
    "emptyDir",
    "secret",
    "secretReference",
    "gitRepo",
];

/// `volumes`: unique valid names, one kind each, secrets removed; returns the names.
fn volumes(props: &mut Map<String, Value>, group: &str) -> VResult<Vec<String>> {
    let mut volume_names = Vec::new();
    let Some(vols) = props.get_mut("volumes") else {
        return Ok(volume_names);
    };
    let vols = vols
        .as_array_mut()
        .ok_or_else(|| wrong_type("properties.volumes", "Array"))?;
    for (i, vol) in vols.iter_mut().enumerate() {
        let vp = format!("properties.volumes[{i}]");
        let vm = vol
            .as_object_mut()
            .ok_or_else(|| wrong_type(&vp, "Object"))?;
        let vname = req_str(vm, "name", &vp)?.to_string();
        if !valid_volume_name(&vname) || volume_names.contains(&vname) {
            return Err(arm_error(
                400,
                "InvalidVolumeName",
                format!("The volume name '{vname}' in container group '{group}' is invalid or duplicated. A volume name must be 5 to 63 characters of lowercase letters, numbers and hyphens, and cannot start or end with a hyphen."),
            ));
        }
        let present: Vec<&str> = VOLUME_KINDS
            .iter()
            .copied()
            .filter(|k| vm.get(*k).is_some_and(|v| !v.is_null()))
            .collect();
        if present.len() != 1 {
            return Err(arm_error(
                400,
                "InvalidVolumeMount",
                format!("The volume '{vname}' in container group '{group}' must specify exactly one of azureFile, emptyDir, secret, secretReference or gitRepo."),
            ));
        }
        volume_source(vm, &vp, present[0])?;
        volume_names.push(vname);
    }
    Ok(volume_names)
}

/// The volume's one source of kind `kind`: checked, secrets removed.
fn volume_source(vm: &mut Map<String, Value>, vp: &str, kind: &str) -> VResult<()> {
    match kind {
        "azureFile" => {
            let ap = format!("{vp}.azureFile");
            let af = vm
                .get_mut("azureFile")
                .and_then(Value::as_object_mut)
                .ok_or_else(|| wrong_type(&ap, "Object"))?;
            req_str(af, "shareName", &ap)?;
            req_str(af, "storageAccountName", &ap)?;
            opt_str(af, "storageAccountKey", &ap)?;
            opt_bool(af, "readOnly", &ap)?;
            af.remove("storageAccountKey");
        }
        "secret" => {
            let sp = format!("{vp}.secret");
            let s = obj(&vm["secret"], &sp)?;
            if s.values().any(|v| !v.is_string()) {
                return Err(wrong_type(&sp, "String"));
            }
            vm.insert("secret".into(), Value::Object(Map::new()));
        }
        "gitRepo" => {
            let gp = format!("{vp}.gitRepo");
            req_str(obj(&vm["gitRepo"], &gp)?, "repository", &gp)?;
        }
        k => {
            obj(&vm[k], &format!("{vp}.{k}"))?;
        }
    }
    Ok(())
}

/// `containers` (1 to 60, required) and `initContainers`, with unique names across both.
fn all_containers(
    props: &mut Map<String, Value>,
    group: &str,
    volumes: &[String],
) -> VResult<(Vec<ContainerSpec>, Vec<ContainerSpec>)> {
    let place = |path: String, init: bool| Place {
        path,
        group,
        init,
        volumes,
    };
    let mut containers = Vec::new();
    match props.get_mut("containers") {
        Some(Value::Array(list)) if !list.is_empty() => {
            if list.len() > 60 {
                return Err(content_error(
                    "A container group can have at most 60 containers. Path 'properties.containers'",
                ));
            }
            for (i, c) in list.iter_mut().enumerate() {
                let at = place(format!("properties.containers[{i}]"), false);
                containers.push(container(c, &at)?);
            }
        }
        Some(Value::Array(_)) => return Err(content_error(
            "The container group must have at least one container. Path 'properties.containers'",
        )),
        Some(_) => return Err(wrong_type("properties.containers", "Array")),
        None => return Err(required("properties", "containers")),
    }
    let mut init_containers = Vec::new();
    if let Some(list) = props.get_mut("initContainers") {
        let list = list
            .as_array_mut()
            .ok_or_else(|| wrong_type("properties.initContainers", "Array"))?;
        for (i, c) in list.iter_mut().enumerate() {
            let at = place(format!("properties.initContainers[{i}]"), true);
            init_containers.push(container(c, &at)?);
        }
    }
    let mut seen: Vec<&str> = Vec::new();
    for c in containers.iter().chain(&init_containers) {
        if seen.contains(&c.name.as_str()) {
            return Err(arm_error(
                400,
                "DuplicateContainerName",
                format!(
                    "The container name '{}' is used more than once in container group '{group}'.",
                    c.name
                ),
            ));
        }
        seen.push(&c.name);
    }
    Ok((containers, init_containers))
}

/// `imageRegistryCredentials`: `server` required, passwords removed.
fn registry_credentials(props: &mut Map<String, Value>) -> VResult<()> {
    let Some(creds) = props.get_mut("imageRegistryCredentials") else {
        return Ok(());
    };
    let creds = creds
        .as_array_mut()
        .ok_or_else(|| wrong_type("properties.imageRegistryCredentials", "Array"))?;
    for (i, c) in creds.iter_mut().enumerate() {
        let cp = format!("properties.imageRegistryCredentials[{i}]");
        let cm = c.as_object_mut().ok_or_else(|| wrong_type(&cp, "Object"))?;
        req_str(cm, "server", &cp)?;
        for k in [
            "username",
            "password",
            "identity",
            "identityUrl",
            "passwordReference",
        ] {
            opt_str(cm, k, &cp)?;
        }
        cm.remove("password");
    }
    Ok(())
}

/// `ipAddress`: `type` and `ports` required, a valid DNS name label; `fqdn` and `ip` are
/// read-only.
fn ip_address(props: &mut Map<String, Value>, group: &str) -> VResult<()> {
    let Some(ip) = props.get_mut("ipAddress") else {
        return Ok(());
    };
    let ipm = ip
        .as_object_mut()
        .ok_or_else(|| wrong_type("properties.ipAddress", "Object"))?;
    ipm.remove("fqdn");
    ipm.remove("ip");
    let ipp = "properties.ipAddress";
    opt_enum(ipm, "type", ipp, &["Public", "Private"])?.ok_or_else(|| required(ipp, "type"))?;
    if ipm.get("ports").is_none() {
        return Err(required(ipp, "ports"));
    }
    ports(opt_arr(ipm, "ports", ipp)?, &format!("{ipp}.ports"))?;
    opt_enum(
        ipm,
        "autoGeneratedDomainNameLabelScope",
        ipp,
        &[
            "Unsecure",
            "TenantReuse",
            "SubscriptionReuse",
            "ResourceGroupReuse",
            "Noreuse",
        ],
    )?;
    if let Some(label) = opt_str(ipm, "dnsNameLabel", ipp)? {
        if !valid_dns_label(label) {
            return Err(arm_error(
                400,
                "InvalidDnsNameLabel",
                format!("The DNS name label '{label}' in container group '{group}' is invalid. The DNS name label can contain only lowercase letters, numbers and hyphens. The first character must be a letter. The last character must be a letter or number. The value must be between 5 and 63 characters long."),
            ));
        }
    }
    Ok(())
}

/// `diagnostics.logAnalytics`: workspace id and key required, key and resource id removed.
fn diagnostics(props: &mut Map<String, Value>) -> VResult<()> {
    let Some(diag) = props.get_mut("diagnostics") else {
        return Ok(());
    };
    let dm = diag
        .as_object_mut()
        .ok_or_else(|| wrong_type("properties.diagnostics", "Object"))?;
    if let Some(la) = dm.get_mut("logAnalytics") {
        let lp = "properties.diagnostics.logAnalytics";
        let lm = la.as_object_mut().ok_or_else(|| wrong_type(lp, "Object"))?;
        req_str(lm, "workspaceId", lp)?;
        req_str(lm, "workspaceKey", lp)?;
        opt_enum(
            lm,
            "logType",
            lp,
            &["ContainerInsights", "ContainerInstanceLogs"],
        )?;
        lm.remove("workspaceKey");
        lm.remove("workspaceResourceId");
    }
    Ok(())
}

/// `subnetIds` (each with an `id`) and `dnsConfig` (`nameServers` required).
fn network(props: &Map<String, Value>) -> VResult<()> {
    let pp = "properties";
    for (i, s) in opt_arr(props, "subnetIds", pp)?.iter().enumerate() {
        let sp = format!("properties.subnetIds[{i}]");
        req_str(obj(s, &sp)?, "id", &sp)?;
    }
    if let Some(dns) = opt_obj(props, "dnsConfig", pp)? {
        if dns.get("nameServers").is_none() {
            return Err(required("properties.dnsConfig", "nameServers"));
        }
        string_list(dns, "nameServers", "properties.dnsConfig")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
