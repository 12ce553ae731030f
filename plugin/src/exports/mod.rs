//! The component's exports: thin adapters from the WIT interfaces to the
//! operator (`operator.rs`, through the guest SDK) and the hook (`hook.rs`,
//! through the plugin's own bindings).

mod hook;
mod operator;

/// The type the hook export is implemented on.
pub(crate) struct Component;

// Only the wasm build exports symbols: the export names contain `:`, which
// native linkers reject in version scripts (and native builds exist only to
// run unit tests).
#[cfg(target_arch = "wasm32")]
crate::bindings::export!(Component with_types_in crate::bindings);

task_plugin_sdk::export_operator!(operator::AciOperator);
