//! Airflow's `AzureContainerRegistryHook`: image registry credentials from a connection.
//!
//! * `password` set → `{server: host, username: login, password}`;
//! * otherwise the ACR admin password from ARM `POST …/registries/{login}/listCredentials`
//!   (extras `subscription_id`, `resource_group`; `login` is the registry name), with the
//!   connection's `DefaultAzureCredential` (workload or managed identity; extras
//!   `managed_identity_client_id`, `workload_identity_tenant_id`, and the endpoint extras).

use super::setup;
use crate::arm::models::{ImageRegistryCredential, RegistryCredentials, Secret};
use crate::auth::credential::extra_any;
use task_plugin_sdk::{runtime, Connection};
use task_plugin_sdk::{Error, Result};

/// `api-version` of `Registries_ListCredentials`.
pub const ACR_API_VERSION: &str = "2023-07-01";

/// The registry credential of connection `conn_id`.
pub fn registry_credential(conn_id: &str) -> Result<ImageRegistryCredential> {
    let conn = runtime::connection(conn_id)?;
    registry_credential_for(&conn)
}

fn non_empty(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// What the connection alone gives: the credential when it has a password, else `None`
/// (pure). Errors when the server (host) or user name (login) is missing.
pub fn static_credential(conn: &Connection) -> Result<Option<ImageRegistryCredential>> {
    let server = non_empty(&conn.host).ok_or_else(|| {
        Error::Connection(format!(
            "registry connection `{}` has no host (the registry server)",
            conn.conn_id
        ))
    })?;
    let login = non_empty(&conn.login).ok_or_else(|| {
        Error::Connection(format!(
            "registry connection `{}` has no login (the registry user or name)",
            conn.conn_id
        ))
    })?;
    Ok(non_empty(&conn.password).map(|p| ImageRegistryCredential {
        server: server.to_string(),
        username: Some(login.to_string()),
        password: Some(Secret::new(p)),
        ..Default::default()
    }))
}

/// The resource group of the ACR `listCredentials` fallback of a connection without a
/// password (used by [`registry_credential_for`] and by the task's plan).
pub fn list_credentials_group<'a>(
    conn: &Connection,
    extras: &'a serde_json::Map<String, serde_json::Value>,
) -> Result<&'a str> {
    extra_any(extras, &["resource_group", "resourceGroup"]).ok_or_else(|| {
        Error::Connection(format!(
            "registry connection `{}` has no password, and no resource_group extra for the listCredentials fallback",
            conn.conn_id
        ))
    })
}

/// [`registry_credential`] for a resolved connection.
pub fn registry_credential_for(conn: &Connection) -> Result<ImageRegistryCredential> {
    if let Some(c) = static_credential(conn)? {
        return Ok(c);
    }
    let server = non_empty(&conn.host).unwrap_or_default().to_string();
    let login = non_empty(&conn.login).unwrap_or_default().to_string();
    let extras = runtime::extras(conn);
    let rg = list_credentials_group(conn, &extras)?;
    let client = setup::default_client(conn, &extras, None)?;
    let creds: RegistryCredentials = client.post_action(
        rg,
        "Microsoft.ContainerRegistry/registries",
        &login,
        "listCredentials",
        ACR_API_VERSION,
    )?;
    let password = creds
        .passwords
        .into_iter()
        .map(|p| p.value)
        .find(|v| !v.is_empty())
        .ok_or_else(|| {
            Error::remote(
                200,
                "NoAdminPassword",
                format!(
                    "registry `{login}` returned no admin password (is the admin user enabled?)"
                ),
            )
        })?;
    Ok(ImageRegistryCredential {
        server,
        username: Some(login),
        password: Some(password),
        ..Default::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conn(host: Option<&str>, login: Option<&str>, password: Option<&str>) -> Connection {
        Connection {
            conn_id: "azure_registry".into(),
            conn_type: Some("azure_container_registry".into()),
            host: host.map(String::from),
            login: login.map(String::from),
            password: password.map(String::from),
            schema: None,
            port: None,
            extra: "{}".into(),
        }
    }

    /// Airflow `test_get_conn`.
    #[test]
    fn login_password_host() {
        let c = static_credential(&conn(Some("test.cr"), Some("myuser"), Some("password")))
            .unwrap()
            .unwrap();
        assert_eq!(c.server, "test.cr");
        assert_eq!(c.username.as_deref(), Some("myuser"));
        assert_eq!(c.password.as_ref().unwrap().expose(), "password");
    }

    #[test]
    fn no_password_falls_through_and_missing_fields_error() {
        assert!(
            static_credential(&conn(Some("test.cr"), Some("myuser"), Some("")))
                .unwrap()
                .is_none()
        );
        assert!(
            static_credential(&conn(Some("test.cr"), Some("myuser"), None))
                .unwrap()
                .is_none()
        );
        let e = static_credential(&conn(None, Some("u"), Some("p"))).unwrap_err();
        assert!(e.to_string().contains("no host"));
        let e = static_credential(&conn(Some("h"), None, Some("p"))).unwrap_err();
        assert!(e.to_string().contains("no login") && !e.to_string().contains("\"p\""));
    }
}
