// SPDX-License-Identifier: LGPL-2.1-or-later
//! Control groups of the guests' QEMU processes, laid out as libvirt lays
//! them out on a host without systemd: the group
//! `<partition>/qemu-ID-NAME.libvirt-qemu` (partition `/machine` unless
//! `<resource><partition>` says otherwise) below the daemon's own placement
//! in every hierarchy, with the thread sub-groups `emulator` (QEMU's own
//! threads) and `vcpuN` (one per virtual CPU) in the cpu, cpuacct and cpuset
//! hierarchies.
//!
//! QEMU joins its group before it executes, so everything it allocates is
//! accounted there. The group carries `<cputune>`, `<memtune>` and
//! `<blkiotune>`, and a device list (v1 `devices`, BPF filter on v2) that
//! allows qemu.conf's `cgroup_device_acl`, the guest's disks and ptys.
//! The group is computed from the guest's id and name, so a restarted
//! daemon finds it again; it is removed whenever the guest stops.
//! A session (unprivileged) daemon does not use cgroups, as libvirt.

use conf::DomainDef;
use host::cgroup::{Cgroup, DeviceRule, Limits};

use crate::config::QemuConf;

/// Devices every guest may use when qemu.conf does not list them.
const DEFAULT_DEVICE_ACL: [&str; 7] = [
    "/dev/null",
    "/dev/full",
    "/dev/zero",
    "/dev/random",
    "/dev/urandom",
    "/dev/ptmx",
    "/dev/kvm",
];

/// Major number of the pseudo-terminal slaves.
const PTY_MAJOR: u32 = 136;

/// Controllers the thread sub-groups are made in.
fn thread_controller(c: &str) -> bool {
    matches!(c, "cpu" | "cpuacct" | "cpuset")
}

/// libvirt's machine name of guest `id` `name`: `qemu-ID-` and the name's
/// host-name characters (a run of dots and dashes kept as its first, none
/// leading or trailing), 64 characters at most.
pub(crate) fn machine_name(id: i32, name: &str) -> String {
    let mut out = format!("qemu-{id}-");
    let mut skip = true;
    for ch in name.chars() {
        if out.len() >= 64 {
            break;
        }
        if ch == '.' || ch == '-' {
            if !skip {
                out.push(ch);
                skip = true;
            }
            continue;
        }
        if !ch.is_ascii_alphanumeric() {
            continue;
        }
        out.push(ch);
        skip = false;
    }
    while out.ends_with(['-', '.']) {
        out.pop();
    }
    out
}

/// The group of guest `id` of definition `def`, `None` where guests get no
/// group (session daemon, no cgroup filesystem, no controller wanted).
pub(crate) fn resolve(conf: &QemuConf, id: i32, def: &DomainDef) -> Option<Cgroup> {
    if host::process::geteuid() != 0 {
        return None;
    }
    if conf.cgroup_controllers.as_ref().is_some_and(Vec::is_empty) {
        return None;
    }
    let mounts = host::cgroup::detect().ok()?;
    let partition = def
        .resource_partition()
        .unwrap_or_else(|| "/machine".to_string());
    let mut cg =
        Cgroup::resolve_for(&mounts, 0, &partition, "qemu", &machine_name(id, &def.name)).ok()?;
    if let Some(wanted) = &conf.cgroup_controllers {
        cg.retain_v1(|c| wanted.iter().any(|w| w == c));
    }
    Some(cg)
}

fn kib_child(e: &conf::xml::Element, name: &str) -> Option<u64> {
    let el = e.child(name)?;
    let v: u64 = el.text().trim().parse().ok()?;
    let unit = el.attr("unit").unwrap_or("KiB");
    let mult: u64 = match unit {
        "b" | "bytes" => return Some(v / 1024),
        "KiB" | "k" | "K" => 1,
        "KB" => return Some(v.saturating_mul(1000) / 1024),
        "MiB" | "M" | "m" => 1024,
        "GiB" | "G" | "g" => 1024 * 1024,
        "TiB" | "T" | "t" => 1024 * 1024 * 1024,
        _ => 1,
    };
    Some(v.saturating_mul(mult))
}

/// Limits of the guest's group from its `<cputune>`, `<memtune>` and
/// `<blkiotune>`.
pub(crate) fn limits_of(def: &DomainDef) -> Limits {
    let mut l = Limits::default();
    if let Some(mt) = def.other_element("memtune") {
        l.hard_limit_kib = kib_child(mt, "hard_limit");
        l.soft_limit_kib = kib_child(mt, "soft_limit");
        l.swap_hard_limit_kib = kib_child(mt, "swap_hard_limit");
    }
    if let Some(ct) = def.other_element("cputune") {
        l.cpu_shares = ct.child_text("shares").and_then(|s| s.trim().parse().ok());
        l.cfs_period = ct
            .child_text("global_period")
            .and_then(|s| s.trim().parse().ok());
        l.cfs_quota = ct
            .child_text("global_quota")
            .and_then(|s| s.trim().parse().ok());
    }
    if let Some(bt) = def.other_element("blkiotune") {
        l.blkio_weight = bt.child_text("weight").and_then(|s| s.trim().parse().ok());
    }
    l
}

/// Period and quota of a thread group from `<cputune>` (`period`/`quota`
/// for the vCPUs, `emulator_period`/`emulator_quota`).
fn thread_limits(def: &DomainDef, period: &str, quota: &str) -> Limits {
    let ct = def.other_element("cputune");
    let num = |n: &str| ct.and_then(|c| c.child_text(n));
    Limits {
        cfs_period: num(period).and_then(|s| s.trim().parse().ok()),
        cfs_quota: num(quota).and_then(|s| s.trim().parse().ok()),
        ..Limits::default()
    }
}

/// The device rules of a guest: qemu.conf's ACL, its disks that are
/// devices, and the ptys.
pub(crate) fn device_rules(conf: &QemuConf, def: &DomainDef) -> Vec<DeviceRule> {
    let acl: Vec<std::path::PathBuf> = match &conf.cgroup_device_acl {
        Some(l) => l.iter().map(std::path::PathBuf::from).collect(),
        None => DEFAULT_DEVICE_ACL
            .iter()
            .map(std::path::PathBuf::from)
            .collect(),
    };
    let mut rules = Vec::new();
    let disks = crate::process::disk_files(def);
    for (path, perms) in acl
        .iter()
        .map(|p| (p, "rw"))
        .chain(disks.iter().map(|p| (p, "rw")))
    {
        if let Ok((block, major, minor)) = host::mount::device_numbers(path) {
            rules.push(DeviceRule {
                kind: if block { 'b' } else { 'c' },
                major: Some(major),
                minor: Some(minor),
                perms,
            });
        }
    }
    rules.push(DeviceRule {
        kind: 'c',
        major: Some(PTY_MAJOR),
        minor: None,
        perms: "rw",
    });
    rules
}

/// Makes the guest's group with its limits and device list; returns it
/// (`None` when guests get no group) and the warnings of what the host
/// could not apply.
pub(crate) fn prepare(
    conf: &QemuConf,
    id: i32,
    def: &DomainDef,
) -> driver::Result<Option<(Cgroup, Vec<String>)>> {
    let Some(cg) = resolve(conf, id, def) else {
        return Ok(None);
    };
    let fail = |e: host::Error| {
        let _ = cg.remove();
        driver::Error::new(
            driver::error::ErrorCode::SystemError,
            crate::state::QEMU,
            format!("Unable to create cgroup for {}: {e}", def.name),
        )
    };
    let mounts = host::cgroup::detect().map_err(fail)?;
    let mut warnings = cg.create(&mounts).map_err(fail)?;
    warnings.extend(cg.apply_limits(&limits_of(def)).map_err(fail)?);
    if cg.has_controller("devices") || cg.is_v2() {
        warnings.extend(cg.set_devices(&device_rules(conf, def)).map_err(fail)?);
    }
    Ok(Some((cg, warnings)))
}

/// Puts QEMU's threads in the `emulator` group and each vCPU thread
/// (`(index, thread id)`) in its `vcpuN` group, with their `<cputune>`
/// periods and quotas.
pub(crate) fn place_threads(
    cg: &Cgroup,
    def: &DomainDef,
    pid: u32,
    vcpus: &[(u32, u32)],
) -> host::Result<()> {
    if !cg.has_controller("cpu") && !cg.has_controller("cpuset") {
        return Ok(());
    }
    let emulator = cg.child("emulator", thread_controller);
    emulator.create_child()?;
    emulator.add_process(pid)?;
    emulator.apply_limits(&thread_limits(def, "emulator_period", "emulator_quota"))?;
    for (idx, tid) in vcpus {
        let g = cg.child(&format!("vcpu{idx}"), thread_controller);
        g.create_child()?;
        g.add_thread(*tid)?;
        g.apply_limits(&thread_limits(def, "period", "quota"))?;
    }
    Ok(())
}

/// The vCPU threads `(index, thread id)` of a `query-cpus-fast` answer.
pub(crate) fn vcpu_threads(ret: &serde_json::Value) -> Vec<(u32, u32)> {
    ret.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| {
                    let idx = u32::try_from(v.get("cpu-index")?.as_u64()?).ok()?;
                    let tid = u32::try_from(v.get("thread-id")?.as_u64()?).ok()?;
                    Some((idx, tid))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Removes group `cg` of a guest with up to `vcpus` vCPUs, its thread
/// sub-groups first (its QEMU is gone).
pub(crate) fn remove_group(cg: &Cgroup, vcpus: u32) {
    for i in 0..vcpus.max(1) {
        let _ = cg.child(&format!("vcpu{i}"), thread_controller).remove();
    }
    let _ = cg.child("emulator", thread_controller).remove();
    if let Err(e) = cg.remove() {
        eprintln!("qemu driver: cannot remove a guest's cgroup: {e}");
    }
}

/// Removes the group of guest `id` (its QEMU is gone).
pub(crate) fn remove(conf: &QemuConf, id: i32, def: &DomainDef) {
    if let Some(cg) = resolve(conf, id, def) {
        remove_group(&cg, def.vcpus_max);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn machine_names_keep_host_name_characters() {
        assert_eq!(machine_name(1, "vm"), "qemu-1-vm");
        assert_eq!(machine_name(7, "-a..b_c d-"), "qemu-7-a.bcd");
        assert_eq!(machine_name(2, "..."), "qemu-2");
        assert_eq!(machine_name(3, &"x".repeat(100)).len(), 64);
    }

    #[test]
    fn limits_come_from_the_tuning_elements() {
        let def = conf::domain::parse(
            "<domain type='qemu'><name>t</name><memory>131072</memory>\
             <memtune><hard_limit unit='MiB'>512</hard_limit><soft_limit>1024</soft_limit></memtune>\
             <cputune><shares>2048</shares><period>100000</period><quota>50000</quota></cputune>\
             <blkiotune><weight>300</weight></blkiotune>\
             <os><type>hvm</type></os></domain>",
            &conf::ParseFlags::default(),
        )
        .expect("definition");
        let l = limits_of(&def);
        assert_eq!(l.hard_limit_kib, Some(512 * 1024));
        assert_eq!(l.soft_limit_kib, Some(1024));
        assert_eq!(l.cpu_shares, Some(2048));
        assert_eq!(l.blkio_weight, Some(300));
        let t = thread_limits(&def, "period", "quota");
        assert_eq!((t.cfs_period, t.cfs_quota), (Some(100000), Some(50000)));
    }
}
