//! Host-side bindings generated from `wit/`, in one place.
//!
//! One world is bound: the generic `orchestrator:task/operator-plugin` (any
//! operator plugin: `task-operator` export, `runtime` import). A plugin's
//! other exports, such as the ACI `container-instance-hook`, are called
//! dynamically from their types (see [`crate::runner::HookInterface`]). Imported host functions are
//! async and trappable: those without a WIT `result` return
//! `wasmtime::Result<T>` (an error is a trap); those returning
//! `result<T, host-error>` return `Result<T, RuntimeError>`, which is either
//! the guest-visible `host-error` or a trap (see [`crate::runtime`]).

/// Bindings of the generic `orchestrator:task/operator-plugin` world.
pub mod task {
    #![allow(missing_docs)] // generated code; the WIT's `///` docs flow into it
    wasmtime::component::bindgen!({
        world: "orchestrator:task/operator-plugin",
        path: "../wit",
        imports: { default: async | trappable },
        exports: { default: async },
        trappable_error_type: {
            "orchestrator:task/runtime.host-error" => crate::runtime::RuntimeError,
        },
    });
}

pub use task::orchestrator::task::runtime::{Host as RuntimeHost, HostError};
pub use task::orchestrator::task::types::{
    Connection as WitConnection, Failure, LogLevel, OperatorInfo, RemoteError, TaskContext,
    TaskError, TaskOutcome,
};
