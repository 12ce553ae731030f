//! Injected faults: throttling, server errors, resets, latency, rate limits, provisioning
//! failures, eviction, external deletion, token expiry.

use crate::common::*;

#[tokio::test]
async fn fault_throttling_every_nth_and_burst() {
    let emu = Emulator::start(config()).await.unwrap();
    let arm = Arm::new(&emu).await;
    let path = cg("rg", "none");
    emu.set_faults(Faults {
        throttle_every: Some(3),
        retry_after_secs: 7,
        ..Faults::default()
    });
    let statuses: Vec<u16> = {
        let mut v = Vec::new();
        for _ in 0..6 {
            v.push(arm.get(&path).await.status);
        }
        v
    };
    assert_eq!(statuses, vec![404, 404, 429, 404, 404, 429]);
    emu.set_faults(Faults {
        throttle_burst: 2,
        retry_after_secs: 3,
        ..Faults::default()
    });
    let r = arm.get(&path).await;
    assert_eq!((r.status, r.code().as_str()), (429, "TooManyRequests"));
    assert_eq!(r.header("retry-after"), Some("3"));
    assert!(r.json()["error"]["message"]
        .as_str()
        .unwrap()
        .contains("throttled"));
    assert_eq!(arm.get(&path).await.status, 429);
    assert_eq!(arm.get(&path).await.status, 404);
    // Auth is not faulted unless asked.
    emu.set_faults(Faults {
        throttle_burst: 1,
        ..Faults::default()
    });
    get_token(&emu).await;
    assert_eq!(arm.get(&path).await.status, 429);
    emu.set_faults(Faults {
        throttle_burst: 1,
        include_auth: true,
        ..Faults::default()
    });
    let r = request(
        &format!("{}/{LOCAL_TENANT_ID}/oauth2/v2.0/token", emu.base_url()),
        "POST",
        &[],
        Some(b"grant_type=client_credentials"),
    )
    .await
    .unwrap();
    assert_eq!(r.status, 429);
    assert!(emu.stats().count("ContainerGroups_Get", 429) >= 4);
    emu.shutdown().await;
}

#[tokio::test]
async fn fault_server_errors_resets_and_latency() {
    let emu = Emulator::start(config()).await.unwrap();
    let arm = Arm::new(&emu).await;
    let path = cg("rg", "none");
    emu.set_faults(Faults {
        error_burst: 2,
        error_status: 503,
        ..Faults::default()
    });
    let r = arm.get(&path).await;
    assert_eq!((r.status, r.code().as_str()), (503, "ServiceUnavailable"));
    assert_eq!(arm.get(&path).await.status, 503);
    assert_eq!(arm.get(&path).await.status, 404);
    emu.set_faults(Faults {
        error_burst: 1,
        ..Faults::default()
    });
    assert_eq!(arm.get(&path).await.code(), "InternalServerError");

    emu.set_faults(Faults {
        reset_burst: 1,
        ..Faults::default()
    });
    let url = arm.url(&path);
    let r = request(&url, "GET", &[("authorization", &arm.auth)], None).await;
    assert!(r.is_err(), "connection should be reset: {r:?}");
    assert_eq!(arm.get(&path).await.status, 404);
    assert_eq!(emu.stats().count("ContainerGroups_Get", 0), 1);

    emu.set_faults(Faults {
        latency: Some(Duration::from_millis(300)),
        ..Faults::default()
    });
    let t = Instant::now();
    assert_eq!(arm.get(&path).await.status, 404);
    assert!(
        t.elapsed() >= Duration::from_millis(300),
        "latency injected"
    );
    emu.shutdown().await;
}

#[tokio::test]
async fn fault_rate_limit_enforcement() {
    let emu = Emulator::start(config()).await.unwrap();
    let arm = Arm::new(&emu).await;
    emu.set_faults(Faults {
        enforce_rate_limits: true,
        ..Faults::default()
    });
    let path = cg("rg", "none");
    let mut throttled = None;
    for i in 0..2000 {
        let r = arm.get(&path).await;
        if r.status == 429 {
            throttled = Some((i, r));
            break;
        }
    }
    let (i, r) = throttled.expect("the read bucket empties");
    assert!(i >= 249, "at least the bucket size passes, got {i}");
    assert_eq!(
        r.header("x-ms-ratelimit-remaining-subscription-reads"),
        Some("0")
    );
    assert!(r.header("retry-after").unwrap().parse::<u64>().unwrap() >= 1);
    emu.shutdown().await;
}

#[tokio::test]
async fn fault_provisioning_failures_async() {
    let emu = Emulator::start(config()).await.unwrap();
    let arm = Arm::new(&emu).await;
    for (image, code) in [
        ("myreg.azurecr.io/inaccessible:1", "InaccessibleImage"),
        ("alpine-quota", "ContainerGroupQuotaReached"),
        ("alpine-nocapacity", "ServiceUnavailable"),
    ] {
        let path = cg("rg", &format!("fail-{}", code.to_ascii_lowercase()));
        let mut body = job(&["sh", "-c", "echo should-not-run"], "Never");
        body["properties"]["containers"][0]["properties"]["image"] = json!(image);
        let r = arm.put(&path, &body).await;
        assert_eq!(r.status, 201, "accepted first: {}", r.text());
        let op_url = r.header("azure-asyncoperation").unwrap().to_string();
        let loc_url = r.header("location").unwrap().to_string();
        let op = arm
            .wait_for(&op_url, "failed op", |b| b["status"] == "Failed")
            .await;
        assert_eq!(op["error"]["code"], code);
        let v = arm.get(&path).await.json();
        assert_eq!(prov(&v), "Failed");
        assert_eq!(state(&v), "Pending");
        assert_eq!(current(&v)["state"], "Waiting");
        assert!(!v["properties"]["instanceView"]["events"]
            .as_array()
            .unwrap()
            .is_empty());
        let res = arm.get(&loc_url).await;
        assert_eq!(res.code(), code);
        assert_eq!(
            arm.get(&format!("{path}/containers/job/logs")).await.code(),
            "ContainerLogNotAvailable"
        );
        arm.delete_and_wait(&path).await;
    }
    // The flag fails every deployment whatever the image.
    emu.set_faults(Faults {
        fail_provisioning: Some(ProvisionFailure::NoCapacity),
        ..Faults::default()
    });
    let r = arm
        .put(&cg("rg", "flagged"), &job(&["true"], "Never"))
        .await;
    let op = arm
        .wait_for(
            r.header("azure-asyncoperation").unwrap(),
            "failed op",
            |b| b["status"] == "Failed",
        )
        .await;
    assert_eq!(op["error"]["code"], "ServiceUnavailable");
    assert_eq!(emu.stats().live_processes, 0);
    emu.shutdown().await;
}

#[tokio::test]
async fn fault_provisioning_failures_sync() {
    let emu = Emulator::start(config()).await.unwrap();
    emu.set_faults(Faults {
        sync_provisioning_errors: true,
        ..Faults::default()
    });
    let arm = Arm::new(&emu).await;
    for (image, status, code) in [
        ("inaccessible", 400, "InaccessibleImage"),
        ("quota", 400, "ContainerGroupQuotaReached"),
        ("nocapacity", 409, "ServiceUnavailable"),
    ] {
        let path = cg("rg", image);
        let mut body = job(&["true"], "Never");
        body["properties"]["containers"][0]["properties"]["image"] = json!(image);
        let r = arm.put(&path, &body).await;
        assert_eq!((r.status, r.code().as_str()), (status, code));
        assert_eq!(arm.get(&path).await.status, 404);
    }
    emu.shutdown().await;
}

#[tokio::test]
async fn fault_unhealthy_eviction_loop() {
    let emu = Emulator::start(EmulatorConfig {
        provision_delay: Duration::from_millis(200),
        ..config()
    })
    .await
    .unwrap();
    let arm = Arm::new(&emu).await;
    emu.set_faults(Faults {
        evict_after: Some(Duration::from_millis(300)),
        ..Faults::default()
    });
    let path = cg("rg", "spot");
    let mut body = job(&["sh", "-c", "echo pid $$; exec sleep 300"], "Never");
    body["properties"]["priority"] = json!("Spot");
    assert_eq!(arm.put(&path, &body).await.status, 201);
    let pid: i32 = wait_log_line(&arm, &path, "pid ").await.parse().unwrap();
    let mut seen = BTreeSet::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    let v = loop {
        let v = arm.get(&path).await.json();
        seen.insert(prov(&v).to_string());
        if container_view(&v)["restartCount"].as_u64().unwrap_or(0) >= 1
            && prov(&v) == "Succeeded"
            && state(&v) == "Running"
        {
            break v;
        }
        assert!(Instant::now() < deadline, "no repair: {seen:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    assert!(
        seen.contains("Unhealthy") || seen.contains("Repairing"),
        "{seen:?}"
    );
    assert!(event_names(&v["properties"]["instanceView"]).contains("Evicted"));
    wait_pid_gone(pid).await;
    // And it loops: evicted again.
    arm.wait_for(&path, "second eviction", |v| {
        container_view(v)["restartCount"].as_u64().unwrap_or(0) >= 2
    })
    .await;
    emu.set_faults(Faults::default());

    // The image marker alone does it too.
    let path = cg("rg", "marker");
    let mut body = job(&["sleep", "300"], "Always");
    body["properties"]["containers"][0]["properties"]["image"] = json!("app-unhealthy:1");
    assert_eq!(arm.put(&path, &body).await.status, 201);
    arm.wait_for(&path, "marker eviction", |v| {
        prov(v) == "Unhealthy"
            || prov(v) == "Repairing"
            || container_view(v)["restartCount"].as_u64().unwrap_or(0) >= 1
    })
    .await;
    emu.shutdown().await;
}

#[tokio::test]
async fn fault_external_deletion_and_token_expiry() {
    let emu = Emulator::start(config()).await.unwrap();
    let arm = Arm::new(&emu).await;
    emu.set_faults(Faults {
        delete_after: Some(Duration::from_millis(200)),
        ..Faults::default()
    });
    let path = cg("rg", "vanishing");
    assert_eq!(
        arm.put(
            &path,
            &job(&["sh", "-c", "echo pid $$; exec sleep 300"], "Never")
        )
        .await
        .status,
        201
    );
    let pid: i32 = wait_log_line(&arm, &path, "pid ").await.parse().unwrap();
    let r = arm.wait_status(&path, 404).await;
    assert_eq!(r.code(), "ResourceNotFound");
    wait_pid_gone(pid).await;
    emu.set_faults(Faults {
        token_expiry: Some(Duration::from_millis(200)),
        ..Faults::default()
    });
    let short = Arm::new(&emu).await;
    assert_eq!(short.get(&path).await.status, 404);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let r = short.get(&path).await;
        if r.status == 401 {
            assert_eq!(r.code(), "ExpiredAuthenticationToken");
            assert!(r.header("www-authenticate").is_some());
            break;
        }
        assert!(Instant::now() < deadline, "token never expired");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    emu.shutdown().await;

    // A short configured lifetime behaves the same (and is announced).
    let emu = Emulator::start(EmulatorConfig {
        token_lifetime: Duration::from_secs(1),
        ..config()
    })
    .await
    .unwrap();
    let arm = Arm::new(&emu).await;
    assert_eq!(arm.get(&path).await.status, 404);
    let r = arm.wait_status(&path, 401).await;
    assert_eq!(r.code(), "ExpiredAuthenticationToken");
    emu.shutdown().await;
}

/// Reads one keep-alive answer (head and `content-length` body) from `stream`: its status.
async fn read_answer(stream: &mut TcpStream) -> u16 {
    let mut raw = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        if let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&raw[..end]).to_ascii_lowercase();
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .map(|v| v.trim().parse().unwrap())
                .unwrap_or(0);
            if raw.len() >= end + 4 + length {
                return head.split(' ').nth(1).unwrap().parse().unwrap();
            }
        }
        let n = stream.read(&mut buf).await.expect("read");
        assert!(n > 0, "the connection closed before the answer");
        raw.extend_from_slice(&buf[..n]);
    }
}

/// A restart resets the connections open at the time and every request while it lasts,
/// then the same state answers again.
#[tokio::test]
async fn fault_restart_resets_connections_then_the_same_state_answers() {
    let emu = Emulator::start(config()).await.unwrap();
    let arm = Arm::new(&emu).await;
    let path = cg("rg", "kept");
    assert_eq!(
        arm.put(&path, &job(&["sleep", "30"], "Never")).await.status,
        201
    );
    // A keep-alive connection that has served one request (so the server holds it open).
    let host = arm.base.trim_start_matches("http://").to_string();
    let mut open = TcpStream::connect(&host).await.unwrap();
    let head = format!(
        "GET {path}?api-version={API} HTTP/1.1\r\nHost: {host}\r\nAuthorization: {}\r\n\r\n",
        arm.auth
    );
    open.write_all(head.as_bytes()).await.unwrap();
    assert_eq!(read_answer(&mut open).await, 200);

    emu.restart(Duration::from_secs(3600));
    let mut rest = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), open.read_to_end(&mut rest))
        .await
        .expect("the open connection was closed");
    assert!(
        read.is_err() || rest.is_empty(),
        "reset, no answer: {read:?}"
    );
    let r = request(
        &arm.url(&path),
        "GET",
        &[("authorization", &arm.auth)],
        None,
    )
    .await;
    assert!(r.is_err(), "requests are reset while it is down: {r:?}");
    assert_eq!(emu.stats().count("ContainerGroups_Get", 0), 1);

    emu.restart(Duration::ZERO);
    let g = arm.get(&path).await;
    assert_eq!(g.status, 200, "the same state answers");
    assert_eq!(emu.stats().live_groups.len(), 1);
    emu.shutdown().await;
}
