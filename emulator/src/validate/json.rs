//! Typed access to the JSON body with ARM's deserializer errors (`400 InvalidRequestContent`
//! naming the path).

use serde_json::{Map, Value};

pub(super) use crate::http::invalid_content as content_error;
use crate::http::Resp;

/// A validation result: the error is the answer to send.
pub(super) type VResult<T> = Result<T, Resp>;

pub(super) fn required(path: &str, prop: &str) -> Resp {
    content_error(format!(
        "Required property '{prop}' not found in JSON. Path '{path}'"
    ))
}

pub(super) fn wrong_type(path: &str, want: &str) -> Resp {
    content_error(format!(
        "Error converting value to type '{want}'. Path '{path}'"
    ))
}

pub(super) fn bad_enum(path: &str, value: &str, allowed: &[&str]) -> Resp {
    content_error(format!(
        "Error converting value \"{value}\" to type '{}'. Path '{path}'. Allowed values: {}",
        path.rsplit('.').next().unwrap_or(path),
        allowed.join(", ")
    ))
}

pub(super) fn obj<'a>(v: &'a Value, path: &str) -> VResult<&'a Map<String, Value>> {
    v.as_object().ok_or_else(|| wrong_type(path, "Object"))
}

pub(super) fn opt_obj<'a>(
    m: &'a Map<String, Value>,
    key: &str,
    path: &str,
) -> VResult<Option<&'a Map<String, Value>>> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => obj(v, &format!("{path}.{key}")).map(Some),
    }
}

pub(super) fn opt_arr<'a>(
    m: &'a Map<String, Value>,
    key: &str,
    path: &str,
) -> VResult<&'a [Value]> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Array(a)) => Ok(a),
        Some(_) => Err(wrong_type(&format!("{path}.{key}"), "Array")),
    }
}

pub(super) fn opt_str<'a>(
    m: &'a Map<String, Value>,
    key: &str,
    path: &str,
) -> VResult<Option<&'a str>> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(wrong_type(&format!("{path}.{key}"), "String")),
    }
}

pub(super) fn req_str<'a>(m: &'a Map<String, Value>, key: &str, path: &str) -> VResult<&'a str> {
    opt_str(m, key, path)?.ok_or_else(|| required(path, key))
}

pub(super) fn opt_num(m: &Map<String, Value>, key: &str, path: &str) -> VResult<Option<f64>> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => Ok(n.as_f64()),
        Some(_) => Err(wrong_type(&format!("{path}.{key}"), "Double")),
    }
}

pub(super) fn opt_int(m: &Map<String, Value>, key: &str, path: &str) -> VResult<Option<i64>> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) if n.is_i64() => Ok(n.as_i64()),
        Some(_) => Err(wrong_type(&format!("{path}.{key}"), "Int32")),
    }
}

pub(super) fn opt_bool(m: &Map<String, Value>, key: &str, path: &str) -> VResult<()> {
    match m.get(key) {
        None | Some(Value::Null) | Some(Value::Bool(_)) => Ok(()),
        Some(_) => Err(wrong_type(&format!("{path}.{key}"), "Boolean")),
    }
}

pub(super) fn opt_enum<'a>(
    m: &'a Map<String, Value>,
    key: &str,
    path: &str,
    allowed: &[&str],
) -> VResult<Option<&'a str>> {
    match opt_str(m, key, path)? {
        None => Ok(None),
        Some(v) if allowed.contains(&v) => Ok(Some(v)),
        Some(v) => Err(bad_enum(&format!("{path}.{key}"), v, allowed)),
    }
}

pub(super) fn string_list(m: &Map<String, Value>, key: &str, path: &str) -> VResult<Vec<String>> {
    opt_arr(m, key, path)?
        .iter()
        .enumerate()
        .map(|(i, v)| {
            v.as_str()
                .map(String::from)
                .ok_or_else(|| wrong_type(&format!("{path}.{key}[{i}]"), "String"))
        })
        .collect()
}
