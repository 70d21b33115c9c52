// SPDX-License-Identifier: LGPL-2.1-or-later
//! Firmware selection from QEMU's firmware descriptors (the JSON files of
//! `/etc/qemu/firmware` and `/usr/share/qemu/firmware`, QEMU's
//! `firmware.json` schema), as libvirt's QEMU driver does it when a
//! definition is read: a guest asking for `<os firmware='efi|bios'>`, or
//! naming a pflash loader, gets the first descriptor (in file-name order)
//! that fits its machine, architecture, loader, NVRAM, power management,
//! SMM and firmware features; the loader, the NVRAM (path and template),
//! SMM and the `<firmware>` feature list are then filled in from it. When
//! nothing fits the definition is left as written (libvirt reports the
//! problem when the guest starts).

use std::path::Path;

use conf::domain::DomainDef;
use conf::xml::{Element, Node};

use crate::QemuDriverContext;

/// One firmware descriptor.
#[derive(Debug, Clone, Default)]
pub struct Firmware {
    /// The descriptor's file name (ordering and diagnostics).
    pub name: String,
    /// `interface-types`: `uefi`, `bios`, ...
    pub interfaces: Vec<String>,
    /// `targets`: QEMU architecture and machine-type patterns.
    pub targets: Vec<(String, Vec<String>)>,
    /// `features`.
    pub features: Vec<String>,
    /// `mapping.device`: `flash`, `memory` or `kernel`.
    pub device: String,
    /// `mapping.mode` for flash: `split` (default), `combined`, `stateless`.
    pub mode: String,
    /// The executable (flash) or image (memory, kernel) and its format.
    pub executable: Option<(String, String)>,
    /// The NVRAM template of a split flash and its format.
    pub nvram_template: Option<(String, String)>,
}

impl Firmware {
    /// Reads a descriptor; `None` when it is not one (an empty file masks
    /// a descriptor of the same name in a later directory).
    pub fn parse(name: &str, text: &str) -> Option<Firmware> {
        let v: serde_json::Value = serde_json::from_str(text).ok()?;
        let strings = |v: Option<&serde_json::Value>| -> Vec<String> {
            v.and_then(|a| a.as_array())
                .map(|a| {
                    a.iter()
                        .filter_map(|s| s.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default()
        };
        let mapping = v.get("mapping")?;
        let file = |k: &str| {
            let f = mapping.get(k)?;
            Some((
                f.get("filename")?.as_str()?.to_string(),
                f.get("format")
                    .and_then(|x| x.as_str())
                    .unwrap_or("raw")
                    .to_string(),
            ))
        };
        let device = mapping.get("device")?.as_str()?.to_string();
        let executable = match device.as_str() {
            "flash" => file("executable"),
            _ => mapping
                .get("filename")
                .and_then(|f| f.as_str())
                .map(|f| (f.to_string(), "raw".to_string())),
        };
        Some(Firmware {
            name: name.to_string(),
            interfaces: strings(v.get("interface-types")),
            targets: v
                .get("targets")
                .and_then(|t| t.as_array())
                .map(|t| {
                    t.iter()
                        .filter_map(|x| {
                            Some((
                                x.get("architecture")?.as_str()?.to_string(),
                                strings(x.get("machines")),
                            ))
                        })
                        .collect()
                })
                .unwrap_or_default(),
            features: strings(v.get("features")),
            mode: mapping
                .get("mode")
                .and_then(|m| m.as_str())
                .unwrap_or("split")
                .to_string(),
            executable,
            nvram_template: file("nvram-template"),
            device,
        })
    }

    fn has(&self, feature: &str) -> bool {
        self.features.iter().any(|f| f == feature)
    }
}

/// The descriptors of `dirs` (earlier directories override later ones
/// file by file, an empty or unreadable file masks), in file-name order.
pub fn load_firmware_dirs(dirs: &[&Path]) -> Vec<Firmware> {
    let mut by_name: std::collections::BTreeMap<String, Option<Firmware>> = Default::default();
    for dir in dirs {
        let Ok(entries) = std::fs::read_dir(dir) else {
            continue;
        };
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if !name.ends_with(".json") || by_name.contains_key(&name) {
                continue;
            }
            let text = std::fs::read_to_string(e.path()).unwrap_or_default();
            by_name.insert(name.clone(), Firmware::parse(&name, &text));
        }
    }
    by_name.into_values().flatten().collect()
}

/// QEMU's name of a libvirt architecture in descriptors.
fn qemu_arch(arch: &str) -> &str {
    match arch {
        "i686" => "i386",
        a => a,
    }
}

/// A glob with `*` and `?` (GLib's simple pattern).
fn glob(pattern: &str, s: &str) -> bool {
    fn m(p: &[u8], s: &[u8]) -> bool {
        match (p.first(), s.first()) {
            (None, None) => true,
            (Some(b'*'), _) => m(&p[1..], s) || (!s.is_empty() && m(p, &s[1..])),
            (Some(b'?'), Some(_)) => m(&p[1..], &s[1..]),
            (Some(a), Some(b)) if a == b => m(&p[1..], &s[1..]),
            _ => false,
        }
    }
    m(pattern.as_bytes(), s.as_bytes())
}

fn os_child<'a>(def: &'a DomainDef, name: &str) -> Option<&'a Element> {
    def.os.other.iter().find(|e| e.name == name)
}

fn os_child_mut<'a>(def: &'a mut DomainDef, name: &str) -> Option<&'a mut Element> {
    def.os.other.iter_mut().find(|e| e.name == name)
}

/// `<os><firmware><feature name=NAME enabled=...>` as yes/no.
fn wanted_feature(def: &DomainDef, name: &str) -> Option<bool> {
    os_child(def, "firmware")?
        .children_named("feature")
        .find(|f| f.attr("name") == Some(name))
        .and_then(|f| f.attr("enabled"))
        .map(|e| e == "yes")
}

fn feature_state(def: &DomainDef, name: &str) -> Option<String> {
    let f = def.other.iter().find(|e| e.name == "features")?;
    let c = f.child(name)?;
    Some(c.attr("state").unwrap_or("on").to_string())
}

fn pm_enabled(def: &DomainDef, name: &str) -> bool {
    def.other
        .iter()
        .find(|e| e.name == "pm")
        .and_then(|p| p.child(name))
        .and_then(|c| c.attr("enabled"))
        == Some("yes")
}

fn nvram_format(def: &DomainDef) -> String {
    os_child(def, "nvram")
        .and_then(|n| n.attr("format"))
        .unwrap_or("raw")
        .to_string()
}

fn matches(def: &DomainDef, fw: &Firmware, auto_raw: bool) -> bool {
    let loader = os_child(def, "loader");
    let want = match def.os.boot.firmware.as_deref() {
        Some("efi") => "uefi",
        Some("bios") => "bios",
        _ => match loader.and_then(|l| l.attr("type")) {
            Some("pflash") => "uefi",
            Some("rom") => "bios",
            _ => return false,
        },
    };
    if !fw.interfaces.iter().any(|i| i == want) {
        return false;
    }
    let loader_path = loader
        .map(|l| l.text().trim().to_string())
        .filter(|p| !p.is_empty());
    let template = os_child(def, "nvram").and_then(|n| n.attr("template"));
    match fw.device.as_str() {
        "flash" => {
            if loader_path
                .as_deref()
                .is_some_and(|p| Some(p) != fw.executable.as_ref().map(|e| e.0.as_str()))
            {
                return false;
            }
            if template.is_some_and(|t| Some(t) != fw.nvram_template.as_ref().map(|e| e.0.as_str()))
            {
                return false;
            }
        }
        "memory" => {
            if loader_path
                .as_deref()
                .is_some_and(|p| Some(p) != fw.executable.as_ref().map(|e| e.0.as_str()))
            {
                return false;
            }
        }
        "kernel" => {
            if def
                .os
                .boot
                .kernel
                .as_deref()
                .is_some_and(|k| Some(k) != fw.executable.as_ref().map(|e| e.0.as_str()))
            {
                return false;
            }
        }
        _ => return false,
    }
    let arch = qemu_arch(def.os.arch.as_deref().unwrap_or(""));
    let machine = def.os.machine.as_deref().unwrap_or("");
    let target_ok = fw
        .targets
        .iter()
        .any(|(a, ms)| a == arch && ms.iter().any(|p| glob(p, machine)));
    if !target_ok {
        return false;
    }
    if pm_enabled(def, "suspend-to-mem") && !fw.has("acpi-s3") {
        return false;
    }
    if pm_enabled(def, "suspend-to-disk") && !fw.has("acpi-s4") {
        return false;
    }
    for (feature, name) in [
        ("secure-boot", "secure-boot"),
        ("enrolled-keys", "enrolled-keys"),
    ] {
        match wanted_feature(def, name) {
            Some(true) if !fw.has(feature) => return false,
            Some(false) if fw.has(feature) => return false,
            _ => {}
        }
    }
    let secure = loader.and_then(|l| l.attr("secure"));
    if fw.has("requires-smm") {
        if feature_state(def, "smm").as_deref() == Some("off") || secure == Some("no") {
            return false;
        }
    } else if secure == Some("yes") {
        return false;
    }
    if fw.device == "flash" {
        let stateless = loader.and_then(|l| l.attr("stateless")) == Some("yes");
        if stateless != (fw.mode == "stateless") || (!stateless && fw.mode != "split") {
            return false;
        }
        let Some((_, exec_format)) = &fw.executable else {
            return false;
        };
        if exec_format != "raw" && exec_format != "qcow2" {
            return false;
        }
        let loader_format = loader
            .and_then(|l| l.attr("format"))
            .or(auto_raw.then_some("raw"));
        if loader_format.is_some_and(|f| f != exec_format) {
            return false;
        }
        if fw.mode == "split" {
            let Some((_, tf)) = &fw.nvram_template else {
                return false;
            };
            if tf != "raw" && tf != "qcow2" {
                return false;
            }
            if os_child(def, "nvram").is_some() && nvram_format(def) != *tf {
                return false;
            }
        }
    }
    if let Some(sec) = def.other.iter().find(|e| e.name == "launchSecurity") {
        if sec.attr("type") == Some("sev") {
            if !fw.has("amd-sev") {
                return false;
            }
            let policy = sec
                .child_text("policy")
                .and_then(|p| {
                    let p = p.trim().to_string();
                    match p.strip_prefix("0x") {
                        Some(h) => u64::from_str_radix(h, 16).ok(),
                        None => p.parse().ok(),
                    }
                })
                .unwrap_or(0);
            if policy & 0x4 != 0 && !fw.has("amd-sev-es") {
                return false;
            }
        }
    }
    true
}

fn set_os_child(def: &mut DomainDef, e: Element) {
    match def.os.other.iter().position(|c| c.name == e.name) {
        Some(p) => def.os.other[p] = e,
        None => def.os.other.push(e),
    }
}

/// libvirt's attribute order of `<loader>` and `<nvram>`.
fn order_attrs(e: &mut Element, order: &[&str]) {
    e.attrs
        .sort_by_key(|(k, _)| order.iter().position(|o| o == k).unwrap_or(order.len()));
}

/// Whether the NVRAM names where it lives (a path or a source).
fn nvram_has_path(n: &Element) -> bool {
    !n.text().trim().is_empty() || n.child("source").is_some()
}

fn apply(ctx: &QemuDriverContext, def: &mut DomainDef, fw: &Firmware) {
    match fw.device.as_str() {
        "flash" => {
            let Some((path, format)) = fw.executable.clone() else {
                return;
            };
            let mut loader = os_child(def, "loader")
                .cloned()
                .unwrap_or_else(|| Element::new("loader"));
            loader.set_attr("type", "pflash");
            loader.set_attr("readonly", "yes");
            if format == "raw" {
                loader.remove_attr("format");
            } else {
                loader.set_attr("format", &format);
            }
            loader.children = vec![Node::Text(path)];
            set_os_child(def, loader);
            if fw.mode == "split" {
                let tformat = fw
                    .nvram_template
                    .as_ref()
                    .map(|t| t.1.clone())
                    .unwrap_or_else(|| "raw".into());
                let existing = os_child(def, "nvram").cloned();
                let mut nvram = match existing {
                    Some(n) if nvram_has_path(&n) => n,
                    _ => {
                        let ext = match tformat.as_str() {
                            "raw" => ".fd",
                            "qcow2" => ".qcow2",
                            _ => "",
                        };
                        let mut n = Element::new("nvram");
                        n.children = vec![Node::Text(format!(
                            "{}/{}_VARS{ext}",
                            ctx.config.nvram_dir, def.name
                        ))];
                        if tformat != "raw" {
                            n.set_attr("format", &tformat);
                        }
                        n
                    }
                };
                let local = matches!(nvram.attr("type"), None | Some("file"));
                nvram.remove_attr("template");
                if local {
                    if let Some((t, _)) = &fw.nvram_template {
                        nvram.insert_attr(0, "template", t);
                    }
                }
                set_os_child(def, nvram);
            }
        }
        "memory" => {
            let Some((path, _)) = fw.executable.clone() else {
                return;
            };
            let mut loader = os_child(def, "loader")
                .cloned()
                .unwrap_or_else(|| Element::new("loader"));
            loader.set_attr("type", "rom");
            loader.children = vec![Node::Text(path)];
            set_os_child(def, loader);
        }
        "kernel" => {
            if let Some((path, _)) = &fw.executable {
                def.os.boot.kernel = Some(path.clone());
            }
        }
        _ => {}
    }
    if fw.has("requires-smm") {
        let pos = def.other.iter().position(|e| e.name == "features");
        let features = match pos {
            Some(p) => &mut def.other[p],
            None => {
                def.other.push(Element::new("features"));
                let last = def.other.len() - 1;
                &mut def.other[last]
            }
        };
        match features.child_mut("smm") {
            Some(s) => s.set_attr("state", "on"),
            None => {
                features.push(Element::new("smm").with_attr("state", "on"));
            }
        }
        if let Some(l) = os_child_mut(def, "loader") {
            l.set_attr("secure", "yes");
        }
    }
    if let Some(l) = os_child_mut(def, "loader") {
        order_attrs(l, &["readonly", "secure", "type", "stateless", "format"]);
    }
    if let Some(n) = os_child_mut(def, "nvram") {
        order_attrs(n, &["template", "templateFormat", "type", "format"]);
    }
    if def.os.boot.firmware.is_none() {
        def.os.boot.firmware = fw.interfaces.iter().find_map(|i| match i.as_str() {
            "uefi" => Some("efi".to_string()),
            "bios" => Some("bios".to_string()),
            _ => None,
        });
    }
    if def.os.boot.firmware.is_some() {
        let loader = os_child(def, "loader");
        let drop_keys = loader.is_some_and(|l| {
            l.attr("type") == Some("pflash")
                && l.attr("stateless") != Some("yes")
                && os_child(def, "nvram")
                    .and_then(|n| n.attr("template"))
                    .is_none()
        });
        let yn = |b: bool| if b { "yes" } else { "no" };
        let mut el = Element::new("firmware");
        if !drop_keys {
            el.push(
                Element::new("feature")
                    .with_attr("enabled", yn(fw.has("enrolled-keys")))
                    .with_attr("name", "enrolled-keys"),
            );
        }
        el.push(
            Element::new("feature")
                .with_attr("enabled", yn(fw.has("secure-boot")))
                .with_attr("name", "secure-boot"),
        );
        set_os_child(def, el);
    }
}

/// Fills the firmware of `def` from the first descriptor that fits, as
/// libvirt does when it reads a definition (without ABI update).
pub(crate) fn fill_domain(ctx: &QemuDriverContext, def: &mut DomainDef) {
    let auto = def.os.boot.firmware.is_some();
    let loader = os_child(def, "loader");
    let ltype = loader.and_then(|l| l.attr("type"));
    if !auto && (loader.is_none() || ltype == Some("rom")) {
        return;
    }
    // Formats other than raw and qcow2 are refused when the guest starts.
    for name in ["loader", "nvram"] {
        if os_child(def, name)
            .and_then(|e| e.attr("format"))
            .is_some_and(|f| f != "raw" && f != "qcow2")
        {
            return;
        }
    }
    let chosen = ctx
        .firmwares
        .iter()
        .find(|fw| matches(def, fw, auto && !ctx.abi_update))
        .cloned();
    if let Some(fw) = chosen {
        apply(ctx, def, &fw);
    }
}
