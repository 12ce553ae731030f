//! Per-container routes: logs, exec and attach.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::arm::{not_found, transitioning};
use super::auth::random_b64;
use super::http::{arm_error, invalid_content, json_body, Req, Resp};
use super::model::{group_key, GroupKey};
use super::routes::{ContainerOp, GroupRef};
use super::state::Inner;

/// How long an exec/attach WebSocket URI stays usable.
pub(crate) const SESSION_TTL: Duration = Duration::from_secs(300);

/// What a stream session was handed out for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum StreamKind {
    /// `exec`: the password is the first text frame; runs `command` in the container.
    Exec { command: String },
    /// `attach`: the password is the `Authorization` header; streams the container output.
    Attach,
}

/// A WebSocket session handed out by exec / attach.
#[derive(Clone, Debug)]
pub(crate) struct StreamSession {
    pub kind: StreamKind,
    pub key: GroupKey,
    pub container: String,
    pub password: String,
    pub created: Instant,
}

/// Routes `{CG}/containers/{name}/…`.
pub(crate) fn handle(
    inner: &Inner,
    req: &Req,
    g: &GroupRef,
    container: &str,
    op: ContainerOp,
) -> Resp {
    if let Some(r) = inner.check_resource_group(&g.rg) {
        return r;
    }
    match op {
        ContainerOp::Logs => logs(inner, req, g, container),
        ContainerOp::Exec | ContainerOp::Attach => stream(inner, req, g, container, op),
    }
}

fn container_not_found(g: &GroupRef, container: &str) -> Resp {
    arm_error(
        404,
        "ContainerNotFound",
        format!(
            "The container '{container}' could not be found in container group '{}'.",
            g.name
        ),
    )
}

fn logs(inner: &Inner, req: &Req, g: &GroupRef, container: &str) -> Resp {
    let tail = match req.query("tail").map(str::parse::<i64>) {
        None => None,
        Some(Ok(n)) if n >= 0 => Some(n as usize),
        Some(_) => {
            return arm_error(
                400,
                "InvalidRequestParameter",
                format!(
                    "The value '{}' is not valid for parameter 'tail': a non-negative integer is expected.",
                    req.query("tail").unwrap_or("")
                ),
            )
        }
    };
    let timestamps = req
        .query("timestamps")
        .is_some_and(|t| t.eq_ignore_ascii_case("true"));
    let w = inner.world();
    let Some(group) = w.groups.get(&group_key(&g.sub, &g.rg, &g.name)) else {
        return not_found(&g.rg, &g.name);
    };
    let Some(c) = group
        .containers
        .iter()
        .chain(&group.init_containers)
        .find(|c| c.spec.name.eq_ignore_ascii_case(container))
    else {
        return container_not_found(g, container);
    };
    if !c.started {
        if group.transitioning {
            return transitioning(&group.name);
        }
        return arm_error(
            400,
            "ContainerLogNotAvailable",
            format!(
                "The log of container '{}' in container group '{}' is not available yet.",
                c.spec.name, group.name
            ),
        );
    }
    let content = c
        .log
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .render(tail, timestamps);
    Resp::json(200, &json!({ "content": content }))
}

fn stream(inner: &Inner, req: &Req, g: &GroupRef, container: &str, op: ContainerOp) -> Resp {
    let kind = if op == ContainerOp::Exec {
        let body = match json_body(&req.body) {
            Ok(v) => v,
            Err(e) => return e,
        };
        let Some(command) = body
            .get("command")
            .and_then(Value::as_str)
            .filter(|c| !c.trim().is_empty())
        else {
            return invalid_content("Required property 'command' not found in JSON.");
        };
        if let Some(ts) = body.get("terminalSize") {
            let ok = ts.is_object()
                && ["rows", "cols"]
                    .iter()
                    .all(|k| ts.get(*k).is_none_or(|v| v.is_i64()));
            if !ok {
                return invalid_content("terminalSize");
            }
        }
        StreamKind::Exec {
            command: command.to_string(),
        }
    } else {
        StreamKind::Attach
    };
    let key = group_key(&g.sub, &g.rg, &g.name);
    let mut w = inner.world();
    let Some(group) = w.groups.get(&key) else {
        return not_found(&g.rg, &g.name);
    };
    let Some(c) = group
        .containers
        .iter()
        .find(|c| c.spec.name.eq_ignore_ascii_case(container))
    else {
        return container_not_found(g, container);
    };
    if group.transitioning {
        return transitioning(&group.name);
    }
    if c.current.as_ref().is_none_or(|s| s.state != "Running") {
        return arm_error(
            400,
            "ContainerNotRunning",
            format!(
                "The container '{}' in container group '{}' is not running.",
                c.spec.name, group.name
            ),
        );
    }
    let name = c.spec.name.clone();
    let session = uuid::Uuid::new_v4().simple().to_string();
    let password = random_b64(24);
    w.sessions.retain(|_, s| s.created.elapsed() < SESSION_TTL);
    w.sessions.insert(
        session.clone(),
        StreamSession {
            kind: kind.clone(),
            key,
            container: name,
            password: password.clone(),
            created: Instant::now(),
        },
    );
    let base = req.base(inner);
    let ws_base = match base.split_once("://") {
        Some(("https", rest)) => format!("wss://{rest}"),
        Some((_, rest)) => format!("ws://{rest}"),
        None => base.to_string(),
    };
    let uri = match &kind {
        StreamKind::Exec { .. } => format!("{ws_base}/_emulator/stream/{session}?api-version=1.0"),
        StreamKind::Attach => format!("{ws_base}/_emulator/stream/{session}"),
    };
    Resp::json(200, &json!({ "webSocketUri": uri, "password": password }))
}
