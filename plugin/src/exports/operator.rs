//! `orchestrator:task/task-operator` export: thin adapters from the WIT to
//! [`crate::params`] and [`crate::operator`].

use super::Component;
use crate::bindings::exports::orchestrator::task::task_operator::Guest;
use crate::bindings::orchestrator::task::types::{OperatorInfo, TaskContext, TaskError, TaskOutcome};
use crate::params;

impl Guest for Component {
    fn describe() -> OperatorInfo {
        OperatorInfo {
            name: "AzureContainerInstancesOperator".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            template_fields: params::TEMPLATE_FIELDS.iter().map(|s| s.to_string()).collect(),
            params_schema: params::schema::params_schema().to_string(),
        }
    }

    fn validate(params: String) -> Result<(), TaskError> {
        params::parse(&params).map(|_| ()).map_err(Into::into)
    }

    fn execute(_context: TaskContext, _params: String) -> Result<TaskOutcome, TaskError> {
        Err(TaskError::Internal("not yet implemented".into()))
    }

    fn on_kill(_context: TaskContext, _params: String) -> Result<(), TaskError> {
        Err(TaskError::Internal("not yet implemented".into()))
    }
}
