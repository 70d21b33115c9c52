// SPDX-License-Identifier: LGPL-2.1-or-later
//! The error carried in a REPLY with status ERROR (remote_error / virNetMessageError).

use crate::errors::{ErrorCode, ErrorDomain};
use crate::remote::{Error as RawError, NonnullDomain, NonnullNetwork};

/// Severity of an error (virErrorLevel).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorLevel {
    None = 0,
    Warning = 1,
    Error = 2,
}

/// One libvirt error as it crosses the wire: code, domain, level and the
/// message a person reads. Every crate's error converts into this.
#[derive(Debug, Clone, PartialEq)]
pub struct RemoteError {
    pub code: i32,
    pub domain: i32,
    pub message: String,
    pub level: ErrorLevel,
    pub str1: Option<String>,
    pub str2: Option<String>,
    pub str3: Option<String>,
    pub int1: i32,
    pub int2: i32,
    pub dom: Option<NonnullDomain>,
    pub net: Option<NonnullNetwork>,
}

impl RemoteError {
    /// An error whose message is built from the code's standard text and a
    /// detail, exactly as libvirt composes it ("Domain not found: <detail>").
    pub fn new(code: ErrorCode, domain: ErrorDomain, detail: Option<&str>) -> Self {
        let (bare, _) = code.texts();
        let message = virterror::compose(code, detail);
        RemoteError {
            code: code as i32,
            domain: domain as i32,
            message,
            level: ErrorLevel::Error,
            str1: Some(bare.to_string()).filter(|s| !s.is_empty()),
            str2: detail.map(str::to_string),
            str3: None,
            int1: -1,
            int2: -1,
            dom: None,
            net: None,
        }
    }

    pub fn to_raw(&self) -> RawError {
        RawError {
            code: self.code,
            domain: self.domain,
            message: Some(self.message.clone()),
            level: self.level as i32,
            dom: self.dom.clone(),
            str1: self.str1.clone(),
            str2: self.str2.clone(),
            str3: self.str3.clone(),
            int1: self.int1,
            int2: self.int2,
            net: self.net.clone(),
        }
    }

    pub fn from_raw(raw: RawError) -> Self {
        RemoteError {
            code: raw.code,
            domain: raw.domain,
            message: raw.message.unwrap_or_default(),
            level: match raw.level {
                0 => ErrorLevel::None,
                1 => ErrorLevel::Warning,
                _ => ErrorLevel::Error,
            },
            str1: raw.str1,
            str2: raw.str2,
            str3: raw.str3,
            int1: raw.int1,
            int2: raw.int2,
            dom: raw.dom,
            net: raw.net,
        }
    }
}

impl std::fmt::Display for RemoteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for RemoteError {}

impl From<virterror::VirError> for RemoteError {
    fn from(e: virterror::VirError) -> Self {
        RemoteError::from(&e)
    }
}

impl From<&virterror::VirError> for RemoteError {
    fn from(e: &virterror::VirError) -> Self {
        let mut r = RemoteError::new(e.code, e.domain, e.detail.as_deref());
        if e.verbatim {
            r.message = e.message();
        }
        r
    }
}
