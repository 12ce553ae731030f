//! `aci-host`: a small wasmtime host for `orchestrator:task` operator plugins,
//! with the Azure Container Instances component built in and (default feature
//! `local`) the local ARM emulator of the `aci-emulator` crate, so the whole job
//! runs offline.
//!
//! The host owns the sandbox (engine, WASI, outbound policy), connections,
//! templates, XCom and the user interface; the plugin owns Azure semantics.
//!
//! # Embedding
//!
//! Another Rust orchestrator uses the same pieces as the `aci-host` binary:
//!
//! 1. [`runner::Runner::new`] once per process (engine + compiled component;
//!    share it in an `Arc`, it runs many tasks concurrently).
//! 2. Optionally render a task's template fields with
//!    [`templates::render_params`] and a [`templates::TemplateContext`]
//!    (connections from [`connections::ConnectionResolver`], XComs from
//!    [`xcom_store::XcomStore`]), adding [`templates::secured_values`] to the
//!    task's [`mask::Masker`].
//! 3. [`runner::Runner::run`] with a [`runner::TaskSpec`] and a
//!    [`runner::TaskEnv`]: your [`runtime::ConnectionProvider`],
//!    [`runtime::LogSink`] and [`runtime::CancelToken`].
//! 4. Read the [`runner::TaskReport`] (`to_json()` is the CLI's `--json`).
//!
//! The [`runner`] module has a runnable example against the built-in
//! emulator (`aci_emulator::Emulator` and `local::LocalConnections`, feature
//! `local`).

#![deny(missing_docs)]

pub mod bindings;
pub mod budget;
pub mod cli;
pub mod connections;
pub mod cwasm_cache;
pub mod engine;
pub mod grant;
pub mod http_hooks;
#[cfg(feature = "local")]
pub mod local;
/// Secret masking (the `airflow-connections` crate's masker, shared with the
/// other hosts).
pub use airflow_connections::mask;
pub mod owner;
pub mod policy;
pub mod pool;
pub mod runner;
pub mod runtime;
pub mod state;
pub mod task;
pub mod templates;
pub mod xcom_store;
