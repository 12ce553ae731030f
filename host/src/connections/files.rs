//! Connections files: what `airflow connections export` writes, and what
//! Airflow's local-filesystem secrets backend reads.
//!
//! - `.json`: `{"conn_id": {"conn_type": .., "host": .., "login": ..,
//!   "password": .., "schema": .., "port": .., "extra": "<json>" or {..},
//!   "description": ..}, ...}`; a value may also be a URI string.
//! - `.yaml` / `.yml`: the same structure in YAML.
//! - `.env`: one `conn_id=URI` (or `conn_id={json}`) per line; blank lines
//!   and `#` comments are skipped.
//!
//! Any other extension is sniffed: JSON when the text starts with `{`, YAML
//! when it parses as a mapping, otherwise the `env` format.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Map, Value};

use super::{Connection, ConnectionError};
use airflow_connections::json::{from_object, json_error_class, kind};

/// Reads and parses a connections file.
pub(super) fn load(path: &Path) -> Result<BTreeMap<String, Connection>, ConnectionError> {
    let text = std::fs::read_to_string(path).map_err(|e| ConnectionError::File {
        path: path.to_path_buf(),
        reason: format!("cannot read it: {e}"),
    })?;
    parse(path, &text)
}

/// Parses the text of a connections file named `path`.
pub(super) fn parse(
    path: &Path,
    text: &str,
) -> Result<BTreeMap<String, Connection>, ConnectionError> {
    let fail = |reason: String| ConnectionError::File {
        path: path.to_path_buf(),
        reason,
    };
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    let entries = match ext.as_str() {
        "json" => parse_json(text).map_err(fail)?,
        "yaml" | "yml" => parse_yaml(text).map_err(fail)?,
        "env" => parse_env(text).map_err(fail)?,
        _ if text.trim_start().starts_with('{') => parse_json(text).map_err(fail)?,
        _ => match parse_yaml(text) {
            Ok(entries) => entries,
            Err(_) => parse_env(text).map_err(|e| {
                fail(format!(
                    "{e} (the file has no .json, .yaml, .yml or .env extension, so its format was guessed)"
                ))
            })?,
        },
    };
    let mut out = BTreeMap::new();
    for (conn_id, value) in entries {
        let conn = match &value {
            Value::String(text) => {
                Connection::from_uri_or_json(&conn_id, text).map_err(|e| match e {
                    ConnectionError::Invalid { reason, .. } => reason,
                    other => other.to_string(),
                })
            }
            Value::Object(map) => from_object(&conn_id, map),
            other => Err(format!(
                "must be a URI string or an object, found {}",
                kind(other)
            )),
        }
        .map_err(|reason| fail(format!("connection `{conn_id}`: {reason}")))?;
        out.insert(conn_id, conn);
    }
    Ok(out)
}

fn parse_json(text: &str) -> Result<Vec<(String, Value)>, String> {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(map)) => Ok(map.into_iter().collect()),
        Ok(other) => Err(format!(
            "expected a JSON object of connections by id, found {}",
            kind(&other)
        )),
        Err(e) => Err(format!(
            "line {} column {}: not valid JSON ({})",
            e.line(),
            e.column(),
            json_error_class(&e)
        )),
    }
}

fn parse_yaml(text: &str) -> Result<Vec<(String, Value)>, String> {
    let doc: serde_norway::Value =
        serde_norway::from_str(text).map_err(|e| match e.location() {
            Some(loc) => format!(
                "line {} column {}: not valid YAML ({})",
                loc.line(),
                loc.column(),
                yaml_message(&e)
            ),
            None => format!("not valid YAML ({})", yaml_message(&e)),
        })?;
    match doc {
        serde_norway::Value::Mapping(_) => match yaml_to_json(doc, 0)? {
            Value::Object(map) => Ok(map.into_iter().collect()),
            _ => unreachable!("a mapping converts to an object"),
        },
        serde_norway::Value::Null => Ok(Vec::new()),
        other => Err(format!(
            "expected a YAML mapping of connections by id, found {}",
            yaml_kind(&other)
        )),
    }
}

/// serde_norway's message without its trailing location.
fn yaml_message(e: &serde_norway::Error) -> String {
    let msg = e.to_string();
    match msg.find(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg,
    }
}

fn yaml_kind(v: &serde_norway::Value) -> &'static str {
    match v {
        serde_norway::Value::Null => "null",
        serde_norway::Value::Bool(_) => "a boolean",
        serde_norway::Value::Number(_) => "a number",
        serde_norway::Value::String(_) => "a string",
        serde_norway::Value::Sequence(_) => "a list",
        serde_norway::Value::Mapping(_) => "a mapping",
        serde_norway::Value::Tagged(_) => "a tagged value",
    }
}

/// Converts YAML to JSON: scalar keys become strings; tags are refused.
pub(crate) fn yaml_to_json(v: serde_norway::Value, depth: usize) -> Result<Value, String> {
    if depth > 128 {
        return Err("the YAML document is nested too deeply".into());
    }
    Ok(match v {
        serde_norway::Value::Null => Value::Null,
        serde_norway::Value::Bool(b) => Value::Bool(b),
        serde_norway::Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::from(i)
            } else if let Some(u) = n.as_u64() {
                Value::from(u)
            } else {
                n.as_f64()
                    .and_then(serde_json::Number::from_f64)
                    .map(Value::Number)
                    .ok_or("a YAML number is not finite (.inf or .nan)")?
            }
        }
        serde_norway::Value::String(s) => Value::String(s),
        serde_norway::Value::Sequence(items) => Value::Array(
            items
                .into_iter()
                .map(|i| yaml_to_json(i, depth + 1))
                .collect::<Result<_, _>>()?,
        ),
        serde_norway::Value::Mapping(m) => {
            let mut out = Map::new();
            for (k, v) in m {
                let key = match k {
                    serde_norway::Value::String(s) => s,
                    serde_norway::Value::Number(n) => n.to_string(),
                    serde_norway::Value::Bool(b) => b.to_string(),
                    other => {
                        return Err(format!(
                            "a YAML mapping key is {}; keys must be strings",
                            yaml_kind(&other)
                        ))
                    }
                };
                out.insert(key, yaml_to_json(v, depth + 1)?);
            }
            Value::Object(out)
        }
        serde_norway::Value::Tagged(t) => {
            return Err(format!("YAML tags (`{}`) are not supported", t.tag));
        }
    })
}

fn parse_env(text: &str) -> Result<Vec<(String, Value)>, String> {
    let mut out: Vec<(String, Value)> = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (key, value) = line
            .split_once('=')
            .ok_or_else(|| format!("line {}: expected `conn_id=URI`", n + 1))?;
        let key = key.trim();
        if key.is_empty() {
            return Err(format!(
                "line {}: the connection id before `=` is empty",
                n + 1
            ));
        }
        if out.iter().any(|(k, _)| k == key) {
            return Err(format!(
                "line {}: connection `{key}` is defined twice",
                n + 1
            ));
        }
        out.push((key.to_string(), Value::String(value.trim().to_string())));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// What `airflow connections export conns.json` writes (extra is a string).
    const EXPORT_JSON: &str = r#"{
    "azure_default": {
        "conn_type": "azure_container_instance",
        "description": "",
        "login": "client-id",
        "password": "client-secret",
        "host": null,
        "port": null,
        "schema": null,
        "extra": "{\"tenantId\": \"t\", \"subscriptionId\": \"s\"}"
    },
    "postgres_default": {
        "conn_type": "postgres",
        "description": null,
        "login": "airflow",
        "password": "pg-pass",
        "host": "db",
        "port": 5432,
        "schema": "airflow",
        "extra": null
    },
    "as_uri": "wasb://acct:key@?connection_string=a%3Db%3BAccountKey%3D1"
}"#;

    const EXPORT_YAML: &str = r#"
azure_default:
  conn_type: azure_container_instance
  description: ''
  extra: '{"tenantId": "t", "subscriptionId": "s"}'
  host: ''
  login: client-id
  password: client-secret
  port: null
  schema: ''
postgres_default:
  conn_type: postgres
  extra:
    sslmode: require
  host: db
  login: airflow
  password: pg-pass
  port: 5432
  schema: airflow
"#;

    const EXPORT_ENV: &str = "# exported\nazure_default=azure-container-instance://client-id:client-secret@?tenantId=t&subscriptionId=s\n\npostgres_default=postgres://airflow:pg-pass@db:5432/airflow\njson_one={\"conn_type\": \"http\", \"host\": \"h\"}\n";

    fn check_common(conns: &BTreeMap<String, Connection>) {
        let az = &conns["azure_default"];
        assert_eq!(az.conn_type.as_deref(), Some("azure_container_instance"));
        assert_eq!(az.login.as_deref(), Some("client-id"));
        assert_eq!(az.password.as_deref(), Some("client-secret"));
        assert_eq!(az.host, None);
        assert_eq!(az.extra["tenantId"], json!("t"));
        assert_eq!(az.extra["subscriptionId"], json!("s"));
        let pg = &conns["postgres_default"];
        assert_eq!(pg.host.as_deref(), Some("db"));
        assert_eq!(pg.port, Some(5432));
        assert_eq!(pg.schema.as_deref(), Some("airflow"));
        assert_eq!(pg.password.as_deref(), Some("pg-pass"));
    }

    #[test]
    fn airflow_json_export() {
        let conns = parse(Path::new("conns.json"), EXPORT_JSON).unwrap();
        check_common(&conns);
        assert_eq!(
            conns["as_uri"].extra["connection_string"],
            json!("a=b;AccountKey=1")
        );
        assert!(conns["postgres_default"].extra.is_empty());
    }

    #[test]
    fn airflow_yaml_export() {
        let conns = parse(Path::new("conns.yaml"), EXPORT_YAML).unwrap();
        check_common(&conns);
        assert_eq!(conns["postgres_default"].extra["sslmode"], json!("require"));
        // Same text under .yml and under an unknown extension (sniffed).
        assert_eq!(parse(Path::new("c.yml"), EXPORT_YAML).unwrap(), conns);
        assert_eq!(parse(Path::new("c.conf"), EXPORT_YAML).unwrap(), conns);
    }

    #[test]
    fn airflow_env_export() {
        let conns = parse(Path::new("conns.env"), EXPORT_ENV).unwrap();
        check_common(&conns);
        assert_eq!(conns["json_one"].host.as_deref(), Some("h"));
        assert_eq!(parse(Path::new("noext"), EXPORT_ENV).unwrap(), conns);
    }

    #[test]
    fn sniffs_json_without_extension() {
        let conns = parse(Path::new("conns"), EXPORT_JSON).unwrap();
        check_common(&conns);
    }

    #[test]
    fn json_syntax_error_has_line_and_column_but_no_text() {
        let text = "{\n  \"a\": {\"password\": \"hunter2-secret\",}\n}";
        let e = parse(Path::new("c.json"), text).unwrap_err().to_string();
        assert!(
            e.starts_with("connections file c.json: line 2 column"),
            "{e}"
        );
        assert!(!e.contains("hunter2"), "{e}");
    }

    #[test]
    fn yaml_syntax_error_has_line_and_column() {
        let text = "a:\n  password: x\n b: [\n";
        let e = parse(Path::new("c.yaml"), text).unwrap_err().to_string();
        assert!(e.contains("line ") && e.contains("not valid YAML"), "{e}");
    }

    #[test]
    fn bad_entry_names_the_connection() {
        let e = parse(
            Path::new("c.json"),
            r#"{"x": {"port": "abc", "password": "pw-secret"}}"#,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("connection `x`") && e.contains("`port`"), "{e}");
        assert!(!e.contains("pw-secret"), "{e}");
        let e = parse(Path::new("c.json"), r#"{"x": 5}"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("found a number"), "{e}");
        let e = parse(Path::new("c.json"), r#"[1]"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("found a list"), "{e}");
    }

    #[test]
    fn env_errors() {
        assert!(parse(Path::new("c.env"), "just-a-line")
            .unwrap_err()
            .to_string()
            .contains("line 1"));
        assert!(parse(Path::new("c.env"), "=x://h")
            .unwrap_err()
            .to_string()
            .contains("empty"));
        assert!(parse(Path::new("c.env"), "a=x://h\na=x://g")
            .unwrap_err()
            .to_string()
            .contains("twice"));
    }

    #[test]
    fn yaml_tags_and_empty_files() {
        assert!(parse(Path::new("c.yaml"), "a: !secret x")
            .unwrap_err()
            .to_string()
            .contains("tags"));
        assert!(parse(Path::new("c.yaml"), "").unwrap().is_empty());
        assert!(parse(Path::new("c.json"), "{}").unwrap().is_empty());
    }

    #[test]
    fn missing_file_is_a_clear_error() {
        let e = load(Path::new("/nonexistent/conns.json"))
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("connections file /nonexistent/conns.json: cannot read it"),
            "{e}"
        );
    }
}
