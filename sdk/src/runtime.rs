//! Rust-shaped access to the host's runtime services (`orchestrator:task/runtime`):
//! connections, logging, XCom, cancellation, granted files and shared rate
//! budgets.
//!
//! Every function here calls the host; outside a component (in native unit
//! tests) they panic, so code under test reaches them through a trait of its own.

use crate::bindings::orchestrator::task::runtime as host;
use crate::error::{Error, Result};
use crate::wit::{Connection, LogLevel};

/// Resolves a connection through the host.
pub fn connection(conn_id: &str) -> Result<Connection> {
    host::get_connection(conn_id).map_err(|e| match e {
        host::HostError::NotFound(m) => {
            Error::Connection(format!("connection `{conn_id}` not found: {m}"))
        }
        host::HostError::Denied(m) => Error::Denied(m),
        host::HostError::Invalid(m) => {
            Error::Connection(format!("connection `{conn_id}` is invalid: {m}"))
        }
        host::HostError::Internal(m) => Error::Internal(m),
    })
}

/// The connection's extras as a JSON object (empty when absent or not an object).
pub fn extras(conn: &Connection) -> serde_json::Map<String, serde_json::Value> {
    match serde_json::from_str::<serde_json::Value>(&conn.extra) {
        Ok(serde_json::Value::Object(m)) => m,
        _ => serde_json::Map::new(),
    }
}

/// Writes one line to the task's log at `level` (the host masks known secrets).
pub fn log(level: LogLevel, msg: impl AsRef<str>) {
    host::log(level, msg.as_ref());
}

/// Logs at trace level.
pub fn trace(msg: impl AsRef<str>) {
    log(LogLevel::Trace, msg);
}

/// Logs at debug level.
pub fn debug(msg: impl AsRef<str>) {
    log(LogLevel::Debug, msg);
}

/// Logs at info level.
pub fn info(msg: impl AsRef<str>) {
    log(LogLevel::Info, msg);
}

/// Logs at warning level.
pub fn warn(msg: impl AsRef<str>) {
    log(LogLevel::Warning, msg);
}

/// Logs at error level.
pub fn error(msg: impl AsRef<str>) {
    log(LogLevel::Error, msg);
}

/// Pushes an XCom value (serialised to JSON) under `key` for this task instance.
pub fn xcom_push(key: &str, value: &serde_json::Value) -> Result<()> {
    host::xcom_push(key, &value.to_string())
        .map_err(|e| Error::Internal(format!("xcom push of `{key}` failed: {e:?}")))
}

/// True once the host asked the task to stop.
pub fn cancelled() -> bool {
    host::cancelled()
}

/// Sleeps up to `millis`, returning `true` early if the task was cancelled.
pub fn wait_cancelled(millis: u64) -> bool {
    host::wait_cancelled(millis)
}

/// Reads a file the host granted (e.g. a federated token file).
pub fn read_granted_file(path: &str) -> Result<Vec<u8>> {
    host::read_granted_file(path).map_err(|e| match e {
        host::HostError::Denied(m) => Error::Denied(m),
        host::HostError::NotFound(m) => Error::Connection(format!("file `{path}` not found: {m}")),
        other => Error::Connection(format!("file `{path}` could not be read: {other:?}")),
    })
}

/// Takes one token of the shared budget `key` (declared in the plan's
/// `budgets`) before a request to a rate-limited service, waiting while the
/// host's bucket is empty or paused. `urgent` requests (creates, deletes,
/// cleanup) go ahead of routine ones (polls). `Ok(true)`: go ahead;
/// `Ok(false)`: the task was cancelled while the request waited (no token
/// taken; a request made after the cancellation, for cleanup, is served);
/// `Err`: the host refused the key (not declared) or failed.
pub fn acquire_budget(key: &str, urgent: bool) -> Result<bool> {
    host::acquire_budget(key, urgent).map_err(|e| budget_error(key, e))
}

/// Tells the host that the service throttled a request drawn on `key`
/// (e.g. a `429` with `Retry-After`): every task's requests on that budget
/// wait `millis` milliseconds (the host bounds the pause).
pub fn pause_budget(key: &str, millis: u64) -> Result<()> {
    host::pause_budget(key, millis).map_err(|e| budget_error(key, e))
}

/// A host error about budget `key` as an [`Error`].
fn budget_error(key: &str, e: host::HostError) -> Error {
    match e {
        host::HostError::Denied(m) => Error::Denied(format!("budget `{key}`: {m}")),
        host::HostError::NotFound(m)
        | host::HostError::Invalid(m)
        | host::HostError::Internal(m) => Error::Internal(format!("budget `{key}`: {m}")),
    }
}
