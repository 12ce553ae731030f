//! The adaptive poll schedule.
//!
//! Each poll reads the group once (plus, while the container runs, its log
//! once), so the interval sets both the ARM read rate and how late an exit or
//! a log line is seen. Targets with default settings: a 60 s job in ≤ 35 ARM
//! reads, a 10 min job in ≤ 260, exits seen within 5 s (p95) and live log
//! lines within 5 s. Real provisioning (image pulls) takes tens of seconds, so
//! the starting phase backs off quickly too: a job whose group takes 20 s to
//! provision and then runs 60 s still stays within ≈ 34 reads. Hence:
//!
//! | phase | time in phase | interval |
//! |---|---|---|
//! | provisioning / starting | < 2 s | 1 s |
//! | | 2 – 10 s | 2.5 s |
//! | | ≥ 10 s | 4.8 s |
//! | running | < 2 min | 4.8 s |
//! | | 2 – 10 min | 4.95 s |
//! | | 10 – 30 min | grows linearly to 15 s |
//! | | ≥ 30 min | 15 s |
//!
//! `polling_interval` (Airflow's parameter, default 30 s) caps every interval;
//! after a failed read the interval doubles per consecutive failure (up to
//! 60 s) on top of the ARM client's own `Retry-After`-aware retries.

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
                0..2_000 => 1_000,
                2_000..10_000 => 2_500,
                _ => 4_800,
            },
            Phase::Running => match in_phase_ms {
                0..120_000 => 4_800,
                120_000..600_000 => 4_950,
                600_000..1_800_000 => {
                    4_950 + (in_phase_ms - 600_000) * (LONG_RUN_MS - 4_950) / 1_200_000
                }
                _ => LONG_RUN_MS,
            },
        };
        base.min(self.cap_ms)
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
    fn starts_fast_and_backs_off() {
        let s = Schedule::new(30.0);
        assert_eq!(s.interval_ms(Phase::Starting, 0), 1_000);
        assert_eq!(s.interval_ms(Phase::Starting, 5_000), 2_500);
        assert_eq!(s.interval_ms(Phase::Starting, 60_000), 4_800);
        assert_eq!(s.interval_ms(Phase::Running, 0), 4_800);
        assert_eq!(s.interval_ms(Phase::Running, 300_000), 4_950);
        assert!(s.interval_ms(Phase::Running, 1_200_000) > 9_000);
        assert_eq!(s.interval_ms(Phase::Running, 3_600_000), LONG_RUN_MS);
    }

    #[test]
    fn live_phase_stays_under_five_seconds_for_ten_minutes() {
        let s = Schedule::new(30.0);
        for t in (0..600_000).step_by(1_000) {
            assert!(s.interval_ms(Phase::Running, t) < 5_000, "t={t}");
        }
    }

    #[test]
    fn polling_interval_caps_everything() {
        let s = Schedule::new(2.0);
        assert_eq!(s.interval_ms(Phase::Running, 0), 2_000);
        assert_eq!(s.interval_ms(Phase::Running, 3_600_000), 2_000);
        assert_eq!(s.interval_ms(Phase::Starting, 0), 1_000);
        assert_eq!(Schedule::new(0.5).interval_ms(Phase::Starting, 0), 500);
    }

    #[test]
    fn error_backoff_is_bounded() {
        let s = Schedule::new(30.0);
        assert_eq!(s.error_backoff_ms(1_000, 1), 2_000);
        assert_eq!(s.error_backoff_ms(4_800, 2), 19_200);
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
            (Phase::Starting, 1_999, 1_000),
            (Phase::Starting, 2_000, 2_500),
            (Phase::Starting, 9_999, 2_500),
            (Phase::Starting, 10_000, 4_800),
            (Phase::Running, 119_999, 4_800),
            (Phase::Running, 120_000, 4_950),
            (Phase::Running, 599_999, 4_950),
            (Phase::Running, 600_000, 4_950),
        ] {
            assert_eq!(s.interval_ms(phase, t), want, "{phase:?} at {t}");
        }
    }

    #[test]
    fn ten_to_thirty_minute_ramp_is_linear() {
        let s = Schedule::new(30.0);
        // 4.95 s at 10 min, +10.05 s over the next 20 min, 15 s from 30 min on.
        for (t, want) in [
            (600_000, 4_950),
            (600_001, 4_950),
            (720_000, 5_955),
            (1_200_000, 9_975),
            (1_500_000, 12_487),
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
            8_300
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
