//! Property tests of the task-file loader: any task document (fields of any type, cut
//! short or with junk inserted, in TOML, JSON and YAML) loads or fails with a clear error
//! that names the file and never holds a secured variable's value or a secret parameter.

use proptest::prelude::*;
use serde_json::{json, Value};

use super::*;

/// Marks the secrets: no error may contain it.
const MARK: &str = "Sx7Kq";

/// A value of any of the types a field could wrongly hold.
fn odd_value() -> impl Strategy<Value = Value> {
    proptest::sample::select(vec![
        json!("t1"),
        json!(""),
        json!("bad id!"),
        json!("2026-11-23T00:00:00Z"),
        json!("not a date"),
        json!(0),
        json!(-1),
        json!(1.5),
        json!(99_999_999_999u64),
        json!(true),
        json!(null),
        json!([1, "a"]),
        json!({"k": "v"}),
    ])
}

/// A task document: each known field absent, well-typed or odd; the params always hold a
/// secured variable and a secret-named value marked with [`MARK`].
fn document() -> impl Strategy<Value = Value> {
    let field = || proptest::option::weighted(0.8, odd_value());
    (
        field(),
        field(),
        field(),
        field(),
        field(),
        proptest::option::of(odd_value()),
        any::<bool>(),
    )
        .prop_map(
            |(task_id, dag_id, run_id, logical_date, try_number, unknown, params_ok)| {
                let mut doc = serde_json::Map::new();
                let named = [
                    ("task_id", task_id),
                    ("dag_id", dag_id),
                    ("run_id", run_id),
                    ("logical_date", logical_date),
                    ("try_number", try_number),
                    ("surprise", unknown),
                ];
                for (name, value) in named {
                    if let Some(v) = value.filter(|v| !v.is_null() || name == "surprise") {
                        doc.insert(name.into(), v);
                    }
                }
                let secret = format!("{MARK}-token");
                let params = if params_ok {
                    json!({"name": "x", "environment_variables": {"TOKEN": secret},
                       "secured_variables": ["TOKEN"]})
                } else {
                    json!([{"TOKEN": secret}])
                };
                doc.insert("params".into(), params);
                doc.insert(
                    "dag_params".into(),
                    json!({"db_password": format!("{MARK}-pw")}),
                );
                Value::Object(doc)
            },
        )
}

/// The document in `format`, or `None` when that format cannot hold it.
fn write(doc: &Value, format: Format) -> Option<String> {
    match format {
        Format::Json => Some(doc.to_string()),
        Format::Yaml => serde_norway::to_string(doc).ok(),
        Format::Toml => toml::to_string(doc).ok(),
    }
}

/// Cuts the text at `at` (a fraction of its length) and inserts `junk` there.
fn damage(text: &str, at: f64, junk: &str, cut: bool) -> String {
    let mut i = ((text.len() as f64) * at) as usize;
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    let rest = if cut { "" } else { &text[i..] };
    format!("{}{junk}{rest}", &text[..i])
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn any_task_document_loads_or_fails_clearly(
        doc in document(),
        at in 0.0f64..1.0,
        junk in proptest::sample::select(vec!["", "\"", "]", "[", "{", "=", ":", "- ", "\n\t", "é", "\u{0}"]),
        cut in any::<bool>(),
        damaged in any::<bool>(),
    ) {
        for (format, name) in [(Format::Toml, "t.toml"), (Format::Json, "t.json"), (Format::Yaml, "t.yaml")] {
            let Some(text) = write(&doc, format) else { continue };
            let text = if damaged { damage(&text, at, junk, cut) } else { text };
            if let Err(e) = TaskFile::from_str(&text, format, Path::new(name)) {
                let message = e.to_string();
                prop_assert!(message.contains(name), "{format}: does not name the file: {message}");
                prop_assert!(!message.contains(MARK), "{format}: shows a secret: {message}");
                prop_assert!(message.len() > name.len() + 2, "{format}: says nothing: {message}");
            }
        }
    }
}
