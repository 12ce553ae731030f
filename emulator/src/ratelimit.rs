//! ARM's token buckets (per operation kind) behind the `x-ms-ratelimit-remaining-*` headers.

use std::time::{Duration, Instant};

use super::config::RateLimits;
use super::routes::OpKind;

/// Global (all principals) limits are this multiple of the per-principal ones.
pub(crate) const GLOBAL_FACTOR: u64 = 15;

#[derive(Debug)]
struct Bucket {
    capacity: f64,
    refill_per_sec: f64,
    tokens: f64,
    last: Instant,
}

impl Bucket {
    fn new(capacity: f64, refill_per_sec: f64) -> Bucket {
        Bucket {
            capacity,
            refill_per_sec,
            tokens: capacity,
            last: Instant::now(),
        }
    }

    fn refill(&mut self, now: Instant) {
        let dt = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + dt * self.refill_per_sec).min(self.capacity);
        self.last = now;
    }
}

/// Per-kind buckets (by default ARM's: reads 250 (+25/s), writes 200 (+10/s), deletes 200
/// (+10/s)).
#[derive(Debug)]
pub(crate) struct RateLimiter {
    reads: Bucket,
    writes: Bucket,
    deletes: Bucket,
}

impl Default for RateLimiter {
    fn default() -> Self {
        RateLimiter::new(RateLimits::default())
    }
}

impl RateLimiter {
    /// Full buckets of these sizes.
    pub fn new(limits: RateLimits) -> RateLimiter {
        let bucket = |(cap, rate): (f64, f64)| Bucket::new(cap, rate);
        RateLimiter {
            reads: bucket(limits.reads),
            writes: bucket(limits.writes),
            deletes: bucket(limits.deletes),
        }
    }

    fn bucket(&mut self, kind: OpKind) -> &mut Bucket {
        match kind {
            OpKind::Read => &mut self.reads,
            OpKind::Write => &mut self.writes,
            OpKind::Delete => &mut self.deletes,
        }
    }

    /// Takes one token. `Ok(remaining)`, or `Err(retry_after)` when the bucket is empty and
    /// `enforce` is set (without `enforce` the remaining count just stays at 0).
    pub fn take(&mut self, kind: OpKind, enforce: bool) -> Result<u64, Duration> {
        let b = self.bucket(kind);
        b.refill(Instant::now());
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(b.tokens.floor() as u64)
        } else if enforce {
            let secs = (1.0 - b.tokens) / b.refill_per_sec;
            Err(Duration::from_secs_f64(secs.max(0.0)))
        } else {
            Ok(0)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_drain_and_enforce() {
        let mut r = RateLimiter::default();
        assert_eq!(r.take(OpKind::Read, true), Ok(249));
        assert_eq!(r.take(OpKind::Write, true), Ok(199));
        for _ in 0..198 {
            r.take(OpKind::Write, true).unwrap();
        }
        assert_eq!(r.take(OpKind::Write, true), Ok(0));
        let wait = r.take(OpKind::Write, true).unwrap_err();
        assert!(wait <= Duration::from_millis(200), "{wait:?}");
        assert_eq!(r.take(OpKind::Write, false), Ok(0));
        assert_eq!(r.take(OpKind::Delete, false), Ok(199));
        let mut small = RateLimits::default();
        small.set("reads=2/5").unwrap();
        for bad in ["reads", "reads=0/1", "reads=1/0", "lists=1/1", "reads=x/1"] {
            assert!(small.set(bad).is_err(), "{bad}");
        }
        let mut r = RateLimiter::new(small);
        assert_eq!(r.take(OpKind::Read, true), Ok(1));
        assert_eq!(r.take(OpKind::Read, true), Ok(0));
        assert!(r.take(OpKind::Read, true).is_err());
    }
}
