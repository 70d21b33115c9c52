// SPDX-License-Identifier: LGPL-2.1-or-later
//! Domain definition → libxl domain configuration, in the JSON form libxl
//! reads with `libxl_domain_config_from_json` (libvirt's
//! libxlBuildDomainConfig).
//!
//! Only fields that differ from libxl's defaults are written, as libxl's
//! own JSON generator does; nested structures libxl always prints
//! (`sched_params`, `arch_arm`, the HVM `spice` and `rdm` blocks) are
//! written as empty objects.

use crate::error::{XenConfigError, ERR_CONFIG_UNSUPPORTED, FROM_LIBXL};
use crate::parse::{parse_bitmap, translate_cpu_feature};
use conf::xml::Element;
use conf::DomainDef;
use serde_json::{json, Map, Value};

/// The bootloader a PV guest gets when it names neither kernel nor
/// bootloader (libxl resolves a bare name in its own helper directory).
pub const BOOTLOADER_PATH: &str = "pygrub";
/// Lowest VNC port; libxl counts displays from here.
pub const VNC_PORT_MIN: i64 = 5900;

/// Host and driver settings the builder needs.
#[derive(Debug, Clone)]
pub struct LibxlOptions {
    /// libxl.conf `nested_hvm`.
    pub nested_hvm: bool,
    /// The host CPU has VMX.
    pub host_vmx: bool,
    /// The host CPU has SVM.
    pub host_svm: bool,
    /// Physical NUMA nodes (libxl physinfo); more vNUMA cells than this
    /// all land on node 0.
    pub nr_nodes: usize,
    /// Fixed shadow memory (kB) instead of libxl's estimate.
    pub shadow_memkb: Option<u64>,
    /// Port given to the first VNC display with autoport (the driver's
    /// port allocator picks it).
    pub vnc_autoport: i64,
    /// Default OVMF image for `<os firmware='efi'>`.
    pub ovmf_path: String,
}

impl Default for LibxlOptions {
    fn default() -> Self {
        LibxlOptions {
            nested_hvm: false,
            host_vmx: true,
            host_svm: false,
            nr_nodes: 1,
            shadow_memkb: None,
            vnc_autoport: VNC_PORT_MIN,
            ovmf_path: format!("{}/ovmf.bin", crate::caps::FIRMWARE_DIR),
        }
    }
}

impl LibxlOptions {
    /// The settings of libvirt's test harness (nested HVM on, a VMX host,
    /// libxl's shadow memory estimate mocked to 1234 kB).
    pub fn test_harness() -> Self {
        LibxlOptions {
            nested_hvm: true,
            nr_nodes: 64,
            shadow_memkb: Some(1234),
            ..Default::default()
        }
    }
}

fn unsupported(msg: impl Into<String>) -> XenConfigError {
    XenConfigError::new(ERR_CONFIG_UNSUPPORTED, msg).in_domain(FROM_LIBXL)
}

fn defbool(b: bool) -> Value {
    Value::String(if b { "True" } else { "False" }.into())
}

fn other<'a>(def: &'a DomainDef, name: &str) -> Option<&'a Element> {
    def.other.iter().find(|e| e.name == name)
}

fn devices<'a>(def: &'a DomainDef, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
    def.devices.iter().filter(move |d| d.name == name)
}

fn num(s: &str) -> Option<i64> {
    let t = s.trim();
    if let Some(h) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        i64::from_str_radix(h, 16).ok()
    } else {
        t.parse().ok()
    }
}

fn feature<'a>(def: &'a DomainDef, name: &str) -> Option<&'a Element> {
    other(def, "features").and_then(|f| f.child(name))
}

/// A feature's tristate: `Some(true)` on, `Some(false)` off, `None` absent.
fn feature_state(def: &DomainDef, name: &str) -> Option<bool> {
    feature(def, name).map(|e| e.attr("state").is_none_or(|s| s == "on"))
}

fn lifecycle(action: &str) -> &'static str {
    match action {
        "restart" => "restart",
        "rename-restart" => "rename_restart",
        "preserve" => "preserve",
        "coredump-destroy" => "coredump_destroy",
        "coredump-restart" => "coredump_restart",
        _ => "destroy",
    }
}

/// libxl's device model kind for the configured emulator.
pub fn emulator_type(def: &DomainDef) -> &'static str {
    match &def.emulator {
        Some(e) if e.ends_with("qemu-dm") => "qemu_xen_traditional",
        _ => "qemu_xen",
    }
}

/// The libxl driver's defaults for video devices (its device post-parse):
/// a model without a type is `xen` for a PV guest, `vga` for a PPC64 one
/// and `cirrus` otherwise; an HVM guest's VGA, Xen and Cirrus cards get
/// the video RAM its device model needs (halved for qemu-xen-traditional)
/// and QXL 128 MiB, when none is given.
pub fn post_parse_video(def: &mut DomainDef) {
    let pv = matches!(def.os.os_type.as_str(), "xen" | "linux");
    let hvm = def.os.os_type == "hvm";
    let ppc64 = def
        .os
        .arch
        .as_deref()
        .is_some_and(|a| a.starts_with("ppc64"));
    let traditional = emulator_type(def) == "qemu_xen_traditional";
    for dev in def.devices.iter_mut().filter(|d| d.name == "video") {
        if dev.child("model").is_none() {
            dev.children
                .push(conf::xml::Node::Element(conf::xml::Element::new("model")));
        }
        let Some(model) = dev.child_mut("model") else {
            continue;
        };
        let ty = match model.attr("type") {
            Some(t) => t.to_string(),
            None => {
                let t = if pv {
                    "xen"
                } else if ppc64 {
                    "vga"
                } else {
                    "cirrus"
                };
                model.set_attr("type", t);
                t.to_string()
            }
        };
        let vram_set = model
            .attr("vram")
            .and_then(|v| v.parse::<u64>().ok())
            .is_some_and(|v| v > 0);
        if !hvm || vram_set {
            continue;
        }
        let vram: u64 = match ty.as_str() {
            "vga" | "xen" if traditional => 8 * 1024,
            "vga" | "xen" => 16 * 1024,
            "cirrus" if traditional => 4 * 1024,
            "cirrus" => 8 * 1024,
            "qxl" => 128 * 1024,
            _ => continue,
        };
        model.set_attr("vram", &vram.to_string());
    }
}

/// libxl's estimate of the shadow memory a guest needs (kB).
pub fn required_shadow_memory(maxmem_kb: u64, vcpus: u64) -> u64 {
    4u64.saturating_mul(
        256u64
            .saturating_mul(vcpus)
            .saturating_add(2u64.saturating_mul(maxmem_kb / 1024)),
    )
}

/// Builds libxl's `libxl_domain_config` for `def`.
pub fn build_domain_config(def: &DomainDef, opts: &LibxlOptions) -> Result<Value, XenConfigError> {
    let os = def.os.os_type.as_str();
    let hvm = os == "hvm";
    let pvh = os == "xenpvh";
    let mut root = Map::new();

    root.insert("c_info".into(), create_info(def, hvm, pvh));

    // Build info.
    let mut b = Map::new();
    let mut hvm_info = Map::new();
    let max_vcpus = def.vcpus_max;
    b.insert("max_vcpus".into(), json!(max_vcpus));
    b.insert(
        "avail_vcpus".into(),
        Value::Array((0..def.vcpus_current).map(|i| json!(i)).collect()),
    );
    if let Some(cs) = &def.vcpu_cpuset {
        let ids =
            parse_bitmap(cs, 4096).ok_or_else(|| unsupported(format!("invalid cpuset '{cs}'")))?;
        let one: Vec<Value> = ids.iter().map(|i| json!(i)).collect();
        b.insert(
            "vcpu_hard_affinity".into(),
            Value::Array((0..max_vcpus).map(|_| Value::Array(one.clone())).collect()),
        );
    }

    clock_into(def, hvm, &mut b, &mut hvm_info)?;

    let mut sched = Map::new();
    if let Some(s) = other(def, "cputune")
        .and_then(|c| c.child("shares"))
        .and_then(|s| s.text().trim().parse::<u64>().ok())
    {
        sched.insert("weight".into(), json!(s));
    }
    b.insert("sched_params".into(), Value::Object(sched));

    let max_memkb = def.memory_kib.div_ceil(1024).saturating_mul(1024);
    let target_memkb = def.current_memory_kib.div_ceil(1024).saturating_mul(1024);
    b.insert("max_memkb".into(), json!(max_memkb));
    b.insert("target_memkb".into(), json!(target_memkb));

    for ctl in devices(def, "controller").filter(|c| c.attr("type") == Some("xenbus")) {
        if let Some(v) = ctl
            .attr("maxEventChannels")
            .and_then(num)
            .filter(|v| *v > 0)
        {
            b.insert("event_channels".into(), json!(v));
        }
        if let Some(v) = ctl.attr("maxGrantFrames").and_then(num).filter(|v| *v > 0) {
            b.insert("max_grant_frames".into(), json!(v));
        }
    }

    let cpu = other(def, "cpu");
    if hvm || pvh {
        cpu_policy_into(def, opts, cpu, &mut b)?;
    }

    if hvm {
        hvm_boot_into(def, opts, &mut b, &mut hvm_info)?;
    } else if pvh {
        pvh_boot_into(def, &mut b);
    } else {
        b.insert("type.pv".into(), pv_info(def));
    }

    if let Some(mb) = devices(def, "memballoon").next() {
        match mb.attr("model") {
            Some("xen") | None => {}
            Some("none") => return Err(unsupported("balloon device cannot be disabled")),
            Some(m) => {
                return Err(unsupported(format!(
                    "unsupported balloon device model '{m}'"
                )))
            }
        }
    }
    let shadow = opts
        .shadow_memkb
        .unwrap_or_else(|| required_shadow_memory(max_memkb, u64::from(max_vcpus)));
    b.insert("shadow_memkb".into(), json!(shadow));
    if let Some(cl) = def.other.iter().find(|e| e.local_name() == "commandline") {
        let args: Vec<Value> = cl
            .elements()
            .filter(|e| e.local_name() == "arg")
            .filter_map(|e| e.attr("value").map(|v| json!(v)))
            .collect();
        if !args.is_empty() {
            b.insert("extra".into(), Value::Array(args));
        }
    }

    vnuma_into(cpu, opts, &mut b)?;

    // Disks.
    let mut disks = Vec::new();
    for d in devices(def, "disk") {
        disks.push(make_disk(d)?);
    }
    if !disks.is_empty() {
        root.insert("disks".into(), Value::Array(disks));
    }

    // NICs and the PCI devices of hostdev interfaces.
    let mut nics = Vec::new();
    let mut pcidevs = Vec::new();
    for n in devices(def, "interface") {
        if n.attr("type") == Some("hostdev") {
            if let Some(a) = n.child("source").and_then(|s| s.child("address")) {
                pcidevs.push(make_pci(a, None));
            }
            continue;
        }
        let devid = nics.len();
        nics.push(make_nic(def, n, devid)?);
    }
    if !nics.is_empty() {
        root.insert("nics".into(), Value::Array(nics));
    }

    // Graphics.
    let graphics: Vec<&Element> = devices(def, "graphics").collect();
    let mut vfbs = Vec::new();
    let mut vkbs = Vec::new();
    let mut next_port = opts.vnc_autoport;
    for g in &graphics {
        vkbs.push(json!({"devid": -1}));
        vfbs.push(make_vfb(g, &mut next_port));
    }
    if hvm && !graphics.is_empty() {
        if let Some(sp) = graphics.iter().find(|g| g.attr("type") == Some("spice")) {
            let (spice, keymap) = make_spice(sp, &mut next_port);
            hvm_info.insert("spice".into(), spice);
            if let Some(k) = keymap {
                hvm_info.insert("keymap".into(), json!(k));
            }
        } else if let Some(Value::Object(v)) = vfbs.first() {
            if let Some(Value::Object(vnc)) = v.get("vnc") {
                if vnc.get("enable") == Some(&defbool(true)) {
                    hvm_info.insert("vnc".into(), Value::Object(vnc.clone()));
                }
            }
            if let Some(Value::Object(sdl)) = v.get("sdl") {
                if sdl.get("enable") == Some(&defbool(true)) {
                    hvm_info.insert("sdl".into(), Value::Object(sdl.clone()));
                }
            }
            if let Some(k) = v.get("keymap") {
                hvm_info.insert("keymap".into(), k.clone());
            }
        }
    }
    if !vfbs.is_empty() {
        root.insert("vfbs".into(), Value::Array(vfbs));
        root.insert("vkbs".into(), Value::Array(vkbs));
    }

    for h in devices(def, "hostdev") {
        if h.attr("mode").unwrap_or("subsystem") != "subsystem" || h.attr("type") != Some("pci") {
            continue;
        }
        let src = h.child("source");
        if let Some(a) = src.and_then(|s| s.child("address")) {
            pcidevs.push(make_pci(a, src.and_then(|s| s.attr("writeFiltering"))));
        }
    }
    if !pcidevs.is_empty() {
        root.insert("pcidevs".into(), Value::Array(pcidevs));
    }

    // Video (HVM only).
    if hvm {
        hvm_video_into(def, &graphics, &mut b, &mut hvm_info)?;
        b.insert("type.hvm".into(), Value::Object(hvm_info));
    } else if pvh {
        b.insert("type.pvh".into(), json!({}));
    }
    b.insert("arch_arm".into(), json!({}));
    root.insert("b_info".into(), Value::Object(b));

    for (key, action) in [
        ("on_poweroff", &def.on_poweroff),
        ("on_reboot", &def.on_reboot),
        ("on_crash", &def.on_crash),
    ] {
        let a = lifecycle(action);
        if a != "destroy" {
            root.insert(key.into(), json!(a));
        }
    }
    Ok(Value::Object(root))
}

/// `c_info`: the domain's type, HAP and passthrough settings, name, UUID.
fn create_info(def: &DomainDef, hvm: bool, pvh: bool) -> Value {
    let mut c_info = Map::new();
    c_info.insert(
        "type".into(),
        json!(if hvm {
            "hvm"
        } else if pvh {
            "pvh"
        } else {
            "pv"
        }),
    );
    if hvm || pvh {
        if let Some(h) = feature_state(def, "hap") {
            c_info.insert("hap".into(), defbool(h));
        }
    }
    if let Some(xen) = feature(def, "xen").filter(|x| x.attr("state").is_none_or(|s| s == "on")) {
        if let Some(pt) = xen.child("passthrough") {
            let v = match (pt.attr("state"), pt.attr("mode")) {
                (Some("off"), _) => Some("disabled"),
                (_, Some("sync_pt")) => Some("sync_pt"),
                (_, Some("share_pt")) => Some("share_pt"),
                (Some("on") | None, _) => Some("enabled"),
                _ => None,
            };
            if let Some(v) = v {
                c_info.insert("passthrough".into(), json!(v));
            }
        }
    }
    c_info.insert("name".into(), json!(def.name));
    c_info.insert("uuid".into(), json!(def.uuid.to_string()));
    Value::Object(c_info)
}

/// The clock offset and timers.
fn clock_into(
    def: &DomainDef,
    hvm: bool,
    b: &mut Map<String, Value>,
    hvm_info: &mut Map<String, Value>,
) -> Result<(), XenConfigError> {
    let offset = def.clock.attr("offset").unwrap_or("utc");
    let adjustment = def.clock.attr("adjustment").filter(|a| *a != "reset");
    let (offset, basis) = match (offset, adjustment) {
        ("utc" | "localtime", Some(_)) => ("variable", offset),
        ("variable", _) => ("variable", def.clock.attr("basis").unwrap_or("utc")),
        (o, _) => (o, "utc"),
    };
    match offset {
        "variable" => {
            if basis == "localtime" {
                b.insert("localtime".into(), defbool(true));
            }
            let adj: i64 = adjustment.and_then(|a| a.parse().ok()).unwrap_or(0);
            if adj != 0 {
                b.insert("rtc_timeoffset".into(), json!(adj));
            }
        }
        "localtime" => {
            b.insert("localtime".into(), defbool(true));
        }
        "utc" => {}
        o => return Err(unsupported(format!("unsupported clock offset '{o}'"))),
    }
    for t in def.clock.children_named("timer") {
        match t.attr("name").unwrap_or("") {
            "tsc" => {
                let m = match t.attr("mode") {
                    Some("native") => "native",
                    Some("paravirt") => "native_paravirt",
                    Some("emulate") => "always_emulate",
                    _ => "default",
                };
                if m != "default" {
                    b.insert("tsc_mode".into(), json!(m));
                }
            }
            "hpet" => {
                if !hvm {
                    return Err(unsupported("unsupported timer type (name) 'hpet'"));
                }
                if t.attr("present") == Some("yes") {
                    hvm_info.insert("hpet".into(), defbool(true));
                }
            }
            n => return Err(unsupported(format!("unsupported timer type (name) '{n}'"))),
        }
    }

    Ok(())
}

/// A host-passthrough CPU's feature policy: CPUID overrides and nested
/// virtualisation (HVM and PVH).
fn cpu_policy_into(
    def: &DomainDef,
    opts: &LibxlOptions,
    cpu: Option<&Element>,
    b: &mut Map<String, Value>,
) -> Result<(), XenConfigError> {
    if let Some(cpu) = cpu.filter(|c| c.attr("mode") == Some("host-passthrough")) {
        let x86 = matches!(def.os.arch.as_deref(), Some("x86_64" | "i686") | None);
        let (vmx, svm) = if x86 {
            (opts.host_vmx, opts.host_svm)
        } else {
            (false, false)
        };
        let mut hw_virt = x86 && opts.nested_hvm && (vmx || svm);
        let mut cpuid = CpuidPolicy::default();
        for f in cpu.children_named("feature") {
            let name = f.attr("name").unwrap_or("");
            let is_virt = (vmx && name == "vmx") || (svm && name == "svm");
            match f.attr("policy").unwrap_or("require") {
                "disable" | "forbid" => {
                    if is_virt {
                        hw_virt = false;
                        continue;
                    }
                    cpuid.set(translate_cpu_feature(name, false), false, name)?;
                }
                "force" | "require" => {
                    if is_virt {
                        hw_virt = true;
                        continue;
                    }
                    cpuid.set(translate_cpu_feature(name, false), true, name)?;
                }
                _ => {}
            }
        }
        if !cpuid.leaves.is_empty() {
            b.insert("cpuid".into(), cpuid.to_json());
        }
        b.insert("nested_hvm".into(), defbool(hw_virt));
    }
    Ok(())
}

/// An HVM guest's features, boot order, kernel, firmware, device model,
/// serial ports and USB input devices.
fn hvm_boot_into(
    def: &DomainDef,
    opts: &LibxlOptions,
    b: &mut Map<String, Value>,
    hvm_info: &mut Map<String, Value>,
) -> Result<(), XenConfigError> {
    hvm_info.insert(
        "pae".into(),
        defbool(
            feature_state(def, "pae") == Some(true) || def.os.arch.as_deref() == Some("x86_64"),
        ),
    );
    b.insert(
        "apic".into(),
        defbool(feature_state(def, "apic") == Some(true)),
    );
    b.insert(
        "acpi".into(),
        defbool(feature_state(def, "acpi") == Some(true)),
    );
    if let Some(t) = def
        .os
        .other
        .iter()
        .find(|e| e.name == "acpi")
        .and_then(|a| {
            a.children_named("table")
                .find(|t| t.attr("type") == Some("slic"))
        })
    {
        hvm_info.insert("acpi_firmware".into(), json!(t.text()));
    }
    if let Some(m) = devices(def, "sound").next().and_then(|s| s.attr("model")) {
        hvm_info.insert("soundhw".into(), json!(if m == "ich6" { "hda" } else { m }));
    }
    let boot: String = if def.os.boot_devs.is_empty() {
        "c".into()
    } else {
        def.os
            .boot_devs
            .iter()
            .map(|d| match d.as_str() {
                "fd" => 'a',
                "cdrom" => 'd',
                "network" => 'n',
                _ => 'c',
            })
            .collect()
    };
    hvm_info.insert("boot".into(), json!(boot));
    insert_opt(b, "cmdline", def.os.boot.cmdline.as_deref());
    insert_opt(b, "kernel", def.os.boot.kernel.as_deref());
    insert_opt(b, "ramdisk", def.os.boot.initrd.as_deref());
    let loader = def.os.other.iter().find(|e| e.name == "loader");
    if def.os.boot.firmware.as_deref() == Some("efi") {
        let path = loader
            .map(|l| l.text().trim().to_string())
            .filter(|p| !p.is_empty())
            .unwrap_or_else(|| opts.ovmf_path.clone());
        hvm_info.insert("bios".into(), json!("ovmf"));
        hvm_info.insert("system_firmware".into(), json!(path));
    } else if let Some(l) = loader.filter(|l| l.attr("type") == Some("pflash")) {
        hvm_info.insert("bios".into(), json!("ovmf"));
        hvm_info.insert("system_firmware".into(), json!(l.text().trim()));
    }
    if let Some(e) = &def.emulator {
        b.insert("device_model".into(), json!(e));
        b.insert("device_model_version".into(), json!(emulator_type(def)));
    }
    let mut serials: Vec<&Element> = devices(def, "serial").collect();
    let compat_console;
    if serials.is_empty() {
        // An HVM console without a serial port is the serial port.
        if let Some(c) = devices(def, "console").find(|c| {
            c.child("target")
                .and_then(|t| t.attr("type"))
                .is_none_or(|t| t == "serial")
        }) {
            compat_console = c.clone();
            serials.push(&compat_console);
        }
    }
    match serials.len() {
        0 => {}
        1 => {
            hvm_info.insert("serial".into(), json!(chrdev_str(serials[0])?));
        }
        _ => {
            let list: Result<Vec<Value>, _> = serials
                .iter()
                .map(|s| chrdev_str(s).map(Value::String))
                .collect();
            hvm_info.insert("serial_list".into(), Value::Array(list?));
        }
    }
    if devices(def, "parallel").next().is_some() {
        return Err(unsupported("Parallel devices are not supported by libxl"));
    }
    hvm_info.insert("vnc".into(), json!({"enable": "False"}));
    hvm_info.insert("sdl".into(), json!({"enable": "False"}));
    let mut usbdevs = Vec::new();
    for i in devices(def, "input").filter(|i| i.attr("bus") == Some("usb")) {
        match i.attr("type") {
            Some("mouse") => usbdevs.push(json!("mouse")),
            Some("tablet") => usbdevs.push(json!("tablet")),
            _ => return Err(unsupported("Unknown input device type")),
        }
    }
    if !usbdevs.is_empty() {
        hvm_info.insert("usbdevice_list".into(), Value::Array(usbdevs));
    }
    Ok(())
}

/// A PVH guest's kernel and bootloader.
fn pvh_boot_into(def: &DomainDef, b: &mut Map<String, Value>) {
    insert_opt(b, "cmdline", def.os.boot.cmdline.as_deref());
    insert_opt(b, "kernel", def.os.boot.kernel.as_deref());
    insert_opt(b, "ramdisk", def.os.boot.initrd.as_deref());
    insert_opt(b, "bootloader", def.os.boot.bootloader.as_deref());
    if let Some(a) = &def.os.boot.bootloader_args {
        b.insert("bootloader_args".into(), split_args(a));
    }
}

/// `type.pv`: a PV guest's bootloader, kernel and e820 setting.
fn pv_info(def: &DomainDef) -> Value {
    let mut pv = Map::new();
    if let Some(bl) = &def.os.boot.bootloader {
        pv.insert("bootloader".into(), json!(bl));
    } else if def.os.boot.kernel.is_none() {
        pv.insert("bootloader".into(), json!(BOOTLOADER_PATH));
    }
    if let Some(a) = &def.os.boot.bootloader_args {
        pv.insert("bootloader_args".into(), split_args(a));
    }
    insert_opt(&mut pv, "cmdline", def.os.boot.cmdline.as_deref());
    insert_opt(&mut pv, "kernel", def.os.boot.kernel.as_deref());
    insert_opt(&mut pv, "ramdisk", def.os.boot.initrd.as_deref());
    if let Some(xen) = feature(def, "xen").filter(|x| x.attr("state").is_none_or(|s| s == "on")) {
        if let Some(e) = xen.child("e820_host") {
            pv.insert("e820_host".into(), defbool(e.attr("state") == Some("on")));
        }
    }
    Value::Object(pv)
}

/// The guest NUMA topology of `<cpu><numa>`.
fn vnuma_into(
    cpu: Option<&Element>,
    opts: &LibxlOptions,
    b: &mut Map<String, Value>,
) -> Result<(), XenConfigError> {
    if let Some(numa) = cpu.and_then(|c| c.child("numa")) {
        let cells: Vec<&Element> = numa.children_named("cell").collect();
        if !cells.is_empty() {
            let simulate = cells.len() > opts.nr_nodes;
            let mut nodes = Vec::new();
            for (i, cell) in cells.iter().enumerate() {
                let mut n = Map::new();
                n.insert("memkb".into(), json!(crate::numa::cell_kib(cell)));
                let dists: Vec<Value> = (0..cells.len())
                    .map(|j| json!(crate::numa::distance(&cells, i, j)))
                    .collect();
                n.insert("distances".into(), Value::Array(dists));
                let pnode = if simulate { 0 } else { i };
                if pnode != 0 {
                    n.insert("pnode".into(), json!(pnode));
                }
                let cpus = cell.attr("cpus").unwrap_or("");
                let ids = parse_bitmap(cpus, 4096)
                    .filter(|v| !v.is_empty())
                    .ok_or_else(|| {
                        XenConfigError::internal(format!("vnuma sibling {i} missing vcpus set"))
                            .in_domain(FROM_LIBXL)
                    })?;
                n.insert(
                    "vcpus".into(),
                    Value::Array(ids.iter().map(|v| json!(v)).collect()),
                );
                nodes.push(Value::Object(n));
            }
            b.insert("vnuma_nodes".into(), Value::Array(nodes));
        }
    }
    Ok(())
}

/// An HVM guest's emulated video card (or none) and its memory.
fn hvm_video_into(
    def: &DomainDef,
    graphics: &[&Element],
    b: &mut Map<String, Value>,
    hvm_info: &mut Map<String, Value>,
) -> Result<(), XenConfigError> {
    let video = devices(def, "video").next().and_then(|v| v.child("model"));
    let implicit = video.is_none() && !graphics.is_empty();
    let traditional = emulator_type(def) == "qemu_xen_traditional";
    if video.is_some() || implicit {
        let ty = video.and_then(|m| m.attr("type")).unwrap_or("cirrus");
        let vram = video
            .and_then(|m| m.attr("vram"))
            .and_then(|v| v.parse::<u64>().ok())
            .filter(|v| *v > 0);
        let (kind, min, default) = match ty {
            "vga" | "xen" => (
                "std",
                if traditional { 8192 } else { 16384 },
                if traditional { 8192 } else { 16384 },
            ),
            "cirrus" => (
                "cirrus",
                if traditional { 4096 } else { 8192 },
                if traditional { 4096 } else { 8192 },
            ),
            "qxl" => ("qxl", 128 * 1024, 128 * 1024),
            t => {
                return Err(unsupported(format!(
                    "video type {t} is not supported by libxl"
                )))
            }
        };
        let vram = vram.unwrap_or(default);
        if vram < min {
            let what = match kind {
                "std" => "VGA",
                "cirrus" => "CIRRUS",
                _ => "QXL",
            };
            return Err(unsupported(format!(
                "videoram must be at least {}MB for {what}",
                min / 1024
            )));
        }
        hvm_info.insert("vga".into(), json!({ "kind": kind }));
        b.insert("video_memkb".into(), json!(vram));
    } else {
        hvm_info.insert("nographic".into(), defbool(true));
        hvm_info.insert("vga".into(), json!({"kind": "none"}));
    }
    hvm_info.entry("spice").or_insert_with(|| json!({}));
    hvm_info.insert("rdm".into(), json!({}));
    Ok(())
}

fn insert_opt(m: &mut Map<String, Value>, key: &str, v: Option<&str>) {
    if let Some(v) = v {
        m.insert(key.into(), json!(v));
    }
}

fn split_args(s: &str) -> Value {
    Value::Array(
        s.split([' ', '\t', '\n'])
            .filter(|a| !a.is_empty())
            .map(|a| json!(a))
            .collect(),
    )
}

/// A character device as libxl's `serial` string.
fn chrdev_str(chr: &Element) -> Result<String, XenConfigError> {
    let ty = chr.attr("type").unwrap_or("pty");
    let src = chr.child("source");
    let path = src.and_then(|s| s.attr("path")).unwrap_or("");
    Ok(match ty {
        "null" | "stdio" | "vc" | "pty" => ty.to_string(),
        "file" | "pipe" => format!("{ty}:{path}"),
        "dev" => path.to_string(),
        "tcp" => {
            let telnet = chr.child("protocol").and_then(|p| p.attr("type")) == Some("telnet");
            let listen = src.and_then(|s| s.attr("mode")) == Some("bind");
            format!(
                "{}:{}:{}{}",
                if telnet { "telnet" } else { "tcp" },
                src.and_then(|s| s.attr("host")).unwrap_or(""),
                src.and_then(|s| s.attr("service")).unwrap_or(""),
                if listen { ",server,nowait" } else { "" }
            )
        }
        "udp" => {
            let sources: Vec<&Element> = chr.children_named("source").collect();
            let conn = sources.iter().find(|s| s.attr("mode") != Some("bind"));
            let bind = sources.iter().find(|s| s.attr("mode") == Some("bind"));
            format!(
                "udp:{}:{}@{}:{}",
                conn.and_then(|s| s.attr("host")).unwrap_or(""),
                conn.and_then(|s| s.attr("service")).unwrap_or(""),
                bind.and_then(|s| s.attr("host")).unwrap_or(""),
                bind.and_then(|s| s.attr("service")).unwrap_or("")
            )
        }
        "unix" => {
            let listen = src.and_then(|s| s.attr("mode")) == Some("bind");
            format!("unix:{path}{}", if listen { ",server,nowait" } else { "" })
        }
        t => return Err(unsupported(format!("unsupported chardev '{t}'"))),
    })
}

fn make_disk(d: &Element) -> Result<Value, XenConfigError> {
    let mut m = Map::new();
    let ty = d.attr("type").unwrap_or("file");
    let src = d.child("source");
    let path = match ty {
        "file" => src.and_then(|s| s.attr("file")),
        "block" => src.and_then(|s| s.attr("dev")),
        "dir" => src.and_then(|s| s.attr("dir")),
        "network" => {
            return Err(XenConfigError::new(
                crate::error::ERR_NO_SUPPORT,
                "network disks need the host's storage configuration",
            )
            .in_domain(FROM_LIBXL))
        }
        _ => None,
    };
    insert_opt(&mut m, "pdev_path", path);
    let dst = d.child("target").and_then(|t| t.attr("dev")).unwrap_or("");
    m.insert("vdev".into(), json!(dst));
    let drv = d.child("driver");
    let driver = drv.and_then(|x| x.attr("name"));
    // The libxl driver defaults the format to raw.
    let format = drv.and_then(|x| x.attr("type")).unwrap_or("raw");
    let bad = || {
        XenConfigError::internal(format!(
            "libxenlight does not support disk format {format} with disk driver {}",
            driver.unwrap_or("")
        ))
        .in_domain(FROM_LIBXL)
    };
    let (fmt, backend) = match driver {
        Some("tap" | "tap2") => match format {
            "qcow" => ("qcow", "qdisk"),
            "qcow2" => ("qcow2", "qdisk"),
            "vhd" => ("vhd", "tap"),
            "raw" => ("raw", "tap"),
            "qed" => ("qed", "qdisk"),
            _ => return Err(bad()),
        },
        Some("qemu") => (
            match format {
                "qcow" | "qcow2" | "qed" | "vhd" | "raw" => format,
                _ => return Err(bad()),
            },
            "qdisk",
        ),
        Some("file") if format == "raw" => ("raw", "qdisk"),
        Some("phy") if format == "raw" => ("raw", "phy"),
        Some("file" | "phy") => return Err(bad()),
        Some(other) => {
            return Err(XenConfigError::internal(format!(
                "libxenlight does not support disk driver {other}"
            ))
            .in_domain(FROM_LIBXL))
        }
        None => ("raw", "unknown"),
    };
    if backend != "unknown" {
        m.insert("backend".into(), json!(backend));
    }
    let cdrom = d.attr("device") == Some("cdrom");
    let fmt = if cdrom && path.is_none() {
        "empty"
    } else {
        fmt
    };
    m.insert("format".into(), json!(fmt));
    m.insert("removable".into(), json!(1));
    // CD-ROMs are always read-only.
    if !(cdrom || d.child("readonly").is_some()) {
        m.insert("readwrite".into(), json!(1));
    }
    if cdrom {
        m.insert("is_cdrom".into(), json!(1));
    }
    if let Some(disc) = drv.and_then(|x| x.attr("discard")) {
        m.insert("discard_enable".into(), defbool(disc == "unmap"));
    }
    if d.child("transient").is_some() {
        return Err(
            XenConfigError::internal("libxenlight does not support transient disks")
                .in_domain(FROM_LIBXL),
        );
    }
    if let Some(dn) = d.child("backenddomain").and_then(|b| b.attr("name")) {
        m.insert("backend_domname".into(), json!(dn));
    }
    Ok(Value::Object(m))
}

fn make_nic(def: &DomainDef, n: &Element, devid: usize) -> Result<Value, XenConfigError> {
    let ty = n.attr("type").unwrap_or("");
    let script = n.child("script").and_then(|s| s.attr("path"));
    if script.is_some() && !(ty == "bridge" || ty == "ethernet") {
        return Err(unsupported(
            "specifying a script is only supported with interface types bridge and ethernet",
        ));
    }
    let mut m = Map::new();
    m.insert("devid".into(), json!(devid));
    if let Some(mac) = n.child("mac").and_then(|x| x.attr("address")) {
        m.insert("mac".into(), json!(mac.to_ascii_lowercase()));
    }
    let pv = matches!(def.os.os_type.as_str(), "xen" | "linux" | "xenpvh");
    match n.child("model").and_then(|x| x.attr("type")) {
        Some(model) => {
            if pv && model != "netfront" {
                return Err(unsupported(
                    "only model 'netfront' is supported for Xen PV(H) domains",
                ));
            }
            m.insert("model".into(), json!(model));
            m.insert(
                "nictype".into(),
                json!(if model == "netfront" {
                    "vif"
                } else {
                    "vif_ioemu"
                }),
            );
        }
        None => {
            m.insert(
                "nictype".into(),
                json!(if def.os.os_type == "hvm" {
                    "vif_ioemu"
                } else {
                    "vif"
                }),
            );
        }
    }
    insert_opt(
        &mut m,
        "ifname",
        n.child("target").and_then(|t| t.attr("dev")),
    );
    let ips: Vec<&str> = n
        .children_named("ip")
        .filter_map(|i| i.attr("address"))
        .collect();
    match ty {
        "bridge" | "ethernet" => {
            let mut script = script.map(str::to_string);
            if ty == "bridge" {
                let mut br = n
                    .child("source")
                    .and_then(|s| s.attr("bridge"))
                    .unwrap_or("")
                    .to_string();
                if n.child("virtualport")
                    .is_some_and(|v| v.attr("type") == Some("openvswitch"))
                {
                    if script.is_none() {
                        script = Some("vif-openvswitch".into());
                    }
                    br.push_str(&crate::format::ovs_vlan_suffix(n));
                }
                m.insert("bridge".into(), json!(br));
            }
            insert_opt(&mut m, "script", script.as_deref());
            if !ips.is_empty() {
                m.insert("ip".into(), json!(ips.join(" ")));
            }
        }
        // A NIC on a virtual network: the driver has taken its port, whose
        // bridge the live <source> names (libvirt asks the network for
        // its bridge the same way).
        "network" => {
            let src = n.child("source");
            let name = src.and_then(|s| s.attr("network")).unwrap_or("");
            let br = src.and_then(|s| s.attr("bridge")).ok_or_else(|| {
                XenConfigError::internal(format!(
                    "network '{name}' has not given the interface a bridge"
                ))
                .in_domain(FROM_LIBXL)
            })?;
            m.insert("bridge".into(), json!(br));
            if !ips.is_empty() {
                m.insert("ip".into(), json!(ips.join(" ")));
            }
        }
        t => return Err(unsupported(format!("unsupported interface type {t}"))),
    }
    if let Some(avg) = n
        .child("bandwidth")
        .and_then(|b| b.child("outbound"))
        .and_then(|o| o.attr("average"))
        .and_then(|a| a.parse::<u64>().ok())
        .filter(|a| *a > 0)
    {
        let bytes_per_sec = avg.saturating_mul(1024);
        m.insert(
            "rate_bytes_per_interval".into(),
            json!(bytes_per_sec.saturating_mul(50_000) / 1_000_000),
        );
        m.insert("rate_interval_usecs".into(), json!(50_000));
    }
    Ok(Value::Object(m))
}

fn listen_address(g: &Element) -> Option<&str> {
    match g.children_named("listen").next() {
        Some(l) => l.attr("address"),
        None => g.attr("listen"),
    }
}

fn make_vfb(g: &Element, next_port: &mut i64) -> Value {
    let mut m = Map::new();
    m.insert("devid".into(), json!(-1));
    match g.attr("type") {
        Some("sdl") => {
            let mut sdl = Map::new();
            sdl.insert("enable".into(), defbool(true));
            sdl.insert("opengl".into(), defbool(false));
            insert_opt(&mut sdl, "display", g.attr("display"));
            insert_opt(&mut sdl, "xauthority", g.attr("xauth"));
            m.insert("vnc".into(), json!({"enable": "False"}));
            m.insert("sdl".into(), Value::Object(sdl));
        }
        Some("vnc") => {
            let mut vnc = Map::new();
            vnc.insert("enable".into(), defbool(true));
            let autoport =
                g.attr("autoport") == Some("yes") || g.attr("port").is_none_or(|p| p == "-1");
            let port = if autoport {
                let p = *next_port;
                *next_port += 1;
                p
            } else {
                g.attr("port")
                    .and_then(|p| p.parse().ok())
                    .unwrap_or(VNC_PORT_MIN)
            };
            if port - VNC_PORT_MIN != 0 {
                vnc.insert("display".into(), json!(port - VNC_PORT_MIN));
            }
            insert_opt(&mut vnc, "listen", listen_address(g));
            insert_opt(&mut vnc, "passwd", g.attr("passwd"));
            vnc.insert("findunused".into(), defbool(false));
            m.insert("vnc".into(), Value::Object(vnc));
            m.insert("sdl".into(), json!({"enable": "False"}));
            insert_opt(&mut m, "keymap", g.attr("keymap"));
        }
        _ => {}
    }
    Value::Object(m)
}

fn make_spice(g: &Element, next_port: &mut i64) -> (Value, Option<String>) {
    let mut s = Map::new();
    s.insert("enable".into(), defbool(true));
    let port = if g.attr("autoport") == Some("yes") || g.attr("port").is_none() {
        let p = *next_port;
        *next_port += 1;
        p
    } else {
        g.attr("port").and_then(|p| p.parse().ok()).unwrap_or(0)
    };
    s.insert("port".into(), json!(port));
    if g.children_named("listen").next().is_some() || g.attr("listen").is_some() {
        s.insert(
            "host".into(),
            json!(listen_address(g).unwrap_or("127.0.0.1")),
        );
    }
    match g.attr("passwd") {
        Some(p) => {
            s.insert("passwd".into(), json!(p));
            s.insert("disable_ticketing".into(), defbool(false));
        }
        None => {
            s.insert("disable_ticketing".into(), defbool(true));
        }
    }
    let mouse = g.child("mouse").and_then(|m| m.attr("mode"));
    s.insert("agent_mouse".into(), defbool(mouse != Some("server")));
    let copy = g.child("clipboard").and_then(|c| c.attr("copypaste")) == Some("yes");
    s.insert("vdagent".into(), defbool(copy));
    s.insert("clipboard_sharing".into(), defbool(copy));
    (Value::Object(s), g.attr("keymap").map(str::to_string))
}

fn make_pci(addr: &Element, write_filtering: Option<&str>) -> Value {
    let mut m = Map::new();
    let get = |k: &str| addr.attr(k).and_then(num).unwrap_or(0);
    if get("domain") != 0 {
        m.insert("domain".into(), json!(get("domain")));
    }
    m.insert("dev".into(), json!(get("slot")));
    m.insert("bus".into(), json!(get("bus")));
    if get("function") != 0 {
        m.insert("func".into(), json!(get("function")));
    }
    if write_filtering == Some("no") {
        m.insert("permissive".into(), json!(true));
    }
    m.insert("rdm_policy".into(), json!("invalid"));
    Value::Object(m)
}

/// The CPUID leaf, register and bit of the features libxl knows by name.
const CPUID_BITS: &[(&str, u32, Option<u32>, &str, u32)] = &[
    ("sse3", 1, None, "ecx", 0),
    ("pclmulqdq", 1, None, "ecx", 1),
    ("dtes64", 1, None, "ecx", 2),
    ("monitor", 1, None, "ecx", 3),
    ("dscpl", 1, None, "ecx", 4),
    ("vmx", 1, None, "ecx", 5),
    ("smx", 1, None, "ecx", 6),
    ("est", 1, None, "ecx", 7),
    ("tm2", 1, None, "ecx", 8),
    ("ssse3", 1, None, "ecx", 9),
    ("cntxid", 1, None, "ecx", 10),
    ("fma", 1, None, "ecx", 12),
    ("cmpxchg16", 1, None, "ecx", 13),
    ("xtpr", 1, None, "ecx", 14),
    ("pdcm", 1, None, "ecx", 15),
    ("pcid", 1, None, "ecx", 17),
    ("dca", 1, None, "ecx", 18),
    ("sse4_1", 1, None, "ecx", 19),
    ("sse4_2", 1, None, "ecx", 20),
    ("x2apic", 1, None, "ecx", 21),
    ("movbe", 1, None, "ecx", 22),
    ("popcnt", 1, None, "ecx", 23),
    ("tsc-deadline", 1, None, "ecx", 24),
    ("aes", 1, None, "ecx", 25),
    ("xsave", 1, None, "ecx", 26),
    ("osxsave", 1, None, "ecx", 27),
    ("avx", 1, None, "ecx", 28),
    ("f16c", 1, None, "ecx", 29),
    ("rdrand", 1, None, "ecx", 30),
    ("hypervisor", 1, None, "ecx", 31),
    ("fpu", 1, None, "edx", 0),
    ("vme", 1, None, "edx", 1),
    ("de", 1, None, "edx", 2),
    ("pse", 1, None, "edx", 3),
    ("tsc", 1, None, "edx", 4),
    ("msr", 1, None, "edx", 5),
    ("pae", 1, None, "edx", 6),
    ("mce", 1, None, "edx", 7),
    ("cmpxchg8", 1, None, "edx", 8),
    ("apic", 1, None, "edx", 9),
    ("sysenter", 1, None, "edx", 11),
    ("mtrr", 1, None, "edx", 12),
    ("pge", 1, None, "edx", 13),
    ("mca", 1, None, "edx", 14),
    ("cmov", 1, None, "edx", 15),
    ("pat", 1, None, "edx", 16),
    ("pse36", 1, None, "edx", 17),
    ("psn", 1, None, "edx", 18),
    ("clfsh", 1, None, "edx", 19),
    ("ds", 1, None, "edx", 21),
    ("acpi", 1, None, "edx", 22),
    ("mmx", 1, None, "edx", 23),
    ("fxsr", 1, None, "edx", 24),
    ("sse", 1, None, "edx", 25),
    ("sse2", 1, None, "edx", 26),
    ("ss", 1, None, "edx", 27),
    ("htt", 1, None, "edx", 28),
    ("tm", 1, None, "edx", 29),
    ("ia64", 1, None, "edx", 30),
    ("pbe", 1, None, "edx", 31),
    ("fsgsbase", 7, Some(0), "ebx", 0),
    ("tsc_adjust", 7, Some(0), "ebx", 1),
    ("bmi1", 7, Some(0), "ebx", 3),
    ("hle", 7, Some(0), "ebx", 4),
    ("avx2", 7, Some(0), "ebx", 5),
    ("smep", 7, Some(0), "ebx", 7),
    ("bmi2", 7, Some(0), "ebx", 8),
    ("erms", 7, Some(0), "ebx", 9),
    ("invpcid", 7, Some(0), "ebx", 10),
    ("rtm", 7, Some(0), "ebx", 11),
    ("mpx", 7, Some(0), "ebx", 14),
    ("avx512f", 7, Some(0), "ebx", 16),
    ("avx512dq", 7, Some(0), "ebx", 17),
    ("rdseed", 7, Some(0), "ebx", 18),
    ("adx", 7, Some(0), "ebx", 19),
    ("smap", 7, Some(0), "ebx", 20),
    ("clflushopt", 7, Some(0), "ebx", 23),
    ("clwb", 7, Some(0), "ebx", 24),
    ("sha", 7, Some(0), "ebx", 29),
    ("umip", 7, Some(0), "ecx", 2),
    ("pku", 7, Some(0), "ecx", 3),
    ("ibrsb", 7, Some(0), "edx", 26),
    ("stibp", 7, Some(0), "edx", 27),
    ("l1d_flush", 7, Some(0), "edx", 28),
    ("arch_caps", 7, Some(0), "edx", 29),
    ("ssbd", 7, Some(0), "edx", 31),
    ("lahfsahf", 0x8000_0001, None, "ecx", 0),
    ("cmplegacy", 0x8000_0001, None, "ecx", 1),
    ("svm", 0x8000_0001, None, "ecx", 2),
    ("extapic", 0x8000_0001, None, "ecx", 3),
    ("altmovcr8", 0x8000_0001, None, "ecx", 4),
    ("abm", 0x8000_0001, None, "ecx", 5),
    ("sse4a", 0x8000_0001, None, "ecx", 6),
    ("misalignsse", 0x8000_0001, None, "ecx", 7),
    ("3dnowprefetch", 0x8000_0001, None, "ecx", 8),
    ("osvw", 0x8000_0001, None, "ecx", 9),
    ("ibs", 0x8000_0001, None, "ecx", 10),
    ("xop", 0x8000_0001, None, "ecx", 11),
    ("skinit", 0x8000_0001, None, "ecx", 12),
    ("wdt", 0x8000_0001, None, "ecx", 13),
    ("lwp", 0x8000_0001, None, "ecx", 15),
    ("fma4", 0x8000_0001, None, "ecx", 16),
    ("tce", 0x8000_0001, None, "ecx", 17),
    ("nodeid", 0x8000_0001, None, "ecx", 19),
    ("tbm", 0x8000_0001, None, "ecx", 21),
    ("topoext", 0x8000_0001, None, "ecx", 22),
    ("syscall", 0x8000_0001, None, "edx", 11),
    ("nx", 0x8000_0001, None, "edx", 20),
    ("mmxext", 0x8000_0001, None, "edx", 22),
    ("ffxsr", 0x8000_0001, None, "edx", 25),
    ("page1gb", 0x8000_0001, None, "edx", 26),
    ("rdtscp", 0x8000_0001, None, "edx", 27),
    ("lm", 0x8000_0001, None, "edx", 29),
    ("3dnowext", 0x8000_0001, None, "edx", 30),
    ("3dnow", 0x8000_0001, None, "edx", 31),
];

/// libxl's CPUID policy list: per leaf, a 32-character mask per register,
/// most significant bit first, 'x' meaning "default".
#[derive(Default)]
struct CpuidPolicy {
    leaves: Vec<CpuidLeaf>,
}

/// One leaf (and subleaf): its registers' masks.
type CpuidLeaf = (u32, Option<u32>, Vec<(&'static str, [u8; 32])>);

impl CpuidPolicy {
    fn set(&mut self, name: &str, on: bool, orig: &str) -> Result<(), XenConfigError> {
        let Some(&(_, leaf, sub, reg, bit)) = CPUID_BITS.iter().find(|e| e.0 == name) else {
            return Err(unsupported(format!("unsupported cpu feature '{orig}'")));
        };
        let idx = match self.leaves.iter().position(|l| l.0 == leaf && l.1 == sub) {
            Some(i) => i,
            None => {
                self.leaves.push((leaf, sub, Vec::new()));
                self.leaves.len() - 1
            }
        };
        let regs = &mut self.leaves[idx].2;
        let r = match regs.iter().position(|r| r.0 == reg) {
            Some(i) => i,
            None => {
                regs.push((reg, [b'x'; 32]));
                regs.len() - 1
            }
        };
        let pos = usize::try_from(31 - bit).unwrap_or(0);
        regs[r].1[pos] = if on { b'1' } else { b'0' };
        Ok(())
    }

    fn to_json(&self) -> Value {
        Value::Array(
            self.leaves
                .iter()
                .map(|(leaf, sub, regs)| {
                    let mut m = Map::new();
                    m.insert("leaf".into(), json!(leaf));
                    if let Some(s) = sub {
                        m.insert("subleaf".into(), json!(s));
                    }
                    for (r, bits) in regs {
                        m.insert((*r).into(), json!(String::from_utf8_lossy(bits)));
                    }
                    Value::Object(m)
                })
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shadow_memory_estimate_matches_libxl_formula() {
        assert_eq!(required_shadow_memory(1024 * 1024, 2), 4 * (512 + 2048));
    }

    #[test]
    fn cpuid_bits_are_written_msb_first() {
        let mut p = CpuidPolicy::default();
        p.set("tsc", true, "tsc").unwrap();
        p.set("sse3", false, "pni").unwrap();
        let v = p.to_json();
        assert_eq!(v[0]["edx"], json!("xxxxxxxxxxxxxxxxxxxxxxxxxxx1xxxx"));
        assert_eq!(v[0]["ecx"], json!("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx0"));
        assert!(p.set("nosuchflag", true, "nosuchflag").is_err());
    }
}

#[cfg(test)]
mod video_default_tests {
    fn video_of(xml: &str) -> String {
        let def = crate::parse_domain_xml(xml).expect("parses");
        let out = crate::domain_to_xml(&def);
        out.lines()
            .find(|l| l.contains("<model type="))
            .unwrap_or_default()
            .trim()
            .to_string()
    }

    #[test]
    fn hvm_video_without_model_is_cirrus_with_the_qemu_xen_ram() {
        let xml = "<domain type='xen'><name>v</name><memory>65536</memory>\
            <os><type arch='x86_64'>hvm</type></os><devices><video/></devices></domain>";
        assert!(video_of(xml).starts_with("<model type='cirrus' vram='8192' heads='1'"));
    }

    #[test]
    fn pv_video_without_model_is_xen() {
        let xml = "<domain type='xen'><name>v</name><memory>65536</memory>\
            <os><type>linux</type></os><devices><video><model vram='4096'/></video></devices></domain>";
        assert!(video_of(xml).starts_with("<model type='xen' vram='4096'"));
    }

    #[test]
    fn traditional_device_model_halves_vga_ram() {
        let xml = "<domain type='xen'><name>v</name><memory>65536</memory>\
            <os><type arch='x86_64'>hvm</type></os><devices>\
            <emulator>/usr/lib/xen/bin/qemu-dm</emulator>\
            <video><model type='vga'/></video></devices></domain>";
        assert!(video_of(xml).starts_with("<model type='vga' vram='8192'"));
    }
}

#[cfg(test)]
mod network_nic_tests {
    use super::*;

    fn nics(iface: &str, bridge: Option<&str>) -> Result<Value, XenConfigError> {
        let xml = format!(
            "<domain type='xen'><name>n</name><uuid>c7a5fdbd-edaf-9455-926a-d65c16db1809</uuid>\
             <memory>65536</memory><os><type>linux</type></os><devices>{iface}</devices></domain>"
        );
        let mut def = crate::parse_domain_xml(&xml).expect("parses");
        if let Some(br) = bridge {
            // What the driver records once the network gave a port.
            for d in def.devices.iter_mut().filter(|d| d.name == "interface") {
                if let Some(s) = d.child_mut("source") {
                    s.set_attr("portid", "5d2a5e4c-8b40-4f0e-9a57-2f1c3b7d9e01");
                    s.set_attr("bridge", br);
                }
            }
        }
        build_domain_config(&def, &LibxlOptions::test_harness()).map(|v| v["nics"].clone())
    }

    #[test]
    fn a_network_nic_goes_on_the_bridge_of_its_port() {
        let v = nics(
            "<interface type='network'><mac address='00:16:3e:01:02:03'/>\
             <source network='default'/></interface>",
            Some("virbr0"),
        )
        .expect("builds");
        assert_eq!(v[0]["bridge"], json!("virbr0"));
        assert_eq!(v[0]["mac"], json!("00:16:3e:01:02:03"));
        assert_eq!(v[0]["nictype"], json!("vif"));
    }

    #[test]
    fn a_network_nic_without_a_port_is_refused() {
        let e = nics(
            "<interface type='network'><source network='default'/></interface>",
            None,
        )
        .expect_err("no bridge");
        assert!(
            e.to_string().contains("network 'default' has not given"),
            "{e}"
        );
    }
}
