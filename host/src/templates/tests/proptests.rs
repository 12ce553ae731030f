//! Property tests of the template renderer: any template built from the context's names,
//! macros, filters, loops and broken syntax renders within its fuel and size limits or
//! fails with an error naming the field, and no error ever holds a secret of the fixture
//! (connection passwords, secret extras, sensitive variables).

use proptest::prelude::*;

use super::*;

/// The fixture's secrets, as they would appear decoded.
const SECRETS: &[&str] = &[
    "pg-S3cret/pw",
    "pg-S3cret%2Fpw",
    "az-client-secret",
    "kj-inner-secret",
    "tok-in-json-1",
    "var-db-pass-1",
];

fn atom() -> impl Strategy<Value = &'static str> {
    proptest::sample::select(vec![
        "macros.connection('postgres_default').password",
        "macros.connection('azure_default').password",
        "macros.connection('missing')",
        "conn.postgres_default.password",
        "conn.azure_default.extra_dejson.key_json",
        "conn.azure_default.extra_dejson",
        "var.value.db_password",
        "var.value.config",
        "var.json.config",
        "var.json.config.api_token",
        "var.json.broken_json",
        "var.value.nope",
        "params.epochs",
        "params.nothing",
        "ds",
        "ts",
        "logical_date",
        "ti.xcom_pull(task_ids='extract')",
        "ti.xcom_pull(task_ids=1)",
        "undefined_name",
        "'text'",
        "42",
        "none",
        "[1, 2]",
    ])
}

/// An expression around an atom: a macro call, an operator, an attribute, a filter.
fn expression() -> impl Strategy<Value = String> {
    let shape = proptest::sample::select(vec![
        "{}",
        "macros.ds_add({}, 1)",
        "macros.ds_add(ds, {})",
        "macros.ds_format({}, '%Y-%m-%d', '%d')",
        "macros.datetime({})",
        "{} + 1",
        "{} ~ '-'",
        "{}[0]",
        "{}.nope",
        "{}(1)",
        "{} * 3",
        "{} | int",
        "{} | upper",
        "{} | length",
        "{} | tojson",
        "{} | join(',')",
        "{} | float",
        "{} | nofilter",
        "range({})",
        "{} is defined",
    ]);
    (shape, atom()).prop_map(|(shape, atom)| shape.replacen("{}", atom, 1))
}

/// A piece of a template: text, an expression, a loop, a condition or broken syntax.
fn piece() -> impl Strategy<Value = String> {
    prop_oneof![
        proptest::sample::select(vec!["x", " ", "\n", "{{", "}}", "{%", "%}", "{#", "é"])
            .prop_map(String::from),
        expression().prop_map(|e| format!("{{{{ {e} }}}}")),
        (expression(), 0u32..3000)
            .prop_map(|(e, n)| format!("{{% for i in range({n}) %}}{{{{ {e} }}}}{{% endfor %}}")),
        expression().prop_map(|e| format!("{{% if {e} %}}y{{% endif %}}")),
        expression().prop_map(|e| format!("{{% set v = {e} %}}{{{{ v }}}}")),
    ]
}

fn template() -> impl Strategy<Value = String> {
    proptest::collection::vec(piece(), 1..5).prop_map(|p| p.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn any_template_renders_within_limits_or_fails_clearly(t in template()) {
        let f = fixture();
        let limits = TemplateLimits { fuel: 20_000, max_field_bytes: 16 * 1024, max_total_bytes: 32 * 1024 };
        let mut params = serde_json::Map::new();
        params.insert("name".into(), json!(t));
        let result = render_params_limited(&mut params, &["name".to_string()], &f.ctx, &f.masker, &limits);
        match result {
            Ok(()) => {
                let out = params["name"].as_str().unwrap_or_default();
                prop_assert!(out.len() <= limits.max_field_bytes, "{} bytes", out.len());
            }
            Err(e) => {
                let message = e.to_string();
                prop_assert!(message.contains("name"), "does not name the field: {message}");
                for s in SECRETS {
                    prop_assert!(!message.contains(s), "shows a secret: {message}");
                }
            }
        }
    }
}
