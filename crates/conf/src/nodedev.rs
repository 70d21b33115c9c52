// SPDX-License-Identifier: LGPL-2.1-or-later
//! Node devices: `<device>` XML of the node device driver
//! (virNodeDeviceDefParse / virNodeDeviceDefFormat): a host device's name,
//! sysfs path, device nodes, parent, driver and capabilities (system, PCI,
//! USB, network, SCSI, storage, DRM, mediated devices, s390 channel and AP
//! devices).
//!
//! The driver builds these definitions from sysfs and formats them; a
//! client's XML (nodedev-create / nodedev-define) is parsed as a device to
//! create, which gets the name "new device" until it exists.

use crate::error::{ConfError, CONFIG_UNSUPPORTED, NO_NAME};
use crate::interface::IfLink;
use crate::uuid::Uuid;
use crate::xml::{self, escape, Element};

/// Capability names in virNodeDevCapType order; the
/// VIR_CONNECT_LIST_NODE_DEVICES_CAP_* flag of a name is `1 << index`.
pub const CAP_NAMES: [&str; 22] = [
    "system",
    "pci",
    "usb_device",
    "usb",
    "net",
    "scsi_host",
    "scsi_target",
    "scsi",
    "storage",
    "fc_host",
    "vports",
    "scsi_generic",
    "drm",
    "mdev_types",
    "mdev",
    "ccw",
    "css",
    "vdpa",
    "ap_card",
    "ap_queue",
    "ap_matrix",
    "vpd",
];

/// Network device offload features (virNetDevFeature), in libvirt's order.
pub const NET_FEATURES: [&str; 14] = [
    "rx",
    "tx",
    "sg",
    "tso",
    "gso",
    "gro",
    "lro",
    "rxvlan",
    "txvlan",
    "ntuple",
    "rxhash",
    "rdma",
    "txudptnl",
    "switchdev",
];

/// DRM node types (virNodeDevDRM).
pub const DRM_TYPES: [&str; 3] = ["primary", "control", "render"];

/// PCIe link speeds (virPCIELinkSpeed); index 0 is "unknown".
pub const PCIE_SPEEDS: [&str; 7] = ["", "2.5", "5", "8", "16", "32", "64"];

/// A PCI address as node device XML writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, PartialOrd, Ord)]
pub struct PciAddr {
    pub domain: u32,
    pub bus: u32,
    pub slot: u32,
    pub function: u32,
}

impl PciAddr {
    fn format(&self, out: &mut String, indent: usize) {
        // libvirt prints the function after "0x" in decimal.
        line(
            out,
            indent,
            &format!(
                "<address domain='0x{:04x}' bus='0x{:02x}' slot='0x{:02x}' function='0x{}'/>",
                self.domain, self.bus, self.slot, self.function
            ),
        );
    }

    fn parse(e: &Element) -> Result<PciAddr, ConfError> {
        let get = |n: &str| -> Result<u32, ConfError> {
            match e.attr(n) {
                None => Ok(0),
                Some(v) => parse_uint_base(v, 0).ok_or_else(|| {
                    ConfError::xml_layer(format!(
                        "Invalid value for attribute '{n}' in element '{}': '{v}'. Expected non-negative integer value",
                        e.name
                    ))
                }),
            }
        };
        let a = PciAddr {
            domain: get("domain")?,
            bus: get("bus")?,
            slot: get("slot")?,
            function: get("function")?,
        };
        if a != PciAddr::default() {
            if a.domain > 0xffff {
                return Err(ConfError::xml(format!(
                    "Invalid PCI address domain='0x{:x}', must be <= 0xFFFF",
                    a.domain
                )));
            }
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
}

/// A mediated device type a parent offers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MdevType {
    pub id: String,
    pub name: Option<String>,
    pub device_api: String,
    pub available_instances: u32,
}

/// One PCIe link (`<link validity=...>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PcieLink {
    /// -1: no port.
    pub port: i32,
    /// Index into [`PCIE_SPEEDS`] (0: not known).
    pub speed: usize,
    pub width: u32,
}

/// PCI Express details.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PciExpress {
    pub link_cap: Option<PcieLink>,
    pub link_sta: Option<PcieLink>,
}

/// A VPD custom field: index character and value.
pub type VpdField = (char, String);

/// The read-only VPD section.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VpdRo {
    pub change_level: Option<String>,
    pub manufacture_id: Option<String>,
    pub part_number: Option<String>,
    pub serial_number: Option<String>,
    pub vendor: Vec<VpdField>,
}

/// The read-write VPD section.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VpdRw {
    pub asset_tag: Option<String>,
    pub vendor: Vec<VpdField>,
    pub system: Vec<VpdField>,
}

/// A PCI device's Vital Product Data.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Vpd {
    pub name: String,
    pub ro: Option<VpdRo>,
    pub rw: Option<VpdRw>,
}

/// The `pci` capability.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PciCap {
    /// -1: no class.
    pub class: i64,
    pub addr: PciAddr,
    pub product: u32,
    pub product_name: Option<String>,
    pub vendor: u32,
    pub vendor_name: Option<String>,
    pub physical_function: Option<PciAddr>,
    /// `Some` when the device is an SR-IOV physical function: its virtual
    /// functions.
    pub virt_functions: Option<Vec<PciAddr>>,
    pub max_virtual_functions: u32,
    /// "pci-bridge" or "cardbus-bridge" (endpoints are not written).
    pub header_type: Option<String>,
    pub mdev_types: Option<Vec<MdevType>>,
    pub vpd: Option<Vpd>,
    pub iommu_group: Option<(u32, Vec<PciAddr>)>,
    /// -1: unknown.
    pub numa_node: i32,
    pub pci_express: Option<PciExpress>,
}

/// The `system` capability.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SystemCap {
    pub product_name: Option<String>,
    pub hw_vendor: Option<String>,
    pub hw_version: Option<String>,
    pub hw_serial: Option<String>,
    pub hw_uuid: Uuid,
    pub fw_vendor: Option<String>,
    pub fw_version: Option<String>,
    pub fw_release_date: Option<String>,
}

/// The `usb_device` capability.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UsbDevCap {
    pub bus: u32,
    pub device: u32,
    pub product: u32,
    pub product_name: Option<String>,
    pub vendor: u32,
    pub vendor_name: Option<String>,
}

/// The `usb` (USB interface) capability.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UsbIfCap {
    pub number: u32,
    pub class: u32,
    pub subclass: u32,
    pub protocol: u32,
    pub description: Option<String>,
}

/// The `net` capability.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NetCap {
    pub ifname: String,
    pub address: Option<String>,
    pub link: IfLink,
    /// Indexes into [`NET_FEATURES`], ascending.
    pub features: Vec<usize>,
    /// "80203" or "80211".
    pub subtype: Option<String>,
}

/// The `scsi_host` capability.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ScsiHostCap {
    pub host: u32,
    /// -1: none.
    pub unique_id: i32,
    /// fc_host: wwnn, wwpn, fabric_wwn.
    pub fc_host: Option<(Option<String>, Option<String>, Option<String>)>,
    /// vport_ops: max_vports, vports.
    pub vport_ops: Option<(i32, i32)>,
}

/// The `scsi_target` capability.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ScsiTargetCap {
    pub name: String,
    /// fc_remote_port: rport, wwpn.
    pub fc_remote_port: Option<(String, String)>,
}

/// The `scsi` capability.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ScsiCap {
    pub host: u32,
    pub bus: u32,
    pub target: u32,
    pub lun: u32,
    pub ty: Option<String>,
}

/// Removable media of a `storage` capability.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Removable {
    pub media_available: bool,
    pub media_size: u64,
    pub media_label: Option<String>,
}

/// The `storage` capability.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StorageCap {
    pub block: String,
    pub bus: Option<String>,
    pub drive_type: Option<String>,
    pub model: Option<String>,
    pub vendor: Option<String>,
    pub serial: Option<String>,
    pub removable: Option<Removable>,
    pub size: u64,
    pub logical_block_size: u64,
    pub num_blocks: u64,
    pub hotpluggable: bool,
}

/// The `mdev` capability.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MdevCap {
    pub ty: String,
    pub uuid: Option<String>,
    pub parent_addr: Option<String>,
    pub iommu_group: u32,
    pub attrs: Vec<(String, String)>,
}

/// An s390 channel subsystem address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CcwAddr {
    pub cssid: u32,
    pub ssid: u32,
    pub devno: u32,
}

impl CcwAddr {
    fn format(&self, out: &mut String, indent: usize) {
        line(out, indent, &format!("<cssid>0x{:x}</cssid>", self.cssid));
        line(out, indent, &format!("<ssid>0x{:x}</ssid>", self.ssid));
        line(out, indent, &format!("<devno>0x{:04x}</devno>", self.devno));
    }
}

/// One capability of a device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cap {
    System(SystemCap),
    Pci(Box<PciCap>),
    UsbDevice(UsbDevCap),
    Usb(UsbIfCap),
    Net(NetCap),
    ScsiHost(ScsiHostCap),
    ScsiTarget(ScsiTargetCap),
    Scsi(ScsiCap),
    Storage(StorageCap),
    ScsiGeneric(String),
    /// Index into [`DRM_TYPES`].
    Drm(usize),
    MdevTypes(Vec<MdevType>),
    Mdev(MdevCap),
    Ccw(CcwAddr),
    Css {
        addr: CcwAddr,
        channel_dev_addr: Option<CcwAddr>,
        mdev_types: Option<Vec<MdevType>>,
    },
    Vdpa(String),
    ApCard(u32),
    ApQueue(u32, u32),
    ApMatrix(Option<Vec<MdevType>>),
}

impl Cap {
    /// The capability's index in [`CAP_NAMES`].
    pub fn index(&self) -> usize {
        match self {
            Cap::System(_) => 0,
            Cap::Pci(_) => 1,
            Cap::UsbDevice(_) => 2,
            Cap::Usb(_) => 3,
            Cap::Net(_) => 4,
            Cap::ScsiHost(_) => 5,
            Cap::ScsiTarget(_) => 6,
            Cap::Scsi(_) => 7,
            Cap::Storage(_) => 8,
            Cap::ScsiGeneric(_) => 11,
            Cap::Drm(_) => 12,
            Cap::MdevTypes(_) => 13,
            Cap::Mdev(_) => 14,
            Cap::Ccw(_) => 15,
            Cap::Css { .. } => 16,
            Cap::Vdpa(_) => 17,
            Cap::ApCard(_) => 18,
            Cap::ApQueue(..) => 19,
            Cap::ApMatrix(_) => 20,
        }
    }

    /// The capability's name.
    pub fn name(&self) -> &'static str {
        CAP_NAMES[self.index()]
    }

    /// The capabilities nested in this one that count as the device's own
    /// (virNodeDeviceCapsListExport): fc_host and vports of a SCSI host,
    /// mdev_types and vpd of a PCI device, mdev_types of css and ap_matrix.
    pub fn nested(&self) -> Vec<&'static str> {
        let mut v = Vec::new();
        match self {
            Cap::ScsiHost(h) => {
                if h.fc_host.is_some() {
                    v.push("fc_host");
                }
                if h.vport_ops.is_some() {
                    v.push("vports");
                }
            }
            Cap::Pci(p) => {
                if p.mdev_types.is_some() {
                    v.push("mdev_types");
                }
                if p.vpd.is_some() {
                    v.push("vpd");
                }
            }
            Cap::Css {
                mdev_types: Some(_),
                ..
            }
            | Cap::ApMatrix(Some(_)) => v.push("mdev_types"),
            _ => {}
        }
        v
    }
}

/// A node device.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NodeDeviceDef {
    pub name: String,
    /// Its sysfs path.
    pub path: Option<String>,
    pub devnode: Option<String>,
    pub devlinks: Vec<String>,
    pub parent: Option<String>,
    pub parent_wwnn: Option<String>,
    pub parent_wwpn: Option<String>,
    pub parent_fabric_wwn: Option<String>,
    /// The kernel driver bound to it.
    pub driver: Option<String>,
    pub caps: Vec<Cap>,
}

/// Whether a parsed device exists already (its XML names it) or is to be
/// created (libvirt's EXISTING_DEVICE / CREATE_DEVICE).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParseMode {
    Existing,
    Create,
}

fn pad(out: &mut String, indent: usize) {
    out.push_str(&" ".repeat(indent));
}

fn line(out: &mut String, indent: usize, s: &str) {
    pad(out, indent);
    out.push_str(s);
    out.push('\n');
}

/// `<tag>escaped</tag>` when there is a value.
fn opt_elem(out: &mut String, indent: usize, tag: &str, v: Option<&str>) {
    if let Some(v) = v {
        line(out, indent, &format!("<{tag}>{}</{tag}>", escape(v)));
    }
}

/// C's strtoul with a base (0: auto), refusing signs and trailing text,
/// as virStrToLong_uip does.
fn parse_uint_base(s: &str, base: u32) -> Option<u32> {
    let t = s.trim_start();
    if t.starts_with('-') {
        return None;
    }
    let t = t.strip_prefix('+').unwrap_or(t);
    let v = match base {
        0 => {
            if let Some(h) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
                u64::from_str_radix(h, 16).ok()?
            } else if t.len() > 1 && t.starts_with('0') {
                u64::from_str_radix(&t[1..], 8).ok()?
            } else {
                t.parse::<u64>().ok()?
            }
        }
        16 => {
            let h = t
                .strip_prefix("0x")
                .or_else(|| t.strip_prefix("0X"))
                .unwrap_or(t);
            u64::from_str_radix(h, 16).ok()?
        }
        _ => u64::from_str_radix(t, base).ok()?,
    };
    u32::try_from(v).ok()
}

/// The text of the first child `name`, absent when missing or empty
/// (libvirt's `virXPathString("string(./name[1])")`).
fn text_of(e: &Element, name: &str) -> Option<String> {
    e.child(name).map(Element::text).filter(|t| !t.is_empty())
}

/// Parsing context: the device's name, for messages.
struct Ctx<'a> {
    name: &'a str,
}

impl Ctx<'_> {
    fn internal(&self, fmt: &str) -> ConfError {
        ConfError::internal(fmt.replace("{}", self.name))
    }

    /// A required unsigned decimal child (virXPathUInt).
    fn req_uint(&self, e: &Element, child: &str, what: &str) -> Result<u32, ConfError> {
        match text_of(e, child) {
            None => Err(self.internal(&format!("no {what} supplied for '{{}}'"))),
            Some(t) => parse_uint_base(&t, 10)
                .ok_or_else(|| self.internal(&format!("invalid {what} supplied for '{{}}'"))),
        }
    }

    /// A required hexadecimal id attribute of child `child`.
    fn req_hex_id(&self, e: &Element, child: &str, what: &str) -> Result<u32, ConfError> {
        match e
            .child(child)
            .and_then(|c| c.attr("id"))
            .filter(|s| !s.is_empty())
        {
            None => Err(self.internal(&format!("no {what} supplied for '{{}}'"))),
            Some(t) => parse_uint_base(t, 16)
                .ok_or_else(|| self.internal(&format!("invalid {what} supplied for '{{}}'"))),
        }
    }

    fn unsupported(&self, msg: String) -> ConfError {
        ConfError::new(CONFIG_UNSUPPORTED, msg)
    }
}

fn parse_mdev_types(e: &Element) -> Result<Vec<MdevType>, ConfError> {
    let mut v = Vec::new();
    for t in e.children_named("type") {
        let id = t.attr("id").filter(|s| !s.is_empty()).ok_or_else(|| {
            ConfError::xml("missing 'id' attribute for mediated device's <type> element")
        })?;
        let device_api = text_of(t, "deviceAPI").ok_or_else(|| {
            ConfError::xml(format!(
                "missing device API for mediated device type '{id}'"
            ))
        })?;
        let available_instances = text_of(t, "availableInstances")
            .and_then(|s| parse_uint_base(&s, 10))
            .ok_or_else(|| {
                ConfError::xml(format!(
                    "missing number of available instances for mediated device type '{id}'"
                ))
            })?;
        v.push(MdevType {
            id: id.to_string(),
            name: text_of(t, "name"),
            device_api,
            available_instances,
        });
    }
    Ok(v)
}

fn format_mdev_types(types: &[MdevType], out: &mut String, indent: usize) {
    if types.is_empty() {
        return;
    }
    line(out, indent, "<capability type='mdev_types'>");
    for t in types {
        line(out, indent + 2, &format!("<type id='{}'>", escape(&t.id)));
        opt_elem(out, indent + 4, "name", t.name.as_deref());
        opt_elem(out, indent + 4, "deviceAPI", Some(&t.device_api));
        line(
            out,
            indent + 4,
            &format!(
                "<availableInstances>{}</availableInstances>",
                t.available_instances
            ),
        );
        line(out, indent + 2, "</type>");
    }
    line(out, indent, "</capability>");
}

fn upsert(v: &mut Vec<VpdField>, idx: char, value: String) {
    match v.iter_mut().find(|(i, _)| *i == idx) {
        Some(f) => f.1 = value,
        None => v.push((idx, value)),
    }
}

/// The custom fields of one `<fields>` element.
fn vpd_custom(e: &Element, tag: &str) -> Vec<VpdField> {
    let mut v = Vec::new();
    for f in e.children_named(tag) {
        let Some(idx) = f.attr("index") else { continue };
        let mut chars = idx.chars();
        let (Some(c), None) = (chars.next(), chars.next()) else {
            continue;
        };
        let value = f.text();
        if value.is_empty() {
            continue;
        }
        upsert(&mut v, c, value);
    }
    v
}

fn parse_vpd(e: &Element) -> Result<Vpd, ConfError> {
    let name = text_of(e, "name")
        .ok_or_else(|| ConfError::xml("Could not read a device name from the <name> element"))?;
    let mut vpd = Vpd {
        name,
        ro: None,
        rw: None,
    };
    for f in e.children_named("fields") {
        let Some(access) = f.attr("access") else {
            continue;
        };
        match access {
            "readonly" => {
                let mut ro = VpdRo {
                    change_level: text_of(f, "change_level"),
                    manufacture_id: text_of(f, "manufacture_id"),
                    part_number: text_of(f, "part_number"),
                    serial_number: text_of(f, "serial_number"),
                    vendor: Vec::new(),
                };
                for (c, v) in vpd_custom(f, "vendor_field") {
                    upsert(&mut ro.vendor, c, v);
                }
                vpd.ro = Some(ro);
            }
            "readwrite" => {
                let mut rw = VpdRw {
                    asset_tag: text_of(f, "asset_tag"),
                    ..Default::default()
                };
                for (c, v) in vpd_custom(f, "vendor_field") {
                    upsert(&mut rw.vendor, c, v);
                }
                for (c, v) in vpd_custom(f, "system_field") {
                    upsert(&mut rw.system, c, v);
                }
                vpd.rw = Some(rw);
            }
            other => {
                return Err(ConfError::xml(format!(
                    "Unsupported VPD field access type specified {other}"
                )))
            }
        }
    }
    Ok(vpd)
}

fn format_vpd(vpd: &Vpd, out: &mut String, indent: usize) {
    line(out, indent, "<capability type='vpd'>");
    let i2 = indent + 2;
    // A VPD without an identifier string has no name.
    if !vpd.name.is_empty() {
        line(out, i2, &format!("<name>{}</name>", escape(&vpd.name)));
    }
    // libvirt writes the field values as they are, unescaped.
    let raw = |out: &mut String, tag: &str, v: &Option<String>| {
        if let Some(v) = v {
            line(out, i2 + 2, &format!("<{tag}>{v}</{tag}>"));
        }
    };
    let custom = |out: &mut String, tag: &str, v: &[VpdField]| {
        for (c, val) in v {
            line(out, i2 + 2, &format!("<{tag} index='{c}'>{val}</{tag}>"));
        }
    };
    if let Some(ro) = &vpd.ro {
        line(out, i2, "<fields access='readonly'>");
        raw(out, "change_level", &ro.change_level);
        raw(out, "manufacture_id", &ro.manufacture_id);
        raw(out, "part_number", &ro.part_number);
        raw(out, "serial_number", &ro.serial_number);
        custom(out, "vendor_field", &ro.vendor);
        line(out, i2, "</fields>");
    }
    if let Some(rw) = &vpd.rw {
        line(out, i2, "<fields access='readwrite'>");
        raw(out, "asset_tag", &rw.asset_tag);
        custom(out, "vendor_field", &rw.vendor);
        custom(out, "system_field", &rw.system);
        line(out, i2, "</fields>");
    }
    line(out, indent, "</capability>");
}

fn parse_pcie_link(e: &Element) -> Result<PcieLink, ConfError> {
    let width = match e.attr("width") {
        None => {
            return Err(ConfError::xml_layer(
                "Missing required attribute 'width' in element 'link'",
            ))
        }
        Some(w) => parse_uint_base(w, 0).ok_or_else(|| {
            ConfError::xml_layer(format!(
                "Invalid value for attribute 'width' in element 'link': '{w}'. Expected non-negative integer value"
            ))
        })?,
    };
    let speed = match e.attr("speed") {
        None => 0,
        Some(s) => PCIE_SPEEDS
            .iter()
            .position(|x| *x == s)
            .filter(|i| *i > 0)
            .ok_or_else(|| {
                ConfError::xml_layer(format!(
                    "Invalid value for attribute 'speed' in element 'link': '{s}'."
                ))
            })?,
    };
    let port = match e.attr("port") {
        None => -1,
        Some(p) => p.trim().parse::<i32>().map_err(|_| {
            ConfError::xml_layer(format!(
                "Invalid value for attribute 'port' in element 'link': '{p}'. Expected integer value"
            ))
        })?,
    };
    Ok(PcieLink { port, speed, width })
}

fn format_pcie_link(l: &PcieLink, validity: &str, out: &mut String, indent: usize) {
    let mut s = format!("<link validity='{validity}'");
    if l.port >= 0 {
        s.push_str(&format!(" port='{}'", l.port));
    }
    if l.speed > 0 {
        s.push_str(&format!(" speed='{}'", PCIE_SPEEDS[l.speed]));
    }
    s.push_str(&format!(" width='{}'/>", l.width));
    line(out, indent, &s);
}

fn parse_pci(ctx: &Ctx, e: &Element) -> Result<PciCap, ConfError> {
    let class = match text_of(e, "class") {
        None => -1,
        Some(t) => {
            let h = t
                .strip_prefix("0x")
                .or_else(|| t.strip_prefix("0X"))
                .unwrap_or(&t);
            match i64::from_str_radix(h, 16) {
                Ok(v) if (0..=0xffffff).contains(&v) => v,
                _ => return Err(ctx.internal("invalid PCI class supplied for '{}'")),
            }
        }
    };
    let domain = ctx.req_uint(e, "domain", "PCI domain ID")?;
    let bus = ctx.req_uint(e, "bus", "PCI bus ID")?;
    let slot = ctx.req_uint(e, "slot", "PCI slot ID")?;
    let function = ctx.req_uint(e, "function", "PCI function ID")?;
    let vendor = ctx.req_hex_id(e, "vendor", "PCI vendor ID")?;
    let product = ctx.req_hex_id(e, "product", "PCI product ID")?;
    let mut pci = PciCap {
        class,
        addr: PciAddr {
            domain,
            bus,
            slot,
            function,
        },
        product,
        product_name: text_of(e, "product"),
        vendor,
        vendor_name: text_of(e, "vendor"),
        numa_node: -1,
        ..Default::default()
    };
    for c in e.children_named("capability") {
        let ty = c
            .attr("type")
            .ok_or_else(|| ConfError::xml("Missing capability type"))?;
        match ty {
            "phys_function" => {
                let a = c.child("address").ok_or_else(|| {
                    ConfError::xml("Missing address in 'phys_function' capability")
                })?;
                pci.physical_function = Some(PciAddr::parse(a)?);
            }
            "virt_functions" => {
                if let Some(m) = c.attr("maxCount") {
                    pci.max_virtual_functions = parse_uint_base(m, 10)
                        .ok_or_else(|| ConfError::xml("Malformed 'maxCount' parameter"))?;
                }
                let vfs = c
                    .children_named("address")
                    .map(PciAddr::parse)
                    .collect::<Result<Vec<_>, _>>()?;
                pci.virt_functions = Some(vfs);
            }
            "mdev_types" => {
                pci.mdev_types
                    .get_or_insert_with(Vec::new)
                    .extend(parse_mdev_types(c)?);
            }
            "vpd" => pci.vpd = Some(parse_vpd(c)?),
            "pci-bridge" | "cardbus-bridge" if pci.header_type.is_none() => {
                pci.header_type = Some(ty.to_string());
            }
            _ => {}
        }
    }
    if let Some(g) = e.child("iommuGroup") {
        let number = match g.attr("number") {
            None => {
                return Err(ConfError::xml_layer(
                    "Missing required attribute 'number' in element 'iommuGroup'",
                ))
            }
            Some(n) => parse_uint_base(n, 10).ok_or_else(|| {
                ConfError::xml_layer(format!(
                    "Invalid value for attribute 'number' in element 'iommuGroup': '{n}'. Expected non-negative integer value"
                ))
            })?,
        };
        let addrs = g
            .children_named("address")
            .map(PciAddr::parse)
            .collect::<Result<Vec<_>, _>>()?;
        pci.iommu_group = Some((number, addrs));
    }
    if let Some(n) = e
        .child("numa")
        .and_then(|n| n.attr("node"))
        .filter(|s| !s.is_empty())
    {
        pci.numa_node = n
            .parse::<i32>()
            .map_err(|_| ctx.internal("invalid NUMA node ID supplied for '{}'"))?;
    }
    if let Some(x) = e.child("pci-express") {
        let find = |v: &str| {
            x.children_named("link")
                .find(|l| l.attr("validity") == Some(v))
        };
        pci.pci_express = Some(PciExpress {
            link_cap: find("cap").map(parse_pcie_link).transpose()?,
            link_sta: find("sta").map(parse_pcie_link).transpose()?,
        });
    }
    Ok(pci)
}

fn format_pci(p: &PciCap, out: &mut String, i: usize) {
    if p.class >= 0 {
        line(out, i, &format!("<class>0x{:06x}</class>", p.class));
    }
    line(out, i, &format!("<domain>{}</domain>", p.addr.domain));
    line(out, i, &format!("<bus>{}</bus>", p.addr.bus));
    line(out, i, &format!("<slot>{}</slot>", p.addr.slot));
    line(out, i, &format!("<function>{}</function>", p.addr.function));
    let id_elem = |tag: &str, id: u32, name: &Option<String>| match name {
        Some(n) => format!("<{tag} id='0x{id:04x}'>{}</{tag}>", escape(n)),
        None => format!("<{tag} id='0x{id:04x}'/>"),
    };
    line(out, i, &id_elem("product", p.product, &p.product_name));
    line(out, i, &id_elem("vendor", p.vendor, &p.vendor_name));
    if let Some(pf) = &p.physical_function {
        line(out, i, "<capability type='phys_function'>");
        pf.format(out, i + 2);
        line(out, i, "</capability>");
    }
    if let Some(vfs) = &p.virt_functions {
        let mut s = "<capability type='virt_functions'".to_string();
        if p.max_virtual_functions != 0 {
            s.push_str(&format!(" maxCount='{}'", p.max_virtual_functions));
        }
        if vfs.is_empty() {
            s.push_str("/>");
            line(out, i, &s);
        } else {
            s.push('>');
            line(out, i, &s);
            for vf in vfs {
                vf.format(out, i + 2);
            }
            line(out, i, "</capability>");
        }
    }
    if let Some(h) = &p.header_type {
        line(out, i, &format!("<capability type='{h}'/>"));
    }
    if let Some(t) = &p.mdev_types {
        format_mdev_types(t, out, i);
    }
    if let Some(v) = &p.vpd {
        format_vpd(v, out, i);
    }
    if let Some((n, addrs)) = &p.iommu_group {
        if !addrs.is_empty() {
            line(out, i, &format!("<iommuGroup number='{n}'>"));
            for a in addrs {
                a.format(out, i + 2);
            }
            line(out, i, "</iommuGroup>");
        }
    }
    if p.numa_node >= 0 {
        line(out, i, &format!("<numa node='{}'/>", p.numa_node));
    }
    if let Some(x) = &p.pci_express {
        if x.link_cap.is_none() && x.link_sta.is_none() {
            line(out, i, "<pci-express/>");
        } else {
            line(out, i, "<pci-express>");
            if let Some(l) = &x.link_cap {
                format_pcie_link(l, "cap", out, i + 2);
            }
            if let Some(l) = &x.link_sta {
                format_pcie_link(l, "sta", out, i + 2);
            }
            line(out, i, "</pci-express>");
        }
    }
}

fn parse_ccw_addr(ctx: &Ctx, e: &Element) -> Result<CcwAddr, ConfError> {
    let get = |tag: &str, base: u32| -> Result<u32, ConfError> {
        let v = text_of(e, tag)
            .ok_or_else(|| ctx.unsupported(format!("missing {tag} value for '{}'", ctx.name)))?;
        parse_uint_base(&v, base)
            .ok_or_else(|| ctx.unsupported(format!("invalid {tag} value '{v}' for '{}'", ctx.name)))
    };
    Ok(CcwAddr {
        cssid: get("cssid", 0)?,
        ssid: get("ssid", 0)?,
        devno: get("devno", 16)?,
    })
}

fn parse_ap_adapter(ctx: &Ctx, e: &Element) -> Result<u32, ConfError> {
    let v = text_of(e, "ap-adapter")
        .ok_or_else(|| ctx.unsupported(format!("missing ap-adapter value for '{}'", ctx.name)))?;
    parse_uint_base(&v, 0).ok_or_else(|| {
        ctx.unsupported(format!("invalid ap-adapter value '{v}' for '{}'", ctx.name))
    })
}

fn parse_storage(ctx: &Ctx, e: &Element) -> Result<StorageCap, ConfError> {
    let block = text_of(e, "block")
        .ok_or_else(|| ctx.internal("no block device path supplied for '{}'"))?;
    let mut s = StorageCap {
        block,
        bus: text_of(e, "bus"),
        drive_type: text_of(e, "drive_type"),
        model: text_of(e, "model"),
        vendor: text_of(e, "vendor"),
        serial: text_of(e, "serial"),
        ..Default::default()
    };
    for c in e.children_named("capability") {
        let ty = c
            .attr("type")
            .ok_or_else(|| ctx.internal("missing storage capability type for '{}'"))?;
        match ty {
            "hotpluggable" => s.hotpluggable = true,
            "removable" => {
                let media_size = match text_of(c, "media_size") {
                    None => return Err(ctx.internal("no removable media size supplied for '{}'")),
                    Some(t) => t.parse::<u64>().map_err(|_| {
                        ctx.internal("invalid removable media size supplied for '{}'")
                    })?,
                };
                s.removable = Some(Removable {
                    media_available: c.children_named("media_available").any(|m| m.text() == "1"),
                    media_size,
                    media_label: text_of(c, "media_label"),
                });
            }
            other => {
                return Err(ConfError::internal(format!(
                    "unknown storage capability type '{other}' for '{}'",
                    ctx.name
                )))
            }
        }
    }
    if s.removable.is_none() {
        s.size = match text_of(e, "size") {
            None => return Err(ctx.internal("no size supplied for '{}'")),
            Some(t) => t
                .parse::<u64>()
                .map_err(|_| ctx.internal("invalid size supplied for '{}'"))?,
        };
    }
    Ok(s)
}

fn format_storage(s: &StorageCap, out: &mut String, i: usize) {
    opt_elem(out, i, "block", Some(&s.block));
    opt_elem(out, i, "bus", s.bus.as_deref());
    opt_elem(out, i, "drive_type", s.drive_type.as_deref());
    opt_elem(out, i, "model", s.model.as_deref());
    opt_elem(out, i, "vendor", s.vendor.as_deref());
    opt_elem(out, i, "serial", s.serial.as_deref());
    let blocks = |out: &mut String, i: usize| {
        if s.logical_block_size > 0 {
            line(
                out,
                i,
                &format!(
                    "<logical_block_size>{}</logical_block_size>",
                    s.logical_block_size
                ),
            );
        }
        if s.num_blocks > 0 {
            line(
                out,
                i,
                &format!("<num_blocks>{}</num_blocks>", s.num_blocks),
            );
        }
    };
    if let Some(r) = &s.removable {
        line(out, i, "<capability type='removable'>");
        line(
            out,
            i + 2,
            &format!(
                "<media_available>{}</media_available>",
                u8::from(r.media_available)
            ),
        );
        line(
            out,
            i + 2,
            &format!("<media_size>{}</media_size>", r.media_size),
        );
        opt_elem(out, i + 2, "media_label", r.media_label.as_deref());
        blocks(out, i + 2);
        line(out, i, "</capability>");
    } else {
        line(out, i, &format!("<size>{}</size>", s.size));
        blocks(out, i);
    }
    if s.hotpluggable {
        line(out, i, "<capability type='hotpluggable'/>");
    }
}

fn parse_cap(ctx: &Ctx, e: &Element, mode: ParseMode) -> Result<Cap, ConfError> {
    let ty = match e.attr("type") {
        None => {
            return Err(ConfError::xml_layer(
                "Missing required attribute 'type' in element 'capability'",
            ))
        }
        Some(t) => t,
    };
    let Some(index) = CAP_NAMES.iter().position(|n| *n == ty) else {
        return Err(ConfError::xml_layer(format!(
            "Invalid value for attribute 'type' in element 'capability': '{ty}'."
        )));
    };
    Ok(match ty {
        "system" => {
            let hw = e.child("hardware");
            let fw = e.child("firmware");
            let sub = |p: Option<&Element>, t: &str| p.and_then(|p| text_of(p, t));
            let uuid =
                sub(hw, "uuid").ok_or_else(|| ctx.internal("no system UUID supplied for '{}'"))?;
            let hw_uuid = Uuid::parse(uuid.trim())
                .ok_or_else(|| ctx.internal("malformed uuid element for '{}'"))?;
            Cap::System(SystemCap {
                product_name: text_of(e, "product"),
                hw_vendor: sub(hw, "vendor"),
                hw_version: sub(hw, "version"),
                hw_serial: sub(hw, "serial"),
                hw_uuid,
                fw_vendor: sub(fw, "vendor"),
                fw_version: sub(fw, "version"),
                fw_release_date: sub(fw, "release_date"),
            })
        }
        "pci" => Cap::Pci(Box::new(parse_pci(ctx, e)?)),
        "usb_device" => Cap::UsbDevice(UsbDevCap {
            bus: ctx.req_uint(e, "bus", "USB bus number")?,
            device: ctx.req_uint(e, "device", "USB device number")?,
            vendor: ctx.req_hex_id(e, "vendor", "USB vendor ID")?,
            product: ctx.req_hex_id(e, "product", "USB product ID")?,
            vendor_name: text_of(e, "vendor"),
            product_name: text_of(e, "product"),
        }),
        "usb" => Cap::Usb(UsbIfCap {
            number: ctx.req_uint(e, "number", "USB interface number")?,
            class: ctx.req_uint(e, "class", "USB interface class")?,
            subclass: ctx.req_uint(e, "subclass", "USB interface subclass")?,
            protocol: ctx.req_uint(e, "protocol", "USB interface protocol")?,
            description: text_of(e, "description"),
        }),
        "net" => {
            let ifname = text_of(e, "interface")
                .ok_or_else(|| ctx.internal("no network interface supplied for '{}'"))?;
            let mut features = Vec::new();
            for f in e.children_named("feature") {
                let n = f
                    .attr("name")
                    .ok_or_else(|| ConfError::xml("missing network device feature name"))?;
                let i = NET_FEATURES.iter().position(|x| *x == n).ok_or_else(|| {
                    ConfError::xml(format!("unknown network device feature '{n}'"))
                })?;
                if !features.contains(&i) {
                    features.push(i);
                }
            }
            features.sort_unstable();
            let subtype = match e.child("capability").and_then(|c| c.attr("type")) {
                None | Some("") => None,
                Some(t @ ("80203" | "80211")) => Some(t.to_string()),
                Some(_) => {
                    return Err(ctx
                        .unsupported(format!("invalid network type supplied for '{}'", ctx.name)))
                }
            };
            let link = match e.child("link") {
                Some(l) => IfLink::parse(l)?,
                None => IfLink::default(),
            };
            Cap::Net(NetCap {
                ifname,
                address: text_of(e, "address"),
                link,
                features,
                subtype,
            })
        }
        "scsi_host" => {
            let mut h = ScsiHostCap {
                unique_id: -1,
                ..Default::default()
            };
            if mode == ParseMode::Existing {
                h.host = ctx.req_uint(e, "host", "SCSI host ID")?;
                if let Some(u) = text_of(e, "unique_id") {
                    h.unique_id = u
                        .parse::<i32>()
                        .map_err(|_| ctx.internal("invalid unique_id supplied for '{}'"))?;
                }
            }
            for c in e.children_named("capability") {
                let t = c
                    .attr("type")
                    .ok_or_else(|| ctx.internal("missing SCSI host capability type for '{}'"))?;
                match t {
                    "vport_ops" => h.vport_ops = Some((0, 0)),
                    "fc_host" => {
                        h.fc_host = Some((
                            text_of(c, "wwnn"),
                            text_of(c, "wwpn"),
                            text_of(c, "fabric_wwn"),
                        ))
                    }
                    other => {
                        return Err(ConfError::internal(format!(
                            "unknown SCSI host capability type '{other}' for '{}'",
                            ctx.name
                        )))
                    }
                }
            }
            Cap::ScsiHost(h)
        }
        "scsi_target" => {
            let name = text_of(e, "target")
                .ok_or_else(|| ctx.internal("no target name supplied for '{}'"))?;
            let mut t = ScsiTargetCap {
                name,
                fc_remote_port: None,
            };
            for c in e.children_named("capability") {
                let ty = c.attr("type").ok_or_else(|| {
                    ctx.internal("missing type for SCSI target capability for '{}'")
                })?;
                if ty != "fc_remote_port" {
                    return Err(ConfError::internal(format!(
                        "unknown SCSI target capability type '{ty}' for '{}'",
                        ctx.name
                    )));
                }
                let rport = text_of(c, "rport")
                    .ok_or_else(|| ctx.internal("missing rport name for '{}'"))?;
                let wwpn = text_of(c, "wwpn")
                    .ok_or_else(|| ctx.internal("missing wwpn identifier for '{}'"))?;
                t.fc_remote_port = Some((rport, wwpn));
            }
            Cap::ScsiTarget(t)
        }
        "scsi" => Cap::Scsi(ScsiCap {
            host: ctx.req_uint(e, "host", "SCSI host ID")?,
            bus: ctx.req_uint(e, "bus", "SCSI bus ID")?,
            target: ctx.req_uint(e, "target", "SCSI target ID")?,
            lun: ctx.req_uint(e, "lun", "SCSI LUN ID")?,
            ty: text_of(e, "type"),
        }),
        "storage" => Cap::Storage(parse_storage(ctx, e)?),
        "drm" => {
            let t = text_of(e, "type").unwrap_or_default();
            let i = DRM_TYPES.iter().position(|x| *x == t).ok_or_else(|| {
                ctx.unsupported(format!("unknown drm type '{t}' for '{}'", ctx.name))
            })?;
            Cap::Drm(i)
        }
        "mdev" => {
            let ty = e
                .child("type")
                .and_then(|t| t.attr("id"))
                .filter(|s| !s.is_empty())
                .ok_or_else(|| {
                    ctx.unsupported(format!("missing type id attribute for '{}'", ctx.name))
                })?;
            let uuid = match text_of(e, "uuid") {
                None => None,
                Some(u) => Some(
                    Uuid::parse(u.trim())
                        .ok_or_else(|| {
                            ConfError::internal(format!("Invalid uuid '{u}' for new mdev device"))
                        })?
                        .to_string(),
                ),
            };
            let iommu_group = match e
                .child("iommuGroup")
                .and_then(|g| g.attr("number"))
                .filter(|s| !s.is_empty())
            {
                None => 0,
                Some(n) => parse_uint_base(n, 10)
                    .ok_or_else(|| ctx.internal("invalid iommuGroup number attribute for '{}'"))?,
            };
            let mut attrs = Vec::new();
            for a in e.children_named("attr") {
                // libvirt reports an incomplete one but goes on parsing.
                if let (Some(n), Some(v)) = (a.attr("name"), a.attr("value")) {
                    attrs.push((n.to_string(), v.to_string()));
                }
            }
            Cap::Mdev(MdevCap {
                ty: ty.to_string(),
                uuid,
                parent_addr: None,
                iommu_group,
                attrs,
            })
        }
        "ccw" => Cap::Ccw(parse_ccw_addr(ctx, e)?),
        "css" => {
            let addr = parse_ccw_addr(ctx, e)?;
            let mut mdev_types: Option<Vec<MdevType>> = None;
            for c in e.children_named("capability") {
                let t = c
                    .attr("type")
                    .ok_or_else(|| ConfError::xml("Missing capability type"))?;
                if t == "mdev_types" {
                    mdev_types
                        .get_or_insert_with(Vec::new)
                        .extend(parse_mdev_types(c)?);
                }
            }
            let channel_dev_addr = e
                .child("channel_dev_addr")
                .map(|c| parse_ccw_addr(ctx, c))
                .transpose()?;
            Cap::Css {
                addr,
                channel_dev_addr,
                mdev_types,
            }
        }
        "ap_card" => Cap::ApCard(parse_ap_adapter(ctx, e)?),
        "ap_queue" => {
            let adapter = parse_ap_adapter(ctx, e)?;
            let d = text_of(e, "ap-domain").ok_or_else(|| {
                ctx.unsupported(format!("missing ap-domain value for '{}'", ctx.name))
            })?;
            let dom = parse_uint_base(&d, 0).ok_or_else(|| {
                ctx.unsupported(format!("invalid ap-domain value '{d}' for '{}'", ctx.name))
            })?;
            if dom > 255 {
                return Err(ctx.unsupported(format!(
                    "ap-domain value '{d}' is out of range for '{}'",
                    ctx.name
                )));
            }
            Cap::ApQueue(adapter, dom)
        }
        "ap_matrix" => {
            let mut mdev_types: Option<Vec<MdevType>> = None;
            for c in e.children_named("capability") {
                let t = c
                    .attr("type")
                    .ok_or_else(|| ConfError::xml("Missing capability type"))?;
                if t == "mdev_types" {
                    mdev_types
                        .get_or_insert_with(Vec::new)
                        .extend(parse_mdev_types(c)?);
                }
            }
            Cap::ApMatrix(mdev_types)
        }
        _ => {
            return Err(ConfError::internal(format!(
                "unknown capability type '{index}' for '{}'",
                ctx.name
            )))
        }
    })
}

impl NodeDeviceDef {
    /// Parses a `<device>` document.
    pub fn parse_str(text: &str, mode: ParseMode) -> Result<NodeDeviceDef, ConfError> {
        let root = xml::parse_document(text, "(node_device_definition)", "device")?;
        Self::parse_element(&root, mode)
    }

    fn parse_element(root: &Element, mode: ParseMode) -> Result<NodeDeviceDef, ConfError> {
        let name = match mode {
            ParseMode::Existing => text_of(root, "name").ok_or_else(|| ConfError::bare(NO_NAME))?,
            ParseMode::Create => "new device".to_string(),
        };
        let mut def = NodeDeviceDef {
            path: text_of(root, "path"),
            ..Default::default()
        };
        for d in root.children_named("devnode") {
            match d.attr("type") {
                None => {
                    return Err(ConfError::xml_layer(
                        "Missing required attribute 'type' in element 'devnode'",
                    ))
                }
                Some("dev") => def.devnode = Some(d.text()),
                Some("link") => def.devlinks.push(d.text()),
                Some(t) => {
                    return Err(ConfError::xml_layer(format!(
                        "Invalid value for attribute 'type' in element 'devnode': '{t}'."
                    )))
                }
            }
        }
        def.parent = text_of(root, "parent");
        let pattr = |a: &str| {
            root.child("parent")
                .and_then(|p| p.attr(a))
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        def.parent_wwnn = pattr("wwnn");
        def.parent_wwpn = pattr("wwpn");
        match (&def.parent_wwnn, &def.parent_wwpn) {
            (Some(n), None) => {
                return Err(ConfError::xml(format!(
                    "when providing parent wwnn='{n}', the wwpn must also be provided"
                )))
            }
            (None, Some(p)) => {
                return Err(ConfError::xml(format!(
                    "when providing parent wwpn='{p}', the wwnn must also be provided"
                )))
            }
            _ => {}
        }
        def.parent_fabric_wwn = pattr("fabric_wwn");
        let ctx = Ctx { name: &name };
        let caps: Vec<&Element> = root.children_named("capability").collect();
        if caps.is_empty() {
            return Err(ctx.internal("no device capabilities for '{}'"));
        }
        for c in caps {
            def.caps.push(parse_cap(&ctx, c, mode)?);
        }
        def.name = name;
        Ok(def)
    }

    /// Whether the device has capability `cap` (a [`CAP_NAMES`] name),
    /// itself or nested (virNodeDeviceObjHasCap).
    pub fn has_cap(&self, cap: &str) -> bool {
        self.caps
            .iter()
            .any(|c| c.name() == cap || c.nested().contains(&cap))
    }

    /// The names of its capabilities, nested ones after their parent
    /// (virNodeDeviceListCaps).
    pub fn cap_names(&self) -> Vec<String> {
        let mut v = Vec::new();
        for c in &self.caps {
            v.push(c.name().to_string());
            v.extend(c.nested().into_iter().map(str::to_string));
        }
        v
    }

    /// The XML libvirt gives for this device.
    pub fn to_xml(&self) -> String {
        let mut out = String::from("<device>\n");
        opt_elem(&mut out, 2, "name", Some(&self.name));
        opt_elem(&mut out, 2, "path", self.path.as_deref());
        if let Some(d) = &self.devnode {
            line(
                &mut out,
                2,
                &format!("<devnode type='dev'>{}</devnode>", escape(d)),
            );
        }
        for l in &self.devlinks {
            line(
                &mut out,
                2,
                &format!("<devnode type='link'>{}</devnode>", escape(l)),
            );
        }
        opt_elem(&mut out, 2, "parent", self.parent.as_deref());
        if let Some(d) = &self.driver {
            line(&mut out, 2, "<driver>");
            opt_elem(&mut out, 4, "name", Some(d));
            line(&mut out, 2, "</driver>");
        }
        for cap in &self.caps {
            line(&mut out, 2, &format!("<capability type='{}'>", cap.name()));
            format_cap(cap, &mut out, 4);
            line(&mut out, 2, "</capability>");
        }
        out.push_str("</device>\n");
        out
    }
}

fn format_cap(cap: &Cap, out: &mut String, i: usize) {
    match cap {
        Cap::System(s) => {
            opt_elem(out, i, "product", s.product_name.as_deref());
            line(out, i, "<hardware>");
            opt_elem(out, i + 2, "vendor", s.hw_vendor.as_deref());
            opt_elem(out, i + 2, "version", s.hw_version.as_deref());
            opt_elem(out, i + 2, "serial", s.hw_serial.as_deref());
            line(out, i + 2, &format!("<uuid>{}</uuid>", s.hw_uuid));
            line(out, i, "</hardware>");
            line(out, i, "<firmware>");
            opt_elem(out, i + 2, "vendor", s.fw_vendor.as_deref());
            opt_elem(out, i + 2, "version", s.fw_version.as_deref());
            opt_elem(out, i + 2, "release_date", s.fw_release_date.as_deref());
            line(out, i, "</firmware>");
        }
        Cap::Pci(p) => format_pci(p, out, i),
        Cap::UsbDevice(u) => {
            line(out, i, &format!("<bus>{}</bus>", u.bus));
            line(out, i, &format!("<device>{}</device>", u.device));
            // libvirt writes an empty id element here with a space.
            let id_elem = |tag: &str, id: u32, name: &Option<String>| match name {
                Some(n) => format!("<{tag} id='0x{id:04x}'>{}</{tag}>", escape(n)),
                None => format!("<{tag} id='0x{id:04x}' />"),
            };
            line(out, i, &id_elem("product", u.product, &u.product_name));
            line(out, i, &id_elem("vendor", u.vendor, &u.vendor_name));
        }
        Cap::Usb(u) => {
            line(out, i, &format!("<number>{}</number>", u.number));
            line(out, i, &format!("<class>{}</class>", u.class));
            line(out, i, &format!("<subclass>{}</subclass>", u.subclass));
            line(out, i, &format!("<protocol>{}</protocol>", u.protocol));
            opt_elem(out, i, "description", u.description.as_deref());
        }
        Cap::Net(n) => {
            opt_elem(out, i, "interface", Some(&n.ifname));
            opt_elem(out, i, "address", n.address.as_deref());
            n.link.format(out, i);
            for f in &n.features {
                if let Some(name) = NET_FEATURES.get(*f) {
                    line(out, i, &format!("<feature name='{name}'/>"));
                }
            }
            if let Some(s) = &n.subtype {
                line(out, i, &format!("<capability type='{s}'/>"));
            }
        }
        Cap::ScsiHost(h) => {
            line(out, i, &format!("<host>{}</host>", h.host));
            if h.unique_id != -1 {
                line(out, i, &format!("<unique_id>{}</unique_id>", h.unique_id));
            }
            if let Some((wwnn, wwpn, fabric)) = &h.fc_host {
                line(out, i, "<capability type='fc_host'>");
                opt_elem(out, i + 2, "wwnn", wwnn.as_deref());
                opt_elem(out, i + 2, "wwpn", wwpn.as_deref());
                opt_elem(out, i + 2, "fabric_wwn", fabric.as_deref());
                line(out, i, "</capability>");
            }
            if let Some((max, n)) = h.vport_ops {
                line(out, i, "<capability type='vport_ops'>");
                line(out, i + 2, &format!("<max_vports>{max}</max_vports>"));
                line(out, i + 2, &format!("<vports>{n}</vports>"));
                line(out, i, "</capability>");
            }
        }
        Cap::ScsiTarget(t) => {
            opt_elem(out, i, "target", Some(&t.name));
            if let Some((rport, wwpn)) = &t.fc_remote_port {
                line(out, i, "<capability type='fc_remote_port'>");
                line(out, i + 2, &format!("<rport>{rport}</rport>"));
                line(out, i + 2, &format!("<wwpn>{wwpn}</wwpn>"));
                line(out, i, "</capability>");
            }
        }
        Cap::Scsi(s) => {
            line(out, i, &format!("<host>{}</host>", s.host));
            line(out, i, &format!("<bus>{}</bus>", s.bus));
            line(out, i, &format!("<target>{}</target>", s.target));
            line(out, i, &format!("<lun>{}</lun>", s.lun));
            opt_elem(out, i, "type", s.ty.as_deref());
        }
        Cap::Storage(s) => format_storage(s, out, i),
        Cap::ScsiGeneric(p) => opt_elem(out, i, "char", Some(p)),
        Cap::Drm(t) => opt_elem(out, i, "type", DRM_TYPES.get(*t).copied()),
        Cap::MdevTypes(t) => format_mdev_types(t, out, i),
        Cap::Mdev(m) => {
            line(out, i, &format!("<type id='{}'/>", escape(&m.ty)));
            opt_elem(out, i, "uuid", m.uuid.as_deref());
            opt_elem(out, i, "parent_addr", m.parent_addr.as_deref());
            line(out, i, &format!("<iommuGroup number='{}'/>", m.iommu_group));
            for (n, v) in &m.attrs {
                line(out, i, &format!("<attr name='{n}' value='{v}'/>"));
            }
        }
        Cap::Ccw(a) => a.format(out, i),
        Cap::Css {
            addr,
            channel_dev_addr,
            mdev_types,
        } => {
            addr.format(out, i);
            if let Some(c) = channel_dev_addr {
                line(out, i, "<channel_dev_addr>");
                c.format(out, i + 2);
                line(out, i, "</channel_dev_addr>");
            }
            if let Some(t) = mdev_types {
                format_mdev_types(t, out, i);
            }
        }
        Cap::Vdpa(c) => opt_elem(out, i, "chardev", Some(c)),
        Cap::ApCard(a) => line(out, i, &format!("<ap-adapter>0x{a:02x}</ap-adapter>")),
        Cap::ApQueue(a, d) => {
            line(out, i, &format!("<ap-adapter>0x{a:02x}</ap-adapter>"));
            line(out, i, &format!("<ap-domain>0x{d:04x}</ap-domain>"));
        }
        Cap::ApMatrix(t) => {
            if let Some(t) = t {
                format_mdev_types(t, out, i);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        NodeDeviceDef::parse_str(text, ParseMode::Existing)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_else(|| panic!("{text} parsed"))
    }

    #[test]
    fn refusals_use_libvirts_words() {
        assert_eq!(
            err("<device><capability type='system'/></device>"),
            "missing name information"
        );
        assert_eq!(
            err("<device><name>x</name></device>"),
            "internal error: no device capabilities for 'x'"
        );
        assert_eq!(
            err("<device><name>x</name><capability type='pci'><domain>0</domain></capability></device>"),
            "internal error: no PCI bus ID supplied for 'x'"
        );
        assert_eq!(
            err("<device><name>x</name><capability type='drm'><type>odd</type></capability></device>"),
            "unsupported configuration: unknown drm type 'odd' for 'x'"
        );
        let e = NodeDeviceDef::parse_str(
            "<device><capability type='scsi_host'><capability type='fc_host'/></capability></device>",
            ParseMode::Create,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(e.name, "new device");
        assert!(e.has_cap("fc_host"));
        assert_eq!(e.cap_names(), ["scsi_host", "fc_host"]);
    }
}
