//! `aci-host hook METHOD …` end to end: every method's flags and the exact
//! JSON it prints on stdout (compact when stdout is not a terminal), usage
//! errors (exit 125 with a message), remote errors, and global flags given
//! after the method.

use std::path::Path;
use std::process::Output;
use std::time::Duration;

use aci_e2e::cli::{aci_host, emulator_conn, text};
use aci_e2e::{Emulator, EmulatorConfig};
use serde_json::{json, Value};

/// Runs `aci-host hook ARGS` with `azure_default` pointing at `emulator`.
fn hook(emulator: &Emulator, args: &[&str], state: &Path) -> Output {
    let mut all = vec!["hook"];
    all.extend_from_slice(args);
    aci_host(&all, state)
        .env("AIRFLOW_CONN_AZURE_DEFAULT", emulator_conn(emulator))
        .output()
        .expect("run aci-host")
}

/// The one line on stdout of a successful call, exactly.
fn ok_line(out: &Output) -> String {
    assert_eq!(
        out.status.code(),
        Some(0),
        "stdout: {}\nstderr: {}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let stdout = text(&out.stdout);
    assert_eq!(stdout.lines().count(), 1, "one line: {stdout:?}");
    stdout.trim_end().to_string()
}

fn ok_json(out: &Output) -> Value {
    serde_json::from_str(&ok_line(out)).expect("JSON on stdout")
}

/// The exit status and the stderr of a failed call (nothing on stdout).
fn failure(out: &Output) -> (Option<i32>, String) {
    assert!(out.stdout.is_empty(), "{}", text(&out.stdout));
    (out.status.code(), text(&out.stderr))
}

const G: [&str; 4] = ["--resource-group", "rg", "--name", "job"];

fn with_group<'a>(method: &'a str, more: &[&'a str]) -> Vec<&'a str> {
    let mut v = vec![method];
    v.extend_from_slice(&G);
    v.extend_from_slice(more);
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_method_prints_its_json() {
    let emulator = Emulator::start(EmulatorConfig {
        provision_delay: Duration::from_millis(50),
        ..EmulatorConfig::default()
    })
    .await
    .unwrap();
    let state = tempfile::tempdir().unwrap();
    let s = state.path();
    let body = s.join("group.json");
    std::fs::write(
        &body,
        json!({"location": "westeurope", "properties": {"osType": "Linux",
            "restartPolicy": "Never", "containers": [{"name": "job", "properties": {
            "image": "busybox", "command": ["sh", "-c", "echo one; echo two; echo three; exit 3"],
            "resources": {"requests": {"cpu": 1.0, "memoryInGB": 1.5}}}}]}})
        .to_string(),
    )
    .unwrap();
    let body = body.to_str().unwrap();
    let e = &emulator;

    assert_eq!(ok_line(&hook(e, &with_group("exists", &[]), s)), "false");
    let created = ok_json(&hook(
        e,
        &with_group("create-or-update", &["--container-group", body, "--wait"]),
        s,
    ));
    assert_eq!(created["name"], "job", "{created}");
    assert_eq!(ok_line(&hook(e, &with_group("exists", &[]), s)), "true");
    let got = ok_json(&hook(e, &with_group("get-state", &[]), s));
    assert_eq!(got["properties"]["containers"][0]["name"], "job", "{got}");

    // The container exits 3 on its own; wait (bounded) until ARM says so.
    let mut details = Value::Null;
    for _ in 0..200 {
        details = ok_json(&hook(e, &with_group("get-state-exitcode-details", &[]), s));
        if details[0] == "Terminated" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(details, json!(["Terminated", 3, "Error"]));
    assert_eq!(
        ok_json(&hook(e, &with_group("get-logs", &["--tail", "2"]), s)),
        json!(["two\n", "three\n"])
    );
    assert_eq!(
        ok_json(&hook(e, &with_group("get-logs", &[]), s))
            .as_array()
            .unwrap()
            .len(),
        3
    );
    let messages = ok_json(&hook(e, &with_group("get-messages", &[]), s));
    assert!(
        messages.as_array().is_some_and(|m| !m.is_empty()),
        "{messages}"
    );
    assert_eq!(
        ok_line(&hook(e, &["test-connection"], s)),
        r#"[true,"Successfully connected to Azure Container Instance."]"#
    );
    let listed = ok_json(&hook(e, &["list", "--resource-group", "rg"], s));
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
    assert_eq!(listed[0]["name"], "job");
    assert_eq!(
        ok_json(&hook(e, &["list", "--conn-id", "azure_default"], s))
            .as_array()
            .unwrap()
            .len(),
        1
    );
    for method in ["stop", "start", "restart"] {
        assert_eq!(ok_line(&hook(e, &with_group(method, &[]), s)), "null");
    }
    assert_eq!(
        ok_line(&hook(e, &with_group("delete", &["--wait"]), s)),
        "true"
    );
    assert_eq!(ok_line(&hook(e, &with_group("delete", &[]), s)), "false");
    // Global flags may follow the method, as before.
    assert_eq!(
        ok_line(&hook(e, &with_group("exists", &["-q", "--no-cache"]), s)),
        "false"
    );
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_and_remote_errors_exit_125() {
    let emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let state = tempfile::tempdir().unwrap();
    let s = state.path();
    let e = &emulator;

    let (code, err) = failure(&hook(e, &["exists", "--name", "g"], s));
    assert_eq!(code, Some(125));
    assert!(err.contains("error: --resource-group is required"), "{err}");
    let (code, err) = failure(&hook(e, &["explode"], s));
    assert_eq!(code, Some(125));
    assert!(
        err.contains("unknown hook method `explode`") && err.contains("get-logs"),
        "{err}"
    );
    let (code, err) = failure(&hook(e, &with_group("create-or-update", &[]), s));
    assert_eq!(code, Some(125));
    assert!(err.contains("--container-group"), "{err}");
    let not_json = s.join("bad.json");
    std::fs::write(&not_json, "{ nope").unwrap();
    let (code, err) = failure(&hook(
        e,
        &with_group(
            "create-or-update",
            &["--container-group", not_json.to_str().unwrap()],
        ),
        s,
    ));
    assert_eq!(code, Some(125));
    assert!(err.contains("bad.json: not JSON"), "{err}");
    // An ARM error: the group does not exist.
    let (code, err) = failure(&hook(e, &with_group("get-state", &[]), s));
    assert_eq!(code, Some(125));
    assert!(err.contains("ResourceNotFound"), "{err}");
    // A connection that is not defined anywhere.
    let (code, err) = failure(&hook(
        e,
        &with_group("exists", &["--conn-id", "nowhere"]),
        s,
    ));
    assert_eq!(code, Some(125));
    assert!(err.contains("nowhere"), "{err}");
    emulator.shutdown().await;
}
