//! The runtime interface without a guest: host functions called directly.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::*;
use crate::bindings::HostError;
use crate::connections::{Connection, ConnectionResolver};
use crate::grant::Grant;
use runtime::Host;

struct OneConnection(Connection);

impl ConnectionProvider for OneConnection {
    fn connection(&self, conn_id: &str) -> Result<Connection, ConnectionLookupError> {
        if conn_id == self.0.conn_id {
            Ok(self.0.clone())
        } else {
            Err(ConnectionLookupError::NotFound(format!(
                "`{conn_id}` not found in: test"
            )))
        }
    }
}

struct Sink(Mutex<Vec<String>>);

impl LogSink for Sink {
    fn log(&self, _task: &str, _level: LogLevel, message: &str) {
        self.0.lock().unwrap().push(message.to_string());
    }
}

/// A runtime granted the connection ids the tests ask for (and no file).
fn runtime_with(connections: Arc<dyn ConnectionProvider>) -> (TaskRuntime, Arc<Sink>, CancelToken) {
    let sink = Arc::new(Sink(Mutex::new(Vec::new())));
    let cancel = CancelToken::new();
    let mut rt = TaskRuntime::new(
        "t",
        connections,
        sink.clone(),
        Masker::default(),
        cancel.clone(),
    );
    rt.apply_grant(&Grant {
        connections: ["azure_default", "nope", "broken", "absent"]
            .map(String::from)
            .into(),
        ..Grant::default()
    });
    (rt, sink, cancel)
}

fn state(conn: Connection) -> (TaskRuntime, Arc<Sink>, CancelToken) {
    runtime_with(Arc::new(OneConnection(conn)))
}

fn azure_conn() -> Connection {
    let mut c = Connection::new("azure_default", "azure_container_instance");
    c.login = Some("client".into());
    c.password = Some("super-secret-value".into());
    c.extra = serde_json::json!({"tenantId": "t", "key_path": "/keys/k.json"})
        .as_object()
        .unwrap()
        .clone();
    c
}

/// The guest-visible error of a result (panics on success or on a trap).
fn guest_error<T: std::fmt::Debug>(r: RuntimeResult<T>) -> HostError {
    r.expect_err("an error").downcast().expect("not a trap")
}

#[tokio::test]
async fn get_connection_masks_its_secrets() {
    let (mut s, sink, _) = state(azure_conn());
    let c = s.get_connection("azure_default".into()).await.unwrap();
    assert_eq!(c.login.as_deref(), Some("client"));
    s.log(LogLevel::Info, "password is super-secret-value".into())
        .await
        .unwrap();
    assert_eq!(sink.0.lock().unwrap().last().unwrap(), "password is ***");
}

/// Only the ids of the call's grant resolve; resolving one grants nothing else
/// (no file it names becomes readable).
#[tokio::test]
async fn an_undeclared_connection_is_denied() {
    let (mut s, _, _) = state(azure_conn());
    s.apply_grant(&Grant {
        connections: ["other".to_string()].into(),
        ..Grant::default()
    });
    let e = guest_error(s.get_connection("azure_default".into()).await);
    assert!(
        matches!(&e, HostError::Denied(m) if m.contains("`azure_default`") && m.contains("granted: other")),
        "{e:?}"
    );
    s.apply_grant(&Grant {
        connections: ["azure_default".to_string()].into(),
        ..Grant::default()
    });
    s.get_connection("azure_default".into()).await.unwrap();
    assert!(matches!(
        guest_error(s.read_granted_file("/keys/k.json".into()).await),
        HostError::Denied(_)
    ));
    // A fresh runtime grants nothing at all.
    let mut fresh = TaskRuntime::new(
        "t",
        Arc::new(OneConnection(azure_conn())),
        Arc::new(Sink(Mutex::new(Vec::new()))),
        Masker::default(),
        CancelToken::new(),
    );
    let e = guest_error(fresh.get_connection("azure_default".into()).await);
    assert!(
        matches!(&e, HostError::Denied(m) if m.contains("granted: none")),
        "{e:?}"
    );
}

#[tokio::test]
async fn missing_connection_is_not_found_not_a_trap() {
    let (mut s, _, _) = state(azure_conn());
    let e = guest_error(s.get_connection("nope".into()).await);
    assert!(matches!(e, HostError::NotFound(m) if m.contains("nope")));
}

#[tokio::test]
async fn a_malformed_connection_is_invalid_not_missing() {
    let resolver = ConnectionResolver::new().with_env([(
        "AIRFLOW_CONN_BROKEN".to_string(),
        "azure://user:pw@host:notaport".to_string(),
    )]);
    let (mut s, _, _) = runtime_with(Arc::new(resolver));
    let e = guest_error(s.get_connection("broken".into()).await);
    assert!(
        matches!(&e, HostError::Invalid(m) if m.contains("AIRFLOW_CONN_BROKEN") && !m.contains("pw")),
        "{e:?}"
    );
    let e = guest_error(s.get_connection("absent".into()).await);
    assert!(matches!(e, HostError::NotFound(_)), "{e:?}");
}

#[tokio::test]
async fn only_granted_files_can_be_read() {
    let dir = tempfile::tempdir().unwrap();
    let granted = dir.path().join("token");
    let other = dir.path().join("other");
    std::fs::write(&granted, b"tok").unwrap();
    std::fs::write(&other, b"no").unwrap();
    let (mut s, _, _) = state(azure_conn());
    s.apply_grant(&Grant {
        files: [
            granted.display().to_string(),
            "/keys/absent.json".to_string(),
        ]
        .into(),
        ..Grant::default()
    });
    assert_eq!(
        s.read_granted_file(granted.display().to_string())
            .await
            .unwrap(),
        b"tok"
    );
    assert!(matches!(
        guest_error(s.read_granted_file(other.display().to_string()).await),
        HostError::Denied(_)
    ));
    // A granted file that does not exist is not found, not denied.
    assert!(matches!(
        guest_error(s.read_granted_file("/keys/absent.json".into()).await),
        HostError::NotFound(_)
    ));
    s.limits.max_file_bytes = 2;
    assert!(matches!(
        guest_error(s.read_granted_file(granted.display().to_string()).await),
        HostError::Invalid(_)
    ));
}

#[tokio::test]
async fn xcom_values_must_be_json_and_bounded() {
    let (mut s, _, _) = state(azure_conn());
    assert!(matches!(
        guest_error(s.xcom_push("k".into(), "not json".into()).await),
        HostError::Invalid(_)
    ));
    s.xcom_push("logs".into(), "[\"a\\n\"]".into())
        .await
        .unwrap();
    assert_eq!(s.xcom()["logs"], serde_json::json!(["a\n"]));
    s.limits.max_xcom_bytes = 4;
    assert!(matches!(
        guest_error(s.xcom_push("big".into(), "\"12345\"".into()).await),
        HostError::Invalid(_)
    ));
    s.limits.max_xcom_keys = 1;
    assert!(matches!(
        guest_error(s.xcom_push("second".into(), "1".into()).await),
        HostError::Invalid(_)
    ));
}

#[tokio::test]
async fn a_trap_is_not_a_guest_error() {
    let (mut s, _, _) = state(azure_conn());
    let trap = RuntimeError::trap(wasmtime::format_err!("host bug"));
    assert!(trap.host_error().is_none());
    assert!(s.convert_host_error(trap).is_err());
    let invalid = RuntimeError::invalid("bad");
    assert!(matches!(invalid.host_error(), Some(HostError::Invalid(_))));
    assert!(matches!(
        s.convert_host_error(invalid),
        Ok(HostError::Invalid(m)) if m == "bad"
    ));
}

#[tokio::test]
async fn wait_cancelled_returns_early_on_cancel() {
    let (mut s, _, cancel) = state(azure_conn());
    assert!(!s.wait_cancelled(1).await.unwrap());
    assert!(!s.cancelled().await.unwrap());
    let c = cancel.clone();
    tokio::spawn(async move { c.cancel() });
    // A one-hour wait ends as soon as the token is cancelled.
    let r = tokio::time::timeout(Duration::from_secs(30), s.wait_cancelled(3_600_000)).await;
    assert!(r.expect("returned early").unwrap());
    assert!(s.cancelled().await.unwrap());
}

#[tokio::test]
async fn xcom_values_are_bounded_in_total_per_task() {
    let (mut s, _, _) = state(azure_conn());
    s.limits.max_xcom_total_bytes = 20;
    s.xcom_push("a".into(), "\"0123456789\"".into()) // 12 bytes
        .await
        .unwrap();
    let e = guest_error(s.xcom_push("b".into(), "\"0123456789\"".into()).await);
    assert!(
        matches!(&e, HostError::Invalid(m) if m.contains("over the 20 byte limit per task")),
        "{e:?}"
    );
    assert!(!s.xcom().contains_key("b"));
    // Pushing a key again counts at its new size only.
    s.xcom_push("a".into(), "\"0123456789abcdef\"".into())
        .await
        .unwrap();
    s.xcom_push("b".into(), "1".into()).await.unwrap();
    assert_eq!(s.xcom().len(), 2);
}

#[tokio::test]
async fn granted_fifos_and_devices_are_refused_without_blocking() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo");
    let c_path = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path; mkfifo only creates a file.
    assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0);
    let (mut s, _, _) = state(azure_conn());
    s.apply_grant(&crate::grant::Grant {
        files: [fifo.display().to_string(), "/dev/zero".to_string()].into(),
        ..Default::default()
    });
    // No writer ever opens the FIFO: a blocking open would never return.
    for path in [fifo.display().to_string(), "/dev/zero".to_string()] {
        let read = tokio::time::timeout(Duration::from_secs(60), s.read_granted_file(path.clone()));
        let e = guest_error(read.await.expect("the read returned"));
        assert!(
            matches!(&e, HostError::Invalid(m) if m.contains("not a regular file")),
            "{path}: {e:?}"
        );
    }
}

#[tokio::test]
async fn granted_file_contents_are_masked_in_logs() {
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("token");
    std::fs::write(&token, b"federated-token-value\n").unwrap();
    let (mut s, sink, _) = state(azure_conn());
    s.apply_grant(&crate::grant::Grant {
        files: [token.display().to_string()].into(),
        ..Default::default()
    });
    s.read_granted_file(token.display().to_string())
        .await
        .unwrap();
    s.log(LogLevel::Info, "assertion federated-token-value".into())
        .await
        .unwrap();
    assert_eq!(sink.0.lock().unwrap().last().unwrap(), "assertion ***");
}

#[tokio::test]
async fn private_key_extras_are_masked() {
    let mut conn = azure_conn();
    let pem =
        "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----";
    conn.extra.insert("client_certificate".into(), pem.into());
    let (mut s, sink, _) = state(conn);
    s.get_connection("azure_default".into()).await.unwrap();
    s.log(
        LogLevel::Info,
        "key MIIEvQIBADANBgkqhkiG9w0BAQEFAASC".into(),
    )
    .await
    .unwrap();
    assert_eq!(sink.0.lock().unwrap().last().unwrap(), "key ***");
}

/// A runtime of task `id` granted the budget `key` (capacity 1, 1/s, taken
/// whole), drawing on `budgets`.
fn budget_runtime(id: &str, budgets: &Arc<Budgets>, key: &str) -> (TaskRuntime, CancelToken) {
    let cancel = CancelToken::new();
    let mut rt = TaskRuntime::new(
        id,
        Arc::new(OneConnection(azure_conn())),
        Arc::new(Sink(Mutex::new(Vec::new()))),
        Masker::default(),
        cancel.clone(),
    )
    .with_budgets(budgets.clone());
    rt.apply_grant(&Grant {
        budgets: vec![crate::grant::GrantedBudget {
            key: key.into(),
            class: "reads".into(),
            capacity: 1,
            refill_per_second: 1.0,
        }],
        ..Grant::default()
    });
    (rt, cancel)
}

#[tokio::test(start_paused = true)]
async fn one_tasks_pause_holds_every_task_on_the_key() {
    let budgets = Arc::new(Budgets::new(1.0, Vec::new()).unwrap());
    let (mut a, _) = budget_runtime("a", &budgets, "svc/reads");
    let (mut b, _) = budget_runtime("b", &budgets, "svc/reads");
    let start = tokio::time::Instant::now();
    // Task a was throttled: every task waits out its Retry-After.
    a.pause_budget("svc/reads".into(), 5_000).await.unwrap();
    assert!(b.acquire_budget("svc/reads".into(), false).await.unwrap());
    assert_eq!(start.elapsed(), Duration::from_secs(5));
    assert_eq!(budgets.stats()[0].1.pauses, 1);
    // Undeclared keys are denied, both ways.
    for e in [
        guest_error(a.acquire_budget("svc/writes".into(), true).await),
        guest_error(a.pause_budget("svc/writes".into(), 1).await),
    ] {
        assert!(
            matches!(&e, HostError::Denied(m) if m.contains("svc/writes")),
            "{e:?}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn a_cancelled_task_takes_no_token() {
    let budgets = Arc::new(Budgets::new(1.0, Vec::new()).unwrap());
    let (mut a, cancel) = budget_runtime("a", &budgets, "k");
    assert!(a.acquire_budget("k".into(), false).await.unwrap());
    // The bucket is empty: cancel while waiting for the next token.
    let waiter = tokio::spawn(async move { a.acquire_budget("k".into(), false).await });
    tokio::task::yield_now().await;
    cancel.cancel();
    assert!(!waiter.await.unwrap().unwrap());
    let s = budgets.stats()[0].1;
    assert_eq!((s.granted, s.cancelled, s.waiting), (1, 1, 0));
    // A request made after the cancellation (cleanup) gets its token.
    let (mut cleanup, cancel) = budget_runtime("b", &budgets, "k");
    cancel.cancel();
    assert!(cleanup.acquire_budget("k".into(), true).await.unwrap());
    assert!(cleanup.acquire_budget("k".into(), false).await.unwrap());
    // Without a registry, a granted key is granted at once.
    let (mut lone, _) = budget_runtime("c", &budgets, "k");
    lone.budgets = None;
    for _ in 0..3 {
        assert!(lone.acquire_budget("k".into(), false).await.unwrap());
    }
}
