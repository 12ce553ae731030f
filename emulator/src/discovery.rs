//! Entra ID discovery, what MSAL (under every Azure SDK and `az`) reads from an authority
//! before it asks for a token: the OpenID configuration (`/{tenant}/v2.0/.well-known/
//! openid-configuration`, and the v1 one), instance discovery (`/{tenant}/discovery/instance`)
//! and the signing keys (`/{tenant}/discovery/v2.0/keys`, empty: the emulator's tokens are not
//! signed). Every URL points back at the emulator, under the base the request came in on, so
//! `ClientSecretCredential(tenant, client, secret, authority=EMULATOR,
//! disable_instance_discovery=True)` signs in.

use serde_json::{json, Value};

use super::http::{aad_error, Resp};
use super::state::Inner;

/// `None` when the tenant is served, else AAD's `400 invalid_tenant`.
fn check_tenant(inner: &Inner, tenant: &str) -> Option<Resp> {
    let list = inner.config.tenants.as_ref()?;
    if list.iter().any(|t| t.eq_ignore_ascii_case(tenant)) {
        return None;
    }
    let mut r = aad_error(
        400,
        "invalid_tenant",
        90002,
        &format!("Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud."),
    );
    r.set_header("cache-control", "no-store, no-cache");
    Some(r)
}

/// The OpenID configuration of `tenant` (v2.0 endpoints, or v1 with `v2 = false`).
pub(crate) fn openid_configuration(inner: &Inner, base: &str, tenant: &str, v2: bool) -> Resp {
    if let Some(r) = check_tenant(inner, tenant) {
        return r;
    }
    let authority = format!("{base}/{tenant}");
    let (oauth, issuer, keys) = if v2 {
        (
            format!("{authority}/oauth2/v2.0"),
            format!("{authority}/v2.0"),
            format!("{authority}/discovery/v2.0/keys"),
        )
    } else {
        (
            format!("{authority}/oauth2"),
            format!("{base}/{tenant}/"),
            format!("{authority}/discovery/keys"),
        )
    };
    let host = base.split("://").nth(1).unwrap_or(base);
    Resp::json(
        200,
        &json!({
            "token_endpoint": format!("{oauth}/token"),
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
            "jwks_uri": keys,
            "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "issuer": issuer,
            "request_uri_parameter_supported": false,
            "authorization_endpoint": format!("{oauth}/authorize"),
            "device_authorization_endpoint": format!("{oauth}/devicecode"),
            "http_logout_supported": true,
            "frontchannel_logout_supported": true,
            "end_session_endpoint": format!("{oauth}/logout"),
            "claims_supported": ["sub", "iss", "aud", "exp", "iat", "nbf", "tid", "ver", "oid"],
            "tenant_region_scope": "NA",
            "cloud_instance_name": host,
            "cloud_graph_host_name": host,
            "msgraph_host": host,
        }),
    )
}

/// `GET /{tenant}/discovery/instance` (MSAL instance discovery): this host is its own
/// (only) alias.
pub(crate) fn instance_discovery(inner: &Inner, base: &str, tenant: &str) -> Resp {
    if let Some(r) = check_tenant(inner, tenant) {
        return r;
    }
    let host = base.split("://").nth(1).unwrap_or(base);
    Resp::json(
        200,
        &json!({
            "tenant_discovery_endpoint": format!("{base}/{tenant}/v2.0/.well-known/openid-configuration"),
            "api-version": "1.1",
            "metadata": [{"preferred_network": host, "preferred_cache": host, "aliases": [host]}],
        }),
    )
}

/// `GET /{tenant}/discovery[/v2.0]/keys`: no keys (tokens are not signed).
pub(crate) fn keys(inner: &Inner, tenant: &str) -> Resp {
    if let Some(r) = check_tenant(inner, tenant) {
        return r;
    }
    Resp::json(200, &json!({"keys": Value::Array(Vec::new())}))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::EmulatorConfig;

    fn inner(tenants: Option<Vec<String>>) -> Inner {
        Inner::new(
            EmulatorConfig {
                tenants,
                ..EmulatorConfig::default()
            },
            "https://127.0.0.1:1".into(),
            std::env::temp_dir(),
        )
    }

    #[test]
    fn openid_configuration_points_back() {
        let i = inner(None);
        let b = openid_configuration(&i, "https://localhost:9", "t1", true).json_body();
        assert_eq!(
            b["token_endpoint"],
            "https://localhost:9/t1/oauth2/v2.0/token"
        );
        assert_eq!(
            b["authorization_endpoint"],
            "https://localhost:9/t1/oauth2/v2.0/authorize"
        );
        assert_eq!(b["issuer"], "https://localhost:9/t1/v2.0");
        let v1 = openid_configuration(&i, "https://localhost:9", "t1", false).json_body();
        assert_eq!(v1["token_endpoint"], "https://localhost:9/t1/oauth2/token");
        let d = instance_discovery(&i, "https://localhost:9", "common").json_body();
        assert_eq!(d["metadata"][0]["aliases"][0], "localhost:9");
        assert_eq!(keys(&i, "t1").json_body()["keys"], json!([]));
    }

    #[test]
    fn unknown_tenants_are_refused() {
        let i = inner(Some(vec!["good".into()]));
        let r = openid_configuration(&i, "https://h", "bad", true);
        assert_eq!(r.status, 400);
        assert_eq!(r.json_body()["error"], "invalid_tenant");
        assert_eq!(
            openid_configuration(&i, "https://h", "GOOD", true).status,
            200
        );
    }
}
