// SPDX-License-Identifier: LGPL-2.1-or-later
//! virNetworkUpdate on the in-memory networks. Only the `ip-dhcp-host`
//! section is modelled; other sections report that they are unsupported.

use conf::network::IpDef;
use conf::xml::{Element, Node};
use conf::NetworkDef;
use driver::error::{ErrorCode, ErrorDomain};
use driver::{Error, Result};

use crate::state::Net;

/// virNetworkUpdateCommand.
const CMD_MODIFY: u32 = 1;
const CMD_DELETE: u32 = 2;
const CMD_ADD_LAST: u32 = 3;
const CMD_ADD_FIRST: u32 = 4;

/// virNetworkUpdateSection.
const SECTION_IP_DHCP_HOST: u32 = 4;

/// virNetworkUpdateFlags.
const AFFECT_LIVE: u32 = 1 << 0;
const AFFECT_CONFIG: u32 = 1 << 1;

fn invalid(msg: impl Into<String>) -> Error {
    Error::operation_invalid(ErrorDomain::Network, msg)
}

/// A `<host>` entry as the update names it.
struct Host {
    mac: Option<String>,
    name: Option<String>,
    ip: Option<String>,
}

impl Host {
    fn of(e: &Element) -> Host {
        Host {
            mac: e.attr("mac").map(str::to_string),
            name: e.attr("name").map(str::to_string),
            ip: e.attr("ip").map(str::to_string),
        }
    }

    fn element(&self) -> Element {
        let mut e = Element::new("host");
        for (k, v) in [("mac", &self.mac), ("name", &self.name), ("ip", &self.ip)] {
            if let Some(v) = v {
                e.attrs.push((k.to_string(), v.clone()));
            }
        }
        e
    }

    fn describe(&self) -> (String, String, String) {
        (
            self.mac.clone().unwrap_or_else(|| "unknown".into()),
            self.name.clone().unwrap_or_else(|| "(null)".into()),
            self.ip.clone().unwrap_or_else(|| "unknown".into()),
        )
    }
}

fn mac_eq(a: &Option<String>, b: &Option<String>) -> bool {
    matches!((a, b), (Some(a), Some(b)) if a.eq_ignore_ascii_case(b))
}

fn is_v6(addr: Option<&str>) -> bool {
    addr.is_some_and(|a| a.contains(':'))
}

fn has_dhcp(ip: &IpDef) -> bool {
    ip.children
        .iter()
        .any(|c| c.name == "dhcp" && c.elements().any(|e| e.name == "range" || e.name == "host"))
}

/// virNetworkIPDefByIndex: the `<ip>` whose dhcp hosts are updated.
fn ip_index(def: &NetworkDef, parent: i32) -> Result<usize> {
    if let Ok(i) = usize::try_from(parent) {
        if i < def.ips.len() {
            return Ok(i);
        }
        return Err(invalid(format!(
            "couldn't update dhcp host entry - no <ip> element found at index {parent} in network '{}'",
            def.name
        )));
    }
    if let Some(i) = def.ips.iter().position(has_dhcp) {
        return Ok(i);
    }
    let v4 = def.ips.iter().position(|ip| !is_v6(ip.address.as_deref()));
    let v6 = def.ips.iter().position(|ip| is_v6(ip.address.as_deref()));
    v4.or(v6).ok_or_else(|| {
        invalid(format!(
            "couldn't update dhcp host entry - no <ip> element found in network '{}'",
            def.name
        ))
    })
}

fn update_dhcp_host(def: &mut NetworkDef, command: u32, parent: i32, xml: &Element) -> Result<()> {
    if xml.name != "host" {
        return Err(Error::new(
            ErrorCode::XmlError,
            ErrorDomain::Network,
            format!(
                "unexpected element <{}>, expecting <host>, while updating network '{}'",
                xml.name, def.name
            ),
        ));
    }
    let i = ip_index(def, parent)?;
    let net_name = def.name.clone();
    let host = Host::of(xml);
    let ip_v6 = is_v6(def.ips[i].address.as_deref());
    if command != CMD_DELETE {
        if !ip_v6 && host.mac.is_none() && host.name.is_none() {
            return Err(Error::new(
                ErrorCode::XmlError,
                ErrorDomain::Network,
                format!(
                    "Static host definition in IPv4 network '{net_name}' must have mac or name attribute"
                ),
            ));
        }
        if host.ip.is_none() {
            return Err(Error::new(
                ErrorCode::XmlError,
                ErrorDomain::Network,
                format!("Missing IP address in static host definition for network '{net_name}'"),
            ));
        }
        if is_v6(host.ip.as_deref()) != ip_v6 {
            return Err(invalid(
                "the address family of a host entry IP must match the address family of the dhcp element's parent",
            ));
        }
    }
    if command == CMD_ADD_FIRST || command == CMD_ADD_LAST {
        let family_dhcp = def
            .ips
            .iter()
            .enumerate()
            .any(|(j, ip)| j != i && is_v6(ip.address.as_deref()) == ip_v6 && has_dhcp(ip));
        if family_dhcp {
            return Err(invalid(format!(
                "dhcp is supported only for a single {} address on each network",
                if ip_v6 { "IPv6" } else { "IPv4" }
            )));
        }
    }
    let ip = &mut def.ips[i];
    if !ip.children.iter().any(|c| c.name == "dhcp") {
        ip.children.push(Element::new("dhcp"));
    }
    let Some(dhcp) = ip.children.iter_mut().find(|c| c.name == "dhcp") else {
        return Err(Error::internal(
            ErrorDomain::Network,
            "dhcp element vanished",
        ));
    };
    // Positions (in dhcp.children) of the existing <host> entries.
    let hosts: Vec<usize> = dhcp
        .children
        .iter()
        .enumerate()
        .filter_map(|(k, n)| match n {
            Node::Element(e) if e.name == "host" => Some(k),
            _ => None,
        })
        .collect();
    let host_at = |dhcp: &Element, k: usize| match &dhcp.children[k] {
        Node::Element(e) => Host::of(e),
        Node::Text(_) => Host {
            mac: None,
            name: None,
            ip: None,
        },
    };
    match command {
        CMD_MODIFY => {
            let found = hosts.iter().copied().find(|k| {
                let h = host_at(dhcp, *k);
                mac_eq(&host.mac, &h.mac)
                    || (host.ip.is_some() && host.ip == h.ip)
                    || (host.name.is_some() && host.name == h.name)
            });
            let Some(k) = found else {
                let (m, n, a) = host.describe();
                return Err(invalid(format!(
                    "couldn't locate an existing dhcp host entry with \"mac='{m}'\" \"name='{n}'\" \"ip='{a}'\" in network '{net_name}'"
                )));
            };
            dhcp.children[k] = Node::Element(host.element());
        }
        CMD_ADD_FIRST | CMD_ADD_LAST => {
            let clash = hosts.iter().any(|k| {
                let h = host_at(dhcp, *k);
                mac_eq(&host.mac, &h.mac)
                    || (host.name.is_some() && host.name == h.name)
                    || (host.ip.is_some() && host.ip == h.ip)
            });
            if clash {
                let (m, n, a) = host.describe();
                return Err(invalid(format!(
                    "there is an existing dhcp host entry in network '{net_name}' that matches \"<host mac='{m}' name='{n}' ip='{a}'/>\""
                )));
            }
            // Hosts follow the ranges and precede bootp.
            let pos = if command == CMD_ADD_FIRST {
                hosts.first().copied().unwrap_or_else(|| {
                    dhcp.children
                        .iter()
                        .rposition(|n| matches!(n, Node::Element(e) if e.name == "range"))
                        .map_or(0, |p| p + 1)
                })
            } else {
                hosts.last().map(|p| p + 1).unwrap_or_else(|| {
                    dhcp.children
                        .iter()
                        .rposition(|n| matches!(n, Node::Element(e) if e.name == "range"))
                        .map_or(0, |p| p + 1)
                })
            };
            dhcp.children.insert(pos, Node::Element(host.element()));
        }
        CMD_DELETE => {
            let found = hosts.iter().copied().find(|k| {
                let h = host_at(dhcp, *k);
                (host.mac.is_none() || h.mac.is_none() || mac_eq(&host.mac, &h.mac))
                    && (host.name.is_none() || host.name == h.name)
                    && (host.ip.is_none() || host.ip == h.ip)
            });
            let Some(k) = found else {
                return Err(invalid(format!(
                    "couldn't locate a matching dhcp host entry in network '{net_name}'"
                )));
            };
            dhcp.children.remove(k);
        }
        _ => {
            return Err(Error::new(
                ErrorCode::InvalidArg,
                ErrorDomain::Network,
                format!("unrecognized network update command code {command}"),
            ))
        }
    }
    Ok(())
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
        SECTION_IP_DHCP_HOST => update_dhcp_host(&mut d, command, parent, xml)?,
        _ => {
            return Err(Error::new(
                ErrorCode::OperationUnsupported,
                ErrorDomain::Network,
                format!(
                    "can't update section {section} of network '{}': not supported by this driver",
                    def.name
                ),
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
