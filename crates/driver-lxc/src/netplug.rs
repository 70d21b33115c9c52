// SPDX-License-Identifier: LGPL-2.1-or-later
//! Guest NICs on virtual networks: before a container starts, each
//! `<interface type='network'>` gets a port from the network driver
//! (virNetworkPortCreateXML with the NIC's owner, MAC, portgroup,
//! bandwidth and VLAN), and the port's plug says which bridge the host
//! end of its veth pair joins. The live definition records the port and
//! the bridge in `<source network=... portid=... bridge=...>`, as
//! libvirt's live XML does, so the port is found again to be released
//! when the container stops, also after a daemon restart.
//!
//! The network driver is reached through [`NetworkAccess`]: in-process in
//! libvirtd, virtnetworkd's socket from virtlxcd.

use conf::network::netdev::{Bandwidth, Mac, Vlan};
use conf::network::port::{NetworkPortDef, Plug};
use conf::xml::Element;
use conf::{DomainDef, Uuid};
use driver::{Error, NetworkOpener, NetworkPortRef};
use virterror::{ErrorCode, ErrorDomain};

use crate::errors;

/// How the driver reaches the network driver.
#[derive(Clone)]
pub struct NetworkAccess(pub NetworkOpener);

impl std::fmt::Debug for NetworkAccess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NetworkAccess")
    }
}

fn open(access: Option<&NetworkAccess>) -> Result<std::sync::Arc<dyn driver::Connection>, Error> {
    match access {
        Some(a) => (a.0)(),
        None => Err(Error::new(
            ErrorCode::NoConnect,
            ErrorDomain::None,
            "network:///system",
        )),
    }
}

fn is_network_nic(el: &Element) -> bool {
    el.name == "interface" && el.attr("type") == Some("network")
}

/// The port a guest NIC asks for (virDomainNetDefToNetworkPort).
fn port_request(def: &DomainDef, el: &Element) -> Result<NetworkPortDef, Error> {
    let mac_s = el
        .child("mac")
        .and_then(|m| m.attr("address"))
        .unwrap_or_default();
    let mac = Mac::parse(mac_s)
        .ok_or_else(|| errors::internal(format!("Unable to parse MAC '{mac_s}'")))?;
    let (bandwidth, _) = match el.child("bandwidth") {
        Some(b) => Bandwidth::parse(b, false, true).map_err(errors::conf)?,
        None => (None, 0),
    };
    let vlan = el
        .child("vlan")
        .map(Vlan::parse)
        .transpose()
        .map_err(errors::conf)?;
    let uuid = Uuid::generate().map_err(|e| errors::internal(e.to_string()))?;
    Ok(NetworkPortDef {
        uuid,
        owner_name: def.name.clone(),
        owner_uuid: def.uuid,
        group: el
            .child("source")
            .and_then(|s| s.attr("portgroup"))
            .map(str::to_string),
        mac,
        virtualport: None,
        bandwidth,
        class_id: 0,
        vlan,
        trust_guest_rx_filters: None,
        isolated_port: None,
        plug: Plug::None,
    })
}

/// Allocates a port for each network NIC of `def` and records it in the
/// NIC's `<source>`; on failure the ports already taken are released and
/// the error returned.
pub fn plug(def: &mut DomainDef, access: Option<&NetworkAccess>) -> Result<(), Error> {
    if !def.devices.iter().any(is_network_nic) {
        return Ok(());
    }
    let conn = open(access)?;
    let snapshot = def.clone();
    let mut done: Vec<NetworkPortRef> = Vec::new();
    let res = (|| -> Result<(), Error> {
        for el in def.devices.iter_mut().filter(|d| is_network_nic(d)) {
            let name = el
                .child("source")
                .and_then(|s| s.attr("network"))
                .unwrap_or_default()
                .to_string();
            let net = conn.network_lookup_by_name(&name)?;
            let req = port_request(&snapshot, el)?;
            let port = conn.network_port_create_xml(&net, &req.to_xml(), 0)?;
            done.push(port.clone());
            let xml = conn.network_port_get_xml_desc(&port, 0)?;
            let got = NetworkPortDef::parse_str(&xml).map_err(errors::conf)?;
            let bridge = match got.plug {
                Plug::Bridge { bridge, .. } => bridge,
                Plug::Direct { .. } => {
                    return Err(errors::config_unsupported(
                        "Unsupported network type direct",
                    ))
                }
                Plug::HostdevPci { .. } => {
                    return Err(errors::config_unsupported(
                        "Unsupported network type hostdev",
                    ))
                }
                Plug::None => {
                    return Err(errors::internal(format!(
                        "network '{name}' gave a port without a plug"
                    )))
                }
            };
            let src = match el.child_mut("source") {
                Some(s) => s,
                None => {
                    el.children
                        .push(conf::xml::Node::Element(Element::new("source")));
                    el.child_mut("source")
                        .ok_or_else(|| errors::internal("no <source> for the interface"))?
                }
            };
            src.set_attr("portid", &Uuid(port.uuid).to_string());
            src.set_attr("bridge", &bridge);
        }
        Ok(())
    })();
    if let Err(e) = res {
        for p in &done {
            let _ = conn.network_port_delete(p, 0);
        }
        *def = snapshot;
        return Err(e);
    }
    Ok(())
}

/// Drops the port and bridge of `def`'s network NICs from their
/// `<source>` (they belong to the live definition only, as libvirt's
/// inactive XML has neither).
pub fn forget_ports(def: &mut DomainDef) {
    for el in def.devices.iter_mut().filter(|d| is_network_nic(d)) {
        if let Some(s) = el.child_mut("source") {
            s.attrs.retain(|(k, _)| k != "portid" && k != "bridge");
        }
    }
}

/// Releases the ports of `def`'s network NICs and forgets them in the
/// definition (a container stopped, or restarts). Failures are logged:
/// the container is gone either way.
pub fn unplug(def: &mut DomainDef, access: Option<&NetworkAccess>) {
    let ports: Vec<(String, Uuid)> = def
        .devices
        .iter()
        .filter(|d| is_network_nic(d))
        .filter_map(|el| {
            let s = el.child("source")?;
            Some((
                s.attr("network")?.to_string(),
                Uuid::parse(s.attr("portid")?)?,
            ))
        })
        .collect();
    forget_ports(def);
    if ports.is_empty() {
        return;
    }
    let conn = match open(access) {
        Ok(c) => c,
        Err(e) => {
            eprintln!(
                "lxc driver: cannot release the network ports of '{}': {}",
                def.name,
                e.message()
            );
            return;
        }
    };
    for (name, uuid) in ports {
        let res = conn
            .network_lookup_by_name(&name)
            .and_then(|net| conn.network_port_lookup_by_uuid(&net, &uuid.0))
            .and_then(|p| conn.network_port_delete(&p, 0));
        if let Err(e) = res {
            eprintln!(
                "lxc driver: cannot release port {uuid} of '{}' on network '{name}': {}",
                def.name,
                e.message()
            );
        }
    }
}
