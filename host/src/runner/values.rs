//! JSON ⇄ component-model values, guided by the WIT type: how the generic
//! hook takes its arguments and gives its results.
//!
//! | WIT | JSON |
//! |---|---|
//! | `bool` | `true` / `false` |
//! | integers, floats | numbers (a NaN or infinite float is `null`) |
//! | `char`, `string` | a string |
//! | `list<T>`, `tuple<…>` | an array |
//! | `record` | an object keyed by field name in snake_case (`resource_group`; kebab-case is accepted too); a missing `option` field is `none` |
//! | `option<T>` | `null` or the value |
//! | `result<T, E>` | `{"ok": T}` or `{"err": E}` (`null` payload for `_`) |
//! | `enum` | the case name |
//! | `variant` | the case name without payload, `{"case": payload}` with one |
//! | `flags` | an array of the names of the flags set |
//!
//! Resources, maps, futures, streams and error contexts have no JSON form;
//! functions that use them are not callable this way ([`supported`]).

use serde_json::{Map, Value};
use wasmtime::component::{Type, Val};

/// True when values of `ty` convert to and from JSON.
pub fn supported(ty: &Type) -> bool {
    match ty {
        Type::List(l) => supported(&l.ty()),
        Type::Record(r) => r.fields().all(|f| supported(&f.ty)),
        Type::Tuple(t) => t.types().all(|t| supported(&t)),
        Type::Variant(v) => v.cases().all(|c| c.ty.as_ref().is_none_or(supported)),
        Type::Option(o) => supported(&o.ty()),
        Type::Result(r) => {
            r.ok().as_ref().is_none_or(supported) && r.err().as_ref().is_none_or(supported)
        }
        Type::Own(_)
        | Type::Borrow(_)
        | Type::Map(_)
        | Type::Future(_)
        | Type::Stream(_)
        | Type::ErrorContext
        | Type::FixedLengthList(_) => false,
        _ => true,
    }
}

/// The JSON key of a WIT name: snake_case.
pub fn json_key(wit_name: &str) -> String {
    wit_name.replace('-', "_")
}

fn int<T: TryFrom<i64> + TryFrom<u64>>(json: &Value) -> Option<T> {
    json.as_i64()
        .and_then(|i| T::try_from(i).ok())
        .or_else(|| json.as_u64().and_then(|u| T::try_from(u).ok()))
}

fn single_char(s: &str) -> Option<char> {
    let mut chars = s.chars();
    chars.next().filter(|_| chars.next().is_none())
}

/// The value of type `ty` that `json` stands for; `path` names it in errors
/// (`target.name: expected a string, got 3`).
pub fn to_val(ty: &Type, json: &Value, path: &str) -> Result<Val, String> {
    let expected = |what: &str| format!("{path}: expected {what}, got {json}");
    let scalar = |v: Option<Val>, what: &str| v.ok_or_else(|| expected(what));
    match ty {
        Type::Bool => scalar(json.as_bool().map(Val::Bool), "true or false"),
        Type::S8 => scalar(int(json).map(Val::S8), "an 8-bit integer"),
        Type::U8 => scalar(int(json).map(Val::U8), "an unsigned 8-bit integer"),
        Type::S16 => scalar(int(json).map(Val::S16), "a 16-bit integer"),
        Type::U16 => scalar(int(json).map(Val::U16), "an unsigned 16-bit integer"),
        Type::S32 => scalar(int(json).map(Val::S32), "a 32-bit integer"),
        Type::U32 => scalar(int(json).map(Val::U32), "an unsigned 32-bit integer"),
        Type::S64 => scalar(int(json).map(Val::S64), "a 64-bit integer"),
        Type::U64 => scalar(int(json).map(Val::U64), "an unsigned 64-bit integer"),
        Type::Float32 => scalar(json.as_f64().map(|f| Val::Float32(f as f32)), "a number"),
        Type::Float64 => scalar(json.as_f64().map(Val::Float64), "a number"),
        Type::Char => scalar(
            json.as_str().and_then(single_char).map(Val::Char),
            "one character",
        ),
        Type::String => scalar(json.as_str().map(|s| Val::String(s.into())), "a string"),
        Type::Option(_) if json.is_null() => Ok(Val::Option(None)),
        Type::Option(o) => Ok(Val::Option(Some(Box::new(to_val(&o.ty(), json, path)?)))),
        _ => compound_to_val(ty, json, path),
    }
}

/// [`to_val`] for lists, tuples, records, variants, enums, results and flags.
fn compound_to_val(ty: &Type, json: &Value, path: &str) -> Result<Val, String> {
    let expected = |what: &str| format!("{path}: expected {what}, got {json}");
    match (ty, json) {
        (Type::List(l), Value::Array(items)) => {
            let elem = l.ty();
            let vals = items
                .iter()
                .enumerate()
                .map(|(i, v)| to_val(&elem, v, &format!("{path}[{i}]")));
            Ok(Val::List(vals.collect::<Result<_, _>>()?))
        }
        (Type::Tuple(t), Value::Array(items)) if items.len() == t.types().len() => {
            let vals = t
                .types()
                .zip(items)
                .enumerate()
                .map(|(i, (ty, v))| to_val(&ty, v, &format!("{path}[{i}]")));
            Ok(Val::Tuple(vals.collect::<Result<_, _>>()?))
        }
        (Type::Record(r), Value::Object(map)) => record_to_val(r, map, path),
        (Type::Enum(e), Value::String(s)) if e.names().any(|n| n == s) => Ok(Val::Enum(s.clone())),
        (Type::Flags(f), Value::Array(items)) => {
            let names = items.iter().map(|v| match v.as_str() {
                Some(n) if f.names().any(|known| known == n) => Ok(n.to_string()),
                _ => Err(expected("an array of flag names")),
            });
            Ok(Val::Flags(names.collect::<Result<_, _>>()?))
        }
        (Type::Variant(v), _) => {
            let (case, payload) = case_of(json).ok_or_else(|| expected("a variant case"))?;
            let Some(c) = v.cases().find(|c| c.name == case) else {
                return Err(expected("a known variant case"));
            };
            let payload = match (&c.ty, payload) {
                (None, None) => None,
                (Some(ty), Some(p)) => Some(Box::new(to_val(ty, p, &format!("{path}.{case}"))?)),
                _ => return Err(expected("a variant case with its payload")),
            };
            Ok(Val::Variant(case.to_string(), payload))
        }
        (Type::Result(r), _) => {
            let (case, payload) =
                case_of(json).ok_or_else(|| expected("{\"ok\": …} or {\"err\": …}"))?;
            let (ty, ok) = match case {
                "ok" => (r.ok(), true),
                "err" => (r.err(), false),
                _ => return Err(expected("{\"ok\": …} or {\"err\": …}")),
            };
            let val = match (ty, payload) {
                (Some(ty), Some(p)) => Some(Box::new(to_val(&ty, p, &format!("{path}.{case}"))?)),
                (None, None | Some(Value::Null)) => None,
                _ => return Err(expected("a result with its payload")),
            };
            Ok(Val::Result(if ok { Ok(val) } else { Err(val) }))
        }
        _ => Err(expected(&format!("a value of type {}", type_name(ty)))),
    }
}

/// `"case"` or `{"case": payload}`.
fn case_of(json: &Value) -> Option<(&str, Option<&Value>)> {
    match json {
        Value::String(s) => Some((s, None)),
        Value::Object(m) if m.len() == 1 => m.iter().next().map(|(k, v)| (k.as_str(), Some(v))),
        _ => None,
    }
}

fn record_to_val(
    r: &wasmtime::component::types::Record,
    map: &Map<String, Value>,
    path: &str,
) -> Result<Val, String> {
    let fields: Vec<_> = r.fields().collect();
    if let Some(unknown) = map
        .keys()
        .find(|k| !fields.iter().any(|f| json_key(f.name) == json_key(k)))
    {
        return Err(format!("{path}: unknown field `{unknown}`"));
    }
    let mut out = Vec::with_capacity(fields.len());
    for f in fields {
        let key = json_key(f.name);
        let sub = if path.is_empty() {
            key.clone()
        } else {
            format!("{path}.{key}")
        };
        let value = map.iter().find(|(k, _)| json_key(k) == key).map(|(_, v)| v);
        let val = match (value, &f.ty) {
            (Some(v), ty) => to_val(ty, v, &sub)?,
            (None, Type::Option(_)) => Val::Option(None),
            (None, _) => return Err(format!("{sub}: missing")),
        };
        out.push((f.name.to_string(), val));
    }
    Ok(Val::Record(out))
}

/// A short name of a type's kind, for messages.
pub fn type_name(ty: &Type) -> &'static str {
    match ty {
        Type::Bool => "bool",
        Type::S8 | Type::S16 | Type::S32 | Type::S64 => "integer",
        Type::U8 | Type::U16 | Type::U32 | Type::U64 => "unsigned integer",
        Type::Float32 | Type::Float64 => "number",
        Type::Char => "char",
        Type::String => "string",
        Type::List(_) => "list",
        Type::Record(_) => "record",
        Type::Tuple(_) => "tuple",
        Type::Variant(_) => "variant",
        Type::Enum(_) => "enum",
        Type::Option(_) => "option",
        Type::Result(_) => "result",
        Type::Flags(_) => "flags",
        _ => "unsupported type",
    }
}

/// The JSON form of a value (see the table in the module docs).
pub fn to_json(val: &Val) -> Value {
    let number = |f: f64| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number);
    match val {
        Val::Bool(b) => Value::Bool(*b),
        Val::S8(i) => (*i).into(),
        Val::U8(i) => (*i).into(),
        Val::S16(i) => (*i).into(),
        Val::U16(i) => (*i).into(),
        Val::S32(i) => (*i).into(),
        Val::U32(i) => (*i).into(),
        Val::S64(i) => (*i).into(),
        Val::U64(i) => (*i).into(),
        Val::Float32(f) => number(f64::from(*f)),
        Val::Float64(f) => number(*f),
        Val::Char(c) => Value::String(c.to_string()),
        Val::String(s) => Value::String(s.clone()),
        Val::List(items) | Val::Tuple(items) | Val::FixedLengthList(items) => {
            Value::Array(items.iter().map(to_json).collect())
        }
        Val::Record(fields) => Value::Object(
            fields
                .iter()
                .map(|(name, v)| (json_key(name), to_json(v)))
                .collect(),
        ),
        Val::Variant(case, None) | Val::Enum(case) => Value::String(case.clone()),
        Val::Variant(case, Some(payload)) => serde_json::json!({ case.as_str(): to_json(payload) }),
        Val::Option(v) => v.as_deref().map_or(Value::Null, to_json),
        Val::Result(Ok(v)) => {
            serde_json::json!({ "ok": v.as_deref().map_or(Value::Null, to_json) })
        }
        Val::Result(Err(v)) => {
            serde_json::json!({ "err": v.as_deref().map_or(Value::Null, to_json) })
        }
        Val::Flags(names) => Value::Array(names.iter().map(|n| Value::String(n.clone())).collect()),
        // Not produced by supported types (see `supported`).
        Val::Map(_) | Val::Resource(_) | Val::Future(_) | Val::Stream(_) | Val::ErrorContext(_) => {
            Value::Null
        }
    }
}
