//! The `aci-host` binary end to end: describe, validate, run (with `--local`
//! and against an emulator named by an `AIRFLOW_CONN_*` connection), exit
//! statuses 0 / N / 124 / 125 / 130, and SIGINT cleanup.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use aci_e2e::{aci_host_bin, wait_until, Emulator, EmulatorConfig};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn aci_host(args: &[&str], state: &Path) -> Command {
    let mut cmd = Command::new(aci_host_bin());
    cmd.args(args)
        .current_dir(root())
        .env("XDG_CACHE_HOME", std::env::temp_dir().join("aci-e2e-cli-cache"))
        .env("XDG_DATA_HOME", state)
        .env_remove("RUST_LOG");
    cmd
}

fn run(args: &[&str], state: &Path) -> Output {
    aci_host(args, state).output().expect("run aci-host")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn write_task(dir: &Path, name: &str, body: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, body).unwrap();
    p
}

#[test]
fn describe_prints_the_schema() {
    let state = tempfile::tempdir().unwrap();
    let out = run(&["describe"], state.path());
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("describe prints JSON");
    assert_eq!(v["name"], "AzureContainerInstancesOperator");
    assert_eq!(v["template_fields"], serde_json::json!(["name", "image", "command", "environment_variables", "volumes"]));
    let props = v["params_schema"]["properties"].as_object().expect("a JSON Schema with properties");
    for p in ["ci_conn_id", "resource_group", "name", "image", "region", "container_timeout", "xcom_all", "identity", "priority"] {
        assert!(props.contains_key(p), "schema lacks {p}");
    }
}

#[test]
fn validate_accepts_the_examples_and_rejects_invalid_tasks() {
    let state = tempfile::tempdir().unwrap();
    let out = run(&["validate", "examples/hello.toml", "examples/fail.toml"], state.path());
    assert!(out.status.success(), "{}", text(&out.stderr));
    let cases = [
        ("examples/invalid/bad_name.toml", "ACI name must match regex [a-z0-9]([-a-z0-9]*[a-z0-9])? (like \"my-name\")"),
        ("examples/invalid/bad_os_type.toml", "Invalid value for the os_type argument. Please set 'Linux' or 'Windows' as the os_type. Found `MacOs`."),
        (
            "examples/invalid/bad_restart_policy.toml",
            "Invalid value for the restart_policy argument. Please set one of 'Always', 'OnFailure','Never' as the restart_policy. Found `Everyday`",
        ),
    ];
    for (file, message) in cases {
        let out = run(&["validate", file], state.path());
        assert_eq!(out.status.code(), Some(125), "{file}: {}", text(&out.stderr));
        assert!(text(&out.stderr).contains(message), "{file}: expected `{message}` in {}", text(&out.stderr));
    }
}

#[test]
fn run_local_hello_succeeds_with_json_result() {
    let state = tempfile::tempdir().unwrap();
    let out = run(&["run", "examples/hello.toml", "--local", "--json"], state.path());
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("Hello from hello on "), "container output is streamed: {stderr}");
    let v: serde_json::Value = serde_json::from_str(text(&out.stdout).trim()).expect("one JSON object");
    assert_eq!(v["task_id"], "hello");
    assert_eq!(v["state"], "success");
    assert_eq!(v["exit_code"], 0);
    assert_eq!(v["return_value"], 0);
    assert!(v["error"].is_null());
    assert!(v["xcom"]["logs"].as_array().is_some_and(|l| l.len() == 4), "xcom_all=true pushes all lines: {v}");
}

#[test]
fn run_local_failure_exits_with_the_container_code() {
    let state = tempfile::tempdir().unwrap();
    let out = run(&["run", "examples/fail.toml", "--local", "--json"], state.path());
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_str(text(&out.stdout).trim()).unwrap();
    assert_eq!(v["state"], "failed");
    assert_eq!(v["exit_code"], 3);
    assert!(v["error"].as_str().unwrap().contains("non-zero exit code"), "{v}");
}

#[test]
fn run_local_timeout_exits_124() {
    let state = tempfile::tempdir().unwrap();
    let task = write_task(state.path(), "slow.toml", r#"
task_id = "slow"
[params]
ci_conn_id = "azure_default"
resource_group = "rg"
name = "slow-task"
image = "busybox"
region = "westeurope"
command = ["sleep", "60"]
container_timeout = 2
"#);
    let out = run(&["run", task.to_str().unwrap(), "--local"], state.path());
    assert_eq!(out.status.code(), Some(124), "{}", text(&out.stderr));
}

#[test]
fn invalid_task_or_missing_connection_exits_125() {
    let state = tempfile::tempdir().unwrap();
    let out = run(&["run", "examples/invalid/bad_name.toml", "--local"], state.path());
    assert_eq!(out.status.code(), Some(125));
    // Without --local the connection must exist; the error says where we looked.
    let out = aci_host(&["run", "examples/hello.toml"], state.path()).env_remove("AIRFLOW_CONN_AZURE_DEFAULT").output().unwrap();
    assert_eq!(out.status.code(), Some(125), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("azure_default"), "{}", text(&out.stderr));
}

fn emulator_conn(base: &str) -> String {
    serde_json::json!({
        "conn_type": "azure_container_instance",
        "login": aci_host::emulator::LOCAL_CLIENT_ID,
        "password": aci_host::emulator::LOCAL_CLIENT_SECRET,
        "extra": {
            "tenantId": aci_host::emulator::LOCAL_TENANT_ID,
            "subscriptionId": aci_host::emulator::LOCAL_SUBSCRIPTION_ID,
            "resource_manager_url": base,
            "authority_host": base,
        }
    })
    .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigint_cancels_and_deletes_the_group() {
    let emulator = Emulator::start(EmulatorConfig { provision_delay: Duration::from_millis(100), ..EmulatorConfig::default() }).await.unwrap();
    let state = tempfile::tempdir().unwrap();
    let task = write_task(state.path(), "long.toml", r#"
task_id = "long"
[params]
ci_conn_id = "azure_default"
resource_group = "rg"
name = "long-running"
image = "busybox"
region = "westeurope"
command = ["sleep", "300"]
"#);
    let mut child = aci_host(&["run", task.to_str().unwrap(), "--json"], state.path())
        .env("AIRFLOW_CONN_AZURE_DEFAULT", emulator_conn(&emulator.base_url()))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let running = wait_until(Duration::from_secs(60), || emulator.stats().live_processes > 0).await;
    assert!(running, "the container never started");
    let status = Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    assert!(status.success());
    let out = tokio::task::spawn_blocking(move || {
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(_) = child.try_wait().unwrap() {
                return child.wait_with_output().unwrap();
            }
            if std::time::Instant::now() > deadline {
                let _ = child.kill();
                panic!("aci-host did not exit after SIGINT");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    })
    .await
    .unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_str(text(&out.stdout).trim()).unwrap();
    assert_eq!(v["state"], "failed");
    let stats = emulator.stats();
    assert!(stats.live_groups.is_empty(), "the group was left behind: {:?}", stats.live_groups);
    assert_eq!(stats.live_processes, 0);
    emulator.shutdown().await;
}
