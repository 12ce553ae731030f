//! The exit statuses of `aci-host run` (contract.md): `0` success, the
//! container's exit code (1–255) when it ran and failed, and these.

/// Exit status when `container_timeout` expired.
pub const EXIT_TIMED_OUT: i32 = 124;
/// Exit status for every failure other than a container's own exit code.
pub const EXIT_OTHER: i32 = 125;
/// Exit status when the task was cancelled.
pub const EXIT_CANCELLED: i32 = 130;

/// The exit status of a workload that ran and failed with `exit_code`: the
/// code itself when it is 1–255, else [`EXIT_OTHER`].
pub fn exit_status_of_workload(exit_code: Option<i32>) -> i32 {
    match exit_code {
        Some(c) if (1..=255).contains(&c) => c,
        _ => EXIT_OTHER,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workload_codes_pass_through_only_when_they_fit() {
        assert_eq!(exit_status_of_workload(Some(3)), 3);
        assert_eq!(exit_status_of_workload(Some(255)), 255);
        assert_eq!(exit_status_of_workload(Some(0)), EXIT_OTHER);
        assert_eq!(exit_status_of_workload(Some(256)), EXIT_OTHER);
        assert_eq!(exit_status_of_workload(Some(-1)), EXIT_OTHER);
        assert_eq!(exit_status_of_workload(None), EXIT_OTHER);
    }
}
