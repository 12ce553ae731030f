//! The wait loop against the simulated ACI: read budgets, detection latency,
//! log completeness and every way a wait ends.

use std::collections::HashMap;

use super::*;
use crate::operator::sim::{clock, FakeCloud, FakeHost, Job};

fn spec(schedule: Schedule) -> WaitSpec<'static> {
    WaitSpec {
        resource_group: "rg",
        name: "job",
        deadline_ms: None,
        timeout_label: String::new(),
        stream_logs: true,
        spot: false,
        schedule,
    }
}

/// Creates the group "now" and waits on it; returns the result, the cloud and the host.
fn run(
    job: Job,
    tweak: impl FnOnce(&mut WaitSpec<'static>, &mut FakeHost),
) -> (Result<Exit>, FakeCloud, FakeHost) {
    let c = clock();
    let cloud = FakeCloud::new(c.clone(), job);
    let mut host = FakeHost::new(c.clone());
    cloud.create("rg", "job", &serde_json::json!({})).unwrap();
    let mut s = spec(Schedule::new(30.0));
    tweak(&mut s, &mut host);
    let r = wait(&cloud, &host, &s);
    (r, cloud, host)
}

/// Reads of an uncontended job (the host's budget has tokens to spare: the
/// task polls every second). Under load the budget, not the schedule, bounds
/// the reads.
#[test]
fn sixty_second_job_within_read_budget() {
    // Up to 15 s of provisioning (image already cached or small): < 100 reads.
    for provision_ms in [300, 1_000, 3_000, 5_000, 10_000, 15_000] {
        let mut job = Job::new(60_000, 0).printing_every(1_000);
        job.provision_ms = provision_ms;
        let (r, cloud, _) = run(job, |_, _| {});
        assert_eq!(r.unwrap().exit_code, Some(0));
        let reads = cloud.counts.borrow().reads();
        // 60 state polls, a log read every 4 s, the provisioning polls.
        assert!(
            reads < 100,
            "provisioning {provision_ms} ms: {reads} reads ({:?})",
            cloud.counts.borrow()
        );
    }
}

#[test]
fn ten_minute_job_within_read_budget() {
    for provision_ms in [300, 3_000, 10_000, 30_000] {
        let mut job = Job::new(600_000, 0).printing_every(7_000);
        job.provision_ms = provision_ms;
        let (r, cloud, _) = run(job, |_, _| {});
        assert_eq!(r.unwrap().exit_code, Some(0));
        let reads = cloud.counts.borrow().reads();
        assert!(reads < 760, "provisioning {provision_ms} ms: {reads} reads");
    }
}

#[test]
fn zero_and_ten_second_jobs_are_cheap() {
    let (r, cloud, _) = run(Job::new(0, 0), |_, _| {});
    assert_eq!(r.unwrap().exit_code, Some(0));
    assert!(
        cloud.counts.borrow().reads() <= 5,
        "{:?}",
        cloud.counts.borrow()
    );
    let (r, cloud, _) = run(Job::new(10_000, 0), |_, _| {});
    assert_eq!(r.unwrap().exit_code, Some(0));
    assert!(
        cloud.counts.borrow().reads() <= 20,
        "{:?}",
        cloud.counts.borrow()
    );
}

/// Exit detection latency over many run lengths: p95 under 1.1 s (a poll
/// every second, plus the request's own latency).
#[test]
fn exit_detected_within_about_a_second_p95() {
    let mut latencies = Vec::new();
    for k in 0..200u64 {
        let run_ms = 1_000 + k * 293;
        let job = Job::new(run_ms, 0);
        let (r, _, host) = run(job.clone(), |_, _| {});
        r.unwrap();
        let logs = host.logs.borrow();
        let detected = logs
            .iter()
            .find(|(_, m, _)| m.starts_with("Container exited"))
            .map(|(_, _, t)| *t)
            .unwrap();
        // The group was created at clock 1000 + 20 ms latency.
        let exited = 1_020 + job.provision_ms + run_ms;
        latencies.push(detected - exited);
    }
    latencies.sort();
    let p95 = latencies[latencies.len() * 95 / 100];
    assert!(
        p95 < 1_100,
        "p95 {p95} ms, max {}",
        latencies.last().unwrap()
    );
}

/// Every printed line is shown exactly once, within 5 s of being printed.
#[test]
fn live_lines_exactly_once_and_within_five_seconds() {
    let job = Job::new(120_000, 0).printing_every(700);
    let (r, _, host) = run(job.clone(), |_, _| {});
    r.unwrap();
    let start = 1_020 + job.provision_ms;
    let shown: HashMap<String, Vec<u64>> = host
        .logs
        .borrow()
        .iter()
        .filter(|(_, m, _)| m.starts_with("line "))
        .fold(HashMap::new(), |mut acc, (_, m, t)| {
            acc.entry(m.clone()).or_default().push(*t);
            acc
        });
    assert_eq!(shown.len(), job.lines.len());
    for (t, text) in &job.lines {
        let times = &shown[text];
        assert_eq!(times.len(), 1, "{text} shown {} times", times.len());
        let delay = times[0] - (start + t);
        assert!(delay < 5_000, "{text} shown after {delay} ms");
    }
}

#[test]
fn three_thousand_lines_at_once_all_shown_once_in_order() {
    let mut job = Job::new(20_000, 0);
    job.lines = (0..3000)
        .map(|i| (5_000 + i / 10, format!("burst {i}")))
        .collect();
    job.lines.push((15_000, "after".into()));
    let (r, cloud, host) = run(job, |_, _| {});
    r.unwrap();
    let lines: Vec<String> = host
        .infos()
        .into_iter()
        .filter(|m| m.starts_with("burst ") || m == "after")
        .collect();
    assert_eq!(lines.len(), 3001);
    for (i, l) in lines.iter().take(3000).enumerate() {
        assert_eq!(l, &format!("burst {i}"));
    }
    assert!(
        cloud.log_tails.borrow().contains(&None),
        "a full fetch was needed"
    );
}

#[test]
fn repeated_identical_lines_are_kept() {
    let mut job = Job::new(10_000, 0);
    job.lines = (0..50).map(|i| (i * 150, "same".to_string())).collect();
    let (r, _, host) = run(job, |_, _| {});
    r.unwrap();
    assert_eq!(host.infos().iter().filter(|m| *m == "same").count(), 50);
}

#[test]
fn final_fetch_catches_lines_printed_just_before_exit() {
    let mut job = Job::new(10_000, 3);
    job.lines = vec![(9_990, "last words".into())];
    let (r, cloud, host) = run(job, |_, _| {});
    let exit = r.unwrap();
    assert_eq!(exit.exit_code, Some(3));
    assert!(exit.final_log.unwrap().contains("last words"));
    assert_eq!(
        host.infos().iter().filter(|m| *m == "last words").count(),
        1
    );
    assert_eq!(*cloud.log_tails.borrow().last().unwrap(), None);
}

#[test]
fn deferrable_reads_logs_only_at_the_end() {
    let job = Job::new(30_000, 0).printing_every(1_000);
    let (r, cloud, host) = run(job, |s, _| s.stream_logs = false);
    r.unwrap();
    assert_eq!(cloud.counts.borrow().logs, 1);
    assert_eq!(
        host.infos()
            .iter()
            .filter(|m| m.starts_with("line "))
            .count(),
        30
    );
}

#[test]
fn state_changes_logged_once_each() {
    let (r, _, host) = run(Job::new(10_000, 0), |_, _| {});
    r.unwrap();
    let changes: Vec<String> = host
        .infos()
        .into_iter()
        .filter(|m| m.starts_with("Container group state changed to"))
        .collect();
    assert_eq!(
        changes,
        [
            "Container group state changed to Pending",
            "Container group state changed to Waiting",
            "Container group state changed to Running",
            "Container group state changed to Terminated"
        ]
    );
    assert!(host.logged("Container exited with detail_status Completed"));
}

#[test]
fn exit_code_null_is_reported_as_none() {
    let mut job = Job::new(5_000, 0);
    job.exit_code = None;
    let (r, _, _) = run(job, |_, _| {});
    assert_eq!(r.unwrap().exit_code, None);
}

#[test]
fn provisioning_failure_ends_with_event_reasons() {
    let mut job = Job::new(10_000, 0);
    job.provision_failure = Some(vec![(
        "Failed".into(),
        "Failed to pull image \"bad\": the image is not accessible".into(),
    )]);
    let (r, _, host) = run(job, |_, _| {});
    match r.unwrap_err() {
        Error::Failed {
            reason,
            message,
            exit_code,
        } => {
            assert_eq!(reason, "image-pull");
            assert_eq!(exit_code, None);
            assert!(message.contains("Failed to pull image"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    assert!(host.logged("Azure provision failure"));
}

#[test]
fn unhealthy_ends_the_wait() {
    let mut job = Job::new(600_000, 0);
    job.unhealthy_after_ms = Some(12_000);
    let (r, cloud, host) = run(job.clone(), |_, _| {});
    match r.unwrap_err() {
        Error::Failed { reason, .. } => assert_eq!(reason, "unhealthy"),
        other => panic!("{other:?}"),
    }
    assert!(host.logged("Azure provision unhealthy"));
    // Polled every second until it turned unhealthy, then no more.
    assert!(cloud.counts.borrow().gets < 20);
    let (r, _, _) = run(job, |s, _| s.spot = true);
    match r.unwrap_err() {
        Error::Failed { reason, .. } => assert_eq!(reason, "evicted"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn external_deletion_is_a_clear_error() {
    let mut job = Job::new(600_000, 0);
    job.deleted_after_ms = Some(8_000);
    let (r, _, host) = run(job, |_, _| {});
    match r.unwrap_err() {
        Error::Failed {
            reason, message, ..
        } => {
            assert_eq!(reason, "deleted-externally");
            assert!(message.contains("deleted by another process"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    assert!(host.logged("ResourceNotFound, container is probably removed by another process"));
}

#[test]
fn transient_errors_are_retried_with_bounded_backoff() {
    let c = clock();
    let cloud = FakeCloud::new(c.clone(), Job::new(5_000, 0));
    for _ in 0..3 {
        cloud
            .get_errors
            .borrow_mut()
            .push_back(Error::remote(429, "TooManyRequests", "throttled"));
    }
    cloud.create("rg", "job", &serde_json::json!({})).unwrap();
    let host = FakeHost::new(c);
    let r = wait(&cloud, &host, &spec(Schedule::new(30.0)));
    assert_eq!(r.unwrap().exit_code, Some(0));
    let sleeps = host.sleeps.borrow();
    // Doubling per consecutive failure on top of the normal interval.
    // t=0: 1 s × 2; t=2 s: 1 s × 4.
    assert_eq!(&sleeps[..2], &[2_000, 4_000]);
    assert!(
        sleeps[2] > sleeps[1] && sleeps[2] <= crate::operator::schedule::MAX_ERROR_BACKOFF_MS,
        "{sleeps:?}"
    );
}

#[test]
fn persistent_errors_give_up() {
    let c = clock();
    let cloud = FakeCloud::new(c.clone(), Job::new(5_000, 0));
    for _ in 0..20 {
        cloud
            .get_errors
            .borrow_mut()
            .push_back(Error::remote(503, "ServiceUnavailable", "down"));
    }
    cloud.create("rg", "job", &serde_json::json!({})).unwrap();
    let host = FakeHost::new(c);
    let r = wait(&cloud, &host, &spec(Schedule::new(30.0)));
    assert_eq!(r.unwrap_err().code(), Some("ServiceUnavailable"));
    assert_eq!(cloud.counts.borrow().gets, u64::from(MAX_READ_FAILURES) + 1);
    // Non-transient errors end at once.
    let c = clock();
    let cloud = FakeCloud::new(c.clone(), Job::new(5_000, 0));
    cloud
        .get_errors
        .borrow_mut()
        .push_back(Error::remote(403, "AuthorizationFailed", "no"));
    cloud.create("rg", "job", &serde_json::json!({})).unwrap();
    let r = wait(&cloud, &FakeHost::new(c), &spec(Schedule::new(30.0)));
    assert_eq!(r.unwrap_err().code(), Some("AuthorizationFailed"));
    assert_eq!(cloud.counts.borrow().gets, 1);
}

#[test]
fn timeout_ends_the_wait_on_time() {
    let (r, _, host) = run(Job::new(600_000, 0), |s, _| {
        s.deadline_ms = Some(1_000 + 30_000);
        s.timeout_label = "30s".into();
    });
    match r.unwrap_err() {
        Error::TimedOut(m) => assert!(m.contains("container_timeout of 30s expired"), "{m}"),
        other => panic!("{other:?}"),
    }
    assert!(
        host.clock.get() < 1_000 + 30_000 + 200,
        "noticed at {}",
        host.clock.get()
    );
}

#[test]
fn cancellation_ends_the_wait_promptly() {
    let (r, _, host) = run(Job::new(600_000, 0), |_, h| {
        h.cancel_at = Some(1_000 + 42_000)
    });
    assert!(matches!(r.unwrap_err(), Error::Cancelled(_)));
    assert!(host.clock.get() < 1_000 + 42_000 + 100);
}

#[test]
fn polling_interval_caps_the_schedule() {
    let (r, cloud, _) = run(Job::new(60_000, 0), |s, _| s.schedule = Schedule::new(1.0));
    r.unwrap();
    assert!(cloud.counts.borrow().gets >= 60);
}

/// The simulated ARM reads and exit-detection latency on the virtual clock with the budget
/// to spare, against the schedule's targets (a state poll a second, the log every 4 s: a 60 s
/// job in ≤ 85 reads, a 10 min job in ≤ 760, exits seen within 1.1 s); printed for the report (`cargo test -p aci-plugin simulated_costs -- --nocapture`).
#[test]
fn simulated_costs() {
    for (run_ms, max_reads) in [(0u64, 6u64), (10_000, 19), (60_000, 85), (600_000, 760)] {
        let job = Job::new(run_ms, 0).printing_every(1_000);
        let (r, cloud, host) = run(job.clone(), |_, _| {});
        r.unwrap();
        let detected = host
            .logs
            .borrow()
            .iter()
            .find(|(_, m, _)| m.starts_with("Container exited"))
            .map(|(_, _, t)| *t)
            .unwrap();
        let exited = 1_020 + job.provision_ms + run_ms;
        let c = cloud.counts.borrow();
        let latency = detected - exited;
        println!(
            "job {:>4} s: {:>3} reads ({} group GETs, {} log GETs) + 1 exists; exit seen after {} ms",
            run_ms / 1000,
            c.reads(),
            c.gets,
            c.logs,
            latency
        );
        assert!(
            c.reads() <= max_reads,
            "{run_ms} ms job: {} reads",
            c.reads()
        );
        assert!(
            latency < 1_100,
            "{run_ms} ms job: exit seen after {latency} ms"
        );
        // Each poll reads the group; the log only while the container runs.
        assert!(c.logs <= c.gets, "{run_ms} ms job");
    }
}

fn not_found() -> Error {
    Error::remote(404, "ResourceNotFound", "gone")
}

#[test]
fn which_read_errors_are_transient() {
    for (status, code) in [
        (0, "ConnectionFailed"),
        (408, "RequestTimeout"),
        (429, "TooManyRequests"),
        (500, "InternalServerError"),
        (503, "ServiceUnavailable"),
        (409, "ContainerGroupTransitioning"),
    ] {
        assert!(
            transient(&Error::remote(status, code, "m")),
            "{status} {code}"
        );
    }
    for (status, code) in [(400, "BadRequest"), (404, "NotFound"), (409, "Conflict")] {
        assert!(
            !transient(&Error::remote(status, code, "m")),
            "{status} {code}"
        );
    }
    assert!(!transient(&Error::TimedOut("t".into())));
}

#[test]
fn which_log_errors_mean_not_yet() {
    for code in [
        "ContainerLogNotAvailable",
        "ContainerGroupTransitioning",
        "ContainerNotFound",
    ] {
        assert!(log_not_ready(&Error::remote(400, code, "m")), "{code}");
    }
    assert!(!log_not_ready(&Error::remote(
        500,
        "InternalServerError",
        "m"
    )));
    assert!(!log_not_ready(&Error::Internal("x".into())));
}

#[test]
fn a_log_read_error_is_a_debug_line_or_a_warning() {
    let c = clock();
    let cloud = FakeCloud::new(c.clone(), Job::new(5_000, 0));
    let host = FakeHost::new(c);
    let s = spec(Schedule::new(30.0));
    let mut w = Waiter::new(&cloud, &host, &s);
    cloud.log_errors.borrow_mut().extend([
        Error::remote(400, "ContainerLogNotAvailable", "not yet"),
        Error::remote(500, "InternalServerError", "boom"),
    ]);
    assert_eq!(w.read_logs(false), None);
    assert_eq!(w.read_logs(false), None);
    let logs = host.logs.borrow();
    assert_eq!(logs.len(), 2, "{logs:?}");
    assert_eq!(logs[0].0, Level::Debug);
    assert!(
        logs[0].1.starts_with("Container log not available yet:"),
        "{logs:?}"
    );
    assert_eq!(logs[1].0, Level::Warn);
    assert!(
        logs[1]
            .1
            .starts_with("Exception while getting logs from container instance, retrying...:"),
        "{logs:?}"
    );
}

#[test]
fn events_are_logged_once_with_their_count_and_level() {
    let c = clock();
    let cloud = FakeCloud::new(c.clone(), Job::new(5_000, 0));
    let host = FakeHost::new(c);
    let s = spec(Schedule::new(30.0));
    let mut w = Waiter::new(&cloud, &host, &s);
    let group = |pull_count: u64| {
        serde_json::json!({"name": "job", "properties": {"provisioningState": "Creating", "containers": [
        {"name": "job", "properties": {"image": "x", "instanceView": {"events": [
            {"name": "Pulling", "message": "pulling image", "type": "Normal", "count": pull_count},
            {"name": "BackOff", "message": "Back-off pulling image", "type": "Warning", "count": 1}
        ]}}}]}})
    };
    w.log_events(&observe(&group(1), "job"));
    w.log_events(&observe(&group(1), "job"));
    w.log_events(&observe(&group(3), "job"));
    let logs: Vec<(Level, String)> = host
        .logs
        .borrow()
        .iter()
        .map(|(l, m, _)| (*l, m.clone()))
        .collect();
    assert_eq!(
        logs,
        [
            (Level::Info, "Event Pulling: pulling image".to_string()),
            (
                Level::Warn,
                "Event BackOff: Back-off pulling image".to_string()
            ),
            (Level::Info, "Event Pulling: pulling image (x3)".to_string()),
        ]
    );
}

#[test]
fn a_deadline_ahead_does_not_end_the_wait() {
    let (r, _, _) = run(Job::new(5_000, 0), |s, _| {
        s.deadline_ms = Some(1_000_000);
    });
    assert_eq!(r.unwrap().exit_code, Some(0));
}

#[test]
fn early_not_found_is_tolerated_three_times() {
    let c = clock();
    let cloud = FakeCloud::new(c.clone(), Job::new(5_000, 0));
    cloud
        .get_errors
        .borrow_mut()
        .extend([not_found(), not_found(), not_found()]);
    cloud.create("rg", "job", &serde_json::json!({})).unwrap();
    let host = FakeHost::new(c);
    let r = wait(&cloud, &host, &spec(Schedule::new(30.0)));
    assert_eq!(r.unwrap().exit_code, Some(0));
    assert_eq!(&host.sleeps.borrow()[..3], &[1_000, 1_000, 1_000]);

    let c = clock();
    let cloud = FakeCloud::new(c.clone(), Job::new(5_000, 0));
    cloud
        .get_errors
        .borrow_mut()
        .extend((0..4).map(|_| not_found()));
    cloud.create("rg", "job", &serde_json::json!({})).unwrap();
    let r = wait(&cloud, &FakeHost::new(c), &spec(Schedule::new(30.0)));
    match r.unwrap_err() {
        Error::Failed { reason, .. } => assert_eq!(reason, "deleted-externally"),
        other => panic!("{other:?}"),
    }
    assert_eq!(cloud.counts.borrow().gets, 4);
}

#[test]
fn once_seen_a_404_ends_at_once_and_other_errors_are_retried() {
    let c = clock();
    let cloud = FakeCloud::new(c.clone(), Job::new(5_000, 0));
    let host = FakeHost::new(c);
    let s = spec(Schedule::new(30.0));
    let mut w = Waiter::new(&cloud, &host, &s);
    w.seen = true;
    cloud
        .get_errors
        .borrow_mut()
        .push_back(Error::remote(503, "ServiceUnavailable", "down"));
    assert_eq!(w.read_group(1_000), Ok(None));
    assert_eq!(w.failures, 1);
    cloud.get_errors.borrow_mut().push_back(not_found());
    match w.read_group(1_000).unwrap_err() {
        Error::Failed { reason, .. } => assert_eq!(reason, "deleted-externally"),
        other => panic!("{other:?}"),
    }
    assert_eq!(cloud.counts.borrow().gets, 2);
    assert_eq!(w.early_not_found, 0);
}
