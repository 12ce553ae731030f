//! The emulator's container groups and operations, and their JSON renderings.

use std::path::PathBuf;
use std::time::Instant;

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Map, Value};
use tokio::sync::watch;

use super::logs::{LogBuffer, LogSettings, LogSink};
use super::process::ProcHandle;
use super::validate::{ContainerSpec, RestartPolicy, RunSpec};
use super::LOCAL_TENANT_ID;

/// Resource type of container groups.
pub(crate) const CG_TYPE: &str = "Microsoft.ContainerInstance/containerGroups";

/// `(subscription, resource group, name)`, lower-cased: ARM names are case-insensitive.
pub(crate) type GroupKey = (String, String, String);

/// Builds the key of a group.
pub(crate) fn group_key(sub: &str, rg: &str, name: &str) -> GroupKey {
    (
        sub.to_ascii_lowercase(),
        rg.to_ascii_lowercase(),
        name.to_ascii_lowercase(),
    )
}

/// Millisecond RFC 3339 UTC time (`2022-11-11T19:33:44.217Z`), as container states use.
pub(crate) fn ts_millis(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Second RFC 3339 UTC time (`2022-11-11T19:33:44Z`), as events use.
pub(crate) fn ts_secs(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// An instance-view event, aggregated by name and message like Kubernetes events.
#[derive(Clone, Debug)]
pub(crate) struct Event {
    pub name: String,
    pub message: String,
    pub kind: &'static str,
    pub count: u32,
    pub first: DateTime<Utc>,
    pub last: DateTime<Utc>,
}

impl Event {
    fn to_json(&self) -> Value {
        json!({
            "count": self.count,
            "firstTimestamp": ts_secs(self.first),
            "lastTimestamp": ts_secs(self.last),
            "name": self.name,
            "message": self.message,
            "type": self.kind,
        })
    }
}

/// Adds an event, or bumps the count of an identical one.
pub(crate) fn add_event(
    events: &mut Vec<Event>,
    name: &str,
    message: impl Into<String>,
    kind: &'static str,
) {
    let message = message.into();
    let now = Utc::now();
    if let Some(e) = events
        .iter_mut()
        .find(|e| e.name == name && e.message == message)
    {
        e.count += 1;
        e.last = now;
        return;
    }
    events.push(Event {
        name: name.to_string(),
        message,
        kind,
        count: 1,
        first: now,
        last: now,
    });
}

/// Renders a list of events.
pub(crate) fn events_json(events: &[Event]) -> Value {
    Value::Array(events.iter().map(Event::to_json).collect())
}

/// A container state (`currentState` / `previousState`).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct CState {
    /// `Waiting`, `Running` or `Terminated`.
    pub state: &'static str,
    pub start: Option<DateTime<Utc>>,
    pub finish: Option<DateTime<Utc>>,
    pub exit_code: Option<i32>,
    pub detail: String,
}

impl CState {
    /// `Waiting` (since now) with a detail.
    pub fn waiting(detail: &str) -> CState {
        CState {
            state: "Waiting",
            start: Some(Utc::now()),
            finish: None,
            exit_code: None,
            detail: detail.to_string(),
        }
    }

    /// `Running` since now.
    pub fn running() -> CState {
        CState {
            state: "Running",
            start: Some(Utc::now()),
            finish: None,
            exit_code: None,
            detail: String::new(),
        }
    }

    /// `Terminated` now with an exit code (`Completed` for 0, `Error` otherwise).
    pub fn terminated(start: Option<DateTime<Utc>>, code: i32) -> CState {
        let now = Utc::now();
        CState {
            state: "Terminated",
            start: start.or(Some(now)),
            finish: Some(now),
            exit_code: Some(code),
            detail: if code == 0 {
                "Completed".into()
            } else {
                "Error".into()
            },
        }
    }

    fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("state".into(), json!(self.state));
        if let Some(s) = self.start {
            m.insert("startTime".into(), json!(ts_millis(s)));
        }
        if let Some(c) = self.exit_code {
            m.insert("exitCode".into(), json!(c));
        }
        if let Some(f) = self.finish {
            m.insert("finishTime".into(), json!(ts_millis(f)));
        }
        m.insert("detailStatus".into(), json!(self.detail));
        Value::Object(m)
    }
}

/// The runtime side of one container.
#[derive(Debug)]
pub(crate) struct ContainerRt {
    pub spec: ContainerSpec,
    pub restart_count: u32,
    pub current: Option<CState>,
    pub previous: Option<CState>,
    pub events: Vec<Event>,
    pub log: LogSink,
    /// A process (or the no-command stand-in) was started in this deployment: logs exist.
    pub started: bool,
    /// Id of the current run; exits of older runs are ignored.
    pub run_id: u64,
    pub proc: Option<ProcHandle>,
}

impl ContainerRt {
    /// Containers not started yet, one per spec.
    pub fn all(specs: &[ContainerSpec], logs: LogSettings) -> Vec<ContainerRt> {
        specs
            .iter()
            .cloned()
            .map(|s| ContainerRt::new(s, logs))
            .collect()
    }

    /// A container not started yet.
    pub fn new(spec: ContainerSpec, logs: LogSettings) -> ContainerRt {
        ContainerRt {
            spec,
            restart_count: 0,
            current: None,
            previous: None,
            events: Vec::new(),
            log: LogBuffer::sink(logs),
            started: false,
            run_id: 0,
            proc: None,
        }
    }

    fn instance_view(&self) -> Option<Value> {
        let current = self.current.as_ref()?;
        let mut m = Map::new();
        m.insert("restartCount".into(), json!(self.restart_count));
        m.insert("currentState".into(), current.to_json());
        if let Some(p) = &self.previous {
            m.insert("previousState".into(), p.to_json());
        }
        m.insert("events".into(), events_json(&self.events));
        Some(Value::Object(m))
    }

    /// True when the current state is `Terminated`.
    pub fn terminated(&self) -> bool {
        self.current
            .as_ref()
            .is_some_and(|c| c.state == "Terminated")
    }
}

/// How a group is rendered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum View {
    /// GET / DELETE: everything, instance views included.
    Full,
    /// PUT answer: group `instanceView` with state and events only, no container views.
    Put,
    /// List: no instance views at all.
    List,
}

/// One container group.
#[derive(Debug)]
pub(crate) struct Group {
    pub sub: String,
    pub rg: String,
    pub name: String,
    pub location: String,
    /// `tags`, `zones`, `identity`, `properties` as accepted (no secrets, no read-only fields).
    pub public: Map<String, Value>,
    pub spec: RunSpec,
    pub provisioning: String,
    /// Group `instanceView.state`.
    pub state: String,
    pub events: Vec<Event>,
    pub containers: Vec<ContainerRt>,
    pub init_containers: Vec<ContainerRt>,
    /// Bumped whenever the running deployment is superseded (update, stop, start, restart,
    /// eviction); background tasks of an older generation stop.
    pub generation: u64,
    /// Carries `generation` to background tasks; dropped with the group.
    pub gen_tx: watch::Sender<u64>,
    /// An operation is under way: writes answer `409 ContainerGroupTransitioning`.
    pub transitioning: bool,
    pub op_id: Option<String>,
    pub workdir: PathBuf,
    pub running_since: Option<Instant>,
    /// Processes being stopped (awaited before a new deployment starts).
    pub dying: Vec<ProcHandle>,
    /// Principal id of a system-assigned identity.
    pub principal_id: String,
}

impl Group {
    /// The ARM resource id.
    pub fn id(&self) -> String {
        format!(
            "/subscriptions/{}/resourceGroups/{}/providers/{CG_TYPE}/{}",
            self.sub, self.rg, self.name
        )
    }

    /// True when a job has finished (`Succeeded`/`Failed`) or the group is stopped.
    pub fn is_terminal(&self) -> bool {
        matches!(self.state.as_str(), "Succeeded" | "Failed" | "Stopped")
    }

    /// Every live process of the group, including dying ones.
    pub fn processes(&self) -> Vec<ProcHandle> {
        self.containers
            .iter()
            .chain(&self.init_containers)
            .filter_map(|c| c.proc.clone())
            .chain(self.dying.iter().cloned())
            .collect()
    }

    /// Moves to a new generation; returns it.
    pub fn bump_generation(&mut self) -> u64 {
        self.generation += 1;
        self.gen_tx.send_replace(self.generation);
        self.generation
    }

    /// Recomputes the group state once a container terminated for good.
    pub fn recompute_state(&mut self) {
        if self.containers.iter().all(ContainerRt::terminated) {
            let all_ok = self
                .containers
                .iter()
                .all(|c| c.current.as_ref().and_then(|s| s.exit_code) == Some(0));
            self.state = match self.spec.restart_policy {
                RestartPolicy::Never if !all_ok => "Failed".into(),
                _ => "Succeeded".into(),
            };
        } else {
            self.state = "Running".into();
        }
    }

    /// The ARM JSON of the group.
    pub fn render(&self, view: View) -> Value {
        let mut out = Map::new();
        out.insert("id".into(), json!(self.id()));
        out.insert("name".into(), json!(self.name));
        out.insert("type".into(), json!(CG_TYPE));
        out.insert("location".into(), json!(self.location));
        for (k, v) in &self.public {
            out.insert(k.clone(), v.clone());
        }
        if let Some(Value::Object(identity)) = out.get_mut("identity") {
            let kind = identity
                .get("type")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            if kind.contains("SystemAssigned") {
                identity.insert("principalId".into(), json!(self.principal_id));
                identity.insert("tenantId".into(), json!(LOCAL_TENANT_ID));
            }
            if let Some(Value::Object(uais)) = identity.get_mut("userAssignedIdentities") {
                for (i, (_, v)) in uais.iter_mut().enumerate() {
                    *v = json!({
                        "principalId": format!("00000000-0000-0000-0001-{:012}", i + 1),
                        "clientId": format!("00000000-0000-0000-0002-{:012}", i + 1),
                    });
                }
            }
        }
        let mut props = match out.remove("properties") {
            Some(Value::Object(p)) => p,
            _ => Map::new(),
        };
        props.insert("provisioningState".into(), json!(self.provisioning));
        props.entry("restartPolicy").or_insert(json!("Always"));
        props.entry("sku").or_insert(json!("Standard"));
        props.entry("initContainers").or_insert(json!([]));
        props.insert("isCreatedFromStandbyPool".into(), json!(false));
        if let Some(Value::Object(ip)) = props.get_mut("ipAddress") {
            // Containers run on this machine: their ports are on the loopback address.
            ip.insert("ip".into(), json!("127.0.0.1"));
            if let Some(label) = ip.get("dnsNameLabel").and_then(Value::as_str) {
                let fqdn = format!("{label}.{}.azurecontainer.io", self.location);
                ip.insert("fqdn".into(), json!(fqdn));
            }
        }
        if view == View::Full {
            for (key, rts) in [
                ("containers", &self.containers),
                ("initContainers", &self.init_containers),
            ] {
                if let Some(Value::Array(list)) = props.get_mut(key) {
                    for (c, rt) in list.iter_mut().zip(rts) {
                        if let (Some(p), Some(iv)) = (
                            c.get_mut("properties").and_then(Value::as_object_mut),
                            rt.instance_view(),
                        ) {
                            p.insert("instanceView".into(), iv);
                        }
                    }
                }
            }
        }
        match view {
            View::Full => {
                props.insert(
                    "instanceView".into(),
                    json!({"events": events_json(&self.events), "state": self.state}),
                );
            }
            View::Put => {
                props.insert(
                    "instanceView".into(),
                    json!({"events": [], "state": self.state}),
                );
            }
            View::List => {}
        }
        out.insert("properties".into(), Value::Object(props));
        Value::Object(out)
    }
}

/// An asynchronous operation (create, update, start, restart).
#[derive(Clone, Debug)]
pub(crate) struct Operation {
    pub sub: String,
    pub location: String,
    pub key: GroupKey,
    pub group_id: String,
    /// `Pending`, `Creating`, `Deleting`, `Succeeded`, `Failed` or `Canceled`.
    pub status: String,
    pub start: DateTime<Utc>,
    /// `(http status, code, message)` of a failure.
    pub error: Option<(u16, String, String)>,
}

impl Operation {
    /// True once `Succeeded`, `Failed` or `Canceled`.
    pub fn is_terminal(&self) -> bool {
        matches!(self.status.as_str(), "Succeeded" | "Failed" | "Canceled")
    }

    /// The status resource as ACI serves it (`id`, `status`, `startTime`,
    /// `properties.events`, and `error` on a failure; no `endTime` or `name`), with the
    /// group's container events when it still exists.
    pub fn render(&self, group: Option<&Group>) -> Value {
        let events: Vec<Value> = group
            .map(|g| {
                let mut all: Vec<&Event> = g
                    .containers
                    .iter()
                    .flat_map(|c| c.events.iter())
                    .chain(&g.events)
                    .collect();
                all.sort_by_key(|e| e.first);
                all.into_iter().map(Event::to_json).collect()
            })
            .unwrap_or_default();
        let mut m = Map::new();
        m.insert("id".into(), json!(self.group_id));
        m.insert("status".into(), json!(self.status));
        m.insert(
            "startTime".into(),
            json!(self.start.to_rfc3339_opts(SecondsFormat::AutoSi, true)),
        );
        m.insert("properties".into(), json!({"events": events}));
        if let Some((_, code, message)) = &self.error {
            m.insert("error".into(), json!({"code": code, "message": message}));
        }
        Value::Object(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_aggregate() {
        let mut ev = Vec::new();
        add_event(&mut ev, "Started", "Started container", "Normal");
        add_event(&mut ev, "Started", "Started container", "Normal");
        add_event(&mut ev, "Killing", "x", "Normal");
        assert_eq!(ev.len(), 2);
        assert_eq!(ev[0].count, 2);
        let j = events_json(&ev);
        assert_eq!(j[0]["count"], 2);
        assert_eq!(j[0]["type"], "Normal");
    }

    #[test]
    fn container_states() {
        let t = CState::terminated(None, 0);
        assert_eq!(t.detail, "Completed");
        let j = CState::terminated(None, 2).to_json();
        assert_eq!(j["state"], "Terminated");
        assert_eq!(j["exitCode"], 2);
        assert_eq!(j["detailStatus"], "Error");
        assert!(j["finishTime"].is_string() && j["startTime"].is_string());
        let w = CState::waiting("").to_json();
        assert!(w.get("exitCode").is_none());
        assert!(w["startTime"].is_string());
    }
}
