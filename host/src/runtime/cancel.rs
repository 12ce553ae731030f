//! Cancellation: [`CancelToken`], shared by the caller and the running task.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

/// Longest single `wait-cancelled`: one day.
const MAX_WAIT: Duration = Duration::from_secs(86_400);

/// A cancellation signal shared by the caller and the running task.
#[derive(Clone, Debug)]
pub struct CancelToken {
    tx: Arc<watch::Sender<bool>>,
}

impl Default for CancelToken {
    fn default() -> Self {
        CancelToken {
            tx: Arc::new(watch::channel(false).0),
        }
    }
}

impl CancelToken {
    /// A token that is not cancelled.
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks the task to stop.
    pub fn cancel(&self) {
        self.tx.send_replace(true);
    }

    /// True once cancelled.
    pub fn is_cancelled(&self) -> bool {
        *self.tx.borrow()
    }

    /// Resolves once cancelled.
    pub async fn cancelled(&self) {
        let mut rx = self.tx.subscribe();
        // `wait_for` returns immediately when the value already matches.
        let _ = rx.wait_for(|c| *c).await;
    }

    /// `wait-cancelled`: sleeps up to `millis` (at most a day), returning
    /// `true` as soon as the token is cancelled, `false` when the time elapsed.
    pub(super) async fn wait(&self, millis: u64) -> bool {
        if self.is_cancelled() {
            return true;
        }
        let wait = Duration::from_millis(millis).min(MAX_WAIT);
        tokio::select! {
            _ = tokio::time::sleep(wait) => false,
            _ = self.cancelled() => true,
        }
    }
}
