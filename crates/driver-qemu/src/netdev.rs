// SPDX-License-Identifier: LGPL-2.1-or-later
//! Guest NICs and disks that need the host services before QEMU starts:
//! a `<interface type='network'>` takes a port from the network driver
//! (crate `netplug`, as the LXC and Xen drivers do), every tap-backed NIC
//! (`ethernet`, `bridge`, `network`) gets its tap named (`vnetN` unless
//! `<target dev>` names one) and created when QEMU's descriptors are
//! opened, and `<disk type='volume'>` disks are resolved to their paths
//! through the storage driver (crate `volsource`) for the command line
//! only: the live definition keeps the volume.
//!
//! Taps are not persistent: the kernel removes them when QEMU, which
//! holds the last descriptor, exits, so every stop path (shutdown,
//! destroy, crash, a failed start) leaves none behind. Network ports are
//! released when the guest is recorded as stopped, also after a daemon
//! restart (the port is in the live definition's `<source portid>`).

use std::os::fd::OwnedFd;

use conf::xml::{Element, Node};
use conf::DomainDef;
use driver::error::ErrorCode;
use driver::{Error, Result};
use qemu_command::{TapSpec, TAP_NIC_TYPES};

use crate::state::QEMU;

/// VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_LEASE.
pub(crate) const ADDRESSES_SRC_LEASE: u32 = 0;
/// VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_ARP.
pub(crate) const ADDRESSES_SRC_ARP: u32 = 2;

/// Whether `el` is a NIC whose host end is a tap.
pub(crate) fn is_tap_nic(el: &Element) -> bool {
    el.name == "interface" && el.attr("type").is_some_and(|t| TAP_NIC_TYPES.contains(&t))
}

/// Gives a tap-backed NIC without a `<target dev>` a free `vnetN` name.
pub(crate) fn name_tap(el: &mut Element) -> Result<()> {
    if el
        .child("target")
        .and_then(|t| t.attr("dev"))
        .is_some_and(|d| !d.is_empty())
    {
        return Ok(());
    }
    let name =
        host::tap::generate_name("vnet").map_err(|e| Error::internal(QEMU, e.to_string()))?;
    match el.child_mut("target") {
        Some(t) => t.set_attr("dev", &name),
        None => {
            let mut t = Element::new("target");
            t.set_attr("dev", &name);
            // libvirt's order: after <source>, before <model>.
            let at = el
                .children
                .iter()
                .position(|n| {
                    matches!(n, Node::Element(e) if !["mac", "source"].contains(&e.name.as_str()))
                })
                .unwrap_or(el.children.len());
            el.children.insert(at, Node::Element(t));
        }
    }
    Ok(())
}

impl crate::state::Driver {
    /// Before a start: ports for the network NICs of `def` (recorded in
    /// their `<source>`), tap names for every tap-backed NIC. On failure
    /// nothing is left taken.
    pub(crate) fn plug_nics(&self, def: &mut DomainDef) -> Result<()> {
        netplug::plug(def, self.opts.network.as_ref(), QEMU)?;
        for el in def.devices.iter_mut().filter(|d| is_tap_nic(d)) {
            if let Err(e) = name_tap(el) {
                netplug::unplug(def, self.opts.network.as_ref());
                return Err(e);
            }
        }
        Ok(())
    }

    /// After a stop (or a failed start): the network ports of `def` go
    /// back to the network driver. The taps went with QEMU.
    pub(crate) fn unplug_nics(&self, def: &DomainDef) {
        let mut def = def.clone();
        netplug::unplug(&mut def, self.opts.network.as_ref());
    }

    /// A guest found running after a restart: its ports must still exist
    /// (they are created again when the network lost them).
    pub(crate) fn notify_nics(&self, def: &DomainDef) {
        netplug::notify(def, self.opts.network.as_ref());
    }

    /// A NIC hot-plugged into the running guest `def`: its port (when on
    /// a network) and tap name, as [`Self::plug_nics`] gives them at start.
    pub(crate) fn plug_nic(&self, def: &DomainDef, el: Element) -> Result<Element> {
        let mut one = def.clone();
        one.devices = vec![el];
        self.plug_nics(&mut one)?;
        one.devices
            .pop()
            .ok_or_else(|| Error::internal(QEMU, "the plugged interface was lost"))
    }

    /// The port of NIC `el` of guest `def` goes back to the network (a
    /// NIC unplugged, or whose hotplug failed).
    pub(crate) fn release_nic(&self, def: &DomainDef, el: &mut Element) {
        let mut one = def.clone();
        one.devices = vec![el.clone()];
        netplug::unplug(&mut one, self.opts.network.as_ref());
        if let Some(e) = one.devices.pop() {
            *el = e;
        }
    }

    /// Hands descriptor `fd` to the guest's QEMU under `name` (`getfd`).
    pub(crate) fn send_fd(&self, mon: &qemu::qmp::Qmp, name: &str, fd: &OwnedFd) -> Result<()> {
        let dup = fd
            .try_clone()
            .map_err(|e| Error::new(ErrorCode::SystemError, QEMU, e.to_string()))?;
        let (mon, name) = (mon.clone(), name.to_string());
        match self.block(async move {
            use std::os::fd::AsFd;
            mon.send_fd(&name, dup.as_fd()).await
        }) {
            Some(Ok(())) => Ok(()),
            Some(Err(e)) => Err(qemu::probe::qmp_error("getfd", e)),
            None => Err(Error::new(
                ErrorCode::OperationFailed,
                QEMU,
                "monitor call failed",
            )),
        }
    }

    /// virDomainInterfaceAddresses from the network driver's leases
    /// (`source` 0) or the host's neighbour table (2), for the running
    /// guest `r`; NICs are named by their host device, as libvirt's.
    pub(crate) fn nic_addresses(
        &self,
        r: &driver::DomainRef,
        source: u32,
    ) -> Result<Vec<driver::DomainInterface>> {
        let dom = self.get(r)?;
        let def = dom
            .lock()
            .live
            .as_ref()
            .map(|l| l.def.clone())
            .ok_or_else(crate::process::not_running)?;
        let ifname = |el: &Element| {
            el.child("target")
                .and_then(|t| t.attr("dev"))
                .unwrap_or_default()
                .to_string()
        };
        match source {
            ADDRESSES_SRC_LEASE => {
                netplug::dhcp_interfaces(&def, self.opts.network.as_ref(), ifname)
            }
            ADDRESSES_SRC_ARP => {
                let table = host::net::arp_table();
                let mut out = Vec::new();
                for el in def.devices.iter().filter(|d| d.name == "interface") {
                    let mac = el
                        .child("mac")
                        .and_then(|m| m.attr("address"))
                        .unwrap_or_default()
                        .to_ascii_lowercase();
                    for (ip, _) in table.iter().filter(|(_, m)| *m == mac) {
                        out.push(driver::DomainInterface {
                            name: ifname(el),
                            hwaddr: Some(mac.clone()),
                            addrs: vec![driver::IpAddress {
                                addr_type: 0,
                                addr: ip.clone(),
                                prefix: 0,
                            }],
                        });
                    }
                }
                Ok(out)
            }
            other => Err(Error::new(
                ErrorCode::ArgumentUnsupported,
                QEMU,
                format!("Unknown IP address data source {other}"),
            )),
        }
    }

    /// virDomainInterfaceStats of the running guest `r`'s NIC named by
    /// its MAC or host device: its tap's counters, seen from the guest
    /// (what the tap sends, the guest receives).
    pub(crate) fn nic_stats(&self, r: &driver::DomainRef, device: &str) -> Result<[i64; 8]> {
        let dom = self.get(r)?;
        let def = dom
            .lock()
            .live
            .as_ref()
            .map(|l| l.def.clone())
            .ok_or_else(crate::process::not_running)?;
        let want = host::net::parse_mac(device);
        let nic = def
            .devices
            .iter()
            .filter(|d| d.name == "interface")
            .find(|d| match want {
                Some(m) => {
                    d.child("mac")
                        .and_then(|x| x.attr("address"))
                        .and_then(host::net::parse_mac)
                        == Some(m)
                }
                None => d.child("target").and_then(|t| t.attr("dev")) == Some(device),
            })
            .ok_or_else(|| {
                Error::invalid_arg(
                    driver::error::ErrorDomain::Domain,
                    format!("'{device}' is not a known interface"),
                )
            })?;
        let ifname = nic
            .child("target")
            .and_then(|t| t.attr("dev"))
            .ok_or_else(|| Error::internal(QEMU, "Interface name not provided"))?;
        let c = host::net::interface_counters(ifname).ok_or_else(|| {
            Error::new(
                ErrorCode::InternalError,
                QEMU,
                "/proc/net/dev: Interface not found",
            )
        })?;
        let swapped = is_tap_nic(nic);
        Ok(if swapped {
            [c[4], c[5], c[6], c[7], c[0], c[1], c[2], c[3]]
        } else {
            c
        })
    }

    /// The definition the command line is built from: `<disk
    /// type='volume'>` disks read as the file, block device or directory
    /// their volume is (libvirt's errors for a missing or inactive pool or
    /// a missing volume).
    pub(crate) fn translate_volumes(&self, def: &DomainDef) -> Result<DomainDef> {
        volsource::translate(def, self.opts.storage.as_ref())
    }
}

/// Opens a NIC's descriptor for a hotplug (a tap, vhost-net).
pub(crate) fn open_nic_fd(source: &qemu_command::FdSource) -> Result<OwnedFd> {
    match source {
        qemu_command::FdSource::Tap(spec) => open_tap(spec),
        qemu_command::FdSource::VhostNet => std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/vhost-net")
            .map(OwnedFd::from)
            .map_err(|e| {
                Error::new(
                    ErrorCode::SystemError,
                    QEMU,
                    format!("Unable to open vhost-net: {e}"),
                )
            }),
        other => Err(Error::internal(
            QEMU,
            format!("unexpected descriptor {other:?} for an interface"),
        )),
    }
}

/// Creates the tap of `spec` and sets up its host end (MAC with the first
/// byte 0xFE, MTU, bridge, up); the descriptor QEMU gets.
pub(crate) fn open_tap(spec: &TapSpec) -> Result<OwnedFd> {
    let sys = |e: host::Error| Error::new(ErrorCode::SystemError, QEMU, e.to_string());
    if spec.ifname.is_empty() {
        return Err(Error::internal(QEMU, "tap device without a name"));
    }
    let fd = host::tap::open_tap(&spec.ifname, spec.vnet_hdr).map_err(sys)?;
    let setup = host::tap::TapSetup {
        mac: host::net::parse_mac(&spec.mac).map(host::tap::host_mac),
        mtu: spec.mtu,
        bridge: spec.bridge.clone(),
    };
    host::tap::setup_tap(&spec.ifname, &setup).map_err(sys)?;
    Ok(fd)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tap_nic_gets_a_target_after_its_source() {
        let mut el = Element::new("interface");
        el.set_attr("type", "bridge");
        el.push(Element::new("mac"));
        el.push(Element::new("source"));
        el.push(Element::new("model"));
        assert!(is_tap_nic(&el));
        name_tap(&mut el).unwrap_or_else(|e| panic!("{e}"));
        let names: Vec<&str> = el.elements().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["mac", "source", "target", "model"]);
        let dev = el.child("target").and_then(|t| t.attr("dev")).unwrap_or("");
        assert!(dev.starts_with("vnet"), "{dev}");
        // A named one keeps its name.
        let mut named = Element::new("interface");
        named.set_attr("type", "ethernet");
        let mut t = Element::new("target");
        t.set_attr("dev", "mytap");
        named.push(t);
        name_tap(&mut named).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            named.child("target").and_then(|t| t.attr("dev")),
            Some("mytap")
        );
        let mut user = Element::new("interface");
        user.set_attr("type", "user");
        assert!(!is_tap_nic(&user));
    }
}
