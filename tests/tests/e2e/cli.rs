//! The `aci-host` binary end to end: describe, validate, run (with `--local`
//! and against an emulator named by an `AIRFLOW_CONN_*` connection), exit
//! statuses 0 / N / 124 / 125 / 130, the `--json` shape of every outcome,
//! SIGINT cleanup and a second SIGINT, `--quiet` / `-v` / `RUST_LOG`, the
//! live status line on a terminal, and `aci-host emulator` on its own.

use aci_e2e::cli::{aci_host, emulator_conn, text};
use std::io::{BufRead, Read};
use std::os::fd::{FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aci_e2e::{runner, wait_until, Emulator, EmulatorConfig, Faults, TaskEnv};
use aci_host::local::LocalConnections;

fn run(args: &[&str], state: &Path) -> Output {
    aci_host(args, state).output().expect("run aci-host")
}

fn write_task(dir: &Path, name: &str, body: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, body).unwrap();
    p
}

/// The one JSON object `run --json` prints for one task, with the contract's exact keys.
fn json_result(out: &Output) -> serde_json::Value {
    let stdout = text(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines.len(),
        1,
        "one JSON line on stdout: {stdout:?}\nstderr: {}",
        text(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_str(lines[0]).expect("a JSON object");
    assert_shape(&v);
    v
}

/// Checks the contract's `--json` shape: exactly these keys, with these types.
fn assert_shape(v: &serde_json::Value) {
    let obj = v
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {v}"));
    let mut keys: Vec<&str> = obj.keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "error",
            "exit_code",
            "return_value",
            "state",
            "task_id",
            "xcom"
        ],
        "{v}"
    );
    assert!(v["task_id"].is_string(), "{v}");
    assert!(v["xcom"].is_object(), "{v}");
    assert!(v["exit_code"].is_null() || v["exit_code"].is_i64(), "{v}");
    match v["state"].as_str() {
        Some("success") => assert!(v["error"].is_null(), "{v}"),
        Some("failed") => {
            assert!(
                v["error"].as_str().is_some_and(|e| !e.is_empty()),
                "a failure says why: {v}"
            );
            assert!(v["return_value"].is_null(), "{v}");
        }
        other => panic!("state {other:?}: {v}"),
    }
}

#[test]
fn describe_prints_the_schema() {
    let state = tempfile::tempdir().unwrap();
    let out = run(&["describe"], state.path());
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("describe prints JSON");
    assert_eq!(v["name"], "AzureContainerInstancesOperator");
    assert_eq!(
        v["template_fields"],
        serde_json::json!([
            "name",
            "image",
            "command",
            "environment_variables",
            "volumes"
        ])
    );
    let props = v["params_schema"]["properties"]
        .as_object()
        .expect("a JSON Schema with properties");
    for p in [
        "ci_conn_id",
        "resource_group",
        "name",
        "image",
        "region",
        "container_timeout",
        "xcom_all",
        "identity",
        "priority",
    ] {
        assert!(props.contains_key(p), "schema lacks {p}");
    }
}

#[test]
fn validate_accepts_the_examples_and_rejects_invalid_tasks() {
    let state = tempfile::tempdir().unwrap();
    let out = run(
        &["validate", "examples/hello.toml", "examples/fail.toml"],
        state.path(),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let cases = [
        ("examples/invalid/bad_name.toml", "ACI name must match regex [a-z0-9]([-a-z0-9]*[a-z0-9])? (like \"my-name\")"),
        ("examples/invalid/bad_os_type.toml", "Invalid value for the os_type argument. Please set 'Linux' or 'Windows' as the os_type. Found `MacOs`."),
        (
            "examples/invalid/bad_restart_policy.toml",
            "Invalid value for the restart_policy argument. Please set one of 'Always', 'OnFailure','Never' as the restart_policy. Found `Everyday`",
        ),
    ];
    for (file, message) in cases {
        let out = run(&["validate", file], state.path());
        assert_eq!(
            out.status.code(),
            Some(125),
            "{file}: {}",
            text(&out.stderr)
        );
        assert!(
            text(&out.stderr).contains(message),
            "{file}: expected `{message}` in {}",
            text(&out.stderr)
        );
    }
}

#[test]
fn run_local_hello_succeeds_with_json_result() {
    let state = tempfile::tempdir().unwrap();
    let out = run(
        &["run", "examples/hello.toml", "--local", "--json"],
        state.path(),
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("Hello from hello on "),
        "container output is streamed: {stderr}"
    );
    assert!(
        !stderr.contains('\x1b'),
        "no terminal control codes when stderr is not a terminal: {stderr:?}"
    );
    assert!(
        stderr.contains("hello succeeded in "),
        "the final result is reported: {stderr}"
    );
    let v = json_result(&out);
    assert_eq!(v["task_id"], "hello");
    assert_eq!(v["state"], "success");
    assert_eq!(v["exit_code"], 0);
    assert_eq!(v["return_value"], 0);
    assert!(v["error"].is_null());
    assert!(
        v["xcom"]["logs"].as_array().is_some_and(|l| l.len() == 4),
        "xcom_all=true pushes all lines: {v}"
    );
}

#[test]
fn local_mode_ignores_defined_azure_connections() {
    // A real-looking Azure connection is defined, but --local must never use it.
    let state = tempfile::tempdir().unwrap();
    let out = aci_host(
        &["run", "examples/hello.toml", "--local", "--json"],
        state.path(),
    )
    .env(
        "AIRFLOW_CONN_AZURE_DEFAULT",
        "azure://client:not-a-real-secret@?tenantId=t-1&subscriptionId=s-1",
    )
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(json_result(&out)["state"], "success");
}

#[test]
fn run_local_failure_exits_with_the_container_code() {
    let state = tempfile::tempdir().unwrap();
    let out = run(
        &["run", "examples/fail.toml", "--local", "--json"],
        state.path(),
    );
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    let v = json_result(&out);
    assert_eq!(v["task_id"], "fail");
    assert_eq!(v["state"], "failed");
    assert_eq!(v["exit_code"], 3);
    assert!(
        v["error"].as_str().unwrap().contains("non-zero exit code"),
        "{v}"
    );
}

#[test]
fn run_local_timeout_exits_124() {
    let state = tempfile::tempdir().unwrap();
    let task = write_task(
        state.path(),
        "slow.toml",
        r#"
task_id = "slow"
[params]
ci_conn_id = "azure_default"
resource_group = "rg"
name = "slow-task"
image = "busybox"
region = "westeurope"
command = ["sleep", "60"]
container_timeout = 2
"#,
    );
    let out = run(
        &["run", task.to_str().unwrap(), "--local", "--json"],
        state.path(),
    );
    assert_eq!(out.status.code(), Some(124), "{}", text(&out.stderr));
    let v = json_result(&out);
    assert_eq!(v["task_id"], "slow");
    assert_eq!(v["state"], "failed");
    assert!(v["exit_code"].is_null(), "{v}");
    assert!(v["error"].as_str().unwrap().contains("timed out"), "{v}");
}

#[test]
fn invalid_task_or_missing_connection_exits_125() {
    let state = tempfile::tempdir().unwrap();
    let out = run(
        &["run", "examples/invalid/bad_name.toml", "--local", "--json"],
        state.path(),
    );
    assert_eq!(out.status.code(), Some(125));
    let v = json_result(&out);
    assert_eq!(v["task_id"], "bad_name");
    assert!(v["exit_code"].is_null(), "{v}");
    assert!(
        v["error"]
            .as_str()
            .unwrap()
            .contains("ACI name must match regex"),
        "{v}"
    );
    // Without --local the connection must exist; the error says where we looked.
    let out = aci_host(&["run", "examples/hello.toml", "--json"], state.path())
        .env_remove("AIRFLOW_CONN_AZURE_DEFAULT")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(125), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("azure_default"),
        "{}",
        text(&out.stderr)
    );
    let v = json_result(&out);
    assert_eq!(v["task_id"], "hello");
    assert!(
        v["error"].as_str().unwrap().contains("azure_default"),
        "{v}"
    );
}

#[test]
fn unreadable_task_files_fail_with_125_and_a_json_result() {
    let state = tempfile::tempdir().unwrap();
    let missing = state.path().join("nope.toml");
    let broken = write_task(
        state.path(),
        "broken.toml",
        "task_id = \"broken\"\n[params\n",
    );
    let no_id = write_task(state.path(), "no_id.toml", "[params]\nname = \"x\"\n");
    for (file, label, message) in [
        (&missing, "nope", "nope.toml"),
        (&broken, "broken", "broken.toml"),
        (&no_id, "no_id", "task_id"),
    ] {
        let out = run(
            &["run", file.to_str().unwrap(), "--local", "--json"],
            state.path(),
        );
        assert_eq!(out.status.code(), Some(125), "{}", text(&out.stderr));
        let v = json_result(&out);
        assert_eq!(v["task_id"], label, "{v}");
        assert!(v["error"].as_str().unwrap().contains(message), "{v}");
        assert!(text(&out.stderr).contains(message), "{}", text(&out.stderr));
    }
    // Bad arguments are 125 too, with a clear message.
    let out = run(
        &[
            "run",
            "examples/hello.toml",
            "--local",
            "--max-parallel",
            "0",
        ],
        state.path(),
    );
    assert_eq!(out.status.code(), Some(125));
    assert!(
        text(&out.stderr).contains("--max-parallel must be at least 1"),
        "{}",
        text(&out.stderr)
    );
    let out = run(
        &[
            "run",
            "examples/hello.toml",
            "--local",
            "--logical-date",
            "someday",
        ],
        state.path(),
    );
    assert_eq!(out.status.code(), Some(125));
    assert!(
        text(&out.stderr).contains("--logical-date"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn quiet_verbose_and_rust_log_control_stderr() {
    let state = tempfile::tempdir().unwrap();
    let hello = ["run", "examples/hello.toml", "--local"];
    // Default: task logs, no host diagnostics.
    let out = run(&hello, state.path());
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("Hello from hello"), "{stderr}");
    assert!(!stderr.contains("local mode: ARM emulator at"), "{stderr}");
    assert!(!stderr.contains("DEBUG "), "{stderr}");
    // Every task line carries a timestamp.
    let line = stderr
        .lines()
        .find(|l| l.contains("Hello from hello"))
        .unwrap();
    let time = line.split(' ').next().unwrap();
    assert!(
        time.len() == 8 && time.as_bytes()[2] == b':' && time.as_bytes()[5] == b':',
        "HH:MM:SS first: {line}"
    );
    // --quiet: only warnings, errors and the final result.
    let out = run(&[&hello[..], &["--quiet", "--json"]].concat(), state.path());
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("Hello from hello"), "{stderr}");
    assert!(!stderr.contains("Container group"), "{stderr}");
    assert_eq!(
        stderr.trim().lines().count(),
        1,
        "just the result: {stderr}"
    );
    assert!(stderr.contains("hello succeeded in "), "{stderr}");
    assert_eq!(json_result(&out)["state"], "success");
    let out = run(
        &["run", "examples/fail.toml", "--local", "-q"],
        state.path(),
    );
    assert_eq!(out.status.code(), Some(3));
    assert!(
        text(&out.stderr).contains("error: fail failed after"),
        "{}",
        text(&out.stderr)
    );
    assert!(
        !text(&out.stderr).contains("about to fail"),
        "{}",
        text(&out.stderr)
    );
    // -v: host diagnostics and the plugin's debug lines.
    let out = run(&[&hello[..], &["-v"]].concat(), state.path());
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("local mode: ARM emulator at http://127.0.0.1:"),
        "{stderr}"
    );
    assert!(
        stderr.contains("DEBUG "),
        "the plugin's debug lines: {stderr}"
    );
    // RUST_LOG sets the host diagnostics filter, with or without -v.
    let out = aci_host(&hello, state.path())
        .env("RUST_LOG", "info")
        .output()
        .unwrap();
    assert!(
        text(&out.stderr).contains("local mode: ARM emulator at"),
        "{}",
        text(&out.stderr)
    );
    let out = aci_host(&[&hello[..], &["-v"]].concat(), state.path())
        .env("RUST_LOG", "error")
        .output()
        .unwrap();
    assert!(
        !text(&out.stderr).contains("local mode: ARM emulator at"),
        "{}",
        text(&out.stderr)
    );
}

/// Opens a new pseudo-terminal; returns its master and slave sides, both
/// close-on-exec from the start, so a child another test spawns meanwhile
/// cannot inherit the slave and keep the terminal open.
fn open_terminal() -> (OwnedFd, OwnedFd) {
    let flags = libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC;
    // SAFETY: plain libc calls on a descriptor we own; each result is checked.
    unsafe {
        let master = libc::posix_openpt(flags);
        assert!(
            master >= 0,
            "posix_openpt: {}",
            std::io::Error::last_os_error()
        );
        let master = OwnedFd::from_raw_fd(master);
        let fd = std::os::fd::AsRawFd::as_raw_fd(&master);
        assert_eq!(libc::grantpt(fd), 0, "grantpt");
        assert_eq!(libc::unlockpt(fd), 0, "unlockpt");
        let mut name = [0 as libc::c_char; 128];
        assert_eq!(
            libc::ptsname_r(fd, name.as_mut_ptr(), name.len()),
            0,
            "ptsname_r"
        );
        let slave = libc::open(name.as_ptr(), flags);
        assert!(
            slave >= 0,
            "open pty slave: {}",
            std::io::Error::last_os_error()
        );
        (master, OwnedFd::from_raw_fd(slave))
    }
}

/// Runs `aci-host` with stderr on a new pseudo-terminal; returns the exit
/// status, what the terminal showed, and stdout.
fn run_on_a_terminal(args: &[&str], state: &Path) -> (Option<i32>, String, String) {
    let (master, slave) = open_terminal();
    let mut cmd = aci_host(args, state);
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(slave))
        .env("TERM", "xterm")
        .env("COLUMNS", "200");
    let mut child = cmd.spawn().unwrap();
    drop(cmd); // closes our copy of the terminal's slave side
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut file = std::fs::File::from(master);
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        // Ends at EOF / EIO, once every writer has closed the terminal.
        while let Ok(n) = file.read(&mut chunk) {
            if n == 0 {
                break;
            }
            buf.extend_from_slice(&chunk[..n]);
        }
        let _ = tx.send(buf);
    });
    let mut stdout = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    let status = child.wait_bounded(Duration::from_secs(120));
    let screen = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("the terminal closed");
    let screen = String::from_utf8_lossy(&screen).into_owned();
    child.check(&screen);
    child.check(&stdout);
    (status, screen, stdout)
}

#[test]
fn a_terminal_gets_a_live_status_line_above_which_logs_scroll() {
    let state = tempfile::tempdir().unwrap();
    let (status, screen, stdout) = run_on_a_terminal(
        &["run", "examples/hello.toml", "--local", "--json"],
        state.path(),
    );
    assert_eq!(status, Some(0), "{screen}");
    // The status line is erased and redrawn around log lines.
    assert!(screen.contains("\r\x1b[2K"), "{screen:?}");
    // It shows every container state the plugin reported, with the elapsed time.
    let states: Vec<&str> = screen
        .split(['\r', '\n'])
        .filter_map(|l| l.split("Container group state changed to ").nth(1))
        .map(str::trim)
        .collect();
    assert!(!states.is_empty(), "{screen:?}");
    for s in states {
        assert!(
            screen.contains(&format!(" hello · {s} · ")),
            "no status line for state {s}: {screen:?}"
        );
    }
    // Logs still arrive whole, and the status line is gone at the end.
    assert!(screen.contains("Hello from hello on "), "{screen:?}");
    let tail = screen.rsplit("\x1b[2K").next().unwrap();
    assert!(
        tail.starts_with("hello succeeded in "),
        "the last thing shown is the result: {tail:?}"
    );
    // stdout (not a terminal) is the JSON alone.
    let v: serde_json::Value = serde_json::from_str(stdout.trim()).expect("JSON on stdout");
    assert_shape(&v);
    // --quiet draws no status line.
    let (status, screen, _) = run_on_a_terminal(
        &["run", "examples/hello.toml", "--local", "-q"],
        state.path(),
    );
    assert_eq!(status, Some(0), "{screen}");
    assert!(!screen.contains('\x1b'), "{screen:?}");
    assert!(screen.contains("hello succeeded in "), "{screen:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigint_cancels_and_deletes_the_group() {
    signal_cancels_and_deletes_the_group("-INT").await;
}

/// Fault matrix: SIGTERM (what a scheduler or `kill` sends) of `aci-host run` mid-run
/// cancels the task, exits 130 and leaves zero container groups.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_cancels_and_deletes_the_group() {
    signal_cancels_and_deletes_the_group("-TERM").await;
}

/// Sends `signal` (a `kill` flag) to `aci-host run` once its container runs: the task is
/// cancelled (exit 130, JSON state `failed`), its group deleted once, nothing left behind.
async fn signal_cancels_and_deletes_the_group(signal: &'static str) {
    let emulator = Emulator::start(EmulatorConfig {
        provision_delay: Duration::from_millis(100),
        ..EmulatorConfig::default()
    })
    .await
    .unwrap();
    let state = tempfile::tempdir().unwrap();
    let task = write_task(
        state.path(),
        "long.toml",
        r#"
task_id = "long"
[params]
ci_conn_id = "azure_default"
resource_group = "rg"
name = "long-running"
image = "busybox"
region = "westeurope"
command = ["sleep", "300"]
"#,
    );
    let child = aci_host(&["run", task.to_str().unwrap(), "--json"], state.path())
        .env("AIRFLOW_CONN_AZURE_DEFAULT", emulator_conn(&emulator))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let running = wait_until(Duration::from_secs(60), || {
        emulator.stats().live_processes > 0
    })
    .await;
    assert!(running, "the container never started");
    let status = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = tokio::task::spawn_blocking(move || child.finish(Duration::from_secs(60)))
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_str(text(&out.stdout).trim()).unwrap();
    assert_eq!(v["state"], "failed");
    // The cleanup's DELETE was accepted (202: the emulator deletes asynchronously, as ARM);
    // the group and its process are then gone.
    assert_eq!(emulator.stats().count("ContainerGroups_Delete", 202), 1);
    let gone = emulator.wait_until_empty(Duration::from_secs(30)).await;
    assert!(gone, "the group was left behind: {:?}", emulator.stats());
    emulator.shutdown().await;
}

/// Collects a child's stderr lines as they arrive.
pub(crate) fn collect_lines(stream: impl Read + Send + 'static) -> Arc<Mutex<String>> {
    let seen = Arc::new(Mutex::new(String::new()));
    let sink = seen.clone();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stream)
            .lines()
            .map_while(Result::ok)
        {
            let mut s = sink.lock().unwrap();
            s.push_str(&line);
            s.push('\n');
        }
    });
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_sigint_exits_at_once() {
    let emulator = Emulator::start(EmulatorConfig {
        provision_delay: Duration::from_millis(100),
        ..EmulatorConfig::default()
    })
    .await
    .unwrap();
    let state = tempfile::tempdir().unwrap();
    let task = write_task(
        state.path(),
        "stuck.toml",
        r#"
task_id = "stuck"
[params]
ci_conn_id = "azure_default"
resource_group = "rg"
name = "stuck-cleanup"
image = "busybox"
region = "westeurope"
command = ["sleep", "300"]
"#,
    );
    let mut child = aci_host(
        &["run", task.to_str().unwrap(), "--cancel-grace", "120"],
        state.path(),
    )
    .env("AIRFLOW_CONN_AZURE_DEFAULT", emulator_conn(&emulator))
    .stdout(Stdio::null())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let stderr = collect_lines(child.stderr.take().unwrap());
    assert!(
        wait_until(Duration::from_secs(60), || emulator.stats().live_processes
            > 0)
        .await,
        "the container never started"
    );
    // From now on ARM answers after a minute: a clean cancel would take that long.
    emulator.set_faults(Faults {
        latency: Some(Duration::from_secs(60)),
        ..Faults::default()
    });
    let pid = child.id().to_string();
    assert!(Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap()
        .success());
    let cancelling = wait_until(Duration::from_secs(20), || {
        stderr.lock().unwrap().contains("cancelling:")
    })
    .await;
    assert!(
        cancelling,
        "the first SIGINT starts a clean cancel: {}",
        stderr.lock().unwrap()
    );
    assert!(Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap()
        .success());
    let (status, child) =
        tokio::task::spawn_blocking(move || (child.wait_bounded(Duration::from_secs(30)), child))
            .await
            .unwrap();
    // Within the bound (a 60 s cleanup would not be), and, by order rather than by the
    // clock, before the cleanup: the group is still there below.
    assert_eq!(status, Some(130), "{}", stderr.lock().unwrap());
    assert!(
        wait_until(Duration::from_secs(5), || stderr
            .lock()
            .unwrap()
            .contains("exiting at once"))
        .await,
        "{}",
        stderr.lock().unwrap()
    );
    child.check(&stderr.lock().unwrap());
    // It did not wait for the cleanup: the group is still there (left behind
    // on purpose); the emulator reaps its process.
    assert_eq!(
        emulator.stats().live_groups.len(),
        1,
        "{:?}",
        emulator.stats().live_groups
    );
    emulator.set_faults(Faults::default());
    emulator.shutdown().await;
}

/// The first two stdout lines of `child` (bounded wait).
async fn first_two_lines(child: &mut Child) -> (String, String) {
    let stdout = child.stdout.take().unwrap();
    let lines = tokio::task::spawn_blocking(move || {
        let mut reader = std::io::BufReader::new(stdout);
        let (mut first, mut second) = (String::new(), String::new());
        reader.read_line(&mut first)?;
        reader.read_line(&mut second).map(|_| (first, second))
    });
    tokio::time::timeout(Duration::from_secs(30), lines)
        .await
        .expect("first lines in time")
        .unwrap()
        .unwrap()
}

fn pid_exists(pid: i32) -> bool {
    // SAFETY: signal 0 only checks for existence.
    let r = unsafe { libc::kill(pid, 0) };
    r == 0 || std::io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
}

/// `aci-host emulator`: the first stdout line is the base URL, the second the credentials it
/// accepts (a random secret); SIGTERM stops it, kills the container processes it started and
/// closes the port.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emulator_prints_the_base_url_first_and_cleans_up_on_sigterm() {
    let state = tempfile::tempdir().unwrap();
    let mut child = aci_host(&["emulator", "--provision-delay", "0.1"], state.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("aci-host emulator starts");
    let (first, second) = first_two_lines(&mut child).await;
    let base = first.trim().to_string();
    assert!(
        base.starts_with("http://127.0.0.1:") && base.len() > "http://127.0.0.1:".len(),
        "{first:?}"
    );
    let creds: aci_emulator::Credentials =
        serde_json::from_str(&second).unwrap_or_else(|e| panic!("{e}: {second:?}"));
    assert_eq!(creds.client_id, aci_emulator::LOCAL_CLIENT_ID);
    assert!(creds.client_secret.len() >= 32, "a random secret");

    // A container through the hook: it prints its pid, then sleeps.
    let hook = |method: &'static str, args: serde_json::Value| {
        let connections = LocalConnections::new(base.clone(), creds.clone());
        let mut env = TaskEnv::new(Arc::new(connections));
        env.host_env = aci_e2e::HostEnv::Fixed(Default::default());
        async move { runner().hook(method, args, env).await.expect("no trap") }
    };
    let group =
        serde_json::json!({"conn_id": "azure_default", "resource_group": "rg", "name": "cli"});
    let body = serde_json::json!({"location": "westeurope", "properties": {
        "osType": "Linux", "restartPolicy": "Never",
        "containers": [{"name": "cli", "properties": {
            "image": "busybox", "command": ["sh", "-c", "echo pid $$; exec sleep 300"],
            "resources": {"requests": {"cpu": 1, "memoryInGB": 1.5}}}}]}});
    hook("create-or-update", serde_json::json!({"target": group.clone(), "container_group": body.to_string(), "wait": false}))
    .await
    .expect("create");
    let deadline = Instant::now() + Duration::from_secs(30);
    let pid: i32 = loop {
        let logs = hook(
            "get-logs",
            serde_json::json!({"target": group.clone(), "tail": null}),
        )
        .await;
        let line = logs.ok().and_then(|l| {
            l.as_array()?.iter().find_map(|l| {
                l.as_str()?
                    .strip_prefix("pid ")
                    .map(|p| p.trim().to_string())
            })
        });
        if let Some(pid) = line {
            break pid.parse().unwrap();
        }
        assert!(Instant::now() < deadline, "no pid line in the logs");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(pid_exists(pid));

    assert!(Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap()
        .success());
    let (status, mut child) =
        tokio::task::spawn_blocking(move || (child.wait_bounded(Duration::from_secs(30)), child))
            .await
            .unwrap();
    assert_eq!(status, Some(0), "the emulator exits cleanly after SIGTERM");
    assert!(!pid_exists(pid), "container process killed on exit");
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(err.contains("oauth2/v2.0/token"), "help on stderr: {err}");
    assert!(
        !err.contains(&creds.client_secret),
        "no secret on stderr: {err}"
    );
    let addr = base.trim_start_matches("http://");
    assert!(
        std::net::TcpStream::connect(addr).is_err(),
        "no longer listening"
    );
}
