//! The Azure Resource Manager client: typed models ([`models`]), cloud endpoints
//! ([`cloud`]), retry policy ([`retry`]) and the retrying transport ([`transport`]), error
//! mapping ([`errors`]), long-running operations ([`lro`]), the authenticated client
//! ([`client`]) and ARM's shared request budget ([`budget`]).

pub mod budget;
pub mod client;
pub mod cloud;
pub mod errors;
pub mod lro;
pub mod models;
#[cfg(test)]
mod proptests;
pub mod random;
pub mod retry;
pub mod transport;

pub use client::ArmClient;
