// SPDX-License-Identifier: LGPL-2.1-or-later
//! Virtual network definitions: `<network>` XML, typed.
//!
//! Parsing follows libvirt's virNetworkDefParseXML: the same order of
//! checks and the same error codes and details (the caller adds the
//! error domain); formatting follows virNetworkDefFormatBuf byte for
//! byte, including the `dnsmasq:options` namespace extension the network
//! driver registers. Submodules hold what networks share with ports and
//! guest interfaces ([`netdev`]), address arithmetic ([`addr`]), network
//! ports ([`port`]) and virNetworkUpdate's section edits ([`update`]).

pub mod addr;
pub mod netdev;
pub mod port;
pub mod update;

use std::net::IpAddr;

use crate::error::{ConfError, ErrorCode};
use crate::uuid::Uuid;
use crate::xml::{self, Element};
use netdev::{
    pad, prop_tristate, xpath_attr, yes_no, Bandwidth, Mac, PciAddress, Tristate, VirtualPort, Vlan,
};

/// The namespace of `<dnsmasq:options>`.
pub const DNSMASQ_NAMESPACE: &str = "http://libvirt.org/schemas/network/dnsmasq/1.0";

/// Format-time options for networks.
#[derive(Debug, Clone, Copy, Default)]
pub struct NetworkFormatFlags {
    /// VIR_NETWORK_XML_INACTIVE.
    pub inactive: bool,
}

/// virNetworkForwardType.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ForwardType {
    /// Isolated: no `<forward>`.
    #[default]
    None,
    Nat,
    Route,
    Open,
    Bridge,
    Private,
    Vepa,
    Passthrough,
    Hostdev,
}

impl ForwardType {
    /// libvirt's name.
    pub fn as_str(self) -> &'static str {
        match self {
            ForwardType::None => "none",
            ForwardType::Nat => "nat",
            ForwardType::Route => "route",
            ForwardType::Open => "open",
            ForwardType::Bridge => "bridge",
            ForwardType::Private => "private",
            ForwardType::Vepa => "vepa",
            ForwardType::Passthrough => "passthrough",
            ForwardType::Hostdev => "hostdev",
        }
    }

    /// Parses libvirt's name.
    pub fn parse(s: &str) -> Option<ForwardType> {
        Some(match s {
            "none" => ForwardType::None,
            "nat" => ForwardType::Nat,
            "route" => ForwardType::Route,
            "open" => ForwardType::Open,
            "bridge" => ForwardType::Bridge,
            "private" => ForwardType::Private,
            "vepa" => ForwardType::Vepa,
            "passthrough" => ForwardType::Passthrough,
            "hostdev" => ForwardType::Hostdev,
            _ => return None,
        })
    }

    /// Modes whose network has a bridge libvirt creates (none, nat,
    /// route, open).
    pub fn has_own_bridge(self) -> bool {
        matches!(
            self,
            ForwardType::None | ForwardType::Nat | ForwardType::Route | ForwardType::Open
        )
    }
}

/// virNetworkForwardDriverNameType (`<driver name>` of hostdev mode).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ForwardDriverName {
    Kvm,
    Vfio,
}

impl ForwardDriverName {
    /// libvirt's name.
    pub fn as_str(self) -> &'static str {
        match self {
            ForwardDriverName::Kvm => "kvm",
            ForwardDriverName::Vfio => "vfio",
        }
    }

    /// Parses a name other than "default".
    pub fn parse(s: &str) -> Option<ForwardDriverName> {
        match s {
            "kvm" => Some(ForwardDriverName::Kvm),
            "vfio" => Some(ForwardDriverName::Vfio),
            _ => None,
        }
    }
}

/// One device of a forward pool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ForwardIfDevice {
    /// A host network device.
    Netdev(String),
    /// A PCI function.
    Pci(PciAddress),
}

/// `<forward><interface>` / `<address>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForwardIf {
    pub device: ForwardIfDevice,
    /// Guest connections using it (live only, kept by the driver).
    pub connections: i32,
}

/// `<forward>`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ForwardDef {
    pub mode: ForwardType,
    pub managed: bool,
    pub driver: Option<ForwardDriverName>,
    pub ifs: Vec<ForwardIf>,
    /// `<pf dev>` (at most one).
    pub pfs: Vec<String>,
    /// `<nat><address start end>`.
    pub nat_addr: Option<(IpAddr, IpAddr)>,
    /// `<nat><port start end>`.
    pub nat_port: (u32, u32),
    /// `<nat ipv6>`.
    pub nat_ipv6: Tristate,
}

impl ForwardDef {
    /// The `n`th pool device if it is a network device.
    pub fn netdev(&self, n: usize) -> Option<&str> {
        match self.ifs.get(n).map(|i| &i.device) {
            Some(ForwardIfDevice::Netdev(d)) => Some(d),
            _ => None,
        }
    }
}

/// `<bridge>`'s `macTableManager`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MacTableManager {
    Kernel,
    Libvirt,
}

impl MacTableManager {
    /// libvirt's name.
    pub fn as_str(self) -> &'static str {
        match self {
            MacTableManager::Kernel => "kernel",
            MacTableManager::Libvirt => "libvirt",
        }
    }

    /// Parses a name other than "default".
    pub fn parse(s: &str) -> Option<MacTableManager> {
        match s {
            "kernel" => Some(MacTableManager::Kernel),
            "libvirt" => Some(MacTableManager::Libvirt),
            _ => None,
        }
    }
}

/// Unit of a DHCP lease time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeaseUnit {
    Seconds,
    Minutes,
    Hours,
}

impl LeaseUnit {
    /// libvirt's name.
    pub fn as_str(self) -> &'static str {
        match self {
            LeaseUnit::Seconds => "seconds",
            LeaseUnit::Minutes => "minutes",
            LeaseUnit::Hours => "hours",
        }
    }
}

/// `<lease expiry unit>`; expiry 0 is infinite.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeaseTime {
    pub expiry: u64,
    pub unit: LeaseUnit,
}

/// `<dhcp><range>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DhcpRange {
    pub start: IpAddr,
    pub end: IpAddr,
    pub lease: Option<LeaseTime>,
}

/// `<dhcp><host>`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DhcpHost {
    /// As written (libvirt keeps the text).
    pub mac: Option<String>,
    pub id: Option<String>,
    pub name: Option<String>,
    pub ip: Option<IpAddr>,
    pub lease: Option<LeaseTime>,
}

/// `<ip>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpDef {
    /// `family` as written (ipv4 / ipv6).
    pub family: Option<String>,
    pub address: IpAddr,
    pub netmask: Option<IpAddr>,
    /// 0 when not given.
    pub prefix: u32,
    pub local_ptr: Tristate,
    pub ranges: Vec<DhcpRange>,
    pub hosts: Vec<DhcpHost>,
    pub tftproot: Option<String>,
    pub bootfile: Option<String>,
    pub bootserver: Option<IpAddr>,
}

impl IpDef {
    /// virNetworkIPDefPrefix: the prefix the definition implies, -1 when
    /// none can be derived.
    pub fn effective_prefix(&self) -> i32 {
        addr::ip_prefix(Some(&self.address), self.netmask.as_ref(), self.prefix)
    }

    /// virNetworkIPDefNetmask.
    pub fn effective_netmask(&self) -> Option<IpAddr> {
        if let Some(m @ IpAddr::V4(_)) = self.netmask {
            return Some(m);
        }
        u32::try_from(self.effective_prefix())
            .ok()
            .and_then(|p| addr::prefix_to_netmask(&self.address, p))
    }

    /// Has DHCP ranges or hosts.
    pub fn has_dhcp(&self) -> bool {
        !self.ranges.is_empty() || !self.hosts.is_empty()
    }
}

/// `<route>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub family: Option<String>,
    pub address: IpAddr,
    pub netmask: Option<IpAddr>,
    pub prefix: Option<u32>,
    pub gateway: IpAddr,
    pub metric: Option<u32>,
}

/// `<dns><forwarder>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsForwarder {
    pub addr: Option<IpAddr>,
    pub domain: Option<String>,
}

/// `<dns><host>`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DnsHost {
    pub ip: Option<IpAddr>,
    pub names: Vec<String>,
}

/// `<dns><srv>`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DnsSrv {
    pub service: Option<String>,
    pub protocol: Option<String>,
    pub domain: Option<String>,
    pub target: Option<String>,
    pub port: u32,
    pub priority: u32,
    pub weight: u32,
}

/// `<dns><txt>`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DnsTxt {
    pub name: String,
    pub value: Option<String>,
}

/// `<dns>`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DnsDef {
    pub enable: Tristate,
    pub forward_plain_names: Tristate,
    pub forwarders: Vec<DnsForwarder>,
    pub hosts: Vec<DnsHost>,
    pub srvs: Vec<DnsSrv>,
    pub txts: Vec<DnsTxt>,
}

/// `<portgroup>`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PortGroup {
    pub name: String,
    pub is_default: bool,
    pub trust_guest_rx_filters: Tristate,
    pub virtualport: Option<VirtualPort>,
    pub bandwidth: Option<Bandwidth>,
    pub vlan: Option<Vlan>,
}

/// A network definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkDef {
    pub name: String,
    pub uuid: Uuid,
    /// Guest connections (live only, kept by the driver; never parsed).
    pub connections: i32,
    /// `ipv6='yes'`: guest-to-guest IPv6 without a gateway address.
    pub ipv6nogw: bool,
    pub trust_guest_rx_filters: Tristate,
    pub forward: ForwardDef,
    /// Bridge device name.
    pub bridge: Option<String>,
    /// Firewalld zone.
    pub bridge_zone: Option<String>,
    /// Spanning tree (default on).
    pub stp: bool,
    /// Forward delay.
    pub delay: u64,
    pub mac_table_manager: Option<MacTableManager>,
    /// Bridge MAC address.
    pub mac: Option<Mac>,
    /// 0 when not given.
    pub mtu: u32,
    /// `<domain name>`.
    pub domain: Option<String>,
    pub domain_local_only: Tristate,
    pub dns: DnsDef,
    pub vlan: Option<Vlan>,
    pub bandwidth: Option<Bandwidth>,
    /// `<port isolated>`.
    pub isolated_port: Tristate,
    pub ips: Vec<IpDef>,
    pub routes: Vec<Route>,
    pub virtualport: Option<VirtualPort>,
    pub portgroups: Vec<PortGroup>,
    /// `<metadata>` kept as XML.
    pub metadata: Option<Element>,
    /// `<dnsmasq:options>` values.
    pub dnsmasq_options: Vec<String>,
}

/// Characters a DNS SRV protocol may use.
fn is_protocol_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-+/".contains(c)
}

/// Characters a DNS SRV service may use.
fn is_service_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "_-+/*".contains(c)
}

/// Longest DNS SRV service name.
const DNS_RECORD_LENGTH_SRV: usize = 512 - 30;

fn parse_ip_attr(v: &str) -> Option<IpAddr> {
    addr::parse_opt(v)
}

fn parse_lease(e: &Element) -> Result<Option<LeaseTime>, ConfError> {
    let Some(expiry) = netdev::prop_uint(e, "expiry", 0, u64::MAX, false)? else {
        return Ok(None);
    };
    let unit = match e.attr("unit") {
        None => LeaseUnit::Minutes,
        Some("seconds") => LeaseUnit::Seconds,
        Some("minutes") => LeaseUnit::Minutes,
        Some("hours") => LeaseUnit::Hours,
        Some(u) => {
            return Err(ConfError::xml_layer(format!(
                "Invalid value for attribute 'unit' in element '{}': '{u}'.",
                e.local_name()
            )))
        }
    };
    if expiry > 0
        && ((unit == LeaseUnit::Seconds && expiry < 120)
            || (unit == LeaseUnit::Minutes && expiry < 2))
    {
        return Err(ConfError::unsupported(
            "The minimum lease time should be greater than 2 minutes",
        ));
    }
    Ok(Some(LeaseTime { expiry, unit }))
}

pub(crate) fn parse_range(net: &str, ip: &IpDef, e: &Element) -> Result<DhcpRange, ConfError> {
    let start = e.attr("start").ok_or_else(|| {
        ConfError::xml(format!(
            "Missing 'start' attribute in dhcp range for network '{net}'"
        ))
    })?;
    let start = addr::parse(start)?;
    let end = e.attr("end").ok_or_else(|| {
        ConfError::xml(format!(
            "Missing 'end' attribute in dhcp range for network '{net}'"
        ))
    })?;
    let end = addr::parse(end)?;
    addr::range_size(&start, &end, Some((&ip.address, ip.effective_prefix())))?;
    let lease = match e.child("lease") {
        Some(l) => parse_lease(l)?,
        None => None,
    };
    Ok(DhcpRange { start, end, lease })
}

/// virNetworkDHCPHostDefParseXML; `partial` accepts any one of mac, name
/// and ip (the match of an update's delete).
pub fn parse_dhcp_host(
    net: &str,
    ip_def: &IpDef,
    e: &Element,
    partial: bool,
) -> Result<DhcpHost, ConfError> {
    let v6 = ip_def.address.is_ipv6();
    let mac = e.attr("mac");
    if let Some(m) = mac {
        if v6 {
            return Err(ConfError::xml(format!(
                "Invalid to specify MAC address '{m}' in network '{net}' IPv6 static host definition"
            )));
        }
        let parsed = Mac::parse(m).ok_or_else(|| {
            ConfError::xml(format!("Cannot parse MAC address '{m}' in network '{net}'"))
        })?;
        if parsed.is_multicast() {
            return Err(ConfError::xml(format!(
                "expected unicast mac address, found multicast '{m}' in network '{net}'"
            )));
        }
    }
    let id = e.attr("id");
    if let Some(id) = id {
        if let Some(c) = id.chars().find(|c| !(c.is_ascii_hexdigit() || *c == ':')) {
            return Err(ConfError::xml(format!(
                "Invalid character '{c}' in id '{id}' of network '{net}'"
            )));
        }
    }
    let name = e.attr("name");
    if let Some(n) = name {
        if !n.chars().next().is_some_and(|c| c.is_ascii_alphanumeric()) {
            return Err(ConfError::xml(format!(
                "Cannot use host name '{n}' in network '{net}'"
            )));
        }
    }
    let ip = match e.attr("ip") {
        Some(a) => Some(parse_ip_attr(a).ok_or_else(|| {
            ConfError::xml(format!(
                "Invalid IP address in static host definition for network '{net}'"
            ))
        })?),
        None => None,
    };
    if partial {
        if mac.is_none() && name.is_none() && ip.is_none() {
            return Err(ConfError::xml(format!(
                "At least one of name, mac, or ip attribute must be specified for static host definition in network '{net}'"
            )));
        }
    } else {
        if v6 {
            if id.is_none() && name.is_none() {
                return Err(ConfError::xml(format!(
                    "Static host definition in IPv6 network '{net}' must have id or name attribute"
                )));
            }
        } else if mac.is_none() && name.is_none() {
            return Err(ConfError::xml(format!(
                "Static host definition in IPv4 network '{net}' must have mac or name attribute"
            )));
        }
        if ip.is_none() {
            return Err(ConfError::xml(format!(
                "Missing IP address in static host definition for network '{net}'"
            )));
        }
    }
    let lease = match e.child("lease") {
        Some(l) => parse_lease(l)?,
        None => None,
    };
    Ok(DhcpHost {
        mac: mac.map(str::to_string),
        id: id.map(str::to_string),
        name: name.map(str::to_string),
        ip,
        lease,
    })
}

fn parse_ip(net: &str, e: &Element) -> Result<IpDef, ConfError> {
    let family = xpath_attr(e, "family").map(str::to_string);
    let address_s = xpath_attr(e, "address").ok_or_else(|| {
        ConfError::xml(format!(
            "Missing required address attribute in network '{net}'"
        ))
    })?;
    let address = parse_ip_attr(address_s).ok_or_else(|| {
        ConfError::xml(format!("Invalid address '{address_s}' in network '{net}'"))
    })?;
    let netmask_s = xpath_attr(e, "netmask");
    let netmask =
        match netmask_s {
            Some(m) => Some(parse_ip_attr(m).ok_or_else(|| {
                ConfError::xml(format!("Invalid netmask '{m}' in network '{net}'"))
            })?),
            None => None,
        };
    let prefix = netdev::prop_uint(e, "prefix", 10, u32::MAX as u64, false)?.unwrap_or(0) as u32;
    let local_ptr = prop_tristate(e, "localPtr")?;
    match family.as_deref() {
        None | Some("ipv4") => {
            if !address.is_ipv4() {
                return Err(ConfError::unsupported(format!(
                    "{} family specified for non-IPv4 address '{address_s}' in network '{net}'",
                    if family.is_none() { "no" } else { "ipv4" }
                )));
            }
            if let (Some(ms), Some(m)) = (netmask_s, &netmask) {
                if !m.is_ipv4() {
                    return Err(ConfError::unsupported(format!(
                        "Invalid netmask '{ms}' for address '{address_s}' in network '{net}' (both must be IPv4)"
                    )));
                }
                if prefix > 0 {
                    return Err(ConfError::unsupported(format!(
                        "Network '{net}' IP address cannot have both a prefix and a netmask"
                    )));
                }
            } else if prefix > 32 {
                return Err(ConfError::unsupported(format!(
                    "Invalid IPv4 prefix '{prefix}' in network '{net}'"
                )));
            }
        }
        Some("ipv6") => {
            if !address.is_ipv6() {
                return Err(ConfError::unsupported(format!(
                    "Family 'ipv6' specified for non-IPv6 address '{address_s}' in network '{net}'"
                )));
            }
            if netmask_s.is_some() {
                return Err(ConfError::unsupported(format!(
                    "netmask not allowed for IPv6 address '{address_s}' in network '{net}'"
                )));
            }
            if prefix > 128 {
                return Err(ConfError::unsupported(format!(
                    "Invalid IPv6 prefix '{prefix}' in network '{net}'"
                )));
            }
        }
        Some(f) => {
            return Err(ConfError::xml(format!(
                "Unrecognized family '{f}' in network '{net}'"
            )))
        }
    }
    let mut ip = IpDef {
        family,
        address,
        netmask,
        prefix,
        local_ptr,
        ranges: Vec::new(),
        hosts: Vec::new(),
        tftproot: None,
        bootfile: None,
        bootserver: None,
    };
    if let Some(dhcp) = e.child("dhcp") {
        for r in dhcp.children_named("range") {
            let range = parse_range(net, &ip, r)?;
            ip.ranges.push(range);
        }
        for h in dhcp.children_named("host") {
            let host = parse_dhcp_host(net, &ip, h, false)?;
            ip.hosts.push(host);
        }
        if let Some(b) = dhcp.child("bootp") {
            if ip.address.is_ipv4() {
                let file = b.attr("file").ok_or_else(|| {
                    ConfError::xml_layer("Missing required attribute 'file' in element 'bootp'")
                })?;
                ip.bootfile = Some(file.to_string());
                if let Some(s) = b.attr("server") {
                    ip.bootserver = Some(addr::parse(s)?);
                }
            }
        }
    }
    if let Some(t) = e.child("tftp") {
        if !ip.address.is_ipv4() {
            return Err(ConfError::unsupported(format!(
                "Unsupported <tftp> element in an IPv6 element in network '{net}'"
            )));
        }
        ip.tftproot = xpath_attr(t, "root").map(str::to_string);
    }
    Ok(ip)
}

fn parse_route(net: &str, e: &Element) -> Result<Route, ConfError> {
    let family = e.attr("family");
    let address = e.attr("address");
    let netmask = e.attr("netmask");
    let gateway = e.attr("gateway");
    let prefix = netdev::prop_uint(e, "prefix", 10, u32::MAX as u64, false)?.map(|p| p as u32);
    let metric = netdev::prop_uint(e, "metric", 10, u32::MAX as u64, true)?.map(|p| p as u32);
    let x = |m: String| ConfError::xml(format!("{net}: {m}"));
    let address_s = address
        .ok_or_else(|| x("Missing required address attribute in route definition".into()))?;
    let gateway_s = gateway
        .ok_or_else(|| x("Missing required gateway attribute in route definition".into()))?;
    let address = parse_ip_attr(address_s).ok_or_else(|| {
        x(format!(
            "Bad network address '{address_s}' in route definition"
        ))
    })?;
    let gateway = parse_ip_attr(gateway_s).ok_or_else(|| {
        x(format!(
            "Bad gateway address '{gateway_s}' in route definition"
        ))
    })?;
    let mut mask = None;
    let p = prefix.unwrap_or(0);
    match family {
        None | Some("ipv4") => {
            let which = if family.is_none() { "No" } else { "IPv4" };
            if !address.is_ipv4() {
                return Err(x(format!(
                    "{which} family specified for non-IPv4 address '{address_s}' in route definition"
                )));
            }
            if !gateway.is_ipv4() {
                return Err(x(format!(
                    "{which} family specified for non-IPv4 gateway '{address_s}' in route definition"
                )));
            }
            if let Some(ms) = netmask {
                let m = parse_ip_attr(ms)
                    .ok_or_else(|| x(format!("Bad netmask address '{ms}' in route definition")))?;
                if !m.is_ipv4() {
                    return Err(x(format!(
                        "Invalid netmask '{ms}' for address '{address_s}' (both must be IPv4)"
                    )));
                }
                if prefix.is_some() {
                    return Err(x(
                        "Route definition cannot have both a prefix and a netmask".into(),
                    ));
                }
                mask = Some(m);
            }
            if p > 32 {
                return Err(x(format!(
                    "Invalid prefix {p} specified in route definition, must be 0 - 32"
                )));
            }
        }
        Some("ipv6") => {
            if !address.is_ipv6() {
                return Err(x(format!(
                    "ipv6 family specified for non-IPv6 address '{address_s}' in route definition"
                )));
            }
            if netmask.is_some() {
                return Err(x(format!(
                    "Specifying netmask invalid for IPv6 address '{address_s}' in route definition"
                )));
            }
            if !gateway.is_ipv6() {
                return Err(x(format!(
                    "ipv6 specified for non-IPv6 gateway address '{gateway_s}' in route definition"
                )));
            }
            if p > 128 {
                return Err(x(format!(
                    "Invalid prefix {p} specified in route definition, must be 0 - 128"
                )));
            }
        }
        Some(f) => return Err(x(format!("Unrecognized family '{f}' in route definition"))),
    }
    let masked = match &mask {
        Some(m) => addr::mask(&address, m),
        None => addr::mask_by_prefix(&address, p),
    };
    if masked != Some(address) {
        return Err(x(format!(
            "Address '{address_s}' in route definition is not a network address"
        )));
    }
    Ok(Route {
        family: family.map(str::to_string),
        address,
        netmask: mask,
        prefix,
        gateway,
        metric,
    })
}

/// virNetworkDNSHostDefParseXML.
pub fn parse_dns_host(net: &str, e: &Element, partial: bool) -> Result<DnsHost, ConfError> {
    let detail = |m: String| ConfError::new(ErrorCode::XmlDetail, m);
    let ip_s = e.attr("ip");
    if ip_s.is_none() && !partial {
        return Err(detail(format!(
            "Missing IP address in network '{net}' DNS HOST record"
        )));
    }
    let ip = match ip_s {
        Some(s) => Some(parse_ip_attr(s).ok_or_else(|| {
            detail(format!(
                "Invalid IP address in network '{net}' DNS HOST record"
            ))
        })?),
        None => None,
    };
    let mut names = Vec::new();
    for h in e.children_named("hostname") {
        if h.children.is_empty() {
            continue;
        }
        let n = h.text();
        if n.is_empty() {
            return Err(detail(format!(
                "Missing hostname in network '{net}' DNS HOST record"
            )));
        }
        names.push(n);
    }
    if names.is_empty() && !partial {
        return Err(detail(format!(
            "Missing hostname in network '{net}' DNS HOST record"
        )));
    }
    if ip.is_none() && names.is_empty() {
        return Err(detail(format!(
            "Missing ip and hostname in network '{net}' DNS HOST record"
        )));
    }
    Ok(DnsHost { ip, names })
}

/// virNetworkDNSSrvDefParseXML.
pub fn parse_dns_srv(net: &str, e: &Element, partial: bool) -> Result<DnsSrv, ConfError> {
    let detail = |m: String| ConfError::new(ErrorCode::XmlDetail, m);
    let service = e.attr("service").map(str::to_string);
    if service.is_none() && !partial {
        return Err(detail(format!(
            "missing required service attribute in DNS SRV record of network '{net}'"
        )));
    }
    let svc = service.clone().unwrap_or_else(|| "(null)".into());
    if let Some(s) = &service {
        if s.len() > DNS_RECORD_LENGTH_SRV {
            return Err(detail(format!(
                "service attribute '{s}' in network '{net}' is too long, limit is {DNS_RECORD_LENGTH_SRV} bytes"
            )));
        }
        if !s.chars().all(is_service_char) {
            return Err(detail(format!(
                "invalid character in service attribute '{s}' in DNS SRV record of network '{net}'"
            )));
        }
    }
    let protocol = e.attr("protocol").map(str::to_string);
    if protocol.is_none() && !partial {
        return Err(detail(format!(
            "missing required protocol attribute in DNS SRV record '{svc}' of network '{net}'"
        )));
    }
    if let Some(p) = &protocol {
        if !p.chars().all(is_protocol_char) {
            return Err(detail(format!(
                "invalid character in protocol attribute '{p}' in DNS SRV record of network '{net}'"
            )));
        }
    }
    let domain = e.attr("domain").map(str::to_string);
    let target = e.attr("target").map(str::to_string);
    // virXPathUInt: empty or missing is "absent", garbage is invalid.
    let num = |name: &str, what: &str, max: u32, invalid_word: &str| -> Result<u32, ConfError> {
        let Some(v) = xpath_attr(e, name) else {
            return Ok(0);
        };
        let parsed = netdev::strtoul(v, 10, true, u32::MAX as u64);
        if parsed.is_ok() && target.is_none() {
            return Err(detail(format!(
                "DNS SRV {what} attribute not permitted without target for service '{svc}' in network '{net}'"
            )));
        }
        match parsed {
            Ok(n) if n as u32 <= max && (name != "port" || n >= 1) => Ok(n as u32),
            _ => Err(detail(format!(
                "{invalid_word} DNS SRV {what} attribute for service '{svc}' in network '{net}'"
            ))),
        }
    };
    let port = num("port", "port", 65535, "invalid")?;
    let priority = num("priority", "priority", 65535, "Invalid")?;
    let weight = num("weight", "weight", 65535, "invalid")?;
    Ok(DnsSrv {
        service,
        protocol,
        domain,
        target,
        port,
        priority,
        weight,
    })
}

/// virNetworkDNSTxtDefParseXML.
pub fn parse_dns_txt(net: &str, e: &Element, partial: bool) -> Result<DnsTxt, ConfError> {
    let detail = |m: String| ConfError::new(ErrorCode::XmlDetail, m);
    let name = e.attr("name").ok_or_else(|| {
        detail(format!(
            "missing required name attribute in DNS TXT record of network {net}"
        ))
    })?;
    if name.contains([' ', ',']) {
        return Err(detail(format!(
            "prohibited character in DNS TXT record name '{name}' of network {net}"
        )));
    }
    let value = e.attr("value");
    if value.is_none() && !partial {
        return Err(detail(format!(
            "missing required value attribute in DNS TXT record named '{name}' of network {net}"
        )));
    }
    Ok(DnsTxt {
        name: name.to_string(),
        value: value.map(str::to_string),
    })
}

fn parse_dns(net: &str, e: &Element) -> Result<DnsDef, ConfError> {
    let mut dns = DnsDef {
        enable: prop_tristate(e, "enable")?,
        forward_plain_names: prop_tristate(e, "forwardPlainNames")?,
        ..Default::default()
    };
    for f in e.children_named("forwarder") {
        let addr_s = f.attr("addr");
        let a = match addr_s {
            Some(s) => Some(parse_ip_attr(s).ok_or_else(|| {
                ConfError::xml(format!(
                    "Invalid forwarder IP address '{s}' in network '{net}'"
                ))
            })?),
            None => None,
        };
        let domain = f.attr("domain").map(str::to_string);
        if addr_s.is_none() && domain.is_none() {
            return Err(ConfError::xml(
                "Invalid forwarder element, must contain at least one of addr or domain",
            ));
        }
        dns.forwarders.push(DnsForwarder { addr: a, domain });
    }
    for h in e.children_named("host") {
        dns.hosts.push(parse_dns_host(net, h, false)?);
    }
    for s in e.children_named("srv") {
        dns.srvs.push(parse_dns_srv(net, s, false)?);
    }
    for t in e.children_named("txt") {
        dns.txts.push(parse_dns_txt(net, t, false)?);
    }
    if dns.enable == Some(false)
        && !(dns.forwarders.is_empty()
            && dns.hosts.is_empty()
            && dns.srvs.is_empty()
            && dns.txts.is_empty())
    {
        return Err(ConfError::xml(format!(
            "Extra data in disabled network '{net}'"
        )));
    }
    Ok(dns)
}

/// virNetworkPortGroupParseXML.
pub(crate) fn parse_portgroup(e: &Element) -> Result<PortGroup, ConfError> {
    let name = xpath_attr(e, "name")
        .ok_or_else(|| ConfError::xml("Missing required name attribute in portgroup"))?;
    let is_default = xpath_attr(e, "default").is_some_and(|d| d.eq_ignore_ascii_case("yes"));
    let trust = prop_tristate(e, "trustGuestRxFilters")?;
    let virtualport = e
        .child("virtualport")
        .map(|v| VirtualPort::parse(v, false))
        .transpose()?;
    let bandwidth = match e.child("bandwidth") {
        Some(b) => Bandwidth::parse(b, false, false)?.0,
        None => None,
    };
    let vlan = e.child("vlan").map(Vlan::parse).transpose()?;
    Ok(PortGroup {
        name: name.to_string(),
        is_default,
        trust_guest_rx_filters: trust,
        virtualport,
        bandwidth,
        vlan,
    })
}

fn parse_forward_nat(net: &str, e: &Element, fwd: &mut ForwardDef) -> Result<(), ConfError> {
    if fwd.mode != ForwardType::Nat {
        return Err(ConfError::xml(format!(
            "The <nat> element can only be used when <forward> 'mode' is 'nat' in network {net}"
        )));
    }
    fwd.nat_ipv6 = prop_tristate(e, "ipv6")?;
    let addrs: Vec<&Element> = e.children_named("address").collect();
    if addrs.len() > 1 {
        return Err(ConfError::xml(format!(
            "Only one <address> element is allowed in <nat> in <forward> in network {net}"
        )));
    }
    if let Some(a) = addrs.first() {
        let start = a.attr("start").ok_or_else(|| {
            ConfError::xml(format!(
                "missing 'start' attribute in <address> element in <nat> in <forward> in network {net}"
            ))
        })?;
        let end = a.attr("end").ok_or_else(|| {
            ConfError::xml(format!(
                "missing 'end' attribute in <address> element in <nat> in <forward> in network {net}"
            ))
        })?;
        let s = start.parse::<std::net::Ipv4Addr>().map_err(|_| {
            ConfError::xml(format!(
                "Bad ipv4 start address '{start}' in <nat> in <forward> in network '{net}'"
            ))
        })?;
        let en = end.parse::<std::net::Ipv4Addr>().map_err(|_| {
            ConfError::xml(format!(
                "Bad ipv4 end address '{end}' in <nat> in <forward> in network '{net}'"
            ))
        })?;
        let (s, en) = (IpAddr::V4(s), IpAddr::V4(en));
        addr::range_size(&s, &en, None)?;
        fwd.nat_addr = Some((s, en));
    }
    let ports: Vec<&Element> = e.children_named("port").collect();
    if ports.len() > 1 {
        return Err(ConfError::xml(format!(
            "Only one <port> element is allowed in <nat> in <forward> in network {net}"
        )));
    }
    if let Some(p) = ports.first() {
        let get = |n: &str| {
            xpath_attr(p, n).and_then(|v| netdev::strtoul(v, 10, true, u32::MAX as u64).ok())
        };
        let start = get("start").filter(|s| *s <= 65535).ok_or_else(|| {
            ConfError::new(
                ErrorCode::XmlDetail,
                format!("Missing or invalid 'start' attribute in <port> in <nat> in <forward> in network {net}"),
            )
        })?;
        let end = get("end")
            .filter(|e| *e <= 65535 && *e >= start)
            .ok_or_else(|| {
                ConfError::new(
                    ErrorCode::XmlDetail,
                    format!("Missing or invalid 'end' attribute in <port> in <nat> in <forward> in network {net}"),
                )
            })?;
        fwd.nat_port = (start as u32, end as u32);
    }
    Ok(())
}

fn parse_forward(net: &str, e: &Element) -> Result<ForwardDef, ConfError> {
    let mode = match xpath_attr(e, "mode") {
        None => ForwardType::Nat,
        Some(m) => ForwardType::parse(m)
            .ok_or_else(|| ConfError::unsupported(format!("unknown forwarding type '{m}'")))?,
    };
    let mut fwd = ForwardDef {
        mode,
        ..Default::default()
    };
    fwd.managed = xpath_attr(e, "managed").is_some_and(|m| m.eq_ignore_ascii_case("yes"));
    if let Some(d) = e.child("driver").and_then(|d| xpath_attr(d, "name")) {
        fwd.driver = Some(ForwardDriverName::parse(d).ok_or_else(|| {
            ConfError::unsupported(format!(
                "Unknown forward <driver name='{d}'/> in network {net}"
            ))
        })?);
    }
    let ifs: Vec<&Element> = e.children_named("interface").collect();
    let addrs: Vec<&Element> = e.children_named("address").collect();
    let pfs: Vec<&Element> = e.children_named("pf").collect();
    let nats: Vec<&Element> = e.children_named("nat").collect();
    if nats.len() > 1 {
        return Err(ConfError::xml(format!(
            "Only one <nat> element is allowed in <forward> of network {net}"
        )));
    }
    if let Some(n) = nats.first() {
        parse_forward_nat(net, n, &mut fwd)?;
    }
    let dev = xpath_attr(e, "dev");
    if dev.is_some() && (!addrs.is_empty() || !pfs.is_empty()) {
        // libvirt's message keeps its unfilled placeholder.
        return Err(ConfError::xml(
            "the <forward> 'dev' attribute cannot be used when <address> or <pf> sub-elements are present in network %1$s",
        ));
    }
    if !ifs.is_empty() || dev.is_some() {
        if let Some(d) = dev {
            fwd.ifs.push(ForwardIf {
                device: ForwardIfDevice::Netdev(d.to_string()),
                connections: 0,
            });
        }
        for (i, el) in ifs.iter().enumerate() {
            let d = el.attr("dev").ok_or_else(|| {
                ConfError::xml(format!(
                    "Missing required dev attribute in <forward> <interface> element of network {net}"
                ))
            })?;
            if i == 0 && dev.is_some() {
                if Some(d) != dev {
                    return Err(ConfError::xml(format!(
                        "<forward dev='{}'> must match first <interface dev='{d}'/> in network {net}",
                        dev.unwrap_or_default()
                    )));
                }
                continue;
            }
            // libvirt compares with the entries at indexes below i only.
            let dup = fwd
                .ifs
                .iter()
                .take(i)
                .any(|f| f.device == ForwardIfDevice::Netdev(d.to_string()));
            if dup {
                return Err(ConfError::xml(format!(
                    "interface '{d}' can only be listed once in network {net}"
                )));
            }
            fwd.ifs.push(ForwardIf {
                device: ForwardIfDevice::Netdev(d.to_string()),
                connections: 0,
            });
        }
    } else if !addrs.is_empty() {
        for a in &addrs {
            let t = a
                .attr("type")
                .ok_or_else(|| ConfError::xml(format!("missing address type in network {net}")))?;
            match t {
                "pci" => {
                    let pci = PciAddress::parse(a)?;
                    if fwd
                        .ifs
                        .iter()
                        .any(|f| f.device == ForwardIfDevice::Pci(pci))
                    {
                        return Err(ConfError::xml(format!(
                            "PCI device '{:04x}:{:02x}:{:02x}.{:x}' can only be listed once in network {net}",
                            pci.domain, pci.bus, pci.slot, pci.function
                        )));
                    }
                    fwd.ifs.push(ForwardIf {
                        device: ForwardIfDevice::Pci(pci),
                        connections: 0,
                    });
                }
                "none" | "netdev" => {
                    return Err(ConfError::xml(format!(
                        "unsupported address type '{t}' in network {net}"
                    )))
                }
                _ => {
                    return Err(ConfError::unsupported(format!(
                        "unknown address type '{t}' in network {net}"
                    )))
                }
            }
        }
    } else if pfs.len() > 1 {
        return Err(ConfError::xml(format!(
            "Only one <pf> element is allowed in <forward> of network {net}"
        )));
    } else if let Some(p) = pfs.first() {
        let d = p.attr("dev").ok_or_else(|| {
            ConfError::xml(format!(
                "Missing required dev attribute in <pf> element of network '{net}'"
            ))
        })?;
        fwd.pfs.push(d.to_string());
    }
    Ok(fwd)
}

/// The namespace URI a prefixed element name is bound to, looking at the
/// element and then at its ancestors (innermost first).
fn namespace_of(e: &Element, ancestors: &[&Element]) -> Option<String> {
    let key = match e.name.split_once(':') {
        Some((p, _)) => format!("xmlns:{p}"),
        None => "xmlns".to_string(),
    };
    std::iter::once(e)
        .chain(ancestors.iter().rev().copied())
        .find_map(|a| a.attr(&key).map(str::to_string))
}

fn parse_dnsmasq_options(root: &Element) -> Result<Vec<String>, ConfError> {
    let mut out = Vec::new();
    for opts in root.elements() {
        if opts.local_name() != "options"
            || namespace_of(opts, &[root]).as_deref() != Some(DNSMASQ_NAMESPACE)
        {
            continue;
        }
        for o in opts.elements() {
            if o.local_name() != "option"
                || namespace_of(o, &[root, opts]).as_deref() != Some(DNSMASQ_NAMESPACE)
            {
                continue;
            }
            let v = o
                .attr("value")
                .ok_or_else(|| ConfError::internal("No dnsmasq options value specified"))?;
            out.push(v.to_string());
        }
    }
    Ok(out)
}

fn mode_error(what: &str, fwd: ForwardType, net: &str) -> ConfError {
    ConfError::xml(format!(
        "{what} not allowed in {} mode (network '{net}')",
        fwd.as_str()
    ))
}

impl NetworkDef {
    /// Parses and validates a `<network>` document as the network driver
    /// does (with its `dnsmasq:options` namespace).
    pub fn parse_str(text: &str) -> Result<NetworkDef, ConfError> {
        let root = xml::parse_document(text, "(network_definition)", "network")?;
        Self::from_element(&root)
    }

    /// Parses a `<network>` document without namespace extensions, as
    /// drivers that register none (the test driver) do: `dnsmasq:options`
    /// is ignored.
    pub fn parse_str_without_namespaces(text: &str) -> Result<NetworkDef, ConfError> {
        let root = xml::parse_document(text, "(network_definition)", "network")?;
        Self::from_element_without_namespaces(&root)
    }

    /// [`NetworkDef::from_element`] without namespace extensions.
    pub fn from_element_without_namespaces(root: &Element) -> Result<NetworkDef, ConfError> {
        Self::parse_element(root, false)
    }

    /// virNetworkDefParseXML on an already read `<network>` element,
    /// with the `dnsmasq:options` namespace.
    pub fn from_element(root: &Element) -> Result<NetworkDef, ConfError> {
        Self::parse_element(root, true)
    }

    fn parse_element(root: &Element, namespaces: bool) -> Result<NetworkDef, ConfError> {
        let name = root
            .child("name")
            .map(|n| n.text())
            .filter(|n| !n.is_empty())
            .ok_or_else(|| ConfError::bare(crate::error::NO_NAME))?;
        if name.contains('/') {
            return Err(ConfError::new(
                ErrorCode::XmlDetail,
                "invalid char in name: /",
            ));
        }
        let uuid = match root
            .child("uuid")
            .map(|u| u.text())
            .filter(|u| !u.is_empty())
        {
            Some(u) => {
                Uuid::parse(&u).ok_or_else(|| ConfError::internal("malformed uuid element"))?
            }
            None => Uuid::generate()?,
        };
        let ipv6nogw = match xpath_attr(root, "ipv6") {
            None => false,
            Some("yes") => true,
            Some("no") => false,
            Some(v) => {
                return Err(ConfError::xml(format!(
                    "Invalid ipv6 setting '{v}' in network '{name}'"
                )))
            }
        };
        let trust_guest_rx_filters = prop_tristate(root, "trustGuestRxFilters")?;
        let domain_node = root.child("domain");
        let domain = domain_node.and_then(|d| d.attr("name")).map(str::to_string);
        let domain_local_only = match domain_node {
            Some(d) => prop_tristate(d, "localOnly")?,
            None => None,
        };
        let bandwidth = match root.child("bandwidth") {
            Some(b) => Bandwidth::parse(b, false, false)?.0,
            None => None,
        };
        let vlan = root.child("vlan").map(Vlan::parse).transpose()?;
        let isolated_port = match root.child("port") {
            Some(p) => prop_tristate(p, "isolated")?,
            None => None,
        };
        let bridge_node = root.child("bridge");
        let battr = |n: &str| bridge_node.and_then(|b| xpath_attr(b, n));
        let bridge = battr("name").map(str::to_string);
        let bridge_zone = battr("zone").map(str::to_string);
        let stp_attr = battr("stp");
        let stp = stp_attr != Some("off");
        let delay = match battr("delay") {
            Some(d) => netdev::strtoul(d, 10, false, u64::MAX)
                .map_err(|_| ConfError::xml(format!("Invalid delay value in network '{name}'")))?,
            None => 0,
        };
        let mac_table_manager = match battr("macTableManager") {
            Some(m) => Some(MacTableManager::parse(m).ok_or_else(|| {
                ConfError::xml(format!(
                    "Invalid macTableManager setting '{m}' in network '{name}'"
                ))
            })?),
            None => None,
        };
        let mac = match root.child("mac").and_then(|m| xpath_attr(m, "address")) {
            Some(m) => {
                let parsed = Mac::parse(m).ok_or_else(|| {
                    ConfError::xml(format!(
                        "Invalid bridge mac address '{m}' in network '{name}'"
                    ))
                })?;
                if parsed.is_multicast() {
                    return Err(ConfError::xml(format!(
                        "Invalid multicast bridge mac address '{m}' in network '{name}'"
                    )));
                }
                Some(parsed)
            }
            None => None,
        };
        let mtu = match root.child("mtu").and_then(|m| xpath_attr(m, "size")) {
            Some(s) => netdev::strtoul(s, 10, true, u32::MAX as u64).map_err(|_| {
                ConfError::xml(format!("Invalid mtu size '{s}' in network '{name}'"))
            })? as u32,
            None => 0,
        };
        let dns = match root.child("dns") {
            Some(d) => parse_dns(&name, d)?,
            None => DnsDef::default(),
        };
        let virtualport = root
            .child("virtualport")
            .map(|v| VirtualPort::parse(v, true))
            .transpose()?;
        let portgroups = root
            .children_named("portgroup")
            .map(parse_portgroup)
            .collect::<Result<Vec<_>, _>>()?;
        let ips = root
            .children_named("ip")
            .map(|i| parse_ip(&name, i))
            .collect::<Result<Vec<_>, _>>()?;
        let routes = root
            .children_named("route")
            .map(|r| parse_route(&name, r))
            .collect::<Result<Vec<_>, _>>()?;
        for r in &routes {
            let reachable = ips.iter().any(|ip| {
                if !addr::same_family(&r.gateway, &ip.address) {
                    return false;
                }
                let Ok(p) = u32::try_from(ip.effective_prefix()) else {
                    return false;
                };
                let a = addr::mask_by_prefix(&ip.address, p);
                a.is_some() && a == addr::mask_by_prefix(&r.gateway, p)
            });
            if !reachable {
                return Err(ConfError::unsupported(format!(
                    "unreachable static route gateway '{}' specified for network '{name}'",
                    addr::format(&r.gateway)
                )));
            }
        }
        let forward = match root.child("forward") {
            Some(f) => parse_forward(&name, f)?,
            None => ForwardDef::default(),
        };
        let mode = forward.mode;
        match mode {
            ForwardType::None => {}
            ForwardType::Route | ForwardType::Nat | ForwardType::Open => {
                if ips.is_empty() {
                    return Err(ConfError::xml(format!(
                        "{} forwarding requested, but no IP address provided for network '{name}'",
                        mode.as_str()
                    )));
                }
                if forward.ifs.len() > 1 {
                    return Err(ConfError::xml(format!(
                        "multiple forwarding interfaces specified for network '{name}', only one is supported"
                    )));
                }
                if mode == ForwardType::Open && !forward.ifs.is_empty() {
                    return Err(ConfError::xml(format!(
                        "forward dev not allowed for network '{name}' with forward mode='open'"
                    )));
                }
            }
            ForwardType::Bridge
            | ForwardType::Private
            | ForwardType::Vepa
            | ForwardType::Passthrough
            | ForwardType::Hostdev => {
                if mode != ForwardType::Bridge {
                    if bridge.is_some() {
                        return Err(mode_error("bridge name", mode, &name));
                    }
                    if bridge_zone.is_some() {
                        return Err(mode_error("bridge zone", mode, &name));
                    }
                    if mac_table_manager.is_some() {
                        return Err(mode_error("bridge macTableManager setting", mode, &name));
                    }
                }
                if delay != 0 || stp_attr.is_some() || bridge_zone.is_some() {
                    return Err(ConfError::xml(format!(
                        "bridge delay/stp/zone options only allowed in route, nat, and isolated mode, not in {} (network '{name}')",
                        mode.as_str()
                    )));
                }
                if bridge.is_some() && (!forward.ifs.is_empty() || !forward.pfs.is_empty()) {
                    return Err(ConfError::xml(format!(
                        "A network with forward mode='{}' can specify a bridge name or a forward dev, but not both (network '{name}')",
                        mode.as_str()
                    )));
                }
            }
        }
        if mtu != 0 && !mode.has_own_bridge() {
            return Err(ConfError::xml(format!(
                "mtu size only allowed in open, route, nat, and isolated mode, not in {} (network '{name}')",
                mode.as_str()
            )));
        }
        let metadata = root.child("metadata").cloned();
        let dnsmasq_options = if namespaces {
            parse_dnsmasq_options(root)?
        } else {
            Vec::new()
        };
        Ok(NetworkDef {
            name,
            uuid,
            connections: 0,
            ipv6nogw,
            trust_guest_rx_filters,
            forward,
            bridge,
            bridge_zone,
            stp,
            delay,
            mac_table_manager,
            mac,
            mtu,
            domain,
            domain_local_only,
            dns,
            vlan,
            bandwidth,
            isolated_port,
            ips,
            routes,
            virtualport,
            portgroups,
            metadata,
            dnsmasq_options,
        })
    }

    /// Bridge name, if any.
    pub fn bridge_name(&self) -> Option<&str> {
        self.bridge.as_deref()
    }

    /// Forward mode, `None` when isolated.
    pub fn forward_mode(&self) -> Option<&str> {
        (self.forward.mode != ForwardType::None).then(|| self.forward.mode.as_str())
    }

    /// virNetworkDefGetIPByIndex: the `n`th `<ip>` of a family (any
    /// family when `family` is `None`; `Some(true)` is IPv6).
    pub fn ip_by_index(&self, v6: Option<bool>, n: usize) -> Option<&IpDef> {
        self.ips
            .iter()
            .filter(|ip| v6.is_none_or(|v6| ip.address.is_ipv6() == v6))
            .nth(n)
    }

    /// virPortGroupFindByName: the named port group, or the default one.
    pub fn portgroup(&self, name: Option<&str>) -> Option<&PortGroup> {
        self.portgroups.iter().find(|p| match name {
            Some(n) => p.name == n,
            None => p.is_default,
        })
    }

    /// Formats as libvirt's virNetworkDefFormat.
    pub fn to_xml(&self, flags: &NetworkFormatFlags) -> String {
        let mut out = String::from("<network");
        if !self.dnsmasq_options.is_empty() {
            out.push_str(&format!(" xmlns:dnsmasq='{DNSMASQ_NAMESPACE}'"));
        }
        if !flags.inactive && self.connections > 0 {
            out.push_str(&format!(" connections='{}'", self.connections));
        }
        if self.ipv6nogw {
            out.push_str(" ipv6='yes'");
        }
        if let Some(t) = self.trust_guest_rx_filters {
            out.push_str(&format!(" trustGuestRxFilters='{}'", yes_no(t)));
        }
        out.push_str(">\n");
        out.push_str(&format!("  <name>{}</name>\n", xml::escape(&self.name)));
        out.push_str(&format!("  <uuid>{}</uuid>\n", self.uuid));
        if let Some(m) = &self.metadata {
            out.push_str("  ");
            xml::write_libxml(m, &mut out, 1);
            out.push('\n');
        }
        self.format_forward(flags, &mut out);
        let hasbridge = self.forward.mode.has_own_bridge();
        if hasbridge || self.bridge.is_some() || self.mac_table_manager.is_some() {
            out.push_str("  <bridge");
            if let Some(n) = &self.bridge {
                out.push_str(&format!(" name='{}'", xml::escape(n)));
            }
            if let Some(z) = &self.bridge_zone {
                out.push_str(&format!(" zone='{}'", xml::escape(z)));
            }
            if hasbridge {
                out.push_str(&format!(
                    " stp='{}' delay='{}'",
                    if self.stp { "on" } else { "off" },
                    self.delay as i64
                ));
            }
            if let Some(m) = self.mac_table_manager {
                out.push_str(&format!(" macTableManager='{}'", m.as_str()));
            }
            out.push_str("/>\n");
        }
        if self.mtu != 0 {
            out.push_str(&format!("  <mtu size='{}'/>\n", self.mtu));
        }
        if let Some(m) = &self.mac {
            out.push_str(&format!("  <mac address='{m}'/>\n"));
        }
        if let Some(d) = &self.domain {
            out.push_str(&format!("  <domain name='{d}'"));
            if let Some(l) = self.domain_local_only {
                out.push_str(&format!(" localOnly='{}'", yes_no(l)));
            }
            out.push_str("/>\n");
        }
        format_dns(&self.dns, &mut out);
        if let Some(v) = &self.vlan {
            v.format(&mut out, 2);
        }
        if let Some(b) = &self.bandwidth {
            b.format(0, &mut out, 2);
        }
        if let Some(i) = self.isolated_port {
            out.push_str(&format!("  <port isolated='{}'/>\n", yes_no(i)));
        }
        for ip in &self.ips {
            format_ip(ip, &mut out);
        }
        for r in &self.routes {
            format_route(r, &mut out);
        }
        if let Some(v) = &self.virtualport {
            v.format(&mut out, 2);
        }
        for pg in &self.portgroups {
            out.push_str(&format!("  <portgroup name='{}'", pg.name));
            if pg.is_default {
                out.push_str(" default='yes'");
            }
            if let Some(t) = pg.trust_guest_rx_filters {
                out.push_str(&format!(" trustGuestRxFilters='{}'", yes_no(t)));
            }
            out.push_str(">\n");
            if let Some(v) = &pg.vlan {
                v.format(&mut out, 4);
            }
            if let Some(v) = &pg.virtualport {
                v.format(&mut out, 4);
            }
            if let Some(b) = &pg.bandwidth {
                b.format(0, &mut out, 4);
            }
            out.push_str("  </portgroup>\n");
        }
        if !self.dnsmasq_options.is_empty() {
            out.push_str("  <dnsmasq:options>\n");
            for o in &self.dnsmasq_options {
                out.push_str(&format!(
                    "    <dnsmasq:option value='{}'/>\n",
                    xml::escape(o)
                ));
            }
            out.push_str("  </dnsmasq:options>\n");
        }
        out.push_str("</network>\n");
        out
    }

    fn format_forward(&self, flags: &NetworkFormatFlags, out: &mut String) {
        let f = &self.forward;
        if f.mode == ForwardType::None {
            return;
        }
        out.push_str("  <forward");
        if f.pfs.is_empty() {
            if let Some(d) = f.netdev(0) {
                out.push_str(&format!(" dev='{}'", xml::escape(d)));
            }
        }
        out.push_str(&format!(" mode='{}'", f.mode.as_str()));
        if f.mode == ForwardType::Hostdev {
            out.push_str(if f.managed {
                " managed='yes'"
            } else {
                " managed='no'"
            });
        }
        let short = f.ifs.is_empty()
            && f.pfs.is_empty()
            && f.nat_addr.is_none()
            && f.nat_port == (0, 0)
            && f.driver.is_none()
            && f.nat_ipv6.is_none();
        if short {
            out.push_str("/>\n");
            return;
        }
        out.push_str(">\n");
        if let Some(d) = f.driver {
            out.push_str(&format!("    <driver name='{}'/>\n", d.as_str()));
        }
        if f.mode == ForwardType::Nat
            && (f.nat_addr.is_some() || f.nat_port != (0, 0) || f.nat_ipv6.is_some())
        {
            out.push_str("    <nat");
            if let Some(v) = f.nat_ipv6 {
                out.push_str(&format!(" ipv6='{}'", yes_no(v)));
            }
            if f.nat_addr.is_none() && f.nat_port == (0, 0) {
                out.push_str("/>\n");
            } else {
                out.push_str(">\n");
                if let Some((s, e)) = &f.nat_addr {
                    out.push_str(&format!("      <address start='{s}' end='{e}'/>\n"));
                }
                if f.nat_port != (0, 0) {
                    out.push_str(&format!("      <port start='{}'", f.nat_port.0));
                    if f.nat_port.1 != 0 {
                        out.push_str(&format!(" end='{}'", f.nat_port.1));
                    }
                    out.push_str("/>\n");
                }
                out.push_str("    </nat>\n");
            }
        }
        if let Some(pf) = f.pfs.first() {
            out.push_str(&format!("    <pf dev='{}'/>\n", xml::escape(pf)));
        }
        if !f.ifs.is_empty() && (f.pfs.is_empty() || !flags.inactive) {
            for i in &f.ifs {
                match &i.device {
                    ForwardIfDevice::Netdev(d) => {
                        out.push_str(&format!("    <interface dev='{}'", xml::escape(d)));
                        if !flags.inactive && i.connections > 0 {
                            out.push_str(&format!(" connections='{}'", i.connections));
                        }
                        out.push_str("/>\n");
                    }
                    ForwardIfDevice::Pci(p) => p.format(true, out, 4),
                }
            }
        }
        out.push_str("  </forward>\n");
    }
}

fn format_lease(l: &LeaseTime, out: &mut String, indent: usize) {
    pad(out, indent);
    if l.expiry == 0 {
        out.push_str("<lease expiry='0'/>\n");
    } else {
        out.push_str(&format!(
            "<lease expiry='{}' unit='{}'/>\n",
            l.expiry,
            l.unit.as_str()
        ));
    }
}

fn format_dns(d: &DnsDef, out: &mut String) {
    let has_children =
        !(d.forwarders.is_empty() && d.hosts.is_empty() && d.srvs.is_empty() && d.txts.is_empty());
    if d.enable.is_none() && d.forward_plain_names.is_none() && !has_children {
        return;
    }
    out.push_str("  <dns");
    if let Some(e) = d.enable {
        out.push_str(&format!(" enable='{}'", yes_no(e)));
    }
    if let Some(f) = d.forward_plain_names {
        out.push_str(&format!(" forwardPlainNames='{}'", yes_no(f)));
    }
    if !has_children {
        out.push_str("/>\n");
        return;
    }
    out.push_str(">\n");
    for f in &d.forwarders {
        out.push_str("    <forwarder");
        if let Some(dom) = &f.domain {
            out.push_str(&format!(" domain='{}'", xml::escape(dom)));
        }
        if let Some(a) = &f.addr {
            out.push_str(&format!(" addr='{a}'"));
        }
        out.push_str("/>\n");
    }
    for t in &d.txts {
        out.push_str(&format!("    <txt name='{}' ", xml::escape(&t.name)));
        // libvirt's escape helper prints nothing for a missing value.
        if let Some(v) = &t.value {
            out.push_str(&format!("value='{}'/>\n", xml::escape(v)));
        }
    }
    for s in &d.srvs {
        let (Some(svc), Some(proto)) = (&s.service, &s.protocol) else {
            continue;
        };
        out.push_str(&format!(
            "    <srv service='{}' protocol='{}'",
            xml::escape(svc),
            xml::escape(proto)
        ));
        if let Some(v) = &s.domain {
            out.push_str(&format!(" domain='{}'", xml::escape(v)));
        }
        if let Some(v) = &s.target {
            out.push_str(&format!(" target='{}'", xml::escape(v)));
        }
        for (k, v) in [
            ("port", s.port),
            ("priority", s.priority),
            ("weight", s.weight),
        ] {
            if v != 0 {
                out.push_str(&format!(" {k}='{v}'"));
            }
        }
        out.push_str("/>\n");
    }
    for h in &d.hosts {
        let ip =
            h.ip.map(|a| a.to_string())
                .unwrap_or_else(|| "(null)".into());
        out.push_str(&format!("    <host ip='{ip}'>\n"));
        for n in &h.names {
            out.push_str(&format!("      <hostname>{}</hostname>\n", xml::escape(n)));
        }
        out.push_str("    </host>\n");
    }
    out.push_str("  </dns>\n");
}

fn format_ip(ip: &IpDef, out: &mut String) {
    out.push_str("  <ip");
    if let Some(f) = &ip.family {
        out.push_str(&format!(" family='{f}'"));
    }
    out.push_str(&format!(" address='{}'", ip.address));
    if let Some(m) = &ip.netmask {
        out.push_str(&format!(" netmask='{m}'"));
    }
    if ip.prefix > 0 {
        out.push_str(&format!(" prefix='{}'", ip.prefix));
    }
    if let Some(l) = ip.local_ptr {
        out.push_str(&format!(" localPtr='{}'", yes_no(l)));
    }
    out.push_str(">\n");
    if let Some(t) = &ip.tftproot {
        out.push_str(&format!("    <tftp root='{}'/>\n", xml::escape(t)));
    }
    if ip.has_dhcp() {
        out.push_str("    <dhcp>\n");
        for r in &ip.ranges {
            out.push_str(&format!("      <range start='{}' end='{}'", r.start, r.end));
            match &r.lease {
                Some(l) => {
                    out.push_str(">\n");
                    format_lease(l, out, 8);
                    out.push_str("      </range>\n");
                }
                None => out.push_str("/>\n"),
            }
        }
        for h in &ip.hosts {
            out.push_str("      <host");
            if let Some(v) = &h.mac {
                out.push_str(&format!(" mac='{v}'"));
            }
            if let Some(v) = &h.id {
                out.push_str(&format!(" id='{v}'"));
            }
            if let Some(v) = &h.name {
                out.push_str(&format!(" name='{v}'"));
            }
            if let Some(v) = &h.ip {
                out.push_str(&format!(" ip='{v}'"));
            }
            match &h.lease {
                Some(l) => {
                    out.push_str(">\n");
                    format_lease(l, out, 8);
                    out.push_str("      </host>\n");
                }
                None => out.push_str("/>\n"),
            }
        }
        if let Some(b) = &ip.bootfile {
            out.push_str(&format!("      <bootp file='{}'", xml::escape(b)));
            if let Some(s) = &ip.bootserver {
                out.push_str(&format!(" server='{s}'"));
            }
            out.push_str("/>\n");
        }
        out.push_str("    </dhcp>\n");
    }
    out.push_str("  </ip>\n");
}

fn format_route(r: &Route, out: &mut String) {
    out.push_str("  <route");
    if let Some(f) = &r.family {
        out.push_str(&format!(" family='{f}'"));
    }
    out.push_str(&format!(" address='{}'", r.address));
    if let Some(m) = &r.netmask {
        out.push_str(&format!(" netmask='{m}'"));
    }
    if let Some(p) = r.prefix {
        out.push_str(&format!(" prefix='{p}'"));
    }
    out.push_str(&format!(" gateway='{}'", r.gateway));
    if let Some(m) = r.metric.filter(|m| *m > 0) {
        out.push_str(&format!(" metric='{m}'"));
    }
    out.push_str("/>\n");
}
