//! `orchestrator:task/task-operator` export: thin adapters from the WIT to
//! [`crate::params`] and [`crate::operator`].

use super::Component;
use crate::bindings::exports::orchestrator::task::task_operator::Guest;
use crate::bindings::orchestrator::task::types::{
    OperatorInfo, TaskContext, TaskError, TaskOutcome,
};
use crate::operator::build::TaskInstance;
use crate::operator::live::{HookCloud, WasiHost};
use crate::{operator, params, runtime};

fn task_instance(c: TaskContext) -> TaskInstance {
    TaskInstance {
        dag_id: c.dag_id,
        task_id: c.task_id,
        run_id: c.run_id,
        try_number: c.try_number,
        logical_date: c.logical_date,
    }
}

impl Guest for Component {
    fn describe() -> OperatorInfo {
        OperatorInfo {
            name: "AzureContainerInstancesOperator".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            template_fields: params::TEMPLATE_FIELDS
                .iter()
                .map(|s| s.to_string())
                .collect(),
            params_schema: params::schema::params_schema().to_string(),
        }
    }

    fn validate(params: String) -> Result<(), TaskError> {
        params::parse(&params).map(|_| ()).map_err(Into::into)
    }

    fn execute(context: TaskContext, params: String) -> Result<TaskOutcome, TaskError> {
        let p = params::parse(&params)?;
        let cloud = HookCloud::new(&p.ci_conn_id)?;
        let result = operator::execute(&cloud, &WasiHost, &task_instance(context), &p);
        runtime::debug(format!(
            "ARM requests made by this task: {}",
            cloud.request_count()
        ));
        let outcome = result?;
        Ok(TaskOutcome {
            return_value: operator::return_value(&outcome).to_string(),
            exit_code: Some(outcome.exit_code),
        })
    }

    fn on_kill(_context: TaskContext, params: String) -> Result<(), TaskError> {
        let p = params::parse(&params)?;
        let cloud = HookCloud::new(&p.ci_conn_id)?;
        operator::on_kill(&cloud, &WasiHost, &p).map_err(Into::into)
    }
}
