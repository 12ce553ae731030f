//! The hook, generically: whatever functions the component's hook interface
//! exports, discovered from its type, called with JSON arguments and
//! answering JSON.
//!
//! - **Which interface.** The component's exported interface whose name ends
//!   in `hook` (`aci:container-instance/container-instance-hook@0.1.0` for
//!   the built-in plugin). Functions whose types have no JSON form
//!   (resources, streams, …; see [`values`](super::values)) are left out.
//! - **Arguments** are one JSON object keyed by parameter name, each value in
//!   the JSON form of its type: `runner.hook("get-logs", json!({"target":
//!   {"conn_id": "azure_default", "resource_group": "rg", "name": "g"},
//!   "tail": 10}), env)`. An `option` parameter may be left out.
//! - **Results.** A `result<T, task-error>` gives `Ok(T)` or
//!   `Err(TaskError)`; any other type is the answer itself (`test-connection`
//!   returns a `tuple<bool, string>`, i.e. `[true, "…"]`). A `string` answer
//!   that holds a JSON object or array (the ARM documents of `get-state`,
//!   `create-or-update`, `list`) is returned parsed. Known secrets are masked
//!   in every string of the answer.
//!
//! - **Grant.** The connections a call may read are its `conn-id` arguments
//!   (a parameter or record field of that name); the plugin's `plan` (with no
//!   params, each connection its main one) names the origins and files (see
//!   [`declare`](super::declare)).
//!
//! Adding a hook method therefore means editing the WIT and the plugin only:
//! the host and the CLI (`aci-host hook METHOD`) pick it up from the component.

use wasmtime::component::{types, Component, ComponentExportIndex, Type, Val};
use wasmtime::Engine;

use crate::bindings::task::OperatorPlugin;
use crate::bindings::{Failure, RemoteError, TaskError};

use super::deadline::{guarded, Guard, Stopped};
use super::declare;
use super::values::{self, json_key};
use super::{Runner, TaskEnv};

/// The interface implemented by every operator plugin; never the hook.
const TASK_OPERATOR: &str = "orchestrator:task/task-operator";

/// One exported hook function and its type.
#[derive(Clone, Debug)]
pub struct HookMethod {
    /// The WIT name (`get-logs`).
    pub name: String,
    /// Parameters in order: WIT name and type.
    pub params: Vec<(String, Type)>,
    /// The result type, if the function returns something.
    pub result: Option<Type>,
    index: ComponentExportIndex,
}

/// The component's hook interface: its name and callable functions.
#[derive(Clone, Debug)]
pub struct HookInterface {
    /// The exported interface's full name.
    pub name: String,
    /// Its functions, in the component's order.
    pub methods: Vec<HookMethod>,
}

impl HookInterface {
    /// The hook interface `component` exports, if any.
    pub fn discover(engine: &Engine, component: &Component) -> Option<HookInterface> {
        let ty = component.component_type();
        let (name, instance) = ty.exports(engine).find_map(|(name, export)| {
            let types::ComponentItem::ComponentInstance(instance) = export.ty else {
                return None;
            };
            let iface = name.split('@').next().unwrap_or(name);
            (!iface.starts_with(TASK_OPERATOR) && iface.ends_with("hook"))
                .then(|| (name.to_string(), instance))
        })?;
        let iface_index = component.get_export_index(None, &name)?;
        let methods = instance
            .exports(engine)
            .filter_map(|(fname, export)| {
                let types::ComponentItem::ComponentFunc(func) = export.ty else {
                    return None;
                };
                let method = HookMethod {
                    name: fname.to_string(),
                    params: func.params().map(|(n, t)| (n.to_string(), t)).collect(),
                    result: func.results().next(),
                    index: component.get_export_index(Some(&iface_index), fname)?,
                };
                let callable = method.params.iter().all(|(_, t)| values::supported(t))
                    && method.result.as_ref().is_none_or(values::supported);
                if !callable {
                    tracing::debug!(
                        "hook function `{fname}` has types without a JSON form; skipped"
                    );
                }
                callable.then_some(method)
            })
            .collect();
        Some(HookInterface { name, methods })
    }

    /// The method called `name`.
    pub fn method(&self, name: &str) -> Option<&HookMethod> {
        self.methods.iter().find(|m| m.name == name)
    }

    /// The method names, comma-separated (for messages).
    pub fn method_names(&self) -> String {
        let names: Vec<&str> = self.methods.iter().map(|m| m.name.as_str()).collect();
        names.join(", ")
    }
}

impl HookMethod {
    /// The arguments for a call, from a JSON object keyed by parameter name.
    pub fn args(&self, json: &serde_json::Value) -> Result<Vec<Val>, String> {
        let empty = serde_json::Map::new();
        let map = match json {
            serde_json::Value::Object(m) => m,
            serde_json::Value::Null => &empty,
            other => return Err(format!("arguments must be a JSON object, got {other}")),
        };
        if let Some(unknown) = map
            .keys()
            .find(|k| !self.params.iter().any(|(p, _)| json_key(p) == json_key(k)))
        {
            return Err(format!("`{}` has no parameter `{unknown}`", self.name));
        }
        self.params
            .iter()
            .map(|(name, ty)| {
                let key = json_key(name);
                match (map.iter().find(|(k, _)| json_key(k) == key), ty) {
                    (Some((_, v)), ty) => values::to_val(ty, v, &key),
                    (None, Type::Option(_)) => Ok(Val::Option(None)),
                    (None, _) => Err(format!("{key}: missing")),
                }
            })
            .collect()
    }
}

/// The answer of a call: `Ok`/`Err` of a `result`, else the value itself.
fn answer(result: Option<Val>) -> Result<serde_json::Value, TaskError> {
    let document = |v: &Val| match v {
        Val::String(s) => serde_json::from_str::<serde_json::Value>(s)
            .ok()
            .filter(|d| d.is_object() || d.is_array())
            .unwrap_or_else(|| serde_json::Value::String(s.clone())),
        other => values::to_json(other),
    };
    match result {
        None => Ok(serde_json::Value::Null),
        Some(Val::Result(Ok(v))) => Ok(v.as_deref().map_or(serde_json::Value::Null, document)),
        Some(Val::Result(Err(e))) => Err(e.as_deref().map_or_else(
            || TaskError::Internal("the hook failed without saying why".into()),
            task_error,
        )),
        Some(v) => Ok(document(&v)),
    }
}

/// A `task-error` value as the typed [`TaskError`]; any other error value
/// becomes [`TaskError::Internal`] with its JSON form.
fn task_error(v: &Val) -> TaskError {
    let other = || TaskError::Internal(values::to_json(v).to_string());
    let Val::Variant(case, payload) = v else {
        return other();
    };
    let payload = payload.as_deref();
    let text = || match payload {
        Some(Val::String(s)) => Some(s.clone()),
        _ => None,
    };
    let field = |name: &str| match payload {
        Some(Val::Record(fields)) => fields.iter().find(|(n, _)| n == name).map(|(_, v)| v),
        _ => None,
    };
    let string = |name: &str| match field(name) {
        Some(Val::String(s)) => Some(s.clone()),
        _ => None,
    };
    let typed = match case.as_str() {
        "invalid-params" => text().map(TaskError::InvalidParams),
        "connection" => text().map(TaskError::Connection),
        "denied" => text().map(TaskError::Denied),
        "timed-out" => text().map(TaskError::TimedOut),
        "cancelled" => text().map(TaskError::Cancelled),
        "internal" => text().map(TaskError::Internal),
        "remote" => match (field("status"), string("code"), string("message")) {
            (Some(Val::U16(status)), Some(code), Some(message)) => {
                Some(TaskError::Remote(RemoteError {
                    status: *status,
                    code,
                    message,
                }))
            }
            _ => None,
        },
        "failed" => match (field("exit-code"), string("reason"), string("message")) {
            (Some(Val::Option(code)), Some(reason), Some(message)) => {
                let exit_code = match code.as_deref() {
                    Some(Val::S32(c)) => Some(*c),
                    _ => None,
                };
                Some(TaskError::Failed(Failure {
                    exit_code,
                    reason,
                    message,
                }))
            }
            _ => None,
        },
        _ => None,
    };
    typed.unwrap_or_else(other)
}

impl Runner {
    /// The component's hook interface, if it exports one.
    pub fn hook_interface(&self) -> Option<&HookInterface> {
        self.plugin.hook.as_ref()
    }

    /// Calls hook method `method` with `args` (a JSON object keyed by
    /// parameter name; see [the module docs](self)) on a fresh instance.
    /// A method that does not exist or arguments that do not fit its types
    /// are [`TaskError::InvalidParams`]; a call (planning included) still
    /// running at the hook deadline ([`CallDeadlines::hook`](super::CallDeadlines))
    /// is [`TaskError::TimedOut`], one cancelled through `env.cancel` (and not
    /// answering within `env.cancel_grace`) [`TaskError::Cancelled`]; the
    /// outer error is a trap, or a plugin without a hook.
    pub async fn hook(
        &self,
        method: &str,
        args: serde_json::Value,
        env: TaskEnv,
    ) -> wasmtime::Result<Result<serde_json::Value, TaskError>> {
        let Some(hook) = self.hook_interface() else {
            wasmtime::bail!("this plugin does not export a hook interface");
        };
        let Some(m) = hook.method(method) else {
            return Ok(Err(TaskError::InvalidParams(format!(
                "unknown hook method `{method}`; one of: {}",
                hook.method_names()
            ))));
        };
        let params = match m.args(&args) {
            Ok(p) => p,
            Err(e) => return Ok(Err(TaskError::InvalidParams(format!("{method}: {e}")))),
        };
        let (info, mut store, _) = self.call_store("hook", &env, env.cancel.clone()).await?;
        let mut results = vec![Val::Bool(false); usize::from(m.result.is_some())];
        let call = self.plan_and_call(m, &params, &info, &env, &mut store, &mut results);
        let guard = Guard {
            deadline: Some(self.deadlines.hook),
            cancel: Some(&env.cancel),
            grace: env.cancel_grace,
        };
        match guarded(guard, call).await {
            Ok(done) => {
                if let Err(e) = done? {
                    return Ok(Err(e));
                }
            }
            Err(stop @ Stopped::Cancelled) => {
                return Ok(Err(TaskError::Cancelled(
                    stop.describe(&format!("`{method}`")),
                )))
            }
            Err(stop) => {
                let what = format!("`{method}` (--hook-timeout)");
                return Ok(Err(TaskError::TimedOut(stop.describe(&what))));
            }
        }
        Ok(answer(results.pop()).map(|v| env.masker.mask_json(&v)))
    }

    /// Instantiates, plans the call's grant, applies it and calls `m`,
    /// leaving its result in `results`.
    async fn plan_and_call(
        &self,
        m: &HookMethod,
        params: &[Val],
        info: &crate::bindings::OperatorInfo,
        env: &TaskEnv,
        store: &mut wasmtime::Store<crate::state::HostState>,
        results: &mut [Val],
    ) -> wasmtime::Result<Result<(), TaskError>> {
        let method = &m.name;
        let instance = self.plugin.pre.instantiate_async(&mut *store).await?;
        let operator = OperatorPlugin::new(&mut *store, &instance)?;
        let decl = declare::Declaration {
            info,
            connections: env.connections.as_ref(),
            masker: &env.masker,
        };
        let ids = declare::conn_ids_in_args(&m.params, params);
        let grant = declare::plan_grant(
            &mut *store,
            operator.orchestrator_task_task_operator(),
            &decl,
            None,
            ids,
            declare::Strictness::Hook,
        )
        .await?;
        let grant = match grant.and_then(|g| super::finish_grant(g, env)) {
            Ok(g) => g,
            Err(e) => return Ok(Err(e)),
        };
        super::log_grant(env, "hook", &grant);
        store.data_mut().apply_grant(&grant);
        let func = instance
            .get_func(&mut *store, m.index)
            .ok_or_else(|| wasmtime::format_err!("hook method `{method}` is not a function"))?;
        func.call_async(&mut *store, params, results).await?;
        Ok(Ok(()))
    }
}
