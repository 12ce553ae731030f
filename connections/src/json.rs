//! Airflow's JSON form of a connection (`Connection.from_json`, and the
//! objects of `airflow connections export` and the local-filesystem secrets
//! backend). [`Connection::from_json`] is the usual entry point; the
//! functions here serve readers of whole connections files.
//!
//! Error reasons name keys and types, never values.

use serde_json::{Map, Value};

use crate::{normalize_conn_type, Connection};

/// The keys Airflow's `Connection(...)` accepts, plus `extra_dejson`.
const KEYS: &[&str] = &[
    "conn_id",
    "conn_type",
    "description",
    "host",
    "login",
    "password",
    "schema",
    "port",
    "extra",
    "extra_dejson",
    "uri",
];

/// Parses the JSON text of one connection.
pub(crate) fn from_json_text(conn_id: &str, text: &str) -> Result<Connection, String> {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(map)) => from_object(conn_id, &map),
        Ok(other) => Err(format!("expected a JSON object, found {}", kind(&other))),
        Err(e) => Err(format!(
            "not valid JSON: {} (line {} column {})",
            json_error_class(&e),
            e.line(),
            e.column()
        )),
    }
}

/// A serde_json error's class, without the snippet of input some messages
/// quote.
pub fn json_error_class(e: &serde_json::Error) -> &'static str {
    match e.classify() {
        serde_json::error::Category::Io => "read error",
        serde_json::error::Category::Syntax => "syntax error",
        serde_json::error::Category::Data => "unexpected data",
        serde_json::error::Category::Eof => "unexpected end of input",
    }
}

/// Builds a connection named `conn_id` from Airflow's JSON object form; the
/// error names keys and types, never values.
pub fn from_object(conn_id: &str, map: &Map<String, Value>) -> Result<Connection, String> {
    let unknown: Vec<&str> = map
        .keys()
        .map(String::as_str)
        .filter(|k| !KEYS.contains(k))
        .collect();
    if !unknown.is_empty() {
        return Err(format!(
            "unknown key{} {}; a connection object may only have {}",
            if unknown.len() > 1 { "s" } else { "" },
            quote_list(&unknown),
            quote_list(KEYS)
        ));
    }
    if let Some(id) = map.get("conn_id") {
        match id {
            Value::String(id) if id == conn_id => {}
            Value::Null => {}
            Value::String(other) => {
                return Err(format!("its `conn_id` is `{other}`, not `{conn_id}`"));
            }
            other => return Err(format!("`conn_id` must be a string, found {}", kind(other))),
        }
    }

    if let Some(uri) = map.get("uri").filter(|v| !v.is_null()) {
        let uri = uri.as_str().ok_or("`uri` must be a string")?;
        let others: Vec<&str> = map
            .iter()
            .filter(|(k, v)| {
                !matches!(k.as_str(), "uri" | "conn_id" | "description") && !v.is_null()
            })
            .map(|(k, _)| k.as_str())
            .collect();
        if !others.is_empty() {
            return Err(format!(
                "give either `uri` or the individual fields, not both (also has {})",
                quote_list(&others)
            ));
        }
        return crate::uri::parse(conn_id, uri);
    }

    if map.get("extra").is_some_and(|v| !v.is_null())
        && map.get("extra_dejson").is_some_and(|v| !v.is_null())
    {
        return Err("`extra` and `extra_dejson` are mutually exclusive".into());
    }
    let extra = match (map.get("extra"), map.get("extra_dejson")) {
        (Some(v), _) if !v.is_null() => parse_extra(v, "extra")?,
        (_, Some(v)) if !v.is_null() => parse_extra(v, "extra_dejson")?,
        _ => Map::new(),
    };

    Ok(Connection {
        conn_id: conn_id.to_string(),
        conn_type: string_field(map, "conn_type")?.map(|t| normalize_conn_type(&t)),
        host: string_field(map, "host")?,
        login: string_field(map, "login")?,
        password: string_field(map, "password")?,
        schema: string_field(map, "schema")?,
        port: port_field(map)?,
        extra,
    })
}

/// An extra given as an object, or as a string holding a JSON object.
fn parse_extra(value: &Value, key: &str) -> Result<Map<String, Value>, String> {
    match value {
        Value::Object(map) => Ok(map.clone()),
        Value::String(s) if s.trim().is_empty() => Ok(Map::new()),
        Value::String(s) => match serde_json::from_str::<Value>(s) {
            Ok(Value::Object(map)) => Ok(map),
            Ok(other) => Err(format!(
                "`{key}` must be a JSON object, found {}",
                kind(&other)
            )),
            Err(e) => Err(format!(
                "`{key}` is a string that is not valid JSON: {} (line {} column {})",
                json_error_class(&e),
                e.line(),
                e.column()
            )),
        },
        other => Err(format!(
            "`{key}` must be an object or a JSON string, found {}",
            kind(other)
        )),
    }
}

/// A string field; empty strings and `null` are `None`. Numbers and booleans
/// are accepted as their text (YAML writes `login: 1234` unquoted).
fn string_field(map: &Map<String, Value>, key: &str) -> Result<Option<String>, String> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(Value::Bool(b)) => Ok(Some(if *b { "True" } else { "False" }.to_string())),
        Some(other) => Err(format!("`{key}` must be a string, found {}", kind(other))),
    }
}

/// Airflow's `int(port)`; `0`, `""` and `null` mean no port.
fn port_field(map: &Map<String, Value>) -> Result<Option<u16>, String> {
    let bad =
        |shown: &str| format!("expected an integer from 1 to 65535 for `port`, found {shown}");
    match map.get("port") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => match n.as_u64() {
            Some(0) => Ok(None),
            Some(p) if p <= u16::MAX as u64 => Ok(Some(p as u16)),
            _ => Err(bad(&n.to_string())),
        },
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => match s.trim().parse::<u64>() {
            Ok(0) => Ok(None),
            Ok(p) if p <= u16::MAX as u64 => Ok(Some(p as u16)),
            _ => Err(bad(&format!("{s:?}"))),
        },
        Some(other) => Err(bad(kind(other))),
    }
}

/// A JSON value's kind (`a string`, `a list`, ...), for messages that must
/// not show the value.
pub fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

fn quote_list(items: &[&str]) -> String {
    items
        .iter()
        .map(|k| format!("`{k}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn p(text: &str) -> Connection {
        Connection::from_json("c", text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    fn err(text: &str) -> String {
        Connection::from_json("c", text).unwrap_err().to_string()
    }

    #[test]
    fn full_json_form_with_object_extra() {
        let c = p(
            r#"{"conn_type": "azure-container-instance", "login": "id", "password": "pw",
                      "host": "h", "port": 443, "schema": "s",
                      "extra": {"tenantId": "t", "subscriptionId": "s", "n": 1}}"#,
        );
        assert_eq!(c.conn_type.as_deref(), Some("azure_container_instance"));
        assert_eq!(c.login.as_deref(), Some("id"));
        assert_eq!(c.password.as_deref(), Some("pw"));
        assert_eq!(c.host.as_deref(), Some("h"));
        assert_eq!(c.port, Some(443));
        assert_eq!(c.schema.as_deref(), Some("s"));
        assert_eq!(
            serde_json::Value::Object(c.extra),
            json!({"tenantId": "t", "subscriptionId": "s", "n": 1})
        );
    }

    #[test]
    fn extra_as_json_string_and_extra_dejson() {
        let c =
            p(r#"{"conn_type": "wasb", "extra": "{\"connection_string\": \"a=b;AccountKey=1\"}"}"#);
        assert_eq!(c.extra["connection_string"], json!("a=b;AccountKey=1"));
        let c = p(r#"{"conn_type": "wasb", "extra_dejson": {"k": "v"}}"#);
        assert_eq!(c.extra["k"], json!("v"));
        let c = p(r#"{"conn_type": "wasb", "extra": ""}"#);
        assert!(c.extra.is_empty());
        assert!(err(r#"{"extra": {}, "extra_dejson": {}}"#).contains("mutually exclusive"));
        assert!(err(r#"{"extra": "[1]"}"#).contains("must be a JSON object"));
        assert!(err(r#"{"extra": "{oops"}"#).contains("not valid JSON"));
        assert!(err(r#"{"extra": 5}"#).contains("found a number"));
    }

    #[test]
    fn port_as_string_zero_or_invalid() {
        assert_eq!(p(r#"{"port": "5432"}"#).port, Some(5432));
        assert_eq!(p(r#"{"port": 0}"#).port, None);
        assert_eq!(p(r#"{"port": null}"#).port, None);
        assert!(err(r#"{"port": "abc"}"#).contains("`port`"));
        assert!(err(r#"{"port": 70000}"#).contains("`port`"));
        assert!(err(r#"{"port": -1}"#).contains("`port`"));
    }

    #[test]
    fn uri_key_alone() {
        let c = p(r#"{"uri": "azure://id:pw@?tenantId=t", "description": "d"}"#);
        assert_eq!(c.password.as_deref(), Some("pw"));
        assert!(err(r#"{"uri": "azure://h", "login": "x"}"#).contains("either `uri`"));
    }

    #[test]
    fn unknown_keys_and_wrong_types_are_named_without_values() {
        let e = err(r#"{"conn_type": "x", "passwrd": "hunter2-secret"}"#);
        assert!(e.contains("unknown key `passwrd`"), "{e}");
        assert!(!e.contains("hunter2"), "{e}");
        let e = err(r#"{"password": ["hunter2-secret"]}"#);
        assert!(
            e.contains("`password` must be a string, found a list"),
            "{e}"
        );
        assert!(!e.contains("hunter2"));
        let e = err(r#"{"password": "hunter2-secret""#);
        assert!(
            e.contains("not valid JSON") && !e.contains("hunter2"),
            "{e}"
        );
        assert!(err("[1]").contains("expected a JSON object, found a list"));
    }

    #[test]
    fn conn_id_must_match() {
        assert!(p(r#"{"conn_id": "c"}"#).conn_type.is_none());
        assert!(err(r#"{"conn_id": "other"}"#).contains("`other`"));
    }

    #[test]
    fn empty_strings_are_none_and_numbers_are_text() {
        let c = p(r#"{"login": "", "password": "", "host": "", "schema": "", "conn_type": "x"}"#);
        assert_eq!(
            (c.login, c.password, c.host, c.schema),
            (None, None, None, None)
        );
        assert_eq!(p(r#"{"login": 1234}"#).login.as_deref(), Some("1234"));
    }
}
