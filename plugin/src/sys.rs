//! The host calls of the ARM client and the token provider, in one place: HTTP, the clocks,
//! cancellable waits, warnings, granted files, the shared request budgets and randomness.
//!
//! [`crate::arm::transport`], [`crate::arm::client`], [`crate::arm::lro`],
//! [`crate::arm::budget`], [`crate::arm::random`] and [`crate::auth::provider`] reach the
//! host only through these functions. In the component they *are* the guest SDK's
//! functions (re-exported, so the wasm build is unchanged) and `wasi:random`. In the
//! plugin's own unit tests (`cfg(test)`), where the SDK's imports panic, the same names
//! answer from a per-thread script instead ([`fake`]): scripted HTTP responses, a virtual
//! clock that waits advance, recorded requests, warnings and budget calls. That lets the
//! retry, token-refresh and long-running-operation logic run natively, as
//! [`crate::operator::api`] does for the operator's wait loop.

#[cfg(test)]
pub mod fake;

#[cfg(test)]
pub use fake::{
    acquire_budget, debug, insecure_random_u64, now_ms, pause_budget, random_bytes,
    read_granted_file, send, unix_now, wait_cancelled, warn,
};

#[cfg(not(test))]
pub use task_plugin_sdk::clock::{now_ms, unix_now};
#[cfg(not(test))]
pub use task_plugin_sdk::http::send;
#[cfg(not(test))]
pub use task_plugin_sdk::runtime::{
    acquire_budget, debug, pause_budget, read_granted_file, wait_cancelled, warn,
};

/// `len` random bytes (`wasi:random/random`).
#[cfg(not(test))]
pub fn random_bytes(len: u64) -> Vec<u8> {
    wasi::random::random::get_random_bytes(len)
}

/// A random `u64` that need not be unpredictable (`wasi:random/insecure`).
#[cfg(not(test))]
pub fn insecure_random_u64() -> u64 {
    wasi::random::insecure::get_insecure_random_u64()
}
