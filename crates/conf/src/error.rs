// SPDX-License-Identifier: LGPL-2.1-or-later
//! The error every parser and setter in this crate returns: a libvirt
//! error code plus, where libvirt gives one, the detail the code's
//! template surrounds (for example "XML error: <detail>" for
//! [`XML_ERROR`]; [`NO_NAME`] has none: "missing name information").
//! The driver that reports it adds the error domain ([`ConfError::in_domain`]).

pub use virterror::{ErrorCode, ErrorDomain, VirError};

/// VIR_ERR_INTERNAL_ERROR
pub const INTERNAL_ERROR: ErrorCode = ErrorCode::InternalError;
/// VIR_ERR_INVALID_ARG
pub const INVALID_ARG: ErrorCode = ErrorCode::InvalidArg;
/// VIR_ERR_OPERATION_FAILED
pub const OPERATION_FAILED: ErrorCode = ErrorCode::OperationFailed;
/// VIR_ERR_OS_TYPE
pub const OS_TYPE: ErrorCode = ErrorCode::OsType;
/// VIR_ERR_NO_NAME
pub const NO_NAME: ErrorCode = ErrorCode::NoName;
/// VIR_ERR_XML_ERROR
pub const XML_ERROR: ErrorCode = ErrorCode::XmlError;
/// VIR_ERR_XML_DETAIL: the document is not well-formed XML.
pub const XML_DETAIL: ErrorCode = ErrorCode::XmlDetail;
/// VIR_ERR_INVALID_MAC
pub const INVALID_MAC: ErrorCode = ErrorCode::InvalidMac;
/// VIR_ERR_CONFIG_UNSUPPORTED
pub const CONFIG_UNSUPPORTED: ErrorCode = ErrorCode::ConfigUnsupported;
/// VIR_ERR_NO_DOMAIN_METADATA
pub const NO_DOMAIN_METADATA: ErrorCode = ErrorCode::NoDomainMetadata;
/// VIR_ERR_OPERATION_UNSUPPORTED
pub const OPERATION_UNSUPPORTED: ErrorCode = ErrorCode::OperationUnsupported;
/// VIR_ERR_XML_INVALID_SCHEMA
pub const XML_INVALID_SCHEMA: ErrorCode = ErrorCode::XmlInvalidSchema;
/// VIR_ERR_INVALID_STORAGE_POOL
pub const INVALID_STORAGE_POOL: ErrorCode = ErrorCode::InvalidStoragePool;
/// VIR_ERR_INVALID_STORAGE_VOL
pub const INVALID_STORAGE_VOL: ErrorCode = ErrorCode::InvalidStorageVol;

/// A libvirt error code with its detail.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", virterror::compose(*.code, .detail.as_deref()))]
pub struct ConfError {
    pub code: ErrorCode,
    /// The detail the code's template surrounds; none for its bare text.
    pub detail: Option<String>,
    /// The domain libvirt reports this error from whoever parses: set for
    /// errors of its XML layer (VIR_FROM_XML), none for the caller's.
    pub domain: Option<ErrorDomain>,
}

impl ConfError {
    /// Builds an error with an explicit code and a detail.
    pub fn new(code: ErrorCode, detail: impl Into<String>) -> Self {
        ConfError {
            code,
            detail: Some(detail.into()),
            domain: None,
        }
    }

    /// The code's own text, without a detail.
    pub fn bare(code: ErrorCode) -> Self {
        ConfError {
            code,
            detail: None,
            domain: None,
        }
    }

    /// VIR_ERR_XML_ERROR with the given detail.
    pub fn xml(detail: impl Into<String>) -> Self {
        Self::new(XML_ERROR, detail)
    }

    /// VIR_ERR_XML_ERROR raised by libvirt's XML layer (wrong root
    /// element, missing required attribute), reported from VIR_FROM_XML
    /// whichever driver parses.
    pub fn xml_layer(detail: impl Into<String>) -> Self {
        ConfError {
            domain: Some(ErrorDomain::Xml),
            ..Self::new(XML_ERROR, detail)
        }
    }

    /// This error as libvirt reports it from `domain` whichever driver
    /// parses (for example VIR_FROM_RESCTRL for resource control checks).
    pub fn with_domain(self, domain: ErrorDomain) -> Self {
        ConfError {
            domain: Some(domain),
            ..self
        }
    }

    /// VIR_ERR_CONFIG_UNSUPPORTED with the given detail.
    pub fn unsupported(detail: impl Into<String>) -> Self {
        Self::new(CONFIG_UNSUPPORTED, detail)
    }

    /// VIR_ERR_INTERNAL_ERROR with the given detail.
    pub fn internal(detail: impl Into<String>) -> Self {
        Self::new(INTERNAL_ERROR, detail)
    }

    /// VIR_ERR_INVALID_ARG with the given detail.
    pub fn invalid_arg(detail: impl Into<String>) -> Self {
        Self::new(INVALID_ARG, detail)
    }

    /// The detail, or empty when the error has none.
    pub fn detail_text(&self) -> &str {
        self.detail.as_deref().unwrap_or("")
    }

    /// The message a client shows (the template around the detail).
    pub fn message(&self) -> String {
        virterror::compose(self.code, self.detail.as_deref())
    }

    /// This error as reported from error domain `domain` (unless it has
    /// its own).
    pub fn in_domain(self, domain: ErrorDomain) -> VirError {
        VirError {
            code: self.code,
            domain: self.domain.unwrap_or(domain),
            detail: self.detail,
            verbatim: false,
        }
    }
}
