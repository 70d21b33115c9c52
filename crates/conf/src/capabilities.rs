// SPDX-License-Identifier: LGPL-2.1-or-later
//! Host and guest capabilities (`virConnectGetCapabilities` XML).
//!
//! Drivers build a [`Capabilities`] describing the host and the guest
//! types they run; [`Capabilities::to_xml`] formats it the way libvirt's
//! virCapabilitiesFormatXML does (blank lines between sections included).
//! Parts this crate does not model (NUMA topology, caches, CPU model
//! details) are supplied as ready XML elements.

use crate::uuid::Uuid;
use crate::xml::{self, Element};

/// A machine type offered for a guest architecture.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Machine {
    /// Machine name (`pc-i440fx-8.0`).
    pub name: String,
    /// Canonical name this one aliases.
    pub canonical: Option<String>,
    /// Maximum vcpus.
    pub max_cpus: Option<u32>,
    /// Deprecated machine type.
    pub deprecated: bool,
}

/// A hypervisor that can run a guest architecture (`<domain type=...>`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GuestDomain {
    /// Virtualization type (`qemu`, `kvm`, `lxc`, `xen`, `test`).
    pub virt_type: String,
    /// Emulator specific to this type.
    pub emulator: Option<String>,
    /// Machines specific to this type.
    pub machines: Vec<Machine>,
}

/// A guest feature (`<acpi default='on' toggle='yes'/>`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GuestFeature {
    /// Feature element name (pae, nonpae, ia64_be, acpi, apic, cpuselection,
    /// deviceboot, disksnapshot, hap, externalSnapshot).
    pub name: String,
    /// `default` attribute (`on`/`off`).
    pub default: Option<String>,
    /// `toggle` attribute (`yes`/`no`).
    pub toggle: Option<String>,
}

/// A `<guest>` entry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Guest {
    /// OS type (`hvm`, `xen`, `exe`, `xenpvh`).
    pub os_type: String,
    /// Architecture name.
    pub arch: String,
    /// Word size in bits.
    pub wordsize: u32,
    /// Default emulator.
    pub emulator: Option<String>,
    /// Default loader.
    pub loader: Option<String>,
    /// Machines.
    pub machines: Vec<Machine>,
    /// Supported hypervisor types.
    pub domains: Vec<GuestDomain>,
    /// Features.
    pub features: Vec<GuestFeature>,
}

/// A `<secmodel>` entry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SecModel {
    /// Model name (`none`, `dac`, `selinux`, `apparmor`).
    pub model: String,
    /// Domain of interpretation.
    pub doi: String,
    /// Base labels: (virt type, label).
    pub base_labels: Vec<(String, String)>,
}

/// The `<host>` section.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Host {
    /// Host UUID.
    pub uuid: Option<Uuid>,
    /// Host CPU architecture.
    pub arch: String,
    /// Host CPU feature flags shown under `<features>` (e.g. vmx, svm).
    pub cpu_features: Vec<String>,
    /// Extra `<cpu>` children (model, vendor, topology, feature), formatted as given.
    pub cpu_extra: Vec<Element>,
    /// Huge page sizes in KiB.
    pub page_sizes_kib: Vec<u32>,
    /// Supported power management targets; `None` prints nothing.
    pub power_management: Option<Vec<String>>,
    /// IOMMU support.
    pub iommu: bool,
    /// Migration: offline supported.
    pub offline_migrate: bool,
    /// Migration: live supported.
    pub live_migrate: bool,
    /// Migration URI transports.
    pub migrate_transports: Vec<String>,
    /// Prefix of host-side network device names.
    pub netprefix: Option<String>,
    /// `<topology>`, `<cache>`, `<memory_bandwidth>` elements, formatted as given.
    pub extra: Vec<Element>,
    /// Security models.
    pub secmodels: Vec<SecModel>,
}

/// The whole capabilities document.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Capabilities {
    /// Host description.
    pub host: Host,
    /// Guest types.
    pub guests: Vec<Guest>,
}

fn machine_line(out: &mut String, indent: usize, m: &Machine) {
    out.push_str(&" ".repeat(indent));
    out.push_str("<machine");
    if let Some(c) = &m.canonical {
        out.push_str(&format!(" canonical='{}'", xml::escape(c)));
    }
    if let Some(n) = m.max_cpus {
        out.push_str(&format!(" maxCpus='{n}'"));
    }
    if m.deprecated {
        out.push_str(" deprecated='yes'");
    }
    out.push_str(&format!(">{}</machine>\n", xml::escape(&m.name)));
}

impl Capabilities {
    /// Formats as libvirt's virCapabilitiesFormatXML.
    pub fn to_xml(&self) -> String {
        let h = &self.host;
        let mut out = String::from("<capabilities>\n\n  <host>\n");
        if let Some(u) = h.uuid {
            out.push_str(&format!("    <uuid>{u}</uuid>\n"));
        }
        out.push_str("    <cpu>\n");
        if !h.arch.is_empty() {
            out.push_str(&format!("      <arch>{}</arch>\n", h.arch));
        }
        if !h.cpu_features.is_empty() {
            out.push_str("      <features>\n");
            for f in &h.cpu_features {
                out.push_str(&format!("        <{f}/>\n"));
            }
            out.push_str("      </features>\n");
        }
        for e in &h.cpu_extra {
            e.write_libvirt(&mut out, 6);
        }
        for p in &h.page_sizes_kib {
            out.push_str(&format!("      <pages unit='KiB' size='{p}'/>\n"));
        }
        out.push_str("    </cpu>\n");
        match &h.power_management {
            Some(pm) if !pm.is_empty() => {
                out.push_str("    <power_management>\n");
                for p in pm {
                    out.push_str(&format!("      <{p}/>\n"));
                }
                out.push_str("    </power_management>\n");
            }
            Some(_) => out.push_str("    <power_management/>\n"),
            None => {}
        }
        out.push_str(&format!(
            "    <iommu support='{}'/>\n",
            if h.iommu { "yes" } else { "no" }
        ));
        if h.offline_migrate {
            out.push_str("    <migration_features>\n");
            if h.live_migrate {
                out.push_str("      <live/>\n");
            }
            if !h.migrate_transports.is_empty() {
                out.push_str("      <uri_transports>\n");
                for t in &h.migrate_transports {
                    out.push_str(&format!("        <uri_transport>{t}</uri_transport>\n"));
                }
                out.push_str("      </uri_transports>\n");
            }
            out.push_str("    </migration_features>\n");
        }
        if let Some(n) = &h.netprefix {
            out.push_str(&format!("    <netprefix>{n}</netprefix>\n"));
        }
        for e in &h.extra {
            e.write_libvirt(&mut out, 4);
        }
        for s in &h.secmodels {
            out.push_str("    <secmodel>\n");
            out.push_str(&format!("      <model>{}</model>\n", s.model));
            out.push_str(&format!("      <doi>{}</doi>\n", s.doi));
            for (t, l) in &s.base_labels {
                out.push_str(&format!("      <baselabel type='{t}'>{l}</baselabel>\n"));
            }
            out.push_str("    </secmodel>\n");
        }
        out.push_str("  </host>\n\n");
        for g in &self.guests {
            out.push_str("  <guest>\n");
            out.push_str(&format!("    <os_type>{}</os_type>\n", g.os_type));
            out.push_str(&format!("    <arch name='{}'>\n", g.arch));
            out.push_str(&format!("      <wordsize>{}</wordsize>\n", g.wordsize));
            if let Some(e) = &g.emulator {
                out.push_str(&format!("      <emulator>{}</emulator>\n", e));
            }
            if let Some(l) = &g.loader {
                out.push_str(&format!("      <loader>{}</loader>\n", l));
            }
            for m in &g.machines {
                machine_line(&mut out, 6, m);
            }
            for d in &g.domains {
                out.push_str(&format!("      <domain type='{}'", d.virt_type));
                if d.emulator.is_none() && d.machines.is_empty() {
                    out.push_str("/>\n");
                    continue;
                }
                out.push_str(">\n");
                if let Some(e) = &d.emulator {
                    out.push_str(&format!("        <emulator>{e}</emulator>\n"));
                }
                for m in &d.machines {
                    machine_line(&mut out, 8, m);
                }
                out.push_str("      </domain>\n");
            }
            out.push_str("    </arch>\n");
            if !g.features.is_empty() {
                out.push_str("    <features>\n");
                for f in &g.features {
                    out.push_str(&format!("      <{}", f.name));
                    if let Some(d) = &f.default {
                        out.push_str(&format!(" default='{d}'"));
                    }
                    if let Some(t) = &f.toggle {
                        out.push_str(&format!(" toggle='{t}'"));
                    }
                    out.push_str("/>\n");
                }
                out.push_str("    </features>\n");
            }
            out.push_str("  </guest>\n\n");
        }
        out.push_str("</capabilities>\n");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lxc_style_capabilities_format() {
        let caps = Capabilities {
            host: Host {
                arch: "x86_64".into(),
                power_management: Some(vec![]),
                offline_migrate: false,
                secmodels: vec![SecModel {
                    model: "none".into(),
                    doi: "0".into(),
                    base_labels: vec![],
                }],
                ..Default::default()
            },
            guests: vec![Guest {
                os_type: "exe".into(),
                arch: "x86_64".into(),
                wordsize: 64,
                emulator: Some("/usr/libexec/libvirt_lxc".into()),
                domains: vec![GuestDomain {
                    virt_type: "lxc".into(),
                    ..Default::default()
                }],
                ..Default::default()
            }],
        };
        let x = caps.to_xml();
        assert!(x.starts_with("<capabilities>\n\n  <host>\n    <cpu>\n      <arch>x86_64</arch>\n    </cpu>\n    <power_management/>\n    <iommu support='no'/>\n"));
        assert!(x.contains("  <guest>\n    <os_type>exe</os_type>\n    <arch name='x86_64'>\n      <wordsize>64</wordsize>\n      <emulator>/usr/libexec/libvirt_lxc</emulator>\n      <domain type='lxc'/>\n    </arch>\n  </guest>\n\n</capabilities>\n"));
    }

    #[test]
    fn formatted_capabilities_validate() {
        let caps = Capabilities {
            host: Host {
                arch: "x86_64".into(),
                ..Default::default()
            },
            guests: vec![Guest {
                os_type: "hvm".into(),
                arch: "i686".into(),
                wordsize: 32,
                machines: vec![Machine {
                    name: "pc".into(),
                    max_cpus: Some(255),
                    ..Default::default()
                }],
                domains: vec![GuestDomain {
                    virt_type: "test".into(),
                    ..Default::default()
                }],
                features: vec![GuestFeature {
                    name: "pae".into(),
                    ..Default::default()
                }],
                ..Default::default()
            }],
        };
        let x = caps.to_xml();
        assert!(x.contains("      <machine maxCpus='255'>pc</machine>\n"));
        assert!(x.contains("    <features>\n      <pae/>\n    </features>\n"));
    }
}
