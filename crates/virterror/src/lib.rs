// SPDX-License-Identifier: LGPL-2.1-or-later
//! libvirt's error vocabulary, at the bottom of the stack: error codes
//! (virErrorNumber) with the words libvirt prints for each, error domains
//! (virErrorDomain), and [`VirError`], which carries a code, a domain and
//! only the detail — the code's template adds the words, so a message is
//! never said twice ("missing name information", not "missing name
//! information in missing name information").
//!
//! Every crate that reports libvirt errors (the XML model, the config
//! parsers, the drivers, the wire protocol) uses these types; the wire
//! error (`protocol::RemoteError`) is built from a [`VirError`].
#![forbid(unsafe_code)]

mod codes;

pub use codes::{ErrorCode, ErrorDomain};

/// A libvirt error: code, domain and the detail the code's template
/// surrounds (none for the code's bare text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VirError {
    pub code: ErrorCode,
    pub domain: ErrorDomain,
    pub detail: Option<String>,
    /// The detail is the whole message, without the code's words, as
    /// libvirt raises some errors directly (`virReportInvalidArg`, which
    /// `virCheckFlags` uses).
    pub verbatim: bool,
}

pub type Result<T> = std::result::Result<T, VirError>;

impl VirError {
    pub fn new(code: ErrorCode, domain: ErrorDomain, detail: impl Into<String>) -> Self {
        VirError {
            code,
            domain,
            detail: Some(detail.into()),
            verbatim: false,
        }
    }

    /// The code's own text, without a detail.
    pub fn bare(code: ErrorCode, domain: ErrorDomain) -> Self {
        VirError {
            code,
            domain,
            detail: None,
            verbatim: false,
        }
    }

    /// "this function is not supported by the connection driver: API",
    /// from the error domain of the file that defines the public API.
    pub fn no_support(api: &str) -> Self {
        VirError::new(ErrorCode::NoSupport, ErrorDomain::of_api(api), api)
    }

    /// An error whose message is `message` as is, without the code's
    /// words.
    pub fn verbatim(code: ErrorCode, domain: ErrorDomain, message: impl Into<String>) -> Self {
        VirError {
            verbatim: true,
            ..VirError::new(code, domain, message)
        }
    }

    /// "Domain not found: no domain with matching name 'x'".
    pub fn no_domain(domain: ErrorDomain, detail: impl Into<String>) -> Self {
        VirError::new(ErrorCode::NoDomain, domain, detail)
    }

    pub fn invalid_arg(domain: ErrorDomain, detail: impl Into<String>) -> Self {
        VirError::new(ErrorCode::InvalidArg, domain, detail)
    }

    pub fn operation_invalid(domain: ErrorDomain, detail: impl Into<String>) -> Self {
        VirError::new(ErrorCode::OperationInvalid, domain, detail)
    }

    pub fn internal(domain: ErrorDomain, detail: impl Into<String>) -> Self {
        VirError::new(ErrorCode::InternalError, domain, detail)
    }

    /// libvirt's check for unknown flag bits (`virCheckFlags` in `func`,
    /// the C function's name): VIR_ERR_INVALID_ARG with the whole message
    /// "unsupported flags (0x%x) in function FUNC", from the error domain
    /// of the file that defines `func` ([`ErrorDomain::of_function`]).
    pub fn check_flags(flags: u32, allowed: u32, func: &str) -> Result<()> {
        let extra = flags & !allowed;
        if extra != 0 {
            return Err(VirError::verbatim(
                ErrorCode::InvalidArg,
                ErrorDomain::of_function(func),
                format!("unsupported flags (0x{extra:x}) in function {func}"),
            ));
        }
        Ok(())
    }

    /// The same error reported from another domain.
    pub fn in_domain(mut self, domain: ErrorDomain) -> Self {
        self.domain = domain;
        self
    }

    /// The message a client shows: the code's template around the detail
    /// (the detail alone when [`Self::verbatim`]).
    pub fn message(&self) -> String {
        match &self.detail {
            Some(d) if self.verbatim => d.clone(),
            d => compose(self.code, d.as_deref()),
        }
    }
}

/// The message libvirt composes for `code` and `detail`.
pub fn compose(code: ErrorCode, detail: Option<&str>) -> String {
    let (bare, with) = code.texts();
    match detail {
        Some(d) if !with.is_empty() => with.replacen("{}", d, 1),
        Some(d) => d.to_string(),
        None => bare.to_string(),
    }
}

impl std::fmt::Display for VirError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message())
    }
}

impl std::error::Error for VirError {}

/// The text of an operating-system error as libvirt prints it (strerror):
/// without the " (os error N)" std adds.
pub fn os_error_text(e: &std::io::Error) -> String {
    match e.raw_os_error() {
        Some(n) => {
            let text = std::io::Error::from_raw_os_error(n).to_string();
            match text.find(" (os error") {
                Some(i) => text[..i].to_string(),
                None => text,
            }
        }
        None => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_template_adds_the_words_once() {
        let e = VirError::bare(ErrorCode::NoName, ErrorDomain::Domain);
        assert_eq!(e.message(), "missing name information");
        let e = VirError::new(ErrorCode::XmlError, ErrorDomain::Domain, "bad");
        assert_eq!(e.message(), "XML error: bad");
    }

    #[test]
    fn codes_round_trip_their_numbers() {
        for n in 0..=110 {
            if let Some(c) = ErrorCode::from_i32(n) {
                assert_eq!(c as i32, n);
            }
        }
    }

    #[test]
    fn os_errors_read_as_strerror() {
        let e = std::io::Error::from_raw_os_error(2);
        assert_eq!(os_error_text(&e), "No such file or directory");
    }

    #[test]
    fn unknown_flags_are_named_without_the_codes_words() {
        let e = VirError::check_flags(0x6, 0x2, "testDomainCreate").unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidArg);
        assert_eq!(e.domain, ErrorDomain::Test);
        assert_eq!(
            e.message(),
            "unsupported flags (0x4) in function testDomainCreate"
        );
        assert_eq!(VirError::check_flags(0x6, 0x6, "x"), Ok(()));
    }

    #[test]
    fn functions_report_from_their_files_domain() {
        for (func, domain) in [
            ("testConnectListAllDomains", ErrorDomain::Test),
            ("lxcDomainShutdownFlags", ErrorDomain::Lxc),
            ("libxlDomainGetXMLDesc", ErrorDomain::Libxl),
            ("virConnectListAllDomains", ErrorDomain::Domain),
            ("virNetworkGetXMLDesc", ErrorDomain::Network),
            ("somethingElse", ErrorDomain::None),
        ] {
            assert_eq!(ErrorDomain::of_function(func), domain, "{func}");
        }
    }

    #[test]
    fn public_apis_report_from_their_files_domain() {
        for (api, domain) in [
            ("virDomainAttachDevice", ErrorDomain::Domain),
            ("virConnectDomainXMLFromNative", ErrorDomain::Domain),
            ("virNodeGetMemoryStats", ErrorDomain::Domain),
            ("virConnectGetCapabilities", ErrorDomain::Domain),
            ("virNetworkGetDHCPLeases", ErrorDomain::Network),
            ("virConnectListAllNetworks", ErrorDomain::Network),
            ("virNetworkPortLookupByUUID", ErrorDomain::Network),
            ("virStoragePoolBuild", ErrorDomain::Storage),
            ("virStorageVolResize", ErrorDomain::Storage),
            ("virConnectFindStoragePoolSources", ErrorDomain::Storage),
            ("virSecretLookupByUUID", ErrorDomain::Secret),
            ("virConnectListAllSecrets", ErrorDomain::Secret),
            ("virNWFilterLookupByName", ErrorDomain::Nwfilter),
            ("virNWFilterBindingCreateXML", ErrorDomain::Nwfilter),
            ("virConnectListAllNWFilterBindings", ErrorDomain::Nwfilter),
            ("virInterfaceLookupByName", ErrorDomain::Interface),
            ("virConnectNumOfDefinedInterfaces", ErrorDomain::Interface),
            ("virNodeDeviceLookupByName", ErrorDomain::Nodedev),
            ("virNodeNumOfDevices", ErrorDomain::Nodedev),
            ("virConnectListAllNodeDevices", ErrorDomain::Nodedev),
            ("virDomainSnapshotLookupByName", ErrorDomain::DomainSnapshot),
            (
                "virDomainCheckpointLookupByName",
                ErrorDomain::DomainCheckpoint,
            ),
            ("virStreamSend", ErrorDomain::Streams),
            ("virDomainQemuMonitorCommand", ErrorDomain::None),
            ("virDomainLxcOpenNamespace", ErrorDomain::None),
            ("virConnectOpen", ErrorDomain::None),
            ("REMOTE_PROC_X", ErrorDomain::None),
        ] {
            assert_eq!(ErrorDomain::of_api(api), domain, "{api}");
        }
    }
}
