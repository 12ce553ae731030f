//! Benchmark: what a job costs in ARM requests, and how late its exit and its
//! log lines are seen, with the operator's default settings (no
//! `polling_interval`, so the adaptive schedule of
//! `plugin/src/operator/schedule.rs` runs uncapped).
//!
//! Run: `cargo bench -p aci-e2e --profile dev --bench jobs` (about two
//! minutes with the defaults).
//!
//! Each job is the real component in the real host against an emulator of its
//! own, so that emulator's statistics are exactly that job's requests. Jobs of
//! the same length run concurrently (they spend their time sleeping). The
//! container is a real local process running:
//!
//! ```text
//! echo "bench-start $(date +%s%N)"
//! i=0; while [ $i -lt N ]; do echo "bench-tick $(date +%s%N)"; sleep 1; i=$((i+1)); done
//! sleep R                              # sweep jobs only: the fractional part
//! echo "bench-exit $(date +%s%N)"      # the last thing it does
//! ```
//!
//! What is measured (container and host share this machine's clock):
//! - **requests**: the emulator's per-operation counts after the task returned.
//!   ARM reads are the GETs: `ContainerGroups_Get` (the `fail_if_exists`
//!   check, answered 404, plus one per poll), `Containers_ListLogs` and any
//!   operation-status GET.
//! - **exit seen**: when the host's log sink received the plugin's
//!   `Container exited …` line, minus the container's `bench-exit` stamp. The
//!   stamp is taken just before the process exits, so this overstates the
//!   latency by the few milliseconds the shell needs to exit.
//! - **task returned**: when `Runner::run` returned, minus the same stamp (adds
//!   the final log fetch and the DELETE).
//! - **log latency**: for every `bench-*` line, the sink's receive time minus
//!   the stamp the line carries. Lines received before `Container exited` came
//!   from the live stream; the others from the final fetch after the exit.
//! - **exit sweep**: exit detection depends on where the exit falls between two
//!   polls, so jobs of 10 s + k·(5 s / count) also run, covering the running
//!   interval (1 s while the budget has tokens) evenly; the p95 over all jobs is
//!   the figure to compare with the ~1 s target.
//!
//! Settings (environment):
//! - `BENCH_JOBS` (default `0:5,10:5,60:3`): `seconds:repetitions` pairs;
//!   `600:1` measures a 10-minute job.
//! - `BENCH_SWEEP` (default 10): number of sweep jobs; 0 skips the sweep.
//! - `BENCH_PARALLEL` (default 5): most jobs running at once.
//! - `BENCH_PROVISION_MS` (default 300, the emulator's default): time the
//!   emulator spends provisioning before the container starts.

// Shared by the benches; each uses part of it.
#[allow(dead_code)]
mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aci_e2e::{EmulatorConfig, Harness, LogLevel, LogSink, Stats, TaskSpec, TaskState};
use common::{env_usize, fail, fmt_opt, now_ns, Summary, Table};
use serde_json::json;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

/// The operations that are ARM reads (GETs).
const READ_OPS: &[&str] = &[
    "ContainerGroups_Get",
    "Containers_ListLogs",
    "AsyncOperation_Get",
    "OperationResult_Get",
    "ContainerGroups_List",
    "ContainerGroups_ListByResourceGroup",
];

/// Token endpoints (Entra ID, IMDS): requests, but not ARM requests.
const TOKEN_OPS: &[&str] = &["Token_Issue", "Imds_Token"];

/// The targets of issue 5, for the verdict column.
const EXIT_TARGET_S: f64 = 5.0;
/// Live log lines must be shown within this many seconds.
const LOG_TARGET_S: f64 = 5.0;

/// ARM-read budget of a job length (issue 5), when there is one.
fn read_budget(secs: f64) -> Option<u64> {
    match secs as u64 {
        60 => Some(35),
        600 => Some(260),
        _ => None,
    }
}

/// Airflow's operator for the same job (issue 5, from airflow-aci.md §1:
/// one group GET per second, plus one log GET per second while running).
fn airflow_reads(secs: f64) -> Option<u64> {
    match secs as u64 {
        60 => Some(131),
        600 => Some(1_260),
        _ => None,
    }
}

/// One job to run.
#[derive(Clone, Debug)]
struct JobSpec {
    /// Group and task name.
    name: String,
    /// Run time of the container in seconds (fractional for sweep jobs).
    secs: f64,
}

impl JobSpec {
    /// The container's shell script.
    fn script(&self) -> String {
        let whole = self.secs.floor() as u64;
        let rest = self.secs - whole as f64;
        let mut s = format!(
            "echo \"bench-start $(date +%s%N)\"; i=0; while [ $i -lt {whole} ]; do echo \"bench-tick $(date +%s%N)\"; sleep 1; i=$((i+1)); done; "
        );
        if rest > 0.0005 {
            s.push_str(&format!("sleep {rest:.3}; "));
        }
        s.push_str("echo \"bench-exit $(date +%s%N)\"");
        s
    }
}

/// A log sink that stamps every line with its receive time.
#[derive(Default)]
struct StampSink {
    lines: Mutex<Vec<(i128, String)>>,
}

impl StampSink {
    /// `(receive time in ns, message)` so far.
    fn lines(&self) -> Vec<(i128, String)> {
        self.lines.lock().unwrap().clone()
    }
}

impl LogSink for StampSink {
    fn log(&self, _task_id: &str, _level: LogLevel, message: &str) {
        let at = now_ns();
        self.lines.lock().unwrap().push((at, message.to_string()));
    }
}

/// What one job measured.
#[derive(Debug, Default)]
struct JobResult {
    spec: Option<JobSpec>,
    /// `None` when the job succeeded and every measurement was found.
    problem: Option<String>,
    /// Requests per operation.
    ops: BTreeMap<String, u64>,
    /// `ContainerGroups_Get` answered 404 (the `fail_if_exists` check).
    exists_404: u64,
    /// Container run time from its stamps, s.
    ran_s: f64,
    /// Exit stamp → `Container exited` received, s.
    exit_seen_s: f64,
    /// Exit stamp → task returned, s.
    returned_s: f64,
    /// Latency of lines received before the exit was seen, s.
    live: Vec<f64>,
    /// Latency of lines received with the final fetch, s.
    after_exit: Vec<f64>,
}

impl JobResult {
    /// Records the first problem.
    fn note(&mut self, problem: String) {
        if self.problem.is_none() {
            self.problem = Some(problem);
        }
    }

    /// Requests of one operation.
    fn count(&self, op: &str) -> u64 {
        self.ops.get(op).copied().unwrap_or(0)
    }

    /// ARM reads (GETs).
    fn reads(&self) -> u64 {
        READ_OPS.iter().map(|op| self.count(op)).sum()
    }

    /// Token requests.
    fn tokens(&self) -> u64 {
        TOKEN_OPS.iter().map(|op| self.count(op)).sum()
    }

    /// All requests.
    fn total(&self) -> u64 {
        self.ops.values().sum()
    }
}

/// Requests per operation, all statuses.
fn ops_of(stats: &Stats) -> BTreeMap<String, u64> {
    stats
        .requests
        .keys()
        .map(|op| (op.clone(), stats.count_all(op)))
        .collect()
}

/// Runs one job on an emulator of its own and measures it.
async fn run_job(spec: JobSpec, provision: Duration) -> JobResult {
    let h = Harness::with_config(EmulatorConfig {
        provision_delay: provision,
        ..EmulatorConfig::default()
    })
    .await;
    let sink = Arc::new(StampSink::default());
    let (mut env, _) = h.env();
    env.log = sink.clone();
    let params = Harness::params(&spec.name, json!({"command": ["sh", "-c", spec.script()]}));
    let report = h
        .runner
        .run(TaskSpec::new(spec.name.clone(), params), env)
        .await;
    let returned = now_ns();
    let stats = h.stats();
    let Harness { emulator, .. } = h;
    emulator.shutdown().await;

    let mut r = JobResult {
        ops: ops_of(&stats),
        exists_404: stats.count("ContainerGroups_Get", 404),
        ..JobResult::default()
    };
    if report.state != TaskState::Success {
        r.note(format!(
            "task failed: {:?} ({:?})",
            report.error, report.reason
        ));
    }
    let lines = sink.lines();
    let exited_at = lines
        .iter()
        .find(|(_, m)| m.starts_with("Container exited"))
        .map(|(t, _)| *t);
    let stamp = |prefix: &str| -> Option<i128> {
        lines
            .iter()
            .find_map(|(_, m)| m.strip_prefix(prefix))
            .and_then(|s| s.trim().parse::<i128>().ok())
    };
    let (start, exit) = (stamp("bench-start "), stamp("bench-exit "));
    match (start, exit, exited_at) {
        (Some(start), Some(exit), Some(seen)) => {
            r.ran_s = secs(exit - start);
            r.exit_seen_s = secs(seen - exit);
            r.returned_s = secs(returned - exit);
        }
        _ => r.note(format!(
            "missing a measurement: start {start:?}, exit {exit:?}, exit seen {exited_at:?}"
        )),
    }
    for (at, m) in &lines {
        let Some(rest) = m.strip_prefix("bench-") else {
            continue;
        };
        let Some(stamp) = rest
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse::<i128>().ok())
        else {
            r.note(format!("unparsable line {m:?}"));
            continue;
        };
        let latency = secs(at - stamp);
        if exited_at.is_some_and(|e| *at < e) {
            r.live.push(latency);
        } else {
            r.after_exit.push(latency);
        }
    }
    let expected = 2 + spec.secs.floor() as usize;
    let received = r.live.len() + r.after_exit.len();
    if received != expected {
        r.note(format!(
            "{received} bench lines received, {expected} printed"
        ));
    }
    r.spec = Some(spec);
    r
}

/// Nanoseconds to seconds.
fn secs(ns: i128) -> f64 {
    ns as f64 / 1e9
}

/// Runs `specs`, at most `parallel` at once; results in input order.
async fn run_all(specs: Vec<JobSpec>, parallel: usize, provision: Duration) -> Vec<JobResult> {
    let gate = Arc::new(Semaphore::new(parallel.max(1)));
    let mut set = JoinSet::new();
    for (i, spec) in specs.into_iter().enumerate() {
        let gate = gate.clone();
        set.spawn(async move {
            let _permit = gate
                .acquire_owned()
                .await
                .expect("the semaphore is never closed");
            (i, run_job(spec, provision).await)
        });
    }
    let mut out = Vec::new();
    while let Some(joined) = set.join_next().await {
        match joined {
            Ok(r) => out.push(r),
            Err(e) => fail(&format!("a job panicked: {e}")),
        }
    }
    out.sort_by_key(|(i, _)| *i);
    out.into_iter().map(|(_, r)| r).collect()
}

/// Parses `BENCH_JOBS` (`seconds:repetitions,…`).
fn job_lengths() -> Vec<(u64, usize)> {
    let raw = std::env::var("BENCH_JOBS").unwrap_or_else(|_| "0:5,10:5,60:3".into());
    raw.split(',')
        .filter(|p| !p.trim().is_empty())
        .map(|p| {
            let (s, n) = p.split_once(':').unwrap_or((p, "1"));
            match (s.trim().parse::<u64>(), n.trim().parse::<usize>()) {
                (Ok(s), Ok(n)) if n > 0 && s <= 3_600 => (s, n),
                _ => fail(&format!("BENCH_JOBS entry {p:?} is not `seconds:repetitions` (seconds ≤ 3600, repetitions ≥ 1)")),
            }
        })
        .collect()
}

/// Median of integer counts, as printed (`12`, or `12.5` for an even tie).
fn median_count(values: impl Iterator<Item = u64>) -> String {
    let v: Vec<f64> = values.map(|x| x as f64).collect();
    match Summary::of(&v) {
        Some(s) if s.min == s.max => format!("{}", s.median),
        Some(s) => format!("{} ({}–{})", s.median, s.min, s.max),
        None => "-".into(),
    }
}

/// `yes` or `NO` for a target check.
fn yes_no(ok: bool) -> String {
    if ok {
        "yes".into()
    } else {
        "NO".into()
    }
}

/// The jobs' results, by group: `reps` jobs of each length, then the sweep of 10–15 s jobs.
type Groups = Vec<(String, Vec<JobResult>)>;

/// Runs every group of jobs, at most `parallel` at once.
async fn run_groups(
    lengths: &[(u64, usize)],
    sweep: usize,
    parallel: usize,
    provision: Duration,
) -> Groups {
    let mut by_group: Groups = Vec::new();
    for (len, reps) in lengths {
        let group = format!("{len} s");
        let specs = (0..*reps)
            .map(|r| JobSpec {
                name: format!("job-{len}s-{r}"),
                secs: *len as f64,
            })
            .collect();
        let t0 = std::time::Instant::now();
        let results = run_all(specs, parallel, provision).await;
        println!(
            "  {group}: {reps} job(s) in {:.1} s",
            t0.elapsed().as_secs_f64()
        );
        by_group.push((group, results));
    }
    if sweep > 0 {
        let specs = (0..sweep)
            .map(|k| JobSpec {
                name: format!("sweep-{k}"),
                secs: 10.0 + k as f64 * 5.0 / sweep as f64,
            })
            .collect();
        let t0 = std::time::Instant::now();
        let results = run_all(specs, parallel, provision).await;
        println!(
            "  sweep: {sweep} job(s) of 10–15 s in {:.1} s",
            t0.elapsed().as_secs_f64()
        );
        by_group.push(("sweep 10–15 s".into(), results));
    }

    by_group
}

/// What went wrong in any job, one line each.
fn problems_of(by_group: &Groups) -> Vec<String> {
    let mut problems = Vec::new();
    for (_, rs) in by_group {
        for r in rs {
            if let Some(p) = &r.problem {
                let name = r.spec.as_ref().map(|s| s.name.clone()).unwrap_or_default();
                problems.push(format!("{name}: {p}"));
            }
        }
    }

    problems
}

/// Prints the ARM requests per job against the read budget and Airflow's operator.
fn print_requests(by_group: &Groups) {
    println!("\nARM requests per job (median, with min–max when they differ)\n");
    let mut t = Table::new(&[
        "job",
        "runs",
        "ARM reads",
        "group GETs",
        "of which exists (404)",
        "log GETs",
        "PUT",
        "DELETE",
        "token",
        "all requests",
        "target reads",
        "Airflow reads",
        "Airflow / ours",
    ]);
    for (group, rs) in by_group {
        let reads_median =
            Summary::of(&rs.iter().map(|r| r.reads() as f64).collect::<Vec<_>>()).map(|s| s.median);
        let secs = rs
            .first()
            .and_then(|r| r.spec.as_ref())
            .map(|s| s.secs)
            .unwrap_or(0.0);
        let budget = if group == "sweep 10–15 s" {
            None
        } else {
            read_budget(secs)
        };
        let airflow = if group == "sweep 10–15 s" {
            None
        } else {
            airflow_reads(secs)
        };
        let max_reads = rs.iter().map(|r| r.reads()).max().unwrap_or(0);
        t.row(vec![
            group.clone(),
            rs.len().to_string(),
            median_count(rs.iter().map(|r| r.reads())),
            median_count(rs.iter().map(|r| r.count("ContainerGroups_Get"))),
            median_count(rs.iter().map(|r| r.exists_404)),
            median_count(rs.iter().map(|r| r.count("Containers_ListLogs"))),
            median_count(rs.iter().map(|r| r.count("ContainerGroups_CreateOrUpdate"))),
            median_count(rs.iter().map(|r| r.count("ContainerGroups_Delete"))),
            median_count(rs.iter().map(|r| r.tokens())),
            median_count(rs.iter().map(|r| r.total())),
            budget
                .map(|b| format!("≤ {b}: {}", yes_no(max_reads <= b)))
                .unwrap_or_else(|| "-".into()),
            airflow
                .map(|a| format!("≈ {a}"))
                .unwrap_or_else(|| "-".into()),
            match (airflow, reads_median) {
                (Some(a), Some(m)) if m > 0.0 => format!("{:.1}×", a as f64 / m),
                _ => "-".into(),
            },
        ]);
    }
    t.print();

    let other: BTreeSet<String> = by_group
        .iter()
        .flat_map(|(_, rs)| rs.iter().flat_map(|r| r.ops.keys().cloned()))
        .filter(|op| {
            ![
                "ContainerGroups_Get",
                "Containers_ListLogs",
                "ContainerGroups_CreateOrUpdate",
                "ContainerGroups_Delete",
            ]
            .contains(&op.as_str())
                && !TOKEN_OPS.contains(&op.as_str())
        })
        .collect();
    if !other.is_empty() {
        println!("\nother operations seen (median per job):");
        for op in &other {
            let cells: Vec<String> = by_group
                .iter()
                .map(|(g, rs)| format!("{g}: {}", median_count(rs.iter().map(|r| r.count(op)))))
                .collect();
            println!("  {op}: {}", cells.join(", "));
        }
    }
}

/// Prints exit-detection and live-log latency per group and over all jobs.
fn print_latency(by_group: &Groups) {
    println!("\nLatency in seconds (exit: container's last stamp → `Container exited` logged; returned: → task returned)\n");
    let mut t = Table::new(&[
        "job",
        "runs",
        "ran (median)",
        "exit seen p50",
        "p95",
        "max",
        "returned p50",
        "p95",
        "log lines",
        "live",
        "log latency p50",
        "p95",
        "max",
    ]);
    let mut all_exit = Vec::new();
    let mut all_lines = Vec::new();
    for (group, rs) in by_group {
        let ok: Vec<&JobResult> = rs.iter().filter(|r| r.problem.is_none()).collect();
        let exit: Vec<f64> = ok.iter().map(|r| r.exit_seen_s).collect();
        let returned: Vec<f64> = ok.iter().map(|r| r.returned_s).collect();
        let ran: Vec<f64> = ok.iter().map(|r| r.ran_s).collect();
        let lines: Vec<f64> = ok
            .iter()
            .flat_map(|r| r.live.iter().chain(&r.after_exit).copied())
            .collect();
        let live: usize = ok.iter().map(|r| r.live.len()).sum();
        all_exit.extend(&exit);
        all_lines.extend(&lines);
        let (e, rt, l) = (
            Summary::of(&exit),
            Summary::of(&returned),
            Summary::of(&lines),
        );
        t.row(vec![
            group.clone(),
            ok.len().to_string(),
            fmt_opt(Summary::of(&ran), |s| s.median, 2),
            fmt_opt(e, |s| s.median, 2),
            fmt_opt(e, |s| s.p95, 2),
            fmt_opt(e, |s| s.max, 2),
            fmt_opt(rt, |s| s.median, 2),
            fmt_opt(rt, |s| s.p95, 2),
            lines.len().to_string(),
            live.to_string(),
            fmt_opt(l, |s| s.median, 2),
            fmt_opt(l, |s| s.p95, 2),
            fmt_opt(l, |s| s.max, 2),
        ]);
    }
    t.print();

    let (e, l) = (Summary::of(&all_exit), Summary::of(&all_lines));
    println!(
        "\nall jobs: exit seen p95 {} s over {} jobs (target ≤ {EXIT_TARGET_S} s: {}); log latency p95 {} s, max {} s over {} lines (target ≤ {LOG_TARGET_S} s: {})",
        fmt_opt(e, |s| s.p95, 2),
        all_exit.len(),
        e.map(|s| yes_no(s.p95 <= EXIT_TARGET_S)).unwrap_or_else(|| "-".into()),
        fmt_opt(l, |s| s.p95, 2),
        fmt_opt(l, |s| s.max, 2),
        all_lines.len(),
        l.map(|s| yes_no(s.p95 <= LOG_TARGET_S)).unwrap_or_else(|| "-".into()),
    );
    println!("Airflow's operator for comparison (airflow-aci.md §1): one group GET per second plus one log GET per second while running, ≈ 131 reads for a 60 s job and ≈ 1,260 for 10 min.");
    println!("10-minute job: `BENCH_JOBS=600:1 BENCH_SWEEP=0` measures one; the plugin's simulation prints it with `cargo test -p aci-plugin simulated_costs -- --nocapture`.");
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    if !common::bench_mode("jobs") {
        return;
    }
    let lengths = job_lengths();
    let sweep = env_usize("BENCH_SWEEP", 10);
    let parallel = env_usize("BENCH_PARALLEL", 5);
    let provision = Duration::from_millis(env_usize("BENCH_PROVISION_MS", 300) as u64);
    println!(
        "jobs benchmark: default operator settings, emulator provisioning {} ms, lengths {:?}, sweep {sweep}, at most {parallel} at once",
        provision.as_millis(),
        lengths
    );
    println!("load average at start: {}", common::load_average());
    // Load (or compile) the component before anything is timed.
    let _ = tokio::task::spawn_blocking(aci_e2e::runner).await;

    let by_group = run_groups(&lengths, sweep, parallel, provision).await;
    let problems = problems_of(&by_group);
    print_requests(&by_group);
    print_latency(&by_group);

    println!("load average at the end: {}", common::load_average());

    if !problems.is_empty() {
        eprintln!(
            "\n{} job(s) had problems (left out of the latency table):",
            problems.len()
        );
        for p in &problems {
            eprintln!("  {p}");
        }
        std::process::exit(1);
    }
}
