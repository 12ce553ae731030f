//! Which values are secrets: sensitive key names (Airflow's rule), private
//! keys by their content, and the key parts of connection strings.

/// Substrings that make a key name sensitive (compared case-insensitively).
///
/// Airflow's `DEFAULT_SENSITIVE_FIELDS` plus the Azure key names this host
/// deals with (`AccountKey`, `workspaceKey`, `connection_string`, ...).
const SENSITIVE_KEY_PARTS: &[&str] = &[
    // Airflow's defaults.
    "access_token",
    "api_key",
    "apikey",
    "authorization",
    "passphrase",
    "passwd",
    "password",
    "private_key",
    "secret",
    "token",
    "keyfile_dict",
    "service_account",
    // Azure and friends.
    "privatekey",
    "accountkey",
    "account_key",
    "workspacekey",
    "workspace_key",
    "sharedaccesskey",
    "shared_access_key",
    "sharedaccesssignature",
    "connection_string",
    "connectionstring",
    "credential",
];

/// Key names (lowercase) of connection-string segments whose value is a secret.
const CONNECTION_STRING_SECRET_PARTS: &[&str] = &[
    "accountkey",
    "sharedaccesskey",
    "sharedaccesssignature",
    "password",
    "pwd",
];

/// True when a key with this name holds a secret (Airflow's rule: the
/// lowercase name contains one of the sensitive words, e.g. `password`,
/// `secret`, `token`, `api_key`, plus Azure's `AccountKey`, `workspaceKey`,
/// `connection_string`).
pub fn is_sensitive_key(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    SENSITIVE_KEY_PARTS.iter().any(|part| lower.contains(part))
}

/// True when `value` holds a PEM private key (`-----BEGIN … PRIVATE KEY-----`,
/// e.g. the `client_certificate` extra): a secret whatever its key is named.
pub fn looks_like_private_key(value: &str) -> bool {
    value.contains("-----BEGIN") && value.contains("PRIVATE KEY-----")
}

/// Collects the secrets inside a JSON document: every string (or number)
/// stored under a sensitive key (see [`is_sensitive_key`]), at any depth,
/// every string holding a PEM private key, and the key parts of connection
/// strings (`AccountKey=...`, `SharedAccessSignature=...`). Strings that hold
/// a JSON object (such as an Airflow `key_json` extra given as text) are
/// searched too. (The extras an operator declares secret are added by the
/// host from its description: [`crate::Connection::declared_secrets`].)
pub fn secrets_in_json(value: &serde_json::Value, out: &mut Vec<String>) {
    collect_secrets(None, value, false, out, 0);
}

/// Depth bound for [`secrets_in_json`]; deeper documents are not searched
/// further (serde_json itself refuses documents deeper than 128).
const MAX_DEPTH: usize = 64;

fn collect_secrets(
    key: Option<&str>,
    value: &serde_json::Value,
    inherited: bool,
    out: &mut Vec<String>,
    depth: usize,
) {
    if depth > MAX_DEPTH {
        return;
    }
    let sensitive = inherited || key.is_some_and(is_sensitive_key);
    match value {
        serde_json::Value::String(s) => {
            if key.is_some_and(is_connection_string_key) {
                out.extend(connection_string_secrets(s));
            }
            if sensitive || looks_like_private_key(s) {
                out.push(s.clone());
            } else if s.trim_start().starts_with('{') {
                if let Ok(inner @ serde_json::Value::Object(_)) = serde_json::from_str(s) {
                    collect_secrets(None, &inner, false, out, depth + 1);
                }
            }
        }
        serde_json::Value::Number(n) if sensitive => out.push(n.to_string()),
        serde_json::Value::Array(items) => {
            for item in items {
                collect_secrets(None, item, sensitive, out, depth + 1);
            }
        }
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                collect_secrets(Some(k), v, sensitive, out, depth + 1);
            }
        }
        _ => {}
    }
}

fn is_connection_string_key(key: &str) -> bool {
    let lower = key.to_ascii_lowercase();
    lower.contains("connection_string") || lower.contains("connectionstring")
}

/// The secret values of an Azure-style connection string
/// (`DefaultEndpointsProtocol=https;AccountName=a;AccountKey=SECRET;...`).
pub fn connection_string_secrets(connection_string: &str) -> Vec<String> {
    connection_string
        .split(';')
        .filter_map(|segment| segment.split_once('='))
        .filter(|(name, _)| {
            let name = name.trim().to_ascii_lowercase();
            CONNECTION_STRING_SECRET_PARTS.contains(&name.as_str())
        })
        .map(|(_, value)| value.trim().to_string())
        .filter(|value| !value.is_empty())
        .collect()
}
