//! Airflow's `AzureContainerVolumeHook`: Azure Files volumes with the storage account key
//! from a connection.
//!
//! Key order (`get_storagekey`): extra `connection_string`'s `AccountKey`; else, with extras
//! `subscription_id` and `resource_group`, ARM `POST …/storageAccounts/{account}/listKeys`
//! (first key) with the connection's `DefaultAzureCredential`; else the `password`.

use super::setup;
use crate::arm::models::{AzureFileVolume, Secret, StorageAccountKeys, Volume};
use crate::auth::credential::extra_any;
use task_plugin_sdk::{runtime, Connection};
use task_plugin_sdk::{Error, Result};

/// `api-version` of `StorageAccounts_ListKeys`.
pub const STORAGE_API_VERSION: &str = "2023-05-01";

/// The `AccountKey` of a storage connection string (pure). `Ok(None)` when it has none;
/// an error (naming no value) when a non-empty segment has no `=`.
pub fn account_key_from_connection_string(cs: &str) -> std::result::Result<Option<Secret>, String> {
    for (i, part) in cs.split(';').enumerate() {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        let Some((k, v)) = part.split_once('=') else {
            return Err(format!(
                "segment {} of the connection string has no `=`",
                i + 1
            ));
        };
        if k.trim().eq_ignore_ascii_case("AccountKey") {
            return Ok(Some(Secret::new(v.trim())));
        }
    }
    Ok(None)
}

/// An Azure Files volume named `mount_name` for share `share_name` of
/// `storage_account_name`, with the key from connection `conn_id`.
pub fn file_volume(
    conn_id: &str,
    mount_name: &str,
    share_name: &str,
    storage_account_name: &str,
    read_only: bool,
) -> Result<Volume> {
    let conn = runtime::connection(conn_id)?;
    let key = storage_key(&conn, storage_account_name)?;
    Ok(make_volume(
        mount_name,
        share_name,
        storage_account_name,
        read_only,
        key,
    ))
}

/// The volume document (pure).
pub fn make_volume(
    mount_name: &str,
    share_name: &str,
    storage_account_name: &str,
    read_only: bool,
    key: Secret,
) -> Volume {
    Volume {
        name: mount_name.to_string(),
        azure_file: Some(AzureFileVolume {
            share_name: share_name.to_string(),
            storage_account_name: storage_account_name.to_string(),
            read_only: Some(read_only),
            storage_account_key: Some(key),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Where the key comes from, decided without the network (pure).
#[derive(Debug, PartialEq, Eq)]
pub enum KeySource {
    /// A key the connection holds (connection string or password).
    Known(Secret),
    /// ARM listKeys in this subscription and resource group.
    ListKeys {
        /// Subscription.
        subscription_id: String,
        /// Resource group.
        resource_group: String,
    },
}

/// Decides the key source of a volume connection (Airflow's order).
pub fn key_source(
    conn: &Connection,
    extras: &serde_json::Map<String, serde_json::Value>,
) -> Result<KeySource> {
    if let Some(cs) = extra_any(extras, &["connection_string"]) {
        match account_key_from_connection_string(cs) {
            Ok(Some(k)) => return Ok(KeySource::Known(k)),
            Ok(None) => {}
            Err(e) => {
                return Err(Error::Connection(format!(
                    "volume connection `{}`: {e}",
                    conn.conn_id
                )))
            }
        }
    }
    if let Some((s, r)) = list_keys_target(extras) {
        return Ok(KeySource::ListKeys {
            subscription_id: s.to_string(),
            resource_group: r.to_string(),
        });
    }
    match conn.password.as_deref().filter(|p| !p.is_empty()) {
        Some(p) => Ok(KeySource::Known(Secret::new(p))),
        None => Err(Error::Connection(format!(
            "volume connection `{}` gives no storage account key: set the password, a connection_string extra with AccountKey, or the subscription_id and resource_group extras",
            conn.conn_id
        ))),
    }
}

/// The subscription and resource group of Storage `listKeys`, when the connection names
/// both: the only way a volume connection makes a request (used by [`key_source`] and by
/// the task's plan, which grants the request's origins whenever this is `Some`, even if a
/// `connection_string` holds a key: the plan sees it redacted).
pub fn list_keys_target(
    extras: &serde_json::Map<String, serde_json::Value>,
) -> Option<(&str, &str)> {
    let sub = extra_any(extras, &["subscription_id", "subscriptionId"]);
    let rg = extra_any(extras, &["resource_group", "resourceGroup"]);
    sub.zip(rg)
}

fn storage_key(conn: &Connection, account: &str) -> Result<Secret> {
    let extras = runtime::extras(conn);
    let (subscription, rg) = match key_source(conn, &extras)? {
        KeySource::Known(k) => return Ok(k),
        KeySource::ListKeys {
            subscription_id,
            resource_group,
        } => (subscription_id, resource_group),
    };
    let client = setup::default_client(conn, &extras, Some(&subscription))?;
    let keys: StorageAccountKeys = client.post_action(
        &rg,
        "Microsoft.Storage/storageAccounts",
        account,
        "listKeys",
        STORAGE_API_VERSION,
    )?;
    keys.keys
        .into_iter()
        .map(|k| k.value)
        .find(|v| !v.is_empty())
        .ok_or_else(|| {
            Error::remote(
                200,
                "NoAccountKey",
                format!("storage account `{account}` returned no key"),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn conn(
        login: Option<&str>,
        password: Option<&str>,
        extra: serde_json::Value,
    ) -> (Connection, serde_json::Map<String, serde_json::Value>) {
        let c = Connection {
            conn_id: "azure_container_volume_default".into(),
            conn_type: Some("wasb".into()),
            host: None,
            login: login.map(String::from),
            password: password.map(String::from),
            schema: None,
            port: None,
            extra: extra.to_string(),
        };
        (c, extra.as_object().unwrap().clone())
    }

    /// Airflow `test_get_file_volume`.
    #[test]
    fn password_key() {
        let (c, e) = conn(Some("login"), Some("key"), json!({}));
        assert_eq!(
            key_source(&c, &e).unwrap(),
            KeySource::Known(Secret::new("key"))
        );
        let v = make_volume("mount", "share", "storage", true, Secret::new("key"));
        assert_eq!(v.name, "mount");
        let af = v.azure_file.unwrap();
        assert_eq!(af.share_name, "share");
        assert_eq!(af.storage_account_name, "storage");
        assert_eq!(af.storage_account_key.unwrap().expose(), "key");
        assert_eq!(af.read_only, Some(true));
    }

    /// Airflow `test_get_file_volume_connection_string`.
    #[test]
    fn connection_string_key() {
        let (c, e) = conn(
            Some("login"),
            Some("key"),
            json!({"connection_string": "a=b;AccountKey=1"}),
        );
        assert_eq!(
            key_source(&c, &e).unwrap(),
            KeySource::Known(Secret::new("1"))
        );
    }

    /// Airflow `test_get_file_volume_default_azure_credential` (decision part).
    #[test]
    fn list_keys_when_subscription_and_group() {
        let (c, e) = conn(
            Some(""),
            Some(""),
            json!({"subscription_id": "sub", "resource_group": "rg"}),
        );
        assert_eq!(
            key_source(&c, &e).unwrap(),
            KeySource::ListKeys {
                subscription_id: "sub".into(),
                resource_group: "rg".into()
            }
        );
    }

    #[test]
    fn connection_string_parsing() {
        let cs = "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=abc==;EndpointSuffix=core.windows.net;";
        assert_eq!(
            account_key_from_connection_string(cs).unwrap(),
            Some(Secret::new("abc=="))
        );
        assert_eq!(
            account_key_from_connection_string("accountkey=x").unwrap(),
            Some(Secret::new("x"))
        );
        assert_eq!(
            account_key_from_connection_string("AccountName=acct").unwrap(),
            None
        );
        assert_eq!(account_key_from_connection_string("").unwrap(), None);
        let e = account_key_from_connection_string("AccountName=a;garbageSECRET").unwrap_err();
        assert!(e.contains("segment 2") && !e.contains("SECRET"));
        // No AccountKey: falls through to the password.
        let (c, e) = conn(
            None,
            Some("pw"),
            json!({"connection_string": "AccountName=a"}),
        );
        assert_eq!(
            key_source(&c, &e).unwrap(),
            KeySource::Known(Secret::new("pw"))
        );
    }

    #[test]
    fn nothing_is_a_clear_error() {
        let (c, e) = conn(None, None, json!({}));
        let err = key_source(&c, &e).unwrap_err().to_string();
        assert!(err.contains("gives no storage account key"), "{err}");
    }
}
