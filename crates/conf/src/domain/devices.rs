// SPDX-License-Identifier: LGPL-2.1-or-later
//! Device handling for [`super::DomainDef`]: typed views of the devices
//! drivers act on, and the per-device defaults and checks libvirt applies.

use super::{device_rank, DomainDef, FormatFlags};
use crate::error::ConfError;
use crate::util::{parse_u64, scaled_bytes};
use crate::xml::{Element, Node};

/// `<filesystem>`, typed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FilesystemDef {
    /// `type`: mount, block, file, template, ram, bind, volume.
    pub fs_type: String,
    /// `accessmode`: passthrough, mapped, squash.
    pub accessmode: String,
    /// Source directory / device / file / template name.
    pub source: Option<String>,
    /// RAM filesystem size in KiB.
    pub usage_kib: Option<u64>,
    /// Mount point inside the guest.
    pub target: String,
    /// `<readonly/>` present.
    pub readonly: bool,
    /// `<driver type=... format=...>`.
    pub driver_type: Option<String>,
    /// Driver format (for file/block images).
    pub driver_format: Option<String>,
}

impl FilesystemDef {
    /// Reads a (normalised) `<filesystem>` element.
    pub fn from_element(e: &Element) -> FilesystemDef {
        let src = e.child("source");
        let source = src.and_then(|s| {
            ["dir", "dev", "file", "name", "volume"]
                .iter()
                .find_map(|k| s.attr(k).map(str::to_string))
        });
        FilesystemDef {
            fs_type: e.attr("type").unwrap_or("mount").to_string(),
            accessmode: e.attr("accessmode").unwrap_or("passthrough").to_string(),
            source,
            usage_kib: src.and_then(|s| s.attr("usage")).and_then(parse_u64),
            target: e
                .child("target")
                .and_then(|t| t.attr("dir"))
                .unwrap_or("")
                .to_string(),
            readonly: e.child("readonly").is_some(),
            driver_type: e
                .child("driver")
                .and_then(|d| d.attr("type"))
                .map(str::to_string),
            driver_format: e
                .child("driver")
                .and_then(|d| d.attr("format"))
                .map(str::to_string),
        }
    }
}

/// `<interface>`, typed (the fields drivers act on).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetDef {
    /// `type`: bridge, network, ethernet, direct, user, ...
    pub net_type: String,
    /// MAC address.
    pub mac: Option<String>,
    /// Bridge name (`<source bridge>`).
    pub bridge: Option<String>,
    /// Network name (`<source network>`).
    pub network: Option<String>,
    /// Host device for direct (`<source dev>`).
    pub source_dev: Option<String>,
    /// Host-side device name (`<target dev>`).
    pub target_dev: Option<String>,
    /// Guest-side device name (`<guest dev>`).
    pub guest_dev: Option<String>,
    /// Model type.
    pub model: Option<String>,
    /// Guest IP addresses: (address, prefix).
    pub ips: Vec<(String, Option<u32>)>,
    /// Guest routes: (address, prefix, gateway).
    pub routes: Vec<(String, Option<u32>, String)>,
}

impl NetDef {
    /// Reads an `<interface>` element.
    pub fn from_element(e: &Element) -> NetDef {
        let src = e.child("source");
        NetDef {
            net_type: e.attr("type").unwrap_or("").to_string(),
            mac: e
                .child("mac")
                .and_then(|m| m.attr("address"))
                .map(str::to_string),
            bridge: src.and_then(|s| s.attr("bridge")).map(str::to_string),
            network: src.and_then(|s| s.attr("network")).map(str::to_string),
            source_dev: src.and_then(|s| s.attr("dev")).map(str::to_string),
            target_dev: e
                .child("target")
                .and_then(|t| t.attr("dev"))
                .map(str::to_string),
            guest_dev: e
                .child("guest")
                .and_then(|t| t.attr("dev"))
                .map(str::to_string),
            model: e
                .child("model")
                .and_then(|t| t.attr("type"))
                .map(str::to_string),
            ips: e
                .children_named("ip")
                .filter(|i| e.name == "interface" && i.attr("address").is_some())
                .map(|i| {
                    (
                        i.attr("address").unwrap_or("").to_string(),
                        i.attr("prefix")
                            .and_then(parse_u64)
                            .and_then(|p| u32::try_from(p).ok()),
                    )
                })
                .collect(),
            routes: e
                .children_named("route")
                .map(|r| {
                    (
                        r.attr("address").unwrap_or("").to_string(),
                        r.attr("prefix")
                            .and_then(parse_u64)
                            .and_then(|p| u32::try_from(p).ok()),
                        r.attr("gateway").unwrap_or("").to_string(),
                    )
                })
                .collect(),
        }
    }
}

/// A character device (`<console>`, `<serial>`, `<channel>`, `<parallel>`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChrDef {
    /// Element name.
    pub device: String,
    /// Backend `type`: pty, file, unix, tcp, ...
    pub chr_type: String,
    /// Source path (pty path when live, file or socket path).
    pub source_path: Option<String>,
    /// `<target type>`.
    pub target_type: Option<String>,
    /// `<target port>`.
    pub target_port: Option<u32>,
}

impl ChrDef {
    /// Reads a character device element.
    pub fn from_element(e: &Element) -> ChrDef {
        let t = e.child("target");
        ChrDef {
            device: e.name.clone(),
            chr_type: e.attr("type").unwrap_or("pty").to_string(),
            source_path: e
                .child("source")
                .and_then(|s| s.attr("path"))
                .map(str::to_string),
            target_type: t.and_then(|t| t.attr("type")).map(str::to_string),
            target_port: t
                .and_then(|t| t.attr("port"))
                .and_then(parse_u64)
                .and_then(|p| u32::try_from(p).ok()),
        }
    }
}

/// `<disk>`, typed (the fields drivers act on).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DiskDef {
    /// `type`: file, block, dir, network, volume.
    pub disk_type: String,
    /// `device`: disk, cdrom, floppy, lun.
    pub device: String,
    /// Source path (file, dev, dir, or network name).
    pub source: Option<String>,
    /// Target device name (`vda`, `hda`, ...).
    pub target_dev: String,
    /// Target bus.
    pub target_bus: Option<String>,
    /// Driver name.
    pub driver_name: Option<String>,
    /// Image format (`<driver type>`).
    pub driver_type: Option<String>,
    /// `<readonly/>` present.
    pub readonly: bool,
}

impl DiskDef {
    /// Reads a `<disk>` element.
    pub fn from_element(e: &Element) -> DiskDef {
        let src = e.child("source");
        DiskDef {
            disk_type: e.attr("type").unwrap_or("file").to_string(),
            device: e.attr("device").unwrap_or("disk").to_string(),
            source: src.and_then(|s| {
                ["file", "dev", "dir", "name", "volume"]
                    .iter()
                    .find_map(|k| s.attr(k).map(str::to_string))
            }),
            target_dev: e
                .child("target")
                .and_then(|t| t.attr("dev"))
                .unwrap_or("")
                .to_string(),
            target_bus: e
                .child("target")
                .and_then(|t| t.attr("bus"))
                .map(str::to_string),
            driver_name: e
                .child("driver")
                .and_then(|d| d.attr("name"))
                .map(str::to_string),
            driver_type: e
                .child("driver")
                .and_then(|d| d.attr("type"))
                .map(str::to_string),
            readonly: e.child("readonly").is_some(),
        }
    }
}

fn chr_missing(what: &str) -> ConfError {
    ConfError::internal(format!("Missing source {what} attribute for char device"))
}

fn chr_one_source() -> ConfError {
    ConfError::xml("only one source element is allowed for character device")
}

/// Normalises a character device backend's `<source>` elements the way
/// libvirt's chardev source parser and formatter do. `allow_no_path` is
/// true where libvirt accepts a UNIX socket without a path.
fn normalise_chr_source(
    e: &mut Element,
    chr_type: &str,
    allow_no_path: bool,
) -> Result<(), ConfError> {
    let first_pos = e
        .children
        .iter()
        .position(|n| matches!(n, Node::Element(c) if c.name == "source"));
    // Only a TCP source has a protocol.
    if chr_type != "tcp" {
        e.remove_children("protocol");
    }
    let sources: Vec<Element> = e.children_named("source").cloned().collect();
    let mut new_sources: Vec<Element> = Vec::new();
    let mut add_protocol = false;
    match chr_type {
        "tcp" => {
            if sources.len() > 1 {
                return Err(chr_one_source());
            }
            let s = sources
                .first()
                .cloned()
                .unwrap_or_else(|| Element::new("source"));
            let mode = s.attr("mode").unwrap_or("connect").to_string();
            if mode != "connect" && mode != "bind" {
                return Err(ConfError::xml(format!("Unknown source mode '{mode}'")));
            }
            let host = s
                .attr("host")
                .ok_or_else(|| chr_missing("host"))?
                .to_string();
            let service = s
                .attr("service")
                .ok_or_else(|| chr_missing("service"))?
                .to_string();
            let mut ns = Element::new("source")
                .with_attr("mode", &mode)
                .with_attr("host", &host)
                .with_attr("service", &service);
            if let Some(t) = s.attr("tls") {
                ns.set_attr("tls", t);
            }
            if let Some(r) = s.child("reconnect") {
                check_reconnect(r, &mode)?;
                ns.push(r.clone());
            }
            new_sources.push(ns);
            add_protocol = true;
        }
        "udp" => {
            if sources.len() > 2 {
                return Err(ConfError::xml(
                    "only two source elements are allowed for character device",
                ));
            }
            let mut bind: Option<Element> = None;
            let mut connect: Option<Element> = None;
            for s in &sources {
                let mode = s.attr("mode").unwrap_or("connect");
                let slot = match mode {
                    "bind" => &mut bind,
                    "connect" => &mut connect,
                    other => return Err(ConfError::xml(format!("Unknown source mode '{other}'"))),
                };
                let mut ns = Element::new("source").with_attr("mode", mode);
                for k in ["host", "service"] {
                    if let Some(v) = s.attr(k) {
                        ns.set_attr(k, v);
                    }
                }
                *slot = Some(ns);
            }
            match &connect {
                Some(c) if c.attr("service").is_none() => return Err(chr_missing("service")),
                None => return Err(chr_missing("service")),
                _ => {}
            }
            if let Some(b) = bind {
                if b.attr("host").is_some() || b.attr("service").is_some() {
                    new_sources.push(b);
                }
            }
            new_sources.extend(connect);
        }
        "unix" => {
            if sources.len() > 1 {
                return Err(chr_one_source());
            }
            let s = sources
                .first()
                .cloned()
                .unwrap_or_else(|| Element::new("source"));
            let mode = s.attr("mode").unwrap_or("connect").to_string();
            if let Some(path) = s.attr("path") {
                let mut ns = Element::new("source")
                    .with_attr("mode", &mode)
                    .with_attr("path", path);
                for c in s.elements() {
                    if c.name == "reconnect" {
                        check_reconnect(c, &mode)?;
                    }
                    ns.push(c.clone());
                }
                new_sources.push(ns);
            } else if !allow_no_path {
                return Err(chr_missing("path"));
            }
        }
        _ => return Ok(()),
    }
    e.remove_children("source");
    let pos = first_pos.unwrap_or(0).min(e.children.len());
    for (i, s) in new_sources.into_iter().enumerate() {
        e.children.insert(pos + i, Node::Element(s));
    }
    if add_protocol && e.child("protocol").is_none() {
        let p = e
            .children
            .iter()
            .rposition(|n| matches!(n, Node::Element(c) if c.name == "source"))
            .map(|p| p + 1)
            .unwrap_or(0);
        e.children.insert(
            p,
            Node::Element(Element::new("protocol").with_attr("type", "raw")),
        );
    }
    Ok(())
}

fn check_reconnect(r: &Element, mode: &str) -> Result<(), ConfError> {
    if r.attr("enabled") == Some("yes") {
        if r.attr("timeout").is_none() {
            return Err(ConfError::xml_layer(
                "Missing required attribute 'timeout' in element 'reconnect'",
            ));
        }
        if mode == "bind" {
            return Err(ConfError::internal(
                "chardev reconnect is possible only for connect mode",
            ));
        }
    }
    Ok(())
}

fn ensure_controller(def: &mut DomainDef, ctype: &str, index: u32) {
    let exists = def.devices.iter().any(|d| {
        d.name == "controller"
            && d.attr("type") == Some(ctype)
            && d.attr("index").and_then(parse_u64) == Some(u64::from(index))
    });
    if !exists {
        let c = Element::new("controller")
            .with_attr("type", ctype)
            .with_attr("index", &index.to_string());
        // Keep controllers of the same type together, as libvirt's insert does.
        let pos = def
            .devices
            .iter()
            .rposition(|d| d.name == "controller" && d.attr("type") == Some(ctype))
            .or_else(|| def.devices.iter().rposition(|d| d.name == "controller"))
            .map(|p| p + 1)
            .unwrap_or_else(|| {
                def.devices
                    .iter()
                    .position(|d| device_rank(&d.name) > device_rank("controller"))
                    .unwrap_or(def.devices.len())
            });
        def.devices.insert(pos, c);
    }
}

/// Controllers in the order libvirt's parser inserts them: each goes
/// before a controller of its type with a higher index, a master before
/// its companions of the same index, else after the last of its type (or
/// at the end).
fn order_controllers(def: &mut DomainDef) {
    let Some(first) = def.devices.iter().position(|d| d.name == "controller") else {
        return;
    };
    let count = def.devices[first..]
        .iter()
        .take_while(|d| d.name == "controller")
        .count();
    let given: Vec<Element> = def.devices.drain(first..first + count).collect();
    let idx = |d: &Element| d.attr("index").and_then(parse_u64);
    let mut out: Vec<Element> = Vec::with_capacity(given.len());
    for c in given {
        let mut insert_at: Option<usize> = None;
        for (i, cur) in out.iter().enumerate().rev() {
            if cur.attr("type") != c.attr("type") {
                continue;
            }
            let Some(new_idx) = idx(&c) else {
                insert_at = Some(i + 1);
                break;
            };
            let cur_idx = idx(cur);
            let master_first = c.child("master").is_none()
                && cur.child("master").is_some()
                && cur_idx == Some(new_idx);
            if cur_idx.is_some_and(|x| x > new_idx) || master_first {
                insert_at = Some(i);
            } else if insert_at.is_none() {
                insert_at = Some(i + 1);
            }
        }
        let at = insert_at.unwrap_or(out.len());
        out.insert(at, c);
    }
    for (k, c) in out.into_iter().enumerate() {
        def.devices.insert(first + k, c);
    }
}

fn disk_index(dev: &str) -> Option<u64> {
    let prefixes = ["hd", "sd", "vd", "xvd", "fd", "ubd"];
    let p = prefixes.iter().find(|p| dev.starts_with(*p))?;
    let rest = &dev[p.len()..];
    if rest.is_empty() || !rest.bytes().all(|b| b.is_ascii_lowercase()) {
        return None;
    }
    let mut idx: u64 = 0;
    for b in rest.bytes() {
        idx = idx.checked_mul(26)?.checked_add(u64::from(b - b'a') + 1)?;
    }
    Some(idx - 1)
}

/// Device defaults and implicit devices.
pub(super) fn post_parse_devices(def: &mut DomainDef) -> Result<(), ConfError> {
    // Canonical order: by kind, stable within a kind.
    def.devices.sort_by_key(|d| device_rank(&d.name));
    order_controllers(def);
    order_disks(def);
    for d in def.devices.iter_mut() {
        normalise_pci_addresses(d)?;
        // A network-type interface names its network (and port group or
        // port); anything else on <source> is not part of its config.
        if d.name == "interface" && d.attr("type") == Some("network") {
            if let Some(src) = d.child_mut("source") {
                src.attrs
                    .retain(|(k, _)| matches!(k.as_str(), "network" | "portgroup" | "portid"));
            }
        }
    }

    assign_controller_indexes(def);
    console_compat(def)?;

    let mut need_ccid = false;
    let mut ccid_slot = 0u32;
    let virt_type = def.virt_type.clone();
    for d in def.devices.iter_mut() {
        match d.name.as_str() {
            "serial" | "parallel" | "console" | "channel" => {
                let ty = d.attr("type").unwrap_or("pty").to_string();
                // The type defaults to pty; the legacy `tty` attribute
                // is not read back.
                d.insert_attr(0, "type", &ty);
                d.remove_attr("tty");
                let virtio_channel = d.name == "channel"
                    && matches!(
                        d.child("target").and_then(|t| t.attr("type")),
                        Some("virtio") | Some("xen")
                    );
                normalise_chr_source(d, &ty, virtio_channel)?;
                // libvirt writes the source first, then the protocol, the
                // log and the target.
                d.order_children(&with_info_tail(&["source", "protocol", "log", "target"]));
                if ty == "qemu-vdagent" {
                    if let Some(src) = d.child_mut("source") {
                        src.order_children(&["clipboard", "mouse"]);
                    }
                }
                if d.name == "console" {
                    let t = chr_target(d);
                    if t.attr("type").is_none() {
                        t.insert_attr(0, "type", "serial");
                    }
                }
            }
            "smartcard" => {
                if d.attr("mode") == Some("passthrough") {
                    let ty = d.attr("type").unwrap_or("").to_string();
                    normalise_chr_source(d, &ty, false)?;
                }
                need_ccid = true;
                if d.child("address").is_none() {
                    d.push(
                        Element::new("address")
                            .with_attr("type", "ccid")
                            .with_attr("controller", "0")
                            .with_attr("slot", &ccid_slot.to_string()),
                    );
                    ccid_slot += 1;
                }
            }
            "redirdev" => {
                let ty = d.attr("type").unwrap_or("").to_string();
                normalise_chr_source(d, &ty, false)?;
            }
            "rng" => {
                if let Some(b) = d.child_mut("backend") {
                    if b.attr("model") == Some("egd") {
                        let ty = b.attr("type").unwrap_or("").to_string();
                        normalise_chr_source(b, &ty, false)?;
                    }
                }
            }
            "filesystem" => normalise_filesystem(d)?,
            "graphics" => normalise_graphics(d)?,
            "disk" => normalise_disk(d)?,
            "interface" => normalise_interface(d)?,
            "video" => normalise_video(d, &virt_type),
            "controller" => usb_companion_master(d),
            "hostdev" => {
                normalise_hostdev(d);
                if d.attr("type") == Some("scsi") {
                    iscsi_lun(d);
                }
            }
            _ => {}
        }
    }

    // Disks on drive buses get a drive address and their controller.
    let scsi_hostdevs: Vec<(u64, u64, u64, u64)> = def
        .devices
        .iter()
        .filter(|d| d.name == "hostdev" && d.attr("type") == Some("scsi"))
        .filter_map(drive_address)
        .collect();
    let mut implicit: Vec<(String, u32)> = Vec::new();
    for d in def.devices.iter_mut().filter(|d| d.name == "disk") {
        let Some(t) = d.child("target") else { continue };
        let bus = t.attr("bus").unwrap_or("").to_string();
        let dev = t.attr("dev").unwrap_or("").to_string();
        let (per_ctrl, per_bus): (u64, u64) = match bus.as_str() {
            "ide" => (4, 2),
            "scsi" => (7, 7),
            "sata" => (6, 6),
            "fdc" => (2, 2),
            _ => continue,
        };
        if d.child("address").is_none() {
            if let Some(idx) = disk_index(&dev) {
                let ctrl = idx / per_ctrl;
                let (b, unit) = if bus == "ide" {
                    ((idx % 4) / 2, idx % 2)
                } else {
                    (0, idx % per_bus)
                };
                if bus == "scsi" && scsi_hostdevs.contains(&(ctrl, b, 0, unit)) {
                    // libvirt's message lacks the closing quote.
                    return Err(ConfError::unsupported(format!(
                        "using disk target name '{dev}' conflicts with SCSI host device address controller='{ctrl}' bus='{b}' target='0' unit='{unit}"
                    )));
                }
                d.push(
                    Element::new("address")
                        .with_attr("type", "drive")
                        .with_attr("controller", &ctrl.to_string())
                        .with_attr("bus", &b.to_string())
                        .with_attr("target", "0")
                        .with_attr("unit", &unit.to_string()),
                );
                d.order_children(&disk_order());
            }
        }
        if let Some(a) = d.child("address") {
            if a.attr("type") == Some("drive") {
                let c = a
                    .attr("controller")
                    .and_then(parse_u64)
                    .and_then(|v| u32::try_from(v).ok())
                    .unwrap_or(0);
                let ctype = if bus == "fdc" { "fdc" } else { bus.as_str() };
                implicit.push((ctype.to_string(), c));
            }
        }
    }
    for (t, c) in implicit {
        for i in 0..=c.min(16) {
            ensure_controller(def, &t, i);
        }
    }
    if need_ccid {
        ensure_controller(def, "ccid", 0);
    }
    // Virtio channels and consoles need the virtio-serial controller
    // their address names (0 without one).
    let serial_ctrls: Vec<u32> = def
        .devices
        .iter()
        .filter(|d| {
            (d.name == "channel" || d.name == "console")
                && d.child("target").and_then(|t| t.attr("type")) == Some("virtio")
        })
        .map(|d| {
            d.child("address")
                .filter(|a| a.attr("type") == Some("virtio-serial"))
                .and_then(|a| a.attr("controller"))
                .and_then(parse_u64)
                .and_then(|v| u32::try_from(v).ok())
                .unwrap_or(0)
        })
        .collect();
    for c in serial_ctrls {
        ensure_controller(def, "virtio-serial", c);
    }

    assign_chr_ports(def);

    // The first video device is the primary one; one marked primary goes
    // first.
    let is_video = |d: &Element| d.name == "video";
    let marked = |d: &Element| {
        is_video(d) && d.child("model").and_then(|m| m.attr("primary")) == Some("yes")
    };
    if let (Some(first), Some(p)) = (
        def.devices.iter().position(is_video),
        def.devices.iter().position(marked),
    ) {
        if p > first {
            let v = def.devices.remove(p);
            def.devices.insert(first, v);
        }
    }
    if let Some(v) = def.devices.iter_mut().find(|d| d.name == "video") {
        if let Some(m) = v.child_mut("model") {
            if m.attr("type") != Some("none") && m.attr("primary").is_none() {
                let pos = m
                    .attrs
                    .iter()
                    .position(|(k, _)| k == "blob")
                    .unwrap_or(m.attrs.len());
                m.insert_attr(pos, "primary", "yes");
            }
        }
    }
    Ok(())
}

/// PCI addresses are printed with fixed widths (domain 4 hex digits, bus
/// and slot 2, function 1) whatever the input used, and drive addresses
/// with all four of controller, bus, target and unit (0 when not given),
/// as libvirt does.
fn normalise_pci_addresses(e: &mut Element) -> Result<(), ConfError> {
    if e.name == "address" && e.attr("type") == Some("drive") {
        let mut attrs = vec![("type".to_string(), "drive".to_string())];
        for key in ["controller", "bus", "target", "unit"] {
            let v = e.attr(key).unwrap_or("0");
            let v = v
                .parse::<u32>()
                .map_or_else(|_| v.to_string(), |n| n.to_string());
            attrs.push((key.to_string(), v));
        }
        e.attrs = attrs;
    }
    if e.name == "address" && e.attr("type") == Some("pci") {
        for (key, width, max) in [
            ("domain", 4, 0xffff_u64),
            ("bus", 2, 0xff),
            ("slot", 2, 0x1f),
            ("function", 1, 7),
        ] {
            // libvirt writes every part, 0 when not given.
            let v = e.attr(key).unwrap_or("0");
            let parsed = match v.strip_prefix("0x").or_else(|| v.strip_prefix("0X")) {
                Some(h) => u64::from_str_radix(h, 16).ok(),
                None => v.parse::<u64>().ok(),
            };
            let n = parsed
                .filter(|n| *n <= max)
                .ok_or_else(|| ConfError::xml(format!("Invalid PCI address {key} '{v}'")))?;
            e.set_attr(key, &format!("0x{n:0width$x}"));
        }
        const PCI_ORDER: &[&str] = &["type", "domain", "bus", "slot", "function"];
        e.attrs.sort_by_key(|(k, _)| {
            PCI_ORDER
                .iter()
                .position(|o| o == k)
                .unwrap_or(PCI_ORDER.len())
        });
    }
    for c in e.elements_mut() {
        normalise_pci_addresses(c)?;
    }
    Ok(())
}

fn normalise_filesystem(d: &mut Element) -> Result<(), ConfError> {
    if d.attr("type").is_none() {
        d.insert_attr(0, "type", "mount");
    }
    let ty = d.attr("type").unwrap_or("mount").to_string();
    // A vhost-user filesystem (a socket) has no access mode.
    let sock = d.child("source").and_then(|s| s.attr("socket")).is_some();
    if d.attr("accessmode").is_none() && !sock {
        let pos = if d.attr("type").is_some() { 1 } else { 0 };
        d.insert_attr(pos, "accessmode", "passthrough");
    }
    // Modes are octal, written with four digits.
    for k in ["fmode", "dmode"] {
        if let Some(v) = d.attr(k).and_then(|v| u32::from_str_radix(v, 8).ok()) {
            d.set_attr(k, &format!("{v:04o}"));
        }
    }
    if ty == "ram" {
        if let Some(s) = d.child_mut("source") {
            let usage = s.attr("usage").unwrap_or("").to_string();
            let bytes = scaled_bytes(&usage, s.attr("units"), 1024, "usage")?;
            let kib = bytes / 1024;
            s.attrs = vec![
                ("usage".into(), kib.to_string()),
                ("units".into(), "KiB".into()),
            ];
        }
    }
    if d.child("target").and_then(|t| t.attr("dir")).is_none() {
        return Err(ConfError::xml("missing target information for filesystem"));
    }
    Ok(())
}

fn normalise_graphics(d: &mut Element) -> Result<(), ConfError> {
    if d.attr("type") == Some("spice") {
        d.order_children(&[
            "listen",
            "channel",
            "image",
            "jpeg",
            "zlib",
            "playback",
            "streaming",
            "mouse",
            "clipboard",
            "filetransfer",
            "gl",
        ]);
    }
    if matches!(d.attr("type"), Some("spice") | Some("rdp")) {
        return normalise_listens(d);
    }
    if d.attr("type") != Some("vnc") {
        return Ok(());
    }
    let socket = d.attr("socket").map(str::to_string);
    let listen_attr = d.attr("listen").map(str::to_string);
    let mut listens: Vec<Element> = d.children_named("listen").cloned().collect();
    for l in &listens {
        if l.attr("type") == Some("network") && l.attr("network").is_none() {
            return Err(ConfError::xml(
                "'network' attribute is required for listen type 'network'",
            ));
        }
    }
    if let Some(sock) = &socket {
        match listens.first() {
            Some(l) if l.attr("type") == Some("socket") => {
                if let Some(s) = l.attr("socket") {
                    if s != sock {
                        return Err(ConfError::unsupported(format!(
                            "graphics 'socket' attribute '{sock}' must match 'socket' attribute of first listen element (found '{s}')"
                        )));
                    }
                }
            }
            _ => {}
        }
        listens = vec![Element::new("listen")
            .with_attr("type", "socket")
            .with_attr("socket", sock)];
    } else {
        if let (Some(la), Some(first)) = (&listen_attr, listens.first()) {
            if first.attr("type") == Some("address") {
                if let Some(addr) = first.attr("address") {
                    if addr != la {
                        return Err(ConfError::unsupported(format!(
                            "graphics 'listen' attribute '{la}' must match 'address' attribute of first listen element (found '{addr}')"
                        )));
                    }
                }
            }
        }
        if listens.is_empty() {
            let mut l = Element::new("listen").with_attr("type", "address");
            if let Some(la) = &listen_attr {
                l.set_attr("address", la);
            }
            listens.push(l);
        } else if let Some(la) = &listen_attr {
            if listens[0].attr("type") == Some("address") && listens[0].attr("address").is_none() {
                listens[0].set_attr("address", la);
            }
        }
    }
    // Attributes in libvirt's order.
    let mut attrs: Vec<(String, String)> = vec![("type".into(), "vnc".into())];
    let first = listens[0].clone();
    if first.attr("type") == Some("socket") {
        if let Some(s) = first.attr("socket") {
            attrs.push(("socket".into(), s.to_string()));
        }
    } else {
        let port: i64 = d
            .attr("port")
            .and_then(|p| p.trim().parse().ok())
            .unwrap_or(0);
        let autoport = match d.attr("autoport") {
            Some("yes") => true,
            Some("no") => false,
            _ => port == -1 || port == 0,
        };
        // Formatting is always "inactive" here unless a live id is set;
        // a fixed port only survives without autoport.
        if port > 0 && !autoport {
            attrs.push(("port".into(), port.to_string()));
        } else if autoport {
            attrs.push(("port".into(), "-1".into()));
        }
        attrs.push((
            "autoport".into(),
            if autoport { "yes" } else { "no" }.into(),
        ));
        if let Some(w) = d.attr("websocket") {
            attrs.push(("websocket".into(), w.to_string()));
        }
        if first.attr("type") == Some("address") {
            if let Some(a) = first.attr("address") {
                attrs.push(("listen".into(), a.to_string()));
            }
        }
    }
    for k in [
        "keymap",
        "sharePolicy",
        "powerControl",
        "passwd",
        "passwdValidTo",
        "connected",
    ] {
        if let Some(v) = d.attr(k) {
            attrs.push((k.into(), v.to_string()));
        }
    }
    d.attrs = attrs;
    // Listens first, then other children.
    let others: Vec<Node> = d
        .children
        .drain(..)
        .filter(|n| !matches!(n, Node::Element(c) if c.name == "listen"))
        .collect();
    d.children = listens
        .into_iter()
        .map(Node::Element)
        .chain(others)
        .collect();
    Ok(())
}

/// Device checks run after defaults.
/// The path libvirt names a disk's source by (virDomainDiskGetSource).
fn disk_source_path(d: &Element) -> Option<&str> {
    let s = d.child("source")?;
    let attr = match d.attr("type").unwrap_or("file") {
        "file" => "file",
        "block" => "dev",
        "dir" => "dir",
        "network" => "name",
        "vhostuser" => "path",
        _ => return None,
    };
    s.attr(attr)
}

/// A disk's `<address type='drive'>` as (controller, bus, target, unit).
fn drive_address(d: &Element) -> Option<(u64, u64, u64, u64)> {
    let a = d
        .child("address")
        .filter(|a| a.attr("type") == Some("drive"))?;
    let n = |k: &str| a.attr(k).and_then(parse_u64).unwrap_or(0);
    Some((n("controller"), n("bus"), n("target"), n("unit")))
}

/// libvirt's checks of one disk (virDomainDiskDefValidate, the parts that
/// do not depend on the hypervisor).
fn validate_disk(d: &Element) -> Result<(), ConfError> {
    let src = d.child("source");
    for what in ["auth", "encryption"] {
        if d.child(what).is_some() && src.is_some_and(|s| s.child(what).is_some()) {
            return Err(ConfError::unsupported(format!(
                "an <{what}> definition already found for disk source"
            )));
        }
    }
    let target = d.child("target");
    let Some(dst) = target.and_then(|t| t.attr("dev")) else {
        let src = d.child("source");
        if d.attr("type") == Some("volume") {
            let get = |k: &str| src.and_then(|s| s.attr(k)).unwrap_or("");
            return Err(ConfError::new(
                crate::error::ErrorCode::NoTarget,
                format!("pool = '{}', volume = '{}'", get("pool"), get("volume")),
            ));
        }
        return Err(match disk_source_path(d) {
            Some(p) => ConfError::new(crate::error::ErrorCode::NoTarget, p),
            None => ConfError::bare(crate::error::ErrorCode::NoTarget),
        });
    };
    let ty = d.attr("type").unwrap_or("file");
    validate_disk_source(d, src)?;
    if d.attr("device") == Some("lun") {
        if ty == "network" {
            let proto = d
                .child("source")
                .and_then(|s| s.attr("protocol"))
                .unwrap_or("");
            if proto != "iscsi" {
                return Err(ConfError::unsupported(format!(
                    "disk device='lun' is not supported for protocol='{proto}'"
                )));
            }
        } else if ty != "block" && ty != "volume" {
            return Err(ConfError::unsupported(
                "disk device='lun' is only valid for block type disk source",
            ));
        }
    }
    let bus = target.and_then(|t| t.attr("bus")).unwrap_or("");
    let addr = d.child("address").and_then(|a| a.attr("type"));
    if let Some(addr) = addr {
        if matches!(bus, "ide" | "fdc" | "scsi" | "sata") && addr != "drive" {
            return Err(ConfError::unsupported(format!(
                "Invalid address type '{addr}' for the disk '{dst}' with the bus type '{bus}'"
            )));
        }
    }
    Ok(())
}

/// libvirt's checks of a disk source's authentication and encryption.
fn validate_disk_source(d: &Element, src: Option<&Element>) -> Result<(), ConfError> {
    let auth = src.and_then(|s| s.child("auth")).or(d.child("auth"));
    if let (Some("network"), Some(auth)) = (d.attr("type"), auth) {
        let proto = src.and_then(|s| s.attr("protocol")).unwrap_or("");
        if matches!(
            proto,
            "nbd" | "sheepdog" | "gluster" | "tftp" | "vxhs" | "nfs"
        ) {
            return Err(ConfError::unsupported(format!(
                "authentication is not supported for protocol '{proto}'"
            )));
        }
        let usage = auth.child("secret").and_then(|s| s.attr("type"));
        let known = ["none", "volume", "ceph", "iscsi", "tls", "vtpm"];
        let Some(usage) = usage.filter(|u| known.contains(u)) else {
            return Err(ConfError::unsupported(format!(
                "unknown secret type '{}'",
                usage.unwrap_or("<null>")
            )));
        };
        if (proto == "iscsi" && usage != "iscsi") || (proto == "rbd" && usage != "ceph") {
            return Err(ConfError::unsupported(format!(
                "invalid secret type '{usage}'"
            )));
        }
    }
    let enc = src
        .and_then(|s| s.child("encryption"))
        .or(d.child("encryption"));
    if let Some(enc) = enc {
        if enc.attr("format") == Some("luks") && enc.child("cipher").is_some() {
            return Err(ConfError::unsupported(
                "supplying <cipher> for domain disk definition is unnecessary",
            ));
        }
    }
    Ok(())
}

/// libvirt's checks across disks and SCSI host devices: no two disks on
/// one target name, no two disks (of one bus) or SCSI host devices on one
/// drive address.
pub(super) fn validate_drives(def: &DomainDef) -> Result<(), ConfError> {
    let disks: Vec<&Element> = def.devices.iter().filter(|d| d.name == "disk").collect();
    let dst = |d: &Element| {
        d.child("target")
            .and_then(|t| t.attr("dev"))
            .unwrap_or("")
            .to_string()
    };
    let bus = |d: &Element| {
        d.child("target")
            .and_then(|t| t.attr("bus"))
            .unwrap_or("")
            .to_string()
    };
    for (i, a) in disks.iter().enumerate() {
        for b in &disks[i + 1..] {
            if dst(a) == dst(b) {
                return Err(ConfError::xml(format!(
                    "target '{}' duplicated for disk sources '{}' and '{}'",
                    dst(a),
                    disk_source_path(a).unwrap_or("<null>"),
                    disk_source_path(b).unwrap_or("<null>")
                )));
            }
        }
    }
    let ramfb = def.devices.iter().filter(|d| {
        d.name == "hostdev" && d.attr("type") == Some("mdev") && d.attr("ramfb") == Some("on")
    });
    if ramfb.count() > 1 {
        return Err(ConfError::unsupported(
            "Only one vgpu device can have 'ramfb' enabled",
        ));
    }
    for (i, a) in disks.iter().enumerate() {
        let Some(addr) = drive_address(a) else {
            continue;
        };
        for b in &disks[i + 1..] {
            if bus(a) == bus(b) && drive_address(b) == Some(addr) {
                let (c, b, t, u) = addr;
                return Err(ConfError::unsupported(format!(
                    "Found duplicate drive address for disk with target name '{}' controller='{c}' bus='{b}' target='{t}' unit='{u}'",
                    dst(a)
                )));
            }
        }
    }
    let scsi: Vec<(u64, u64, u64, u64)> = def
        .devices
        .iter()
        .filter(|d| {
            d.name == "hostdev"
                && d.attr("mode").unwrap_or("subsystem") == "subsystem"
                && d.attr("type") == Some("scsi")
        })
        .filter_map(drive_address)
        .collect();
    for (i, a) in scsi.iter().enumerate() {
        // libvirt names the bus as controller and the controller as bus.
        let (c, b, t, u) = *a;
        if scsi[i + 1..].contains(a) {
            return Err(ConfError::unsupported(format!(
                "SCSI host address controller='{b}' bus='{c}' target='{t}' unit='{u}' in use by another SCSI host device"
            )));
        }
        if disks
            .iter()
            .any(|d| bus(d) == "scsi" && drive_address(d) == Some(*a))
        {
            return Err(ConfError::unsupported(format!(
                "SCSI host address controller='{b}' bus='{c}' target='{t}' unit='{u}' in use by another SCSI disk"
            )));
        }
    }
    Ok(())
}

pub(super) fn validate_devices(def: &DomainDef) -> Result<(), ConfError> {
    for d in def.devices.iter().filter(|d| d.name == "disk") {
        validate_disk(d)?;
    }
    for d in def.devices.iter().filter(|d| d.name == "video") {
        let ramfb = d.child("model").and_then(|m| m.attr("type")) == Some("ramfb");
        if ramfb && d.child("address").is_some() {
            return Err(ConfError::unsupported(
                "address not supported for video type ramfb",
            ));
        }
    }
    for d in &def.devices {
        if d.name == "interface" {
            if let Some(mac) = d.child("mac").and_then(|m| m.attr("address")) {
                if !valid_mac(mac) {
                    return Err(ConfError::xml(format!(
                        "unable to parse mac address '{mac}'"
                    )));
                }
            }
        }
    }
    Ok(())
}

fn valid_mac(s: &str) -> bool {
    let parts: Vec<&str> = s.split(':').collect();
    parts.len() == 6
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.len() <= 2 && p.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Returns the device as it should be formatted, or `None` to skip it.
pub(super) fn format_filter(d: &Element, inactive: bool, flags: &FormatFlags) -> Option<Element> {
    let mut d = d.clone();
    if d.name == "graphics" {
        // Display passwords are secrets: only secure XML carries them.
        if !flags.secure {
            d.remove_attr("passwd");
        }
        // A display that listens nowhere has no ports.
        let first_listen = d.child("listen").and_then(|l| l.attr("type"));
        if first_listen == Some("none") && matches!(d.attr("type"), Some("vnc") | Some("spice")) {
            for k in ["port", "tlsPort", "autoport", "websocket"] {
                d.remove_attr(k);
            }
        }
    }
    // A driver element left without settings is not written.
    if d.name == "disk" {
        let empty_driver = d
            .child("driver")
            .is_some_and(|x| x.attrs.is_empty() && x.elements().next().is_none());
        if empty_driver {
            d.remove_children("driver");
        }
    }
    // HTTP cookies are secrets: only secure XML carries them.
    if d.name == "disk" && !flags.secure {
        for s in d.elements_mut().filter(|c| c.name == "source") {
            s.remove_children("cookies");
        }
    }
    if !inactive {
        return Some(d);
    }
    // Live-only pty paths are not part of the persistent config.
    if matches!(
        d.name.as_str(),
        "serial" | "console" | "parallel" | "channel"
    ) && d.attr("type").unwrap_or("pty") == "pty"
    {
        d.remove_children("source");
    }
    // User aliases (`ua-` and letters, digits, '_', '-') belong to the
    // persistent config; the others are live-only.
    let user_alias = d
        .child("alias")
        .and_then(|a| a.attr("name"))
        .is_some_and(|n| {
            n.starts_with("ua-")
                && n.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        });
    if !user_alias {
        d.remove_children("alias");
    }
    Some(d)
}

/// The `<target>` child of a character device, created when missing.
fn chr_target(d: &mut Element) -> &mut Element {
    if d.child("target").is_none() {
        let pos = d
            .children
            .iter()
            .rposition(|n| matches!(n, Node::Element(c) if matches!(c.name.as_str(), "source" | "protocol" | "log")))
            .map(|p| p + 1)
            .unwrap_or(0);
        d.children
            .insert(pos, Node::Element(Element::new("target")));
    }
    match d.child_mut("target") {
        Some(t) => t,
        None => unreachable!("target was just added"),
    }
}

fn target_type(d: &Element) -> Option<&str> {
    d.child("target").and_then(|t| t.attr("type"))
}

/// USB2 controllers that make up one EHCI bus with its UHCI companions.
fn is_usb2(d: &Element) -> bool {
    d.attr("type") == Some("usb")
        && matches!(
            d.attr("model"),
            Some("ich9-ehci1") | Some("ich9-uhci1") | Some("ich9-uhci2") | Some("ich9-uhci3")
        )
}

/// Controllers without an index get the lowest index no controller of
/// their type uses, except that a USB2 companion following another USB2
/// controller joins its bus (its index), unless that bus already has a
/// controller of the same model.
fn assign_controller_indexes(def: &mut DomainDef) {
    let idx = |d: &Element| d.attr("index").and_then(parse_u64);
    let ctrls: Vec<usize> = (0..def.devices.len())
        .filter(|&i| def.devices[i].name == "controller")
        .collect();
    for (k, &i) in ctrls.iter().enumerate() {
        if idx(&def.devices[i]).is_some() {
            continue;
        }
        let ty = def.devices[i].attr("type").unwrap_or("").to_string();
        let mut chosen = None;
        if k > 0 && is_usb2(&def.devices[i]) {
            let prev = ctrls[..k]
                .iter()
                .rev()
                .map(|&j| &def.devices[j])
                .find(|c| c.attr("type") == Some("usb"));
            if let Some(prev) = prev.filter(|p| is_usb2(p)) {
                let model = def.devices[i].attr("model");
                let pidx = idx(prev);
                let taken = ctrls.iter().map(|&j| &def.devices[j]).any(|c| {
                    c.attr("type") == Some("usb") && idx(c) == pidx && c.attr("model") == model
                });
                if !taken {
                    chosen = pidx;
                }
            }
        }
        let n = chosen.unwrap_or_else(|| {
            (0..)
                .find(|n| {
                    !ctrls
                        .iter()
                        .map(|&j| &def.devices[j])
                        .any(|c| c.attr("type") == Some(ty.as_str()) && idx(c) == Some(*n))
                })
                .unwrap_or(0)
        });
        def.devices[i].insert_attr(1, "index", &n.to_string());
    }
}

/// libvirt's console back-compat for HVM guests: the first console, when
/// it is a serial console, stands for the first serial port (which is
/// created from it when there is none); a first serial port without a
/// console gets a console standing for it. Only the first console may be
/// a serial console.
fn console_compat(def: &mut DomainDef) -> Result<(), ConfError> {
    let consoles: Vec<usize> = (0..def.devices.len())
        .filter(|&i| def.devices[i].name == "console")
        .collect();
    if consoles
        .iter()
        .skip(1)
        .any(|&i| target_type(&def.devices[i]) == Some("serial"))
    {
        return Err(ConfError::unsupported(
            "Only the first console can be a serial port",
        ));
    }
    if def.os.os_type != "hvm" {
        return Ok(());
    }
    let first_serial = def.devices.iter().position(|d| d.name == "serial");
    match consoles.first() {
        Some(&c) if matches!(target_type(&def.devices[c]), None | Some("serial")) => {
            if first_serial.is_none() {
                let mut s = def.devices[c].clone();
                s.name = "serial".into();
                let t = chr_target(&mut s);
                t.remove_attr("type");
                t.set_attr("port", "0");
                def.add_device(s);
            }
        }
        _ => {
            let Some(si) = first_serial else {
                return Ok(());
            };
            if matches!(
                target_type(&def.devices[si]),
                None | Some("isa-serial")
                    | Some("spapr-vio-serial")
                    | Some("system-serial")
                    | Some("sclp-serial")
            ) {
                let stub = Element::new("console")
                    .with_attr("type", "pty")
                    .with_child(Element::new("target").with_attr("type", "serial"));
                match consoles.first() {
                    Some(&c) => def.devices.insert(c, stub),
                    None => def.add_device(stub),
                }
            }
        }
    }
    Ok(())
}

/// Serial ports, parallel ports and consoles without a target port get the
/// next port after the highest of their kind.
fn assign_chr_ports(def: &mut DomainDef) {
    let port_of = |d: &Element| {
        d.child("target")
            .and_then(|t| t.attr("port"))
            .and_then(|p| p.trim().parse::<i64>().ok())
            .filter(|p| *p >= 0)
    };
    for kind in ["serial", "parallel", "console"] {
        // The next port is after the highest of the kind, wherever it is.
        let mut max: i64 = def
            .devices
            .iter()
            .filter(|d| d.name == kind)
            .filter_map(port_of)
            .max()
            .unwrap_or(-1);
        let first_serial_port = def
            .devices
            .iter()
            .find(|d| d.name == "serial")
            .and_then(port_of);
        let mut first = true;
        for i in 0..def.devices.len() {
            if def.devices[i].name != kind {
                continue;
            }
            let is_first = std::mem::replace(&mut first, false);
            if port_of(&def.devices[i]).is_some() {
                continue;
            }
            // The first console standing for a serial port has its port.
            let mirrored =
                (kind == "console" && is_first && target_type(&def.devices[i]) == Some("serial"))
                    .then_some(first_serial_port)
                    .flatten();
            let port = match mirrored {
                Some(p) => p,
                None => {
                    max += 1;
                    max
                }
            };
            let t = chr_target(&mut def.devices[i]);
            t.set_attr("port", &port.to_string());
        }
    }
}

/// Children every device ends with (virDomainDeviceInfoFormat).
const INFO_TAIL: &[&str] = &["boot", "alias", "master", "rom", "acpi", "address"];

fn with_info_tail(head: &[&'static str]) -> Vec<&'static str> {
    head.iter().chain(INFO_TAIL).copied().collect()
}

fn normalise_disk(d: &mut Element) -> Result<(), ConfError> {
    if d.attr("device").is_none() {
        let pos = if d.attr("type").is_some() { 1 } else { 0 };
        d.insert_attr(pos, "device", "disk");
    }
    // A target without a bus gets the one its name implies (IDE when
    // none does); a floppy sits on the floppy controller.
    let floppy = d.attr("device") == Some("floppy");
    if let Some(t) = d.child_mut("target") {
        if t.attr("bus").is_none() {
            let dev = t.attr("dev").unwrap_or("");
            let bus = if floppy {
                "fdc"
            } else if dev.starts_with("sd") {
                "scsi"
            } else if dev.starts_with("vd") {
                "virtio"
            } else if dev.starts_with("xvd") {
                "xen"
            } else if dev.starts_with("ubd") {
                "uml"
            } else {
                "ide"
            };
            let pos = usize::from(t.attr("dev").is_some());
            t.insert_attr(pos, "bus", bus);
        }
    }
    // A disk is a file unless it says otherwise.
    if d.attr("type").is_none() {
        d.insert_attr(0, "type", "file");
    }
    // libvirt's attribute order on the disk, its target and a pool source.
    let sort = |e: &mut Element, order: &[&str]| {
        e.attrs
            .sort_by_key(|(k, _)| order.iter().position(|o| o == k).unwrap_or(order.len()));
    };
    sort(d, &["type", "device", "model", "rawio", "sgio", "snapshot"]);
    if let Some(t) = d.child_mut("target") {
        sort(t, &["dev", "bus", "tray", "removable", "rotation_rate"]);
    }
    if d.attr("type") == Some("volume") {
        if let Some(src) = d.child_mut("source") {
            sort(src, &["pool", "volume", "mode"]);
        }
    }
    default_host_ports(d);
    normalise_backing_chain(d)?;
    // Driver settings whose value is the default (the enums' 0) are not
    // kept; the others come in libvirt's order.
    if let Some(drv) = d.child_mut("driver") {
        drv.attrs
            .retain(|(k, v)| k == "name" || k == "type" || v != "default");
        const DRIVER_ORDER: &[&str] = &[
            "name",
            "type",
            "cache",
            "error_policy",
            "rerror_policy",
            "io",
            "ioeventfd",
            "event_idx",
            "copy_on_read",
            "discard",
            "iothread",
            "detect_zeroes",
            "discard_no_unref",
            "queues",
            "queue_size",
        ];
        drv.attrs.sort_by_key(|(k, _)| {
            DRIVER_ORDER
                .iter()
                .position(|o| o == k)
                .unwrap_or(DRIVER_ORDER.len())
        });
    }
    // Only a floppy or CD-ROM tray that is open is worth saying.
    let removable_media = matches!(d.attr("device"), Some("floppy" | "cdrom"));
    if let Some(t) = d.child_mut("target") {
        if !removable_media || t.attr("tray") == Some("closed") {
            t.remove_attr("tray");
        }
    }
    // A CD-ROM is always read-only.
    if d.attr("device") == Some("cdrom") && d.child("readonly").is_none() {
        d.push(Element::new("readonly"));
    }
    // vhost-user disks cannot be snapshotted; a read-only disk is never
    // snapshotted, which goes without saying.
    if d.attr("type") == Some("vhostuser") && d.attr("snapshot").is_none() {
        let pos = d
            .attrs
            .iter()
            .rposition(|(k, _)| {
                matches!(k.as_str(), "type" | "device" | "model" | "rawio" | "sgio")
            })
            .map_or(0, |p| p + 1);
        d.insert_attr(pos, "snapshot", "no");
    }
    if d.child("readonly").is_some() && d.attr("snapshot") == Some("no") {
        d.remove_attr("snapshot");
    }
    // An iSCSI source names LUN 0 unless it names one.
    if d.attr("type") == Some("network") {
        iscsi_lun(d);
    }
    d.order_children(&disk_order());
    Ok(())
}

/// An iSCSI `<source name>` without a LUN gets `/0` (libvirt's
/// virDomainPostParseCheckISCSIPath), for disks and SCSI host devices.
/// Backing chains: each level writes its format, source and next level
/// in that order; metadata cache sizes are written in bytes.
fn normalise_backing_chain(e: &mut Element) -> Result<(), ConfError> {
    for c in e.elements_mut() {
        match c.name.as_str() {
            "backingStore" => {
                c.order_children(&["format", "source", "backingStore"]);
                normalise_backing_chain(c)?;
            }
            "driver" | "format" => {
                if let Some(m) = c
                    .child_mut("metadata_cache")
                    .and_then(|m| m.child_mut("max_size"))
                {
                    let text = m.text();
                    let bytes = scaled_bytes(text.trim(), m.attr("unit"), 1, "max_size")?;
                    m.attrs = vec![("unit".into(), "bytes".into())];
                    m.set_text(&bytes.to_string());
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// The port a network storage protocol uses when a TCP host names none
/// (libvirt's defaults; none for RBD and NFS).
fn default_storage_port(protocol: &str) -> Option<u16> {
    Some(match protocol {
        "http" => 80,
        "https" => 443,
        "ftp" => 21,
        "ftps" => 990,
        "tftp" => 69,
        "sheepdog" => 7000,
        "nbd" => 10809,
        "ssh" => 22,
        "iscsi" => 3260,
        "gluster" => 24007,
        "vxhs" => 9999,
        _ => return None,
    })
}

/// Network sources (the disk's, its backing chain's, its mirror's) give
/// each TCP host its protocol's default port.
fn default_host_ports(e: &mut Element) {
    for c in e.elements_mut() {
        if c.name == "source" {
            if let Some(port) = c.attr("protocol").and_then(default_storage_port) {
                for h in c.elements_mut().filter(|h| h.name == "host") {
                    let tcp = h.attr("transport").unwrap_or("tcp") == "tcp";
                    let unset = h.attr("port").is_none_or(|p| p.trim() == "0");
                    if tcp && unset && h.attr("name").is_some() {
                        let pos = h
                            .attrs
                            .iter()
                            .position(|(k, _)| k == "name")
                            .map_or(0, |p| p + 1);
                        h.remove_attr("port");
                        h.insert_attr(pos, "port", &port.to_string());
                    }
                }
            }
        }
        if matches!(c.name.as_str(), "source" | "backingStore" | "mirror") {
            default_host_ports(c);
        }
    }
}

fn iscsi_lun(d: &mut Element) {
    if let Some(s) = d.child_mut("source") {
        if s.attr("protocol") == Some("iscsi") {
            if let Some(n) = s.attr("name").filter(|n| !n.contains('/')) {
                let n = format!("{n}/0");
                s.set_attr("name", &n);
            }
        }
    }
}

/// libvirt's order of a disk's children.
fn disk_order() -> Vec<&'static str> {
    with_info_tail(&[
        "driver",
        "auth",
        "source",
        "backingStore",
        "backenddomain",
        "geometry",
        "blockio",
        "mirror",
        "target",
        "iotune",
        "readonly",
        "shareable",
        "transient",
        "serial",
        "wwn",
        "vendor",
        "product",
        "encryption",
    ])
}

/// A host device leads with its mode (subsystem unless given) and type; a
/// subsystem device says whether it is managed ('yes' only when given as
/// such).
fn normalise_hostdev(d: &mut Element) {
    let mode = d.remove_attr("mode").unwrap_or_else(|| "subsystem".into());
    let ty = d.remove_attr("type");
    let managed = d.remove_attr("managed");
    let mut head = vec![("mode".to_string(), mode.clone())];
    if let Some(t) = ty {
        head.push(("type".to_string(), t));
    }
    if mode == "subsystem" {
        let m = if managed.as_deref() == Some("yes") {
            "yes"
        } else {
            "no"
        };
        head.push(("managed".to_string(), m.to_string()));
    }
    head.append(&mut d.attrs);
    d.attrs = head;
}

/// An interface's `<virtualport>` as libvirt reads it
/// (virNetDevVPortProfileParse with the flags its interface type gives):
/// bridge, direct and hostdev interfaces need a type and every parameter
/// it uses; all of these and network interfaces get a random instanceid
/// (802.1Qbg or no type) and interfaceid (openvswitch or no type) for each
/// profile that leaves them out; other interface types take none.
fn normalise_virtualport(d: &mut Element) -> Result<(), ConfError> {
    use crate::network::netdev::{VirtualPort, VirtualPortType as T};
    let Some(pos) = d
        .children
        .iter()
        .position(|n| matches!(n, Node::Element(e) if e.name == "virtualport"))
    else {
        return Ok(());
    };
    let ty = d.attr("type").unwrap_or("");
    let strict = match ty {
        "bridge" | "direct" | "hostdev" => true,
        "network" => false,
        _ => {
            return Err(ConfError::unsupported(format!(
                "<virtualport> element unsupported for <interface type='{ty}'>"
            )))
        }
    };
    let Node::Element(e) = &d.children[pos] else {
        return Ok(());
    };
    let mut vp = VirtualPort::parse(e, strict)?;
    if vp.instance_id.is_none() && matches!(vp.kind, T::Qbg | T::None) {
        vp.instance_id = Some(crate::uuid::Uuid::generate()?);
    }
    if vp.interface_id.is_none() && matches!(vp.kind, T::OpenVSwitch | T::None) {
        vp.interface_id = Some(crate::uuid::Uuid::generate()?);
    }
    if strict {
        let missing = match vp.kind {
            T::Qbg if vp.manager_id.is_none() => Some("managerid"),
            T::Qbg if vp.type_id.is_none() => Some("typeid"),
            T::Qbg if vp.type_id_version.is_none() => Some("typeidversion"),
            T::Qbh if vp.profile_id.is_none() => Some("profileid"),
            T::Midonet if vp.interface_id.is_none() => Some("interfaceid"),
            _ => None,
        };
        if let Some(m) = missing {
            return Err(ConfError::xml(format!(
                "missing {m} in <virtualport type='{}'>",
                vp.kind.as_str()
            )));
        }
    }
    let mut text = String::new();
    vp.format(&mut text, 0);
    // Only the first <virtualport> counts.
    d.remove_children("virtualport");
    if !text.is_empty() {
        let e = crate::xml::parse_any(&text, "(virtualport)")?;
        d.children.insert(pos, Node::Element(e));
    }
    Ok(())
}

fn normalise_interface(d: &mut Element) -> Result<(), ConfError> {
    if d.child("mac").and_then(|m| m.attr("address")).is_none() {
        let mut b = [0u8; 3];
        getrandom::getrandom(&mut b)
            .map_err(|e| ConfError::internal(format!("Failed to generate MAC address: {e}")))?;
        let mac = format!("52:54:00:{:02x}:{:02x}:{:02x}", b[0], b[1], b[2]);
        match d.child_mut("mac") {
            Some(m) => m.insert_attr(0, "address", &mac),
            None => {
                d.children.insert(
                    0,
                    Node::Element(Element::new("mac").with_attr("address", &mac)),
                );
            }
        }
    }
    normalise_virtualport(d)?;
    let order = with_info_tail(&[
        "mac",
        "source",
        "vlan",
        "virtualport",
        "bandwidth",
        "port",
        "actual",
        "ip",
        "route",
        "portForward",
        "script",
        "downscript",
        "backenddomain",
        "target",
        "guest",
        "model",
        "driver",
        "backend",
        "filterref",
        "tune",
        "teaming",
        "link",
        "mtu",
        "coalesce",
    ]);
    d.order_children(&order);
    Ok(())
}

/// Video RAM defaults per model in KiB (virDomainVideoDefaultRAM).
fn default_video_ram(model: &str, virt_type: &str) -> u64 {
    match model {
        "vga" | "cirrus" | "vmvga" => match virt_type {
            "vbox" => 8 * 1024,
            "vmware" => 4 * 1024,
            _ => 16 * 1024,
        },
        "bochs" => 16 * 1024,
        "xen" => 4 * 1024,
        "qxl" => 64 * 1024,
        _ => 0,
    }
}

/// A video model gets its RAM defaults (rounded up to a power of two) and
/// one head, with attributes in libvirt's order.
fn normalise_video(d: &mut Element, virt_type: &str) {
    let Some(m) = d.child_mut("model") else {
        return;
    };
    let Some(model) = m.attr("type").map(str::to_string) else {
        return;
    };
    let num = |m: &Element, k: &str| m.attr(k).and_then(parse_u64).unwrap_or(0);
    let mut ram = num(m, "ram");
    let mut vram = num(m, "vram");
    if ram == 0 && model == "qxl" {
        ram = default_video_ram(&model, virt_type);
    }
    if vram == 0 {
        vram = default_video_ram(&model, virt_type);
    }
    let pow2 = |v: u64| {
        if v == 0 {
            0
        } else {
            v.checked_next_power_of_two().unwrap_or(v)
        }
    };
    let (ram, vram) = (pow2(ram), pow2(vram));
    let heads = m
        .attr("heads")
        .map(str::to_string)
        .unwrap_or_else(|| "1".into());
    let mut attrs: Vec<(String, String)> = vec![("type".into(), model)];
    for (k, v) in [("ram", ram), ("vram", vram)] {
        if v > 0 {
            attrs.push((k.into(), v.to_string()));
        }
    }
    for k in ["vram64", "vgamem"] {
        if let Some(v) = m.attr(k) {
            attrs.push((k.into(), v.to_string()));
        }
    }
    attrs.push(("heads".into(), heads));
    // Only primary='yes' means something (libvirt keeps a boolean).
    if m.attr("primary") == Some("yes") {
        attrs.push(("primary".into(), "yes".into()));
    }
    if let Some(v) = m.attr("blob") {
        attrs.push(("blob".into(), v.to_string()));
    }
    // Attributes libvirt does not know are not kept.
    m.attrs = attrs;
}

/// SPICE and RDP displays: a display without `<listen>` listens on an
/// address (the `listen` attribute's, if any), which must agree with the
/// first `<listen>` otherwise.
fn normalise_listens(d: &mut Element) -> Result<(), ConfError> {
    normalise_listen_elements(d)?;
    if d.attr("type") != Some("spice") {
        return Ok(());
    }
    // SPICE without ports or autoport listens nowhere.
    let port = |k: &str| {
        d.attr(k)
            .and_then(|p| p.trim().parse::<i64>().ok())
            .unwrap_or(0)
    };
    let no_ports = port("port") == 0 && port("tlsPort") == 0 && d.attr("autoport") != Some("yes");
    if let Some(first) = d.child_mut("listen") {
        if first.attr("type") == Some("address") && no_ports {
            *first = Element::new("listen").with_attr("type", "none");
        }
    }
    // The first address listen is repeated as the `listen` attribute.
    let addr = d
        .child("listen")
        .filter(|l| l.attr("type") == Some("address"))
        .and_then(|l| l.attr("address"))
        .map(str::to_string);
    d.remove_attr("listen");
    if let Some(a) = addr {
        let pos = d
            .attrs
            .iter()
            .rposition(|(k, _)| matches!(k.as_str(), "type" | "port" | "tlsPort" | "autoport"))
            .map_or(d.attrs.len(), |p| p + 1);
        d.insert_attr(pos, "listen", &a);
    }
    Ok(())
}

fn normalise_listen_elements(d: &mut Element) -> Result<(), ConfError> {
    let listen_attr = d.attr("listen").map(str::to_string);
    if let (Some(la), Some(first)) = (&listen_attr, d.child("listen")) {
        if first.attr("type") == Some("address") {
            if let Some(addr) = first.attr("address") {
                if addr != la {
                    return Err(ConfError::unsupported(format!(
                        "graphics 'listen' attribute '{la}' must match 'address' attribute of first listen element (found '{addr}')"
                    )));
                }
            }
        }
    }
    if d.child("listen").is_none() {
        let mut l = Element::new("listen").with_attr("type", "address");
        if let Some(la) = &listen_attr {
            l.set_attr("address", la);
        }
        d.children.insert(0, Node::Element(l));
    } else if let Some(la) = &listen_attr {
        if let Some(first) = d.child_mut("listen") {
            if first.attr("type") == Some("address") && first.attr("address").is_none() {
                first.set_attr("address", la);
            }
        }
    }
    Ok(())
}

/// The `<console>` an HVM guest's serial console is written as: the
/// serial port itself, with a console target of type serial on its port.
pub(super) fn console_for_serial(serial: &Element) -> Element {
    let mut c = serial.clone();
    c.name = "console".into();
    let port = serial
        .child("target")
        .and_then(|t| t.attr("port"))
        .unwrap_or("0")
        .to_string();
    let t = chr_target(&mut c);
    *t = Element::new("target")
        .with_attr("type", "serial")
        .with_attr("port", &port);
    c
}

/// Disks in libvirt's insertion order: among disks on the same bus (as
/// written), by the index their target name gives.
fn order_disks(def: &mut DomainDef) {
    let n = def.devices.iter().take_while(|d| d.name == "disk").count();
    let disks: Vec<Element> = def.devices.drain(..n).collect();
    let bus = |d: &Element| {
        d.child("target")
            .and_then(|t| t.attr("bus"))
            .map(str::to_string)
    };
    let index = |d: &Element| {
        d.child("target")
            .and_then(|t| t.attr("dev"))
            .and_then(disk_index)
            .map_or(-1, |i| i64::try_from(i).unwrap_or(i64::MAX))
    };
    let mut out: Vec<Element> = Vec::with_capacity(n);
    for disk in disks {
        let (b, i) = (bus(&disk), index(&disk));
        let mut at = None;
        for (k, d) in out.iter().enumerate().rev() {
            if bus(d) != b {
                continue;
            }
            if index(d) > i {
                at = Some(k);
            } else if at.is_none() {
                at = Some(k + 1);
            }
        }
        match at {
            Some(k) => out.insert(k, disk),
            None => out.push(disk),
        }
    }
    def.devices.splice(0..0, out);
}

/// An ICH9 UHCI companion without `<master>` gets the start port its
/// model implies.
fn usb_companion_master(d: &mut Element) {
    if d.attr("type") != Some("usb") || d.child("master").is_some() {
        return;
    }
    let port = match d.attr("model") {
        Some("ich9-uhci1") => "0",
        Some("ich9-uhci2") => "2",
        Some("ich9-uhci3") => "4",
        _ => return,
    };
    let pos = d
        .children
        .iter()
        .position(|n| matches!(n, Node::Element(c) if matches!(c.name.as_str(), "rom" | "address" | "acpi")))
        .unwrap_or(d.children.len());
    d.children.insert(
        pos,
        Node::Element(Element::new("master").with_attr("startport", port)),
    );
}
