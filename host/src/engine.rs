//! The shared wasmtime `Engine`, the precompiled-component cache, and plugin
//! loading (`Component` + `InstancePre`, and the hook interface it exports).
//!
//! One `Engine` serves every task in the process: pooling allocator sized
//! from the work (or on-demand allocation, see [`crate::pool`]), epoch
//! interruption (a ticker thread advances the epoch every 10 ms and stores
//! yield on each tick, so a runaway guest can be stopped by dropping its
//! future), and a `.cwasm` cache keyed by component hash, wasmtime version and
//! engine configuration.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use wasmtime::component::{Component, InstancePre, Linker};
use wasmtime::{Config, Engine};

use crate::bindings;
use crate::cwasm_cache::CwasmCache;
use crate::pool::Allocation;
use crate::runner::HookInterface;
use crate::state::HostState;

/// The wasmtime version this host is built against (part of the cache key).
pub const WASMTIME_VERSION: &str = "48.0.8";

/// How often the epoch advances.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Engine settings.
#[derive(Clone, Debug)]
pub struct EngineOptions {
    /// Use the pooling instance allocator (faster instantiation, reserved
    /// slots) when it fits in the address space; see [`crate::pool`].
    pub pooling: bool,
    /// Concurrent component instances the pool holds (size it from the
    /// work: [`crate::pool::instances_for`]).
    pub max_instances: u32,
    /// Largest linear memory a plugin may grow to.
    pub max_memory_bytes: usize,
    /// Where precompiled components are cached; `None` disables the cache.
    pub cache_dir: Option<PathBuf>,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            pooling: true,
            max_instances: 256,
            max_memory_bytes: 256 << 20,
            cache_dir: default_cache_dir(),
        }
    }
}

/// `$XDG_CACHE_HOME/aci-host` or `~/.cache/aci-host`.
pub fn default_cache_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir).join("aci-host"));
    }
    std::env::var_os("HOME")
        .filter(|d| !d.is_empty())
        .map(|h| PathBuf::from(h).join(".cache").join("aci-host"))
}

/// The process-wide engine with its epoch ticker.
pub struct PluginEngine {
    engine: Engine,
    options: EngineOptions,
    allocation: Allocation,
    stop: Arc<AtomicBool>,
}

impl PluginEngine {
    /// Builds the engine and starts its epoch ticker.
    pub fn new(options: EngineOptions) -> wasmtime::Result<PluginEngine> {
        let mut config = Config::new();
        config.wasm_component_model(true);
        config.epoch_interruption(true);
        let allocation = crate::pool::configure(&mut config, &options, crate::pool::pool_budget());
        tracing::debug!(?allocation, "instance allocation");
        let engine = Engine::new(&config)?;
        let stop = Arc::new(AtomicBool::new(false));
        let ticker_engine = engine.weak();
        let ticker_stop = stop.clone();
        std::thread::Builder::new()
            .name("aci-host-epoch".into())
            .spawn(move || {
                while !ticker_stop.load(Ordering::Relaxed) {
                    std::thread::sleep(EPOCH_TICK);
                    match ticker_engine.upgrade() {
                        Some(e) => e.increment_epoch(),
                        None => break,
                    }
                }
            })?;
        Ok(PluginEngine {
            engine,
            options,
            allocation,
            stop,
        })
    }

    /// The wasmtime engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The options the engine was built with.
    pub fn options(&self) -> &EngineOptions {
        &self.options
    }

    /// The instance allocator the engine got (see [`crate::pool`]).
    pub fn allocation(&self) -> &Allocation {
        &self.allocation
    }

    /// The cache key of a component for this engine (see [`cache_key`]).
    pub fn cache_key(&self, wasm: &[u8]) -> String {
        cache_key(&self.engine, wasm)
    }

    /// Compiles a component, or loads it from the `.cwasm` cache of the
    /// options (see [`load_component`]).
    pub fn load_component(&self, wasm: &[u8]) -> wasmtime::Result<(Component, LoadInfo)> {
        load_component(&self.engine, self.options.cache_dir.as_deref(), wasm)
    }

    /// Loads a plugin: compiles (or loads from cache), links and pre-instantiates it.
    pub fn load_plugin(&self, wasm: &[u8]) -> wasmtime::Result<Plugin> {
        let (component, info) = self.load_component(wasm)?;
        let linker = self.linker()?;
        let pre = linker.instantiate_pre(&component)?;
        let task = bindings::task::OperatorPluginPre::new(pre.clone())?;
        let hook = HookInterface::discover(&self.engine, &component);
        Ok(Plugin {
            component,
            pre,
            task,
            hook,
            info,
        })
    }

    /// The linker: WASI p2, wasi-http (outgoing) and the `runtime` interface.
    pub fn linker(&self) -> wasmtime::Result<Linker<HostState>> {
        let mut linker = Linker::new(&self.engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
        wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)?;
        crate::runtime::add_to_linker(&mut linker)?;
        Ok(linker)
    }
}

impl Drop for PluginEngine {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// The cache key of a component for `engine`: SHA-256 over the component
/// bytes, the wasmtime version and the engine's compatibility hash.
pub fn cache_key(engine: &Engine, wasm: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(wasm);
    h.update(WASMTIME_VERSION.as_bytes());
    let mut compat = std::collections::hash_map::DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut compat);
    h.update(compat.finish().to_le_bytes());
    hex::encode(h.finalize())
}

/// Compiles a component for `engine`, or loads it from the `.cwasm` cache in
/// `cache_dir` (see [`crate::cwasm_cache`]: a cache directory or entry that
/// someone else could have written is not used; the component is compiled in
/// memory), storing what it compiled there.
pub fn load_component(
    engine: &Engine,
    cache_dir: Option<&Path>,
    wasm: &[u8],
) -> wasmtime::Result<(Component, LoadInfo)> {
    let start = Instant::now();
    let key = cache_key(engine, wasm);
    let cache = cache_dir.and_then(|dir| {
        CwasmCache::open(dir)
            .map_err(|why| {
                tracing::warn!("not using the component cache: {why}; compiling in memory")
            })
            .ok()
    });
    let cached = cache.as_ref().and_then(|c| {
        c.trusted_entry(&key)
            .map_err(|why| tracing::warn!("not loading a cached component: {why}"))
            .ok()
            .flatten()
    });
    if let Some(path) = &cached {
        // SAFETY: the file is a regular file owned by this user in a
        // directory owned by this user, neither writable by anyone
        // else (checked just above), so only this host wrote it; the
        // key binds it to these exact component bytes, this wasmtime
        // version and this engine configuration.
        match unsafe { Component::deserialize_file(engine, path) } {
            Ok(c) => {
                return Ok((
                    c,
                    LoadInfo {
                        cache_hit: true,
                        elapsed: start.elapsed(),
                        wasm_bytes: wasm.len(),
                        key,
                    },
                ));
            }
            Err(e) => {
                tracing::warn!("ignoring unusable cached component {}: {e}", path.display())
            }
        }
    }
    let component = Component::new(engine, wasm)?;
    if let Some(cache) = &cache {
        if let Err(e) = cache.store(&key, &component.serialize()?) {
            tracing::debug!(
                "could not cache the compiled component at {}: {e}",
                cache.path(&key).display()
            );
        }
    }
    Ok((
        component,
        LoadInfo {
            cache_hit: false,
            elapsed: start.elapsed(),
            wasm_bytes: wasm.len(),
            key,
        },
    ))
}

/// How a component was obtained.
#[derive(Clone, Debug)]
pub struct LoadInfo {
    /// True when the `.cwasm` cache served it.
    pub cache_hit: bool,
    /// Compile or load time.
    pub elapsed: Duration,
    /// Size of the component in bytes.
    pub wasm_bytes: usize,
    /// The cache key.
    pub key: String,
}

/// A loaded plugin, ready to instantiate many times.
pub struct Plugin {
    /// The compiled component.
    pub component: Component,
    /// Pre-instantiated (linked, type-checked), for dynamic calls.
    pub pre: InstancePre<HostState>,
    /// Pre-instantiated for the generic `operator-plugin` world.
    pub task: bindings::task::OperatorPluginPre<HostState>,
    /// The exported hook interface, when there is one.
    pub hook: Option<HookInterface>,
    /// How it was loaded.
    pub info: LoadInfo,
}
