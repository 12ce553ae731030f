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

use serde_json::{Map, Value};

use super::http::{arm_error, Resp};

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

type VResult<T> = Result<T, Resp>;

fn content_error(detail: impl AsRef<str>) -> Resp {
    arm_error(
        400,
        "InvalidRequestContent",
        format!(
            "The request content was invalid and could not be deserialized: '{}'.",
            detail.as_ref()
        ),
    )
}

fn required(path: &str, prop: &str) -> Resp {
    content_error(format!(
        "Required property '{prop}' not found in JSON. Path '{path}'"
    ))
}

fn wrong_type(path: &str, want: &str) -> Resp {
    content_error(format!(
        "Error converting value to type '{want}'. Path '{path}'"
    ))
}

fn bad_enum(path: &str, value: &str, allowed: &[&str]) -> Resp {
    content_error(format!(
        "Error converting value \"{value}\" to type '{}'. Path '{path}'. Allowed values: {}",
        path.rsplit('.').next().unwrap_or(path),
        allowed.join(", ")
    ))
}

fn obj<'a>(v: &'a Value, path: &str) -> VResult<&'a Map<String, Value>> {
    v.as_object().ok_or_else(|| wrong_type(path, "Object"))
}

fn opt_obj<'a>(
    m: &'a Map<String, Value>,
    key: &str,
    path: &str,
) -> VResult<Option<&'a Map<String, Value>>> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => obj(v, &format!("{path}.{key}")).map(Some),
    }
}

fn opt_arr<'a>(m: &'a Map<String, Value>, key: &str, path: &str) -> VResult<&'a [Value]> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Array(a)) => Ok(a),
        Some(_) => Err(wrong_type(&format!("{path}.{key}"), "Array")),
    }
}

fn opt_str<'a>(m: &'a Map<String, Value>, key: &str, path: &str) -> VResult<Option<&'a str>> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(wrong_type(&format!("{path}.{key}"), "String")),
    }
}

fn req_str<'a>(m: &'a Map<String, Value>, key: &str, path: &str) -> VResult<&'a str> {
    opt_str(m, key, path)?.ok_or_else(|| required(path, key))
}

fn opt_num(m: &Map<String, Value>, key: &str, path: &str) -> VResult<Option<f64>> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => Ok(n.as_f64()),
        Some(_) => Err(wrong_type(&format!("{path}.{key}"), "Double")),
    }
}

fn opt_int(m: &Map<String, Value>, key: &str, path: &str) -> VResult<Option<i64>> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) if n.is_i64() => Ok(n.as_i64()),
        Some(_) => Err(wrong_type(&format!("{path}.{key}"), "Int32")),
    }
}

fn opt_bool(m: &Map<String, Value>, key: &str, path: &str) -> VResult<()> {
    match m.get(key) {
        None | Some(Value::Null) | Some(Value::Bool(_)) => Ok(()),
        Some(_) => Err(wrong_type(&format!("{path}.{key}"), "Boolean")),
    }
}

fn opt_enum<'a>(
    m: &'a Map<String, Value>,
    key: &str,
    path: &str,
    allowed: &[&str],
) -> VResult<Option<&'a str>> {
    match opt_str(m, key, path)? {
        None => Ok(None),
        Some(v) if allowed.contains(&v) => Ok(Some(v)),
        Some(v) => Err(bad_enum(&format!("{path}.{key}"), v, allowed)),
    }
}

fn string_list(m: &Map<String, Value>, key: &str, path: &str) -> VResult<Vec<String>> {
    opt_arr(m, key, path)?
        .iter()
        .enumerate()
        .map(|(i, v)| {
            v.as_str()
                .map(String::from)
                .ok_or_else(|| wrong_type(&format!("{path}.{key}[{i}]"), "String"))
        })
        .collect()
}

/// Container group names: 1–63 of `[a-z0-9-]`, no leading/trailing hyphen, no `--`.
pub(crate) fn valid_group_name(name: &str) -> bool {
    (1..=63).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-')
        && !name.contains("--")
}

/// Container names: 1–63 of `[a-z0-9-]`, no leading/trailing hyphen.
pub(crate) fn valid_container_name(name: &str) -> bool {
    (1..=63).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-')
}

fn valid_env_name(name: &str) -> bool {
    let b = name.as_bytes();
    (1..=63).contains(&b.len())
        && (b[0].is_ascii_alphabetic() || b[0] == b'_')
        && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_')
}

fn valid_volume_name(name: &str) -> bool {
    (5..=63).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-')
}

fn valid_dns_label(label: &str) -> bool {
    let b = label.as_bytes();
    (5..=63).contains(&b.len())
        && b[0].is_ascii_lowercase()
        && (b[b.len() - 1].is_ascii_lowercase() || b[b.len() - 1].is_ascii_digit())
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
}

/// `West US` → `westus`.
pub(crate) fn normalize_location(loc: &str) -> String {
    loc.chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_lowercase()
}

fn ports(list: &[Value], path: &str) -> VResult<Vec<(i64, String)>> {
    let mut out = Vec::new();
    for (i, p) in list.iter().enumerate() {
        let pp = format!("{path}[{i}]");
        let p = obj(p, &pp)?;
        let port = opt_int(p, "port", &pp)?.ok_or_else(|| required(&pp, "port"))?;
        if !(1..=65535).contains(&port) {
            return Err(arm_error(
                400,
                "InvalidPort",
                format!(
                    "The port '{port}' at '{pp}' is invalid. Ports must be between 1 and 65535."
                ),
            ));
        }
        let proto = opt_enum(p, "protocol", &pp, &["TCP", "UDP"])?.unwrap_or("TCP");
        out.push((port, proto.to_string()));
    }
    Ok(out)
}

/// Validates one container (or init container) and strips its secrets and read-only fields.
fn container(
    v: &mut Value,
    path: &str,
    group: &str,
    init: bool,
    volumes: &[String],
) -> VResult<ContainerSpec> {
    let m = v
        .as_object_mut()
        .ok_or_else(|| wrong_type(path, "Object"))?;
    let name = req_str(m, "name", path)?.to_string();
    if !valid_container_name(&name) {
        return Err(arm_error(
            400,
            "InvalidContainerName",
            format!(
                "The container name '{name}' in container group '{group}' is invalid. A container name must be 1 to 63 characters of lowercase letters, numbers and hyphens, and cannot start or end with a hyphen."
            ),
        ));
    }
    let ppath = format!("{path}.properties");
    let props = match m.get_mut("properties") {
        Some(Value::Object(p)) => p,
        Some(_) => return Err(wrong_type(&ppath, "Object")),
        None => return Err(required(path, "properties")),
    };
    props.remove("instanceView");
    let image = match opt_str(props, "image", &ppath)? {
        Some(i) => i.to_string(),
        None if init => String::new(),
        None => return Err(required(&ppath, "image")),
    };
    if (!init && image.trim().is_empty()) || image.chars().any(char::is_whitespace) {
        return Err(arm_error(
            400,
            "InvalidImageName",
            format!("The image '{image}' of container '{name}' in container group '{group}' is invalid."),
        ));
    }
    let command = string_list(props, "command", &ppath)?;
    let mut env = Vec::new();
    let env_path = format!("{ppath}.environmentVariables");
    if let Some(Value::Array(vars)) = props.get_mut("environmentVariables") {
        for (i, var) in vars.iter_mut().enumerate() {
            let vp = format!("{env_path}[{i}]");
            let vm = var
                .as_object_mut()
                .ok_or_else(|| wrong_type(&vp, "Object"))?;
            let vname = req_str(vm, "name", &vp)?.to_string();
            if !valid_env_name(&vname) {
                return Err(arm_error(
                    400,
                    "InvalidEnvironmentVariableName",
                    format!(
                        "The environment variable name '{vname}' in container '{name}' of container group '{group}' is invalid. A valid environment variable name must start with alphabetic character or '_', followed by a string of alphanumeric characters or '_' (e.g. 'my_name', 'MY_NAME', or 'MyName'), and be at most 63 characters long."
                    ),
                ));
            }
            let value = opt_str(vm, "value", &vp)?.map(String::from);
            let secure = opt_str(vm, "secureValue", &vp)?.map(String::from);
            opt_str(vm, "secureValueReference", &vp)?;
            vm.remove("secureValue");
            env.push((vname, secure.or(value).unwrap_or_default()));
        }
    } else if props
        .get("environmentVariables")
        .is_some_and(|v| !v.is_null())
    {
        return Err(wrong_type(&env_path, "Array"));
    }
    let mut cpu = 0.0;
    let mut memory_gb = 0.0;
    let mut cports = Vec::new();
    if !init {
        cports = ports(opt_arr(props, "ports", &ppath)?, &format!("{ppath}.ports"))?;
        let rpath = format!("{ppath}.resources");
        let res =
            opt_obj(props, "resources", &ppath)?.ok_or_else(|| required(&ppath, "resources"))?;
        let qpath = format!("{rpath}.requests");
        let req = opt_obj(res, "requests", &rpath)?.ok_or_else(|| required(&rpath, "requests"))?;
        cpu = opt_num(req, "cpu", &qpath)?.ok_or_else(|| required(&qpath, "cpu"))?;
        memory_gb =
            opt_num(req, "memoryInGB", &qpath)?.ok_or_else(|| required(&qpath, "memoryInGB"))?;
        if cpu <= 0.0 || memory_gb <= 0.0 {
            return Err(arm_error(
                400,
                "InvalidResourceRequests",
                format!("The resource requests of container '{name}' in container group '{group}' are invalid: cpu and memoryInGB must be greater than 0."),
            ));
        }
        if let Some(gpu) = opt_obj(req, "gpu", &qpath)? {
            let gp = format!("{qpath}.gpu");
            opt_int(gpu, "count", &gp)?.ok_or_else(|| required(&gp, "count"))?;
            req_str(gpu, "sku", &gp)?;
        }
        if let Some(lim) = opt_obj(res, "limits", &rpath)? {
            let lp = format!("{rpath}.limits");
            opt_num(lim, "cpu", &lp)?;
            opt_num(lim, "memoryInGB", &lp)?;
        }
        for probe in ["livenessProbe", "readinessProbe"] {
            opt_obj(props, probe, &ppath)?;
        }
    }
    for (i, vmnt) in opt_arr(props, "volumeMounts", &ppath)?.iter().enumerate() {
        let vp = format!("{ppath}.volumeMounts[{i}]");
        let vm = obj(vmnt, &vp)?;
        let vname = req_str(vm, "name", &vp)?;
        let mount = req_str(vm, "mountPath", &vp)?;
        opt_bool(vm, "readOnly", &vp)?;
        if !volumes.iter().any(|v| v == vname) || mount.contains(':') {
            return Err(arm_error(
                400,
                "InvalidVolumeMount",
                format!("The volume mount '{vname}' of container '{name}' in container group '{group}' is invalid: it must name a volume of the group and its mount path cannot contain ':'."),
            ));
        }
    }
    // Responses always carry these lists.
    for key in ["command", "environmentVariables"] {
        props.entry(key).or_insert_with(|| Value::Array(Vec::new()));
    }
    if !init {
        props
            .entry("ports")
            .or_insert_with(|| Value::Array(Vec::new()));
    }
    Ok(ContainerSpec {
        name,
        image,
        command,
        env,
        cpu,
        memory_gb,
        ports: cports,
    })
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
    let mut root: Value =
        serde_json::from_slice(body).map_err(|e| content_error(format!("{e}")))?;
    let top = root
        .as_object_mut()
        .ok_or_else(|| content_error("Unexpected JSON token: the body must be a JSON object"))?;
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

    let pp = "properties";
    let props = match top.get_mut("properties") {
        Some(Value::Object(p)) => p,
        Some(_) => return Err(wrong_type(pp, "Object")),
        None => return Err(required("", "properties")),
    };
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

    // Volumes first: container mounts refer to them.
    let mut volume_names = Vec::new();
    if let Some(vols) = props.get_mut("volumes") {
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
                    format!("The volume name '{vname}' in container group '{name}' is invalid or duplicated. A volume name must be 5 to 63 characters of lowercase letters, numbers and hyphens, and cannot start or end with a hyphen."),
                ));
            }
            let kinds = [
                "azureFile",
                "emptyDir",
                "secret",
                "secretReference",
                "gitRepo",
            ];
            let present: Vec<&str> = kinds
                .iter()
                .copied()
                .filter(|k| vm.get(*k).is_some_and(|v| !v.is_null()))
                .collect();
            if present.len() != 1 {
                return Err(arm_error(
                    400,
                    "InvalidVolumeMount",
                    format!("The volume '{vname}' in container group '{name}' must specify exactly one of azureFile, emptyDir, secret, secretReference or gitRepo."),
                ));
            }
            match present[0] {
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
            volume_names.push(vname);
        }
    }

    let mut containers = Vec::new();
    match props.get_mut("containers") {
        Some(Value::Array(list)) if !list.is_empty() => {
            if list.len() > 60 {
                return Err(content_error(
                    "A container group can have at most 60 containers. Path 'properties.containers'",
                ));
            }
            for (i, c) in list.iter_mut().enumerate() {
                containers.push(container(
                    c,
                    &format!("properties.containers[{i}]"),
                    name,
                    false,
                    &volume_names,
                )?);
            }
        }
        Some(Value::Array(_)) => return Err(content_error(
            "The container group must have at least one container. Path 'properties.containers'",
        )),
        Some(_) => return Err(wrong_type("properties.containers", "Array")),
        None => return Err(required(pp, "containers")),
    }
    let mut init_containers = Vec::new();
    if let Some(list) = props.get_mut("initContainers") {
        let list = list
            .as_array_mut()
            .ok_or_else(|| wrong_type("properties.initContainers", "Array"))?;
        for (i, c) in list.iter_mut().enumerate() {
            init_containers.push(container(
                c,
                &format!("properties.initContainers[{i}]"),
                name,
                true,
                &volume_names,
            )?);
        }
    }
    let mut seen: Vec<&str> = Vec::new();
    for c in containers.iter().chain(&init_containers) {
        if seen.contains(&c.name.as_str()) {
            return Err(arm_error(
                400,
                "DuplicateContainerName",
                format!(
                    "The container name '{}' is used more than once in container group '{name}'.",
                    c.name
                ),
            ));
        }
        seen.push(&c.name);
    }

    if let Some(creds) = props.get_mut("imageRegistryCredentials") {
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
    }
    if let Some(ip) = props.get_mut("ipAddress") {
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
                    format!("The DNS name label '{label}' in container group '{name}' is invalid. The DNS name label can contain only lowercase letters, numbers and hyphens. The first character must be a letter. The last character must be a letter or number. The value must be between 5 and 63 characters long."),
                ));
            }
        }
    }
    if let Some(diag) = props.get_mut("diagnostics") {
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
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn minimal() -> Value {
        json!({
            "location": "East US",
            "tags": {"a": "b"},
            "properties": {
                "osType": "Linux",
                "restartPolicy": "Never",
                "containers": [{"name": "job", "properties": {
                    "image": "alpine:3",
                    "command": ["sh", "-c", "echo hi"],
                    "resources": {"requests": {"cpu": 1.0, "memoryInGB": 1.5}},
                    "environmentVariables": [{"name": "MODE", "value": "batch"}, {"name": "TOKEN", "secureValue": "s3cr3t"}]
                }}],
                "imageRegistryCredentials": [{"server": "r.azurecr.io", "username": "u", "password": "hunter2"}],
                "volumes": [
                    {"name": "files", "azureFile": {"shareName": "s", "storageAccountName": "a", "storageAccountKey": "KEY=="}},
                    {"name": "secrets", "secret": {"f": "c2VjcmV0"}}
                ],
                "diagnostics": {"logAnalytics": {"workspaceId": "w", "workspaceKey": "wk", "workspaceResourceId": "/x"}}
            }
        })
    }

    fn check(v: &Value) -> Result<Accepted, (u16, String)> {
        validate_group("job-1", &serde_json::to_vec(v).unwrap()).map_err(|r| {
            (
                r.status,
                r.json_body()["error"]["code"]
                    .as_str()
                    .unwrap_or("")
                    .to_string(),
            )
        })
    }

    #[test]
    fn accepts_and_strips_secrets() {
        let a = check(&minimal()).unwrap();
        assert_eq!(a.location, "eastus");
        assert_eq!(a.spec.restart_policy, RestartPolicy::Never);
        assert_eq!(
            a.spec.containers[0].env,
            vec![
                ("MODE".into(), "batch".into()),
                ("TOKEN".into(), "s3cr3t".into())
            ]
        );
        assert_eq!(a.spec.containers[0].command, vec!["sh", "-c", "echo hi"]);
        let text = serde_json::to_string(&a.public).unwrap();
        for secret in [
            "s3cr3t",
            "hunter2",
            "KEY==",
            "c2VjcmV0",
            "\"wk\"",
            "workspaceResourceId",
            "secureValue",
        ] {
            assert!(!text.contains(secret), "{secret} leaked: {text}");
        }
        let props = &a.public["properties"];
        assert_eq!(props["volumes"][1]["secret"], json!({}));
        assert_eq!(props["containers"][0]["properties"]["ports"], json!([]));
        assert_eq!(props["imageRegistryCredentials"][0]["username"], "u");
    }

    #[test]
    fn group_name_rules() {
        for ok in ["a", "job-1", "x".repeat(63).as_str()] {
            assert!(valid_group_name(ok), "{ok}");
        }
        for bad in ["", "-a", "a-", "a--b", "Upper", "a_b", &"x".repeat(64)] {
            assert!(!valid_group_name(bad), "{bad}");
        }
        let err = validate_group("Bad", b"{}").unwrap_err();
        assert_eq!(
            err.json_body()["error"]["code"],
            "InvalidContainerGroupName"
        );
    }

    #[test]
    fn required_fields_and_enums() {
        type Mutation = Box<dyn Fn(&mut Value)>;
        let cases: Vec<(Mutation, u16, &str)> = vec![
            (
                Box::new(|v| {
                    v.as_object_mut().unwrap().remove("location");
                }),
                400,
                "LocationRequired",
            ),
            (
                Box::new(|v| {
                    v["properties"].as_object_mut().unwrap().remove("osType");
                }),
                400,
                "InvalidRequestContent",
            ),
            (
                Box::new(|v| {
                    v["properties"]["osType"] = json!("linux");
                }),
                400,
                "InvalidRequestContent",
            ),
            (
                Box::new(|v| {
                    v["properties"]["restartPolicy"] = json!("Sometimes");
                }),
                400,
                "InvalidRequestContent",
            ),
            (
                Box::new(|v| {
                    v["properties"]["containers"][0]["properties"]
                        .as_object_mut()
                        .unwrap()
                        .remove("image");
                }),
                400,
                "InvalidRequestContent",
            ),
            (
                Box::new(|v| {
                    v["properties"]["containers"][0]["properties"]
                        .as_object_mut()
                        .unwrap()
                        .remove("resources");
                }),
                400,
                "InvalidRequestContent",
            ),
            (
                Box::new(|v| {
                    v["properties"]["containers"][0]["properties"]["resources"]["requests"]
                        ["cpu"] = json!("one");
                }),
                400,
                "InvalidRequestContent",
            ),
            (
                Box::new(|v| {
                    v["properties"]["containers"][0]["properties"]["resources"]["requests"]
                        ["cpu"] = json!(0);
                }),
                400,
                "InvalidResourceRequests",
            ),
            (
                Box::new(|v| {
                    v["properties"]["containers"] = json!([]);
                }),
                400,
                "InvalidRequestContent",
            ),
            (
                Box::new(|v| {
                    v["properties"]["containers"][0]["name"] = json!("Job");
                }),
                400,
                "InvalidContainerName",
            ),
            (
                Box::new(|v| {
                    v["properties"]["containers"][0]["properties"]["environmentVariables"][0]
                        ["name"] = json!("1BAD");
                }),
                400,
                "InvalidEnvironmentVariableName",
            ),
            (
                Box::new(|v| {
                    v["properties"]["volumes"][0]["name"] = json!("vol");
                }),
                400,
                "InvalidVolumeName",
            ),
            (
                Box::new(|v| {
                    v["properties"]["containers"][0]["properties"]["volumeMounts"] =
                        json!([{"name": "nope1", "mountPath": "/m"}]);
                }),
                400,
                "InvalidVolumeMount",
            ),
            (
                Box::new(|v| {
                    v["properties"]["ipAddress"] =
                        json!({"type": "Public", "ports": [{"port": 80}], "dnsNameLabel": "1abc"});
                }),
                400,
                "InvalidDnsNameLabel",
            ),
            (
                Box::new(|v| {
                    v["properties"]["ipAddress"] =
                        json!({"type": "Public", "ports": [{"port": 70000}]});
                }),
                400,
                "InvalidPort",
            ),
            (
                Box::new(|v| {
                    v["properties"]["ipAddress"] = json!({"type": "Open", "ports": []});
                }),
                400,
                "InvalidRequestContent",
            ),
            (
                Box::new(|v| {
                    v["properties"]["containers"][0]["properties"]["ports"] =
                        json!([{"port": 80, "protocol": "tcp"}]);
                }),
                400,
                "InvalidRequestContent",
            ),
            (
                Box::new(|v| {
                    let c = v["properties"]["containers"][0].clone();
                    v["properties"]["containers"]
                        .as_array_mut()
                        .unwrap()
                        .push(c);
                }),
                400,
                "DuplicateContainerName",
            ),
            (
                Box::new(|v| {
                    v["properties"]["diagnostics"]["logAnalytics"]
                        .as_object_mut()
                        .unwrap()
                        .remove("workspaceKey");
                }),
                400,
                "InvalidRequestContent",
            ),
            (
                Box::new(|v| {
                    *v = json!([1]);
                }),
                400,
                "InvalidRequestContent",
            ),
        ];
        for (i, (mutate, status, code)) in cases.into_iter().enumerate() {
            let mut v = minimal();
            mutate(&mut v);
            let err = check(&v)
                .err()
                .unwrap_or_else(|| panic!("case {i} accepted"));
            assert_eq!(err, (status, code.to_string()), "case {i}");
        }
        let bad_json = validate_group("ok", b"{not json").unwrap_err();
        assert_eq!(
            bad_json.json_body()["error"]["code"],
            "InvalidRequestContent"
        );
    }

    #[test]
    fn update_conflicts() {
        let a = check(&minimal()).unwrap().spec;
        let mut b = a.clone();
        assert_eq!(a.update_conflict(&b), None);
        b.containers[0].command = vec!["true".into()];
        assert_eq!(a.update_conflict(&b), None, "commands may change in place");
        b.restart_policy = RestartPolicy::Always;
        assert!(a.update_conflict(&b).is_some());
        let mut c = a.clone();
        c.containers[0].cpu = 2.0;
        assert!(a.update_conflict(&c).is_some());
    }
}
