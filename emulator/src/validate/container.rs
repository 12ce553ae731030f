//! One container (or init container): name, image, command, environment, resources, ports
//! and volume mounts; secrets and read-only fields are stripped from the public body.

use serde_json::{Map, Value};

use super::json::{
    obj, opt_arr, opt_bool, opt_enum, opt_int, opt_num, opt_obj, opt_str, req_str, required,
    string_list, wrong_type, VResult,
};
use super::names::{valid_container_name, valid_env_name};
use super::ContainerSpec;
use crate::http::{arm_error, Resp};

/// Where a container sits: its JSON path, its group, whether it is an init container and the
/// group's volume names.
pub(super) struct Place<'a> {
    pub path: String,
    pub group: &'a str,
    pub init: bool,
    pub volumes: &'a [String],
}

/// The ports of a container or of the group's IP address, validated.
pub(super) fn ports(list: &[Value], path: &str) -> VResult<Vec<(i64, String)>> {
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
pub(super) fn container(v: &mut Value, at: &Place) -> VResult<ContainerSpec> {
    let (path, group) = (at.path.as_str(), at.group);
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
    let image = image(props, &ppath, &name, at)?;
    let command = string_list(props, "command", &ppath)?;
    let env = environment(props, &ppath, &name, group)?;
    let (cpu, memory_gb, cports) = if at.init {
        (0.0, 0.0, Vec::new())
    } else {
        let cports = ports(opt_arr(props, "ports", &ppath)?, &format!("{ppath}.ports"))?;
        let (cpu, memory_gb) = resources(props, &ppath, &name, group)?;
        for probe in ["livenessProbe", "readinessProbe"] {
            opt_obj(props, probe, &ppath)?;
        }
        (cpu, memory_gb, cports)
    };
    volume_mounts(props, &ppath, &name, at)?;
    // Responses always carry these lists.
    for key in ["command", "environmentVariables"] {
        props.entry(key).or_insert_with(|| Value::Array(Vec::new()));
    }
    if !at.init {
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

/// The image: required (and not blank) except on init containers, never with whitespace.
fn image(props: &Map<String, Value>, ppath: &str, name: &str, at: &Place) -> VResult<String> {
    let image = match opt_str(props, "image", ppath)? {
        Some(i) => i.to_string(),
        None if at.init => String::new(),
        None => return Err(required(ppath, "image")),
    };
    if (!at.init && image.trim().is_empty()) || image.chars().any(char::is_whitespace) {
        let group = at.group;
        return Err(arm_error(
            400,
            "InvalidImageName",
            format!("The image '{image}' of container '{name}' in container group '{group}' is invalid."),
        ));
    }
    Ok(image)
}

/// `environmentVariables`: names checked, `value` or `secureValue` kept for the run spec,
/// `secureValue` removed from the body.
fn environment(
    props: &mut Map<String, Value>,
    ppath: &str,
    name: &str,
    group: &str,
) -> VResult<Vec<(String, String)>> {
    let mut env = Vec::new();
    let env_path = format!("{ppath}.environmentVariables");
    let vars = match props.get_mut("environmentVariables") {
        Some(Value::Array(vars)) => vars,
        None | Some(Value::Null) => return Ok(env),
        Some(_) => return Err(wrong_type(&env_path, "Array")),
    };
    for (i, var) in vars.iter_mut().enumerate() {
        let vp = format!("{env_path}[{i}]");
        let vm = var
            .as_object_mut()
            .ok_or_else(|| wrong_type(&vp, "Object"))?;
        let vname = req_str(vm, "name", &vp)?.to_string();
        if !valid_env_name(&vname) {
            return Err(bad_env_name(&vname, name, group));
        }
        let value = opt_str(vm, "value", &vp)?.map(String::from);
        let secure = opt_str(vm, "secureValue", &vp)?.map(String::from);
        opt_str(vm, "secureValueReference", &vp)?;
        vm.remove("secureValue");
        env.push((vname, secure.or(value).unwrap_or_default()));
    }
    Ok(env)
}

fn bad_env_name(vname: &str, name: &str, group: &str) -> Resp {
    arm_error(
        400,
        "InvalidEnvironmentVariableName",
        format!(
            "The environment variable name '{vname}' in container '{name}' of container group '{group}' is invalid. A valid environment variable name must start with alphabetic character or '_', followed by a string of alphanumeric characters or '_' (e.g. 'my_name', 'MY_NAME', or 'MyName'), and be at most 63 characters long."
        ),
    )
}

/// `resources`: required `requests` with positive `cpu` and `memoryInGB`, optional `gpu` and
/// `limits`; returns `(cpu, memoryInGB)`.
fn resources(
    props: &Map<String, Value>,
    ppath: &str,
    name: &str,
    group: &str,
) -> VResult<(f64, f64)> {
    let rpath = format!("{ppath}.resources");
    let res = opt_obj(props, "resources", ppath)?.ok_or_else(|| required(ppath, "resources"))?;
    let qpath = format!("{rpath}.requests");
    let req = opt_obj(res, "requests", &rpath)?.ok_or_else(|| required(&rpath, "requests"))?;
    let cpu = opt_num(req, "cpu", &qpath)?.ok_or_else(|| required(&qpath, "cpu"))?;
    let memory_gb =
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
    Ok((cpu, memory_gb))
}

/// `volumeMounts`: each names a volume of the group, with a mount path without `:`.
fn volume_mounts(props: &Map<String, Value>, ppath: &str, name: &str, at: &Place) -> VResult<()> {
    for (i, vmnt) in opt_arr(props, "volumeMounts", ppath)?.iter().enumerate() {
        let vp = format!("{ppath}.volumeMounts[{i}]");
        let vm = obj(vmnt, &vp)?;
        let vname = req_str(vm, "name", &vp)?;
        let mount = req_str(vm, "mountPath", &vp)?;
        opt_bool(vm, "readOnly", &vp)?;
        if !at.volumes.iter().any(|v| v == vname) || mount.contains(':') {
            let group = at.group;
            return Err(arm_error(
                400,
                "InvalidVolumeMount",
                format!("The volume mount '{vname}' of container '{name}' in container group '{group}' is invalid: it must name a volume of the group and its mount path cannot contain ':'."),
            ));
        }
    }
    Ok(())
}
