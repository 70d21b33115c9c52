// SPDX-License-Identifier: LGPL-2.1-or-later
//! Host interfaces: `<interface>` XML of the interface driver
//! (virInterfaceDefParseString / virInterfaceDefFormat): ethernet, bridge,
//! bond and vlan interfaces, their start mode, MTU, addressing and link.
//!
//! Also the `<link>` element ([`IfLink`]) that node device `net`
//! capabilities share with it.

use crate::error::ConfError;
use crate::xml::{self, escape, Element};

/// libvirt's interface types (virInterfaceType).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IfaceType {
    Ethernet,
    Bridge,
    Bond,
    Vlan,
}

impl IfaceType {
    pub fn as_str(self) -> &'static str {
        match self {
            IfaceType::Ethernet => "ethernet",
            IfaceType::Bridge => "bridge",
            IfaceType::Bond => "bond",
            IfaceType::Vlan => "vlan",
        }
    }

    pub fn parse(s: &str) -> Option<IfaceType> {
        Some(match s {
            "ethernet" => IfaceType::Ethernet,
            "bridge" => IfaceType::Bridge,
            "bond" => IfaceType::Bond,
            "vlan" => IfaceType::Vlan,
            _ => return None,
        })
    }
}

/// The operational states a link reports (virNetDevIfState), by name;
/// index 0 is "no state".
pub const IF_STATES: [&str; 8] = [
    "",
    "unknown",
    "notpresent",
    "down",
    "lowerlayerdown",
    "testing",
    "dormant",
    "up",
];

/// `<link speed='..' state='..'/>`: link speed in Mb/s (0: unknown) and
/// operational state (an [`IF_STATES`] name, empty: none).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IfLink {
    pub speed: u32,
    pub state: String,
}

impl IfLink {
    /// Parses a `<link>` element (virInterfaceLinkParseXML).
    pub fn parse(e: &Element) -> Result<IfLink, ConfError> {
        let state = match e.attr("state") {
            None => String::new(),
            Some(s) if IF_STATES.contains(&s) => s.to_string(),
            Some(s) => return Err(bad_attr("state", "link", s, ".")),
        };
        let speed = match e.attr("speed") {
            None => 0,
            Some(s) => s.trim().parse::<u32>().map_err(|_| {
                bad_attr("speed", "link", s, ". Expected non-negative integer value")
            })?,
        };
        Ok(IfLink { speed, state })
    }

    /// Writes the element at `indent` (nothing when it has neither speed
    /// nor state).
    pub fn format(&self, out: &mut String, indent: usize) {
        if self.speed == 0 && self.state.is_empty() {
            return;
        }
        pad(out, indent);
        out.push_str("<link");
        if self.speed != 0 {
            out.push_str(&format!(" speed='{}'", self.speed));
        }
        if !self.state.is_empty() {
            out.push_str(&format!(" state='{}'", self.state));
        }
        out.push_str("/>\n");
    }
}

/// How an interface is started (virInterfaceStartMode).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartMode {
    None,
    OnBoot,
    Hotplug,
}

/// One `<ip>` of a protocol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpDef {
    pub address: String,
    /// 0: not given.
    pub prefix: i32,
}

/// `<protocol family='ipv4|ipv6'>`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ProtocolDef {
    pub family: String,
    pub autoconf: bool,
    pub dhcp: bool,
    /// `peerdns` of `<dhcp>`: absent, no or yes.
    pub peerdns: Option<bool>,
    pub ips: Vec<IpDef>,
    pub gateway: Option<String>,
}

/// Bond link monitoring.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BondMonitor {
    None,
    Mii {
        freq: i32,
        downdelay: i32,
        updelay: i32,
        carrier: Option<String>,
    },
    Arp {
        interval: i32,
        target: String,
        validate: Option<String>,
    },
}

/// What each interface type adds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IfaceKind {
    Ethernet {
        mac: Option<String>,
    },
    Bridge {
        stp: Option<bool>,
        delay: Option<String>,
        ifaces: Vec<InterfaceDef>,
    },
    Bond {
        mode: Option<String>,
        monitor: BondMonitor,
        ifaces: Vec<InterfaceDef>,
    },
    Vlan {
        tag: String,
        dev: Option<String>,
    },
}

/// An interface definition; subordinate interfaces of bridges and bonds
/// are the same type without start mode, MTU and protocols.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterfaceDef {
    pub name: String,
    pub start: Option<StartMode>,
    /// 0: not given.
    pub mtu: u32,
    pub protocols: Vec<ProtocolDef>,
    pub link: IfLink,
    pub kind: IfaceKind,
}

const BOND_MODES: [&str; 7] = [
    "balance-rr",
    "active-backup",
    "balance-xor",
    "broadcast",
    "802.3ad",
    "balance-tlb",
    "balance-alb",
];

fn bad_attr(attr: &str, elem: &str, value: &str, tail: &str) -> ConfError {
    ConfError::xml_layer(format!(
        "Invalid value for attribute '{attr}' in element '{elem}': '{value}'{tail}"
    ))
}

fn pad(out: &mut String, indent: usize) {
    out.push_str(&" ".repeat(indent));
}

/// libvirt's `virXPathString`: the text, absent when empty.
fn nonempty(s: Option<&str>) -> Option<String> {
    s.filter(|v| !v.is_empty()).map(str::to_string)
}

/// `virXPathInt` on an attribute: Ok(None) when missing, Err(()) when
/// not an integer.
fn xpath_int(v: Option<&str>) -> Result<Option<i32>, ()> {
    match v.filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => s.parse::<i32>().map(Some).map_err(|_| ()),
    }
}

/// C's strtol with base 0 (decimal, 0x hex, 0 octal), as a 32-bit int.
fn parse_int_base0(s: &str) -> Option<i32> {
    let t = s.trim_start();
    let (neg, t) = match t.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let v = if let Some(h) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        i64::from_str_radix(h, 16).ok()?
    } else if t.len() > 1 && t.starts_with('0') {
        i64::from_str_radix(&t[1..], 8).ok()?
    } else {
        t.parse::<i64>().ok()?
    };
    i32::try_from(if neg { -v } else { v }).ok()
}

impl InterfaceDef {
    /// Parses an `<interface>` document.
    pub fn parse_str(text: &str) -> Result<InterfaceDef, ConfError> {
        let root = xml::parse_document(text, "(interface_definition)", "interface")?;
        Self::parse_element(&root, None)
    }

    /// The interface type of this definition.
    pub fn iface_type(&self) -> IfaceType {
        match self.kind {
            IfaceKind::Ethernet { .. } => IfaceType::Ethernet,
            IfaceKind::Bridge { .. } => IfaceType::Bridge,
            IfaceKind::Bond { .. } => IfaceType::Bond,
            IfaceKind::Vlan { .. } => IfaceType::Vlan,
        }
    }

    /// The MAC address of an ethernet interface.
    pub fn mac(&self) -> Option<&str> {
        match &self.kind {
            IfaceKind::Ethernet { mac } => mac.as_deref(),
            _ => None,
        }
    }

    fn parse_element(e: &Element, parent: Option<IfaceType>) -> Result<InterfaceDef, ConfError> {
        let ty = match e.attr("type") {
            None => {
                return Err(ConfError::xml_layer(
                    "Missing required attribute 'type' in element 'interface'",
                ))
            }
            Some(t) => IfaceType::parse(t).ok_or_else(|| bad_attr("type", "interface", t, "."))?,
        };
        let allowed = match parent {
            None => true,
            Some(IfaceType::Bond) => ty == IfaceType::Ethernet,
            Some(IfaceType::Bridge) => ty != IfaceType::Bridge,
            Some(_) => false,
        };
        if !allowed {
            return Err(ConfError::xml(format!(
                "interface has unsupported type '{}'",
                ty.as_str()
            )));
        }
        let name = e
            .attr("name")
            .map(str::to_string)
            .ok_or_else(|| ConfError::xml("interface has no name"))?;
        let mut start = None;
        let mut mtu = 0;
        let mut protocols = Vec::new();
        if parent.is_none() {
            start = match e.child("start").and_then(|s| s.attr("mode")) {
                None => None,
                Some("onboot") => Some(StartMode::OnBoot),
                Some("hotplug") => Some(StartMode::Hotplug),
                Some("none") => Some(StartMode::None),
                Some(m) => return Err(ConfError::xml(format!("unknown interface startmode {m}"))),
            };
            if let Some(s) = e.child("mtu").and_then(|m| m.attr("size")) {
                // An unparsable size fails without a message of its own,
                // as libvirt's.
                mtu = s
                    .parse::<u32>()
                    .map_err(|_| ConfError::xml(format!("invalid mtu size '{s}'")))?;
            }
            if mtu > 100000 {
                return Err(ConfError::xml(
                    "value of the 'size' attribute of 'mtu' element must be at most 100000",
                ));
            }
            for p in e.children_named("protocol") {
                protocols.push(parse_protocol(p)?);
            }
        }
        let link = match (ty, e.child("link")) {
            (IfaceType::Bridge, _) | (_, None) => IfLink::default(),
            (_, Some(l)) => IfLink::parse(l)?,
        };
        let kind = match ty {
            IfaceType::Ethernet => IfaceKind::Ethernet {
                mac: nonempty(e.child("mac").and_then(|m| m.attr("address"))),
            },
            IfaceType::Bridge => {
                let b = e
                    .child("bridge")
                    .ok_or_else(|| ConfError::xml("bridge interface misses the bridge element"))?;
                let stp = match b.attr("stp") {
                    None => None,
                    Some("on") => Some(true),
                    Some("off") => Some(false),
                    Some(v) => {
                        return Err(ConfError::xml(format!(
                            "bridge interface stp should be on or off got {v}"
                        )))
                    }
                };
                let ifaces = b
                    .children_named("interface")
                    .map(|i| Self::parse_element(i, Some(IfaceType::Bridge)))
                    .collect::<Result<_, _>>()?;
                IfaceKind::Bridge {
                    stp,
                    delay: b.attr("delay").map(str::to_string),
                    ifaces,
                }
            }
            IfaceType::Bond => {
                let b = e
                    .child("bond")
                    .ok_or_else(|| ConfError::xml("bond interface misses the bond element"))?;
                parse_bond(b)?
            }
            IfaceType::Vlan => {
                let v = e
                    .child("vlan")
                    .ok_or_else(|| ConfError::xml("vlan interface misses the vlan element"))?;
                let tag = nonempty(v.attr("tag"))
                    .ok_or_else(|| ConfError::xml("vlan interface misses the tag attribute"))?;
                let dev = nonempty(v.child("interface").and_then(|i| i.attr("name")))
                    .ok_or_else(|| ConfError::xml("vlan interface misses name attribute"))?;
                IfaceKind::Vlan {
                    tag,
                    dev: Some(dev),
                }
            }
        };
        Ok(InterfaceDef {
            name,
            start,
            mtu,
            protocols,
            link,
            kind,
        })
    }

    /// The XML libvirt gives for this interface.
    pub fn to_xml(&self) -> String {
        let mut out = String::new();
        self.format(&mut out, 0, true);
        out
    }

    fn format(&self, out: &mut String, indent: usize, top: bool) {
        pad(out, indent);
        out.push_str(&format!(
            "<interface type='{}' name='{}'>\n",
            self.iface_type().as_str(),
            escape(&self.name)
        ));
        let i2 = indent + 2;
        if top {
            if let Some(m) = self.start {
                let m = match m {
                    StartMode::None => "none",
                    StartMode::OnBoot => "onboot",
                    StartMode::Hotplug => "hotplug",
                };
                pad(out, i2);
                out.push_str(&format!("<start mode='{m}'/>\n"));
            }
            if self.mtu != 0 {
                pad(out, i2);
                out.push_str(&format!("<mtu size='{}'/>\n", self.mtu));
            }
            for p in &self.protocols {
                format_protocol(p, out, i2);
            }
        }
        if self.iface_type() != IfaceType::Bridge {
            self.link.format(out, i2);
        }
        match &self.kind {
            IfaceKind::Ethernet { mac } => {
                if let Some(m) = mac {
                    pad(out, i2);
                    out.push_str(&format!("<mac address='{m}'/>\n"));
                }
            }
            IfaceKind::Bridge { stp, delay, ifaces } => {
                pad(out, i2);
                out.push_str("<bridge");
                match stp {
                    Some(true) => out.push_str(" stp='on'"),
                    Some(false) => out.push_str(" stp='off'"),
                    None => {}
                }
                if let Some(d) = delay {
                    out.push_str(&format!(" delay='{d}'"));
                }
                out.push_str(">\n");
                for i in ifaces {
                    i.format(out, i2 + 2, false);
                }
                pad(out, i2);
                out.push_str("</bridge>\n");
            }
            IfaceKind::Bond {
                mode,
                monitor,
                ifaces,
            } => {
                pad(out, i2);
                out.push_str("<bond");
                if let Some(m) = mode {
                    out.push_str(&format!(" mode='{m}'"));
                }
                out.push_str(">\n");
                let i4 = i2 + 2;
                match monitor {
                    BondMonitor::None => {}
                    BondMonitor::Mii {
                        freq,
                        downdelay,
                        updelay,
                        carrier,
                    } => {
                        pad(out, i4);
                        out.push_str(&format!("<miimon freq='{freq}'"));
                        if *downdelay > 0 {
                            out.push_str(&format!(" downdelay='{downdelay}'"));
                        }
                        if *updelay > 0 {
                            out.push_str(&format!(" updelay='{updelay}'"));
                        }
                        if let Some(c) = carrier {
                            out.push_str(&format!(" carrier='{c}'"));
                        }
                        out.push_str("/>\n");
                    }
                    BondMonitor::Arp {
                        interval,
                        target,
                        validate,
                    } => {
                        pad(out, i4);
                        out.push_str(&format!("<arpmon interval='{interval}' target='{target}'"));
                        if let Some(v) = validate {
                            out.push_str(&format!(" validate='{v}'"));
                        }
                        out.push_str("/>\n");
                    }
                }
                for i in ifaces {
                    i.format(out, i4, false);
                }
                pad(out, i2);
                out.push_str("</bond>\n");
            }
            IfaceKind::Vlan { tag, dev } => {
                pad(out, i2);
                out.push_str(&format!("<vlan tag='{tag}'"));
                match dev {
                    Some(d) => {
                        out.push_str(">\n");
                        pad(out, i2 + 2);
                        out.push_str(&format!("<interface name='{d}'/>\n"));
                        pad(out, i2);
                        out.push_str("</vlan>\n");
                    }
                    None => out.push_str("/>\n"),
                }
            }
        }
        pad(out, indent);
        out.push_str("</interface>\n");
    }
}

fn parse_protocol(p: &Element) -> Result<ProtocolDef, ConfError> {
    let family = p
        .attr("family")
        .ok_or_else(|| ConfError::xml("protocol misses the family attribute"))?;
    if family != "ipv4" && family != "ipv6" {
        return Err(ConfError::xml(format!(
            "unsupported protocol family '{family}'"
        )));
    }
    let mut def = ProtocolDef {
        family: family.to_string(),
        gateway: nonempty(p.child("route").and_then(|r| r.attr("gateway"))),
        ..Default::default()
    };
    if family == "ipv6" && p.child("autoconf").is_some() {
        def.autoconf = true;
    }
    if let Some(d) = p.child("dhcp") {
        def.dhcp = true;
        def.peerdns = match d.attr("peerdns") {
            None => None,
            Some("yes") => Some(true),
            Some("no") => Some(false),
            Some(v) => return Err(bad_attr("peerdns", "dhcp", v, ".")),
        };
    }
    for ip in p.children_named("ip") {
        let Some(address) = ip.attr("address") else {
            continue;
        };
        let prefix = match ip.attr("prefix") {
            None => 0,
            Some(v) => parse_int_base0(v)
                .ok_or_else(|| bad_attr("prefix", "ip", v, ". Expected integer value"))?,
        };
        def.ips.push(IpDef {
            address: address.to_string(),
            prefix,
        });
    }
    Ok(def)
}

fn format_protocol(p: &ProtocolDef, out: &mut String, indent: usize) {
    pad(out, indent);
    out.push_str(&format!("<protocol family='{}'>\n", p.family));
    let i2 = indent + 2;
    if p.autoconf {
        pad(out, i2);
        out.push_str("<autoconf/>\n");
    }
    if p.dhcp {
        pad(out, i2);
        out.push_str(match p.peerdns {
            Some(false) => "<dhcp peerdns='no'/>\n",
            Some(true) => "<dhcp peerdns='yes'/>\n",
            None => "<dhcp/>\n",
        });
    }
    for ip in &p.ips {
        pad(out, i2);
        out.push_str(&format!("<ip address='{}'", ip.address));
        if ip.prefix != 0 {
            out.push_str(&format!(" prefix='{}'", ip.prefix));
        }
        out.push_str("/>\n");
    }
    if let Some(g) = &p.gateway {
        pad(out, i2);
        out.push_str(&format!("<route gateway='{g}'/>\n"));
    }
    pad(out, indent);
    out.push_str("</protocol>\n");
}

fn parse_bond(b: &Element) -> Result<IfaceKind, ConfError> {
    let mode = match b.attr("mode").filter(|m| !m.is_empty()) {
        None => None,
        Some(m) if BOND_MODES.contains(&m) => Some(m.to_string()),
        Some(m) => return Err(ConfError::xml(format!("unknown bonding mode {m}"))),
    };
    let ifaces = b
        .children_named("interface")
        .map(|i| InterfaceDef::parse_element(i, Some(IfaceType::Bond)))
        .collect::<Result<_, _>>()?;
    let monitor = if let Some(m) = b.child("miimon") {
        let freq = match xpath_int(m.attr("freq")) {
            Ok(Some(f)) => f,
            _ => {
                return Err(ConfError::xml(
                    "bond interface miimon freq missing or invalid",
                ))
            }
        };
        let downdelay = xpath_int(m.attr("downdelay"))
            .map_err(|_| ConfError::xml("bond interface miimon downdelay invalid"))?
            .unwrap_or(0);
        let updelay = xpath_int(m.attr("updelay"))
            .map_err(|_| ConfError::xml("bond interface miimon updelay invalid"))?
            .unwrap_or(0);
        let carrier = match m.attr("carrier").filter(|c| !c.is_empty()) {
            None => None,
            Some(c @ ("ioctl" | "netif")) => Some(c.to_string()),
            Some(c) => return Err(ConfError::xml(format!("unknown mii bonding carrier {c}"))),
        };
        BondMonitor::Mii {
            freq,
            downdelay,
            updelay,
            carrier,
        }
    } else if let Some(a) = b.child("arpmon") {
        let interval = match xpath_int(a.attr("interval")) {
            Ok(Some(f)) => f,
            _ => {
                return Err(ConfError::xml(
                    "bond interface arpmon interval missing or invalid",
                ))
            }
        };
        let target = nonempty(a.attr("target"))
            .ok_or_else(|| ConfError::xml("bond interface arpmon target missing"))?;
        let validate = match a.attr("validate").filter(|c| !c.is_empty()) {
            None => None,
            Some(c @ ("active" | "backup" | "all")) => Some(c.to_string()),
            Some(c) => return Err(ConfError::xml(format!("unknown arp bonding validate {c}"))),
        };
        BondMonitor::Arp {
            interval,
            target,
            validate,
        }
    } else {
        BondMonitor::None
    };
    Ok(IfaceKind::Bond {
        mode,
        monitor,
        ifaces,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        InterfaceDef::parse_str(text)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_else(|| panic!("{text} parsed"))
    }

    #[test]
    fn refusals_use_libvirts_words() {
        assert_eq!(
            err("<interface name='x'/>"),
            "XML error: Missing required attribute 'type' in element 'interface'"
        );
        assert_eq!(
            err("<interface type='ethernet'/>"),
            "XML error: interface has no name"
        );
        assert_eq!(
            err("<interface type='bridge' name='b'/>"),
            "XML error: bridge interface misses the bridge element"
        );
        assert_eq!(
            err("<interface type='bond' name='b'><bond><interface type='bridge' name='x'><bridge/></interface></bond></interface>"),
            "XML error: interface has unsupported type 'bridge'"
        );
        assert_eq!(
            err("<interface type='vlan' name='v'><vlan tag='1'/></interface>"),
            "XML error: vlan interface misses name attribute"
        );
        assert_eq!(
            err("<interface type='ethernet' name='e'><mtu size='100001'/></interface>"),
            "XML error: value of the 'size' attribute of 'mtu' element must be at most 100000"
        );
    }

    #[test]
    fn link_is_formatted_only_with_content() {
        let d = InterfaceDef::parse_str(
            "<interface type='ethernet' name='eth0'><link speed='1000' state='up'/><mac address='52:54:00:00:00:01'/></interface>",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            d.to_xml(),
            "<interface type='ethernet' name='eth0'>\n  <link speed='1000' state='up'/>\n  <mac address='52:54:00:00:00:01'/>\n</interface>\n"
        );
    }
}
