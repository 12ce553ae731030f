//! Bounds per task, end to end: requests in flight, deadlines and Ctrl-C
//! for `validate` and hook calls, and response sizes the plugin can hold.

use std::io::BufRead;
use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use aci_e2e::cli::{aci_host, text};
use aci_e2e::ScannedRunner;
use aci_e2e::{
    CancelToken, Harness, Runner, RunnerOptions, StaticConnections, TaskEnv, TaskError, TaskSpec,
    HTTP_PROBE_COMPONENT,
};
use aci_host::policy::AllowRule;
use aci_host::runner::CallDeadlines;

fn probe_runner(deadlines: CallDeadlines) -> ScannedRunner {
    Runner::new(RunnerOptions {
        engine: aci_e2e::engine_options(),
        plugin: Some(HTTP_PROBE_COMPONENT.into()),
        deadlines,
    })
    .expect("load the probe")
    .into()
}

fn probe_env(allow: &[String]) -> TaskEnv {
    let mut env = TaskEnv::new(Arc::new(StaticConnections::default()));
    env.allow_hosts = allow.iter().map(|a| AllowRule::parse(a).unwrap()).collect();
    env
}

fn params(v: serde_json::Value) -> serde_json::Map<String, serde_json::Value> {
    v.as_object().unwrap().clone()
}

/// A loopback HTTP server that holds each request until more than `hold`
/// are open at once (a breach of the bound under test) or 300 ms pass, then
/// answers `200 ok`; it records the most requests open at once.
async fn holding_server(hold: usize) -> (u16, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let open = Arc::new(AtomicUsize::new(0));
    let high = Arc::new(AtomicUsize::new(0));
    let changed = Arc::new(tokio::sync::Notify::new());
    let high_mark = high.clone();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let (open, high, changed) = (open.clone(), high_mark.clone(), changed.clone());
            tokio::spawn(async move {
                use tokio::io::{AsyncReadExt, AsyncWriteExt};
                let mut buf = [0u8; 4096];
                let _ = stream.read(&mut buf).await;
                let now = open.fetch_add(1, Ordering::SeqCst) + 1;
                high.fetch_max(now, Ordering::SeqCst);
                changed.notify_waiters();
                let _ = tokio::time::timeout(Duration::from_millis(300), async {
                    while open.load(Ordering::SeqCst) <= hold {
                        changed.notified().await;
                    }
                })
                .await;
                open.fetch_sub(1, Ordering::SeqCst);
                let _ = stream
                    .write_all(
                        b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok",
                    )
                    .await;
            });
        }
    });
    (port, high)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guest_cannot_open_more_requests_than_its_bound() {
    let (port, high) = holding_server(3).await;
    let runner = probe_runner(CallDeadlines::default());
    let mut env = probe_env(&[format!("http://127.0.0.1:{port}")]);
    env.max_requests_in_flight = 3;
    let url = format!("http://127.0.0.1:{port}/x");
    let spec = TaskSpec::new(
        "many",
        params(serde_json::json!({"url": url, "concurrent": 12})),
    );
    let report = runner.run(spec, env).await;
    assert_eq!(report.exit_status, 0, "{:?}", report.error);
    assert_eq!(report.return_value, serde_json::json!(12));
    let high = high.load(Ordering::SeqCst);
    assert!((1..=3).contains(&high), "{high} requests were open at once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validate_has_a_deadline() {
    let runner = probe_runner(CallDeadlines {
        validate: Duration::from_millis(300),
        ..CallDeadlines::default()
    });
    let p = params(serde_json::json!({"spin_validate": true}));
    let answer = tokio::time::timeout(Duration::from_secs(60), runner.validate(&p))
        .await
        .expect("validate returned")
        .expect("no trap");
    match answer {
        Err(TaskError::TimedOut(m)) => {
            assert!(m.contains("validate did not finish within 0.3 s"), "{m}")
        }
        other => panic!("{other:?}"),
    }
    // Before `execute`, too: the task fails (125), it does not hang.
    let env = probe_env(&[]);
    let spec = TaskSpec::new("spin", p);
    let report = tokio::time::timeout(Duration::from_secs(60), runner.run(spec, env))
        .await
        .expect("run returned");
    assert_eq!(report.exit_status, 125, "{:?}", report.error);
    assert!(
        report
            .error
            .as_deref()
            .unwrap_or("")
            .contains("did not finish"),
        "{:?}",
        report.error
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validate_honours_cancellation() {
    let runner = probe_runner(CallDeadlines::default());
    let p = params(serde_json::json!({"spin_validate": true}));
    let cancel = CancelToken::new();
    let c = cancel.clone();
    let validating = tokio::spawn(async move {
        let runner = runner;
        runner.validate_cancellable(&p, &c).await
    });
    cancel.cancel();
    let answer = tokio::time::timeout(Duration::from_secs(60), validating)
        .await
        .expect("validate returned")
        .unwrap()
        .expect("no trap");
    assert!(matches!(answer, Err(TaskError::Cancelled(_))), "{answer:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hook_calls_have_a_deadline() {
    // A token endpoint that accepts connections and never answers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    let h = Harness::start().await;
    let runner = Runner::new(RunnerOptions {
        engine: aci_e2e::engine_options(),
        plugin: None,
        deadlines: CallDeadlines {
            hook: Duration::from_secs(1),
            ..CallDeadlines::default()
        },
    })
    .map(ScannedRunner::from)
    .unwrap();
    let mut conn = h.connection("azure_default");
    conn.extra.insert("authority_host".into(), base.into());
    let connections = StaticConnections([("azure_default".to_string(), conn)].into());
    let (env, _) = h.env_with(Arc::new(connections));
    let args = serde_json::json!({"target": Harness::group("g")});
    let answer = tokio::time::timeout(Duration::from_secs(60), runner.hook("exists", args, env))
        .await
        .expect("the hook call returned")
        .expect("no trap");
    match answer {
        Err(TaskError::TimedOut(m)) => {
            assert!(
                m.contains("`exists` (--hook-timeout) did not finish within 1 s"),
                "{m}"
            )
        }
        other => panic!("{other:?}"),
    }
}

/// A task file for the probe whose `validate` spins forever.
fn spinning_task(dir: &std::path::Path) -> std::path::PathBuf {
    let path = dir.join("spin.toml");
    std::fs::write(
        &path,
        "task_id = \"spin\"\n[params]\nspin_validate = true\n",
    )
    .unwrap();
    path
}

#[test]
fn validate_command_times_out() {
    let dir = tempfile::tempdir().unwrap();
    let task = spinning_task(dir.path());
    let child = aci_host(
        &[
            "--plugin",
            HTTP_PROBE_COMPONENT,
            "--validate-timeout",
            "0.5",
            "validate",
            task.to_str().unwrap(),
        ],
        dir.path(),
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let out = child.finish(Duration::from_secs(60));
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(125), "{stderr}");
    assert!(
        stderr.contains("validate did not finish within 0.5 s"),
        "{stderr}"
    );
}

#[test]
fn validate_command_stops_at_the_first_ctrl_c() {
    let dir = tempfile::tempdir().unwrap();
    let task = spinning_task(dir.path());
    let mut child = aci_host(
        &[
            "-v",
            "--plugin",
            HTTP_PROBE_COMPONENT,
            "validate",
            task.to_str().unwrap(),
        ],
        dir.path(),
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    // The handler is installed before `validating …` is logged.
    let stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in stderr.lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut seen = String::new();
    // Bounded: each wait ends within a minute; the process writes few lines.
    while let Ok(line) = rx.recv_timeout(Duration::from_secs(60)) {
        seen.push_str(&line);
        seen.push('\n');
        if line.contains("validating") {
            break;
        }
    }
    if !seen.contains("validating") {
        let _ = child.kill();
        panic!("no `validating` line: {seen}");
    }
    // SAFETY: signalling our own child process.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGINT) }, 0);
    let (secrets, place) = (child.secrets().clone(), child.place().to_string());
    let out = child.finish(Duration::from_secs(60));
    // The reader ends at end of file, now that the process exited.
    let rest: String = rx.iter().map(|l| l + "\n").collect();
    secrets.check_text(&place, &format!("{seen}{rest}"));
    assert_eq!(out.status.code(), Some(130), "{seen}{rest}");
    assert!(rest.contains("cancelled"), "{seen}{rest}");
}

/// A fake Entra ID and ARM on loopback: tokens as usual, and `body` (with
/// status 200) for every ARM request.
async fn bloated_arm(body: Vec<u8>) -> String {
    use http_body_util::Full;
    use hyper::body::Bytes;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let body = Bytes::from(body);
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let body = body.clone();
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(move |req: hyper::Request<_>| {
                    let answer = if req.uri().path().contains("/oauth2/") {
                        Bytes::from_static(
                            br#"{"token_type":"Bearer","expires_in":3599,"access_token":"tok"}"#,
                        )
                    } else {
                        body.clone()
                    };
                    async move {
                        Ok::<_, std::convert::Infallible>(hyper::Response::new(Full::new(answer)))
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    base
}

/// `{"name":"g","bloat":[0,0,…]}` of about `size` bytes: a container group
/// with an unknown member (kept by the plugin) that costs a lot to parse.
fn bloated_group(size: usize) -> Vec<u8> {
    let mut out = br#"{"name":"g","bloat":["#.to_vec();
    while out.len() < size {
        out.extend_from_slice(b"0,");
    }
    out.extend_from_slice(b"0]}");
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_arm_responses_fail_cleanly_instead_of_trapping() {
    for (size, expected) in [
        (
            21_000_000,
            "the response body is larger than 16777216 bytes",
        ),
        (6_000_000, "the response is too large to parse"),
    ] {
        let base = bloated_arm(bloated_group(size)).await;
        let creds = aci_emulator::Credentials {
            tenant_id: "t".into(),
            client_id: "c".into(),
            client_secret: "s".into(),
            subscription_id: "00000000-0000-0000-0000-000000000000".into(),
        };
        let conn =
            aci_host::local::LocalConnections::new(base, creds).connection_for("azure_default");
        let connections = StaticConnections([("azure_default".to_string(), conn)].into());
        let env = TaskEnv::new(Arc::new(connections));
        let args = serde_json::json!({"target": Harness::group("g")});
        let answer = aci_e2e::runner()
            .hook("get-state", args, env)
            .await
            .unwrap_or_else(|trap| panic!("{size} bytes: the plugin trapped: {trap:#}"));
        match answer {
            Err(TaskError::Remote(e)) => {
                assert!(e.message.contains(expected), "{size} bytes: {e:?}")
            }
            other => panic!("{size} bytes: {other:?}"),
        }
    }
}
