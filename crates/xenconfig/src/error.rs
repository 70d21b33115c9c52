// SPDX-License-Identifier: LGPL-2.1-or-later
//! The conversion error: a libvirt error code, the error domain and the
//! detail message, worded as libvirt words it (clients match on it).

pub use virterror::{ErrorCode, ErrorDomain};

/// VIR_ERR_INTERNAL_ERROR
pub const ERR_INTERNAL_ERROR: ErrorCode = ErrorCode::InternalError;
/// VIR_ERR_NO_SUPPORT
pub const ERR_NO_SUPPORT: ErrorCode = ErrorCode::NoSupport;
/// VIR_ERR_INVALID_ARG
pub const ERR_INVALID_ARG: ErrorCode = ErrorCode::InvalidArg;
/// VIR_ERR_CONF_SYNTAX
pub const ERR_CONF_SYNTAX: ErrorCode = ErrorCode::ConfSyntax;
/// VIR_ERR_CONFIG_UNSUPPORTED
pub const ERR_CONFIG_UNSUPPORTED: ErrorCode = ErrorCode::ConfigUnsupported;
/// VIR_ERR_OVERFLOW
pub const ERR_OVERFLOW: ErrorCode = ErrorCode::Overflow;

/// VIR_FROM_XEN: code shared by both native formats.
pub const FROM_XEN: ErrorDomain = ErrorDomain::Xen;
/// VIR_FROM_CONF: the configuration grammar.
pub const FROM_CONF: ErrorDomain = ErrorDomain::Conf;
/// VIR_FROM_XENXM: the xm format.
pub const FROM_XENXM: ErrorDomain = ErrorDomain::Xenxm;
/// VIR_FROM_LIBXL: the libxl driver (domain configuration building).
pub const FROM_LIBXL: ErrorDomain = ErrorDomain::Libxl;
/// VIR_FROM_XENXL: the xl format.
pub const FROM_XENXL: ErrorDomain = ErrorDomain::Xenxl;

/// One failed conversion.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", .detail.as_deref().unwrap_or(""))]
pub struct XenConfigError {
    pub code: ErrorCode,
    pub domain: ErrorDomain,
    /// The detail the code's template surrounds; none for its bare text.
    pub detail: Option<String>,
}

impl XenConfigError {
    /// An error with an explicit code in the Xen domain.
    pub fn new(code: ErrorCode, detail: impl Into<String>) -> Self {
        XenConfigError {
            code,
            domain: FROM_XEN,
            detail: Some(detail.into()),
        }
    }

    /// The detail, or empty when the error has none.
    pub fn detail_text(&self) -> &str {
        self.detail.as_deref().unwrap_or("")
    }

    /// The error as the rest of the stack carries it.
    pub fn to_vir(&self) -> virterror::VirError {
        virterror::VirError {
            code: self.code,
            domain: self.domain,
            detail: self.detail.clone(),
            verbatim: false,
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
    pub fn in_domain(mut self, domain: ErrorDomain) -> Self {
        self.domain = domain;
        self
    }
}

impl From<conf::ConfError> for XenConfigError {
    fn from(e: conf::ConfError) -> Self {
        XenConfigError {
            code: e.code,
            domain: ErrorDomain::Domain,
            detail: e.detail,
        }
    }
}

impl From<virconf::ConfError> for XenConfigError {
    fn from(e: virconf::ConfError) -> Self {
        let v = e.to_vir();
        XenConfigError {
            code: v.code,
            domain: v.domain,
            detail: v.detail,
        }
    }
}
