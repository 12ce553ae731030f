//! `aci-cli.wasm` as a stock runtime runs it: wasmtime with only
//! `wasmtime-wasi` (p2) and `wasmtime-wasi-http` linked, which is what
//! `wasmtime run -S http` links (nothing of `orchestrator:task` comes from
//! the host), the arguments, environment and `--dir .` preopen that
//! `wasmtime run -S http --dir . --env AIRFLOW_CONN_AZURE_DEFAULT=… aci-cli.wasm
//! run task.json` gives, against the in-process emulator. When a `wasmtime`
//! binary is on `PATH`, the last test also runs it for real.

use std::path::Path;
use std::sync::OnceLock;
use std::time::Duration;

use aci_cli::stock::{self, StockCtx};
use aci_emulator::{Emulator, EmulatorConfig};
use aci_host::local::LocalConnections;
use serde_json::{json, Value};
use wasmtime::component::{Component, Linker};
use wasmtime::{Engine, Store};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{FsPerms, WasiCtx};

const RG: &str = "cli-rg";

/// The engine, the composed component and the linker of `wasmtime run -S
/// http`, made once per test binary.
fn compiled() -> &'static (Engine, Component, Linker<StockCtx>) {
    static COMPILED: OnceLock<(Engine, Component, Linker<StockCtx>)> = OnceLock::new();
    COMPILED.get_or_init(|| {
        let engine = stock::engine().expect("engine");
        let component =
            Component::from_file(&engine, aci_cli::ACI_CLI_WASM).expect("compile aci-cli.wasm");
        let linker = stock::linker(&engine, true).expect("link WASI and wasi-http");
        (engine, component, linker)
    })
}

/// What one `wasmtime run` of the component gave.
struct Out {
    status: i32,
    stdout: String,
    stderr: String,
}

impl Out {
    /// Stdout as JSON.
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!("stdout is not JSON ({e}): {}\n{}", self.stdout, self.stderr)
        })
    }
}

/// Runs `aci-cli.wasm ARGS` with `env` and `dir` preopened as `.`.
async fn cli(env: &[(&str, String)], dir: &Path, args: &[&str]) -> Out {
    let (engine, component, linker) = compiled();
    let (stdout, stderr) = (
        MemoryOutputPipe::new(1 << 22),
        MemoryOutputPipe::new(1 << 22),
    );
    let mut argv = vec!["aci-cli.wasm"];
    argv.extend_from_slice(args);
    let mut wasi = WasiCtx::builder();
    wasi.args(&argv[..])
        .stdout(stdout.clone())
        .stderr(stderr.clone());
    for (k, v) in env {
        wasi.env(k, v);
    }
    wasi.preopened_dir(dir, ".", FsPerms::ReadWrite).unwrap();
    let mut store = Store::new(engine, StockCtx::new(wasi.build()));
    let status = stock::run(&mut store, component, linker)
        .await
        .unwrap_or_else(|e| panic!("aci-cli.wasm trapped or did not instantiate: {e:?}"));
    let text = |p: &MemoryOutputPipe| String::from_utf8_lossy(&p.contents()).into_owned();
    Out {
        status,
        stdout: text(&stdout),
        stderr: text(&stderr),
    }
}

/// An emulator with a short provisioning delay.
async fn emulator() -> Emulator {
    Emulator::start(EmulatorConfig {
        provision_delay: Duration::from_millis(50),
        ..EmulatorConfig::default()
    })
    .await
    .expect("start the emulator")
}

/// `AIRFLOW_CONN_AZURE_DEFAULT`: the emulator connection in Airflow's JSON form.
fn conn_env(emu: &Emulator) -> (&'static str, String) {
    let c = LocalConnections::of(emu).connection_for("azure_default");
    let value = json!({
        "conn_type": c.conn_type, "host": c.host, "login": c.login,
        "password": c.password, "extra": Value::Object(c.extra),
    });
    ("AIRFLOW_CONN_AZURE_DEFAULT", value.to_string())
}

/// Writes a task file `NAME.json` with the operator's usual params and `extra`.
fn task_file(dir: &Path, name: &str, extra: Value) -> String {
    let mut params = json!({
        "ci_conn_id": "azure_default", "resource_group": RG, "name": name,
        "image": "busybox:latest", "region": "westeurope", "polling_interval": 1.0,
    });
    for (k, v) in extra.as_object().cloned().unwrap_or_default() {
        params[k] = v;
    }
    let file = format!("{name}.json");
    let task = json!({"task_id": name, "dag_id": "cli", "params": params});
    std::fs::write(dir.join(&file), task.to_string()).unwrap();
    file
}

#[test]
fn only_standard_wasi_imports_remain() {
    let (engine, component, _) = compiled();
    let imports: Vec<String> = component
        .component_type()
        .imports(engine)
        .map(|(name, _)| name.to_string())
        .collect();
    assert!(
        imports
            .iter()
            .any(|i| i.starts_with("wasi:http/outgoing-handler@")),
        "{imports:?}"
    );
    // `orchestrator:task/types` only names types: nothing implements it, and
    // wasmtime accepts it missing (the other tests instantiate the component).
    let foreign: Vec<&String> = imports
        .iter()
        .filter(|i| !i.starts_with("wasi:") && !i.starts_with("orchestrator:task/types@"))
        .collect();
    assert!(foreign.is_empty(), "non-WASI imports left: {foreign:?}");
}

#[tokio::test]
async fn describe_and_validate_need_no_connection() {
    let dir = tempfile::tempdir().unwrap();
    let out = cli(&[], dir.path(), &["describe"]).await;
    assert_eq!(out.status, 0, "{}", out.stderr);
    let info = out.json();
    assert!(
        info["name"].as_str().is_some_and(|n| !n.is_empty()),
        "{info}"
    );
    assert!(info["params_schema"].is_object(), "{info}");

    let good = task_file(dir.path(), "good", json!({"command": ["echo", "hi"]}));
    let out = cli(&[], dir.path(), &["validate", &good]).await;
    assert_eq!(out.status, 0, "{}", out.stderr);
    assert!(out.stderr.contains("valid"), "{}", out.stderr);

    let bad = task_file(dir.path(), "bad", json!({"name": "Not_Valid"}));
    let out = cli(&[], dir.path(), &["validate", &bad]).await;
    assert_eq!(out.status, 125, "{}", out.stderr);
    assert!(
        out.stderr.contains("ACI name must match regex"),
        "{}",
        out.stderr
    );

    let out = cli(&[], dir.path(), &["run", "missing.json"]).await;
    assert_eq!(out.status, 125);
    assert!(
        out.stderr.contains("cannot read missing.json"),
        "{}",
        out.stderr
    );
    let out = cli(&[], dir.path(), &["frobnicate"]).await;
    assert_eq!(out.status, 2, "{}", out.stderr);
}

#[tokio::test]
async fn run_prints_the_result_and_exits_with_the_container_code() {
    let emu = emulator().await;
    let dir = tempfile::tempdir().unwrap();
    let env = [conn_env(&emu)];
    let secret = LocalConnections::of(&emu)
        .connection_for("x")
        .password
        .unwrap();

    let hello = task_file(dir.path(), "hello", json!({"command": ["echo", "hello"]}));
    let out = cli(&env, dir.path(), &["run", &hello]).await;
    assert_eq!(out.status, 0, "{}", out.stderr);
    let r = out.json();
    assert_eq!(
        (&r["task_id"], &r["state"], &r["exit_code"]),
        (&json!("hello"), &json!("success"), &json!(0)),
        "{r}"
    );
    assert!(
        out.stderr.contains("Container had exit code: 0"),
        "{}",
        out.stderr
    );

    let fail = task_file(
        dir.path(),
        "fail",
        json!({"command": ["sh", "-c", "echo test; echo logs; exit 3"], "xcom_all": true}),
    );
    let out = cli(&env, dir.path(), &["run", &fail]).await;
    assert_eq!(out.status, 3, "{}", out.stderr);
    let r = out.json();
    assert_eq!(
        (&r["state"], &r["exit_code"]),
        (&json!("failed"), &json!(3)),
        "{r}"
    );
    let logs = r["xcom"]["logs"]
        .as_array()
        .unwrap_or_else(|| panic!("no XCom logs: {r}"));
    assert_eq!(logs.last(), Some(&json!("logs\n")), "{r}");

    for text in [&out.stdout, &out.stderr] {
        assert!(!text.contains(&secret), "the client secret was printed");
    }
    assert!(no_groups_left(&emu).await, "{:?}", emu.stats().live_groups);
}

/// True once the emulator has no container group and no container process (a
/// delete answers 202 before the group is gone); waits at most 10 s.
async fn no_groups_left(emu: &Emulator) -> bool {
    emu.wait_until_empty(Duration::from_secs(10)).await
}

/// `hook METHOD --resource-group RG --name job MORE…`.
fn hook<'a>(method: &'a str, more: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["hook", method, "--resource-group", RG, "--name", "job"];
    args.extend_from_slice(more);
    args
}

#[tokio::test]
async fn hook_round_trip() {
    let emu = emulator().await;
    let dir = tempfile::tempdir().unwrap();
    let env = [conn_env(&emu)];
    let group = json!({"location": "westeurope", "properties": {"osType": "Linux",
        "restartPolicy": "Never", "containers": [{"name": "job", "properties": {
        "image": "busybox", "command": ["sh", "-c", "echo hi"],
        "resources": {"requests": {"cpu": 1.0, "memoryInGB": 1.5}}}}]}});
    std::fs::write(dir.path().join("group.json"), group.to_string()).unwrap();

    let out = cli(
        &env,
        dir.path(),
        &hook(
            "create-or-update",
            &["--container-group", "group.json", "--wait"],
        ),
    )
    .await;
    assert_eq!(out.status, 0, "{}", out.stderr);
    assert_eq!(out.json()["name"], "job", "{}", out.stdout);
    let out = cli(&env, dir.path(), &hook("get-state", &[])).await;
    assert_eq!(out.status, 0, "{}", out.stderr);
    assert_eq!(
        out.json()["properties"]["containers"][0]["name"],
        "job",
        "{}",
        out.stdout
    );
    assert_eq!(emu.stats().live_groups.len(), 1);
    let out = cli(&env, dir.path(), &hook("delete", &["--wait"])).await;
    assert_eq!(out.status, 0, "{}", out.stderr);
    let out = cli(&env, dir.path(), &hook("exists", &[])).await;
    assert_eq!(
        (out.status, out.stdout.trim()),
        (0, "false"),
        "{}",
        out.stderr
    );
    assert!(no_groups_left(&emu).await, "{:?}", emu.stats().live_groups);

    // Without the variable the hook says where it looked.
    let out = cli(&[], dir.path(), &hook("get-state", &[])).await;
    assert_eq!(out.status, 125);
    assert!(
        out.stderr.contains("AIRFLOW_CONN_AZURE_DEFAULT"),
        "{}",
        out.stderr
    );
}

/// `wasmtime` on `PATH`, when one is installed (CI does not install it).
fn wasmtime_on_path() -> Option<std::path::PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join("wasmtime"))
            .find(|p| p.is_file())
    })
}

/// `PROGRAM run -S http --dir . --env VAR aci-cli.wasm run TASK` as a
/// process: the `wasi-run` binary, and the real `wasmtime` CLI when one is on
/// `PATH`, with the same command line.
#[tokio::test]
async fn the_same_command_line_runs_in_wasi_run_and_a_real_wasmtime() {
    let mut programs = vec![std::path::PathBuf::from(env!("CARGO_BIN_EXE_wasi-run"))];
    match wasmtime_on_path() {
        Some(real) => programs.push(real),
        None => eprintln!("no `wasmtime` on PATH: the stock CLI itself is not exercised"),
    }
    let emu = emulator().await;
    let dir = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let (var, value) = conn_env(&emu);
    let hello = task_file(dir.path(), "real", json!({"command": ["echo", "hello"]}));
    for program in programs {
        let out = tokio::process::Command::new(&program)
            .current_dir(dir.path())
            .env(var, &value)
            .env("XDG_CACHE_HOME", cache.path())
            .args(["run", "-S", "http", "--dir", ".", "--env", var])
            .args([aci_cli::ACI_CLI_WASM, "run", hello.as_str()])
            .output()
            .await
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}: {stderr}",
            program.display()
        );
        let r: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(r["state"], "success", "{}: {r}", program.display());
        assert!(no_groups_left(&emu).await);
    }
}

/// `wasi-run` exits as `wasmtime run` does: the component's status, 2 for
/// a command line it does not take, and without `-S http` the component
/// does not link.
#[test]
fn wasi_run_exits_as_wasmtime_run_does() {
    let wasi_run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_wasi-run"))
            .args(args)
            .env(
                "XDG_CACHE_HOME",
                std::env::temp_dir().join("aci-cli-test-cache"),
            )
            .output()
            .unwrap()
    };
    let wasm = aci_cli::ACI_CLI_WASM;
    let out = wasi_run(&["run", "-S", "http", wasm, "frobnicate"]);
    assert_eq!(out.status.code(), Some(2));
    let out = wasi_run(&["run", "-S", "http", wasm, "describe"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(serde_json::from_slice::<Value>(&out.stdout).is_ok());
    let out = wasi_run(&["run", wasm, "describe"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("wasi:http/"), "{stderr}");
    assert_eq!(out.status.code(), Some(1));
    let out = wasi_run(&["run", "--invoke", "f", wasm]);
    assert_eq!(out.status.code(), Some(2));
}
