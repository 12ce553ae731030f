//! The outbound policy end to end: a test guest makes real wasi-http
//! requests through the real host to loopback servers on ephemeral ports.
//! An allowed request reaches its server; a denied one never does, and the
//! guest sees `HttpRequestDenied`.

use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use aci_e2e::ScannedRunner;
use aci_e2e::{
    CancelToken, Runner, RunnerOptions, StaticConnections, TaskEnv, TaskError, TaskSpec,
    HTTP_PROBE_COMPONENT,
};
use aci_host::policy::AllowRule;
use aci_host::runner::ErrorKind;
use http_body_util::Full;
use hyper::body::Bytes;

/// A loopback HTTP server that counts the connections it accepts and the requests it
/// receives (a denied request must not even open a connection).
struct CountingServer {
    port: u16,
    hits: Arc<AtomicUsize>,
    accepted: Arc<AtomicUsize>,
}

impl CountingServer {
    /// Connections accepted so far.
    fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}

async fn counting_server() -> CountingServer {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let hits = Arc::new(AtomicUsize::new(0));
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    let connections = accepted.clone();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            connections.fetch_add(1, Ordering::SeqCst);
            let counter = counter.clone();
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(move |_req| {
                    counter.fetch_add(1, Ordering::SeqCst);
                    async {
                        Ok::<_, Infallible>(hyper::Response::new(Full::new(Bytes::from_static(
                            b"ok",
                        ))))
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    CountingServer {
        port,
        hits,
        accepted,
    }
}

fn probe_runner() -> ScannedRunner {
    Runner::new(RunnerOptions {
        engine: aci_e2e::engine_options(),
        plugin: Some(HTTP_PROBE_COMPONENT.into()),
        ..RunnerOptions::default()
    })
    .expect("load the probe")
    .into()
}

fn env(allow: &[String]) -> TaskEnv {
    let mut env = TaskEnv::new(Arc::new(StaticConnections::default()));
    env.host_env = aci_e2e::HostEnv::Fixed(Default::default());
    env.allow_hosts = allow.iter().map(|a| AllowRule::parse(a).unwrap()).collect();
    env
}

fn spec(params: serde_json::Value) -> TaskSpec {
    TaskSpec::new("probe", params.as_object().unwrap().clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allowed_request_reaches_the_server() {
    let server = counting_server().await;
    let runner = probe_runner();
    let url = format!("http://127.0.0.1:{}/ping", server.port);
    let report = runner
        .run(
            spec(serde_json::json!({"url": url})),
            env(&[format!("http://127.0.0.1:{}", server.port)]),
        )
        .await;
    assert_eq!(report.exit_status, 0, "{:?}", report.error);
    assert_eq!(report.return_value, serde_json::json!(200));
    assert_eq!(server.hits.load(Ordering::SeqCst), 1);
    assert_eq!(report.requests, (1, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn denied_request_never_reaches_the_server() {
    let allowed = counting_server().await;
    let other = counting_server().await;
    let runner = probe_runner();
    // Another port on the same loopback host: not named, so denied.
    let url = format!("http://127.0.0.1:{}/ping", other.port);
    let report = runner
        .run(
            spec(serde_json::json!({"url": url})),
            env(&[format!("http://127.0.0.1:{}", allowed.port)]),
        )
        .await;
    assert_eq!(
        report.error_kind,
        Some(ErrorKind::Denied),
        "{:?}",
        report.error
    );
    assert_eq!(report.exit_status, 125);
    assert_eq!(
        other.accepted(),
        0,
        "a denied request connected to the server"
    );
    assert_eq!(allowed.accepted(), 0);
    assert_eq!(report.requests, (0, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn default_policy_denies_everything() {
    let server = counting_server().await;
    let runner = probe_runner();
    for url in [
        format!("http://127.0.0.1:{}/", server.port),
        format!("http://localhost:{}/", server.port),
    ] {
        let report = runner
            .run(spec(serde_json::json!({"url": url})), env(&[]))
            .await;
        assert_eq!(
            report.error_kind,
            Some(ErrorKind::Denied),
            "{url}: {:?}",
            report.error
        );
    }
    assert_eq!(server.accepted(), 0);
}

/// A URL with userinfo never leaves the guest: the SDK's client refuses it as a URL without
/// a usable host (a `remote` error of kind `http`, status 0) before the host is asked. The host's
/// own refusal of such an authority, set verbatim below the SDK, is
/// `hostile::a_userinfo_authority_is_denied_by_the_host`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn userinfo_url_is_refused_by_the_sdk() {
    let server = counting_server().await;
    let runner = probe_runner();
    let url = format!("http://evil@127.0.0.1:{}/", server.port);
    let report = runner
        .run(
            spec(serde_json::json!({"url": url})),
            env(&[format!("http://127.0.0.1:{}", server.port)]),
        )
        .await;
    assert_eq!(
        report.error_kind,
        Some(ErrorKind::Remote),
        "{:?}",
        report.error
    );
    let error = report.error.unwrap_or_default();
    assert!(
        error.contains(&format!("invalid URL: `{url}` has no usable host")),
        "{error}"
    );
    assert_eq!(report.requests, (0, 0), "the host was never asked");
    assert_eq!(server.accepted(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bearer_token_allowed_over_loopback_http() {
    let server = counting_server().await;
    let runner = probe_runner();
    let url = format!("http://127.0.0.1:{}/", server.port);
    let report = runner
        .run(
            spec(serde_json::json!({"url": url, "bearer": true})),
            env(&[format!("http://127.0.0.1:{}", server.port)]),
        )
        .await;
    assert_eq!(report.exit_status, 0, "{:?}", report.error);
    assert_eq!(server.hits.load(Ordering::SeqCst), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spinning_guest_is_interrupted_after_the_grace_period() {
    let runner = probe_runner();
    let mut env = env(&[]);
    env.cancel_grace = Duration::from_millis(200);
    let cancel: CancelToken = env.cancel.clone();
    let run = tokio::spawn(async move {
        runner
            .run(spec(serde_json::json!({"spin": true})), env)
            .await
    });
    // Cancel while the guest spins; the host must get control back.
    cancel.cancel();
    let report = tokio::time::timeout(Duration::from_secs(30), run)
        .await
        .expect("the host regained control")
        .unwrap();
    assert_eq!(report.error_kind, Some(ErrorKind::Cancelled));
    assert_eq!(report.exit_status, 130);
}

#[test]
fn task_error_variants_are_distinct() {
    // The WIT keeps "denied" distinct from other failures.
    let denied = TaskError::Denied("x".into());
    let c = aci_host::runner::classify_error(&denied);
    assert_eq!((c.kind, c.exit_status), (ErrorKind::Denied, 125));
}
