//! `xcom-push`: the task's XCom values, JSON and bounded.

use std::collections::BTreeMap;

use super::{RuntimeError, RuntimeResult, TaskRuntime};

/// XCom values by key.
pub(super) type XcomValues = BTreeMap<String, serde_json::Value>;

/// The task's XCom values and the bytes of JSON each was pushed as.
#[derive(Default)]
pub(super) struct Xcoms {
    values: XcomValues,
    sizes: BTreeMap<String, usize>,
    total: usize,
}

impl TaskRuntime {
    /// The XCom values pushed so far.
    pub fn xcom(&self) -> XcomValues {
        self.xcom.values.clone()
    }

    /// Stores `value` (a JSON document) under `key`; a value that is not JSON
    /// or is over the size bound, a key beyond the key bound, or a value that
    /// would take the task's values over their total bound is `invalid`.
    pub(super) fn push_xcom(&mut self, key: String, value: &str) -> RuntimeResult<()> {
        let limits = &self.limits;
        if value.len() > limits.max_xcom_bytes {
            return Err(RuntimeError::invalid(format!(
                "XCom `{key}` is {} bytes, over the {} byte limit",
                value.len(),
                limits.max_xcom_bytes
            )));
        }
        let xcom = &mut self.xcom;
        let replaced = xcom.sizes.get(&key).copied();
        if replaced.is_none() && xcom.values.len() >= limits.max_xcom_keys {
            return Err(RuntimeError::invalid(format!(
                "more than {} XCom keys",
                limits.max_xcom_keys
            )));
        }
        let total = xcom.total - replaced.unwrap_or(0) + value.len();
        if total > limits.max_xcom_total_bytes {
            return Err(RuntimeError::invalid(format!(
                "XCom `{key}` would bring this task's XCom values to {total} bytes, \
                 over the {} byte limit per task",
                limits.max_xcom_total_bytes
            )));
        }
        let parsed: serde_json::Value = serde_json::from_str(value)
            .map_err(|e| RuntimeError::invalid(format!("XCom `{key}` is not JSON: {e}")))?;
        xcom.total = total;
        xcom.sizes.insert(key.clone(), value.len());
        xcom.values.insert(key, parsed);
        Ok(())
    }
}
