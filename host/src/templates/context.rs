//! The objects templates see: Airflow's context variables (`ds`, `ti`,
//! `var`, `conn`, `macros`, ...), each a small MiniJinja object that looks
//! things up when the template asks.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};
use minijinja::value::{Object, ObjectRepr, Rest, Value};
use minijinja::Error;

use super::datetime::{self, method, DateTimeClass, PyDateTime};
use super::pyargs::{bind, fail, required_string, string};
use super::TemplateContext;
use crate::connections::{Connection, ConnectionResolver};
use crate::mask::{is_sensitive_key, secrets_in_json, Masker};
use crate::xcom_store::{XcomStore, RETURN_VALUE_KEY};

/// Prefix of Airflow variables in the environment.
pub(super) const VAR_PREFIX: &str = "AIRFLOW_VAR_";

/// What every context object shares for one `render_params` call.
pub(super) struct Shared {
    pub masker: Masker,
    pub connections: Arc<ConnectionResolver>,
    pub xcom: Arc<XcomStore>,
    pub variables: HashMap<String, String>,
    pub dag_id: String,
    pub task_id: String,
    pub operator: String,
    pub run_id: String,
    pub try_number: u32,
    pub logical_date: DateTime<Utc>,
    /// Why lookups that returned "undefined" failed (a missing variable or
    /// connection), by template path (`var.value.x`, `conn.db`), to explain a
    /// strict-undefined error.
    pub pending: Mutex<HashMap<String, String>>,
}

impl fmt::Debug for Shared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shared")
            .field("dag_id", &self.dag_id)
            .field("task_id", &self.task_id)
            .field("run_id", &self.run_id)
            .finish_non_exhaustive()
    }
}

impl Shared {
    pub fn new(ctx: &TemplateContext, masker: &Masker) -> Self {
        Shared {
            masker: masker.clone(),
            connections: ctx.connections.clone(),
            xcom: ctx.xcom.clone(),
            variables: ctx.variables.clone(),
            dag_id: ctx.dag_id.clone(),
            task_id: ctx.task_id.clone(),
            operator: ctx.operator.clone(),
            run_id: ctx.run_id.clone(),
            try_number: ctx.try_number,
            logical_date: ctx.logical_date,
            pending: Mutex::new(HashMap::new()),
        }
    }

    fn set_pending(&self, path: String, message: String) {
        self.pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(path, message);
    }

    /// Takes the recorded lookup failures.
    pub fn take_pending(&self) -> HashMap<String, String> {
        std::mem::take(&mut *self.pending.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Resolves a connection and registers its secrets with the masker.
    fn connection(&self, conn_id: &str) -> Result<Connection, String> {
        let conn = self.connections.get(conn_id).map_err(|e| e.to_string())?;
        self.masker.add_all(conn.secrets());
        Ok(conn)
    }

    /// An Airflow variable's raw value: `AIRFLOW_VAR_<NAME>` as given, or
    /// with the name upper-cased (Airflow's rule).
    fn variable(&self, name: &str) -> Option<&String> {
        self.variables
            .get(name)
            .or_else(|| self.variables.get(&name.to_uppercase()))
    }

    fn missing_variable(&self, name: &str) -> String {
        format!(
            "Airflow variable `{name}` is not defined (set the environment variable {VAR_PREFIX}{})",
            name.to_uppercase()
        )
    }
}

/// Builds the root context for a render.
pub(super) fn root(shared: &Arc<Shared>, params: &serde_json::Value) -> Value {
    let ld = PyDateTime::pendulum(shared.logical_date);
    let day = |offset: i64| PyDateTime::pendulum(shared.logical_date + Duration::days(offset));
    let ds = shared.logical_date.format("%Y-%m-%d").to_string();
    let ds_nodash = shared.logical_date.format("%Y%m%d").to_string();
    let ti = Value::from_object(TaskInstance(shared.clone()));
    let entries: Vec<(&str, Value)> = vec![
        ("dag_id", Value::from(shared.dag_id.clone())),
        ("task_id", Value::from(shared.task_id.clone())),
        ("run_id", Value::from(shared.run_id.clone())),
        ("try_number", Value::from(shared.try_number)),
        ("ds", Value::from(ds.clone())),
        ("ds_nodash", Value::from(ds_nodash.clone())),
        ("ts", Value::from(ld.isoformat("T"))),
        (
            "ts_nodash",
            Value::from(shared.logical_date.format("%Y%m%dT%H%M%S").to_string()),
        ),
        (
            "ts_nodash_with_tz",
            Value::from(datetime::ts_nodash_with_tz(&ld)),
        ),
        ("logical_date", ld.value()),
        ("execution_date", ld.value()),
        ("data_interval_start", ld.value()),
        ("data_interval_end", ld.value()),
        (
            "yesterday_ds",
            Value::from(day(-1).strftime("%Y-%m-%d").unwrap_or_default()),
        ),
        (
            "yesterday_ds_nodash",
            Value::from(day(-1).strftime("%Y%m%d").unwrap_or_default()),
        ),
        (
            "tomorrow_ds",
            Value::from(day(1).strftime("%Y-%m-%d").unwrap_or_default()),
        ),
        (
            "tomorrow_ds_nodash",
            Value::from(day(1).strftime("%Y%m%d").unwrap_or_default()),
        ),
        (
            "task_instance_key_str",
            Value::from(format!(
                "{}__{}__{}",
                shared.dag_id, shared.task_id, ds_nodash
            )),
        ),
        ("params", Value::from_serialize(params)),
        ("var", Value::from_object(Variables(shared.clone()))),
        ("conn", Value::from_object(Connections(shared.clone()))),
        ("macros", Value::from_object(Macros(shared.clone()))),
        ("ti", ti.clone()),
        ("task_instance", ti),
        ("dag", Value::from_object(Dag(shared.clone()))),
        ("task", Value::from_object(Task(shared.clone()))),
        ("dag_run", Value::from_object(DagRun(shared.clone()))),
    ];
    Value::from_iter(entries.into_iter().map(|(k, v)| (k.to_string(), v)))
}

/// `var`: `var.value.NAME`, `var.json.NAME`.
#[derive(Debug)]
struct Variables(Arc<Shared>);

impl Object for Variables {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let json = match key.as_str()? {
            "value" => false,
            "json" => true,
            _ => return None,
        };
        Some(Value::from_object(VariableAccessor {
            shared: self.0.clone(),
            json,
        }))
    }
}

/// `var.value` or `var.json`: attribute access and `.get(name, default)`.
#[derive(Debug)]
struct VariableAccessor {
    shared: Arc<Shared>,
    json: bool,
}

impl VariableAccessor {
    /// The variable's template value, with its secrets registered: the whole value under a
    /// sensitive name, and the secrets inside a JSON value whichever way it is read (a
    /// `var.value` that fails in a macro shows its text in the error).
    fn lookup(&self, name: &str) -> Result<Option<Value>, String> {
        let Some(raw) = self.shared.variable(name) else {
            return Ok(None);
        };
        let sensitive = is_sensitive_key(name);
        if sensitive {
            self.shared.masker.add(raw);
        }
        let parsed = serde_json::from_str::<serde_json::Value>(raw);
        if let Ok(json) = &parsed {
            let mut secrets = Vec::new();
            secrets_in_json(json, &mut secrets);
            self.shared.masker.add_all(secrets);
        }
        if !self.json {
            return Ok(Some(Value::from(raw.clone())));
        }
        let parsed = parsed.map_err(|e| {
            format!(
                "Airflow variable `{name}` is not valid JSON (line {} column {})",
                e.line(),
                e.column()
            )
        })?;
        if let (true, serde_json::Value::String(s)) = (sensitive, &parsed) {
            self.shared.masker.add(s);
        }
        Ok(Some(Value::from_serialize(&parsed)))
    }
}

impl Object for VariableAccessor {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let name = key.as_str()?;
        if name == "get" {
            return Some(method(self.clone(), |this, args| {
                let a = bind("get", args, &["key", "default_var"])?;
                let name = required_string("get", &a[0], "key")?;
                match this.lookup(&name).map_err(fail)? {
                    Some(v) => Ok(v),
                    None => match &a[1] {
                        Some(default) => Ok(default.clone()),
                        None => Err(fail(this.shared.missing_variable(&name))),
                    },
                }
            }));
        }
        let path = format!("var.{}.{name}", if self.json { "json" } else { "value" });
        match self.lookup(name) {
            Ok(Some(v)) => Some(v),
            Ok(None) => {
                self.shared
                    .set_pending(path, self.shared.missing_variable(name));
                None
            }
            Err(message) => {
                self.shared.set_pending(path, message);
                None
            }
        }
    }
}

/// `conn`: Airflow's `{{ conn.my_conn_id.login }}` and `conn.get('id')`.
#[derive(Debug)]
struct Connections(Arc<Shared>);

impl Object for Connections {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let id = key.as_str()?;
        if id == "get" {
            return Some(method(self.clone(), |this, args| {
                let a = bind("get", args, &["conn_id", "default_conn"])?;
                let id = required_string("get", &a[0], "conn_id")?;
                match (this.0.connection(&id), &a[1]) {
                    (Ok(c), _) => Ok(ConnectionValue::value(c)),
                    (Err(_), Some(default)) => Ok(default.clone()),
                    (Err(message), None) => Err(fail(message)),
                }
            }));
        }
        match self.0.connection(id) {
            Ok(conn) => Some(ConnectionValue::value(conn)),
            Err(message) => {
                self.0.set_pending(format!("conn.{id}"), message);
                None
            }
        }
    }
}

/// One connection as templates see it (Airflow's `Connection` attributes).
#[derive(Debug)]
struct ConnectionValue(Connection);

impl ConnectionValue {
    fn value(conn: Connection) -> Value {
        Value::from_object(ConnectionValue(conn))
    }
}

impl Object for ConnectionValue {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let c = &self.0;
        let opt = |s: &Option<String>| s.clone().map_or(Value::from(()), Value::from);
        let extra = || Value::from_serialize(serde_json::Value::Object(c.extra.clone()));
        Some(match key.as_str()? {
            "conn_id" => Value::from(c.conn_id.clone()),
            "conn_type" => opt(&c.conn_type),
            "host" => opt(&c.host),
            "login" => opt(&c.login),
            "password" => opt(&c.password),
            "schema" => opt(&c.schema),
            "port" => c.port.map_or(Value::from(()), Value::from),
            "description" => Value::from(()),
            "extra" | "extra_dejson" => extra(),
            "get_password" => method(self.clone(), |this, args| {
                bind("get_password", args, &[])?;
                Ok(this.0.password.clone().map_or(Value::from(()), Value::from))
            }),
            "get_extra" => method(self.clone(), |this, args| {
                bind("get_extra", args, &[])?;
                Ok(Value::from(this.0.extra_json()))
            }),
            _ => return None,
        })
    }

    fn render(self: &Arc<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Airflow's `repr(Connection)` is its id.
        f.write_str(&self.0.conn_id)
    }
}

/// `macros`: Airflow's macros module.
#[derive(Debug)]
struct Macros(Arc<Shared>);

impl Object for Macros {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        Some(match key.as_str()? {
            "datetime" => Value::from_object(DateTimeClass),
            "timedelta" => datetime::timedelta_function(),
            "ds_add" => Value::from_function(datetime::ds_add),
            "ds_format" => Value::from_function(datetime::ds_format),
            "connection" => method(self.clone(), |this, args| {
                let a = bind("connection", args, &["conn_id"])?;
                let id = required_string("connection", &a[0], "conn_id")?;
                this.0
                    .connection(&id)
                    .map(ConnectionValue::value)
                    .map_err(fail)
            }),
            "json" => Value::from_object(JsonModule),
            "uuid" => Value::from_object(UuidModule),
            "time" => Value::from_object(TimeModule),
            "random" => Value::from_function(|args: Rest<Value>| {
                bind("random", &args, &[])?;
                Ok::<_, Error>(Value::from(rand::random::<f64>()))
            }),
            _ => return None,
        })
    }
}

/// `macros.json`: `dumps(obj)` and `loads(text)`.
#[derive(Debug)]
struct JsonModule;

impl Object for JsonModule {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        Some(match key.as_str()? {
            "dumps" => Value::from_function(|args: Rest<Value>| {
                let a = bind("dumps", &args, &["obj"])?;
                let v = a[0].clone().unwrap_or(Value::from(()));
                serde_json::to_string(&v)
                    .map(Value::from)
                    .map_err(|e| fail(format!("dumps(): {e}")))
            }),
            "loads" => Value::from_function(|args: Rest<Value>| {
                let a = bind("loads", &args, &["s"])?;
                let s = required_string("loads", &a[0], "s")?;
                serde_json::from_str::<serde_json::Value>(&s)
                    .map(|v| Value::from_serialize(&v))
                    .map_err(|e| {
                        fail(format!(
                            "loads(): not valid JSON (line {} column {})",
                            e.line(),
                            e.column()
                        ))
                    })
            }),
            _ => return None,
        })
    }
}

/// `macros.uuid`: `uuid4()`.
#[derive(Debug)]
struct UuidModule;

impl Object for UuidModule {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        match key.as_str()? {
            "uuid4" => Some(Value::from_function(|args: Rest<Value>| {
                bind("uuid4", &args, &[])?;
                Ok::<_, Error>(Value::from(uuid::Uuid::new_v4().to_string()))
            })),
            _ => None,
        }
    }
}

/// `macros.time`: `time()`.
#[derive(Debug)]
struct TimeModule;

impl Object for TimeModule {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        match key.as_str()? {
            "time" => Some(Value::from_function(|args: Rest<Value>| {
                bind("time", &args, &[])?;
                let now = Utc::now();
                Ok::<_, Error>(Value::from(
                    now.timestamp() as f64 + now.timestamp_subsec_micros() as f64 / 1e6,
                ))
            })),
            _ => None,
        }
    }
}

/// `ti` / `task_instance`.
#[derive(Debug)]
struct TaskInstance(Arc<Shared>);

impl TaskInstance {
    /// Airflow's `ti.xcom_pull(task_ids=None, dag_id=None,
    /// key='return_value', include_prior_dates=False, map_indexes=None,
    /// default=None, run_id=None)`, from the local store of this run.
    ///
    /// `task_ids` defaults to the current task; a list of ids returns a list
    /// of values (`none` for those without one).
    fn xcom_pull(&self, args: &[Value]) -> Result<Value, Error> {
        const NAMES: &[&str] = &[
            "task_ids",
            "dag_id",
            "key",
            "include_prior_dates",
            "map_indexes",
            "default",
            "run_id",
        ];
        let a = bind("xcom_pull", args, NAMES)?;
        let s = &self.0;
        let text = |i: usize| -> Result<Option<String>, Error> {
            a[i].as_ref()
                .map(|v| string("xcom_pull", v, NAMES[i]))
                .transpose()
        };
        let dag_id = text(1)?.unwrap_or_else(|| s.dag_id.clone());
        let key = text(2)?.unwrap_or_else(|| RETURN_VALUE_KEY.to_string());
        if a[3].as_ref().is_some_and(|v| v.is_true()) {
            return Err(fail(
                "xcom_pull(): include_prior_dates is not supported by the local XCom store",
            ));
        }
        let default = a[5].clone().unwrap_or(Value::from(()));
        let run_id = text(6)?.unwrap_or_else(|| s.run_id.clone());
        let pull = |task_id: &str| -> Result<Value, Error> {
            let found = s
                .xcom
                .pull(&dag_id, &run_id, task_id, &key)
                .map_err(|e| fail(format!("xcom_pull(): cannot read the XCom store: {e}")))?;
            Ok(found.map_or_else(|| default.clone(), |v| Value::from_serialize(&v)))
        };
        match &a[0] {
            None => pull(&s.task_id),
            Some(v) if v.as_str().is_some() => pull(v.as_str().unwrap_or_default()),
            Some(v) => {
                let ids = v.try_iter().map_err(|_| {
                    fail("xcom_pull(): task_ids must be a string or a list of strings")
                })?;
                let mut out = Vec::new();
                for id in ids {
                    let id = id
                        .as_str()
                        .ok_or_else(|| {
                            fail("xcom_pull(): task_ids must be a string or a list of strings")
                        })?
                        .to_string();
                    out.push(pull(&id)?);
                }
                Ok(Value::from(out))
            }
        }
    }
}

impl Object for TaskInstance {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let s = &self.0;
        Some(match key.as_str()? {
            "task_id" => Value::from(s.task_id.clone()),
            "dag_id" => Value::from(s.dag_id.clone()),
            "run_id" => Value::from(s.run_id.clone()),
            "try_number" => Value::from(s.try_number),
            "map_index" => Value::from(-1),
            "logical_date" | "execution_date" => PyDateTime::pendulum(s.logical_date).value(),
            "xcom_pull" => method(self.clone(), |this, args| this.xcom_pull(args)),
            _ => return None,
        })
    }

    fn render(self: &Arc<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "<TaskInstance: {}.{} {} [running]>",
            self.0.dag_id, self.0.task_id, self.0.run_id
        )
    }
}

/// `dag`: its `dag_id`.
#[derive(Debug)]
struct Dag(Arc<Shared>);

impl Object for Dag {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        match key.as_str()? {
            "dag_id" => Some(Value::from(self.0.dag_id.clone())),
            _ => None,
        }
    }

    fn render(self: &Arc<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<DAG: {}>", self.0.dag_id)
    }
}

/// `task`: its `task_id` and `dag_id`; rendered with the operator's name.
#[derive(Debug)]
struct Task(Arc<Shared>);

impl Object for Task {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        match key.as_str()? {
            "task_id" => Some(Value::from(self.0.task_id.clone())),
            "dag_id" => Some(Value::from(self.0.dag_id.clone())),
            _ => None,
        }
    }

    fn render(self: &Arc<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<Task({}): {}>", self.0.operator, self.0.task_id)
    }
}

/// `dag_run`: a manual run.
#[derive(Debug)]
struct DagRun(Arc<Shared>);

impl Object for DagRun {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let s = &self.0;
        Some(match key.as_str()? {
            "dag_id" => Value::from(s.dag_id.clone()),
            "run_id" => Value::from(s.run_id.clone()),
            "run_type" => Value::from("manual"),
            "conf" => Value::from_serialize(serde_json::json!({})),
            "logical_date" | "execution_date" | "data_interval_start" | "data_interval_end" => {
                PyDateTime::pendulum(s.logical_date).value()
            }
            _ => return None,
        })
    }

    fn render(self: &Arc<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "<DagRun {} @ {}: {}, run_type: manual>",
            self.0.dag_id,
            PyDateTime::pendulum(self.0.logical_date).isoformat("T"),
            self.0.run_id
        )
    }
}
