//! Least privilege, tried as an attacker would: a hostile plugin (the `hostile`
//! test guest, on the guest SDK, sending through the raw `wasi:http` API) tries
//! each way out of the grant its operator declared. Every attempt must end as
//! `denied` and never reach the loopback test server, which counts the
//! connections it accepts.
//!
//! For the plain-http names an attacker would use to pass for loopback
//! (`127.attacker.example`, `localhost.evil`, `[::ffff:10.0.0.1]`,
//! `[::ffff:127.0.0.1]:PORT`) the plan grants the origin itself (checked with
//! `explain`), so only the credential rule can stop the request; the same
//! request to the granted loopback server does go through.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use aci_e2e::ScannedRunner;
use aci_e2e::{
    Connection, HostEnv, Runner, RunnerOptions, StaticConnections, TaskEnv, TaskSpec,
    HOSTILE_COMPONENT,
};
use aci_host::policy::AllowRule;
use aci_host::runner::{ErrorKind, TaskReport};
use serde_json::{json, Value};

/// A loopback server that counts accepted connections and answers 200.
struct Listener {
    port: u16,
    accepted: Arc<AtomicUsize>,
}

impl Listener {
    async fn start() -> Listener {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = l.local_addr().unwrap().port();
        let accepted = Arc::new(AtomicUsize::new(0));
        let count = accepted.clone();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = l.accept().await {
                count.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    use tokio::io::{AsyncReadExt, AsyncWriteExt};
                    let mut buf = [0u8; 4096];
                    let _ = s.read(&mut buf).await;
                    let _ = s
                        .write_all(
                            b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                        )
                        .await;
                });
            }
        });
        Listener { port, accepted }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/token", self.port)
    }

    fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}

fn hostile_runner() -> ScannedRunner {
    Runner::new(RunnerOptions {
        engine: aci_e2e::engine_options(),
        plugin: Some(HOSTILE_COMPONENT.into()),
        ..RunnerOptions::default()
    })
    .expect("load the hostile guest")
    .into()
}

/// A Postgres connection that names the listener as host and as an endpoint
/// extra (what the old host turned into an egress grant), and an Azure one.
fn env(listener: &Listener) -> TaskEnv {
    let mut pg = Connection::new("pg", "postgres");
    pg.host = Some("127.0.0.1".into());
    pg.port = Some(listener.port);
    pg.login = Some("app".into());
    pg.password = Some("pg-password-1".into());
    pg.extra = json!({"resource_manager_url": format!("http://127.0.0.1:{}", listener.port),
        "authority_host": format!("http://127.0.0.1:{}", listener.port)})
    .as_object()
    .unwrap()
    .clone();
    let mut azure = Connection::new("azure_default", "azure_container_instance");
    azure.login = Some("client".into());
    azure.password = Some("azure-secret-1".into());
    let conns: HashMap<String, Connection> = [pg, azure]
        .into_iter()
        .map(|c| (c.conn_id.clone(), c))
        .collect();
    let mut env = TaskEnv::new(Arc::new(StaticConnections(conns)));
    env.host_env = HostEnv::Fixed(Default::default());
    env
}

fn spec(params: Value) -> TaskSpec {
    TaskSpec::new("hostile", params.as_object().unwrap().clone())
}

/// Runs one attack and checks it ended as `denied` without reaching the listener.
async fn assert_denied(
    runner: &Runner,
    listener: &Listener,
    env: TaskEnv,
    params: Value,
) -> TaskReport {
    let report = runner.run(spec(params.clone()), env).await;
    assert_eq!(
        report.error_kind,
        Some(ErrorKind::Denied),
        "{params}: {:?}",
        report.error
    );
    assert_eq!(report.exit_status, 125);
    assert_eq!(listener.accepted(), 0, "{params} reached the listener");
    report
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_undeclared_connection_is_denied() {
    let listener = Listener::start().await;
    let runner = hostile_runner();
    let report = assert_denied(
        &runner,
        &listener,
        env(&listener),
        json!({"attack": "read-undeclared", "declare": ["pg"], "conn": "azure_default"}),
    )
    .await;
    let error = report.error.unwrap();
    assert!(
        error.contains("`azure_default`") && error.contains("granted: pg"),
        "{error}"
    );
    assert!(!error.contains("azure-secret-1"), "{error}");
    // Declaring nothing reads nothing, not even a connection that exists.
    assert_denied(
        &runner,
        &listener,
        env(&listener),
        json!({"attack": "read-undeclared", "conn": "pg"}),
    )
    .await;
}

/// Resolving a declared non-Azure connection widens nothing: its host and its
/// endpoint-looking extras stay out of reach, and so does a cloud's ARM.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resolving_a_connection_grants_no_origin() {
    let listener = Listener::start().await;
    let runner = hostile_runner();
    for url in [
        listener.url(),
        "https://management.azure.com/subscriptions".to_string(),
    ] {
        let report = assert_denied(
            &runner,
            &listener,
            env(&listener),
            json!({"attack": "egress-after-connection", "declare": ["pg"], "conn": "pg", "url": url}),
        )
        .await;
        assert_eq!(report.requests, (0, 1), "{url}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undeclared_files_and_escapes_while_planning_are_denied() {
    let listener = Listener::start().await;
    let runner = hostile_runner();
    assert_denied(
        &runner,
        &listener,
        env(&listener),
        json!({"attack": "read-file", "path": "/etc/hostname"}),
    )
    .await;
    // While planning nothing is granted yet, even what the plan is about to declare.
    let mut e = env(&listener);
    e.allow_hosts = vec![AllowRule::parse(&format!("http://127.0.0.1:{}", listener.port)).unwrap()];
    let report = assert_denied(
        &runner,
        &listener,
        e,
        json!({"attack": "plan-escape", "declare": ["pg"], "conn": "pg", "url": listener.url()}),
    )
    .await;
    assert!(report
        .error
        .unwrap()
        .contains("nothing escapes while planning"));
}

/// A bearer token, a client secret in a sized body and an assertion in a body
/// of unknown length, each to a plain-http origin that only looks like
/// loopback, which the plan itself grants: the credential rule stops them all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_never_go_over_plain_http_to_look_alike_hosts() {
    let listener = Listener::start().await;
    let runner = hostile_runner();
    let look_alikes = [
        "http://127.attacker.example/t".to_string(),
        "http://localhost.evil/t".to_string(),
        "http://[::ffff:10.0.0.1]/t".to_string(),
        format!("http://[::ffff:127.0.0.1]:{}/t", listener.port),
    ];
    for url in &look_alikes {
        let params = |attack: &str| json!({"attack": attack, "grant": [url], "url": url});
        // The origin is in the grant: only the credential rule stands in the way.
        let grant = runner
            .explain(&spec(params("bearer")), &env(&listener))
            .await
            .unwrap()
            .unwrap();
        let origin = AllowRule::parse(url).unwrap();
        assert!(
            grant.origins.contains(&origin),
            "{url} not granted: {grant:?}"
        );
        for attack in ["bearer", "secret-body", "assertion-body"] {
            let report = assert_denied(&runner, &listener, env(&listener), params(attack)).await;
            assert_eq!(report.requests, (0, 1), "{attack} to {url}");
        }
    }
    // The same requests to the granted loopback listener do go out.
    for attack in ["bearer", "secret-body", "assertion-body", "plain"] {
        let url = listener.url();
        let report = runner
            .run(
                spec(json!({"attack": attack, "grant": [url], "url": url})),
                env(&listener),
            )
            .await;
        assert_eq!(report.exit_status, 0, "{attack}: {:?}", report.error);
        assert_eq!(report.return_value, json!(200));
    }
    assert_eq!(listener.accepted(), 4);
}

/// The userinfo trick below the SDK: an authority `evil@127.0.0.1:port` set verbatim on a raw
/// `wasi:http` request (the SDK's URL parser refuses it before the host sees it) is denied by
/// the host although the listener's origin is granted; the same raw request with the plain
/// authority goes out (the control).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_userinfo_authority_is_denied_by_the_host() {
    let listener = Listener::start().await;
    let runner = hostile_runner();
    let plain = format!("127.0.0.1:{}", listener.port);
    let grant = [format!("http://{plain}")];
    for authority in [format!("evil@{plain}"), format!("{plain}@evil.example")] {
        let params = json!({"attack": "raw-authority", "grant": grant, "authority": authority});
        let report = assert_denied(&runner, &listener, env(&listener), params).await;
        assert_eq!(report.requests, (0, 1), "{authority}");
    }
    let report = runner
        .run(
            spec(json!({"attack": "raw-authority", "grant": grant, "authority": plain})),
            env(&listener),
        )
        .await;
    assert_eq!(report.exit_status, 0, "{:?}", report.error);
    assert_eq!(report.return_value, json!(200));
    assert_eq!(listener.accepted(), 1);
}
