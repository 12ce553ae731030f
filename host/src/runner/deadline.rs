//! Deadlines and cancellation for guest calls: one helper wraps any call.
//!
//! Every store yields to the executor on each epoch tick (see
//! [`crate::engine`]), so dropping a call's future stops the guest within a
//! tick even when it spins without calling the host. [`guarded`] races the
//! call against its deadline and the cancel token; a cancelled call gets a
//! grace period to answer (to clean up) before it is dropped.

use std::future::Future;
use std::time::Duration;

use crate::runtime::CancelToken;

/// Default deadline of `describe` and of `validate` (`--validate-timeout`).
pub const DEFAULT_VALIDATE_TIMEOUT: Duration = Duration::from_secs(60);

/// Default deadline of a hook call (`--hook-timeout`): long enough for a
/// `create-or-update --wait` or `delete --wait`.
pub const DEFAULT_HOOK_TIMEOUT: Duration = Duration::from_secs(3600);

/// Deadlines of the guest calls a [`Runner`](super::Runner) makes besides
/// `execute` (which the plugin bounds with `container_timeout`) and
/// `on-kill` (bounded by [`TaskEnv::on_kill_timeout`](super::TaskEnv)).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CallDeadlines {
    /// `describe`.
    pub describe: Duration,
    /// `validate` (alone, and before `execute`).
    pub validate: Duration,
    /// Each hook call.
    pub hook: Duration,
}

impl Default for CallDeadlines {
    fn default() -> Self {
        CallDeadlines {
            describe: DEFAULT_VALIDATE_TIMEOUT,
            validate: DEFAULT_VALIDATE_TIMEOUT,
            hook: DEFAULT_HOOK_TIMEOUT,
        }
    }
}

/// The bounds of one guest call.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Guard<'a> {
    /// Give up after this long (`None`: no deadline).
    pub deadline: Option<Duration>,
    /// Stop when this is cancelled (after `grace`).
    pub cancel: Option<&'a CancelToken>,
    /// How long a cancelled call may still take to answer.
    pub grace: Duration,
}

impl<'a> Guard<'a> {
    /// A deadline and a cancel token, no grace: for calls with nothing to
    /// clean up (`describe`, `validate`).
    pub fn new(deadline: Duration, cancel: Option<&'a CancelToken>) -> Self {
        Guard {
            deadline: Some(deadline),
            cancel,
            grace: Duration::ZERO,
        }
    }
}

/// Why a guarded call did not answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Stopped {
    /// Its deadline passed.
    TimedOut(Duration),
    /// It was cancelled and did not answer within the grace period.
    Cancelled,
}

impl Stopped {
    /// `"{what} did not finish within 2 s"` / `"{what} was cancelled"`.
    pub fn describe(self, what: &str) -> String {
        match self {
            Stopped::TimedOut(d) => format!("{what} did not finish within {}", seconds(d)),
            Stopped::Cancelled => format!("{what} was cancelled"),
        }
    }
}

/// `2 s`, `1.5 s`, `0.25 s`.
fn seconds(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s.fract() == 0.0 {
        format!("{s:.0} s")
    } else {
        format!("{s} s")
    }
}

/// Runs `call` until it answers, its deadline passes or it is cancelled
/// (then it gets `guard.grace`, still within the deadline, to answer; with
/// no grace it is dropped without another poll).
pub(crate) async fn guarded<T>(
    guard: Guard<'_>,
    call: impl Future<Output = T>,
) -> Result<T, Stopped> {
    tokio::pin!(call);
    let deadline = async {
        match guard.deadline {
            Some(d) => tokio::time::sleep(d).await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(deadline);
    let cancelled = async {
        match guard.cancel {
            Some(token) => token.cancelled().await,
            None => std::future::pending().await,
        }
    };
    let timed_out = || Stopped::TimedOut(guard.deadline.unwrap_or_default());
    // Cancellation is checked first, so a zero grace stops the call at once
    // (it is not polled again), whatever it would answer.
    tokio::select! {
        biased;
        _ = cancelled => {
            if guard.grace.is_zero() {
                return Err(Stopped::Cancelled);
            }
            tokio::select! {
                answer = tokio::time::timeout(guard.grace, &mut call) => answer.map_err(|_| Stopped::Cancelled),
                _ = &mut deadline => Err(timed_out()),
            }
        }
        // With no grace, a cancellation wins even over an answer given in
        // the same poll that saw it (the guest reads the flag directly).
        answer = &mut call => match guard.cancel {
            Some(token) if guard.grace.is_zero() && token.is_cancelled() => Err(Stopped::Cancelled),
            _ => Ok(answer),
        },
        _ = &mut deadline => Err(timed_out()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn no_grace_stops_a_cancelled_call_before_it_answers() {
        let token = CancelToken::new();
        token.cancel();
        let guard = Guard::new(Duration::from_secs(60), Some(&token));
        // The call would answer on its first poll; it never gets one.
        assert_eq!(guarded(guard, async { 7 }).await, Err(Stopped::Cancelled));
        // Nor does an answer given in the poll that cancels count.
        let token = CancelToken::new();
        let guard = Guard::new(Duration::from_secs(60), Some(&token));
        let answer = guarded(guard, async {
            token.cancel();
            7
        });
        assert_eq!(answer.await, Err(Stopped::Cancelled));
    }

    #[tokio::test]
    async fn answers_pass_through() {
        let r = guarded(Guard::new(Duration::from_secs(60), None), async { 7 }).await;
        assert_eq!(r, Ok(7));
    }

    #[tokio::test]
    async fn a_call_that_never_answers_times_out() {
        let guard = Guard::new(Duration::from_millis(20), None);
        let r = guarded(guard, std::future::pending::<()>()).await;
        assert_eq!(r, Err(Stopped::TimedOut(Duration::from_millis(20))));
        assert_eq!(
            r.unwrap_err().describe("validate"),
            "validate did not finish within 0.02 s"
        );
    }

    #[tokio::test]
    async fn cancellation_stops_the_call_after_its_grace() {
        let token = CancelToken::new();
        token.cancel();
        let guard = Guard {
            deadline: Some(Duration::from_secs(3600)),
            cancel: Some(&token),
            grace: Duration::from_millis(10),
        };
        let r = guarded(guard, std::future::pending::<()>()).await;
        assert_eq!(r, Err(Stopped::Cancelled));
        // A call that answers within its grace keeps its answer.
        let r = guarded(guard, async {
            tokio::task::yield_now().await;
            1
        })
        .await;
        assert_eq!(r, Ok(1));
        assert_eq!(seconds(Duration::from_secs(2)), "2 s");
    }
}
