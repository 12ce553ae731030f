//! What a task is granted, through the binary: `validate --explain [--json]`
//! lists exactly the connections and origins the operator declares for the
//! example tasks, `--grant FILE` pins a reviewed grant, and `run -v` shows the
//! grant before anything is contacted.

use std::path::Path;
use std::process::Output;

use aci_e2e::cli::{aci_host, text};
use aci_e2e::HostCommand;
use serde_json::{json, Value};

const WORKLOAD_VARS: [&str; 4] = [
    "AZURE_AUTHORITY_HOST",
    "AZURE_CLIENT_ID",
    "AZURE_FEDERATED_TOKEN_FILE",
    "AZURE_TENANT_ID",
];

const CLIENT_SECRET: &str = r#"{"conn_type": "azure_container_instance", "login": "client-id",
    "password": "client-secret-value", "extra": {"tenantId": "t", "subscriptionId": "s"}}"#;

/// `aci-host ARGS` with no workload-identity variables and no connection but `conns`.
fn cmd(args: &[&str], state: &Path, conns: &[(&str, &str)]) -> HostCommand {
    let mut c = aci_host(args, state);
    for v in WORKLOAD_VARS {
        c.env_remove(v);
    }
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("AIRFLOW_CONN_")) {
        c.env_remove(k);
    }
    for (id, value) in conns {
        c.env(format!("AIRFLOW_CONN_{}", id.to_uppercase()), value);
    }
    c
}

fn output(c: &mut HostCommand) -> Output {
    c.output().expect("run aci-host")
}

/// The one JSON grant `validate --explain --json` prints.
fn grant_json(out: &Output) -> Value {
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1, "{stdout}");
    serde_json::from_str(lines[0]).expect("JSON")
}

#[test]
fn hello_is_granted_exactly_its_connection_and_the_public_cloud() {
    let state = tempfile::tempdir().unwrap();
    let args = ["validate", "examples/hello.toml", "--explain", "--json"];
    let out = output(&mut cmd(
        &args,
        state.path(),
        &[("azure_default", CLIENT_SECRET)],
    ));
    assert_eq!(
        grant_json(&out),
        json!({
            "connections": ["azure_default"],
            "origins": ["https://login.microsoftonline.com:443", "https://management.azure.com:443"],
            "allow_hosts": [],
            "files": [],
            "environment": WORKLOAD_VARS,
            "budgets": [
                {"key": "arm/s/deletes", "class": "arm-deletes", "capacity": 200, "refill_per_second": 10.0},
                {"key": "arm/s/reads", "class": "arm-reads", "capacity": 250, "refill_per_second": 25.0},
                {"key": "arm/s/writes", "class": "arm-writes", "capacity": 200, "refill_per_second": 10.0},
            ],
        })
    );
    assert!(!text(&out.stdout).contains("client-secret-value"));
    // The text form, for people.
    let out = output(&mut cmd(
        &args[..3],
        state.path(),
        &[("azure_default", CLIENT_SECRET)],
    ));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    for line in [
        "examples/hello.toml: granted",
        "  connections: azure_default",
        "  origin:      https://login.microsoftonline.com:443",
        "  origin:      https://management.azure.com:443",
        "  files:       none",
        "  budget:      arm/s/reads (arm-reads, 250/25 per s)",
    ] {
        assert!(stdout.lines().any(|l| l == line), "{line:?} in {stdout}");
    }
    assert!(text(&out.stderr).contains("examples/hello.toml: valid"));
}

/// A connection without a credential of its own relies on a managed identity:
/// IMDS, over plain http, joins the grant (and the authority leaves it).
#[test]
fn a_managed_identity_connection_adds_imds() {
    let state = tempfile::tempdir().unwrap();
    let mi = r#"{"conn_type": "azure_container_instance", "extra": {"subscriptionId": "s",
        "cloud_environment": "AzureUSGovernment"}}"#;
    let out = output(&mut cmd(
        &["validate", "examples/hello.toml", "--explain", "--json"],
        state.path(),
        &[("azure_default", mi)],
    ));
    assert_eq!(
        grant_json(&out)["origins"],
        json!([
            "http://169.254.169.254:80",
            "https://management.usgovcloudapi.net:443"
        ])
    );
}

/// Airflow's example: the registry (with a password) and the volume (with a
/// connection string) need no origin; `postgres_default`, used only in a
/// template, is rendered by the host and not granted to the plugin.
#[test]
fn custom_env_is_granted_its_three_connections_only() {
    let state = tempfile::tempdir().unwrap();
    let registry = r#"{"host": "myreg.azurecr.io", "login": "myreg", "password": "registry-pw-1"}"#;
    let volume = r#"{"login": "acct", "extra": {"connection_string": "AccountName=acct;AccountKey=vol-key-1"}}"#;
    let out = output(&mut cmd(
        &[
            "validate",
            "examples/custom_env.toml",
            "--explain",
            "--json",
        ],
        state.path(),
        &[
            ("azure_default", CLIENT_SECRET),
            ("azure_registry_default", registry),
            ("azure_container_volume_default", volume),
            (
                "postgres_default",
                "postgres://user:pg-secret-1@db:5432/app",
            ),
        ],
    ));
    let grant = grant_json(&out);
    assert_eq!(
        grant["connections"],
        json!([
            "azure_container_volume_default",
            "azure_default",
            "azure_registry_default"
        ])
    );
    assert_eq!(
        grant["origins"],
        json!([
            "https://login.microsoftonline.com:443",
            "https://management.azure.com:443"
        ])
    );
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    for secret in [
        "pg-secret-1",
        "registry-pw-1",
        "vol-key-1",
        "client-secret-value",
    ] {
        assert!(!all.contains(secret), "{secret} leaked: {all}");
    }
}

/// A reviewed grant pins the task: the explain output itself passes, a
/// narrower one is refused (exit 125, naming what exceeds) by `validate` and by
/// `run`, before anything is contacted.
#[test]
fn a_narrower_pinned_grant_refuses_the_task() {
    let state = tempfile::tempdir().unwrap();
    let conns = [("azure_default", CLIENT_SECRET)];
    let explain = ["validate", "examples/hello.toml", "--explain", "--json"];
    let reviewed = grant_json(&output(&mut cmd(&explain, state.path(), &conns)));
    let file = state.path().join("grant.json");
    std::fs::write(&file, reviewed.to_string()).unwrap();
    let pin = file.to_str().unwrap();
    let out = output(&mut cmd(
        &["validate", "examples/hello.toml", "--grant", pin],
        state.path(),
        &conns,
    ));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));

    let mut narrower = reviewed.clone();
    narrower["origins"] = json!(["https://management.azure.com:443"]);
    std::fs::write(&file, narrower.to_string()).unwrap();
    let out = output(&mut cmd(
        &["validate", "examples/hello.toml", "--grant", pin],
        state.path(),
        &conns,
    ));
    assert_eq!(out.status.code(), Some(125));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("goes beyond the pinned grant")
            && stderr.contains("origin `https://login.microsoftonline.com:443`"),
        "{stderr}"
    );
    // `run` refuses it too, with no request made (the public cloud is unreachable here anyway).
    let out = output(&mut cmd(
        &["run", "examples/hello.toml", "--grant", pin, "--json"],
        state.path(),
        &conns,
    ));
    assert_eq!(out.status.code(), Some(125), "{}", text(&out.stderr));
    let result: Value = serde_json::from_str(text(&out.stdout).trim()).unwrap();
    let error = result["error"].as_str().unwrap();
    assert!(
        error.contains("origin `https://login.microsoftonline.com:443`"),
        "{error}"
    );
    // A file that is not a grant is a clear error.
    std::fs::write(&file, "[]").unwrap();
    let out = output(&mut cmd(
        &["validate", "examples/hello.toml", "--grant", pin],
        state.path(),
        &conns,
    ));
    assert_eq!(out.status.code(), Some(125));
    assert!(
        text(&out.stderr).contains("not a grant"),
        "{}",
        text(&out.stderr)
    );
}

/// `run -v` prints the grant before the task contacts anything; in local mode
/// it names the emulator's loopback origin.
#[test]
fn run_verbose_shows_the_grant() {
    let state = tempfile::tempdir().unwrap();
    let out = output(&mut cmd(
        &["run", "examples/hello.toml", "--local", "-v"],
        state.path(),
        &[],
    ));
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let granted = stderr.find("granted to this task:").expect(&stderr);
    let origin = stderr
        .find("origin:      http://127.0.0.1:")
        .expect(&stderr);
    let first_request = stderr.find("Container group").unwrap_or(stderr.len());
    assert!(granted < origin && origin < first_request, "{stderr}");
    assert!(stderr.contains("connections: azure_default"), "{stderr}");
}
