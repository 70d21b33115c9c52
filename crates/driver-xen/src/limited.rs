// SPDX-License-Identifier: LGPL-2.1-or-later
//! The connection handed out when the host cannot run Xen guests: it
//! answers what needs no hypervisor (type, URI, capabilities of a default
//! x86_64 Xen host, native config conversions) and reports every guest
//! operation with libvirt's "libxenlight state driver is not active".

use crate::host::Inactive;
use driver::{
    error::{ErrorCode, ErrorDomain},
    Connection, DomainRef, Error, NodeInfo, Result,
};
use xenconfig::XenCaps;

/// A connection to a host whose libxl driver is inactive.
pub struct LimitedConnection {
    uri: String,
    why: Inactive,
    caps: XenCaps,
}

impl LimitedConnection {
    /// A limited connection for `uri`, inactive for `why`.
    pub fn new(uri: String, why: Inactive) -> Self {
        LimitedConnection {
            uri,
            why,
            caps: XenCaps::default_x86_64(),
        }
    }

    /// Why the driver is inactive.
    pub fn reason(&self) -> &Inactive {
        &self.why
    }

    fn inactive<T>(&self) -> Result<T> {
        Err(inactive_error())
    }
}

/// libvirt's error when the libxl state driver did not start.
pub fn inactive_error() -> Error {
    Error::new(
        ErrorCode::InternalError,
        ErrorDomain::Libxl,
        "libxenlight state driver is not active",
    )
}

/// domxml-from-native for the Xen formats (virConnectDomainXMLFromNative).
pub fn xml_from_native(caps: &XenCaps, format: &str, config: &str, flags: u32) -> Result<String> {
    Error::check_flags(flags, 0, "libxlConnectDomainXMLFromNative")?;
    let f = native_format(format, true)?;
    xenconfig::native_to_domain_xml(config, f, caps).map_err(to_driver_error)
}

/// domxml-to-native for the Xen formats (virConnectDomainXMLToNative).
pub fn xml_to_native(format: &str, xml: &str, flags: u32) -> Result<String> {
    Error::check_flags(flags, 0, "libxlConnectDomainXMLToNative")?;
    let f = native_format(format, false)?;
    xenconfig::domain_xml_to_native(xml, f).map_err(to_driver_error)
}

fn native_format(format: &str, from: bool) -> Result<xenconfig::NativeFormat> {
    if let Some(f) = xenconfig::NativeFormat::from_name(format) {
        return Ok(f);
    }
    if from && format == "xen-sxpr" {
        return Err(Error::new(
            ErrorCode::OperationUnsupported,
            ErrorDomain::Libxl,
            "conversion from 'xen-sxpr' format is no longer supported",
        ));
    }
    Err(Error::new(
        ErrorCode::InvalidArg,
        ErrorDomain::Libxl,
        format!("unsupported config type {format}"),
    ))
}

/// A conversion error as the driver reports it.
pub fn to_driver_error(e: xenconfig::XenConfigError) -> Error {
    e.to_vir()
}

impl Connection for LimitedConnection {
    fn get_type(&self) -> &'static str {
        "Xen"
    }
    fn uri(&self) -> String {
        self.uri.clone()
    }
    fn hostname(&self) -> Result<String> {
        crate::host::hostname()
    }
    fn domain_capabilities(
        &self,
        emulator: Option<&str>,
        arch: Option<&str>,
        machine: Option<&str>,
        virttype: Option<&str>,
        flags: u32,
    ) -> Result<String> {
        crate::caps::domain_capabilities_xml(emulator, arch, machine, virttype, flags)
    }
    fn capabilities(&self) -> Result<String> {
        Ok(crate::caps::capabilities_xml(&self.caps, "x86_64", &[]))
    }
    fn domain_xml_from_native(&self, format: &str, config: &str, flags: u32) -> Result<String> {
        xml_from_native(&self.caps, format, config, flags)
    }
    fn domain_xml_to_native(&self, format: &str, xml: &str, flags: u32) -> Result<String> {
        xml_to_native(format, xml, flags)
    }
    fn version(&self) -> Result<u64> {
        self.inactive()
    }
    fn node_info(&self) -> Result<NodeInfo> {
        self.inactive()
    }
    fn node_free_memory(&self) -> Result<u64> {
        self.inactive()
    }
    fn max_vcpus(&self, _t: Option<&str>) -> Result<i32> {
        self.inactive()
    }
    fn list_all_domains(&self, _flags: u32) -> Result<Vec<DomainRef>> {
        self.inactive()
    }
    fn list_domain_ids(&self, _max: usize) -> Result<Vec<i32>> {
        self.inactive()
    }
    fn num_of_domains(&self) -> Result<usize> {
        self.inactive()
    }
    fn list_defined_domains(&self, _max: usize) -> Result<Vec<String>> {
        self.inactive()
    }
    fn num_of_defined_domains(&self) -> Result<usize> {
        self.inactive()
    }
    fn domain_lookup_by_id(&self, _id: i32) -> Result<DomainRef> {
        self.inactive()
    }
    fn domain_lookup_by_name(&self, _name: &str) -> Result<DomainRef> {
        self.inactive()
    }
    fn domain_lookup_by_uuid(&self, _uuid: &[u8; 16]) -> Result<DomainRef> {
        self.inactive()
    }
    fn domain_define_xml(&self, _xml: &str, _flags: u32) -> Result<DomainRef> {
        self.inactive()
    }
    fn domain_create_xml(&self, _xml: &str, _flags: u32) -> Result<DomainRef> {
        self.inactive()
    }
    fn domain_restore(&self, _from: &str, _dxml: Option<&str>, _flags: u32) -> Result<()> {
        self.inactive()
    }
}
