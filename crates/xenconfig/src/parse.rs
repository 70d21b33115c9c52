// SPDX-License-Identifier: LGPL-2.1-or-later
//! Native config (xl.cfg or xm) → domain definition.
//!
//! The settings are read into a `<domain>` element tree laid out as
//! libvirt lays it out, with the libxl driver's implicit devices (PV
//! console, input devices, xenbus controller, balloon, video), and the
//! tree then goes through `conf`'s parse → post-parse → validate.

use crate::caps::XenCaps;
use crate::diskspec::{self, DiskBackend, DiskFormat};
use crate::error::XenConfigError;
use crate::value::{copy_string, get_bool, get_string, get_ulong, parse_i32_radix, string_list};
use crate::NativeFormat;
use conf::xml::Element;
use conf::{DomainDef, ParseFlags};
use virconf::{Conf, Value};

/// Smallest guest memory (MiB) libvirt assumes; the default is twice it.
const MIN_XEN_GUEST_SIZE: u64 = 64;
/// The biggest vfb string libvirt copies.
const MAX_VFB: usize = 1024;
/// Namespace of `<xen:commandline>`.
pub const XEN_NS: &str = "http://libvirt.org/schemas/domain/xen/1.0";

const LIFECYCLE: &[&str] = &[
    "destroy",
    "restart",
    "rename-restart",
    "preserve",
    "coredump-destroy",
    "coredump-restart",
];

/// The pieces collected before the tree is assembled.
#[derive(Default)]
struct Parts {
    os_type: String,
    arch: String,
    machine: String,
    features: Vec<Element>,
    xen_features: Vec<Element>,
    timers: Vec<Element>,
    clock: Option<Element>,
    os_children: Vec<Element>,
    bootloader: Option<String>,
    bootloader_args: Option<String>,
    cpu: Option<Element>,
    disks: Vec<Element>,
    controllers: Vec<Element>,
    xenbus: Element,
    nets: Vec<Element>,
    serials: Vec<Element>,
    parallels: Vec<Element>,
    consoles: Vec<Element>,
    channels: Vec<Element>,
    inputs: Vec<Element>,
    graphics: Vec<Element>,
    sounds: Vec<Element>,
    hostdevs: Vec<Element>,
    ns_args: Vec<String>,
    vcpus_max: u64,
    vcpus: u64,
}

fn el(name: &str) -> Element {
    Element::new(name)
}

fn hvm(p: &Parts) -> bool {
    p.os_type == "hvm"
}

/// Converts a parsed native config to a domain definition (xenParseXL /
/// xenParseXM).
pub fn parse_native(
    conf: &Conf,
    caps: &XenCaps,
    format: NativeFormat,
) -> Result<DomainDef, XenConfigError> {
    let from = format.error_domain();
    let root = build_tree(conf, caps, format).map_err(|e| {
        if e.domain == crate::error::FROM_XEN {
            e.in_domain(from)
        } else {
            e
        }
    })?;
    let flags = ParseFlags {
        inactive: true,
        validate_schema: false,
    };
    let mut def = conf::domain::XmlOptions::default()
        .parse_element(&root, &flags)
        .map_err(|e| XenConfigError {
            code: e.code,
            domain: e.domain,
            detail: e.detail,
        })?;
    drop_generated_port_ids(&mut def);
    Ok(def)
}

/// An xl or xm `vif` cannot name an Open vSwitch port's interfaceid, so
/// the one the common parse generated for it is dropped: libvirt's
/// converter builds the definition directly and never has one.
fn drop_generated_port_ids(def: &mut DomainDef) {
    for d in def.devices.iter_mut().filter(|d| d.name == "interface") {
        if let Some(vp) = d.child_mut("virtualport") {
            if vp.attr("type") == Some("openvswitch") {
                vp.remove_children("parameters");
            }
        }
    }
}

fn build_tree(
    conf: &Conf,
    caps: &XenCaps,
    format: NativeFormat,
) -> Result<Element, XenConfigError> {
    let mut p = Parts {
        xenbus: el("controller")
            .with_attr("type", "xenbus")
            .with_attr("index", "0"),
        ..Default::default()
    };
    let mut root = el("domain").with_attr("type", "xen");

    // General meta.
    let name = copy_string(conf, "name")?;
    root.push(el("name").with_text(&name));
    match conf.get("uuid") {
        None => {}
        Some(Value::String(s)) => {
            let u = conf::Uuid::parse(s)
                .ok_or_else(|| XenConfigError::syntax(format!("{s} not parseable")))?;
            root.push(el("uuid").with_text(&u.to_string()));
        }
        Some(_) => return Err(virconf_type_error(conf, "uuid")),
    }
    p.os_type = "xen".into();
    if let Some(t) = get_string(conf, "type")? {
        p.os_type = match t.as_str() {
            "pv" => "xen".into(),
            "pvh" => "xenpvh".into(),
            "hvm" => "hvm".into(),
            _ => {
                return Err(XenConfigError::unsupported(format!(
                    "type {t} is not supported"
                )))
            }
        };
    } else if get_string(conf, "builder")?.as_deref() == Some("hvm") {
        p.os_type = "hvm".into();
    }
    let guest = caps.guest(&p.os_type).ok_or_else(|| {
        XenConfigError::unsupported(format!(
            "could not find capabilities for ostype {}",
            p.os_type
        ))
    })?;
    p.arch = guest.arch.clone();
    p.machine = guest.machines.first().cloned().unwrap_or_default();

    // Memory (MiB in the file).
    let cur = get_ulong(conf, "memory", MIN_XEN_GUEST_SIZE * 2)?;
    let max = get_ulong(conf, "maxmem", cur)?;
    let kib = |m: u64| {
        m.checked_mul(1024)
            .ok_or_else(|| XenConfigError::new(crate::error::ERR_OVERFLOW, "memory size too large"))
    };
    let (max_kib, cur_kib) = (kib(max)?, kib(cur)?);

    // Lifecycle actions.
    let mut actions = Vec::new();
    for (key, default) in [
        ("on_poweroff", "destroy"),
        ("on_reboot", "restart"),
        ("on_crash", "restart"),
    ] {
        let v = get_string(conf, key)?.unwrap_or_else(|| default.to_string());
        if !LIFECYCLE.contains(&v.as_str()) {
            return Err(XenConfigError::internal(format!(
                "unexpected value {v} for {key}"
            )));
        }
        actions.push((key, v));
    }

    // vCPUs.
    p.vcpus = get_ulong(conf, "vcpus", 1)?;
    p.vcpus_max = p.vcpus;
    if conf.get("maxvcpus").is_some() {
        p.vcpus_max = get_ulong(conf, "maxvcpus", 0)?;
    }
    let cpuset = get_string(conf, "cpus")?;

    parse_hypervisor_features(conf, &mut p)?;
    parse_time_offset(conf, &mut p)?;
    let emulator = get_string(conf, "device_model_override")?;
    parse_vifs(conf, &mut p, format.vif_typename())?;
    parse_pci_list(conf, &mut p)?;
    if hvm(&p) {
        if let Some(s) = get_string(conf, "soundhw")? {
            parse_sound(&s, &mut p)?;
        }
    }
    parse_vfb(conf, &mut p)?;
    parse_char_devs(conf, &mut p, format)?;

    match format {
        NativeFormat::Xl => {
            parse_xl_os(conf, caps, &mut p)?;
            parse_xl_vnuma(conf, &mut p)?;
            parse_xl_xenbus_limits(conf, &mut p)?;
            parse_xl_cpuid(conf, &mut p)?;
            parse_xl_disks(conf, &mut p)?;
            parse_xl_spice(conf, &mut p)?;
            parse_input_devs(conf, &mut p, true)?;
            parse_xl_usb(conf, &mut p)?;
            parse_xl_usbctrl(conf, &mut p)?;
            parse_xl_channels(conf, &mut p)?;
            if let Some(Value::List(items)) = conf.get("device_model_args") {
                p.ns_args = items
                    .iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect();
            }
        }
        NativeFormat::Xm => {
            parse_xm_os(conf, &mut p)?;
            parse_xm_disks(conf, &mut p)?;
            parse_input_devs(conf, &mut p, false)?;
        }
    }

    // The libxl driver's post-parse additions.
    post_parse_xen(&mut p);

    // Assemble in libvirt's order.
    let mut memory = max_kib;
    let numa_total = numa_memory_kib(&p);
    if numa_total > 0 {
        memory = numa_total;
    }
    root.push(
        el("memory")
            .with_attr("unit", "KiB")
            .with_text(&memory.to_string()),
    );
    root.push(
        el("currentMemory")
            .with_attr("unit", "KiB")
            .with_text(&cur_kib.min(memory).to_string()),
    );
    let mut vcpu = el("vcpu").with_attr("placement", "static");
    if let Some(c) = &cpuset {
        vcpu.set_attr("cpuset", c);
    }
    if p.vcpus < p.vcpus_max {
        vcpu.set_attr("current", &p.vcpus.to_string());
    }
    vcpu.set_text(&p.vcpus_max.to_string());
    root.push(vcpu);
    if let Some(b) = &p.bootloader {
        root.push(el("bootloader").with_text(b));
    }
    if let Some(b) = &p.bootloader_args {
        root.push(el("bootloader_args").with_text(b));
    }
    let mut os = el("os");
    os.push(
        el("type")
            .with_attr("arch", &p.arch)
            .with_attr("machine", &p.machine)
            .with_text(&p.os_type),
    );
    for c in std::mem::take(&mut p.os_children) {
        os.push(c);
    }
    root.push(os);
    if !p.features.is_empty() || !p.xen_features.is_empty() {
        let mut f = el("features");
        for c in std::mem::take(&mut p.features) {
            f.push(c);
        }
        if !p.xen_features.is_empty() {
            let mut x = el("xen");
            for c in std::mem::take(&mut p.xen_features) {
                x.push(c);
            }
            f.push(x);
        }
        root.push(f);
    }
    if let Some(c) = p.cpu.take() {
        root.push(c);
    }
    let mut clock = p
        .clock
        .take()
        .unwrap_or_else(|| el("clock").with_attr("offset", "utc"));
    for t in std::mem::take(&mut p.timers) {
        clock.push(t);
    }
    root.push(clock);
    for (key, v) in actions {
        root.push(el(key).with_text(&v));
    }

    let mut devices = el("devices");
    if let Some(e) = &emulator {
        devices.push(el("emulator").with_text(e));
    }
    for d in std::mem::take(&mut p.disks) {
        devices.push(d);
    }
    devices.push(p.xenbus.clone());
    for list in [
        std::mem::take(&mut p.controllers),
        std::mem::take(&mut p.nets),
        std::mem::take(&mut p.serials),
        std::mem::take(&mut p.parallels),
        std::mem::take(&mut p.consoles),
        std::mem::take(&mut p.channels),
        std::mem::take(&mut p.inputs),
    ] {
        for d in list {
            devices.push(d);
        }
    }
    let has_graphics = !p.graphics.is_empty();
    for d in std::mem::take(&mut p.graphics) {
        devices.push(d);
    }
    for d in std::mem::take(&mut p.sounds) {
        devices.push(d);
    }
    if has_graphics {
        let (model, vram) = if hvm(&p) {
            ("cirrus", "8192")
        } else {
            ("xen", "4096")
        };
        devices.push(
            el("video").with_child(
                el("model")
                    .with_attr("type", model)
                    .with_attr("vram", vram)
                    .with_attr("heads", "1")
                    .with_attr("primary", "yes"),
            ),
        );
    }
    for d in std::mem::take(&mut p.hostdevs) {
        devices.push(d);
    }
    devices.push(el("memballoon").with_attr("model", "xen"));
    root.push(devices);

    if !p.ns_args.is_empty() {
        root.set_attr("xmlns:xen", XEN_NS);
        let mut cl = el("xen:commandline");
        for a in &p.ns_args {
            cl.push(el("xen:arg").with_attr("value", a));
        }
        root.push(cl);
    }
    Ok(root)
}

fn virconf_type_error(conf: &Conf, key: &str) -> XenConfigError {
    match conf.get_string(key) {
        Err(e) => e.into(),
        Ok(_) => XenConfigError::malformed(key),
    }
}

fn numa_memory_kib(p: &Parts) -> u64 {
    let Some(cpu) = &p.cpu else { return 0 };
    let Some(numa) = cpu.child("numa") else {
        return 0;
    };
    numa.children_named("cell")
        .filter_map(|c| c.attr("memory").and_then(|m| m.parse::<u64>().ok()))
        .fold(0u64, |a, b| a.saturating_add(b))
}

fn post_parse_xen(p: &mut Parts) {
    if !hvm(p) && p.consoles.is_empty() {
        p.consoles.push(console_pty());
    }
    let bus = if hvm(p) { "ps2" } else { "xen" };
    for ty in ["mouse", "keyboard"] {
        if !p
            .inputs
            .iter()
            .any(|i| i.attr("type") == Some(ty) && i.attr("bus") == Some(bus))
        {
            p.inputs
                .push(el("input").with_attr("type", ty).with_attr("bus", bus));
        }
    }
    if hvm(p) {
        if !p.features.iter().any(|f| f.name == "pae") {
            p.features.push(el("pae"));
        }
        let has_numa = p.cpu.as_ref().is_some_and(|c| c.child("numa").is_some());
        if has_numa && !p.features.iter().any(|f| f.name == "acpi") {
            p.features.push(el("acpi"));
        }
        sort_features(&mut p.features);
    }
}

fn sort_features(f: &mut [Element]) {
    const ORDER: &[&str] = &["acpi", "apic", "pae", "hap", "viridian"];
    f.sort_by_key(|e| {
        ORDER
            .iter()
            .position(|n| *n == e.name)
            .unwrap_or(ORDER.len())
    });
}

fn console_pty() -> Element {
    el("console")
        .with_attr("type", "pty")
        .with_child(el("target").with_attr("type", "xen").with_attr("port", "0"))
}

fn parse_hypervisor_features(conf: &Conf, p: &mut Parts) -> Result<(), XenConfigError> {
    if let Some(tsc) = get_string(conf, "tsc_mode")? {
        let mode = match tsc.as_str() {
            "always_emulate" => "emulate",
            "native" => "native",
            "native_paravirt" => "paravirt",
            _ => "auto",
        };
        p.timers.push(
            el("timer")
                .with_attr("name", "tsc")
                .with_attr("present", "yes")
                .with_attr("mode", mode),
        );
    }
    if let Some(pt) = get_string(conf, "passthrough")? {
        let mode = match pt.as_str() {
            "disabled" => Some(("off", None)),
            "enabled" => Some(("on", None)),
            "sync_pt" => Some(("on", Some("sync_pt"))),
            "share_pt" => Some(("on", Some("share_pt"))),
            // libvirt reports this and carries on.
            _ => None,
        };
        if let Some((state, m)) = mode {
            let mut e = el("passthrough").with_attr("state", state);
            if let Some(m) = m {
                e.set_attr("mode", m);
            }
            p.xen_features.push(e);
        }
    }
    if hvm(p) {
        if get_bool(conf, "pae", 1)? != 0 {
            p.features.push(el("pae"));
        }
        if get_bool(conf, "acpi", 1)? != 0 {
            p.features.push(el("acpi"));
        }
        if get_bool(conf, "apic", 1)? != 0 {
            p.features.push(el("apic"));
        }
        if get_bool(conf, "hap", 1)? == 0 {
            p.features.push(el("hap").with_attr("state", "off"));
        }
        if get_bool(conf, "viridian", 0)? != 0 {
            p.features.push(el("viridian"));
        }
        let hpet = get_bool(conf, "hpet", -1)?;
        if hpet != -1 {
            p.timers.push(
                el("timer")
                    .with_attr("name", "hpet")
                    .with_attr("present", if hpet != 0 { "yes" } else { "no" }),
            );
        }
        sort_features(&mut p.features);
    } else if get_bool(conf, "e820_host", 0)? != 0 {
        p.xen_features
            .insert(0, el("e820_host").with_attr("state", "on"));
    }
    Ok(())
}

fn parse_time_offset(conf: &Conf, p: &mut Parts) -> Result<(), XenConfigError> {
    let localtime = get_bool(conf, "localtime", 0)? != 0;
    if hvm(p) {
        let off = get_ulong(conf, "rtc_timeoffset", 0)?;
        // libvirt keeps the low 32 bits as a signed adjustment.
        #[allow(clippy::cast_possible_truncation)]
        let adj = off as u32 as i32;
        p.clock = Some(
            el("clock")
                .with_attr("offset", "variable")
                .with_attr("adjustment", &adj.to_string())
                .with_attr("basis", if localtime { "localtime" } else { "utc" }),
        );
    } else {
        p.clock = Some(
            el("clock")
                .with_attr("offset", if localtime { "localtime" } else { "utc" })
                .with_attr("adjustment", "reset"),
        );
    }
    Ok(())
}

/// A vif's bridge with optional `.VLAN` or `:TRUNK:TRUNK` suffix.
fn vif_bridge(bridge: &str, iface: &mut Element) -> Result<(), XenConfigError> {
    let bad = || XenConfigError::internal(format!("malformed bridge '{bridge}'"));
    if let Some((br, tag)) = bridge.split_once('.') {
        iface.push(el("source").with_attr("bridge", br));
        let t: u32 = crate::value::parse_ul(tag)
            .and_then(|v| u32::try_from(v).ok())
            .ok_or_else(bad)?;
        iface.push(el("vlan").with_child(el("tag").with_attr("id", &t.to_string())));
        iface.push(el("virtualport").with_attr("type", "openvswitch"));
    } else if bridge.contains(':') {
        let mut parts = bridge.split(':');
        let br = parts.next().unwrap_or("");
        iface.push(el("source").with_attr("bridge", br));
        let mut vlan = el("vlan").with_attr("trunk", "yes");
        for t in parts {
            let t: u32 = crate::value::parse_ul(t)
                .and_then(|v| u32::try_from(v).ok())
                .ok_or_else(bad)?;
            vlan.push(el("tag").with_attr("id", &t.to_string()));
        }
        iface.push(vlan);
        iface.push(el("virtualport").with_attr("type", "openvswitch"));
    } else {
        iface.push(el("source").with_attr("bridge", bridge));
    }
    Ok(())
}

/// A vif rate ("10MB/s", "1Gb/s@20ms") in kilobytes per second.
fn vif_rate(rate: &str) -> Result<u64, XenConfigError> {
    let invalid = || XenConfigError::internal(format!("Invalid rate '{rate}' specified"));
    let r = rate.split('@').next().unwrap_or("");
    let digits = r.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return Err(invalid());
    }
    let (num, suffix) = r.split_at(digits);
    let (mult, unit) = match suffix.as_bytes() {
        [m @ (b'G' | b'M' | b'K'), u @ (b'B' | b'b'), b'/', b's'] => (Some(*m), *u),
        [u @ (b'B' | b'b'), b'/', b's'] => (None, *u),
        _ => return Err(invalid()),
    };
    let mut v: u64 = num
        .parse()
        .map_err(|_| XenConfigError::internal(format!("Failed to parse rate '{rate}'")))?;
    match mult {
        Some(b'G') => v = v.saturating_mul(1024 * 1024),
        Some(b'M') => v = v.saturating_mul(1024),
        _ => {}
    }
    if unit == b'b' {
        v /= 8;
    }
    Ok(v)
}

fn parse_mac(mac: &str) -> Option<String> {
    let parts: Vec<&str> = mac.split(':').collect();
    if parts.len() != 6 {
        return None;
    }
    let mut out = Vec::with_capacity(6);
    for p in parts {
        if p.is_empty() || p.len() > 2 {
            return None;
        }
        out.push(u8::from_str_radix(p, 16).ok()?);
    }
    Some(
        out.iter()
            .map(|b| format!("{b:02x}"))
            .collect::<Vec<_>>()
            .join(":"),
    )
}

fn parse_vif(entry: &str, vif_typename: &str) -> Result<Element, XenConfigError> {
    let mut mac = None;
    let mut bridge = None;
    let mut script = None;
    let mut model = None;
    let mut ty = None;
    let mut vifname = None;
    let mut ip = None;
    let mut rate = None;
    for kv in entry.split(',') {
        let key = kv.trim_start_matches([' ', '\t', '\n', '\r']);
        let Some((k, v)) = key.split_once('=') else {
            return Err(XenConfigError::internal(format!(
                "malformed vif entry '{entry}'"
            )));
        };
        match k {
            "mac" => mac = Some(v),
            "bridge" => bridge = Some(v),
            "script" => script = Some(v),
            "model" => model = Some(v),
            "type" => ty = Some(v),
            "vifname" => vifname = Some(v),
            "ip" => ip = Some(v),
            "rate" => rate = Some(v),
            _ => {}
        }
    }
    let is_bridge = bridge.is_some() || matches!(script, Some("vif-bridge" | "vif-vnic"));
    let mut iface =
        el("interface").with_attr("type", if is_bridge { "bridge" } else { "ethernet" });
    if let Some(m) = mac {
        let m = parse_mac(m)
            .ok_or_else(|| XenConfigError::internal(format!("malformed mac address '{m}'")))?;
        iface.push(el("mac").with_attr("address", &m));
    }
    if is_bridge {
        if let Some(b) = bridge {
            vif_bridge(b, &mut iface)?;
        }
    }
    if let Some(ip) = ip {
        for a in ip.split(' ') {
            if a.is_empty() {
                continue;
            }
            let family = if a.contains(':') { "ipv6" } else { "ipv4" };
            iface.push(el("ip").with_attr("address", a).with_attr("family", family));
        }
    }
    if let Some(s) = script.filter(|s| !s.is_empty()) {
        iface.push(el("script").with_attr("path", s));
    }
    if let Some(n) = vifname.filter(|s| !s.is_empty()) {
        iface.push(el("target").with_attr("dev", n));
    }
    if let Some(m) = model {
        iface.push(el("model").with_attr("type", m));
    } else if ty == Some(vif_typename) {
        iface.push(el("model").with_attr("type", "netfront"));
    }
    if let Some(r) = rate {
        let kb = vif_rate(r)?;
        iface
            .push(el("bandwidth").with_child(el("outbound").with_attr("average", &kb.to_string())));
    }
    order_interface(&mut iface);
    Ok(iface)
}

/// libvirt's child order inside `<interface>`.
fn order_interface(iface: &mut Element) {
    const ORDER: &[&str] = &[
        "mac",
        "source",
        "vlan",
        "virtualport",
        "bandwidth",
        "ip",
        "script",
        "target",
        "model",
    ];
    let mut kids: Vec<Element> = iface.elements().cloned().collect();
    kids.sort_by_key(|e| {
        ORDER
            .iter()
            .position(|n| *n == e.name)
            .unwrap_or(ORDER.len())
    });
    iface.children.clear();
    for k in kids {
        iface.push(k);
    }
}

fn parse_vifs(conf: &Conf, p: &mut Parts, typename: &str) -> Result<(), XenConfigError> {
    let Some(Value::List(items)) = conf.get("vif") else {
        return Ok(());
    };
    for v in items {
        if let Value::String(s) = v {
            p.nets.push(parse_vif(s, typename)?);
        }
    }
    Ok(())
}

fn parse_pci(entry: &str) -> Result<Element, XenConfigError> {
    let bad = || XenConfigError::internal(format!("Malformed PCI address {entry}"));
    let tokens: Vec<&str> = entry.splitn(3, ':').collect();
    let (domain, bus, rest) = match tokens.as_slice() {
        [d, b, r] => (parse_i32_radix(d, 16).ok_or_else(bad)?, *b, *r),
        [b, r] => (0, *b, *r),
        _ => return Err(bad()),
    };
    let bus = parse_i32_radix(bus, 16).ok_or_else(bad)?;
    let (slot, rest) = rest.split_once('.').ok_or_else(bad)?;
    let slot = parse_i32_radix(slot, 16).ok_or_else(bad)?;
    let (func, opts) = match rest.split_once(',') {
        Some((f, o)) => (f, Some(o)),
        None => (rest, None),
    };
    let func = parse_i32_radix(func, 16).ok_or_else(bad)?;
    let mut filtered = None;
    if let Some(opts) = opts {
        for o in opts.split(',') {
            let (k, v) = o
                .split_once('=')
                .ok_or_else(|| XenConfigError::internal(format!("Malformed PCI options {opts}")))?;
            if k == "permissive" {
                let iv = parse_i32_radix(v, 10).ok_or_else(bad)?;
                filtered = Some(if iv != 0 { "no" } else { "yes" });
            }
        }
    }
    if !(0..=0xffff).contains(&domain)
        || !(0..=0xff).contains(&bus)
        || !(0..=0x1f).contains(&slot)
        || !(0..=7).contains(&func)
    {
        return Err(bad());
    }
    let mut src = el("source");
    if let Some(f) = filtered {
        src.set_attr("writeFiltering", f);
    }
    src.push(
        el("address")
            .with_attr("domain", &format!("0x{domain:04x}"))
            .with_attr("bus", &format!("0x{bus:02x}"))
            .with_attr("slot", &format!("0x{slot:02x}"))
            .with_attr("function", &format!("0x{func:x}")),
    );
    Ok(el("hostdev")
        .with_attr("mode", "subsystem")
        .with_attr("type", "pci")
        .with_attr("managed", "no")
        .with_child(el("driver").with_attr("name", "xen"))
        .with_child(src))
}

fn parse_pci_list(conf: &Conf, p: &mut Parts) -> Result<(), XenConfigError> {
    if let Some(list) = string_list(conf, "pci") {
        for e in list {
            p.hostdevs.push(parse_pci(&e)?);
        }
    }
    Ok(())
}

const SOUND_MODELS: &[&str] = &[
    "sb16", "es1370", "pcspk", "ac97", "ich6", "ich9", "usb", "ich7", "virtio",
];

fn parse_sound(s: &str, p: &mut Parts) -> Result<(), XenConfigError> {
    if s == "all" {
        for m in ["sb16", "es1370"] {
            p.sounds.push(el("sound").with_attr("model", m));
        }
        return Ok(());
    }
    for m in s.split(',') {
        if m.is_empty() {
            break;
        }
        if !SOUND_MODELS.contains(&m) {
            return Err(XenConfigError::internal(format!(
                "unknown sound model '{m}'"
            )));
        }
        p.sounds.push(el("sound").with_attr("model", m));
    }
    Ok(())
}

fn vnc_graphics(
    autoport: bool,
    port: i64,
    listen: Option<&str>,
    passwd: Option<&str>,
    keymap: Option<&str>,
) -> Element {
    let mut g = el("graphics").with_attr("type", "vnc");
    g.set_attr("port", &if autoport { -1 } else { port }.to_string());
    g.set_attr("autoport", if autoport { "yes" } else { "no" });
    if let Some(l) = listen {
        g.set_attr("listen", l);
    }
    if let Some(k) = keymap {
        g.set_attr("keymap", k);
    }
    if let Some(pw) = passwd {
        g.set_attr("passwd", pw);
    }
    if let Some(l) = listen {
        g.push(
            el("listen")
                .with_attr("type", "address")
                .with_attr("address", l),
        );
    }
    g
}

fn parse_vfb(conf: &Conf, p: &mut Parts) -> Result<(), XenConfigError> {
    if hvm(p) {
        if get_bool(conf, "vnc", 0)? != 0 {
            let autoport = get_bool(conf, "vncunused", 1)? != 0;
            let mut port = 0i64;
            if !autoport {
                let d = get_ulong(conf, "vncdisplay", 0)?;
                port = i64::try_from(d).unwrap_or(i64::MAX).saturating_add(5900);
            }
            let listen = get_string(conf, "vnclisten")?;
            let passwd = get_string(conf, "vncpasswd")?;
            let keymap = get_string(conf, "keymap")?;
            p.graphics.push(vnc_graphics(
                autoport,
                port,
                listen.as_deref(),
                passwd.as_deref(),
                keymap.as_deref(),
            ));
        } else if get_bool(conf, "sdl", 0)? != 0 {
            let mut g = el("graphics").with_attr("type", "sdl");
            if let Some(d) = get_string(conf, "display")? {
                g.set_attr("display", &d);
            }
            if let Some(x) = get_string(conf, "xauthority")? {
                g.set_attr("xauth", &x);
            }
            p.graphics.push(g);
        }
        return Ok(());
    }
    let Some(vfbs) = string_list(conf, "vfb") else {
        return Ok(());
    };
    if vfbs.len() != 1 {
        return Ok(());
    }
    let vfb = &vfbs[0];
    if vfb.len() >= MAX_VFB {
        return Err(XenConfigError::internal(format!(
            "VFB {vfb} too big for destination"
        )));
    }
    let sdl = vfb.contains("type=sdl");
    let mut autoport = false;
    let mut port = 0i64;
    let (mut listen, mut passwd, mut keymap, mut display, mut xauth) =
        (None, None, None, None, None);
    let mut key = Some(vfb.as_str());
    while let Some(k) = key {
        let (cur, next) = match k.find(',') {
            Some(i) => (&k[..i], Some(&k[i + 1..])),
            None => (k, None),
        };
        if !cur.contains('=') {
            break;
        }
        if !sdl {
            if let Some(v) = cur.strip_prefix("vncunused=") {
                if v == "1" {
                    autoport = true;
                }
            } else if let Some(v) = cur.strip_prefix("vnclisten=") {
                listen = Some(v.to_string());
            } else if let Some(v) = cur.strip_prefix("vncpasswd=") {
                passwd = Some(v.to_string());
            } else if let Some(v) = cur.strip_prefix("keymap=") {
                keymap = Some(v.to_string());
            } else if let Some(v) = cur.strip_prefix("vncdisplay=") {
                let d = parse_i32_radix(v, 10).ok_or_else(|| {
                    XenConfigError::internal(format!("invalid vncdisplay value '{v}'"))
                })?;
                port = i64::from(d) + 5900;
            }
        } else if let Some(v) = cur.strip_prefix("display=") {
            display = Some(v.to_string());
        } else if let Some(v) = cur.strip_prefix("xauthority=") {
            xauth = Some(v.to_string());
        }
        key = next.map(|n| n.trim_start_matches([',', ' ', '\t']));
    }
    if sdl {
        let mut g = el("graphics").with_attr("type", "sdl");
        if let Some(d) = display {
            g.set_attr("display", &d);
        }
        if let Some(x) = xauth {
            g.set_attr("xauth", &x);
        }
        p.graphics.push(g);
    } else {
        p.graphics.push(vnc_graphics(
            autoport,
            port,
            listen.as_deref(),
            passwd.as_deref(),
            keymap.as_deref(),
        ));
    }
    Ok(())
}

const CHR_TYPES: &[&str] = &[
    "null",
    "vc",
    "pty",
    "dev",
    "file",
    "pipe",
    "stdio",
    "udp",
    "tcp",
    "unix",
    "spicevmc",
    "spiceport",
    "nmdm",
    "qemu-vdagent",
    "dbus",
];

/// A character device in xend's notation ("pty", "tcp:host:port,server",
/// "/dev/ttyS0", ...) as `<KIND type=...>` with its source children.
fn parse_chr(value: &str, kind: &str) -> Result<Element, XenConfigError> {
    let malformed = || XenConfigError::internal("malformed char device string");
    let (ty, rest) = if value.starts_with('/') {
        ("dev", value)
    } else {
        let (prefix, rest) = match value.split_once(':') {
            Some((a, b)) => (a, b),
            None => (value, ""),
        };
        if prefix.starts_with("telnet") {
            ("telnet", rest)
        } else if let Some(t) = CHR_TYPES.iter().find(|t| **t == prefix) {
            (*t, rest)
        } else {
            return Err(XenConfigError::internal(format!(
                "unknown chr device type '{prefix}'"
            )));
        }
    };
    let real_type = if ty == "telnet" { "tcp" } else { ty };
    let mut e = el(kind).with_attr("type", real_type);
    match ty {
        "dev" | "file" | "pipe" => {
            e.push(el("source").with_attr("path", rest));
        }
        "tcp" | "telnet" => {
            let (host, svc) = rest.split_once(':').ok_or_else(malformed)?;
            let (service, opts) = match svc.split_once(',') {
                Some((s, o)) => (s, Some(o)),
                None => (svc, None),
            };
            let listen = opts.is_some_and(|o| format!(",{o}").contains(",server"));
            let mut src = el("source").with_attr("mode", if listen { "bind" } else { "connect" });
            if !host.is_empty() {
                src.set_attr("host", host);
            }
            src.set_attr("service", service);
            e.push(src);
            e.push(el("protocol").with_attr("type", if ty == "telnet" { "telnet" } else { "raw" }));
        }
        "udp" => {
            let (chost, r) = rest.split_once(':').ok_or_else(malformed)?;
            let (csvc, bind) = match r.split_once('@') {
                Some((c, b)) => (c, Some(b)),
                None => (r, None),
            };
            if let Some(b) = bind {
                let (bhost, bsvc) = b.split_once(':').ok_or_else(malformed)?;
                let mut s = el("source").with_attr("mode", "bind");
                if !bhost.is_empty() {
                    s.set_attr("host", bhost);
                }
                s.set_attr("service", bsvc);
                e.push(s);
            }
            let mut s = el("source").with_attr("mode", "connect");
            if !chost.is_empty() {
                s.set_attr("host", chost);
            }
            s.set_attr("service", csvc);
            e.push(s);
        }
        "unix" => {
            let (path, opts) = match rest.split_once(',') {
                Some((a, b)) => (a, Some(b)),
                None => (rest, None),
            };
            let listen = opts.is_some_and(|o| format!(",{o}").contains(",server"));
            e.push(
                el("source")
                    .with_attr("mode", if listen { "bind" } else { "connect" })
                    .with_attr("path", path),
            );
        }
        _ => {}
    }
    Ok(e)
}

fn with_target_port(mut e: Element, port: usize) -> Element {
    e.push(el("target").with_attr("port", &port.to_string()));
    e
}

fn parse_char_devs(conf: &Conf, p: &mut Parts, format: NativeFormat) -> Result<(), XenConfigError> {
    if !hvm(p) {
        p.consoles.push(console_pty());
        return Ok(());
    }
    if let Some(par) = get_string(conf, "parallel")? {
        if par != "none" {
            p.parallels
                .push(with_target_port(parse_chr(&par, "parallel")?, 0));
        }
    }
    if let Some(list) = string_list(conf, "serial") {
        if format == NativeFormat::Xm {
            return Err(XenConfigError::unsupported(
                "Multiple serial devices are not supported by xen-xm",
            ));
        }
        for (port, s) in list.iter().enumerate() {
            if s == "none" {
                continue;
            }
            p.serials
                .push(with_target_port(parse_chr(s, "serial")?, port));
        }
    } else if let Some(s) = get_string(conf, "serial")? {
        if s != "none" {
            p.serials
                .push(with_target_port(parse_chr(&s, "serial")?, 0));
        }
    }
    // libvirt mirrors the first serial port as the console of an HVM guest.
    if let Some(first) = p.serials.first() {
        let mut c = first.clone();
        c.name = "console".into();
        c.remove_children("target");
        let port = first
            .child("target")
            .and_then(|t| t.attr("port"))
            .unwrap_or("0")
            .to_string();
        c.push(
            el("target")
                .with_attr("type", "serial")
                .with_attr("port", &port),
        );
        p.consoles.push(c);
    }
    Ok(())
}

fn cmdline(conf: &Conf) -> Result<Option<String>, XenConfigError> {
    let buf = get_string(conf, "cmdline")?;
    let root = get_string(conf, "root")?;
    let extra = get_string(conf, "extra")?;
    if buf.is_some() {
        return Ok(buf);
    }
    Ok(match (root, extra) {
        (Some(r), Some(e)) => Some(format!("root={r} {e}")),
        (Some(r), None) => Some(format!("root={r}")),
        (None, Some(e)) => Some(e),
        (None, None) => None,
    })
}

fn boot_devs(conf: &Conf, p: &mut Parts) -> Result<(), XenConfigError> {
    let boot = get_string(conf, "boot")?.unwrap_or_else(|| "c".into());
    for c in boot.chars().take(4) {
        let dev = match c {
            'a' => "fd",
            'd' => "cdrom",
            'n' => "network",
            _ => "hd",
        };
        p.os_children.push(el("boot").with_attr("dev", dev));
    }
    Ok(())
}

fn host_passthrough_cpu() -> Element {
    el("cpu").with_attr("mode", "host-passthrough")
}

fn parse_xl_os(conf: &Conf, caps: &XenCaps, p: &mut Parts) -> Result<(), XenConfigError> {
    if hvm(p) {
        let bios = get_string(conf, "bios")?;
        let bios_path = get_string(conf, "bios_path_override")?;
        if bios.as_deref() == Some("ovmf") {
            let path = bios_path.unwrap_or_else(|| format!("{}/ovmf.bin", caps.firmware_dir));
            p.os_children.push(
                el("loader")
                    .with_attr("readonly", "yes")
                    .with_attr("type", "pflash")
                    .with_text(&path),
            );
        } else if let Some(l) = caps
            .guests
            .iter()
            .filter(|g| g.os_type == "hvm" && g.arch == p.arch)
            .filter_map(|g| g.loader.clone())
            .next_back()
        {
            p.os_children
                .push(el("loader").with_attr("type", "rom").with_text(&l));
        }
        let slic = get_string(conf, "acpi_firmware")?;
        if let Some(k) = get_string(conf, "kernel")? {
            p.os_children.push(el("kernel").with_text(&k));
        }
        if let Some(r) = get_string(conf, "ramdisk")? {
            p.os_children.push(el("initrd").with_text(&r));
        }
        if let Some(c) = cmdline(conf)? {
            p.os_children.push(el("cmdline").with_text(&c));
        }
        if let Some(s) = slic {
            p.os_children
                .push(el("acpi").with_child(el("table").with_attr("type", "slic").with_text(&s)));
        }
        boot_devs(conf, p)?;
        let nested = get_bool(conf, "nestedhvm", -1)?;
        if nested != -1 {
            let vt = if caps.host_vmx { "vmx" } else { "svm" };
            let mut cpu = p.cpu.take().unwrap_or_else(host_passthrough_cpu);
            if nested == 0 {
                cpu.push(
                    el("feature")
                        .with_attr("policy", "disable")
                        .with_attr("name", vt),
                );
            }
            p.cpu = Some(cpu);
        }
    } else {
        p.bootloader = get_string(conf, "bootloader")?;
        p.bootloader_args = get_string(conf, "bootargs")?;
        if let Some(k) = get_string(conf, "kernel")? {
            p.os_children.push(el("kernel").with_text(&k));
        }
        if let Some(r) = get_string(conf, "ramdisk")? {
            p.os_children.push(el("initrd").with_text(&r));
        }
        if let Some(c) = cmdline(conf)? {
            p.os_children.push(el("cmdline").with_text(&c));
        }
    }
    Ok(())
}

fn parse_xm_os(conf: &Conf, p: &mut Parts) -> Result<(), XenConfigError> {
    if hvm(p) {
        let k = copy_string(conf, "kernel")?;
        p.os_children
            .push(el("loader").with_attr("type", "rom").with_text(&k));
        boot_devs(conf, p)?;
    } else {
        p.bootloader = get_string(conf, "bootloader")?;
        p.bootloader_args = get_string(conf, "bootargs")?;
        if let Some(k) = get_string(conf, "kernel")? {
            p.os_children.push(el("kernel").with_text(&k));
        }
        if let Some(r) = get_string(conf, "ramdisk")? {
            p.os_children.push(el("initrd").with_text(&r));
        }
        let extra = get_string(conf, "extra")?;
        let root = get_string(conf, "root")?;
        let c = match (root, extra) {
            (Some(r), Some(e)) => Some(format!("root={r} {e}")),
            (Some(r), None) => Some(format!("root={r}")),
            (None, Some(e)) => Some(e),
            (None, None) => None,
        };
        if let Some(c) = c {
            p.os_children.push(el("cmdline").with_text(&c));
        }
    }
    Ok(())
}

/// libvirt's bitmap syntax ("0-3,^2,5") to a sorted list of ids.
pub(crate) fn parse_bitmap(s: &str, limit: usize) -> Option<Vec<usize>> {
    let mut set = std::collections::BTreeSet::new();
    let mut neg = Vec::new();
    for part in s.split(',') {
        let part = part.trim();
        if part.is_empty() {
            return None;
        }
        let (is_neg, body) = match part.strip_prefix('^') {
            Some(b) => (true, b),
            None => (false, part),
        };
        let (a, b) = match body.split_once('-') {
            Some((a, b)) => (
                a.trim().parse::<usize>().ok()?,
                b.trim().parse::<usize>().ok()?,
            ),
            None => {
                let v = body.parse::<usize>().ok()?;
                (v, v)
            }
        };
        if a > b || b >= limit {
            return None;
        }
        if is_neg {
            neg.extend(a..=b);
        } else {
            set.extend(a..=b);
        }
    }
    for n in neg {
        set.remove(&n);
    }
    Some(set.into_iter().collect())
}

/// Formats ids as libvirt's bitmap syntax with ranges.
pub(crate) fn format_bitmap(ids: &[usize]) -> String {
    let mut out = Vec::new();
    let mut i = 0;
    while i < ids.len() {
        let start = ids[i];
        let mut end = start;
        while i + 1 < ids.len() && ids[i + 1] == end + 1 {
            i += 1;
            end = ids[i];
        }
        out.push(if start == end {
            start.to_string()
        } else {
            format!("{start}-{end}")
        });
        i += 1;
    }
    out.join(",")
}

fn parse_xl_vnuma(conf: &Conf, p: &mut Parts) -> Result<(), XenConfigError> {
    let Some(Value::List(list)) = conf.get("vnuma") else {
        return Ok(());
    };
    let nr_nodes = list
        .iter()
        .take_while(|v| matches!(v, Value::List(_)))
        .count();
    let mut numa = el("numa");
    let mut vcpus = 0usize;
    for (cnt, node) in list.iter().enumerate() {
        let mut pnode: i64 = -1;
        let mut cpus: Option<Vec<usize>> = None;
        let mut kbsize: u64 = 0;
        let mut distances: Vec<u32> = Vec::new();
        if let Value::List(items) = node {
            for item in items {
                let Value::String(s) = item else { break };
                let data = s.rfind('=').map(|i| &s[i + 1..]).ok_or_else(|| {
                    XenConfigError::internal(format!("vnuma vnode invalid format '{s}'"))
                })?;
                if data.is_empty() {
                    continue;
                }
                if s.starts_with("pnode") {
                    let id = crate::value::parse_ul(data)
                        .filter(|v| usize::try_from(*v).is_ok_and(|v| v < nr_nodes))
                        .ok_or_else(|| {
                            XenConfigError::unsupported(format!(
                                "vnuma vnode {cnt} contains invalid pnode value '{data}'"
                            ))
                        })?;
                    pnode = i64::try_from(id).unwrap_or(-1);
                } else if s.starts_with("size") {
                    kbsize = crate::value::parse_ul(data).ok_or_else(|| {
                        XenConfigError::internal(format!("vnuma vnode invalid format '{s}'"))
                    })?;
                } else if s.starts_with("vcpus") {
                    let ids = parse_bitmap(data, 4096).ok_or_else(|| {
                        XenConfigError::internal(format!("Failed to parse bitmap '{data}'"))
                    })?;
                    vcpus += ids.len();
                    cpus = Some(ids);
                } else if s.starts_with("vdistances") {
                    let toks: Vec<&str> = data.split(',').collect();
                    if toks.len() != nr_nodes {
                        return Err(XenConfigError::unsupported(format!(
                            "vnuma pnode {pnode} configured '{s}' (count {}) doesn't fit the number of specified vnodes {nr_nodes}",
                            toks.len()
                        )));
                    }
                    distances = toks
                        .iter()
                        .map(|t| {
                            crate::value::parse_ul(t)
                                .and_then(|v| u32::try_from(v).ok())
                                .ok_or_else(|| {
                                    XenConfigError::internal(format!(
                                        "vnuma vnode invalid format '{s}'"
                                    ))
                                })
                        })
                        .collect::<Result<_, _>>()?;
                } else {
                    return Err(XenConfigError::syntax(format!(
                        "Invalid vnuma configuration for vnode {cnt}"
                    )));
                }
            }
        }
        let (Some(cpus), true, true) = (cpus, pnode >= 0, kbsize > 0) else {
            return Err(XenConfigError::syntax(format!(
                "Incomplete vnuma configuration for vnode {cnt}"
            )));
        };
        let mut cell = el("cell")
            .with_attr("id", &cnt.to_string())
            .with_attr("cpus", &format_bitmap(&cpus))
            .with_attr("memory", &kbsize.saturating_mul(1024).to_string())
            .with_attr("unit", "KiB");
        if !distances.is_empty() {
            let mut d = el("distances");
            for (i, v) in distances.iter().enumerate() {
                d.push(
                    el("sibling")
                        .with_attr("id", &i.to_string())
                        .with_attr("value", &v.to_string()),
                );
            }
            cell.push(d);
        }
        numa.push(cell);
    }
    let vcpus = u64::try_from(vcpus).unwrap_or(u64::MAX);
    if p.vcpus_max < vcpus {
        return Err(XenConfigError::unsupported(format!(
            "vnuma configuration contains {vcpus} vcpus, which is greater than {} maxvcpus",
            p.vcpus_max
        )));
    }
    // A vNUMA topology replaces any CPU definition made so far.
    p.cpu = Some(el("cpu").with_child(numa));
    Ok(())
}

fn parse_xl_xenbus_limits(conf: &Conf, p: &mut Parts) -> Result<(), XenConfigError> {
    let ev = get_ulong(conf, "max_event_channels", 0)?;
    let gnt = get_ulong(conf, "max_grant_frames", 0)?;
    if gnt > 0 {
        p.xenbus.set_attr("maxGrantFrames", &gnt.to_string());
    }
    if ev > 0 {
        p.xenbus.set_attr("maxEventChannels", &ev.to_string());
    }
    Ok(())
}

/// libvirt and libxl spell some CPU features differently.
pub(crate) const CPUID_NAMES: &[(&str, &str)] = &[
    ("cx16", "cmpxchg16"),
    ("cid", "cntxid"),
    ("ds_cpl", "dscpl"),
    ("pclmuldq", "pclmulqdq"),
    ("pni", "sse3"),
    ("ht", "htt"),
    ("pn", "psn"),
    ("clflush", "clfsh"),
    ("sep", "sysenter"),
    ("cx8", "cmpxchg8"),
    ("nodeid_msr", "nodeid"),
    ("cr8legacy", "altmovcr8"),
    ("lahf_lm", "lahfsahf"),
    ("cmp_legacy", "cmplegacy"),
    ("fxsr_opt", "ffxsr"),
    ("pdpe1gb", "page1gb"),
    ("spec-ctrl", "ibrsb"),
];

/// Translates a feature name between libvirt's and libxl's spelling.
pub(crate) fn translate_cpu_feature(name: &str, from_libxl: bool) -> &str {
    for (lv, lx) in CPUID_NAMES {
        if from_libxl && *lx == name {
            return lv;
        }
        if !from_libxl && *lv == name {
            return lx;
        }
    }
    name
}

fn parse_xl_cpuid(conf: &Conf, p: &mut Parts) -> Result<(), XenConfigError> {
    let Some(s) = get_string(conf, "cpuid")? else {
        return Ok(());
    };
    let mut cpu = p.cpu.take().unwrap_or_else(host_passthrough_cpu);
    let pairs: Vec<&str> = s.split(',').collect();
    if pairs.first() != Some(&"host") {
        return Err(XenConfigError::syntax(format!(
            "cpuid starting with {} is not supported, only libxl format is",
            pairs.first().unwrap_or(&"")
        )));
    }
    for pair in &pairs[1..] {
        let (name, val) = pair.split_once('=').ok_or_else(|| {
            XenConfigError::syntax(format!("Invalid libxl cpuid key=value element: {pair}"))
        })?;
        let policy = match val {
            "1" => "force",
            "0" => "disable",
            "x" | "k" | "s" => "optional",
            _ => {
                return Err(XenConfigError::syntax(format!(
                    "Invalid libxl cpuid value: {pair}"
                )))
            }
        };
        let n = translate_cpu_feature(name, true);
        if cpu
            .children_named("feature")
            .any(|f| f.attr("name") == Some(n))
        {
            return Err(XenConfigError::internal(format!(
                "CPU feature '{n}' specified more than once"
            )));
        }
        cpu.push(
            el("feature")
                .with_attr("policy", policy)
                .with_attr("name", n),
        );
    }
    p.cpu = Some(cpu);
    Ok(())
}

/// An `rbd:pool/image:key=value:...` source (libvirt's RBD colon string).
fn rbd_source(src: &str) -> Result<Element, XenConfigError> {
    let bad = || XenConfigError::internal(format!("invalid RBD source '{src}'"));
    let s = src.replace("\\\\", "\\");
    let body = s.strip_prefix("rbd:").ok_or_else(bad)?;
    // Split on ':' not preceded by a backslash.
    let mut fields: Vec<String> = Vec::new();
    let mut cur = String::new();
    let mut chars = body.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(n) = chars.next() {
                cur.push('\\');
                cur.push(n);
            }
        } else if c == ':' {
            fields.push(std::mem::take(&mut cur));
        } else {
            cur.push(c);
        }
    }
    fields.push(cur);
    let name = fields.first().cloned().unwrap_or_default();
    if name.is_empty() {
        return Err(bad());
    }
    let mut source = el("source")
        .with_attr("protocol", "rbd")
        .with_attr("name", &name);
    let mut config = None;
    for opt in &fields[1..] {
        let Some((k, v)) = opt.split_once('=') else {
            continue;
        };
        match k {
            "mon_host" => {
                for h in v.split("\\;") {
                    let (host, port) = match h.rsplit_once("\\:") {
                        Some((a, b)) => (a, Some(b)),
                        None => (h, None),
                    };
                    let host = host
                        .trim_start_matches('[')
                        .trim_end_matches(']')
                        .replace('\\', "");
                    let mut he = el("host").with_attr("name", &host);
                    if let Some(pt) = port {
                        he.set_attr("port", pt);
                    }
                    source.push(he);
                }
            }
            "conf" => config = Some(v.to_string()),
            _ => {}
        }
    }
    if let Some(c) = config {
        source.push(el("config").with_attr("file", &c));
    }
    Ok(source)
}

fn disk_bus(dst: &str, hvm: bool) -> &'static str {
    if dst.starts_with("xvd") || !hvm {
        "xen"
    } else if dst.starts_with("sd") {
        "scsi"
    } else {
        "ide"
    }
}

fn parse_xl_disks(conf: &Conf, p: &mut Parts) -> Result<(), XenConfigError> {
    let Some(Value::List(list)) = conf.get("disk") else {
        return Ok(());
    };
    let is_hvm = hvm(p);
    for v in list {
        let Value::String(spec) = v else { continue };
        let d = diskspec::parse(spec)?;
        let network = d
            .pdev_path
            .as_deref()
            .is_some_and(|s| s.starts_with("rbd:"));
        let (driver, dtype, fmt) = if d.is_cdrom {
            let f = if d.pdev_path.is_some() {
                Some("raw")
            } else {
                None
            };
            ("qemu", "file", f)
        } else {
            let f = match d.format {
                DiskFormat::Qcow => Some("qcow"),
                DiskFormat::Qcow2 => Some("qcow2"),
                DiskFormat::Vhd => Some("vhd"),
                DiskFormat::Raw | DiskFormat::Unknown => Some("raw"),
                DiskFormat::Empty => None,
                DiskFormat::Qed => Some("qed"),
            };
            match d.backend {
                DiskBackend::Qdisk | DiskBackend::Unknown => ("qemu", "file", f),
                DiskBackend::Tap => ("tap", "file", f),
                DiskBackend::Phy => ("phy", "block", f),
                DiskBackend::Standalone => {
                    return Err(XenConfigError::unsupported(
                        "disk backend not supported: standalone",
                    ))
                }
            }
        };
        let dtype = if network { "network" } else { dtype };
        let mut disk = el("disk")
            .with_attr("type", dtype)
            .with_attr("device", if d.is_cdrom { "cdrom" } else { "disk" });
        let mut drv = el("driver").with_attr("name", driver);
        // libxl's default format is raw.
        drv.set_attr("type", fmt.unwrap_or("raw"));
        disk.push(drv);
        if let Some(src) = &d.pdev_path {
            if network {
                disk.push(rbd_source(src)?);
            } else if dtype == "block" {
                disk.push(el("source").with_attr("dev", src));
            } else {
                disk.push(el("source").with_attr("file", src));
            }
        }
        disk.push(
            el("target")
                .with_attr("dev", &d.vdev)
                .with_attr("bus", disk_bus(&d.vdev, is_hvm)),
        );
        if !d.readwrite {
            disk.push(el("readonly"));
        }
        p.disks.push(disk);
    }
    Ok(())
}

fn parse_xm_disks(conf: &Conf, p: &mut Parts) -> Result<(), XenConfigError> {
    let Some(list) = string_list(conf, "disk") else {
        return Ok(());
    };
    let is_hvm = hvm(p);
    for entry in list {
        // Entries that do not parse are skipped, as libvirt does.
        if let Some(d) = parse_xm_disk(&entry, is_hvm)? {
            p.disks.push(d);
        }
    }
    Ok(())
}

fn parse_xm_disk(entry: &str, is_hvm: bool) -> Result<Option<Element>, XenConfigError> {
    let Some((src, rest)) = entry.split_once(',') else {
        return Ok(None);
    };
    let rest = rest.strip_prefix("ioemu:").unwrap_or(rest);
    let Some((dst, mode)) = rest.split_once(',') else {
        return Ok(None);
    };
    let mut source = if src.is_empty() {
        None
    } else {
        Some(src.to_string())
    };
    let mut driver: Option<String> = None;
    let mut format: Option<String> = None;
    if let Some(s) = source.clone() {
        let mut s = s;
        if let Some((d, r)) = s.split_once(':') {
            driver = Some(d.to_string());
            s = r.to_string();
        }
        if matches!(driver.as_deref(), Some("tap" | "tap2")) {
            let Some((t, r)) = s.split_once(':') else {
                return Ok(None);
            };
            let f = if t == "aio" { "raw" } else { t };
            const FORMATS: &[&str] = &[
                "raw", "dir", "bochs", "cloop", "dmg", "iso", "vpc", "vdi", "fat", "vhd", "ploop",
                "cow", "qcow", "qcow2", "qed", "vmdk",
            ];
            if !FORMATS.contains(&f) {
                return Err(XenConfigError::internal(format!("Unknown driver type {s}")));
            }
            format = Some(f.to_string());
            s = r.to_string();
        }
        source = Some(s);
    }
    let driver = driver.unwrap_or_else(|| "phy".into());
    let dtype = if driver == "phy" { "block" } else { "file" };
    let (dst, device) = match dst.split_once(':') {
        Some((d, suffix)) => (d, if suffix == "cdrom" { "cdrom" } else { "disk" }),
        None => (dst, "disk"),
    };
    let mut disk = el("disk")
        .with_attr("type", dtype)
        .with_attr("device", device);
    disk.push(
        el("driver")
            .with_attr("name", &driver)
            .with_attr("type", format.as_deref().unwrap_or("raw")),
    );
    if let Some(s) = &source {
        disk.push(el("source").with_attr(if dtype == "block" { "dev" } else { "file" }, s));
    }
    disk.push(
        el("target")
            .with_attr("dev", dst)
            .with_attr("bus", disk_bus(dst, is_hvm)),
    );
    match mode {
        "r" | "ro" => disk.push(el("readonly")),
        "w!" | "!" => disk.push(el("shareable")),
        _ => disk.push(el("_")),
    };
    disk.remove_children("_");
    Ok(Some(disk))
}

fn parse_xl_spice(conf: &Conf, p: &mut Parts) -> Result<(), XenConfigError> {
    if !hvm(p) || get_bool(conf, "spice", 0)? == 0 {
        return Ok(());
    }
    let listen = get_string(conf, "spicehost")?;
    let tls = get_ulong(conf, "spicetls_port", 0)?;
    let port = get_ulong(conf, "spiceport", 0)?;
    let autoport = tls == 0 && port == 0;
    let passwd = if get_bool(conf, "spicedisable_ticketing", 0)? == 0 {
        Some(copy_string(conf, "spicepasswd")?)
    } else {
        None
    };
    let mouse = if get_bool(conf, "spiceagent_mouse", 0)? != 0 {
        "client"
    } else {
        "server"
    };
    let copy = get_bool(conf, "spice_clipboard_sharing", 0)? != 0;
    #[allow(clippy::cast_possible_truncation, clippy::cast_possible_wrap)]
    let (port, tls) = (port as i32, tls as i32);
    let mut g = el("graphics").with_attr("type", "spice");
    if autoport {
        g.set_attr("autoport", "yes");
    } else {
        g.set_attr("port", &port.to_string());
        g.set_attr("tlsPort", &tls.to_string());
        g.set_attr("autoport", "no");
    }
    if let Some(l) = &listen {
        g.set_attr("listen", l);
    }
    if let Some(pw) = &passwd {
        g.set_attr("passwd", pw);
    }
    if let Some(l) = &listen {
        g.push(
            el("listen")
                .with_attr("type", "address")
                .with_attr("address", l),
        );
    }
    g.push(el("mouse").with_attr("mode", mouse));
    g.push(el("clipboard").with_attr("copypaste", if copy { "yes" } else { "no" }));
    p.graphics = vec![g];
    Ok(())
}

fn parse_input_devs(conf: &Conf, p: &mut Parts, allow_list: bool) -> Result<(), XenConfigError> {
    if !hvm(p) {
        return Ok(());
    }
    let vals: Vec<String> = match conf.get("usbdevice") {
        None => Vec::new(),
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::List(items)) if allow_list => {
            let mut out = Vec::new();
            for i in items {
                match i {
                    Value::String(s) => out.push(s.clone()),
                    _ => return Err(XenConfigError::malformed("usbdevice")),
                }
            }
            out
        }
        Some(_) => return Err(XenConfigError::malformed("usbdevice")),
    };
    for v in vals {
        let ty = match v.as_str() {
            "mouse" => "mouse",
            "tablet" => "tablet",
            "keyboard" => "keyboard",
            _ => continue,
        };
        p.inputs
            .push(el("input").with_attr("type", ty).with_attr("bus", "usb"));
    }
    Ok(())
}

/// Comma-separated `key=value` options; `None` if one lacks '='.
fn kv_options(s: &str) -> Option<Vec<(String, String)>> {
    let mut out = Vec::new();
    let mut key = Some(s);
    while let Some(k) = key {
        let (cur, next) = match k.find(',') {
            Some(i) => (&k[..i], Some(&k[i + 1..])),
            None => (k, None),
        };
        let (a, b) = cur.split_once('=')?;
        out.push((a.to_string(), b.to_string()));
        key = next.map(|n| n.trim_start_matches([',', ' ', '\t']));
    }
    Some(out)
}

fn parse_xl_usbctrl(conf: &Conf, p: &mut Parts) -> Result<(), XenConfigError> {
    let Some(Value::List(list)) = conf.get("usbctrl") else {
        return Ok(());
    };
    let mut index = 0usize;
    'next: for v in list {
        let Value::String(s) = v else { continue };
        let Some(opts) = kv_options(s) else { continue };
        let mut version = 2;
        let mut ports = 8;
        for (k, val) in opts {
            match k.as_str() {
                "type" if !val.starts_with("qusb") => continue 'next,
                "version" => match parse_i32_radix(&val, 16) {
                    Some(v) => version = v,
                    None => continue 'next,
                },
                "ports" => match parse_i32_radix(&val, 16) {
                    Some(v) => ports = v,
                    None => continue 'next,
                },
                _ => {}
            }
        }
        p.controllers.push(
            el("controller")
                .with_attr("type", "usb")
                .with_attr("index", &index.to_string())
                .with_attr("model", if version == 1 { "qusb1" } else { "qusb2" })
                .with_attr("ports", &ports.to_string()),
        );
        index += 1;
    }
    Ok(())
}

fn parse_xl_usb(conf: &Conf, p: &mut Parts) -> Result<(), XenConfigError> {
    let Some(Value::List(list)) = conf.get("usbdev") else {
        return Ok(());
    };
    'next: for v in list {
        let Value::String(s) = v else { continue };
        let Some(opts) = kv_options(s) else { continue };
        let (mut bus, mut dev) = (None, None);
        for (k, val) in opts {
            match k.as_str() {
                "hostbus" => match parse_i32_radix(&val, 16) {
                    Some(v) => bus = Some(v),
                    None => continue 'next,
                },
                "hostaddr" => match parse_i32_radix(&val, 16) {
                    Some(v) => dev = Some(v),
                    None => continue 'next,
                },
                _ => {}
            }
        }
        let (Some(bus), Some(dev)) = (bus, dev) else {
            continue;
        };
        p.hostdevs.push(
            el("hostdev")
                .with_attr("mode", "subsystem")
                .with_attr("type", "usb")
                .with_attr("managed", "no")
                .with_child(
                    el("source").with_child(
                        el("address")
                            .with_attr("bus", &bus.to_string())
                            .with_attr("device", &dev.to_string()),
                    ),
                ),
        );
    }
    Ok(())
}

fn parse_xl_channels(conf: &Conf, p: &mut Parts) -> Result<(), XenConfigError> {
    let Some(Value::List(list)) = conf.get("channel") else {
        return Ok(());
    };
    for v in list {
        let Value::String(s) = v else { continue };
        let Some(opts) = kv_options(s) else { continue };
        let (mut ty, mut name, mut path) = (None, None, None);
        for (k, val) in opts {
            match k.as_str() {
                "connection" => ty = Some(val),
                "name" if name.is_none() => name = Some(val),
                "path" if path.is_none() => path = Some(val),
                _ => {}
            }
        }
        let ty = ty.unwrap_or_default();
        let mut ch = if ty.starts_with("socket") {
            let mut c = el("channel").with_attr("type", "unix");
            let mut src = el("source").with_attr("mode", "bind");
            if let Some(pa) = &path {
                src.set_attr("path", pa);
            }
            c.push(src);
            c
        } else if ty.starts_with("pty") {
            el("channel").with_attr("type", "pty")
        } else {
            return Err(XenConfigError::internal(format!(
                "unsupported channel connection type '{ty}'"
            )));
        };
        let mut t = el("target").with_attr("type", "xen");
        if let Some(n) = &name {
            t.set_attr("name", n);
        }
        ch.push(t);
        p.channels.push(ch);
    }
    Ok(())
}
