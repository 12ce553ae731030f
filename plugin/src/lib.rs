//! `AzureContainerInstancesOperator` and `AzureContainerInstanceHook`, rebuilt
//! as one WASI 0.2 component.
//!
//! The component exports the generic `orchestrator:task/task-operator`
//! interface (through the guest SDK, `task-plugin-sdk`) and the ACI
//! `container-instance-hook`; every Azure Resource Manager and Entra ID request
//! goes out through the SDK's `wasi:http` client, where the host applies its
//! outbound policy. What the host grants is what the operator declares before it runs
//! ([`plan`]: the connections a task reads, the origins and files they need).

#![deny(missing_docs)]

mod bindings;
mod exports;

pub mod arm;
pub mod auth;
pub mod hook;
pub mod operator;
pub mod params;
pub mod plan;
mod sys;
