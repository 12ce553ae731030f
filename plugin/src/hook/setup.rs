//! Turning a connection into an [`ArmClient`]: the host-backed environment and file
//! readers the credential selection needs, and the logging of its choice.

use std::cell::Cell;
use std::rc::Rc;

use crate::arm::retry::RetryPolicy;
use crate::arm::ArmClient;
use crate::auth::AuthSetup;
use task_plugin_sdk::{runtime, Connection};
use task_plugin_sdk::{Error, Result};

/// Environment variables the credential chain reads (workload identity), declared as the
/// operator's environment: the host passes these, when set, and nothing else.
pub const AUTH_ENV_VARS: [&str; 4] = [
    "AZURE_FEDERATED_TOKEN_FILE",
    "AZURE_CLIENT_ID",
    "AZURE_TENANT_ID",
    "AZURE_AUTHORITY_HOST",
];

/// Reads one of [`AUTH_ENV_VARS`] from the WASI environment (others are `None`).
pub fn env_var(name: &str) -> Option<String> {
    if !AUTH_ENV_VARS.contains(&name) {
        return None;
    }
    std::env::var(name).ok()
}

/// Reads a file the host granted (errors as plain text for the credential selection).
pub fn read_file(path: &str) -> std::result::Result<Vec<u8>, String> {
    runtime::read_granted_file(path).map_err(|e| match e {
        Error::Denied(m) => format!("the host denied reading it ({m})"),
        other => other.to_string(),
    })
}

/// Logs the selection's notes and warnings.
pub fn log_setup(setup: &AuthSetup) {
    for n in &setup.notes {
        runtime::info(n);
    }
    for w in &setup.warnings {
        runtime::warn(w);
    }
}

/// An ARM client for `conn` with `setup`; `subscription` must be known.
pub fn client(
    conn: &Connection,
    setup: &AuthSetup,
    subscription: Option<&str>,
    what: &str,
    counter: Rc<Cell<u64>>,
) -> Result<ArmClient> {
    let sub = subscription
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            Error::Connection(format!("connection `{}` has no {what} extra", conn.conn_id))
        })?;
    let policy = RetryPolicy::from_extras(&runtime::extras(conn));
    Ok(ArmClient::new(&conn.conn_id, setup, sub, policy, counter))
}

/// An ARM client for a registry or volume connection's ARM fallback
/// (`listCredentials` / `listKeys`): Airflow's `DefaultAzureCredential` with
/// the connection's managed-identity extras, in `subscription` (or the
/// connection's `subscription_id` extra).
pub fn default_client(
    conn: &Connection,
    extras: &serde_json::Map<String, serde_json::Value>,
    subscription: Option<&str>,
) -> Result<ArmClient> {
    let setup = crate::auth::credential::select_default(conn, extras, &env_var)
        .map_err(Error::Connection)?;
    log_setup(&setup);
    let subscription = subscription.or(setup.subscription_id.as_deref());
    client(
        conn,
        &setup,
        subscription,
        "subscription_id",
        Rc::new(Cell::new(0)),
    )
}
