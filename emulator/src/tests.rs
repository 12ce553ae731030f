//! In-process tests of the request pipeline and the state machine, without sockets: requests
//! go straight into `server::pipeline`, and the world is inspected directly.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use hyper::{HeaderMap, Method};
use serde_json::{json, Value};

use super::config::{EmulatorConfig, Faults};
use super::faults::FaultState;
use super::http::{Req, Resp};
use super::model::group_key;
use super::routes::Route;
use super::server::pipeline;
use super::state::Inner;

struct Harness {
    inner: Arc<Inner>,
    token: String,
}

impl Harness {
    fn new(config: EmulatorConfig) -> Harness {
        let root = std::env::temp_dir().join(format!(
            "aci-emulator-unit-{}",
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::create_dir_all(&root).unwrap();
        let inner = Arc::new(Inner::new(config, "http://127.0.0.1:9".into(), root));
        let token = inner.tokens().issue(
            "https://management.azure.com/",
            "c",
            "t",
            super::auth::Lifetime {
                valid_for: Duration::from_secs(600),
                announced: Duration::from_secs(600),
                uses: None,
            },
        );
        Harness { inner, token }
    }

    /// A control route, with `authorization` as given.
    async fn control(&self, method: Method, path: &str, authorization: Option<&str>) -> Resp {
        let mut headers = HeaderMap::new();
        if let Some(a) = authorization {
            headers.insert("authorization", a.parse().unwrap());
        }
        let segs: Vec<String> = path
            .split('/')
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect();
        let req = Req::new(method, None, headers, Bytes::new());
        pipeline(&self.inner, &req, &Route::parse(&segs))
            .await
            .unwrap()
    }

    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Option<Resp> {
        let (path, query) = path.split_once('?').unwrap_or((path, ""));
        let query = if query.is_empty() {
            "api-version=2026-07-01".to_string()
        } else {
            format!("{query}&api-version=2026-07-01")
        };
        let mut headers = HeaderMap::new();
        headers.insert(
            "authorization",
            format!("Bearer {}", self.token).parse().unwrap(),
        );
        let body = body
            .map(|b| Bytes::from(serde_json::to_vec(&b).unwrap()))
            .unwrap_or_default();
        let segs: Vec<String> = path
            .split('/')
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect();
        let route = Route::parse(&segs);
        let req = Req::new(method, Some(&query), headers, body);
        pipeline(&self.inner, &req, &route).await
    }

    fn snapshot(&self, name: &str) -> (String, String, Vec<String>) {
        let w = self.inner.world();
        let g = &w.groups[&group_key("s", "rg", name)];
        (
            g.provisioning.clone(),
            g.state.clone(),
            g.containers
                .iter()
                .map(|c| {
                    c.current
                        .as_ref()
                        .map(|s| s.state)
                        .unwrap_or("-")
                        .to_string()
                })
                .collect(),
        )
    }

    async fn shutdown(self) {
        let procs = {
            let mut w = self.inner.world();
            w.shutting_down = true;
            w.clear()
        };
        for p in procs {
            p.terminate(Duration::from_millis(500)).await;
        }
        self.inner.clean_root_dir(false);
    }
}

const CG: &str =
    "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ContainerInstance/containerGroups";

fn body(command: &[&str], policy: &str) -> Value {
    json!({"location": "westeurope", "properties": {"osType": "Linux", "restartPolicy": policy, "containers": [
        {"name": "main", "properties": {"image": "busybox", "command": command,
         "resources": {"requests": {"cpu": 0.5, "memoryInGB": 0.5}}}}]}})
}

/// Records every distinct (provisioning, group state, container states) until `done` holds.
async fn trace(
    h: &Harness,
    name: &str,
    done: impl Fn(&(String, String, Vec<String>)) -> bool,
) -> Vec<(String, String, Vec<String>)> {
    let mut seen: Vec<(String, String, Vec<String>)> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let s = h.snapshot(name);
        if seen.last() != Some(&s) {
            seen.push(s.clone());
        }
        if done(&s) {
            return seen;
        }
        assert!(Instant::now() < deadline, "no end state; seen {seen:?}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test]
async fn create_walks_the_state_machine_in_order() {
    let h = Harness::new(EmulatorConfig {
        provision_delay: Duration::from_millis(200),
        ..EmulatorConfig::default()
    });
    let r = h
        .call(
            Method::PUT,
            &format!("{CG}/job"),
            Some(body(&["sh", "-c", "sleep 0.2; exit 0"], "Never")),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 201);
    let seen = trace(&h, "job", |s| s.1 == "Succeeded").await;
    let order = [
        ("Pending", "Pending", "-"),
        ("Creating", "Pending", "Waiting"),
        ("Succeeded", "Running", "Running"),
        ("Succeeded", "Succeeded", "Terminated"),
    ];
    let mut idx = 0;
    for (p, g, c) in &seen {
        let pos = order
            .iter()
            .position(|(op, og, oc)| op == p && og == g && *oc == c[0])
            .unwrap_or_else(|| panic!("unexpected state {p}/{g}/{c:?} in {seen:?}"));
        assert!(pos >= idx, "went backwards: {seen:?}");
        idx = pos;
    }
    assert_eq!(seen.first().unwrap().0, "Pending");
    assert!(seen.iter().any(|s| s.0 == "Creating"), "{seen:?}");
    assert!(seen.iter().any(|s| s.1 == "Running"), "{seen:?}");
    let op = h.inner.world().ops.values().next().cloned().unwrap();
    assert_eq!(op.status, "Succeeded");
    let body = op.render(None);
    assert_eq!(
        body.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["id", "status", "startTime", "properties"],
        "the recorded status body: no endTime, no name"
    );
    h.shutdown().await;
}

#[tokio::test]
async fn stale_exits_do_not_clobber_a_new_deployment() {
    let h = Harness::new(EmulatorConfig {
        provision_delay: Duration::from_millis(50),
        kill_grace: Duration::from_millis(300),
        ..EmulatorConfig::default()
    });
    assert_eq!(
        h.call(
            Method::PUT,
            &format!("{CG}/svc"),
            Some(body(&["sleep", "300"], "Always"))
        )
        .await
        .unwrap()
        .status,
        201
    );
    trace(&h, "svc", |s| s.1 == "Running" && s.2[0] == "Running").await;
    // Restart: the old process is killed while the new deployment is provisioning.
    assert_eq!(
        h.call(Method::POST, &format!("{CG}/svc/restart"), None)
            .await
            .unwrap()
            .status,
        204
    );
    let seen = trace(&h, "svc", |s| s.0 == "Succeeded" && s.2[0] == "Running").await;
    assert!(
        seen.iter().all(|s| s.2[0] != "Terminated"),
        "the killed run must not show up: {seen:?}"
    );
    let restarts = h.inner.world().groups[&group_key("s", "rg", "svc")].containers[0].restart_count;
    assert_eq!(restarts, 0, "a restart is a new deployment");
    h.shutdown().await;
}

#[tokio::test]
async fn pipeline_counts_requests_but_not_control_routes() {
    let h = Harness::new(EmulatorConfig::default());
    assert_eq!(
        h.call(Method::GET, &format!("{CG}/nope"), None)
            .await
            .unwrap()
            .status,
        404
    );
    // Control routes need the client secret, not a token.
    assert_eq!(
        h.call(Method::GET, "/_emulator/stats", None)
            .await
            .unwrap()
            .status,
        401
    );
    let secret = format!("Bearer {}", h.inner.config.client_secret);
    for auth in [None, Some("Bearer local-secret"), Some("Basic x")] {
        assert_eq!(
            h.control(Method::POST, "/_emulator/reset", auth)
                .await
                .status,
            401,
            "{auth:?}"
        );
    }
    assert_eq!(
        h.control(Method::GET, "/_emulator/stats", Some(&secret))
            .await
            .status,
        200
    );
    assert_eq!(
        h.call(Method::GET, "/totally/unknown", None)
            .await
            .unwrap()
            .status,
        404
    );
    let s = h.inner.stats();
    assert_eq!(s.count("ContainerGroups_Get", 404), 1);
    assert_eq!(s.count("Unknown", 404), 1);
    assert_eq!(s.total_requests, 2);
    h.shutdown().await;
}

#[tokio::test]
async fn injected_reset_drops_the_answer() {
    let h = Harness::new(EmulatorConfig::default());
    *h.inner.faults() = FaultState::new(Faults {
        reset_burst: 1,
        ..Faults::default()
    });
    assert!(h
        .call(Method::GET, &format!("{CG}/x"), None)
        .await
        .is_none());
    assert!(h
        .call(Method::GET, &format!("{CG}/x"), None)
        .await
        .is_some());
    assert_eq!(h.inner.stats().count("ContainerGroups_Get", 0), 1);
    h.shutdown().await;
}

/// A restart answers every request with a reset while it lasts (counted as status 0), and
/// then the same state answers: a group created before it is still there.
#[tokio::test]
async fn a_restart_resets_requests_then_the_same_state_answers() {
    let h = Harness::new(EmulatorConfig::default());
    let put = h
        .call(
            Method::PUT,
            &format!("{CG}/kept"),
            Some(body(&["true"], "Never")),
        )
        .await
        .expect("created");
    assert_eq!(put.status, 201);
    h.inner.restarts.begin(Duration::from_secs(3600));
    for _ in 0..2 {
        assert!(h
            .call(Method::GET, &format!("{CG}/kept"), None)
            .await
            .is_none());
    }
    assert_eq!(h.inner.stats().count("ContainerGroups_Get", 0), 2);
    h.inner.restarts.begin(Duration::ZERO);
    let got = h
        .call(Method::GET, &format!("{CG}/kept"), None)
        .await
        .expect("up again");
    assert_eq!(got.status, 200);
    assert_eq!(h.inner.stats().count("ContainerGroups_Get", 200), 1);
    h.shutdown().await;
}

#[tokio::test]
async fn init_containers_run_first_and_a_failure_stops_the_group() {
    let h = Harness::new(EmulatorConfig {
        provision_delay: Duration::from_millis(20),
        ..EmulatorConfig::default()
    });
    let mut b = body(&["sh", "-c", "cat ../init-0/marker"], "Never");
    b["properties"]["initContainers"] = json!([{"name": "init", "properties": {"image": "busybox", "command": ["sh", "-c", "echo from-init > marker"]}}]);
    assert_eq!(
        h.call(Method::PUT, &format!("{CG}/init-ok"), Some(b))
            .await
            .unwrap()
            .status,
        201
    );
    trace(&h, "init-ok", |s| s.1 == "Succeeded").await;
    let logs = h
        .call(
            Method::GET,
            &format!("{CG}/init-ok/containers/main/logs"),
            None,
        )
        .await
        .unwrap();
    assert_eq!(logs.json_body()["content"], "from-init\n");
    let g = h
        .call(Method::GET, &format!("{CG}/init-ok"), None)
        .await
        .unwrap()
        .json_body();
    assert_eq!(
        g["properties"]["initContainers"][0]["properties"]["instanceView"]["currentState"]["state"],
        "Terminated"
    );

    let mut b = body(&["true"], "Never");
    b["properties"]["initContainers"] =
        json!([{"name": "init", "properties": {"image": "busybox", "command": ["false"]}}]);
    assert_eq!(
        h.call(Method::PUT, &format!("{CG}/init-bad"), Some(b))
            .await
            .unwrap()
            .status,
        201
    );
    let seen = trace(&h, "init-bad", |s| s.1 == "Failed").await;
    assert_eq!(
        seen.last().unwrap().2,
        vec!["Waiting".to_string()],
        "main never started"
    );
    h.shutdown().await;
}

#[tokio::test]
async fn patch_updates_tags_only() {
    let h = Harness::new(EmulatorConfig {
        provision_delay: Duration::ZERO,
        ..EmulatorConfig::default()
    });
    assert_eq!(
        h.call(
            Method::PUT,
            &format!("{CG}/tags"),
            Some(body(&["true"], "Never"))
        )
        .await
        .unwrap()
        .status,
        201
    );
    let r = h
        .call(
            Method::PATCH,
            &format!("{CG}/tags"),
            Some(json!({"tags": {"a": "1"}})),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(r.json_body()["tags"], json!({"a": "1"}));
    let bad = h
        .call(
            Method::PATCH,
            &format!("{CG}/tags"),
            Some(json!({"tags": {"a": 1}})),
        )
        .await
        .unwrap();
    assert_eq!(bad.status, 400);
    assert_eq!(
        h.call(Method::PATCH, &format!("{CG}/absent"), Some(json!({})))
            .await
            .unwrap()
            .status,
        404
    );
    h.shutdown().await;
}
