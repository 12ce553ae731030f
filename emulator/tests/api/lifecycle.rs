//! A container group's life: provisioning, states, events, logs, restart policies, stop /
//! start / restart.

use crate::common::*;

#[tokio::test]
async fn job_runs_to_success_with_logs_and_events() {
    let emu = Emulator::start(config()).await.unwrap();
    let arm = Arm::new(&emu).await;
    let path = cg("rg", "job-ok");
    let body = job(
        &[
            "sh",
            "-c",
            "echo start; echo \"mode=$MODE\"; case \"$TOKEN\" in s3cr3t-v*e) echo secure-ok;; esac; echo done >&2",
        ],
        "Never",
    );
    let r = arm.put(&path, &body).await;
    assert_eq!(r.status, 201, "{}", r.text());
    let created = r.json();
    assert_eq!(prov(&created), "Pending");
    assert_eq!(
        created["properties"]["instanceView"],
        json!({"events": [], "state": "Pending"})
    );
    assert_eq!(created["id"], path);
    assert_eq!(
        created["type"],
        "Microsoft.ContainerInstance/containerGroups"
    );
    assert!(!r.text().contains("s3cr3t-value"));
    let async_url = r.header("azure-asyncoperation").unwrap().to_string();
    let location_url = r.header("location").unwrap().to_string();
    assert!(
        async_url.starts_with(&emu.base_url())
            && async_url.contains("/operations/")
            && async_url.contains("api-version=2018-06-01")
    );
    assert!(location_url.contains("/operationResults/"));

    assert_operation_succeeds(&arm, &async_url, &path).await;

    let done = arm
        .wait_for(&path, "job Succeeded", |v| state(v) == "Succeeded")
        .await;
    assert_eq!(prov(&done), "Succeeded");
    let cur = current(&done);
    assert_eq!(cur["state"], "Terminated");
    assert_eq!(cur["exitCode"], 0);
    assert_eq!(cur["detailStatus"], "Completed");
    assert!(cur["startTime"].is_string() && cur["finishTime"].is_string());
    assert_eq!(container_view(&done)["restartCount"], 0);
    let names = event_names(container_view(&done));
    for n in ["Pulling", "Pulled", "Created", "Started"] {
        assert!(names.contains(n), "{n} missing in {names:?}");
    }
    assert!(!serde_json::to_string(&done)
        .unwrap()
        .contains("s3cr3t-value"));
    assert!(
        done["properties"]["containers"][0]["properties"]["environmentVariables"][1]
            .get("secureValue")
            .is_none()
    );

    assert_logs(&arm, &path).await;

    // The Location header resolves to the final group.
    let res = arm.get(&location_url).await;
    assert_eq!(res.status, 200);
    assert_eq!(res.json()["name"], "job-ok");

    assert_async_delete(&arm, &path).await;
    assert_eq!(
        (
            arm.get(&path).await.status,
            arm.get(&path).await.code().as_str()
        ),
        (404, "ResourceNotFound")
    );
    assert_eq!(arm.delete(&path).await.status, 204);

    let stats = emu.stats();
    assert_eq!(stats.count("ContainerGroups_CreateOrUpdate", 201), 1);
    assert_eq!(stats.count("ContainerGroups_Delete", 202), 2);
    assert_eq!(stats.count("ContainerGroups_Delete", 204), 1);
    assert!(stats.count("ContainerGroups_Get", 200) >= 1);
    assert!(stats.count("AsyncOperation_Get", 200) >= 1);
    assert!(stats.live_groups.is_empty());
    emu.shutdown().await;
}

/// DELETE: 202 with the operation (under the resource group, as the recorded example), the
/// group `Deleting` (writes refused, a repeated DELETE the same 202) until the operation
/// succeeds.
async fn assert_async_delete(arm: &Arm, path: &str) {
    let del = arm.delete(path).await;
    assert_eq!(del.status, 202);
    assert!(del.body.is_empty());
    let op_url = del.header("azure-asyncoperation").unwrap().to_string();
    assert!(
        op_url.contains(&format!("/subscriptions/{LOCAL_SUBSCRIPTION_ID}/resourceGroups/rg/providers/Microsoft.ContainerInstance/locations/eastus/operations/")),
        "{op_url}"
    );
    assert!(del
        .header("location")
        .unwrap()
        .contains("/operationResults/"));
    assert_eq!(prov(&arm.get(path).await.json()), "Deleting");
    assert_eq!(
        arm.put(path, &job(&["true"], "Never")).await.code(),
        "ContainerGroupTransitioning"
    );
    let again = arm.delete(path).await;
    assert_eq!(
        (again.status, again.header("azure-asyncoperation")),
        (202, Some(op_url.as_str())),
        "a repeated DELETE answers the same operation"
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let op = arm.get(&op_url).await.json();
        assert_eq!(op["id"], path);
        if op["status"] == "Succeeded" {
            break;
        }
        assert_eq!(op["status"], "Deleting");
        assert!(Instant::now() < deadline, "deletion never finished");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The status resource walks Pending -> Creating -> Succeeded (polled, so some may be skipped).
async fn assert_operation_succeeds(arm: &Arm, async_url: &str, path: &str) {
    let order = ["Pending", "Creating", "Succeeded"];
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let s = arm.get(async_url).await;
        assert_eq!(s.status, 200);
        let b = s.json();
        assert_eq!(b["id"], path);
        assert!(b["startTime"].is_string() && b["properties"]["events"].is_array());
        let st = b["status"].as_str().unwrap().to_string();
        let pos = order
            .iter()
            .position(|o| *o == st)
            .unwrap_or_else(|| panic!("unexpected status {st}"));
        if let Some(last) = seen.last() {
            assert!(pos >= *last, "status went backwards: {seen:?} then {st}");
        }
        seen.push(pos);
        if st == "Succeeded" {
            let names: BTreeSet<_> = b["properties"]["events"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["name"].as_str().unwrap().to_string())
                .collect();
            assert!(
                names.contains("Pulling") && names.contains("Started"),
                "{names:?}"
            );
            break;
        }
        assert!(Instant::now() < deadline, "operation never finished");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The job's logs: every line, `tail`, nanosecond timestamps, unknown container, bad tail.
async fn assert_logs(arm: &Arm, path: &str) {
    let logs = arm.get(&format!("{path}/containers/job/logs")).await;
    assert_eq!(logs.status, 200);
    let content = logs.json()["content"].as_str().unwrap().to_string();
    for line in ["start", "mode=batch", "secure-ok", "done"] {
        assert!(
            content.lines().any(|l| l == line),
            "{line} missing in {content:?}"
        );
    }
    let tail = arm
        .get(&format!("{path}/containers/job/logs?tail=1"))
        .await
        .json();
    assert_eq!(tail["content"].as_str().unwrap().lines().count(), 1);
    let ts = arm
        .get(&format!(
            "{path}/containers/job/logs?timestamps=true&tail=2"
        ))
        .await
        .json();
    for line in ts["content"].as_str().unwrap().lines() {
        let (stamp, _) = line.split_once(' ').unwrap();
        assert_eq!(stamp.len(), 30, "nanosecond RFC 3339: {stamp}");
        assert!(
            chrono::DateTime::parse_from_rfc3339(stamp).is_ok(),
            "{stamp}"
        );
    }
    assert_eq!(
        arm.get(&format!("{path}/containers/nope/logs"))
            .await
            .status,
        404
    );
    assert_eq!(
        arm.get(&format!("{path}/containers/job/logs?tail=-1"))
            .await
            .status,
        400
    );
}

#[tokio::test]
async fn job_failure_keeps_provisioning_succeeded() {
    let emu = Emulator::start(config()).await.unwrap();
    let arm = Arm::new(&emu).await;
    let path = cg("rg", "job-fail");
    assert_eq!(
        arm.put(&path, &job(&["sh", "-c", "echo failing; exit 3"], "Never"))
            .await
            .status,
        201
    );
    let v = arm
        .wait_for(&path, "job Failed", |v| state(v) == "Failed")
        .await;
    assert_eq!(prov(&v), "Succeeded");
    assert_eq!(current(&v)["state"], "Terminated");
    assert_eq!(current(&v)["exitCode"], 3);
    assert_eq!(current(&v)["detailStatus"], "Error");
    assert!(event_names(container_view(&v)).contains("Killing"));

    // Signal deaths are 128 + signal, like an OOM kill (137).
    let path2 = cg("rg", "job-killed");
    assert_eq!(
        arm.put(&path2, &job(&["sh", "-c", "kill -9 $$"], "Never"))
            .await
            .status,
        201
    );
    let v = arm
        .wait_for(&path2, "killed job", |v| state(v) == "Failed")
        .await;
    assert_eq!(current(&v)["exitCode"], 137);

    // A command that does not exist ends like a runtime start failure (127).
    let path3 = cg("rg", "job-missing");
    assert_eq!(
        arm.put(&path3, &job(&["/no/such/binary"], "Never"))
            .await
            .status,
        201
    );
    let v = arm
        .wait_for(&path3, "missing binary", |v| state(v) == "Failed")
        .await;
    assert_eq!(current(&v)["exitCode"], 127);
    let logs = arm
        .get(&format!("{path3}/containers/job/logs"))
        .await
        .json();
    assert!(logs["content"].as_str().unwrap().contains("cannot start"));

    // No command: a stand-in that logs a note and exits 0.
    let path4 = cg("rg", "job-nocmd");
    let mut body = job(&[], "Never");
    body["properties"]["containers"][0]["properties"]
        .as_object_mut()
        .unwrap()
        .remove("command");
    assert_eq!(arm.put(&path4, &body).await.status, 201);
    let v = arm
        .wait_for(&path4, "no-command job", |v| state(v) == "Succeeded")
        .await;
    assert_eq!(current(&v)["exitCode"], 0);
    let logs = arm
        .get(&format!("{path4}/containers/job/logs"))
        .await
        .json();
    assert_eq!(
        logs["content"],
        "emulator: image alpine:3 has no local command; exiting 0\n"
    );
    emu.shutdown().await;
}

#[tokio::test]
async fn restart_policies_restart_and_count() {
    let emu = Emulator::start(EmulatorConfig {
        restart_backoff: Duration::from_millis(20),
        ..config()
    })
    .await
    .unwrap();
    let arm = Arm::new(&emu).await;
    // OnFailure: fails twice (a counter file in HOME survives restarts), then succeeds.
    let script = "n=$(cat count 2>/dev/null || echo 0); n=$((n+1)); echo $n > count; echo attempt $n; [ $n -ge 3 ]";
    let path = cg("rg", "on-failure");
    assert_eq!(
        arm.put(&path, &job(&["sh", "-c", script], "OnFailure"))
            .await
            .status,
        201
    );
    let v = arm
        .wait_for(&path, "OnFailure success", |v| state(v) == "Succeeded")
        .await;
    let view = container_view(&v);
    assert_eq!(view["restartCount"], 2);
    assert_eq!(view["currentState"]["exitCode"], 0);
    assert_eq!(view["previousState"]["state"], "Terminated");
    assert_eq!(view["previousState"]["exitCode"], 1);
    assert!(event_names(view).contains("BackOff"));
    let logs = arm.get(&format!("{path}/containers/job/logs")).await.json();
    assert!(logs["content"].as_str().unwrap().contains("attempt 3"));

    // Always: a command that exits 0 keeps being restarted; the group stays Running.
    let path = cg("rg", "always");
    assert_eq!(
        arm.put(&path, &job(&["sh", "-c", "echo tick"], "Always"))
            .await
            .status,
        201
    );
    let v = arm
        .wait_for(&path, "two restarts", |v| {
            container_view(v)["restartCount"].as_u64().unwrap_or(0) >= 2
        })
        .await;
    assert_eq!(state(&v), "Running");
    assert_eq!(prov(&v), "Succeeded");
    emu.shutdown().await;
}

#[tokio::test]
async fn stop_start_restart_and_transitions() {
    let emu = Emulator::start(EmulatorConfig {
        provision_delay: Duration::from_millis(300),
        ..config()
    })
    .await
    .unwrap();
    let arm = Arm::new(&emu).await;
    let path = cg("rg", "svc");
    let body = job(&["sh", "-c", "echo pid $$; exec sleep 300"], "Always");
    let created = arm.put(&path, &body).await;
    assert_eq!(created.status, 201);
    assert!(
        created.header("retry-after").is_none(),
        "ACI sends no Retry-After on PUT"
    );
    assert_refused_while_provisioning(&arm, &path, &body, &created).await;
    let creating = arm
        .wait_for(&path, "Creating", |v| {
            prov(v) == "Creating" || prov(v) == "Succeeded"
        })
        .await;
    if prov(&creating) == "Creating" {
        assert_eq!(state(&creating), "Pending");
        assert_eq!(current(&creating)["state"], "Waiting");
    }
    let v = arm
        .wait_for(&path, "Running", |v| state(v) == "Running")
        .await;
    assert_eq!(current(&v)["state"], "Running");
    let pid: i32 = wait_log_line(&arm, &path, "pid ").await.parse().unwrap();
    assert!(pid_exists(pid));
    assert_eq!(emu.stats().live_processes, 1);

    // Start while running: nothing to do.
    assert_eq!(arm.post(&format!("{path}/start")).await.status, 204);

    // Stop: 204, processes killed, state Stopped, provisioning unchanged.
    assert_eq!(arm.post(&format!("{path}/stop")).await.status, 204);
    assert!(!pid_exists(pid), "stop answers once the process is gone");
    let v = arm.get(&path).await.json();
    assert_eq!(state(&v), "Stopped");
    assert_eq!(prov(&v), "Succeeded");
    assert_eq!(current(&v)["state"], "Terminated");
    assert!(event_names(container_view(&v)).contains("Killing"));
    assert_eq!(current(&v)["exitCode"], 128 + 15);

    // Start: 202 with an async operation, back to Running with a new process.
    let r = arm.post(&format!("{path}/start")).await;
    assert_eq!(r.status, 202);
    let op = r.header("azure-asyncoperation").unwrap().to_string();
    arm.wait_for(&op, "start op", |b| b["status"] == "Succeeded")
        .await;
    let pid2: i32 = wait_log_line(&arm, &path, "pid ").await.parse().unwrap();
    assert_ne!(pid, pid2);

    // Restart: 204, the container runs again in place with another process.
    let r = arm.post(&format!("{path}/restart")).await;
    assert_eq!(r.status, 204);
    wait_pid_gone(pid2).await;
    arm.wait_for(&path, "Running after restart", |v| {
        state(v) == "Running" && prov(v) == "Succeeded"
    })
    .await;
    let pid3: i32 = wait_log_line(&arm, &path, "pid ").await.parse().unwrap();
    assert!(pid3 != pid2 && pid_exists(pid3));

    update_in_place(&arm, &path, &body, pid3).await;

    // Delete kills the process.
    let pid4: i32 = wait_log_line(&arm, &path, "pid ")
        .await
        .trim_end_matches(" v2")
        .parse()
        .unwrap();
    arm.delete_and_wait(&path).await;
    assert!(!pid_exists(pid4), "the group is gone once its process is");
    emu.shutdown().await;
}

/// While provisioning: the Location resource answers 202 (with Location and Retry-After),
/// writes are refused and logs are not available yet.
async fn assert_refused_while_provisioning(
    arm: &Arm,
    path: &str,
    body: &Value,
    created: &Response,
) {
    let pending = arm.get(created.header("location").unwrap()).await;
    assert_eq!(pending.status, 202);
    assert!(pending
        .header("location")
        .unwrap()
        .contains("/operationResults/"));
    assert_eq!(pending.header("retry-after"), Some("1"));
    // Mid-provisioning: writes are refused, logs are not available yet.
    let r = arm.put(path, body).await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (409, "ContainerGroupTransitioning")
    );
    assert_eq!(arm.delete(path).await.status, 409);
    assert_eq!(arm.post(&format!("{path}/stop")).await.status, 409);
    assert_eq!(
        arm.get(&format!("{path}/containers/job/logs")).await.status,
        409
    );
}

/// Updates a running group (process `pid`): a new command is fine (200, the process is
/// replaced), a new restart policy or CPU request is not.
async fn update_in_place(arm: &Arm, path: &str, body: &Value, pid: i32) {
    let mut updated = body.clone();
    updated["properties"]["containers"][0]["properties"]["command"] =
        json!(["sh", "-c", "echo pid $$ v2; exec sleep 300"]);
    let r = arm.put_when_ready(path, &updated).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(prov(&r.json()), "Pending");
    wait_pid_gone(pid).await;
    arm.wait_for(path, "Running after update", |v| state(v) == "Running")
        .await;
    let mut bad = updated.clone();
    bad["properties"]["restartPolicy"] = json!("Never");
    let r = arm.put_when_ready(path, &bad).await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (400, "InvalidContainerGroupUpdate")
    );
    let mut bad = updated.clone();
    bad["properties"]["containers"][0]["properties"]["resources"]["requests"]["cpu"] = json!(2.0);
    assert_eq!(arm.put_when_ready(path, &bad).await.status, 400);
}
