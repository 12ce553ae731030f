//! `xcom-push`: the task's XCom values, JSON and bounded.

use std::collections::BTreeMap;

use super::{RuntimeError, RuntimeResult, TaskRuntime};

/// XCom values by key.
pub(super) type XcomValues = BTreeMap<String, serde_json::Value>;

impl TaskRuntime {
    /// The XCom values pushed so far.
    pub fn xcom(&self) -> XcomValues {
        self.xcom.clone()
    }

    /// Stores `value` (a JSON document) under `key`; a value that is not JSON
    /// or is over the size bound, or a key beyond the key bound, is `invalid`.
    pub(super) fn push_xcom(&mut self, key: String, value: &str) -> RuntimeResult<()> {
        let limits = &self.limits;
        if value.len() > limits.max_xcom_bytes {
            return Err(RuntimeError::invalid(format!(
                "XCom `{key}` is {} bytes, over the {} byte limit",
                value.len(),
                limits.max_xcom_bytes
            )));
        }
        let parsed: serde_json::Value = serde_json::from_str(value)
            .map_err(|e| RuntimeError::invalid(format!("XCom `{key}` is not JSON: {e}")))?;
        if !self.xcom.contains_key(&key) && self.xcom.len() >= limits.max_xcom_keys {
            return Err(RuntimeError::invalid(format!(
                "more than {} XCom keys",
                limits.max_xcom_keys
            )));
        }
        self.xcom.insert(key, parsed);
        Ok(())
    }
}
