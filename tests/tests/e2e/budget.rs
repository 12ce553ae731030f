//! The shared ARM budget end to end: many tasks of one host against an
//! emulator that enforces small token buckets never meet a `429`, and a
//! `429` one task meets pauses the subscription's bucket for all of them.

use std::sync::Arc;
use std::time::Duration;

use aci_e2e::cli::{aci_host, emulator_conn, text};
use aci_e2e::{engine_options, Emulator, EmulatorConfig, Harness};
use aci_emulator::{Faults, RateLimits};
use aci_host::budget::Budgets;
use aci_host::runner::{Runner, RunnerOptions, TaskState};

/// Every response the emulator answered with `429`.
fn throttled(emulator: &Emulator) -> u64 {
    let stats = emulator.stats();
    stats.requests.values().filter_map(|by| by.get(&429)).sum()
}

/// `n` task files of a one-second job in `dir`.
fn one_second_tasks(dir: &std::path::Path, n: usize) {
    for i in 0..n {
        let task = format!(
            "task_id = \"t{i}\"\n[params]\nci_conn_id = \"azure_default\"\nresource_group = \"rg\"\n\
             name = \"budget-{i}\"\nimage = \"busybox\"\nregion = \"westeurope\"\n\
             command = [\"sh\", \"-c\", \"sleep 1; echo done\"]\n"
        );
        std::fs::write(dir.join(format!("t{i:02}.toml")), task).unwrap();
    }
}

/// 50 tasks in one `aci-host run` against buckets of 20 tokens refilled at
/// 5 per second (reads, writes and deletes): the host, told its share of
/// them with `--budget`, sends no request the emulator refuses.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_tasks_share_a_small_bucket_without_a_429() {
    let mut rate_limits = RateLimits::default();
    for kind in ["reads", "writes", "deletes"] {
        rate_limits.set(&format!("{kind}=20/5")).unwrap();
    }
    let emulator = Emulator::start(EmulatorConfig {
        provision_delay: Duration::from_millis(100),
        faults: Faults {
            enforce_rate_limits: true,
            rate_limits,
            ..Faults::default()
        },
        ..EmulatorConfig::default()
    })
    .await
    .unwrap();
    let state = tempfile::tempdir().unwrap();
    let tasks = tempfile::tempdir().unwrap();
    one_second_tasks(tasks.path(), 50);
    let mut args: Vec<String> = ["run", tasks.path().to_str().unwrap(), "--json"]
        .into_iter()
        .chain(["--max-parallel", "50", "--budget-share", "0.8"])
        .map(String::from)
        .collect();
    // ARM's classes sized for the emulator's buckets (the share applies only
    // to declared limits, so state it: 80 % of 20 tokens and 5 per second).
    for class in ["arm-reads", "arm-writes", "arm-deletes"] {
        args.push("--budget".into());
        args.push(format!("{class}=16/4"));
    }
    let conn = emulator_conn(&emulator);
    let state_dir = state.path().to_path_buf();
    let out = tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        aci_host(&args, &state_dir)
            .env("AIRFLOW_CONN_AZURE_DEFAULT", conn)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let states: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(states.len(), 50);
    assert!(states.iter().all(|v| v["state"] == "success"), "{stdout}");
    assert_eq!(throttled(&emulator), 0, "{:?}", emulator.stats().requests);
    assert!(
        !text(&out.stderr).contains("HTTP 429"),
        "no task saw a 429: {}",
        text(&out.stderr)
    );
    emulator.shutdown().await;
}

/// The first ARM request of three concurrent tasks meets a `429` with
/// `Retry-After: 1`: the plugin pauses that subscription's bucket in the
/// host's shared budgets (so every task waits, see the runtime's tests), and
/// every task still succeeds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_tasks_429_pauses_the_subscription_for_all() {
    let emulator = Emulator::start(EmulatorConfig {
        provision_delay: Duration::from_millis(100),
        faults: Faults {
            throttle_burst: 1,
            retry_after_secs: 1,
            ..Faults::default()
        },
        ..EmulatorConfig::default()
    })
    .await
    .unwrap();
    let budgets = Arc::new(Budgets::default());
    let runner = Runner::new(RunnerOptions {
        engine: engine_options(),
        ..RunnerOptions::default()
    })
    .expect("load the built-in component")
    .with_budgets(budgets.clone());
    let h = Harness {
        emulator,
        runner: runner.into(),
    };
    let command = serde_json::json!({"command": ["sh", "-c", "echo ok"]});
    let (a, b, c) = tokio::join!(
        h.run_task("throttled-a", command.clone()),
        h.run_task("throttled-b", command.clone()),
        h.run_task("throttled-c", command.clone()),
    );
    for run in [a, b, c] {
        assert_eq!(
            run.report.state,
            TaskState::Success,
            "{:?}",
            run.logs.messages()
        );
    }
    assert_eq!(throttled(&h.emulator), 1);
    let stats = budgets.stats();
    let paused: Vec<&String> = stats
        .iter()
        .filter(|(_, s)| s.pauses == 1)
        .map(|(k, _)| k)
        .collect();
    assert_eq!(paused.len(), 1, "{stats:?}");
    assert!(paused[0].starts_with("arm/"), "{paused:?}");
    // Every task drew its requests from the subscription's shared buckets.
    let granted: u64 = stats.iter().map(|(_, s)| s.granted).sum();
    assert!(granted >= 9, "{stats:?}");
    h.emulator.shutdown().await;
}
