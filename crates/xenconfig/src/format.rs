// SPDX-License-Identifier: LGPL-2.1-or-later
//! Domain definition → native config (xenFormatXL / xenFormatXM): the
//! settings are written in libvirt's order, so the file reads the same as
//! the one libvirt writes.

use crate::error::{XenConfigError, ERR_CONFIG_UNSUPPORTED, ERR_NO_SUPPORT};
use crate::parse::{format_bitmap, parse_bitmap, translate_cpu_feature};
use crate::value::{set_int, set_list, set_str};
use crate::NativeFormat;
use conf::xml::Element;
use conf::DomainDef;
use virconf::{Conf, Value};

const DEFAULT_VIF_SCRIPT: &str = "vif-bridge";

fn is_hvm(def: &DomainDef) -> bool {
    def.os.os_type == "hvm"
}

fn other<'a>(def: &'a DomainDef, name: &str) -> Option<&'a Element> {
    def.other.iter().find(|e| e.name == name)
}

fn devices<'a>(def: &'a DomainDef, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
    def.devices.iter().filter(move |d| d.name == name)
}

fn kib_to_mib_up(k: u64) -> i64 {
    i64::try_from(k.div_ceil(1024)).unwrap_or(i64::MAX)
}

/// Parses a number written in decimal or with a 0x prefix.
fn num(s: &str) -> Option<i64> {
    let t = s.trim();
    if let Some(h) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        i64::from_str_radix(h, 16).ok()
    } else {
        t.parse().ok()
    }
}

pub(crate) fn format_native(def: &DomainDef, f: NativeFormat) -> Result<Conf, XenConfigError> {
    let mut c = Conf::new(virconf::MEMORY_CONF_NAME);
    format_common(&mut c, def, f)?;
    match f {
        NativeFormat::Xl => {
            format_xl_os(&mut c, def)?;
            format_xl_cpuid(&mut c, def);
            format_xl_vnuma(&mut c, def)?;
            format_xl_xenbus_limits(&mut c, def);
            format_disks(&mut c, def, format_xl_disk)?;
            format_xl_spice(&mut c, def);
            format_input_devs(&mut c, def, true);
            format_xl_usb(&mut c, def);
            format_xl_usbctrl(&mut c, def)?;
            format_xl_channels(&mut c, def)?;
            format_xl_ns(&mut c, def);
        }
        NativeFormat::Xm => {
            format_xm_os(&mut c, def);
            format_disks(&mut c, def, format_xm_disk)?;
            format_input_devs(&mut c, def, false);
        }
    }
    Ok(c)
}

fn format_common(c: &mut Conf, def: &DomainDef, f: NativeFormat) -> Result<(), XenConfigError> {
    set_str(c, "name", &def.name);
    set_str(c, "uuid", &def.uuid.to_string());
    set_int(c, "maxmem", kib_to_mib_up(def.memory_kib));
    set_int(c, "memory", kib_to_mib_up(def.current_memory_kib));
    if def.vcpus_current < def.vcpus_max {
        set_int(c, "maxvcpus", i64::from(def.vcpus_max));
    }
    set_int(c, "vcpus", i64::from(def.vcpus_current));
    if let Some(cs) = &def.vcpu_cpuset {
        set_str(c, "cpus", cs);
    }
    format_features(c, def)?;
    format_time_offset(c, def)?;
    set_str(c, "on_poweroff", &def.on_poweroff);
    set_str(c, "on_reboot", &def.on_reboot);
    set_str(c, "on_crash", &def.on_crash);
    if let Some(e) = &def.emulator {
        set_str(c, "device_model_override", e);
    }
    format_vfb(c, def);
    format_vifs(c, def, f)?;
    format_pci(c, def);
    format_char_devs(c, def, f)?;
    format_sound(c, def);
    Ok(())
}

fn feature_on(features: Option<&Element>, name: &str) -> bool {
    features
        .and_then(|f| f.child(name))
        .is_some_and(|e| e.attr("state").is_none_or(|s| s == "on"))
}

fn has_numa(def: &DomainDef) -> bool {
    other(def, "cpu")
        .and_then(|c| c.child("numa"))
        .is_some_and(|n| n.child("cell").is_some())
}

fn format_features(c: &mut Conf, def: &DomainDef) -> Result<(), XenConfigError> {
    let feats = other(def, "features");
    let hvm = is_hvm(def);
    let x86_64 = def.os.arch.as_deref() == Some("x86_64");
    let xen = feats.and_then(|f| f.child("xen"));
    let xen_on = xen.is_some_and(|x| x.attr("state").is_none_or(|s| s == "on"));
    if hvm {
        // The libxl driver always enables PAE on x86_64, and ACPI with vNUMA.
        let pae = feature_on(feats, "pae") || x86_64;
        let acpi = feature_on(feats, "acpi") || (x86_64 && has_numa(def));
        set_int(c, "pae", i64::from(pae));
        set_int(c, "acpi", i64::from(acpi));
        set_int(c, "apic", i64::from(feature_on(feats, "apic")));
        if feats
            .and_then(|f| f.child("hap"))
            .is_some_and(|h| h.attr("state") == Some("off"))
        {
            set_int(c, "hap", 0);
        }
        set_int(c, "viridian", i64::from(feature_on(feats, "viridian")));
    } else if xen_on
        && xen
            .and_then(|x| x.child("e820_host"))
            .is_some_and(|e| e.attr("state") == Some("on"))
    {
        set_int(c, "e820_host", 1);
    }
    if xen_on {
        if let Some(pt) = xen.and_then(|x| x.child("passthrough")) {
            if pt.attr("state") == Some("on") {
                match pt.attr("mode") {
                    Some(m @ ("sync_pt" | "share_pt")) => set_str(c, "passthrough", m),
                    _ => set_str(c, "passthrough", "enabled"),
                }
            }
        }
    }
    for t in def.clock.children_named("timer") {
        match t.attr("name").unwrap_or("") {
            "tsc" => {
                let mode = match t.attr("mode") {
                    Some("native") => "native",
                    Some("paravirt") => "native_paravirt",
                    Some("emulate") => "always_emulate",
                    _ => "default",
                };
                set_str(c, "tsc_mode", mode);
            }
            "hpet" if hvm => {
                set_int(c, "hpet", i64::from(t.attr("present") != Some("no")));
            }
            other => {
                return Err(XenConfigError::unsupported(format!(
                    "unsupported timer type (name) '{other}'"
                )))
            }
        }
    }
    Ok(())
}

fn format_time_offset(c: &mut Conf, def: &DomainDef) -> Result<(), XenConfigError> {
    let offset = def.clock.attr("offset").unwrap_or("utc");
    let reset = def.clock.attr("adjustment") == Some("reset");
    let localtime;
    if is_hvm(def) {
        let rtc: i64;
        match offset {
            "variable" => {
                localtime = def.clock.attr("basis") == Some("localtime");
                rtc = def
                    .clock
                    .attr("adjustment")
                    .and_then(|a| a.parse::<i64>().ok())
                    .unwrap_or(0);
            }
            "utc" | "localtime" => {
                if reset {
                    return Err(XenConfigError::unsupported(
                        "unsupported clock adjustment='reset'",
                    ));
                }
                localtime = offset == "localtime";
                rtc = 0;
            }
            _ => {
                return Err(XenConfigError::unsupported(format!(
                    "unsupported clock offset='{offset}'"
                )))
            }
        }
        set_int(c, "rtc_timeoffset", rtc);
    } else {
        localtime = match offset {
            "utc" => false,
            "localtime" => true,
            _ => {
                return Err(XenConfigError::unsupported(format!(
                    "unsupported clock offset='{offset}'"
                )))
            }
        };
    }
    set_int(c, "localtime", i64::from(localtime));
    Ok(())
}

fn listen_address(g: &Element) -> Option<String> {
    if let Some(l) = g.children_named("listen").next() {
        return l.attr("address").map(str::to_string);
    }
    g.attr("listen").map(str::to_string)
}

fn format_vfb(c: &mut Conf, def: &DomainDef) {
    let gs: Vec<&Element> = devices(def, "graphics").collect();
    if gs.len() != 1 || gs[0].attr("type") == Some("spice") {
        return;
    }
    let g = gs[0];
    let sdl = g.attr("type") == Some("sdl");
    let autoport = g.attr("autoport") == Some("yes");
    let port = g
        .attr("port")
        .and_then(|p| p.parse::<i64>().ok())
        .unwrap_or(0);
    if is_hvm(def) {
        if sdl {
            set_int(c, "sdl", 1);
            set_int(c, "vnc", 0);
            if let Some(d) = g.attr("display") {
                set_str(c, "display", d);
            }
            if let Some(x) = g.attr("xauth") {
                set_str(c, "xauthority", x);
            }
        } else {
            set_int(c, "sdl", 0);
            set_int(c, "vnc", 1);
            set_int(c, "vncunused", i64::from(autoport));
            if !autoport {
                set_int(c, "vncdisplay", port - 5900);
            }
            if let Some(l) = listen_address(g) {
                set_str(c, "vnclisten", &l);
            }
            if let Some(p) = g.attr("passwd") {
                set_str(c, "vncpasswd", p);
            }
            if let Some(k) = g.attr("keymap") {
                set_str(c, "keymap", k);
            }
        }
    } else {
        let mut s = String::new();
        if sdl {
            s.push_str("type=sdl");
            if let Some(d) = g.attr("display") {
                s.push_str(&format!(",display={d}"));
            }
            if let Some(x) = g.attr("xauth") {
                s.push_str(&format!(",xauthority={x}"));
            }
        } else {
            s.push_str(&format!("type=vnc,vncunused={}", i32::from(autoport)));
            if !autoport {
                s.push_str(&format!(",vncdisplay={}", port - 5900));
            }
            if let Some(l) = listen_address(g) {
                s.push_str(&format!(",vnclisten={l}"));
            }
            if let Some(p) = g.attr("passwd") {
                s.push_str(&format!(",vncpasswd={p}"));
            }
            if let Some(k) = g.attr("keymap") {
                s.push_str(&format!(",keymap={k}"));
            }
        }
        set_list(c, "vfb", vec![s]);
    }
}

fn mac_of(net: &Element, def: &DomainDef, idx: usize) -> String {
    if let Some(m) = net.child("mac").and_then(|m| m.attr("address")) {
        return m.to_ascii_lowercase();
    }
    // A stable address in Xen's OUI when the definition has none.
    let u = def.uuid.to_string().replace('-', "");
    let b = u.as_bytes();
    let hex = |i: usize| {
        b.get(i..i + 2)
            .and_then(|s| std::str::from_utf8(s).ok())
            .unwrap_or("00")
    };
    let last = format!("{:02x}", (idx & 0x7f) as u8);
    format!("00:16:3e:{}:{}:{last}", hex(0), hex(2))
}

fn format_net(
    net: &Element,
    def: &DomainDef,
    idx: usize,
    typename: &str,
) -> Result<String, XenConfigError> {
    let mut buf = format!("mac={}", mac_of(net, def, idx));
    let ty = net.attr("type").unwrap_or("");
    let ips: Vec<String> = net
        .children_named("ip")
        .filter_map(|i| i.attr("address").map(str::to_string))
        .collect();
    let script = net.child("script").and_then(|s| s.attr("path"));
    match ty {
        "bridge" => {
            let br = net
                .child("source")
                .and_then(|s| s.attr("bridge"))
                .unwrap_or("");
            buf.push_str(&format!(",bridge={br}"));
            let ovs = net
                .child("virtualport")
                .is_some_and(|v| v.attr("type") == Some("openvswitch"));
            let mut script = script.map(str::to_string);
            if ovs {
                if script.is_none() {
                    script = Some("vif-openvswitch".into());
                }
                buf.push_str(&ovs_vlan_suffix(net));
            }
            if !ips.is_empty() {
                buf.push_str(&format!(",ip={}", ips.join(" ")));
            }
            buf.push_str(&format!(
                ",script={}",
                script.as_deref().unwrap_or(DEFAULT_VIF_SCRIPT)
            ));
        }
        "ethernet" => {
            if let Some(s) = script {
                buf.push_str(&format!(",script={s}"));
            }
            if !ips.is_empty() {
                buf.push_str(&format!(",ip={}", ips.join(" ")));
            }
        }
        "network" => {
            let name = net
                .child("source")
                .and_then(|s| s.attr("network"))
                .unwrap_or("");
            // Resolving a network to its bridge needs a network driver.
            return Err(XenConfigError::new(
                crate::error::ErrorCode::NoNetwork,
                name.to_string(),
            ));
        }
        _ => {
            return Err(XenConfigError::unsupported(format!(
                "Unsupported net type '{ty}'"
            )))
        }
    }
    if let Some(m) = net.child("model").and_then(|m| m.attr("type")) {
        if is_hvm(def) && m == "netfront" {
            buf.push_str(&format!(",type={typename}"));
        } else {
            buf.push_str(&format!(",model={m}"));
        }
    }
    if let Some(t) = net.child("target").and_then(|t| t.attr("dev")) {
        buf.push_str(&format!(",vifname={t}"));
    }
    if let Some(avg) = net
        .child("bandwidth")
        .and_then(|b| b.child("outbound"))
        .and_then(|o| o.attr("average"))
        .filter(|a| *a != "0")
    {
        buf.push_str(&format!(",rate={avg}KB/s"));
    }
    Ok(buf)
}

fn format_vifs(c: &mut Conf, def: &DomainDef, f: NativeFormat) -> Result<(), XenConfigError> {
    let typename = match f {
        NativeFormat::Xl => "vif",
        NativeFormat::Xm => "netfront",
    };
    let mut out = Vec::new();
    for (i, n) in devices(def, "interface").enumerate() {
        out.push(format_net(n, def, i, typename)?);
    }
    if !out.is_empty() {
        set_list(c, "vif", out);
    }
    Ok(())
}

fn format_pci(c: &mut Conf, def: &DomainDef) {
    let mut out = Vec::new();
    for h in devices(def, "hostdev") {
        if h.attr("mode").unwrap_or("subsystem") != "subsystem" || h.attr("type") != Some("pci") {
            continue;
        }
        let src = h.child("source");
        let addr = src.and_then(|s| s.child("address"));
        let get = |k: &str| addr.and_then(|a| a.attr(k)).and_then(num).unwrap_or(0);
        let perm = match src.and_then(|s| s.attr("writeFiltering")) {
            Some("yes") => ",permissive=0",
            Some("no") => ",permissive=1",
            _ => "",
        };
        out.push(format!(
            "{:04x}:{:02x}:{:02x}.{:x}{perm}",
            get("domain"),
            get("bus"),
            get("slot"),
            get("function")
        ));
    }
    if !out.is_empty() {
        set_list(c, "pci", out);
    }
}

/// A character device in xend's notation.
fn format_chr(chr: &Element) -> Result<String, XenConfigError> {
    let ty = chr.attr("type").unwrap_or("pty");
    let sources: Vec<&Element> = chr.children_named("source").collect();
    let path = sources.first().and_then(|s| s.attr("path")).unwrap_or("");
    Ok(match ty {
        "null" | "stdio" | "vc" | "pty" => ty.to_string(),
        "file" | "pipe" => format!("{ty}:{path}"),
        "dev" => path.to_string(),
        "tcp" => {
            let s = sources.first();
            let proto = chr
                .child("protocol")
                .and_then(|p| p.attr("type"))
                .unwrap_or("raw");
            let listen = s.and_then(|s| s.attr("mode")) == Some("bind");
            format!(
                "{}:{}:{}{}",
                if proto == "raw" { "tcp" } else { "telnet" },
                s.and_then(|s| s.attr("host")).unwrap_or(""),
                s.and_then(|s| s.attr("service")).unwrap_or(""),
                if listen { ",server,nowait" } else { "" }
            )
        }
        "udp" => {
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
            let listen = sources.first().and_then(|s| s.attr("mode")) == Some("bind");
            format!("unix:{path}{}", if listen { ",server,nowait" } else { "" })
        }
        _ => {
            return Err(XenConfigError::unsupported(format!(
                "unsupported chr device type '{ty}'"
            )))
        }
    })
}

fn chr_port(chr: &Element) -> i64 {
    chr.child("target")
        .and_then(|t| t.attr("port"))
        .and_then(|p| p.parse().ok())
        .unwrap_or(0)
}

fn format_char_devs(c: &mut Conf, def: &DomainDef, f: NativeFormat) -> Result<(), XenConfigError> {
    if !is_hvm(def) {
        return Ok(());
    }
    match devices(def, "parallel").next() {
        Some(p) => {
            let s = format_chr(p)?;
            set_str(c, "parallel", &s);
        }
        None => set_str(c, "parallel", "none"),
    }
    let serials: Vec<&Element> = devices(def, "serial").collect();
    if serials.is_empty() {
        set_str(c, "serial", "none");
    } else if serials.len() == 1 && chr_port(serials[0]) == 0 {
        let s = format_chr(serials[0])?;
        set_str(c, "serial", &s);
    } else {
        if f == NativeFormat::Xm {
            return Err(XenConfigError::unsupported(
                "Multiple serial devices are not supported by xen-xm",
            ));
        }
        let maxport = serials.iter().map(|s| chr_port(s)).max().unwrap_or(0);
        if maxport > 4096 {
            return Err(XenConfigError::unsupported("serial port number too large"));
        }
        let mut out = Vec::new();
        for port in 0..=maxport {
            match serials.iter().find(|s| chr_port(s) == port) {
                Some(s) => out.push(format_chr(s)?),
                None => out.push("none".into()),
            }
        }
        set_list(c, "serial", out);
    }
    Ok(())
}

fn format_sound(c: &mut Conf, def: &DomainDef) {
    if !is_hvm(def) {
        return;
    }
    let models: Vec<&str> = devices(def, "sound")
        .filter_map(|s| s.attr("model"))
        .collect();
    if !models.is_empty() {
        set_str(c, "soundhw", &models.join(","));
    }
}

fn boot_string(def: &DomainDef) -> String {
    if def.os.boot_devs.is_empty() {
        return "c".into();
    }
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
}

fn loader(def: &DomainDef) -> Option<&Element> {
    def.os.other.iter().find(|e| e.name == "loader")
}

fn format_xl_os(c: &mut Conf, def: &DomainDef) -> Result<(), XenConfigError> {
    if is_hvm(def) {
        set_str(c, "builder", "hvm");
        if let Some(l) = loader(def).filter(|l| l.attr("type") == Some("pflash")) {
            set_str(c, "bios", "ovmf");
            let path = l.text();
            if !path.trim().is_empty() {
                set_str(c, "bios_path_override", path.trim());
            }
        }
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
            set_str(c, "acpi_firmware", &t.text());
        }
        if let Some(k) = &def.os.boot.kernel {
            set_str(c, "kernel", k);
        }
        if let Some(r) = &def.os.boot.initrd {
            set_str(c, "ramdisk", r);
        }
        if let Some(cl) = &def.os.boot.cmdline {
            set_str(c, "cmdline", cl);
        }
        set_str(c, "boot", &boot_string(def));
        if let Some(cpu) = other(def, "cpu").filter(|c| c.attr("mode") == Some("host-passthrough"))
        {
            let has_hw_virt = !cpu.children_named("feature").any(|f| {
                matches!(f.attr("policy"), Some("disable" | "forbid"))
                    && matches!(f.attr("name"), Some("vmx" | "svm"))
            });
            set_int(c, "nestedhvm", i64::from(has_hw_virt));
        }
    } else {
        if def.os.os_type == "xenpvh" {
            set_str(c, "type", "pvh");
        }
        if let Some(b) = &def.os.boot.bootloader {
            set_str(c, "bootloader", b);
        }
        if let Some(b) = &def.os.boot.bootloader_args {
            set_str(c, "bootargs", b);
        }
        if let Some(k) = &def.os.boot.kernel {
            set_str(c, "kernel", k);
        }
        if let Some(r) = &def.os.boot.initrd {
            set_str(c, "ramdisk", r);
        }
        if let Some(cl) = &def.os.boot.cmdline {
            set_str(c, "cmdline", cl);
        }
    }
    Ok(())
}

fn format_xm_os(c: &mut Conf, def: &DomainDef) {
    if is_hvm(def) {
        set_str(c, "builder", "hvm");
        if let Some(l) = loader(def) {
            let t = l.text();
            if !t.trim().is_empty() {
                set_str(c, "kernel", t.trim());
            }
        }
        set_str(c, "boot", &boot_string(def));
    } else {
        if let Some(b) = &def.os.boot.bootloader {
            set_str(c, "bootloader", b);
        }
        if let Some(b) = &def.os.boot.bootloader_args {
            set_str(c, "bootargs", b);
        }
        if let Some(k) = &def.os.boot.kernel {
            set_str(c, "kernel", k);
        }
        if let Some(r) = &def.os.boot.initrd {
            set_str(c, "ramdisk", r);
        }
        if let Some(cl) = &def.os.boot.cmdline {
            set_str(c, "extra", cl);
        }
    }
}

fn format_xl_cpuid(c: &mut Conf, def: &DomainDef) {
    let Some(cpu) = other(def, "cpu") else { return };
    if cpu.attr("mode") != Some("host-passthrough") {
        return;
    }
    let mut pairs = vec!["host".to_string()];
    for f in cpu.children_named("feature") {
        let name = translate_cpu_feature(f.attr("name").unwrap_or(""), false);
        if name == "vmx" || name == "svm" {
            continue;
        }
        let policy = match f.attr("policy").unwrap_or("require") {
            "force" | "require" => "1",
            "optional" => "x",
            _ => "0",
        };
        pairs.push(format!("{name}={policy}"));
    }
    if pairs.len() > 1 {
        set_str(c, "cpuid", &pairs.join(","));
    }
}

fn format_xl_vnuma(c: &mut Conf, def: &DomainDef) -> Result<(), XenConfigError> {
    let Some(numa) = other(def, "cpu").and_then(|c| c.child("numa")) else {
        return Ok(());
    };
    let cells: Vec<&Element> = numa.children_named("cell").collect();
    if cells.is_empty() {
        return Ok(());
    }
    let n = cells.len();
    let mut out = Vec::new();
    for (i, cell) in cells.iter().enumerate() {
        let cpus = cell.attr("cpus").unwrap_or("");
        let ids = parse_bitmap(cpus, 4096)
            .ok_or_else(|| XenConfigError::internal(format!("Failed to parse bitmap '{cpus}'")))?;
        let dists: Vec<String> = (0..n)
            .map(|j| crate::numa::distance(&cells, i, j).to_string())
            .collect();
        out.push(Value::List(vec![
            Value::String(format!("pnode={i}")),
            Value::String(format!("size={}", crate::numa::cell_kib(cell) / 1024)),
            Value::String(format!("vcpus={}", format_bitmap(&ids))),
            Value::String(format!("vdistances={}", dists.join(","))),
        ]));
    }
    c.set("vnuma", Value::List(out));
    Ok(())
}

fn format_xl_xenbus_limits(c: &mut Conf, def: &DomainDef) {
    for ctl in devices(def, "controller").filter(|e| e.attr("type") == Some("xenbus")) {
        if let Some(v) = ctl
            .attr("maxEventChannels")
            .and_then(num)
            .filter(|v| *v > 0)
        {
            set_int(c, "max_event_channels", v);
        }
        if let Some(v) = ctl.attr("maxGrantFrames").and_then(num).filter(|v| *v > 0) {
            set_int(c, "max_grant_frames", v);
        }
    }
}

fn format_rbd(src: &Element) -> Result<String, XenConfigError> {
    let name = src.attr("name").unwrap_or("");
    let (volume, path) = name.split_once('/').unwrap_or(("", name));
    if path.contains(':') {
        return Err(XenConfigError::unsupported(format!(
            "':' not allowed in RBD source volume name '{path}'"
        )));
    }
    let mut buf = format!("rbd:{volume}/{path}:auth_supported=none");
    let hosts: Vec<&Element> = src.children_named("host").collect();
    if !hosts.is_empty() {
        buf.push_str(":mon_host=");
        for (i, h) in hosts.iter().enumerate() {
            if i > 0 {
                buf.push_str("\\\\;");
            }
            let hn = h.attr("name").unwrap_or("");
            if hn.contains(':') {
                buf.push('[');
                buf.push_str(&hn.replace(':', "\\:"));
                buf.push(']');
            } else {
                buf.push_str(hn);
            }
            if let Some(p) = h.attr("port").filter(|p| *p != "0") {
                buf.push_str(&format!("\\\\:{p}"));
            }
        }
    }
    Ok(buf)
}

fn disk_source(disk: &Element) -> Result<Option<String>, XenConfigError> {
    let ty = disk.attr("type").unwrap_or("file");
    let Some(src) = disk.child("source") else {
        return Ok(None);
    };
    match ty {
        "file" => Ok(src.attr("file").map(str::to_string)),
        "block" => Ok(src.attr("dev").map(str::to_string)),
        "dir" => Ok(src.attr("dir").map(str::to_string)),
        "network" => match src.attr("protocol") {
            Some("rbd") => Ok(Some(format_rbd(src)?)),
            p => Err(XenConfigError::new(
                ERR_NO_SUPPORT,
                format!(
                    "Unsupported network block protocol '{}'",
                    p.unwrap_or("none")
                ),
            )),
        },
        _ => Err(XenConfigError::internal(
            "unsupported storage type for this code path",
        )),
    }
}

fn format_xl_disk(disk: &Element) -> Result<String, XenConfigError> {
    let drv = disk.child("driver");
    let fmt = match drv.and_then(|d| d.attr("type")) {
        Some("vhd") => "xvhd",
        Some("qcow") => "qcow",
        Some("qcow2") => "qcow2",
        Some("qed") => "qed",
        _ => "raw",
    };
    let dst = disk
        .child("target")
        .and_then(|t| t.attr("dev"))
        .unwrap_or("");
    let mut buf = format!("format={fmt},vdev={dst},access=");
    if disk.child("readonly").is_some() {
        buf.push_str("ro");
    } else if disk.child("shareable").is_some() {
        buf.push('!');
    } else {
        buf.push_str("rw");
    }
    if disk.child("transient").is_some() {
        return Err(XenConfigError::unsupported(
            "transient disks not supported yet",
        ));
    }
    if let Some(name) = drv.and_then(|d| d.attr("name")) {
        buf.push_str(",backendtype=");
        match name {
            "qemu" | "file" => buf.push_str("qdisk"),
            "tap" => buf.push_str("tap"),
            "phy" => buf.push_str("phy"),
            _ => {}
        }
    }
    if disk.attr("device") == Some("cdrom") {
        buf.push_str(",devtype=cdrom");
    }
    if let Some(t) = disk_source(disk)? {
        buf.push_str(&format!(",target={t}"));
    }
    Ok(buf)
}

/// The `disk` list (floppies have no place in it), each entry written by
/// `entry` in the xl or the xm dialect.
/// What an Open vSwitch bridge name carries of `<vlan>`: `.TAG` for an
/// access port, `:TAG:TAG...` for a trunk, nothing without tags.
pub(crate) fn ovs_vlan_suffix(net: &Element) -> String {
    let Some(vlan) = net.child("vlan") else {
        return String::new();
    };
    let tags: Vec<&str> = vlan
        .children_named("tag")
        .filter_map(|t| t.attr("id"))
        .collect();
    if vlan.attr("trunk") == Some("yes") {
        tags.iter().map(|t| format!(":{t}")).collect()
    } else {
        tags.first().map(|t| format!(".{t}")).unwrap_or_default()
    }
}

fn format_disks(
    c: &mut Conf,
    def: &DomainDef,
    entry: fn(&Element) -> Result<String, XenConfigError>,
) -> Result<(), XenConfigError> {
    let mut out = Vec::new();
    for d in devices(def, "disk") {
        if d.attr("device") == Some("floppy") {
            continue;
        }
        out.push(entry(d)?);
    }
    if !out.is_empty() {
        set_list(c, "disk", out);
    }
    Ok(())
}

fn format_xm_disk(disk: &Element) -> Result<String, XenConfigError> {
    let mut buf = String::new();
    let src = disk_source(disk)?;
    let drv = disk.child("driver");
    let driver = drv.and_then(|d| d.attr("name"));
    // The libxl driver defaults the format to raw.
    let format = drv.and_then(|d| d.attr("type")).unwrap_or("raw");
    if let Some(s) = &src {
        if let Some(d) = driver {
            buf.push_str(&format!("{d}:"));
            if d == "tap" || d == "tap2" {
                let t = if format == "raw" { "aio" } else { format };
                buf.push_str(&format!("{t}:"));
            }
        }
        buf.push_str(s);
    }
    buf.push(',');
    buf.push_str(
        disk.child("target")
            .and_then(|t| t.attr("dev"))
            .unwrap_or(""),
    );
    if disk.attr("device") == Some("cdrom") {
        buf.push_str(":cdrom");
    }
    if disk.child("readonly").is_some() {
        buf.push_str(",r");
    } else if disk.child("shareable").is_some() {
        buf.push_str(",!");
    } else {
        buf.push_str(",w");
    }
    if disk.child("transient").is_some() {
        return Err(XenConfigError::unsupported(
            "transient disks not supported yet",
        ));
    }
    Ok(buf)
}

fn format_xl_spice(c: &mut Conf, def: &DomainDef) {
    if !is_hvm(def) {
        return;
    }
    let Some(g) = devices(def, "graphics").next() else {
        return;
    };
    if g.attr("type") != Some("spice") {
        return;
    }
    set_int(c, "sdl", 0);
    set_int(c, "vnc", 0);
    set_int(c, "spice", 1);
    if let Some(l) = listen_address(g) {
        set_str(c, "spicehost", &l);
    }
    let port = |k: &str| g.attr(k).and_then(|p| p.parse::<i64>().ok()).unwrap_or(0);
    set_int(c, "spiceport", port("port"));
    set_int(c, "spicetls_port", port("tlsPort"));
    if let Some(p) = g.attr("passwd") {
        set_int(c, "spicedisable_ticketing", 0);
        set_str(c, "spicepasswd", p);
    } else {
        set_int(c, "spicedisable_ticketing", 1);
    }
    match g.child("mouse").and_then(|m| m.attr("mode")) {
        Some("server") => set_int(c, "spiceagent_mouse", 0),
        Some("client") => {
            set_int(c, "spiceagent_mouse", 1);
            set_int(c, "spicevdagent", 1);
        }
        _ => {}
    }
    if g.child("clipboard").and_then(|m| m.attr("copypaste")) == Some("yes") {
        set_int(c, "spice_clipboard_sharing", 1);
        set_int(c, "spicevdagent", 1);
    }
}

fn format_input_devs(c: &mut Conf, def: &DomainDef, xl: bool) {
    if !is_hvm(def) {
        return;
    }
    let mut devs = Vec::new();
    for i in devices(def, "input").filter(|i| i.attr("bus") == Some("usb")) {
        set_int(c, "usb", 1);
        let t = match i.attr("type") {
            Some("mouse") => "mouse",
            Some("tablet") => "tablet",
            Some("keyboard") => "keyboard",
            _ => continue,
        };
        devs.push(t.to_string());
        if !xl {
            break;
        }
    }
    match devs.len() {
        0 => {}
        1 => set_str(c, "usbdevice", &devs[0]),
        _ => set_list(c, "usbdevice", devs),
    }
}

fn format_xl_usb(c: &mut Conf, def: &DomainDef) {
    let mut out = Vec::new();
    for h in devices(def, "hostdev") {
        if h.attr("mode").unwrap_or("subsystem") != "subsystem" || h.attr("type") != Some("usb") {
            continue;
        }
        let a = h.child("source").and_then(|s| s.child("address"));
        let get = |k: &str| a.and_then(|a| a.attr(k)).and_then(num).unwrap_or(0);
        out.push(format!(
            "hostbus={:x},hostaddr={:x}",
            get("bus"),
            get("device")
        ));
    }
    if !out.is_empty() {
        set_list(c, "usbdev", out);
    }
}

fn format_xl_usbctrl(c: &mut Conf, def: &DomainDef) -> Result<(), XenConfigError> {
    let mut out = Vec::new();
    for ctl in devices(def, "controller").filter(|e| e.attr("type") == Some("usb")) {
        let mut buf = String::new();
        match ctl.attr("model") {
            None => {}
            Some("qusb1") => buf.push_str("type=qusb,version=1,"),
            Some("qusb2") => buf.push_str("type=qusb,version=2,"),
            Some(m) => {
                return Err(XenConfigError::new(
                    ERR_CONFIG_UNSUPPORTED,
                    format!("unsupported USB controller model '{m}'"),
                ))
            }
        }
        if let Some(p) = ctl.attr("ports").and_then(num) {
            buf.push_str(&format!("ports={p:x}"));
        }
        out.push(buf);
    }
    if !out.is_empty() {
        set_list(c, "usbctrl", out);
    }
    Ok(())
}

fn format_xl_channels(c: &mut Conf, def: &DomainDef) -> Result<(), XenConfigError> {
    let mut out = Vec::new();
    for ch in devices(def, "channel") {
        let target = ch.child("target");
        if target.and_then(|t| t.attr("type")) != Some("xen") {
            continue;
        }
        let mut buf = String::from("connection=");
        match ch.attr("type") {
            Some("pty") => buf.push_str("pty,"),
            Some("unix") => {
                buf.push_str("socket,");
                if let Some(p) = ch.child("source").and_then(|s| s.attr("path")) {
                    buf.push_str(&format!("path={p},"));
                }
            }
            t => {
                return Err(XenConfigError::unsupported(format!(
                    "unsupported channel type '{}'",
                    t.unwrap_or("")
                )))
            }
        }
        buf.push_str(&format!(
            "name={}",
            target.and_then(|t| t.attr("name")).unwrap_or("(null)")
        ));
        out.push(buf);
    }
    if !out.is_empty() {
        set_list(c, "channel", out);
    }
    Ok(())
}

fn format_xl_ns(c: &mut Conf, def: &DomainDef) {
    let Some(cl) = def.other.iter().find(|e| e.local_name() == "commandline") else {
        return;
    };
    let args: Vec<String> = cl
        .elements()
        .filter(|e| e.local_name() == "arg")
        .filter_map(|e| e.attr("value").map(str::to_string))
        .collect();
    if !args.is_empty() {
        set_list(c, "device_model_args", args);
    }
}
