//! Runtime fault decisions: which request gets a 429, a 5xx or a connection reset.

use std::time::Duration;

use super::config::Faults;

/// What to do to one request instead of serving it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FaultAction {
    /// Close the connection with a TCP reset, no response.
    Reset,
    /// `429 TooManyRequests` with `Retry-After`.
    Throttle { retry_after: u64 },
    /// A server error with this status.
    Error { status: u16 },
}

/// The active faults and their counters.
#[derive(Debug, Default)]
pub(crate) struct FaultState {
    pub faults: Faults,
    seen: u64,
    throttle_left: u32,
    error_left: u32,
    reset_left: u32,
    latency_left: u32,
}

impl FaultState {
    /// Arms `faults` (burst counters start from their configured values).
    pub fn new(faults: Faults) -> FaultState {
        FaultState {
            throttle_left: faults.throttle_burst,
            error_left: faults.error_burst,
            reset_left: faults.reset_burst,
            latency_left: faults.latency_burst,
            faults,
            seen: 0,
        }
    }

    /// The delay (if any) of the next faultable request's answer, consuming one of a
    /// `latency_burst`.
    pub fn latency(&mut self) -> Option<Duration> {
        let latency = self.faults.latency?;
        if self.faults.latency_burst == 0 {
            return Some(latency);
        }
        if self.latency_left == 0 {
            return None;
        }
        self.latency_left -= 1;
        Some(latency)
    }

    /// Decides the fault (if any) for the next faultable request and consumes it.
    pub fn next(&mut self) -> Option<FaultAction> {
        self.seen += 1;
        let retry_after = self.faults.retry_after_secs.max(1);
        if self.reset_left > 0 {
            self.reset_left -= 1;
            return Some(FaultAction::Reset);
        }
        if self.throttle_left > 0 {
            self.throttle_left -= 1;
            return Some(FaultAction::Throttle { retry_after });
        }
        if let Some(n) = self.faults.throttle_every {
            if n > 0 && self.seen.is_multiple_of(n) {
                return Some(FaultAction::Throttle { retry_after });
            }
        }
        if self.error_left > 0 {
            self.error_left -= 1;
            let status = match self.faults.error_status {
                0 => 500,
                s => s,
            };
            return Some(FaultAction::Error { status });
        }
        None
    }
}

/// ARM error code and message of an injected server error.
pub(crate) fn server_error(status: u16) -> (&'static str, &'static str) {
    match status {
        502 => ("BadGateway", "The gateway did not receive a response from 'Microsoft.ContainerInstance' within the specified time period."),
        503 => ("ServiceUnavailable", "The service is temporarily unavailable. Please retry later."),
        504 => ("GatewayTimeout", "The gateway did not receive a response from 'Microsoft.ContainerInstance' within the specified time period."),
        _ => ("InternalServerError", "Encountered internal server error. Diagnostic information: timestamp '', subscription id '', tracking id '', request correlation id ''."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_nth_throttles() {
        let mut f = FaultState::new(Faults {
            throttle_every: Some(3),
            retry_after_secs: 7,
            ..Faults::default()
        });
        let got: Vec<_> = (0..6).map(|_| f.next()).collect();
        assert_eq!(got[0], None);
        assert_eq!(got[1], None);
        assert_eq!(got[2], Some(FaultAction::Throttle { retry_after: 7 }));
        assert_eq!(got[5], Some(FaultAction::Throttle { retry_after: 7 }));
        assert_eq!(got.iter().filter(|g| g.is_some()).count(), 2);
    }

    #[test]
    fn bursts_count_down_in_order() {
        let mut f = FaultState::new(Faults {
            reset_burst: 1,
            throttle_burst: 2,
            error_burst: 1,
            error_status: 503,
            ..Faults::default()
        });
        assert_eq!(f.next(), Some(FaultAction::Reset));
        assert_eq!(f.next(), Some(FaultAction::Throttle { retry_after: 1 }));
        assert_eq!(f.next(), Some(FaultAction::Throttle { retry_after: 1 }));
        assert_eq!(f.next(), Some(FaultAction::Error { status: 503 }));
        assert_eq!(f.next(), None);
        assert_eq!(server_error(503).0, "ServiceUnavailable");
        assert_eq!(server_error(500).0, "InternalServerError");
    }

    #[test]
    fn latency_applies_to_every_request_or_to_a_burst() {
        let ms = Duration::from_millis(5);
        let mut every = FaultState::new(Faults {
            latency: Some(ms),
            ..Faults::default()
        });
        assert!((0..5).all(|_| every.latency() == Some(ms)));
        let mut burst = FaultState::new(Faults {
            latency: Some(ms),
            latency_burst: 2,
            ..Faults::default()
        });
        let got: Vec<_> = (0..4).map(|_| burst.latency()).collect();
        assert_eq!(got, [Some(ms), Some(ms), None, None]);
        assert_eq!(FaultState::new(Faults::default()).latency(), None);
    }

    #[test]
    fn default_is_no_fault() {
        let mut f = FaultState::new(Faults::default());
        assert!((0..100).all(|_| f.next().is_none()));
    }
}
