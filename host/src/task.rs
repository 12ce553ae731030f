//! The task file: one task instance to run, in TOML (also JSON or YAML,
//! chosen by the file's extension: `.toml`, `.json`, `.yaml`/`.yml`).
//!
//! ```toml
//! task_id = "train"                 # required: Airflow's task_id
//! dag_id = "nightly"                # optional: the DAG it belongs to
//! run_id = "manual__2026-11-23"     # optional: default manual__<logical_date>
//! logical_date = 2026-11-23         # optional: date or RFC 3339 date-time; default now
//! try_number = 1                    # optional: default 1
//!
//! [params]                          # the operator's keyword arguments
//! ci_conn_id = "azure_default"
//! name = "train-{{ ds_nodash }}"
//! command = ["python", "train.py", "--day", "{{ ds }}"]
//!
//! [dag_params]                      # what templates see as `params`
//! epochs = 3
//! ```
//!
//! `[params]` holds exactly the operator's keyword arguments (the contract),
//! so the values that Airflow templates read as `{{ params.x }}` (a DAG's or
//! task's `params=`) live in a separate `[dag_params]` table.
//!
//! `task_id` and `dag_id` follow Airflow's rule for keys: letters, digits,
//! `_`, `.` and `-`, at most 250 characters. Unknown top-level keys are
//! errors (a misspelt `[parmas]` would otherwise be silently ignored).
//!
//! Errors name the file, and the line and column when the parser knows them.
//! They never quote the offending line (a task file can hold secrets).

use std::fmt;
use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};
use serde::Deserialize;
use serde_json::{Map, Value};

/// The task file's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// TOML (`.toml`), the default.
    Toml,
    /// JSON (`.json`).
    Json,
    /// YAML (`.yaml`, `.yml`).
    Yaml,
}

impl Format {
    /// The format a file name's extension implies, if any.
    pub fn from_path(path: &Path) -> Option<Format> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "toml" => Some(Format::Toml),
            "json" => Some(Format::Json),
            "yaml" | "yml" => Some(Format::Yaml),
            _ => None,
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::Toml => "TOML",
            Format::Json => "JSON",
            Format::Yaml => "YAML",
        })
    }
}

/// A loaded task file.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskFile {
    /// The task's id.
    pub task_id: String,
    /// The DAG's id, if given.
    pub dag_id: Option<String>,
    /// The operator's keyword arguments (`[params]`), before rendering.
    pub params: Map<String, Value>,
    /// What templates see as `params` (`[dag_params]`).
    pub dag_params: Map<String, Value>,
    /// The run id, if given (see [`default_run_id`]).
    pub run_id: Option<String>,
    /// The logical date, if given, in UTC.
    pub logical_date: Option<DateTime<Utc>>,
    /// The try number, if given (1 for the first try).
    pub try_number: Option<u32>,
    /// Where the task was loaded from.
    pub path: PathBuf,
}

impl TaskFile {
    /// Reads and parses a task file; the format comes from the extension.
    pub fn load(path: &Path) -> Result<TaskFile, TaskFileError> {
        let format = Format::from_path(path).ok_or_else(|| TaskFileError::UnknownFormat {
            path: path.to_path_buf(),
        })?;
        let text = std::fs::read_to_string(path).map_err(|source| TaskFileError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_str(&text, format, path)
    }

    /// Parses the text of a task file; `path` is only used in errors and
    /// stored in [`TaskFile::path`].
    #[allow(clippy::should_implement_trait)]
    pub fn from_str(text: &str, format: Format, path: &Path) -> Result<TaskFile, TaskFileError> {
        let parse_err = |message: String, position: Option<(usize, usize)>| TaskFileError::Parse {
            path: path.to_path_buf(),
            format,
            line: position.map(|p| p.0),
            column: position.map(|p| p.1),
            message,
        };
        let raw: Raw = match format {
            Format::Toml => {
                let raw: RawToml = toml::from_str(text).map_err(|e| {
                    let position = e.span().map(|s| line_col(text, s.start));
                    parse_err(e.message().trim_end().to_string(), position)
                })?;
                raw.into_json()
                    .map_err(|message| parse_err(message, None))?
            }
            Format::Json => serde_json::from_str(text).map_err(|e| {
                let position = (e.line() > 0).then(|| (e.line(), e.column()));
                parse_err(strip_serde_position(&e.to_string()), position)
            })?,
            Format::Yaml => {
                // Empty documents deserialize to nothing useful; say so plainly.
                if text.trim().is_empty() {
                    return Err(TaskFileError::Invalid {
                        path: path.to_path_buf(),
                        message: missing_task_id().into(),
                    });
                }
                serde_norway::from_str(text).map_err(|e| {
                    let position = e.location().map(|l| (l.line(), l.column()));
                    parse_err(strip_serde_position(&e.to_string()), position)
                })?
            }
        };
        raw.validate(path)
    }
}

/// Airflow's run id for a manual run: `manual__<logical_date.isoformat()>`,
/// e.g. `manual__2026-11-23T00:00:00+00:00`.
pub fn default_run_id(logical_date: DateTime<Utc>) -> String {
    let base = logical_date.format("%Y-%m-%dT%H:%M:%S");
    match logical_date.timestamp_subsec_micros() {
        0 => format!("manual__{base}+00:00"),
        micros => format!("manual__{base}.{micros:06}+00:00"),
    }
}

/// Why a task file could not be loaded.
#[derive(Debug)]
pub enum TaskFileError {
    /// The file could not be read.
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The extension is not `.toml`, `.json`, `.yaml` or `.yml`.
    UnknownFormat {
        /// The file.
        path: PathBuf,
    },
    /// The text is not valid in its format, or a field has the wrong type.
    Parse {
        /// The file.
        path: PathBuf,
        /// Its format.
        format: Format,
        /// 1-based line, when the parser knows it.
        line: Option<usize>,
        /// 1-based column, when the parser knows it.
        column: Option<usize>,
        /// What is wrong.
        message: String,
    },
    /// The document parsed but is not a valid task (missing `task_id`, ...).
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

impl fmt::Display for TaskFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TaskFileError::Io { path, source } => {
                write!(f, "{}: cannot read task file: {source}", path.display())
            }
            TaskFileError::UnknownFormat { path } => write!(
                f,
                "{}: unknown task file format; use a .toml, .json, .yaml or .yml extension",
                path.display()
            ),
            TaskFileError::Parse {
                path,
                format,
                line,
                column,
                message,
            } => {
                write!(f, "{}", path.display())?;
                if let Some(line) = line {
                    write!(f, ":{line}")?;
                    if let Some(column) = column {
                        write!(f, ":{column}")?;
                    }
                }
                write!(f, ": invalid {format} task file: {message}")
            }
            TaskFileError::Invalid { path, message } => write!(f, "{}: {message}", path.display()),
        }
    }
}

impl std::error::Error for TaskFileError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            TaskFileError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

fn missing_task_id() -> &'static str {
    "missing required key `task_id` (the task's id, e.g. task_id = \"run_container\")"
}

/// The task file as written, with JSON values.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    task_id: Option<String>,
    dag_id: Option<String>,
    run_id: Option<String>,
    logical_date: Option<Value>,
    try_number: Option<u32>,
    params: Option<Map<String, Value>>,
    dag_params: Option<Map<String, Value>>,
}

/// The task file as TOML gives it (dates are TOML values).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawToml {
    task_id: Option<String>,
    dag_id: Option<String>,
    run_id: Option<String>,
    logical_date: Option<toml::Value>,
    try_number: Option<u32>,
    params: Option<toml::Table>,
    dag_params: Option<toml::Table>,
}

impl RawToml {
    fn into_json(self) -> Result<Raw, String> {
        let table = |t: Option<toml::Table>| -> Result<Option<Map<String, Value>>, String> {
            t.map(|t| match toml_to_json(toml::Value::Table(t)) {
                Value::Object(m) => Ok(m),
                _ => Err("expected a table".to_string()),
            })
            .transpose()
        };
        Ok(Raw {
            task_id: self.task_id,
            dag_id: self.dag_id,
            run_id: self.run_id,
            logical_date: self.logical_date.map(toml_to_json),
            try_number: self.try_number,
            params: table(self.params)?,
            dag_params: table(self.dag_params)?,
        })
    }
}

/// TOML to JSON; TOML dates and times become their RFC 3339 text.
fn toml_to_json(v: toml::Value) -> Value {
    match v {
        toml::Value::String(s) => Value::String(s),
        toml::Value::Integer(i) => Value::from(i),
        toml::Value::Float(f) => serde_json::Number::from_f64(f)
            .map(Value::Number)
            .unwrap_or_else(|| Value::String(f.to_string())),
        toml::Value::Boolean(b) => Value::Bool(b),
        toml::Value::Datetime(d) => Value::String(d.to_string()),
        toml::Value::Array(items) => Value::Array(items.into_iter().map(toml_to_json).collect()),
        toml::Value::Table(t) => {
            Value::Object(t.into_iter().map(|(k, v)| (k, toml_to_json(v))).collect())
        }
    }
}

impl Raw {
    fn validate(self, path: &Path) -> Result<TaskFile, TaskFileError> {
        let invalid = |message: String| TaskFileError::Invalid {
            path: path.to_path_buf(),
            message,
        };
        let task_id = self
            .task_id
            .ok_or_else(|| invalid(missing_task_id().into()))?;
        validate_key("task_id", &task_id).map_err(invalid)?;
        if let Some(dag_id) = &self.dag_id {
            validate_key("dag_id", dag_id).map_err(invalid)?;
        }
        if let Some(run_id) = &self.run_id {
            if run_id.trim().is_empty() {
                return Err(invalid("`run_id` is empty".into()));
            }
        }
        let logical_date = match self.logical_date {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(parse_logical_date(&s).map_err(invalid)?),
            Some(_) => {
                return Err(invalid(
                    "`logical_date` must be a date or an RFC 3339 date-time (e.g. 2026-11-23 or 2026-11-23T00:00:00Z)".into(),
                ))
            }
        };
        if self.try_number == Some(0) {
            return Err(invalid("`try_number` starts at 1".into()));
        }
        Ok(TaskFile {
            task_id,
            dag_id: self.dag_id,
            params: self.params.unwrap_or_default(),
            dag_params: self.dag_params.unwrap_or_default(),
            run_id: self.run_id,
            logical_date,
            try_number: self.try_number,
            path: path.to_path_buf(),
        })
    }
}

/// Airflow's `validate_key`: `^[\w.-]+$`, at most 250 characters.
fn validate_key(what: &str, key: &str) -> Result<(), String> {
    if key.is_empty() {
        return Err(format!("`{what}` is empty"));
    }
    if key.chars().count() > 250 {
        return Err(format!("`{what}` is longer than 250 characters"));
    }
    if let Some(bad) = key
        .chars()
        .find(|c| !(c.is_alphanumeric() || matches!(c, '_' | '.' | '-')))
    {
        return Err(format!(
            "`{what}` `{key}` contains {bad:?}; use only letters, digits, `_`, `.` and `-`"
        ));
    }
    Ok(())
}

/// A logical date: `2026-11-23` (midnight UTC), `2026-11-23T01:02:03` (UTC),
/// or RFC 3339 with an offset (converted to UTC); `T` or a space between.
pub fn parse_logical_date(s: &str) -> Result<DateTime<Utc>, String> {
    let s = s.trim();
    if let Ok(dt) = DateTime::parse_from_rfc3339(s) {
        return Ok(dt.with_timezone(&Utc));
    }
    let normalized = s.replacen(' ', "T", 1);
    if let Ok(dt) = DateTime::parse_from_rfc3339(&normalized) {
        return Ok(dt.with_timezone(&Utc));
    }
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M"] {
        if let Ok(naive) = NaiveDateTime::parse_from_str(&normalized, fmt) {
            return Ok(Utc.from_utc_datetime(&naive));
        }
    }
    if let Ok(date) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Ok(Utc.from_utc_datetime(&date.and_hms_opt(0, 0, 0).expect("midnight exists")));
    }
    Err(format!(
        "`logical_date` `{s}` is not a date or an RFC 3339 date-time (e.g. 2026-11-23 or 2026-11-23T00:00:00Z)"
    ))
}

/// 1-based line and column of a byte offset.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

/// serde_json and serde_norway append " at line L column C"; we print the
/// position ourselves.
fn strip_serde_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}

#[cfg(test)]
mod proptests;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(text: &str, format: Format) -> Result<TaskFile, TaskFileError> {
        let name = match format {
            Format::Toml => "t.toml",
            Format::Json => "t.json",
            Format::Yaml => "t.yaml",
        };
        TaskFile::from_str(text, format, Path::new(name))
    }

    const TOML: &str = r#"
task_id = "train"
dag_id = "nightly"
run_id = "manual__x"
logical_date = 2026-11-23T01:02:03Z
try_number = 2

[params]
ci_conn_id = "azure_default"
command = ["echo", "{{ ds }}"]
environment_variables = { A = "1" }
volumes = [["conn", "acct", "share", "/mnt", true]]
memory_in_gb = 1.5
cpu = 1

[dag_params]
epochs = 3
"#;

    #[test]
    fn full_toml_task() {
        let t = parse(TOML, Format::Toml).unwrap();
        assert_eq!(t.task_id, "train");
        assert_eq!(t.dag_id.as_deref(), Some("nightly"));
        assert_eq!(t.run_id.as_deref(), Some("manual__x"));
        assert_eq!(
            t.logical_date.unwrap().to_rfc3339(),
            "2026-11-23T01:02:03+00:00"
        );
        assert_eq!(t.try_number, Some(2));
        assert_eq!(
            Value::Object(t.params),
            json!({"ci_conn_id": "azure_default", "command": ["echo", "{{ ds }}"],
                   "environment_variables": {"A": "1"},
                   "volumes": [["conn", "acct", "share", "/mnt", true]],
                   "memory_in_gb": 1.5, "cpu": 1})
        );
        assert_eq!(Value::Object(t.dag_params), json!({"epochs": 3}));
        assert_eq!(t.path, Path::new("t.toml"));
    }

    #[test]
    fn same_task_in_json_and_yaml() {
        let toml = parse(TOML, Format::Toml).unwrap();
        let json_text = r#"{"task_id": "train", "dag_id": "nightly", "run_id": "manual__x",
            "logical_date": "2026-11-23T01:02:03Z", "try_number": 2,
            "params": {"ci_conn_id": "azure_default", "command": ["echo", "{{ ds }}"],
                       "environment_variables": {"A": "1"},
                       "volumes": [["conn", "acct", "share", "/mnt", true]],
                       "memory_in_gb": 1.5, "cpu": 1},
            "dag_params": {"epochs": 3}}"#;
        let mut j = parse(json_text, Format::Json).unwrap();
        j.path = toml.path.clone();
        assert_eq!(j, toml);
        let yaml_text = r#"
task_id: train
dag_id: nightly
run_id: manual__x
logical_date: "2026-11-23T01:02:03Z"
try_number: 2
params:
  ci_conn_id: azure_default
  command: [echo, "{{ ds }}"]
  environment_variables: {A: "1"}
  volumes: [[conn, acct, share, /mnt, true]]
  memory_in_gb: 1.5
  cpu: 1
dag_params:
  epochs: 3
"#;
        let mut y = parse(yaml_text, Format::Yaml).unwrap();
        y.path = toml.path.clone();
        assert_eq!(y, toml);
    }

    #[test]
    fn minimal_task() {
        let t = parse("task_id = \"t\"", Format::Toml).unwrap();
        assert!(t.params.is_empty() && t.dag_params.is_empty());
        assert_eq!(
            (t.dag_id, t.run_id, t.logical_date, t.try_number),
            (None, None, None, None)
        );
    }

    #[test]
    fn missing_task_id_is_clear() {
        for (text, format) in [
            ("[params]\nimage = \"x\"", Format::Toml),
            ("{\"params\": {}}", Format::Json),
            ("params: {}", Format::Yaml),
            ("", Format::Yaml),
        ] {
            let e = parse(text, format).unwrap_err().to_string();
            assert!(
                e.contains("missing required key `task_id`"),
                "{format}: {e}"
            );
            assert!(e.starts_with("t."), "{e}");
        }
    }

    #[test]
    fn toml_syntax_error_has_line_and_column_and_no_source_text() {
        let text = "task_id = \"t\"\n[params]\nsecret = \"hunter2-value\n";
        let e = parse(text, Format::Toml).unwrap_err();
        let TaskFileError::Parse { line, column, .. } = &e else {
            panic!("{e}")
        };
        assert_eq!(*line, Some(3));
        assert!(column.is_some());
        let msg = e.to_string();
        assert!(msg.starts_with("t.toml:3:"), "{msg}");
        assert!(!msg.contains("hunter2"), "{msg}");
    }

    #[test]
    fn json_and_yaml_errors_have_positions() {
        let e = parse("{\n \"task_id\": \"t\",\n \"params\": {,}\n}", Format::Json)
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("t.json:3:"), "{e}");
        let e = parse("task_id: t\nparams: [\n", Format::Yaml)
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("t.yaml:"), "{e}");
        assert!(e.contains("invalid YAML task file"), "{e}");
    }

    #[test]
    fn wrong_types_and_unknown_keys_point_at_them() {
        let e = parse("task_id = 5", Format::Toml).unwrap_err().to_string();
        assert!(e.starts_with("t.toml:1:") && e.contains("string"), "{e}");
        let e = parse("task_id = \"t\"\n[parmas]\nimage = \"x\"", Format::Toml)
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("t.toml:2:") && e.contains("parmas"), "{e}");
        assert!(e.contains("params"), "{e}");
        let e = parse("{\"task_id\": \"t\", \"params\": []}", Format::Json)
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("t.json:1:"), "{e}");
        let e = parse("task_id: t\nextra_key: 1\n", Format::Yaml)
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("t.yaml:2:") && e.contains("extra_key"), "{e}");
    }

    #[test]
    fn airflow_key_rules() {
        assert!(parse("task_id = \"a.b-c_9\"", Format::Toml).is_ok());
        assert!(parse("task_id = \"\"", Format::Toml)
            .unwrap_err()
            .to_string()
            .contains("`task_id` is empty"));
        let e = parse("task_id = \"a/b\"", Format::Toml)
            .unwrap_err()
            .to_string();
        assert!(e.contains("'/'"), "{e}");
        let e = parse("task_id = \"t\"\ndag_id = \"a b\"", Format::Toml)
            .unwrap_err()
            .to_string();
        assert!(e.contains("`dag_id`"), "{e}");
        let long = format!("task_id = \"{}\"", "a".repeat(251));
        assert!(parse(&long, Format::Toml)
            .unwrap_err()
            .to_string()
            .contains("250"));
        assert!(parse("task_id = \"t\"\ntry_number = 0", Format::Toml).is_err());
        assert!(parse("task_id = \"t\"\ntry_number = -1", Format::Toml).is_err());
    }

    #[test]
    fn logical_date_forms() {
        let d =
            |text: &str| parse(text, Format::Toml).map(|t| t.logical_date.unwrap().to_rfc3339());
        assert_eq!(
            d("task_id = \"t\"\nlogical_date = 2026-11-23").unwrap(),
            "2026-11-23T00:00:00+00:00"
        );
        assert_eq!(
            d("task_id = \"t\"\nlogical_date = 2026-11-23T05:00:00").unwrap(),
            "2026-11-23T05:00:00+00:00"
        );
        assert_eq!(
            d("task_id = \"t\"\nlogical_date = 2026-11-23T05:00:00+02:00").unwrap(),
            "2026-11-23T03:00:00+00:00"
        );
        assert_eq!(
            d("task_id = \"t\"\nlogical_date = \"2026-11-23 05:00:00Z\"").unwrap(),
            "2026-11-23T05:00:00+00:00"
        );
        assert_eq!(
            d("task_id = \"t\"\nlogical_date = \"2026-11-23T05:00:00.250Z\"").unwrap(),
            "2026-11-23T05:00:00.250+00:00"
        );
        let e = d("task_id = \"t\"\nlogical_date = \"yesterday\"")
            .unwrap_err()
            .to_string();
        assert!(e.contains("`logical_date` `yesterday`"), "{e}");
        assert!(d("task_id = \"t\"\nlogical_date = 5").is_err());
    }

    #[test]
    fn default_run_id_matches_airflow() {
        let dt = parse_logical_date("2026-11-23").unwrap();
        assert_eq!(default_run_id(dt), "manual__2026-11-23T00:00:00+00:00");
        let dt = parse_logical_date("2026-11-23T00:00:00.5Z").unwrap();
        assert_eq!(
            default_run_id(dt),
            "manual__2026-11-23T00:00:00.500000+00:00"
        );
    }

    #[test]
    fn load_from_disk_and_unknown_extension() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("task.TOML");
        std::fs::write(&p, "task_id = \"disk\"").unwrap();
        assert_eq!(TaskFile::load(&p).unwrap().task_id, "disk");
        let q = dir.path().join("task.txt");
        std::fs::write(&q, "task_id = \"disk\"").unwrap();
        assert!(TaskFile::load(&q)
            .unwrap_err()
            .to_string()
            .contains("unknown task file format"));
        let missing = dir.path().join("missing.toml");
        assert!(TaskFile::load(&missing)
            .unwrap_err()
            .to_string()
            .contains("cannot read task file"));
    }

    #[test]
    fn line_col_counts_chars() {
        assert_eq!(line_col("ab\ncd", 4), (2, 2));
        assert_eq!(line_col("é\nx", 0), (1, 1));
        assert_eq!(line_col("x", 99), (1, 2));
    }
}
