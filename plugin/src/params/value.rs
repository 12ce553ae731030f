//! Reading typed values out of the rendered parameters (a JSON object), with
//! errors that name the offending field (`memory_in_gb must be a number, found
//! string "x"`). Secret-bearing fields use the `*_secret` readers, whose errors
//! never echo the value.

use serde_json::{Map, Value};

use super::validate::did_you_mean;
use task_plugin_sdk::{Error, Result};

/// How a JSON value is described in an error message: its JSON type, and for
/// scalars the value itself (strings truncated to 60 characters).
pub(crate) fn describe(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => format!("boolean {b}"),
        Value::Number(n) => format!("number {n}"),
        Value::String(s) => {
            let shown: String = s.chars().take(60).collect();
            let ellipsis = if s.chars().count() > 60 { "…" } else { "" };
            format!("string {:?}", format!("{shown}{ellipsis}"))
        }
        Value::Array(_) => "array".into(),
        Value::Object(_) => "table/object".into(),
    }
}

/// Like [`describe`], but never shows the value (for secrets).
pub(crate) fn describe_redacted(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "table/object",
    }
}

/// `"{path} must be {expected}, found {describe(found)}"` as an invalid-params error.
pub(crate) fn type_error(path: &str, expected: &str, found: &Value) -> Error {
    Error::InvalidParams(format!(
        "{path} must be {expected}, found {}",
        describe(found)
    ))
}

/// A type error that does not show the value.
pub(crate) fn type_error_secret(path: &str, expected: &str, found: &Value) -> Error {
    Error::InvalidParams(format!(
        "{path} must be {expected}, found {}",
        describe_redacted(found)
    ))
}

/// How Python's `f"{value}"` would show a JSON value in Airflow's messages
/// (`None`, `True`, strings verbatim).
pub(crate) fn python_str(v: &Value) -> String {
    match v {
        Value::Null => "None".into(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Python truthiness of a JSON value (`None`, `False`, `0`, `""`, `[]`, `{}` are falsy).
pub(crate) fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().map(|f| f != 0.0).unwrap_or(true),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

/// A string.
pub(crate) fn string(path: &str, v: &Value) -> Result<String> {
    match v {
        Value::String(s) => Ok(s.clone()),
        other => Err(type_error(path, "a string", other)),
    }
}

/// A non-empty string.
pub(crate) fn non_empty_string(path: &str, v: &Value) -> Result<String> {
    let s = string(path, v)?;
    if s.trim().is_empty() {
        return Err(Error::InvalidParams(format!("{path} must not be empty")));
    }
    Ok(s)
}

/// A string, or a number converted to its decimal text (`5`, `1.5`). Booleans
/// are refused: write them quoted, since `true` and `True` differ.
pub(crate) fn scalar_string(path: &str, v: &Value) -> Result<String> {
    match v {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(_) => Err(Error::InvalidParams(format!(
            "{path} must be a string, found {} (quote it: \"true\" or \"True\", whichever the program expects)",
            describe(v)
        ))),
        other => Err(type_error(path, "a string", other)),
    }
}

/// [`scalar_string`] for a secret value: errors never show it.
pub(crate) fn scalar_string_secret(path: &str, v: &Value) -> Result<String> {
    match v {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        other => Err(type_error_secret(path, "a string", other)),
    }
}

/// A boolean.
pub(crate) fn boolean(path: &str, v: &Value) -> Result<bool> {
    match v {
        Value::Bool(b) => Ok(*b),
        other => Err(type_error(path, "a boolean (true or false)", other)),
    }
}

/// A boolean, also accepting the strings a template renders (`true`, `True`,
/// `false`, `False`).
pub(crate) fn boolean_lenient(path: &str, v: &Value) -> Result<bool> {
    match v {
        Value::Bool(b) => Ok(*b),
        Value::String(s) if s == "true" || s == "True" => Ok(true),
        Value::String(s) if s == "false" || s == "False" => Ok(false),
        other => Err(type_error(path, "a boolean (true or false)", other)),
    }
}

/// A finite number.
pub(crate) fn number(path: &str, v: &Value) -> Result<f64> {
    match v {
        Value::Number(n) => n
            .as_f64()
            .filter(|f| f.is_finite())
            .ok_or_else(|| type_error(path, "a finite number", v)),
        other => Err(type_error(path, "a number", other)),
    }
}

/// An integer in `min..=max`.
pub(crate) fn integer(path: &str, v: &Value, min: i64, max: i64) -> Result<i64> {
    let n = match v {
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Some(i)
            } else {
                n.as_f64()
                    .filter(|f| f.fract() == 0.0 && f.is_finite() && f.abs() < 9.0e15)
                    .map(|f| f as i64)
            }
        }
        _ => None,
    };
    match n {
        Some(i) if (min..=max).contains(&i) => Ok(i),
        Some(i) => Err(Error::InvalidParams(format!(
            "{path} must be between {min} and {max}, found {i}"
        ))),
        None => Err(type_error(path, "an integer", v)),
    }
}

/// An array (no conversion of a single value).
pub(crate) fn array<'a>(path: &str, v: &'a Value) -> Result<&'a Vec<Value>> {
    match v {
        Value::Array(a) => Ok(a),
        other => Err(type_error(path, "a list", other)),
    }
}

/// A list of strings (numbers converted), with element paths `path[i]` in errors.
pub(crate) fn string_list(path: &str, v: &Value) -> Result<Vec<String>> {
    array(path, v)?
        .iter()
        .enumerate()
        .map(|(i, e)| scalar_string(&format!("{path}[{i}]"), e))
        .collect()
}

/// A table of string values (numbers converted), in the order given.
pub(crate) fn string_map(path: &str, v: &Value) -> Result<Vec<(String, String)>> {
    let map = object(path, v)?;
    map.iter()
        .map(|(k, e)| Ok((k.clone(), scalar_string(&format!("{path}.{k}"), e)?)))
        .collect()
}

/// A JSON object.
pub(crate) fn object<'a>(path: &str, v: &'a Value) -> Result<&'a Map<String, Value>> {
    match v {
        Value::Object(m) => Ok(m),
        other => Err(type_error(path, "a table/object", other)),
    }
}

/// A nested object whose keys may be spelled in Azure's Python SDK style
/// (`name_servers`) or ARM's camelCase (`nameServers`). Reads mark keys as
/// used; [`Obj::finish`] rejects any key that was not read.
pub(crate) struct Obj<'a> {
    path: String,
    map: &'a Map<String, Value>,
    known: Vec<&'static str>,
}

impl<'a> Obj<'a> {
    /// Wraps `v`, which must be an object; `path` names it in errors.
    pub(crate) fn new(path: impl Into<String>, v: &'a Value) -> Result<Self> {
        let path = path.into();
        let map = object(&path, v)?;
        Ok(Obj {
            path,
            map,
            known: Vec::new(),
        })
    }

    /// The path of a child field.
    pub(crate) fn child(&self, name: &str) -> String {
        format!("{}.{name}", self.path)
    }

    /// The value under any of `names` (aliases of one field); `None` when
    /// absent or `null`. Giving two aliases at once is an error.
    pub(crate) fn get(
        &mut self,
        names: &[&'static str],
    ) -> Result<Option<(&'static str, &'a Value)>> {
        self.known.extend_from_slice(names);
        let mut found: Option<(&'static str, &'a Value)> = None;
        for name in names {
            if let Some(v) = self.map.get(*name) {
                if let Some((first, _)) = found {
                    return Err(Error::InvalidParams(format!(
                        "{} has both `{first}` and `{name}`; they are the same field, give only one",
                        self.path
                    )));
                }
                found = Some((name, v));
            }
        }
        Ok(found.filter(|(_, v)| !v.is_null()))
    }

    /// Like [`Obj::get`] but the field must be present.
    pub(crate) fn require(&mut self, names: &[&'static str]) -> Result<(&'static str, &'a Value)> {
        match self.get(names)? {
            Some(found) => Ok(found),
            None => Err(Error::InvalidParams(format!(
                "{} requires `{}`",
                self.path, names[0]
            ))),
        }
    }

    /// Fails on the first key that no `get`/`require` asked for.
    pub(crate) fn finish(self) -> Result<()> {
        for key in self.map.keys() {
            if !self.known.iter().any(|k| k == key) {
                let hint = did_you_mean(key, &self.known)
                    .map(|s| format!("; did you mean `{s}`?"))
                    .unwrap_or_default();
                return Err(Error::InvalidParams(format!(
                    "unknown key `{}.{key}`{hint}",
                    self.path
                )));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn describes_values_by_type() {
        assert_eq!(describe(&json!("x")), "string \"x\"");
        assert_eq!(describe(&json!(5)), "number 5");
        assert_eq!(describe(&json!(true)), "boolean true");
        assert_eq!(describe(&json!(null)), "null");
        assert_eq!(describe(&json!([1])), "array");
        assert_eq!(describe(&json!({})), "table/object");
        assert_eq!(describe_redacted(&json!("secret")), "string");
    }

    #[test]
    fn python_str_matches_python_formatting() {
        assert_eq!(python_str(&json!(null)), "None");
        assert_eq!(python_str(&json!(true)), "True");
        assert_eq!(python_str(&json!("MacOs")), "MacOs");
        assert_eq!(python_str(&json!(3)), "3");
    }

    #[test]
    fn truthiness_follows_python() {
        for falsy in [
            json!(null),
            json!(false),
            json!(0),
            json!(0.0),
            json!(""),
            json!([]),
            json!({}),
        ] {
            assert!(!truthy(&falsy), "{falsy} should be falsy");
        }
        for t in [json!(1), json!(0.5), json!("0"), json!([0]), json!(true)] {
            assert!(truthy(&t), "{t} should be truthy");
        }
    }

    #[test]
    fn obj_rejects_unknown_and_duplicate_aliases() {
        let v = json!({"name_servers": ["1.1.1.1"], "nameServers": ["8.8.8.8"]});
        let mut o = Obj::new("dns_config", &v).unwrap();
        let err = o.get(&["name_servers", "nameServers"]).unwrap_err();
        assert!(
            err.to_string()
                .contains("has both `name_servers` and `nameServers`"),
            "{err}"
        );

        let v = json!({"name_server": ["1.1.1.1"]});
        let mut o = Obj::new("dns_config", &v).unwrap();
        assert!(o.get(&["name_servers", "nameServers"]).unwrap().is_none());
        let err = o.finish().unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown key `dns_config.name_server`; did you mean `name_servers`?"
        );
    }

    #[test]
    fn integers_accept_integral_floats_only() {
        assert_eq!(integer("p", &json!(3), 1, 5).unwrap(), 3);
        assert_eq!(integer("p", &json!(3.0), 1, 5).unwrap(), 3);
        assert!(integer("p", &json!(3.5), 1, 5).is_err());
        assert_eq!(
            integer("p", &json!(9), 1, 5).unwrap_err().to_string(),
            "p must be between 1 and 5, found 9"
        );
    }

    #[test]
    fn booleans_as_strings_only_when_lenient() {
        assert!(boolean("b", &json!("true")).is_err());
        assert!(boolean_lenient("b", &json!("True")).unwrap());
        assert!(!boolean_lenient("b", &json!("false")).unwrap());
        assert!(boolean_lenient("b", &json!("yes")).is_err());
    }
}
