//! Helper ARM calls of other providers: ACR admin credentials and storage account keys.
//! Every registry and account exists (in an existing resource group); its secrets are random
//! but stable for the emulator's lifetime (until a reset).

use std::collections::HashMap;

use serde_json::json;

use super::auth::random_b64;
use super::http::Resp;
use super::state::Inner;

/// The two secrets (random base64 of `bytes` bytes) of `name` (case-insensitive), made on
/// first use.
fn stable_pair(
    secrets: &mut HashMap<String, [String; 2]>,
    name: &str,
    bytes: usize,
) -> [String; 2] {
    secrets
        .entry(name.to_ascii_lowercase())
        .or_insert_with(|| [random_b64(bytes), random_b64(bytes)])
        .clone()
}

/// `POST …/Microsoft.ContainerRegistry/registries/{name}/listCredentials`.
pub(crate) fn acr_credentials(inner: &Inner, rg: &str, registry: &str) -> Resp {
    if let Some(r) = inner.check_resource_group(rg) {
        return r;
    }
    let [p1, p2] = stable_pair(&mut inner.world().registries, registry, 24);
    Resp::json(
        200,
        &json!({"username": registry, "passwords": [{"name": "password", "value": p1}, {"name": "password2", "value": p2}]}),
    )
}

/// `POST …/Microsoft.Storage/storageAccounts/{name}/listKeys`.
pub(crate) fn storage_keys(inner: &Inner, rg: &str, account: &str) -> Resp {
    if let Some(r) = inner.check_resource_group(rg) {
        return r;
    }
    let [k1, k2] = stable_pair(&mut inner.world().storage, account, 64);
    let created = "2025-06-15T20:30:20.8900000Z";
    Resp::json(
        200,
        &json!({"keys": [
            {"keyName": "key1", "value": k1, "permissions": "Full", "creationTime": created},
            {"keyName": "key2", "value": k2, "permissions": "Full", "creationTime": created},
        ]}),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::EmulatorConfig;

    #[test]
    fn stable_secrets_and_resource_groups() {
        let cfg = EmulatorConfig {
            resource_groups: Some(vec!["rg".into()]),
            ..EmulatorConfig::default()
        };
        let i = Inner::new(cfg, "http://127.0.0.1:1".into(), std::env::temp_dir());
        let a = acr_credentials(&i, "RG", "MyReg").json_body();
        let b = acr_credentials(&i, "rg", "myreg").json_body();
        assert_eq!(a["passwords"][0]["value"], b["passwords"][0]["value"]);
        assert_eq!(a["passwords"][1]["name"], "password2");
        assert_eq!(a["username"], "MyReg");
        assert_eq!(acr_credentials(&i, "other", "r").status, 404);
        let k = storage_keys(&i, "rg", "acct").json_body();
        assert_eq!(k["keys"][0]["keyName"], "key1");
        assert_eq!(k["keys"][0]["permissions"], "Full");
        assert_ne!(k["keys"][0]["value"], k["keys"][1]["value"]);
        assert_eq!(
            storage_keys(&i, "nope", "acct").json_body()["error"]["code"],
            "ResourceGroupNotFound"
        );
    }
}
