//! Connections, following Airflow's conventions.
//!
//! The model and its URI and JSON forms are the `airflow-connections` crate
//! (re-exported here: [`Connection`], [`ConnectionError`], ...), shared with
//! the other hosts; this module adds where the host finds them: a
//! [`ConnectionResolver`] finds one by id.
//!
//! # Where connections come from, highest precedence first
//!
//! 1. **Overrides** ([`ConnectionResolver::with_override`]): connections the
//!    host itself imposes; `aci-host run --local` uses them to point the task's
//!    Azure connections at the built-in emulator.
//! 2. **`--conn ID=URI_OR_JSON`** options ([`ConnectionResolver::with_cli`]);
//!    a later option for the same id wins.
//! 3. **`--connections FILE`** files ([`ConnectionResolver::with_file`]), as
//!    written by `airflow connections export` (JSON, YAML, or the `env`
//!    format); a later file wins over an earlier one.
//! 4. **`AIRFLOW_CONN_<CONN_ID>`** environment variables
//!    ([`ConnectionResolver::with_env`]), where `<CONN_ID>` is the connection
//!    id in upper case; the value is a URI or, when it starts with `{`,
//!    Airflow's JSON form.
//!
//! When no source has the connection, [`ConnectionResolver::get`] returns
//! [`ConnectionError::NotFound`], whose message lists every place it looked.
//!
//! Normalisation and secrets: see the `airflow_connections` crate docs.

mod files;
mod resolver;

pub use airflow_connections::{
    env_var_name, normalize_conn_type, Connection, ConnectionError, ENV_PREFIX,
};
pub use resolver::ConnectionResolver;
