//! The adaptive poll schedule.
//!
//! Each poll reads the group once; while the container runs its log is read
//! too, but less often (see [`Schedule::logs_due`]). Every read first takes a
//! token of the host's shared ARM read budget (`crate::arm::budget`), so the
//! schedule is the *fastest* a task polls: while the host is well inside its
//! share of ARM's bucket a task polls once a second and a lone job's exit is
//! seen within about a second; as tasks multiply, waiting for tokens stretches
//! every task's interval (the host serves waiting tasks in turn), so the host
//! stays inside its share without any task computing a rate. Hence:
//!
//! | phase | time in phase | interval |
//! |---|---|---|
//! | provisioning / starting | < 10 s | 1 s |
//! | | ≥ 10 s | 2.5 s |
//! | running | < 10 min | 1 s |
//! | | 10 – 30 min | grows linearly to 15 s |
//! | | ≥ 30 min | 15 s |
//!
//! The log is read at most every [`LOG_EVERY_MS`] and every
//! [`LOG_EVERY_POLLS`]-th poll, so under load three quarters of a task's
//! reads still go to its state. `polling_interval` (Airflow's parameter,
//! default 30 s) caps every interval; after a failed read the interval
//! doubles per consecutive failure (up to 60 s) on top of the ARM client's
//! own `Retry-After`-aware retries.

/// What the group is doing, as far as polling is concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Not running yet: provisioning, pulling, starting.
    Starting,
    /// The container has started (running, or restarting under its policy).
    Running,
}

/// Poll intervals for one task.
#[derive(Clone, Copy, Debug)]
pub struct Schedule {
    cap_ms: u64,
}

/// Longest interval of the running phase (after 30 minutes).
pub const LONG_RUN_MS: u64 = 15_000;
/// Longest back-off after failed reads.
pub const MAX_ERROR_BACKOFF_MS: u64 = 60_000;
/// Shortest time between two reads of a running container's log.
pub const LOG_EVERY_MS: u64 = 4_000;
/// Fewest polls of the state between two reads of the log.
pub const LOG_EVERY_POLLS: u32 = 3;

impl Schedule {
    /// A schedule capped at `polling_interval` seconds.
    pub fn new(polling_interval_secs: f64) -> Self {
        let cap_ms = (polling_interval_secs * 1000.0).clamp(100.0, 86_400_000.0) as u64;
        Schedule { cap_ms }
    }

    /// The interval before the next poll, `in_phase_ms` after entering `phase`.
    pub fn interval_ms(&self, phase: Phase, in_phase_ms: u64) -> u64 {
        let base = match phase {
            Phase::Starting => match in_phase_ms {
                0..10_000 => 1_000,
                _ => 2_500,
            },
            Phase::Running => match in_phase_ms {
                0..600_000 => 1_000,
                600_000..1_800_000 => {
                    1_000 + (in_phase_ms - 600_000) * (LONG_RUN_MS - 1_000) / 1_200_000
                }
                _ => LONG_RUN_MS,
            },
        };
        base.min(self.cap_ms)
    }

    /// Whether a running container's log is read at this poll, `since_ms`
    /// after the last read, this poll being the `polls`-th since (`None`:
    /// never read yet).
    pub fn logs_due(&self, since: Option<(u64, u32)>) -> bool {
        match since {
            None => true,
            Some((since_ms, polls)) => since_ms >= LOG_EVERY_MS && polls >= LOG_EVERY_POLLS,
        }
    }

    /// The wait after `failures` consecutive failed reads (`failures ≥ 1`).
    pub fn error_backoff_ms(&self, normal_ms: u64, failures: u32) -> u64 {
        let factor = 1u64 << failures.min(6);
        normal_ms
            .max(1_000)
            .saturating_mul(factor)
            .min(MAX_ERROR_BACKOFF_MS)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn polls_every_second_then_backs_off_on_long_phases() {
        let s = Schedule::new(30.0);
        assert_eq!(s.interval_ms(Phase::Starting, 0), 1_000);
        assert_eq!(s.interval_ms(Phase::Starting, 9_999), 1_000);
        assert_eq!(s.interval_ms(Phase::Starting, 60_000), 2_500);
        assert_eq!(s.interval_ms(Phase::Running, 0), 1_000);
        assert_eq!(s.interval_ms(Phase::Running, 599_999), 1_000);
        assert_eq!(s.interval_ms(Phase::Running, 1_200_000), 8_000);
        assert_eq!(s.interval_ms(Phase::Running, 3_600_000), LONG_RUN_MS);
    }

    #[test]
    fn logs_are_read_less_often_than_the_state() {
        let s = Schedule::new(30.0);
        assert!(s.logs_due(None));
        assert!(!s.logs_due(Some((3_999, 10))));
        assert!(!s.logs_due(Some((60_000, 2))));
        assert!(s.logs_due(Some((4_000, 3))));
    }

    #[test]
    fn polling_interval_caps_everything() {
        let s = Schedule::new(2.0);
        assert_eq!(s.interval_ms(Phase::Running, 0), 1_000);
        assert_eq!(s.interval_ms(Phase::Running, 3_600_000), 2_000);
        assert_eq!(s.interval_ms(Phase::Starting, 0), 1_000);
        assert_eq!(Schedule::new(0.5).interval_ms(Phase::Starting, 0), 500);
    }

    #[test]
    fn error_backoff_is_bounded() {
        let s = Schedule::new(30.0);
        assert_eq!(s.error_backoff_ms(1_000, 1), 2_000);
        assert_eq!(s.error_backoff_ms(4_800, 2), 19_200);
        assert_eq!(s.error_backoff_ms(1_000, 2), 4_000);
        assert_eq!(s.error_backoff_ms(4_800, 30), MAX_ERROR_BACKOFF_MS);
    }

    #[test]
    fn monotonic_within_a_phase() {
        let s = Schedule::new(30.0);
        let mut prev = 0;
        for t in (0..3_600_000).step_by(5_000) {
            let i = s.interval_ms(Phase::Running, t);
            assert!(i >= prev);
            prev = i;
        }
    }

    #[test]
    fn phase_boundaries() {
        let s = Schedule::new(30.0);
        for (phase, t, want) in [
            (Phase::Starting, 0, 1_000),
            (Phase::Starting, 9_999, 1_000),
            (Phase::Starting, 10_000, 2_500),
            (Phase::Running, 0, 1_000),
            (Phase::Running, 599_999, 1_000),
            (Phase::Running, 600_000, 1_000),
        ] {
            assert_eq!(s.interval_ms(phase, t), want, "{phase:?} at {t}");
        }
    }

    #[test]
    fn ten_to_thirty_minute_ramp_is_linear() {
        let s = Schedule::new(30.0);
        // 1 s at 10 min, +14 s over the next 20 min, 15 s from 30 min on.
        for (t, want) in [
            (600_000, 1_000),
            (600_001, 1_000),
            (720_000, 2_400),
            (1_200_000, 8_000),
            (1_500_000, 11_500),
            (1_799_999, 14_999),
            (1_800_000, 15_000),
            (u64::MAX, 15_000),
        ] {
            assert_eq!(s.interval_ms(Phase::Running, t), want, "t={t}");
        }
        // A lower cap clips the ramp.
        assert_eq!(
            Schedule::new(10.0).interval_ms(Phase::Running, 1_500_000),
            10_000
        );
        assert_eq!(
            Schedule::new(10.0).interval_ms(Phase::Running, 1_000_000),
            5_666
        );
    }

    #[test]
    fn cap_is_clamped() {
        assert_eq!(Schedule::new(0.0).interval_ms(Phase::Starting, 0), 100);
        assert_eq!(Schedule::new(-5.0).interval_ms(Phase::Starting, 0), 100);
        assert_eq!(Schedule::new(0.1).interval_ms(Phase::Starting, 0), 100);
        assert_eq!(Schedule::new(0.25).interval_ms(Phase::Starting, 0), 250);
        assert_eq!(
            Schedule::new(1e12).interval_ms(Phase::Running, u64::MAX),
            LONG_RUN_MS
        );
        assert_eq!(Schedule::new(1e12).cap_ms, 86_400_000);
    }

    #[test]
    fn error_backoff_edges() {
        let s = Schedule::new(30.0);
        assert_eq!(s.error_backoff_ms(200, 0), 1_000, "at least one second");
        assert_eq!(s.error_backoff_ms(1_000, 5), 32_000);
        assert_eq!(s.error_backoff_ms(900, 6), MAX_ERROR_BACKOFF_MS);
        assert_eq!(s.error_backoff_ms(1_000, u32::MAX), MAX_ERROR_BACKOFF_MS);
        assert_eq!(s.error_backoff_ms(u64::MAX, 1), MAX_ERROR_BACKOFF_MS);
    }
}
