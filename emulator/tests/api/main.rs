//! Integration tests of the local ARM emulator through its public API and plain HTTP, one
//! test binary with a module per topic.
//!
//! Every emulator listens on 127.0.0.1:0; waits are bounded polls of the emulator's state.

mod common;

mod examples;
mod faults;
mod groups;
mod lifecycle;
mod lockdown;
mod processes;
mod routes;
mod shapes;
mod websocket;
