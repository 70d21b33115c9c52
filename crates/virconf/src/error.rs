// SPDX-License-Identifier: LGPL-2.1-or-later
//! The error type of this crate, carrying libvirt's error code and wording.

/// libvirt's error domain for configuration-file handling (VIR_FROM_CONF).
pub const FROM_CONF: i32 = 9;
/// VIR_ERR_INTERNAL_ERROR: used by libvirt for type errors in getters.
pub const ERR_INTERNAL_ERROR: i32 = 1;
/// VIR_ERR_CONF_SYNTAX: a file that does not follow the grammar.
pub const ERR_CONF_SYNTAX: i32 = 33;
/// VIR_ERR_SYSTEM_ERROR: a file that cannot be opened or read.
pub const ERR_SYSTEM_ERROR: i32 = 38;

/// An error from parsing or querying a configuration.
///
/// `Display` gives the full message a libvirt client would show, for
/// example `configuration file syntax error: /etc/libvirt/libvirtd.conf:3:
/// expecting a value`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfError {
    /// The text does not follow the grammar.
    #[error("configuration file syntax error: {file}:{line}: {reason}")]
    Syntax {
        /// The file name given to the parser.
        file: String,
        /// 1-based line where the parser stopped.
        line: u32,
        /// What was expected (libvirt's wording).
        reason: &'static str,
    },
    /// A setting is present with the wrong type or out of range.
    #[error("internal error: {message}")]
    Internal {
        /// `FILE: expected ... for 'KEY' parameter` and the like.
        message: String,
    },
    /// A list setting holds an item that is not a string (libvirt reports
    /// this one as a syntax error).
    #[error("configuration file syntax error: {message}")]
    Semantic {
        /// `FILE: expected a string list for 'KEY' parameter`.
        message: String,
    },
    /// The file could not be opened or read.
    #[error("{message}")]
    Io {
        /// `Failed to open file 'PATH': REASON`.
        message: String,
        /// The OS error number, if any.
        errno: Option<i32>,
    },
}

impl ConfError {
    pub(crate) fn io(op: &str, path: &str, err: &std::io::Error) -> ConfError {
        let reason = virterror::os_error_text(err);
        ConfError::Io {
            message: format!("Failed to {op} file '{path}': {reason}"),
            errno: err.raw_os_error(),
        }
    }

    pub(crate) fn too_large(path: &str) -> ConfError {
        ConfError::Io {
            message: format!("Failed to read file '{path}': Value too large for defined data type"),
            errno: Some(75),
        }
    }

    /// libvirt's error code (virErrorNumber).
    pub fn code(&self) -> i32 {
        match self {
            ConfError::Syntax { .. } | ConfError::Semantic { .. } => ERR_CONF_SYNTAX,
            ConfError::Internal { .. } => ERR_INTERNAL_ERROR,
            ConfError::Io { .. } => ERR_SYSTEM_ERROR,
        }
    }

    /// libvirt's error domain (virErrorDomain).
    pub fn domain(&self) -> i32 {
        match self {
            // virfile.c reports without a domain of its own.
            ConfError::Io { .. } => 0,
            _ => FROM_CONF,
        }
    }

    /// The detail the error code's template surrounds (the message
    /// without "configuration file syntax error: " or "internal error: ").
    pub fn detail(&self) -> String {
        match self {
            ConfError::Syntax { file, line, reason } => format!("{file}:{line}: {reason}"),
            ConfError::Internal { message } | ConfError::Semantic { message } => message.clone(),
            ConfError::Io { message, .. } => message.clone(),
        }
    }

    /// The error in the shared vocabulary: code, domain and detail.
    pub fn to_vir(&self) -> virterror::VirError {
        let code = match self {
            ConfError::Syntax { .. } | ConfError::Semantic { .. } => {
                virterror::ErrorCode::ConfSyntax
            }
            ConfError::Internal { .. } => virterror::ErrorCode::InternalError,
            ConfError::Io { .. } => virterror::ErrorCode::SystemError,
        };
        let domain = match self {
            ConfError::Io { .. } => virterror::ErrorDomain::None,
            _ => virterror::ErrorDomain::Conf,
        };
        virterror::VirError::new(code, domain, self.detail())
    }

    /// True when the error came from opening a file that does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(self, ConfError::Io { errno: Some(2), .. })
    }
}

#[cfg(test)]
mod vocabulary_tests {
    use super::*;

    #[test]
    fn the_shared_error_says_the_message_once() {
        let e = ConfError::Syntax {
            file: "f.conf".into(),
            line: 3,
            reason: "expecting a value",
        };
        assert_eq!(e.to_vir().message(), e.to_string());
        let e = ConfError::Internal {
            message: "f.conf: expected a string for 'k' parameter".into(),
        };
        assert_eq!(e.to_vir().message(), e.to_string());
        let e = ConfError::io("open", "/x", &std::io::Error::from_raw_os_error(2));
        assert_eq!(e.to_vir().message(), e.to_string());
    }
}
