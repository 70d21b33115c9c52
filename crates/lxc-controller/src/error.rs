// SPDX-License-Identifier: LGPL-2.1-or-later
//! Errors of the controller and its client library.

use std::io;

/// An error starting, talking to or running a container controller.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A host operation failed.
    #[error(transparent)]
    Host(#[from] host::Error),
    /// The spec is unusable.
    #[error("invalid container spec: {0}")]
    Spec(String),
    /// A file or socket operation failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// The controller reported a failure (text as it sent it).
    #[error("{0}")]
    Controller(String),
    /// No answer within the deadline.
    #[error("timed out {0}")]
    Timeout(String),
    /// The peer broke the control protocol.
    #[error("control protocol error: {0}")]
    Protocol(String),
}

impl Error {
    /// Wraps an I/O error with context.
    pub fn io(context: impl Into<String>, source: io::Error) -> Self {
        Error::Io {
            context: context.into(),
            source,
        }
    }
}

/// Result type of this crate.
pub type Result<T> = std::result::Result<T, Error>;
