//! `AzureContainerInstancesOperator` and `AzureContainerInstanceHook`, rebuilt
//! as one WASI 0.2 component.
//!
//! The component exports the generic `orchestrator:task/task-operator`
//! interface and the ACI `container-instance-hook`; every Azure Resource Manager
//! and Entra ID request goes out through `wasi:http/outgoing-handler`, where the
//! host applies its outbound policy.

#![deny(missing_docs)]

mod bindings;
mod exports;

pub mod arm;
pub mod auth;
pub mod error;
pub mod hook;
pub mod http;
pub mod operator;
pub mod params;
pub mod runtime;
