// SPDX-License-Identifier: LGPL-2.1-or-later
//! The errors this driver reports, worded as libvirt's LXC driver words
//! them (clients and scripts match on the text).

use driver::error::{ErrorCode, ErrorDomain};
use driver::Error;

/// Errors of this driver carry libvirt's VIR_FROM_LXC domain.
pub const LXC: ErrorDomain = ErrorDomain::Lxc;

/// A `conf` error (XML parse, validation) as a driver error.
pub fn conf(e: conf::ConfError) -> Error {
    e.in_domain(ErrorDomain::Domain)
}

/// A `virconf` error (config file grammar) as a driver error.
pub fn virconf(e: virconf::ConfError) -> Error {
    e.to_vir()
}

pub fn internal(msg: impl Into<String>) -> Error {
    Error::new(ErrorCode::InternalError, LXC, msg)
}

pub fn op_invalid(msg: impl Into<String>) -> Error {
    Error::new(ErrorCode::OperationInvalid, LXC, msg)
}

pub fn op_failed(msg: impl Into<String>) -> Error {
    Error::new(ErrorCode::OperationFailed, LXC, msg)
}

pub fn config_unsupported(msg: impl Into<String>) -> Error {
    Error::new(ErrorCode::ConfigUnsupported, LXC, msg)
}

/// A system call failed: "MESSAGE: STRERROR".
pub fn system(msg: impl Into<String>, err: &std::io::Error) -> Error {
    let reason = virterror::os_error_text(err);
    Error::new(
        ErrorCode::SystemError,
        LXC,
        format!("{}: {reason}", msg.into()),
    )
}

/// virDomainObjCheckActive (domain_conf.c, so VIR_FROM_DOMAIN).
pub fn not_running() -> Error {
    Error::operation_invalid(ErrorDomain::Domain, "domain is not running")
}

/// A handle whose domain is gone.
pub fn no_domain_uuid(uuid: &[u8; 16], name: &str) -> Error {
    driver::objlist::no_domain_uuid(LXC, uuid, name)
}

pub fn no_domain_name(name: &str) -> Error {
    Error::no_domain(LXC, format!("No domain with matching name '{name}'"))
}

pub fn no_domain_id(id: i32) -> Error {
    Error::no_domain(LXC, format!("No domain with matching id {id}"))
}

pub fn no_domain_uuid_only(uuid: &[u8; 16]) -> Error {
    Error::no_domain(
        LXC,
        format!("No domain with matching uuid '{}'", conf::Uuid(*uuid)),
    )
}

/// A controller request failed.
pub fn controller(e: lxc_controller::Error) -> Error {
    match e {
        lxc_controller::Error::Timeout(what) => Error::new(
            ErrorCode::OperationTimeout,
            LXC,
            format!("timed out {what}"),
        ),
        lxc_controller::Error::Spec(m) => config_unsupported(m),
        other => op_failed(other.to_string()),
    }
}
