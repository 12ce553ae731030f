//! Templates, connections, XCom and masking through the `aci-host` binary:
//! the seed's example task (`examples/custom_env.toml`) with a local
//! `postgres_default` connection and a prior XCom, secrets masked in every
//! log line and in the JSON result, an XCom round trip across two runs with
//! `aci-host xcom list|get`, and template errors.

use aci_e2e::cli::{aci_host, root, text};
use std::path::Path;
use std::process::Output;

use aci_host::xcom_store::XcomStore;

fn json_line(out: &Output) -> serde_json::Value {
    let stdout = text(&out.stdout);
    assert_eq!(
        stdout.lines().count(),
        1,
        "one JSON line: {stdout:?}\n{}",
        text(&out.stderr)
    );
    serde_json::from_str(stdout.trim()).expect("JSON")
}

/// The seed example's DAG and the run its logical date implies.
const DAG: &str = "aci_example";
const LOGICAL_DATE: &str = "2026-01-02";
const RUN_ID: &str = "manual__2026-01-02T00:00:00+00:00";
const TASK: &str = "start_container_with_custom_env";
const GUID: &str = "5f0c6d8e-guid-from-task1";
const PASSWORD: &str = "s3cret-pa55";
const POSTGRES_URI: &str = "postgres://app_user:s3cret-pa55@db.internal:5432/app";

/// A state directory holding task1's `guid` XCom for the example's run.
fn seeded_state() -> tempfile::TempDir {
    let state = tempfile::tempdir().unwrap();
    let store = XcomStore::open(state.path()).unwrap();
    store
        .push(DAG, RUN_ID, "task1", "guid", &serde_json::json!(GUID))
        .unwrap();
    state
}

#[test]
fn the_seed_example_runs_locally_with_a_connection_and_a_prior_xcom() {
    let state = seeded_state();
    let sd = state.path().to_str().unwrap();
    let args = [
        "run",
        "examples/custom_env.toml",
        "--local",
        "--json",
        "--state-dir",
        sd,
        "--logical-date",
        LOGICAL_DATE,
    ];
    let out = aci_host(&args, state.path())
        .env("AIRFLOW_CONN_POSTGRES_DEFAULT", POSTGRES_URI)
        .output()
        .unwrap();
    let stderr = text(&out.stderr);
    // The command exits 0 only when POSTGRES_PASSWORD reached the container.
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    // Rendered name ({{ ds }}) and JOB_GUID (ti.xcom_pull) as the container saw them.
    assert!(
        stderr.contains("Container group started resource-group/aci-test-2026-01-02"),
        "{stderr}"
    );
    assert!(stderr.contains(&format!("job {GUID}")), "{stderr}");
    let v = json_line(&out);
    assert_eq!(v["task_id"], TASK);
    assert_eq!(v["state"], "success");
    assert_eq!(v["exit_code"], 0);
    assert!(!stderr.contains(PASSWORD) && !text(&out.stdout).contains(PASSWORD));
    // Its return value is stored for later tasks of the same run.
    let stored = XcomStore::open(state.path())
        .unwrap()
        .pull(DAG, RUN_ID, TASK, "return_value")
        .unwrap();
    assert_eq!(stored, Some(serde_json::json!(0)));

    // Without the connection (only the template uses it, so --local does not
    // supply it) the run fails before anything is created, naming it.
    let out = aci_host(&args, state.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(125), "{}", text(&out.stderr));
    let v = json_line(&out);
    let error = v["error"].as_str().unwrap();
    assert!(
        error.contains("postgres_default") && error.contains("environment_variables"),
        "{error}"
    );
}

#[test]
fn secrets_are_masked_in_logs_in_the_json_result_and_in_stored_xcoms() {
    let state = seeded_state();
    let sd = state.path().to_str().unwrap();
    // The seed example with a command that prints what it got, a secured
    // variable from an Airflow variable, and xcom_all for the logs XCom.
    let example = std::fs::read_to_string(root().join("examples/custom_env.toml")).unwrap();
    let command_line = example
        .lines()
        .find(|l| l.starts_with("command = "))
        .expect("the example has a command");
    let echo = r#"command = ["sh", "-c", "echo \"job $JOB_GUID\"; echo \"pw=$POSTGRES_PASSWORD code=$DEPLOY_CODE\"; echo \"len=$(printf %s \"$POSTGRES_PASSWORD\" | wc -c) tail=${POSTGRES_PASSWORD#s3cret}\"; echo \"$POSTGRES_PASSWORD\" >&2"]
xcom_all = true"#;
    let variant = example.replace(command_line, echo).replace(
        r#"secured_variables = ["POSTGRES_PASSWORD"]"#,
        r#"secured_variables = ["POSTGRES_PASSWORD", "DEPLOY_CODE"]"#,
    ) + "DEPLOY_CODE = \"{{ var.value.deploy_code }}\"\n";
    assert!(
        variant.contains("DEPLOY_CODE\"]") && variant.contains("xcom_all"),
        "the example changed shape:\n{variant}"
    );
    let task = state.path().join("custom_env_echo.toml");
    std::fs::write(&task, variant).unwrap();
    let out = aci_host(
        &[
            "run",
            task.to_str().unwrap(),
            "--local",
            "--json",
            "--state-dir",
            sd,
            "--logical-date",
            LOGICAL_DATE,
        ],
        state.path(),
    )
    .env("AIRFLOW_CONN_POSTGRES_DEFAULT", POSTGRES_URI)
    .env("AIRFLOW_VAR_DEPLOY_CODE", "d3ploy-code-77")
    .output()
    .unwrap();
    let (stderr, stdout) = (text(&out.stderr), text(&out.stdout));
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    // The container got the real values (proved without printing them)...
    assert!(stderr.contains("len=11 tail=-pa55"), "{stderr}");
    assert!(stderr.contains(&format!("job {GUID}")), "{stderr}");
    // ...and every place they would show is masked.
    assert!(stderr.contains("pw=*** code=***"), "{stderr}");
    for secret in [PASSWORD, "d3ploy-code-77"] {
        assert!(
            !stderr.contains(secret),
            "{secret} leaked on stderr: {stderr}"
        );
        assert!(
            !stdout.contains(secret),
            "{secret} leaked in the JSON result: {stdout}"
        );
    }
    let v = json_line(&out);
    let logs: Vec<&str> = v["xcom"]["logs"]
        .as_array()
        .expect("xcom_all pushes logs")
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect();
    assert!(logs.contains(&"pw=*** code=***\n"), "{logs:?}");
    assert!(
        logs.contains(&"***\n"),
        "the line that is only the password: {logs:?}"
    );
    // The stored XCom is the masked one.
    let out = aci_host(
        &[
            "xcom",
            "get",
            "--state-dir",
            sd,
            "--dag-id",
            DAG,
            "--run-id",
            RUN_ID,
            "--task-id",
            TASK,
            "--key",
            "logs",
        ],
        state.path(),
    )
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("pw=*** code=***") && !text(&out.stdout).contains(PASSWORD),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn xcoms_round_trip_across_two_runs_and_the_xcom_command_shows_them() {
    let state = tempfile::tempdir().unwrap();
    let sd = state.path().to_str().unwrap();
    let producer = state.path().join("producer.toml");
    std::fs::write(
        &producer,
        r#"
task_id = "producer"
dag_id = "flow"
[params]
ci_conn_id = "azure_default"
resource_group = "rg"
name = "producer-{{ ds_nodash }}"
image = "busybox"
region = "westeurope"
command = ["sh", "-c", "echo payload-42; echo second line"]
xcom_all = true
"#,
    )
    .unwrap();
    let consumer = state.path().join("consumer.toml");
    std::fs::write(&consumer, r#"
task_id = "consumer"
dag_id = "flow"
[params]
ci_conn_id = "azure_default"
resource_group = "rg"
name = "consumer-{{ ds_nodash }}"
image = "busybox"
region = "westeurope"
command = ["sh", "-c", "echo got {{ ti.xcom_pull(task_ids='producer', key='logs')[0] | trim }} lines={{ ti.xcom_pull(task_ids='producer', key='logs') | length }} rv={{ ti.xcom_pull(task_ids='producer') }} other={{ ti.xcom_pull(task_ids='nobody') }}"]
"#).unwrap();
    let run = |file: &Path| {
        aci_host(
            &[
                "run",
                file.to_str().unwrap(),
                "--local",
                "--state-dir",
                sd,
                "--logical-date",
                "2026-03-04",
            ],
            state.path(),
        )
        .output()
        .unwrap()
    };
    let out = run(&producer);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = run(&consumer);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("got payload-42 lines=2 rv=0 other=None"),
        "{stderr}"
    );

    xcom_list_shows_them(state.path());
    xcom_get_shows_one(state.path());
}

/// `aci-host xcom list` over the state of `xcoms_round_trip…`.
fn xcom_list_shows_them(state: &Path) {
    let sd = state.to_str().unwrap();
    // `xcom list`: one JSON object per XCom, sorted by dag, run, task, key.
    let out = aci_host(
        &["xcom", "list", "--state-dir", sd, "--dag-id", "flow"],
        state,
    )
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let entries: Vec<serde_json::Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let keys: Vec<(&str, &str)> = entries
        .iter()
        .map(|e| (e["task_id"].as_str().unwrap(), e["key"].as_str().unwrap()))
        .collect();
    assert_eq!(
        keys,
        [
            ("consumer", "return_value"),
            ("producer", "logs"),
            ("producer", "return_value")
        ]
    );
    for e in &entries {
        assert_eq!(e["dag_id"], "flow");
        assert_eq!(e["run_id"], "manual__2026-03-04T00:00:00+00:00");
    }
    // Filters.
    let out = aci_host(
        &[
            "xcom",
            "list",
            "--state-dir",
            sd,
            "--task-id",
            "producer",
            "--key",
            "logs",
        ],
        state,
    )
    .output()
    .unwrap();
    assert_eq!(
        text(&out.stdout).lines().count(),
        1,
        "{}",
        text(&out.stdout)
    );
}

/// `aci-host xcom get` over the state of `xcoms_round_trip…`.
fn xcom_get_shows_one(state: &Path) {
    let sd = state.to_str().unwrap();
    // `xcom get`: the value alone (return_value by default).
    let get = |extra: &[&str]| {
        let mut args = vec![
            "xcom",
            "get",
            "--state-dir",
            sd,
            "--dag-id",
            "flow",
            "--run-id",
            "manual__2026-03-04T00:00:00+00:00",
        ];
        args.extend_from_slice(extra);
        aci_host(&args, state).output().unwrap()
    };
    let out = get(&["--task-id", "producer"]);
    assert_eq!(text(&out.stdout).trim(), "0");
    let out = get(&["--task-id", "producer", "--key", "logs"]);
    assert_eq!(
        text(&out.stdout).trim(),
        r#"["payload-42\n","second line\n"]"#
    );
    let out = get(&["--task-id", "nobody"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("no XCom `return_value` for task `nobody`"),
        "{}",
        text(&out.stderr)
    );
    let out = aci_host(&["xcom", "get", "--state-dir", sd], state)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(125));
    assert!(
        text(&out.stderr).contains("--run-id and --task-id"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn an_undefined_template_variable_names_the_field_and_the_variable() {
    let state = tempfile::tempdir().unwrap();
    let task = state.path().join("undefined.toml");
    std::fs::write(
        &task,
        r#"
task_id = "undefined"
[params]
ci_conn_id = "azure_default"
resource_group = "rg"
name = "x"
image = "busybox"
region = "westeurope"
command = ["echo", "{{ params.missing_one }}"]
"#,
    )
    .unwrap();
    let out = aci_host(
        &[
            "run",
            task.to_str().unwrap(),
            "--local",
            "--json",
            "--state-dir",
            state.path().to_str().unwrap(),
        ],
        state.path(),
    )
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(125), "{}", text(&out.stderr));
    let v = json_line(&out);
    assert_eq!(v["task_id"], "undefined");
    assert_eq!(v["state"], "failed");
    let error = v["error"].as_str().unwrap();
    assert!(
        error.contains("command[1]") && error.contains("missing_one"),
        "{error}"
    );
    // `validate` reports the same without running anything.
    let out = aci_host(
        &[
            "validate",
            task.to_str().unwrap(),
            "--state-dir",
            state.path().to_str().unwrap(),
        ],
        state.path(),
    )
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(125));
    assert!(
        text(&out.stderr).contains("missing_one"),
        "{}",
        text(&out.stderr)
    );
}
