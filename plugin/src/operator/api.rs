//! What the operator needs from the outside, as two small traits: the ACI
//! calls ([`Cloud`], over the hook) and the host's runtime services
//! ([`Host`]). The real implementations are in [`super::live`]; unit tests
//! drive the same operator code with simulated ones.
//!
//! Container groups cross this boundary as ARM JSON (the REST shape), so the
//! operator's logic depends on the wire format, not on a model's field names.

use serde_json::Value;

use task_plugin_sdk::Result;

/// Log severity of an operator message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    /// Diagnostics.
    Debug,
    /// Progress and container output.
    Info,
    /// Recovered problems.
    Warn,
    /// Failures.
    Error,
}

/// The ACI operations the operator uses. Every method is one ARM request
/// (plus the ARM client's own bounded retries), except where noted.
pub trait Cloud {
    /// One GET: does the group exist?
    fn exists(&self, rg: &str, name: &str) -> Result<bool>;
    /// One GET: the group with its instance views, as ARM JSON.
    fn get_group(&self, rg: &str, name: &str) -> Result<Value>;
    /// PUT the group (ARM JSON body) without waiting for provisioning.
    fn create(&self, rg: &str, name: &str, body: &Value) -> Result<()>;
    /// One `listLogs` with timestamps: the container's log content (`None`
    /// when ARM returned no content). `tail: None` fetches the whole log.
    fn logs(
        &self,
        rg: &str,
        name: &str,
        container: &str,
        tail: Option<u32>,
    ) -> Result<Option<String>>;
    /// DELETE the group; with `wait`, until ARM reports it gone. True when it existed.
    fn delete(&self, rg: &str, name: &str, wait: bool) -> Result<bool>;
    /// The `imageRegistryCredentials` entry for a registry connection (ARM JSON).
    fn registry_credential(&self, conn_id: &str) -> Result<Value>;
    /// An Azure File `volumes` entry (ARM JSON) for a storage connection.
    fn file_volume(
        &self,
        conn_id: &str,
        mount_name: &str,
        share_name: &str,
        account_name: &str,
        read_only: bool,
    ) -> Result<Value>;
}

/// The host's runtime services the operator uses.
pub trait Host {
    /// Writes one line to the task log.
    fn log(&self, level: Level, message: &str);
    /// Pushes an XCom value.
    fn xcom_push(&self, key: &str, value: &Value) -> Result<()>;
    /// True once the host asked the task to stop.
    fn cancelled(&self) -> bool;
    /// Sleeps up to `millis`; true (early) if the task is cancelled.
    fn wait_cancelled(&self, millis: u64) -> bool;
    /// Monotonic milliseconds.
    fn now_ms(&self) -> u64;

    /// [`Host::log`] at info level.
    fn info(&self, message: &str) {
        self.log(Level::Info, message)
    }
    /// [`Host::log`] at warning level.
    fn warn(&self, message: &str) {
        self.log(Level::Warn, message)
    }
    /// [`Host::log`] at error level.
    fn error(&self, message: &str) {
        self.log(Level::Error, message)
    }
    /// [`Host::log`] at debug level.
    fn debug(&self, message: &str) {
        self.log(Level::Debug, message)
    }
}
