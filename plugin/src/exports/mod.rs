//! The component's exports: thin adapters from the WIT interfaces to the
//! operator (`operator.rs`) and the hook (`hook.rs`).

mod hook;
mod operator;

/// The type the component's exports are implemented on.
pub(crate) struct Component;

crate::bindings::export!(Component with_types_in crate::bindings);
