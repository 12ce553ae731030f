//! `aci-host`: a small wasmtime host for `orchestrator:task` operator plugins,
//! with the Azure Container Instances component built in and a local ARM
//! emulator so the whole job runs offline.
//!
//! The host owns the sandbox (engine, WASI, outbound policy), connections,
//! templates, XCom and the user interface; the plugin owns Azure semantics.

#![deny(missing_docs)]

pub mod bindings;
pub mod cli;
pub mod local;
pub mod connections;
pub mod emulator;
pub mod engine;
pub mod http_hooks;
pub mod mask;
pub mod policy;
pub mod runner;
pub mod runtime_impl;
pub mod state;
pub mod task;
pub mod templates;
pub mod xcom_store;
