//! Engine benchmark (not a test): component size, Cranelift compile vs cached
//! `.cwasm` load, and instantiation with `InstancePre` under the pooling and
//! on-demand allocators. Run with `cargo bench -p aci-host --bench engine`.
//! Reports medians.

use std::sync::Arc;
use std::time::{Duration, Instant};

use aci_host::engine::{EngineOptions, PluginEngine};
use aci_host::runner::{Runner, RunnerOptions, BUILTIN_PLUGIN};

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn fmt(d: Duration) -> String {
    if d < Duration::from_millis(1) {
        format!("{:.1} µs", d.as_secs_f64() * 1e6)
    } else {
        format!("{:.2} ms", d.as_secs_f64() * 1e3)
    }
}

fn main() -> wasmtime::Result<()> {
    let cache = tempfile_dir();
    println!(
        "component size: {} bytes ({:.0} KiB)",
        BUILTIN_PLUGIN.len(),
        BUILTIN_PLUGIN.len() as f64 / 1024.0
    );

    // Compile (no cache) vs load from the .cwasm cache.
    let engine = PluginEngine::new(EngineOptions {
        cache_dir: None,
        ..EngineOptions::default()
    })?;
    let compiles: Vec<Duration> = (0..5)
        .map(|_| {
            engine
                .load_component(BUILTIN_PLUGIN)
                .map(|(_, i)| i.elapsed)
        })
        .collect::<Result<_, _>>()?;
    let cached_engine = PluginEngine::new(EngineOptions {
        cache_dir: Some(cache.clone()),
        ..EngineOptions::default()
    })?;
    cached_engine.load_component(BUILTIN_PLUGIN)?; // fill the cache
    let loads: Vec<Duration> = (0..50)
        .map(|_| {
            cached_engine.load_component(BUILTIN_PLUGIN).map(|(_, i)| {
                assert!(i.cache_hit);
                i.elapsed
            })
        })
        .collect::<Result<_, _>>()?;
    let cwasm = std::fs::read_dir(&cache)?
        .filter_map(|e| e.ok())
        .map(|e| e.metadata().map(|m| m.len()).unwrap_or(0))
        .sum::<u64>();
    println!(
        "compile (Cranelift), median of 5: {}",
        fmt(median(compiles.clone()))
    );
    println!(
        "load cached .cwasm ({cwasm} bytes), median of 50: {}",
        fmt(median(loads.clone()))
    );
    println!(
        "compile / cached load ratio: {:.0}x",
        median(compiles).as_secs_f64() / median(loads).as_secs_f64()
    );

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    for pooling in [true, false] {
        let runner = Arc::new(Runner::new(RunnerOptions {
            engine: EngineOptions {
                pooling,
                cache_dir: Some(cache.clone()),
                ..EngineOptions::default()
            },
            plugin: None,
            ..RunnerOptions::default()
        })?);
        let (inst, desc) = rt.block_on(async {
            let mut inst = Vec::new();
            let mut desc = Vec::new();
            for _ in 0..300 {
                let (a, b) = runner_instantiate_and_describe(&runner).await?;
                inst.push(a);
                desc.push(b);
            }
            wasmtime::Result::<_>::Ok((inst, desc))
        })?;
        println!(
            "{} allocator: new Store + InstancePre::instantiate median {}, + first describe call {} (300 runs)",
            if pooling { "pooling  " } else { "on-demand" },
            fmt(median(inst)),
            fmt(median(desc))
        );
    }
    let _ = std::fs::remove_dir_all(&cache);
    Ok(())
}

async fn runner_instantiate_and_describe(
    runner: &Runner,
) -> wasmtime::Result<(Duration, Duration)> {
    let t0 = Instant::now();
    let mut store = runner.bench_store();
    let instance = runner.plugin().task.instantiate_async(&mut store).await?;
    let t1 = t0.elapsed();
    instance
        .orchestrator_task_task_operator()
        .call_describe(&mut store)
        .await?;
    Ok((t1, t0.elapsed() - t1))
}

fn tempfile_dir() -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("aci-bench-cache-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&d);
    d
}
