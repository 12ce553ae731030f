//! Connections between the WIT record and the `airflow-connections` model.

use airflow_connections::Connection;

use crate::bindings::orchestrator::task::types::Connection as WitConnection;

/// The WIT record of a connection (empty strings as `none`, extras as JSON text).
pub fn to_wit(conn: &Connection) -> WitConnection {
    let non_empty = |s: &Option<String>| s.clone().filter(|v| !v.is_empty());
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

/// The model of a WIT connection record; extras that are not a JSON object
/// read as none.
pub fn from_wit(conn: &WitConnection) -> Connection {
    let extra = match serde_json::from_str(&conn.extra) {
        Ok(serde_json::Value::Object(map)) => map,
        _ => serde_json::Map::new(),
    };
    Connection {
        conn_id: conn.conn_id.clone(),
        conn_type: conn.conn_type.clone(),
        host: conn.host.clone(),
        login: conn.login.clone(),
        password: conn.password.clone(),
        schema: conn.schema.clone(),
        port: conn.port,
        extra,
    }
}
