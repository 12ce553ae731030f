//! Entra ID authentication for ARM: which credential a connection uses
//! ([`credential`]), how tokens are obtained and cached ([`provider`]), and the pieces
//! they are built from (auth files, certificate assertions, token responses).

pub mod credential;
pub mod jwt;
pub mod keyfile;
pub mod provider;
pub mod token;

pub use credential::{AuthSetup, Credential};
pub use provider::TokenProvider;
