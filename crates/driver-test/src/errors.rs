// SPDX-License-Identifier: LGPL-2.1-or-later
//! The errors this driver reports, worded as libvirt's test driver and
//! its object lists word them (clients and scripts match on them).

use conf::ConfError;
use driver::error::{ErrorCode, ErrorDomain};
use driver::Error;

const T: ErrorDomain = ErrorDomain::Test;

/// A conf error reported from the given error domain.
pub fn conf(e: ConfError, domain: ErrorDomain) -> Error {
    e.in_domain(domain)
}

pub fn test(code: ErrorCode, msg: impl Into<String>) -> Error {
    Error::new(code, T, msg)
}

pub fn internal(msg: impl Into<String>) -> Error {
    Error::new(ErrorCode::InternalError, T, msg)
}

pub fn xml(msg: impl Into<String>) -> Error {
    Error::new(ErrorCode::XmlError, T, msg)
}

/// A domain handle whose domain is gone.
pub fn no_domain_uuid(uuid: &[u8; 16], name: &str) -> Error {
    driver::objlist::no_domain_uuid(T, uuid, name)
}

/// Lookup failures carry no detail in the test driver.
pub fn no_domain_bare() -> Error {
    Error::bare(ErrorCode::NoDomain, T)
}

/// virDomainObjCheckActive.
pub fn not_running() -> Error {
    Error::operation_invalid(ErrorDomain::Domain, "domain is not running")
}

pub fn dom_op_invalid(msg: impl Into<String>) -> Error {
    Error::operation_invalid(ErrorDomain::Domain, msg)
}

pub fn op_invalid(msg: impl Into<String>) -> Error {
    Error::operation_invalid(T, msg)
}

pub fn no_network_name(name: &str) -> Error {
    test(
        ErrorCode::NoNetwork,
        format!("no network with matching name '{name}'"),
    )
}

pub fn no_network_uuid(uuid: &[u8; 16]) -> Error {
    test(
        ErrorCode::NoNetwork,
        format!("no network with matching uuid '{}'", conf::Uuid(*uuid)),
    )
}

pub fn no_pool_name(name: &str) -> Error {
    test(
        ErrorCode::NoStoragePool,
        format!("no storage pool with matching name '{name}'"),
    )
}

pub fn no_pool_uuid(uuid: &[u8; 16]) -> Error {
    test(
        ErrorCode::NoStoragePool,
        format!("no storage pool with matching uuid '{}'", conf::Uuid(*uuid)),
    )
}

pub fn no_vol_name(name: &str) -> Error {
    test(
        ErrorCode::NoStorageVol,
        format!("no storage vol with matching name '{name}'"),
    )
}

pub fn no_iface_name(name: &str) -> Error {
    test(
        ErrorCode::NoInterface,
        format!("no interface with matching name '{name}'"),
    )
}

pub fn no_nodedev(name: &str) -> Error {
    test(
        ErrorCode::NoNodeDevice,
        format!("no node device with matching name '{name}'"),
    )
}

/// The messages virDomainObjGetMessages builds from taint bits.
pub fn taint_message(bit: u32) -> Option<&'static str> {
    Some(match bit {
        0 => "custom configuration parameters specified",
        1 => "custom monitor control commands issued",
        2 => "running with undesirable elevated privileges",
        3 => "network configuration using opaque shell scripts",
        4 => "potentially unsafe disk format probing",
        5 => "managing externally launched configuration",
        6 => "potentially unsafe use of host CPU passthrough",
        7 => "configuration potentially modified by hook script",
        8 => "use of host cdrom passthrough",
        9 => "custom device tree blob used",
        10 => "custom guest agent control commands issued",
        11 => "hypervisor feature autodetection override",
        12 => "use of deprecated configuration settings",
        13 => "custom device configuration",
        _ => return None,
    })
}
