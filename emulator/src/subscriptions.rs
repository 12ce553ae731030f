//! The rest of ARM that general Azure tools read before they get to container groups: the
//! cloud's metadata (`GET /metadata/endpoints`, what `az cloud register
//! --endpoint-resource-manager` and SDKs for custom clouds discover), the subscriptions and
//! tenants the signed-in client sees (`az login`), and resource groups (`az container create`
//! reads the group's location). One subscription and one tenant; every resource group exists
//! in `eastus` unless `EmulatorConfig::resource_groups` restricts them.

use serde_json::{json, Value};

use super::http::{arm_error, Req, Resp};
use super::state::Inner;
use super::{LOCAL_SUBSCRIPTION_ID, LOCAL_TENANT_ID};

/// Location reported for resource groups.
const RG_LOCATION: &str = "eastus";

/// `GET /metadata/endpoints`: this emulator as a cloud (ARM and the authority at `base`,
/// Azure's public audiences and suffixes); an array for `api-version=2019-05-01`, as ARM.
pub(crate) fn cloud_metadata(req: &Req, base: &str) -> Resp {
    let cloud = json!({
        "name": "AciEmulator",
        "portal": base,
        "resourceManager": format!("{base}/"),
        "authentication": {
            "loginEndpoint": base,
            "audiences": ["https://management.core.windows.net/", "https://management.azure.com/"],
            "tenant": "common",
            "identityProvider": "AAD",
        },
        "graph": "https://graph.windows.net/",
        "graphAudience": "https://graph.windows.net/",
        "microsoftGraphResourceId": "https://graph.microsoft.com/",
        "suffixes": {
            "acrLoginServer": "azurecr.io",
            "keyVaultDns": "vault.azure.net",
            "storage": "core.windows.net",
            "sqlServerHostname": "database.windows.net",
        },
    });
    if req.query("api-version") == Some("2019-05-01") {
        Resp::json(200, &json!([cloud]))
    } else {
        Resp::json(200, &cloud)
    }
}

fn subscription() -> Value {
    json!({
        "id": format!("/subscriptions/{LOCAL_SUBSCRIPTION_ID}"),
        "authorizationSource": "RoleBased",
        "managedByTenants": [],
        "subscriptionId": LOCAL_SUBSCRIPTION_ID,
        "tenantId": LOCAL_TENANT_ID,
        "displayName": "ACI emulator",
        "state": "Enabled",
        "subscriptionPolicies": {
            "locationPlacementId": "Public_2014-09-01",
            "quotaId": "PayAsYouGo_2014-09-01",
            "spendingLimit": "Off",
        },
    })
}

/// `GET /subscriptions`: the one subscription.
pub(crate) fn list_subscriptions() -> Resp {
    Resp::json(
        200,
        &json!({"value": [subscription()], "count": {"type": "Total", "value": 1}}),
    )
}

/// `GET /subscriptions/{sub}`: the subscription (any id works, as on every ARM route).
pub(crate) fn get_subscription(sub: &str) -> Resp {
    let mut s = subscription();
    s["id"] = json!(format!("/subscriptions/{sub}"));
    s["subscriptionId"] = json!(sub);
    Resp::json(200, &s)
}

/// `GET /tenants`: the one tenant.
pub(crate) fn list_tenants() -> Resp {
    Resp::json(
        200,
        &json!({"value": [{
            "id": format!("/tenants/{LOCAL_TENANT_ID}"),
            "tenantId": LOCAL_TENANT_ID,
            "tenantCategory": "Home",
            "displayName": "ACI emulator",
            "defaultDomain": "aciemulator.onmicrosoft.com",
            "tenantType": "AAD",
        }]}),
    )
}

/// `GET /subscriptions/{sub}/resourcegroups/{rg}`: exists in `eastus` (or `404`).
pub(crate) fn get_resource_group(inner: &Inner, sub: &str, rg: &str) -> Resp {
    if let Some(r) = inner.check_resource_group(rg) {
        return r;
    }
    if rg.is_empty() {
        return arm_error(
            400,
            "InvalidResourceGroup",
            "The resource group name is empty.",
        );
    }
    Resp::json(
        200,
        &json!({
            "id": format!("/subscriptions/{sub}/resourceGroups/{rg}"),
            "name": rg,
            "type": "Microsoft.Resources/resourceGroups",
            "location": RG_LOCATION,
            "properties": {"provisioningState": "Succeeded"},
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use hyper::{HeaderMap, Method};

    #[test]
    fn metadata_points_at_the_emulator() {
        let req = |q: &str| Req::new(Method::GET, Some(q), HeaderMap::new(), Bytes::new());
        let m = cloud_metadata(&req("api-version=2022-09-01"), "https://127.0.0.1:9").json_body();
        assert_eq!(m["resourceManager"], "https://127.0.0.1:9/");
        assert_eq!(m["authentication"]["loginEndpoint"], "https://127.0.0.1:9");
        assert_eq!(
            m["authentication"]["audiences"][0],
            "https://management.core.windows.net/"
        );
        let old = cloud_metadata(&req("api-version=2019-05-01"), "https://h").json_body();
        assert_eq!(old[0]["resourceManager"], "https://h/");
    }

    #[test]
    fn subscriptions_tenants_and_groups() {
        let s = list_subscriptions().json_body();
        assert_eq!(s["value"][0]["subscriptionId"], LOCAL_SUBSCRIPTION_ID);
        assert_eq!(s["value"][0]["state"], "Enabled");
        assert_eq!(get_subscription("x").json_body()["subscriptionId"], "x");
        assert_eq!(
            list_tenants().json_body()["value"][0]["tenantId"],
            LOCAL_TENANT_ID
        );
        let inner = Inner::new(
            crate::EmulatorConfig {
                resource_groups: Some(vec!["rg".into()]),
                ..crate::EmulatorConfig::default()
            },
            "http://127.0.0.1:1".into(),
            std::env::temp_dir(),
        );
        assert_eq!(
            get_resource_group(&inner, "s", "RG").json_body()["location"],
            RG_LOCATION
        );
        assert_eq!(get_resource_group(&inner, "s", "other").status, 404);
    }
}
