//! Which credential a connection uses (pure given its inputs): Airflow's `get_conn` order,
//! extended with the client-certificate and workload-identity modes of
//! `DefaultAzureCredential`.
//!
//! Order of precedence for an ACI connection:
//! 1. `key_path` (must end in `.json`; read through the host, which grants it because the
//!    task's plan declares it) — an SDK auth file with a client secret;
//! 2. `key_json` — the same document inline (object or string);
//! 3. client secret — `login` (client id) + `password` (secret) + extra `tenantId`;
//! 4. client certificate — `login` (client id) + extra `tenantId` + extra
//!    `client_certificate` (PEM text holding the RSA key and the certificate) or
//!    `client_certificate_path` (a PEM file, read through the host);
//! 5. workload identity — `AZURE_FEDERATED_TOKEN_FILE` in the environment, client id from
//!    extra `managed_identity_client_id` or `AZURE_CLIENT_ID`, tenant from extra
//!    `workload_identity_tenant_id`, `AZURE_TENANT_ID` or extra `tenantId`; authority from
//!    extra `authority_host`, `AZURE_AUTHORITY_HOST` or the cloud;
//! 6. managed identity via IMDS — extra `managed_identity_client_id` (or `AZURE_CLIENT_ID`)
//!    selects a user-assigned identity; otherwise the system-assigned one.
//!
//! Registry and volume connections use only 5–6 (Airflow's `DefaultAzureCredential` with the
//! connection's managed-identity extras), because their login/password mean something else.

use serde_json::{Map, Value};

use super::keyfile::{self, KeyFile};
use crate::arm::cloud::{self, extra_str, Endpoints};
use crate::arm::models::Secret;
use task_plugin_sdk::Connection;

/// Where a certificate PEM comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CertificateSource {
    /// PEM text from extra `client_certificate` (redacted in `Debug`).
    Inline(Secret),
    /// A PEM file from extra `client_certificate_path`.
    Path(String),
}

/// A credential, fully described (secrets redacted in `Debug`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Credential {
    /// Client id + secret (from login/password or an auth file).
    ClientSecret {
        /// Tenant.
        tenant_id: String,
        /// Client id.
        client_id: String,
        /// Secret.
        secret: Secret,
        /// Where it came from (`key_path`, `key_json`, `login/password`) for messages.
        source: &'static str,
    },
    /// Client id + certificate.
    ClientCertificate {
        /// Tenant.
        tenant_id: String,
        /// Client id.
        client_id: String,
        /// The PEM.
        certificate: CertificateSource,
    },
    /// A federated token file exchanged for an access token.
    WorkloadIdentity {
        /// Tenant.
        tenant_id: String,
        /// Client id.
        client_id: String,
        /// Path of the projected token, re-read on every token request.
        token_file: String,
    },
    /// IMDS managed identity.
    ManagedIdentity {
        /// User-assigned identity client id; `None` for the system-assigned identity.
        client_id: Option<String>,
    },
}

impl Credential {
    /// Short name for logs and errors.
    pub fn kind(&self) -> &'static str {
        match self {
            Credential::ClientSecret { .. } => "client secret",
            Credential::ClientCertificate { .. } => "client certificate",
            Credential::WorkloadIdentity { .. } => "workload identity",
            Credential::ManagedIdentity { .. } => "managed identity",
        }
    }
}

impl Credential {
    /// Where this credential's tokens come from: the IMDS token URL for a managed
    /// identity, else the Entra ID authority.
    pub fn token_endpoint<'a>(&self, endpoints: &'a Endpoints) -> &'a str {
        match self {
            Credential::ManagedIdentity { .. } => &endpoints.imds_token_url,
            _ => &endpoints.authority,
        }
    }

    /// The files this credential reads through the host (a certificate file, the
    /// federated token file).
    pub fn files(&self) -> Vec<&str> {
        match self {
            Credential::ClientCertificate {
                certificate: CertificateSource::Path(p),
                ..
            } => vec![p.as_str()],
            Credential::WorkloadIdentity { token_file, .. } => vec![token_file.as_str()],
            _ => Vec::new(),
        }
    }
}

/// Everything auth needs about one connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthSetup {
    /// The chosen credential.
    pub credential: Credential,
    /// Endpoints (cloud defaults, auth-file endpoints and extras overrides applied).
    pub endpoints: Endpoints,
    /// Subscription id (auth file first, then extras `subscriptionId` / `subscription_id`).
    pub subscription_id: Option<String>,
    /// Lines to log at info level (which credential, Airflow's wording).
    pub notes: Vec<String>,
    /// Lines to log at warning level.
    pub warnings: Vec<String>,
}

impl AuthSetup {
    /// The URLs this setup contacts: ARM, and where its tokens come from
    /// ([`Credential::token_endpoint`]).
    pub fn urls(&self) -> [&str; 2] {
        [
            self.endpoints.resource_manager.as_str(),
            self.credential.token_endpoint(&self.endpoints),
        ]
    }
}

/// The first non-empty string extra among `keys`.
pub fn extra_any<'a>(extras: &'a Map<String, Value>, keys: &[&str]) -> Option<&'a str> {
    keys.iter().find_map(|k| extra_str(extras, k))
}

fn non_empty(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

fn connection_error(conn_id: &str, msg: impl std::fmt::Display) -> String {
    format!("connection `{conn_id}`: {msg}")
}

/// What the precedence picks for an ACI connection before any file is read: everything,
/// or the auth file that `key_path` names (which only the host can read).
///
/// [`choose`] is the one place the precedence lives: [`select`] (the real credential)
/// and the task's plan (`crate::plan`, what the host must grant) both start from it, so
/// the grant cannot drift from what the plugin then does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Choice {
    /// The credential is known without reading any file.
    Ready(AuthSetup),
    /// Step 1: an auth file at `path`, read through the host. Its own endpoints are
    /// known only once it is read; `endpoints` are the connection's (cloud defaults and
    /// extras overrides).
    KeyPath {
        /// The file (`.json`).
        path: String,
        /// The connection's endpoints before the file is read.
        endpoints: Endpoints,
        /// The connection's subscription (the file's wins).
        subscription_id: Option<String>,
        /// Warnings so far.
        warnings: Vec<String>,
    },
}

/// Selects the credential of an ACI connection. `env` reads environment variables,
/// `read_file` reads a host-granted file. Errors are plain messages (no secrets).
pub fn select(
    conn: &Connection,
    extras: &Map<String, Value>,
    env: &dyn Fn(&str) -> Option<String>,
    read_file: &dyn Fn(&str) -> Result<Vec<u8>, String>,
) -> Result<AuthSetup, String> {
    match choose(conn, extras, env)? {
        Choice::Ready(setup) => Ok(setup),
        Choice::KeyPath {
            path,
            endpoints,
            subscription_id,
            warnings,
        } => {
            let id = conn.conn_id.as_str();
            let bytes = read_file(&path)
                .map_err(|e| connection_error(id, format!("cannot read key_path `{path}`: {e}")))?;
            let value: Value = serde_json::from_slice(&bytes).map_err(|e| {
                connection_error(id, format!("key_path `{path}` is not valid JSON ({e})"))
            })?;
            let kf = keyfile::parse(&value)
                .map_err(|e| connection_error(id, format!("key_path `{path}` {e}")))?;
            let base = Base {
                endpoints,
                subscription_id,
                warnings,
            };
            Ok(base.with_key_file(
                kf,
                extras,
                "key_path",
                "Getting connection using a JSON key file.",
            ))
        }
    }
}

/// What every credential starts from: the connection's endpoints, subscription and
/// warnings.
struct Base {
    endpoints: Endpoints,
    subscription_id: Option<String>,
    warnings: Vec<String>,
}

impl Base {
    /// The setup of an auth file's client secret (steps 1–2).
    fn with_key_file(
        mut self,
        kf: KeyFile,
        extras: &Map<String, Value>,
        source: &'static str,
        note: &str,
    ) -> AuthSetup {
        apply_key_file_endpoints(&kf, extras, &mut self.endpoints);
        AuthSetup {
            credential: Credential::ClientSecret {
                tenant_id: kf.tenant_id,
                client_id: kf.client_id,
                secret: kf.client_secret,
                source,
            },
            endpoints: self.endpoints,
            subscription_id: kf.subscription_id.or(self.subscription_id),
            notes: vec![note.to_string()],
            warnings: self.warnings,
        }
    }
}

/// Airflow's precedence for an ACI connection, without reading any file (see [`Choice`]).
pub fn choose(
    conn: &Connection,
    extras: &Map<String, Value>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Choice, String> {
    let id = conn.conn_id.as_str();
    let (mut endpoints, warning) = cloud::resolve(extras);
    let mut warnings: Vec<String> = warning.into_iter().collect();
    let subscription = extra_any(extras, &["subscriptionId", "subscription_id"]).map(String::from);

    // 1: auth file, read through the host.
    if let Some(path) = extra_str(extras, "key_path") {
        if !path.to_ascii_lowercase().ends_with(".json") {
            return Err(connection_error(id, "Unrecognised extension for key file."));
        }
        return Ok(Choice::KeyPath {
            path: path.to_string(),
            endpoints,
            subscription_id: subscription,
            warnings,
        });
    }
    // 2: the same document inline.
    if let Some(v) = extras
        .get("key_json")
        .filter(|v| !v.is_null() && v.as_str() != Some(""))
    {
        let kf = keyfile::parse(v).map_err(|e| connection_error(id, format!("key_json {e}")))?;
        let base = Base {
            endpoints,
            subscription_id: subscription,
            warnings,
        };
        return Ok(Choice::Ready(base.with_key_file(
            kf,
            extras,
            "key_json",
            "Getting connection using a JSON config.",
        )));
    }

    let tenant = extra_any(extras, &["tenantId", "tenant_id"]);
    let login = non_empty(&conn.login);
    let password = non_empty(&conn.password);

    let (credential, note) = if let (Some(client_id), Some(secret), Some(tenant_id)) =
        (login, password, tenant)
    {
        // 3: client secret.
        let credential = Credential::ClientSecret {
            tenant_id: tenant_id.to_string(),
            client_id: client_id.to_string(),
            secret: Secret::new(secret),
            source: "login/password",
        };
        let note = "Getting connection using specific credentials and subscription_id.";
        (credential, note.to_string())
    } else if let Some(certificate) = certificate_source(extras) {
        // 4: client certificate.
        let (Some(client_id), Some(tenant_id)) = (login, tenant) else {
            return Err(connection_error(
                id,
                "a client certificate needs the client id in `login` and the `tenantId` extra",
            ));
        };
        let credential = Credential::ClientCertificate {
            tenant_id: tenant_id.to_string(),
            client_id: client_id.to_string(),
            certificate,
        };
        let note = "Getting connection using a client certificate.";
        (credential, note.to_string())
    } else {
        if login.is_some() && password.is_some() {
            warnings.push(format!(
                    "connection `{id}` has login and password but no tenantId extra; they are ignored (as in Airflow) and DefaultAzureCredential is used"
                ));
        }
        // 5–6: DefaultAzureCredential.
        default_credential(extras, env, &mut endpoints, tenant)?
    };
    Ok(Choice::Ready(AuthSetup {
        credential,
        endpoints,
        subscription_id: subscription,
        notes: vec![note],
        warnings,
    }))
}

/// The auth file's authority and resource manager, unless extras override them.
fn apply_key_file_endpoints(kf: &KeyFile, extras: &Map<String, Value>, endpoints: &mut Endpoints) {
    if let (Some(a), None) = (&kf.authority, extra_str(extras, "authority_host")) {
        endpoints.authority = cloud::normalize_base(a);
    }
    if let Some(rm) = &kf.resource_manager {
        let rm = cloud::normalize_base(rm);
        endpoints.scope = format!("{rm}/.default");
        if extra_str(extras, "resource_manager_url").is_none() {
            endpoints.resource_manager = rm;
        }
    }
}

/// Step 4's certificate: extra `client_certificate` (PEM text), else extra
/// `client_certificate_path`.
fn certificate_source(extras: &Map<String, Value>) -> Option<CertificateSource> {
    extra_str(extras, "client_certificate")
        .map(|p| CertificateSource::Inline(Secret::new(p)))
        .or_else(|| {
            extra_str(extras, "client_certificate_path")
                .map(|p| CertificateSource::Path(p.to_string()))
        })
}

/// Airflow's `DefaultAzureCredential` fallback, as far as a sandboxed component can go:
/// workload identity when the host exposes a federated token file, else managed identity.
/// `fallback_tenant` is used for workload identity when neither the extra nor the
/// environment names a tenant. May set `endpoints.authority` from `AZURE_AUTHORITY_HOST`.
pub fn default_credential(
    extras: &Map<String, Value>,
    env: &dyn Fn(&str) -> Option<String>,
    endpoints: &mut Endpoints,
    fallback_tenant: Option<&str>,
) -> Result<(Credential, String), String> {
    let env = |k: &str| {
        env(k)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let mi_client = extra_str(extras, "managed_identity_client_id").map(String::from);
    if let Some(token_file) = env("AZURE_FEDERATED_TOKEN_FILE") {
        let client = mi_client.clone().or_else(|| env("AZURE_CLIENT_ID"));
        let tenant = extra_str(extras, "workload_identity_tenant_id")
            .map(String::from)
            .or_else(|| env("AZURE_TENANT_ID"))
            .or_else(|| fallback_tenant.map(String::from));
        if let (Some(client_id), Some(tenant_id)) = (client, tenant) {
            if extra_str(extras, "authority_host").is_none() {
                if let Some(a) = env("AZURE_AUTHORITY_HOST") {
                    endpoints.authority = cloud::normalize_base(&a);
                }
            }
            return Ok((
                Credential::WorkloadIdentity {
                    tenant_id,
                    client_id,
                    token_file,
                },
                "Using DefaultAzureCredential as credential (workload identity).".to_string(),
            ));
        }
        return Err(
            "AZURE_FEDERATED_TOKEN_FILE is set but the workload identity has no client id (extra managed_identity_client_id or AZURE_CLIENT_ID) or no tenant (extra workload_identity_tenant_id or AZURE_TENANT_ID)".to_string(),
        );
    }
    let client_id = mi_client.or_else(|| env("AZURE_CLIENT_ID"));
    Ok((
        Credential::ManagedIdentity { client_id },
        "Using DefaultAzureCredential as credential (managed identity).".to_string(),
    ))
}

/// The credential of a registry or volume connection (`DefaultAzureCredential` with the
/// connection's managed-identity extras), with its endpoints.
pub fn select_default(
    conn: &Connection,
    extras: &Map<String, Value>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<AuthSetup, String> {
    let (mut endpoints, warning) = cloud::resolve(extras);
    let tenant = extra_any(extras, &["tenantId", "tenant_id"]);
    let (credential, note) = default_credential(extras, env, &mut endpoints, tenant)
        .map_err(|e| connection_error(&conn.conn_id, e))?;
    Ok(AuthSetup {
        credential,
        endpoints,
        subscription_id: extra_any(extras, &["subscription_id", "subscriptionId"])
            .map(String::from),
        notes: vec![note],
        warnings: warning.into_iter().collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn conn(
        login: Option<&str>,
        password: Option<&str>,
        extra: Value,
    ) -> (Connection, Map<String, Value>) {
        let c = Connection {
            conn_id: "azure_container_instance_test".into(),
            conn_type: Some("azure_container_instance".into()),
            host: None,
            login: login.map(String::from),
            password: password.map(String::from),
            schema: None,
            port: None,
            extra: extra.to_string(),
        };
        (c, extra.as_object().unwrap().clone())
    }

    fn no_env(_: &str) -> Option<String> {
        None
    }

    fn no_files(p: &str) -> Result<Vec<u8>, String> {
        Err(format!("{p} not granted"))
    }

    const KEY: &str = r#"{"clientId":"file-client","clientSecret":"file-secret","tenantId":"file-tenant","subscriptionId":"file-sub",
        "resourceManagerEndpointUrl":"https://management.usgovcloudapi.net/","activeDirectoryEndpointUrl":"https://login.microsoftonline.us"}"#;

    #[test]
    fn airflow_client_secret_connection() {
        // TestAzureContainerInstanceHook's connection.
        let (c, e) = conn(
            Some("login"),
            Some("key"),
            json!({"tenantId": "63e85d06-62e4-11ee-8c99-0242ac120002", "subscriptionId": "63e85d06-62e4-11ee-8c99-0242ac120003"}),
        );
        let s = select(&c, &e, &no_env, &no_files).unwrap();
        assert_eq!(
            s.credential,
            Credential::ClientSecret {
                tenant_id: "63e85d06-62e4-11ee-8c99-0242ac120002".into(),
                client_id: "login".into(),
                secret: Secret::new("key"),
                source: "login/password",
            }
        );
        assert_eq!(
            s.subscription_id.as_deref(),
            Some("63e85d06-62e4-11ee-8c99-0242ac120003")
        );
        assert_eq!(
            s.notes,
            vec!["Getting connection using specific credentials and subscription_id."]
        );
        assert!(!format!("{s:?}").contains("\"key\""));
    }

    /// `test_get_conn_cloud_environment`: the client-secret credential gets the cloud's
    /// authority, the client the cloud's base URL and scope.
    #[test]
    fn cloud_environment_with_client_secret() {
        for (env, authority, base) in [
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
        ] {
            let mut extra = json!({"tenantId": "my-tenant", "subscriptionId": "my-subscription"});
            if let Some(env) = env {
                extra["cloud_environment"] = json!(env);
            }
            let (c, e) = conn(Some("my-client-id"), Some("my-secret"), extra);
            let s = select(&c, &e, &no_env, &no_files).unwrap();
            assert!(
                matches!(&s.credential, Credential::ClientSecret { client_id, tenant_id, .. }
                if client_id == "my-client-id" && tenant_id == "my-tenant")
            );
            assert_eq!(s.endpoints.authority, authority);
            assert_eq!(s.endpoints.resource_manager, base);
            assert_eq!(s.endpoints.scope, format!("{base}/.default"));
            assert_eq!(s.subscription_id.as_deref(), Some("my-subscription"));
        }
    }

    /// `test_get_conn_fallback_to_default_azure_credential`.
    #[test]
    fn fallback_to_default_credential() {
        let (c, e) = conn(None, None, json!({"subscriptionId": "subscription_id"}));
        let s = select(&c, &e, &no_env, &no_files).unwrap();
        assert_eq!(
            s.credential,
            Credential::ManagedIdentity { client_id: None }
        );
        assert_eq!(s.subscription_id.as_deref(), Some("subscription_id"));
        assert_eq!(s.endpoints.resource_manager, "https://management.azure.com");
        assert_eq!(s.endpoints.scope, "https://management.azure.com/.default");
        assert!(s.notes[0].starts_with("Using DefaultAzureCredential as credential"));
    }

    #[test]
    fn precedence_order() {
        let pem = include_str!("../../tests/data/test-client-cert.pem");
        let env_wi = |k: &str| match k {
            "AZURE_FEDERATED_TOKEN_FILE" => Some("/var/run/token".to_string()),
            "AZURE_CLIENT_ID" => Some("env-client".to_string()),
            "AZURE_TENANT_ID" => Some("env-tenant".to_string()),
            "AZURE_AUTHORITY_HOST" => Some("https://login.env.example/".to_string()),
            _ => None,
        };
        let files = |p: &str| {
            if p == "/keys/key.json" {
                Ok(KEY.as_bytes().to_vec())
            } else {
                Err("denied".to_string())
            }
        };
        let everything = json!({
            "key_path": "/keys/key.json", "key_json": KEY, "tenantId": "t", "subscriptionId": "s",
            "client_certificate": pem, "managed_identity_client_id": "mi-client",
        });
        let kind = |login: Option<&str>, password: Option<&str>, extra: &Value| {
            let (c, e) = conn(login, password, extra.clone());
            select(&c, &e, &env_wi, &files).map(|s| (s.credential.kind(), s))
        };
        let (k, s) = kind(Some("l"), Some("p"), &everything).unwrap();
        assert_eq!(k, "client secret");
        assert!(matches!(
            s.credential,
            Credential::ClientSecret {
                source: "key_path",
                ..
            }
        ));
        assert_eq!(s.subscription_id.as_deref(), Some("file-sub"));
        assert_eq!(
            s.endpoints.resource_manager,
            "https://management.usgovcloudapi.net"
        );
        assert_eq!(
            s.endpoints.scope,
            "https://management.usgovcloudapi.net/.default"
        );
        assert_eq!(s.endpoints.authority, "https://login.microsoftonline.us");

        let mut e = everything.clone();
        e.as_object_mut().unwrap().remove("key_path");
        let (_, s) = kind(Some("l"), Some("p"), &e).unwrap();
        assert!(matches!(
            s.credential,
            Credential::ClientSecret {
                source: "key_json",
                ..
            }
        ));
        assert_eq!(s.notes, vec!["Getting connection using a JSON config."]);

        e.as_object_mut().unwrap().remove("key_json");
        let (_, s) = kind(Some("l"), Some("p"), &e).unwrap();
        assert!(matches!(
            s.credential,
            Credential::ClientSecret {
                source: "login/password",
                ..
            }
        ));

        let (k, s) = kind(Some("l"), None, &e).unwrap();
        assert_eq!(k, "client certificate");
        assert!(matches!(
            s.credential,
            Credential::ClientCertificate {
                certificate: CertificateSource::Inline(_),
                ..
            }
        ));
        assert!(!format!("{s:?}").contains("PRIVATE KEY"));

        e.as_object_mut().unwrap().remove("client_certificate");
        let (_, s) = kind(Some("l"), None, &e).unwrap();
        assert_eq!(
            s.credential,
            Credential::WorkloadIdentity {
                tenant_id: "env-tenant".into(),
                client_id: "mi-client".into(),
                token_file: "/var/run/token".into()
            }
        );
        assert_eq!(s.endpoints.authority, "https://login.env.example");

        let (c, e2) = conn(None, None, e.clone());
        let s = select(&c, &e2, &no_env, &files).unwrap();
        assert_eq!(
            s.credential,
            Credential::ManagedIdentity {
                client_id: Some("mi-client".into())
            }
        );
    }

    #[test]
    fn workload_identity_overrides() {
        let env = |k: &str| match k {
            "AZURE_FEDERATED_TOKEN_FILE" => Some("/t".to_string()),
            "AZURE_CLIENT_ID" => Some("env-client".to_string()),
            "AZURE_TENANT_ID" => Some("env-tenant".to_string()),
            "AZURE_AUTHORITY_HOST" => Some("https://login.env.example".to_string()),
            _ => None,
        };
        let (c, e) = conn(
            None,
            None,
            json!({"workload_identity_tenant_id": "x-tenant", "authority_host": "http://127.0.0.1:9"}),
        );
        let s = select(&c, &e, &env, &no_files).unwrap();
        assert_eq!(
            s.credential,
            Credential::WorkloadIdentity {
                tenant_id: "x-tenant".into(),
                client_id: "env-client".into(),
                token_file: "/t".into()
            }
        );
        assert_eq!(s.endpoints.authority, "http://127.0.0.1:9");
        // Token file without a client id is a clear error.
        let env2 = |k: &str| (k == "AZURE_FEDERATED_TOKEN_FILE").then(|| "/t".to_string());
        let (c, e) = conn(None, None, json!({}));
        assert!(select(&c, &e, &env2, &no_files)
            .unwrap_err()
            .contains("no client id"));
    }

    #[test]
    fn managed_identity_client_id_from_env() {
        let env = |k: &str| (k == "AZURE_CLIENT_ID").then(|| "env-mi".to_string());
        let (c, e) = conn(None, None, json!({"subscriptionId": "s"}));
        let s = select(&c, &e, &env, &no_files).unwrap();
        assert_eq!(
            s.credential,
            Credential::ManagedIdentity {
                client_id: Some("env-mi".into())
            }
        );
    }

    #[test]
    fn key_path_rules() {
        let (c, e) = conn(None, None, json!({"key_path": "/keys/key.yaml"}));
        assert_eq!(
            select(&c, &e, &no_env, &no_files).unwrap_err(),
            "connection `azure_container_instance_test`: Unrecognised extension for key file."
        );
        let (c, e) = conn(None, None, json!({"key_path": "/keys/key.json"}));
        let err = select(&c, &e, &no_env, &no_files).unwrap_err();
        assert!(
            err.contains("cannot read key_path `/keys/key.json`"),
            "{err}"
        );
        let files = |_: &str| Ok(br#"{"clientId":"c","tenantId":"t"}"#.to_vec());
        let err = select(&c, &e, &no_env, &files).unwrap_err();
        assert!(err.contains("has no `clientSecret`"), "{err}");
        // Extras override the file's endpoints (emulator / private cloud).
        let files = |_: &str| Ok(KEY.as_bytes().to_vec());
        let (c, e) = conn(
            None,
            None,
            json!({"key_path": "/k.json", "resource_manager_url": "http://127.0.0.1:1", "authority_host": "http://127.0.0.1:1"}),
        );
        let s = select(&c, &e, &no_env, &files).unwrap();
        assert_eq!(s.endpoints.resource_manager, "http://127.0.0.1:1");
        assert_eq!(s.endpoints.authority, "http://127.0.0.1:1");
        assert_eq!(
            s.endpoints.scope,
            "https://management.usgovcloudapi.net/.default"
        );
    }

    #[test]
    fn certificate_needs_login_and_tenant() {
        let (c, e) = conn(
            None,
            None,
            json!({"client_certificate_path": "/c.pem", "tenantId": "t"}),
        );
        assert!(select(&c, &e, &no_env, &no_files)
            .unwrap_err()
            .contains("client id in `login`"));
        let (c, e) = conn(
            Some("cid"),
            None,
            json!({"client_certificate_path": "/c.pem", "tenantId": "t"}),
        );
        let s = select(&c, &e, &no_env, &no_files).unwrap();
        assert_eq!(
            s.credential,
            Credential::ClientCertificate {
                tenant_id: "t".into(),
                client_id: "cid".into(),
                certificate: CertificateSource::Path("/c.pem".into())
            }
        );
    }

    #[test]
    fn login_password_without_tenant_warns() {
        let (c, e) = conn(Some("l"), Some("p"), json!({"subscriptionId": "s"}));
        let s = select(&c, &e, &no_env, &no_files).unwrap();
        assert_eq!(s.credential.kind(), "managed identity");
        assert!(s.warnings[0].contains("no tenantId"));
    }

    #[test]
    fn registry_default_credential_ignores_login_password() {
        let (c, e) = conn(
            Some("myreg"),
            Some(""),
            json!({"subscription_id": "sub", "resource_group": "rg", "managed_identity_client_id": "mi"}),
        );
        let s = select_default(&c, &e, &no_env).unwrap();
        assert_eq!(
            s.credential,
            Credential::ManagedIdentity {
                client_id: Some("mi".into())
            }
        );
        assert_eq!(s.subscription_id.as_deref(), Some("sub"));
    }
}
