//! Benchmark: requests made per hook call, and what a 429 storm costs.
//!
//! Run: `cargo bench -p aci-e2e --profile dev --bench hook` (about a minute
//! and a half with the defaults).
//!
//! Every call goes through the real component's `container-instance-hook`
//! export in a fresh instance (as `aci-host hook …` does), so it pays a token
//! request plus its ARM requests. Requests are the emulator's statistics
//! before and after the call; wall time is the whole call, instantiation
//! included.
//!
//! The storm: `Faults { throttle_burst: b, retry_after_secs: 1 }` answers the
//! next `b` ARM requests with `429 TooManyRequests` and `Retry-After: 1`
//! (token requests are not throttled). Each storm is measured on a read
//! (`get-state` of an existing group) and a write (`create-or-update` without
//! wait); "extra" is the difference to the same call without faults (medians).
//! The default retry policy makes 6 attempts, so a burst of 6 or more ends in
//! an error: the bench shows what giving up costs too.
//!
//! Settings (environment):
//! - `BENCH_HOOK_REPS` (default 5): repetitions of each plain call.
//! - `BENCH_STORM_REPS` (default 3): repetitions of each storm.
//! - `BENCH_STORM_BURSTS` (default `1,3,5,6`): burst sizes.

// Shared by the benches; each uses part of it.
#[allow(dead_code)]
mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use aci_e2e::{Faults, Harness, Stats, TaskError};
use common::{env_usize, fail, fmt_opt, Summary, Table};
use serde_json::json;

/// One measured call.
struct Sample {
    /// Wall time, ms.
    wall_ms: f64,
    /// Requests per `operation status`.
    requests: BTreeMap<String, u64>,
    /// `None` when the call succeeded, else a short error.
    error: Option<String>,
}

impl Sample {
    /// All requests of the call.
    fn total(&self) -> u64 {
        self.requests.values().sum()
    }

    /// Requests answered with `status`.
    fn with_status(&self, status: u16) -> u64 {
        self.requests
            .iter()
            .filter(|(k, _)| k.ends_with(&format!(" {status}")))
            .map(|(_, n)| n)
            .sum()
    }

    /// `Token_Issue 200 ×1, ContainerGroups_Get 200 ×1`.
    fn breakdown(&self) -> String {
        self.requests
            .iter()
            .map(|(k, n)| format!("{k} ×{n}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Stats as `operation status` → count.
fn flat(stats: &Stats) -> BTreeMap<String, u64> {
    let mut m = BTreeMap::new();
    for (op, by_status) in &stats.requests {
        for (status, n) in by_status {
            m.insert(format!("{op} {status}"), *n);
        }
    }
    m
}

/// Calls `method` once with `args` and measures it.
async fn measure(h: &Harness, method: &str, args: serde_json::Value) -> Sample {
    let before = flat(&h.stats());
    let t0 = Instant::now();
    let result = h.hook(method, args).await;
    let wall_ms = t0.elapsed().as_secs_f64() * 1e3;
    let after = flat(&h.stats());
    let requests = after
        .iter()
        .filter_map(|(k, n)| {
            let d = n - before.get(k).copied().unwrap_or(0);
            (d > 0).then(|| (k.clone(), d))
        })
        .collect();
    let error = result.err().map(|e| short_error(&e));
    Sample {
        wall_ms,
        requests,
        error,
    }
}

/// `429 TooManyRequests (gave up after 6 attempts …)`: status, code and the
/// retry note of a remote error; other errors in their debug form (truncated).
fn short_error(e: &TaskError) -> String {
    match e {
        TaskError::Remote(r) => match r.message.find("gave up") {
            Some(i) => format!(
                "{} {} ({})",
                r.status,
                r.code,
                r.message[i..].trim_end_matches([')', '.'])
            ),
            None => format!("{} {}", r.status, r.code),
        },
        other => format!("{other:?}").chars().take(80).collect(),
    }
}

/// A minimal job group whose container runs `sh -c script`.
fn job(name: &str, script: &str) -> String {
    json!({
        "location": "westeurope",
        "properties": {
            "osType": "Linux",
            "restartPolicy": "Never",
            "containers": [{"name": name, "properties": {
                "image": "busybox:latest",
                "command": ["sh", "-c", script],
                "resources": {"requests": {"cpu": 1.0, "memoryInGB": 1.5}}
            }}]
        }
    })
    .to_string()
}

/// Samples of one kind of call, in order of first use.
#[derive(Default)]
struct Book {
    order: Vec<String>,
    samples: BTreeMap<String, Vec<Sample>>,
}

impl Book {
    /// Records a sample under `label`.
    fn add(&mut self, label: &str, s: Sample) {
        if !self.samples.contains_key(label) {
            self.order.push(label.to_string());
        }
        self.samples.entry(label.to_string()).or_default().push(s);
    }

    /// Median wall time of `label`, ms.
    fn wall_median(&self, label: &str) -> Option<f64> {
        let walls: Vec<f64> = self.samples.get(label)?.iter().map(|s| s.wall_ms).collect();
        Summary::of(&walls).map(|s| s.median)
    }

    /// Median request count of `label`.
    fn total_median(&self, label: &str) -> Option<f64> {
        let totals: Vec<f64> = self
            .samples
            .get(label)?
            .iter()
            .map(|s| s.total() as f64)
            .collect();
        Summary::of(&totals).map(|s| s.median)
    }
}

/// Waits (bounded, 20 s) until the group's first container has terminated,
/// so that its log exists and nothing is transitioning. The polls are not
/// measured.
async fn wait_terminated(h: &Harness, name: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if let Ok(g) = h
            .hook("get-state", json!({"target": Harness::group(name)}))
            .await
        {
            if g["properties"]["containers"][0]["properties"]["instanceView"]["currentState"]
                ["state"]
                == "Terminated"
            {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    fail(&format!("group {name} did not terminate within 20 s"));
}

/// The storm sizes to measure (`BENCH_STORM_BURSTS`, default `1,3,5,6`).
fn storm_bursts() -> Vec<u32> {
    std::env::var("BENCH_STORM_BURSTS")
        .unwrap_or_else(|_| "1,3,5,6".into())
        .split(',')
        .filter(|s| !s.trim().is_empty())
        .map(|s| {
            s.trim().parse().unwrap_or_else(|_| {
                fail(&format!("BENCH_STORM_BURSTS entry {s:?} is not an integer"))
            })
        })
        .collect()
}

/// `reps` rounds of every hook call on fresh groups, each call in a fresh instance.
async fn measure_calls(h: &Harness, reps: usize) -> Book {
    let mut book = Book::default();
    for i in 0..reps {
        let g = Harness::group(&format!("hook-{i}"));
        book.add(
            "create-or-update (no wait)",
            measure(
                h,
                "create-or-update", json!({"target": g.clone(), "container_group": job(g["name"].as_str().unwrap(), "echo hi"), "wait": false}),
            )
            .await,
        );
        book.add(
            "exists (true)",
            measure(h, "exists", json!({"target": g.clone()})).await,
        );
        book.add(
            "exists (false)",
            measure(
                h,
                "exists",
                json!({"target": Harness::group(&format!("missing-{i}"))}),
            )
            .await,
        );
        book.add(
            "get-state",
            measure(h, "get-state", json!({"target": g.clone()})).await,
        );
        wait_terminated(h, g["name"].as_str().unwrap()).await;
        book.add(
            "get-logs",
            measure(h, "get-logs", json!({"target": g.clone(), "tail": null})).await,
        );
        book.add(
            "test-connection",
            measure(h, "test-connection", json!({"conn_id": "azure_default"})).await,
        );
        book.add(
            "delete (no wait)",
            measure(h, "delete", json!({"target": g.clone(), "wait": false})).await,
        );
        let w = Harness::group(&format!("hookw-{i}"));
        book.add(
            "create-or-update (wait)",
            measure(
                h,
                "create-or-update", json!({"target": w.clone(), "container_group": job(w["name"].as_str().unwrap(), "sleep 30"), "wait": true}),
            )
            .await,
        );
        book.add(
            "delete (wait)",
            measure(h, "delete", json!({"target": w.clone(), "wait": true})).await,
        );
    }

    book
}

/// Prints the requests and wall time per call; returns the calls that failed.
fn print_calls(book: &Book) -> Vec<String> {
    println!("\nRequests per hook call (fresh instance each: token + ARM)\n");
    let mut t = Table::new(&[
        "call",
        "runs",
        "requests",
        "token",
        "ARM",
        "requests (first run)",
        "wall p50 ms",
        "p95 ms",
    ]);
    let mut problems = Vec::new();
    for label in &book.order {
        let ss = &book.samples[label];
        let totals: Vec<u64> = ss.iter().map(Sample::total).collect();
        let tokens: Vec<u64> = ss
            .iter()
            .map(|s| {
                s.requests
                    .iter()
                    .filter(|(k, _)| k.starts_with("Token_") || k.starts_with("Imds_"))
                    .map(|(_, n)| n)
                    .sum()
            })
            .collect();
        let same = totals.iter().all(|n| *n == totals[0]);
        let walls = Summary::of(&ss.iter().map(|s| s.wall_ms).collect::<Vec<_>>());
        for s in ss.iter().filter(|s| s.error.is_some()) {
            problems.push(format!(
                "{label}: {}",
                s.error.as_deref().unwrap_or_default()
            ));
        }
        let med = |v: &[u64]| {
            Summary::of(&v.iter().map(|x| *x as f64).collect::<Vec<_>>())
                .map(|s| s.median)
                .unwrap_or(0.0)
        };
        t.row(vec![
            label.clone(),
            ss.len().to_string(),
            if same {
                totals[0].to_string()
            } else {
                format!(
                    "{} (varies {}–{})",
                    med(&totals),
                    totals.iter().min().unwrap(),
                    totals.iter().max().unwrap()
                )
            },
            format!("{}", med(&tokens)),
            format!("{}", med(&totals) - med(&tokens)),
            ss[0].breakdown(),
            fmt_opt(walls, |s| s.median, 1),
            fmt_opt(walls, |s| s.p95, 1),
        ]);
    }
    t.print();

    problems
}

/// Each call under a storm of `b` 429s (Retry-After 1 s), for each `b` in `bursts`.
async fn measure_storms(h: &Harness, bursts: &[u32], reps: usize) -> Book {
    let target = Harness::group("storm-target");
    if let Err(e) = h
        .hook("create-or-update", json!({"target": target.clone(), "container_group": job(target["name"].as_str().unwrap(), "sleep 600"), "wait": false}))
        .await
    {
        fail(&format!("creating the storm target failed: {e:?}"));
    }
    let mut storm = Book::default();
    for b in bursts {
        for r in 0..reps {
            h.emulator.set_faults(Faults {
                throttle_burst: *b,
                retry_after_secs: 1,
                ..Faults::default()
            });
            storm.add(
                &format!("get-state|{b}"),
                measure(h, "get-state", json!({"target": target.clone()})).await,
            );
            let g = Harness::group(&format!("storm-{b}-{r}"));
            h.emulator.set_faults(Faults {
                throttle_burst: *b,
                retry_after_secs: 1,
                ..Faults::default()
            });
            storm.add(
                &format!("create-or-update (no wait)|{b}"),
                measure(
                    h,
                    "create-or-update", json!({"target": g.clone(), "container_group": job(g["name"].as_str().unwrap(), "exit 0"), "wait": false}),
                )
                .await,
            );
        }
    }
    h.emulator.set_faults(Faults::default());

    storm
}

/// Prints what each storm cost over the same call without one.
fn print_storms(storm: &Book, book: &Book) {
    println!("\nA 429 storm: the next b ARM requests answer 429 with Retry-After 1 s\n");
    let mut t = Table::new(&[
        "call",
        "burst b",
        "runs",
        "outcome",
        "429s",
        "requests",
        "extra requests",
        "wall p50 s",
        "p95 s",
        "extra wall p50 s",
    ]);
    for label in &storm.order {
        let (call, b) = label.split_once('|').unwrap_or((label, "?"));
        let ss = &storm.samples[label];
        let failed = ss.iter().filter(|s| s.error.is_some()).count();
        let outcome = match failed {
            0 => "ok".to_string(),
            n if n == ss.len() => format!("error {}", ss[0].error.as_deref().unwrap_or_default()),
            n => format!("{n} of {} failed", ss.len()),
        };
        let walls = Summary::of(&ss.iter().map(|s| s.wall_ms / 1e3).collect::<Vec<_>>());
        let totals = Summary::of(&ss.iter().map(|s| s.total() as f64).collect::<Vec<_>>());
        let throttled = Summary::of(
            &ss.iter()
                .map(|s| s.with_status(429) as f64)
                .collect::<Vec<_>>(),
        );
        let base_total = book.total_median(call);
        let base_wall = book.wall_median(call);
        t.row(vec![
            call.to_string(),
            b.to_string(),
            ss.len().to_string(),
            outcome,
            fmt_opt(throttled, |s| s.median, 0),
            fmt_opt(totals, |s| s.median, 0),
            match (totals, base_total) {
                (Some(t), Some(b)) => format!("{}", t.median - b),
                _ => "-".into(),
            },
            fmt_opt(walls, |s| s.median, 2),
            fmt_opt(walls, |s| s.p95, 2),
            match (walls, base_wall) {
                (Some(w), Some(b)) => format!("{:.2}", w.median - b / 1e3),
                _ => "-".into(),
            },
        ]);
    }
    t.print();
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    if !common::bench_mode("hook") {
        return;
    }
    let reps = env_usize("BENCH_HOOK_REPS", 5).max(1);
    let storm_reps = env_usize("BENCH_STORM_REPS", 3).max(1);
    let bursts = storm_bursts();
    println!("hook benchmark: {reps} repetitions per call, storms {bursts:?} × {storm_reps} (Retry-After 1 s)");

    println!("load average at start: {}", common::load_average());
    let h = Harness::start().await;
    // Warm-up (component load, first connection): not measured.
    let _ = h
        .hook("exists", json!({"target": Harness::group("warm-up")}))
        .await;

    let book = measure_calls(&h, reps).await;
    let problems = print_calls(&book);
    let storm = measure_storms(&h, &bursts, storm_reps).await;
    print_storms(&storm, &book);

    println!("\nload average at the end: {}", common::load_average());
    let Harness { emulator, .. } = h;
    emulator.shutdown().await;
    if !problems.is_empty() {
        eprintln!(
            "\n{} call(s) failed without injected faults:",
            problems.len()
        );
        for p in &problems {
            eprintln!("  {p}");
        }
        std::process::exit(1);
    }
}
