// SPDX-License-Identifier: LGPL-2.1-or-later
//! Automatic device addresses of QEMU guests (libvirt's
//! qemuDomainAssignAddresses): virtio-serial ports for virtio channels
//! and consoles, and PCI addresses on i440FX (`pci-root`, slot 1 being
//! the PIIX3's) and q35 (`pcie-root`, with a `pcie-root-port` added for
//! each PCI Express device that has none, plus one for hotplug).
//!
//! Devices get addresses in libvirt's order of kinds (PCI controllers,
//! filesystems, network interfaces, sound cards, other controllers, virtio
//! disks, host devices, balloon, RNGs, watchdogs, videos, shared memory,
//! virtio input, PCI serial ports, IOMMU, vsock, memory devices, crypto,
//! panic devices); each takes the first free slot its kind may use.

use std::collections::{BTreeMap, BTreeSet};

use conf::domain::DomainDef;
use conf::error::{ErrorCode, ErrorDomain, VirError};
use conf::xml::Element;

use crate::postparse::{is_i440fx, is_q35};
use crate::QemuDriverContext;

pub(crate) fn assign_addresses(
    ctx: &QemuDriverContext,
    def: &mut DomainDef,
) -> Result<(), VirError> {
    assign_virtio_serial(def);
    assign_spapr_vio(def);
    assign_memory_slots(def);
    if is_q35(def) || is_i440fx(def) {
        assign_pci(ctx, def)?;
    }
    Ok(())
}

fn parse_num(s: &str) -> Option<u32> {
    let s = s.trim();
    match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(h) => u32::from_str_radix(h, 16).ok(),
        None => s.parse().ok(),
    }
}

/// Virtio channels and consoles without an address get the next free port
/// of virtio-serial controller 0 (port 0 is the console's).
fn assign_virtio_serial(def: &mut DomainDef) {
    let mut used: BTreeSet<(u32, u32, u32)> = BTreeSet::new();
    for d in &def.devices {
        if let Some(a) = d
            .child("address")
            .filter(|a| a.attr("type") == Some("virtio-serial"))
        {
            let n = |k: &str| a.attr(k).and_then(parse_num).unwrap_or(0);
            used.insert((n("controller"), n("bus"), n("port")));
        }
    }
    for d in def.devices.iter_mut() {
        let virtio = d.child("target").and_then(|t| t.attr("type")) == Some("virtio");
        if !(virtio && (d.name == "channel" || d.name == "console")) || d.child("address").is_some()
        {
            continue;
        }
        let start = if d.name == "console" { 0 } else { 1 };
        let port = (start..)
            .find(|p| !used.contains(&(0, 0, *p)))
            .unwrap_or(start);
        used.insert((0, 0, port));
        d.push(
            Element::new("address")
                .with_attr("type", "virtio-serial")
                .with_attr("controller", "0")
                .with_attr("bus", "0")
                .with_attr("port", &port.to_string()),
        );
    }
}

/// sPAPR VIO devices (spapr-vlan NICs, ibmvscsi controllers, spapr-vio
/// serial ports, and devices given a spapr-vio address without a reg)
/// get QEMU's default reg for their kind, moved on by 0x1000 while taken.
fn assign_spapr_vio(def: &mut DomainDef) {
    let reg_of = |d: &Element| {
        d.child("address")
            .filter(|a| a.attr("type") == Some("spapr-vio"))
            .and_then(|a| a.attr("reg"))
            .and_then(|r| {
                let r = r.trim();
                match r.strip_prefix("0x") {
                    Some(h) => u64::from_str_radix(h, 16).ok(),
                    None => r.parse().ok(),
                }
            })
    };
    let mut used: BTreeSet<u64> = def.devices.iter().filter_map(reg_of).collect();
    for kind in ["interface", "controller", "serial"] {
        for d in def.devices.iter_mut().filter(|d| d.name == kind) {
            let wants = match kind {
                "interface" => model_of(d) == Some("spapr-vlan"),
                "controller" => {
                    d.attr("type") == Some("scsi") && d.attr("model") == Some("ibmvscsi")
                }
                _ => d.child("target").and_then(|t| t.attr("type")) == Some("spapr-vio-serial"),
            };
            let has_vio = d
                .child("address")
                .is_some_and(|a| a.attr("type") == Some("spapr-vio"));
            if !(has_vio || (wants && d.child("address").is_none())) {
                continue;
            }
            if reg_of(d).is_some() {
                continue;
            }
            let mut reg: u64 = match kind {
                "interface" => 0x1000,
                "controller" => 0x2000,
                _ => 0x3000_0000,
            };
            while used.contains(&reg) {
                reg += 0x1000;
            }
            used.insert(reg);
            d.remove_children("address");
            d.push(
                Element::new("address")
                    .with_attr("type", "spapr-vio")
                    .with_attr("reg", &format!("0x{reg:08x}")),
            );
        }
    }
}

/// With memory hotplug, DIMM and NVDIMM devices without an address take
/// the first free memory slot.
fn assign_memory_slots(def: &mut DomainDef) {
    if def.max_memory_kib == 0 {
        return;
    }
    let is_dimm = |d: &Element| {
        d.name == "memory" && matches!(d.attr("model"), Some("dimm") | Some("nvdimm"))
    };
    let mut used: BTreeSet<u32> = def
        .devices
        .iter()
        .filter(|d| is_dimm(d))
        .filter_map(|d| d.child("address"))
        .filter(|a| a.attr("type") == Some("dimm"))
        .filter_map(|a| a.attr("slot").and_then(parse_num))
        .collect();
    for d in def.devices.iter_mut().filter(|d| is_dimm(d)) {
        if d.child("address").is_some() {
            continue;
        }
        let slot = (0..).find(|s| !used.contains(s)).unwrap_or(0);
        used.insert(slot);
        d.push(
            Element::new("address")
                .with_attr("type", "dimm")
                .with_attr("slot", &slot.to_string()),
        );
    }
}

/// How a device connects to a PCI bus.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Conn {
    /// A conventional PCI device.
    Pci,
    /// A PCI Express endpoint (on q35: in a root port).
    Pcie,
    /// A pcie-root-port (functions of one slot of pcie-root).
    RootPort,
    /// A device integrated in pcie-root itself (on q35; elsewhere PCI).
    Integrated,
    /// A pcie-switch-downstream-port (on a switch's upstream port).
    Downstream,
}

/// The PCI addresses in use.
#[derive(Default)]
struct PciSet {
    /// (bus, slot) → functions in use.
    used: BTreeMap<(u32, u32), u8>,
    /// Whole slots kept for chipset devices.
    reserved: BTreeSet<(u32, u32)>,
}

impl PciSet {
    fn take(&mut self, bus: u32, slot: u32, func: u32) {
        *self.used.entry((bus, slot)).or_default() |= 1u8 << (func & 7);
    }
    fn slot_free(&self, bus: u32, slot: u32) -> bool {
        !self.reserved.contains(&(bus, slot)) && !self.used.contains_key(&(bus, slot))
    }
}

fn pci_address(bus: u32, slot: u32, func: u32) -> Element {
    Element::new("address")
        .with_attr("type", "pci")
        .with_attr("domain", "0x0000")
        .with_attr("bus", &format!("0x{bus:02x}"))
        .with_attr("slot", &format!("0x{slot:02x}"))
        .with_attr("function", &format!("0x{func:x}"))
}

fn has_address(d: &Element) -> bool {
    d.child("address").is_some()
}

fn model_of(d: &Element) -> Option<&str> {
    d.child("model").and_then(|m| m.attr("type"))
}

fn virtio_conn(model: Option<&str>, q35: bool) -> Conn {
    match model {
        Some("virtio-transitional") => Conn::Pci,
        _ if q35 => Conn::Pcie,
        _ => Conn::Pci,
    }
}

/// The kinds in libvirt's assignment order, and how each device of a kind
/// connects (None: it takes no PCI address).
fn conn_of(d: &Element, q35: bool) -> Option<(u8, Conn)> {
    let pcie = if q35 { Conn::Pcie } else { Conn::Pci };
    Some(match d.name.as_str() {
        "controller" if d.attr("type") == Some("pci") => match d.attr("model") {
            Some("pci-root") | Some("pcie-root") | None => return None,
            Some("pcie-root-port") => (0, Conn::RootPort),
            Some("pcie-switch-downstream-port") => (0, Conn::Downstream),
            Some("pcie-switch-upstream-port")
            | Some("pcie-to-pci-bridge")
            | Some("pcie-expander-bus") => (0, pcie),
            Some("dmi-to-pci-bridge") if q35 => (0, Conn::Integrated),
            _ => (0, Conn::Pci),
        },
        "filesystem" => (1, virtio_conn(d.attr("model"), q35)),
        "interface" => {
            if d.attr("type") == Some("hostdev") {
                return None;
            }
            match model_of(d) {
                Some("virtio") | Some("virtio-non-transitional") | Some("e1000e") => (2, pcie),
                Some("virtio-transitional") => (2, Conn::Pci),
                None if q35 => (2, Conn::Pcie),
                _ => (2, Conn::Pci),
            }
        }
        "sound" => match d.attr("model") {
            Some("sb16") | Some("pcspk") | Some("usb") => return None,
            Some("ich9") => (3, pcie),
            _ => (3, Conn::Pci),
        },
        "controller" => {
            let ty = d.attr("type").unwrap_or("");
            let model = d.attr("model");
            let idx = d.attr("index").and_then(parse_num).unwrap_or(0);
            match ty {
                "usb" => match model {
                    Some("none") => return None,
                    Some("qemu-xhci") | Some("nec-xhci") => (4, pcie),
                    _ => (4, Conn::Pci),
                },
                "fdc" | "ccid" | "xenbus" | "isa" => return None,
                "ide" if idx == 0 => return None,
                "sata" if idx == 0 && q35 => return None,
                "scsi" => match model {
                    Some("ncr53c90") | Some("am53c974") | Some("dc390") => return None,
                    Some("virtio-scsi") | Some("virtio-non-transitional") | None => (4, pcie),
                    _ => (4, Conn::Pci),
                },
                "virtio-serial" => (4, virtio_conn(model, q35)),
                _ => (4, pcie),
            }
        }
        "disk" => {
            if d.child("target").and_then(|t| t.attr("bus")) != Some("virtio") {
                return None;
            }
            (5, virtio_conn(d.attr("model"), q35))
        }
        "hostdev" => {
            let ty = d.attr("type").unwrap_or("");
            if d.attr("mode").unwrap_or("subsystem") != "subsystem"
                || !(ty == "pci"
                    || ty == "scsi_host"
                    || (ty == "mdev" && d.attr("model") == Some("vfio-pci")))
            {
                return None;
            }
            (6, virtio_conn(d.attr("model"), q35))
        }
        "memballoon" => match d.attr("model") {
            Some("virtio") | Some("virtio-non-transitional") => (7, pcie),
            Some("virtio-transitional") => (7, Conn::Pci),
            _ => return None,
        },
        "rng" => (8, virtio_conn(d.attr("model"), q35)),
        "watchdog" if d.attr("model") == Some("i6300esb") => (9, Conn::Pci),
        "video" => match d.child("model").and_then(|m| m.attr("type")) {
            Some("none") | Some("ramfb") => return None,
            Some("virtio") => (10, pcie),
            _ => (10, Conn::Pci),
        },
        "shmem" => (11, Conn::Pci),
        "input" if d.attr("bus") == Some("virtio") => (12, virtio_conn(d.attr("model"), q35)),
        "serial" => {
            if d.child("target").and_then(|t| t.attr("type")) != Some("pci-serial") {
                return None;
            }
            (13, Conn::Pci)
        }
        "iommu" if d.attr("model") == Some("virtio") => {
            (14, if q35 { Conn::Integrated } else { Conn::Pci })
        }
        "vsock" => (15, virtio_conn(d.attr("model"), q35)),
        "memory" => match d.attr("model") {
            Some("virtio-pmem") | Some("virtio-mem") => (16, pcie),
            _ => return None,
        },
        "crypto" => (17, pcie),
        "panic" if d.attr("model") == Some("pvpanic") => (18, Conn::Pci),
        _ => return None,
    })
}

fn unsupported(msg: &str) -> VirError {
    VirError::new(ErrorCode::InternalError, ErrorDomain::Qemu, msg.to_string())
}

fn pci_index(d: &Element) -> Option<u32> {
    (d.name == "controller" && d.attr("type") == Some("pci"))
        .then(|| d.attr("index").and_then(parse_num))
        .flatten()
}

fn assign_pci(ctx: &QemuDriverContext, def: &mut DomainDef) -> Result<(), VirError> {
    let q35 = is_q35(def);
    let mut set = PciSet::default();
    // Addresses already given.
    for d in &def.devices {
        if let Some(a) = d.child("address").filter(|a| a.attr("type") == Some("pci")) {
            let n = |k: &str| a.attr(k).and_then(parse_num).unwrap_or(0);
            set.take(n("bus"), n("slot"), n("function"));
        }
    }
    // The chipset's own slots and built-in controllers.
    let primary_video = def
        .devices
        .iter()
        .position(|d| d.name == "video" && conn_of(d, q35).is_some());
    if q35 {
        set.reserved.insert((0, 0x1f));
        set.take(0, 0x1f, 0);
        set.take(0, 0x1f, 3);
        for d in def.devices.iter_mut() {
            if d.name == "controller"
                && d.attr("type") == Some("sata")
                && d.attr("index").and_then(parse_num) == Some(0)
                && !has_address(d)
            {
                d.push(pci_address(0, 0x1f, 2));
                set.take(0, 0x1f, 2);
            }
        }
        for d in def.devices.iter_mut() {
            if d.name != "controller" || has_address(d) {
                continue;
            }
            match (d.attr("type"), d.attr("model")) {
                (Some("usb"), Some("ich9-uhci1")) => {
                    let slot = [0x1d, 0x1a].into_iter().find(|s| set.slot_free(0, *s));
                    if let Some(slot) = slot {
                        d.push(pci_address(0, slot, 0).with_attr("multifunction", "on"));
                        set.take(0, slot, 0);
                    }
                }
                (Some("pci"), Some("dmi-to-pci-bridge")) if set.slot_free(0, 0x1e) => {
                    d.push(pci_address(0, 0x1e, 0));
                    set.take(0, 0x1e, 0);
                }
                _ => {}
            }
        }
        if let Some(v) = primary_video {
            if !has_address(&def.devices[v]) && set.slot_free(0, 1) {
                def.devices[v].push(pci_address(0, 1, 0));
                set.take(0, 1, 0);
            }
        }
        // ICH9's integrated audio lives at 00:1b.0.
        if set.slot_free(0, 0x1b) {
            if let Some(d) = def
                .devices
                .iter_mut()
                .find(|d| d.name == "sound" && d.attr("model") == Some("ich9") && !has_address(d))
            {
                d.push(pci_address(0, 0x1b, 0));
                set.take(0, 0x1b, 0);
            }
        }
    } else {
        set.reserved.insert((0, 1));
        set.take(0, 1, 0);
        set.take(0, 1, 3);
        for d in def.devices.iter_mut() {
            if d.name != "controller" || has_address(d) {
                continue;
            }
            let idx = d.attr("index").and_then(parse_num).unwrap_or(0);
            match (d.attr("type"), d.attr("model")) {
                (Some("ide"), _) if idx == 0 => {
                    d.push(pci_address(0, 1, 1));
                    set.take(0, 1, 1);
                }
                (Some("usb"), Some("piix3-uhci")) if idx == 0 => {
                    d.push(pci_address(0, 1, 2));
                    set.take(0, 1, 2);
                }
                _ => {}
            }
        }
        if let Some(v) = primary_video {
            if !has_address(&def.devices[v]) && set.slot_free(0, 2) {
                def.devices[v].push(pci_address(0, 2, 0));
                set.take(0, 2, 0);
            }
        }
    }

    // The devices to place, in libvirt's order.
    let mut todo: Vec<(u8, usize, Conn)> = def
        .devices
        .iter()
        .enumerate()
        .filter(|(_, d)| !has_address(d))
        .filter_map(|(i, d)| conn_of(d, q35).map(|(k, c)| (k, i, c)))
        .collect();
    todo.sort_by_key(|(k, i, _)| (*k, *i));

    if q35 {
        place_q35(def, &mut set, todo)?;
    } else {
        for (_, i, _) in todo {
            let slot = (1..32u32)
                .find(|s| set.slot_free(0, *s))
                .ok_or_else(|| unsupported("no free PCI slot on pci-root"))?;
            set.take(0, slot, 0);
            def.devices[i].push(pci_address(0, slot, 0));
        }
    }
    set_all_multi(def, &set);
    pci_controller_defaults(ctx, def);
    Ok(())
}

/// q35: PCI Express devices go into pcie-root-ports (free ones, else new
/// ones), conventional PCI devices onto a pcie-to-pci-bridge (in a new
/// root port when no bridge has room), devices integrated in the chipset
/// onto pcie-root; a definition without PCI controllers of its own gets
/// one spare root port for hotplug when any was added. New controllers
/// go after the existing ones; root ports fill the functions of pcie-root
/// slots.
fn place_q35(
    def: &mut DomainDef,
    set: &mut PciSet,
    todo: Vec<(u8, usize, Conn)>,
) -> Result<(), VirError> {
    let max_idx = def.devices.iter().filter_map(pci_index).max().unwrap_or(0);
    let mut busy_buses: BTreeSet<u32> = set.used.keys().map(|(b, _)| *b).collect();
    busy_buses.insert(0);
    let model_of_bus = |def: &DomainDef, models: &[&str]| -> Vec<u32> {
        let mut v: Vec<u32> = def
            .devices
            .iter()
            .filter(|d| d.attr("model").is_some_and(|m| models.contains(&m)))
            .filter_map(pci_index)
            .collect();
        v.sort_unstable();
        v
    };
    // Buses with one slot for a PCI Express device: root ports and switch
    // downstream ports, in index order.
    let mut free_ports: std::collections::VecDeque<u32> =
        model_of_bus(def, &["pcie-root-port", "pcie-switch-downstream-port"])
            .into_iter()
            .filter(|i| !busy_buses.contains(i))
            .collect();
    // Slots of switch upstream ports, for downstream ports.
    let mut switch_slots: std::collections::VecDeque<(u32, u32)> =
        model_of_bus(def, &["pcie-switch-upstream-port"])
            .into_iter()
            .flat_map(|b| (0..32u32).map(move |s| (b, s)))
            .filter(|(b, s)| set.slot_free(*b, *s))
            .collect();
    // Slots of conventional PCI buses.
    let mut bridge_slots: std::collections::VecDeque<(u32, u32)> = def
        .devices
        .iter()
        .filter_map(|d| {
            let first = match d.attr("model") {
                Some("dmi-to-pci-bridge") => 0,
                Some("pcie-to-pci-bridge") | Some("pci-bridge") => 1,
                _ => return None,
            };
            pci_index(d).map(|b| (b, first))
        })
        .flat_map(|(b, first)| (first..32u32).map(move |s| (b, s)))
        .filter(|(b, s)| set.slot_free(*b, *s))
        .collect();
    {
        let mut v: Vec<(u32, u32)> = bridge_slots.drain(..).collect();
        v.sort_unstable();
        bridge_slots.extend(v);
    }
    let mut next = max_idx + 1;
    // New controllers: (index, model).
    let mut added: Vec<(u32, &'static str)> = Vec::new();
    let mut placed: Vec<(usize, (u32, u32, u32))> = Vec::new();
    let mut integrated: Vec<usize> = Vec::new();
    let mut root_ports: Vec<usize> = Vec::new();
    for (_, i, conn) in todo {
        match conn {
            Conn::RootPort => root_ports.push(i),
            Conn::Integrated => integrated.push(i),
            Conn::Downstream => {
                let (bus, slot) = switch_slots
                    .pop_front()
                    .ok_or_else(|| unsupported("no free slot on a pcie-switch-upstream-port"))?;
                set.take(bus, slot, 0);
                placed.push((i, (bus, slot, 0)));
            }
            Conn::Pcie => {
                let bus = match free_ports.pop_front() {
                    Some(b) => b,
                    None => {
                        added.push((next, "pcie-root-port"));
                        next += 1;
                        next - 1
                    }
                };
                set.take(bus, 0, 0);
                placed.push((i, (bus, 0, 0)));
            }
            Conn::Pci => {
                let (bus, slot) = match bridge_slots.pop_front() {
                    Some(bs) => bs,
                    None => {
                        let port = match free_ports.pop_front() {
                            Some(p) => p,
                            None => {
                                added.push((next, "pcie-root-port"));
                                next += 1;
                                next - 1
                            }
                        };
                        let bridge = next;
                        next += 1;
                        added.push((bridge, "pcie-to-pci-bridge"));
                        set.take(port, 0, 0);
                        placed.push((usize::MAX - bridge as usize, (port, 0, 0)));
                        bridge_slots.extend((2..32u32).map(|s| (bridge, s)));
                        (bridge, 1)
                    }
                };
                set.take(bus, slot, 0);
                placed.push((i, (bus, slot, 0)));
            }
        }
    }
    if !added.is_empty() && max_idx == 0 {
        added.push((next, "pcie-root-port"));
    }
    for (i, (b, s, f)) in &placed {
        if *i < def.devices.len() {
            def.devices[*i].push(pci_address(*b, *s, *f));
        }
    }
    let last_ctrl = def.devices.iter().rposition(|d| d.name == "controller");
    let first = last_ctrl.map_or(0, |p| p + 1);
    for (at, (idx, model)) in (first..).zip(added.iter()) {
        let mut c = Element::new("controller")
            .with_attr("type", "pci")
            .with_attr("index", &idx.to_string())
            .with_attr("model", model);
        if let Some((_, (b, s, f))) = placed
            .iter()
            .find(|(k, _)| *k == usize::MAX - *idx as usize)
        {
            c.push(pci_address(*b, *s, *f));
        }
        def.devices.insert(at, c);
    }
    // Root ports without an address, existing and new, in device order,
    // then the integrated devices.
    let shift = |i: usize| if i >= first { i + added.len() } else { i };
    let mut ports: Vec<usize> = root_ports.into_iter().map(shift).collect();
    ports.extend(
        (first..first + added.len())
            .filter(|&i| def.devices[i].attr("model") == Some("pcie-root-port")),
    );
    ports.sort_unstable();
    for i in ports {
        let mut found = None;
        'slots: for slot in 1..32u32 {
            if set.reserved.contains(&(0, slot)) {
                continue;
            }
            let used = set.used.get(&(0, slot)).copied().unwrap_or(0);
            // Root ports share a slot only with root ports.
            if used != 0 && !root_port_slot(def, slot) {
                continue;
            }
            for f in 0..8u32 {
                if used & (1 << f) == 0 {
                    found = Some((slot, f));
                    break 'slots;
                }
            }
        }
        let (slot, f) =
            found.ok_or_else(|| unsupported("no free PCI slot for a pcie-root-port"))?;
        set.take(0, slot, f);
        def.devices[i].push(pci_address(0, slot, f));
    }
    for i in integrated.into_iter().map(shift) {
        let slot = (1..32u32)
            .find(|s| set.slot_free(0, *s))
            .ok_or_else(|| unsupported("no free slot on pcie-root"))?;
        set.take(0, slot, 0);
        def.devices[i].push(pci_address(0, slot, 0));
    }
    Ok(())
}

/// Whether slot `slot` of bus 0 holds root ports only (so far).
fn root_port_slot(def: &DomainDef, slot: u32) -> bool {
    let mut any = false;
    for d in &def.devices {
        if let Some(a) = d.child("address").filter(|a| a.attr("type") == Some("pci")) {
            let n = |k: &str| a.attr(k).and_then(parse_num).unwrap_or(0);
            if n("bus") == 0 && n("slot") == slot {
                if d.attr("model") != Some("pcie-root-port") {
                    return false;
                }
                any = true;
            }
        }
    }
    any
}

/// Function 0 of a slot with several functions in use says
/// multifunction='on' (unless the definition says otherwise).
fn set_all_multi(def: &mut DomainDef, set: &PciSet) {
    for d in def.devices.iter_mut() {
        let Some(a) = d
            .child_mut("address")
            .filter(|a| a.attr("type") == Some("pci"))
        else {
            continue;
        };
        let n = |a: &Element, k: &str| a.attr(k).and_then(parse_num).unwrap_or(0);
        let (bus, slot, f) = (n(a, "bus"), n(a, "slot"), n(a, "function"));
        let used = set.used.get(&(bus, slot)).copied().unwrap_or(0);
        if f == 0 && used & !1 != 0 && a.attr("multifunction").is_none() {
            a.set_attr("multifunction", "on");
        }
    }
}

/// PCI controllers' model names and targets (chassis, port).
fn pci_controller_defaults(ctx: &QemuDriverContext, def: &mut DomainDef) {
    for d in def.devices.iter_mut() {
        let Some(idx) = pci_index(d) else { continue };
        let model = d.attr("model").unwrap_or("").to_string();
        let name = match model.as_str() {
            "pci-bridge" => Some("pci-bridge"),
            "dmi-to-pci-bridge" => Some("i82801b11-bridge"),
            "pcie-root-port" => Some(if ctx.caps.has("pcie-root-port") {
                "pcie-root-port"
            } else {
                "ioh3420"
            }),
            "pcie-switch-upstream-port" => Some("x3130-upstream"),
            "pcie-switch-downstream-port" => Some("xio3130-downstream"),
            "pci-expander-bus" => Some("pxb"),
            "pcie-expander-bus" => Some("pxb-pcie"),
            "pcie-to-pci-bridge" => Some("pcie-pci-bridge"),
            _ => None,
        };
        let Some(name) = name else { continue };
        if d.child("model").is_none() {
            let pos = d
                .children
                .iter()
                .position(|c| matches!(c, conf::xml::Node::Element(e) if e.name != "model"))
                .unwrap_or(d.children.len());
            d.children.insert(
                pos,
                conf::xml::Node::Element(Element::new("model").with_attr("name", name)),
            );
        }
        let (slot, func) = d
            .child("address")
            .map(|a| {
                let n = |k: &str| a.attr(k).and_then(parse_num).unwrap_or(0);
                (n("slot"), n("function"))
            })
            .unwrap_or((0, 0));
        let target_attrs: Vec<(&str, String)> = match model.as_str() {
            "pci-bridge" => vec![("chassisNr", idx.to_string())],
            "pcie-root-port" => vec![
                ("chassis", idx.to_string()),
                ("port", format!("0x{:x}", (slot << 3) + func)),
            ],
            "pcie-switch-downstream-port" => vec![
                ("chassis", idx.to_string()),
                ("port", format!("0x{slot:x}")),
            ],
            _ => vec![],
        };
        if target_attrs.is_empty() {
            continue;
        }
        if d.child("target").is_none() {
            let pos = d
                .children
                .iter()
                .position(|c| matches!(c, conf::xml::Node::Element(e) if e.name != "model"))
                .unwrap_or(d.children.len());
            d.children
                .insert(pos, conf::xml::Node::Element(Element::new("target")));
        }
        if let Some(t) = d.child_mut("target") {
            for (k, v) in target_attrs {
                if t.attr(k).is_none() {
                    t.set_attr(k, &v);
                }
            }
            const ORDER: &[&str] = &[
                "chassisNr",
                "chassis",
                "port",
                "busNr",
                "index",
                "hotplug",
                "memReserve",
            ];
            t.attrs
                .sort_by_key(|(k, _)| ORDER.iter().position(|o| o == k).unwrap_or(ORDER.len()));
        }
    }
}
