//! Restarts of the service behind the endpoint (a deployment or failover of ARM and Entra
//! ID's front ends): every open connection is reset, requests are answered with connection
//! resets for a while, then the same state answers again.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use tokio::sync::watch;

/// The restart in progress, if any, and a signal to the open connections.
#[derive(Debug)]
pub(crate) struct Restarts {
    /// Bumped at every restart; each connection watches it and resets itself.
    generation: watch::Sender<u64>,
    /// Until when requests are answered with a connection reset.
    down_until: Mutex<Option<Instant>>,
}

impl Default for Restarts {
    fn default() -> Self {
        Restarts {
            generation: watch::Sender::new(0),
            down_until: Mutex::new(None),
        }
    }
}

impl Restarts {
    /// Starts a restart: the connections open now are told to reset, and requests are
    /// refused (reset) for `down_for`.
    pub fn begin(&self, down_for: Duration) {
        *self.down_until.lock().unwrap_or_else(|e| e.into_inner()) =
            Some(Instant::now() + down_for);
        self.generation.send_modify(|g| *g += 1);
    }

    /// Ends the down time of a restart now (open connections are left alone).
    pub fn end(&self) {
        *self.down_until.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }

    /// True while a restart keeps the service down.
    pub fn is_down(&self) -> bool {
        self.down_until
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_some_and(|until| Instant::now() < until)
    }

    /// A receiver whose `changed()` completes at the next restart.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.generation.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn down_for_the_given_time_and_connections_told() {
        let r = Restarts::default();
        assert!(!r.is_down());
        let open = r.subscribe();
        assert!(!open.has_changed().unwrap());
        r.begin(Duration::from_secs(3600));
        assert!(r.is_down());
        assert!(open.has_changed().unwrap(), "open connections are told");
        r.end();
        assert!(!r.is_down(), "ended early");
        r.begin(Duration::ZERO);
        assert!(!r.is_down(), "a restart without down time");
    }
}
