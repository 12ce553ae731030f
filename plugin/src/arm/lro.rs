//! Following ARM long-running operations: `Azure-AsyncOperation` first, then `Location`,
//! then polling the resource itself; bounded in time, paced by `Retry-After` or a growing
//! interval, and cancellable.

use serde_json::Value;

use super::client::{parse_json, ArmClient};
use super::errors::remote_error;
use super::models::{is_terminal_state, ContainerGroup, OperationStatus};
use super::retry::retry_after_ms;
use crate::sys;
use task_plugin_sdk::http::{Method, Response};
use task_plugin_sdk::{Error, Result};

/// Bounds and pacing of LRO polling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PollPolicy {
    /// First interval when the server gives no `Retry-After`.
    pub initial_ms: u64,
    /// Largest interval.
    pub max_interval_ms: u64,
    /// Give up after this long (ACI's own provisioning timeout is 30 min).
    pub max_wait_ms: u64,
}

impl Default for PollPolicy {
    fn default() -> Self {
        PollPolicy {
            initial_ms: 1_000,
            max_interval_ms: 10_000,
            max_wait_ms: 30 * 60 * 1000,
        }
    }
}

impl PollPolicy {
    /// The interval before poll number `n` (0-based): the server's hint clamped to
    /// [200 ms, 60 s], else `initial × 1.5ⁿ` capped at `max_interval_ms`.
    pub fn interval_ms(&self, n: u32, hint_ms: Option<u64>) -> u64 {
        match hint_ms {
            Some(h) => h.clamp(200, 60_000),
            None => {
                let grown = self.initial_ms as f64 * 1.5f64.powi(n.min(40) as i32);
                (grown as u64).min(self.max_interval_ms)
            }
        }
    }
}

/// Where to follow an accepted operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PollTarget {
    /// `Azure-AsyncOperation`: a status resource with `status`.
    AsyncOperation(String),
    /// `Location`: `202` while running, then the final answer.
    Location(String),
    /// No header: poll the resource.
    Resource,
}

/// Picks the poll target from an initial response (pure).
pub fn poll_target(resp: &Response) -> PollTarget {
    let nonempty = |n: &str| {
        resp.header(n)
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(String::from)
    };
    if let Some(u) = nonempty("azure-asyncoperation") {
        PollTarget::AsyncOperation(u)
    } else if let Some(u) = nonempty("location") {
        PollTarget::Location(u)
    } else {
        PollTarget::Resource
    }
}

/// The error of a failed / canceled operation status (pure).
pub fn operation_error(status: &OperationStatus, http_status: u16) -> Error {
    if let Some(e) = &status.error {
        let code = if e.code.is_empty() {
            status.status.clone()
        } else {
            e.code.clone()
        };
        return Error::remote(http_status, code, e.message.clone());
    }
    // ACI reports failures as events under `properties.events`.
    let events = status
        .properties
        .as_ref()
        .and_then(|p| p.get("events"))
        .and_then(Value::as_array);
    let last = events.and_then(|ev| {
        ev.iter()
            .rev()
            .find_map(|e| e.get("message").and_then(Value::as_str))
    });
    let message = match last {
        Some(m) => format!("the operation ended {}: {m}", status.status),
        None => format!("the operation ended {}", status.status),
    };
    Error::remote(http_status, format!("Operation{}", status.status), message)
}

/// The error of a container group whose provisioning failed (pure).
pub fn provisioning_error(group: &ContainerGroup) -> Error {
    let state = group.provisioning_state().unwrap_or("Failed");
    let mut messages: Vec<String> = Vec::new();
    if let Some(ev) = group
        .properties
        .instance_view
        .as_ref()
        .and_then(|v| v.events.as_ref())
    {
        messages.extend(ev.iter().filter_map(|e| e.message.clone()));
    }
    for c in &group.properties.containers {
        if let Some(ev) = c
            .properties
            .instance_view
            .as_ref()
            .and_then(|v| v.events.as_ref())
        {
            messages.extend(
                ev.iter()
                    .filter(|e| e.r#type.as_deref() == Some("Warning"))
                    .filter_map(|e| e.message.clone()),
            );
        }
    }
    let message = match messages.last() {
        Some(m) => format!("provisioning ended {state}: {m}"),
        None => format!("provisioning ended {state}"),
    };
    Error::remote(200, format!("Provisioning{state}"), message)
}

fn sleep(ms: u64, what: &str) -> Result<()> {
    if sys::wait_cancelled(ms) {
        return Err(Error::Cancelled(format!(
            "cancelled while waiting for {what}"
        )));
    }
    Ok(())
}

/// Waits until the operation started by `initial` (a `201`/`202` answer on
/// `resource_url`) is terminal. `gone_is_done`: a `404` on the resource means success
/// (deletes). Returns an error when the operation failed, timed out or was cancelled.
pub fn wait(
    client: &ArmClient,
    initial: &Response,
    resource_url: &str,
    gone_is_done: bool,
    policy: PollPolicy,
    what: &str,
) -> Result<()> {
    let start = sys::now_ms();
    let mut hint = retry_after_ms(|n| initial.header(n).map(String::from), sys::unix_now());
    let target = poll_target(initial);
    if let PollTarget::AsyncOperation(u) | PollTarget::Location(u) = &target {
        client.check_followable(u)?;
    }
    // Bounded by `policy.max_wait_ms` (and each sleep is cancellable).
    for n in 0u32.. {
        let interval = policy.interval_ms(n, hint);
        if sys::now_ms().saturating_sub(start).saturating_add(interval) > policy.max_wait_ms {
            return Err(Error::TimedOut(format!(
                "{what} did not finish within {} s",
                policy.max_wait_ms / 1000
            )));
        }
        sleep(interval, what)?;
        match &target {
            PollTarget::AsyncOperation(url) => {
                let sent = client.send_raw(Method::Get, url, None)?;
                let resp = sent.response;
                if !resp.is_success() {
                    return Err(remote_error(
                        &resp,
                        &sent_note(&sent.gave_up, sent.attempts, sent.elapsed_ms),
                    ));
                }
                let status: OperationStatus = parse_json(&resp, url)?;
                if status.status.eq_ignore_ascii_case("Succeeded") {
                    return Ok(());
                }
                if is_terminal_state(&status.status) {
                    return Err(operation_error(&status, resp.status));
                }
                hint = retry_after_ms(|h| resp.header(h).map(String::from), sys::unix_now());
            }
            PollTarget::Location(url) => {
                let sent = client.send_raw(Method::Get, url, None)?;
                let resp = sent.response;
                match resp.status {
                    202 => {
                        hint = retry_after_ms(|h| resp.header(h).map(String::from), sys::unix_now())
                    }
                    200 | 201 | 204 => return Ok(()),
                    404 if gone_is_done => return Ok(()),
                    _ => {
                        return Err(remote_error(
                            &resp,
                            &sent_note(&sent.gave_up, sent.attempts, sent.elapsed_ms),
                        ))
                    }
                }
            }
            PollTarget::Resource => {
                let sent = client.send_raw(Method::Get, resource_url, None)?;
                let resp = sent.response;
                if resp.status == 404 && gone_is_done {
                    return Ok(());
                }
                if !resp.is_success() {
                    return Err(remote_error(
                        &resp,
                        &sent_note(&sent.gave_up, sent.attempts, sent.elapsed_ms),
                    ));
                }
                if !gone_is_done {
                    let group: ContainerGroup = parse_json(&resp, resource_url)?;
                    match group.provisioning_state() {
                        Some(s) if s.eq_ignore_ascii_case("Succeeded") => return Ok(()),
                        Some(s) if is_terminal_state(s) => return Err(provisioning_error(&group)),
                        _ => {}
                    }
                }
                hint = None;
            }
        }
    }
    unreachable!("the poll loop returns")
}

fn sent_note(
    gave_up: &Option<super::retry::GiveUpReason>,
    attempts: u32,
    elapsed_ms: u64,
) -> String {
    gave_up
        .map(|r| super::transport::give_up_note(r, attempts, elapsed_ms))
        .unwrap_or_default()
}

#[cfg(test)]
mod wait_tests;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A response with `status`, `headers` and no body.
    pub(super) fn resp(status: u16, headers: &[(&str, &str)]) -> Response {
        Response {
            status,
            headers: headers
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect(),
            body: vec![],
        }
    }

    #[test]
    fn target_precedence() {
        let both = resp(
            201,
            &[
                ("location", "https://m/loc"),
                ("azure-asyncoperation", "https://m/op"),
            ],
        );
        assert_eq!(
            poll_target(&both),
            PollTarget::AsyncOperation("https://m/op".into())
        );
        assert_eq!(
            poll_target(&resp(202, &[("Location", "https://m/loc")])),
            PollTarget::Location("https://m/loc".into())
        );
        assert_eq!(
            poll_target(&resp(201, &[("Azure-AsyncOperation", " ")])),
            PollTarget::Resource
        );
        assert_eq!(poll_target(&resp(201, &[])), PollTarget::Resource);
    }

    #[test]
    fn intervals() {
        let p = PollPolicy::default();
        assert_eq!(p.interval_ms(0, None), 1000);
        assert_eq!(p.interval_ms(1, None), 1500);
        assert_eq!(p.interval_ms(2, None), 2250);
        assert_eq!(p.interval_ms(20, None), 10_000);
        assert_eq!(p.interval_ms(0, Some(5000)), 5000);
        assert_eq!(p.interval_ms(0, Some(0)), 200);
        assert_eq!(p.interval_ms(0, Some(3_600_000)), 60_000);
    }

    #[test]
    fn operation_errors() {
        let failed: OperationStatus = serde_json::from_value(json!({
            "status": "Failed", "properties": {"events": [{"name": "InsufficientCapacity.", "message": "The requested resource is not available"}]}
        }))
        .unwrap();
        assert_eq!(
            operation_error(&failed, 200),
            Error::remote(
                200,
                "OperationFailed",
                "the operation ended Failed: The requested resource is not available"
            )
        );
        let with_error: OperationStatus =
            serde_json::from_value(json!({"status": "Failed", "error": {"code": "InaccessibleImage", "message": "bad image"}})).unwrap();
        assert_eq!(
            operation_error(&with_error, 200),
            Error::remote(200, "InaccessibleImage", "bad image")
        );
        let canceled: OperationStatus =
            serde_json::from_value(json!({"status": "Canceled"})).unwrap();
        assert_eq!(
            operation_error(&canceled, 200).code(),
            Some("OperationCanceled")
        );
    }

    #[test]
    fn provisioning_errors() {
        let g: ContainerGroup = serde_json::from_value(json!({"properties": {"provisioningState": "Failed", "containers": [],
            "instanceView": {"events": [{"message": "Output: mount error(2): Permission denied"}]}}}))
        .unwrap();
        assert_eq!(
            provisioning_error(&g),
            Error::remote(
                200,
                "ProvisioningFailed",
                "provisioning ended Failed: Output: mount error(2): Permission denied"
            )
        );
    }

    #[test]
    fn provisioning_error_takes_container_warnings_only() {
        // The group's own events count whatever their type; a container's only when they
        // are warnings, and the last message wins.
        let g: ContainerGroup = serde_json::from_value(json!({"properties": {"provisioningState": "Failed",
            "instanceView": {"events": [{"message": "group event", "type": "Normal"}]},
            "containers": [{"name": "c", "properties": {"image": "x", "resources": {"requests": {"cpu": 1.0, "memoryInGB": 1.0}},
                "instanceView": {"events": [
                    {"message": "pull failed", "type": "Warning"},
                    {"message": "Started container", "type": "Normal"}
                ]}}}]}}))
        .unwrap();
        assert_eq!(
            provisioning_error(&g),
            Error::remote(
                200,
                "ProvisioningFailed",
                "provisioning ended Failed: pull failed"
            )
        );
    }
}
