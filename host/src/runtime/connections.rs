//! `get-connection`: the [`ConnectionProvider`] the embedder supplies, asked
//! only for the connection ids the call was granted.

use std::fmt;

use crate::bindings::{HostError, WitConnection};
use crate::connections::{Connection, ConnectionError, ConnectionResolver};

use super::{RuntimeError, RuntimeResult, TaskRuntime};

/// Resolves connection ids for a task. Implemented by the CLI's resolver (env,
/// files, `--conn`), by local mode and by embedders.
pub trait ConnectionProvider: Send + Sync {
    /// The connection, or why there is none.
    fn connection(&self, conn_id: &str) -> Result<Connection, ConnectionLookupError>;
}

/// Why a [`ConnectionProvider`] gives no connection; each case becomes the
/// `host-error` case of the same name. Messages reach the guest and the
/// user: they must not contain a secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConnectionLookupError {
    /// No source defines it; the message says where the provider looked.
    NotFound(String),
    /// It is defined but malformed (e.g. an `AIRFLOW_CONN_X` URI that does not parse).
    Invalid(String),
    /// The provider refuses it to this task.
    Denied(String),
}

impl fmt::Display for ConnectionLookupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConnectionLookupError::NotFound(m)
            | ConnectionLookupError::Invalid(m)
            | ConnectionLookupError::Denied(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for ConnectionLookupError {}

impl From<ConnectionError> for ConnectionLookupError {
    fn from(e: ConnectionError) -> Self {
        match e {
            ConnectionError::NotFound { .. } => ConnectionLookupError::NotFound(e.to_string()),
            ConnectionError::Invalid { .. }
            | ConnectionError::BadOption { .. }
            | ConnectionError::File { .. } => ConnectionLookupError::Invalid(e.to_string()),
        }
    }
}

impl From<ConnectionLookupError> for HostError {
    fn from(e: ConnectionLookupError) -> Self {
        match e {
            ConnectionLookupError::NotFound(m) => HostError::NotFound(m),
            ConnectionLookupError::Invalid(m) => HostError::Invalid(m),
            ConnectionLookupError::Denied(m) => HostError::Denied(m),
        }
    }
}

impl ConnectionProvider for ConnectionResolver {
    fn connection(&self, conn_id: &str) -> Result<Connection, ConnectionLookupError> {
        Ok(self.get(conn_id)?)
    }
}

fn non_empty(s: &Option<String>) -> Option<String> {
    s.clone().filter(|v| !v.is_empty())
}

impl From<&Connection> for WitConnection {
    /// The WIT record of a connection (empty strings as `none`, extras as JSON text).
    fn from(conn: &Connection) -> WitConnection {
        WitConnection {
            conn_id: conn.conn_id.clone(),
            conn_type: non_empty(&conn.conn_type),
            host: non_empty(&conn.host),
            login: non_empty(&conn.login),
            password: non_empty(&conn.password),
            schema: non_empty(&conn.schema),
            port: conn.port,
            extra: conn.extra_json(),
        }
    }
}

impl TaskRuntime {
    /// Resolves `conn_id` when the call was granted it (else `denied`); from
    /// then on its secrets are masked. Grants nothing else.
    pub(super) fn resolve_connection(&mut self, conn_id: &str) -> RuntimeResult<WitConnection> {
        if !self.granted_connections.contains(conn_id) {
            let granted: Vec<&str> = self
                .granted_connections
                .iter()
                .map(String::as_str)
                .collect();
            let granted = match granted.is_empty() {
                true => "none".to_string(),
                false => granted.join(", "),
            };
            return Err(RuntimeError::denied(format!(
                "connection `{conn_id}` is not one the task's operator declared for this call (granted: {granted})"
            )));
        }
        let conn = self
            .connections
            .connection(conn_id)
            .map_err(HostError::from)?;
        for secret in conn.secrets() {
            self.masker.add(&secret);
        }
        Ok(WitConnection::from(&conn))
    }
}
