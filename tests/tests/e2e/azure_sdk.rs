//! Client conformance: real Azure clients drive `aci-host emulator --tls`.
//!
//! * Microsoft's Python SDK (`azure-identity` + `azure-mgmt-containerinstance`, pinned with
//!   hashes in `tests/azure-sdk/requirements.txt`, installed in a venv under the target dir
//!   and reused) runs `tests/azure-sdk/conformance.py`: sign in by authority, create and wait
//!   on the poller, get, logs, list with paging, stop/start/restart, a `409
//!   ContainerGroupTransitioning`, a `404`, a `401`, delete and wait; pointed at the emulator
//!   by authority, base URL and CA bundle only.
//! * The Azure CLI (`az container …`, `tests/azure-sdk/az-cli.sh`), opt-in with
//!   `ACI_TEST_AZ_CLI=1`: `azure-cli` takes minutes and most of a gigabyte to install.
//!
//! `ACI_SKIP_AZURE_SDK=1` skips the Python test (a machine without PyPI).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use aci_e2e::cli::{root, text};
use aci_e2e::clients::{python_venv, run_bounded, StandaloneEmulator};
use serde_json::Value;

fn sdk_dir() -> PathBuf {
    root().join("tests/azure-sdk")
}

/// `aci-host emulator --tls` as the conformance script expects it, logging requests to `log`.
fn emulator(state: &Path, log: &Path) -> StandaloneEmulator {
    let log = log.to_str().unwrap();
    let args = [
        "--tls",
        "--page-size",
        "2",
        "--provision-delay",
        "1",
        "--delete-delay",
        "1",
        "--request-log",
        log,
    ];
    let emu = StandaloneEmulator::start(&args, state);
    assert!(
        emu.base_url.starts_with("https://127.0.0.1:"),
        "{}",
        emu.base_url
    );
    let ca = std::fs::read_to_string(emu.field("ca_cert")).expect("ca_cert is a readable file");
    assert!(
        ca.starts_with("-----BEGIN CERTIFICATE-----") && !ca.contains("PRIVATE"),
        "{ca}"
    );
    emu
}

/// Every line of the request log is JSON; the secret is in none of them; the SDK's calls are
/// there with their client request ids.
fn check_request_log(log: &Path, secret: &str) {
    let text = std::fs::read_to_string(log).expect("request log");
    assert!(
        !text.contains(secret),
        "the client secret reached the request log"
    );
    assert!(
        !text.contains("not-the-secret"),
        "a wrong secret reached the request log"
    );
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let seen = |kind: &str, status: u16| {
        lines
            .iter()
            .any(|l| l["kind"] == kind && l["status"] == status)
    };
    for (kind, status) in [
        ("OpenId_Configuration", 200),
        ("Token_Issue", 200),
        ("Token_Issue", 401),
        ("ContainerGroups_CreateOrUpdate", 201),
        ("AsyncOperation_Get", 200),
        ("ContainerGroups_ListByResourceGroup", 200),
        ("ContainerGroups_Stop", 409),
        ("ContainerGroups_Start", 202),
        ("ContainerGroups_Get", 401),
        ("ContainerGroups_Get", 404),
        ("ContainerGroups_Delete", 202),
        ("ContainerGroups_Delete", 204),
    ] {
        assert!(seen(kind, status), "no {kind} {status} in the request log");
    }
    for l in lines
        .iter()
        .filter(|l| l["path"].as_str().unwrap().starts_with("/subscriptions/"))
    {
        assert!(l["client_request_id"].is_string(), "{l}");
        assert!(
            l["method"].is_string() && l["ms"].is_number() && l["time"].is_string(),
            "{l}"
        );
    }
}

#[test]
fn azure_sdk_for_python_drives_the_emulator_over_tls() {
    if std::env::var_os("ACI_SKIP_AZURE_SDK").is_some() {
        eprintln!("ACI_SKIP_AZURE_SDK is set: skipping the Azure SDK conformance test");
        return;
    }
    let bin = python_venv(
        "azure-sdk-venv",
        &sdk_dir().join("requirements.txt"),
        Duration::from_secs(600),
    );
    let state = tempfile::tempdir().unwrap();
    let log = state.path().join("requests.jsonl");
    let emu = emulator(state.path(), &log);
    let ca = emu.field("ca_cert");
    let mut python = Command::new(bin.join("python"));
    python
        .arg(sdk_dir().join("conformance.py"))
        .env("EMULATOR_URL", &emu.base_url)
        .env("EMULATOR_CREDENTIALS", &emu.credentials_line)
        .env("REQUESTS_CA_BUNDLE", &ca)
        .env("SSL_CERT_FILE", &ca)
        .env_remove("HTTPS_PROXY")
        .env_remove("https_proxy");
    let out = run_bounded(python, Duration::from_secs(300));
    let stdout = text(&out.stdout);
    assert!(
        out.status.success(),
        "conformance.py failed:\n{stdout}\n{}",
        text(&out.stderr)
    );
    let summary: Value = serde_json::from_str(stdout.lines().last().unwrap_or("")).unwrap();
    assert!(summary["checks"].as_u64().unwrap() >= 45, "{stdout}");
    eprintln!("{summary}");
    let secret = emu.field("client_secret");
    let ca_path = PathBuf::from(&ca);
    assert_eq!(emu.stop(), Some(0), "the emulator exits cleanly on SIGTERM");
    assert!(!ca_path.exists(), "the generated CA is removed at exit");
    check_request_log(&log, &secret);
}

/// `az container` create / show / logs / list / delete (opt-in: `ACI_TEST_AZ_CLI=1`).
#[test]
fn azure_cli_drives_the_emulator_over_tls() {
    if std::env::var("ACI_TEST_AZ_CLI").as_deref() != Ok("1") {
        eprintln!("set ACI_TEST_AZ_CLI=1 to run the Azure CLI test (it installs azure-cli)");
        return;
    }
    let bin = python_venv(
        "azure-cli-venv",
        &sdk_dir().join("az-requirements.txt"),
        Duration::from_secs(1200),
    );
    let state = tempfile::tempdir().unwrap();
    let config_dir = state.path().join("az");
    std::fs::create_dir(&config_dir).unwrap();
    let emu = StandaloneEmulator::start(&["--tls"], state.path());
    let mut script = Command::new("bash");
    script
        .arg(sdk_dir().join("az-cli.sh"))
        .env("AZ", bin.join("az"))
        .env("EMULATOR_URL", &emu.base_url)
        .env("EMULATOR_CREDENTIALS", &emu.credentials_line)
        .env("REQUESTS_CA_BUNDLE", emu.field("ca_cert"))
        .env("AZURE_CONFIG_DIR", &config_dir);
    let out = run_bounded(script, Duration::from_secs(300));
    assert!(
        out.status.success(),
        "az-cli.sh failed:\n{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert_eq!(emu.stop(), Some(0));
}
