//! Test doubles: a simulated ACI (one group whose state follows a virtual
//! clock) and a host whose sleeps advance that clock. They let the real wait
//! loop and `execute` run natively, counting every ARM request.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::Rc;

use serde_json::{json, Value};

use super::api::{Cloud, Host, Level};
use task_plugin_sdk::{Error, Result};

/// A virtual monotonic clock in milliseconds.
pub type Clock = Rc<Cell<u64>>;

/// How the simulated job behaves.
#[derive(Clone, Debug)]
pub struct Job {
    /// Time from PUT to the container running.
    pub provision_ms: u64,
    /// Time the container runs.
    pub run_ms: u64,
    /// Exit code (`None`: terminated without one).
    pub exit_code: Option<i32>,
    /// `(ms after start, text)` lines the container prints.
    pub lines: Vec<(u64, String)>,
    /// Provisioning ends `Failed` with these `(name, message)` events.
    pub provision_failure: Option<Vec<(String, String)>>,
    /// The group becomes `Unhealthy` this long after it started running.
    pub unhealthy_after_ms: Option<u64>,
    /// The group disappears this long after it started running.
    pub deleted_after_ms: Option<u64>,
    /// Restart policy written into the group.
    pub restart_policy: String,
}

impl Job {
    /// A job that runs `run_ms` and exits with `code`.
    pub fn new(run_ms: u64, code: i32) -> Job {
        Job {
            provision_ms: 2_000,
            run_ms,
            exit_code: Some(code),
            lines: Vec::new(),
            provision_failure: None,
            unhealthy_after_ms: None,
            deleted_after_ms: None,
            restart_policy: "Never".into(),
        }
    }

    /// The same job printing one line every `every_ms` while it runs.
    pub fn printing_every(mut self, every_ms: u64) -> Job {
        let mut t = 0;
        let mut i = 0;
        while t < self.run_ms {
            self.lines.push((t, format!("line {i}")));
            t += every_ms;
            i += 1;
        }
        self
    }
}

/// Request counts.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Counts {
    /// `exists` GETs.
    pub exists: u64,
    /// Group GETs.
    pub gets: u64,
    /// `listLogs` GETs.
    pub logs: u64,
    /// PUTs.
    pub puts: u64,
    /// DELETEs.
    pub deletes: u64,
}

impl Counts {
    /// ARM reads (GETs of any kind).
    pub fn reads(&self) -> u64 {
        self.exists + self.gets + self.logs
    }
}

/// The simulated ACI.
pub struct FakeCloud {
    /// The shared clock.
    pub clock: Clock,
    /// Latency added to every request.
    pub latency_ms: u64,
    /// The job a PUT starts.
    pub job: Job,
    /// When the group was created (virtual ms), if it exists.
    pub created_at: Cell<Option<u64>>,
    /// Tags of the existing group.
    pub tags: RefCell<Value>,
    /// The last PUT body.
    pub last_body: RefCell<Option<Value>>,
    /// Request counts.
    pub counts: RefCell<Counts>,
    /// Errors returned by the next group GETs, in order.
    pub get_errors: RefCell<VecDeque<Error>>,
    /// Errors returned by the next log reads, in order.
    pub log_errors: RefCell<VecDeque<Error>>,
    /// Error returned by the PUT.
    pub put_error: RefCell<Option<Error>>,
    /// Log requests `(tail)` in order.
    pub log_tails: RefCell<Vec<Option<u32>>>,
}

impl FakeCloud {
    /// A cloud with no group yet.
    pub fn new(clock: Clock, job: Job) -> FakeCloud {
        FakeCloud {
            clock,
            latency_ms: 20,
            job,
            created_at: Cell::new(None),
            tags: RefCell::new(json!({})),
            last_body: RefCell::new(None),
            counts: RefCell::new(Counts::default()),
            get_errors: RefCell::new(VecDeque::new()),
            log_errors: RefCell::new(VecDeque::new()),
            put_error: RefCell::new(None),
            log_tails: RefCell::new(Vec::new()),
        }
    }

    /// Pretends the group was created at `at` with `tags`.
    pub fn existing(self, at: u64, tags: Value) -> FakeCloud {
        self.created_at.set(Some(at));
        *self.tags.borrow_mut() = tags;
        self
    }

    fn tick(&self) -> u64 {
        self.clock.set(self.clock.get() + self.latency_ms);
        self.clock.get()
    }

    fn not_found(&self) -> Error {
        Error::remote(
            404,
            "ResourceNotFound",
            "The Resource 'Microsoft.ContainerInstance/containerGroups/x' was not found.",
        )
    }

    /// When the container started running (virtual ms).
    fn run_start(&self) -> Option<u64> {
        self.created_at.get().map(|c| c + self.job.provision_ms)
    }

    fn gone(&self, now: u64) -> bool {
        match (
            self.created_at.get(),
            self.job.deleted_after_ms,
            self.run_start(),
        ) {
            (None, _, _) => true,
            (Some(_), Some(d), Some(start)) => now >= start + d,
            _ => false,
        }
    }

    /// The group's ARM JSON at `now`.
    pub fn group_json(&self, now: u64) -> Value {
        let created = self.created_at.get().unwrap_or(0);
        let since = now.saturating_sub(created);
        let job = &self.job;
        let (prov, state, current, events): (&str, Option<&str>, Option<Value>, Vec<Value>) =
            if since < job.provision_ms / 2 {
                ("Pending", Some("Pending"), None, vec![])
            } else if since < job.provision_ms {
                (
                    "Creating",
                    Some("Pending"),
                    Some(json!({"state": "Waiting", "detailStatus": ""})),
                    vec![ev("Pulling", "pulling image \"x\"", "Normal")],
                )
            } else if let Some(fail) = &job.provision_failure {
                let evs = fail.iter().map(|(n, m)| ev(n, m, "Warning")).collect();
                (
                    "Failed",
                    Some("Pending"),
                    Some(json!({"state": "Waiting"})),
                    evs,
                )
            } else {
                let ran = since - job.provision_ms;
                if job.unhealthy_after_ms.is_some_and(|u| ran >= u) {
                    (
                        "Unhealthy",
                        Some("Pending"),
                        Some(json!({"state": "Waiting", "detailStatus": "Evicted"})),
                        vec![],
                    )
                } else if ran < job.run_ms {
                    (
                        "Succeeded",
                        Some("Running"),
                        Some(json!({"state": "Running"})),
                        vec![ev("Started", "Started container", "Normal")],
                    )
                } else {
                    let mut cur = json!({"state": "Terminated", "detailStatus": if job.exit_code == Some(0) { "Completed" } else { "Error" }});
                    if let Some(c) = job.exit_code {
                        cur["exitCode"] = json!(c);
                    }
                    let group_state = if job.exit_code == Some(0) {
                        "Succeeded"
                    } else {
                        "Failed"
                    };
                    (
                        "Succeeded",
                        Some(group_state),
                        Some(cur),
                        vec![ev("Started", "Started container", "Normal")],
                    )
                }
            };
        let mut container = json!({"name": "job", "properties": {"image": "x"}});
        if let Some(cur) = current {
            container["properties"]["instanceView"] =
                json!({"restartCount": 0, "currentState": cur, "events": events});
        }
        let mut g = json!({
            "name": "job",
            "tags": self.tags.borrow().clone(),
            "properties": {"provisioningState": prov, "restartPolicy": job.restart_policy, "containers": [container]}
        });
        if let Some(s) = state {
            g["properties"]["instanceView"] = json!({"state": s, "events": []});
        }
        g
    }

    /// The log content (timestamps on) at `now`.
    pub fn log_content(&self, now: u64, tail: Option<u32>) -> Option<String> {
        let start = self.run_start()?;
        if now < start {
            return None;
        }
        let lines: Vec<String> = self
            .job
            .lines
            .iter()
            .filter(|(t, _)| start + t <= now && *t < self.job.run_ms)
            .map(|(t, text)| format!("{} {text}\n", stamp(start + t)))
            .collect();
        let skip = tail
            .map(|t| lines.len().saturating_sub(t as usize))
            .unwrap_or(0);
        Some(lines[skip..].concat())
    }
}

fn ev(name: &str, message: &str, kind: &str) -> Value {
    json!({"name": name, "message": message, "type": kind, "count": 1})
}

/// RFC 3339 nanosecond stamp for a virtual time (epoch 2026-01-01).
pub fn stamp(ms: u64) -> String {
    let secs = ms / 1000;
    format!(
        "2026-01-01T{:02}:{:02}:{:02}.{:09}Z",
        secs / 3600 % 24,
        secs / 60 % 60,
        secs % 60,
        (ms % 1000) * 1_000_000
    )
}

impl Cloud for FakeCloud {
    fn exists(&self, _rg: &str, _name: &str) -> Result<bool> {
        self.counts.borrow_mut().exists += 1;
        let now = self.tick();
        Ok(!self.gone(now))
    }

    fn get_group(&self, _rg: &str, _name: &str) -> Result<Value> {
        self.counts.borrow_mut().gets += 1;
        let now = self.tick();
        if let Some(e) = self.get_errors.borrow_mut().pop_front() {
            return Err(e);
        }
        if self.gone(now) {
            return Err(self.not_found());
        }
        Ok(self.group_json(now))
    }

    fn create(&self, _rg: &str, _name: &str, body: &Value) -> Result<()> {
        self.counts.borrow_mut().puts += 1;
        let now = self.tick();
        if let Some(e) = self.put_error.borrow_mut().take() {
            return Err(e);
        }
        *self.last_body.borrow_mut() = Some(body.clone());
        *self.tags.borrow_mut() = body.get("tags").cloned().unwrap_or(json!({}));
        self.created_at.set(Some(now));
        Ok(())
    }

    fn logs(
        &self,
        _rg: &str,
        _name: &str,
        _container: &str,
        tail: Option<u32>,
    ) -> Result<Option<String>> {
        self.counts.borrow_mut().logs += 1;
        self.log_tails.borrow_mut().push(tail);
        let now = self.tick();
        if let Some(e) = self.log_errors.borrow_mut().pop_front() {
            return Err(e);
        }
        if self.gone(now) {
            return Err(self.not_found());
        }
        match self.log_content(now, tail) {
            Some(c) => Ok(Some(c)),
            None => Err(Error::remote(400, "ContainerLogNotAvailable", "not yet")),
        }
    }

    fn delete(&self, _rg: &str, _name: &str, _wait: bool) -> Result<bool> {
        self.counts.borrow_mut().deletes += 1;
        let now = self.tick();
        let existed = !self.gone(now);
        self.created_at.set(None);
        Ok(existed)
    }

    fn registry_credential(&self, conn_id: &str) -> Result<Value> {
        Ok(json!({"server": format!("{conn_id}.azurecr.io"), "username": "user", "password": "pw"}))
    }

    fn file_volume(
        &self,
        _conn: &str,
        mount_name: &str,
        share: &str,
        account: &str,
        read_only: bool,
    ) -> Result<Value> {
        Ok(
            json!({"name": mount_name, "azureFile": {"shareName": share, "storageAccountName": account, "readOnly": read_only, "storageAccountKey": "key"}}),
        )
    }
}

/// A host whose sleeps advance the clock; logs and XComs are recorded.
pub struct FakeHost {
    /// The shared clock.
    pub clock: Clock,
    /// `(level, message, virtual time)` in order.
    pub logs: RefCell<Vec<(Level, String, u64)>>,
    /// Pushed XComs.
    pub xcom: RefCell<Vec<(String, Value)>>,
    /// Cancelled from this virtual time on.
    pub cancel_at: Option<u64>,
    /// Sleeps requested, in ms.
    pub sleeps: RefCell<Vec<u64>>,
}

impl FakeHost {
    /// A host on `clock`.
    pub fn new(clock: Clock) -> FakeHost {
        FakeHost {
            clock,
            logs: RefCell::new(Vec::new()),
            xcom: RefCell::new(Vec::new()),
            cancel_at: None,
            sleeps: RefCell::new(Vec::new()),
        }
    }

    /// The info-level messages.
    pub fn infos(&self) -> Vec<String> {
        self.logs
            .borrow()
            .iter()
            .filter(|(l, _, _)| *l == Level::Info)
            .map(|(_, m, _)| m.clone())
            .collect()
    }

    /// True if some message contains `needle`.
    pub fn logged(&self, needle: &str) -> bool {
        self.logs
            .borrow()
            .iter()
            .any(|(_, m, _)| m.contains(needle))
    }
}

impl Host for FakeHost {
    fn log(&self, level: Level, message: &str) {
        self.logs
            .borrow_mut()
            .push((level, message.to_string(), self.clock.get()));
    }

    fn xcom_push(&self, key: &str, value: &Value) -> Result<()> {
        self.xcom
            .borrow_mut()
            .push((key.to_string(), value.clone()));
        Ok(())
    }

    fn cancelled(&self) -> bool {
        self.cancel_at.is_some_and(|c| self.clock.get() >= c)
    }

    fn wait_cancelled(&self, millis: u64) -> bool {
        self.sleeps.borrow_mut().push(millis);
        let now = self.clock.get();
        if let Some(c) = self.cancel_at {
            if now + millis >= c {
                self.clock.set(now.max(c));
                return true;
            }
        }
        self.clock.set(now + millis);
        false
    }

    fn now_ms(&self) -> u64 {
        self.clock.get()
    }
}

/// A fresh clock at `t = 1000`.
pub fn clock() -> Clock {
    Rc::new(Cell::new(1_000))
}

/// Airflow's test operator parameters (`resource_group="resource-group"`,
/// `name="container-name"`, `image="container-image"`, `region="region"`),
/// with `extra` merged over them.
pub fn airflow_params(extra: Value) -> crate::params::Params {
    let mut v = json!({
        "ci_conn_id": "azure_default",
        "resource_group": "resource-group",
        "name": "container-name",
        "image": "container-image",
        "region": "region",
    });
    for (k, e) in extra.as_object().unwrap() {
        v[k] = e.clone();
    }
    crate::params::from_value(&v).unwrap()
}
