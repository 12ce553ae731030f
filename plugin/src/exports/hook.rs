//! `aci:container-instance/container-instance-hook` export: each function resolves its
//! connection into an [`AciHook`] and calls the method; container groups travel as ARM
//! JSON.

use super::Component;
use crate::arm::models::ContainerGroup;
use crate::bindings::exports::aci::container_instance::container_instance_hook::{
    GroupRef, Guest, SweepOptions as WitSweepOptions,
};
use crate::hook::sweep::SweepOptions;
use crate::hook::{self, state, AciHook};
use task_plugin_sdk::wit::TaskError;
use task_plugin_sdk::{clock, runtime, Error};

fn hook_for(conn_id: &str) -> Result<AciHook, Error> {
    AciHook::new(conn_id)
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<String, Error> {
    serde_json::to_string(value)
        .map_err(|e| Error::Internal(format!("cannot serialise the answer: {e}")))
}

fn run<T>(f: impl FnOnce() -> Result<T, Error>) -> Result<T, TaskError> {
    f().map_err(TaskError::from)
}

impl Guest for Component {
    fn create_or_update(
        t: GroupRef,
        container_group: String,
        wait: bool,
    ) -> Result<String, TaskError> {
        run(|| {
            let group: ContainerGroup = serde_json::from_str(&container_group).map_err(|e| {
                Error::InvalidParams(format!(
                    "the container group is not a valid ARM ContainerGroup JSON document: {e}"
                ))
            })?;
            let hook = hook_for(&t.conn_id)?;
            to_json(&hook.create_or_update(&t.resource_group, &t.name, &group, wait)?)
        })
    }

    fn get_state(t: GroupRef) -> Result<String, TaskError> {
        run(|| to_json(&hook_for(&t.conn_id)?.get_state(&t.resource_group, &t.name)?))
    }

    fn get_logs(t: GroupRef, tail: Option<u32>) -> Result<Vec<String>, TaskError> {
        run(|| hook_for(&t.conn_id)?.get_logs(&t.resource_group, &t.name, tail))
    }

    fn delete(t: GroupRef, wait: bool) -> Result<bool, TaskError> {
        run(|| hook_for(&t.conn_id)?.delete(&t.resource_group, &t.name, wait))
    }

    fn exists(t: GroupRef) -> Result<bool, TaskError> {
        run(|| hook_for(&t.conn_id)?.exists(&t.resource_group, &t.name))
    }

    fn test_connection(conn_id: String) -> (bool, String) {
        hook::test_connection(&conn_id)
    }

    fn get_state_exitcode_details(t: GroupRef) -> Result<(String, Option<i32>, String), TaskError> {
        run(|| {
            runtime::warn(
                "get_state_exitcode_details() is deprecated. Related method is get_state()",
            );
            let group = hook_for(&t.conn_id)?.get_state(&t.resource_group, &t.name)?;
            Ok(state::exitcode_details(&group))
        })
    }

    fn get_messages(t: GroupRef) -> Result<Vec<String>, TaskError> {
        run(|| {
            runtime::warn("get_messages() is deprecated. Related method is get_state()");
            let group = hook_for(&t.conn_id)?.get_state(&t.resource_group, &t.name)?;
            Ok(state::messages(&group))
        })
    }

    fn stop(t: GroupRef) -> Result<(), TaskError> {
        run(|| hook_for(&t.conn_id)?.stop(&t.resource_group, &t.name))
    }

    fn start(t: GroupRef) -> Result<(), TaskError> {
        run(|| hook_for(&t.conn_id)?.start(&t.resource_group, &t.name))
    }

    fn restart(t: GroupRef) -> Result<(), TaskError> {
        run(|| hook_for(&t.conn_id)?.restart(&t.resource_group, &t.name))
    }

    fn list(conn_id: String, resource_group: Option<String>) -> Result<String, TaskError> {
        run(|| {
            let rg = resource_group
                .as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty());
            to_json(&hook_for(&conn_id)?.list(rg)?)
        })
    }

    fn sweep(o: WitSweepOptions) -> Result<String, TaskError> {
        run(|| {
            let options = SweepOptions {
                resource_group: o
                    .resource_group
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty()),
                older_than_secs: o.older_than_secs,
                dry_run: o.dry_run,
                machine: o.machine,
                live_processes: o.live_processes.map(|l| l.into_iter().collect()),
            };
            to_json(&hook_for(&o.conn_id)?.sweep(&options, clock::unix_now())?)
        })
    }
}
