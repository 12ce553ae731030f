//! `orchestrator:task/runtime` over `wasi:cli`: the adapter that lets a stock
//! WASI 0.2 runtime (`wasmtime run -S http`) host a task plugin, composed with
//! the plugin and the driver into `aci-cli.wasm` (see `../README` in the
//! repository's "Run it in your orchestrator").
//!
//! What each runtime function does here:
//!
//! | function | adapter |
//! |---|---|
//! | `get-connection` | `AIRFLOW_CONN_<ID>` from the environment (Airflow's URI or JSON form); only the ids declared through `session.declare` (any other id is `denied`, as in `aci-host`); its secrets are masked from then on |
//! | `log` | one line on stderr (`WARNING message`; info lines bare; debug and trace only with `ACI_LOG=debug`), known secrets masked |
//! | `xcom-push` | kept in memory (JSON checked, bounded as in `aci-host`); the driver prints them |
//! | `cancelled` | always `false`: nothing can cancel a `wasi:cli` program but killing it |
//! | `wait-cancelled` | sleeps the whole time on the monotonic clock, answers `false` |
//! | `acquire-budget` | a key the call's plan declared (`session.grant-budgets`; any other is `denied`): granted at once (one task per process), after any pause `pause-budget` asked for |
//! | `pause-budget` | a declared key: holds its next `acquire-budget` for the time given (at most 5 minutes) |
//! | `read-granted-file` | always `denied`: this adapter grants no file |
//!
//! The `airflow-connections` export gives the same parsing, redaction and
//! masking to hosts written in other languages (the Node host).

#![deny(missing_docs)]

mod bindings;
mod convert;
mod state;

use std::time::Duration;

use airflow_connections::{env_var_name, mask::Masker as SecretMasker, Connection};

use bindings::exports::aci::cli::airflow_connections as airflow;
use bindings::exports::aci::cli::session::{self, LookupError};
use bindings::exports::orchestrator::task::runtime::{self, HostError};
use bindings::orchestrator::task::types::{Connection as WitConnection, LogLevel};

/// Longest log line written; longer ones are cut (as `aci-host` does).
const MAX_LOG_LINE: usize = 64 * 1024;

/// The component's exports.
struct Adapter;

impl runtime::Guest for Adapter {
    fn get_connection(conn_id: String) -> Result<WitConnection, HostError> {
        match lookup(&conn_id) {
            Ok(conn) => Ok(convert::to_wit(&conn)),
            Err(LookupError::NotFound(m)) => Err(HostError::NotFound(m)),
            Err(LookupError::Invalid(m)) => Err(HostError::Invalid(m)),
            Err(LookupError::Denied(m)) => Err(HostError::Denied(m)),
        }
    }

    fn log(level: LogLevel, message: String) {
        if matches!(level, LogLevel::Trace | LogLevel::Debug) && !debug_logs() {
            return;
        }
        let tag = match level {
            LogLevel::Trace => "TRACE ",
            LogLevel::Debug => "DEBUG ",
            LogLevel::Info => "",
            LogLevel::Warning => "WARNING ",
            LogLevel::Error => "ERROR ",
        };
        let line = state::with(|s| s.masker.mask(&message));
        eprintln!("{tag}{}", truncate(line, MAX_LOG_LINE));
    }

    fn xcom_push(key: String, value: String) -> Result<(), HostError> {
        state::with(|s| s.push_xcom(key, value)).map_err(HostError::Invalid)
    }

    fn cancelled() -> bool {
        false
    }

    fn wait_cancelled(millis: u64) -> bool {
        std::thread::sleep(Duration::from_millis(millis.min(state::MAX_WAIT_MS)));
        false
    }

    fn acquire_budget(key: String, _urgent: bool) -> Result<bool, HostError> {
        // One task per process: no other task shares the budget, so a token
        // is granted at once, after any pause the service asked for.
        let wait = state::with(|s| s.check_budget(&key).map(|()| s.pause_left(&key)))
            .map_err(HostError::Denied)?;
        if !wait.is_zero() {
            std::thread::sleep(wait);
        }
        Ok(true)
    }

    fn pause_budget(key: String, millis: u64) -> Result<(), HostError> {
        state::with(|s| s.check_budget(&key).map(|()| s.pause(key, millis)))
            .map_err(HostError::Denied)
    }

    fn read_granted_file(path: String) -> Result<Vec<u8>, HostError> {
        Err(HostError::Denied(format!(
            "file `{path}`: the wasi:cli adapter grants no file (run the task with aci-host or the Node host to read granted files)"
        )))
    }
}

impl session::Guest for Adapter {
    fn declare(conn_ids: Vec<String>, secret_extras: Vec<String>) {
        state::with(|s| s.declare(conn_ids, secret_extras));
    }

    fn planned_connection(conn_id: String) -> Result<WitConnection, LookupError> {
        let conn = lookup(&conn_id)?;
        let secret_extras = state::with(|s| s.secret_extras.clone());
        Ok(convert::to_wit(&conn.redacted(&secret_extras)))
    }

    fn grant_budgets(keys: Vec<String>) {
        state::with(|s| s.grant_budgets(keys));
    }

    fn add_secrets(values: Vec<String>) {
        state::with(|s| s.masker.add_all(values));
    }

    fn xcom() -> Vec<(String, String)> {
        state::with(|s| s.xcom.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
    }

    fn mask(text: String) -> String {
        state::with(|s| s.masker.mask(&text))
    }
}

impl airflow::Guest for Adapter {
    fn parse(conn_id: String, text: String) -> Result<WitConnection, String> {
        Connection::from_uri_or_json(&conn_id, &text)
            .map(|c| convert::to_wit(&c))
            .map_err(|e| e.to_string())
    }

    fn secrets(conn: WitConnection, secret_extras: Vec<String>) -> Vec<String> {
        let conn = convert::from_wit(&conn);
        let mut out = conn.secrets();
        out.extend(conn.declared_secrets(&secret_extras));
        out.sort();
        out.dedup();
        out
    }

    fn redacted(conn: WitConnection, secret_extras: Vec<String>) -> WitConnection {
        convert::to_wit(&convert::from_wit(&conn).redacted(&secret_extras))
    }

    fn mask(secrets: Vec<String>, text: String) -> String {
        let masker = SecretMasker::new();
        masker.add_all(secrets);
        masker.mask(&text)
    }
}

/// A declared connection from `AIRFLOW_CONN_<ID>`, its secrets learnt by the
/// masker; why not, worded as `aci-host` words it.
fn lookup(conn_id: &str) -> Result<Connection, LookupError> {
    state::with(|s| s.check_declared(conn_id)).map_err(LookupError::Denied)?;
    let var = env_var_name(conn_id);
    let Some(text) = std::env::var(&var).ok().filter(|v| !v.trim().is_empty()) else {
        return Err(LookupError::NotFound(format!(
            "connection `{conn_id}` is not defined; looked in 1. environment variable {var} (not set)"
        )));
    };
    let conn = Connection::from_uri_or_json(conn_id, &text).map_err(|e| {
        LookupError::Invalid(
            e.with_origin(format!("environment variable {var}"))
                .to_string(),
        )
    })?;
    state::with(|s| s.learn_secrets(&conn));
    Ok(conn)
}

/// True when `ACI_LOG` asks for debug lines (`debug` or `trace`).
fn debug_logs() -> bool {
    std::env::var("ACI_LOG")
        .is_ok_and(|v| matches!(v.to_ascii_lowercase().as_str(), "debug" | "trace"))
}

/// `text` cut to at most `max` bytes (on a character boundary), marked when cut.
fn truncate(mut text: String, max: usize) -> String {
    if text.len() > max {
        let mut cut = max;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
        text.push_str(" …[truncated]");
    }
    text
}

// Only the wasm build exports symbols: the export names contain `:`, which
// native linkers reject in version scripts (the native build only runs the
// unit tests).
#[cfg(target_arch = "wasm32")]
bindings::export!(Adapter with_types_in bindings);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lines_are_cut_on_a_char_boundary() {
        assert_eq!(truncate("abc".into(), 5), "abc");
        assert_eq!(truncate("aé".into(), 2), "a …[truncated]");
    }
}
