// SPDX-License-Identifier: LGPL-2.1-or-later
//! PCI details libvirt adds to a `pci` capability: vendor and product
//! names from the PCI ID database (`pci.ids`, what libpciaccess reads),
//! the header type and PCI Express links from the configuration space,
//! SR-IOV functions, the IOMMU group and mediated device types from
//! sysfs.

use std::collections::HashMap;
use std::path::Path;
use std::sync::OnceLock;

use conf::nodedev::{MdevType, PciAddr, PcieLink};

use crate::udev::{basename, read_attr};

/// Where Debian keeps the ID databases.
const PCI_IDS: [&str; 2] = ["/usr/share/misc/pci.ids", "/usr/share/hwdata/pci.ids"];
const USB_IDS: [&str; 2] = ["/usr/share/misc/usb.ids", "/usr/share/hwdata/usb.ids"];

/// Vendor names and (vendor, device) names of one ID database.
#[derive(Default)]
pub struct IdDb {
    vendors: HashMap<u32, String>,
    devices: HashMap<(u32, u32), String>,
}

impl IdDb {
    /// Parses the `pci.ids` / `usb.ids` format: `VVVV  name` lines, then
    /// `\tDDDD  name` lines for that vendor (deeper levels and the class
    /// lists after the vendors are ignored).
    pub fn parse(text: &str) -> IdDb {
        let mut db = IdDb::default();
        let mut vendor: Option<u32> = None;
        for line in text.lines() {
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            if let Some(rest) = line.strip_prefix('\t') {
                if rest.starts_with('\t') {
                    continue;
                }
                if let (Some(v), Some((id, name))) = (vendor, split_id(rest)) {
                    db.devices.insert((v, id), name.to_string());
                }
                continue;
            }
            match split_id(line) {
                Some((id, name)) => {
                    vendor = Some(id);
                    db.vendors.insert(id, name.to_string());
                }
                // "C 00  Unclassified device" and the like end the vendors.
                None => vendor = None,
            }
        }
        db
    }

    pub fn vendor(&self, v: u32) -> Option<String> {
        self.vendors.get(&v).cloned()
    }

    pub fn device(&self, v: u32, d: u32) -> Option<String> {
        self.devices.get(&(v, d)).cloned()
    }
}

fn split_id(s: &str) -> Option<(u32, &str)> {
    let (id, name) = s.split_once("  ")?;
    if id.len() != 4 {
        return None;
    }
    Some((u32::from_str_radix(id, 16).ok()?, name.trim()))
}

fn load(paths: &[&str]) -> IdDb {
    paths
        .iter()
        .find_map(|p| std::fs::read_to_string(p).ok())
        .map(|t| IdDb::parse(&t))
        .unwrap_or_default()
}

/// The PCI ID database, read once.
pub fn pci_ids() -> &'static IdDb {
    static DB: OnceLock<IdDb> = OnceLock::new();
    DB.get_or_init(|| load(&PCI_IDS))
}

/// The USB ID database, read once.
pub fn usb_ids() -> &'static IdDb {
    static DB: OnceLock<IdDb> = OnceLock::new();
    DB.get_or_init(|| load(&USB_IDS))
}

/// Parses `DDDD:BB:SS.F` (hexadecimal fields).
pub fn parse_addr(s: &str) -> Option<PciAddr> {
    let mut it = s.split([':', '.']);
    let domain = u32::from_str_radix(it.next()?, 16).ok()?;
    let bus = u32::from_str_radix(it.next()?, 16).ok()?;
    let slot = u32::from_str_radix(it.next()?, 16).ok()?;
    let function = u32::from_str_radix(it.next()?, 16).ok()?;
    if it.next().is_some() {
        return None;
    }
    Some(PciAddr {
        domain,
        bus,
        slot,
        function,
    })
}

/// `DDDD:BB:SS.F` of an address.
pub fn format_addr(a: &PciAddr) -> String {
    format!(
        "{:04x}:{:02x}:{:02x}.{:x}",
        a.domain, a.bus, a.slot, a.function
    )
}

/// What the configuration space says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConfigInfo {
    /// Header type (0 endpoint, 1 PCI bridge, 2 CardBus bridge).
    pub header_type: Option<u8>,
    /// Whether libvirt takes the device for PCI Express.
    pub is_pcie: bool,
    /// The link capability and status, when it has a PCIe link.
    pub links: Option<(PcieLink, PcieLink)>,
}

const PCI_STATUS: usize = 0x06;
const PCI_STATUS_CAP_LIST: u16 = 0x10;
const PCI_HEADER_TYPE: usize = 0x0e;
const PCI_CAPABILITY_LIST: usize = 0x34;
const PCI_CONF_HEADER_LEN: u8 = 0x40;
const PCI_CAP_ID_EXP: u8 = 0x10;
const PCI_EXP_FLAGS: usize = 2;
const PCI_EXP_TYPE_ROOT_INT_EP: u16 = 0x9;
const PCI_EXP_TYPE_ROOT_EC: u16 = 0xa;
const PCI_EXP_LNKCAP: usize = 0x0c;
const PCI_EXP_LNKSTA: usize = 0x12;

fn rd8(c: &[u8], at: usize) -> Option<u8> {
    c.get(at).copied()
}

fn rd16(c: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes([*c.get(at)?, *c.get(at + 1)?]))
}

fn rd32(c: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes([
        *c.get(at)?,
        *c.get(at + 1)?,
        *c.get(at + 2)?,
        *c.get(at + 3)?,
    ]))
}

/// The offset of capability `id` in the standard capability list.
fn find_cap(c: &[u8], id: u8) -> Option<u8> {
    let status = rd16(c, PCI_STATUS)?;
    if status & PCI_STATUS_CAP_LIST == 0 {
        return None;
    }
    let mut pos = rd8(c, PCI_CAPABILITY_LIST)?;
    let mut ttl = 48;
    while pos >= PCI_CONF_HEADER_LEN && pos != 0xff && ttl > 0 {
        if rd8(c, pos as usize)? == id {
            return Some(pos);
        }
        pos = rd8(c, pos as usize + 1)?;
        ttl -= 1;
    }
    None
}

/// Reads what libvirt takes from a device's configuration space (root
/// can read all of it; others only the first 64 bytes).
pub fn config_info(config: &[u8], file_len: usize) -> ConfigInfo {
    let mut info = ConfigInfo {
        header_type: rd8(config, PCI_HEADER_TYPE).map(|t| t & 0x7f),
        ..Default::default()
    };
    match find_cap(config, PCI_CAP_ID_EXP) {
        Some(pos) => {
            info.is_pcie = true;
            let pos = pos as usize;
            let flags = rd16(config, pos + PCI_EXP_FLAGS).unwrap_or(0);
            let ty = (flags & 0x00f0) >> 4;
            if ty != PCI_EXP_TYPE_ROOT_INT_EP && ty != PCI_EXP_TYPE_ROOT_EC {
                let cap = rd32(config, pos + PCI_EXP_LNKCAP).unwrap_or(0);
                let sta = u32::from(rd16(config, pos + PCI_EXP_LNKSTA).unwrap_or(0));
                info.links = Some((
                    PcieLink {
                        port: i32::try_from(cap >> 24).unwrap_or(0),
                        speed: usize::try_from(cap & 0xf).unwrap_or(0),
                        width: (cap & 0x3f0) >> 4,
                    },
                    PcieLink {
                        port: -1,
                        speed: usize::try_from(sta & 0xf).unwrap_or(0),
                        width: (sta & 0x3f0) >> 4,
                    },
                ));
            }
        }
        // Without the capability libvirt guesses from the file's size: a
        // conventional device has 256 bytes of configuration space.
        None => info.is_pcie = file_len != 256,
    }
    info
}

/// The SR-IOV relations of a device: its physical function, its virtual
/// functions (in index order) and how many it can have.
pub fn sriov(syspath: &Path) -> (Option<PciAddr>, Vec<PciAddr>, u32) {
    let pf = std::fs::read_link(syspath.join("physfn"))
        .ok()
        .and_then(|t| parse_addr(&basename(&t)));
    let mut vfs: Vec<(u32, PciAddr)> = std::fs::read_dir(syspath)
        .map(|rd| {
            rd.flatten()
                .filter_map(|e| {
                    let n = e.file_name().to_string_lossy().into_owned();
                    let idx = n.strip_prefix("virtfn")?.parse::<u32>().ok()?;
                    let t = std::fs::read_link(e.path()).ok()?;
                    Some((idx, parse_addr(&basename(&t))?))
                })
                .collect()
        })
        .unwrap_or_default();
    vfs.sort();
    let max = read_attr(&syspath.join("sriov_totalvfs"))
        .and_then(|s| s.trim().parse::<u32>().ok())
        .unwrap_or(0);
    (pf, vfs.into_iter().map(|(_, a)| a).collect(), max)
}

/// The IOMMU group of a device and the devices in it (in the order sysfs
/// lists them, as libvirt reads them).
pub fn iommu_group(sys: &Path, addr: &PciAddr) -> Option<(u32, Vec<PciAddr>)> {
    let dev = sys.join("bus/pci/devices").join(format_addr(addr));
    let group = std::fs::read_link(dev.join("iommu_group")).ok()?;
    let n = basename(&group).parse::<u32>().ok()?;
    let members = std::fs::read_dir(
        sys.join("kernel/iommu_groups")
            .join(n.to_string())
            .join("devices"),
    )
    .map(|rd| {
        rd.flatten()
            .filter_map(|e| parse_addr(&e.file_name().to_string_lossy()))
            .collect()
    })
    .unwrap_or_default();
    Some((n, members))
}

/// The mediated device types a parent device offers
/// (`mdev_supported_types/*`).
pub fn mdev_types(syspath: &Path) -> Vec<MdevType> {
    let Ok(rd) = std::fs::read_dir(syspath.join("mdev_supported_types")) else {
        return Vec::new();
    };
    let mut v: Vec<MdevType> = rd
        .flatten()
        .filter_map(|e| {
            let p = e.path();
            Some(MdevType {
                id: e.file_name().to_string_lossy().into_owned(),
                name: read_attr(&p.join("name")).filter(|s| !s.is_empty()),
                device_api: read_attr(&p.join("device_api"))?,
                available_instances: read_attr(&p.join("available_instances"))?
                    .trim()
                    .parse()
                    .ok()?,
            })
        })
        .collect();
    v.sort_by(|a, b| a.id.cmp(&b.id));
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_database_lines() {
        let db = IdDb::parse(
            "# comment\n8086  Intel Corporation\n\t0d57  Some bridge\n\t\t1234 5678  Sub\n1af4  Red Hat, Inc.\n\t1041  Virtio 1.0 network device\nC 00  Unclassified device\n\t00  Non-VGA\n",
        );
        assert_eq!(db.vendor(0x8086).as_deref(), Some("Intel Corporation"));
        assert_eq!(db.device(0x8086, 0x0d57).as_deref(), Some("Some bridge"));
        assert_eq!(
            db.device(0x1af4, 0x1041).as_deref(),
            Some("Virtio 1.0 network device")
        );
        assert_eq!(db.vendor(0xc), None);
    }

    #[test]
    fn config_space_without_capabilities_guesses_from_size() {
        let mut c = vec![0u8; 64];
        c[PCI_HEADER_TYPE] = 0x81;
        let i = config_info(&c, 4096);
        assert_eq!(i.header_type, Some(1));
        assert!(i.is_pcie);
        assert!(i.links.is_none());
        assert!(!config_info(&c, 256).is_pcie);
    }

    #[test]
    fn config_space_with_an_express_link() {
        let mut c = vec![0u8; 256];
        c[PCI_STATUS] = PCI_STATUS_CAP_LIST as u8;
        c[PCI_CAPABILITY_LIST] = 0x40;
        c[0x40] = PCI_CAP_ID_EXP;
        c[0x41] = 0;
        c[0x42] = 0x02; // endpoint type 0
                        // LNKCAP: port 3, 8 GT/s (3), width 4
        c[0x4c..0x50].copy_from_slice(&((3u32 << 24) | (4 << 4) | 3).to_le_bytes());
        c[0x52..0x54].copy_from_slice(&((2u16 << 4) | 1).to_le_bytes());
        let i = config_info(&c, 256);
        assert!(i.is_pcie);
        let (cap, sta) = i.links.unwrap_or_else(|| panic!("no links"));
        assert_eq!((cap.port, cap.speed, cap.width), (3, 3, 4));
        assert_eq!((sta.port, sta.speed, sta.width), (-1, 1, 2));
    }

    #[test]
    fn addresses() {
        let a = parse_addr("0000:02:10.7").unwrap_or_default();
        assert_eq!((a.bus, a.slot, a.function), (2, 16, 7));
        assert_eq!(format_addr(&a), "0000:02:10.7");
        assert!(parse_addr("0000:02:10").is_none());
    }
}
