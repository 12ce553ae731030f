//! Shared request budgets: token buckets that every task (and hook call) of
//! one host draws from before it sends a request to a rate-limited service.
//!
//! The host knows nothing about the service: a budget is a *class* with a
//! [`Limit`] (bucket capacity and refill rate) that the operator declares
//! (the ACI operator declares ARM's buckets: reads 250 + 25/s, writes and
//! deletes 200 + 10/s) or the user configures (`--budget CLASS=CAPACITY/RATE`,
//! which wins over the declaration). A *key* names one bucket of a class:
//! `CLASS` or `CLASS:SCOPE` (e.g. `reads:<subscription id>`), so one class
//! declaration gives every scope its own bucket, created on first use.
//!
//! # The share
//!
//! The remote bucket is not ours alone: the same principal's other clients
//! (an Airflow scheduler, the Azure CLI, another host, a human in the portal)
//! draw from it too, and a remote 429 costs every task a `Retry-After`. So a
//! host takes only a fraction of each declared limit: [`DEFAULT_SHARE`] (one
//! half) of both the capacity and the refill rate, set with `--budget-share`.
//! Half leaves the other clients as much as the host takes (a second host
//! with the default share still fits) while a lone host still gets 12.5 ARM
//! reads per second, enough to poll a few dozen jobs every second. User
//! overrides (`--budget`) are taken as given, without the share: they state
//! what this host may use.
//!
//! # Waiting
//!
//! [`Budgets::acquire`] returns a future that resolves when a token is taken.
//! Waiters of one bucket are served first come, first served, urgent ones
//! ([`Priority::Urgent`]: writes, deletes, the read that confirms an exit)
//! before normal ones (routine polls); a task that polls again queues behind
//! every task already waiting, so the reads are shared fairly and each task's
//! interval stretches with the load. Dropping the future gives up its place,
//! or returns its token if one was already granted, so a cancelled task takes
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
pub const DEFAULT_SHARE: f64 = 0.5;

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

/// A key whose class has no limit declared or configured.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownBudget(pub String);

impl std::fmt::Display for UnknownBudget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "no budget is declared for `{}`", self.0)
    }
}

impl std::error::Error for UnknownBudget {}

/// The budgets of one host: class limits and the buckets drawn from them.
///
/// Share one `Arc<Budgets>` between every task of a process.
pub struct Budgets {
    share: f64,
    overrides: HashMap<String, Limit>,
    inner: Mutex<Registry>,
}

/// Declared classes and the buckets created so far.
#[derive(Default)]
struct Registry {
    /// Effective limit of each class (after the share, or the override).
    classes: HashMap<String, Limit>,
    /// One bucket per key.
    buckets: HashMap<String, Arc<Bucket>>,
}

impl Default for Budgets {
    fn default() -> Self {
        Budgets {
            share: DEFAULT_SHARE,
            overrides: HashMap::new(),
            inner: Mutex::default(),
        }
    }
}

/// The class of a key: its part before the first `:`.
pub fn class_of(key: &str) -> &str {
    key.split_once(':').map_or(key, |(class, _)| class)
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
        let mut registry = Registry::default();
        let mut by_class = HashMap::new();
        for o in overrides {
            registry.classes.insert(o.class.clone(), o.limit);
            by_class.insert(o.class, o.limit);
        }
        Ok(Budgets {
            share,
            overrides: by_class,
            inner: Mutex::new(registry),
        })
    }

    /// The share of declared limits this host takes.
    pub fn share(&self) -> f64 {
        self.share
    }

    fn registry(&self) -> std::sync::MutexGuard<'_, Registry> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Declares the remote limit of `class` (what the service allows); this
    /// host uses its share of it, unless the user configured the class. A
    /// later declaration replaces an earlier one (existing buckets follow).
    /// Returns the effective limit.
    pub fn declare(&self, class: &str, remote: Limit) -> Limit {
        let effective = match self.overrides.get(class) {
            Some(o) => *o,
            None => remote.scaled(self.share),
        };
        let mut reg = self.registry();
        reg.classes.insert(class.to_string(), effective);
        for (key, bucket) in &reg.buckets {
            if class_of(key) == class {
                bucket.set_limit(effective);
            }
        }
        effective
    }

    /// The effective limit of `class`, if declared or configured.
    pub fn limit(&self, class: &str) -> Option<Limit> {
        self.registry().classes.get(class).copied()
    }

    /// The bucket of `key`, created from its class's limit on first use.
    fn bucket(&self, key: &str) -> Result<Arc<Bucket>, UnknownBudget> {
        let mut reg = self.registry();
        if let Some(b) = reg.buckets.get(key) {
            return Ok(b.clone());
        }
        let limit = *reg
            .classes
            .get(class_of(key))
            .ok_or_else(|| UnknownBudget(key.to_string()))?;
        let bucket = Arc::new(Bucket::new(limit));
        reg.buckets.insert(key.to_string(), bucket.clone());
        Ok(bucket)
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
        let reg = self.registry();
        let mut out: Vec<(String, BudgetStats)> = reg
            .buckets
            .iter()
            .map(|(k, b)| (k.clone(), b.stats()))
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }
}

#[cfg(test)]
mod tests;
