//! The public template/connection/XCom API used together, the way the runner
//! uses it: load a task file, resolve connections, render its template fields
//! with an XCom left by an earlier run, and mask what must not leak.

use std::path::Path;
use std::sync::Arc;

use aci_host::connections::ConnectionResolver;
use aci_host::mask::Masker;
use aci_host::task::TaskFile;
use aci_host::templates::{render_params, secured_values, variables_from_env, TemplateContext};
use aci_host::xcom_store::XcomStore;
use serde_json::json;

const TASK: &str = r#"
task_id = "load"
dag_id = "etl"
logical_date = 2026-11-23

[params]
ci_conn_id = "azure_default"
resource_group = "rg"
name = "load-{{ ds_nodash }}"
image = "postgres:16"
region = "westeurope"
command = [
    "sh", "-c",
    "psql postgresql://{{ conn.postgres_default.login }}@{{ conn.postgres_default.host }}/{{ params.db }} -f {{ ti.xcom_pull(task_ids='extract', key='return_value') }}",
]
environment_variables = { PGPASSWORD = "{{ macros.connection('postgres_default').password }}", RUN = "{{ run_id }}", API_KEY = "{{ var.value.api_key }}" }
secured_variables = ["PGPASSWORD", "API_KEY"]

[dag_params]
db = "warehouse"
"#;

const CONNECTIONS: &str = r#"{
  "postgres_default": {
    "conn_type": "postgres", "description": null, "login": "loader",
    "password": "pg-p@ss-1234", "host": "db.internal", "port": 5432,
    "schema": "warehouse", "extra": null
  }
}"#;

#[test]
fn seed_like_task_renders_with_connections_file_and_prior_xcom() {
    let dir = tempfile::tempdir().unwrap();
    let task_path = dir.path().join("load.toml");
    std::fs::write(&task_path, TASK).unwrap();
    let conns_path = dir.path().join("conns.json");
    std::fs::write(&conns_path, CONNECTIONS).unwrap();
    let state = dir.path().join("state");

    // An earlier `aci-host run` of the `extract` task left its return value.
    {
        let earlier = XcomStore::open(&state).unwrap();
        earlier
            .push(
                "etl",
                "manual__2026-11-23T00:00:00+00:00",
                "extract",
                "return_value",
                &json!("/data/extract.sql"),
            )
            .unwrap();
    }

    let task = TaskFile::load(&task_path).unwrap();
    let resolver = ConnectionResolver::new()
        .with_env(vec![(
            "AIRFLOW_CONN_POSTGRES_DEFAULT".to_string(),
            "postgres://env:env-pass@env-host".to_string(),
        )])
        .with_file(&conns_path)
        .unwrap();
    let variables = variables_from_env(vec![(
        "AIRFLOW_VAR_API_KEY".to_string(),
        "api-key-5678".to_string(),
    )]);
    let xcom = Arc::new(XcomStore::open(&state).unwrap());
    let ctx = TemplateContext::for_task(
        &task,
        "AzureContainerInstancesOperator",
        chrono::Utc::now(),
        variables,
        Arc::new(resolver),
        xcom,
    );
    assert_eq!(ctx.run_id, "manual__2026-11-23T00:00:00+00:00");

    let masker = Masker::new();
    let mut params = task.params.clone();
    let fields: Vec<String> = [
        "name",
        "image",
        "command",
        "environment_variables",
        "volumes",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    render_params(&mut params, &fields, &ctx, &masker).unwrap();
    masker.add_all(secured_values(&params));

    assert_eq!(params["name"], json!("load-20261123"));
    assert_eq!(
        params["command"][2],
        json!("psql postgresql://loader@db.internal/warehouse -f /data/extract.sql")
    );
    assert_eq!(
        params["environment_variables"],
        json!({"PGPASSWORD": "pg-p@ss-1234", "RUN": "manual__2026-11-23T00:00:00+00:00", "API_KEY": "api-key-5678"})
    );
    // Untemplated fields are untouched.
    assert_eq!(params["region"], json!("westeurope"));

    // What leaves the host is masked: the connection password (registered when
    // the template resolved the connection) and secured variables.
    let result = json!({"rendered": params});
    let masked = masker.mask_json(&result).to_string();
    assert!(!masked.contains("pg-p@ss-1234"), "{masked}");
    assert!(!masked.contains("api-key-5678"), "{masked}");
    assert!(masked.contains("db.internal"), "{masked}");
}

#[test]
fn undefined_variable_error_names_field_and_variable() {
    let dir = tempfile::tempdir().unwrap();
    let task = TaskFile::from_str(
        "task_id = \"t\"\n[params]\ncommand = [\"echo\", \"{{ ds }}\", \"{{ foo }}\"]\n",
        aci_host::task::Format::Toml,
        Path::new("t.toml"),
    )
    .unwrap();
    let ctx = TemplateContext::for_task(
        &task,
        "AzureContainerInstancesOperator",
        chrono::Utc::now(),
        Default::default(),
        Arc::new(ConnectionResolver::new()),
        Arc::new(XcomStore::open(dir.path()).unwrap()),
    );
    let mut params = task.params.clone();
    let err =
        render_params(&mut params, &["command".to_string()], &ctx, &Masker::new()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "template field `command[2]`: undefined variable `foo`"
    );
}
