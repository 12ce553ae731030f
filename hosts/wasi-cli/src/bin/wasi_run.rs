//! `wasi-run`: what `wasmtime run -S http [--dir D] [--env K[=V]] FILE ARGS…`
//! does with a component, for machines without the wasmtime CLI (the
//! conformance test runs `aci-cli.wasm` with it when no `wasmtime` is on
//! `PATH`). Only WASI p2 and wasi-http (default hooks) are linked
//! ([`aci_cli::stock`]); stdio and the given arguments, variables and
//! directories are passed; the exit status is the component's
//! (`wasi:cli/exit`), 134 after a trap (as wasmtime on Unix), 1 when it
//! cannot be loaded or linked. No signal handler is installed: Ctrl-C and SIGTERM end
//! the process at once, as they end `wasmtime run`. Compiled code is cached
//! (`Component::serialize`, keyed by content, wasmtime version and engine
//! configuration) in `$XDG_CACHE_HOME/wasi-run`, as the CLI caches in
//! `$XDG_CACHE_HOME/wasmtime`.

use std::path::PathBuf;
use std::process::ExitCode;

use aci_cli::stock::options::{RunOptions, USAGE};
use aci_cli::stock::{self, StockCtx};
use wasmtime::{Store, Trap};
use wasmtime_wasi::{FsPerms, WasiCtx};

/// Exit status after a trap: 128 + SIGABRT, as `wasmtime run` on Unix.
const EXIT_TRAP: u8 = 134;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().take(2).any(|a| a == "--help" || a == "-h") {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let options = match RunOptions::parse(&args, |k| std::env::var(k).ok()) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    match run(&options) {
        Ok(status) => ExitCode::from(u8::try_from(status).unwrap_or(1)),
        Err(e) => {
            // wasmtime's `Error: {e:?}`: the message and its causes (a
            // backtrace only with RUST_BACKTRACE set).
            eprintln!(
                "Error: failed to run main module `{}`\n\n{e:?}",
                options.file
            );
            match e.downcast_ref::<Trap>() {
                Some(_) => ExitCode::from(EXIT_TRAP),
                None => ExitCode::FAILURE,
            }
        }
    }
}

/// Loads (or compiles) the component and runs it once.
fn run(options: &RunOptions) -> wasmtime::Result<i32> {
    let engine = stock::engine()?;
    let wasm = std::fs::read(&options.file)
        .map_err(|e| wasmtime::format_err!("cannot read {}: {e}", options.file))?;
    let cache = options.cache.then(cache_dir).flatten();
    let (component, _) = aci_host::engine::load_component(&engine, cache.as_deref(), &wasm)?;
    let linker = stock::linker(&engine, options.http)?;
    let mut wasi = WasiCtx::builder();
    wasi.inherit_stdio().args(&options.argv).envs(&options.env);
    for (host, guest) in &options.dirs {
        wasi.preopened_dir(host, guest, FsPerms::ReadWrite)?;
    }
    let mut store = Store::new(&engine, StockCtx::new(wasi.build()));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(stock::run(&mut store, &component, &linker))
}

/// `$XDG_CACHE_HOME/wasi-run` or `~/.cache/wasi-run`.
fn cache_dir() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|h| !h.is_empty())
                .map(|h| PathBuf::from(h).join(".cache"))
        })?;
    Some(base.join("wasi-run"))
}
