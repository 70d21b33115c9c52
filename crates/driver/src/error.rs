// SPDX-License-Identifier: LGPL-2.1-or-later
//! Driver errors: a libvirt error code, domain and detail message.

use protocol::RemoteError;
pub use protocol::{ErrorCode, ErrorDomain};

/// An error as a driver reports it. The message clients see is composed
/// from the code's standard text and `detail`, as libvirt does.
#[derive(Debug, Clone, PartialEq)]
pub struct Error {
    pub code: ErrorCode,
    pub domain: ErrorDomain,
    pub detail: Option<String>,
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub fn new(code: ErrorCode, domain: ErrorDomain, detail: impl Into<String>) -> Self {
        Error {
            code,
            domain,
            detail: Some(detail.into()),
        }
    }

    pub fn bare(code: ErrorCode, domain: ErrorDomain) -> Self {
        Error {
            code,
            domain,
            detail: None,
        }
    }

    /// "this function is not supported by the connection driver: API".
    pub fn no_support(api: &str) -> Self {
        Error::new(ErrorCode::NoSupport, ErrorDomain::None, api)
    }

    /// "Domain not found: no domain with matching name 'x'".
    pub fn no_domain(domain: ErrorDomain, detail: impl Into<String>) -> Self {
        Error::new(ErrorCode::NoDomain, domain, detail)
    }

    pub fn invalid_arg(domain: ErrorDomain, detail: impl Into<String>) -> Self {
        Error::new(ErrorCode::InvalidArg, domain, detail)
    }

    pub fn operation_invalid(domain: ErrorDomain, detail: impl Into<String>) -> Self {
        Error::new(ErrorCode::OperationInvalid, domain, detail)
    }

    pub fn internal(domain: ErrorDomain, detail: impl Into<String>) -> Self {
        Error::new(ErrorCode::InternalError, domain, detail)
    }

    /// libvirt's check for unknown flag bits:
    /// "unsupported flags (0x%x) in function NAME".
    pub fn check_flags(flags: u32, allowed: u32, func: &str) -> Result<()> {
        let extra = flags & !allowed;
        if extra != 0 {
            return Err(Error::invalid_arg(
                ErrorDomain::None,
                format!("unsupported flags (0x{extra:x}) in function {func}"),
            ));
        }
        Ok(())
    }

    /// The same error in the shared vocabulary.
    pub fn into_vir(self) -> virterror::VirError {
        virterror::VirError {
            code: self.code,
            domain: self.domain,
            detail: self.detail,
        }
    }

    /// The message a client shows.
    pub fn message(&self) -> String {
        self.to_remote().message
    }

    pub fn to_remote(&self) -> RemoteError {
        RemoteError::new(self.code, self.domain, self.detail.as_deref())
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message())
    }
}

impl std::error::Error for Error {}

impl From<virterror::VirError> for Error {
    fn from(v: virterror::VirError) -> Self {
        Error {
            code: v.code,
            domain: v.domain,
            detail: v.detail,
        }
    }
}

impl From<Error> for RemoteError {
    fn from(e: Error) -> Self {
        e.to_remote()
    }
}
