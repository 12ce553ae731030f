//! `orchestrator:task/task-operator` export, through the guest SDK's
//! [`Operator`]: thin adapters to [`crate::params`] and [`crate::operator`].

use task_plugin_sdk::{
    clock, runtime, Connection, Operator, OperatorInfo, Result, TaskContext, TaskOutcome, TaskPlan,
};

use crate::hook::setup::{env_var, AUTH_ENV_VARS};
use crate::operator::build::{owner_from_env, TaskInstance};
use crate::operator::live::{HookCloud, WasiHost};
use crate::{operator, params, plan};

/// Connection extras that hold secrets: the host masks them and hides them from `plan`.
pub const SECRET_EXTRAS: [&str; 4] = [
    "client_certificate",
    "connection_string",
    "key_json.clientSecret",
    "key_json.client_secret",
];

/// `AzureContainerInstancesOperator`.
pub(crate) struct AciOperator;

fn task_instance(c: TaskContext) -> TaskInstance {
    TaskInstance {
        dag_id: c.dag_id,
        task_id: c.task_id,
        run_id: c.run_id,
        try_number: c.try_number,
        logical_date: c.logical_date,
        owner: owner_from_env(),
        created: Some(clock::unix_now()),
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
            environment: AUTH_ENV_VARS.iter().map(|s| s.to_string()).collect(),
            secret_extras: SECRET_EXTRAS.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn validate(params: &str) -> Result<()> {
        params::parse(params).map(|_| ())
    }

    fn connection_ids(params: &str) -> Result<Vec<String>> {
        Ok(plan::connection_ids(&params::parse(params)?))
    }

    fn plan(params: Option<&str>, connections: &[Connection]) -> Result<TaskPlan> {
        match params {
            Some(p) => plan::task_plan(&params::parse(p)?, connections, &env_var),
            None => plan::hook_plan(connections, &env_var),
        }
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

    fn on_kill(context: TaskContext, params: &str) -> Result<()> {
        let p = params::parse(params)?;
        let cloud = HookCloud::new(&p.ci_conn_id)?;
        operator::on_kill(&cloud, &WasiHost, &task_instance(context), &p)
    }
}
