//! The end-to-end suite: the real component in the real host (and in the
//! other hosts) against the emulator on loopback.
//!
//! One test binary, one module per subject: one link instead of one per
//! file, and the tests of every subject share the test threads (set by
//! `RUST_TEST_THREADS` in `.cargo/config.toml`) instead of each binary
//! waiting for its slowest test. Run one subject with
//! `cargo test -p aci-e2e --test e2e -- operator::`.
//!
//! Tests here share one process: a test must not change process-wide state
//! (environment, limits, working directory) and must create every descriptor
//! a child could inherit with close-on-exec.

mod azure_sdk;
mod bounds;
mod budget;
mod cli;
mod cli_hook;
mod conformance;
mod explain;
mod faults;
mod hook;
mod hostile;
mod limits;
mod many;
mod operator;
mod policy;
mod sdk_example;
mod secrets;
mod sweep;
mod templates;
