//! What one GET of the group says, reduced to what the wait loop decides on,
//! and the completion test of `arm-aci.md` §5: done when the group's
//! `instanceView.state` is `Succeeded`/`Failed` (or `Stopped`), or when the
//! restart policy is not `Always` and every container is `Terminated`.

use std::collections::HashMap;

use serde_json::Value;

/// One ARM event (`Event`).
#[derive(Clone, Debug, PartialEq)]
pub struct EventObs {
    /// Event name (`Pulling`, `Started`, `Failed`, `Killing`, ...).
    pub name: String,
    /// Event message.
    pub message: String,
    /// `Normal` or `Warning`.
    pub kind: String,
    /// How many times it happened.
    pub count: u64,
    /// First occurrence (as ARM wrote it).
    pub first_timestamp: Option<String>,
    /// Last occurrence (as ARM wrote it).
    pub last_timestamp: Option<String>,
}

/// The main container's instance view.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ContainerObs {
    /// `Waiting`, `Running`, `Terminated` (None: no instance view yet).
    pub state: Option<String>,
    /// Exit code, when terminated and reported.
    pub exit_code: Option<i32>,
    /// `Completed`, `Error`, `OOMKilled`, ...
    pub detail_status: Option<String>,
    /// Restarts so far.
    pub restart_count: u64,
    /// The previous run's state (after a restart or eviction).
    pub previous_state: Option<String>,
}

/// One observation of the group.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Observation {
    /// `properties.provisioningState`.
    pub provisioning_state: Option<String>,
    /// `properties.instanceView.state`.
    pub group_state: Option<String>,
    /// `properties.restartPolicy`.
    pub restart_policy: Option<String>,
    /// The main container (the one named like the group, else the first).
    pub container: ContainerObs,
    /// Every container has `currentState.state == Terminated` (and there is one).
    pub all_terminated: bool,
    /// Group events followed by the main container's events.
    pub events: Vec<EventObs>,
    /// The group's tags.
    pub tags: HashMap<String, String>,
}

/// What the wait loop should do next.
#[derive(Clone, Debug, PartialEq)]
pub enum Status {
    /// Not started yet.
    Starting,
    /// The container has started.
    Running,
    /// The job is over.
    Done {
        /// The main container's exit code, if ARM reported one.
        exit_code: Option<i32>,
        /// Its detail status.
        detail_status: Option<String>,
    },
    /// `provisioningState` is `Failed` and the job did not run to completion.
    ProvisioningFailed,
    /// The group is `Unhealthy` or `Repairing`, or was evicted (node failure,
    /// Spot eviction): the job's process was lost.
    Unhealthy,
}

fn s(v: &Value, ptr: &str) -> Option<String> {
    v.pointer(ptr).and_then(Value::as_str).map(str::to_string)
}

fn events(v: Option<&Value>) -> Vec<EventObs> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .map(|e| EventObs {
                    name: s(e, "/name").unwrap_or_default(),
                    message: s(e, "/message").unwrap_or_default(),
                    kind: s(e, "/type").unwrap_or_default(),
                    count: e.get("count").and_then(Value::as_u64).unwrap_or(1),
                    first_timestamp: s(e, "/firstTimestamp"),
                    last_timestamp: s(e, "/lastTimestamp"),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Reads an ARM `ContainerGroup` JSON.
pub fn observe(group: &Value, container_name: &str) -> Observation {
    let props = group.get("properties").unwrap_or(&Value::Null);
    let containers: &[Value] = props
        .get("containers")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    let main = containers
        .iter()
        .find(|c| c.get("name").and_then(Value::as_str) == Some(container_name))
        .or_else(|| containers.first());
    let view = main.and_then(|c| c.pointer("/properties/instanceView"));
    let container = match view {
        Some(iv) => ContainerObs {
            state: s(iv, "/currentState/state"),
            exit_code: iv
                .pointer("/currentState/exitCode")
                .and_then(Value::as_i64)
                .and_then(|c| i32::try_from(c).ok()),
            detail_status: s(iv, "/currentState/detailStatus").filter(|d| !d.is_empty()),
            restart_count: iv.get("restartCount").and_then(Value::as_u64).unwrap_or(0),
            previous_state: s(iv, "/previousState/state"),
        },
        None => ContainerObs::default(),
    };
    let all_terminated = !containers.is_empty()
        && containers.iter().all(|c| {
            c.pointer("/properties/instanceView/currentState/state")
                .and_then(Value::as_str)
                == Some("Terminated")
        });
    let mut evs = events(props.pointer("/instanceView/events"));
    evs.extend(events(view.and_then(|iv| iv.get("events"))));
    let tags = group
        .get("tags")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_string())))
                .collect()
        })
        .unwrap_or_default();
    Observation {
        provisioning_state: s(props, "/provisioningState"),
        group_state: s(props, "/instanceView/state"),
        restart_policy: s(props, "/restartPolicy"),
        container,
        all_terminated,
        events: evs,
        tags,
    }
}

impl Observation {
    /// Airflow's notion of "the state": the container's current state when it
    /// has an instance view, else the provisioning state.
    pub fn state_label(&self) -> String {
        self.container
            .state
            .clone()
            .or_else(|| self.provisioning_state.clone())
            .unwrap_or_else(|| "Unknown".into())
    }

    /// The decision for this observation.
    pub fn status(&self) -> Status {
        let eq =
            |o: &Option<String>, v: &str| o.as_deref().is_some_and(|s| s.eq_ignore_ascii_case(v));
        // `Repairing` follows `Unhealthy` (the containers were killed and are
        // being started again), and may be all a poll sees of an eviction.
        let evicted = self
            .events
            .iter()
            .any(|e| e.name.to_ascii_lowercase().contains("evict"));
        if eq(&self.provisioning_state, "Unhealthy")
            || eq(&self.provisioning_state, "Repairing")
            || eq(&self.group_state, "Unhealthy")
            || eq(&self.container.state, "Unhealthy")
            || evicted
        {
            return Status::Unhealthy;
        }
        let group_done = ["Succeeded", "Failed", "Stopped"]
            .iter()
            .any(|s| eq(&self.group_state, s));
        let policy_always = eq(&self.restart_policy, "Always");
        if group_done || (!policy_always && self.all_terminated) {
            return Status::Done {
                exit_code: self.container.exit_code,
                detail_status: self.container.detail_status.clone(),
            };
        }
        if eq(&self.provisioning_state, "Failed") {
            return Status::ProvisioningFailed;
        }
        let started = eq(&self.container.state, "Running")
            || eq(&self.container.state, "Terminated")
            || self.container.restart_count > 0
            || self.container.previous_state.is_some();
        if started {
            Status::Running
        } else {
            Status::Starting
        }
    }
}

/// Remembers which events were already logged (by name, message and count).
#[derive(Debug, Default)]
pub struct EventLog {
    seen: HashMap<(String, String), u64>,
}

impl EventLog {
    /// The events that are new or happened again since the last call.
    pub fn fresh<'a>(&mut self, events: &'a [EventObs]) -> Vec<&'a EventObs> {
        let mut out = Vec::new();
        for e in events {
            let key = (e.name.clone(), e.message.clone());
            let prev = self.seen.get(&key).copied();
            if prev.is_none_or(|c| e.count > c) {
                self.seen.insert(key, e.count);
                out.push(e);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn group(prov: &str, state: Option<&str>, current: Option<Value>, policy: &str) -> Value {
        let mut c = json!({"name": "job", "properties": {"image": "x"}});
        if let Some(cur) = current {
            c["properties"]["instanceView"] = json!({"restartCount": 0, "currentState": cur, "events": [
                {"name": "Started", "message": "Started container", "type": "Normal", "count": 1}
            ]});
        }
        let mut g = json!({"name": "job", "tags": {"a": "b"}, "properties": {"provisioningState": prov, "restartPolicy": policy, "containers": [c]}});
        if let Some(st) = state {
            g["properties"]["instanceView"] = json!({"state": st, "events": [{"name": "Pulling", "message": "pulling image", "type": "Normal", "count": 1}]});
        }
        g
    }

    #[test]
    fn provisioning_without_views_is_starting() {
        let o = observe(&group("Pending", None, None, "Never"), "job");
        assert_eq!(o.status(), Status::Starting);
        assert_eq!(o.state_label(), "Pending");
        assert_eq!(o.tags.get("a").map(String::as_str), Some("b"));
    }

    #[test]
    fn running_and_done() {
        let o = observe(
            &group(
                "Succeeded",
                Some("Running"),
                Some(json!({"state": "Running"})),
                "Never",
            ),
            "job",
        );
        assert_eq!(o.status(), Status::Running);
        assert_eq!(o.state_label(), "Running");
        assert_eq!(o.events.len(), 2);
        let o = observe(
            &group(
                "Succeeded",
                Some("Succeeded"),
                Some(json!({"state": "Terminated", "exitCode": 0, "detailStatus": "Completed"})),
                "Never",
            ),
            "job",
        );
        assert_eq!(
            o.status(),
            Status::Done {
                exit_code: Some(0),
                detail_status: Some("Completed".into())
            }
        );
        // Terminated containers end a Never/OnFailure job even before the group state says so.
        let o = observe(
            &group(
                "Succeeded",
                Some("Running"),
                Some(json!({"state": "Terminated", "exitCode": 3})),
                "OnFailure",
            ),
            "job",
        );
        assert_eq!(
            o.status(),
            Status::Done {
                exit_code: Some(3),
                detail_status: None
            }
        );
        // ... but not an Always one.
        let o = observe(
            &group(
                "Succeeded",
                Some("Running"),
                Some(json!({"state": "Terminated", "exitCode": 3})),
                "Always",
            ),
            "job",
        );
        assert_eq!(o.status(), Status::Running);
    }

    #[test]
    fn exit_code_null_is_kept_null() {
        let o = observe(
            &group(
                "Succeeded",
                Some("Failed"),
                Some(json!({"state": "Terminated", "detailStatus": "Error"})),
                "Never",
            ),
            "job",
        );
        assert_eq!(
            o.status(),
            Status::Done {
                exit_code: None,
                detail_status: Some("Error".into())
            }
        );
    }

    #[test]
    fn failures() {
        let o = observe(
            &group(
                "Failed",
                Some("Pending"),
                Some(json!({"state": "Waiting"})),
                "Never",
            ),
            "job",
        );
        assert_eq!(o.status(), Status::ProvisioningFailed);
        let o = observe(
            &group(
                "Unhealthy",
                Some("Pending"),
                Some(json!({"state": "Waiting", "detailStatus": "Evicted"})),
                "Never",
            ),
            "job",
        );
        assert_eq!(o.status(), Status::Unhealthy);
        let o = observe(
            &group(
                "Repairing",
                Some("Pending"),
                Some(json!({"state": "Waiting"})),
                "Never",
            ),
            "job",
        );
        assert_eq!(o.status(), Status::Unhealthy);
        let mut g = group(
            "Succeeded",
            Some("Running"),
            Some(json!({"state": "Running"})),
            "Never",
        );
        g["properties"]["instanceView"]["events"] =
            json!([{"name": "Evicted", "message": "evicted", "type": "Warning", "count": 1}]);
        assert_eq!(observe(&g, "job").status(), Status::Unhealthy);
        // A failed provisioning of a finished job still reports the exit.
        let o = observe(
            &group(
                "Failed",
                Some("Failed"),
                Some(json!({"state": "Terminated", "exitCode": 2})),
                "Never",
            ),
            "job",
        );
        assert_eq!(
            o.status(),
            Status::Done {
                exit_code: Some(2),
                detail_status: None
            }
        );
    }

    #[test]
    fn restarting_container_counts_as_running() {
        let mut g = group(
            "Succeeded",
            Some("Running"),
            Some(json!({"state": "Waiting", "detailStatus": "CrashLoopBackOff"})),
            "Always",
        );
        g["properties"]["containers"][0]["properties"]["instanceView"]["restartCount"] = json!(2);
        assert_eq!(observe(&g, "job").status(), Status::Running);
    }

    #[test]
    fn event_log_reports_new_and_repeated_events_once() {
        let mut log = EventLog::default();
        let e = |count| EventObs {
            name: "BackOff".into(),
            message: "restarting".into(),
            kind: "Warning".into(),
            count,
            first_timestamp: None,
            last_timestamp: None,
        };
        assert_eq!(log.fresh(&[e(1)]).len(), 1);
        assert_eq!(log.fresh(&[e(1)]).len(), 0);
        assert_eq!(log.fresh(&[e(2)]).len(), 1);
    }
}
