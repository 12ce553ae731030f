//! The step before every call of a plugin: what its operator declares becomes
//! the call's [`Grant`].
//!
//! 1. `describe` (cached by the [`Runner`](super::Runner)) names the host
//!    environment variables the operator reads and its secret extras.
//! 2. The connection ids: `connection-ids(params)` for a task; every argument
//!    or record field named `conn-id` for a hook call ([`conn_ids_in_args`]).
//! 3. Those connections are resolved through the task's
//!    [`ConnectionProvider`]; a missing one is a connection error, worded as
//!    the plugin would word it. Their secrets (password, secret extras) are
//!    added to the masker, and the plugin sees them redacted
//!    ([`Connection::redacted`]).
//! 4. `plan(params, connections)` answers the origins, files and budgets.
//! 5. The [`Grant`]: those ids, origins, files and budgets, and the declared
//!    environment names; the runner adds `--allow-host` and checks a pinned
//!    grant.
//!
//! The plugin runs these steps in a store whose grant is still empty: any
//! connection, file or request it asks for meanwhile is denied.

use wasmtime::Store;

use crate::bindings::task::exports::orchestrator::task::task_operator::Guest as TaskOperator;
use crate::bindings::task::orchestrator::task::types::TaskPlan;
use crate::bindings::{OperatorInfo, TaskError, WitConnection};
use crate::connections::Connection;
use crate::grant::{sorted_budgets, Grant, GrantedBudget};
use crate::mask::Masker;
use crate::policy::AllowRule;
use crate::runtime::{ConnectionLookupError, ConnectionProvider};

/// What planning reads besides the plugin: the operator's description, where
/// connections come from, and the masker that learns their secrets.
pub struct Declaration<'a> {
    /// The operator's description (`environment`, `secret-extras`).
    pub info: &'a OperatorInfo,
    /// Resolves the declared connection ids.
    pub connections: &'a dyn ConnectionProvider,
    /// Learns the secrets of every connection resolved.
    pub masker: &'a Masker,
}

/// How a connection that cannot be used is handled while planning.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Strictness {
    /// A task: a missing connection or a failing plan fails the task.
    Task,
    /// A hook call: the ids stay granted, but a connection that does not
    /// resolve is not planned and a failing plan grants no origin, so the
    /// call itself meets the same error and reports it in its own type (e.g.
    /// `test-connection`'s `(false, reason)`).
    Hook,
}

/// Asks the plugin for a task's connection ids, then plans (see the module docs).
pub async fn task_grant<T: Send + 'static>(
    store: &mut Store<T>,
    operator: &TaskOperator,
    decl: &Declaration<'_>,
    params: &str,
) -> wasmtime::Result<Result<Grant, TaskError>> {
    let ids = match operator.call_connection_ids(&mut *store, params).await? {
        Ok(ids) => ids,
        Err(e) => return Ok(Err(e)),
    };
    plan_grant(store, operator, decl, Some(params), ids, Strictness::Task).await
}

/// Resolves `ids`, asks the plugin's `plan` and builds the grant (steps 3–5).
pub async fn plan_grant<T: Send + 'static>(
    store: &mut Store<T>,
    operator: &TaskOperator,
    decl: &Declaration<'_>,
    params: Option<&str>,
    ids: Vec<String>,
    strictness: Strictness,
) -> wasmtime::Result<Result<Grant, TaskError>> {
    let mut shown = Vec::new();
    for id in &ids {
        match resolve(decl, id) {
            Ok(conn) => shown.push(WitConnection::from(
                &conn.redacted(&decl.info.secret_extras),
            )),
            Err(e) if strictness == Strictness::Task => return Ok(Err(e)),
            Err(e) => tracing::debug!("connection `{id}` not planned: {e:?}"),
        }
    }
    let plan = match operator.call_plan(&mut *store, params, &shown).await? {
        Ok(plan) => plan,
        Err(e) if strictness == Strictness::Task => return Ok(Err(e)),
        Err(e) => {
            tracing::debug!("the plan failed, no origin granted: {e:?}");
            TaskPlan {
                origins: Vec::new(),
                files: Vec::new(),
                budgets: Vec::new(),
            }
        }
    };
    Ok(grant_of(decl.info, ids, plan))
}

/// A declared connection, with its secrets added to the masker; a lookup
/// failure worded as the plugin words it (`connection `x` not found: …`).
fn resolve(decl: &Declaration<'_>, id: &str) -> Result<Connection, TaskError> {
    match decl.connections.connection(id) {
        Ok(conn) => {
            decl.masker.add_all(conn.secrets());
            decl.masker
                .add_all(conn.declared_secrets(&decl.info.secret_extras));
            Ok(conn)
        }
        Err(ConnectionLookupError::NotFound(m)) => Err(TaskError::Connection(format!(
            "connection `{id}` not found: {m}"
        ))),
        Err(ConnectionLookupError::Invalid(m)) => Err(TaskError::Connection(format!(
            "connection `{id}` is invalid: {m}"
        ))),
        Err(ConnectionLookupError::Denied(m)) => Err(TaskError::Denied(m)),
    }
}

/// The grant of a plan: its origins (checked), files and budgets, the
/// declared ids and environment names.
fn grant_of(info: &OperatorInfo, ids: Vec<String>, plan: TaskPlan) -> Result<Grant, TaskError> {
    let invalid = |m: String| TaskError::Internal(format!("the plugin's plan is invalid: {m}"));
    let origins = plan
        .origins
        .iter()
        .map(|o| {
            AllowRule::from_parts(&o.scheme, &o.host, o.port).map_err(|e| invalid(e.to_string()))
        })
        .collect::<Result<_, _>>()?;
    if let Some(bad) = plan.files.iter().find(|f| f.trim().is_empty()) {
        return Err(invalid(format!("file `{bad}` is not a path")));
    }
    let budgets = plan
        .budgets
        .into_iter()
        .map(|b| GrantedBudget {
            key: b.key,
            class: b.class,
            capacity: b.capacity,
            refill_per_second: b.refill_per_second,
        })
        .collect();
    let budgets = sorted_budgets(budgets).map_err(invalid)?;
    Ok(Grant {
        connections: ids.into_iter().collect(),
        origins,
        allow_hosts: Default::default(),
        files: plan.files.into_iter().collect(),
        environment: info.environment.iter().cloned().collect(),
        budgets,
    })
}

/// The connection ids of a hook call: every argument named `conn-id` and every
/// record field of that name, at any depth, that holds a string.
pub fn conn_ids_in_args(
    params: &[(String, wasmtime::component::Type)],
    args: &[wasmtime::component::Val],
) -> Vec<String> {
    use wasmtime::component::Val;
    fn walk(name: Option<&str>, v: &Val, out: &mut Vec<String>) {
        match v {
            Val::String(s) if name == Some("conn-id") && !out.contains(s) => out.push(s.clone()),
            Val::Record(fields) => fields.iter().for_each(|(n, v)| walk(Some(n), v, out)),
            Val::List(items) | Val::Tuple(items) => items.iter().for_each(|v| walk(None, v, out)),
            Val::Option(Some(v)) => walk(name, v, out),
            _ => {}
        }
    }
    let mut out = Vec::new();
    for ((name, _), v) in params.iter().zip(args) {
        walk(Some(name), v, &mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bindings::task::orchestrator::task::types::Origin;
    use wasmtime::component::Val;

    fn info() -> OperatorInfo {
        OperatorInfo {
            name: "Op".into(),
            version: "1".into(),
            template_fields: vec![],
            params_schema: "{}".into(),
            environment: vec!["B_VAR".into(), "A_VAR".into()],
            secret_extras: vec![],
        }
    }

    fn origin(scheme: &str, host: &str, port: u16) -> Origin {
        Origin {
            scheme: scheme.into(),
            host: host.into(),
            port,
        }
    }

    #[test]
    fn a_plan_becomes_a_sorted_grant() {
        let plan = TaskPlan {
            origins: vec![
                origin("https", "Login.Example", 443),
                origin("http", "::1", 8080),
                origin("https", "login.example.", 443),
            ],
            files: vec!["/t".into(), "/t".into()],
            budgets: vec![],
        };
        let g = grant_of(&info(), vec!["b".into(), "a".into(), "b".into()], plan).unwrap();
        assert_eq!(
            g.to_json(),
            serde_json::json!({"connections": ["a", "b"],
                "origins": ["http://[::1]:8080", "https://login.example:443"],
                "allow_hosts": [], "files": ["/t"], "environment": ["A_VAR", "B_VAR"], "budgets": []})
        );
    }

    #[test]
    fn an_invalid_plan_is_the_plugins_bug() {
        for (o, files) in [
            (origin("ftp", "h", 21), vec![]),
            (origin("https", "*.example", 443), vec![]),
            (origin("https", "h", 0), vec![]),
            (origin("https", "a@b", 443), vec![]),
            (origin("https", "h", 443), vec![" ".to_string()]),
        ] {
            let plan = TaskPlan {
                origins: vec![o],
                files,
                budgets: vec![],
            };
            assert!(matches!(
                grant_of(&info(), vec![], plan),
                Err(TaskError::Internal(m)) if m.contains("plan is invalid")
            ));
        }
    }

    #[test]
    fn hook_connection_ids_come_from_conn_id_fields() {
        use wasmtime::component::Type;
        let params = vec![
            ("target".to_string(), Type::Bool),
            ("conn-id".to_string(), Type::String),
            ("name".to_string(), Type::String),
        ];
        let record = Val::Record(vec![
            ("conn-id".into(), Val::String("a".into())),
            ("resource-group".into(), Val::String("rg".into())),
            (
                "nested".into(),
                Val::Option(Some(Box::new(Val::Record(vec![(
                    "conn-id".into(),
                    Val::String("c".into()),
                )])))),
            ),
        ]);
        let args = vec![
            record,
            Val::String("b".into()),
            Val::String("not-an-id".into()),
        ];
        assert_eq!(conn_ids_in_args(&params, &args), ["a", "c", "b"]);
        let args = vec![
            Val::Bool(true),
            Val::String("a".into()),
            Val::String("a".into()),
        ];
        assert_eq!(conn_ids_in_args(&params, &args), ["a"]);
    }
}
