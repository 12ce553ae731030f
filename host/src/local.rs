//! Local mode: the task's Azure connections resolve to the built-in emulator.
//!
//! With `--local`, every connection the plugin asks for (ci, registry,
//! volumes) is answered with the emulator's endpoints and credentials (its
//! random per-instance client secret), defined or not, so a local run can
//! never reach a real subscription. Connections used only in templates are
//! resolved by the host as usual.

use aci_emulator::{Credentials, Emulator};

use crate::connections::Connection;
use crate::runtime::{ConnectionLookupError, ConnectionProvider};

/// Answers every plugin connection request with the emulator.
#[derive(Clone, Debug)]
pub struct LocalConnections {
    base_url: String,
    credentials: Credentials,
}

impl LocalConnections {
    /// Connections pointing at the emulator at `base_url` that accepts `credentials`.
    pub fn new(base_url: impl Into<String>, credentials: Credentials) -> Self {
        LocalConnections {
            base_url: base_url.into(),
            credentials,
        }
    }

    /// Connections pointing at a running `emulator`.
    pub fn of(emulator: &Emulator) -> Self {
        LocalConnections::new(emulator.base_url(), emulator.credentials())
    }

    /// The emulator connection presented under `conn_id`.
    pub fn connection_for(&self, conn_id: &str) -> Connection {
        let c = &self.credentials;
        let extra = serde_json::json!({
            "tenantId": c.tenant_id,
            "subscriptionId": c.subscription_id,
            "subscription_id": c.subscription_id,
            "resource_manager_url": self.base_url,
            "authority_host": self.base_url,
        });
        Connection {
            conn_id: conn_id.to_string(),
            conn_type: Some("azure_container_instance".into()),
            host: Some("local.azurecr.io".into()),
            login: Some(c.client_id.clone()),
            password: Some(c.client_secret.clone()),
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
        let creds = Credentials {
            tenant_id: "tenant-1".into(),
            client_id: "client-1".into(),
            client_secret: "per-instance-secret".into(),
            subscription_id: "sub-1".into(),
        };
        let local = LocalConnections::new("http://127.0.0.1:4567", creds);
        for id in [
            "azure_default",
            "azure_registry_default",
            "azure_container_volume_default",
            "anything",
        ] {
            let c = local.connection(id).unwrap();
            assert_eq!(c.conn_id, id);
            assert_eq!(c.login.as_deref(), Some("client-1"));
            assert_eq!(c.password.as_deref(), Some("per-instance-secret"));
            assert_eq!(c.extra["resource_manager_url"], "http://127.0.0.1:4567");
            assert_eq!(c.extra["authority_host"], "http://127.0.0.1:4567");
            assert_eq!(c.extra["tenantId"], "tenant-1");
            assert_eq!(c.extra["subscriptionId"], "sub-1");
        }
    }
}
