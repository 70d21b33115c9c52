// SPDX-License-Identifier: LGPL-2.1-or-later
//! Virtual network definitions: `<network>` XML.
//!
//! Typed: name, uuid, forward mode/device/interfaces, bridge, mtu, mac,
//! IP addresses. Other children (dns, domain, route, portgroup,
//! bandwidth, vlan, dhcp contents, ...) are kept as XML in canonical order.

use crate::error::ConfError;
use crate::uuid::Uuid;
use crate::xml::{self, Element};

/// Format-time options for networks.
#[derive(Debug, Clone, Copy, Default)]
pub struct NetworkFormatFlags {
    /// VIR_NETWORK_XML_INACTIVE.
    pub inactive: bool,
}

/// `<forward>`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ForwardDef {
    /// Mode: nat, route, open, bridge, private, vepa, passthrough, hostdev.
    pub mode: String,
    /// `<interface dev>` entries (the `dev` attribute becomes the first).
    pub interfaces: Vec<String>,
    /// `managed` for hostdev mode.
    pub managed: Option<String>,
    /// Other children (nat, driver, pf, address) kept as XML.
    pub other: Vec<Element>,
}

/// `<bridge>`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BridgeDef {
    /// Bridge device name.
    pub name: Option<String>,
    /// Firewalld zone.
    pub zone: Option<String>,
    /// Spanning tree on (default true).
    pub stp: bool,
    /// Forward delay.
    pub delay: i64,
    /// `macTableManager`.
    pub mac_table_manager: Option<String>,
}

/// `<ip>`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IpDef {
    /// `family` (ipv4 / ipv6).
    pub family: Option<String>,
    /// Address.
    pub address: Option<String>,
    /// Netmask.
    pub netmask: Option<String>,
    /// Prefix length.
    pub prefix: Option<u32>,
    /// `localPtr`.
    pub local_ptr: Option<String>,
    /// DHCP ranges (start, end).
    pub dhcp_ranges: Vec<(String, String)>,
    /// Children (tftp, dhcp) kept as XML.
    pub children: Vec<Element>,
}

/// A network definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkDef {
    /// Name.
    pub name: String,
    /// UUID.
    pub uuid: Uuid,
    /// Active connections (live only).
    pub connections: Option<i32>,
    /// `ipv6='yes'`.
    pub ipv6: bool,
    /// `trustGuestRxFilters`.
    pub trust_guest_rx_filters: Option<String>,
    /// Forwarding; `None` is an isolated network.
    pub forward: Option<ForwardDef>,
    /// Bridge.
    pub bridge: BridgeDef,
    /// MTU.
    pub mtu: Option<u32>,
    /// Bridge MAC address.
    pub mac: Option<String>,
    /// IP definitions.
    pub ips: Vec<IpDef>,
    /// Metadata kept as XML.
    pub metadata: Option<Element>,
    /// Other children kept as XML.
    pub other: Vec<Element>,
}

const FORWARD_MODES: &[&str] = &[
    "nat",
    "route",
    "open",
    "bridge",
    "private",
    "vepa",
    "passthrough",
    "hostdev",
];

const ORDER: &[&str] = &[
    "domain",
    "dns",
    "vlan",
    "bandwidth",
    "port",
    "ip",
    "route",
    "virtualport",
    "portgroup",
];

impl NetworkDef {
    /// Parses and validates a `<network>` document.
    pub fn parse_str(text: &str) -> Result<NetworkDef, ConfError> {
        let root = xml::parse_document(text, "(network_definition)", "network")?;
        Self::from_element(&root)
    }

    /// Parses an already read `<network>` element.
    pub fn from_element(root: &Element) -> Result<NetworkDef, ConfError> {
        let name = root
            .child_text("name")
            .filter(|n| !n.is_empty())
            .ok_or_else(|| ConfError::bare(crate::error::NO_NAME))?;
        if name.contains('/') {
            return Err(ConfError::xml(format!("name {name} cannot contain '/'")));
        }
        let uuid = match root.child_text("uuid").filter(|u| !u.trim().is_empty()) {
            Some(u) => Uuid::parse(&u).ok_or_else(|| {
                ConfError::xml(format!("malformed uuid element for network '{name}'"))
            })?,
            None => Uuid::generate()?,
        };
        let mut def = NetworkDef {
            name,
            uuid,
            connections: root.attr("connections").and_then(|c| c.parse().ok()),
            ipv6: root.attr("ipv6") == Some("yes"),
            trust_guest_rx_filters: root.attr("trustGuestRxFilters").map(str::to_string),
            forward: None,
            bridge: BridgeDef {
                stp: true,
                ..Default::default()
            },
            mtu: None,
            mac: None,
            ips: Vec::new(),
            metadata: root.child("metadata").cloned(),
            other: Vec::new(),
        };
        if let Some(f) = root.child("forward") {
            let mode = f.attr("mode").unwrap_or("nat").to_string();
            if !FORWARD_MODES.contains(&mode.as_str()) {
                return Err(ConfError::xml(format!("unknown forwarding type '{mode}'")));
            }
            let mut fw = ForwardDef {
                mode,
                managed: f.attr("managed").map(str::to_string),
                ..Default::default()
            };
            for c in f.elements() {
                if c.name == "interface" {
                    if let Some(d) = c.attr("dev") {
                        fw.interfaces.push(d.to_string());
                    }
                } else {
                    fw.other.push(c.clone());
                }
            }
            if let Some(dev) = f.attr("dev") {
                match fw.interfaces.first() {
                    Some(first) if first != dev => {
                        return Err(ConfError::xml(format!(
                            "forward dev '{dev}' must match first interface element dev '{first}' in network '{}'",
                            def.name
                        )))
                    }
                    Some(_) => {}
                    None => fw.interfaces.push(dev.to_string()),
                }
            }
            def.forward = Some(fw);
        }
        if let Some(b) = root.child("bridge") {
            def.bridge.name = b.attr("name").map(str::to_string);
            def.bridge.zone = b.attr("zone").map(str::to_string);
            def.bridge.stp = b.attr("stp") != Some("off");
            def.bridge.delay = match b.attr("delay") {
                Some(d) => d.trim().parse().map_err(|_| {
                    ConfError::xml(format!("Invalid delay value in network '{}'", def.name))
                })?,
                None => 0,
            };
            def.bridge.mac_table_manager = b.attr("macTableManager").map(str::to_string);
        }
        if let Some(m) = root.child("mtu") {
            def.mtu = m.attr("size").and_then(|s| s.parse().ok());
        }
        if let Some(m) = root.child("mac") {
            def.mac = m.attr("address").map(|a| a.to_ascii_lowercase());
        }
        for ip in root.children_named("ip") {
            def.ips.push(IpDef {
                family: ip.attr("family").map(str::to_string),
                address: ip.attr("address").map(str::to_string),
                netmask: ip.attr("netmask").map(str::to_string),
                prefix: ip.attr("prefix").and_then(|p| p.parse().ok()),
                local_ptr: ip.attr("localPtr").map(str::to_string),
                dhcp_ranges: ip
                    .child("dhcp")
                    .map(|d| {
                        d.children_named("range")
                            .map(|r| {
                                (
                                    r.attr("start").unwrap_or("").to_string(),
                                    r.attr("end").unwrap_or("").to_string(),
                                )
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
                children: ip.elements().cloned().collect(),
            });
        }
        const TYPED: &[&str] = &[
            "name", "uuid", "metadata", "forward", "bridge", "mtu", "mac", "ip",
        ];
        for c in root.elements() {
            if !TYPED.contains(&c.name.as_str()) {
                def.other.push(c.clone());
            }
        }
        Ok(def)
    }

    /// Bridge name, if any.
    pub fn bridge_name(&self) -> Option<&str> {
        self.bridge.name.as_deref()
    }

    /// Forward mode, `None` when isolated.
    pub fn forward_mode(&self) -> Option<&str> {
        self.forward.as_ref().map(|f| f.mode.as_str())
    }

    /// Formats as libvirt's virNetworkDefFormat.
    pub fn to_xml(&self, flags: &NetworkFormatFlags) -> String {
        let mut out = String::from("<network");
        if !flags.inactive {
            if let Some(c) = self.connections.filter(|c| *c > 0) {
                out.push_str(&format!(" connections='{c}'"));
            }
        }
        if self.ipv6 {
            out.push_str(" ipv6='yes'");
        }
        if let Some(t) = &self.trust_guest_rx_filters {
            out.push_str(&format!(" trustGuestRxFilters='{t}'"));
        }
        out.push_str(">\n");
        out.push_str(&format!("  <name>{}</name>\n", xml::escape(&self.name)));
        out.push_str(&format!("  <uuid>{}</uuid>\n", self.uuid));
        if let Some(m) = &self.metadata {
            out.push_str("  ");
            xml::write_libxml(m, &mut out, 1);
            out.push('\n');
        }
        let mut hasbridge = true;
        if let Some(f) = &self.forward {
            hasbridge = matches!(f.mode.as_str(), "nat" | "route" | "open");
            let mut fe = Element::new("forward");
            let has_pf = f.other.iter().any(|e| e.name == "pf");
            if !has_pf {
                if let Some(d) = f.interfaces.first() {
                    fe.set_attr("dev", d);
                }
            }
            fe.set_attr("mode", &f.mode);
            if f.mode == "hostdev" {
                fe.set_attr(
                    "managed",
                    if f.managed.as_deref() == Some("yes") {
                        "yes"
                    } else {
                        "no"
                    },
                );
            }
            for n in ["driver", "nat", "pf"] {
                for c in f.other.iter().filter(|e| e.name == n) {
                    fe.push(c.clone());
                }
            }
            if !has_pf || !f.interfaces.is_empty() {
                for i in &f.interfaces {
                    fe.push(Element::new("interface").with_attr("dev", i));
                }
            }
            for c in f.other.iter().filter(|e| e.name == "address") {
                fe.push(c.clone());
            }
            fe.write_libvirt(&mut out, 2);
        }
        if hasbridge || self.bridge.name.is_some() || self.bridge.mac_table_manager.is_some() {
            out.push_str("  <bridge");
            if let Some(n) = &self.bridge.name {
                out.push_str(&format!(" name='{}'", xml::escape(n)));
            }
            if let Some(z) = &self.bridge.zone {
                out.push_str(&format!(" zone='{}'", xml::escape(z)));
            }
            if hasbridge {
                out.push_str(&format!(
                    " stp='{}' delay='{}'",
                    if self.bridge.stp { "on" } else { "off" },
                    self.bridge.delay
                ));
            }
            if let Some(m) = &self.bridge.mac_table_manager {
                out.push_str(&format!(" macTableManager='{m}'"));
            }
            out.push_str("/>\n");
        }
        if let Some(m) = self.mtu {
            out.push_str(&format!("  <mtu size='{m}'/>\n"));
        }
        if let Some(m) = &self.mac {
            out.push_str(&format!("  <mac address='{m}'/>\n"));
        }
        let rank = |n: &str| ORDER.iter().position(|x| *x == n).unwrap_or(ORDER.len());
        let mut others: Vec<&Element> = self.other.iter().collect();
        others.sort_by_key(|e| rank(&e.name));
        for e in others.iter().filter(|e| rank(&e.name) < rank("ip")) {
            e.write_libvirt(&mut out, 2);
        }
        for ip in &self.ips {
            let mut e = Element::new("ip");
            if let Some(v) = &ip.family {
                e.set_attr("family", v);
            }
            if let Some(v) = &ip.address {
                e.set_attr("address", v);
            }
            if let Some(v) = &ip.netmask {
                e.set_attr("netmask", v);
            }
            if let Some(v) = ip.prefix.filter(|p| *p > 0) {
                e.set_attr("prefix", &v.to_string());
            }
            if let Some(v) = &ip.local_ptr {
                e.set_attr("localPtr", v);
            }
            for c in &ip.children {
                e.push(c.clone());
            }
            if e.children.is_empty() {
                // libvirt always opens <ip> with a child block.
                out.push_str(&e.to_libvirt_string(2).replace("/>\n", ">\n  </ip>\n"));
            } else {
                e.write_libvirt(&mut out, 2);
            }
        }
        for e in others.iter().filter(|e| rank(&e.name) > rank("ip")) {
            e.write_libvirt(&mut out, 2);
        }
        out.push_str("</network>\n");
        out
    }
}
