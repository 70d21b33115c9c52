// SPDX-License-Identifier: LGPL-2.1-or-later
//! What the driver reports about the host: capabilities XML, node info,
//! free memory, the kernel version as the hypervisor version. Read from
//! /proc and /sys; nothing here writes.

use conf::capabilities::{Capabilities, Guest, GuestDomain, Host, SecModel};
use conf::xml::Element;
use driver::nodeinfo::{cpus, meminfo};
pub use driver::nodeinfo::{free_memory, host_arch, node_info};
use driver::Error;

use crate::errors;

fn wordsize(arch: &str) -> u32 {
    match arch {
        "i686" | "armv7l" | "armv6l" | "ppc" | "s390" | "mips" | "mipsel" => 32,
        _ => 64,
    }
}

/// virConnectGetVersion: the kernel release as major*1e6+minor*1e3+micro.
pub fn kernel_version() -> Result<u64, Error> {
    let rel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    parse_version(rel.trim())
        .ok_or_else(|| errors::internal(format!("Unknown release: {}", rel.trim())))
}

/// Parses "6.1.0-13-amd64" → 6001000 (trailing text allowed, like libvirt).
pub fn parse_version(rel: &str) -> Option<u64> {
    let mut parts = [0u64; 3];
    let mut rest = rel;
    for (i, p) in parts.iter_mut().enumerate() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            if i == 0 {
                return None;
            }
            break;
        }
        *p = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        match rest.strip_prefix('.') {
            Some(r) => rest = r,
            None => break,
        }
    }
    if parts[1] > 999 || parts[2] > 999 {
        return None;
    }
    Some(parts[0] * 1_000_000 + parts[1] * 1000 + parts[2])
}

pub fn hostname() -> String {
    let h = host::ns::hostname().unwrap_or_default();
    if h.is_empty() {
        "localhost".into()
    } else {
        h
    }
}

fn topology_element() -> Element {
    let cpus = cpus();
    let mut cpus_el = Element::new("cpus").with_attr("num", &cpus.len().to_string());
    for (id, socket, core) in &cpus {
        let siblings = std::fs::read_to_string(format!(
            "/sys/devices/system/cpu/cpu{id}/topology/thread_siblings_list"
        ))
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| id.to_string());
        cpus_el = cpus_el.with_child(
            Element::new("cpu")
                .with_attr("id", &id.to_string())
                .with_attr("socket_id", &socket.to_string())
                .with_attr("die_id", "0")
                .with_attr("core_id", &core.to_string())
                .with_attr("siblings", &siblings),
        );
    }
    let mem = meminfo("MemTotal").unwrap_or(0);
    let cell = Element::new("cell")
        .with_attr("id", "0")
        .with_child(
            Element::new("memory")
                .with_attr("unit", "KiB")
                .with_text(&mem.to_string()),
        )
        .with_child(cpus_el);
    Element::new("topology")
        .with_child(Element::new("cells").with_attr("num", "1").with_child(cell))
}

/// virConnectGetCapabilities for the LXC driver: the host, and one `exe`
/// guest per architecture the host runs, with `emulator` (libvirt_lxc).
pub fn capabilities_xml(emulator: &str) -> String {
    let arch = host_arch();
    let mut guest_arches = vec![arch];
    if arch == "x86_64" {
        guest_arches.insert(0, "i686");
    }
    let guests = guest_arches
        .iter()
        .map(|a| Guest {
            os_type: "exe".into(),
            arch: (*a).to_string(),
            wordsize: wordsize(a),
            emulator: Some(emulator.to_string()),
            domains: vec![GuestDomain {
                virt_type: "lxc".into(),
                ..Default::default()
            }],
            ..Default::default()
        })
        .collect();
    let caps = Capabilities {
        host: Host {
            arch: arch.to_string(),
            page_sizes_kib: vec![4],
            power_management: None,
            iommu: false,
            extra: vec![topology_element()],
            secmodels: vec![SecModel {
                model: "none".into(),
                doi: "0".into(),
                base_labels: Vec::new(),
            }],
            ..Default::default()
        },
        guests,
    };
    caps.to_xml()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse_like_libvirt() {
        assert_eq!(parse_version("6.1.0-13-amd64"), Some(6_001_000));
        assert_eq!(parse_version("5.15"), Some(5_015_000));
        assert_eq!(parse_version("6.18.44-fc-v669"), Some(6_018_044));
        assert_eq!(parse_version("x"), None);
    }

    #[test]
    fn capabilities_name_the_exe_guest_and_emulator() {
        let x = capabilities_xml("/usr/libexec/libvirt_lxc");
        assert!(x.contains("<os_type>exe</os_type>"));
        assert!(x.contains("<domain type='lxc'/>"));
        assert!(x.contains("<emulator>/usr/libexec/libvirt_lxc</emulator>"));
        assert!(x.contains("<topology>"));
    }

    #[test]
    fn node_info_is_plausible() {
        let n = node_info();
        assert!(n.cpus >= 1);
        assert!(n.memory > 0);
        assert!(n.sockets * n.cores * n.threads * n.nodes >= 1);
    }
}
