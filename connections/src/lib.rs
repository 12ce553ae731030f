//! Airflow connections: the model, its URI and JSON forms, which of its
//! values are secrets, and the masker that hides them.
//!
//! A [`Connection`] is Airflow's connection model (`conn_type`, `host`,
//! `login`, `password`, `schema`, `port`, `extra`). It can be written as an
//! Airflow URI ([`Connection::from_uri`]) or as Airflow's JSON form
//! ([`Connection::from_json`]); [`Connection::from_uri_or_json`] reads what an
//! `AIRFLOW_CONN_<ID>` variable ([`env_var_name`]) holds.
//!
//! Pure Rust with no I/O, shared by every host of the workspace: `aci-host`
//! (which adds its resolver, files and precedence) and the `wasi:cli`
//! adapter component (which reads `AIRFLOW_CONN_*` and also serves the Node
//! host).
//!
//! # Normalisation
//!
//! Empty strings (`azure://:@`) become `None`, as Airflow treats empty and
//! missing values alike. The connection type's `-` become `_` and
//! `postgresql` becomes `postgres`, as in Airflow. `extra` is always a JSON
//! object; extras given as a JSON string are parsed.
//!
//! # Secrets
//!
//! [`Connection`]'s `Debug` never prints the password or secret extras, and
//! no error message of this crate contains a URI, a password or an extra
//! value. [`Connection::secrets`] lists what a host must mask, [`mask`] masks
//! it, and [`Connection::redacted`] is the connection as a plugin's `plan`
//! sees it.

#![deny(missing_docs)]

pub mod json;
pub mod mask;
mod redact;
mod secured;
mod uri;

pub use secured::secured_values;

use std::fmt;
use std::path::PathBuf;

/// A connection as Airflow stores it.
#[derive(Clone, PartialEq, Eq)]
pub struct Connection {
    /// The connection's id (`azure_default`, `postgres_default`, ...).
    pub conn_id: String,
    /// The connection type (the URI scheme), normalised as Airflow does.
    pub conn_type: Option<String>,
    /// Host name; for a host written with a protocol, `protocol://host`.
    pub host: Option<String>,
    /// Login (a client id, a user name or a storage account name).
    pub login: Option<String>,
    /// Password or secret.
    pub password: Option<String>,
    /// Schema (the URI path without its leading `/`).
    pub schema: Option<String>,
    /// Port.
    pub port: Option<u16>,
    /// Extras as a JSON object.
    pub extra: serde_json::Map<String, serde_json::Value>,
}

impl Connection {
    /// A connection with only an id and a type.
    pub fn new(conn_id: impl Into<String>, conn_type: impl Into<String>) -> Self {
        Connection {
            conn_id: conn_id.into(),
            conn_type: Some(normalize_conn_type(&conn_type.into())),
            host: None,
            login: None,
            password: None,
            schema: None,
            port: None,
            extra: serde_json::Map::new(),
        }
    }

    /// Parses an Airflow connection URI, exactly as Airflow's
    /// `Connection(uri=...)` does, e.g.
    /// `azure://CLIENT_ID:SECRET@?tenantId=T&subscriptionId=S`.
    ///
    /// - the scheme is the connection type;
    /// - user info, host and path (the schema) are percent-decoded (`+` stays
    ///   `+`); the host is lower-cased unless it contains an encoded `/`;
    /// - `[v6::address]` hosts lose their brackets;
    /// - query parameters become string extras (`+` is a space there), except
    ///   `__extra__`, whose value is the whole extra as a JSON object;
    /// - `type://protocol://host` keeps `protocol://host` as the host.
    pub fn from_uri(conn_id: &str, uri: &str) -> Result<Connection, ConnectionError> {
        uri::parse(conn_id, uri).map_err(|reason| ConnectionError::Invalid {
            conn_id: conn_id.to_string(),
            origin: None,
            reason,
        })
    }

    /// Parses Airflow's JSON form of a connection:
    /// `{"conn_type": .., "login": .., "password": .., "host": .., "port": ..,
    /// "schema": .., "extra": {..} or "<json string>"}` (also `description`,
    /// ignored, `uri`, alone, and `extra_dejson`, instead of `extra`).
    pub fn from_json(conn_id: &str, json: &str) -> Result<Connection, ConnectionError> {
        json::from_json_text(conn_id, json).map_err(|reason| ConnectionError::Invalid {
            conn_id: conn_id.to_string(),
            origin: None,
            reason,
        })
    }

    /// Parses either form: Airflow's JSON form when the text starts with `{`,
    /// otherwise a URI (Airflow's rule for environment variables and secrets
    /// backends).
    pub fn from_uri_or_json(conn_id: &str, text: &str) -> Result<Connection, ConnectionError> {
        if text.trim_start().starts_with('{') {
            Self::from_json(conn_id, text)
        } else {
            Self::from_uri(conn_id, text)
        }
    }

    /// The extras as a JSON object string (`{}` when there are none), the
    /// form the WIT `connection` record carries.
    pub fn extra_json(&self) -> String {
        serde_json::Value::Object(self.extra.clone()).to_string()
    }

    /// Every secret this connection holds, for masking: the password, extras
    /// under sensitive names (`client_secret`, `key_json.clientSecret`,
    /// `workspaceKey`, ...; see [`mask::is_sensitive_key`]), and the
    /// keys inside `connection_string` extras (`AccountKey=...`).
    /// Extras holding a PEM private key (`client_certificate`) count too.
    pub fn secrets(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(password) = &self.password {
            out.push(password.clone());
        }
        mask::secrets_in_json(&serde_json::Value::Object(self.extra.clone()), &mut out);
        out.retain(|s| !s.is_empty());
        out.sort();
        out.dedup();
        out
    }

    /// The extras with every secret value replaced by `***`.
    pub fn redacted_extra(&self) -> serde_json::Value {
        let masker = mask::Masker::new();
        masker.add_all(self.secrets());
        redact_sensitive(&serde_json::Value::Object(self.extra.clone()), &masker)
    }
}

/// Replaces values under sensitive keys by `***` whatever their length, and
/// masks known secrets elsewhere.
fn redact_sensitive(value: &serde_json::Value, masker: &mask::Masker) -> serde_json::Value {
    use serde_json::Value;
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let v = if mask::is_sensitive_key(k) && !v.is_object() && !v.is_array() {
                        Value::String(mask::MASK.to_string())
                    } else {
                        redact_sensitive(v, masker)
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        Value::Array(items) => {
            Value::Array(items.iter().map(|v| redact_sensitive(v, masker)).collect())
        }
        other => masker.mask_json(other),
    }
}

impl fmt::Debug for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connection")
            .field("conn_id", &self.conn_id)
            .field("conn_type", &self.conn_type)
            .field("host", &self.host)
            .field("login", &self.login)
            .field("password", &self.password.as_ref().map(|_| mask::MASK))
            .field("schema", &self.schema)
            .field("port", &self.port)
            .field("extra", &format_args!("{}", self.redacted_extra()))
            .finish()
    }
}

/// Airflow's `_normalize_conn_type`: `postgresql` is `postgres`, `-` is `_`.
pub fn normalize_conn_type(conn_type: &str) -> String {
    if conn_type == "postgresql" {
        "postgres".to_string()
    } else {
        conn_type.replace('-', "_")
    }
}

/// The environment variable Airflow reads for a connection id:
/// `AIRFLOW_CONN_` followed by the id in upper case.
pub fn env_var_name(conn_id: &str) -> String {
    format!("{ENV_PREFIX}{}", conn_id.to_uppercase())
}

/// Prefix of connection environment variables.
pub const ENV_PREFIX: &str = "AIRFLOW_CONN_";

/// Why a connection could not be parsed or found. No variant's message
/// contains a URI, a password or an extra value.
#[derive(Debug)]
pub enum ConnectionError {
    /// A connection's definition is malformed.
    Invalid {
        /// The connection's id.
        conn_id: String,
        /// Where the definition came from (`environment variable AIRFLOW_CONN_X`),
        /// when known.
        origin: Option<String>,
        /// What is wrong with it.
        reason: String,
    },
    /// A `--conn` option is malformed.
    BadOption {
        /// What is wrong with it.
        reason: String,
    },
    /// A connections file could not be read or parsed.
    File {
        /// The file.
        path: PathBuf,
        /// What went wrong (with line and column when the parser gave them).
        reason: String,
    },
    /// No source defines the connection.
    NotFound {
        /// The connection id that was asked for.
        conn_id: String,
        /// Every place the resolver looked, highest precedence first.
        looked: Vec<String>,
    },
}

impl ConnectionError {
    /// Sets where an [`ConnectionError::Invalid`] definition came from.
    pub fn with_origin(self, origin: impl Into<String>) -> Self {
        match self {
            ConnectionError::Invalid {
                conn_id, reason, ..
            } => ConnectionError::Invalid {
                conn_id,
                origin: Some(origin.into()),
                reason,
            },
            other => other,
        }
    }
}

impl fmt::Display for ConnectionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConnectionError::Invalid {
                conn_id,
                origin,
                reason,
            } => {
                write!(f, "connection `{conn_id}`")?;
                if let Some(origin) = origin {
                    write!(f, " (from {origin})")?;
                }
                write!(f, " is invalid: {reason}")
            }
            ConnectionError::BadOption { reason } => write!(f, "invalid --conn option: {reason}"),
            ConnectionError::File { path, reason } => {
                write!(f, "connections file {}: {reason}", path.display())
            }
            ConnectionError::NotFound { conn_id, looked } => {
                write!(f, "connection `{conn_id}` is not defined; looked in")?;
                if looked.is_empty() {
                    return write!(f, " nothing (no connection source is configured)");
                }
                for (i, place) in looked.iter().enumerate() {
                    write!(f, "{} {}. {place}", if i == 0 { "" } else { ";" }, i + 1)?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for ConnectionError {}

#[cfg(test)]
mod proptests;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn debug_hides_password_and_secret_extras() {
        let mut c = Connection::from_uri(
            "x",
            "azure://client:very-secret-pw@?tenantId=tenant-1&client_secret=cs-value-1",
        )
        .unwrap();
        c.extra.insert(
            "key_json".into(),
            json!({"clientId": "cid", "clientSecret": "kj-secret-1"}),
        );
        c.extra.insert(
            "connection_string".into(),
            json!("AccountName=acct;AccountKey=ak-secret-1"),
        );
        let dbg = format!("{c:?}");
        for secret in ["very-secret-pw", "cs-value-1", "kj-secret-1", "ak-secret-1"] {
            assert!(!dbg.contains(secret), "{secret} leaked in {dbg}");
        }
        assert!(dbg.contains("tenant-1") && dbg.contains("client") && dbg.contains("cid"));
    }

    #[test]
    fn secrets_lists_password_and_sensitive_extras() {
        let c = Connection::from_json(
            "x",
            r#"{"conn_type":"wasb","login":"acct","password":"pw-123456",
                "extra":{"connection_string":"AccountName=acct;AccountKey=key-abc==",
                         "workspaceKey":"ws-key-1","subscription_id":"sub"}}"#,
        )
        .unwrap();
        let s = c.secrets();
        for want in ["pw-123456", "key-abc==", "ws-key-1"] {
            assert!(s.iter().any(|x| x == want), "{want} not in {s:?}");
        }
        assert!(!s.iter().any(|x| x == "sub" || x == "acct"));
    }

    #[test]
    fn not_found_lists_places_in_order() {
        let e = ConnectionError::NotFound {
            conn_id: "db".into(),
            looked: vec![
                "--conn options".into(),
                "environment variable AIRFLOW_CONN_DB (not set)".into(),
            ],
        };
        assert_eq!(
            e.to_string(),
            "connection `db` is not defined; looked in 1. --conn options; 2. environment variable AIRFLOW_CONN_DB (not set)"
        );
    }

    #[test]
    fn normalizes_conn_types() {
        assert_eq!(normalize_conn_type("postgresql"), "postgres");
        assert_eq!(
            normalize_conn_type("google-cloud-platform"),
            "google_cloud_platform"
        );
        assert_eq!(
            normalize_conn_type("azure_container_instance"),
            "azure_container_instance"
        );
        assert_eq!(env_var_name("azure_default"), "AIRFLOW_CONN_AZURE_DEFAULT");
    }

    #[test]
    fn extra_json_is_an_object() {
        let c = Connection::new("a", "azure");
        assert_eq!(c.extra_json(), "{}");
    }
}
