//! Time for plugins: the monotonic clock (`wasi:clocks/monotonic-clock`) for
//! durations and deadlines, the wall clock for timestamps.

/// Sleeps without watching for cancellation (monotonic clock). Prefer
/// [`runtime::wait_cancelled`](crate::runtime::wait_cancelled) in a task.
pub fn sleep_ms(millis: u64) {
    let pollable =
        wasi::clocks::monotonic_clock::subscribe_duration(millis.saturating_mul(1_000_000));
    pollable.block();
}

/// Monotonic time in milliseconds (arbitrary origin).
pub fn now_ms() -> u64 {
    wasi::clocks::monotonic_clock::now() / 1_000_000
}

/// Wall-clock time as seconds since the Unix epoch.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
