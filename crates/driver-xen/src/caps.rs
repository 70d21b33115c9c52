// SPDX-License-Identifier: LGPL-2.1-or-later
//! The capabilities XML of a Xen host.

use conf::capabilities::{Capabilities, Guest, GuestDomain, GuestFeature, Host, Machine};
use xenconfig::XenCaps;

fn feature(name: &str, default: Option<&str>, toggle: Option<&str>) -> GuestFeature {
    GuestFeature {
        name: name.into(),
        default: default.map(str::to_string),
        toggle: toggle.map(str::to_string),
    }
}

/// virConnectGetCapabilities for `caps` on a host of `host_arch`.
pub fn capabilities_xml(caps: &XenCaps, host_arch: &str, host_cpu_features: &[String]) -> String {
    let guests = caps
        .guests
        .iter()
        .map(|g| {
            let features = if g.os_type == "hvm" {
                vec![
                    feature("pae", None, None),
                    feature("acpi", Some("on"), Some("yes")),
                    feature("apic", Some("on"), Some("no")),
                    feature("hap", Some("on"), Some("yes")),
                ]
            } else {
                Vec::new()
            };
            Guest {
                os_type: g.os_type.clone(),
                arch: g.arch.clone(),
                wordsize: if g.arch == "i686" { 32 } else { 64 },
                emulator: Some(g.emulator.clone()),
                loader: g.loader.clone(),
                machines: g
                    .machines
                    .iter()
                    .map(|m| Machine {
                        name: m.clone(),
                        ..Default::default()
                    })
                    .collect(),
                domains: vec![GuestDomain {
                    virt_type: "xen".into(),
                    ..Default::default()
                }],
                features,
            }
        })
        .collect();
    Capabilities {
        host: Host {
            arch: host_arch.into(),
            cpu_features: host_cpu_features.to_vec(),
            migrate_transports: vec!["xenmigr".into()],
            live_migrate: true,
            ..Default::default()
        },
        guests,
    }
    .to_xml()
}

/// Firmware images libxl can boot HVM guests with, as found on this host.
fn firmwares() -> Vec<String> {
    [
        "/usr/lib/xen/boot/hvmloader",
        "/usr/lib/xen/boot/ovmf.bin",
        "/usr/share/OVMF/OVMF.fd",
    ]
    .iter()
    .filter(|p| std::path::Path::new(p).exists())
    .map(|p| p.to_string())
    .collect()
}

/// virConnectGetDomainCapabilities for libxl: libvirt's libxl document,
/// with its argument checks (virttype, arch, machine).
pub fn domain_capabilities_xml(
    emulator: Option<&str>,
    arch: Option<&str>,
    machine: Option<&str>,
    virttype: Option<&str>,
    flags: u32,
) -> driver::Result<String> {
    driver::Error::check_flags(flags, 0, "libxlConnectGetDomainCapabilities")?;
    conf::domcaps::libxl(emulator, arch, machine, virttype, "x86_64", &firmwares())
        .map(|c| c.to_xml())
        .map_err(|e| e.in_domain(driver::error::ErrorDomain::Libxl))
}
