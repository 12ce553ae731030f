//! The guest SDK's example operator (`sdk/examples/echo_operator.rs`), built
//! as a component, in the real host: the SDK's export, runtime wrappers and
//! error conversion work end to end.

use std::sync::Arc;
use std::time::Duration;

use aci_e2e::ScannedRunner;
use aci_e2e::{
    CaptureSink, Runner, RunnerOptions, StaticConnections, TaskEnv, TaskError, TaskSpec,
    ECHO_OPERATOR_COMPONENT,
};
use aci_host::runner::{ErrorKind, TaskState};
use serde_json::json;

fn echo_runner() -> ScannedRunner {
    Runner::new(RunnerOptions {
        engine: aci_e2e::engine_options(),
        plugin: Some(ECHO_OPERATOR_COMPONENT.into()),
        ..RunnerOptions::default()
    })
    .expect("load the SDK example")
    .into()
}

fn env() -> (TaskEnv, Arc<CaptureSink>) {
    let sink = Arc::new(CaptureSink::default());
    let mut env = TaskEnv::new(Arc::new(StaticConnections::default()));
    env.host_env = aci_e2e::HostEnv::Fixed(Default::default());
    env.log = sink.clone();
    (env, sink)
}

fn params(v: serde_json::Value) -> serde_json::Map<String, serde_json::Value> {
    v.as_object().unwrap().clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn example_describes_and_validates_itself() {
    let runner = echo_runner();
    let info = runner.describe().await.unwrap();
    assert_eq!(info.name, "EchoOperator");
    assert_eq!(info.template_fields, vec!["message".to_string()]);
    let schema: serde_json::Value = serde_json::from_str(&info.params_schema).unwrap();
    assert_eq!(schema["required"], json!(["message"]));

    let ok = runner.validate(&params(json!({"message": "hi"}))).await;
    assert!(matches!(ok, Ok(Ok(()))), "{ok:?}");
    let bad = runner.validate(&params(json!({"message": 1}))).await;
    assert!(
        matches!(&bad, Ok(Err(TaskError::InvalidParams(m))) if m.contains("`message`")),
        "{bad:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn example_runs_logs_and_pushes_xcom() {
    let (env, logs) = env();
    let spec = TaskSpec::new("echo", params(json!({"message": "héllo"})));
    let report = echo_runner().run(spec, env).await;
    assert_eq!(report.state, TaskState::Success, "{:?}", report.error);
    assert_eq!(report.exit_status, 0);
    assert_eq!(report.return_value, json!({"echo": "héllo"}));
    assert_eq!(report.xcom.get("length"), Some(&json!(5)));
    assert!(
        logs.messages().iter().any(|m| m == "echo says: héllo"),
        "{:?}",
        logs.messages()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn example_stops_when_cancelled() {
    let (env, _) = env();
    let cancel = env.cancel.clone();
    let spec = TaskSpec::new("echo", params(json!({"message": "x", "delay_ms": 600_000})));
    let run = tokio::spawn(async move { echo_runner().run(spec, env).await });
    cancel.cancel();
    let report = tokio::time::timeout(Duration::from_secs(60), run)
        .await
        .expect("the task stopped")
        .unwrap();
    assert_eq!(
        report.error_kind,
        Some(ErrorKind::Cancelled),
        "{:?}",
        report.error
    );
    assert_eq!(report.exit_status, 130);
}
