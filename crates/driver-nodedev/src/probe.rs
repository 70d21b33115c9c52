// SPDX-License-Identifier: LGPL-2.1-or-later
//! One udev device turned into a node device, as libvirt's udev backend
//! does it: the capability its type gives, the details of that type, and
//! the name libvirt makes (`SUBSYSTEM_SYSNAME[_EXTRA]` with every
//! character but letters and digits as `_`). A device libvirt does not
//! keep (no known type, or details missing) gives `None`.
//!
//! The parent is not set here: it is the nearest ancestor the driver
//! knows, else `computer`.

use conf::interface::IfLink;
use conf::nodedev::{
    Cap, CcwAddr, MdevCap, NetCap, NodeDeviceDef, PciCap, PciExpress, Removable, ScsiCap,
    ScsiHostCap, ScsiTargetCap, StorageCap, SystemCap, UsbDevCap, UsbIfCap, NET_FEATURES,
};
use std::path::Path;

use crate::pci;
use crate::udev::{basename, link_basename, read_attr, DevInfo, Sysfs};

/// libvirt's node device name.
pub fn device_name(subsystem: &str, sysname: &str, extra: Option<&str>) -> String {
    let mut s = format!("{subsystem}_{sysname}");
    if let Some(e) = extra {
        s.push('_');
        s.push_str(e);
    }
    s.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

/// C's strtol/strtoul with a base, whole string (0: auto base).
fn parse_i64(s: &str, base: u32) -> Option<i64> {
    let t = s.trim();
    let (neg, t) = match t.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let (t, base) = match base {
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
    let v = i64::from_str_radix(t, base).ok()?;
    Some(if neg { -v } else { v })
}

fn parse_u32(s: &str, base: u32) -> Option<u32> {
    let v = parse_i64(s, base)?;
    // virStrToLong_ui takes "-1" as its 32-bit wrap-around.
    if v < 0 {
        return u32::try_from(v + (1i64 << 32)).ok();
    }
    u32::try_from(v).ok()
}

/// The capability type of a device (udevGetDeviceType), by name.
pub fn device_type(d: &DevInfo) -> Option<&'static str> {
    if let Some(t) = &d.devtype {
        return match t.as_str() {
            "usb_device" => Some("usb_device"),
            "usb_interface" => Some("usb"),
            "scsi_host" => Some("scsi_host"),
            "scsi_target" => Some("scsi_target"),
            "scsi_device" => Some("scsi"),
            "disk" => Some("storage"),
            "wlan" => Some("net"),
            "drm_minor" => Some("drm"),
            "ap_card" => Some("ap_card"),
            "ap_queue" => Some("ap_queue"),
            _ => None,
        };
    }
    let mut ty = None;
    if d.prop("PCI_CLASS").is_some() {
        ty = Some("pci");
    }
    if d.prop("INTERFACE").is_some() {
        ty = Some("net");
    }
    match d.prop("SUBSYSTEM") {
        Some("scsi_generic") => Some("scsi_generic"),
        Some("mdev") => Some("mdev"),
        Some("ccw") => Some("ccw"),
        Some("css") => Some("css"),
        Some("vdpa") => Some("vdpa"),
        Some("matrix") => Some("ap_matrix"),
        Some("mtty") => Some("mdev_types"),
        _ => ty,
    }
}

/// The node device for `d`, or `None` when libvirt would not list it.
/// `privileged`: the configuration space can be read.
pub fn probe(sysfs: &Sysfs, d: &DevInfo, privileged: bool) -> Option<NodeDeviceDef> {
    let ty = device_type(d)?;
    let subsystem = d.subsystem.clone().unwrap_or_default();
    let mut def = NodeDeviceDef {
        path: Some(d.syspath.to_string_lossy().into_owned()),
        driver: d.prop("DRIVER").map(str::to_string),
        devnode: d.devnode.clone(),
        devlinks: d.devlinks.clone(),
        ..Default::default()
    };
    let plain_name = || device_name(&subsystem, &d.sysname, None);
    let cap = match ty {
        "pci" => {
            def.name = plain_name();
            Cap::Pci(Box::new(probe_pci(sysfs, d, privileged)?))
        }
        "usb_device" => {
            def.name = plain_name();
            Cap::UsbDevice(probe_usb_device(d)?)
        }
        "usb" => {
            def.name = plain_name();
            let hex = |n: &str| -> Option<u32> {
                match d.attr(n) {
                    None => Some(0),
                    Some(v) => parse_u32(&v, 16),
                }
            };
            Cap::Usb(UsbIfCap {
                number: hex("bInterfaceNumber")?,
                class: hex("bInterfaceClass")?,
                subclass: hex("bInterfaceSubClass")?,
                protocol: hex("bInterfaceProtocol")?,
                description: None,
            })
        }
        "net" => {
            let net = probe_net(sysfs, d)?;
            def.name = device_name(&subsystem, &d.sysname, net.address.as_deref());
            Cap::Net(net)
        }
        "scsi_host" => {
            def.name = plain_name();
            let n = parse_u32(d.sysname.strip_prefix("host")?, 0)?;
            let mut h = ScsiHostCap {
                host: n,
                unique_id: -1,
                ..Default::default()
            };
            scsi_host_caps(sysfs, &mut h);
            Cap::ScsiHost(h)
        }
        "scsi_target" => {
            def.name = plain_name();
            let mut t = ScsiTargetCap {
                name: d.sysname.clone(),
                fc_remote_port: None,
            };
            scsi_target_caps(sysfs, &d.syspath, &mut t);
            Cap::ScsiTarget(t)
        }
        "scsi" => {
            def.name = plain_name();
            let mut it = d.sysname.split(':').map(|p| p.parse::<u32>().ok());
            let (host, bus, target, lun) = (it.next()??, it.next()??, it.next()??, it.next()??);
            let ty = match d.attr("type") {
                None => None,
                Some(t) => scsi_type(parse_u32(&t, 0)?),
            };
            Cap::Scsi(ScsiCap {
                host,
                bus,
                target,
                lun,
                ty,
            })
        }
        "storage" => {
            let s = probe_storage(d)?;
            def.name = device_name(&subsystem, &d.sysname, s.serial.as_deref());
            Cap::Storage(s)
        }
        "scsi_generic" => {
            def.name = plain_name();
            Cap::ScsiGeneric(d.prop("DEVNAME")?.to_string())
        }
        "drm" => {
            def.name = plain_name();
            let minor = parse_i64(d.prop("MINOR")?, 10)?;
            if minor < 0 {
                return None;
            }
            let t = usize::try_from(minor >> 6).ok()?;
            if t > 2 {
                return None;
            }
            Cap::Drm(t)
        }
        "mdev" => {
            let ty = link_basename(&d.syspath.join("mdev_type"))?;
            let uuid = d.sysname.clone();
            let group = link_basename(&d.syspath.join("iommu_group"))?
                .parse::<u32>()
                .ok()?;
            let parent_addr = basename(d.syspath.parent()?);
            def.name = device_name(&subsystem, &uuid, Some(&parent_addr));
            Cap::Mdev(MdevCap {
                ty,
                uuid: Some(uuid),
                parent_addr: Some(parent_addr),
                iommu_group: group,
                attrs: Vec::new(),
            })
        }
        "ccw" => {
            let online = d.attr("online").and_then(|v| parse_i64(&v, 0)).unwrap_or(0);
            if online != 1 {
                return None;
            }
            def.name = plain_name();
            Cap::Ccw(ccw_addr(&d.sysname)?)
        }
        "css" => {
            if !matches!(def.driver.as_deref(), Some("io_subchannel" | "vfio_ccw")) {
                return None;
            }
            def.name = plain_name();
            let channel_dev_addr = d
                .attr_string("dev_busid")
                .filter(|b| b != "none")
                .and_then(|b| ccw_addr(&b));
            let types = pci::mdev_types(&d.syspath);
            Cap::Css {
                addr: ccw_addr(&d.sysname)?,
                channel_dev_addr,
                mdev_types: (!types.is_empty()).then_some(types),
            }
        }
        "vdpa" => {
            def.name = plain_name();
            let chardev = std::fs::read_dir(&d.syspath)
                .ok()?
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .find(|n| n.starts_with("vhost-vdpa"))
                .map(|n| format!("/dev/{n}"))?;
            Cap::Vdpa(chardev)
        }
        "ap_card" => {
            def.name = plain_name();
            Cap::ApCard(parse_u32(d.sysname.strip_prefix("card")?, 16)?)
        }
        "ap_queue" => {
            def.name = plain_name();
            let (a, q) = d.sysname.split_once('.')?;
            Cap::ApQueue(parse_u32(a, 16)?, parse_u32(q, 16)?)
        }
        "ap_matrix" => {
            def.name = "ap_matrix".to_string();
            let types = pci::mdev_types(&d.syspath);
            Cap::ApMatrix((!types.is_empty()).then_some(types))
        }
        "mdev_types" => {
            def.name = plain_name();
            Cap::MdevTypes(pci::mdev_types(&d.syspath))
        }
        _ => return None,
    };
    def.caps.push(cap);
    Some(def)
}

fn ccw_addr(s: &str) -> Option<CcwAddr> {
    let mut it = s.split('.');
    let cssid = u32::from_str_radix(it.next()?, 16).ok()?;
    let ssid = u32::from_str_radix(it.next()?, 16).ok()?;
    let devno = u32::from_str_radix(it.next()?, 16).ok()?;
    if it.next().is_some() || cssid > 0xfe || ssid > 3 || devno > 0xffff {
        return None;
    }
    Some(CcwAddr { cssid, ssid, devno })
}

fn scsi_type(t: u32) -> Option<String> {
    // Linux's SCSI peripheral device types.
    let s = match t {
        0x00 => "disk",
        0x01 => "tape",
        0x03 => "processor",
        0x04 => "worm",
        0x05 => "cdrom",
        0x06 => "scanner",
        0x07 => "mod",
        0x08 => "changer",
        0x0d => "enclosure",
        0x0c => "raid",
        _ => return None,
    };
    Some(s.to_string())
}

fn probe_pci(sysfs: &Sysfs, d: &DevInfo, privileged: bool) -> Option<PciCap> {
    let class = i64::from(parse_u32(d.prop("PCI_CLASS")?, 16)?);
    let addr = pci::parse_addr(&d.sysname)?;
    let hex = |n: &str| -> Option<u32> {
        match d.attr(n) {
            None => Some(0),
            Some(v) => parse_u32(&v, 16),
        }
    };
    let vendor = hex("vendor")?;
    let product = hex("device")?;
    let ids = pci::pci_ids();
    let mut p = PciCap {
        class,
        addr,
        vendor,
        product,
        vendor_name: ids.vendor(vendor),
        product_name: ids.device(vendor, product),
        numa_node: match d.attr("numa_node") {
            None => -1,
            Some(v) => i32::try_from(parse_i64(&v, 10)?).ok()?,
        },
        ..Default::default()
    };
    pci_dynamic_caps(sysfs, &d.syspath, &mut p);
    if privileged {
        let path = d.syspath.join("config");
        if let Ok(config) = std::fs::read(&path) {
            let info = pci::config_info(&config, config.len());
            match info.header_type {
                Some(1) => p.header_type = Some("pci-bridge".into()),
                Some(2) => p.header_type = Some("cardbus-bridge".into()),
                Some(0) => {}
                // libvirt drops a device with an unknown header type.
                _ => return None,
            }
            if info.is_pcie {
                p.pci_express = Some(match info.links {
                    Some((cap, sta)) => PciExpress {
                        link_cap: Some(cap),
                        link_sta: Some(sta),
                    },
                    None => PciExpress::default(),
                });
            }
        } else {
            return None;
        }
    }
    Some(p)
}

/// The parts of a PCI capability that change without an event: SR-IOV
/// functions, IOMMU group, mediated device types.
pub fn pci_dynamic_caps(sysfs: &Sysfs, syspath: &Path, p: &mut PciCap) {
    let (pf, vfs, max) = pci::sriov(syspath);
    p.physical_function = pf;
    p.max_virtual_functions = max;
    p.virt_functions = (!vfs.is_empty() || max > 0).then_some(vfs);
    p.iommu_group = pci::iommu_group(&sysfs.sys, &p.addr);
    let types = pci::mdev_types(syspath);
    p.mdev_types = (!types.is_empty()).then_some(types);
    // VPD is optional; only root can read it, and malformed data is
    // left out.
    p.vpd = std::fs::read(syspath.join("vpd"))
        .ok()
        .and_then(|b| crate::vpd::parse(&b));
}

fn probe_usb_device(d: &DevInfo) -> Option<UsbDevCap> {
    let num = |p: &str| d.prop(p).and_then(|v| parse_u32(v, 10));
    // udev's usb_id gives ID_VENDOR_ID / ID_MODEL_ID from the device's
    // descriptor, which sysfs shows as idVendor / idProduct; without
    // udev's database these are read there.
    let id = |p: &str, attr: &str| {
        d.prop(p)
            .map(str::to_string)
            .or_else(|| d.attr(attr))
            .and_then(|v| parse_u32(&v, 16))
    };
    let vendor = id("ID_VENDOR_ID", "idVendor")?;
    let product = id("ID_MODEL_ID", "idProduct")?;
    let db = pci::usb_ids();
    let vendor_name = d
        .prop("ID_VENDOR_FROM_DATABASE")
        .map(str::to_string)
        .or_else(|| db.vendor(vendor))
        .or_else(|| d.attr_string("manufacturer"));
    let product_name = d
        .prop("ID_MODEL_FROM_DATABASE")
        .map(str::to_string)
        .or_else(|| db.device(vendor, product))
        .or_else(|| d.attr_string("product"));
    Some(UsbDevCap {
        bus: num("BUSNUM")?,
        device: num("DEVNUM")?,
        vendor,
        product,
        vendor_name,
        product_name,
    })
}

fn probe_net(sysfs: &Sysfs, d: &DevInfo) -> Option<NetCap> {
    let ifname = d.prop("INTERFACE")?.to_string();
    let mut net = NetCap {
        subtype: Some(if d.devtype.as_deref() == Some("wlan") {
            "80211".into()
        } else {
            "80203".into()
        }),
        address: d.attr_string("address"),
        ifname,
        ..Default::default()
    };
    net_dynamic_caps(sysfs, &mut net)?;
    Some(net)
}

/// Link state and offload features of a network interface, read again
/// each time its XML is asked for.
pub fn net_dynamic_caps(sysfs: &Sysfs, net: &mut NetCap) -> Option<()> {
    net.link = link_info(sysfs, &net.ifname)?;
    net.features = features(sysfs, &net.ifname);
    Some(())
}

/// virNetDevGetLinkInfo: operational state, and the speed while up.
pub fn link_info(sysfs: &Sysfs, ifname: &str) -> Option<IfLink> {
    let dir = sysfs.sys.join("class/net").join(ifname);
    let state = std::fs::read_to_string(dir.join("operstate")).ok()?;
    let state = state.split('\n').next()?.to_string();
    if !conf::interface::IF_STATES[1..].contains(&state.as_str()) {
        return None;
    }
    let mut l = IfLink { speed: 0, state };
    if l.state == "up" {
        if let Ok(s) = std::fs::read_to_string(dir.join("speed")) {
            l.speed = parse_u32(s.trim_end_matches('\n'), 10).unwrap_or(0);
        }
    }
    Some(l)
}

/// virNetDevGetFeatures: the ethtool offloads, RDMA.
pub fn features(sysfs: &Sysfs, ifname: &str) -> Vec<usize> {
    use host::ethtool;
    let idx = |n: &str| NET_FEATURES.iter().position(|f| *f == n);
    let mut v = Vec::new();
    let Ok(ctl) = ethtool::Control::open(ifname) else {
        return v;
    };
    for (cmd, name) in [
        (ethtool::GRXCSUM, "rx"),
        (ethtool::GTXCSUM, "tx"),
        (ethtool::GSG, "sg"),
        (ethtool::GTSO, "tso"),
        (ethtool::GGSO, "gso"),
        (ethtool::GGRO, "gro"),
    ] {
        if ctl.value(cmd).is_ok_and(|x| x > 0) {
            v.extend(idx(name));
        }
    }
    if let Ok(flags) = ctl.value(ethtool::GFLAGS) {
        if flags > 0 {
            for (bit, name) in [
                (ethtool::FLAG_LRO, "lro"),
                (ethtool::FLAG_RXVLAN, "rxvlan"),
                (ethtool::FLAG_TXVLAN, "txvlan"),
                (ethtool::FLAG_NTUPLE, "ntuple"),
                (ethtool::FLAG_RXHASH, "rxhash"),
            ] {
                if flags & bit != 0 {
                    v.extend(idx(name));
                }
            }
        }
    }
    // libvirt tests bit 25 of the first feature word for UDP tunnel
    // segmentation.
    if ctl
        .features_active(2)
        .is_ok_and(|w| w.first().is_some_and(|a| a & (1 << 25) != 0))
    {
        v.extend(idx("txudptnl"));
    }
    if rdma(sysfs, ifname) {
        v.extend(idx("rdma"));
    }
    v.sort_unstable();
    v.dedup();
    v
}

/// Whether an InfiniBand device shares the interface's PCI resources.
fn rdma(sysfs: &Sysfs, ifname: &str) -> bool {
    let ib = sysfs.sys.join("class/infiniband");
    let Some(res) = read_attr(
        &sysfs
            .sys
            .join("class/net")
            .join(ifname)
            .join("device/resource"),
    ) else {
        return false;
    };
    std::fs::read_dir(ib)
        .map(|rd| {
            rd.flatten()
                .any(|e| read_attr(&e.path().join("device/resource")).as_ref() == Some(&res))
        })
        .unwrap_or(false)
}

fn probe_storage(d: &DevInfo) -> Option<StorageCap> {
    let block = d.devnode.clone()?;
    let trimmed = |n: &str| d.attr_string(n).map(|s| s.trim().to_string());
    let mut s = StorageCap {
        bus: d.prop("ID_BUS").map(str::to_string),
        serial: d.prop("ID_SERIAL").map(str::to_string),
        vendor: trimmed("device/vendor"),
        model: trimmed("device/model"),
        drive_type: d.prop("ID_TYPE").map(str::to_string),
        block,
        ..Default::default()
    };
    if s.drive_type.is_none() || s.drive_type.as_deref() == Some("generic") {
        s.drive_type = if d.prop("ID_DRIVE_FLOPPY").is_some() {
            Some("floppy".into())
        } else if d.prop("ID_CDROM").is_some() {
            Some("cd".into())
        } else if d.prop("ID_DRIVE_FLASH_SD").is_some() {
            Some("sd".into())
        } else {
            // What libvirt guesses from the node's name.
            let guess = [
                ("/dev/vd", "disk"),
                ("/dev/dasd", "dasd"),
                ("/dev/nvme", "disk"),
            ]
            .iter()
            .find(|(p, _)| s.block.starts_with(p))
            .map(|(_, t)| t.to_string());
            Some(guess?)
        };
    }
    let u64_attr = |n: &str| -> Option<u64> {
        match d.attr(n) {
            None => Some(0),
            Some(v) => u64::try_from(parse_i64(&v, 0)?).ok(),
        }
    };
    let sizes = |s: &mut StorageCap| -> Option<()> {
        s.num_blocks = u64_attr("size")?;
        s.logical_block_size = u64_attr("queue/logical_block_size")?;
        Some(())
    };
    let removable = |s: &mut StorageCap, has_media: bool| -> Option<()> {
        let is_removable = d
            .attr("removable")
            .map(|v| parse_i64(&v, 0))
            .unwrap_or(Some(0))?;
        let mut r = Removable::default();
        if has_media {
            r.media_available = true;
            r.media_label = d.prop("ID_FS_LABEL").map(str::to_string);
            s.num_blocks = u64_attr("size")?;
            s.logical_block_size = u64_attr("queue/logical_block_size")?;
            r.media_size = s.num_blocks.saturating_mul(s.logical_block_size);
        }
        if is_removable == 1 {
            s.removable = Some(r);
        }
        Some(())
    };
    match s.drive_type.as_deref() {
        Some("cd" | "cd/dvd") => {
            s.drive_type = Some("cdrom".into());
            let media = match d.prop("ID_CDROM_MEDIA") {
                None => 0,
                Some(v) => parse_i64(v, 0)?,
            };
            removable(&mut s, media != 0)?;
        }
        Some("disk") => {
            sizes(&mut s)?;
            s.size = s.num_blocks.saturating_mul(s.logical_block_size);
        }
        Some("floppy") => {
            let media = d.prop("ID_FS_LABEL").is_some();
            removable(&mut s, media)?;
        }
        Some("sd") => {
            sizes(&mut s)?;
            s.size = s.num_blocks.saturating_mul(s.logical_block_size);
        }
        Some("dasd") => {
            s.serial = d.attr_string("device/uid");
            sizes(&mut s)?;
            s.size = s.num_blocks.saturating_mul(s.logical_block_size);
        }
        _ => return None,
    }
    Some(s)
}

/// A SCSI host's Fibre Channel capabilities and unique id, from
/// `/sys/class/scsi_host` and `/sys/class/fc_host`.
pub fn scsi_host_caps(sysfs: &Sysfs, h: &mut ScsiHostCap) {
    let host = format!("host{}", h.host);
    h.unique_id = read_attr(
        &sysfs
            .sys
            .join("class/scsi_host")
            .join(&host)
            .join("unique_id"),
    )
    .and_then(|v| v.trim().parse::<i32>().ok())
    .filter(|v| *v >= 0)
    .unwrap_or(-1);
    let fc = sysfs.sys.join("class/fc_host").join(&host);
    // The value without a "0x" prefix, as libvirt reads vHBA settings.
    let cfg = |name: &str| -> Option<String> {
        let v = read_attr(&fc.join(name))?;
        let v = v.split('\n').next().unwrap_or("").to_string();
        Some(match v.find("0x") {
            Some(i) => v[i + 2..].to_string(),
            None => v,
        })
    };
    h.fc_host = None;
    h.vport_ops = None;
    if fc.exists() {
        let (Some(wwpn), Some(wwnn)) = (cfg("port_name"), cfg("node_name")) else {
            return;
        };
        h.fc_host = Some((Some(wwnn), Some(wwpn), cfg("fabric_name")));
    }
    if fc.join("vport_create").exists() {
        let max = cfg("max_npiv_vports").and_then(|v| v.trim().parse::<i32>().ok());
        let used = cfg("npiv_vports_inuse").and_then(|v| v.trim().parse::<i32>().ok());
        match (max, used) {
            (Some(m), Some(u)) => h.vport_ops = Some((m, u)),
            _ => h.fc_host = None,
        }
    }
}

/// A SCSI target's Fibre Channel remote port (its parent directory
/// `rport-H:B-R`, known to `/sys/class/fc_remote_ports`).
pub fn scsi_target_caps(sysfs: &Sysfs, syspath: &Path, t: &mut ScsiTargetCap) {
    t.fc_remote_port = None;
    let Some(rport) = syspath.parent().map(basename) else {
        return;
    };
    let dir = sysfs.sys.join("class/fc_remote_ports").join(&rport);
    if !dir.exists() {
        return;
    }
    if let Some(wwpn) = read_attr(&dir.join("port_name")) {
        t.fc_remote_port = Some((rport, wwpn));
    }
}

/// The `computer` device: the host's DMI data, when the firmware gives
/// any, and its UUID.
pub fn computer(sysfs: &Sysfs) -> NodeDeviceDef {
    let dmi = sysfs.sys.join("devices/virtual/dmi/id");
    let mut sys = SystemCap::default();
    if dmi.join("uevent").exists() {
        let a = |n: &str| -> Option<String> {
            let v: String = read_attr(&dmi.join(n))?
                .chars()
                .filter(|c| !c.is_control())
                .collect();
            (!v.is_empty()).then_some(v)
        };
        sys.product_name = a("product_name");
        sys.hw_vendor = a("sys_vendor");
        sys.hw_version = a("product_version");
        sys.hw_serial = a("product_serial");
        if let Some(u) = a("product_uuid").and_then(|u| conf::Uuid::parse(u.trim())) {
            sys.hw_uuid = u;
        }
        sys.fw_vendor = a("bios_vendor");
        sys.fw_version = a("bios_version");
        sys.fw_release_date = a("bios_date");
    }
    NodeDeviceDef {
        name: "computer".into(),
        caps: vec![Cap::System(sys)],
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_made_as_libvirt_makes_them() {
        assert_eq!(device_name("pci", "0000:00:1f.2", None), "pci_0000_00_1f_2");
        assert_eq!(
            device_name("net", "eth0", Some("52:54:00:ab:cd:ef")),
            "net_eth0_52_54_00_ab_cd_ef"
        );
        assert_eq!(device_name("block", "vda", None), "block_vda");
    }

    #[test]
    fn numbers_parse_as_c_parses_them() {
        assert_eq!(parse_u32("-1", 10), Some(u32::MAX));
        assert_eq!(parse_u32("0x8086", 16), Some(0x8086));
        assert_eq!(parse_u32("8086", 16), Some(0x8086));
        assert_eq!(parse_u32("12", 0), Some(12));
        assert_eq!(parse_u32("x", 10), None);
    }
}
