//! The wait loop: one GET of the group per poll, the container's log read
//! while it runs (less often than the state, see [`Schedule::logs_due`]), the
//! completion test, and every way the wait can end.
//!
//! - Done ([`observe::Status::Done`]): one full log fetch (so no line printed
//!   just before the exit is lost), then the exit code is returned.
//! - `provisioningState` `Failed`: ends with the events' reasons.
//! - `Unhealthy`/`Repairing`/eviction: ends at once (Airflow #47023: Spot
//!   groups otherwise cycle forever).
//! - The group disappears (404): ends with `deleted-externally`.
//! - `container_timeout` expires: [`Error::TimedOut`]; the host cancels:
//!   [`Error::Cancelled`]. The caller deletes the group.
//! - Transient read errors (network, 408, 429, 5xx; the ARM client has already
//!   retried them honouring `Retry-After`) are retried with a growing pause,
//!   at most [`MAX_READ_FAILURES`] times in a row; other errors end the wait.

use super::api::{Cloud, Host, Level};
use super::classify;
use super::logs::{Fetched, LogCursor};
use super::observe::{observe, EventLog, Observation, Status};
use super::schedule::{Phase, Schedule};
use task_plugin_sdk::{Error, Result};

/// Consecutive failed reads of the group before the wait gives up.
pub const MAX_READ_FAILURES: u32 = 8;
/// `404`s tolerated before the group was ever seen (ARM read-after-write lag).
const MAX_EARLY_NOT_FOUND: u32 = 3;

/// How the container ended.
#[derive(Debug, Clone, PartialEq)]
pub struct Exit {
    /// Exit code of the main container, when ARM reported one.
    pub exit_code: Option<i32>,
    /// Its detail status (`Completed`, `Error`, ...).
    pub detail_status: Option<String>,
    /// The whole log (with timestamps) fetched after the exit, when it could be read.
    pub final_log: Option<String>,
}

/// What to wait on, and how.
#[derive(Debug, Clone)]
pub struct WaitSpec<'a> {
    /// Resource group.
    pub resource_group: &'a str,
    /// Group name (also the container's name).
    pub name: &'a str,
    /// Absolute monotonic deadline (`container_timeout`), if any.
    pub deadline_ms: Option<u64>,
    /// The configured timeout, for the message.
    pub timeout_label: String,
    /// Stream the log live (false in `deferrable` mode: printed once at the end).
    pub stream_logs: bool,
    /// Spot priority (an `Unhealthy` group is then an eviction).
    pub spot: bool,
    /// Poll intervals.
    pub schedule: Schedule,
}

/// Is this read error worth retrying?
pub fn transient(e: &Error) -> bool {
    match e {
        Error::Remote { status, code, .. } => {
            *status == 0
                || *status == 408
                || *status == 429
                || *status >= 500
                || code == "ContainerGroupTransitioning"
        }
        _ => false,
    }
}

/// A log read that failed only because there is no log yet.
fn log_not_ready(e: &Error) -> bool {
    matches!(
        e.code(),
        Some("ContainerLogNotAvailable" | "ContainerGroupTransitioning" | "ContainerNotFound")
    )
}

/// The wait loop's state.
struct Waiter<'a, C: Cloud, H: Host> {
    cloud: &'a C,
    host: &'a H,
    spec: &'a WaitSpec<'a>,
    cursor: LogCursor,
    events: EventLog,
    /// The state label last logged.
    last_state: Option<String>,
    /// The group has been read at least once.
    seen: bool,
    /// `404`s before the group was ever seen.
    early_not_found: u32,
    /// Consecutive failed reads.
    failures: u32,
    /// When the log was last read, and polls of the state since.
    last_logs: Option<(u64, u32)>,
}

impl<'a, C: Cloud, H: Host> Waiter<'a, C, H> {
    /// A wait loop on `spec` that has not run yet.
    fn new(cloud: &'a C, host: &'a H, spec: &'a WaitSpec<'a>) -> Self {
        Waiter {
            cloud,
            host,
            spec,
            cursor: LogCursor::new(),
            events: EventLog::default(),
            last_state: None,
            seen: false,
            early_not_found: 0,
            failures: 0,
            last_logs: None,
        }
    }

    /// Reads the log and prints the lines not shown yet. `full` fetches the
    /// whole log; a tail that may have missed lines is followed by a full fetch.
    /// Returns the content read (for the final fetch's XCom).
    fn read_logs(&mut self, full: bool) -> Option<String> {
        let tail = if full {
            None
        } else {
            Some(self.cursor.suggested_tail())
        };
        let spec = self.spec;
        match self
            .cloud
            .logs(spec.resource_group, spec.name, spec.name, tail)
        {
            Ok(content) => {
                let content = content.unwrap_or_default();
                match self.cursor.ingest(&content, tail) {
                    Fetched::New(lines) => {
                        for line in lines {
                            self.host.info(line);
                        }
                        Some(content)
                    }
                    Fetched::Incomplete => self.read_logs(true),
                }
            }
            Err(e) if log_not_ready(&e) => {
                self.host
                    .debug(&format!("Container log not available yet: {e}"));
                None
            }
            Err(e) => {
                self.host.warn(&format!(
                    "Exception while getting logs from container instance, retrying...: {e}"
                ));
                None
            }
        }
    }

    /// Reads the log at this poll of a running container when the schedule
    /// says it is due (less often than the state).
    fn poll_logs(&mut self) {
        let now = self.host.now_ms();
        if let Some((_, polls)) = &mut self.last_logs {
            *polls += 1;
        }
        let since = self
            .last_logs
            .map(|(at, polls)| (now.saturating_sub(at), polls));
        if self.spec.schedule.logs_due(since) {
            self.read_logs(false);
            self.last_logs = Some((now, 0));
        }
    }

    fn log_events(&mut self, obs: &Observation) {
        for e in self.events.fresh(&obs.events) {
            let times = if e.count > 1 {
                format!(" (x{})", e.count)
            } else {
                String::new()
            };
            let level = if e.kind.eq_ignore_ascii_case("warning") {
                Level::Warn
            } else {
                Level::Info
            };
            self.host
                .log(level, &format!("Event {}: {}{times}", e.name, e.message));
        }
    }

    fn timed_out(&self) -> Option<Error> {
        let deadline = self.spec.deadline_ms?;
        (self.host.now_ms() >= deadline).then(|| {
            Error::TimedOut(format!(
                "container_timeout of {} expired before the container exited",
                self.spec.timeout_label
            ))
        })
    }

    /// Sleeps `ms` (cut short at the deadline); `Err` when cancelled.
    fn pause(&self, ms: u64) -> Result<()> {
        let ms = match self.spec.deadline_ms {
            Some(d) => ms.min(d.saturating_sub(self.host.now_ms())),
            None => ms,
        };
        if self.host.wait_cancelled(ms) {
            return Err(cancelled());
        }
        Ok(())
    }

    fn run(&mut self) -> Result<Exit> {
        let spec = self.spec;
        let mut phase = Phase::Starting;
        let mut phase_start = self.host.now_ms();
        loop {
            if self.host.cancelled() {
                return Err(cancelled());
            }
            if let Some(e) = self.timed_out() {
                return Err(e);
            }
            let normal = spec
                .schedule
                .interval_ms(phase, self.host.now_ms().saturating_sub(phase_start));
            let Some(group) = self.read_group(normal)? else {
                continue;
            };
            let obs = observe(&group, spec.name);
            self.log_events(&obs);
            let label = obs.state_label();
            if self.last_state.as_deref() != Some(label.as_str()) {
                self.host
                    .info(&format!("Container group state changed to {label}"));
                self.last_state = Some(label);
            }
            match obs.status() {
                Status::Done {
                    exit_code,
                    detail_status,
                } => return Ok(self.exited(exit_code, detail_status)),
                Status::ProvisioningFailed => return Err(self.provisioning_failed(&obs)),
                Status::Unhealthy => return Err(self.unhealthy(&obs)),
                Status::Running => {
                    if phase == Phase::Starting {
                        phase = Phase::Running;
                        phase_start = self.host.now_ms();
                    }
                    if spec.stream_logs {
                        self.poll_logs();
                    }
                }
                Status::Starting => {}
            }
            let interval = spec
                .schedule
                .interval_ms(phase, self.host.now_ms().saturating_sub(phase_start));
            self.pause(interval)?;
        }
    }

    /// One GET of the group. `None` when there is nothing to look at this
    /// round (an early `404` or a transient failure, already paused for);
    /// `Err` ends the wait. `normal` is the current poll interval.
    fn read_group(&mut self, normal: u64) -> Result<Option<serde_json::Value>> {
        let (rg, name) = (self.spec.resource_group, self.spec.name);
        match self.cloud.get_group(rg, name) {
            Ok(g) => {
                self.seen = true;
                self.failures = 0;
                Ok(Some(g))
            }
            Err(e)
                if e.is_not_found()
                    && (self.seen || self.early_not_found >= MAX_EARLY_NOT_FOUND) =>
            {
                self.host
                    .warn("ResourceNotFound, container is probably removed by another process (make sure that the name is unique).");
                Err(Error::Failed {
                    exit_code: None,
                    reason: classify::DELETED_EXTERNALLY.into(),
                    message: format!(
                        "Container group {rg}/{name} was deleted by another process while the task was waiting on it (make sure that the name is unique)"
                    ),
                })
            }
            Err(e) if e.is_not_found() => {
                self.early_not_found += 1;
                self.pause(1_000)?;
                Ok(None)
            }
            Err(e) if transient(&e) && self.failures < MAX_READ_FAILURES => {
                self.failures += 1;
                let failures = self.failures;
                self.host.warn(&format!("Exception while getting container groups, retrying ({failures}/{MAX_READ_FAILURES}): {e}"));
                self.pause(self.spec.schedule.error_backoff_ms(normal, failures))?;
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// The container exited: one full log fetch, then its exit.
    fn exited(&mut self, exit_code: Option<i32>, detail_status: Option<String>) -> Exit {
        self.host.info(&format!(
            "Container exited with detail_status {}",
            detail_status.as_deref().unwrap_or("None")
        ));
        let final_log = self.read_logs(true);
        Exit {
            exit_code,
            detail_status,
            final_log,
        }
    }

    fn provisioning_failed(&self, obs: &Observation) -> Error {
        let (rg, name) = (self.spec.resource_group, self.spec.name);
        self.host.error("Azure provision failure");
        let reason = classify::provisioning_reason(&obs.events);
        Error::Failed {
            exit_code: None,
            reason: reason.into(),
            message: with_events(
                &format!("Provisioning of container group {rg}/{name} failed"),
                obs,
            ),
        }
    }

    fn unhealthy(&self, obs: &Observation) -> Error {
        let (rg, name) = (self.spec.resource_group, self.spec.name);
        self.host.error("Azure provision unhealthy");
        let reason = classify::unhealthy_reason(&obs.events, self.spec.spot);
        Error::Failed {
            exit_code: None,
            reason: reason.into(),
            message: with_events(
                &format!(
                    "Container group {rg}/{name} became {} (node failure or Spot eviction); its container was stopped",
                    obs.provisioning_state.as_deref().unwrap_or("Unhealthy")
                ),
                obs,
            ),
        }
    }
}

fn cancelled() -> Error {
    Error::Cancelled("the task was cancelled while waiting for the container".into())
}

fn with_events(head: &str, obs: &Observation) -> String {
    let events = classify::event_summary(&obs.events);
    if events.is_empty() {
        head.to_string()
    } else {
        format!("{head}: {events}")
    }
}

/// Waits for the group to finish; see the module docs.
pub fn wait<C: Cloud, H: Host>(cloud: &C, host: &H, spec: &WaitSpec<'_>) -> Result<Exit> {
    Waiter::new(cloud, host, spec).run()
}

#[cfg(test)]
mod tests;
