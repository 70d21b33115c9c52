// SPDX-License-Identifier: LGPL-2.1-or-later
//! VNC display ports: a `<graphics type='vnc' autoport='yes'>` gets the
//! first free port of qemu.conf's `remote_display_port_min`..`_max`
//! (5900..65535) when its guest starts, written into the live definition
//! (`port=`), and gives it back when the guest stops.

use std::collections::BTreeSet;
use std::sync::Mutex;

use conf::xml::Element;
use conf::DomainDef;
use driver::{Error, Result};

use crate::state::QEMU;

/// The display ports in use by this driver's guests.
#[derive(Debug, Default)]
pub(crate) struct Ports {
    used: Mutex<BTreeSet<u16>>,
}

/// Whether nothing listens on TCP `port` (IPv4 and, where the host has
/// it, IPv6).
fn free_on_host(port: u16) -> bool {
    let v4 = std::net::TcpListener::bind(("0.0.0.0", port)).is_ok();
    v4 && match std::net::TcpListener::bind(("::", port)) {
        Ok(_) => true,
        // No IPv6 on this host: only IPv4 matters.
        Err(e) => e.raw_os_error() == Some(libc::EAFNOSUPPORT),
    }
}

/// A VNC display whose port is chosen at start.
fn autoport_vnc(g: &Element) -> bool {
    if g.local_name() != "graphics" || g.attr("type") != Some("vnc") {
        return false;
    }
    let listen = g.child("listen").and_then(|l| l.attr("type"));
    if matches!(listen, Some("socket") | Some("none")) {
        return false;
    }
    match g.attr("autoport") {
        Some("no") => false,
        Some("yes") => true,
        // No port given (or -1): chosen automatically.
        _ => g
            .attr("port")
            .and_then(|p| p.parse::<i64>().ok())
            .is_none_or(|p| p < 0),
    }
}

impl Ports {
    /// Reserves the first free port of `min..=max`.
    fn acquire(&self, min: u32, max: u32) -> Result<u16> {
        let mut used = self.used.lock().unwrap_or_else(|e| e.into_inner());
        for p in min..=max {
            let Ok(port) = u16::try_from(p) else { break };
            if !used.contains(&port) && free_on_host(port) {
                used.insert(port);
                return Ok(port);
            }
        }
        Err(Error::internal(
            QEMU,
            format!("Unable to find an unused port in range 'display' ({min}-{max})"),
        ))
    }

    pub(crate) fn release(&self, port: u16) {
        self.used
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&port);
    }

    /// Gives each automatic VNC display of `def` a port (written as its
    /// `port=`), and each listening on an unspecified address qemu.conf's
    /// `vnc_listen`; on failure no port stays reserved.
    pub(crate) fn assign(
        &self,
        def: &mut DomainDef,
        min: u32,
        max: u32,
        vnc_listen: &str,
    ) -> Result<()> {
        for g in def
            .devices
            .iter_mut()
            .filter(|g| g.local_name() == "graphics" && g.attr("type") == Some("vnc"))
        {
            if let Some(l) = g.child_mut("listen") {
                if l.attr("type") == Some("address") && l.attr("address").is_none() {
                    l.set_attr("address", vnc_listen);
                    g.set_attr("listen", vnc_listen);
                }
            }
        }
        let mut got = Vec::new();
        for g in def.devices.iter_mut().filter(|g| autoport_vnc(g)) {
            match self.acquire(min, max) {
                Ok(p) => {
                    g.set_attr("port", &p.to_string());
                    if g.attr("autoport").is_none() {
                        g.set_attr("autoport", "yes");
                    }
                    got.push(p);
                }
                Err(e) => {
                    for p in got {
                        self.release(p);
                    }
                    return Err(e);
                }
            }
        }
        Ok(())
    }

    /// The ports of `def`'s automatic VNC displays, given back.
    pub(crate) fn release_all(&self, def: &DomainDef) {
        for p in ports_of(def) {
            self.release(p);
        }
    }

    /// Marks the ports of a running guest found again as in use.
    pub(crate) fn mark(&self, def: &DomainDef) {
        let mut used = self.used.lock().unwrap_or_else(|e| e.into_inner());
        used.extend(ports_of(def));
    }
}

/// The ports of `def`'s automatic VNC displays.
pub(crate) fn ports_of(def: &DomainDef) -> Vec<u16> {
    def.devices
        .iter()
        .filter(|g| {
            g.local_name() == "graphics"
                && g.attr("type") == Some("vnc")
                && g.attr("autoport") == Some("yes")
        })
        .filter_map(|g| g.attr("port").and_then(|p| p.parse().ok()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_are_handed_out_once_and_given_back() {
        let ports = Ports::default();
        // A high range, unlikely to be in use on the host.
        let a = ports
            .acquire(61_000, 61_010)
            .unwrap_or_else(|e| panic!("{e}"));
        let b = ports
            .acquire(61_000, 61_010)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_ne!(a, b);
        ports.release(a);
        let c = ports
            .acquire(61_000, 61_010)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(a, c);
        let e = ports.acquire(70_000, 70_001).err().map(|e| e.to_string());
        assert!(
            e.as_deref()
                .is_some_and(|m| m
                    .contains("Unable to find an unused port in range 'display' (70000-70001)")),
            "{e:?}"
        );
    }
}
