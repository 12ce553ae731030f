//! The [`Operator`] trait and the adapter that exports it as
//! `orchestrator:task/task-operator`.

use std::marker::PhantomData;

use crate::bindings::exports::orchestrator::task::task_operator::Guest;
use crate::error::Result;
use crate::wit::{Connection, OperatorInfo, TaskContext, TaskError, TaskOutcome, TaskPlan};

/// An operator: what a plugin implements to be run by an `orchestrator:task`
/// host. Name the implementing type in [`export_operator!`](crate::export_operator).
///
/// The host calls `describe` at any time, `validate` before `execute` (it must
/// make no outbound request), `execute` once per task try, and `on_kill` in a
/// fresh instance after it had to interrupt an `execute`. `params` is always
/// the task's parameters, already rendered, as the text of a JSON object.
///
/// Every method but `describe` and `execute` has a default, and methods added
/// in later versions of the SDK will have one too, so an operator implements
/// only what it needs.
pub trait Operator {
    /// Name, version, template fields and parameter schema of the operator.
    fn describe() -> OperatorInfo;

    /// Checks the parameters without making any outbound request. The
    /// default accepts everything.
    fn validate(params: &str) -> Result<()> {
        let _ = params;
        Ok(())
    }

    /// The ids of the connections a task with these parameters reads, defaults
    /// included. Pure: no host call, no outbound request. The default reads none.
    fn connection_ids(params: &str) -> Result<Vec<String>> {
        let _ = params;
        Ok(Vec::new())
    }

    /// What a call needs: the origins it contacts and the files it reads.
    /// `params` is `Some` for `execute` and `on_kill`, `None` for the plugin's
    /// other exports (each connection is then the operator's main one).
    /// `connections` are those the call reads, with the password and the
    /// secret extras the operator declared replaced by `***` (presence is
    /// kept). Pure: any host call made here is denied. The default needs
    /// nothing.
    fn plan(params: Option<&str>, connections: &[Connection]) -> Result<TaskPlan> {
        let _ = (params, connections);
        Ok(TaskPlan::default())
    }

    /// Runs the task.
    fn execute(context: TaskContext, params: &str) -> Result<TaskOutcome>;

    /// Releases whatever `execute` may have created for this task instance;
    /// best effort and idempotent. The default does nothing.
    fn on_kill(context: TaskContext, params: &str) -> Result<()> {
        let _ = (context, params);
        Ok(())
    }
}

/// The type [`export_operator!`](crate::export_operator) exports: the WIT
/// export of operator `O`, converting errors into the WIT `task-error`.
#[doc(hidden)]
pub struct Export<O>(PhantomData<O>);

impl<O: Operator> Guest for Export<O> {
    fn describe() -> OperatorInfo {
        O::describe()
    }

    fn validate(params: String) -> Result<(), TaskError> {
        O::validate(&params).map_err(TaskError::from)
    }

    fn connection_ids(params: String) -> Result<Vec<String>, TaskError> {
        O::connection_ids(&params).map_err(TaskError::from)
    }

    fn plan(params: Option<String>, connections: Vec<Connection>) -> Result<TaskPlan, TaskError> {
        O::plan(params.as_deref(), &connections).map_err(TaskError::from)
    }

    fn execute(context: TaskContext, params: String) -> Result<TaskOutcome, TaskError> {
        O::execute(context, &params).map_err(TaskError::from)
    }

    fn on_kill(context: TaskContext, params: String) -> Result<(), TaskError> {
        O::on_kill(context, &params).map_err(TaskError::from)
    }
}

/// Exports an [`Operator`] as the component's `orchestrator:task/task-operator`.
///
/// Use it once, at the root of the plugin crate (a `cdylib` built for
/// `wasm32-wasip2`). It expands to nothing on other targets, so the same crate
/// builds natively for its unit tests.
///
/// ```ignore
/// task_plugin_sdk::export_operator!(MyOperator);
/// ```
#[macro_export]
macro_rules! export_operator {
    ($operator:ty) => {
        // Only the wasm build exports symbols: the export names contain `:`,
        // which native linkers reject (native builds exist to run unit tests).
        #[cfg(target_arch = "wasm32")]
        const _: () = {
            type TaskPluginSdkExport = $crate::__private::Export<$operator>;
            $crate::__private::bindings::export!(
                TaskPluginSdkExport with_types_in $crate::__private::bindings
            );
        };
        // Natively nothing is exported; naming the operator's methods keeps
        // them (and what they call) from being reported as dead code.
        #[cfg(not(target_arch = "wasm32"))]
        const _: () = {
            let _ = <$operator as $crate::Operator>::describe;
            let _ = <$operator as $crate::Operator>::validate;
            let _ = <$operator as $crate::Operator>::connection_ids;
            let _ = <$operator as $crate::Operator>::plan;
            let _ = <$operator as $crate::Operator>::execute;
            let _ = <$operator as $crate::Operator>::on_kill;
        };
    };
}
