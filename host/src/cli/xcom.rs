//! `aci-host xcom list|get`: inspect the local XCom store.

use crate::xcom_store::RETURN_VALUE_KEY;

use super::args::XcomArgs;
use super::inputs::open_xcom;
use super::Ui;

/// `list` prints one JSON object per XCom (`dag_id`, `run_id`, `task_id`,
/// `key`, `value`) on stdout; `get` prints one value as JSON.
pub fn xcom_command(args: &XcomArgs, ui: &Ui) -> i32 {
    let store = match open_xcom(args.state_dir.as_deref()) {
        Ok(s) => s,
        Err(e) => return ui.fail(&e),
    };
    match args.action.as_str() {
        "list" => match store.list(args.dag_id.as_deref(), args.run_id.as_deref()) {
            Ok(entries) => {
                let wanted = entries.into_iter().filter(|e| {
                    args.task_id.as_deref().is_none_or(|t| t == e.task_id)
                        && args.key.as_deref().is_none_or(|k| k == e.key)
                });
                for e in wanted {
                    ui.console.out_line(
                        &serde_json::json!({"dag_id": e.dag_id, "run_id": e.run_id, "task_id": e.task_id, "key": e.key, "value": e.value}).to_string(),
                    );
                }
                0
            }
            Err(e) => ui.fail(&format!("reading the XCom store: {e}")),
        },
        "get" => {
            let (Some(run_id), Some(task_id)) = (&args.run_id, &args.task_id) else {
                return ui.fail(
                    "xcom get needs --run-id and --task-id (and --dag-id when the task has one)",
                );
            };
            let key = args.key.as_deref().unwrap_or(RETURN_VALUE_KEY);
            let dag_id = args.dag_id.as_deref().unwrap_or("");
            match store.pull(dag_id, run_id, task_id, key) {
                Ok(Some(v)) => {
                    ui.console.out_line(&v.to_string());
                    0
                }
                Ok(None) => {
                    ui.console.line(&format!("error: no XCom `{key}` for task `{task_id}` of dag `{dag_id}` in run `{run_id}`"));
                    1
                }
                Err(e) => ui.fail(&format!("reading the XCom store: {e}")),
            }
        }
        other => ui.fail(&format!(
            "unknown xcom action `{other}`; use `list` or `get`"
        )),
    }
}
