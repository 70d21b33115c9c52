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
//! libvirtd, virtnetworkd's socket from virtlxcd and virtxend.
//!
//! Used by the LXC and Xen drivers; depends on no driver. Errors of its
//! own are reported in the calling driver's error domain.
#![forbid(unsafe_code)]

use conf::network::netdev::{Bandwidth, Mac, Vlan};
use conf::network::port::{NetworkPortDef, Plug};
use conf::xml::Element;
use conf::{DomainDef, Uuid};
use driver::{Error, NetworkOpener, NetworkPortRef};
use virterror::{ErrorCode, ErrorDomain};

fn conf_err(e: conf::ConfError) -> Error {
    e.in_domain(ErrorDomain::Domain)
}

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
fn port_request(def: &DomainDef, el: &Element, dom: ErrorDomain) -> Result<NetworkPortDef, Error> {
    let mac_s = el
        .child("mac")
        .and_then(|m| m.attr("address"))
        .unwrap_or_default();
    let mac = Mac::parse(mac_s)
        .ok_or_else(|| Error::internal(dom, format!("Unable to parse MAC '{mac_s}'")))?;
    let (bandwidth, _) = match el.child("bandwidth") {
        Some(b) => Bandwidth::parse(b, false, true).map_err(conf_err)?,
        None => (None, 0),
    };
    let vlan = el
        .child("vlan")
        .map(Vlan::parse)
        .transpose()
        .map_err(conf_err)?;
    let uuid = Uuid::generate().map_err(|e| e.in_domain(dom))?;
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
/// the error returned. `dom` is the calling driver's error domain. Only
/// bridge plugs are supported (the drivers here cannot use a macvtap or
/// PCI plug).
pub fn plug(
    def: &mut DomainDef,
    access: Option<&NetworkAccess>,
    dom: ErrorDomain,
) -> Result<(), Error> {
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
            let req = port_request(&snapshot, el, dom)?;
            let port = conn.network_port_create_xml(&net, &req.to_xml(), 0)?;
            done.push(port.clone());
            let xml = conn.network_port_get_xml_desc(&port, 0)?;
            let got = NetworkPortDef::parse_str(&xml).map_err(conf_err)?;
            let bridge = match got.plug {
                Plug::Bridge { bridge, .. } => bridge,
                Plug::Direct { .. } => {
                    return Err(Error::new(
                        ErrorCode::ConfigUnsupported,
                        dom,
                        "Unsupported network type direct",
                    ))
                }
                Plug::HostdevPci { .. } => {
                    return Err(Error::new(
                        ErrorCode::ConfigUnsupported,
                        dom,
                        "Unsupported network type hostdev",
                    ))
                }
                Plug::None => {
                    return Err(Error::internal(
                        dom,
                        format!("network '{name}' gave a port without a plug"),
                    ))
                }
            };
            let src = match el.child_mut("source") {
                Some(s) => s,
                None => {
                    el.children
                        .push(conf::xml::Node::Element(Element::new("source")));
                    el.child_mut("source")
                        .ok_or_else(|| Error::internal(dom, "no <source> for the interface"))?
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

/// virDomainNetNotifyActualDevice for a guest found running again (a
/// daemon restart): each network NIC's port must still exist; one the
/// network driver no longer has (the network was restarted meanwhile) is
/// created again with VIR_NETWORK_PORT_CREATE_RECLAIM and the plug the
/// NIC recorded. Failures are logged: the guest runs either way.
pub fn notify(def: &DomainDef, access: Option<&NetworkAccess>) {
    let nics: Vec<&Element> = def
        .devices
        .iter()
        .filter(|d| is_network_nic(d))
        .filter(|d| d.child("source").and_then(|s| s.attr("portid")).is_some())
        .collect();
    if nics.is_empty() {
        return;
    }
    let conn = match open(access) {
        Ok(c) => c,
        Err(e) => {
            eprintln!(
                "cannot check the network ports of '{}': {}",
                def.name,
                e.message()
            );
            return;
        }
    };
    for el in nics {
        let Some(src) = el.child("source") else {
            continue;
        };
        let name = src.attr("network").unwrap_or_default();
        let (Some(uuid), Some(bridge)) =
            (src.attr("portid").and_then(Uuid::parse), src.attr("bridge"))
        else {
            continue;
        };
        let res = conn.network_lookup_by_name(name).and_then(|net| {
            match conn.network_port_lookup_by_uuid(&net, &uuid.0) {
                Ok(_) => Ok(()),
                Err(e) if e.code == ErrorCode::NoNetworkPort => {
                    let mut port = port_request(def, el, ErrorDomain::None)?;
                    port.uuid = uuid;
                    port.plug = Plug::Bridge {
                        network: true,
                        bridge: bridge.to_string(),
                        mac_table_manager: None,
                    };
                    conn.network_port_create_xml(&net, &port.to_xml(), PORT_CREATE_RECLAIM)
                        .map(|_| ())
                }
                Err(e) => Err(e),
            }
        });
        if let Err(e) = res {
            eprintln!(
                "cannot reclaim port {uuid} of '{}' on network '{name}': {}",
                def.name,
                e.message()
            );
        }
    }
}

/// VIR_NETWORK_PORT_CREATE_RECLAIM.
const PORT_CREATE_RECLAIM: u32 = 1;

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
                "cannot release the network ports of '{}': {}",
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
                "cannot release port {uuid} of '{}' on network '{name}': {}",
                def.name,
                e.message()
            );
        }
    }
}

/// virDomainNetDHCPInterfaces (`domifaddr --source lease`): for each
/// network NIC of the running guest `def`, the leases its network's DHCP
/// server gave its MAC, named by the NIC's host device (`ifname`).
pub fn dhcp_interfaces(
    def: &DomainDef,
    access: Option<&NetworkAccess>,
    ifname: impl Fn(&Element) -> String,
) -> Result<Vec<driver::DomainInterface>, Error> {
    let conn = open(access)?;
    let mut out = Vec::new();
    for el in def.devices.iter().filter(|d| is_network_nic(d)) {
        let mac = el
            .child("mac")
            .and_then(|m| m.attr("address"))
            .unwrap_or_default()
            .to_ascii_lowercase();
        let name = el
            .child("source")
            .and_then(|s| s.attr("network"))
            .unwrap_or_default();
        let net = conn.network_lookup_by_name(name)?;
        let leases = conn.network_get_dhcp_leases(&net, Some(&mac), 0)?;
        if leases.is_empty() {
            continue;
        }
        out.push(driver::DomainInterface {
            name: ifname(el),
            hwaddr: Some(mac),
            addrs: leases
                .into_iter()
                .map(|l| driver::IpAddress {
                    addr_type: l.r#type,
                    addr: l.ipaddr,
                    prefix: l.prefix,
                })
                .collect(),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use driver::{Connection, NetworkRef, Result};
    use std::sync::{Arc, Mutex};

    /// A network driver with one network, `default` on `virbr9`, whose
    /// ports are kept in memory; a port of `full` cannot be created.
    #[derive(Default)]
    struct FakeNet {
        ports: Mutex<Vec<(NetworkPortRef, String)>>,
    }

    impl Connection for FakeNet {
        fn get_type(&self) -> &'static str {
            "network"
        }
        fn uri(&self) -> String {
            "network:///system".into()
        }
        fn network_lookup_by_name(&self, name: &str) -> Result<NetworkRef> {
            match name {
                "default" | "full" => Ok(NetworkRef {
                    name: name.into(),
                    uuid: [name.len() as u8; 16],
                }),
                _ => Err(Error::new(
                    ErrorCode::NoNetwork,
                    ErrorDomain::Network,
                    format!("no network with matching name '{name}'"),
                )),
            }
        }
        fn network_port_create_xml(
            &self,
            net: &NetworkRef,
            xml: &str,
            flags: u32,
        ) -> Result<NetworkPortRef> {
            if net.name == "full" {
                return Err(Error::internal(ErrorDomain::Network, "no room"));
            }
            let mut p = NetworkPortDef::parse_str(xml).map_err(conf_err)?;
            assert_eq!(
                flags == 1,
                p.plug != Plug::None,
                "reclaim exactly with a plug"
            );
            p.plug = Plug::Bridge {
                network: true,
                bridge: "virbr9".into(),
                mac_table_manager: None,
            };
            let r = NetworkPortRef {
                net: net.clone(),
                uuid: p.uuid.0,
            };
            self.ports.lock().unwrap().push((r.clone(), p.to_xml()));
            Ok(r)
        }
        fn network_port_get_xml_desc(&self, port: &NetworkPortRef, _flags: u32) -> Result<String> {
            let ports = self.ports.lock().unwrap();
            Ok(ports
                .iter()
                .find(|(r, _)| r == port)
                .map(|p| p.1.clone())
                .unwrap_or_default())
        }
        fn network_port_lookup_by_uuid(
            &self,
            net: &NetworkRef,
            uuid: &[u8; 16],
        ) -> Result<NetworkPortRef> {
            let r = NetworkPortRef {
                net: net.clone(),
                uuid: *uuid,
            };
            if self.ports.lock().unwrap().iter().any(|(p, _)| *p == r) {
                Ok(r)
            } else {
                Err(Error::new(
                    ErrorCode::NoNetworkPort,
                    ErrorDomain::Network,
                    "Network port with UUID x does not exist",
                ))
            }
        }
        fn network_port_delete(&self, port: &NetworkPortRef, _flags: u32) -> Result<()> {
            self.ports.lock().unwrap().retain(|(r, _)| r != port);
            Ok(())
        }
    }

    fn access(net: &Arc<FakeNet>) -> NetworkAccess {
        let n = net.clone();
        NetworkAccess(Arc::new(move || Ok(n.clone() as Arc<dyn Connection>)))
    }

    fn def(nets: &[&str]) -> DomainDef {
        let nics: String = nets
            .iter()
            .enumerate()
            .map(|(i, n)| {
                format!(
                    "<interface type='network'><mac address='52:54:00:00:00:0{i}'/>\
                     <source network='{n}'/></interface>"
                )
            })
            .collect();
        DomainDef::parse_str(
            &format!(
                "<domain type='lxc'><name>g</name><uuid>c7a5fdbd-edaf-9455-926a-d65c16db1809</uuid>\
                 <memory>65536</memory><os><type>exe</type><init>/bin/sh</init></os>\
                 <devices>{nics}</devices></domain>"
            ),
            &Default::default(),
        )
        .unwrap()
    }

    fn source(d: &DomainDef, i: usize) -> Element {
        d.devices
            .iter()
            .filter(|e| e.name == "interface")
            .nth(i)
            .and_then(|e| e.child("source"))
            .cloned()
            .unwrap()
    }

    #[test]
    fn ports_are_taken_recorded_and_given_back() {
        let net = Arc::new(FakeNet::default());
        let a = access(&net);
        let mut d = def(&["default"]);
        plug(&mut d, Some(&a), ErrorDomain::Lxc).unwrap();
        let s = source(&d, 0);
        assert_eq!(s.attr("bridge"), Some("virbr9"));
        let ports = net.ports.lock().unwrap().clone();
        assert_eq!(ports.len(), 1);
        assert_eq!(
            s.attr("portid"),
            Some(Uuid(ports[0].0.uuid).to_string().as_str())
        );
        assert!(ports[0].1.contains("<name>g</name>"), "{}", ports[0].1);
        unplug(&mut d, Some(&a));
        assert!(net.ports.lock().unwrap().is_empty());
        assert_eq!(source(&d, 0).attr("portid"), None);
    }

    #[test]
    fn a_failure_gives_back_the_ports_already_taken() {
        let net = Arc::new(FakeNet::default());
        let mut d = def(&["default", "full"]);
        let before = d.clone();
        let e = plug(&mut d, Some(&access(&net)), ErrorDomain::Libxl).unwrap_err();
        assert!(e.message().contains("no room"), "{}", e.message());
        assert!(net.ports.lock().unwrap().is_empty());
        assert_eq!(d, before);
        let e = plug(&mut def(&["nosuch"]), Some(&access(&net)), ErrorDomain::Lxc).unwrap_err();
        assert_eq!(e.code, ErrorCode::NoNetwork);
    }

    #[test]
    fn without_a_network_driver_a_network_nic_cannot_start() {
        let e = plug(&mut def(&["default"]), None, ErrorDomain::Lxc).unwrap_err();
        assert_eq!(e.code, ErrorCode::NoConnect);
        let mut plain = def(&[]);
        plug(&mut plain, None, ErrorDomain::Lxc).unwrap();
    }

    #[test]
    fn a_port_the_network_lost_is_reclaimed_for_a_running_guest() {
        let net = Arc::new(FakeNet::default());
        let a = access(&net);
        let mut d = def(&["default"]);
        plug(&mut d, Some(&a), ErrorDomain::Lxc).unwrap();
        notify(&d, Some(&a));
        assert_eq!(
            net.ports.lock().unwrap().len(),
            1,
            "a port still there stays as is"
        );
        net.ports.lock().unwrap().clear();
        notify(&d, Some(&a));
        let ports = net.ports.lock().unwrap().clone();
        assert_eq!(ports.len(), 1, "reclaimed");
        assert_eq!(
            source(&d, 0).attr("portid"),
            Some(Uuid(ports[0].0.uuid).to_string().as_str()),
            "under the same UUID"
        );
    }
}
