//! `orchestrator:task/task-operator` export.

use super::Component;
use crate::bindings::exports::orchestrator::task::task_operator::Guest;
use crate::bindings::orchestrator::task::types::{OperatorInfo, TaskContext, TaskError, TaskOutcome};

impl Guest for Component {
    fn describe() -> OperatorInfo {
        OperatorInfo { name: "AzureContainerInstancesOperator".into(), version: env!("CARGO_PKG_VERSION").into(), template_fields: vec![], params_schema: "{}".into() }
    }
    fn validate(_params: String) -> Result<(), TaskError> {
        Err(TaskError::Internal("not yet implemented".into()))
    }
    fn execute(_context: TaskContext, _params: String) -> Result<TaskOutcome, TaskError> {
        Err(TaskError::Internal("not yet implemented".into()))
    }
    fn on_kill(_context: TaskContext, _params: String) -> Result<(), TaskError> {
        Err(TaskError::Internal("not yet implemented".into()))
    }
}
