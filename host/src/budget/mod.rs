//! Shared request budgets: token buckets that every task (and hook call) of
//! one host draws from before it sends a request to a rate-limited service.
//!
//! The host knows nothing about the service. A plan declares budgets
//! (`task-plan.budgets`): a *key* names one bucket (e.g.
//! `arm/<subscription>/reads`: every task naming it shares it), a *class*
//! names its kind for users (e.g. `arm-reads`), and the remote service's
//! [`Limit`] (bucket capacity and refill rate; the ACI operator declares
//! ARM's: reads 250 + 25/s, writes and deletes 200 + 10/s). The user may
//! configure a class (`--budget CLASS=CAPACITY/RATE`), which wins over every
//! declaration of that class. Keys and classes are opaque strings.
//!
//! # The share
//!
//! The remote bucket is not ours alone: the same principal's other clients
//! (an Airflow scheduler, the Azure CLI, another host, a human in the portal)
//! draw from it too, and a remote 429 costs every task a `Retry-After`. So a
//! host takes only a fraction of each declared limit: [`DEFAULT_SHARE`]
//! (0.8) of both the capacity and the refill rate, set with
//! `--budget-share`. The remaining fifth (for ARM reads: 50 tokens and 5 per
//! second) is left to the other clients, while a lone host still gets 20
//! ARM reads per second, enough to poll a dozen jobs every second. User
//! overrides (`--budget`) are taken as given, without the share: they state
//! what this host may use.
//!
//! # Waiting
//!
//! [`Budgets::acquire`] returns a future that resolves when a token is taken.
//! Waiters of one bucket are served first come, first served, urgent ones
//! ([`Priority::Urgent`]: writes, deletes, cleanup) before normal ones
//! (routine polls); a task that polls again queues behind every task already
//! waiting, so the reads are shared fairly and each task's interval
//! stretches with the load. Dropping the future gives up its place, or
//! returns its token if one was already granted, so a cancelled task takes
//! nothing. [`Budgets::pause`] holds every waiter of a bucket (a remote 429
//! with `Retry-After` seen by one task stops all of them), at most
//! [`MAX_PAUSE`].
//!
//! Each bucket costs nothing while idle: a bucket with waiters has one tokio
//! task that sleeps until the next token is due (or the pause ends), grants
//! it to the head of the queue and wakes only that waiter, so a grant is
//! O(log n) in the number of waiters and nothing polls.

mod bucket;
mod limit;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub use bucket::{Acquire, BudgetStats};
pub use limit::{BudgetOverride, Limit, LimitError};

use bucket::Bucket;

/// The fraction of a declared (remote) limit one host uses by default.
pub const DEFAULT_SHARE: f64 = 0.8;

/// The longest a [`Budgets::pause`] holds a bucket (a longer `Retry-After`
/// is cut to this; the remote service answers again if it still refuses).
pub const MAX_PAUSE: Duration = Duration::from_secs(300);

/// Which queue a waiter joins.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Priority {
    /// Served before every normal waiter (writes, deletes, a final read).
    Urgent,
    /// Routine requests (polls).
    Normal,
}

impl Priority {
    /// `Urgent` when `urgent`, else `Normal`.
    pub fn from_urgent(urgent: bool) -> Priority {
        if urgent {
            Priority::Urgent
        } else {
            Priority::Normal
        }
    }
}

/// A key no plan declared.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownBudget(pub String);

impl std::fmt::Display for UnknownBudget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "no budget `{}` is declared", self.0)
    }
}

impl std::error::Error for UnknownBudget {}

/// The budgets of one host: the user's class limits and one bucket per
/// declared key.
///
/// Share one `Arc<Budgets>` between every task of a process.
pub struct Budgets {
    share: f64,
    overrides: HashMap<String, Limit>,
    buckets: Mutex<HashMap<String, Declared>>,
}

/// A declared key: its class and bucket.
struct Declared {
    class: String,
    bucket: Arc<Bucket>,
}

impl Default for Budgets {
    fn default() -> Self {
        Budgets {
            share: DEFAULT_SHARE,
            overrides: HashMap::new(),
            buckets: Mutex::default(),
        }
    }
}

impl Budgets {
    /// Budgets that take `share` (0 < share ≤ 1) of every declared limit,
    /// and exactly `overrides` for the classes they name.
    pub fn new(share: f64, overrides: Vec<BudgetOverride>) -> Result<Budgets, LimitError> {
        if !(share > 0.0 && share <= 1.0) {
            return Err(LimitError(format!(
                "the budget share must be in (0, 1], got {share}"
            )));
        }
        Ok(Budgets {
            share,
            overrides: overrides.into_iter().map(|o| (o.class, o.limit)).collect(),
            buckets: Mutex::default(),
        })
    }

    /// The share of declared limits this host takes.
    pub fn share(&self) -> f64 {
        self.share
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Declared>> {
        self.buckets.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// What this host uses of a `remote` limit of `class`: the user's
    /// override of the class, else the share of `remote`.
    pub fn effective(&self, class: &str, remote: Limit) -> Limit {
        match self.overrides.get(class) {
            Some(o) => *o,
            None => remote.scaled(self.share),
        }
    }

    /// Declares `key` (of `class`) with the remote service's limit; this
    /// host uses [`Budgets::effective`] of it. The first declaration creates
    /// the (full) bucket; a later one with another class or limit updates
    /// it. Returns the effective limit.
    pub fn declare(&self, key: &str, class: &str, remote: Limit) -> Limit {
        let effective = self.effective(class, remote);
        let mut buckets = self.lock();
        match buckets.get_mut(key) {
            Some(d) => {
                if d.class != class || d.bucket.limit() != effective {
                    d.class = class.to_string();
                    d.bucket.set_limit(effective);
                }
            }
            None => {
                buckets.insert(
                    key.to_string(),
                    Declared {
                        class: class.to_string(),
                        bucket: Arc::new(Bucket::new(effective)),
                    },
                );
            }
        }
        effective
    }

    /// The effective limit and class of `key`, if declared.
    pub fn limit(&self, key: &str) -> Option<(String, Limit)> {
        self.lock()
            .get(key)
            .map(|d| (d.class.clone(), d.bucket.limit()))
    }

    fn bucket(&self, key: &str) -> Result<Arc<Bucket>, UnknownBudget> {
        self.lock()
            .get(key)
            .map(|d| d.bucket.clone())
            .ok_or_else(|| UnknownBudget(key.to_string()))
    }

    /// Waits for one token of `key`'s bucket (see the module docs). Must be
    /// awaited inside a tokio runtime (its timers).
    pub fn acquire(&self, key: &str, priority: Priority) -> Result<Acquire, UnknownBudget> {
        Ok(Acquire::new(self.bucket(key)?, priority))
    }

    /// Holds every waiter of `key`'s bucket for `duration` (at most
    /// [`MAX_PAUSE`]; a pause already running longer is kept) and empties the
    /// bucket, so requests resume at the refill rate. Returns the pause
    /// applied.
    pub fn pause(&self, key: &str, duration: Duration) -> Result<Duration, UnknownBudget> {
        let applied = duration.min(MAX_PAUSE);
        self.bucket(key)?.pause(applied);
        Ok(applied)
    }

    /// Statistics of every bucket, by key (sorted).
    pub fn stats(&self) -> Vec<(String, BudgetStats)> {
        let mut out: Vec<(String, BudgetStats)> = self
            .lock()
            .iter()
            .map(|(k, d)| (k.clone(), d.bucket.stats()))
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }
}

#[cfg(test)]
mod tests;
