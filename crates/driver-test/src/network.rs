// SPDX-License-Identifier: LGPL-2.1-or-later
//! Virtual networks of the test driver: listing, lookup, define and
//! create, start and stop, XML, autostart and updates (the update
//! commands themselves are in `netupdate`).

use std::sync::Arc;

use conf::network::NetworkFormatFlags;
use conf::NetworkDef;
use driver::consts::{list_net, object_event as oe};
use driver::error::ErrorDomain;
use driver::{Error, Event, NetworkRef, Result};

use crate::conn::pair_ok;
use crate::errors;
use crate::state::{Net, NetObj, Shared};

fn net_event(n: &NetworkRef, event: i32) -> Event {
    Event::NetworkLifecycle {
        net: n.clone(),
        event,
        detail: 0,
    }
}

/// Runs `f` on the network named `name`, under its lock.
fn with_net<R>(sh: &Shared, name: &str, f: impl FnOnce(&NetObj, &mut Net) -> R) -> Result<R> {
    let gone = || errors::no_network_name(name);
    let e = sh.networks.entry_by_name(name).ok_or_else(gone)?;
    let mut n = e.obj.lock_live().ok_or_else(gone)?;
    Ok(f(&e.obj, &mut n))
}

/// Runs `f` on the network with `uuid`, under its lock.
fn with_net_uuid<R>(sh: &Shared, uuid: &[u8; 16], f: impl FnOnce(&mut Net) -> R) -> Result<R> {
    let gone = || errors::no_network_uuid(uuid);
    let obj = sh.networks.get(uuid).ok_or_else(gone)?;
    let mut n = obj.lock_live().ok_or_else(gone)?;
    Ok(f(&mut n))
}

/// virNetworkObjAssignDef: adds a network or replaces its definition; a
/// `live` one (create XML) is left running.
fn assign_network(sh: &Shared, def: NetworkDef, live: bool) -> Result<NetworkRef> {
    let (uuid, name) = (def.uuid.0, Arc::from(def.name.as_str()));
    let new = Net {
        def,
        new_def: None,
        persistent: !live,
        active: live,
        autostart: false,
    };
    sh.networks
        .add(uuid, name, new, |_, n, unused| {
            let Some(Net { def, .. }) = unused else {
                return Ok(n.nref());
            };
            if live {
                if n.active {
                    return Err(Error::operation_invalid(
                        ErrorDomain::Network,
                        format!("network is already active as '{}'", n.def.name),
                    ));
                }
                let old = std::mem::replace(&mut n.def, def);
                if n.persistent && n.new_def.is_none() {
                    n.new_def = Some(old);
                }
                n.active = true;
            } else {
                if n.active {
                    n.new_def = Some(def);
                } else {
                    n.new_def = None;
                    n.def = def;
                }
                n.persistent = true;
            }
            Ok(n.nref())
        })
        .map_err(|c| c.to_error("network", ErrorDomain::Network))?
}

pub(crate) fn list_all_networks(sh: &Shared, flags: u32) -> Result<Vec<NetworkRef>> {
    Error::check_flags(flags, 0x3f, "testConnectListAllNetworks")?;
    Ok(sh
        .networks
        .snapshot()
        .iter()
        .filter_map(|e| {
            let n = e.obj.lock_live()?;
            let pick = pair_ok(flags, list_net::ACTIVE, list_net::INACTIVE, n.active)
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
                );
            pick.then(|| n.nref())
        })
        .collect())
}

pub(crate) fn network_lookup_by_name(sh: &Shared, name: &str) -> Result<NetworkRef> {
    sh.networks
        .entry_by_name(name)
        .map(|e| e.net_ref())
        .ok_or_else(|| errors::no_network_name(name))
}

pub(crate) fn network_lookup_by_uuid(sh: &Shared, uuid: &[u8; 16]) -> Result<NetworkRef> {
    sh.networks
        .entry(uuid)
        .map(|e| e.net_ref())
        .ok_or_else(|| errors::no_network_uuid(uuid))
}

pub(crate) fn network_define_xml(sh: &Shared, xml: &str, flags: u32) -> Result<NetworkRef> {
    Error::check_flags(flags, 1, "testNetworkDefineXMLFlags")?;
    let def = NetworkDef::parse_str_without_namespaces(xml)
        .map_err(|e| errors::conf(e, ErrorDomain::Network))?;
    let r = assign_network(sh, def, false)?;
    sh.publish_one(net_event(&r, oe::DEFINED));
    Ok(r)
}

pub(crate) fn network_create_xml(sh: &Shared, xml: &str, flags: u32) -> Result<NetworkRef> {
    Error::check_flags(flags, 1, "testNetworkCreateXMLFlags")?;
    let def = NetworkDef::parse_str_without_namespaces(xml)
        .map_err(|e| errors::conf(e, ErrorDomain::Network))?;
    let r = assign_network(sh, def, true)?;
    sh.publish_one(net_event(&r, oe::STARTED));
    Ok(r)
}

pub(crate) fn network_undefine(sh: &Shared, net: &NetworkRef) -> Result<()> {
    with_net(sh, &net.name, |obj, n| {
        if n.active {
            return Err(errors::op_invalid(format!(
                "Network '{}' is still running",
                net.name
            )));
        }
        sh.networks.remove(obj);
        Ok(())
    })??;
    sh.publish_one(net_event(net, oe::UNDEFINED));
    Ok(())
}

pub(crate) fn network_create(sh: &Shared, net: &NetworkRef) -> Result<()> {
    let r = with_net(sh, &net.name, |_, n| {
        if n.active {
            return Err(errors::op_invalid(format!(
                "Network '{}' is already running",
                net.name
            )));
        }
        n.active = true;
        Ok(n.nref())
    })??;
    sh.publish_one(net_event(&r, oe::STARTED));
    Ok(())
}

pub(crate) fn network_destroy(sh: &Shared, net: &NetworkRef) -> Result<()> {
    let r = with_net(sh, &net.name, |obj, n| {
        n.active = false;
        if let Some(nd) = n.new_def.take() {
            n.def = nd;
        }
        if !n.persistent {
            sh.networks.remove(obj);
        }
        n.nref()
    })?;
    sh.publish_one(net_event(&r, oe::STOPPED));
    Ok(())
}

pub(crate) fn network_get_xml_desc(sh: &Shared, net: &NetworkRef, flags: u32) -> Result<String> {
    Error::check_flags(flags, 0, "testNetworkGetXMLDesc")?;
    with_net(sh, &net.name, |_, n| {
        n.def.to_xml(&NetworkFormatFlags::default())
    })
}

pub(crate) fn network_get_bridge_name(sh: &Shared, net: &NetworkRef) -> Result<String> {
    with_net(sh, &net.name, |_, n| {
        n.def.bridge_name().map(str::to_string).ok_or_else(|| {
            errors::internal(format!(
                "network '{}' does not have a bridge name.",
                n.def.name
            ))
        })
    })?
}

pub(crate) fn network_get_autostart(sh: &Shared, net: &NetworkRef) -> Result<bool> {
    with_net(sh, &net.name, |_, n| n.autostart)
}

pub(crate) fn network_set_autostart(sh: &Shared, net: &NetworkRef, on: bool) -> Result<()> {
    with_net(sh, &net.name, |_, n| n.autostart = on)
}

pub(crate) fn network_is_active(sh: &Shared, net: &NetworkRef) -> Result<bool> {
    with_net_uuid(sh, &net.uuid, |n| n.active)
}

pub(crate) fn network_is_persistent(sh: &Shared, net: &NetworkRef) -> Result<bool> {
    with_net_uuid(sh, &net.uuid, |n| n.persistent)
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
    with_net_uuid(sh, &net.uuid, |n| {
        crate::netupdate::update(n, command, section, index, xml, flags)
    })?
}
