//! Embedding the ACI component in your own wasmtime host: your store data,
//! your connections, your linker. `aci_host::runtime` provides only the
//! `orchestrator:task/runtime` interface; WASI and wasi-http come from
//! wasmtime's own crates, the outbound policy is yours (here the host's
//! deny-by-default `PolicyHooks`). What the task may use is what its operator
//! declares: `aci_host::runner::declare` asks it (connection ids, then a plan
//! from those connections) and gives the `Grant` the runtime and the send hook
//! enforce.
//!
//! `cargo run -p aci-host --example embed` runs one task against the local
//! ARM emulator (the container's command runs as a local process).

use std::sync::Arc;

use aci_emulator::{Emulator, EmulatorConfig};
use aci_host::bindings::task::OperatorPlugin;
use aci_host::bindings::{TaskContext, TaskOutcome};
use aci_host::connections::Connection;
use aci_host::http_hooks::{HookStats, PolicyHooks};
use aci_host::local::LocalConnections;
use aci_host::mask::Masker;
use aci_host::policy::OutboundPolicy;
use aci_host::runner::declare::{self, Declaration};
use aci_host::runner::BUILTIN_PLUGIN;
use aci_host::runtime::{
    CancelToken, ConnectionLookupError, ConnectionProvider, GuestStream, TaskRuntime,
    TaskRuntimeView, TracingLogSink,
};
use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::{Engine, Store};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

/// The embedder's store data: WASI, wasi-http and the task runtime.
struct MyState {
    wasi: WasiCtx,
    http: WasiHttpCtx,
    table: ResourceTable,
    hooks: PolicyHooks,
    runtime: TaskRuntime,
}

impl WasiView for MyState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for MyState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.hooks,
        }
    }
}

impl TaskRuntimeView for MyState {
    fn task_runtime(&mut self) -> &mut TaskRuntime {
        &mut self.runtime
    }
}

/// The embedder's connections: `azure_default` is the emulator, nothing else exists.
struct MyConnections(LocalConnections);

impl ConnectionProvider for MyConnections {
    fn connection(&self, conn_id: &str) -> Result<Connection, ConnectionLookupError> {
        match conn_id {
            "azure_default" => Ok(self.0.connection_for(conn_id)),
            other => Err(ConnectionLookupError::NotFound(format!(
                "no connection `{other}` here"
            ))),
        }
    }
}

/// Runs one task of the built-in component against a fresh emulator.
pub async fn run() -> wasmtime::Result<TaskOutcome> {
    let emulator = Emulator::start(EmulatorConfig::default()).await?;
    let engine = Engine::default();
    let component = Component::new(&engine, BUILTIN_PLUGIN)?;
    let mut linker = Linker::<MyState>::new(&engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)?;
    aci_host::runtime::add_to_linker(&mut linker)?;

    let connections = Arc::new(MyConnections(LocalConnections::of(&emulator)));
    let masker = Masker::new();
    let runtime = TaskRuntime::new(
        "hello",
        connections.clone(),
        Arc::new(TracingLogSink),
        masker.clone(),
        CancelToken::new(),
    );
    // The guest's stderr goes through the task's masker to its log sink.
    let stderr = runtime.guest_output(GuestStream::Stderr);
    let state = MyState {
        wasi: WasiCtx::builder().stderr(stderr).build(),
        http: WasiHttpCtx::new(),
        table: ResourceTable::new(),
        // Deny everything until the task's grant is known.
        hooks: PolicyHooks::new(OutboundPolicy::deny_all(), HookStats::default(), "hello"),
        runtime,
    };
    let mut store = Store::new(&engine, state);
    let plugin = OperatorPlugin::instantiate_async(&mut store, &component, &linker).await?;
    let operator = plugin.orchestrator_task_task_operator();
    let context = TaskContext {
        dag_id: "embedded".into(),
        task_id: "hello".into(),
        run_id: "manual__1".into(),
        try_number: 1,
        logical_date: "2026-01-01T00:00:00+00:00".into(),
    };
    let params = serde_json::json!({
        "ci_conn_id": "azure_default", "resource_group": "rg", "name": "hello",
        "image": "busybox", "region": "westeurope", "command": ["echo", "hello from the embedder"],
    })
    .to_string();
    // What may this task use? Its operator declares it; grant exactly that.
    let info = operator.call_describe(&mut store).await?;
    let decl = Declaration {
        info: &info,
        connections: connections.as_ref(),
        masker: &masker,
    };
    let grant = declare::task_grant(&mut store, operator, &decl, &params)
        .await?
        .map_err(|e| wasmtime::format_err!("the task cannot be granted: {e:?}"))?;
    store.data_mut().runtime.apply_grant(&grant);
    store.data_mut().hooks.set_policy(grant.policy());
    let outcome = operator.call_execute(&mut store, &context, &params).await?;
    emulator.shutdown().await;
    outcome.map_err(|e| wasmtime::format_err!("the task failed: {e:?}"))
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> wasmtime::Result<()> {
    let outcome = run().await?;
    println!(
        "exit code {:?}, return value {}",
        outcome.exit_code, outcome.return_value
    );
    Ok(())
}
