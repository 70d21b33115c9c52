// SPDX-License-Identifier: LGPL-2.1-or-later
//! Virtual networks of the test driver: listing, lookup, define and
//! create, start and stop, XML, autostart and updates (the update
//! commands themselves are in `netupdate`).

use conf::network::NetworkFormatFlags;
use conf::NetworkDef;
use driver::consts::{list_net, object_event as oe};
use driver::error::{ErrorCode, ErrorDomain};
use driver::{Error, Event, NetworkRef, Result};

use crate::conn::pair_ok;
use crate::errors;
use crate::state::{Net, Shared, State};

fn net_event(n: &NetworkRef, event: i32) -> Event {
    Event::NetworkLifecycle {
        net: n.clone(),
        event,
        detail: 0,
    }
}

/// virNetworkObjAssignDef: adds a network or replaces its definition.
fn assign_network(s: &mut State, def: NetworkDef, live: bool) -> Result<NetworkRef> {
    let existing = s
        .networks
        .values()
        .find(|n| n.def.uuid == def.uuid)
        .map(|n| n.def.name.clone());
    if let Some(old_name) = existing {
        if old_name != def.name {
            return Err(Error::new(
                ErrorCode::OperationFailed,
                ErrorDomain::Network,
                format!(
                    "network '{old_name}' is already defined with uuid {}",
                    def.uuid
                ),
            ));
        }
        let n = s
            .networks
            .get_mut(&old_name)
            .ok_or_else(|| errors::no_network_name(&old_name))?;
        if live {
            if n.active {
                return Err(Error::operation_invalid(
                    ErrorDomain::Network,
                    format!("network is already active as '{old_name}'"),
                ));
            }
            let old = std::mem::replace(&mut n.def, def);
            if n.persistent && n.new_def.is_none() {
                n.new_def = Some(old);
            }
        } else {
            if n.active {
                n.new_def = Some(def);
            } else {
                n.new_def = None;
                n.def = def;
            }
            n.persistent = true;
        }
        return Ok(n.nref());
    }
    if let Some(n) = s.networks.get(&def.name) {
        return Err(Error::new(
            ErrorCode::OperationFailed,
            ErrorDomain::Network,
            format!(
                "network '{}' already exists with uuid {}",
                def.name, n.def.uuid
            ),
        ));
    }
    let n = Net {
        def,
        new_def: None,
        persistent: !live,
        active: false,
        autostart: false,
    };
    let r = n.nref();
    s.networks.insert(r.name.clone(), n);
    Ok(r)
}

pub(crate) fn list_all_networks(sh: &Shared, flags: u32) -> Result<Vec<NetworkRef>> {
    Error::check_flags(flags, 0x3f, "testConnectListAllNetworks")?;
    let s = sh.lock();
    Ok(s.networks
        .values()
        .filter(|n| {
            pair_ok(flags, list_net::ACTIVE, list_net::INACTIVE, n.active)
                && pair_ok(
                    flags,
                    list_net::PERSISTENT,
                    list_net::TRANSIENT,
                    n.persistent,
                )
                && pair_ok(
                    flags,
                    list_net::AUTOSTART,
                    list_net::NO_AUTOSTART,
                    n.autostart,
                )
        })
        .map(Net::nref)
        .collect())
}

pub(crate) fn network_lookup_by_name(sh: &Shared, name: &str) -> Result<NetworkRef> {
    let s = sh.lock();
    s.networks
        .get(name)
        .map(Net::nref)
        .ok_or_else(|| errors::no_network_name(name))
}

pub(crate) fn network_lookup_by_uuid(sh: &Shared, uuid: &[u8; 16]) -> Result<NetworkRef> {
    let s = sh.lock();
    s.net_by_uuid(uuid)
        .map(Net::nref)
        .ok_or_else(|| errors::no_network_uuid(uuid))
}

pub(crate) fn network_define_xml(sh: &Shared, xml: &str, flags: u32) -> Result<NetworkRef> {
    Error::check_flags(flags, 1, "testNetworkDefineXMLFlags")?;
    let def = NetworkDef::parse_str(xml).map_err(|e| errors::conf(e, ErrorDomain::Network))?;
    let r = {
        let mut s = sh.lock();
        assign_network(&mut s, def, false)?
    };
    sh.publish_one(net_event(&r, oe::DEFINED));
    Ok(r)
}

pub(crate) fn network_create_xml(sh: &Shared, xml: &str, flags: u32) -> Result<NetworkRef> {
    Error::check_flags(flags, 1, "testNetworkCreateXMLFlags")?;
    let def = NetworkDef::parse_str(xml).map_err(|e| errors::conf(e, ErrorDomain::Network))?;
    let r = {
        let mut s = sh.lock();
        let r = assign_network(&mut s, def, true)?;
        if let Some(n) = s.networks.get_mut(&r.name) {
            n.active = true;
        }
        r
    };
    sh.publish_one(net_event(&r, oe::STARTED));
    Ok(r)
}

pub(crate) fn network_undefine(sh: &Shared, net: &NetworkRef) -> Result<()> {
    {
        let mut s = sh.lock();
        let n = s
            .networks
            .get(&net.name)
            .ok_or_else(|| errors::no_network_name(&net.name))?;
        if n.active {
            return Err(errors::op_invalid(format!(
                "Network '{}' is still running",
                net.name
            )));
        }
        s.networks.remove(&net.name);
    }
    sh.publish_one(net_event(net, oe::UNDEFINED));
    Ok(())
}

pub(crate) fn network_create(sh: &Shared, net: &NetworkRef) -> Result<()> {
    let r = {
        let mut s = sh.lock();
        let n = s
            .networks
            .get_mut(&net.name)
            .ok_or_else(|| errors::no_network_name(&net.name))?;
        if n.active {
            return Err(errors::op_invalid(format!(
                "Network '{}' is already running",
                net.name
            )));
        }
        n.active = true;
        n.nref()
    };
    sh.publish_one(net_event(&r, oe::STARTED));
    Ok(())
}

pub(crate) fn network_destroy(sh: &Shared, net: &NetworkRef) -> Result<()> {
    let r = {
        let mut s = sh.lock();
        let n = s
            .networks
            .get_mut(&net.name)
            .ok_or_else(|| errors::no_network_name(&net.name))?;
        n.active = false;
        if let Some(nd) = n.new_def.take() {
            n.def = nd;
        }
        let r = n.nref();
        if !n.persistent {
            s.networks.remove(&net.name);
        }
        r
    };
    sh.publish_one(net_event(&r, oe::STOPPED));
    Ok(())
}

pub(crate) fn network_get_xml_desc(sh: &Shared, net: &NetworkRef, flags: u32) -> Result<String> {
    Error::check_flags(flags, 0, "testNetworkGetXMLDesc")?;
    let s = sh.lock();
    let n = s
        .networks
        .get(&net.name)
        .ok_or_else(|| errors::no_network_name(&net.name))?;
    Ok(n.def.to_xml(&NetworkFormatFlags::default()))
}

pub(crate) fn network_get_bridge_name(sh: &Shared, net: &NetworkRef) -> Result<String> {
    let s = sh.lock();
    let n = s
        .networks
        .get(&net.name)
        .ok_or_else(|| errors::no_network_name(&net.name))?;
    n.def.bridge_name().map(str::to_string).ok_or_else(|| {
        errors::internal(format!(
            "network '{}' does not have a bridge name.",
            n.def.name
        ))
    })
}

pub(crate) fn network_get_autostart(sh: &Shared, net: &NetworkRef) -> Result<bool> {
    let s = sh.lock();
    s.networks
        .get(&net.name)
        .map(|n| n.autostart)
        .ok_or_else(|| errors::no_network_name(&net.name))
}

pub(crate) fn network_set_autostart(sh: &Shared, net: &NetworkRef, on: bool) -> Result<()> {
    let mut s = sh.lock();
    let n = s
        .networks
        .get_mut(&net.name)
        .ok_or_else(|| errors::no_network_name(&net.name))?;
    n.autostart = on;
    Ok(())
}

pub(crate) fn network_is_active(sh: &Shared, net: &NetworkRef) -> Result<bool> {
    let s = sh.lock();
    s.net_by_uuid(&net.uuid)
        .map(|n| n.active)
        .ok_or_else(|| errors::no_network_uuid(&net.uuid))
}

pub(crate) fn network_is_persistent(sh: &Shared, net: &NetworkRef) -> Result<bool> {
    let s = sh.lock();
    s.net_by_uuid(&net.uuid)
        .map(|n| n.persistent)
        .ok_or_else(|| errors::no_network_uuid(&net.uuid))
}

pub(crate) fn network_update(
    sh: &Shared,
    net: &NetworkRef,
    command: u32,
    section: u32,
    index: i32,
    xml: &str,
    flags: u32,
) -> Result<()> {
    Error::check_flags(flags, 0x3, "testNetworkUpdate")?;
    let mut s = sh.lock();
    let name = s
        .net_by_uuid(&net.uuid)
        .map(|n| n.def.name.clone())
        .ok_or_else(|| errors::no_network_uuid(&net.uuid))?;
    let n = s
        .networks
        .get_mut(&name)
        .ok_or_else(|| errors::no_network_uuid(&net.uuid))?;
    crate::netupdate::update(n, command, section, index, xml, flags)
}
