//! A stock WASI 0.2 runtime, as `wasmtime run -S http` is one: a store with
//! `wasmtime-wasi` (p2) and `wasmtime-wasi-http` with its default hooks,
//! nothing else linked, and the component's `wasi:cli/run` called once.
//!
//! Shared by the `wasi-run` binary (what `wasmtime run` does with a
//! component, for machines without the CLI) and `tests/stock_runtime.rs`
//! (the same store and linker, in process).

pub mod options;

use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::{Config, Engine, Store};
use wasmtime_wasi::p2::bindings::Command;
use wasmtime_wasi::{I32Exit, WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

/// The store data of a stock runtime: WASI, wasi-http with default hooks.
pub struct StockCtx {
    wasi: WasiCtx,
    http: WasiHttpCtx,
    table: ResourceTable,
}

impl StockCtx {
    /// Store data around a WASI context (arguments, environment, preopens, stdio).
    pub fn new(wasi: WasiCtx) -> StockCtx {
        StockCtx {
            wasi,
            http: WasiHttpCtx::new(),
            table: ResourceTable::new(),
        }
    }
}

impl WasiView for StockCtx {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for StockCtx {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: wasmtime_wasi_http::default_hooks(),
        }
    }
}

/// An engine with wasmtime's default configuration (component model on).
pub fn engine() -> wasmtime::Result<Engine> {
    let mut config = Config::new();
    config.wasm_component_model(true);
    Engine::new(&config)
}

/// The linker of `wasmtime run`: all of WASI p2, and wasi-http's
/// `outgoing-handler` and types when `http` (`-S http`).
pub fn linker(engine: &Engine, http: bool) -> wasmtime::Result<Linker<StockCtx>> {
    let mut linker = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
    if http {
        wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)?;
    }
    Ok(linker)
}

/// Instantiates `component` in `store` and calls its `wasi:cli/run` once;
/// its exit status: 0 when `run` returned `ok`, 1 for `err`, or the code it
/// gave `wasi:cli/exit`. An error is a trap (`wasmtime::Trap` inside) or a
/// failure to instantiate (an import the linker lacks).
pub async fn run(
    store: &mut Store<StockCtx>,
    component: &Component,
    linker: &Linker<StockCtx>,
) -> wasmtime::Result<i32> {
    let command = Command::instantiate_async(&mut *store, component, linker).await?;
    match command.wasi_cli_run().call_run(&mut *store).await {
        Ok(Ok(())) => Ok(0),
        Ok(Err(())) => Ok(1),
        Err(e) => match e.downcast_ref::<I32Exit>() {
            Some(exit) => Ok(exit.0),
            None => Err(e),
        },
    }
}
