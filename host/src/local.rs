//! Local mode: the task's Azure connections resolve to the built-in emulator.
//!
//! With `--local`, every connection the plugin asks for (ci, registry,
//! volumes) is answered with the emulator's endpoints and credentials,
//! defined or not, so a local run can never reach a real subscription.
//! Connections used only in templates are resolved by the host as usual.

use aci_emulator::{LOCAL_CLIENT_ID, LOCAL_CLIENT_SECRET, LOCAL_SUBSCRIPTION_ID, LOCAL_TENANT_ID};

use crate::connections::Connection;
use crate::runtime::{ConnectionLookupError, ConnectionProvider};

/// Answers every plugin connection request with the emulator.
#[derive(Clone, Debug)]
pub struct LocalConnections {
    base_url: String,
}

impl LocalConnections {
    /// Connections pointing at the emulator at `base_url`.
    pub fn new(base_url: impl Into<String>) -> Self {
        LocalConnections {
            base_url: base_url.into(),
        }
    }

    /// The emulator connection presented under `conn_id`.
    pub fn connection_for(&self, conn_id: &str) -> Connection {
        let extra = serde_json::json!({
            "tenantId": LOCAL_TENANT_ID,
            "subscriptionId": LOCAL_SUBSCRIPTION_ID,
            "subscription_id": LOCAL_SUBSCRIPTION_ID,
            "resource_manager_url": self.base_url,
            "authority_host": self.base_url,
        });
        Connection {
            conn_id: conn_id.to_string(),
            conn_type: Some("azure_container_instance".into()),
            host: Some("local.azurecr.io".into()),
            login: Some(LOCAL_CLIENT_ID.into()),
            password: Some(LOCAL_CLIENT_SECRET.into()),
            schema: None,
            port: None,
            extra: extra.as_object().cloned().unwrap_or_default(),
        }
    }
}

impl ConnectionProvider for LocalConnections {
    fn connection(&self, conn_id: &str) -> Result<Connection, ConnectionLookupError> {
        Ok(self.connection_for(conn_id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_connection_id_is_the_emulator() {
        let local = LocalConnections::new("http://127.0.0.1:4567");
        for id in [
            "azure_default",
            "azure_registry_default",
            "azure_container_volume_default",
            "anything",
        ] {
            let c = local.connection(id).unwrap();
            assert_eq!(c.conn_id, id);
            assert_eq!(c.login.as_deref(), Some(LOCAL_CLIENT_ID));
            assert_eq!(c.password.as_deref(), Some(LOCAL_CLIENT_SECRET));
            assert_eq!(c.extra["resource_manager_url"], "http://127.0.0.1:4567");
            assert_eq!(c.extra["authority_host"], "http://127.0.0.1:4567");
            assert_eq!(c.extra["tenantId"], LOCAL_TENANT_ID);
            assert_eq!(c.extra["subscriptionId"], LOCAL_SUBSCRIPTION_ID);
        }
    }
}
