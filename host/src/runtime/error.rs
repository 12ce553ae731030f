//! [`RuntimeError`]: a guest-visible `host-error` or a trap, in one type
//! (wasmtime bindgen's `trappable_error_type` for `runtime.host-error`).

use std::fmt;

use crate::bindings::HostError;

/// What a runtime host function returns.
pub type RuntimeResult<T> = Result<T, RuntimeError>;

/// Either a `host-error` the guest receives, or a trap that ends the
/// instance (see the rule in [the module docs](super)). Build the first with
/// the constructors or `From<HostError>`, the second with [`RuntimeError::trap`].
pub struct RuntimeError {
    err: wasmtime::Error,
}

impl RuntimeError {
    /// A trap: a host bug or an exhausted store limit.
    pub fn trap(err: impl Into<wasmtime::Error>) -> RuntimeError {
        RuntimeError { err: err.into() }
    }

    /// `host-error.not-found`: the item does not exist where the host looked.
    pub fn not_found(message: impl Into<String>) -> RuntimeError {
        HostError::NotFound(message.into()).into()
    }

    /// `host-error.denied`: the host's policy forbids the request.
    pub fn denied(message: impl Into<String>) -> RuntimeError {
        HostError::Denied(message.into()).into()
    }

    /// `host-error.invalid`: the request is malformed or over a bound.
    pub fn invalid(message: impl Into<String>) -> RuntimeError {
        HostError::Invalid(message.into()).into()
    }

    /// The guest-visible error, or the trap as an `Err`.
    pub fn downcast(self) -> wasmtime::Result<HostError> {
        self.err.downcast()
    }

    /// The guest-visible error, if this is one.
    pub fn host_error(&self) -> Option<&HostError> {
        self.err.downcast_ref()
    }
}

impl From<HostError> for RuntimeError {
    fn from(error: HostError) -> Self {
        RuntimeError { err: error.into() }
    }
}

impl fmt::Debug for RuntimeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.err, f)
    }
}

impl fmt::Display for RuntimeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.err, f)
    }
}

impl std::error::Error for RuntimeError {}
