//! One token bucket with its queue of waiters and the timer task that
//! serves them.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

use super::{Limit, Priority};

/// Float slack: a token that is due "now" may compute as 0.999999….
const EPSILON: f64 = 1e-9;

/// What a bucket has done so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BudgetStats {
    /// Tokens taken (by futures that completed).
    pub granted: u64,
    /// Of those, how many had to queue.
    pub waited: u64,
    /// Waiters that gave up their place (dropped futures).
    pub cancelled: u64,
    /// Waiters queued right now.
    pub waiting: u64,
    /// The most waiters queued at once.
    pub max_waiting: u64,
    /// Pauses applied.
    pub pauses: u64,
    /// Total time waiters spent queued, in milliseconds.
    pub wait_ms: u64,
}

/// A bucket of one key.
pub(super) struct Bucket {
    state: Mutex<State>,
    /// Wakes the timer task early (a token came back, the limit changed).
    kick: Notify,
}

struct State {
    limit: Limit,
    tokens: f64,
    last: Instant,
    paused_until: Option<Instant>,
    next_seq: u64,
    /// Queued waiters by arrival, urgent ones (index 0) before normal ones.
    queues: [BTreeMap<u64, Option<Waker>>; 2],
    /// Waiters granted a token that have not seen it yet.
    granted: BTreeMap<u64, ()>,
    /// True while a timer task serves the queue.
    serving: bool,
    stats: BudgetStats,
}

fn queue_index(p: Priority) -> usize {
    match p {
        Priority::Urgent => 0,
        Priority::Normal => 1,
    }
}

impl State {
    fn refill(&mut self, now: Instant) {
        let dt = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + dt * self.limit.refill_per_sec).min(self.limit.capacity);
        self.last = now;
    }

    fn paused(&self, now: Instant) -> bool {
        self.paused_until.is_some_and(|until| now < until)
    }

    fn queued(&self) -> usize {
        self.queues.iter().map(BTreeMap::len).sum()
    }

    /// Hands the available tokens to the heads of the queues, waking them.
    fn dispatch(&mut self, now: Instant) {
        self.refill(now);
        if self.paused(now) {
            return;
        }
        while self.tokens >= 1.0 - EPSILON {
            let head = self.queues.iter_mut().find_map(|q| q.pop_first());
            let Some((seq, waker)) = head else { break };
            self.tokens = (self.tokens - 1.0).max(0.0);
            self.granted.insert(seq, ());
            if let Some(w) = waker {
                w.wake();
            }
        }
        self.stats.waiting = self.queued() as u64;
    }

    /// When the next token is due (or the pause ends).
    fn next_event(&self, now: Instant) -> Instant {
        if let Some(until) = self.paused_until.filter(|u| now < *u) {
            return until;
        }
        let missing = (1.0 - self.tokens).max(0.0);
        let secs = missing / self.limit.refill_per_sec;
        // Round up to the next millisecond (the timer's resolution), so the
        // token is there when the timer fires.
        let ms = (secs * 1000.0).ceil().max(1.0);
        now + Duration::from_millis(ms as u64)
    }
}

impl Bucket {
    /// A full bucket.
    pub(super) fn new(limit: Limit) -> Bucket {
        Bucket {
            state: Mutex::new(State {
                limit,
                tokens: limit.capacity,
                last: Instant::now(),
                paused_until: None,
                next_seq: 0,
                queues: Default::default(),
                granted: BTreeMap::new(),
                serving: false,
                stats: BudgetStats::default(),
            }),
            kick: Notify::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The current limit.
    pub(super) fn limit(&self) -> Limit {
        self.lock().limit
    }

    /// Changes the limit (tokens above the new capacity are dropped).
    pub(super) fn set_limit(&self, limit: Limit) {
        let mut s = self.lock();
        s.refill(Instant::now());
        s.limit = limit;
        s.tokens = s.tokens.min(limit.capacity);
        drop(s);
        self.kick.notify_one();
    }

    /// Holds every waiter for `duration` and empties the bucket.
    pub(super) fn pause(&self, duration: Duration) {
        let now = Instant::now();
        let mut s = self.lock();
        s.refill(now);
        let until = now + duration;
        s.paused_until = Some(s.paused_until.map_or(until, |u| u.max(until)));
        s.tokens = 0.0;
        s.stats.pauses += 1;
    }

    /// A snapshot of the statistics.
    pub(super) fn stats(&self) -> BudgetStats {
        self.lock().stats
    }

    /// Serves the queue until it is empty: sleeps until the next token is
    /// due, grants it to the head, and again.
    async fn serve(self: Arc<Bucket>) {
        loop {
            let wake_at = {
                let mut s = self.lock();
                let now = Instant::now();
                s.dispatch(now);
                if s.queued() == 0 {
                    s.serving = false;
                    return;
                }
                s.next_event(now)
            };
            tokio::select! {
                _ = tokio::time::sleep_until(wake_at) => {}
                _ = self.kick.notified() => {}
            }
        }
    }
}

/// Where an [`Acquire`] is.
enum Step {
    /// Not polled yet.
    New,
    /// Queued under this sequence number since this instant.
    Queued(u64, Instant),
    /// Resolved.
    Done,
}

/// A pending token of one bucket: resolves when the token is taken. Dropping
/// it gives up its place in the queue (or the token it was granted).
pub struct Acquire {
    bucket: Arc<Bucket>,
    priority: Priority,
    step: Step,
}

impl Acquire {
    pub(super) fn new(bucket: Arc<Bucket>, priority: Priority) -> Acquire {
        Acquire {
            bucket,
            priority,
            step: Step::New,
        }
    }

    /// First poll: take a token at once when nobody waits, else queue.
    fn first_poll(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let now = Instant::now();
        let mut s = self.bucket.lock();
        s.refill(now);
        if s.queued() == 0 && !s.paused(now) && s.tokens >= 1.0 - EPSILON {
            s.tokens = (s.tokens - 1.0).max(0.0);
            s.stats.granted += 1;
            self.step = Step::Done;
            return Poll::Ready(());
        }
        let seq = s.next_seq;
        s.next_seq += 1;
        s.queues[queue_index(self.priority)].insert(seq, Some(cx.waker().clone()));
        let queued = s.queued() as u64;
        s.stats.waiting = queued;
        s.stats.max_waiting = s.stats.max_waiting.max(queued);
        let start_server = !s.serving;
        s.serving = true;
        drop(s);
        self.step = Step::Queued(seq, now);
        if start_server {
            tokio::spawn(self.bucket.clone().serve());
        }
        Poll::Pending
    }
}

impl Future for Acquire {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        match this.step {
            Step::New => this.first_poll(cx),
            Step::Queued(seq, since) => {
                let mut s = this.bucket.lock();
                if s.granted.remove(&seq).is_some() {
                    s.stats.granted += 1;
                    s.stats.waited += 1;
                    let waited = Instant::now().saturating_duration_since(since);
                    s.stats.wait_ms += waited.as_millis() as u64;
                    drop(s);
                    this.step = Step::Done;
                    return Poll::Ready(());
                }
                let q = queue_index(this.priority);
                if let Some(slot) = s.queues[q].get_mut(&seq) {
                    match slot {
                        Some(w) if w.will_wake(cx.waker()) => {}
                        _ => *slot = Some(cx.waker().clone()),
                    }
                }
                Poll::Pending
            }
            Step::Done => Poll::Ready(()),
        }
    }
}

impl Drop for Acquire {
    fn drop(&mut self) {
        let Step::Queued(seq, _) = self.step else {
            return;
        };
        let mut s = self.bucket.lock();
        let q = queue_index(self.priority);
        if s.queues[q].remove(&seq).is_some() {
            s.stats.cancelled += 1;
            s.stats.waiting = s.queued() as u64;
            return;
        }
        if s.granted.remove(&seq).is_some() {
            // Granted but never seen: the token goes back to the bucket,
            // and to the next waiter if there is one.
            s.stats.cancelled += 1;
            s.tokens = (s.tokens + 1.0).min(s.limit.capacity);
            let serving = s.serving;
            drop(s);
            if serving {
                self.bucket.kick.notify_one();
            }
        }
    }
}
