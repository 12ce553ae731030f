//! Conformance: the same tasks through every host of `aci_e2e::hosts::hosts()` (`aci-host`,
//! the reference; the Node host `hosts/node`; stock `wasmtime run` with `aci-cli.wasm`,
//! `wasi-cli`), each against a fresh emulator, compared with the reference:
//!
//! * `describe`: the same JSON;
//! * hello (exit 0), a failure (exit 3 with XCom), a ~10 s job, a cancelled job (SIGTERM:
//!   the plugin deletes its group) and a killed one (`--cancel-grace 0`: the host interrupts
//!   the plugin and `on-kill` deletes the group): the exit status, the `--json` result
//!   (state, exit code, return value, XCom, error), the XCom file where the host keeps one,
//!   the emulator's request counts by operation and status, and no group left behind;
//! * a hook round trip (create-or-update and wait, exists, get-state, delete and wait,
//!   exists, test-connection): the answers, request counts and leftovers.
//!
//! Each host gets its own emulator and runs at the same time as the others. Request counts
//! are compared exactly, except the polling reads, whose number depends on
//! when a state change lands between two polls; they may differ by one. The Node host
//! needs `node` ≥ 20 and `npm` (the test runs `npm ci` in `hosts/node` once; set
//! `ACI_SKIP_NODE=1` to leave it out).
//!
//! A test that needs what a host cannot do by design (`aci_e2e::hosts::Feature`: loading
//! another component, cancellation, the outbound policy, masking the guest's own output; the
//! stock runtime has none of them) leaves that host out and says so on stderr. The
//! `wasi-cli` host prints XCom in its JSON result (no XCom file), as the README documents.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use aci_e2e::cli::{emulator_conn, text};
use aci_e2e::clients::{run_bounded, run_bounded_after};
use aci_e2e::hosts::{hosts, hosts_supporting, Feature, Host};
use aci_e2e::{Emulator, EmulatorConfig, Faults, Stats, HOSTILE_COMPONENT, HTTP_PROBE_COMPONENT};
use serde_json::{json, Value};

/// Longest any one command may take.
const COMMAND_LIMIT: Duration = Duration::from_secs(120);

/// Request kinds polled on a timer: their count may differ by one between hosts.
const POLLED: [&str; 3] = [
    "ContainerGroups_Get 200",
    "Containers_ListLogs 200",
    "AsyncOperation_Get 200",
];

/// An in-process emulator on its own runtime (the tests themselves are synchronous).
struct Emu {
    emulator: Option<Emulator>,
    runtime: tokio::runtime::Runtime,
}

impl Emu {
    /// An emulator with a short provisioning delay and these request faults.
    fn start(faults: Faults) -> Emu {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let emulator = runtime
            .block_on(Emulator::start(EmulatorConfig {
                provision_delay: Duration::from_millis(100),
                faults,
                ..EmulatorConfig::default()
            }))
            .expect("start the emulator");
        Emu {
            emulator: Some(emulator),
            runtime,
        }
    }

    fn get(&self) -> &Emulator {
        self.emulator.as_ref().unwrap()
    }

    fn stats(&self) -> Stats {
        self.get().stats()
    }

    /// Waits (bounded) until no group and no container process is left; the groups left.
    fn settle(&self) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let s = self.stats();
            if s.nothing_live() || Instant::now() > deadline {
                return s.live_groups;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits (bounded) until a container process runs.
    fn wait_running(&self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while self.stats().live_processes == 0 {
            assert!(Instant::now() < deadline, "the container never started");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Emu {
    fn drop(&mut self) {
        if let Some(e) = self.emulator.take() {
            self.runtime.block_on(e.shutdown());
        }
    }
}

/// Request counts as `"Operation status" → count`.
fn counts(stats: &Stats) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    for (op, by_status) in &stats.requests {
        for (status, n) in by_status {
            out.insert(format!("{op} {status}"), *n);
        }
    }
    out
}

/// What one host did with one task (or one hook sequence).
struct Run {
    host: &'static str,
    status: Option<i32>,
    /// The `--json` result, or the hook answers.
    result: Value,
    counts: BTreeMap<String, u64>,
    leftovers: Vec<String>,
    stderr: String,
}

/// How a task run ends.
#[derive(Clone, Copy, PartialEq)]
enum Ending {
    /// On its own.
    Natural,
    /// SIGTERM once the container runs, with these extra `run` arguments.
    Signalled(&'static [&'static str]),
}

/// Runs `f` for every host that supports `needs` at once, each with a fresh emulator; the
/// results in host order.
fn per_host<T: Send>(needs: &[Feature], f: impl Fn(&dyn Host, &Emu) -> T + Sync) -> Vec<T> {
    per_host_with(Faults::default(), needs, f)
}

/// [`per_host`] with emulators that inject `faults`.
fn per_host_with<T: Send>(
    faults: Faults,
    needs: &[Feature],
    f: impl Fn(&dyn Host, &Emu) -> T + Sync,
) -> Vec<T> {
    let hosts = hosts_supporting(needs);
    std::thread::scope(|scope| {
        let running: Vec<_> = hosts
            .iter()
            .map(|h| scope.spawn(|| f(h.as_ref(), &Emu::start(faults.clone()))))
            .collect();
        running
            .into_iter()
            .map(|t| t.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    })
}

/// Runs one task file through `host`.
fn run_task(host: &dyn Host, emu: &Emu, task: &Value, ending: Ending) -> Run {
    let scratch = tempfile::tempdir().unwrap();
    let file = scratch.path().join("task.json");
    std::fs::write(&file, task.to_string()).unwrap();
    let mut args = vec!["run", file.to_str().unwrap(), "--json"];
    if let Ending::Signalled(extra) = ending {
        args.extend_from_slice(extra);
    }
    let mut cmd = host.command(&args, scratch.path());
    cmd.env("AIRFLOW_CONN_AZURE_DEFAULT", emulator_conn(emu.get()));
    let out = match ending {
        Ending::Natural => run_bounded(cmd, COMMAND_LIMIT),
        Ending::Signalled(_) => run_bounded_after(cmd, COMMAND_LIMIT, |child| {
            emu.wait_running();
            // SAFETY: kill(2) on our own child's pid.
            unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
        }),
    };
    let stdout = text(&out.stdout);
    let stderr = text(&out.stderr);
    let result: Value = serde_json::from_str(stdout.lines().last().unwrap_or(""))
        .unwrap_or_else(|e| panic!("{}: no JSON result ({e}):\n{stdout}\n{stderr}", host.name()));
    if let Some(path) = host.xcom_file(scratch.path()) {
        check_xcom_file(host.name(), &path, &result);
    }
    let leftovers = emu.settle();
    Run {
        host: host.name(),
        status: out.status.code(),
        result,
        counts: counts(&emu.stats()),
        leftovers,
        stderr,
    }
}

/// The host's XCom file holds the result's XCom, and `return_value` after a success.
fn check_xcom_file(host: &str, path: &Path, result: &Value) {
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap())
        .unwrap_or_else(|e| panic!("{host}: XCom file {}: {e}", path.display()));
    let mut expected = result["xcom"].clone();
    if result["state"] == "success" {
        expected["return_value"] = result["return_value"].clone();
    }
    assert_eq!(doc["xcom"], expected, "{host}: the XCom file");
}

/// Every run matches the first (the reference): status, result, request counts (polled
/// kinds within one), and none left a group behind.
fn assert_conform(runs: &[Run]) {
    let reference = &runs[0];
    for run in runs {
        eprintln!(
            "{:>9}: exit {:?}, requests {:?}",
            run.host, run.status, run.counts
        );
        assert!(
            run.leftovers.is_empty(),
            "{} left groups behind: {:?}\n{}",
            run.host,
            run.leftovers,
            run.stderr
        );
    }
    for run in &runs[1..] {
        let context = format!(
            "{} vs {}:\n--- {} stderr:\n{}\n--- {} stderr:\n{}",
            run.host, reference.host, reference.host, reference.stderr, run.host, run.stderr
        );
        assert_eq!(run.status, reference.status, "exit status, {context}");
        assert_eq!(run.result, reference.result, "result, {context}");
        let kinds: Vec<&String> = reference.counts.keys().chain(run.counts.keys()).collect();
        for kind in kinds {
            let (a, b) = (
                reference.counts.get(kind).copied().unwrap_or(0),
                run.counts.get(kind).copied().unwrap_or(0),
            );
            let slack = if POLLED.contains(&kind.as_str()) {
                1
            } else {
                0
            };
            assert!(a.abs_diff(b) <= slack, "{kind}: {a} vs {b}, {context}");
        }
    }
}

/// Runs a task through every host and compares.
fn conform(task: Value, ending: Ending) -> Vec<Run> {
    let needs: &[Feature] = match ending {
        Ending::Natural => &[],
        Ending::Signalled(_) => &[Feature::Cancellation],
    };
    let runs = per_host(needs, |host, emu| run_task(host, emu, &task, ending));
    assert_conform(&runs);
    runs
}

/// A task of the contract's JSON form, with the test connection's defaults.
fn task(task_id: &str, extra: Value) -> Value {
    let mut params = json!({
        "ci_conn_id": "azure_default",
        "resource_group": "conformance",
        "name": format!("conf-{task_id}"),
        "image": "busybox",
        "region": "westeurope",
    });
    for (k, v) in extra.as_object().unwrap() {
        params[k] = v.clone();
    }
    json!({"task_id": task_id, "dag_id": "conformance", "run_id": "r1",
           "logical_date": "2026-11-23T00:00:00+00:00", "params": params})
}

#[test]
fn describe_is_the_same_everywhere() {
    let scratch = tempfile::tempdir().unwrap();
    let answers: Vec<(&str, Value)> = hosts()
        .iter()
        .map(|h| {
            let out = run_bounded(h.command(&["describe"], scratch.path()), COMMAND_LIMIT);
            assert!(out.status.success(), "{}: {}", h.name(), text(&out.stderr));
            (h.name(), serde_json::from_str(&text(&out.stdout)).unwrap())
        })
        .collect();
    for (name, answer) in &answers[1..] {
        assert!(
            same_json(answer, &answers[0].1),
            "{name} vs {}: {answer}",
            answers[0].0
        );
    }
}

/// JSON equality with numbers compared by value (`30` and `30.0` are the same).
fn same_json(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same_json(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| same_json(v, w)))
        }
        _ => a == b,
    }
}

/// A secured variable's value, masked by every host.
const SECURED: &str = "hunter2-secured-value";

#[test]
fn hello_succeeds_everywhere() {
    let runs = conform(
        task(
            "hello",
            json!({"command": ["sh", "-c", "echo hello; echo \"token=$TOKEN\""], "xcom_all": true,
                   "environment_variables": {"TOKEN": SECURED}, "secured_variables": ["TOKEN"]}),
        ),
        Ending::Natural,
    );
    assert_eq!(runs[0].status, Some(0));
    assert_eq!(
        runs[0].result["xcom"]["logs"],
        json!(["hello\n", "token=***\n"])
    );
    for run in &runs {
        assert!(
            run.stderr.contains("token=***"),
            "{}: {}",
            run.host,
            run.stderr
        );
        assert!(
            !run.stderr.contains(SECURED),
            "{} shows the secret",
            run.host
        );
    }
}

#[test]
fn a_failure_exits_3_with_its_xcom_everywhere() {
    let runs = conform(
        task(
            "fail",
            json!({"command": ["sh", "-c", "echo out; exit 3"], "xcom_all": true}),
        ),
        Ending::Natural,
    );
    assert_eq!(runs[0].status, Some(3));
    assert_eq!(runs[0].result["exit_code"], 3);
    assert_eq!(runs[0].result["xcom"]["logs"], json!(["out\n"]));
}

#[test]
fn a_ten_second_job_costs_the_same_everywhere() {
    let runs = conform(
        task(
            "ten",
            json!({"command": ["sh", "-c", "echo start; sleep 10; echo done"], "xcom_all": true}),
        ),
        Ending::Natural,
    );
    assert_eq!(runs[0].status, Some(0));
    assert_eq!(runs[0].result["xcom"]["logs"], json!(["start\n", "done\n"]));
}

/// A long job for the cancellation tests.
fn long_job(task_id: &str) -> Value {
    task(task_id, json!({"command": ["sleep", "300"]}))
}

#[test]
fn sigterm_cancels_and_the_plugin_deletes_its_group_everywhere() {
    let runs = conform(long_job("cancelled"), Ending::Signalled(&[]));
    assert_eq!(runs[0].status, Some(130));
    assert!(runs
        .iter()
        .all(|r| r.counts.contains_key("ContainerGroups_Delete 202")));
}

#[test]
fn an_interrupted_plugin_is_cleaned_up_by_on_kill_everywhere() {
    let grace: &[&str] = &["--cancel-grace", "0"];
    let runs = per_host(&[Feature::Cancellation], |host, emu| {
        run_task(host, emu, &long_job("killed"), Ending::Signalled(grace))
    });
    for run in &runs {
        assert_eq!(run.status, Some(130), "{}: {}", run.host, run.stderr);
        assert_eq!(
            run.result["error"], "cancelled: interrupted after the grace period; on-kill ran",
            "{}",
            run.host
        );
        assert!(
            run.leftovers.is_empty(),
            "{}: {:?}",
            run.host,
            run.leftovers
        );
        // Whether the plugin's own DELETE got out before the interruption is a race; on-kill
        // deletes in a fresh instance in any case.
        assert!(run
            .counts
            .keys()
            .any(|k| k.starts_with("ContainerGroups_Delete")));
    }
}

/// The hook round trip through one host: the answers, normalised to what is stable.
fn hook_round_trip(host: &dyn Host, emu: &Emu) -> Run {
    let scratch = tempfile::tempdir().unwrap();
    let group = scratch.path().join("group.json");
    std::fs::write(
        &group,
        json!({
        "location": "westeurope",
        "properties": {"osType": "Linux", "restartPolicy": "Never", "containers": [{
            "name": "hook-rt",
            "properties": {"image": "busybox", "command": ["sh", "-c", "echo hook"],
                           "resources": {"requests": {"cpu": 1, "memoryInGB": 1.5}}}}]}})
        .to_string(),
    )
    .unwrap();
    let target = ["--resource-group", "conformance", "--name", "hook-rt"];
    let group_arg = ["--container-group", group.to_str().unwrap(), "--wait"];
    let steps: [(&str, Vec<&str>); 6] = [
        ("create-or-update", [&target[..], &group_arg[..]].concat()),
        ("exists", target.to_vec()),
        ("get-state", target.to_vec()),
        ("delete", [&target[..], &["--wait"]].concat()),
        ("exists", target.to_vec()),
        ("test-connection", vec![]),
    ];
    let mut answers = Vec::new();
    let mut stderr = String::new();
    for (method, flags) in &steps {
        let args = [&["hook", method][..], &flags[..]].concat();
        let mut cmd = host.command(&args, scratch.path());
        cmd.env("AIRFLOW_CONN_AZURE_DEFAULT", emulator_conn(emu.get()));
        let out = run_bounded(cmd, COMMAND_LIMIT);
        stderr.push_str(&text(&out.stderr));
        assert!(
            out.status.success(),
            "{} hook {method}: {stderr}",
            host.name()
        );
        let answer: Value = serde_json::from_str(text(&out.stdout).trim()).unwrap();
        answers.push(match *method {
            "create-or-update" | "get-state" => json!({
                "name": answer["name"],
                "provisioningState": answer["properties"]["provisioningState"],
                "image": answer["properties"]["containers"][0]["properties"]["image"],
            }),
            _ => answer,
        });
    }
    let leftovers = emu.settle();
    Run {
        host: host.name(),
        status: Some(0),
        result: Value::Array(answers),
        counts: counts(&emu.stats()),
        leftovers,
        stderr,
    }
}

#[test]
fn a_hook_round_trip_answers_the_same_everywhere() {
    let runs = per_host(&[], hook_round_trip);
    assert_conform(&runs);
    let answers = &runs[0].result;
    assert_eq!(answers[0]["provisioningState"], "Succeeded", "{answers}");
    assert_eq!(
        (&answers[1], &answers[3], &answers[4]),
        (&json!(true), &json!(true), &json!(false))
    );
    assert_eq!(answers[5][0], true, "{answers}");
}

/// A loopback server that counts the connections it accepts and answers 200.
struct Listener {
    port: u16,
    accepted: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    _runtime: tokio::runtime::Runtime,
}

impl Listener {
    fn start() -> Listener {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let l = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let port = l.local_addr().unwrap().port();
        let accepted = std::sync::Arc::new(AtomicUsize::new(0));
        let count = accepted.clone();
        runtime.spawn(async move {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            while let Ok((mut s, _)) = l.accept().await {
                count.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    let mut buf = [0u8; 4096];
                    let _ = s.read(&mut buf).await;
                    let ok = b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n";
                    let _ = s.write_all(ok).await;
                });
            }
        });
        Listener {
            port,
            accepted,
            _runtime: runtime,
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/token", self.port)
    }
}

/// The hostile test guest's attacks through one host: each `(attack params, exit status,
/// result)`, and how many connections reached the listener.
fn attacks(host: &dyn Host) -> (Vec<(Value, Option<i32>, Value)>, usize) {
    let listener = Listener::start();
    let pg = json!({"conn_type": "postgres", "host": "127.0.0.1", "port": listener.port,
                    "login": "app", "password": "pg-password-1"});
    let azure = json!({"conn_type": "azure_container_instance", "login": "client",
                       "password": "azure-secret-1"});
    let url = listener.url();
    let look_alike = "http://127.attacker.example/t";
    let cases = [
        json!({"attack": "read-undeclared", "declare": ["pg"], "conn": "azure_default"}),
        json!({"attack": "egress-after-connection", "declare": ["pg"], "conn": "pg", "url": url}),
        json!({"attack": "read-file", "path": "/etc/hostname"}),
        json!({"attack": "bearer", "grant": [look_alike], "url": look_alike}),
        json!({"attack": "secret-body", "grant": ["http://localhost.evil"], "url": "http://localhost.evil/t"}),
        json!({"attack": "bearer", "grant": [url], "url": url}),
        json!({"attack": "secret-body", "grant": [url], "url": url}),
    ];
    let scratch = tempfile::tempdir().unwrap();
    let file = scratch.path().join("task.json");
    let outcomes = cases
        .into_iter()
        .map(|params| {
            std::fs::write(
                &file,
                json!({"task_id": "hostile", "params": params}).to_string(),
            )
            .unwrap();
            let args = ["run", file.to_str().unwrap(), "--json"];
            let mut cmd = host.command_with(Path::new(HOSTILE_COMPONENT), &args, scratch.path());
            cmd.env("AIRFLOW_CONN_PG", pg.to_string())
                .env("AIRFLOW_CONN_AZURE_DEFAULT", azure.to_string());
            let out = run_bounded(cmd, COMMAND_LIMIT);
            // Each host has its own listener: its port is not part of the comparison.
            let stdout = text(&out.stdout).replace(&listener.port.to_string(), "PORT");
            let result = serde_json::from_str(stdout.lines().last().unwrap_or(""))
                .unwrap_or_else(|e| panic!("{}: {e}: {}", host.name(), text(&out.stderr)));
            (params, out.status.code(), result)
        })
        .collect();
    let reached = listener.accepted.load(std::sync::atomic::Ordering::SeqCst);
    (outcomes, reached)
}

/// The outbound policy and the runtime's grant, tried by the hostile test guest: an
/// undeclared connection, egress after resolving a connection, an undeclared file,
/// credentials over plain http to look-alike loopback names (granted by the plan itself):
/// all denied, and the same requests to the granted loopback listener allowed, in every host.
#[test]
fn every_host_denies_the_same_escapes() {
    let needs = [Feature::OtherComponents, Feature::OutboundPolicy];
    let runs = per_host(&needs, |host, _| attacks(host));
    for (host, (outcomes, reached)) in hosts_supporting(&needs).iter().zip(&runs) {
        for (params, status, result) in outcomes {
            let allowed = params["url"]
                .as_str()
                .is_some_and(|u| u.contains("127.0.0.1"))
                && params["attack"] != "egress-after-connection";
            let expected = if allowed { Some(0) } else { Some(125) };
            assert_eq!(*status, expected, "{}: {params}: {result}", host.name());
        }
        assert_eq!(
            *reached,
            2,
            "{}: only the two granted requests reach it",
            host.name()
        );
        let (reference, _) = &runs[0];
        for ((params, _, a), (_, _, b)) in reference.iter().zip(outcomes) {
            assert_eq!(a, b, "{}: {params}", host.name());
        }
    }
}

/// The Node host's own unit tests (`hosts/node/test/`: its policy, masking and connection
/// rules against the tables of aci-host's unit tests), when the Node host is compared.
#[test]
fn the_node_hosts_rules_pass_their_unit_tests() {
    if !hosts().iter().any(|h| h.name() == "node") {
        return;
    }
    let mut node = std::process::Command::new("node");
    node.args(["--test", "test/"])
        .current_dir(aci_e2e::hosts::NodeHost::dir());
    let out = run_bounded(node, COMMAND_LIMIT);
    assert!(
        out.status.success(),
        "node --test:\n{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
}

/// A response slower than ten seconds still arrives: the guest SDK asks for a 10 s connect
/// timeout, which preview2-shim gives Node as a socket idle timeout. One hook call against
/// an emulator that answers every ARM request after 11 s.
#[test]
fn a_response_slower_than_ten_seconds_arrives_everywhere() {
    let slow = Faults {
        latency: Some(Duration::from_secs(11)),
        ..Faults::default()
    };
    let answers = per_host_with(slow, &[], |host, emu| {
        let scratch = tempfile::tempdir().unwrap();
        let args = [
            "hook",
            "exists",
            "--resource-group",
            "conformance",
            "--name",
            "slow",
        ];
        let mut cmd = host.command(&args, scratch.path());
        cmd.env("AIRFLOW_CONN_AZURE_DEFAULT", emulator_conn(emu.get()));
        let out = run_bounded(cmd, COMMAND_LIMIT);
        assert!(
            out.status.success(),
            "{}: {}",
            host.name(),
            text(&out.stderr)
        );
        text(&out.stdout).trim().to_string()
    });
    assert!(answers.iter().all(|a| a == "false"), "{answers:?}");
}

#[test]
fn a_missing_connection_fails_the_same_everywhere() {
    let runs = conform(
        task("missing", json!({"ci_conn_id": "nowhere"})),
        Ending::Natural,
    );
    assert_eq!(runs[0].status, Some(125));
    assert!(runs[0].counts.is_empty(), "{:?}", runs[0].counts);
    let error = runs[0].result["error"].as_str().unwrap();
    assert!(error.contains("AIRFLOW_CONN_NOWHERE"), "{error}");
}

/// The guest's own stdout and stderr (the `http-probe` test guest prints a secured value
/// with `eprintln!` and `println!`) reach every host's stderr as masked log lines, never
/// its stdout.
#[test]
fn guest_output_is_masked_everywhere() {
    let params = json!({"eprint": format!("db password={SECURED}"),
                        "environment_variables": {"P": SECURED}, "secured_variables": ["P"]});
    let needs = [Feature::OtherComponents, Feature::GuestOutputMasking];
    let runs = per_host(&needs, |host, _| {
        let scratch = tempfile::tempdir().unwrap();
        let file = scratch.path().join("task.json");
        std::fs::write(
            &file,
            json!({"task_id": "print", "params": params}).to_string(),
        )
        .unwrap();
        let args = ["run", file.to_str().unwrap(), "--json"];
        let cmd = host.command_with(Path::new(HTTP_PROBE_COMPONENT), &args, scratch.path());
        let out = run_bounded(cmd, COMMAND_LIMIT);
        (
            host.name(),
            out.status.code(),
            text(&out.stdout),
            text(&out.stderr),
        )
    });
    for (host, status, stdout, stderr) in &runs {
        // The probe then wants a URL: a failure of its own, after printing.
        assert_eq!(*status, Some(125), "{host}: {stderr}");
        for line in ["[stderr] db password=***", "[stdout] db password=***"] {
            assert!(stderr.contains(line), "{host}: no `{line}` in\n{stderr}");
        }
        assert!(!stdout.contains("password"), "{host}: {stdout}");
        assert!(
            !stderr.contains(SECURED) && !stdout.contains(SECURED),
            "{host}"
        );
        assert_eq!(stdout, &runs[0].2, "{host}: the result");
    }
}
