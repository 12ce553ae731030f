//! The derived `hook` command line against the built-in component's hook.

use std::sync::OnceLock;

use serde_json::json;

use super::flags::{command, parse, ParseError, ParsedCall};
use crate::runner::{HookInterface, Runner, RunnerOptions};

fn hook() -> &'static HookInterface {
    static RUNNER: OnceLock<Runner> = OnceLock::new();
    RUNNER
        .get_or_init(|| {
            let mut options = RunnerOptions::default();
            options.engine.cache_dir = Some(std::env::temp_dir().join("aci-host-unit-cwasm"));
            options.engine.pooling = false;
            Runner::new(options).expect("load the built-in component")
        })
        .hook_interface()
        .expect("the built-in component exports the hook")
}

fn call(args: &[&str]) -> Result<ParsedCall, String> {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    parse(hook(), &args).map_err(|e| match e {
        ParseError::Usage(m) => m,
        ParseError::Clap(e) => format!("clap: {e}"),
    })
}

#[test]
fn every_method_of_the_wit_is_a_subcommand() {
    let names: Vec<String> = command(hook())
        .get_subcommands()
        .map(|c| c.get_name().to_string())
        .collect();
    for m in [
        "exists",
        "get-state",
        "get-logs",
        "delete",
        "create-or-update",
        "test-connection",
        "get-state-exitcode-details",
        "get-messages",
        "stop",
        "start",
        "restart",
        "list",
    ] {
        assert!(names.iter().any(|n| n == m), "{m} missing from {names:?}");
    }
}

#[test]
fn records_flatten_and_types_pick_the_flag_kind() {
    let c = call(&[
        "get-logs",
        "--resource-group",
        "rg",
        "--name",
        "g",
        "--tail",
        "5",
    ])
    .unwrap();
    assert_eq!(c.method, "get-logs");
    assert_eq!(
        c.args,
        json!({"target": {"conn_id": "azure_default", "resource_group": "rg", "name": "g"}, "tail": 5})
    );
    let c = call(&[
        "delete",
        "--resource-group",
        "rg",
        "--name",
        "g",
        "--wait",
        "--conn-id",
        "c",
    ])
    .unwrap();
    assert_eq!(
        c.args,
        json!({"target": {"conn_id": "c", "resource_group": "rg", "name": "g"}, "wait": true})
    );
    assert_eq!(
        call(&["list"]).unwrap().args,
        json!({"conn_id": "azure_default"})
    );
    let c = call(&["list", "--conn", "x=azure://", "--allow-host", "h:1"]).unwrap();
    assert_eq!(c.conn.conns, ["x=azure://"]);
    assert_eq!(c.conn.allow_hosts, ["h:1"]);
}

#[test]
fn methods_need_their_arguments() {
    assert_eq!(
        call(&["exists", "--name", "g"]).err().unwrap(),
        "--resource-group is required"
    );
    let err = call(&["explode"]).err().unwrap();
    assert!(
        err.contains("unknown hook method `explode`") && err.contains("get-logs"),
        "{err}"
    );
    let err = call(&["create-or-update", "--name", "g", "--resource-group", "rg"])
        .err()
        .unwrap();
    assert_eq!(err, "--container-group is required");
    let err = call(&[
        "get-logs",
        "--name",
        "g",
        "--resource-group",
        "rg",
        "--tail",
        "x",
    ])
    .err()
    .unwrap();
    assert!(err.starts_with("clap: "), "{err}");
}

#[test]
fn a_document_flag_reads_its_file() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("g.json");
    std::fs::write(&good, r#"{"location": "westeurope"}"#).unwrap();
    let bad = dir.path().join("b.json");
    std::fs::write(&bad, "{ nope").unwrap();
    let base = ["create-or-update", "--name", "g", "--resource-group", "rg"];
    let with = |file: &std::path::Path| {
        let mut v = base.to_vec();
        v.extend(["--container-group", file.to_str().unwrap()]);
        call(&v)
    };
    let c = with(&good).unwrap();
    assert_eq!(c.args["container_group"], r#"{"location": "westeurope"}"#);
    assert_eq!(c.args["wait"], false);
    assert!(with(&bad).err().unwrap().contains("b.json: not JSON"));
    assert!(with(&dir.path().join("missing.json")).is_err());
}
