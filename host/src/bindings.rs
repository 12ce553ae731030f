//! Host-side bindings generated from `wit/`, in one place.
//!
//! Two worlds are bound: the generic `orchestrator:task/operator-plugin` (any
//! operator plugin: `task-operator` export, `runtime` import) and the ACI
//! `aci:container-instance/operator` world, which reuses the generic types and
//! adds the `container-instance-hook` export. Imported host functions are
//! async and trappable: they return `wasmtime::Result<T>`, where an outer
//! error is a trap and a WIT `result` inside `T` is an error the guest handles.

/// Bindings of the generic `orchestrator:task/operator-plugin` world.
pub mod task {
    #![allow(missing_docs)] // generated code; the WIT's `///` docs flow into it
    wasmtime::component::bindgen!({
        world: "orchestrator:task/operator-plugin",
        path: "../wit",
        imports: { default: async | trappable },
        exports: { default: async },
    });
}

/// Bindings of the ACI `aci:container-instance/operator` world.
pub mod aci {
    #![allow(missing_docs)] // generated code; the WIT's `///` docs flow into it
    wasmtime::component::bindgen!({
        world: "aci:container-instance/operator",
        path: "../wit",
        imports: { default: async | trappable },
        exports: { default: async },
        with: {
            "orchestrator:task": crate::bindings::task::orchestrator::task,
            "wasi:http": wasmtime_wasi_http::p2::bindings::http,
            "wasi:io": wasmtime_wasi::p2::bindings::io,
            "wasi:clocks": wasmtime_wasi::p2::bindings::clocks,
        },
    });
}

pub use task::orchestrator::task::runtime::{Host as RuntimeHost, HostError};
pub use task::orchestrator::task::types::{
    Connection as WitConnection, Failure, LogLevel, OperatorInfo, RemoteError, TaskContext,
    TaskError, TaskOutcome,
};
