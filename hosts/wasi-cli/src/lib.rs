//! `aci-cli.wasm`: the ACI plugin, unchanged, composed with a `wasi:cli`
//! adapter (`orchestrator:task/runtime` over environment variables and
//! stderr) and a driver (`wasi:cli/run`: `describe`, `validate`, `run`,
//! `on-kill`, `hook`), so that any WASI 0.2 runtime with `wasi:http` runs it:
//!
//! ```text
//! cargo run -p aci-cli -- aci-cli.wasm
//! wasmtime run -S http --dir . --env AIRFLOW_CONN_AZURE_DEFAULT aci-cli.wasm run task.json
//! ```
//!
//! The build script builds and composes it; this crate hands out the result,
//! and [`stock`] runs it as a stock runtime does (the `wasi-run` binary).

#![deny(missing_docs)]

pub mod stock;

/// Path of the composed component (in this crate's build output).
pub const ACI_CLI_WASM: &str = env!("ACI_CLI_WASM");

/// Path of the adapter component alone (the Node host uses its
/// `aci:cli/airflow-connections` export).
pub const ADAPTER_WASM: &str = env!("ACI_CLI_ADAPTER_WASM");

/// Path of the plugin component the composition embeds.
pub const PLUGIN_WASM: &str = env!("ACI_PLUGIN_WASM_PATH");

/// The composed component's bytes.
pub fn component() -> std::io::Result<Vec<u8>> {
    std::fs::read(ACI_CLI_WASM)
}
