//! Benchmark: what each host of the conformance test (`aci_e2e::hosts::hosts()`: aci-host,
//! Node, stock wasmtime with `aci-cli.wasm`) takes for `describe` and for a hello task
//! (`echo hello`, executed against the in-process emulator), as whole processes.
//!
//! Run: `cargo build -p aci-host -p aci-cli && cargo bench -p aci-e2e --profile dev --bench
//! hosts` (under a minute with the defaults). The hosts run one after the other; each
//! command is run once first to fill the host's compile cache, then `BENCH_HOSTS_REPS`
//! times (default 5). Figures are wall milliseconds (median, min, max); `ACI_SKIP_NODE=1`
//! leaves the Node host out.

// Shared by the benches; each uses part of it.
#[allow(dead_code)]
mod common;

use std::time::{Duration, Instant};

use aci_e2e::cli::{emulator_conn, text};
use aci_e2e::clients::run_bounded;
use aci_e2e::hosts::{hosts, Host};
use aci_e2e::{Emulator, EmulatorConfig};
use common::{env_usize, fail, fmt_opt, load_average, Summary, Table};
use serde_json::json;

/// Longest one command may take.
const LIMIT: Duration = Duration::from_secs(120);

/// Wall time of `cmd` in ms; exits when it fails.
fn timed(host: &dyn Host, what: &str, cmd: aci_e2e::scan::HostCommand) -> f64 {
    let start = Instant::now();
    let out = run_bounded(cmd, LIMIT);
    let ms = start.elapsed().as_secs_f64() * 1000.0;
    if !out.status.success() {
        fail(&format!("{} {what}: {}", host.name(), text(&out.stderr)));
    }
    ms
}

/// `reps` timings of `describe` and of hello through `host`, after one warm-up each.
fn measure(host: &dyn Host, emu: &Emulator, reps: usize) -> (Vec<f64>, Vec<f64>) {
    let scratch = tempfile::tempdir().unwrap();
    let (mut describe, mut hello) = (Vec::new(), Vec::new());
    for i in 0..=reps {
        let ms = timed(
            host,
            "describe",
            host.command(&["describe"], scratch.path()),
        );
        if i > 0 {
            describe.push(ms);
        }
        let file = scratch.path().join("task.json");
        let params = json!({"ci_conn_id": "azure_default", "resource_group": "bench",
            "name": format!("{}-{i}", host.name()), "image": "busybox", "region": "westeurope",
            "command": ["echo", "hello"]});
        std::fs::write(
            &file,
            json!({"task_id": "hello", "params": params}).to_string(),
        )
        .unwrap();
        let mut cmd = host.command(&["run", file.to_str().unwrap(), "--json"], scratch.path());
        cmd.env("AIRFLOW_CONN_AZURE_DEFAULT", emulator_conn(emu));
        let ms = timed(host, "hello", cmd);
        if i > 0 {
            hello.push(ms);
        }
    }
    (describe, hello)
}

fn main() {
    if !common::bench_mode("hosts") {
        return;
    }
    let reps = env_usize("BENCH_HOSTS_REPS", 5).max(1);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let emu = runtime
        .block_on(Emulator::start(EmulatorConfig {
            provision_delay: Duration::from_millis(100),
            ..EmulatorConfig::default()
        }))
        .unwrap_or_else(|e| fail(&format!("the emulator: {e}")));
    println!(
        "{reps} runs per figure after one warm-up; load average {}",
        load_average()
    );
    let mut table = Table::new(&[
        "host",
        "describe ms (median, min–max)",
        "hello ms (median, min–max)",
    ]);
    let cell = |v: &[f64]| {
        let s = Summary::of(v);
        format!(
            "{} ({}–{})",
            fmt_opt(s, |s| s.median, 0),
            fmt_opt(s, |s| s.min, 0),
            fmt_opt(s, |s| s.max, 0)
        )
    };
    for host in hosts() {
        let (describe, hello) = measure(host.as_ref(), &emu, reps);
        table.row(vec![host.name().to_string(), cell(&describe), cell(&hello)]);
    }
    table.print();
    runtime.block_on(emu.shutdown());
}
