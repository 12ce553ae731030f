//! DELETE of a container group.
//!
//! By default asynchronous, as the recorded `ContainerGroupsDelete` example (`202` with
//! `Azure-AsyncOperation` and `Location`): the group stays visible with `provisioningState:
//! Deleting` (writes answer `409 ContainerGroupTransitioning`, a repeated DELETE the same
//! `202`) until its processes are gone and `EmulatorConfig::delete_delay` has passed; then its
//! operation is `Succeeded` and a GET answers `404`. With `EmulatorConfig::sync_delete` it is
//! done before the answer: `200` with the group. `204` when there is no such group.

use std::sync::Arc;

use super::arm::transitioning;
use super::http::{Req, Resp};
use super::lifecycle::{
    current, gen_rx, operation_for, pause, remove_group, set_op, store_operation, terminate_all,
};
use super::locations::async_headers;
use super::model::{group_key, GroupKey, View};
use super::process::ProcHandle;
use super::routes::GroupRef;
use super::state::Inner;

/// The `provisioningState` (and operation status) of a group being deleted.
const DELETING: &str = "Deleting";

/// `DELETE {CG}`.
pub(crate) async fn delete(inner: &Arc<Inner>, req: &Req, r: &GroupRef) -> Resp {
    if inner.config.sync_delete {
        return delete_now(inner, r).await;
    }
    let key = group_key(&r.sub, &r.rg, &r.name);
    let (location, op_id) = {
        let mut w = inner.world();
        let Some(g) = w.groups.get_mut(&key) else {
            return Resp::empty(204);
        };
        match (g.provisioning == DELETING, g.op_id.clone()) {
            (true, Some(op_id)) => (g.location.clone(), op_id),
            _ if g.transitioning => return transitioning(&g.name),
            _ => {
                let procs = g.processes();
                let gen = g.bump_generation();
                g.provisioning = DELETING.into();
                g.transitioning = true;
                g.running_since = None;
                let mut op = operation_for(g);
                op.status = DELETING.into();
                let location = g.location.clone();
                let op_id = store_operation(&mut w, op);
                if let Some(g) = w.groups.get_mut(&key) {
                    g.op_id = Some(op_id.clone());
                }
                tokio::spawn(finish(inner.clone(), key, gen, procs, op_id.clone()));
                (location, op_id)
            }
        }
    };
    let scope = format!("/subscriptions/{}/resourceGroups/{}", r.sub, r.rg);
    async_headers(Resp::empty(202), req.base(inner), &scope, &location, &op_id)
        .with_header("retry-after", "1")
}

/// Ends an asynchronous deletion: kills the processes, waits `delete_delay`, then removes the
/// group (unless a reset or shutdown took it first) and marks the operation `Succeeded`.
async fn finish(inner: Arc<Inner>, key: GroupKey, gen: u64, procs: Vec<ProcHandle>, op: String) {
    terminate_all(procs, inner.config.kill_grace).await;
    let Some(mut rx) = gen_rx(&inner, &key) else {
        return;
    };
    if !pause(&mut rx, gen, inner.config.delete_delay).await {
        return;
    }
    let removed = {
        let mut w = inner.world();
        if current(&mut w, &key, gen).is_none() {
            return;
        }
        set_op(&mut w, &Some(op), "Succeeded", None);
        w.groups.remove(&key)
    };
    if let Some(g) = removed {
        let dir = g.workdir;
        let _ = tokio::task::spawn_blocking(move || std::fs::remove_dir_all(dir)).await;
    }
}

/// The synchronous form: removes the group, kills and reaps its processes, then answers
/// `200` with the group as it was.
async fn delete_now(inner: &Inner, r: &GroupRef) -> Resp {
    let key = group_key(&r.sub, &r.rg, &r.name);
    let removed = {
        let mut w = inner.world();
        match w.groups.get(&key) {
            None => return Resp::empty(204),
            Some(g) if g.transitioning => return transitioning(&g.name),
            Some(_) => {}
        }
        remove_group(&mut w, &key)
    };
    let Some((g, procs)) = removed else {
        return Resp::empty(204);
    };
    let body = g.render(View::Full);
    terminate_all(procs, inner.config.kill_grace).await;
    let dir = g.workdir;
    let _ = tokio::task::spawn_blocking(move || std::fs::remove_dir_all(dir)).await;
    Resp::json(200, &body)
}
