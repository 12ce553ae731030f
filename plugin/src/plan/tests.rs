//! The plan per credential type, cloud and role, and its agreement with the credential
//! the plugin then really selects.

use super::*;
use crate::auth::credential::select;
use crate::params;
use serde_json::json;
use task_plugin_sdk::Origin;

const PUBLIC: [&str; 2] = [
    "https://login.microsoftonline.com:443",
    "https://management.azure.com:443",
];
const IMDS: &str = "http://169.254.169.254:80";

fn conn(id: &str, login: Option<&str>, password: Option<&str>, extra: Value) -> Connection {
    Connection {
        conn_id: id.into(),
        conn_type: Some("azure_container_instance".into()),
        host: None,
        login: login.map(String::from),
        password: password.map(String::from),
        schema: None,
        port: None,
        extra: extra.to_string(),
    }
}

/// A client-secret connection as the host shows it to `plan` (password redacted).
fn secret_conn(id: &str, extra: Value) -> Connection {
    let mut e = json!({"tenantId": "t", "subscriptionId": "s"});
    for (k, v) in extra.as_object().unwrap() {
        e[k] = v.clone();
    }
    conn(id, Some("client"), Some("***"), e)
}

fn no_env(_: &str) -> Option<String> {
    None
}

fn origin_text(o: &Origin) -> String {
    format!("{}://{}:{}", o.scheme, o.host, o.port)
}

fn origins(plan: &TaskPlan) -> Vec<String> {
    let mut v: Vec<String> = plan.origins.iter().map(origin_text).collect();
    v.sort();
    v
}

fn hook(c: Connection, env: Env<'_>) -> TaskPlan {
    hook_plan(&[c], env).unwrap()
}

fn task_params(extra: Value) -> Params {
    let mut p = json!({"ci_conn_id": "azure_default", "resource_group": "rg", "name": "n",
        "image": "busybox", "region": "westeurope"});
    for (k, v) in extra.as_object().unwrap() {
        p[k] = v.clone();
    }
    params::from_value(&p).unwrap()
}

#[test]
fn connection_ids_are_every_role_once() {
    let p = task_params(json!({}));
    assert_eq!(connection_ids(&p), ["azure_default"]);
    let p = task_params(json!({
        "registry_conn_id": "acr",
        "volumes": [["wasb", "acct", "share", "/mnt/a", false],
                    ["azure_default", "acct", "s2", "/mnt/b", true],
                    ["wasb", "acct", "s3", "/mnt/c", true]],
    }));
    assert_eq!(connection_ids(&p), ["azure_default", "acr", "wasb"]);
    // An empty registry_conn_id is no registry (Airflow's falsy check).
    let p = task_params(json!({"registry_conn_id": ""}));
    assert_eq!(connection_ids(&p), ["azure_default"]);
}

#[test]
fn client_secret_in_each_cloud() {
    let cases = [
        (None, PUBLIC),
        (Some("AzurePublicCloud"), PUBLIC),
        (
            Some("AzureUSGovernment"),
            [
                "https://login.microsoftonline.us:443",
                "https://management.usgovcloudapi.net:443",
            ],
        ),
        (
            Some("AzureChinaCloud"),
            [
                "https://login.chinacloudapi.cn:443",
                "https://management.chinacloudapi.cn:443",
            ],
        ),
    ];
    for (cloud, expected) in cases {
        let extra = match cloud {
            Some(c) => json!({"cloud_environment": c}),
            None => json!({}),
        };
        let plan = hook(secret_conn("azure_default", extra), &no_env);
        assert_eq!(origins(&plan), expected, "{cloud:?}");
        assert!(plan.files.is_empty());
    }
}

#[test]
fn endpoint_overrides_replace_the_cloud() {
    let plan = hook(
        secret_conn(
            "azure_default",
            json!({"cloud_environment": "AzureUSGovernment",
                "resource_manager_url": "http://127.0.0.1:4000/", "authority_host": "http://127.0.0.1:4000"}),
        ),
        &no_env,
    );
    assert_eq!(origins(&plan), ["http://127.0.0.1:4000"]);
    let plan = hook(
        secret_conn(
            "azure_default",
            json!({"resource_manager_url": "arm.private.example:8443"}),
        ),
        &no_env,
    );
    assert_eq!(
        origins(&plan),
        [
            "https://arm.private.example:8443",
            "https://login.microsoftonline.com:443"
        ]
    );
}

#[test]
fn managed_identity_adds_imds_only_then() {
    let system = conn("azure_default", None, None, json!({"subscriptionId": "s"}));
    let plan = hook(system, &no_env);
    assert_eq!(origins(&plan), [IMDS, "https://management.azure.com:443"]);
    // login/password without a tenant fall through to managed identity (Airflow).
    let no_tenant = conn("azure_default", Some("l"), Some("***"), json!({}));
    assert_eq!(
        origins(&hook(no_tenant, &no_env)),
        [IMDS, "https://management.azure.com:443"]
    );
    let user = conn(
        "azure_default",
        None,
        None,
        json!({"managed_identity_client_id": "mi", "imds_endpoint": "http://127.0.0.1:9/",
               "cloud_environment": "AzureChinaCloud"}),
    );
    assert_eq!(
        origins(&hook(user, &no_env)),
        [
            "http://127.0.0.1:9",
            "https://management.chinacloudapi.cn:443"
        ]
    );
    // A credential of its own: no IMDS.
    for c in [
        secret_conn("azure_default", json!({})),
        conn(
            "azure_default",
            Some("cid"),
            None,
            json!({"tenantId": "t", "client_certificate": "***"}),
        ),
    ] {
        assert!(!origins(&hook(c, &no_env)).contains(&IMDS.to_string()));
    }
}

fn workload_env(k: &str) -> Option<String> {
    match k {
        "AZURE_FEDERATED_TOKEN_FILE" => Some("/var/run/secrets/token".into()),
        "AZURE_CLIENT_ID" => Some("c".into()),
        "AZURE_TENANT_ID" => Some("t".into()),
        "AZURE_AUTHORITY_HOST" => Some("https://login.wi.example/".into()),
        _ => None,
    }
}

#[test]
fn workload_identity_grants_its_token_file_and_authority() {
    let c = conn("azure_default", None, None, json!({"subscriptionId": "s"}));
    let plan = hook(c.clone(), &workload_env);
    assert_eq!(
        origins(&plan),
        [
            "https://login.wi.example:443",
            "https://management.azure.com:443"
        ]
    );
    assert_eq!(plan.files, ["/var/run/secrets/token"]);
    // The connection's authority_host wins over AZURE_AUTHORITY_HOST, as at run time.
    let c = conn(
        "azure_default",
        None,
        None,
        json!({"authority_host": "https://login.other.example"}),
    );
    assert_eq!(
        origins(&hook(c, &workload_env)),
        [
            "https://login.other.example:443",
            "https://management.azure.com:443"
        ]
    );
    // A client secret comes first: no token file, no workload authority.
    let plan = hook(secret_conn("azure_default", json!({})), &workload_env);
    assert_eq!(origins(&plan), PUBLIC);
    assert!(plan.files.is_empty());
}

#[test]
fn certificates_and_key_files() {
    let path_cert = conn(
        "azure_default",
        Some("cid"),
        None,
        json!({"tenantId": "t", "client_certificate_path": "/certs/c.pem"}),
    );
    let plan = hook(path_cert, &no_env);
    assert_eq!(origins(&plan), PUBLIC);
    assert_eq!(plan.files, ["/certs/c.pem"]);
    let key_path = conn(
        "azure_default",
        None,
        None,
        json!({"key_path": "/keys/k.json", "cloud_environment": "AzureUSGovernment"}),
    );
    let plan = hook(key_path, &no_env);
    assert_eq!(
        origins(&plan),
        [
            "https://login.microsoftonline.us:443",
            "https://management.usgovcloudapi.net:443"
        ]
    );
    assert_eq!(plan.files, ["/keys/k.json"]);
    // key_json as the host redacts it: its endpoints stay visible.
    let key_json = json!({"clientId": "c", "clientSecret": "***", "tenantId": "t",
        "resourceManagerEndpointUrl": "https://management.chinacloudapi.cn/",
        "activeDirectoryEndpointUrl": "https://login.chinacloudapi.cn"});
    for kj in [key_json.clone(), json!(key_json.to_string())] {
        let c = conn("azure_default", None, None, json!({"key_json": kj}));
        assert_eq!(
            origins(&hook(c, &no_env)),
            [
                "https://login.chinacloudapi.cn:443",
                "https://management.chinacloudapi.cn:443"
            ]
        );
    }
    // A bad key_path fails the plan with the run's own message.
    let bad = conn("azure_default", None, None, json!({"key_path": "/k.txt"}));
    let e = hook_plan(&[bad], &no_env).unwrap_err();
    assert!(e.to_string().contains("Unrecognised extension"), "{e}");
}

#[test]
fn registry_and_volume_roles() {
    let p = task_params(json!({
        "registry_conn_id": "acr",
        "volumes": [["wasb_key", "acct", "share", "/mnt/a", false],
                    ["wasb_list", "acct", "s2", "/mnt/b", true]],
    }));
    let mut registry = conn("acr", Some("myreg"), Some("***"), json!({}));
    registry.host = Some("myreg.azurecr.io".into());
    let key_volume = conn(
        "wasb_key",
        Some("acct"),
        None,
        json!({"connection_string": "***"}),
    );
    let list_volume = conn(
        "wasb_list",
        None,
        None,
        json!({"subscription_id": "s", "resource_group": "rg",
               "cloud_environment": "AzureUSGovernment"}),
    );
    let ci = secret_conn("azure_default", json!({}));
    let all = [
        ci.clone(),
        registry.clone(),
        key_volume.clone(),
        list_volume,
    ];
    let plan = task_plan(&p, &all, &no_env).unwrap();
    // The registry's password and the first volume's key need nothing; listKeys
    // needs the US Government ARM and IMDS (managed identity).
    let mut expected = vec![IMDS, "https://management.usgovcloudapi.net:443"];
    expected.extend(PUBLIC);
    expected.sort();
    assert_eq!(origins(&plan), expected);

    // A registry without a password: ACR listCredentials with its own credential.
    let p = task_params(json!({"registry_conn_id": "acr"}));
    registry.password = None;
    registry.extra = json!({"resource_group": "rg", "subscription_id": "s"}).to_string();
    let plan = task_plan(&p, &[ci.clone(), registry.clone()], &workload_env).unwrap();
    assert_eq!(plan.files, ["/var/run/secrets/token"]);
    assert!(origins(&plan).contains(&"https://login.wi.example:443".to_string()));
    // ... and without its resource group the plan fails as the run would.
    registry.extra = "{}".into();
    let e = task_plan(&p, &[ci, registry], &no_env).unwrap_err();
    assert!(e.to_string().contains("no resource_group extra"), "{e}");
}

#[test]
fn a_connection_the_host_did_not_pass_is_an_internal_error() {
    let p = task_params(json!({"registry_conn_id": "acr"}));
    let e = task_plan(&p, &[secret_conn("azure_default", json!({}))], &no_env).unwrap_err();
    assert!(matches!(e, Error::Internal(m) if m.contains("`acr`")));
}

/// The plan, computed on the redacted connection, grants every origin and file the real
/// credential (selected on the clear connection) then uses.
#[test]
fn the_plan_covers_the_credential_really_selected() {
    let pem = include_str!("../../tests/data/test-client-cert.pem");
    let shapes = [
        (
            Some("client"),
            Some("secret-value"),
            json!({"tenantId": "t"}),
        ),
        (
            Some("client"),
            None,
            json!({"tenantId": "t", "client_certificate": pem}),
        ),
        (
            Some("client"),
            None,
            json!({"tenantId": "t", "client_certificate_path": "/c.pem"}),
        ),
        (
            None,
            None,
            json!({"key_json": {"clientId": "c", "clientSecret": "kj-secret", "tenantId": "t",
            "resourceManagerEndpointUrl": "https://management.usgovcloudapi.net/"}}),
        ),
        (None, None, json!({"cloud_environment": "AzureChinaCloud"})),
        (None, None, json!({"imds_endpoint": "http://127.0.0.1:1"})),
        (Some("l"), Some("p"), json!({})),
    ];
    for env in [&no_env as Env<'_>, &workload_env] {
        for (login, password, extra) in &shapes {
            let clear = conn("c", *login, *password, extra.clone());
            let mut shown = clear.clone();
            shown.password = password.map(|_| "***".to_string());
            let mut shown_extra = extra.clone();
            for secret in ["client_certificate"] {
                if shown_extra.get(secret).is_some() {
                    shown_extra[secret] = json!("***");
                }
            }
            if let Some(kj) = shown_extra.get_mut("key_json") {
                kj["clientSecret"] = json!("***");
            }
            shown.extra = shown_extra.to_string();
            let plan = hook(shown, env);
            let extras = runtime::extras(&clear);
            let real = select(&clear, &extras, env, &|_| Err("unused".into())).unwrap();
            for url in real.urls() {
                let o = origin_text(&Origin::of_url(url).unwrap());
                assert!(origins(&plan).contains(&o), "{extra}: {o} not granted");
            }
            for f in real.credential.files() {
                assert!(
                    plan.files.iter().any(|g| g == f),
                    "{extra}: {f} not granted"
                );
            }
        }
    }
}

#[test]
fn every_arm_connection_declares_its_subscriptions_budgets() {
    let keys = |plan: &TaskPlan| -> Vec<String> {
        let mut v: Vec<String> = plan.budgets.iter().map(|b| b.key.clone()).collect();
        v.sort();
        v
    };
    let plan = hook(secret_conn("azure_default", json!({})), &no_env);
    assert_eq!(
        keys(&plan),
        ["arm/s/deletes", "arm/s/reads", "arm/s/writes"]
    );
    let reads = plan
        .budgets
        .iter()
        .find(|b| b.key == "arm/s/reads")
        .unwrap();
    assert_eq!(
        (
            reads.class.as_str(),
            reads.capacity,
            reads.refill_per_second
        ),
        ("arm-reads", 250, 25.0)
    );
    // Two connections in two subscriptions: a bucket set each.
    let other = secret_conn("other", json!({"subscriptionId": "t2"}));
    let plan = hook_plan(&[secret_conn("a", json!({})), other], &no_env).unwrap();
    assert_eq!(keys(&plan).len(), 6);
    // No subscription known: no budget (the requests go without one).
    let none = conn("x", Some("client"), Some("***"), json!({"tenantId": "t"}));
    assert!(hook(none, &no_env).budgets.is_empty());
}
