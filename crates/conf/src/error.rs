// SPDX-License-Identifier: LGPL-2.1-or-later
//! The error every parser and setter in this crate returns: a libvirt
//! `virErrorNumber` plus the detail text a client shows after the code's
//! standard prefix (for example "XML error: " for [`XML_ERROR`]).

/// VIR_ERR_INTERNAL_ERROR
pub const INTERNAL_ERROR: i32 = 1;
/// VIR_ERR_INVALID_ARG
pub const INVALID_ARG: i32 = 8;
/// VIR_ERR_OPERATION_FAILED
pub const OPERATION_FAILED: i32 = 9;
/// VIR_ERR_OS_TYPE
pub const OS_TYPE: i32 = 16;
/// VIR_ERR_NO_NAME
pub const NO_NAME: i32 = 21;
/// VIR_ERR_XML_ERROR
pub const XML_ERROR: i32 = 27;
/// VIR_ERR_XML_DETAIL: the document is not well-formed XML.
pub const XML_DETAIL: i32 = 35;
/// VIR_ERR_INVALID_MAC
pub const INVALID_MAC: i32 = 44;
/// VIR_ERR_CONFIG_UNSUPPORTED
pub const CONFIG_UNSUPPORTED: i32 = 67;
/// VIR_ERR_NO_DOMAIN_METADATA
pub const NO_DOMAIN_METADATA: i32 = 80;
/// VIR_ERR_OPERATION_UNSUPPORTED
pub const OPERATION_UNSUPPORTED: i32 = 84;
/// VIR_ERR_XML_INVALID_SCHEMA
pub const XML_INVALID_SCHEMA: i32 = 92;

/// A libvirt error code with its detail message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} (code {code})")]
pub struct ConfError {
    /// libvirt `virErrorNumber`.
    pub code: i32,
    /// Detail text, without the code's standard prefix.
    pub message: String,
}

impl ConfError {
    /// Builds an error with an explicit code.
    pub fn new(code: i32, message: impl Into<String>) -> Self {
        ConfError {
            code,
            message: message.into(),
        }
    }

    /// VIR_ERR_XML_ERROR with the given detail.
    pub fn xml(message: impl Into<String>) -> Self {
        Self::new(XML_ERROR, message)
    }

    /// VIR_ERR_CONFIG_UNSUPPORTED with the given detail.
    pub fn unsupported(message: impl Into<String>) -> Self {
        Self::new(CONFIG_UNSUPPORTED, message)
    }

    /// VIR_ERR_INTERNAL_ERROR with the given detail.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(INTERNAL_ERROR, message)
    }

    /// VIR_ERR_INVALID_ARG with the given detail.
    pub fn invalid_arg(message: impl Into<String>) -> Self {
        Self::new(INVALID_ARG, message)
    }
}

/// VIR_ERR_INVALID_STORAGE_POOL
pub const INVALID_STORAGE_POOL: i32 = 46;
/// VIR_ERR_INVALID_STORAGE_VOL
pub const INVALID_STORAGE_VOL: i32 = 47;
