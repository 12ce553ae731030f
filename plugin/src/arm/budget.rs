//! ARM's request budget, drawn from the host's shared budgets.
//!
//! ARM throttles each subscription (per principal and region) with three token
//! buckets (the project's ARM reference, `arm-aci.md` §7.3): reads (`GET`) 250 refilled at 25 per
//! second, writes (`PUT`, `PATCH`, `POST`) and deletes (`DELETE`) 200 at 10
//! per second. The plan declares one budget per subscription and kind
//! (key `arm/<subscription>/<kind>`, class `arm-<kind>`, ARM's numbers), so
//! every task and hook call of one host that talks to the same subscription
//! shares one bucket of each kind; the host takes its share of them, or what
//! the user configured for the class (`--budget arm-reads=…`).
//!
//! Before each attempt (retries included) the client takes a token
//! ([`acquire`]): writes and deletes are urgent, so a create or a cleanup is
//! never stuck behind the polls. A `429` with `Retry-After` pauses the key
//! for every task ([`pause`]). A host that does not know the key (a plan that
//! could not name the subscription, e.g. one read from `key_path`) does not
//! stop the request: the request goes out without a token, and ARM's own
//! `429`s and the retry loop still bound it.

use crate::sys;
use task_plugin_sdk::http::Method;
use task_plugin_sdk::{Budget, Error, Result, TaskPlan};

/// The kinds of ARM requests, each with its own bucket.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `GET`.
    Reads,
    /// `PUT`, `PATCH`, `POST`.
    Writes,
    /// `DELETE`.
    Deletes,
}

impl Kind {
    /// Every kind.
    pub const ALL: [Kind; 3] = [Kind::Reads, Kind::Writes, Kind::Deletes];

    /// The kind ARM counts a request of `method` as.
    pub fn of(method: Method) -> Kind {
        match method {
            Method::Get => Kind::Reads,
            Method::Put | Method::Patch | Method::Post => Kind::Writes,
            Method::Delete => Kind::Deletes,
        }
    }

    /// `reads`, `writes` or `deletes`.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Reads => "reads",
            Kind::Writes => "writes",
            Kind::Deletes => "deletes",
        }
    }

    /// ARM's bucket: capacity and refill per second.
    pub fn arm_limit(self) -> (u32, f64) {
        match self {
            Kind::Reads => (250, 25.0),
            Kind::Writes | Kind::Deletes => (200, 10.0),
        }
    }

    /// Writes and deletes go ahead of the polls.
    pub fn urgent(self) -> bool {
        self != Kind::Reads
    }
}

/// The budget key of `kind` requests in `subscription`.
pub fn key(subscription: &str, kind: Kind) -> String {
    format!("arm/{}/{}", subscription.trim(), kind.name())
}

/// The three budgets of `subscription`, with ARM's limits.
pub fn budgets(subscription: &str) -> Vec<Budget> {
    Kind::ALL
        .iter()
        .map(|&kind| {
            let (capacity, refill_per_second) = kind.arm_limit();
            Budget {
                key: key(subscription, kind),
                class: format!("arm-{}", kind.name()),
                capacity,
                refill_per_second,
            }
        })
        .collect()
}

/// Adds the budgets of `subscription` (when known and not blank) to `plan`.
pub fn add_to_plan(plan: &mut TaskPlan, subscription: Option<&str>) {
    let Some(sub) = subscription.map(str::trim).filter(|s| !s.is_empty()) else {
        return;
    };
    for b in budgets(sub) {
        plan.add_budget(b);
    }
}

/// Takes one token for a `method` request in `subscription`, waiting for it.
/// `Err(Cancelled)` when the task was cancelled while waiting; a key the
/// host refuses lets the request go (see the module docs).
pub fn acquire(subscription: &str, method: Method) -> Result<()> {
    let kind = Kind::of(method);
    let key = key(subscription, kind);
    match sys::acquire_budget(&key, kind.urgent()) {
        Ok(true) => Ok(()),
        Ok(false) => Err(Error::Cancelled(format!(
            "cancelled while waiting for ARM's {} budget",
            kind.name()
        ))),
        Err(e) => {
            sys::debug(format!("no shared budget for this request: {e}"));
            Ok(())
        }
    }
}

/// ARM throttled a `method` request in `subscription` for `millis`: every
/// task of the host holds that kind's requests as long.
pub fn pause(subscription: &str, method: Method, millis: u64) {
    let key = key(subscription, Kind::of(method));
    if let Err(e) = sys::pause_budget(&key, millis) {
        sys::debug(format!("could not pause the shared budget: {e}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_keys_and_limits() {
        assert_eq!(Kind::of(Method::Get), Kind::Reads);
        assert_eq!(Kind::of(Method::Post), Kind::Writes);
        assert_eq!(Kind::of(Method::Patch), Kind::Writes);
        assert_eq!(Kind::of(Method::Delete), Kind::Deletes);
        assert!(Kind::Writes.urgent() && Kind::Deletes.urgent() && !Kind::Reads.urgent());
        assert_eq!(key(" sub-1 ", Kind::Reads), "arm/sub-1/reads");
        let b = budgets("s");
        let view: Vec<(&str, &str, u32, f64)> = b
            .iter()
            .map(|b| {
                (
                    b.key.as_str(),
                    b.class.as_str(),
                    b.capacity,
                    b.refill_per_second,
                )
            })
            .collect();
        assert_eq!(
            view,
            [
                ("arm/s/reads", "arm-reads", 250, 25.0),
                ("arm/s/writes", "arm-writes", 200, 10.0),
                ("arm/s/deletes", "arm-deletes", 200, 10.0),
            ]
        );
        let mut plan = TaskPlan::default();
        add_to_plan(&mut plan, Some(" "));
        add_to_plan(&mut plan, None);
        assert!(plan.budgets.is_empty());
        add_to_plan(&mut plan, Some("s"));
        add_to_plan(&mut plan, Some("s"));
        assert_eq!(plan.budgets.len(), 3);
    }
}
