// SPDX-License-Identifier: LGPL-2.1-or-later
//! The conversion error: a libvirt error code, the error domain and the
//! detail message, worded as libvirt words it (clients match on it).

/// VIR_ERR_INTERNAL_ERROR
pub const ERR_INTERNAL_ERROR: i32 = 1;
/// VIR_ERR_NO_SUPPORT
pub const ERR_NO_SUPPORT: i32 = 3;
/// VIR_ERR_INVALID_ARG
pub const ERR_INVALID_ARG: i32 = 8;
/// VIR_ERR_CONF_SYNTAX
pub const ERR_CONF_SYNTAX: i32 = 33;
/// VIR_ERR_CONFIG_UNSUPPORTED
pub const ERR_CONFIG_UNSUPPORTED: i32 = 67;
/// VIR_ERR_OVERFLOW
pub const ERR_OVERFLOW: i32 = 82;

/// VIR_FROM_XEN: code shared by both native formats.
pub const FROM_XEN: i32 = 1;
/// VIR_FROM_CONF: the configuration grammar.
pub const FROM_CONF: i32 = 9;
/// VIR_FROM_XENXM: the xm format.
pub const FROM_XENXM: i32 = 15;
/// VIR_FROM_LIBXL: the libxl driver (domain configuration building).
pub const FROM_LIBXL: i32 = 41;
/// VIR_FROM_XENXL: the xl format.
pub const FROM_XENXL: i32 = 64;

/// One failed conversion.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct XenConfigError {
    /// libvirt `virErrorNumber`.
    pub code: i32,
    /// libvirt `virErrorDomain`.
    pub domain: i32,
    /// Detail text (without the code's standard prefix).
    pub message: String,
}

impl XenConfigError {
    /// An error with an explicit code in the Xen domain.
    pub fn new(code: i32, message: impl Into<String>) -> Self {
        XenConfigError {
            code,
            domain: FROM_XEN,
            message: message.into(),
        }
    }

    /// VIR_ERR_INTERNAL_ERROR.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ERR_INTERNAL_ERROR, message)
    }

    /// VIR_ERR_CONFIG_UNSUPPORTED.
    pub fn unsupported(message: impl Into<String>) -> Self {
        Self::new(ERR_CONFIG_UNSUPPORTED, message)
    }

    /// VIR_ERR_CONF_SYNTAX.
    pub fn syntax(message: impl Into<String>) -> Self {
        Self::new(ERR_CONF_SYNTAX, message)
    }

    /// "config value X was malformed" (VIR_ERR_INTERNAL_ERROR).
    pub fn malformed(key: &str) -> Self {
        Self::internal(format!("config value {key} was malformed"))
    }

    /// The same error reported from another domain.
    pub fn in_domain(mut self, domain: i32) -> Self {
        self.domain = domain;
        self
    }
}

impl From<conf::ConfError> for XenConfigError {
    fn from(e: conf::ConfError) -> Self {
        XenConfigError {
            code: e.code,
            domain: 20, // VIR_FROM_DOMAIN
            message: e.message,
        }
    }
}

impl From<virconf::ConfError> for XenConfigError {
    fn from(e: virconf::ConfError) -> Self {
        XenConfigError {
            code: e.code(),
            domain: e.domain(),
            message: e.to_string(),
        }
    }
}
