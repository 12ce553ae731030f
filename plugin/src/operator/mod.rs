//! `AzureContainerInstancesOperator.execute` and `on_kill`.
//!
//! `execute` follows Airflow's steps: name check, `fail_if_exists` (one GET),
//! registry credentials, environment variables, volumes, resources, PUT, wait,
//! exit code, XCom `logs`, cleanup by `remove_on_success`/`remove_on_error`.
//! Beyond Airflow: the wait adapts its polling and streams every log line
//! exactly once ([`monitor`]); `container_timeout` is enforced; cancellation
//! deletes the group; failures are classified ([`classify`]); and with
//! `fail_if_exists = false` a group already running for the same task instance
//! (its `aci-runner-*` tags) is waited on instead of being recreated.
//!
//! Cleanup: once the PUT has been sent, every path deletes the group unless
//! the user asked to keep it (`remove_on_success = false` after exit 0,
//! `remove_on_error = false` after a failure). A timeout or a cancellation
//! always deletes it: the container is still running and would keep costing.
//!
//! Never delete what is not ours: cleanup deletes a group only when this task
//! instance created it (the name was free before its PUT) or owns it by its
//! `aci-runner-*` tags. A refused PUT over another job's running group
//! (`fail_if_exists = false`) leaves that group alone, and `on_kill` reads the
//! group's tags before deleting it; both log why they kept it.

pub mod api;
pub mod build;
pub mod classify;
pub mod live;
pub mod logs;
pub mod monitor;
pub mod observe;
pub mod schedule;
#[cfg(test)]
pub(crate) mod sim;

use std::time::Duration;

use serde_json::{json, Value};

use crate::params::{validate::check_name, Params};
use api::{Cloud, Host};
use build::{Resolved, TaskInstance};
use monitor::{Exit, WaitSpec};
use schedule::Schedule;
use task_plugin_sdk::{Error, Result};

/// Lines of the log pushed to XCom with `xcom_all = true` (Airflow's hook tail).
pub const XCOM_TAIL_LINES: usize = 1000;

/// A successful run.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// The container's exit code (0).
    pub exit_code: i32,
}

/// How an existing group of the same name is handled.
enum Existing {
    /// No group: create it.
    None,
    /// A group running for this task instance: wait on it.
    Reattach,
    /// A finished group (ours or not): delete it, then create.
    Replace,
    /// Another group still running: update it as Airflow does (PUT).
    Update,
}

/// Runs the operator; see the module docs.
pub fn execute<C: Cloud, H: Host>(
    cloud: &C,
    host: &H,
    ti: &TaskInstance,
    p: &Params,
) -> Result<Outcome> {
    // Check name again in case it was templated (Airflow).
    check_name(&p.name)?;
    let (rg, name) = (p.resource_group.as_str(), p.name.as_str());

    let existing = if p.fail_if_exists {
        host.info("Testing if container group already exists");
        if cloud.exists(rg, name)? {
            return Err(Error::Failed {
                exit_code: None,
                reason: classify::ALREADY_EXISTS.into(),
                message: "Container group exists".into(),
            });
        }
        Existing::None
    } else {
        inspect_existing(cloud, ti, rg, name)?
    };
    if host.cancelled() {
        return Err(Error::Cancelled(
            "the task was cancelled before the container group was created".into(),
        ));
    }

    match existing {
        Existing::Reattach => {
            host.info(&format!(
                "Container group {rg}/{name} is already running for this task instance; waiting on it instead of creating it again"
            ));
        }
        other => create(cloud, host, ti, p, other)?,
    }

    let result = wait_for_exit(cloud, host, p).and_then(|exit| finish(host, p, exit));
    clean_up(cloud, host, p, &result);
    result
}

/// Resolves what the group needs from other connections (registry
/// credentials, volumes) before anything is created, and warns about
/// secured variables that name no variable.
fn resolve<C: Cloud, H: Host>(cloud: &C, host: &H, p: &Params) -> Result<Resolved> {
    let registry_credential = match &p.registry_conn_id {
        Some(conn) => Some(cloud.registry_credential(conn)?),
        None => None,
    };
    let volumes = p
        .volumes
        .iter()
        .enumerate()
        .map(|(i, v)| {
            cloud.file_volume(
                &v.conn_id,
                &build::mount_name(i),
                &v.share_name,
                &v.account_name,
                v.read_only,
            )
        })
        .collect::<Result<Vec<_>>>()?;
    if !p.secured_variables.is_empty() {
        for s in &p.secured_variables {
            if !p.environment_variables.iter().any(|e| &e.name == s) {
                host.warn(&format!(
                    "secured_variables names `{s}`, which is not in environment_variables"
                ));
            }
        }
    }
    Ok(Resolved {
        registry_credential,
        volumes,
    })
}

/// Creates (or replaces, or updates) the group: one PUT. When the PUT fails
/// the group is removed if `remove_on_error` asks for it.
fn create<C: Cloud, H: Host>(
    cloud: &C,
    host: &H,
    ti: &TaskInstance,
    p: &Params,
    existing: Existing,
) -> Result<()> {
    let (rg, name) = (p.resource_group.as_str(), p.name.as_str());
    let resolved = resolve(cloud, host, p)?;
    if let Existing::Replace = existing {
        host.info(&format!("Container group {rg}/{name} exists and has finished; deleting it before creating it again"));
        cloud.delete(rg, name, true)?;
    } else if let Existing::Update = existing {
        host.warn(&format!(
            "Container group {rg}/{name} exists and was not created for this task instance; updating it (fail_if_exists=false)"
        ));
    }
    host.info(&format!(
        "Starting container group with {:.1} cpu {:.1} mem",
        p.cpu, p.memory_in_gb
    ));
    if let Some(g) = &p.gpu {
        host.info(&format!(
            "GPU count: {:.1}, GPU SKU: {}",
            f64::from(g.count),
            g.sku
        ));
    }
    if build::uses_default_port(p) {
        host.info("Default port set. Container will listen on port 80");
    }
    let body = build::container_group(p, ti, &resolved);
    if let Err(e) = cloud.create(rg, name, &body) {
        host.error(&format!("Could not start container group: {e}"));
        let e = classify::classify_create_error(e);
        match existing {
            // A refused update left another job's running group as it was:
            // it is not ours (Airflow's `finally` would delete it).
            Existing::Update => leave_alone(
                host,
                rg,
                name,
                "it existed before this task, its tags do not name this task instance, and this task's PUT was refused, so another job owns it",
            ),
            // The name was free before this PUT, which may have created the
            // group before failing: clean up when asked to.
            _ if p.remove_on_error => remove(cloud, host, rg, name),
            _ => {}
        }
        return Err(e);
    }
    host.info(&format!("Container group started {rg}/{name}"));
    Ok(())
}

/// Waits for the container to exit, within `container_timeout`.
fn wait_for_exit<C: Cloud, H: Host>(cloud: &C, host: &H, p: &Params) -> Result<Exit> {
    let deadline_ms = p
        .container_timeout
        .map(|t| host.now_ms().saturating_add(t.as_millis() as u64));
    let spec = WaitSpec {
        resource_group: &p.resource_group,
        name: &p.name,
        deadline_ms,
        timeout_label: p.container_timeout.map(human).unwrap_or_default(),
        stream_logs: !p.deferrable,
        spot: p.priority == "Spot",
        schedule: Schedule::new(p.polling_interval),
    };
    monitor::wait(cloud, host, &spec)
}

/// Deletes the group after the wait unless the user asked to keep it; a
/// timeout or a cancellation always deletes it.
fn clean_up<C: Cloud, H: Host>(cloud: &C, host: &H, p: &Params, result: &Result<Outcome>) {
    let (rg, name) = (p.resource_group.as_str(), p.name.as_str());
    match result {
        Ok(_) if p.remove_on_success => remove(cloud, host, rg, name),
        Ok(_) => host.info(&format!(
            "Keeping container group {rg}/{name} (remove_on_success=false)"
        )),
        Err(Error::Cancelled(_)) | Err(Error::TimedOut(_)) => remove(cloud, host, rg, name),
        Err(Error::Failed { reason, .. }) if reason == classify::DELETED_EXTERNALLY => {}
        Err(_) if p.remove_on_error => remove(cloud, host, rg, name),
        Err(_) => host.info(&format!(
            "Keeping container group {rg}/{name} (remove_on_error=false)"
        )),
    }
}

/// Looks at a group of the same name (`fail_if_exists = false`): one GET.
fn inspect_existing<C: Cloud>(
    cloud: &C,
    ti: &TaskInstance,
    rg: &str,
    name: &str,
) -> Result<Existing> {
    let group = match cloud.get_group(rg, name) {
        Ok(g) => g,
        Err(e) if e.is_not_found() => return Ok(Existing::None),
        Err(e) => return Err(e),
    };
    let obs = observe::observe(&group, name);
    let finished = !matches!(
        obs.status(),
        observe::Status::Starting | observe::Status::Running
    );
    Ok(if finished {
        Existing::Replace
    } else if build::same_task(&obs.tags, ti) {
        Existing::Reattach
    } else {
        Existing::Update
    })
}

/// After the exit: XCom `logs`, Airflow's exit-code log and check.
fn finish<H: Host>(host: &H, p: &Params, exit: Exit) -> Result<Outcome> {
    if let Some(all) = p.xcom_all {
        let lines = exit
            .final_log
            .as_deref()
            .map(xcom_lines)
            .unwrap_or_default();
        let value: Vec<Value> = if all {
            let skip = lines.len().saturating_sub(XCOM_TAIL_LINES);
            lines.into_iter().skip(skip).map(Value::String).collect()
        } else {
            lines
                .into_iter()
                .last()
                .map(Value::String)
                .into_iter()
                .collect()
        };
        host.xcom_push("logs", &Value::Array(value))?;
    }
    let code_text = exit
        .exit_code
        .map(|c| c.to_string())
        .unwrap_or_else(|| "None".into());
    host.info(&format!("Container had exit code: {code_text}"));
    match exit.exit_code {
        Some(0) => Ok(Outcome { exit_code: 0 }),
        Some(code) => Err(Error::Failed {
            exit_code: Some(code),
            reason: classify::exit_reason(code, exit.detail_status.as_deref()).into(),
            message: format!("Container had a non-zero exit code, {code}"),
        }),
        None => Err(Error::Failed {
            exit_code: None,
            reason: classify::UNKNOWN_EXIT_CODE.into(),
            message: format!(
                "Container had a non-zero exit code, None (ACI reported no exit code; detail status: {})",
                exit.detail_status.as_deref().unwrap_or("None")
            ),
        }),
    }
}

/// The log lines as Airflow's `get_logs` returns them (line endings kept),
/// rebuilt from the timestamped full fetch.
pub fn xcom_lines(timestamped: &str) -> Vec<String> {
    let mut text = String::with_capacity(timestamped.len());
    for (_, line) in logs::parse_lines(timestamped) {
        text.push_str(line);
        text.push('\n');
    }
    logs::python_splitlines_keepends(&text)
}

/// Deletes the group (best effort), as Airflow's `on_kill`.
fn remove<C: Cloud, H: Host>(cloud: &C, host: &H, rg: &str, name: &str) {
    host.info("Deleting container group");
    if let Err(e) = cloud.delete(rg, name, false) {
        host.error(&format!("Could not delete container group: {e}"));
    }
}

/// Logs why cleanup keeps a group that is not this task instance's.
fn leave_alone<H: Host>(host: &H, rg: &str, name: &str, why: &str) {
    host.warn(&format!("Not deleting container group {rg}/{name}: {why}"));
}

/// Airflow's `on_kill`: deletes the group, whatever `remove_on_*` say, but
/// only when its tags say this task instance owns it (one GET first).
pub fn on_kill<C: Cloud, H: Host>(
    cloud: &C,
    host: &H,
    ti: &TaskInstance,
    p: &Params,
) -> Result<()> {
    let (rg, name) = (p.resource_group.as_str(), p.name.as_str());
    let group = match cloud.get_group(rg, name) {
        Ok(g) => g,
        Err(e) if e.is_not_found() => {
            host.info(&format!(
                "Container group {rg}/{name} does not exist; nothing to delete"
            ));
            return Ok(());
        }
        Err(e) => {
            host.error(&format!(
                "Could not read container group {rg}/{name} to check it is ours, so it was not deleted: {e}"
            ));
            return Err(e);
        }
    };
    if !build::same_task(&observe::observe(&group, name).tags, ti) {
        leave_alone(
            host,
            rg,
            name,
            "its tags do not name this task instance, so another job owns it",
        );
        return Ok(());
    }
    host.info("Deleting container group");
    match cloud.delete(rg, name, false) {
        Ok(_) => Ok(()),
        Err(e) => {
            host.error(&format!("Could not delete container group: {e}"));
            Err(e)
        }
    }
}

/// `90s`, `1h30m0s`-style text for a timeout.
fn human(d: Duration) -> String {
    if d.subsec_millis() != 0 {
        return format!("{:.3}s", d.as_secs_f64());
    }
    let s = d.as_secs();
    match (s / 3600, s / 60 % 60, s % 60) {
        (0, 0, sec) => format!("{sec}s"),
        (0, m, sec) => format!("{m}m{sec}s"),
        (h, m, sec) => format!("{h}h{m}m{sec}s"),
    }
}

/// The return value pushed by the host (`return_value`): the exit code.
pub fn return_value(o: &Outcome) -> Value {
    json!(o.exit_code)
}

#[cfg(test)]
mod tests;
