//! `execute` and `on_kill` end to end against the simulated ACI: Airflow's
//! operator cases that do not need a real host, cleanup in every path,
//! re-attach, XCom and classification.

use serde_json::{json, Value};

use super::sim::{airflow_params as params, clock, FakeCloud, FakeHost, Job};
use super::*;

fn ti() -> TaskInstance {
    TaskInstance {
        dag_id: "dag".into(),
        task_id: "task".into(),
        run_id: "run-1".into(),
        try_number: 1,
        logical_date: String::new(),
        owner: None,
        created: None,
    }
}

struct Run {
    result: Result<Outcome>,
    cloud: FakeCloud,
    host: FakeHost,
}

fn run_with(
    job: Job,
    extra: Value,
    setup: impl FnOnce(FakeCloud, &mut FakeHost) -> FakeCloud,
) -> Run {
    let c = clock();
    let mut host = FakeHost::new(c.clone());
    let cloud = setup(FakeCloud::new(c, job), &mut host);
    let result = execute(&cloud, &host, &ti(), &params(extra));
    Run {
        result,
        cloud,
        host,
    }
}

fn run(job: Job, extra: Value) -> Run {
    run_with(job, extra, |c, _| c)
}

fn failure(r: &Result<Outcome>) -> (Option<i32>, String, String) {
    match r {
        Err(Error::Failed {
            exit_code,
            reason,
            message,
        }) => (*exit_code, reason.clone(), message.clone()),
        other => panic!("expected a failure, got {other:?}"),
    }
}

// Airflow 1 / 30: success deletes the group (whatever remove_on_error says).
#[test]
fn success_deletes_and_returns_zero() {
    let r = run(Job::new(3_000, 0), json!({"remove_on_error": false}));
    assert_eq!(r.result.unwrap(), Outcome { exit_code: 0 });
    let counts = r.cloud.counts.borrow().clone();
    assert_eq!((counts.exists, counts.puts, counts.deletes), (1, 1, 1));
    let body = r.cloud.last_body.borrow().clone().unwrap();
    assert_eq!(body["location"], "region");
    assert_eq!(
        body["properties"]["containers"][0]["name"],
        "container-name"
    );
    let infos = r.host.infos();
    let order = [
        "Testing if container group already exists",
        "Starting container group with 1.0 cpu 2.0 mem",
        "Container group started resource-group/container-name",
        "Container exited with detail_status Completed",
        "Container had exit code: 0",
        "Deleting container group",
    ];
    let mut at = 0;
    for want in order {
        let pos = infos[at..]
            .iter()
            .position(|m| m == want)
            .unwrap_or_else(|| panic!("`{want}` missing or out of order in {infos:?}"));
        at += pos + 1;
    }
}

// Airflow 29: remove_on_success=false keeps it.
#[test]
fn success_keeps_group_when_asked() {
    let r = run(Job::new(3_000, 0), json!({"remove_on_success": false}));
    assert_eq!(r.result.unwrap().exit_code, 0);
    assert_eq!(r.cloud.counts.borrow().deletes, 0);
}

// Airflow 2: a non-zero exit fails and deletes.
#[test]
fn nonzero_exit_fails_and_deletes() {
    let r = run(Job::new(3_000, 1), json!({}));
    let (code, reason, message) = failure(&r.result);
    assert_eq!(
        (code, reason.as_str(), message.as_str()),
        (
            Some(1),
            "nonzero-exit",
            "Container had a non-zero exit code, 1"
        )
    );
    assert_eq!(r.cloud.counts.borrow().deletes, 1);
}

// Airflow 3: remove_on_error=false keeps a failed group (Terminated and Unhealthy).
#[test]
fn failure_keeps_group_when_asked() {
    let r = run(Job::new(3_000, 1), json!({"remove_on_error": false}));
    assert!(r.result.is_err());
    assert_eq!(r.cloud.counts.borrow().deletes, 0);
    let mut job = Job::new(60_000, 0);
    job.unhealthy_after_ms = Some(5_000);
    let r = run(job, json!({"remove_on_error": false}));
    assert_eq!(failure(&r.result).1, "unhealthy");
    assert_eq!(r.cloud.counts.borrow().deletes, 0);
}

#[test]
fn exit_codes_are_classified() {
    for (code, reason) in [(3, "nonzero-exit"), (137, "out-of-memory")] {
        let r = run(Job::new(2_000, code), json!({}));
        let (c, re, m) = failure(&r.result);
        assert_eq!((c, re.as_str()), (Some(code), reason));
        assert_eq!(m, format!("Container had a non-zero exit code, {code}"));
    }
    let mut job = Job::new(2_000, 0);
    job.exit_code = None;
    let r = run(job, json!({}));
    let (c, reason, m) = failure(&r.result);
    assert_eq!((c, reason.as_str()), (None, "unknown-exit-code"));
    assert!(
        m.starts_with("Container had a non-zero exit code, None"),
        "{m}"
    );
    assert!(r.host.logged("Container had exit code: None"));
}

#[test]
fn fail_if_exists_fails_before_creating() {
    let r = run_with(Job::new(3_000, 0), json!({}), |c, _| {
        c.existing(0, json!({}))
    });
    let (code, reason, message) = failure(&r.result);
    assert_eq!(
        (code, reason.as_str(), message.as_str()),
        (None, "already-exists", "Container group exists")
    );
    let counts = r.cloud.counts.borrow().clone();
    assert_eq!((counts.puts, counts.deletes), (0, 0));
}

// Airflow 6 / 7 / 27 / 28: XCom `logs`.
#[test]
fn xcom_logs_all_last_and_none() {
    let mut job = Job::new(3_000, 0);
    job.lines = vec![(100, "line1".into()), (200, "line2".into())];
    let r = run(job.clone(), json!({"xcom_all": true}));
    r.result.unwrap();
    assert_eq!(
        r.host.xcom.borrow().clone(),
        vec![("logs".to_string(), json!(["line1\n", "line2\n"]))]
    );
    let r = run(job.clone(), json!({"xcom_all": false}));
    r.result.unwrap();
    assert_eq!(
        r.host.xcom.borrow().clone(),
        vec![("logs".to_string(), json!(["line2\n"]))]
    );
    let r = run(job, json!({}));
    r.result.unwrap();
    assert!(r.host.xcom.borrow().is_empty());
}

#[test]
fn xcom_logs_pushed_on_failure_too_and_capped_at_1000_lines() {
    let mut job = Job::new(3_000, 2);
    job.lines = (0..1500).map(|i| (i, format!("l{i}"))).collect();
    let r = run(job, json!({"xcom_all": true}));
    assert!(r.result.is_err());
    let xcom = r.host.xcom.borrow();
    let lines = xcom[0].1.as_array().unwrap();
    assert_eq!(lines.len(), 1000);
    assert_eq!(lines[0], "l500\n");
    assert_eq!(lines[999], "l1499\n");
}

/// The tags this module's task instance writes, as ARM JSON.
fn our_tags() -> Value {
    Value::Object(
        build::task_tags(&ti())
            .into_iter()
            .map(|(k, v)| (k, json!(v)))
            .collect(),
    )
}

#[test]
fn reattaches_to_a_group_running_for_the_same_task() {
    let tags = our_tags();
    let mut job = Job::new(20_000, 0);
    job.lines = vec![(1_000, "early".into()), (15_000, "late".into())];
    let r = run_with(job, json!({"fail_if_exists": false}), |c, h| {
        // Created 5 s before this try started.
        let c = c.existing(0, tags);
        h.clock.set(5_000);
        c
    });
    assert_eq!(r.result.unwrap().exit_code, 0);
    assert_eq!(r.cloud.counts.borrow().puts, 0, "no new PUT");
    assert!(r.host.logged("is already running for this task instance"));
    // Lines printed before the re-attach are shown too, once.
    assert_eq!(r.host.infos().iter().filter(|m| *m == "early").count(), 1);
    assert_eq!(r.host.infos().iter().filter(|m| *m == "late").count(), 1);
}

#[test]
fn a_running_group_of_another_task_is_updated_as_airflow_does() {
    let r = run_with(
        Job::new(20_000, 0),
        json!({"fail_if_exists": false}),
        |c, h| {
            h.clock.set(5_000);
            c.existing(0, json!({"owner": "someone-else"}))
        },
    );
    r.result.unwrap();
    assert_eq!(r.cloud.counts.borrow().puts, 1);
    assert!(r.host.logged("was not created for this task instance"));
}

#[test]
fn a_refused_update_leaves_the_other_jobs_group_alone() {
    let r = run_with(
        Job::new(600_000, 0),
        json!({"fail_if_exists": false}),
        |c, h| {
            h.clock.set(5_000);
            *c.put_error.borrow_mut() = Some(Error::remote(
                400,
                "InvalidContainerGroupUpdate",
                "The updates on container group 'container-name' are invalid.",
            ));
            c.existing(0, json!({"owner": "someone-else"}))
        },
    );
    assert_eq!(
        r.result.unwrap_err().code(),
        Some("InvalidContainerGroupUpdate")
    );
    let counts = r.cloud.counts.borrow().clone();
    assert_eq!((counts.puts, counts.deletes), (1, 0), "{counts:?}");
    assert!(
        r.cloud.created_at.get().is_some(),
        "the group is still there"
    );
    assert!(!r.host.logged("Deleting container group"));
    assert!(r.host.logged(
        "Not deleting container group resource-group/container-name: it existed before this task"
    ));
}

#[test]
fn a_finished_group_is_replaced() {
    let r = run_with(
        Job::new(1_000, 0),
        json!({"fail_if_exists": false}),
        |c, h| {
            h.clock.set(60_000);
            c.existing(0, json!({}))
        },
    );
    r.result.unwrap();
    let counts = r.cloud.counts.borrow().clone();
    assert_eq!(
        (counts.puts, counts.deletes),
        (1, 2),
        "delete the old one, create, delete after success"
    );
}

#[test]
fn timeout_deletes_even_when_asked_to_keep() {
    let r = run(
        Job::new(600_000, 0),
        json!({"container_timeout": "20s", "remove_on_error": false}),
    );
    match &r.result {
        Err(Error::TimedOut(m)) => assert!(m.contains("20s"), "{m}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(r.cloud.counts.borrow().deletes, 1);
    assert!(r.host.clock.get() < 1_000 + 21_000);
}

#[test]
fn cancellation_deletes_the_group() {
    let r = run_with(
        Job::new(600_000, 0),
        json!({"remove_on_error": false}),
        |c, h| {
            h.cancel_at = Some(30_000);
            c
        },
    );
    assert!(matches!(r.result, Err(Error::Cancelled(_))));
    assert_eq!(r.cloud.counts.borrow().deletes, 1);
}

#[test]
fn cancellation_before_creation_creates_nothing() {
    let r = run_with(Job::new(600_000, 0), json!({}), |c, h| {
        h.cancel_at = Some(0);
        c
    });
    assert!(matches!(r.result, Err(Error::Cancelled(_))));
    let counts = r.cloud.counts.borrow().clone();
    assert_eq!((counts.puts, counts.deletes), (0, 0));
}

#[test]
fn create_errors_are_classified_and_cleaned_up() {
    let r = run_with(Job::new(1_000, 0), json!({}), |c, _| {
        *c.put_error.borrow_mut() = Some(Error::remote(
            400,
            "ContainerGroupQuotaReached",
            "container group quota 'StandardCores' exceeded",
        ));
        c
    });
    let (_, reason, message) = failure(&r.result);
    assert_eq!(reason, "quota");
    assert!(message.contains("ContainerGroupQuotaReached"), "{message}");
    assert_eq!(r.cloud.counts.borrow().deletes, 1);
    // Unclassified errors stay remote errors.
    let r = run_with(
        Job::new(1_000, 0),
        json!({"remove_on_error": false}),
        |c, _| {
            *c.put_error.borrow_mut() = Some(Error::remote(403, "AuthorizationFailed", "no"));
            c
        },
    );
    assert_eq!(r.result.unwrap_err().code(), Some("AuthorizationFailed"));
    assert_eq!(r.cloud.counts.borrow().deletes, 0);
}

#[test]
fn provisioning_failure_is_classified() {
    let mut job = Job::new(1_000, 0);
    job.provision_failure = Some(vec![(
        "InsufficientCapacity.".into(),
        "The requested resource is not available in the location 'westeurope'".into(),
    )]);
    let r = run(job, json!({}));
    assert_eq!(failure(&r.result).1, "capacity");
    assert_eq!(r.cloud.counts.borrow().deletes, 1);
}

#[test]
fn external_deletion_is_not_deleted_again() {
    let mut job = Job::new(600_000, 0);
    job.deleted_after_ms = Some(5_000);
    let r = run(job, json!({}));
    assert_eq!(failure(&r.result).1, "deleted-externally");
    assert_eq!(r.cloud.counts.borrow().deletes, 0);
}

#[test]
fn registry_volumes_and_gpu_are_resolved_and_logged() {
    let r = run(
        Job::new(1_000, 0),
        json!({
            "registry_conn_id": "acr",
            "volumes": [["wasb", "acct", "share", "/mnt/data", true]],
            "gpu": {"count": 1, "sku": "K80"},
            "ip_address": {"type": "Public"}
        }),
    );
    r.result.unwrap();
    let body = r.cloud.last_body.borrow().clone().unwrap();
    assert_eq!(
        body["properties"]["imageRegistryCredentials"][0]["server"],
        "acr.azurecr.io"
    );
    assert_eq!(body["properties"]["volumes"][0]["name"], "mount-0");
    assert_eq!(
        body["properties"]["volumes"][0]["azureFile"]["shareName"],
        "share"
    );
    assert!(r.host.logged("GPU count: 1.0, GPU SKU: K80"));
    assert!(r
        .host
        .logged("Default port set. Container will listen on port 80"));
}

#[test]
fn sixty_second_job_total_reads_within_budget() {
    let r = run(Job::new(60_000, 0).printing_every(500), json!({}));
    r.result.unwrap();
    let reads = r.cloud.counts.borrow().reads();
    // Uncontended: a poll a second, the log every 4 s (the budget bounds
    // the reads under load).
    assert!(reads < 100, "{reads} reads: {:?}", r.cloud.counts.borrow());
}

/// Runs `on_kill` against a cloud with a group tagged `tags` (`None`: no group).
fn kill(tags: Option<Value>) -> (Result<()>, FakeCloud, FakeHost) {
    let c = clock();
    let mut cloud = FakeCloud::new(c.clone(), Job::new(600_000, 0));
    if let Some(tags) = tags {
        cloud = cloud.existing(0, tags);
    }
    let host = FakeHost::new(c);
    let p = params(json!({"remove_on_error": false, "remove_on_success": false}));
    (on_kill(&cloud, &host, &ti(), &p), cloud, host)
}

#[test]
fn on_kill_deletes_our_group_whatever_remove_on_says() {
    let (result, cloud, host) = kill(Some(our_tags()));
    result.unwrap();
    assert_eq!(cloud.counts.borrow().deletes, 1);
    assert!(host.logged("Deleting container group"));
    // Another try of the same task instance owns it too.
    let mut tags = our_tags();
    tags[build::TAG_TRY] = json!("2");
    let (result, cloud, _) = kill(Some(tags));
    result.unwrap();
    assert_eq!(cloud.counts.borrow().deletes, 1);
}

#[test]
fn on_kill_leaves_another_jobs_group_alone() {
    let mut other_run = our_tags();
    other_run[build::TAG_RUN] = json!("run-2");
    for tags in [json!({}), json!({"owner": "someone-else"}), other_run] {
        let (result, cloud, host) = kill(Some(tags.clone()));
        result.unwrap();
        assert_eq!(cloud.counts.borrow().deletes, 0, "{tags}");
        assert!(cloud.created_at.get().is_some());
        assert!(!host.logged("Deleting container group"));
        assert!(host.logged("its tags do not name this task instance"));
    }
}

#[test]
fn on_kill_without_a_group_deletes_nothing() {
    let (result, cloud, host) = kill(None);
    result.unwrap();
    assert_eq!(cloud.counts.borrow().deletes, 0);
    assert!(host.logged("does not exist; nothing to delete"));
}

#[test]
fn xcom_lines_match_python_splitlines() {
    let content = "2026-01-01T00:00:00.000000001Z a\n2026-01-01T00:00:00.000000002Z b\r\n";
    assert_eq!(xcom_lines(content), ["a\n", "b\r\n"]);
    assert!(xcom_lines("").is_empty());
}

#[test]
fn human_durations() {
    assert_eq!(human(Duration::from_secs(20)), "20s");
    assert_eq!(human(Duration::from_secs(5400)), "1h30m0s");
    assert_eq!(human(Duration::from_secs(90)), "1m30s");
    assert_eq!(human(Duration::from_millis(1500)), "1.500s");
}
