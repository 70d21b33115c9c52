// SPDX-License-Identifier: LGPL-2.1-or-later
//! What the libxl driver's state and connection share: the flags it
//! honours, its error values, reading and writing definitions (with the
//! `xen` to `linux` OS type libvirt reports), the guest kinds a Xen host
//! offers, the state of a running guest as libxl reports it, and opening
//! a save image.

use crate::saveimage;
use conf::{DomainDef, FormatFlags, ParseFlags};
use driver::consts::{reason, state};
use driver::error::{ErrorCode, ErrorDomain};
use driver::{DomainRef, Error, Result};
use libxl_sys::{DomInfo, VersionInfo};
use std::fs::File;
use std::path::Path;
use xenconfig::XenCaps;

/// virDomainSaveRestoreFlags.
pub(super) mod save_flags {
    pub const BYPASS_CACHE: u32 = 1 << 0;
    pub const RUNNING: u32 = 1 << 1;
    pub const PAUSED: u32 = 1 << 2;
}

/// virDomainCreateFlags the driver honours.
pub(super) mod start_flags {
    pub const PAUSED: u32 = 1 << 0;
    pub const FORCE_BOOT: u32 = 1 << 3;
}

/// virDomainConsoleFlags.
pub(super) const CONSOLE_FORCE: u32 = 1 << 0;
pub(super) const CONSOLE_SAFE: u32 = 1 << 1;

pub(super) fn err(e: libxl_sys::LibxlError) -> Error {
    Error::new(ErrorCode::InternalError, ErrorDomain::Libxl, e.to_string())
}

pub(super) fn no_domain(d: &DomainRef) -> Error {
    Error::no_domain(
        ErrorDomain::Libxl,
        format!("no domain with matching uuid '{}'", conf::Uuid(d.uuid)),
    )
}

pub(super) fn not_running() -> Error {
    Error::operation_invalid(ErrorDomain::Libxl, "domain is not running")
}

pub(super) fn system(what: String, e: &std::io::Error) -> Error {
    Error::new(
        ErrorCode::SystemError,
        ErrorDomain::Libxl,
        format!("{what}: {e}"),
    )
}

/// Mode of the definition and status files: owner only, as libvirt saves
/// every XML file (a definition may carry passwords and secrets' usage).
pub(super) const XML_FILE_MODE: u32 = 0o600;

/// Saves a definition or status file crash-safely
/// ([`::host::fs::write_atomic`]: synced, renamed, directory synced).
pub(super) fn write_xml_file(path: &Path, text: &str) -> Result<()> {
    ::host::fs::write_atomic(path, text.as_bytes(), XML_FILE_MODE)
        .map_err(|e| system(format!("cannot write '{}'", path.display()), &e.into_io()))
}

pub(super) fn fmt_def(def: &DomainDef, inactive: bool) -> String {
    let xml = def.to_xml(&FormatFlags {
        inactive,
        secure: false,
        ..Default::default()
    });
    if def.os.os_type == "xen" {
        xml.replacen(">xen</type>", ">linux</type>", 1)
    } else {
        xml
    }
}

pub(super) fn parse_def(xml: &str) -> Result<DomainDef> {
    let validate: conf::domain::Validate = std::sync::Arc::new(|def: &DomainDef| {
        if def.virt_type != "xen" {
            return Err(virterror::VirError::new(
                ErrorCode::ConfigUnsupported,
                ErrorDomain::Libxl,
                format!(
                    "unsupported virt type '{}' for the libxl driver",
                    def.virt_type
                ),
            ));
        }
        Ok(())
    });
    let options = conf::domain::XmlOptions {
        validate: Some(validate),
        ..xenconfig::xml_options()
    };
    let def = options.parse_str(
        xml,
        &ParseFlags {
            inactive: true,
            validate_schema: false,
        },
    )?;
    Ok(def)
}

/// Guest kinds the hypervisor offers, from Xen's capabilities string.
pub(super) fn caps_from_version(v: &VersionInfo) -> XenCaps {
    let mut caps = XenCaps::default_x86_64();
    let hvm = v.capabilities.contains("hvm-");
    let pv = v.capabilities.contains("xen-");
    caps.guests.retain(|g| match g.os_type.as_str() {
        "hvm" => hvm,
        _ => pv || hvm,
    });
    caps
}

pub(super) fn domid_of(id: i32) -> u32 {
    u32::try_from(id).unwrap_or(u32::MAX)
}

/// Opens a save image: its definition and the file positioned at libxl's
/// stream (libxlDomainSaveImageOpen).
pub(super) fn open_image(path: &Path) -> Result<(DomainDef, File)> {
    let mut f = File::open(path).map_err(|e| {
        system(
            format!("Failed to open domain image file '{}'", path.display()),
            &e,
        )
    })?;
    let (xml, _version) = saveimage::decode(&mut f)?;
    Ok((parse_def(&xml)?, f))
}

pub(super) fn dominfo_state(i: &DomInfo) -> (i32, i32) {
    if i.paused {
        (state::PAUSED, reason::PAUSED_USER)
    } else if i.shutdown || i.dying {
        (state::SHUTDOWN, reason::SHUTDOWN_USER)
    } else {
        // Like libvirt's libxl driver: an idle (blocked) guest is running.
        (state::RUNNING, reason::RUNNING_BOOTED)
    }
}
