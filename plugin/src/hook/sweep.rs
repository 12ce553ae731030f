//! The orphan sweeper: deletes the container groups this plugin created
//! whose task no longer runs.
//!
//! A group is **ours** when it carries the `aci-runner-creator` tag the
//! operator writes (`aci-plugin/<version>`); every other group is left alone
//! and only counted. For each of ours, its **owner** is the host process
//! named by its `aci-runner-owner` tag (`MACHINE/PID.START`, given by the
//! host, see the host's `owner` module), and the caller says which machine
//! it runs on and which processes run there:
//!
//! | owner | decision |
//! |---|---|
//! | on the caller's machine, among its running processes | kept: its task is running |
//! | on the caller's machine, not running (killed, crashed, rebooted) | deleted |
//! | unknown (another machine, no owner tag, or the caller gave no process list) | deleted when older than `older-than` (`aci-runner-created` tag), or when its containers terminated more than [`TERMINATED_GRACE_SECS`] ago; else kept |
//!
//! The grace period keeps a group whose owner elsewhere is still reading its
//! exit code and logs. A dry run decides the same and deletes nothing; every
//! group of ours is reported with the reason for its decision.

use std::collections::{BTreeMap, HashSet};

use serde::Serialize;
use task_plugin_sdk::{Error, Result};

use super::AciHook;
use crate::arm::models::ContainerGroup;
use crate::operator::build::{TAG_CREATED, TAG_CREATOR, TAG_OWNER};
use crate::operator::logs::parse_rfc3339;
use crate::operator::observe::{observe, Status};

/// How long after its containers terminated a group whose owner cannot be
/// checked is kept.
pub const TERMINATED_GRACE_SECS: u64 = 300;

/// What to sweep, and what the caller knows about owners.
#[derive(Clone, Debug, Default)]
pub struct SweepOptions {
    /// Only this resource group (else the whole subscription).
    pub resource_group: Option<String>,
    /// Groups whose owner cannot be checked are deleted once this old.
    pub older_than_secs: Option<u64>,
    /// Decide and report; delete nothing.
    pub dry_run: bool,
    /// The caller's machine, as owner tags name it.
    pub machine: Option<String>,
    /// The processes running on `machine` (`PID.START`); `None` when the
    /// caller cannot tell.
    pub live_processes: Option<HashSet<String>>,
}

/// What became of one group.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SweptGroup {
    /// Its resource group.
    pub resource_group: String,
    /// Its name.
    pub name: String,
    /// Its owner tag, if any.
    pub owner: Option<String>,
    /// Seconds since it was created, when known.
    pub age_secs: Option<u64>,
    /// Its state as far as the sweep looked (provisioning or container state).
    pub state: Option<String>,
    /// `deleted`, `would delete` (dry run), `kept`, or `delete failed`.
    pub action: String,
    /// Why.
    pub reason: String,
}

/// The sweep's answer.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct SweepReport {
    /// True when nothing was deleted on purpose.
    pub dry_run: bool,
    /// Our groups, each with its decision.
    pub groups: Vec<SweptGroup>,
    /// Groups deleted (or, in a dry run, that would be).
    pub deleted: usize,
    /// Groups kept.
    pub kept: usize,
    /// Deletions that failed.
    pub failed: usize,
    /// Groups without our tags, never touched.
    pub not_ours: usize,
}

/// What is known about a group's owner.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Owner {
    /// Runs on the caller's machine (the description says which process).
    Running(String),
    /// Was on the caller's machine and no longer runs.
    Gone(String),
    /// Cannot be checked (why).
    Unknown(String),
}

/// The owner of a group with these tags, as far as `opts` tell.
pub fn owner_of(tags: &BTreeMap<String, String>, opts: &SweepOptions) -> Owner {
    let Some(tag) = tags.get(TAG_OWNER) else {
        return Owner::Unknown("it has no owner tag".into());
    };
    let Some((machine, process)) = tag.rsplit_once('/') else {
        return Owner::Unknown(format!("its owner tag `{tag}` is not MACHINE/PROCESS"));
    };
    let pid = process.split('.').next().unwrap_or(process);
    let host = machine.split(':').next().unwrap_or(machine);
    match (&opts.machine, &opts.live_processes) {
        (Some(m), Some(live)) if m == machine => {
            if live.contains(process) {
                Owner::Running(format!(
                    "its owner, process {pid} on this machine, is running"
                ))
            } else {
                Owner::Gone(format!(
                    "its owner, process {pid} on this machine, is no longer running"
                ))
            }
        }
        (Some(m), None) if m == machine => {
            Owner::Unknown("the running processes of this machine are not known".into())
        }
        _ => Owner::Unknown(format!("its owner ran on another machine ({host})")),
    }
}

/// The creation time of a group, seconds since the epoch, from its tag.
pub fn created_at(tags: &BTreeMap<String, String>) -> Option<u64> {
    let (secs, _) = parse_rfc3339(tags.get(TAG_CREATED)?)?;
    u64::try_from(secs).ok()
}

/// True for a group this plugin created.
pub fn is_ours(tags: &BTreeMap<String, String>) -> bool {
    tags.get(TAG_CREATOR)
        .is_some_and(|c| c.starts_with("aci-plugin/"))
}

/// A decision, before or after reading the group's state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Delete it, because…
    Delete(String),
    /// Keep it, because…
    Keep(String),
    /// Its containers' state decides: read it.
    NeedsState,
}

/// The decision from the owner and the age alone.
pub fn judge(owner: &Owner, age_secs: Option<u64>, older_than: Option<u64>) -> Verdict {
    match owner {
        Owner::Running(why) => Verdict::Keep(why.clone()),
        Owner::Gone(why) => Verdict::Delete(why.clone()),
        Owner::Unknown(why) => match (age_secs, older_than) {
            (Some(age), Some(limit)) if age >= limit => Verdict::Delete(format!(
                "{why}, and it was created {age} s ago (older than {limit} s)"
            )),
            _ => Verdict::NeedsState,
        },
    }
}

/// The decision for a group whose owner is unknown and that is not old
/// enough to go by age: `finished_ago` is `Some` when its containers have
/// terminated (with the seconds since, when known).
pub fn judge_terminated(why: &str, finished_ago: Option<Option<u64>>) -> Verdict {
    match finished_ago {
        None => Verdict::Keep(format!("{why}, and its containers are still running")),
        Some(Some(ago)) if ago >= TERMINATED_GRACE_SECS => Verdict::Delete(format!(
            "{why}, and its containers terminated {ago} s ago"
        )),
        Some(Some(ago)) => Verdict::Keep(format!(
            "{why}, and its containers terminated only {ago} s ago (grace {TERMINATED_GRACE_SECS} s)"
        )),
        Some(None) => Verdict::Keep(format!(
            "{why}, and its containers terminated at a time ARM does not say"
        )),
    }
}

/// `(resource group, name)` of a listed group.
fn locate(g: &ContainerGroup, default_rg: Option<&str>) -> Option<(String, String)> {
    let id = g.id.as_deref().unwrap_or("");
    let segs: Vec<&str> = id.split('/').collect();
    let rg = segs
        .iter()
        .position(|s| s.eq_ignore_ascii_case("resourceGroups"))
        .and_then(|i| segs.get(i + 1))
        .map(|s| s.to_string())
        .or_else(|| default_rg.map(str::to_string))?;
    let name = g
        .name
        .clone()
        .or_else(|| segs.last().map(|s| s.to_string()))
        .filter(|n| !n.is_empty())?;
    Some((rg, name))
}

/// When the group's containers terminated: `None` while any runs, else
/// `Some(seconds ago)` (`Some(None)` when ARM gives no finish time).
fn termination(group: &ContainerGroup, name: &str, now: u64) -> (Option<Option<u64>>, String) {
    let json = serde_json::to_value(group).unwrap_or_default();
    let obs = observe(&json, name);
    let label = obs.state_label();
    match obs.status() {
        Status::Done { .. } | Status::ProvisioningFailed => {
            let finished = json
                .pointer("/properties/containers")
                .and_then(|c| c.as_array())
                .into_iter()
                .flatten()
                .filter_map(|c| c.pointer("/properties/instanceView/currentState/finishTime"))
                .filter_map(|t| parse_rfc3339(t.as_str()?))
                .map(|(secs, _)| secs)
                .max();
            let ago = finished.map(|f| now.saturating_sub(u64::try_from(f).unwrap_or(0)));
            (Some(ago), label)
        }
        _ => (None, label),
    }
}

impl AciHook {
    /// Sweeps (see the module docs) at `now` (seconds since the epoch).
    pub fn sweep(&self, opts: &SweepOptions, now: u64) -> Result<SweepReport> {
        let rg = opts.resource_group.as_deref();
        let mut report = SweepReport {
            dry_run: opts.dry_run,
            ..SweepReport::default()
        };
        for g in self.list(rg)? {
            let tags = g.tags.clone().unwrap_or_default();
            if !is_ours(&tags) {
                report.not_ours += 1;
                continue;
            }
            let Some((group_rg, name)) = locate(&g, rg) else {
                continue;
            };
            let mut entry = SweptGroup {
                resource_group: group_rg,
                name,
                owner: tags.get(TAG_OWNER).cloned(),
                age_secs: created_at(&tags).map(|c| now.saturating_sub(c)),
                state: g.properties.provisioning_state.clone(),
                action: String::new(),
                reason: String::new(),
            };
            let owner = owner_of(&tags, opts);
            let verdict = match judge(&owner, entry.age_secs, opts.older_than_secs) {
                Verdict::NeedsState => self.judge_by_state(&owner, &mut entry, now),
                v => v,
            };
            self.apply(opts, &mut report, entry, verdict);
        }
        Ok(report)
    }

    /// Reads the group to see whether its containers terminated.
    fn judge_by_state(&self, owner: &Owner, entry: &mut SweptGroup, now: u64) -> Verdict {
        let why = match owner {
            Owner::Unknown(why) => why.as_str(),
            _ => "its owner is known",
        };
        match self.get_state(&entry.resource_group, &entry.name) {
            Ok(full) => {
                let (finished, label) = termination(&full, &entry.name, now);
                entry.state = Some(label);
                judge_terminated(why, finished)
            }
            Err(Error::Remote { status: 404, .. }) => Verdict::Keep("it is already gone".into()),
            Err(e) => Verdict::Keep(format!("{why}, and its state could not be read: {e}")),
        }
    }

    /// Carries out a verdict (unless dry) and records it.
    fn apply(
        &self,
        opts: &SweepOptions,
        report: &mut SweepReport,
        mut entry: SweptGroup,
        verdict: Verdict,
    ) {
        match verdict {
            Verdict::Keep(why) => {
                entry.action = "kept".into();
                entry.reason = why;
                report.kept += 1;
            }
            Verdict::Delete(why) if opts.dry_run => {
                entry.action = "would delete".into();
                entry.reason = why;
                report.deleted += 1;
            }
            Verdict::Delete(why) => match self.delete(&entry.resource_group, &entry.name, false) {
                Ok(_) => {
                    entry.action = "deleted".into();
                    entry.reason = why;
                    report.deleted += 1;
                }
                Err(e) => {
                    entry.action = "delete failed".into();
                    entry.reason = format!("{why}; deleting it failed: {e}");
                    report.failed += 1;
                }
            },
            Verdict::NeedsState => {
                entry.action = "kept".into();
                entry.reason = "its state decides, and it was not read".into();
                report.kept += 1;
            }
        }
        report.groups.push(entry);
    }
}

#[cfg(test)]
mod tests;
