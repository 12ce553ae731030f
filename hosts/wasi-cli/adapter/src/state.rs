//! The adapter's state, one per instance: the declared connections, the
//! pushed XComs and the masker.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use airflow_connections::mask::Masker;
use airflow_connections::Connection;

/// Largest XCom value, in bytes (`aci-host`'s default bound).
const MAX_XCOM_BYTES: usize = 48 * 1024 * 1024;
/// Most XCom keys per task (`aci-host`'s default bound).
const MAX_XCOM_KEYS: usize = 1024;
/// Longest single `wait-cancelled`: one day (as `aci-host`).
pub const MAX_WAIT_MS: u64 = 86_400_000;
/// Longest budget pause: five minutes.
const MAX_PAUSE_MS: u64 = 300_000;

/// What the adapter remembers between calls.
#[derive(Default)]
pub struct State {
    /// The connection ids `get-connection` may resolve; `None` until the
    /// driver declares them (a plugin called before that gets none).
    declared: Option<BTreeSet<String>>,
    /// The operator's secret extras (masked once their connection is resolved).
    pub secret_extras: Vec<String>,
    /// The budget keys the call's plan declared; none until the driver grants them.
    budgets: BTreeSet<String>,
    /// Pushed XComs, JSON text by key.
    pub xcom: BTreeMap<String, String>,
    /// Every secret handed out so far.
    pub masker: Masker,
    /// Budgets paused by `pause-budget`, until when.
    paused: BTreeMap<String, Instant>,
}

thread_local! {
    static STATE: RefCell<State> = RefCell::new(State::default());
}

/// Runs `f` on the instance's state.
pub fn with<R>(f: impl FnOnce(&mut State) -> R) -> R {
    STATE.with(|s| f(&mut s.borrow_mut()))
}

impl State {
    /// Sets the connection ids of the call and the operator's secret extras.
    pub fn declare(&mut self, conn_ids: Vec<String>, secret_extras: Vec<String>) {
        self.declared = Some(conn_ids.into_iter().collect());
        self.secret_extras = secret_extras;
    }

    /// `Ok` when `conn_id` was declared; else why it is denied.
    pub fn check_declared(&self, conn_id: &str) -> Result<(), String> {
        let declared = self.declared.as_ref();
        if declared.is_some_and(|d| d.contains(conn_id)) {
            return Ok(());
        }
        let granted = match declared.map(|d| d.iter().cloned().collect::<Vec<_>>()) {
            Some(ids) if !ids.is_empty() => ids.join(", "),
            _ => "none".to_string(),
        };
        Err(format!(
            "connection `{conn_id}` is not one the task's operator declared for this call (granted: {granted})"
        ))
    }

    /// Grants the budget keys of the call's plan.
    pub fn grant_budgets(&mut self, keys: Vec<String>) {
        self.budgets = keys.into_iter().collect();
    }

    /// `Ok` when budget `key` was granted; else why it is denied (`aci-host`'s words).
    pub fn check_budget(&self, key: &str) -> Result<(), String> {
        if self.budgets.contains(key) {
            Ok(())
        } else {
            Err(format!(
                "budget `{key}` is not one the plan of this call declared"
            ))
        }
    }

    /// Masks the secrets of a connection just resolved.
    pub fn learn_secrets(&mut self, conn: &Connection) {
        self.masker.add_all(conn.secrets());
        self.masker
            .add_all(conn.declared_secrets(&self.secret_extras));
    }

    /// Pauses budget `key` for `millis` (bounded) from now.
    pub fn pause(&mut self, key: String, millis: u64) {
        let until = Instant::now() + Duration::from_millis(millis.min(MAX_PAUSE_MS));
        let entry = self.paused.entry(key).or_insert(until);
        *entry = (*entry).max(until);
    }

    /// How long budget `key` stays paused.
    pub fn pause_left(&self, key: &str) -> Duration {
        self.paused
            .get(key)
            .map(|until| until.saturating_duration_since(Instant::now()))
            .unwrap_or_default()
    }

    /// Stores an XCom value; an error says why it is invalid.
    pub fn push_xcom(&mut self, key: String, value: String) -> Result<(), String> {
        if value.len() > MAX_XCOM_BYTES {
            return Err(format!(
                "XCom `{key}` is {} bytes, over the {MAX_XCOM_BYTES} byte limit",
                value.len()
            ));
        }
        serde_json::from_str::<serde_json::Value>(&value)
            .map_err(|e| format!("XCom `{key}` is not JSON: {e}"))?;
        if !self.xcom.contains_key(&key) && self.xcom.len() >= MAX_XCOM_KEYS {
            return Err(format!("more than {MAX_XCOM_KEYS} XCom keys"));
        }
        self.xcom.insert(key, value);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_declared_connections_resolve() {
        let mut s = State::default();
        assert!(s.check_declared("a").unwrap_err().contains("granted: none"));
        s.declare(vec!["a".into(), "b".into()], vec![]);
        assert!(s.check_declared("a").is_ok());
        let e = s.check_declared("c").unwrap_err();
        assert!(e.contains("`c`") && e.contains("granted: a, b"), "{e}");
    }

    #[test]
    fn only_granted_budgets_are_served() {
        let mut s = State::default();
        assert!(s.check_budget("arm/s/reads").is_err());
        s.grant_budgets(vec!["arm/s/reads".into()]);
        assert!(s.check_budget("arm/s/reads").is_ok());
        let e = s.check_budget("arm/s/writes").unwrap_err();
        assert!(e.contains("`arm/s/writes`"), "{e}");
    }

    #[test]
    fn pauses_are_bounded_and_per_key() {
        let mut s = State::default();
        assert!(s.pause_left("k").is_zero());
        s.pause("k".into(), u64::MAX);
        assert!(s.pause_left("k") <= Duration::from_millis(MAX_PAUSE_MS));
        assert!(s.pause_left("k") > Duration::from_secs(60));
        assert!(s.pause_left("other").is_zero());
    }

    #[test]
    fn xcom_values_must_be_json() {
        let mut s = State::default();
        s.push_xcom("k".into(), "[1, 2]".into()).unwrap();
        assert!(s
            .push_xcom("k".into(), "{oops".into())
            .unwrap_err()
            .contains("not JSON"));
        assert_eq!(s.xcom["k"], "[1, 2]");
    }

    #[test]
    fn resolved_secrets_are_masked() {
        let mut s = State::default();
        s.declare(vec!["c".into()], vec!["token_extra".into()]);
        let conn = Connection::from_json(
            "c",
            r#"{"password": "pass-word-1", "extra": {"token_extra": "xtra-secret"}}"#,
        )
        .unwrap();
        s.learn_secrets(&conn);
        assert_eq!(s.masker.mask("pass-word-1 xtra-secret"), "*** ***");
    }
}
