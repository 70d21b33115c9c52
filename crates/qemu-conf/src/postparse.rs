// SPDX-License-Identifier: LGPL-2.1-or-later
//! The QEMU driver's domain defaults (libvirt's qemuDomainDefPostParse and
//! the device post-parse callbacks), run before the common ones: machine
//! type and emulator, the devices every x86 machine has (PS/2 input, the
//! USB, IDE or SATA controller, the PCI root, the memory balloon, q35's
//! iTCO watchdog), the audio back end, the default CPU model and the
//! models of devices that leave them out.

use conf::domain::DomainDef;
use conf::error::VirError;
use conf::xml::Element;
use qemu_caps::VirtType;

use crate::QemuDriverContext;

/// Whether the machine type is a q35 one.
pub(crate) fn is_q35(def: &DomainDef) -> bool {
    def.os
        .machine
        .as_deref()
        .is_some_and(|m| m == "q35" || m.starts_with("pc-q35"))
}

/// Whether the machine type is an i440FX one.
pub(crate) fn is_i440fx(def: &DomainDef) -> bool {
    def.os.machine.as_deref().is_some_and(|m| {
        m == "pc" || m.starts_with("pc-i440fx") || m.starts_with("pc-0") || m.starts_with("pc-1")
    })
}

fn is_x86(def: &DomainDef) -> bool {
    matches!(def.os.arch.as_deref(), Some("x86_64") | Some("i686"))
}

fn virt_type(def: &DomainDef) -> VirtType {
    VirtType::from_domain_type(&def.virt_type).unwrap_or(VirtType::Qemu)
}

pub(crate) fn post_parse(ctx: &QemuDriverContext, def: &mut DomainDef) -> Result<(), VirError> {
    let caps = &ctx.caps;
    if def.os.machine.is_none() {
        if let Some(m) = caps.preferred_machine(virt_type(def)) {
            def.os.machine = Some(m.to_string());
        }
    }
    if def.emulator.is_none() {
        def.emulator = Some(caps.emulator.clone());
    }
    def.reset_sourceless_disks();
    crate::firmware::fill_domain(ctx, def);
    add_default_devices(ctx, def);
    set_default_cpu(ctx, def);
    cpu_post_parse(ctx, def);
    numa_cpus_rectify(def);
    for d in def.devices.iter_mut() {
        device_post_parse(ctx, d, is_q35_machine(def.os.machine.as_deref()));
    }
    Ok(())
}

/// Defaults for devices the common stage adds (the serial port a serial
/// console stands for), run after it.
pub(crate) fn late_device_defaults(ctx: &QemuDriverContext, def: &mut DomainDef) {
    let q35 = is_q35(def);
    for d in def
        .devices
        .iter_mut()
        .filter(|d| d.name == "serial" || d.name == "controller")
    {
        device_post_parse(ctx, d, q35);
    }
}

fn is_q35_machine(m: Option<&str>) -> bool {
    m.is_some_and(|m| m == "q35" || m.starts_with("pc-q35"))
}

fn has_device(def: &DomainDef, f: impl Fn(&Element) -> bool) -> bool {
    def.devices.iter().any(f)
}

fn controller(ty: &str, index: u32) -> Element {
    Element::new("controller")
        .with_attr("type", ty)
        .with_attr("index", &index.to_string())
}

/// Appends `dev` after the last device of its kind (or where its kind
/// goes), as libvirt appends to a device list.
fn append(def: &mut DomainDef, dev: Element) {
    match def.devices.iter().rposition(|d| d.name == dev.name) {
        Some(p) => def.devices.insert(p + 1, dev),
        None => def.add_device(dev),
    }
}

fn add_default_devices(ctx: &QemuDriverContext, def: &mut DomainDef) {
    if !is_x86(def) {
        return;
    }
    for ty in ["mouse", "keyboard"] {
        let present = has_device(def, |d| {
            d.name == "input" && d.attr("type") == Some(ty) && d.attr("bus") == Some("ps2")
        });
        if !present {
            append(
                def,
                Element::new("input")
                    .with_attr("type", ty)
                    .with_attr("bus", "ps2"),
            );
        }
    }
    let machine = def.os.machine.clone().unwrap_or_default();
    let q35 = is_q35(def);
    let i440fx = is_i440fx(def);
    let has_ctrl = |def: &DomainDef, ty: &str, idx: &str| {
        has_device(def, |d| {
            d.name == "controller"
                && d.attr("type") == Some(ty)
                && d.attr("index").unwrap_or("0") == idx
        })
    };
    if machine != "isapc" {
        let usb_model = if q35 {
            if ctx.caps.has("qemu-xhci") {
                Some("qemu-xhci")
            } else if ctx.caps.has("nec-usb-xhci") {
                Some("nec-xhci")
            } else if ctx.caps.has("ich9-usb-ehci1") {
                Some("ich9-ehci1")
            } else {
                None
            }
        } else {
            Some("")
        };
        if let Some(model) = usb_model {
            if !has_device(def, |d| {
                d.name == "controller" && d.attr("type") == Some("usb")
            }) {
                let mut c = controller("usb", 0);
                if !model.is_empty() {
                    c.set_attr("model", model);
                }
                append(def, c);
            }
        }
    }
    if q35 && !has_ctrl(def, "sata", "0") {
        append(def, controller("sata", 0));
    }
    let root = if q35 {
        Some("pcie-root")
    } else if i440fx {
        Some("pci-root")
    } else {
        None
    };
    if let Some(model) = root {
        if !has_ctrl(def, "pci", "0") {
            append(def, controller("pci", 0).with_attr("model", model));
        }
    }
    if !has_device(def, |d| d.name == "memballoon") {
        def.add_device(Element::new("memballoon").with_attr("model", "virtio"));
    }
    if q35 {
        let first_action = def
            .devices
            .iter()
            .find(|d| d.name == "watchdog")
            .map(|d| d.attr("action").unwrap_or("reset").to_string());
        if !has_device(def, |d| {
            d.name == "watchdog" && d.attr("model") == Some("itco")
        }) {
            append(
                def,
                Element::new("watchdog")
                    .with_attr("model", "itco")
                    .with_attr("action", first_action.as_deref().unwrap_or("reset")),
            );
        }
    }
    add_default_audio(ctx, def);
}

/// The audio back end a guest without one gets: none with VNC or without
/// graphics, SPICE's with SPICE, the host's (QEMU_AUDIO_DRV) where qemu.conf
/// lets those displays pass host audio through.
fn add_default_audio(ctx: &QemuDriverContext, def: &mut DomainDef) {
    if has_device(def, |d| d.name == "audio") {
        return;
    }
    let mut add = false;
    let mut backend = "none".to_string();
    let mut passthrough = false;
    let graphics: Vec<String> = def
        .devices
        .iter()
        .filter(|d| d.name == "graphics")
        .map(|d| d.attr("type").unwrap_or("").to_string())
        .collect();
    for g in &graphics {
        match g.as_str() {
            "vnc" => {
                passthrough = ctx.config.vnc_allow_host_audio;
                if !passthrough {
                    backend = "none".into();
                }
                add = true;
            }
            "spice" => {
                passthrough = false;
                backend = "spice".into();
                add = true;
            }
            "sdl" => {
                passthrough = true;
                add = true;
            }
            _ => {}
        }
    }
    if graphics.is_empty() {
        passthrough = ctx.config.nogfx_allow_host_audio;
        if !passthrough {
            backend = "none".into();
        }
        add = true;
    }
    let mut sdl_driver = None;
    if add && passthrough {
        match ctx.env("QEMU_AUDIO_DRV") {
            None => add = false,
            Some(v) => backend = if v == "pa" { "pulseaudio".into() } else { v },
        }
    }
    if add && backend == "sdl" {
        sdl_driver = ctx.env("SDL_AUDIODRIVER");
    }
    if add {
        let mut a = Element::new("audio")
            .with_attr("id", "1")
            .with_attr("type", &backend);
        if let Some(d) = sdl_driver {
            a.set_attr("driver", &d);
        }
        def.add_device(a);
    }
}

/// A guest without a CPU model gets its machine type's default one (x86).
fn set_default_cpu(ctx: &QemuDriverContext, def: &mut DomainDef) {
    if !is_x86(def) {
        return;
    }
    let pos = def.other.iter().position(|e| e.name == "cpu");
    if let Some(p) = pos {
        let cpu = &def.other[p];
        let mode = cpu.attr("mode").unwrap_or("custom");
        if mode != "custom"
            || cpu
                .child("model")
                .is_some_and(|m| !m.text().trim().is_empty())
        {
            return;
        }
    }
    let machine = def.os.machine.clone().unwrap_or_default();
    let Some(model) = ctx
        .caps
        .machine_default_cpu(virt_type(def), &machine)
        .map(str::to_string)
    else {
        return;
    };
    if model == "host" {
        return;
    }
    match pos {
        Some(p) => {
            let cpu = &mut def.other[p];
            cpu.set_attr("mode", "custom");
            cpu.set_attr("match", "exact");
            cpu.set_attr("check", "none");
            let m = Element::new("model")
                .with_attr("fallback", "forbid")
                .with_text(&model);
            cpu.remove_children("model");
            cpu.children.insert(0, conf::xml::Node::Element(m));
        }
        None => def.other.push(
            Element::new("cpu")
                .with_attr("mode", "custom")
                .with_attr("match", "exact")
                .with_attr("check", "none")
                .with_child(
                    Element::new("model")
                        .with_attr("fallback", "forbid")
                        .with_text(&model),
                ),
        ),
    }
}

/// Per-device defaults: controller models, serial port targets.
fn device_post_parse(ctx: &QemuDriverContext, d: &mut Element, _q35: bool) {
    match d.name.as_str() {
        "controller"
            if matches!(d.attr("type"), Some("usb") | Some("scsi"))
                && d.attr("model").is_none() =>
        {
            let model = if d.attr("type") == Some("scsi") {
                if ctx.caps.has("lsi") {
                    Some("lsilogic")
                } else if ctx.caps.has("virtio-scsi-pci") {
                    Some("virtio-scsi")
                } else {
                    None
                }
            } else if ctx.caps.has("piix3-usb-uhci") {
                Some("piix3-uhci")
            } else {
                None
            };
            if let Some(model) = model {
                let pos = d
                    .attrs
                    .iter()
                    .position(|(k, _)| k == "index")
                    .map_or(1, |p| p + 1);
                d.insert_attr(pos, "model", model);
            }
        }
        "disk" => disk_defaults(d),
        "video" => {
            if d.child("model").is_none() {
                d.push(Element::new("model"));
            }
            if let Some(m) = d.child_mut("model") {
                if m.attr("type").is_none() {
                    let ty = if ctx.caps.has("cirrus-vga") {
                        "cirrus"
                    } else {
                        "vga"
                    };
                    m.insert_attr(0, "type", ty);
                }
                if m.attr("type") == Some("qxl") && m.attr("vgamem").is_none() {
                    m.set_attr("vgamem", "16384");
                }
            }
        }
        "vsock" if d.attr("model").is_none() => d.insert_attr(0, "model", "virtio"),
        "interface" => {
            let ty = d.attr("type").unwrap_or("");
            if ty != "hostdev" && model_type(d).is_none() {
                let model = if ty == "vdpa" {
                    "virtio"
                } else if ctx.caps.has("rtl8139") {
                    "rtl8139"
                } else if ctx.caps.has("e1000") {
                    "e1000"
                } else {
                    "virtio"
                };
                d.push(Element::new("model").with_attr("type", model));
            }
        }
        "serial" => {
            let t = match d.child_mut("target") {
                Some(t) => t,
                None => d.push(Element::new("target")),
            };
            if t.attr("type").is_none() {
                t.insert_attr(0, "type", "isa-serial");
            }
            if t.child("model").is_none() {
                let model = match t.attr("type") {
                    Some("isa-serial") => Some("isa-serial"),
                    Some("usb-serial") => Some("usb-serial"),
                    Some("pci-serial") => Some("pci-serial"),
                    _ => None,
                };
                if let Some(m) = model {
                    t.push(Element::new("model").with_attr("name", m));
                }
            }
        }
        _ => {}
    }
}

fn model_type(d: &Element) -> Option<&str> {
    d.child("model").and_then(|m| m.attr("type"))
}

/// Disks use QEMU's own driver, raw unless said otherwise (volumes take
/// their pool's format), and encrypted sources QEMU's encryption engine.
fn disk_defaults(d: &mut Element) {
    let volume = d.attr("type") == Some("volume");
    if d.child("driver").is_none() {
        let pos = d
            .children
            .iter()
            .position(|c| matches!(c, conf::xml::Node::Element(_)))
            .unwrap_or(d.children.len());
        d.children
            .insert(pos, conf::xml::Node::Element(Element::new("driver")));
    }
    if let Some(drv) = d.child_mut("driver") {
        if drv.attr("name").is_none() {
            drv.insert_attr(0, "name", "qemu");
        }
        if drv.attr("type").is_none() && !volume {
            drv.insert_attr(1, "type", "raw");
        }
    }
    set_encryption_engine(d);
}

fn set_encryption_engine(e: &mut Element) {
    for c in e.elements_mut() {
        if c.name == "encryption" {
            if c.attr("engine").is_none() {
                let pos = c
                    .attrs
                    .iter()
                    .position(|(k, _)| k == "format")
                    .map_or(0, |p| p + 1);
                c.insert_attr(pos, "engine", "qemu");
            }
        } else if matches!(c.name.as_str(), "source" | "backingStore") {
            set_encryption_engine(c);
        }
    }
}

/// CPU defaults: host-passthrough is migratable when QEMU can say so; the
/// check against the host is none for host-passthrough, maximum and
/// custom CPUs under TCG, partial for host-model and custom CPUs under KVM.
fn cpu_post_parse(ctx: &QemuDriverContext, def: &mut DomainDef) {
    let virt = def.virt_type.clone();
    let has_id = def.id.is_some();
    let Some(cpu) = def.other.iter_mut().find(|e| e.name == "cpu") else {
        return;
    };
    let mode = cpu.attr("mode").unwrap_or("custom").to_string();
    if !has_id && mode == "host-passthrough" && cpu.attr("migratable").is_none() {
        if ctx.caps.has("cpu.migratable") {
            cpu.set_attr("migratable", "on");
        } else {
            cpu.set_attr("migratable", "off");
        }
    }
    let has_model = cpu
        .child("model")
        .is_some_and(|m| !m.text().trim().is_empty());
    if (has_model || mode != "custom") && cpu.attr("check").is_none() {
        let check = match mode.as_str() {
            "host-passthrough" | "maximum" => "none",
            "host-model" => "partial",
            _ if virt == "qemu" => "none",
            _ => "partial",
        };
        cpu.set_attr("check", check);
    }
    // libvirt's attribute order.
    const ORDER: &[&str] = &["mode", "match", "check", "migratable"];
    cpu.attrs
        .sort_by_key(|(k, _)| ORDER.iter().position(|o| o == k).unwrap_or(ORDER.len()));
}

/// NUMA cells that leave vCPUs out: the first cell gets every vCPU the
/// other cells do not name.
fn numa_cpus_rectify(def: &mut DomainDef) {
    let vcpus = def.vcpus_max as usize;
    let Some(numa) = def
        .other
        .iter_mut()
        .find(|e| e.name == "cpu")
        .and_then(|c| c.child_mut("numa"))
    else {
        return;
    };
    let sets: Vec<Vec<usize>> = numa
        .children_named("cell")
        .map(|c| {
            c.attr("cpus")
                .and_then(|s| conf::parse_bitmap(s, 1 << 16))
                .unwrap_or_default()
        })
        .collect();
    if sets.is_empty() || sets.iter().map(Vec::len).sum::<usize>() >= vcpus {
        return;
    }
    let others: std::collections::BTreeSet<usize> = sets[1..].iter().flatten().copied().collect();
    let first: Vec<usize> = (0..vcpus).filter(|c| !others.contains(c)).collect();
    if first != sets[0] {
        if let Some(cell) = numa.elements_mut().find(|c| c.name == "cell") {
            cell.set_attr("cpus", &conf::format_bitmap(&first));
        }
    }
}
