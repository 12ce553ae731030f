//! Rendering an operator's template fields with Jinja (MiniJinja) and
//! Airflow's template context.
//!
//! [`render_params`] renders every string inside each declared template
//! field (strings inside lists and objects too; object keys are left as
//! they are, as Airflow does), like Airflow's `render_template_fields`.
//! Strings without `{{`, `{%` or `{#` are left untouched.
//!
//! # The context
//!
//! | name | value |
//! |---|---|
//! | `ds`, `ds_nodash` | the logical date, `2026-11-23` / `20261123` |
//! | `ts`, `ts_nodash`, `ts_nodash_with_tz` | `2026-11-23T00:00:00+00:00` / `20261123T000000` / `20261123T000000+0000` |
//! | `logical_date` (also `execution_date`, `data_interval_start`, `data_interval_end`) | a date-time rendering like pendulum's; `.strftime(fmt)`, `.isoformat()`, `.add(days=1)`, `.subtract(...)`, `.replace(...)`, `.year` ... |
//! | `yesterday_ds`, `tomorrow_ds` (and `_nodash`) | the day before / after |
//! | `run_id`, `dag_id`, `task_id`, `try_number`, `task_instance_key_str` | the task instance's ids |
//! | `params` | [`TemplateContext::params`] (the task file's `[dag_params]`) |
//! | `var.value.NAME`, `var.json.NAME`, `var.value.get(NAME, default)` | Airflow variables, from `AIRFLOW_VAR_<NAME>` |
//! | `conn.ID`, `conn.get(ID)`, `macros.connection(ID)` | a connection: `login`, `password`, `host`, `port`, `schema`, `conn_type`, `extra` / `extra_dejson` (a dict), `get_password()`, `get_extra()` |
//! | `ti.xcom_pull(task_ids=..., key='return_value', dag_id=..., run_id=..., default=...)` | an XCom of this run from the local store (`ti` is also `task_instance`) |
//! | `macros.datetime(...)`, `.now()`, `.utcnow()`, `.strptime(s, fmt)`, `.fromisoformat(s)`, `.fromtimestamp(ts)` | Python-like date-times |
//! | `macros.timedelta(days=, seconds=, microseconds=, milliseconds=, minutes=, hours=, weeks=)` | Python-like durations |
//! | `macros.ds_add(ds, days)`, `macros.ds_format(ds, in_fmt, out_fmt)` | Airflow's date macros |
//! | `macros.json.dumps/loads`, `macros.uuid.uuid4()`, `macros.time.time()`, `macros.random()` | as in Airflow's macros |
//! | `dag.dag_id`, `task.task_id`, `dag_run.run_id`, `dag_run.conf` | for templates written against those objects |
//!
//! Filters `ds`, `ds_nodash`, `ts`, `ts_nodash` and `ts_nodash_with_tz` work on
//! date-times (`{{ logical_date.add(days=1) | ds }}`), and Python's string and
//! dict methods (`.upper()`, `.replace()`, `.split()`, `.items()`, `.get()`,
//! ...) are available.
//!
//! # Semantics
//!
//! - Undefined variables are errors (Airflow's `StrictUndefined`), naming the
//!   field and the variable: ``template field `command[2]`: undefined variable `foo` ``.
//!   `{{ x is defined }}` and `{{ x | default('y') }}` work.
//! - `None`, `True` and `False` render as Python does; lists and dicts render
//!   as JSON-like text (use `| tojson` for strict JSON).
//! - A trailing newline is kept (Jinja would drop it).
//! - No auto-escaping.
//! - Limits ([`TemplateLimits`], [`render_params_limited`]): each template
//!   string gets MiniJinja fuel (default 1,000,000 units, about one per
//!   instruction), renders to at most 1 MiB, and all of a task's rendered
//!   strings together to at most 4 MiB; past a limit rendering stops with an
//!   error naming the field. MiniJinja itself refuses ranges over 100,000
//!   items and repeated strings over 100 MB; values built in memory by a
//!   single expression are bounded only by those.
//! - Secrets: a connection's password and secret extras are added to the
//!   [`Masker`] as soon as a template resolves the connection; so are
//!   Airflow variables with sensitive names (`*password*`, `*secret*`, ...),
//!   and secret-looking keys inside `var.json` values. Error messages are
//!   masked too. The rendered values of `secured_variables` must be added by
//!   the caller ([`secured_values`]).

mod context;
mod datetime;
mod pyargs;

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use minijinja::value::{Value, ValueKind};
use minijinja::{AutoEscape, Environment, ErrorKind, UndefinedBehavior};

use crate::connections::ConnectionResolver;
use crate::mask::Masker;
use crate::xcom_store::XcomStore;

use context::Shared;

/// Everything templates can see about the task instance being rendered.
#[derive(Debug, Clone)]
pub struct TemplateContext {
    /// The DAG id (empty when the task has none).
    pub dag_id: String,
    /// The task id.
    pub task_id: String,
    /// The operator's name, as its `describe` gives it: `{{ task }}`
    /// renders as `<Task(OPERATOR): TASK_ID>`, as in Airflow.
    pub operator: String,
    /// The run id (see [`crate::task::default_run_id`]).
    pub run_id: String,
    /// 1 for the first try.
    pub try_number: u32,
    /// The run's logical date.
    pub logical_date: chrono::DateTime<chrono::Utc>,
    /// What templates see as `params` (a JSON object; `null` is treated as `{}`).
    pub params: serde_json::Value,
    /// Airflow variables by name, as [`variables_from_env`] builds them
    /// (`AIRFLOW_VAR_FOO` → `FOO`); `var.value.foo` finds `FOO` too.
    pub variables: HashMap<String, String>,
    /// Where `conn.*` and `macros.connection()` look connections up.
    pub connections: Arc<ConnectionResolver>,
    /// Where `ti.xcom_pull` reads.
    pub xcom: Arc<XcomStore>,
}

impl TemplateContext {
    /// The context for a task file run by `operator` (its `describe` name): its ids, `[dag_params]` as `params`,
    /// its logical date (else `now`), its run id (else Airflow's
    /// `manual__<logical date>`), its try number (else 1).
    pub fn for_task(
        task: &crate::task::TaskFile,
        operator: &str,
        now: chrono::DateTime<chrono::Utc>,
        variables: HashMap<String, String>,
        connections: Arc<ConnectionResolver>,
        xcom: Arc<XcomStore>,
    ) -> Self {
        let logical_date = task.logical_date.unwrap_or(now);
        TemplateContext {
            dag_id: task.dag_id.clone().unwrap_or_default(),
            task_id: task.task_id.clone(),
            operator: operator.to_string(),
            run_id: task
                .run_id
                .clone()
                .unwrap_or_else(|| crate::task::default_run_id(logical_date)),
            try_number: task.try_number.unwrap_or(1),
            logical_date,
            params: serde_json::Value::Object(task.dag_params.clone()),
            variables,
            connections,
            xcom,
        }
    }
}

/// The Airflow variables of an environment snapshot: `AIRFLOW_VAR_<NAME>`
/// becomes `<NAME>` (the CLI passes `std::env::vars()`).
pub fn variables_from_env(
    env: impl IntoIterator<Item = (String, String)>,
) -> HashMap<String, String> {
    env.into_iter()
        .filter_map(|(k, v)| {
            k.strip_prefix(context::VAR_PREFIX)
                .filter(|name| !name.is_empty())
                .map(|name| (name.to_string(), v))
        })
        .collect()
}

/// The values of `environment_variables` whose names `secured_variables`
/// lists, for the caller to add to the [`Masker`] after rendering (shared with
/// the `wasi:cli` driver, hence in `airflow-connections`).
pub use airflow_connections::secured_values;

/// A template field failed to render.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateError {
    /// The path of the string that failed, e.g. `command[2]` or
    /// `environment_variables.FOO`.
    pub field: String,
    /// What went wrong (secrets masked).
    pub message: String,
    /// The undefined variable(s) when that was the failure, e.g.
    /// `["params.epochs"]`; several when the culprit is ambiguous.
    pub undefined: Vec<String>,
}

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "template field `{}`: {}", self.field, self.message)
    }
}

impl std::error::Error for TemplateError {}

/// Bounds on rendering one task's template fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TemplateLimits {
    /// MiniJinja fuel for each template string (about one unit per
    /// instruction): a loop that runs too long stops with an error.
    pub fuel: u64,
    /// Largest rendered string, in bytes.
    pub max_field_bytes: usize,
    /// Largest total of all the task's rendered strings, in bytes.
    pub max_total_bytes: usize,
}

/// Default of [`TemplateLimits::fuel`] (`--template-fuel`).
pub const DEFAULT_TEMPLATE_FUEL: u64 = 1_000_000;
/// Default of [`TemplateLimits::max_field_bytes`] (`--max-rendered-bytes`).
pub const DEFAULT_MAX_FIELD_BYTES: usize = 1024 * 1024;
/// Default of [`TemplateLimits::max_total_bytes`]: four fields' worth.
pub const DEFAULT_MAX_TOTAL_BYTES: usize = 4 * DEFAULT_MAX_FIELD_BYTES;

impl Default for TemplateLimits {
    fn default() -> Self {
        TemplateLimits {
            fuel: DEFAULT_TEMPLATE_FUEL,
            max_field_bytes: DEFAULT_MAX_FIELD_BYTES,
            max_total_bytes: DEFAULT_MAX_TOTAL_BYTES,
        }
    }
}

/// Renders, in place, every string inside each of `fields` (missing fields
/// are skipped) with `ctx`, within the default [`TemplateLimits`]; see the
/// module docs. Secrets met while rendering are added to `masker`.
pub fn render_params(
    params: &mut serde_json::Map<String, serde_json::Value>,
    fields: &[String],
    ctx: &TemplateContext,
    masker: &Masker,
) -> Result<(), TemplateError> {
    render_params_limited(params, fields, ctx, masker, &TemplateLimits::default())
}

/// [`render_params`] within `limits`: a template that runs out of fuel or
/// renders more bytes than allowed fails with an error naming its field.
pub fn render_params_limited(
    params: &mut serde_json::Map<String, serde_json::Value>,
    fields: &[String],
    ctx: &TemplateContext,
    masker: &Masker,
    limits: &TemplateLimits,
) -> Result<(), TemplateError> {
    let shared = Arc::new(Shared::new(ctx, masker));
    let jinja_params = match &ctx.params {
        serde_json::Value::Null => serde_json::Value::Object(Default::default()),
        other => other.clone(),
    };
    let mut env = environment();
    env.set_fuel(Some(limits.fuel.max(1)));
    let renderer = Renderer {
        root: context::root(&shared, &jinja_params),
        env,
        shared,
        limits: *limits,
        rendered: std::cell::Cell::new(0),
    };
    for field in fields {
        if let Some(value) = params.get_mut(field) {
            renderer.render_value(field, value, 0)?;
        }
    }
    Ok(())
}

/// Depth bound for nested lists/objects (serde_json's own limit is 128).
const MAX_DEPTH: usize = 128;

/// One task's rendering: environment, context, limits and bytes so far.
struct Renderer<'a> {
    env: Environment<'a>,
    root: Value,
    shared: Arc<Shared>,
    limits: TemplateLimits,
    rendered: std::cell::Cell<usize>,
}

impl Renderer<'_> {
    fn render_value(
        &self,
        path: &str,
        value: &mut serde_json::Value,
        depth: usize,
    ) -> Result<(), TemplateError> {
        use serde_json::Value as J;
        if depth > MAX_DEPTH {
            return Err(self.error(path, "nested too deeply".into()));
        }
        match value {
            J::String(s) if has_template_syntax(s) => {
                *s = self.render_one(path, s)?;
            }
            J::Array(items) => {
                for (i, item) in items.iter_mut().enumerate() {
                    self.render_value(&format!("{path}[{i}]"), item, depth + 1)?;
                }
            }
            J::Object(map) => {
                for (k, item) in map.iter_mut() {
                    self.render_value(&format!("{path}{}", key_suffix(k)), item, depth + 1)?;
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn error(&self, path: &str, message: String) -> TemplateError {
        TemplateError {
            field: path.to_string(),
            message,
            undefined: Vec::new(),
        }
    }

    /// Renders one string into a buffer capped at the field bound and at
    /// what is left of the task's total.
    fn render_one(&self, path: &str, source: &str) -> Result<String, TemplateError> {
        let limits = &self.limits;
        let left = limits.max_total_bytes.saturating_sub(self.rendered.get());
        let mut out = CappedBuffer::new(limits.max_field_bytes.min(left));
        self.shared.take_pending();
        let rendered = self
            .env
            .template_from_named_str(path, source)
            .and_then(|t| t.render_captured_to(&self.root, &mut out));
        if let Err(e) = rendered {
            return Err(match (out.overflowed, e.kind()) {
                (true, _) if left < limits.max_field_bytes => self.error(
                    path,
                    format!(
                        "the task's rendered template fields exceed {} bytes in total",
                        limits.max_total_bytes
                    ),
                ),
                (true, _) => self.error(
                    path,
                    format!(
                        "renders to more than {} bytes (--max-rendered-bytes)",
                        limits.max_field_bytes
                    ),
                ),
                (false, ErrorKind::OutOfFuel) => self.error(
                    path,
                    format!(
                        "the template ran out of fuel ({} steps; a loop that runs too long? \
                         --template-fuel raises the limit)",
                        limits.fuel
                    ),
                ),
                _ => explain(path, source, &self.root, &self.shared, &e),
            });
        }
        self.rendered.set(self.rendered.get() + out.bytes.len());
        String::from_utf8(out.bytes)
            .map_err(|_| self.error(path, "rendered to invalid UTF-8".into()))
    }
}

/// An output buffer that refuses to grow past its limit.
struct CappedBuffer {
    bytes: Vec<u8>,
    limit: usize,
    overflowed: bool,
}

impl CappedBuffer {
    fn new(limit: usize) -> Self {
        CappedBuffer {
            bytes: Vec::new(),
            limit,
            overflowed: false,
        }
    }
}

impl std::io::Write for CappedBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.bytes.len() + buf.len() > self.limit {
            self.overflowed = true;
            return Err(std::io::Error::other("rendered output over its limit"));
        }
        self.bytes.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// `.KEY` for identifier-like keys, `["KEY"]` otherwise.
fn key_suffix(key: &str) -> String {
    let simple = !key.is_empty()
        && !key.starts_with(|c: char| c.is_ascii_digit())
        && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if simple {
        format!(".{key}")
    } else {
        format!("[{}]", serde_json::Value::String(key.to_string()))
    }
}

fn has_template_syntax(s: &str) -> bool {
    s.contains("{{") || s.contains("{%") || s.contains("{#")
}

/// The Jinja environment: strict undefined, no auto-escape, Python-style
/// scalars, Python string/dict methods, Airflow's date filters.
fn environment<'a>() -> Environment<'a> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_auto_escape_callback(|_| AutoEscape::None);
    env.set_keep_trailing_newline(true);
    // Debug info would copy template sources and values into errors.
    env.set_debug(false);
    env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
    env.set_formatter(|out, state, value| match value.kind() {
        ValueKind::None => out.write_str("None").map_err(minijinja::Error::from),
        ValueKind::Bool => out
            .write_str(if value.is_true() { "True" } else { "False" })
            .map_err(minijinja::Error::from),
        _ => minijinja::escape_formatter(out, state, value),
    });
    datetime::add_filters(&mut env);
    env
}

/// Turns a MiniJinja error into a [`TemplateError`].
fn explain(
    path: &str,
    source: &str,
    root: &Value,
    shared: &Arc<Shared>,
    e: &minijinja::Error,
) -> TemplateError {
    let line = e
        .line()
        .filter(|_| source.contains('\n'))
        .map(|l| format!(" (line {l})"))
        .unwrap_or_default();
    let mut undefined = Vec::new();
    let message = if e.kind() == ErrorKind::UndefinedError {
        undefined = undefined_names(source, root);
        let reasons = shared.take_pending();
        match undefined.as_slice() {
            [one] => match reasons.get(one) {
                Some(reason) => format!("undefined variable `{one}`: {reason}"),
                None => format!("undefined variable `{one}`"),
            },
            [] => match (reasons.values().next(), e.detail()) {
                (Some(reason), _) => reason.clone(),
                (None, Some(detail)) => format!("undefined value: {detail}"),
                (None, None) => "undefined value".to_string(),
            },
            many => format!(
                "undefined variable (one of {})",
                many.iter()
                    .map(|n| format!("`{n}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    } else {
        match (e.kind(), e.detail()) {
            // Our own functions' errors read best without a prefix.
            (ErrorKind::InvalidOperation, Some(detail)) => detail.to_string(),
            (kind, Some(detail)) => format!("{kind}: {detail}"),
            (kind, None) => kind.to_string(),
        }
    };
    TemplateError {
        field: path.to_string(),
        message: shared.masker.mask(&format!("{message}{line}")),
        undefined,
    }
}

/// Python's str/dict/list methods that MiniJinja resolves by name at call
/// time (so `x.upper` is not an attribute, yet `x.upper()` works).
const BUILTIN_METHODS: &[&str] = &[
    "upper",
    "lower",
    "islower",
    "isupper",
    "isspace",
    "isalnum",
    "isalpha",
    "isascii",
    "isdigit",
    "isnumeric",
    "strip",
    "lstrip",
    "rstrip",
    "replace",
    "title",
    "split",
    "splitlines",
    "capitalize",
    "count",
    "find",
    "format",
    "rfind",
    "startswith",
    "endswith",
    "join",
    "keys",
    "values",
    "items",
    "get",
];

/// The dotted variable paths of `source` that do not resolve against `root`
/// (the shortest failing prefix of each), sorted.
fn undefined_names(source: &str, root: &Value) -> Vec<String> {
    let env = environment();
    let Ok(template) = env.template_from_str(source) else {
        return Vec::new();
    };
    let mut out: Vec<String> = Vec::new();
    for path in template.undeclared_variables(true) {
        let segments: Vec<&str> = path.split('.').collect();
        let Some(first) = segments.first() else {
            continue;
        };
        let mut current = root.get_attr(first).unwrap_or(Value::UNDEFINED);
        if current.is_undefined() {
            // Globals (range, dict, namespace, ...) are defined too.
            if !env.globals().any(|(name, _)| name == *first) {
                out.push(first.to_string());
            }
            continue;
        }
        for (i, segment) in segments.iter().enumerate().skip(1) {
            let next = current.get_attr(segment).unwrap_or(Value::UNDEFINED);
            if next.is_undefined() {
                let is_method = matches!(
                    current.kind(),
                    ValueKind::String | ValueKind::Map | ValueKind::Seq
                ) && BUILTIN_METHODS.contains(segment);
                if !is_method {
                    out.push(segments[..=i].join("."));
                }
                break;
            }
            current = next;
        }
    }
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests;
