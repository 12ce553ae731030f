use super::*;
use crate::connections::Connection;
use serde_json::json;

struct Fixture {
    _dir: tempfile::TempDir,
    ctx: TemplateContext,
    masker: Masker,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let xcom = Arc::new(XcomStore::open(dir.path()).unwrap());
    xcom.push(
        "etl",
        "manual__2026-11-23T00:00:00+00:00",
        "extract",
        "return_value",
        &json!("s3://bucket/part-0001"),
    )
    .unwrap();
    xcom.push(
        "etl",
        "manual__2026-11-23T00:00:00+00:00",
        "extract",
        "rows",
        &json!({"count": 42}),
    )
    .unwrap();
    xcom.push(
        "other_dag",
        "manual__2026-11-23T00:00:00+00:00",
        "extract",
        "return_value",
        &json!(7),
    )
    .unwrap();
    let connections = ConnectionResolver::new().with_env(vec![
        (
            "AIRFLOW_CONN_POSTGRES_DEFAULT".to_string(),
            "postgres://airflow:pg-S3cret%2Fpw@db.internal:5432/warehouse".to_string(),
        ),
        (
            "AIRFLOW_CONN_AZURE_DEFAULT".to_string(),
            r#"{"conn_type": "azure", "login": "client-id", "password": "az-client-secret",
                    "extra": {"tenantId": "tenant-1", "subscriptionId": "sub-1",
                              "key_json": {"clientSecret": "kj-inner-secret"}}}"#
                .to_string(),
        ),
    ]);
    let variables = variables_from_env(vec![
        ("AIRFLOW_VAR_ENVIRONMENT".to_string(), "prod".to_string()),
        (
            "AIRFLOW_VAR_CONFIG".to_string(),
            r#"{"region": "westeurope", "api_token": "tok-in-json-1"}"#.to_string(),
        ),
        (
            "AIRFLOW_VAR_DB_PASSWORD".to_string(),
            "var-db-pass-1".to_string(),
        ),
        ("AIRFLOW_VAR_BROKEN_JSON".to_string(), "{nope".to_string()),
        ("PATH".to_string(), "/bin".to_string()),
    ]);
    let ctx = TemplateContext {
        dag_id: "etl".into(),
        task_id: "load".into(),
        operator: "EchoOperator".into(),
        run_id: "manual__2026-11-23T00:00:00+00:00".into(),
        try_number: 1,
        logical_date: crate::task::parse_logical_date("2026-11-23T00:00:00Z").unwrap(),
        params: json!({"epochs": 3, "name": "model", "flag": true, "nothing": null}),
        variables,
        connections: Arc::new(connections),
        xcom,
    };
    Fixture {
        _dir: dir,
        ctx,
        masker: Masker::new(),
    }
}

fn render_with(f: &Fixture, template: &str) -> Result<String, TemplateError> {
    let mut params = serde_json::Map::new();
    params.insert("name".into(), json!(template));
    render_params(&mut params, &["name".to_string()], &f.ctx, &f.masker)?;
    Ok(params["name"].as_str().unwrap().to_string())
}

fn render(template: &str) -> String {
    let f = fixture();
    render_with(&f, template).unwrap_or_else(|e| panic!("{template}: {e}"))
}

fn render_err(template: &str) -> TemplateError {
    let f = fixture();
    render_with(&f, template).expect_err(template)
}

#[test]
fn seed_example_renders_and_masks_the_password() {
    let f = fixture();
    let mut params = serde_json::Map::new();
    params.insert(
        "command".into(),
        json!([
            "psql",
            "--password={{ macros.connection('postgres_default').password }}",
            "--input={{ ti.xcom_pull(task_ids='extract', key='return_value') }}",
        ]),
    );
    params.insert(
        "environment_variables".into(),
        json!({"PGPASSWORD": "{{ macros.connection('postgres_default').password }}", "DAY": "{{ ds }}"}),
    );
    params.insert("image".into(), json!("not-a-template-field {{ ds }}"));
    let fields = vec![
        "command".to_string(),
        "environment_variables".to_string(),
        "volumes".to_string(),
    ];
    render_params(&mut params, &fields, &f.ctx, &f.masker).unwrap();
    assert_eq!(
        params["command"],
        json!([
            "psql",
            "--password=pg-S3cret/pw",
            "--input=s3://bucket/part-0001"
        ])
    );
    assert_eq!(
        params["environment_variables"],
        json!({"PGPASSWORD": "pg-S3cret/pw", "DAY": "2026-11-23"})
    );
    // Fields that are not declared are left alone.
    assert_eq!(params["image"], json!("not-a-template-field {{ ds }}"));
    // The password is now masked everywhere.
    assert_eq!(f.masker.mask("pw=pg-S3cret/pw"), "pw=***");
    assert_eq!(f.masker.mask("uri=pg-S3cret%2Fpw"), "uri=***");
}

#[test]
fn date_variables() {
    assert_eq!(render("{{ ds }}|{{ ds_nodash }}"), "2026-11-23|20261123");
    assert_eq!(render("{{ ts }}"), "2026-11-23T00:00:00+00:00");
    assert_eq!(
        render("{{ ts_nodash }}|{{ ts_nodash_with_tz }}"),
        "20261123T000000|20261123T000000+0000"
    );
    assert_eq!(render("{{ logical_date }}"), "2026-11-23T00:00:00+00:00");
    assert_eq!(
        render("{{ execution_date }}|{{ data_interval_end }}"),
        "2026-11-23T00:00:00+00:00|2026-11-23T00:00:00+00:00"
    );
    assert_eq!(
        render("{{ yesterday_ds }}/{{ tomorrow_ds_nodash }}"),
        "2026-11-22/20261124"
    );
    assert_eq!(render("{{ task_instance_key_str }}"), "etl__load__20261123");
    // The operator's own name, from its `describe`, as Airflow prints a task.
    assert_eq!(render("{{ task }}"), "<Task(EchoOperator): load>");
}

#[test]
fn logical_date_methods() {
    assert_eq!(
        render("{{ logical_date.strftime('%Y/%m/%d %H%M') }}"),
        "2026/11/23 0000"
    );
    assert_eq!(
        render("{{ logical_date.isoformat() }}"),
        "2026-11-23T00:00:00+00:00"
    );
    assert_eq!(
        render("{{ logical_date.year }}-{{ logical_date.month }}"),
        "2026-11"
    );
    assert_eq!(render("{{ logical_date.add(days=9) | ds }}"), "2026-12-02");
    assert_eq!(
        render("{{ logical_date.subtract(months=11).to_date_string() }}"),
        "2025-12-23"
    );
    assert_eq!(
        render("{{ logical_date.add(macros.timedelta(hours=36)) }}"),
        "2026-11-24T12:00:00+00:00"
    );
    assert_eq!(
        render("{{ logical_date.replace(day=1).strftime('%d') }}"),
        "01"
    );
    assert_eq!(render("{{ logical_date.int_timestamp }}"), "1795392000");
    assert_eq!(
        render("{{ logical_date > macros.datetime(2026, 1, 1) }}"),
        "True"
    );
    assert_eq!(render("{{ ds.replace('-', '') }}"), "20261123");
}

#[test]
fn ids_and_params() {
    assert_eq!(
        render("{{ dag_id }}.{{ task_id }}@{{ run_id }}#{{ try_number }}"),
        "etl.load@manual__2026-11-23T00:00:00+00:00#1"
    );
    assert_eq!(
        render("{{ params.epochs * 2 }} {{ params.name.upper() }}"),
        "6 MODEL"
    );
    assert_eq!(
        render("{{ params.flag }} {{ params.nothing }}"),
        "True None"
    );
    assert_eq!(
        render("{{ ti.task_id }} {{ task.task_id }} {{ dag.dag_id }} {{ dag_run.run_id }}"),
        "load load etl manual__2026-11-23T00:00:00+00:00"
    );
    assert_eq!(render("{{ params.get('missing', 'dflt') }}"), "dflt");
}

#[test]
fn airflow_variables() {
    assert_eq!(render("{{ var.value.environment }}"), "prod");
    assert_eq!(render("{{ var.value.ENVIRONMENT }}"), "prod");
    assert_eq!(render("{{ var.json.config.region }}"), "westeurope");
    assert_eq!(
        render("{{ var.value.get('nope', 'fallback') }}"),
        "fallback"
    );
    assert_eq!(render("{{ var.value.get('environment') }}"), "prod");
    let e = render_err("{{ var.value.nope }}");
    assert_eq!(
        e.to_string(),
        "template field `name`: undefined variable `var.value.nope`: Airflow variable `nope` is not defined (set the environment variable AIRFLOW_VAR_NOPE)"
    );
    let e = render_err("{{ var.json.broken_json }}");
    assert!(e.message.contains("not valid JSON"), "{e}");
    let e = render_err("{{ var.value.get('nope') }}");
    assert!(e.message.contains("AIRFLOW_VAR_NOPE"), "{e}");
}

#[test]
fn sensitive_variables_are_masked() {
    let f = fixture();
    assert_eq!(
        render_with(&f, "{{ var.value.db_password }}").unwrap(),
        "var-db-pass-1"
    );
    assert_eq!(
        render_with(&f, "{{ var.json.config.region }}").unwrap(),
        "westeurope"
    );
    assert_eq!(
        f.masker.mask("var-db-pass-1 tok-in-json-1 prod"),
        "*** *** prod"
    );
}

#[test]
fn connections_in_templates() {
    assert_eq!(
        render("{{ conn.postgres_default.host }}:{{ conn.postgres_default.port }}"),
        "db.internal:5432"
    );
    assert_eq!(
        render("{{ conn.postgres_default.schema }} {{ conn.postgres_default.conn_type }}"),
        "warehouse postgres"
    );
    assert_eq!(
        render("{{ conn.azure_default.extra_dejson.tenantId }}"),
        "tenant-1"
    );
    assert_eq!(
        render("{{ macros.connection('azure_default').extra.subscriptionId }}"),
        "sub-1"
    );
    assert_eq!(render("{{ conn.get('azure_default').login }}"), "client-id");
    assert_eq!(
        render("{{ conn.postgres_default.get_password() }}"),
        "pg-S3cret/pw"
    );
    assert_eq!(
        render("{{ (conn.azure_default.get_extra() | length) > 10 }}"),
        "True"
    );
    assert_eq!(render("{{ conn.postgres_default.login }}"), "airflow");
    assert_eq!(render("{{ conn.postgres_default }}"), "postgres_default");
}

#[test]
fn connection_secrets_are_masked_when_used() {
    let f = fixture();
    assert_eq!(
        render_with(&f, "{{ conn.azure_default.login }}").unwrap(),
        "client-id"
    );
    assert_eq!(
        f.masker.mask("az-client-secret kj-inner-secret client-id"),
        "*** *** client-id"
    );
}

#[test]
fn missing_connection_lists_where_it_looked() {
    let e = render_err("{{ macros.connection('nope').password }}");
    assert!(
        e.message.contains("connection `nope` is not defined"),
        "{e}"
    );
    assert!(e.message.contains("AIRFLOW_CONN_NOPE (not set)"), "{e}");
    let e = render_err("{{ conn.nope.login }}");
    assert!(
        e.message
            .starts_with("undefined variable `conn.nope`: connection `nope` is not defined"),
        "{e}"
    );
}

#[test]
fn xcom_pull_forms() {
    assert_eq!(
        render("{{ ti.xcom_pull(task_ids='extract') }}"),
        "s3://bucket/part-0001"
    );
    assert_eq!(
        render("{{ task_instance.xcom_pull('extract', key='rows').count }}"),
        "42"
    );
    assert_eq!(
        render("{{ ti.xcom_pull(task_ids='extract', dag_id='other_dag') }}"),
        "7"
    );
    assert_eq!(render("{{ ti.xcom_pull(task_ids='missing') }}"), "None");
    assert_eq!(
        render("{{ ti.xcom_pull(task_ids='missing', default='d') }}"),
        "d"
    );
    assert_eq!(
        render("{{ ti.xcom_pull(task_ids=['extract', 'missing']) | tojson }}"),
        r#"["s3://bucket/part-0001",null]"#
    );
    assert_eq!(
        render("{{ ti.xcom_pull(task_ids='extract', run_id='other') }}"),
        "None"
    );
    let e = render_err("{{ ti.xcom_pull(task_ids='extract', bogus=1) }}");
    assert!(
        e.message.contains("unexpected keyword argument 'bogus'"),
        "{e}"
    );
    let e = render_err("{{ ti.xcom_pull(task_ids=5) }}");
    assert!(e.message.contains("task_ids"), "{e}");
}

#[test]
fn macros() {
    assert_eq!(render("{{ macros.ds_add(ds, 5) }}"), "2026-11-28");
    assert_eq!(
        render("{{ macros.ds_add('2026-01-01', -1) }}"),
        "2025-12-31"
    );
    assert_eq!(
        render("{{ macros.ds_format(ds, '%Y-%m-%d', '%d/%m/%Y') }}"),
        "23/11/2026"
    );
    assert_eq!(
        render("{{ macros.datetime(2024, 2, 29, 13) }}"),
        "2024-02-29 13:00:00"
    );
    assert_eq!(
        render("{{ macros.datetime(2024, 1, 2).strftime('%A') }}"),
        "Tuesday"
    );
    assert_eq!(
        render("{{ macros.datetime.strptime('2024-03-04', '%Y-%m-%d').isoformat() }}"),
        "2024-03-04T00:00:00"
    );
    assert_eq!(
        render("{{ macros.datetime.fromisoformat('2024-03-04T05:06:07+00:00') }}"),
        "2024-03-04 05:06:07+00:00"
    );
    assert_eq!(
        render("{{ macros.timedelta(days=1, hours=2) }}"),
        "1 day, 2:00:00"
    );
    assert_eq!(
        render("{{ macros.timedelta(minutes=90).total_seconds() }}"),
        "5400.0"
    );
    assert_eq!(render("{{ macros.json.dumps({'a': 1}) }}"), r#"{"a":1}"#);
    assert_eq!(render("{{ macros.json.loads('[1, 2]')[1] }}"), "2");
    assert_eq!(render("{{ macros.uuid.uuid4() | length }}"), "36");
    assert_eq!(render("{{ macros.random() < 1 }}"), "True");
    assert_eq!(render("{{ macros.time.time() > 0 }}"), "True");
    assert!(
        render("{{ macros.datetime.utcnow().year }}")
            .parse::<i32>()
            .unwrap()
            >= 2024
    );
    assert!(render_err("{{ macros.datetime(2024, 2, 30) }}")
        .message
        .contains("out of range"));
    assert!(render_err("{{ macros.ds_add('nope', 1) }}")
        .message
        .contains("YYYY-MM-DD"));
}

#[test]
fn undefined_variables_name_field_and_variable() {
    let f = fixture();
    let mut params = serde_json::Map::new();
    params.insert("command".into(), json!(["a", "b", "{{ foo }}"]));
    let e = render_params(&mut params, &["command".to_string()], &f.ctx, &f.masker).unwrap_err();
    assert_eq!(
        e.to_string(),
        "template field `command[2]`: undefined variable `foo`"
    );
    assert_eq!(e.undefined, vec!["foo".to_string()]);
    assert_eq!(e.field, "command[2]");

    assert_eq!(
        render_err("{{ params.missing }}").to_string(),
        "template field `name`: undefined variable `params.missing`"
    );
    assert_eq!(
        render_err("x {{ params.name }} {{ nope.deeper.still }}").undefined,
        vec!["nope"]
    );
    assert_eq!(
        render_err("{{ logical_date.nonexistent }}").undefined,
        vec!["logical_date.nonexistent"]
    );
    // Guards against undefined values work.
    assert_eq!(
        render("{{ foo is defined }} {{ foo | default('d') }}"),
        "False d"
    );
    // Loop variables and set variables are not undefined.
    assert_eq!(
        render("{% for i in range(2) %}{{ i }}{% endfor %}{% set x = 1 %}{{ x }}"),
        "011"
    );
    let e = render_err("{% for i in range(2) %}{{ i }}{% endfor %}{{ bar }}");
    assert_eq!(e.undefined, vec!["bar"]);
}

#[test]
fn nested_paths_in_objects_and_lists() {
    let f = fixture();
    let mut params = serde_json::Map::new();
    params.insert(
        "environment_variables".into(),
        json!({"GOOD": "{{ ds }}", "my.key": "{{ nope }}"}),
    );
    let e = render_params(
        &mut params,
        &["environment_variables".to_string()],
        &f.ctx,
        &f.masker,
    )
    .unwrap_err();
    assert_eq!(e.field, r#"environment_variables["my.key"]"#);

    let mut params = serde_json::Map::new();
    params.insert(
        "volumes".into(),
        json!([[
            "conn",
            "acct",
            "share-{{ ds_nodash }}",
            "/mnt/{{ nope2 }}",
            false
        ]]),
    );
    let e = render_params(&mut params, &["volumes".to_string()], &f.ctx, &f.masker).unwrap_err();
    assert_eq!(
        e.to_string(),
        "template field `volumes[0][3]`: undefined variable `nope2`"
    );
}

#[test]
fn renders_values_not_keys_nor_non_strings() {
    let f = fixture();
    let mut params = serde_json::Map::new();
    params.insert(
        "environment_variables".into(),
        json!({"{{ ds }}": "{{ ds }}", "N": 5, "B": true, "L": ["{{ ds_nodash }}", 1, null]}),
    );
    render_params(
        &mut params,
        &["environment_variables".to_string()],
        &f.ctx,
        &f.masker,
    )
    .unwrap();
    assert_eq!(
        params["environment_variables"],
        json!({"{{ ds }}": "2026-11-23", "N": 5, "B": true, "L": ["20261123", 1, null]})
    );
}

#[test]
fn plain_strings_are_untouched_and_newlines_kept() {
    assert_eq!(render("no templates here\n"), "no templates here\n");
    assert_eq!(render("{{ ds }}\n"), "2026-11-23\n");
    assert_eq!(render("a } b { c"), "a } b { c");
    assert_eq!(render("{# comment #}x"), "x");
    assert_eq!(render("<{{ '&' }}>"), "<&>");
}

#[test]
fn syntax_errors_are_reported_with_the_field() {
    let e = render_err("{{ ds ");
    assert!(
        e.to_string()
            .starts_with("template field `name`: syntax error"),
        "{e}"
    );
    let e = render_err("line1\n{% if %}\n");
    assert!(e.message.contains("(line 2)"), "{e}");
    let e = render_err("{{ ds | nosuchfilter }}");
    assert!(e.message.contains("nosuchfilter"), "{e}");
}

#[test]
fn error_messages_are_masked() {
    let f = fixture();
    // Use the connection first, then fail in a way that echoes its password.
    let e = render_with(&f, "{{ macros.ds_add(conn.postgres_default.password, 1) }}").unwrap_err();
    assert!(!e.to_string().contains("pg-S3cret"), "{e}");
    assert!(e.to_string().contains("***"), "{e}");
}

/// Found by the property test: a JSON variable read through `var.value` and echoed by a
/// macro's error showed the secret inside it.
#[test]
fn secrets_inside_a_json_variable_read_as_text_are_masked_in_errors() {
    let f = fixture();
    let e = render_with(
        &f,
        "{% if macros.ds_add(var.value.config, 1) %}y{% endif %}",
    )
    .unwrap_err();
    assert!(!e.to_string().contains("tok-in-json-1"), "{e}");
    assert!(e.to_string().contains("ds_add()"), "{e}");
}

#[test]
fn null_params_are_an_empty_dict() {
    let mut f = fixture();
    f.ctx.params = serde_json::Value::Null;
    assert_eq!(render_with(&f, "{{ params | length }}").unwrap(), "0");
}

#[test]
fn secured_values_follow_airflow() {
    let params = json!({
        "environment_variables": {"TOKEN": "tok-1", "PLAIN": "p", "NUM": 1234, "NONE": null},
        "secured_variables": ["TOKEN", "NUM", "NONE", "ABSENT"],
    });
    let mut got = secured_values(params.as_object().unwrap());
    got.sort();
    assert_eq!(got, vec!["1234".to_string(), "tok-1".to_string()]);
    // A string behaves like Python's `in` on a string: substring semantics.
    let params = json!({"environment_variables": {"TOKEN": "tok-1", "TOK": "t2", "X": "x"}, "secured_variables": "TOKEN"});
    let mut got = secured_values(params.as_object().unwrap());
    got.sort();
    assert_eq!(got, vec!["t2".to_string(), "tok-1".to_string()]);
    assert!(secured_values(json!({}).as_object().unwrap()).is_empty());
}

#[test]
fn variables_from_env_strips_the_prefix() {
    let vars = variables_from_env(vec![
        ("AIRFLOW_VAR_A".to_string(), "1".to_string()),
        ("AIRFLOW_VAR_".to_string(), "ignored".to_string()),
        ("OTHER".to_string(), "x".to_string()),
    ]);
    assert_eq!(vars.len(), 1);
    assert_eq!(vars["A"], "1");
}

#[test]
fn override_connections_work_in_templates() {
    let mut f = fixture();
    let mut c = Connection::new("emu", "azure");
    c.host = Some("127.0.0.1".into());
    f.ctx.connections = Arc::new(ConnectionResolver::new().with_override(c));
    assert_eq!(render_with(&f, "{{ conn.emu.host }}").unwrap(), "127.0.0.1");
}

#[test]
fn template_context_is_send_sync() {
    fn check<T: Send + Sync>() {}
    check::<TemplateContext>();
    check::<TemplateError>();
}

#[test]
fn context_for_a_task_file() {
    let f = fixture();
    let task = crate::task::TaskFile::from_str(
        "task_id = \"t\"\n[dag_params]\nx = 1\n",
        crate::task::Format::Toml,
        std::path::Path::new("t.toml"),
    )
    .unwrap();
    let now = crate::task::parse_logical_date("2026-01-02T03:04:05Z").unwrap();
    let ctx = TemplateContext::for_task(
        &task,
        "EchoOperator",
        now,
        HashMap::new(),
        f.ctx.connections.clone(),
        f.ctx.xcom.clone(),
    );
    assert_eq!(ctx.dag_id, "");
    assert_eq!(ctx.run_id, "manual__2026-01-02T03:04:05+00:00");
    assert_eq!(ctx.try_number, 1);
    assert_eq!(ctx.logical_date, now);
    assert_eq!(ctx.params, json!({"x": 1}));
    assert_eq!(ctx.operator, "EchoOperator");
}

#[test]
fn a_loop_that_runs_too_long_stops_with_a_clear_error() {
    let e = render_err(
        "{% for a in range(10000) %}{% for b in range(10000) %}{% for c in range(10000) %}\
         {% endfor %}{% endfor %}{% endfor %}",
    );
    assert_eq!(e.field, "name");
    assert!(e.message.contains("ran out of fuel"), "{e}");
    assert!(e.to_string().starts_with("template field `name`: "), "{e}");
}

#[test]
fn an_expanding_template_stops_at_the_field_limit() {
    let e = render_err("{% for i in range(100000) %}{{ 'x' * 100000 }}{% endfor %}");
    assert_eq!(e.field, "name");
    assert!(
        e.message.contains("renders to more than 1048576 bytes"),
        "{e}"
    );
}

#[test]
fn the_task_total_is_bounded_too() {
    let f = fixture();
    let mut params = serde_json::Map::new();
    params.insert("a".into(), json!("{{ 'x' * 600 }}"));
    params.insert("b".into(), json!(["{{ 'y' * 600 }}"]));
    let limits = TemplateLimits {
        fuel: 10_000,
        max_field_bytes: 1000,
        max_total_bytes: 1000,
    };
    let fields = ["a".to_string(), "b".to_string()];
    let e = render_params_limited(&mut params, &fields, &f.ctx, &f.masker, &limits).unwrap_err();
    assert_eq!(e.field, "b[0]");
    assert!(e.message.contains("exceed 1000 bytes in total"), "{e}");
    // Within the limits, the same template renders.
    let mut params = serde_json::Map::new();
    params.insert("a".into(), json!("{{ 'x' * 600 }}"));
    render_params_limited(&mut params, &fields, &f.ctx, &f.masker, &limits).unwrap();
    assert_eq!(params["a"].as_str().unwrap().len(), 600);
}

mod proptests;
