//! The Azure SDK "auth file" (Airflow's `key_path` / `key_json`): a JSON object with
//! `clientId`, `clientSecret`, `tenantId`, `subscriptionId` and optionally the endpoints
//! `activeDirectoryEndpointUrl` and `resourceManagerEndpointUrl` (the format written by
//! `az ad sp create-for-rbac --sdk-auth`).

use serde_json::Value;

use crate::arm::models::Secret;

/// A parsed auth file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyFile {
    /// Application (client) id.
    pub client_id: String,
    /// Client secret (redacted in `Debug`).
    pub client_secret: Secret,
    /// Directory (tenant) id.
    pub tenant_id: String,
    /// Subscription id, if the file names one.
    pub subscription_id: Option<String>,
    /// Entra ID authority, if the file names one.
    pub authority: Option<String>,
    /// ARM endpoint, if the file names one.
    pub resource_manager: Option<String>,
}

fn field(v: &Value, names: &[&str]) -> Option<String> {
    names
        .iter()
        .find_map(|n| v.get(*n).and_then(Value::as_str))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
}

/// Parses an auth file's JSON (an object, or a string holding one — Airflow extras may carry
/// `key_json` either way). Errors name the missing field, never a value.
pub fn parse(value: &Value) -> Result<KeyFile, String> {
    let owned;
    let obj = match value {
        Value::Object(_) => value,
        Value::String(s) => {
            owned =
                serde_json::from_str::<Value>(s).map_err(|e| format!("is not valid JSON ({e})"))?;
            &owned
        }
        _ => return Err("must be a JSON object".into()),
    };
    if !obj.is_object() {
        return Err("must be a JSON object".into());
    }
    let need = |names: &[&str]| field(obj, names).ok_or_else(|| format!("has no `{}`", names[0]));
    Ok(KeyFile {
        client_id: need(&["clientId", "client_id"])?,
        client_secret: Secret::new(need(&["clientSecret", "client_secret"])?),
        tenant_id: need(&["tenantId", "tenant_id"])?,
        subscription_id: field(obj, &["subscriptionId", "subscription_id"]),
        authority: field(obj, &["activeDirectoryEndpointUrl"]),
        resource_manager: field(obj, &["resourceManagerEndpointUrl"]),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sdk_auth_format() {
        let v = json!({
            "clientId": "cid", "clientSecret": "csecret", "subscriptionId": "sub", "tenantId": "tid",
            "activeDirectoryEndpointUrl": "https://login.microsoftonline.com",
            "resourceManagerEndpointUrl": "https://management.azure.com/",
            "activeDirectoryGraphResourceId": "https://graph.windows.net/"
        });
        let k = parse(&v).unwrap();
        assert_eq!(k.client_id, "cid");
        assert_eq!(k.client_secret.expose(), "csecret");
        assert_eq!(k.tenant_id, "tid");
        assert_eq!(k.subscription_id.as_deref(), Some("sub"));
        assert_eq!(
            k.resource_manager.as_deref(),
            Some("https://management.azure.com/")
        );
        assert!(!format!("{k:?}").contains("csecret"));
        // The same as a string.
        assert_eq!(parse(&Value::String(v.to_string())).unwrap(), k);
    }

    #[test]
    fn errors_name_fields_not_values() {
        let e = parse(&json!({"clientId": "c", "tenantId": "t"})).unwrap_err();
        assert_eq!(e, "has no `clientSecret`");
        let e = parse(&json!({"clientSecret": "hush", "tenantId": "t"})).unwrap_err();
        assert!(e.contains("clientId") && !e.contains("hush"));
        assert!(parse(&json!([1])).is_err());
        assert!(parse(&json!("{not json")).is_err());
    }
}
