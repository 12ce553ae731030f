//! The emulator's shared state: configuration, groups, operations, processes, tokens, faults
//! and statistics, behind short-lived `std` mutexes (never held across an await).

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard};

use super::auth::TokenStore;
use super::config::EmulatorConfig;
use super::faults::FaultState;
use super::model::{Group, GroupKey, Operation};
use super::origin::Origins;
use super::process::ProcHandle;
use super::ratelimit::RateLimiter;
use super::reqlog::RequestLog;
use super::restart::Restarts;
use super::stats::{Recorder, Stats};

/// Groups, operations and processes.
#[derive(Debug, Default)]
pub(crate) struct World {
    pub groups: BTreeMap<GroupKey, Group>,
    pub ops: HashMap<String, Operation>,
    /// Every process spawned and not yet seen exited (pruned lazily).
    pub procs: Vec<ProcHandle>,
    /// Stable ACR admin passwords per registry (lower-cased name).
    pub registries: HashMap<String, [String; 2]>,
    /// Stable storage keys per account (lower-cased name).
    pub storage: HashMap<String, [String; 2]>,
    /// Exec / attach WebSocket sessions by id.
    pub sessions: HashMap<String, super::containers::StreamSession>,
    pub next_run_id: u64,
    /// Set on shutdown: no new process may start.
    pub shutting_down: bool,
    /// Most groups (not being deleted) that existed at once, since start or reset.
    pub peak_groups: usize,
    /// Most processes alive at once, since start or reset.
    pub peak_processes: usize,
}

impl World {
    /// Registers a new process.
    pub fn register(&mut self, p: ProcHandle) {
        self.procs.retain(|h| h.exit().is_none());
        self.procs.push(p);
        self.note_peaks();
    }

    /// Updates the high-water marks after a group or a process was added.
    pub fn note_peaks(&mut self) {
        let groups = self
            .groups
            .values()
            .filter(|g| g.provisioning != "Deleting")
            .count();
        self.peak_groups = self.peak_groups.max(groups);
        self.peak_processes = self.peak_processes.max(self.live_processes());
    }

    /// A fresh run id.
    pub fn run_id(&mut self) -> u64 {
        self.next_run_id += 1;
        self.next_run_id
    }

    /// Number of processes not yet exited.
    pub fn live_processes(&self) -> usize {
        self.procs.iter().filter(|h| h.exit().is_none()).count()
    }

    /// Takes everything down: returns the processes to kill and clears groups and operations.
    pub fn clear(&mut self) -> Vec<ProcHandle> {
        self.groups.clear();
        self.ops.clear();
        self.sessions.clear();
        std::mem::take(&mut self.procs)
            .into_iter()
            .filter(|h| h.exit().is_none())
            .collect()
    }
}

/// Everything the server, the routes and the background tasks share.
#[derive(Debug)]
pub(crate) struct Inner {
    pub config: EmulatorConfig,
    /// `http(s)://127.0.0.1:PORT`: the bound address.
    pub base_url: String,
    /// The accepted `Host` headers and the base URL of each.
    pub origins: Origins,
    /// `--request-log`, if any.
    pub request_log: Option<RequestLog>,
    /// Parent of every container working directory.
    pub root_dir: PathBuf,
    pub world: Mutex<World>,
    pub faults: Mutex<FaultState>,
    pub tokens: Mutex<TokenStore>,
    pub stats: Mutex<Recorder>,
    pub limits: Mutex<RateLimiter>,
    /// Restarts of the service ([`crate::Emulator::restart`]).
    pub restarts: Restarts,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Inner {
    /// Creates the shared state (an invalid `config.public_url`, which `Emulator::start`
    /// refuses first, is ignored here).
    pub fn new(config: EmulatorConfig, base_url: String, root_dir: PathBuf) -> Inner {
        let local = Origins::new(&base_url);
        let origins = match config.public_url.as_deref() {
            Some(u) => local.clone().with_public_url(u).unwrap_or(local),
            None => local,
        };
        let limits = RateLimiter::new(config.faults.rate_limits);
        Inner {
            origins,
            request_log: None,
            faults: Mutex::new(FaultState::new(config.faults.clone())),
            config,
            base_url,
            root_dir,
            world: Mutex::new(World::default()),
            tokens: Mutex::new(TokenStore::default()),
            stats: Mutex::new(Recorder::default()),
            limits: Mutex::new(limits),
            restarts: Restarts::default(),
        }
    }

    /// How container logs are kept.
    pub fn log_settings(&self) -> super::logs::LogSettings {
        super::logs::LogSettings {
            max_lines: self.config.max_log_lines,
            precision: self.config.log_timestamp_precision,
        }
    }

    /// Locks the world.
    pub fn world(&self) -> MutexGuard<'_, World> {
        lock(&self.world)
    }

    /// Locks the faults.
    pub fn faults(&self) -> MutexGuard<'_, FaultState> {
        lock(&self.faults)
    }

    /// Locks the token store.
    pub fn tokens(&self) -> MutexGuard<'_, TokenStore> {
        lock(&self.tokens)
    }

    /// Locks the statistics.
    pub fn stats_recorder(&self) -> MutexGuard<'_, Recorder> {
        lock(&self.stats)
    }

    /// Locks the rate limiter.
    pub fn limits(&self) -> MutexGuard<'_, RateLimiter> {
        lock(&self.limits)
    }

    /// A statistics snapshot.
    pub fn stats(&self) -> Stats {
        let live = {
            let w = self.world();
            super::stats::Live {
                groups: w.groups.values().map(Group::id).collect(),
                processes: w.live_processes(),
                max_groups: w.peak_groups,
                max_processes: w.peak_processes,
            }
        };
        self.stats_recorder().snapshot(live)
    }

    /// `None` when the resource group exists, else its `404 ResourceGroupNotFound`.
    pub fn check_resource_group(&self, rg: &str) -> Option<super::http::Resp> {
        match &self.config.resource_groups {
            Some(list) if !list.iter().any(|g| g.eq_ignore_ascii_case(rg)) => {
                Some(super::http::arm_error(
                    404,
                    "ResourceGroupNotFound",
                    format!("Resource group '{rg}' could not be found."),
                ))
            }
            _ => None,
        }
    }

    /// Clears groups, operations, statistics and rate-limit buckets; returns the processes
    /// to kill. Tokens and faults are kept.
    pub fn reset(&self) -> Vec<ProcHandle> {
        let procs = {
            let mut w = self.world();
            let procs = w.clear();
            w.registries.clear();
            w.storage.clear();
            w.peak_groups = 0;
            w.peak_processes = 0;
            procs
        };
        *self.stats_recorder() = Recorder::default();
        let limits = self.faults().faults.rate_limits;
        *self.limits() = RateLimiter::new(limits);
        procs
    }

    /// Removes and recreates the root working directory (after the processes are gone).
    pub fn clean_root_dir(&self, recreate: bool) {
        let _ = std::fs::remove_dir_all(&self.root_dir);
        if recreate {
            let _ = std::fs::create_dir_all(&self.root_dir);
        }
    }
}
