use super::*;
use serde_json::json;

fn minimal() -> Value {
    json!({
        "location": "East US",
        "tags": {"a": "b"},
        "properties": {
            "osType": "Linux",
            "restartPolicy": "Never",
            "containers": [{"name": "job", "properties": {
                "image": "alpine:3",
                "command": ["sh", "-c", "echo hi"],
                "resources": {"requests": {"cpu": 1.0, "memoryInGB": 1.5}},
                "environmentVariables": [{"name": "MODE", "value": "batch"}, {"name": "TOKEN", "secureValue": "s3cr3t"}]
            }}],
            "imageRegistryCredentials": [{"server": "r.azurecr.io", "username": "u", "password": "hunter2"}],
            "volumes": [
                {"name": "files", "azureFile": {"shareName": "s", "storageAccountName": "a", "storageAccountKey": "KEY=="}},
                {"name": "secrets", "secret": {"f": "c2VjcmV0"}}
            ],
            "diagnostics": {"logAnalytics": {"workspaceId": "w", "workspaceKey": "wk", "workspaceResourceId": "/x"}}
        }
    })
}

fn check(v: &Value) -> Result<Accepted, (u16, String)> {
    validate_group("job-1", &serde_json::to_vec(v).unwrap()).map_err(|r| {
        (
            r.status,
            r.json_body()["error"]["code"]
                .as_str()
                .unwrap_or("")
                .to_string(),
        )
    })
}

#[test]
fn accepts_and_strips_secrets() {
    let a = check(&minimal()).unwrap();
    assert_eq!(a.location, "eastus");
    assert_eq!(a.spec.restart_policy, RestartPolicy::Never);
    assert_eq!(
        a.spec.containers[0].env,
        vec![
            ("MODE".into(), "batch".into()),
            ("TOKEN".into(), "s3cr3t".into())
        ]
    );
    assert_eq!(a.spec.containers[0].command, vec!["sh", "-c", "echo hi"]);
    let text = serde_json::to_string(&a.public).unwrap();
    for secret in [
        "s3cr3t",
        "hunter2",
        "KEY==",
        "c2VjcmV0",
        "\"wk\"",
        "workspaceResourceId",
        "secureValue",
    ] {
        assert!(!text.contains(secret), "{secret} leaked: {text}");
    }
    let props = &a.public["properties"];
    assert_eq!(props["volumes"][1]["secret"], json!({}));
    assert_eq!(props["containers"][0]["properties"]["ports"], json!([]));
    assert_eq!(props["imageRegistryCredentials"][0]["username"], "u");
}

#[test]
fn group_name_rules() {
    for ok in ["a", "job-1", "x".repeat(63).as_str()] {
        assert!(valid_group_name(ok), "{ok}");
    }
    for bad in ["", "-a", "a-", "a--b", "Upper", "a_b", &"x".repeat(64)] {
        assert!(!valid_group_name(bad), "{bad}");
    }
    let err = validate_group("Bad", b"{}").unwrap_err();
    assert_eq!(
        err.json_body()["error"]["code"],
        "InvalidContainerGroupName"
    );
}

/// A change to the minimal body and the error code it must cause: `(JSON pointer, new value,
/// code)`; `None` removes the field, the pointer `…/-` appends a copy of the list's first item
/// and `""` replaces the whole body.
type Case = (&'static str, Option<Value>, &'static str);

fn apply(v: &mut Value, pointer: &str, value: &Option<Value>) {
    if pointer.is_empty() {
        *v = value.clone().unwrap();
        return;
    }
    let (parent, key) = pointer.rsplit_once('/').unwrap();
    let parent = v.pointer_mut(parent).unwrap();
    if key == "-" {
        let list = parent.as_array_mut().unwrap();
        list.push(list[0].clone());
        return;
    }
    let parent = parent.as_object_mut().unwrap();
    match value {
        Some(value) => parent.insert(key.to_string(), value.clone()),
        None => parent.remove(key),
    };
}

fn assert_rejected(cases: &[Case]) {
    for (pointer, value, code) in cases {
        let mut v = minimal();
        apply(&mut v, pointer, value);
        let err = check(&v)
            .err()
            .unwrap_or_else(|| panic!("{pointer} = {value:?} accepted"));
        assert_eq!(err, (400, code.to_string()), "{pointer} = {value:?}");
    }
}

/// A pointer into the first container's properties.
macro_rules! c0 {
    ($rest:literal) => {
        concat!("/properties/containers/0/properties", $rest)
    };
}

#[test]
fn required_fields_and_enums() {
    let content = "InvalidRequestContent";
    assert_rejected(&[
        ("/location", None, "LocationRequired"),
        ("/properties/osType", None, content),
        ("/properties/osType", Some(json!("linux")), content),
        (
            "/properties/restartPolicy",
            Some(json!("Sometimes")),
            content,
        ),
        (c0!("/image"), None, content),
        (c0!("/resources"), None, content),
        (c0!("/resources/requests/cpu"), Some(json!("one")), content),
        ("/properties/containers", Some(json!([])), content),
        (
            "/properties/ipAddress",
            Some(json!({"type": "Open", "ports": []})),
            content,
        ),
        (
            c0!("/ports"),
            Some(json!([{"port": 80, "protocol": "tcp"}])),
            content,
        ),
        (
            "/properties/diagnostics/logAnalytics/workspaceKey",
            None,
            content,
        ),
        ("", Some(json!([1])), content),
    ]);
    let bad_json = validate_group("ok", b"{not json").unwrap_err();
    assert_eq!(
        bad_json.json_body()["error"]["code"],
        "InvalidRequestContent"
    );
}

#[test]
fn semantic_rules_have_their_own_codes() {
    assert_rejected(&[
        (
            c0!("/resources/requests/cpu"),
            Some(json!(0)),
            "InvalidResourceRequests",
        ),
        (
            "/properties/containers/0/name",
            Some(json!("Job")),
            "InvalidContainerName",
        ),
        (
            c0!("/environmentVariables/0/name"),
            Some(json!("1BAD")),
            "InvalidEnvironmentVariableName",
        ),
        (
            "/properties/volumes/0/name",
            Some(json!("vol")),
            "InvalidVolumeName",
        ),
        (
            c0!("/volumeMounts"),
            Some(json!([{"name": "nope1", "mountPath": "/m"}])),
            "InvalidVolumeMount",
        ),
        (
            "/properties/ipAddress",
            Some(json!({"type": "Public", "ports": [{"port": 80}], "dnsNameLabel": "1abc"})),
            "InvalidDnsNameLabel",
        ),
        (
            "/properties/ipAddress",
            Some(json!({"type": "Public", "ports": [{"port": 70000}]})),
            "InvalidPort",
        ),
        ("/properties/containers/-", None, "DuplicateContainerName"),
    ]);
}

#[test]
fn update_conflicts() {
    let a = check(&minimal()).unwrap().spec;
    let mut b = a.clone();
    assert_eq!(a.update_conflict(&b), None);
    b.containers[0].command = vec!["true".into()];
    assert_eq!(a.update_conflict(&b), None, "commands may change in place");
    b.restart_policy = RestartPolicy::Always;
    assert!(a.update_conflict(&b).is_some());
    let mut c = a.clone();
    c.containers[0].cpu = 2.0;
    assert!(a.update_conflict(&c).is_some());
}
