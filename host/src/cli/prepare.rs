//! Loading a task file and rendering its template fields.

use std::path::Path;
use std::sync::Arc;

use crate::connections::ConnectionResolver;
use crate::mask::Masker;
use crate::runner::{ErrorKind, Runner, TaskSpec};
use crate::task::TaskFile;
use crate::templates::{render_params_limited, TemplateContext, TemplateLimits};
use crate::xcom_store::XcomStore;

use super::inputs::today_midnight;

/// A task file loaded and rendered, ready to run.
pub struct PreparedTask {
    /// The rendered spec.
    pub spec: TaskSpec,
    /// Holds every secret met while rendering (connection passwords used in
    /// templates, rendered `secured_variables`, sensitive Airflow variables).
    pub masker: Masker,
}

/// Run-wide values given on the command line (they win over the task file's).
#[derive(Clone, Debug, Default)]
pub struct Overrides {
    /// `--run-id`.
    pub run_id: Option<String>,
    /// `--logical-date`.
    pub logical_date: Option<chrono::DateTime<chrono::Utc>>,
    /// `--try-number`.
    pub try_number: Option<u32>,
    /// `--template-fuel`, `--max-rendered-bytes`, `--max-rendered-task-bytes`.
    pub templates: TemplateLimits,
}

/// Why a task could not be prepared.
#[derive(Debug)]
pub struct PrepareError {
    /// The task id, when the file could be read.
    pub task_id: Option<String>,
    /// The class of the failure.
    pub kind: ErrorKind,
    /// What went wrong (masked).
    pub message: String,
}

/// Loads `path` and renders the operator's template fields.
pub async fn prepare(
    runner: &Runner,
    path: &Path,
    connections: &Arc<ConnectionResolver>,
    xcom: &Arc<XcomStore>,
    overrides: &Overrides,
) -> Result<PreparedTask, PrepareError> {
    let task = TaskFile::load(path).map_err(|e| PrepareError {
        task_id: None,
        kind: ErrorKind::InvalidParams,
        message: e.to_string(),
    })?;
    let fail = |kind, message| PrepareError {
        task_id: Some(task.task_id.clone()),
        kind,
        message,
    };
    let info = runner
        .describe()
        .await
        .map_err(|e| fail(ErrorKind::Internal, format!("describe: {e:#}")))?;
    let dag_id = task.dag_id.clone().unwrap_or_default();
    // Command-line values win over the task file's, which win over defaults.
    let logical_date = overrides
        .logical_date
        .or(task.logical_date)
        .unwrap_or_else(today_midnight);
    let try_number = overrides.try_number.or(task.try_number).unwrap_or(1);
    let run_id = overrides
        .run_id
        .clone()
        .or(task.run_id.clone())
        .unwrap_or_else(|| crate::task::default_run_id(logical_date));
    let masker = Masker::default();
    let ctx = TemplateContext {
        dag_id: dag_id.clone(),
        task_id: task.task_id.clone(),
        operator: info.name.clone(),
        run_id: run_id.clone(),
        try_number,
        logical_date,
        params: serde_json::Value::Object(task.dag_params.clone()),
        variables: crate::templates::variables_from_env(std::env::vars()),
        connections: connections.clone(),
        xcom: xcom.clone(),
    };
    let mut params = task.params.clone();
    let fields = &info.template_fields;
    render_params_limited(&mut params, fields, &ctx, &masker, &overrides.templates)
        .map_err(|e| fail(ErrorKind::InvalidParams, e.to_string()))?;
    for secret in crate::templates::secured_values(&params) {
        masker.add(&secret);
    }
    let spec = TaskSpec {
        context: crate::bindings::TaskContext {
            dag_id,
            task_id: task.task_id.clone(),
            run_id,
            try_number,
            logical_date: logical_date.to_rfc3339(),
        },
        params,
    };
    Ok(PreparedTask { spec, masker })
}
