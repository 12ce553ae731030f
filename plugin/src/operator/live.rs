//! The real [`Cloud`] (the hook over ARM) and [`Host`] (the WIT runtime
//! imports). ARM models cross into the operator as their JSON.

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use super::api::{Cloud, Host, Level};
use crate::arm::models::ContainerGroup;
use crate::hook::{self, AciHook};
use task_plugin_sdk::{clock, runtime};
use task_plugin_sdk::{Error, Result};

fn to_json<T: Serialize>(what: &str, v: &T) -> Result<Value> {
    serde_json::to_value(v)
        .map_err(|e| Error::Internal(format!("could not serialise the {what}: {e}")))
}

fn from_json<T: DeserializeOwned>(what: &str, v: &Value) -> Result<T> {
    serde_json::from_value(v.clone())
        .map_err(|e| Error::Internal(format!("could not build the {what}: {e}")))
}

/// ACI through [`AciHook`].
pub struct HookCloud {
    hook: AciHook,
}

impl HookCloud {
    /// A cloud on the `ci_conn_id` connection (no request is made yet).
    pub fn new(conn_id: &str) -> Result<Self> {
        Ok(HookCloud {
            hook: AciHook::new(conn_id)?,
        })
    }

    /// ARM requests made so far (all kinds).
    pub fn request_count(&self) -> u64 {
        self.hook.request_count()
    }
}

impl Cloud for HookCloud {
    fn exists(&self, rg: &str, name: &str) -> Result<bool> {
        self.hook.exists(rg, name)
    }

    fn get_group(&self, rg: &str, name: &str) -> Result<Value> {
        to_json("container group", &self.hook.get_state(rg, name)?)
    }

    fn create(&self, rg: &str, name: &str, body: &Value) -> Result<()> {
        let group: ContainerGroup = from_json("container group", body)?;
        self.hook
            .create_or_update(rg, name, &group, false)
            .map(|_| ())
    }

    fn logs(
        &self,
        rg: &str,
        name: &str,
        container: &str,
        tail: Option<u32>,
    ) -> Result<Option<String>> {
        self.hook.get_logs_raw(rg, name, container, tail, true)
    }

    fn delete(&self, rg: &str, name: &str, wait: bool) -> Result<bool> {
        self.hook.delete(rg, name, wait)
    }

    fn registry_credential(&self, conn_id: &str) -> Result<Value> {
        to_json(
            "registry credential",
            &hook::registry::registry_credential(conn_id)?,
        )
    }

    fn file_volume(
        &self,
        conn_id: &str,
        mount_name: &str,
        share_name: &str,
        account_name: &str,
        read_only: bool,
    ) -> Result<Value> {
        to_json(
            "volume",
            &hook::volume::file_volume(conn_id, mount_name, share_name, account_name, read_only)?,
        )
    }
}

/// The host's runtime services through the WIT imports.
pub struct WasiHost;

impl Host for WasiHost {
    fn log(&self, level: Level, message: &str) {
        match level {
            Level::Debug => runtime::debug(message),
            Level::Info => runtime::info(message),
            Level::Warn => runtime::warn(message),
            Level::Error => runtime::error(message),
        }
    }

    fn xcom_push(&self, key: &str, value: &Value) -> Result<()> {
        runtime::xcom_push(key, value)
    }

    fn cancelled(&self) -> bool {
        runtime::cancelled()
    }

    fn wait_cancelled(&self, millis: u64) -> bool {
        runtime::wait_cancelled(millis)
    }

    fn now_ms(&self) -> u64 {
        clock::now_ms()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::operator::build::{container_group, Resolved, TaskInstance};

    /// The body the operator builds survives the typed ARM model unchanged
    /// (every field is known or kept as an extra), secrets included.
    #[test]
    fn built_group_round_trips_through_the_arm_model() {
        let p = crate::params::from_value(&json!({
            "ci_conn_id": "c", "resource_group": "rg", "name": "job", "image": "img", "region": "westeurope",
            "environment_variables": {"A": "1", "TOKEN": "s3cr3t-value"}, "secured_variables": ["TOKEN"],
            "volumes": [["w", "acct", "share", "/mnt", true]], "gpu": {"count": 1, "sku": "K80"},
            "command": ["sh", "-c", "exit 0"], "tags": {"k": "v"}, "ip_address": {"type": "Public", "dns_name_label": "x"},
            "subnet_ids": ["/subscriptions/s/resourceGroups/r/providers/Microsoft.Network/virtualNetworks/v/subnets/a"],
            "dns_config": {"name_servers": ["1.1.1.1"], "search_domains": "a b", "options": "ndots:1"},
            "diagnostics": {"log_analytics": {"workspace_id": "w", "workspace_key": "k", "log_type": "ContainerInsights", "metadata": {"m": "n"}}},
            "priority": "Spot", "identity": {"type": "UserAssigned", "resource_ids": ["/subscriptions/s/id"]}
        }))
        .unwrap();
        let resolved = Resolved {
            registry_credential: Some(
                json!({"server": "r.azurecr.io", "username": "u", "password": "pw"}),
            ),
            volumes: vec![
                json!({"name": "mount-0", "azureFile": {"shareName": "share", "storageAccountName": "acct", "readOnly": true, "storageAccountKey": "key"}}),
            ],
        };
        let body = container_group(&p, &TaskInstance::default(), &resolved);
        let typed: ContainerGroup = from_json("container group", &body).unwrap();
        assert_eq!(to_json("container group", &typed).unwrap(), body);
        assert!(
            !format!("{typed:?}").contains("s3cr3t-value"),
            "Debug of the typed model hides secureValue"
        );
    }
}
