//! The SDK's error type. Every failure inside a plugin is one of these; at the
//! WIT boundary it becomes the `task-error` variant (through `From`, inside the SDK).

use std::fmt;

use crate::wit::{Failure, RemoteError, TaskError};

/// A failure inside a plugin. Messages must never contain secrets or tokens.
#[derive(Debug, Clone, PartialEq)]
pub enum Error {
    /// The parameters are invalid; nothing was created remotely.
    InvalidParams(String),
    /// A connection is missing, malformed, or its credentials were refused.
    Connection(String),
    /// The host's outbound policy denied a request.
    Denied(String),
    /// A remote service (ARM, Entra ID, IMDS) returned an error.
    Remote {
        /// HTTP status (0 when no response arrived).
        status: u16,
        /// The service's error code.
        code: String,
        /// The service's message.
        message: String,
    },
    /// The workload ran and failed.
    Failed {
        /// Exit code, when known.
        exit_code: Option<i32>,
        /// Machine-readable classification (kebab-case).
        reason: String,
        /// Human-readable explanation.
        message: String,
    },
    /// The task's time limit expired.
    TimedOut(String),
    /// The host cancelled the task.
    Cancelled(String),
    /// A bug or unexpected condition.
    Internal(String),
}

/// The SDK's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A remote error with the given status, code and message.
    pub fn remote(status: u16, code: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Remote {
            status,
            code: code.into(),
            message: message.into(),
        }
    }

    /// The ARM/HTTP status of a remote error, if this is one.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Remote { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The remote error code, if this is a remote error.
    pub fn code(&self) -> Option<&str> {
        match self {
            Error::Remote { code, .. } => Some(code),
            _ => None,
        }
    }

    /// True for a `404` from the remote service.
    pub fn is_not_found(&self) -> bool {
        self.status() == Some(404)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::InvalidParams(m) => write!(f, "{m}"),
            Error::Connection(m) => write!(f, "connection error: {m}"),
            Error::Denied(m) => write!(f, "request denied by the host: {m}"),
            Error::Remote {
                status,
                code,
                message,
            } => {
                if *status == 0 {
                    write!(f, "{code}: {message}")
                } else {
                    write!(f, "({code}) {message} [HTTP {status}]")
                }
            }
            Error::Failed { message, .. } => write!(f, "{message}"),
            Error::TimedOut(m) => write!(f, "timed out: {m}"),
            Error::Cancelled(m) => write!(f, "cancelled: {m}"),
            Error::Internal(m) => write!(f, "internal error: {m}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<Error> for TaskError {
    fn from(e: Error) -> Self {
        match e {
            Error::InvalidParams(m) => TaskError::InvalidParams(m),
            Error::Connection(m) => TaskError::Connection(m),
            Error::Denied(m) => TaskError::Denied(m),
            Error::Remote {
                status,
                code,
                message,
            } => TaskError::Remote(RemoteError {
                status,
                code,
                message,
            }),
            Error::Failed {
                exit_code,
                reason,
                message,
            } => TaskError::Failed(Failure {
                exit_code,
                reason,
                message,
            }),
            Error::TimedOut(m) => TaskError::TimedOut(m),
            Error::Cancelled(m) => TaskError::Cancelled(m),
            Error::Internal(m) => TaskError::Internal(m),
        }
    }
}
