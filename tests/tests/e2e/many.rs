//! Many tasks in one `aci-host run`: 50 tasks against one emulator with a
//! `--max-parallel` bound that the emulator can see, and a mixed run whose
//! results and exit status follow the order the files were given.

use aci_e2e::cli::{aci_host, emulator_conn, text};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use aci_e2e::{Emulator, EmulatorConfig};

/// A task file whose container prints its name and exits with `code`
/// after `sleep` seconds.
fn task(dir: &Path, file: &str, task_id: &str, sleep: f64, code: i32) -> PathBuf {
    let body = format!(
        r#"task_id = "{task_id}"
dag_id = "many"
[params]
ci_conn_id = "azure_default"
resource_group = "many-rg"
name = "{name}"
image = "busybox"
region = "westeurope"
command = ["sh", "-c", "sleep {sleep}; echo 'hi from {{{{ task_id }}}}'; exit {code}"]
"#,
        name = task_id.replace('_', "-"),
    );
    let p = dir.join(file);
    std::fs::write(&p, body).unwrap();
    p
}

/// The `--json` lines on stdout, parsed.
fn results(out: &Output) -> Vec<serde_json::Value> {
    text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_tasks_succeed_and_max_parallel_bounds_the_live_groups() {
    const TASKS: usize = 50;
    const MAX_PARALLEL: usize = 6;
    let emulator = Emulator::start(EmulatorConfig {
        provision_delay: Duration::from_millis(100),
        ..EmulatorConfig::default()
    })
    .await
    .unwrap();
    let state = tempfile::tempdir().unwrap();
    let dir = state.path().join("tasks");
    std::fs::create_dir(&dir).unwrap();
    for i in 0..TASKS {
        task(&dir, &format!("t{i:02}.toml"), &format!("t{i:02}"), 0.4, 0);
    }
    let mut child = aci_host(
        &[
            "run",
            dir.to_str().unwrap(),
            "--json",
            "--max-parallel",
            &MAX_PARALLEL.to_string(),
        ],
        state.path(),
    )
    .env("AIRFLOW_CONN_AZURE_DEFAULT", emulator_conn(&emulator))
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let stdout = child.stdout.take().unwrap();
    let stderr = child.stderr.take().unwrap();
    let readers = std::thread::spawn(move || {
        let read = |mut r: Box<dyn std::io::Read + Send>| {
            let mut v = Vec::new();
            r.read_to_end(&mut v).unwrap();
            v
        };
        let err = std::thread::spawn(move || read(Box::new(stderr)));
        (read(Box::new(stdout)), err.join().unwrap())
    });
    // Wait for the run (bounded by a deadline).
    let deadline = Instant::now() + Duration::from_secs(300);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "the run did not finish in time");
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    // The emulator's high-water mark of groups existing at once (groups whose deletion was
    // accepted no longer count: their task has ended), exact instead of sampled.
    let peak = emulator.stats().max_live_groups;
    let (stdout, stderr) = readers.join().unwrap();
    let out = Output {
        status,
        stdout,
        stderr,
    };
    child.check(&text(&out.stdout));
    child.check(&text(&out.stderr));
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        peak <= MAX_PARALLEL,
        "{peak} groups existed at once with --max-parallel {MAX_PARALLEL}"
    );
    assert!(peak >= 2, "tasks ran concurrently (peak {peak})");
    // One result per task, in the directory's (sorted) order, all succeeded.
    let results = results(&out);
    assert_eq!(results.len(), TASKS, "{stderr}");
    for (i, r) in results.iter().enumerate() {
        assert_eq!(r["task_id"], format!("t{i:02}"), "{r}");
        assert_eq!(r["state"], "success", "{r}");
        assert_eq!(r["exit_code"], 0, "{r}");
    }
    // Every container ran and its output reached the log, prefixed with its task.
    for i in 0..TASKS {
        assert!(
            stderr.contains(&format!("t{i:02} | hi from t{i:02}")),
            "t{i:02}'s output is missing"
        );
    }
    assert!(
        stderr.contains(&format!("{TASKS}/{TASKS} succeeded")),
        "summary table: {stderr}"
    );
    let stats = emulator.stats();
    assert_eq!(
        stats.count_all("ContainerGroups_CreateOrUpdate"),
        TASKS as u64
    );
    // Every task deleted its group (202: asynchronous, as on ARM); they are then all gone.
    assert_eq!(stats.count("ContainerGroups_Delete", 202), TASKS as u64);
    let gone = emulator.wait_until_empty(Duration::from_secs(30)).await;
    assert!(gone, "{:?}", emulator.stats());
    emulator.shutdown().await;
}

#[test]
fn a_mixed_run_reports_in_the_given_order_with_the_first_failures_status() {
    let state = tempfile::tempdir().unwrap();
    let d = state.path();
    // The slow success comes first so that later tasks finish before it.
    let files = [
        task(d, "c_ok.toml", "c_ok", 1.5, 0),
        task(d, "e_fail3.toml", "e_fail3", 0.2, 3),
        task(d, "a_ok.toml", "a_ok", 0.0, 0),
        task(d, "b_fail7.toml", "b_fail7", 0.0, 7),
    ];
    let invalid = d.join("d_invalid.toml");
    std::fs::write(&invalid, "task_id = \"d_invalid\"\n[params]\nci_conn_id = \"azure_default\"\nresource_group = \"rg\"\nname = \"Not_Valid\"\nimage = \"busybox\"\nregion = \"westeurope\"\n").unwrap();
    let mut args: Vec<String> = vec![
        "run".into(),
        "--local".into(),
        "--json".into(),
        "--max-parallel".into(),
        "2".into(),
    ];
    args.extend(files.iter().map(|f| f.display().to_string()));
    args.push(invalid.display().to_string());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = aci_host(&args, d).output().unwrap();
    let stderr = text(&out.stderr);
    // The first task (in the given order) that did not succeed is e_fail3.
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    let results = results(&out);
    let ids: Vec<&str> = results
        .iter()
        .map(|r| r["task_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        ["c_ok", "e_fail3", "a_ok", "b_fail7", "d_invalid"],
        "{stderr}"
    );
    let states: Vec<&str> = results
        .iter()
        .map(|r| r["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["success", "failed", "success", "failed", "failed"]);
    let codes: Vec<serde_json::Value> = results.iter().map(|r| r["exit_code"].clone()).collect();
    assert_eq!(
        codes,
        [
            serde_json::json!(0),
            serde_json::json!(3),
            serde_json::json!(0),
            serde_json::json!(7),
            serde_json::Value::Null
        ]
    );
    assert!(
        results[4]["error"]
            .as_str()
            .unwrap()
            .contains("ACI name must match regex"),
        "{}",
        results[4]
    );
    // The summary table lists them in the same order.
    let table: Vec<&str> = stderr
        .lines()
        .skip_while(|l| !l.starts_with("task "))
        .collect();
    assert!(table.len() >= 7, "{stderr}");
    for (line, id) in table[1..6].iter().zip(ids) {
        assert!(line.starts_with(id), "{line} should be {id}");
    }
    assert_eq!(table[6], "2/5 succeeded");
    // The exit status follows the order given, not the order of finishing:
    // with the invalid task first, it is 125.
    let mut reordered: Vec<&str> = vec!["run", "--local", "--max-parallel", "3"];
    let invalid_s = invalid.display().to_string();
    let files_s: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
    reordered.push(&invalid_s);
    reordered.extend(files_s.iter().map(String::as_str));
    let out = aci_host(&reordered, d).output().unwrap();
    assert_eq!(out.status.code(), Some(125), "{}", text(&out.stderr));
}

#[test]
fn with_max_parallel_1_tasks_run_one_after_another_in_the_given_order() {
    let state = tempfile::tempdir().unwrap();
    let d = state.path();
    let order = ["d_task", "b_task", "c_task", "a_task"];
    let files: Vec<String> = order
        .iter()
        .map(|id| {
            task(d, &format!("{id}.toml"), id, 0.0, 0)
                .display()
                .to_string()
        })
        .collect();
    let mut args = vec!["run", "--local", "--max-parallel", "1"];
    args.extend(files.iter().map(String::as_str));
    let out = aci_host(&args, d).output().unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    // Each task's whole log comes before the next task's first line.
    let firsts: Vec<usize> = order
        .iter()
        .map(|id| {
            stderr
                .find(&format!(" {id} | "))
                .unwrap_or_else(|| panic!("{id}: {stderr}"))
        })
        .collect();
    let lasts: Vec<usize> = order
        .iter()
        .map(|id| stderr.rfind(&format!(" {id} | ")).unwrap())
        .collect();
    for i in 1..order.len() {
        assert!(
            lasts[i - 1] < firsts[i],
            "{} overlapped {}: {stderr}",
            order[i - 1],
            order[i]
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigint_cancels_running_and_queued_tasks() {
    let emulator = Emulator::start(EmulatorConfig {
        provision_delay: Duration::from_millis(100),
        ..EmulatorConfig::default()
    })
    .await
    .unwrap();
    let state = tempfile::tempdir().unwrap();
    let files: Vec<String> = (0..5)
        .map(|i| {
            task(
                state.path(),
                &format!("s{i}.toml"),
                &format!("s{i}"),
                300.0,
                0,
            )
            .display()
            .to_string()
        })
        .collect();
    let mut args = vec!["run", "--json", "--max-parallel", "2"];
    args.extend(files.iter().map(String::as_str));
    let child = aci_host(&args, state.path())
        .env("AIRFLOW_CONN_AZURE_DEFAULT", emulator_conn(&emulator))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let running = aci_e2e::wait_until(Duration::from_secs(60), || {
        emulator.stats().live_processes == 2
    })
    .await;
    assert!(running, "two containers should be running");
    assert!(Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap()
        .success());
    let out = tokio::task::spawn_blocking(move || child.finish(Duration::from_secs(60)))
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", text(&out.stderr));
    let results = results(&out);
    let ids: Vec<&str> = results
        .iter()
        .map(|r| r["task_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["s0", "s1", "s2", "s3", "s4"]);
    for r in &results {
        assert_eq!(r["state"], "failed", "{r}");
        assert!(r["error"].as_str().unwrap().contains("cancelled"), "{r}");
    }
    for r in &results[2..] {
        assert!(
            r["error"].as_str().unwrap().contains("before it started"),
            "queued tasks never start: {r}"
        );
    }
    let stats = emulator.stats();
    assert_eq!(
        stats.count_all("ContainerGroups_CreateOrUpdate"),
        2,
        "only the two running tasks created groups"
    );
    // Both DELETEs were accepted (202: asynchronous, as on ARM); the groups are then gone.
    assert_eq!(stats.count("ContainerGroups_Delete", 202), 2);
    let gone = emulator.wait_until_empty(Duration::from_secs(30)).await;
    assert!(
        gone,
        "cancelled groups are deleted and their processes gone: {:?}",
        emulator.stats()
    );
    emulator.shutdown().await;
}
