//! Location-scoped routes (usage, capabilities, cached images), the async-operation status
//! and result resources, and the provider's operation list.

use serde_json::{json, Value};

use super::http::{arm_error, Resp};
use super::model::View;
use super::routes::LocationList;
use super::state::Inner;
use super::validate::normalize_location;

/// `GET …/locations/{location}/usages|capabilities|cachedImages`.
pub(crate) fn location(inner: &Inner, sub: &str, location: &str, list: LocationList) -> Resp {
    let loc = normalize_location(location);
    match list {
        LocationList::Usages => {
            let w = inner.world();
            let sub_l = sub.to_ascii_lowercase();
            let groups: Vec<_> = w
                .groups
                .iter()
                .filter(|((s, _, _), g)| *s == sub_l && g.location == loc)
                .map(|(_, g)| g)
                .collect();
            let cores: f64 = groups
                .iter()
                .filter(|g| !g.is_terminal())
                .map(|g| g.spec.cpu())
                .sum();
            Resp::json(
                200,
                &json!({"value": [
                    {"unit": "Count", "currentValue": groups.len(), "limit": 2000,
                     "name": {"value": "ContainerGroups", "localizedValue": "Container Groups"}},
                    {"unit": "Count", "currentValue": cores.ceil() as i64, "limit": 100,
                     "name": {"value": "StandardCores", "localizedValue": "Standard Cores"}},
                ]}),
            )
        }
        LocationList::Capabilities => {
            let caps = |os: &str, gpu: &str, max_gpu: u32| {
                json!({"resourceType": "containerGroups", "osType": os, "location": loc, "ipAddressType": "Public",
                       "gpu": gpu, "capabilities": {"maxMemoryInGB": 16.0, "maxCpu": 4.0, "maxGpuCount": max_gpu}})
            };
            Resp::json(
                200,
                &json!({"value": [caps("Linux", "None", 0), caps("Windows", "None", 0)]}),
            )
        }
        LocationList::CachedImages => Resp::json(
            200,
            &json!({"value": [
                {"osType": "Linux", "image": "mcr.microsoft.com/azuredocs/aci-helloworld:latest"},
                {"osType": "Windows", "image": "mcr.microsoft.com/windows/servercore:ltsc2022"},
            ]}),
        ),
    }
}

fn operation_not_found(id: &str) -> Resp {
    arm_error(
        404,
        "OperationNotFound",
        format!("The operation '{id}' could not be found."),
    )
}

/// `GET …/locations/{location}/operations/{id}`: always `200` with the status.
pub(crate) fn operation_status(inner: &Inner, id: &str) -> Resp {
    let w = inner.world();
    let Some(op) = w.ops.get(id) else {
        return operation_not_found(id);
    };
    let group = w
        .groups
        .get(&op.key)
        .filter(|g| g.op_id.as_deref() == Some(id));
    let resp = Resp::json(200, &op.render(group));
    if op.is_terminal() {
        resp
    } else {
        resp.with_header("retry-after", "1")
    }
}

/// The service's own api-version in async-operation URLs.
const OPERATION_API_VERSION: &str = "2018-06-01";

/// Adds `Azure-AsyncOperation` (the status) and `Location` (the result) of operation `op_id`
/// under `{base}{scope}` (`/subscriptions/{sub}` as on a PUT, or
/// `/subscriptions/{sub}/resourceGroups/{rg}` as in the recorded DELETE example), and
/// `x-ms-request-id` `{location}:{op_id}`. No `Retry-After` (none was observed on PUT);
/// `202` answers add it.
pub(crate) fn async_headers(
    resp: Resp,
    base: &str,
    scope: &str,
    location: &str,
    op_id: &str,
) -> Resp {
    let prefix =
        format!("{base}{scope}/providers/Microsoft.ContainerInstance/locations/{location}");
    resp.with_header(
        "azure-asyncoperation",
        format!("{prefix}/operations/{op_id}?api-version={OPERATION_API_VERSION}"),
    )
    .with_header(
        "location",
        format!("{prefix}/operationResults/{op_id}?api-version={OPERATION_API_VERSION}"),
    )
    .with_header("x-ms-request-id", format!("{location}:{op_id}"))
}

/// `GET …/locations/{location}/operationResults/{id}` (the `Location` header): `202` while
/// running, then `200` with the group, `204` if it is gone, or the failure's error.
pub(crate) fn operation_result(inner: &Inner, base: &str, id: &str) -> Resp {
    let w = inner.world();
    let Some(op) = w.ops.get(id) else {
        return operation_not_found(id);
    };
    match op.status.as_str() {
        "Succeeded" => match w.groups.get(&op.key) {
            Some(g) => Resp::json(200, &g.render(View::Full)),
            None => Resp::empty(204),
        },
        "Failed" | "Canceled" => {
            let (status, code, message) =
                op.error
                    .clone()
                    .unwrap_or((409, "Failed".into(), "The operation failed.".into()));
            arm_error(status, &code, message)
        }
        _ => {
            let url = format!(
                "{base}/subscriptions/{}/providers/Microsoft.ContainerInstance/locations/{}/operationResults/{id}?api-version={OPERATION_API_VERSION}",
                op.sub, op.location
            );
            Resp::empty(202)
                .with_header("location", url)
                .with_header("retry-after", "1")
        }
    }
}

/// `GET /providers/Microsoft.ContainerInstance/operations`.
pub(crate) fn operations_list() -> Resp {
    let op = |name: &str, desc: &str| -> Value {
        json!({"name": format!("Microsoft.ContainerInstance/{name}"), "origin": "User",
               "display": {"provider": "Microsoft Container Instance", "resource": "Container Group", "operation": desc, "description": desc}})
    };
    Resp::json(
        200,
        &json!({"value": [
            op("containerGroups/read", "Get Container Group"),
            op("containerGroups/write", "Create or Update Container Group"),
            op("containerGroups/delete", "Delete Container Group"),
            op("containerGroups/start/action", "Start Container Group"),
            op("containerGroups/stop/action", "Stop Container Group"),
            op("containerGroups/restart/action", "Restart Container Group"),
            op("containerGroups/containers/logs/read", "Get Container Logs"),
            op("containerGroups/containers/exec/action", "Exec into Container"),
            op("containerGroups/containers/attach/action", "Attach to Container"),
        ]}),
    )
}
