//! Write `orchestrator:task` operator plugins in Rust.
//!
//! An operator plugin is a WASI 0.2 component that exports the generic
//! `orchestrator:task/task-operator` interface and calls its host through
//! `orchestrator:task/runtime`; any orchestrator hosting that world can run it.
//! This crate keeps the generated bindings to itself:
//!
//! - implement [`Operator`] and name the type in [`export_operator!`];
//! - reach the host through [`runtime`] (connections, logs, XCom,
//!   cancellation, granted files, shared rate budgets) and time through [`clock`];
//! - declare what a task needs ([`Operator::connection_ids`], [`Operator::plan`],
//!   and [`OperatorInfo`]'s `environment` and `secret_extras`): the host grants
//!   exactly that and nothing else (see [`Operator`]'s "Least privilege");
//! - reach remote services through [`http`], a synchronous `wasi:http` client.
//!   The host's outbound policy allows only the origins the plan declared (it is
//!   deny-by-default); a refused request fails with [`http::HttpError::Denied`].
//!   Credentials go only over https or to loopback: the client itself refuses
//!   an `Authorization` header or a body to any other plain-http origin;
//! - report failures as [`Error`]: each case becomes the matching case of the
//!   WIT `task-error`, so the host can tell invalid parameters, a denied
//!   request, a remote error or a failed workload apart.
//!
//! # A complete operator
//!
//! The crate's `examples/echo_operator.rs` (built natively by `cargo test`,
//! and as a component, then run by the host, by the end-to-end tests):
//!
//! ```rust
#![doc = include_str!("../examples/echo_operator.rs")]
//! ```
//!
//! A plugin crate is a `cdylib` built with
//! `cargo build --target wasm32-wasip2`: the result is the component, with no
//! adapter or extra tool. Its unit tests run natively, where the host imports
//! are stubs that panic when called.

#![deny(missing_docs)]

#[doc(hidden)]
pub mod bindings;
pub mod clock;
mod error;
pub mod http;
mod operator;
pub mod runtime;
pub mod wit;

pub use error::{Error, Result};
pub use operator::Operator;
pub use wit::{
    Budget, Connection, LogLevel, OperatorInfo, Origin, TaskContext, TaskOutcome, TaskPlan,
};

/// What [`export_operator!`] expands to; not part of the API.
#[doc(hidden)]
pub mod __private {
    pub use crate::bindings;
    pub use crate::operator::Export;
}
