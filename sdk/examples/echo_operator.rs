// An operator that echoes its `message` parameter: it logs it, pushes its
// length as an XCom and returns `{"echo": message}`. With `delay_ms` it first
// waits that long, stopping early (as cancelled) when the host cancels the task.
// It reads no connection and contacts no host, so it keeps the default
// `connection_ids` and `plan` (nothing granted) and declares no environment.

use serde_json::{json, Value};
use task_plugin_sdk::{runtime, Error, Operator, OperatorInfo, Result, TaskContext, TaskOutcome};

struct Echo;

impl Operator for Echo {
    fn describe() -> OperatorInfo {
        OperatorInfo {
            name: "EchoOperator".into(),
            version: "0.1.0".into(),
            template_fields: vec!["message".into()],
            params_schema: json!({
                "type": "object",
                "properties": {
                    "message": {"type": "string"},
                    "delay_ms": {"type": "integer", "minimum": 0}
                },
                "required": ["message"]
            })
            .to_string(),
            environment: Vec::new(),
            secret_extras: Vec::new(),
        }
    }

    fn validate(params: &str) -> Result<()> {
        parse(params).map(|_| ())
    }

    fn execute(context: TaskContext, params: &str) -> Result<TaskOutcome> {
        let (message, delay_ms) = parse(params)?;
        if delay_ms > 0 && runtime::wait_cancelled(delay_ms) {
            return Err(Error::Cancelled("stopped while waiting".into()));
        }
        runtime::info(format!("{} says: {message}", context.task_id));
        runtime::xcom_push("length", &json!(message.chars().count()))?;
        Ok(TaskOutcome::new(&json!({ "echo": message }), None))
    }
}

/// The `message` and `delay_ms` parameters.
fn parse(params: &str) -> Result<(String, u64)> {
    let invalid = |m: &str| Error::InvalidParams(m.to_string());
    let v: Value = serde_json::from_str(params).map_err(|_| invalid("params are not JSON"))?;
    let message = v["message"]
        .as_str()
        .ok_or_else(|| invalid("`message` (a string) is required"))?;
    let delay_ms = match &v["delay_ms"] {
        Value::Null => 0,
        d => d
            .as_u64()
            .ok_or_else(|| invalid("`delay_ms` must be a non-negative integer"))?,
    };
    Ok((message.to_string(), delay_ms))
}

task_plugin_sdk::export_operator!(Echo);
