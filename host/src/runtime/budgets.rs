//! `acquire-budget` and `pause-budget`: the shared rate budgets of the
//! call's grant (see [`crate::budget`]), drawn from the host's registry.

use std::time::Duration;

use super::{RuntimeError, RuntimeResult, TaskRuntime};
use crate::budget::Priority;

impl TaskRuntime {
    /// The registry's error for a key this call may not use, or `None`.
    fn refuse_budget(&self, key: &str) -> Option<RuntimeError> {
        (!self.granted_budgets.contains(key)).then(|| {
            RuntimeError::denied(format!(
                "budget `{key}` is not one the plan of this call declared"
            ))
        })
    }

    /// Takes one token of `key` (a declared budget; any other is `denied`),
    /// waiting for it: `false` when the task gets cancelled while the
    /// request waits (no token taken). A request made after the cancellation
    /// (the task's cleanup) waits for its token as usual. Without a registry
    /// (see [`TaskRuntime::with_budgets`]) every token is granted at once.
    pub(super) async fn take_budget(&self, key: &str, urgent: bool) -> RuntimeResult<bool> {
        if let Some(e) = self.refuse_budget(key) {
            return Err(e);
        }
        let Some(budgets) = &self.budgets else {
            return Ok(true);
        };
        let acquire = budgets
            .acquire(key, Priority::from_urgent(urgent))
            .map_err(|e| RuntimeError::denied(e.to_string()))?;
        if self.cancel.is_cancelled() {
            acquire.await;
            return Ok(true);
        }
        // Dropping `acquire` on cancellation gives its place (or token) back.
        tokio::select! {
            _ = acquire => Ok(true),
            _ = self.cancel.cancelled() => Ok(false),
        }
    }

    /// Holds every task's requests on `key` for `millis` (bounded by
    /// [`crate::budget::MAX_PAUSE`]).
    pub(super) fn hold_budget(&self, key: &str, millis: u64) -> RuntimeResult<()> {
        if let Some(e) = self.refuse_budget(key) {
            return Err(e);
        }
        if let Some(budgets) = &self.budgets {
            let applied = budgets
                .pause(key, Duration::from_millis(millis))
                .map_err(|e| RuntimeError::denied(e.to_string()))?;
            tracing::debug!(
                task = %self.task_id,
                "budget `{key}` paused for {} ms",
                applied.as_millis()
            );
        }
        Ok(())
    }
}
