// SPDX-License-Identifier: LGPL-2.1-or-later
//! The capability cache XML (`<qemuCaps>`): parse and format as libvirt
//! 9.6 does. Unknown elements are ignored on reading (libvirt does the
//! same), so a cache written by a newer libvirt still loads.

use crate::{
    AccelCaps, CpuModel, CpuPropValue, CpuProperty, CpuUsable, Flag, GicCap, HostCpuModelInfo,
    HypervCaps, MachineType, QemuCaps, SevCaps, SgxCaps, SgxSection, VirtType, ARCHES,
    HYPERV_FEATURES,
};
use conf::xml::{self, escape, Element};
use conf::ConfError;
use std::fmt::Write as _;

fn internal(msg: impl Into<String>) -> ConfError {
    ConfError::internal(msg)
}

fn missing_attr(attr: &str, elem: &str) -> ConfError {
    ConfError::xml_layer(format!(
        "Missing required attribute '{attr}' in element '{elem}'"
    ))
}

/// A yes/no attribute; None when absent (libvirt's `virXMLPropTristateBool`).
fn prop_tristate(e: &Element, attr: &str, required: bool) -> Result<Option<bool>, ConfError> {
    match e.attr(attr) {
        None if required => Err(missing_attr(attr, &e.name)),
        None => Ok(None),
        Some("yes") => Ok(Some(true)),
        Some("no") => Ok(Some(false)),
        Some(v) => Err(ConfError::xml_layer(format!(
            "Invalid value for attribute '{attr}' in element '{}': '{v}'.",
            e.name
        ))),
    }
}

/// The text of child `name` when present (XPath `string(./name)`).
fn child_text(e: &Element, name: &str) -> Option<String> {
    e.child(name).map(Element::text)
}

/// A non-empty string value (XPath strings are NULL when empty).
fn child_string(e: &Element, name: &str) -> Option<String> {
    child_text(e, name).filter(|s| !s.is_empty())
}

fn child_i64(e: &Element, name: &str) -> Option<i64> {
    child_text(e, name)?.parse().ok()
}

fn child_u32(e: &Element, name: &str) -> Option<u32> {
    child_text(e, name)?.parse().ok()
}

fn child_u64(e: &Element, name: &str) -> Option<u64> {
    child_text(e, name)?.parse().ok()
}

fn yes_no(s: Option<String>) -> Option<bool> {
    match s.as_deref() {
        Some("yes") => Some(true),
        Some("no") => Some(false),
        _ => None,
    }
}

fn accel_elements<'a>(
    root: &'a Element,
    name: &'a str,
    ty: &'a str,
) -> impl Iterator<Item = &'a Element> + 'a {
    root.children_named(name)
        .filter(move |e| e.attr("type") == Some(ty))
}

fn parse_host_cpu(root: &Element, ty: &str) -> Result<Option<HostCpuModelInfo>, ConfError> {
    let Some(node) = accel_elements(root, "hostCPU", ty).next() else {
        return Ok(None);
    };
    let model = node
        .attr("model")
        .ok_or_else(|| internal("missing host CPU model name in QEMU capabilities cache"))?;
    let migratability = prop_tristate(node, "migratability", true)? == Some(true);
    let mut props = Vec::new();
    for p in node.children_named("property") {
        let name = p.attr("name").ok_or_else(|| {
            internal(
                "missing 'name' attribute for a host CPU model property in QEMU capabilities cache",
            )
        })?;
        let value = match p.attr("type") {
            Some("boolean") => CpuPropValue::Boolean(p.attr("value") == Some("true")),
            Some("string") => CpuPropValue::String(
                p.attr("value")
                    .ok_or_else(|| {
                        internal(format!(
                            "invalid string value for '{name}' host CPU model property in QEMU capabilities cache"
                        ))
                    })?
                    .to_string(),
            ),
            Some("number") => CpuPropValue::Number(
                p.attr("value").and_then(|v| v.parse().ok()).ok_or_else(|| {
                    internal(format!(
                        "invalid number value for '{name}' host CPU model property in QEMU capabilities cache"
                    ))
                })?,
            ),
            _ => {
                return Err(internal(
                    "missing or invalid CPU model property type in QEMU capabilities cache",
                ))
            }
        };
        props.push(CpuProperty {
            name: name.to_string(),
            value,
            migratable: prop_tristate(p, "migratable", false)?,
        });
    }
    Ok(Some(HostCpuModelInfo {
        model: model.to_string(),
        migratability,
        props,
    }))
}

fn parse_cpu_models(root: &Element, ty: &str) -> Result<Vec<CpuModel>, ConfError> {
    let mut out = Vec::new();
    for c in accel_elements(root, "cpu", ty) {
        let usable = match c.attr("usable") {
            None | Some("unknown") => CpuUsable::Unknown,
            Some("yes") => CpuUsable::Yes,
            Some("no") => CpuUsable::No,
            Some(v) => {
                return Err(internal(format!(
                    "unknown value '{v}' in attribute 'usable'"
                )))
            }
        };
        let name = c
            .attr("name")
            .ok_or_else(|| internal("missing cpu name in QEMU capabilities cache"))?;
        let mut blockers = Vec::new();
        for b in c.children_named("blocker") {
            let n = b
                .attr("name")
                .ok_or_else(|| internal("missing blocker name in QEMU capabilities cache"))?;
            blockers.push(n.to_string());
        }
        out.push(CpuModel {
            name: name.to_string(),
            typename: c.attr("typename").map(str::to_string),
            usable,
            blockers,
            deprecated: c.attr("deprecated") == Some("yes"),
        });
    }
    Ok(out)
}

fn parse_machines(root: &Element, ty: &str) -> Result<Vec<MachineType>, ConfError> {
    let mut out = Vec::new();
    for m in accel_elements(root, "machine", ty) {
        let name = m
            .attr("name")
            .ok_or_else(|| missing_attr("name", "machine"))?;
        let max_cpus = match m.attr("maxCpus") {
            None => 0,
            Some(v) => v.parse::<u32>().map_err(|_| {
                ConfError::xml_layer(format!(
                    "Invalid value for attribute 'maxCpus' in element 'machine': '{v}'. Expected non-negative integer value"
                ))
            })?,
        };
        out.push(MachineType {
            name: name.to_string(),
            alias: m.attr("alias").map(str::to_string),
            max_cpus,
            hotplug_cpus: prop_tristate(m, "hotplugCpus", false)? == Some(true),
            qemu_default: prop_tristate(m, "default", false)? == Some(true),
            numa_mem_supported: prop_tristate(m, "numaMemSupported", false)? == Some(true),
            default_cpu: m.attr("defaultCPU").map(str::to_string),
            default_ram_id: m.attr("defaultRAMid").map(str::to_string),
            deprecated: prop_tristate(m, "deprecated", false)? == Some(true),
            acpi: prop_tristate(m, "acpi", false)?,
        });
    }
    Ok(out)
}

fn parse_accel(root: &Element, virt: VirtType) -> Result<AccelCaps, ConfError> {
    let ty = virt.accel_str();
    Ok(AccelCaps {
        host_cpu: parse_host_cpu(root, ty)?,
        cpu_models: parse_cpu_models(root, ty)?,
        machines: parse_machines(root, ty)?,
    })
}

fn parse_gic(root: &Element) -> Result<Vec<GicCap>, ConfError> {
    let mut out = Vec::new();
    for g in root.children_named("gic") {
        let version = g
            .attr("version")
            .ok_or_else(|| internal("missing GIC version in QEMU capabilities cache"))?
            .parse()
            .map_err(|_| internal("malformed GIC version in QEMU capabilities cache"))?;
        let kernel = match g.attr("kernel") {
            None => {
                return Err(internal(
                    "missing in-kernel GIC information in QEMU capabilities cache",
                ))
            }
            Some("yes") => true,
            Some("no") => false,
            Some(_) => {
                return Err(internal(
                    "malformed in-kernel GIC information in QEMU capabilities cache",
                ))
            }
        };
        let emulated = match g.attr("emulated") {
            None => {
                return Err(internal(
                    "missing emulated GIC information in QEMU capabilities cache",
                ))
            }
            Some("yes") => true,
            Some("no") => false,
            Some(_) => {
                return Err(internal(
                    "malformed emulated GIC information in QEMU capabilities cache",
                ))
            }
        };
        out.push(GicCap {
            version,
            kernel,
            emulated,
        });
    }
    Ok(out)
}

fn parse_sev(root: &Element) -> Result<SevCaps, ConfError> {
    let sev = root
        .child("sev")
        .ok_or_else(|| ConfError::xml("missing SEV platform data in QEMU capabilities cache"))?;
    Ok(SevCaps {
        cbitpos: child_u32(sev, "cbitpos").ok_or_else(|| {
            ConfError::xml(
                "missing or malformed SEV cbitpos information in QEMU capabilities cache",
            )
        })?,
        reduced_phys_bits: child_u32(sev, "reducedPhysBits").ok_or_else(|| {
            ConfError::xml(
                "missing or malformed SEV reducedPhysBits information in QEMU capabilities cache",
            )
        })?,
        pdh: child_string(sev, "pdh").ok_or_else(|| {
            ConfError::xml("missing SEV pdh information in QEMU capabilities cache")
        })?,
        cert_chain: child_string(sev, "certChain").ok_or_else(|| {
            ConfError::xml("missing SEV certChain information in QEMU capabilities cache")
        })?,
        cpu0_id: child_string(sev, "cpu0Id"),
    })
}

fn parse_sgx(root: &Element) -> Result<SgxCaps, ConfError> {
    let sgx = root
        .child("sgx")
        .ok_or_else(|| ConfError::xml("missing SGX platform data in QEMU capabilities cache"))?;
    let flag = |name: &str| {
        yes_no(child_string(sgx, name)).ok_or_else(|| {
            ConfError::xml(format!(
                "missing or invalid SGX platform {name} in QEMU capabilities cache"
            ))
        })
    };
    let flc = flag("flc")?;
    let sgx1 = flag("sgx1")?;
    let sgx2 = flag("sgx2")?;
    let section_size = child_u64(sgx, "section_size").ok_or_else(|| {
        ConfError::xml("missing or malformed SGX platform section_size in QEMU capabilities cache")
    })?;
    let sections = match sgx.child("sections") {
        None => None,
        Some(s) => {
            let mut v = Vec::new();
            for sec in s.children_named("section") {
                let node = sec
                    .attr("node")
                    .and_then(|n| n.parse().ok())
                    .ok_or_else(|| internal("missing node name in QEMU capabilities cache"))?;
                let size = sec
                    .attr("size")
                    .and_then(|n| n.parse().ok())
                    .ok_or_else(|| internal("missing size name in QEMU capabilities cache"))?;
                v.push(SgxSection { node, size });
            }
            Some(v)
        }
    };
    Ok(SgxCaps {
        flc,
        sgx1,
        sgx2,
        section_size,
        sections,
    })
}

fn parse_hyperv(root: &Element) -> Result<Option<HypervCaps>, ConfError> {
    let Some(n) = root.child("hypervCapabilities") else {
        return Ok(None);
    };
    let supported = prop_tristate(n, "supported", true)? == Some(true);
    let mut features = Vec::new();
    for c in n.children_named("cap") {
        let name = c.attr("name").ok_or_else(|| missing_attr("name", "cap"))?;
        if !HYPERV_FEATURES.contains(&name) {
            return Err(ConfError::unsupported(format!(
                "unsupported HyperV Enlightenment feature: {name}"
            )));
        }
        if !features.iter().any(|f| f == name) {
            features.push(name.to_string());
        }
    }
    Ok(Some(HypervCaps {
        supported,
        features,
    }))
}

impl QemuCaps {
    /// Parses libvirt's capability cache XML (`virQEMUCapsLoadCache`,
    /// without its staleness checks: compare [`QemuCaps::emulator`],
    /// [`QemuCaps::qemu_ctime`], [`QemuCaps::self_ctime`] and
    /// [`QemuCaps::self_vers`] yourself). Errors carry libvirt's codes and
    /// wording.
    pub fn parse_cache(text: &str) -> Result<QemuCaps, ConfError> {
        let root = xml::parse_document(text, "(qemu_capabilities)", "qemuCaps")?;
        let mut caps = QemuCaps {
            self_ctime: child_i64(&root, "selfctime")
                .ok_or_else(|| ConfError::xml("missing selfctime in QEMU capabilities XML"))?,
            self_vers: child_u64(&root, "selfvers")
                .filter(|v| u32::try_from(*v).is_ok())
                .ok_or_else(|| internal("missing selfvers in QEMU capabilities cache"))?,
            emulator: child_string(&root, "emulator")
                .ok_or_else(|| internal("missing emulator in QEMU capabilities cache"))?,
            qemu_ctime: child_i64(&root, "qemuctime")
                .ok_or_else(|| ConfError::xml("missing qemuctime in QEMU capabilities XML"))?,
            qemu_moddir_mtime: child_i64(&root, "qemumoddirmtime").unwrap_or(0),
            ..Default::default()
        };
        for f in root.children_named("flag") {
            let name = f
                .attr("name")
                .ok_or_else(|| internal("missing flag name in QEMU capabilities cache"))?;
            let flag = Flag::from_name(name)
                .ok_or_else(|| internal(format!("Unknown qemu capabilities flag {name}")))?;
            caps.flags.insert(flag);
        }
        caps.version = child_u32(&root, "version")
            .ok_or_else(|| internal("missing version in QEMU capabilities cache"))?;
        caps.microcode_version = child_u32(&root, "microcodeVersion")
            .ok_or_else(|| internal("missing microcode version in QEMU capabilities cache"))?;
        caps.host_cpu_signature = child_string(&root, "hostCPUSignature");
        caps.package = child_text(&root, "package");
        if root.child("kernelVersion").is_some() {
            caps.kernel_version =
                Some(child_string(&root, "kernelVersion").ok_or_else(|| {
                    internal("missing kernel version in QEMU capabilities cache")
                })?);
        }
        let arch = child_string(&root, "arch")
            .ok_or_else(|| internal("missing arch in QEMU capabilities cache"))?;
        if arch == "none" || !ARCHES.contains(&arch.as_str()) {
            return Err(internal(format!(
                "unknown arch {arch} in QEMU capabilities cache"
            )));
        }
        caps.arch = arch;
        caps.cpu_data = root.child("cpudata").cloned();
        if caps.has("kvm") {
            caps.kvm = parse_accel(&root, VirtType::Kvm)?;
        }
        if caps.has("hvf") {
            caps.hvf = parse_accel(&root, VirtType::Hvf)?;
        }
        caps.tcg = parse_accel(&root, VirtType::Qemu)?;
        caps.gic = parse_gic(&root)?;
        if caps.has("sev-guest") {
            caps.sev = Some(parse_sev(&root)?);
        }
        if caps.has("sgx-epc") {
            caps.sgx = Some(parse_sgx(&root)?);
        }
        caps.hyperv = parse_hyperv(&root)?;
        caps.kvm_supports_nesting = root.child("kvmSupportsNesting").is_some();
        caps.kvm_supports_secure_guest = root.child("kvmSupportsSecureGuest").is_some();
        Ok(caps)
    }

    /// Formats the capability cache XML as libvirt 9.6 writes it
    /// (`virQEMUCapsFormatCache`).
    pub fn format_cache(&self) -> String {
        let mut o = String::with_capacity(64 * 1024);
        o.push_str("<qemuCaps>\n");
        let _ = writeln!(o, "  <emulator>{}</emulator>", escape(&self.emulator));
        let _ = writeln!(o, "  <qemuctime>{}</qemuctime>", self.qemu_ctime as u64);
        if self.qemu_moddir_mtime > 0 {
            let _ = writeln!(
                o,
                "  <qemumoddirmtime>{}</qemumoddirmtime>",
                self.qemu_moddir_mtime
            );
        }
        let _ = writeln!(o, "  <selfctime>{}</selfctime>", self.self_ctime as u64);
        let _ = writeln!(o, "  <selfvers>{}</selfvers>", self.self_vers);
        for name in self.flag_names() {
            let _ = writeln!(o, "  <flag name='{name}'/>");
        }
        let _ = writeln!(o, "  <version>{}</version>", self.version);
        let _ = writeln!(
            o,
            "  <microcodeVersion>{}</microcodeVersion>",
            self.microcode_version
        );
        if let Some(s) = &self.host_cpu_signature {
            let _ = writeln!(o, "  <hostCPUSignature>{}</hostCPUSignature>", escape(s));
        }
        if let Some(p) = &self.package {
            let _ = writeln!(o, "  <package>{}</package>", escape(p));
        }
        if let Some(k) = &self.kernel_version {
            let _ = writeln!(o, "  <kernelVersion>{}</kernelVersion>", escape(k));
        }
        if let Some(d) = &self.cpu_data {
            o.push_str("  ");
            o.push_str(&d.to_libvirt_string(0));
        }
        let _ = writeln!(o, "  <arch>{}</arch>", escape(&self.arch));
        if self.has("kvm") {
            format_accel(&mut o, &self.kvm, VirtType::Kvm);
        }
        if self.has("hvf") {
            format_accel(&mut o, &self.hvf, VirtType::Hvf);
        }
        format_accel(&mut o, &self.tcg, VirtType::Qemu);
        for g in &self.gic {
            let _ = writeln!(
                o,
                "  <gic version='{}' kernel='{}' emulated='{}'/>",
                g.version,
                yn(g.kernel),
                yn(g.emulated)
            );
        }
        if let Some(sev) = &self.sev {
            o.push_str("  <sev>\n");
            let _ = writeln!(o, "    <cbitpos>{}</cbitpos>", sev.cbitpos);
            let _ = writeln!(
                o,
                "    <reducedPhysBits>{}</reducedPhysBits>",
                sev.reduced_phys_bits
            );
            let _ = writeln!(o, "    <pdh>{}</pdh>", escape(&sev.pdh));
            let _ = writeln!(o, "    <certChain>{}</certChain>", escape(&sev.cert_chain));
            if let Some(id) = &sev.cpu0_id {
                let _ = writeln!(o, "    <cpu0Id>{}</cpu0Id>", escape(id));
            }
            o.push_str("  </sev>\n");
        }
        if let Some(sgx) = &self.sgx {
            o.push_str("  <sgx supported='yes'>\n");
            let _ = writeln!(o, "    <flc>{}</flc>", yn(sgx.flc));
            let _ = writeln!(o, "    <sgx1>{}</sgx1>", yn(sgx.sgx1));
            let _ = writeln!(o, "    <sgx2>{}</sgx2>", yn(sgx.sgx2));
            let _ = writeln!(
                o,
                "    <section_size unit='KiB'>{}</section_size>",
                sgx.section_size
            );
            if let Some(sections) = sgx.sections.as_ref().filter(|s| !s.is_empty()) {
                o.push_str("    <sections>\n");
                for s in sections {
                    let _ = writeln!(
                        o,
                        "      <section node='{}' size='{}' unit='KiB'/>",
                        s.node, s.size
                    );
                }
                o.push_str("    </sections>\n");
            }
            o.push_str("  </sgx>\n");
        }
        if let Some(h) = &self.hyperv {
            let feats: Vec<&str> = HYPERV_FEATURES
                .iter()
                .copied()
                .filter(|f| h.features.iter().any(|x| x == f))
                .collect();
            if feats.is_empty() {
                let _ = writeln!(o, "  <hypervCapabilities supported='{}'/>", yn(h.supported));
            } else {
                let _ = writeln!(o, "  <hypervCapabilities supported='{}'>", yn(h.supported));
                for f in feats {
                    let _ = writeln!(o, "    <cap name='{f}'/>");
                }
                o.push_str("  </hypervCapabilities>\n");
            }
        }
        if self.kvm_supports_nesting {
            o.push_str("  <kvmSupportsNesting/>\n");
        }
        if self.kvm_supports_secure_guest {
            o.push_str("  <kvmSupportsSecureGuest/>\n");
        }
        o.push_str("</qemuCaps>\n");
        o
    }
}

fn yn(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}

fn format_accel(o: &mut String, accel: &AccelCaps, virt: VirtType) {
    let ty = virt.accel_str();
    if let Some(h) = &accel.host_cpu {
        let _ = writeln!(
            o,
            "  <hostCPU type='{ty}' model='{}' migratability='{}'>",
            escape(&h.model),
            yn(h.migratability)
        );
        for p in &h.props {
            let (t, v) = match &p.value {
                CpuPropValue::Boolean(b) => ("boolean", if *b { "true" } else { "false" }.into()),
                CpuPropValue::String(s) => ("string", escape(s)),
                CpuPropValue::Number(n) => ("number", n.to_string()),
            };
            let _ = write!(
                o,
                "    <property name='{}' type='{t}' value='{v}'",
                escape(&p.name)
            );
            if let Some(m) = p.migratable {
                let _ = write!(o, " migratable='{}'", yn(m));
            }
            o.push_str("/>\n");
        }
        o.push_str("  </hostCPU>\n");
    }
    for c in &accel.cpu_models {
        let _ = write!(o, "  <cpu type='{ty}' name='{}'", escape(&c.name));
        if let Some(t) = &c.typename {
            let _ = write!(o, " typename='{}'", escape(t));
        }
        if c.usable != CpuUsable::Unknown {
            let _ = write!(o, " usable='{}'", c.usable.as_str());
        }
        if c.deprecated {
            o.push_str(" deprecated='yes'");
        }
        if c.blockers.is_empty() {
            o.push_str("/>\n");
        } else {
            o.push_str(">\n");
            for b in &c.blockers {
                let _ = writeln!(o, "    <blocker name='{}'/>", escape(b));
            }
            o.push_str("  </cpu>\n");
        }
    }
    for m in &accel.machines {
        let _ = write!(o, "  <machine type='{ty}' name='{}'", escape(&m.name));
        if let Some(a) = &m.alias {
            let _ = write!(o, " alias='{}'", escape(a));
        }
        if m.hotplug_cpus {
            o.push_str(" hotplugCpus='yes'");
        }
        let _ = write!(o, " maxCpus='{}'", m.max_cpus);
        if m.qemu_default {
            o.push_str(" default='yes'");
        }
        if let Some(c) = &m.default_cpu {
            let _ = write!(o, " defaultCPU='{}'", escape(c));
        }
        if m.numa_mem_supported {
            o.push_str(" numaMemSupported='yes'");
        }
        if let Some(r) = &m.default_ram_id {
            let _ = write!(o, " defaultRAMid='{}'", escape(r));
        }
        if m.deprecated {
            o.push_str(" deprecated='yes'");
        }
        if let Some(a) = m.acpi {
            let _ = write!(o, " acpi='{}'", yn(a));
        }
        o.push_str("/>\n");
    }
}
