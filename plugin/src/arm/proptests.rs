//! Property tests of the ARM model parser: any answer body (JSON of any shape built from
//! the models' own field names, cut short, or not JSON at all) parses into each model or
//! fails with a clear `InvalidResponse` error that names the path and never holds a string
//! from the body (credentials and keys answers carry secrets); error bodies never panic
//! and give a bounded message.

use proptest::prelude::*;
use serde_json::{Map, Value};
use task_plugin_sdk::http::Response;

use super::client::parse_json;
use super::errors::{error_code, remote_error};
use super::models::{
    CloudError, ContainerGroup, ContainerGroupListResult, Logs, OperationStatus,
    RegistryCredentials, StorageAccountKeys,
};

/// Marks the body's secrets: no parse error may contain it.
const MARK: &str = "Kz4Wv";

const URL: &str = "https://management.azure.com/subscriptions/s/resourceGroups/rg/providers/Microsoft.ContainerInstance/containerGroups/g?api-version=2023-05-01&sig=x";

/// Field names the models use, so that documents reach deep into them.
const KEYS: &[&str] = &[
    "id",
    "name",
    "type",
    "location",
    "tags",
    "properties",
    "containers",
    "initContainers",
    "image",
    "command",
    "ports",
    "port",
    "protocol",
    "environmentVariables",
    "value",
    "secureValue",
    "resources",
    "requests",
    "limits",
    "cpu",
    "memoryInGB",
    "gpu",
    "count",
    "sku",
    "volumeMounts",
    "mountPath",
    "volumes",
    "azureFile",
    "storageAccountKey",
    "secret",
    "gitRepo",
    "imageRegistryCredentials",
    "server",
    "username",
    "password",
    "ipAddress",
    "dnsConfig",
    "diagnostics",
    "logAnalytics",
    "workspaceKey",
    "subnetIds",
    "identity",
    "instanceView",
    "currentState",
    "previousState",
    "state",
    "exitCode",
    "detailStatus",
    "startTime",
    "finishTime",
    "events",
    "message",
    "provisioningState",
    "osType",
    "restartPolicy",
    "status",
    "error",
    "code",
    "details",
    "content",
    "nextLink",
    "passwords",
    "keys",
    "keyName",
    "permissions",
    "userAssignedIdentities",
];

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        3 => (0usize..3).prop_map(|i| Value::String(format!("{MARK}-secret-{i}"))),
        1 => proptest::sample::select(vec!["Running", "Succeeded", "Failed", "", "Linux"])
            .prop_map(|s| Value::String(s.into())),
        1 => any::<i64>().prop_map(Value::from),
        1 => any::<f64>().prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        1 => any::<bool>().prop_map(Value::Bool),
        1 => Just(Value::Null),
    ]
}

/// A JSON document of any shape, keyed with the models' field names.
fn document() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(5, 64, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::vec((proptest::sample::select(KEYS), inner), 0..6).prop_map(
                |pairs| {
                    let map: Map<String, Value> =
                        pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
                    Value::Object(map)
                }
            ),
        ]
    })
}

/// A body: the document as JSON, cut at some point or not.
fn body() -> impl Strategy<Value = Vec<u8>> {
    (document(), any::<bool>(), 0.0f64..1.0).prop_map(|(doc, cut, at)| {
        let text = doc.to_string().into_bytes();
        if cut {
            text[..((text.len() as f64) * at) as usize].to_vec()
        } else {
            text
        }
    })
}

fn response(status: u16, body: Vec<u8>) -> Response {
    Response {
        status,
        headers: vec![("content-type".into(), "application/json".into())],
        body,
    }
}

/// Parses `resp` as `T`; an error must be clear and hold nothing from the body.
fn check_parse<T: serde::de::DeserializeOwned>(resp: &Response) -> Result<(), TestCaseError> {
    if let Err(e) = parse_json::<T>(resp, URL) {
        let text = e.to_string();
        prop_assert!(text.contains("unexpected answer from"), "{text}");
        prop_assert!(
            text.contains("/containerGroups/g"),
            "does not name the path: {text}"
        );
        prop_assert!(!text.contains("sig=x"), "shows the query: {text}");
        prop_assert!(!text.contains(MARK), "shows a string of the body: {text}");
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn any_answer_parses_or_fails_clearly(body in body()) {
        let resp = response(200, body);
        check_parse::<ContainerGroup>(&resp)?;
        check_parse::<ContainerGroupListResult>(&resp)?;
        check_parse::<OperationStatus>(&resp)?;
        check_parse::<RegistryCredentials>(&resp)?;
        check_parse::<StorageAccountKeys>(&resp)?;
        check_parse::<Logs>(&resp)?;
        check_parse::<CloudError>(&resp)?;
    }

    #[test]
    fn any_error_answer_gives_a_bounded_message(body in body(), status in 400u16..600) {
        let resp = response(status, body);
        let _ = error_code(&resp);
        let text = remote_error(&resp, "").to_string();
        prop_assert!(!text.is_empty());
        // ARM's message, its first details, or the first 300 characters of another body.
        prop_assert!(text.chars().count() < 4096, "{} characters", text.chars().count());
    }

    #[test]
    fn any_bytes_parse_or_fail_clearly(body in proptest::collection::vec(any::<u8>(), 0..256)) {
        let resp = response(200, body);
        check_parse::<ContainerGroup>(&resp)?;
        let _ = remote_error(&response(500, resp.body.clone()), "").to_string();
    }
}

/// Found by the property test: a credentials answer with a password where a list belongs
/// showed the password in the error (serde quotes the value it did not expect).
#[test]
fn a_misshapen_credentials_answer_does_not_show_its_password() {
    let resp = response(200, br#"{"passwords": "Kz4Wv-secret-0"}"#.to_vec());
    let e = parse_json::<RegistryCredentials>(&resp, URL)
        .unwrap_err()
        .to_string();
    assert!(!e.contains(MARK), "{e}");
    assert!(
        e.contains("invalid type: string …, expected a sequence (line 1 column"),
        "{e}"
    );
    let resp = response(
        200,
        br#"{"status": 5, "error": {"code": ["Kz4Wv"]}}"#.to_vec(),
    );
    let e = parse_json::<OperationStatus>(&resp, URL)
        .unwrap_err()
        .to_string();
    assert!(!e.contains(MARK), "{e}");
}
