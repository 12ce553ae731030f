//! `orchestrator:task/task-operator` export, through the guest SDK's
//! [`Operator`]: thin adapters to [`crate::params`] and [`crate::operator`].

use task_plugin_sdk::{runtime, Operator, OperatorInfo, Result, TaskContext, TaskOutcome};

use crate::operator::build::TaskInstance;
use crate::operator::live::{HookCloud, WasiHost};
use crate::{operator, params};

/// `AzureContainerInstancesOperator`.
pub(crate) struct AciOperator;

fn task_instance(c: TaskContext) -> TaskInstance {
    TaskInstance {
        dag_id: c.dag_id,
        task_id: c.task_id,
        run_id: c.run_id,
        try_number: c.try_number,
        logical_date: c.logical_date,
    }
}

impl Operator for AciOperator {
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

    fn validate(params: &str) -> Result<()> {
        params::parse(params).map(|_| ())
    }

    fn execute(context: TaskContext, params: &str) -> Result<TaskOutcome> {
        let p = params::parse(params)?;
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

    fn on_kill(_context: TaskContext, params: &str) -> Result<()> {
        let p = params::parse(params)?;
        let cloud = HookCloud::new(&p.ci_conn_id)?;
        operator::on_kill(&cloud, &WasiHost, &p)
    }
}
