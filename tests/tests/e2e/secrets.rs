//! Secrets never leave the host in clear, end to end: guest stdout, stderr
//! and panic messages, connection URIs that do not parse, client
//! certificates.

use std::sync::Arc;

use aci_e2e::cli::{aci_host, text};
use aci_e2e::ScannedRunner;
use aci_e2e::{
    CaptureSink, Harness, Runner, RunnerOptions, StaticConnections, TaskEnv, TaskSpec,
    HTTP_PROBE_COMPONENT,
};

fn probe_runner() -> ScannedRunner {
    Runner::new(RunnerOptions {
        engine: aci_e2e::engine_options(),
        plugin: Some(HTTP_PROBE_COMPONENT.into()),
        ..RunnerOptions::default()
    })
    .expect("load the probe")
    .into()
}

fn probe_env() -> (TaskEnv, Arc<CaptureSink>) {
    let sink = Arc::new(CaptureSink::default());
    let mut env = TaskEnv::new(Arc::new(StaticConnections::default()));
    env.log = sink.clone();
    (env, sink)
}

const SECRET: &str = "hunter2-secret-value";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guest_stdout_and_stderr_are_masked_log_lines() {
    let runner = probe_runner();
    runner.secrets().add("the test secret", SECRET);
    let (env, sink) = probe_env();
    env.masker.add(SECRET);
    let params = serde_json::json!({"eprint": format!("db password={SECRET}")});
    let spec = TaskSpec::new("print", params.as_object().unwrap().clone());
    let report = runner.run(spec, env).await;
    assert_eq!(report.exit_status, 125, "the probe then wants a url");
    let lines = sink.messages();
    assert!(
        lines.iter().any(|l| l == "[stderr] db password=***"),
        "{lines:?}"
    );
    assert!(
        lines.iter().any(|l| l == "[stdout] db password=***"),
        "{lines:?}"
    );
    assert!(!lines.iter().any(|l| l.contains(SECRET)), "{lines:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guest_panic_messages_are_masked() {
    let runner = probe_runner();
    runner.secrets().add("the test secret", SECRET);
    let (env, sink) = probe_env();
    env.masker.add(SECRET);
    let params = serde_json::json!({"panic": format!("cannot log in with {SECRET}")});
    let spec = TaskSpec::new("panic", params.as_object().unwrap().clone());
    let report = runner.run(spec, env).await;
    assert_eq!(report.exit_status, 125);
    let lines = sink.messages();
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("[stderr] ") && l.contains("cannot log in with ***")),
        "{lines:?}"
    );
    assert!(!lines.iter().any(|l| l.contains(SECRET)), "{lines:?}");
    assert!(!report.to_json().to_string().contains(SECRET));
}

/// A URI whose password holds an unencoded `/`: the text after it looks
/// like a port to the parser.
const BAD_URI: &str = "azure://client-id:pa55word/xyz@?tenantId=t&subscriptionId=s";

#[test]
fn an_unparsable_conn_option_does_not_show_the_password() {
    let state = tempfile::tempdir().unwrap();
    let conn = format!("azure_default={BAD_URI}");
    let out = aci_host(
        &["run", "examples/hello.toml", "--json", "--conn", &conn],
        state.path(),
    )
    .output()
    .unwrap();
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(125), "{stderr}");
    assert!(stderr.contains("port is not a number"), "{stderr}");
    assert!(
        !stdout.contains("pa55word") && !stderr.contains("pa55word"),
        "{stdout}{stderr}"
    );
}

#[test]
fn an_unparsable_env_connection_does_not_show_the_password() {
    let state = tempfile::tempdir().unwrap();
    let out = aci_host(&["run", "examples/hello.toml", "--json"], state.path())
        .env("AIRFLOW_CONN_AZURE_DEFAULT", BAD_URI)
        .output()
        .unwrap();
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(125), "{stderr}");
    let v: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    let error = v["error"].as_str().unwrap();
    assert!(error.contains("port is not a number"), "{error}");
    assert!(
        !stdout.contains("pa55word") && !stderr.contains("pa55word"),
        "{stdout}{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_certificate_is_masked_in_container_output() {
    let h = Harness::start().await;
    let key_line = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7";
    let pem = format!("-----BEGIN PRIVATE KEY-----\n{key_line}\n-----END PRIVATE KEY-----\n");
    let mut conn = h.connection("azure_default");
    conn.extra
        .insert("client_certificate".into(), pem.clone().into());
    let connections = StaticConnections([("azure_default".to_string(), conn)].into());
    let (env, logs) = h.env_with(Arc::new(connections));
    let name = "cert-echo";
    let params = Harness::params(name, serde_json::json!({"command": ["echo", key_line]}));
    let run = h
        .run_task_with(TaskSpec::new(name, params), env, logs)
        .await;
    assert_eq!(run.report.exit_status, 0, "{:?}", run.report.error);
    let lines = run.logs.messages();
    assert!(lines.iter().any(|l| l == "***"), "{lines:?}");
    assert!(!lines.iter().any(|l| l.contains(key_line)), "{lines:?}");
}
