//! Container group routes: PUT, GET, PATCH, DELETE, list, stop/start/restart and outbound
//! dependencies.

use std::sync::Arc;

use hyper::Method;
use serde_json::{json, Value};
use tokio::sync::watch;

use super::http::{arm_error, invalid_content, json_body, Req, Resp};
use super::lifecycle::{
    failure_error, operation_for, planned_failure, prepare_redeploy, record_stopped, spawn_deploy,
    stop_group, store_operation, terminate_all,
};
use super::locations::async_headers;
use super::model::{group_key, ContainerRt, Group, GroupKey, View, CG_TYPE};
use super::process::ProcHandle;
use super::routes::{Action, GroupRef};
use super::state::{Inner, World};
use super::validate::{validate_group, Accepted};

/// `404 ResourceNotFound` for a container group.
pub(crate) fn not_found(rg: &str, name: &str) -> Resp {
    arm_error(
        404,
        "ResourceNotFound",
        format!(
            "The Resource '{CG_TYPE}/{name}' under resource group '{rg}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix"
        ),
    )
}

/// `409 ContainerGroupTransitioning`.
pub(crate) fn transitioning(name: &str) -> Resp {
    arm_error(
        409,
        "ContainerGroupTransitioning",
        format!("The container group '{name}' is still transitioning, please retry later."),
    )
}

/// Routes `{CG}` by method.
pub(crate) async fn group(inner: &Arc<Inner>, req: &Req, g: &GroupRef) -> Resp {
    if let Some(r) = inner.check_resource_group(&g.rg) {
        return r;
    }
    match req.method {
        Method::PUT => put(inner, req, g),
        Method::GET => get(inner, g),
        Method::PATCH => patch(inner, req, g),
        Method::DELETE => super::deletion::delete(inner, req, g).await,
        _ => arm_error(
            405,
            "MethodNotAllowed",
            "The requested method is not allowed.",
        ),
    }
}

fn put(inner: &Arc<Inner>, req: &Req, r: &GroupRef) -> Resp {
    let accepted = match validate_group(&r.name, &req.body) {
        Ok(a) => a,
        Err(e) => return e,
    };
    let key = group_key(&r.sub, &r.rg, &r.name);
    let failure = planned_failure(inner, &accepted.spec);
    let sync_errors = inner.faults().faults.sync_provisioning_errors;
    if let (Some(f), true) = (
        failure,
        sync_errors && failure.is_some_and(|f| f.can_be_synchronous()),
    ) {
        let (status, code, message) = failure_error(f, &r.name, &accepted.location, &accepted.spec);
        return arm_error(status, &code, message);
    }
    let mut w = inner.world();
    let (status, gen, kill, op_id) = if w.groups.contains_key(&key) {
        match update(inner, &mut w, &key, r, accepted) {
            Ok((gen, kill, op_id)) => (200, gen, kill, op_id),
            Err(resp) => return resp,
        }
    } else {
        (201, 1, Vec::new(), create(inner, &mut w, &key, r, accepted))
    };
    let Some(g) = w.groups.get(&key) else {
        return not_found(&r.rg, &r.name);
    };
    let body = g.render(View::Put);
    let (sub, location) = (g.sub.clone(), g.location.clone());
    drop(w);
    spawn_deploy(inner.clone(), key, gen, kill, failure, false);
    let scope = format!("/subscriptions/{sub}");
    let base = req.base(inner);
    async_headers(Resp::json(status, &body), base, &scope, &location, &op_id)
        .with_header(
            "x-ms-ratelimit-remaining-subscription-resource-requests-pt5m",
            "99",
        )
        .with_header(
            "x-ms-ratelimit-remaining-subscription-resource-requests-pt1h",
            "299",
        )
}

/// A PUT on an existing group: refused while it transitions, for a running group's
/// unchangeable settings or another location; else a redeployment (generation, processes to
/// kill, operation id).
fn update(
    inner: &Inner,
    w: &mut World,
    key: &GroupKey,
    r: &GroupRef,
    accepted: Accepted,
) -> Result<(u64, Vec<ProcHandle>, String), Resp> {
    let Some(existing) = w.groups.get(key) else {
        return Err(not_found(&r.rg, &r.name));
    };
    if existing.transitioning {
        return Err(transitioning(&existing.name));
    }
    if !existing.is_terminal() {
        if let Some(what) = existing.spec.update_conflict(&accepted.spec) {
            return Err(arm_error(
                400,
                "InvalidContainerGroupUpdate",
                format!(
                    "The updates on container group '{}' are invalid. If you are going to update the os type, restart policy, network profile, CPU, memory or GPU resources for a container group, you must delete it first and then create a new one (changed: {what}).",
                    existing.name
                ),
            ));
        }
    }
    if existing.location != accepted.location {
        return Err(arm_error(
            400,
            "InvalidResourceLocation",
            format!(
                "The resource '{}' already exists in location '{}' in resource group '{}'. A resource with the same name cannot be created in location '{}'. Please select a new resource name.",
                existing.name, existing.location, existing.rg, accepted.location
            ),
        ));
    }
    let new = Some((accepted.public, accepted.spec));
    prepare_redeploy(w, key, new, inner.log_settings()).ok_or_else(|| not_found(&r.rg, &r.name))
}

/// A PUT creating a group: stores it (generation 1, `Pending`) and its operation; the
/// operation id.
fn create(
    inner: &Inner,
    w: &mut World,
    key: &GroupKey,
    r: &GroupRef,
    accepted: Accepted,
) -> String {
    let logs = inner.log_settings();
    let (gen_tx, _) = watch::channel(1);
    let workdir = inner.root_dir.join(format!(
        "{}-{}",
        r.name.to_ascii_lowercase(),
        uuid::Uuid::new_v4().simple()
    ));
    let mut g = Group {
        sub: r.sub.clone(),
        rg: r.rg.clone(),
        name: r.name.clone(),
        location: accepted.location,
        public: accepted.public,
        containers: ContainerRt::all(&accepted.spec.containers, logs),
        init_containers: ContainerRt::all(&accepted.spec.init_containers, logs),
        spec: accepted.spec,
        provisioning: "Pending".into(),
        state: "Pending".into(),
        events: Vec::new(),
        generation: 1,
        gen_tx,
        transitioning: true,
        op_id: None,
        workdir,
        running_since: None,
        dying: Vec::new(),
        principal_id: uuid::Uuid::new_v4().to_string(),
    };
    let op_id = store_operation(w, operation_for(&g));
    g.op_id = Some(op_id.clone());
    w.groups.insert(key.clone(), g);
    w.note_peaks();
    op_id
}

fn get(inner: &Inner, r: &GroupRef) -> Resp {
    let w = inner.world();
    match w.groups.get(&group_key(&r.sub, &r.rg, &r.name)) {
        Some(g) => Resp::json(200, &g.render(View::Full)),
        None => not_found(&r.rg, &r.name),
    }
}

fn patch(inner: &Inner, req: &Req, r: &GroupRef) -> Resp {
    let body = match json_body(&req.body) {
        Ok(v) => v,
        Err(e) => return e,
    };
    let tags = match body.get("tags") {
        None | Some(Value::Null) => None,
        Some(Value::Object(t)) if t.values().all(Value::is_string) => {
            Some(Value::Object(t.clone()))
        }
        Some(_) => return invalid_content("Error converting value to type 'String'. Path 'tags'"),
    };
    let mut w = inner.world();
    let Some(g) = w.groups.get_mut(&group_key(&r.sub, &r.rg, &r.name)) else {
        return not_found(&r.rg, &r.name);
    };
    if let Some(t) = tags {
        g.public.insert("tags".into(), t);
    }
    Resp::json(200, &g.render(View::Full))
}

/// `POST {CG}/stop|start|restart`.
pub(crate) async fn action(inner: &Arc<Inner>, req: &Req, g: &GroupRef, action: Action) -> Resp {
    if let Some(r) = inner.check_resource_group(&g.rg) {
        return r;
    }
    let key = group_key(&g.sub, &g.rg, &g.name);
    let stopped = match action_locked(inner, req.base(inner), g, &key, action) {
        Ok(procs) => procs,
        Err(resp) => return resp,
    };
    // Stop is synchronous as in Azure: the processes are gone when the 204 is sent.
    terminate_all(stopped.clone(), inner.config.kill_grace).await;
    record_stopped(inner, &key, &stopped);
    Resp::empty(204)
}

/// The part of an action done under the world lock: `Ok(processes to stop)` for a stop,
/// `Err(answer)` for everything else.
fn action_locked(
    inner: &Arc<Inner>,
    base: &str,
    g: &GroupRef,
    key: &GroupKey,
    action: Action,
) -> Result<Vec<ProcHandle>, Resp> {
    let mut w = inner.world();
    let Some(group) = w.groups.get_mut(key) else {
        return Err(not_found(&g.rg, &g.name));
    };
    if group.transitioning {
        return Err(transitioning(&group.name));
    }
    match action {
        Action::Stop => Ok(stop_group(group)),
        Action::Start if matches!(group.state.as_str(), "Running" | "Pending") => {
            Err(Resp::empty(204))
        }
        Action::Start | Action::Restart => {
            let failure = planned_failure(inner, &group.spec);
            let Some((gen, kill, op_id)) =
                prepare_redeploy(&mut w, key, None, inner.log_settings())
            else {
                return Err(not_found(&g.rg, &g.name));
            };
            let (sub, location) = w
                .groups
                .get(key)
                .map(|x| (x.sub.clone(), x.location.clone()))
                .unwrap_or_default();
            drop(w);
            spawn_deploy(inner.clone(), key.clone(), gen, kill, failure, false);
            // Under the resource group, as the recorded Start example.
            let scope = format!("/subscriptions/{sub}/resourceGroups/{}", g.rg);
            let resp = async_headers(Resp::empty(204), base, &scope, &location, &op_id);
            Err(if action == Action::Start {
                // Accepted: the spec declares `Retry-After` on the 202.
                Resp {
                    status: 202,
                    ..resp.with_header("retry-after", "1")
                }
            } else {
                resp
            })
        }
    }
}

/// `GET {CG}/outboundNetworkDependenciesEndpoints`: always an empty list for groups.
pub(crate) fn outbound(inner: &Inner, g: &GroupRef) -> Resp {
    if let Some(r) = inner.check_resource_group(&g.rg) {
        return r;
    }
    if !inner
        .world()
        .groups
        .contains_key(&group_key(&g.sub, &g.rg, &g.name))
    {
        return not_found(&g.rg, &g.name);
    }
    Resp::json(200, &json!([]))
}

/// `GET …/containerGroups` (by subscription, or by resource group): no instance views,
/// `nextLink` paging with a `$skiptoken` offset.
pub(crate) fn list(inner: &Inner, req: &Req, sub: &str, rg: Option<&str>) -> Resp {
    if let Some(r) = rg.and_then(|rg| inner.check_resource_group(rg)) {
        return r;
    }
    let skip = match req.query("$skiptoken").map(str::parse::<usize>) {
        None => 0,
        Some(Ok(n)) => n,
        Some(Err(_)) => {
            return arm_error(
                400,
                "InvalidSkipToken",
                "The provided skip token is invalid.",
            )
        }
    };
    let page = inner.config.page_size.max(1);
    let w = inner.world();
    let sub_l = sub.to_ascii_lowercase();
    let rg_l = rg.map(str::to_ascii_lowercase);
    let all: Vec<&Group> = w
        .groups
        .iter()
        .filter(|((s, r, _), _)| *s == sub_l && rg_l.as_ref().is_none_or(|x| x == r))
        .map(|(_, g)| g)
        .collect();
    let value: Vec<Value> = all
        .iter()
        .skip(skip)
        .take(page)
        .map(|g| g.render(View::List))
        .collect();
    let mut body = json!({"value": value});
    if skip + page < all.len() {
        let path = match rg {
            Some(rg) => format!("/subscriptions/{sub}/resourceGroups/{rg}/providers/{CG_TYPE}"),
            None => format!("/subscriptions/{sub}/providers/{CG_TYPE}"),
        };
        let api = req.query("api-version").unwrap_or_default();
        let query: String = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("api-version", api)
            .append_pair("$skiptoken", &(skip + page).to_string())
            .finish();
        body["nextLink"] = json!(format!("{}{path}?{query}", req.base(inner)));
    }
    Resp::json(200, &body)
}
