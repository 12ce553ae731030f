//! Request statistics for tests (`GET /_emulator/stats`).

use std::collections::BTreeMap;

use serde::Serialize;

/// What the emulator has served so far (since start or the last reset).
///
/// `requests` maps an operation name (the ARM operationId such as `ContainerGroups_Get`, or
/// `Token_Issue`, `Imds_Token`, `Registries_ListCredentials`, `StorageAccounts_ListKeys`,
/// `AsyncOperation_Get`, `OperationResult_Get`, `OpenId_Configuration`, `Unknown`) to counts
/// per HTTP status; an injected connection reset counts as status `0`. The emulator's own
/// `/_emulator/…` requests and requests refused for their `Host` are not counted.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Stats {
    /// Counts per operation and status.
    pub requests: BTreeMap<String, BTreeMap<u16, u64>>,
    /// Total of all counts.
    pub total_requests: u64,
    /// Resource ids of the container groups that exist.
    pub live_groups: Vec<String>,
    /// Number of container processes still running.
    pub live_processes: usize,
    /// High-water mark of container groups existing at once (not counting groups being
    /// deleted), since start or the last reset: `--max-parallel` checks without sampling.
    pub max_live_groups: usize,
    /// High-water mark of container processes running at once, since start or reset.
    pub max_live_processes: usize,
}

/// The live part of a snapshot.
#[derive(Debug, Default)]
pub(crate) struct Live {
    pub groups: Vec<String>,
    pub processes: usize,
    pub max_groups: usize,
    pub max_processes: usize,
}

impl Stats {
    /// True when no container group exists and no container process runs.
    pub fn nothing_live(&self) -> bool {
        self.live_groups.is_empty() && self.live_processes == 0
    }

    /// Count for one operation and status (0 when never seen).
    pub fn count(&self, operation: &str, status: u16) -> u64 {
        self.requests
            .get(operation)
            .and_then(|m| m.get(&status))
            .copied()
            .unwrap_or(0)
    }

    /// Count for one operation, all statuses.
    pub fn count_all(&self, operation: &str) -> u64 {
        self.requests
            .get(operation)
            .map(|m| m.values().sum())
            .unwrap_or(0)
    }
}

/// The request counters.
#[derive(Debug, Default)]
pub(crate) struct Recorder {
    requests: BTreeMap<String, BTreeMap<u16, u64>>,
    total: u64,
}

impl Recorder {
    /// Counts one request.
    pub fn record(&mut self, operation: &str, status: u16) {
        *self
            .requests
            .entry(operation.to_string())
            .or_default()
            .entry(status)
            .or_default() += 1;
        self.total += 1;
    }

    /// Builds a snapshot with the given live data.
    pub fn snapshot(&self, live: Live) -> Stats {
        Stats {
            requests: self.requests.clone(),
            total_requests: self.total,
            live_groups: live.groups,
            live_processes: live.processes,
            max_live_groups: live.max_groups,
            max_live_processes: live.max_processes,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn counts_by_operation_and_status() {
        let mut r = Recorder::default();
        r.record("ContainerGroups_Get", 200);
        r.record("ContainerGroups_Get", 200);
        r.record("ContainerGroups_Get", 404);
        let s = r.snapshot(Live {
            groups: vec!["g".into()],
            processes: 1,
            max_groups: 3,
            max_processes: 2,
        });
        assert_eq!(s.count("ContainerGroups_Get", 200), 2);
        assert_eq!(s.count_all("ContainerGroups_Get"), 3);
        assert_eq!(s.count("Nope", 200), 0);
        assert_eq!(s.total_requests, 3);
        let j = serde_json::to_value(&s).unwrap();
        assert_eq!(j["requests"]["ContainerGroups_Get"]["404"], 1);
        assert_eq!(
            (
                j["max_live_groups"].clone(),
                j["max_live_processes"].clone()
            ),
            (json!(3), json!(2))
        );
    }
}
