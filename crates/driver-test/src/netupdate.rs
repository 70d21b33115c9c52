// SPDX-License-Identifier: LGPL-2.1-or-later
//! virNetworkUpdate on the in-memory networks. Only the `ip-dhcp-host`
//! section is modelled; other sections report that they are unsupported.

use conf::xml::Element;
use conf::NetworkDef;
use driver::error::{ErrorCode, ErrorDomain};
use driver::{Error, Result};

use crate::state::Net;

/// virNetworkUpdateSection.
const SECTION_IP_DHCP_HOST: u32 = 4;

/// virNetworkUpdateFlags.
const AFFECT_LIVE: u32 = 1 << 0;
const AFFECT_CONFIG: u32 = 1 << 1;

fn invalid(msg: impl Into<String>) -> Error {
    Error::operation_invalid(ErrorDomain::Network, msg)
}

fn update_def(
    def: &NetworkDef,
    command: u32,
    section: u32,
    parent: i32,
    xml: &Element,
) -> Result<NetworkDef> {
    let mut d = def.clone();
    match section {
        SECTION_IP_DHCP_HOST => conf::network::update::ip_dhcp_host(&mut d, command, parent, xml)
            .map_err(|e| crate::errors::conf(e, ErrorDomain::Network))?,
        // Sections libvirt knows (bridge ... dns-srv) that this driver
        // does not update yet.
        1..=12 => {
            return Err(Error::new(
                ErrorCode::OperationUnsupported,
                ErrorDomain::Network,
                format!(
                    "can't update section {section} of network '{}': not supported by this driver",
                    def.name
                ),
            ))
        }
        _ => {
            return Err(Error::new(
                ErrorCode::OperationUnsupported,
                ErrorDomain::Network,
                "can't update unrecognized section of network",
            ))
        }
    }
    Ok(d)
}

/// virNetworkObjUpdate: applies one change to the live and/or persistent
/// definition; nothing changes unless every selected one accepts it.
pub fn update(
    net: &mut Net,
    command: u32,
    section: u32,
    parent: i32,
    xml: &str,
    mut flags: u32,
) -> Result<()> {
    if flags & (AFFECT_LIVE | AFFECT_CONFIG) == 0 {
        flags |= if net.active {
            AFFECT_LIVE
        } else {
            AFFECT_CONFIG
        };
    }
    if !net.active && flags & AFFECT_LIVE != 0 {
        return Err(invalid("network is not running"));
    }
    if flags & AFFECT_CONFIG != 0 && !net.persistent {
        return Err(invalid(
            "cannot change persistent config of a transient network",
        ));
    }
    // The fragment may have any root element; parse it inside a wrapper.
    let wrapped = format!("<x>{xml}</x>");
    let el = conf::xml::parse_document(&wrapped, "(network_update_xml)", "x")
        .map_err(|e| crate::errors::conf(e, ErrorDomain::Network))?
        .elements()
        .next()
        .cloned()
        .ok_or_else(|| {
            Error::new(
                ErrorCode::XmlError,
                ErrorDomain::Network,
                "missing element in network update",
            )
        })?;
    let live = if flags & AFFECT_LIVE != 0 {
        Some(update_def(&net.def, command, section, parent, &el)?)
    } else {
        None
    };
    let config = if flags & AFFECT_CONFIG != 0 {
        let pers = if net.active {
            net.new_def.as_ref().unwrap_or(&net.def)
        } else {
            &net.def
        };
        Some(update_def(pers, command, section, parent, &el)?)
    } else {
        None
    };
    if let Some(c) = config {
        if net.active {
            net.new_def = Some(c);
        } else {
            net.def = c;
        }
    }
    if let Some(l) = live {
        if net.persistent && net.new_def.is_none() {
            net.new_def = Some(net.def.clone());
        }
        net.def = l;
    }
    Ok(())
}
