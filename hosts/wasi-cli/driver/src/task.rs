//! Task files: `{"task_id": …, "params": {…}}` in JSON, as `aci-host` reads
//! its `.json` task files, without templates.

use std::io::Read;

use serde_json::{Map, Value};

use crate::bindings::orchestrator::task::types::TaskContext;

/// The keys a task file may have (`dag_params` is accepted and unused: it
/// only feeds templates).
const KEYS: &[&str] = &[
    "task_id",
    "dag_id",
    "run_id",
    "logical_date",
    "try_number",
    "params",
    "dag_params",
];

/// One task: its context and its parameters as JSON object text.
pub struct Task {
    /// The context `execute` and `on-kill` receive.
    pub context: TaskContext,
    /// The parameters, a JSON object's text.
    pub params: String,
    /// The parameters, parsed.
    parsed: Map<String, Value>,
}

/// Reads a task file (`-`: stdin).
pub fn load(path: &str) -> Result<Task, String> {
    let mut text = String::new();
    let read = if path == "-" {
        std::io::stdin().read_to_string(&mut text).map(|_| ())
    } else {
        std::fs::read_to_string(path).map(|t| text = t)
    };
    read.map_err(|e| {
        format!(
            "cannot read {path}: {e} (the component sees only the directories given to the runtime, e.g. `wasmtime run --dir .`; or pass the task on stdin with `-`)"
        )
    })?;
    parse(&text).map_err(|e| format!("{path}: {e}"))
}

/// Parses a task file's text.
pub fn parse(text: &str) -> Result<Task, String> {
    let Ok(Value::Object(map)) = serde_json::from_str::<Value>(text) else {
        return Err("a task file here is a JSON object: {\"task_id\": …, \"params\": {…}}".into());
    };
    if let Some(unknown) = map.keys().find(|k| !KEYS.contains(&k.as_str())) {
        return Err(format!(
            "unknown key `{unknown}`; a task file has {}",
            KEYS.join(", ")
        ));
    }
    let text_of = |key: &str| match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(Some(s.clone())),
        Some(_) => Err(format!("`{key}` must be a non-empty string")),
    };
    let task_id = text_of("task_id")?.ok_or("`task_id` is required")?;
    let logical_date = match text_of("logical_date")? {
        Some(d) => crate::date::normalize(&d)?,
        None => crate::date::now_rfc3339(),
    };
    let try_number = match map.get("try_number") {
        None | Some(Value::Null) => 1,
        Some(v) => v
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .filter(|n| *n >= 1)
            .ok_or("`try_number` must be a positive integer")?,
    };
    let parsed = match map.get("params") {
        Some(Value::Object(p)) => p.clone(),
        _ => return Err("`params` (an object of the operator's arguments) is required".into()),
    };
    Ok(Task {
        context: TaskContext {
            dag_id: text_of("dag_id")?.unwrap_or_default(),
            task_id,
            run_id: text_of("run_id")?.unwrap_or_else(|| format!("manual__{logical_date}")),
            try_number,
            logical_date,
        },
        params: Value::Object(parsed.clone()).to_string(),
        parsed,
    })
}

impl Task {
    /// The values of the task's `secured_variables`, masked like secrets.
    pub fn secured_values(&self) -> Vec<String> {
        airflow_connections::secured_values(&self.parsed)
    }

    /// Which of `fields` hold Jinja syntax (`{{`, `{%`) in any string.
    pub fn templated_fields<'a>(&self, fields: &'a [String]) -> Vec<&'a str> {
        fn templated(v: &Value) -> bool {
            match v {
                Value::String(s) => s.contains("{{") || s.contains("{%"),
                Value::Array(items) => items.iter().any(templated),
                Value::Object(map) => map.values().any(templated),
                _ => false,
            }
        }
        fields
            .iter()
            .filter(|f| self.parsed.get(f.as_str()).is_some_and(templated))
            .map(String::as_str)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_minimal_task_gets_airflow_defaults() {
        let t = parse(r#"{"task_id": "hello", "params": {"name": "x"}}"#)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(t.context.task_id, "hello");
        assert_eq!(t.context.try_number, 1);
        assert_eq!(t.context.dag_id, "");
        assert_eq!(
            t.context.run_id,
            format!("manual__{}", t.context.logical_date)
        );
        assert_eq!(t.params, r#"{"name":"x"}"#);
    }

    #[test]
    fn the_context_comes_from_the_file() {
        let t = parse(
            r#"{"task_id": "t", "dag_id": "d", "run_id": "r", "logical_date": "2026-11-23",
                "try_number": 2, "params": {}, "dag_params": {"a": 1}}"#,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (
                t.context.dag_id.as_str(),
                t.context.run_id.as_str(),
                t.context.try_number
            ),
            ("d", "r", 2)
        );
        assert_eq!(t.context.logical_date, "2026-11-23T00:00:00+00:00");
    }

    #[test]
    fn malformed_tasks_say_why() {
        for (text, want) in [
            ("[]", "JSON object"),
            (r#"{"params": {}}"#, "task_id"),
            (r#"{"task_id": "t"}"#, "params"),
            (
                r#"{"task_id": "t", "params": {}, "try_number": 0}"#,
                "try_number",
            ),
            (
                r#"{"task_id": "t", "params": {}, "extra": 1}"#,
                "unknown key `extra`",
            ),
        ] {
            let e = parse(text).err().unwrap_or_default();
            assert!(e.contains(want), "{text}: {e}");
        }
    }

    #[test]
    fn template_syntax_is_found_in_template_fields_only() {
        let t = parse(
            r#"{"task_id": "t", "params": {"name": "n-{{ ds }}", "command": ["echo", "{% raw %}"], "image": "{{x}}"}}"#,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let fields = [
            "name".to_string(),
            "command".to_string(),
            "volumes".to_string(),
        ];
        assert_eq!(t.templated_fields(&fields), ["name", "command"]);
    }
}
