//! Benchmark: N concurrent tasks in one `aci-host run` process against an
//! emulator with ARM's token buckets on, each in its own process.
//!
//! Run (the host binary first, so the bench runs the current one):
//!
//! ```text
//! cargo build -p aci-host
//! cargo bench -p aci-e2e --profile dev --bench scale                 # N = 1 (0/10/60 s jobs) and N = 100
//! cargo bench -p aci-e2e --profile dev --bench scale -- --tasks 1000 --job-secs 60
//! ```
//!
//! Options (after `--`): `--tasks LIST` (e.g. `100,1000`), `--job-secs LIST`
//! (default `60`), `--reps R` (repetitions of the N = 1 runs, default 4),
//! `--max-parallel M` (default N), `--no-rate-limits` (buckets off),
//! `--provision-delay S` (default 0.3), `--emulator-arg ARG` and
//! `--host-arg ARG` (repeatable: passed through), `--host-bin PATH` (another
//! `aci-host`, e.g. `target/release/aci-host`). Without `--tasks` it runs
//! N = 1 with jobs of 0, 10 and 60 s, then N = 100 with 60 s jobs. The
//! repetitions of an N = 1 run last `S + k·1/R` s (k = 0…R−1): spread over
//! one poll interval, so that their exit-detection p95 is not one lucky
//! alignment of exit and poll.
//!
//! Each scenario starts `aci-host emulator --enforce-rate-limits` (its base
//! URL and, when it prints one, its credentials line are read from its
//! stdout), writes N task files whose container runs
//! `sleep S; echo "bench-exit $(date +%s%N)"`, and runs
//! `aci-host run DIR --json --max-parallel N` with stderr piped to the bench.
//! Measured:
//! - **wall**: the host process's lifetime;
//! - **requests by kind** and **429s sent by ARM**: the emulator's
//!   `/_emulator/stats` (reads = GETs, writes = PUT/POST, deletes, tokens);
//! - **429s seen by tasks**: the plugin's retry warnings that name a 429
//!   (each is one refused request a task had to wait out);
//! - **exit detection**: when the host printed the task's `Container exited`
//!   line (stamped by the bench on arrival) minus the container's own
//!   `bench-exit` stamp (same machine, same clock);
//! - **peak RSS and CPU** of each process from `wait4` (exact, whole life);
//!   **RSS per task** = (host peak − peak of `aci-host describe`, which loads
//!   the same engine and component) / N; **CPU while waiting** from
//!   `/proc/PID/stat` samples (every 250 ms) between the moment every task's
//!   group was Running and the first exit (else the middle half of the job).
//!   The emulator's own CPU and memory are reported separately (its container
//!   processes are not counted in either).

#[allow(dead_code)]
mod common;
#[path = "scale/events.rs"]
mod events;
#[path = "scale/procs.rs"]
mod procs;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{fail, fmt_opt, now_ns, Summary, Table};
use procs::{EmulatorProcess, Sampler};

/// The operator's poll interval while a container runs (the spread of the
/// N = 1 repetitions).
const POLL_INTERVAL_S: f64 = 1.0;

/// Settings from the command line.
#[derive(Clone, Debug)]
struct Config {
    tasks: Vec<usize>,
    job_secs: Vec<u64>,
    reps: usize,
    max_parallel: Option<usize>,
    rate_limits: bool,
    provision_delay: f64,
    emulator_args: Vec<String>,
    host_args: Vec<String>,
    host_bin: Option<PathBuf>,
    explicit: bool,
}

fn parse_list<T: std::str::FromStr>(flag: &str, v: &str) -> Vec<T> {
    v.split(',')
        .map(|x| {
            x.trim()
                .parse()
                .unwrap_or_else(|_| fail(&format!("{flag}: `{x}` is not a number")))
        })
        .collect()
}

fn config() -> Config {
    let mut c = Config {
        tasks: vec![100],
        job_secs: vec![60],
        reps: 4,
        max_parallel: None,
        rate_limits: true,
        provision_delay: 0.3,
        emulator_args: Vec::new(),
        host_args: Vec::new(),
        host_bin: None,
        explicit: false,
    };
    let mut args = std::env::args().skip(1).filter(|a| a != "--bench");
    while let Some(a) = args.next() {
        let mut value = || {
            args.next()
                .unwrap_or_else(|| fail(&format!("{a} needs a value")))
        };
        match a.as_str() {
            "--tasks" => {
                c.tasks = parse_list("--tasks", &value());
                c.explicit = true;
            }
            "--job-secs" => c.job_secs = parse_list("--job-secs", &value()),
            "--reps" => c.reps = parse_list("--reps", &value())[0],
            "--max-parallel" => c.max_parallel = Some(parse_list("--max-parallel", &value())[0]),
            "--no-rate-limits" => c.rate_limits = false,
            "--provision-delay" => c.provision_delay = parse_list("--provision-delay", &value())[0],
            "--emulator-arg" => c.emulator_args.push(value()),
            "--host-arg" => c.host_args.push(value()),
            "--host-bin" => c.host_bin = Some(PathBuf::from(value())),
            other => fail(&format!("unknown option {other}")),
        }
    }
    c
}

/// One scenario's figures.
#[derive(Debug, Default)]
struct Row {
    label: String,
    n: usize,
    status: i32,
    wall_s: f64,
    ok: usize,
    failed: usize,
    requests: BTreeMap<&'static str, u64>,
    arm_429: u64,
    task_429: u64,
    tasks_throttled: usize,
    exit: Vec<f64>,
    host_peak_kb: u64,
    idle_kb: u64,
    host_cpu_s: f64,
    host_wait_cpu_pct: Option<f64>,
    emu_peak_kb: u64,
    emu_cpu_s: f64,
    emu_wait_cpu_pct: Option<f64>,
    first_error: Option<String>,
}

/// The request kind of an emulator operation.
fn kind(op: &str) -> &'static str {
    match op {
        "Token_Issue" | "Imds_Token" => "token",
        "ContainerGroups_Delete" => "delete",
        _ if op.ends_with("_Get") || op.contains("_List") => "read",
        _ => "write",
    }
}

/// Requests by kind and 429s from `/_emulator/stats`.
fn request_counts(stats: &serde_json::Value) -> (BTreeMap<&'static str, u64>, u64) {
    let mut by_kind = BTreeMap::new();
    let mut throttled = 0;
    if let Some(ops) = stats["requests"].as_object() {
        for (op, statuses) in ops {
            for (status, n) in statuses.as_object().into_iter().flatten() {
                let n = n.as_u64().unwrap_or(0);
                *by_kind.entry(kind(op)).or_insert(0) += n;
                if status == "429" {
                    throttled += n;
                }
            }
        }
    }
    (by_kind, throttled)
}

/// Writes `n` task files of `secs`-second jobs into `dir`.
fn write_tasks(dir: &Path, n: usize, secs: f64) {
    for i in 0..n {
        let script = format!("sleep {secs:.3}; echo \"bench-exit $(date +%s%N)\"");
        let task = serde_json::json!({
            "task_id": format!("job-{i}"),
            "params": {
                "ci_conn_id": "azure_default", "resource_group": "scale-rg",
                "name": format!("scale-{i}"), "image": "busybox:latest",
                "region": "westeurope", "command": ["sh", "-c", script],
            }
        });
        std::fs::write(dir.join(format!("job-{i:05}.json")), task.to_string())
            .unwrap_or_else(|e| fail(&format!("writing a task file: {e}")));
    }
}

/// Peak RSS of `aci-host describe` (the engine and component, no task), KiB.
fn idle_rss(bin: &Path) -> u64 {
    let child = Command::new(bin)
        .arg("describe")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| fail(&format!("aci-host describe: {e}")));
    procs::reap(child).max_rss_kb
}

/// Counts `--json` result lines by state; returns the first error.
fn results(stdout: &str, row: &mut Row) {
    for line in stdout.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap_or_default();
        if v["state"] == "success" {
            row.ok += 1;
        } else {
            row.failed += 1;
            if row.first_error.is_none() {
                row.first_error = v["error"].as_str().map(str::to_string);
            }
        }
    }
}

/// The interval where every task waits: all groups Running → first exit.
fn waiting_window(ev: &events::Events, n: usize, t0: i128, secs: f64) -> Option<(i128, i128)> {
    let all_running = (ev.running.len() == n)
        .then(|| ev.running.values().max().copied())
        .flatten();
    let first_exit = ev.exit_seen.values().min().copied();
    match (all_running, first_exit) {
        (Some(a), Some(b)) if b - a > 2_000_000_000 => Some((a, b)),
        _ if secs >= 8.0 => {
            let s = (secs * 1e9) as i128;
            Some((t0 + s / 4, t0 + 3 * s / 4))
        }
        _ => None,
    }
}

/// Runs one scenario: `n` tasks of `secs` seconds.
fn run_scenario(c: &Config, bin: &Path, n: usize, secs: f64, idle_kb: u64) -> Row {
    let mut emu_args = vec![
        "--provision-delay".to_string(),
        c.provision_delay.to_string(),
    ];
    if c.rate_limits {
        emu_args.push("--enforce-rate-limits".into());
    }
    emu_args.extend(c.emulator_args.iter().cloned());
    let emu = EmulatorProcess::start(bin, &emu_args);
    let work = tempfile::tempdir().unwrap_or_else(|e| fail(&e.to_string()));
    let tasks = work.path().join("tasks");
    std::fs::create_dir(&tasks).unwrap_or_else(|e| fail(&e.to_string()));
    write_tasks(&tasks, n, secs);
    let max_parallel = c.max_parallel.unwrap_or(n).to_string();
    let t0 = now_ns();
    let mut host = Command::new(bin)
        .arg("run")
        .arg(&tasks)
        .args(["--json", "--max-parallel", &max_parallel, "--state-dir"])
        .arg(work.path().join("state"))
        .args(&c.host_args)
        .env(
            "AIRFLOW_CONN_AZURE_DEFAULT",
            emu.credentials.connection(&emu.base),
        )
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| fail(&format!("aci-host run: {e}")));
    let single = (n == 1).then(|| "job-0".to_string());
    let (events, reader) = events::collect(host.stderr.take().expect("piped"), single);
    let mut stdout = host.stdout.take().expect("piped");
    let out_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut stdout, &mut s);
        s
    });
    let (host_pid, emu_pid) = (host.id(), emu.child.id());
    let sampler = Sampler::start(vec![host_pid, emu_pid], Duration::from_millis(250));
    let usage = procs::reap(host);
    let wall_s = (now_ns() - t0) as f64 / 1e9;
    let samples = sampler.finish();
    let _ = reader.join();
    let stdout = out_reader.join().unwrap_or_default();
    let stats: serde_json::Value = serde_json::from_str(&procs::http_get(
        &emu.base,
        "/_emulator/stats",
        &emu.credentials.client_secret,
    ))
    .unwrap_or_default();
    let emu_usage = emu.stop();
    let ev = events.lock().unwrap();
    let (requests, arm_429) = request_counts(&stats);
    let window = waiting_window(&ev, n, t0, secs);
    let mut row = Row {
        label: format!("N={n}, {} s", secs.floor()),
        n,
        status: usage.status,
        wall_s,
        requests,
        arm_429,
        task_429: ev.throttled.values().sum(),
        tasks_throttled: ev.throttled.len(),
        exit: ev.exit_delays(),
        host_peak_kb: usage.max_rss_kb,
        idle_kb,
        host_cpu_s: usage.cpu_s,
        host_wait_cpu_pct: window.and_then(|(a, b)| procs::cpu_percent(&samples, host_pid, a, b)),
        emu_peak_kb: emu_usage.max_rss_kb,
        emu_cpu_s: emu_usage.cpu_s,
        emu_wait_cpu_pct: window.and_then(|(a, b)| procs::cpu_percent(&samples, emu_pid, a, b)),
        ..Row::default()
    };
    results(&stdout, &mut row);
    if row.ok + row.failed < n {
        row.first_error.get_or_insert_with(|| {
            format!(
                "{} results for {n} tasks; stderr tail: {:?}",
                row.ok + row.failed,
                ev.tail
            )
        });
    }
    row
}

fn mb(kb: u64) -> String {
    format!("{:.0}", kb as f64 / 1024.0)
}

fn pct(p: Option<f64>) -> String {
    p.map_or("-".into(), |p| format!("{p:.1}%"))
}

/// Prints the scenarios as one table.
fn print_rows(rows: &[Row]) {
    let mut t = Table::new(&[
        "scenario",
        "ok/failed",
        "wall s",
        "reads",
        "writes",
        "deletes",
        "tokens",
        "reads/job",
        "429 ARM",
        "429 tasks (tasks)",
        "exit p50 s",
        "exit p95 s",
        "host peak MB",
        "RSS/task KB",
        "host CPU s",
        "host CPU waiting",
        "emu peak MB",
        "emu CPU s",
        "emu CPU waiting",
    ]);
    for r in rows {
        let exit = Summary::of(&r.exit);
        let count = |k: &str| r.requests.get(k).copied().unwrap_or(0);
        let per_task = r.host_peak_kb.saturating_sub(r.idle_kb) as f64 / r.n.max(1) as f64;
        t.row(vec![
            r.label.clone(),
            format!("{}/{}", r.ok, r.failed),
            format!("{:.1}", r.wall_s),
            count("read").to_string(),
            count("write").to_string(),
            count("delete").to_string(),
            count("token").to_string(),
            format!("{:.1}", count("read") as f64 / r.n.max(1) as f64),
            r.arm_429.to_string(),
            format!("{} ({})", r.task_429, r.tasks_throttled),
            fmt_opt(exit, |s| s.median, 2),
            fmt_opt(exit, |s| s.p95, 2),
            mb(r.host_peak_kb),
            format!("{per_task:.0}"),
            format!("{:.1}", r.host_cpu_s),
            pct(r.host_wait_cpu_pct),
            mb(r.emu_peak_kb),
            format!("{:.1}", r.emu_cpu_s),
            pct(r.emu_wait_cpu_pct),
        ]);
    }
    t.print();
    for r in rows.iter().filter(|r| r.first_error.is_some()) {
        println!(
            "\n{}: first error: {}",
            r.label,
            r.first_error.as_deref().unwrap_or("")
        );
    }
}

/// The scenarios to run: `(n, secs, repetitions)`.
fn plan(c: &Config) -> Vec<(usize, u64, usize)> {
    if c.explicit {
        let mut out = Vec::new();
        for n in &c.tasks {
            for s in &c.job_secs {
                out.push((*n, *s, if *n == 1 { c.reps } else { 1 }));
            }
        }
        return out;
    }
    vec![
        (1, 0, c.reps),
        (1, 10, c.reps),
        (1, 60, c.reps),
        (100, 60, 1),
    ]
}

fn main() {
    if !common::bench_mode("scale") {
        return;
    }
    let c = config();
    let bin: PathBuf = c.host_bin.clone().unwrap_or_else(aci_e2e::aci_host_bin);
    println!(
        "scale benchmark: {} (token buckets {}), load average {}",
        bin.display(),
        if c.rate_limits { "on" } else { "off" },
        common::load_average()
    );
    let idle_kb = idle_rss(&bin);
    println!(
        "aci-host describe (engine + component, no task): peak RSS {} MB",
        mb(idle_kb)
    );
    let mut rows = Vec::new();
    for (n, secs, reps) in plan(&c) {
        let mut merged: Option<Row> = None;
        for rep in 0..reps {
            // Repetitions spread the exit over one poll interval (1 s), so
            // that their p95 covers where an exit falls between two polls.
            let spread = POLL_INTERVAL_S * rep as f64 / reps as f64;
            let row = run_scenario(&c, &bin, n, secs as f64 + spread, idle_kb);
            println!(
                "  N={n} {secs} s (run {}/{reps}): {}/{} ok in {:.1} s, exit status {}, 429s {}",
                rep + 1,
                row.ok,
                row.n,
                row.wall_s,
                row.status,
                row.arm_429
            );
            merged = Some(match merged {
                None => row,
                Some(m) => merge(m, row),
            });
        }
        let mut row = merged.expect("at least one repetition");
        if reps > 1 {
            row.label = format!("{} (×{reps}, +0–{POLL_INTERVAL_S} s)", row.label);
        }
        rows.push(row);
    }
    println!();
    print_rows(&rows);
}

/// Repetitions of an N = 1 scenario: exit delays pooled, counts averaged
/// per run, peaks the largest.
fn merge(mut a: Row, b: Row) -> Row {
    a.exit.extend(b.exit);
    a.ok += b.ok;
    a.failed += b.failed;
    a.n += b.n;
    for (k, v) in b.requests {
        *a.requests.entry(k).or_insert(0) += v;
    }
    a.arm_429 += b.arm_429;
    a.task_429 += b.task_429;
    a.tasks_throttled += b.tasks_throttled;
    a.wall_s = a.wall_s.max(b.wall_s);
    a.host_peak_kb = a.host_peak_kb.max(b.host_peak_kb);
    a.host_cpu_s = a.host_cpu_s.max(b.host_cpu_s);
    a.emu_peak_kb = a.emu_peak_kb.max(b.emu_peak_kb);
    a.emu_cpu_s = a.emu_cpu_s.max(b.emu_cpu_s);
    let larger = |x: Option<f64>, y: Option<f64>| match (x, y) {
        (Some(x), Some(y)) => Some(x.max(y)),
        (x, y) => x.or(y),
    };
    a.host_wait_cpu_pct = larger(a.host_wait_cpu_pct, b.host_wait_cpu_pct);
    a.emu_wait_cpu_pct = larger(a.emu_wait_cpu_pct, b.emu_wait_cpu_pct);
    a.first_error = a.first_error.or(b.first_error);
    a
}
