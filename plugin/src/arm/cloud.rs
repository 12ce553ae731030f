//! Cloud endpoints: which ARM host, Entra ID authority, token scope and IMDS endpoint a
//! connection talks to, and which `api-version` it sends.
//!
//! `cloud_environment` (`AzurePublicCloud` | `AzureUSGovernment` | `AzureChinaCloud`, as in
//! Airflow's `_AZURE_CLOUD_ENVIRONMENTS`) picks the defaults; the extras
//! `resource_manager_url`, `authority_host`, `imds_endpoint` and `api_version` override
//! them (private clouds, proxies, the local emulator). The token scope always follows the
//! cloud (`{cloud ARM}/.default`), so pointing `resource_manager_url` at a proxy of a
//! public cloud keeps asking Entra ID for a real ARM token.

use serde_json::{Map, Value};

/// Default ARM `api-version` for container groups (the long-lived stable one).
pub const DEFAULT_API_VERSION: &str = "2023-05-01";
/// Default IMDS base URL.
pub const DEFAULT_IMDS: &str = "http://169.254.169.254";
/// Path of the IMDS managed-identity token endpoint.
pub const IMDS_TOKEN_PATH: &str = "/metadata/identity/oauth2/token";

/// One row of the sovereign-cloud table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cloud {
    /// Airflow's name for it.
    pub name: &'static str,
    /// ARM base URL (Airflow's `base_url`).
    pub resource_manager: &'static str,
    /// Entra ID authority host.
    pub authority: &'static str,
}

impl Cloud {
    /// The token scope (Airflow's `credential_scopes[0]`).
    pub fn scope(&self) -> String {
        format!("{}/.default", self.resource_manager)
    }
}

/// Azure public cloud.
pub const AZURE_PUBLIC_CLOUD: Cloud = Cloud {
    name: "AzurePublicCloud",
    resource_manager: "https://management.azure.com",
    authority: "https://login.microsoftonline.com",
};
/// Azure US Government.
pub const AZURE_US_GOVERNMENT: Cloud = Cloud {
    name: "AzureUSGovernment",
    resource_manager: "https://management.usgovcloudapi.net",
    authority: "https://login.microsoftonline.us",
};
/// Azure China (21Vianet).
pub const AZURE_CHINA_CLOUD: Cloud = Cloud {
    name: "AzureChinaCloud",
    resource_manager: "https://management.chinacloudapi.cn",
    authority: "https://login.chinacloudapi.cn",
};

/// All known clouds.
pub const CLOUDS: [Cloud; 3] = [AZURE_PUBLIC_CLOUD, AZURE_US_GOVERNMENT, AZURE_CHINA_CLOUD];

/// Looks a cloud up by name. `None`/empty gives the public cloud; an unknown name gives the
/// public cloud too (as Airflow does) plus `false` so the caller can warn.
pub fn lookup(name: Option<&str>) -> (Cloud, bool) {
    match name.map(str::trim).filter(|n| !n.is_empty()) {
        None => (AZURE_PUBLIC_CLOUD, true),
        Some(n) => match CLOUDS.iter().find(|c| c.name == n) {
            Some(c) => (*c, true),
            None => (AZURE_PUBLIC_CLOUD, false),
        },
    }
}

/// Everything endpoint-related a client needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    /// The cloud the defaults came from.
    pub cloud: Cloud,
    /// ARM base URL, no trailing slash.
    pub resource_manager: String,
    /// Entra ID authority base URL, no trailing slash (the tenant is appended).
    pub authority: String,
    /// OAuth scope for ARM tokens.
    pub scope: String,
    /// Full IMDS token endpoint URL.
    pub imds_token_url: String,
    /// `api-version` for container-group calls.
    pub api_version: String,
}

/// Adds `https://` to a bare host and drops trailing slashes.
pub fn normalize_base(url: &str) -> String {
    let t = url.trim();
    let with_scheme = if t.contains("://") {
        t.to_string()
    } else {
        format!("https://{t}")
    };
    with_scheme.trim_end_matches('/').to_string()
}

/// The IMDS token URL for an `imds_endpoint` value: a base URL gets the token path appended;
/// a URL already ending in it is used as is. A bare host is taken as `http://` (IMDS is plain
/// HTTP on a link-local address).
pub fn imds_token_url(endpoint: &str) -> String {
    let t = endpoint.trim();
    let base = if t.contains("://") {
        t.to_string()
    } else {
        format!("http://{t}")
    };
    let base = base.trim_end_matches('/');
    let path_only = base.split('?').next().unwrap_or(base);
    if path_only.ends_with(IMDS_TOKEN_PATH) {
        base.to_string()
    } else {
        format!("{base}{IMDS_TOKEN_PATH}")
    }
}

/// A non-empty string extra.
pub fn extra_str<'a>(extras: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    extras
        .get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// Resolves the endpoints from a connection's extras. The second value is a warning to log
/// (an unknown `cloud_environment`), if any.
pub fn resolve(extras: &Map<String, Value>) -> (Endpoints, Option<String>) {
    let requested = extra_str(extras, "cloud_environment");
    let (cloud, known) = lookup(requested);
    let warning = (!known).then(|| {
        format!(
            "unknown cloud_environment `{}`; using AzurePublicCloud (known: AzurePublicCloud, AzureUSGovernment, AzureChinaCloud)",
            requested.unwrap_or_default()
        )
    });
    let endpoints = Endpoints {
        cloud,
        resource_manager: extra_str(extras, "resource_manager_url")
            .map(normalize_base)
            .unwrap_or_else(|| cloud.resource_manager.to_string()),
        authority: extra_str(extras, "authority_host")
            .map(normalize_base)
            .unwrap_or_else(|| cloud.authority.to_string()),
        scope: cloud.scope(),
        imds_token_url: imds_token_url(extra_str(extras, "imds_endpoint").unwrap_or(DEFAULT_IMDS)),
        api_version: extra_str(extras, "api_version")
            .unwrap_or(DEFAULT_API_VERSION)
            .to_string(),
    };
    (endpoints, warning)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn extras(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    /// Airflow's `test_get_conn_cloud_environment` table.
    #[test]
    fn cloud_environment_table() {
        let cases = [
            (
                None,
                "https://login.microsoftonline.com",
                "https://management.azure.com",
            ),
            (
                Some("AzurePublicCloud"),
                "https://login.microsoftonline.com",
                "https://management.azure.com",
            ),
            (
                Some("AzureUSGovernment"),
                "https://login.microsoftonline.us",
                "https://management.usgovcloudapi.net",
            ),
            (
                Some("AzureChinaCloud"),
                "https://login.chinacloudapi.cn",
                "https://management.chinacloudapi.cn",
            ),
        ];
        for (env, authority, base) in cases {
            let mut e = json!({"tenantId": "my-tenant", "subscriptionId": "my-subscription"});
            if let Some(env) = env {
                e["cloud_environment"] = json!(env);
            }
            let (ep, warn) = resolve(&extras(e));
            assert_eq!(ep.authority, authority, "{env:?}");
            assert_eq!(ep.resource_manager, base, "{env:?}");
            assert_eq!(ep.scope, format!("{base}/.default"), "{env:?}");
            assert_eq!(ep.api_version, "2023-05-01");
            assert!(warn.is_none());
        }
    }

    #[test]
    fn unknown_cloud_falls_back_with_warning() {
        let (ep, warn) = resolve(&extras(json!({"cloud_environment": "AzureGermanCloud"})));
        assert_eq!(ep.cloud, AZURE_PUBLIC_CLOUD);
        assert!(warn.unwrap().contains("AzureGermanCloud"));
    }

    #[test]
    fn overrides() {
        let (ep, _) = resolve(&extras(json!({
            "cloud_environment": "AzureUSGovernment",
            "resource_manager_url": "http://127.0.0.1:4000/",
            "authority_host": "127.0.0.1:4000",
            "imds_endpoint": "http://127.0.0.1:4000",
            "api_version": "2026-07-01",
        })));
        assert_eq!(ep.resource_manager, "http://127.0.0.1:4000");
        assert_eq!(ep.authority, "https://127.0.0.1:4000");
        assert_eq!(ep.scope, "https://management.usgovcloudapi.net/.default");
        assert_eq!(
            ep.imds_token_url,
            "http://127.0.0.1:4000/metadata/identity/oauth2/token"
        );
        assert_eq!(ep.api_version, "2026-07-01");
    }

    #[test]
    fn imds_urls() {
        assert_eq!(
            imds_token_url(DEFAULT_IMDS),
            "http://169.254.169.254/metadata/identity/oauth2/token"
        );
        assert_eq!(
            imds_token_url("http://h:1/metadata/identity/oauth2/token"),
            "http://h:1/metadata/identity/oauth2/token"
        );
        assert_eq!(
            imds_token_url("h:1/"),
            "http://h:1/metadata/identity/oauth2/token"
        );
        assert_eq!(
            normalize_base("https://login.microsoftonline.com/"),
            "https://login.microsoftonline.com"
        );
    }
}
