//! Sending with retries: the one loop every ARM and token request goes through.
//!
//! A request is retried when the caller's predicate says its answer is transient (429,
//! 5xx, `ContainerGroupTransitioning`, ...) or when the connection failed or timed out, up
//! to the [`RetryPolicy`] bounds (attempts and total time). Waits use the server's
//! `Retry-After` when given, exponential backoff with jitter otherwise, and go through the
//! host's `wait-cancelled`, so a cancelled task stops waiting at once. A request the host
//! denied is never retried. Every attempt is counted.

use std::cell::Cell;
use std::rc::Rc;

use super::random;
use super::retry::{retry_after_ms, Decision, GiveUpReason, RetryPolicy};
use crate::sys;
use task_plugin_sdk::http::{HttpError, Request, Response};
use task_plugin_sdk::Error;

/// A response that came back, and how it was obtained.
#[derive(Debug)]
pub struct Sent {
    /// The final response (successful, or a non-retryable / last retryable failure).
    pub response: Response,
    /// Attempts made.
    pub attempts: u32,
    /// Set when the response is a retryable failure and retrying stopped.
    pub gave_up: Option<GiveUpReason>,
    /// Time spent, waits included.
    pub elapsed_ms: u64,
}

impl Sent {
    /// A note for error messages when retries were exhausted (empty otherwise).
    pub fn give_up_note(&self) -> String {
        match self.gave_up {
            Some(reason) => give_up_note(reason, self.attempts, self.elapsed_ms),
            None => String::new(),
        }
    }
}

/// " (gave up after N attempts in X s: why)".
pub fn give_up_note(reason: GiveUpReason, attempts: u32, elapsed_ms: u64) -> String {
    let why = match reason {
        GiveUpReason::Attempts => "retry limit reached",
        GiveUpReason::Time => "retry time budget exhausted",
        GiveUpReason::RetryAfterTooLong => "Retry-After exceeds the retry time budget",
    };
    format!(
        " (gave up after {attempts} attempt{} in {:.1} s: {why})",
        if attempts == 1 { "" } else { "s" },
        elapsed_ms as f64 / 1000.0
    )
}

/// Why no usable response came back.
#[derive(Debug)]
pub enum TransportError {
    /// The host's outbound policy denied the request.
    Denied(String),
    /// No response: connection failures or timeouts (retried while allowed).
    Unreachable {
        /// The last failure.
        error: HttpError,
        /// Attempts made.
        attempts: u32,
        /// Time spent.
        elapsed_ms: u64,
        /// Why retrying stopped (`None` when the failure was not retryable).
        gave_up: Option<GiveUpReason>,
    },
    /// Building a request failed, or the task was cancelled while waiting.
    Fatal(Error),
}

impl TransportError {
    /// A plain description (no secrets: URLs in [`HttpError`]s have no query).
    pub fn describe(&self) -> String {
        match self {
            TransportError::Denied(m) => m.clone(),
            TransportError::Unreachable {
                error,
                attempts,
                elapsed_ms,
                gave_up,
            } => match gave_up {
                Some(r) => format!("{error}{}", give_up_note(*r, *attempts, *elapsed_ms)),
                None => error.to_string(),
            },
            TransportError::Fatal(e) => e.to_string(),
        }
    }
}

/// What the retry loop needs besides the request.
#[derive(Clone, Debug)]
pub struct Transport {
    /// Retry bounds and pacing.
    pub policy: RetryPolicy,
    counter: Rc<Cell<u64>>,
}

impl Transport {
    /// A transport counting its attempts into `counter`.
    pub fn new(policy: RetryPolicy, counter: Rc<Cell<u64>>) -> Transport {
        Transport { policy, counter }
    }

    /// Requests sent so far through this counter.
    pub fn requests(&self) -> u64 {
        self.counter.get()
    }

    /// Sends the request built by `make` (called once per attempt, so headers such as the
    /// bearer token can change between attempts). `retry_response` says whether a response
    /// is transient; `retry_connection` whether connection failures and timeouts are.
    /// `label` names the call in retry warnings (no query strings, no secrets).
    pub fn execute(
        &self,
        label: &str,
        make: &mut dyn FnMut() -> Result<Request, Error>,
        retry_response: &dyn Fn(&Response) -> Option<String>,
        retry_connection: bool,
    ) -> Result<Sent, TransportError> {
        let start = sys::now_ms();
        // Time spent in `make` (a token, a turn of the host's shared budget: minutes when
        // thousands of tasks queue for ARM's writes) is waiting, not failing: it does not
        // count against the retry time budget.
        let mut queued: u64 = 0;
        let mut attempt: u32 = 0;
        // Bounded: `decide` gives up after `policy.max_attempts` attempts or the time budget.
        loop {
            attempt += 1;
            let before = sys::now_ms();
            let request = make().map_err(TransportError::Fatal)?;
            queued = queued.saturating_add(sys::now_ms().saturating_sub(before));
            self.counter.set(self.counter.get() + 1);
            let outcome = sys::send(&request);
            let elapsed = sys::now_ms().saturating_sub(start).saturating_sub(queued);
            let (hint, why, last) = match outcome {
                Ok(resp) => match retry_response(&resp) {
                    None => {
                        return Ok(Sent {
                            response: resp,
                            attempts: attempt,
                            gave_up: None,
                            elapsed_ms: elapsed,
                        })
                    }
                    Some(why) => {
                        let hint =
                            retry_after_ms(|n| resp.header(n).map(String::from), sys::unix_now());
                        (hint, why, Ok(resp))
                    }
                },
                Err(HttpError::Denied(m)) => return Err(TransportError::Denied(m)),
                Err(e) if retry_connection && e.is_transient() => (None, e.to_string(), Err(e)),
                Err(e) => {
                    return Err(TransportError::Unreachable {
                        error: e,
                        attempts: attempt,
                        elapsed_ms: elapsed,
                        gave_up: None,
                    })
                }
            };
            match self.policy.decide(attempt, elapsed, hint, random::jitter()) {
                Decision::RetryAfter(wait) => {
                    sys::warn(format!(
                        "{label}: {why}; retrying in {wait} ms (attempt {}/{})",
                        attempt + 1,
                        self.policy.max_attempts
                    ));
                    if sys::wait_cancelled(wait) {
                        return Err(TransportError::Fatal(Error::Cancelled(format!(
                            "cancelled while waiting to retry {label}"
                        ))));
                    }
                }
                Decision::GiveUp(reason) => {
                    let elapsed = sys::now_ms().saturating_sub(start);
                    return match last {
                        Ok(resp) => Ok(Sent {
                            response: resp,
                            attempts: attempt,
                            gave_up: Some(reason),
                            elapsed_ms: elapsed,
                        }),
                        Err(e) => Err(TransportError::Unreachable {
                            error: e,
                            attempts: attempt,
                            elapsed_ms: elapsed,
                            gave_up: Some(reason),
                        }),
                    };
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notes() {
        assert_eq!(
            give_up_note(GiveUpReason::Attempts, 6, 12_345),
            " (gave up after 6 attempts in 12.3 s: retry limit reached)"
        );
        assert_eq!(
            give_up_note(GiveUpReason::Time, 1, 0),
            " (gave up after 1 attempt in 0.0 s: retry time budget exhausted)"
        );
        let e = TransportError::Unreachable {
            error: HttpError::Connection("GET http://h/x: ConnectionRefused".into()),
            attempts: 3,
            elapsed_ms: 1500,
            gave_up: Some(GiveUpReason::Attempts),
        };
        assert_eq!(e.describe(), "connection failed: GET http://h/x: ConnectionRefused (gave up after 3 attempts in 1.5 s: retry limit reached)");
    }
}
