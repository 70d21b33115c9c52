// SPDX-License-Identifier: LGPL-2.1-or-later
//! The pieces networks, port groups and network ports share with guest
//! interfaces: MAC addresses, `<bandwidth>`, `<vlan>`, `<virtualport>`,
//! PCI addresses, and libvirt's attribute readers (tristate booleans,
//! unsigned integers in strtoul's grammar) with their error texts.

use crate::error::{ConfError, ErrorCode, ErrorDomain};
use crate::uuid::Uuid;
use crate::xml::Element;

/// virTristateBool as an attribute: `None` absent, else yes/no.
pub type Tristate = Option<bool>;

/// "yes" / "no".
pub fn yes_no(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}

/// An attribute as libvirt's `virXPathString("string(./@x)")` reads it:
/// an empty value counts as absent.
pub fn xpath_attr<'a>(e: &'a Element, name: &str) -> Option<&'a str> {
    e.attr(name).filter(|v| !v.is_empty())
}

/// virXMLProp*'s error, reported from VIR_FROM_XML whoever parses.
pub(crate) fn invalid_attr(name: &str, elem: &str, value: &str, tail: &str) -> ConfError {
    ConfError::xml_layer(format!(
        "Invalid value for attribute '{name}' in element '{elem}': '{value}'{tail}"
    ))
}

/// The domain of the C file an error comes from, unless the XML layer
/// already gave it one (netdev_bandwidth_conf.c, netdev_vlan_conf.c and
/// netdev_vport_profile_conf.c report from VIR_FROM_NONE, device_conf.c
/// from VIR_FROM_DEVICE).
fn from_file(e: ConfError, domain: ErrorDomain) -> ConfError {
    if e.domain.is_some() {
        e
    } else {
        e.with_domain(domain)
    }
}

/// virXMLPropTristateBool: absent, or "yes" / "no".
pub fn prop_tristate(e: &Element, name: &str) -> Result<Tristate, ConfError> {
    match e.attr(name) {
        None => Ok(None),
        Some("yes") => Ok(Some(true)),
        Some("no") => Ok(Some(false)),
        Some(v) => Err(invalid_attr(name, e.local_name(), v, ".")),
    }
}

/// strtoul/strtoull over the whole string (virStrToLong_*): leading
/// blanks and a sign allowed, base 0 detects 0x / 0 prefixes. A negative
/// value is `Err(true)` when `allow_negative` is false (the `p`
/// variants), and wraps otherwise; other failures are `Err(false)`.
pub fn strtoul(s: &str, base: u32, allow_negative: bool, max: u64) -> Result<u64, bool> {
    let t = s.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    let (neg, t) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let (digits, radix) = match base {
        0 => {
            if let Some(h) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
                (h, 16)
            } else if t.len() > 1 && t.starts_with('0') {
                (&t[1..], 8)
            } else {
                (t, 10)
            }
        }
        16 => (
            t.strip_prefix("0x")
                .or_else(|| t.strip_prefix("0X"))
                .unwrap_or(t),
            16,
        ),
        b => (t, b),
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return Err(false);
    }
    let v = u64::from_str_radix(digits, radix).map_err(|_| false)?;
    if v > max {
        return Err(false);
    }
    if neg {
        if !allow_negative {
            return Err(v != 0);
        }
        if v == 0 {
            return Ok(0);
        }
        return Ok((max - v).wrapping_add(1));
    }
    Ok(v)
}

/// virXMLPropUInt / virXMLPropULongLong (non-negative forms): `None` when
/// absent.
pub fn prop_uint(
    e: &Element,
    name: &str,
    base: u32,
    max: u64,
    nonzero: bool,
) -> Result<Option<u64>, ConfError> {
    let Some(v) = e.attr(name) else {
        return Ok(None);
    };
    let n = strtoul(v, base, false, max).map_err(|_| {
        invalid_attr(
            name,
            e.local_name(),
            v,
            ". Expected non-negative integer value",
        )
    })?;
    if nonzero && n == 0 {
        return Err(ConfError::xml_layer(format!(
            "Invalid value for attribute '{name}' in element '{}': Zero is not permitted",
            e.local_name()
        )));
    }
    Ok(Some(n))
}

/// A required virXMLPropUInt.
pub fn prop_uint_required(e: &Element, name: &str, base: u32, max: u64) -> Result<u64, ConfError> {
    prop_uint(e, name, base, max, false)?.ok_or_else(|| {
        ConfError::xml_layer(format!(
            "Missing required attribute '{name}' in element '{}'",
            e.local_name()
        ))
    })
}

/// A MAC address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Mac(pub [u8; 6]);

impl Mac {
    /// virMacAddrParse: six groups of one or two hex digits separated by
    /// colons, optionally followed by blanks.
    pub fn parse(s: &str) -> Option<Mac> {
        let mut out = [0u8; 6];
        let mut rest = s;
        for (i, slot) in out.iter_mut().enumerate() {
            let n = rest.bytes().take_while(|b| b.is_ascii_hexdigit()).count();
            if n == 0 || n > 2 {
                return None;
            }
            *slot = u8::from_str_radix(&rest[..n], 16).ok()?;
            rest = &rest[n..];
            if i == 5 {
                return rest.bytes().all(|b| b <= b' ').then_some(Mac(out));
            }
            rest = rest.strip_prefix(':')?;
        }
        None
    }

    /// Multicast bit set.
    pub fn is_multicast(&self) -> bool {
        self.0[0] & 1 == 1
    }
}

impl std::fmt::Display for Mac {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let m = self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            m[0], m[1], m[2], m[3], m[4], m[5]
        )
    }
}

/// One direction of `<bandwidth>`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BandwidthRate {
    pub average: u64,
    pub peak: u64,
    pub floor: u64,
    pub burst: u64,
}

/// `<bandwidth>`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Bandwidth {
    pub inbound: Option<BandwidthRate>,
    pub outbound: Option<BandwidthRate>,
}

fn parse_rate(e: &Element, allow_floor: bool) -> Result<BandwidthRate, ConfError> {
    let average = prop_uint(e, "average", 10, u64::MAX, false)?;
    let peak = prop_uint(e, "peak", 10, u64::MAX, false)?;
    let burst = prop_uint(e, "burst", 10, u64::MAX, false)?;
    let floor = prop_uint(e, "floor", 10, u64::MAX, false)?;
    if average.is_none() && floor.is_none() {
        return Err(ConfError::new(
            ErrorCode::XmlDetail,
            "Missing mandatory average or floor attributes",
        ));
    }
    if (peak.is_some() || burst.is_some()) && average.is_none() {
        return Err(ConfError::unsupported(
            "'peak' and 'burst' require 'average' attribute",
        ));
    }
    if floor.is_some() && !allow_floor {
        return Err(ConfError::unsupported(
            "floor attribute is not supported for this config",
        ));
    }
    Ok(BandwidthRate {
        average: average.unwrap_or(0),
        peak: peak.unwrap_or(0),
        floor: floor.unwrap_or(0),
        burst: burst.unwrap_or(0),
    })
}

impl Bandwidth {
    /// virNetDevBandwidthParse. `class_id` says whether a `classID`
    /// attribute is accepted (network ports); returns the bandwidth (if
    /// it has a direction) and the class id.
    pub fn parse(
        e: &Element,
        allow_class_id: bool,
        allow_floor: bool,
    ) -> Result<(Option<Bandwidth>, u32), ConfError> {
        Self::parse_in(e, allow_class_id, allow_floor).map_err(|x| from_file(x, ErrorDomain::None))
    }

    fn parse_in(
        e: &Element,
        allow_class_id: bool,
        allow_floor: bool,
    ) -> Result<(Option<Bandwidth>, u32), ConfError> {
        let mut class_id = 0;
        if let Some(c) = prop_uint(e, "classID", 10, u32::MAX as u64, false)? {
            if !allow_class_id {
                return Err(ConfError::new(
                    ErrorCode::XmlDetail,
                    "classID attribute not supported on <bandwidth> in this usage context",
                ));
            }
            class_id = c as u32;
        }
        let inbound = e
            .child("inbound")
            .map(|i| parse_rate(i, allow_floor))
            .transpose()?;
        let outbound = e
            .child("outbound")
            .map(|o| parse_rate(o, false))
            .transpose()?;
        if inbound.is_none() && outbound.is_none() {
            return Ok((None, class_id));
        }
        Ok((Some(Bandwidth { inbound, outbound }), class_id))
    }

    /// virNetDevBandwidthFormat.
    pub fn format(&self, class_id: u32, out: &mut String, indent: usize) {
        pad(out, indent);
        out.push_str("<bandwidth");
        if class_id != 0 {
            out.push_str(&format!(" classID='{class_id}'"));
        }
        out.push_str(">\n");
        for (name, r) in [("inbound", &self.inbound), ("outbound", &self.outbound)] {
            let Some(r) = r else { continue };
            if r.average == 0 && r.floor == 0 {
                continue;
            }
            pad(out, indent + 2);
            out.push('<');
            out.push_str(name);
            for (k, v) in [
                ("average", r.average),
                ("peak", r.peak),
                ("floor", r.floor),
                ("burst", r.burst),
            ] {
                if v != 0 {
                    out.push_str(&format!(" {k}='{v}'"));
                }
            }
            out.push_str("/>\n");
        }
        pad(out, indent);
        out.push_str("</bandwidth>\n");
    }
}

/// Native VLAN mode of `<tag nativeMode>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NativeVlanMode {
    Tagged,
    Untagged,
}

/// `<vlan>`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Vlan {
    pub tags: Vec<u32>,
    pub trunk: bool,
    pub native: Option<(NativeVlanMode, u32)>,
}

impl Vlan {
    /// virNetDevVlanParse.
    pub fn parse(e: &Element) -> Result<Vlan, ConfError> {
        Self::parse_in(e).map_err(|x| from_file(x, ErrorDomain::None))
    }

    fn parse_in(e: &Element) -> Result<Vlan, ConfError> {
        let tag_nodes: Vec<&Element> = e.children_named("tag").collect();
        if tag_nodes.is_empty() {
            return Err(ConfError::xml(
                "missing tag id - each <vlan> must have at least one <tag id='n'/> subelement",
            ));
        }
        let mut v = Vlan::default();
        for t in &tag_nodes {
            let id = prop_uint_required(t, "id", 10, u32::MAX as u64)? as u32;
            if id > 4095 {
                return Err(ConfError::xml(format!(
                    "vlan tag id {id} too large (maximum 4095)"
                )));
            }
            v.tags.push(id);
            if let Some(m) = t.attr("nativeMode") {
                let mode = match m {
                    "tagged" => NativeVlanMode::Tagged,
                    "untagged" => NativeVlanMode::Untagged,
                    _ => return Err(invalid_attr("nativeMode", "tag", m, ".")),
                };
                if v.native.is_some() {
                    return Err(ConfError::xml("duplicate native vlan setting"));
                }
                v.native = Some((mode, id));
            }
        }
        v.trunk = v.tags.len() > 1;
        if let Some(trunk) = xpath_attr(e, "trunk") {
            v.trunk = trunk.eq_ignore_ascii_case("yes");
            if !v.trunk {
                if v.tags.len() > 1 {
                    return Err(ConfError::xml(format!(
                        "invalid \"trunk='{trunk}'\" in <vlan> - trunk='yes' is required for more than one vlan tag"
                    )));
                }
                if v.native.is_some() {
                    return Err(ConfError::xml(
                        "invalid configuration in <vlan> - \"trunk='no'\" is not allowed with a native vlan id",
                    ));
                }
                if !trunk.eq_ignore_ascii_case("no") {
                    return Err(ConfError::xml(format!(
                        "invalid \"trunk='{trunk}'\" in <vlan> - must be yes or no"
                    )));
                }
            }
        }
        Ok(v)
    }

    /// virNetDevVlanFormat.
    pub fn format(&self, out: &mut String, indent: usize) {
        if self.tags.is_empty() {
            return;
        }
        pad(out, indent);
        out.push_str(if self.trunk {
            "<vlan trunk='yes'>\n"
        } else {
            "<vlan>\n"
        });
        for t in &self.tags {
            pad(out, indent + 2);
            match self.native {
                Some((mode, tag)) if tag == *t => {
                    let m = match mode {
                        NativeVlanMode::Tagged => "tagged",
                        NativeVlanMode::Untagged => "untagged",
                    };
                    out.push_str(&format!("<tag id='{t}' nativeMode='{m}'/>\n"));
                }
                _ => out.push_str(&format!("<tag id='{t}'/>\n")),
            }
        }
        pad(out, indent);
        out.push_str("</vlan>\n");
    }
}

/// virNetDevVPortProfile type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum VirtualPortType {
    #[default]
    None,
    Qbg,
    Qbh,
    OpenVSwitch,
    Midonet,
}

impl VirtualPortType {
    /// libvirt's name.
    pub fn as_str(self) -> &'static str {
        match self {
            VirtualPortType::None => "none",
            VirtualPortType::Qbg => "802.1Qbg",
            VirtualPortType::Qbh => "802.1Qbh",
            VirtualPortType::OpenVSwitch => "openvswitch",
            VirtualPortType::Midonet => "midonet",
        }
    }

    fn parse(s: &str) -> Option<VirtualPortType> {
        Some(match s {
            "802.1Qbg" => VirtualPortType::Qbg,
            "802.1Qbh" => VirtualPortType::Qbh,
            "openvswitch" => VirtualPortType::OpenVSwitch,
            "midonet" => VirtualPortType::Midonet,
            _ => return None,
        })
    }
}

/// `<virtualport>`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VirtualPort {
    pub kind: VirtualPortType,
    pub manager_id: Option<u8>,
    pub type_id: Option<u32>,
    pub type_id_version: Option<u8>,
    pub instance_id: Option<Uuid>,
    pub profile_id: Option<String>,
    pub interface_id: Option<Uuid>,
}

/// Longest profileid libvirt stores (its buffer holds 39 bytes and a NUL).
const PROFILE_ID_MAX: usize = 39;

impl VirtualPort {
    /// virNetDevVPortProfileParse (without generating missing ids).
    pub fn parse(e: &Element, require_type: bool) -> Result<VirtualPort, ConfError> {
        Self::parse_in(e, require_type).map_err(|x| from_file(x, ErrorDomain::None))
    }

    fn parse_in(e: &Element, require_type: bool) -> Result<VirtualPort, ConfError> {
        let mut vp = VirtualPort::default();
        if let Some(t) = e.attr("type") {
            vp.kind = VirtualPortType::parse(t)
                .ok_or_else(|| ConfError::unsupported(format!("unknown virtualport type {t}")))?;
        }
        if vp.kind == VirtualPortType::None && require_type {
            return Err(ConfError::xml("missing required virtualport type"));
        }
        if let Some(p) = e.child("parameters") {
            let num = |name: &str, max: u64, what: &str| -> Result<Option<u64>, ConfError> {
                let Some(v) = p.attr(name) else {
                    return Ok(None);
                };
                let n = strtoul(v, 0, true, u32::MAX as u64).map_err(|_| {
                    ConfError::xml(format!("cannot parse value of {name} parameter"))
                })?;
                if n > max {
                    return Err(ConfError::xml(what.to_string()));
                }
                Ok(Some(n))
            };
            vp.manager_id =
                num("managerid", 0xff, "value of managerid out of range")?.map(|n| n as u8);
            vp.type_id =
                num("typeid", 0xff_ffff, "value for typeid out of range")?.map(|n| n as u32);
            vp.type_id_version =
                num("typeidversion", 0xff, "value of typeidversion out of range")?.map(|n| n as u8);
            if let Some(i) = p.attr("instanceid") {
                vp.instance_id = Some(Uuid::parse(i).ok_or_else(|| {
                    ConfError::xml("cannot parse instanceid parameter as a uuid")
                })?);
            }
            if let Some(pr) = p.attr("profileid") {
                if pr.len() > PROFILE_ID_MAX {
                    return Err(ConfError::xml("profileid parameter too long"));
                }
                if !pr.is_empty() {
                    vp.profile_id = Some(pr.to_string());
                }
            }
            if let Some(i) = p.attr("interfaceid") {
                vp.interface_id = Some(Uuid::parse(i).ok_or_else(|| {
                    ConfError::xml("cannot parse interfaceid parameter as a uuid")
                })?);
            }
        }
        vp.check_no_extras()?;
        Ok(vp)
    }

    /// virNetDevVPortProfileCheckNoExtras.
    fn check_no_extras(&self) -> Result<(), ConfError> {
        let extra = match self.kind {
            VirtualPortType::Qbg => {
                if self.profile_id.is_some() {
                    Some("profileid")
                } else if self.interface_id.is_some() {
                    Some("interfaceid")
                } else {
                    None
                }
            }
            VirtualPortType::Qbh | VirtualPortType::OpenVSwitch => {
                if self.manager_id.is_some() {
                    Some("managerid")
                } else if self.type_id.is_some() {
                    Some("typeid")
                } else if self.type_id_version.is_some() {
                    Some("typeidversion")
                } else if self.instance_id.is_some() {
                    Some("instanceid")
                } else if self.kind == VirtualPortType::Qbh && self.interface_id.is_some() {
                    Some("interfaceid")
                } else {
                    None
                }
            }
            VirtualPortType::None | VirtualPortType::Midonet => None,
        };
        match extra {
            Some(x) => Err(ConfError::xml(format!(
                "extra {x} unsupported in <virtualport type='{}'>",
                self.kind.as_str()
            ))),
            None => Ok(()),
        }
    }

    /// virNetDevVPortProfileFormat.
    pub fn format(&self, out: &mut String, indent: usize) {
        use VirtualPortType as T;
        let no_params = self.manager_id.is_none()
            && self.type_id.is_none()
            && self.type_id_version.is_none()
            && self.instance_id.is_none()
            && self.profile_id.is_none()
            && self.interface_id.is_none();
        let t = self.kind;
        if t == T::None && no_params {
            return;
        }
        pad(out, indent);
        if t == T::None {
            out.push_str("<virtualport>\n");
        } else if no_params {
            out.push_str(&format!("<virtualport type='{}'/>\n", t.as_str()));
            return;
        } else {
            out.push_str(&format!("<virtualport type='{}'>\n", t.as_str()));
        }
        pad(out, indent + 2);
        out.push_str("<parameters");
        let qbg = matches!(t, T::Qbg | T::None);
        if qbg {
            if let Some(v) = self.manager_id {
                out.push_str(&format!(" managerid='{v}'"));
            }
            if let Some(v) = self.type_id {
                out.push_str(&format!(" typeid='{v}'"));
            }
            if let Some(v) = self.type_id_version {
                out.push_str(&format!(" typeidversion='{v}'"));
            }
            if let Some(v) = &self.instance_id {
                out.push_str(&format!(" instanceid='{v}'"));
            }
        }
        if let Some(v) = &self.interface_id {
            if matches!(t, T::Midonet | T::OpenVSwitch | T::None) {
                out.push_str(&format!(" interfaceid='{v}'"));
            }
        }
        if let Some(v) = &self.profile_id {
            if matches!(t, T::OpenVSwitch | T::Qbh | T::None) {
                out.push_str(&format!(" profileid='{v}'"));
            }
        }
        out.push_str("/>\n");
        pad(out, indent);
        out.push_str("</virtualport>\n");
    }
}

/// A PCI address (`<address domain= bus= slot= function=>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PciAddress {
    pub domain: u32,
    pub bus: u32,
    pub slot: u32,
    pub function: u32,
}

impl PciAddress {
    /// virPCIDeviceAddressParseXML.
    pub fn parse(e: &Element) -> Result<PciAddress, ConfError> {
        Self::parse_in(e).map_err(|x| from_file(x, ErrorDomain::Device))
    }

    fn parse_in(e: &Element) -> Result<PciAddress, ConfError> {
        let get = |n: &str| -> Result<u32, ConfError> {
            Ok(prop_uint(e, n, 0, u32::MAX as u64, false)?.unwrap_or(0) as u32)
        };
        let a = PciAddress {
            domain: get("domain")?,
            bus: get("bus")?,
            slot: get("slot")?,
            function: get("function")?,
        };
        if let Some(m) = e.attr("multifunction") {
            if m != "on" && m != "off" {
                return Err(invalid_attr("multifunction", e.local_name(), m, "."));
            }
        }
        if !a.is_empty() {
            if a.bus > 0xff {
                return Err(ConfError::xml(format!(
                    "Invalid PCI address bus='0x{:x}', must be <= 0xFF",
                    a.bus
                )));
            }
            if a.slot > 0x1f {
                return Err(ConfError::xml(format!(
                    "Invalid PCI address slot='0x{:x}', must be <= 0x1F",
                    a.slot
                )));
            }
            if a.function > 7 {
                return Err(ConfError::xml(format!(
                    "Invalid PCI address function=0x{:x}, must be <= 7",
                    a.function
                )));
            }
        }
        Ok(a)
    }

    /// Domain, bus and slot all zero.
    pub fn is_empty(&self) -> bool {
        self.domain == 0 && self.bus == 0 && self.slot == 0
    }

    /// virPCIDeviceAddressFormat (the function keeps libvirt's `0x%d`).
    pub fn format(&self, with_type: bool, out: &mut String, indent: usize) {
        pad(out, indent);
        out.push_str(&format!(
            "<address {}domain='0x{:04x}' bus='0x{:02x}' slot='0x{:02x}' function='0x{}'/>\n",
            if with_type { "type='pci' " } else { "" },
            self.domain,
            self.bus,
            self.slot,
            self.function
        ));
    }
}

/// Indentation.
pub(crate) fn pad(out: &mut String, indent: usize) {
    for _ in 0..indent {
        out.push(' ');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mac_parse_and_format() {
        assert_eq!(
            Mac::parse("12:34:56:78:9A:BC").unwrap().to_string(),
            "12:34:56:78:9a:bc"
        );
        assert_eq!(
            Mac::parse("1:2:3:4:5:6").unwrap().to_string(),
            "01:02:03:04:05:06"
        );
        assert!(Mac::parse("12:34:56:78:9A").is_none());
        assert!(Mac::parse("12:34:56:78:9A:BC:DE").is_none());
        assert!(Mac::parse("123:34:56:78:9A:BC").is_none());
        assert!(Mac::parse("01:00:5e:00:00:01").unwrap().is_multicast());
    }

    #[test]
    fn strtoul_grammar() {
        assert_eq!(strtoul("0x10", 0, false, u32::MAX as u64), Ok(16));
        assert_eq!(strtoul("010", 0, false, u32::MAX as u64), Ok(8));
        assert_eq!(strtoul(" 7", 10, false, u32::MAX as u64), Ok(7));
        assert_eq!(strtoul("-1", 10, false, u32::MAX as u64), Err(true));
        assert_eq!(
            strtoul("-1", 10, true, u32::MAX as u64),
            Ok(u32::MAX as u64)
        );
        assert_eq!(strtoul("7x", 10, false, u32::MAX as u64), Err(false));
        assert_eq!(
            strtoul("4294967296", 10, false, u32::MAX as u64),
            Err(false)
        );
    }
}

#[cfg(test)]
mod error_domain_tests {
    use super::*;
    use crate::network::NetworkDef;

    fn err(body: &str) -> ConfError {
        NetworkDef::parse_str(&format!("<network><name>n</name>{body}</network>")).unwrap_err()
    }

    #[test]
    fn errors_come_from_the_c_file_that_raises_them() {
        // virXMLProp*: VIR_FROM_XML.
        let e = err("<bandwidth><inbound average='x'/></bandwidth>");
        assert_eq!(e.domain, Some(ErrorDomain::Xml), "{e:?}");
        // netdev_vlan_conf.c: VIR_FROM_NONE.
        let e = err("<vlan><tag id='5000'/></vlan>");
        assert_eq!(e.domain, Some(ErrorDomain::None), "{e:?}");
        // virsocketaddr.c: VIR_FROM_NONE.
        let e = err("<ip address='10.0.0.1' prefix='24'><dhcp><range start='bad' end='10.0.0.5'/></dhcp></ip>");
        assert_eq!(e.domain, Some(ErrorDomain::None), "{e:?}");
        // network_conf.c's own words: the caller's (VIR_FROM_NETWORK).
        let e = err("<forward mode='bogus'/>");
        assert_eq!(e.domain, None, "{e:?}");
    }
}
