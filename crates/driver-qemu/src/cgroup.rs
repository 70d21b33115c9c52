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

/// Whether guests get cgroups here (a privileged daemon, a cgroup
/// filesystem, controllers wanted).
pub(crate) fn usable(conf: &QemuConf) -> bool {
    host::process::geteuid() == 0
        && !conf.cgroup_controllers.as_ref().is_some_and(Vec::is_empty)
        && host::cgroup::detect().is_ok_and(|m| m.layout().is_some())
}

/// The group of guest `id` of definition `def`, `None` where guests get no
/// group (session daemon, no cgroup filesystem, no controller wanted).
pub(crate) fn resolve(conf: &QemuConf, id: i32, def: &DomainDef) -> Option<Cgroup> {
    if !usable(conf) {
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

/// Lets running guest `id` (definition `def`, the new disk included) use
/// the disk at `path` when it is a device: the hook of disk hotplug.
pub(crate) fn allow_disk(
    conf: &QemuConf,
    id: i32,
    def: &DomainDef,
    path: &std::path::Path,
) -> driver::Result<()> {
    let Ok((block, major, minor)) = host::mount::device_numbers(path) else {
        return Ok(());
    };
    let Some(cg) = resolve(conf, id, def) else {
        return Ok(());
    };
    if !cg.has_controller("devices") && !cg.is_v2() {
        return Ok(());
    }
    let rule = DeviceRule {
        kind: if block { 'b' } else { 'c' },
        major: Some(major),
        minor: Some(minor),
        perms: "rw",
    };
    let warnings = cg
        .allow_device(&device_rules(conf, def), &rule)
        .map_err(|e| {
            driver::Error::new(
                driver::error::ErrorCode::SystemError,
                crate::state::QEMU,
                format!("Unable to allow device {}: {e}", path.display()),
            )
        })?;
    for w in warnings {
        eprintln!("qemu driver: {}: {w}", def.name);
    }
    Ok(())
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
    let mut groups: Vec<Cgroup> = (0..vcpus.max(1))
        .map(|i| cg.child(&format!("vcpu{i}"), thread_controller))
        .collect();
    groups.push(cg.child("emulator", thread_controller));
    // QEMU's monitor closes while its threads are still leaving their
    // groups: wait (a little, bounded) until they are empty.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while std::time::Instant::now() < deadline
        && groups.iter().chain([cg]).any(|g| !g.pids().is_empty())
    {
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    for g in &groups {
        let _ = g.remove();
    }
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

/// libvirt's "no limit" for memory parameters (KiB).
const UNLIMITED_KIB: u64 = 9_007_199_254_740_991;

fn read_trim(p: &std::path::Path) -> Option<String> {
    std::fs::read_to_string(p)
        .ok()
        .map(|s| s.trim().to_string())
}

/// A memory limit file's value in KiB (`max` and v1's page-aligned
/// largest value mean unlimited).
fn limit_kib(p: &std::path::Path) -> Option<u64> {
    let v = read_trim(p)?;
    if v == "max" {
        return Some(UNLIMITED_KIB);
    }
    let bytes: u64 = v.parse().ok()?;
    if bytes >= (i64::MAX as u64) & !0xfff {
        return Some(UNLIMITED_KIB);
    }
    Some((bytes / 1024).min(UNLIMITED_KIB))
}

/// Period and quota of a group's cpu controller (v1 cfs files, v2 cpu.max).
fn bandwidth(cg: &Cgroup) -> (u64, i64) {
    if let Some(d) = cg.v1_dir("cpu") {
        let period = read_trim(&d.join("cpu.cfs_period_us"))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let quota = read_trim(&d.join("cpu.cfs_quota_us"))
            .and_then(|v| v.parse().ok())
            .unwrap_or(-1);
        return (period, quota);
    }
    let max = cg
        .v2_dir()
        .and_then(|d| read_trim(&d.join("cpu.max")))
        .unwrap_or_default();
    let mut it = max.split_whitespace();
    let quota = match it.next() {
        Some("max") | None => -1,
        Some(q) => q.parse().unwrap_or(-1),
    };
    let period = it.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    (period, quota)
}

fn cputune_num(def: &DomainDef, name: &str) -> Option<i64> {
    def.other_element("cputune")
        .and_then(|c| c.child_text(name))
        .and_then(|t| t.trim().parse().ok())
}

fn no_controller(ctrl: &str) -> driver::Error {
    driver::Error::new(
        driver::error::ErrorCode::OperationInvalid,
        crate::state::QEMU,
        format!("cgroup {ctrl} controller is not mounted"),
    )
}

impl crate::state::Driver {
    /// The running guest's group (with its definition), or the definition
    /// the flags pick when it is not running or `--config` is asked.
    fn tuning_target(
        &self,
        r: &driver::DomainRef,
        flags: u32,
        func: &str,
    ) -> driver::Result<(DomainDef, Option<Cgroup>)> {
        use driver::consts::affect;
        // VIR_TYPED_PARAM_STRING_OKAY is accepted (no string values here).
        driver::Error::check_flags(flags, affect::LIVE | affect::CONFIG | 4, func)?;
        let dom = self.get(r)?;
        let st = dom.lock();
        let imp = affect::impact(flags, st.live.is_some(), st.persistent.is_some())?;
        if imp & affect::LIVE != 0 {
            let live = st.live.as_ref().ok_or_else(crate::process::not_running)?;
            let cg = resolve(&self.conf, live.id, &live.def);
            return Ok((live.def.clone(), cg));
        }
        let def = st.persistent.clone().ok_or_else(|| {
            driver::Error::internal(crate::state::QEMU, "domain has no definition")
        })?;
        Ok((def, None))
    }

    /// virDomainGetSchedulerParametersFlags: the cpu controller's shares
    /// and the periods and quotas of the vCPU, emulator, whole-guest and
    /// I/O thread groups (live), or the `<cputune>` values (config).
    pub(crate) fn scheduler_parameters(
        &self,
        r: &driver::DomainRef,
        flags: u32,
    ) -> driver::Result<driver::TypedParams> {
        use driver::types::TypedValue::{LLong, ULLong};
        let (def, cg) = self.tuning_target(r, flags, "qemuDomainGetSchedulerParametersFlags")?;
        let live = flags & driver::consts::affect::CONFIG == 0 && cg.is_some();
        let vals: [(u64, i64); 4] = if let Some(cg) = cg.filter(|_| live) {
            if !cg.has_controller("cpu") {
                return Err(no_controller("CPU"));
            }
            let shares = cg
                .v1_dir("cpu")
                .and_then(|d| read_trim(&d.join("cpu.shares")))
                .or_else(|| cg.v2_dir().and_then(|d| read_trim(&d.join("cpu.weight"))))
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            let vcpu = bandwidth(&cg.child("vcpu0", thread_controller));
            let emu = bandwidth(&cg.child("emulator", thread_controller));
            let global = bandwidth(&cg);
            let iothreads = def.other_element("iothreads").is_some();
            // Without I/O threads C reports the whole guest's values.
            let io = if iothreads {
                bandwidth(&cg.child("iothread1", thread_controller))
            } else {
                global
            };
            return Ok(vec![
                ("cpu_shares".into(), ULLong(shares)),
                ("vcpu_period".into(), ULLong(vcpu.0)),
                ("vcpu_quota".into(), LLong(vcpu.1)),
                ("emulator_period".into(), ULLong(emu.0)),
                ("emulator_quota".into(), LLong(emu.1)),
                ("global_period".into(), ULLong(global.0)),
                ("global_quota".into(), LLong(global.1)),
                ("iothread_period".into(), ULLong(io.0)),
                ("iothread_quota".into(), LLong(io.1)),
            ]);
        } else {
            let pq = |p: &str, q: &str| {
                (
                    cputune_num(&def, p)
                        .and_then(|v| u64::try_from(v).ok())
                        .unwrap_or(0),
                    cputune_num(&def, q).unwrap_or(0),
                )
            };
            [
                pq("period", "quota"),
                pq("emulator_period", "emulator_quota"),
                pq("global_period", "global_quota"),
                pq("iothread_period", "iothread_quota"),
            ]
        };
        let shares = cputune_num(&def, "shares")
            .and_then(|v| u64::try_from(v).ok())
            .unwrap_or(0);
        let mut out = vec![("cpu_shares".to_string(), ULLong(shares))];
        for (name, (p, q)) in ["vcpu", "emulator", "global", "iothread"].iter().zip(vals) {
            out.push((format!("{name}_period"), ULLong(p)));
            out.push((format!("{name}_quota"), LLong(q)));
        }
        Ok(out)
    }

    /// virDomainGetMemoryParameters: hard, soft and swap limits (KiB) of
    /// the running guest's group, or of its `<memtune>`.
    pub(crate) fn memory_parameters(
        &self,
        r: &driver::DomainRef,
        flags: u32,
    ) -> driver::Result<driver::TypedParams> {
        use driver::types::TypedValue::ULLong;
        let (def, cg) = self.tuning_target(r, flags, "qemuDomainGetMemoryParameters")?;
        let names = ["hard_limit", "soft_limit", "swap_hard_limit"];
        let vals: Vec<u64> = match cg.filter(|_| flags & driver::consts::affect::CONFIG == 0) {
            Some(cg) => {
                if !cg.has_controller("memory") {
                    return Err(no_controller("memory"));
                }
                let files: [[&str; 2]; 3] = [
                    ["memory.limit_in_bytes", "memory.max"],
                    ["memory.soft_limit_in_bytes", "memory.high"],
                    ["memory.memsw.limit_in_bytes", "memory.swap.max"],
                ];
                files
                    .iter()
                    .map(|[v1, v2]| {
                        cg.v1_dir("memory")
                            .map(|d| d.join(v1))
                            .or_else(|| cg.v2_dir().map(|d| d.join(v2)))
                            .and_then(|p| limit_kib(&p))
                            .unwrap_or(UNLIMITED_KIB)
                    })
                    .collect()
            }
            None => {
                let mt = def.other_element("memtune");
                names
                    .iter()
                    .map(|n| mt.and_then(|m| kib_child(m, n)).unwrap_or(UNLIMITED_KIB))
                    .collect()
            }
        };
        Ok(names
            .iter()
            .zip(vals)
            .map(|(n, v)| (n.to_string(), ULLong(v)))
            .collect())
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
