//! The grant step before every call, as `aci-host` takes it
//! (`aci_host::runner::declare`): the connection ids the call reads are
//! declared to the adapter (any other is `denied`), resolved and shown to the
//! operator's `plan` redacted, and the budgets the plan declares are granted
//! (any other key is `denied` by `acquire-budget`). The plan's origins and
//! files cannot be enforced by a stock runtime: no file is ever granted, and
//! egress is restricted around the process (see the README).

use crate::bindings::aci::cli::session::{self, LookupError};
use crate::bindings::orchestrator::task::task_operator as operator;
use crate::bindings::orchestrator::task::types::{Connection, OperatorInfo, TaskError, TaskPlan};

/// A task's grant (`execute`, `on-kill`): its `connection-ids`, each of which
/// must resolve, then its plan, which must succeed.
pub fn task(info: &OperatorInfo, params: &str) -> Result<(), TaskError> {
    let ids = operator::connection_ids(params)?;
    session::declare(&ids, &info.secret_extras);
    let shown = ids
        .iter()
        .map(|id| session::planned_connection(id).map_err(|e| lookup_error(id, e)))
        .collect::<Result<Vec<Connection>, TaskError>>()?;
    grant_budgets(&operator::plan(Some(params), &shown)?);
    Ok(())
}

/// A hook call's grant: `conn_id` stays declared, but a connection that does
/// not resolve is not planned and a failing plan grants no budget, so that
/// the call meets the error itself and reports it in its own type (e.g.
/// `test-connection`'s `[false, reason]`).
pub fn hook(info: &OperatorInfo, conn_id: &str) {
    session::declare(&[conn_id.to_string()], &info.secret_extras);
    let shown: Vec<Connection> = session::planned_connection(conn_id).into_iter().collect();
    match operator::plan(None, &shown) {
        Ok(plan) => grant_budgets(&plan),
        Err(_) => session::grant_budgets(&[]),
    }
}

/// Grants the plan's budget keys.
fn grant_budgets(plan: &TaskPlan) {
    let keys: Vec<String> = plan.budgets.iter().map(|b| b.key.clone()).collect();
    session::grant_budgets(&keys);
}

/// A connection that cannot be resolved, worded as `aci-host` words it.
fn lookup_error(id: &str, e: LookupError) -> TaskError {
    match e {
        LookupError::NotFound(m) => {
            TaskError::Connection(format!("connection `{id}` not found: {m}"))
        }
        LookupError::Invalid(m) => {
            TaskError::Connection(format!("connection `{id}` is invalid: {m}"))
        }
        LookupError::Denied(m) => TaskError::Denied(m),
    }
}
