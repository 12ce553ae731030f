//! Connections as a plugin's `plan` sees them, and the secret extras an
//! operator declares.
//!
//! An operator names the extras that hold secrets (`secret-extras` in its
//! description): a field (`connection_string`: its whole value) or `field.key`
//! for one key of a field that holds a JSON object, or a string with a JSON
//! object (`key_json.clientSecret`). The host masks their values like
//! passwords ([`Connection::declared_secrets`]) and hides them from `plan`
//! ([`Connection::redacted`]), keeping their presence: a plan decides which
//! credential applies, never what it is.

use serde_json::Value;

use crate::mask::MASK;
use crate::Connection;

/// One declared secret extra: a field, and optionally a key inside it.
fn split(entry: &str) -> (&str, Option<&str>) {
    match entry.split_once('.') {
        Some((field, key)) => (field, Some(key)),
        None => (entry, None),
    }
}

/// Whether a value is there at all (a redacted value keeps this).
fn present(v: &Value) -> bool {
    !v.is_null() && v.as_str() != Some("")
}

/// Every string inside `v` (for masking a secret object).
fn strings(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Number(n) => out.push(n.to_string()),
        Value::Array(items) => items.iter().for_each(|i| strings(i, out)),
        Value::Object(map) => map.values().for_each(|i| strings(i, out)),
        _ => {}
    }
}

/// Applies `f` to the object a field holds, directly or as JSON text
/// (rewritten as text afterwards).
fn with_object(field: &mut Value, f: impl FnOnce(&mut serde_json::Map<String, Value>)) {
    match field {
        Value::Object(map) => f(map),
        Value::String(text) => {
            if let Ok(Value::Object(mut map)) = serde_json::from_str::<Value>(text) {
                f(&mut map);
                *text = Value::Object(map).to_string();
            }
        }
        _ => {}
    }
}

impl Connection {
    /// The values of the declared secret extras that this connection has.
    pub fn declared_secrets(&self, secret_extras: &[String]) -> Vec<String> {
        let mut out = Vec::new();
        for entry in secret_extras {
            let (field, key) = split(entry);
            let Some(value) = self.extra.get(field) else {
                continue;
            };
            match key {
                None => strings(value, &mut out),
                Some(key) => {
                    let mut copy = value.clone();
                    with_object(&mut copy, |map| {
                        if let Some(v) = map.get(key) {
                            strings(v, &mut out);
                        }
                    });
                }
            }
        }
        out.retain(|s| !s.is_empty());
        out
    }

    /// The connection as a plan sees it: the password, the declared secret
    /// extras and every value the host itself knows to be secret (see
    /// [`Connection::redacted_extra`]) replaced by `***`, their presence kept.
    pub fn redacted(&self, secret_extras: &[String]) -> Connection {
        let mut extra = match self.redacted_extra() {
            Value::Object(map) => map,
            _ => serde_json::Map::new(),
        };
        for entry in secret_extras {
            let (field, key) = split(entry);
            let Some(value) = extra.get_mut(field) else {
                continue;
            };
            match key {
                None if present(value) => *value = Value::String(MASK.into()),
                None => {}
                Some(key) => with_object(value, |map| {
                    if let Some(v) = map.get_mut(key).filter(|v| present(v)) {
                        *v = Value::String(MASK.into());
                    }
                }),
            }
        }
        Connection {
            password: self
                .password
                .as_ref()
                .filter(|p| !p.is_empty())
                .map(|_| MASK.to_string()),
            extra,
            ..self.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn declared() -> Vec<String> {
        [
            "client_certificate",
            "connection_string",
            "key_json.clientSecret",
        ]
        .map(String::from)
        .to_vec()
    }

    fn conn(extra: Value) -> Connection {
        let mut c = Connection::new("c", "generic");
        c.login = Some("user".into());
        c.password = Some("pass-word-1".into());
        c.host = Some("db.example".into());
        c.extra = extra.as_object().unwrap().clone();
        c
    }

    #[test]
    fn plan_sees_presence_not_secrets() {
        let c = conn(json!({
            "client_certificate": "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----",
            "unrelated_pem": "",
            "key_json": {"clientId": "cid", "clientSecret": "kj-secret-1", "resourceManagerEndpointUrl": "https://arm.example/"},
            "region": "north",
        }));
        let r = c.redacted(&declared());
        assert_eq!(r.password.as_deref(), Some("***"));
        assert_eq!(
            (r.login.as_deref(), r.host.as_deref()),
            (Some("user"), Some("db.example"))
        );
        assert_eq!(r.extra["client_certificate"], "***");
        assert_eq!(r.extra["key_json"]["clientSecret"], "***");
        assert_eq!(r.extra["key_json"]["clientId"], "cid");
        assert_eq!(
            r.extra["key_json"]["resourceManagerEndpointUrl"],
            "https://arm.example/"
        );
        assert_eq!(r.extra["region"], "north");
        assert_eq!(r.extra["unrelated_pem"], "");
        let text = format!("{:?} {}", r.password, Value::Object(r.extra.clone()));
        for secret in ["pass-word-1", "kj-secret-1", "PRIVATE KEY"] {
            assert!(!text.contains(secret), "{text}");
        }
        // Absent stays absent: no password, no connection string.
        let mut c = conn(json!({}));
        c.password = None;
        let r = c.redacted(&declared());
        assert_eq!(r.password, None);
        assert!(r.extra.get("connection_string").is_none());
    }

    #[test]
    fn a_field_holding_json_text_is_redacted_inside() {
        let kj = json!({"clientId": "cid", "clientSecret": "kj-secret-2"}).to_string();
        let c = conn(
            json!({"key_json": kj, "connection_string": "AccountName=a;AccountKey=k3y-value"}),
        );
        let r = c.redacted(&declared());
        let inner: Value = serde_json::from_str(r.extra["key_json"].as_str().unwrap()).unwrap();
        assert_eq!(inner, json!({"clientId": "cid", "clientSecret": "***"}));
        assert_eq!(r.extra["connection_string"], "***");
        let mut secrets = c.declared_secrets(&declared());
        secrets.sort();
        assert_eq!(
            secrets,
            ["AccountName=a;AccountKey=k3y-value", "kj-secret-2"]
        );
    }
}
