//! The params object as [`from_value`](super::from_value) reads it: lookups
//! that tell an absent or `null` parameter from a given one, Python's
//! defaults (`value or default`), and the parameters whose parsing is more
//! than one call.

use serde_json::{Map, Value};

use super::value::{self, boolean, non_empty_string, number, truthy};
use super::{nested, EnvVar, VolumeSpec, DEFAULT_POLLING_INTERVAL, REQUIRED};
use task_plugin_sdk::{Error, Result};

/// The rendered params object.
pub(super) struct Args<'a>(pub(super) &'a Map<String, Value>);

impl<'a> Args<'a> {
    /// The value as given (`null` included).
    pub(super) fn get(&self, key: &str) -> Option<&'a Value> {
        self.0.get(key)
    }

    /// `parse` of the value, or `None` when it is absent or `null`.
    pub(super) fn opt<T>(
        &self,
        key: &str,
        parse: impl FnOnce(&'a Value) -> Result<T>,
    ) -> Result<Option<T>> {
        self.get(key)
            .filter(|v| !v.is_null())
            .map(parse)
            .transpose()
    }

    /// A list parameter: `parse` of the value, or empty when it is absent or `null`.
    pub(super) fn list<T>(
        &self,
        key: &str,
        parse: impl FnOnce(&'a Value) -> Result<Vec<T>>,
    ) -> Result<Vec<T>> {
        Ok(self.opt(key, parse)?.unwrap_or_default())
    }

    /// Python's `value or default` for a number: falsy gives the default.
    pub(super) fn or_number(&self, key: &str, default: f64) -> Result<f64> {
        match self.get(key) {
            Some(v) if truthy(v) => {
                let n = number(key, v)?;
                if n < 0.0 {
                    return Err(Error::InvalidParams(format!(
                        "{key} must be greater than 0, found {n}"
                    )));
                }
                Ok(n)
            }
            _ => Ok(default),
        }
    }

    /// A boolean with a default when absent.
    pub(super) fn flag(&self, key: &str, default: bool) -> Result<bool> {
        match self.get(key) {
            Some(v) => boolean(key, v),
            None => Ok(default),
        }
    }

    /// The [`REQUIRED`] parameters, in that order: non-empty strings.
    pub(super) fn required(&self) -> Result<[String; 5]> {
        let mut required = Vec::with_capacity(REQUIRED.len());
        for key in REQUIRED {
            match self.get(key).filter(|v| !v.is_null()) {
                Some(v) => required.push(non_empty_string(key, v).or_else(|e| match (key, v) {
                    // An empty name fails Airflow's name check, reported at the end.
                    ("name", Value::String(_)) => Ok(String::new()),
                    _ => Err(e),
                })?),
                None => {
                    return Err(Error::InvalidParams(format!(
                        "missing required parameter `{key}`"
                    )))
                }
            }
        }
        required
            .try_into()
            .map_err(|_| Error::Internal("required params".into()))
    }

    /// `polling_interval`: a number greater than 0.
    pub(super) fn polling_interval(&self) -> Result<f64> {
        match self.get("polling_interval") {
            Some(v) => {
                let p = number("polling_interval", v)?;
                if p <= 0.0 {
                    return Err(Error::InvalidParams(format!(
                        "polling_interval must be greater than 0, found {p}"
                    )));
                }
                Ok(p)
            }
            None => Ok(DEFAULT_POLLING_INTERVAL),
        }
    }
}

/// `environment_variables`: a map of non-empty names to values.
pub(super) fn environment_variables(v: &Value) -> Result<Vec<EnvVar>> {
    value::string_map("environment_variables", v)?
        .into_iter()
        .map(|(name, value)| {
            if name.is_empty() {
                Err(Error::InvalidParams(
                    "environment_variables: a variable name must not be empty".into(),
                ))
            } else {
                Ok(EnvVar { name, value })
            }
        })
        .collect()
}

/// `secured_variables`: one name or a list of names.
pub(super) fn secured_variables(v: &Value) -> Result<Vec<String>> {
    match v {
        Value::String(s) => Ok(vec![s.clone()]),
        v => value::string_list("secured_variables", v),
    }
}

/// `volumes`: a list of volume tuples.
pub(super) fn volumes(v: &Value) -> Result<Vec<VolumeSpec>> {
    value::array("volumes", v)?
        .iter()
        .enumerate()
        .map(|(i, e)| nested::parse_volume(&format!("volumes[{i}]"), e))
        .collect()
}
