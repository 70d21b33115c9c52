// SPDX-License-Identifier: LGPL-2.1-or-later
//! What every hypervisor driver reports about the host itself
//! (virNodeGetInfo, virNodeGetFreeMemory): read from /proc and /sys.

use crate::NodeInfo;

/// The host architecture in libvirt's naming.
pub fn host_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86" => "i686",
        "powerpc64" => "ppc64",
        "arm" => "armv7l",
        "loongarch64" => "loongarch64",
        other => other,
    }
}

/// A /proc/meminfo field in KiB.
pub fn meminfo(key: &str) -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    text.lines().find_map(|l| {
        let rest = l.strip_prefix(key)?.strip_prefix(':')?;
        rest.split_whitespace().next()?.parse().ok()
    })
}

/// Free memory in bytes (MemFree, as libvirt's virNodeGetFreeMemory).
pub fn free_memory() -> u64 {
    meminfo("MemFree").unwrap_or(0).saturating_mul(1024)
}

/// Online CPUs as (cpu id, socket id, core id).
pub fn cpus() -> Vec<(u32, u32, u32)> {
    let mut out = Vec::new();
    let Ok(dir) = std::fs::read_dir("/sys/devices/system/cpu") else {
        return out;
    };
    for e in dir.flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        let Some(id) = name.strip_prefix("cpu").and_then(|n| n.parse::<u32>().ok()) else {
            continue;
        };
        let online = std::fs::read_to_string(e.path().join("online"))
            .map(|s| s.trim() == "1")
            .unwrap_or(true);
        if !online {
            continue;
        }
        let read = |f: &str| {
            std::fs::read_to_string(e.path().join("topology").join(f))
                .ok()
                .and_then(|s| s.trim().parse::<u32>().ok())
                .unwrap_or(0)
        };
        out.push((id, read("physical_package_id"), read("core_id")));
    }
    out.sort_unstable();
    out
}

fn cpu_mhz() -> u32 {
    let text = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    text.lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            (k.trim() == "cpu MHz").then(|| v.trim().parse::<f64>().ok())?
        })
        .map(|f| f as u32)
        .unwrap_or(0)
}

fn cpu_model() -> String {
    host_arch().to_string()
}

/// virNodeGetInfo.
pub fn node_info() -> NodeInfo {
    let cpus = cpus();
    let n = u32::try_from(cpus.len()).unwrap_or(u32::MAX).max(1);
    let mut sockets: Vec<u32> = cpus.iter().map(|c| c.1).collect();
    sockets.sort_unstable();
    sockets.dedup();
    let nsock = u32::try_from(sockets.len()).unwrap_or(1).max(1);
    let mut cores: Vec<(u32, u32)> = cpus.iter().map(|c| (c.1, c.2)).collect();
    cores.sort_unstable();
    cores.dedup();
    let ncores_total = u32::try_from(cores.len()).unwrap_or(1).max(1);
    let cores_per_socket = (ncores_total / nsock).max(1);
    let threads = (n / ncores_total).max(1);
    let nodes = std::fs::read_dir("/sys/devices/system/node")
        .map(|d| {
            d.flatten()
                .filter(|e| {
                    let name = e.file_name().to_string_lossy().to_string();
                    name.strip_prefix("node")
                        .is_some_and(|r| r.parse::<u32>().is_ok())
                })
                .count()
        })
        .unwrap_or(1)
        .max(1);
    let nodes = u32::try_from(nodes).unwrap_or(1);
    NodeInfo {
        model: cpu_model(),
        memory: meminfo("MemTotal").unwrap_or(0),
        cpus: n,
        mhz: cpu_mhz(),
        nodes,
        sockets: (nsock / nodes).max(1),
        cores: cores_per_socket,
        threads,
    }
}
