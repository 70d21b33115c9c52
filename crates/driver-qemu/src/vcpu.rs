// SPDX-License-Identifier: LGPL-2.1-or-later
//! vCPU counts (virDomainSetVcpusFlags, virDomainGetVcpusFlags): the
//! definitions' counts, and vCPUs plugged into and out of a running guest
//! as libvirt does it: `device_add` of the CPU QEMU offers in
//! `query-hotpluggable-cpus` (the next free one in topology order, named
//! `vcpuN`), `device_del` of one plugged so, finished on DEVICE_DELETED.

use driver::consts::affect;
use driver::error::ErrorCode;
use driver::{DomainRef, Error, Result};
use serde_json::{json, Map, Value};

use crate::state::{Driver, QEMU};

/// virDomainVcpuFlags beyond the AFFECT ones.
const MAXIMUM: u32 = affect::MAXIMUM;
const GUEST: u32 = 1 << 3;
const HOTPLUGGABLE: u32 = 1 << 4;

/// The topology keys of a hot-pluggable CPU, in libvirt's order.
const TOPOLOGY: &[&str] = &[
    "node-id",
    "drawer-id",
    "book-id",
    "socket-id",
    "die-id",
    "cluster-id",
    "core-id",
    "thread-id",
];

fn topo_key(props: &Value) -> Vec<i64> {
    TOPOLOGY
        .iter()
        .skip(1)
        .map(|k| props.get(*k).and_then(Value::as_i64).unwrap_or(0))
        .collect()
}

impl Driver {
    /// virDomainGetVcpusFlags.
    pub(crate) fn get_vcpus(&self, r: &DomainRef, flags: u32) -> Result<i32> {
        Error::check_flags(
            flags,
            affect::LIVE | affect::CONFIG | MAXIMUM | GUEST,
            "qemuDomainGetVcpusFlags",
        )?;
        let dom = self.get(r)?;
        let st = dom.lock();
        let imp = affect::impact(flags, st.live.is_some(), st.persistent.is_some())?;
        if imp & GUEST != 0 {
            return Err(Error::new(
                ErrorCode::OperationUnsupported,
                QEMU,
                "the guest agent is not supported by this daemon yet",
            ));
        }
        let def = if imp & affect::LIVE != 0 {
            st.live.as_ref().map(|l| &l.def)
        } else {
            st.persistent.as_ref()
        }
        .ok_or_else(|| Error::internal(QEMU, "domain has no definition"))?;
        let n = if imp & MAXIMUM != 0 {
            def.vcpus_max
        } else {
            def.vcpus_current
        };
        Ok(i32::try_from(n).unwrap_or(i32::MAX))
    }

    /// virDomainSetVcpusFlags.
    pub(crate) fn set_vcpus(&self, r: &DomainRef, n: u32, flags: u32) -> Result<()> {
        Error::check_flags(
            flags,
            affect::LIVE | affect::CONFIG | MAXIMUM | GUEST | HOTPLUGGABLE,
            "qemuDomainSetVcpusFlags",
        )?;
        let job = self.begin(r, "virDomainSetVcpusFlags")?;
        let dom = job.obj().clone();
        let (imp, persistent, live) = {
            let st = dom.lock();
            let imp = affect::impact(flags, st.live.is_some(), st.persistent.is_some())?;
            (
                imp,
                st.persistent.clone(),
                st.live.as_ref().map(|l| (l.def.clone(), l.mon.clone())),
            )
        };
        if imp & GUEST != 0 {
            return Err(Error::new(
                ErrorCode::OperationUnsupported,
                QEMU,
                "the guest agent is not supported by this daemon yet",
            ));
        }
        let (live_on, config_on) = (imp & affect::LIVE != 0, imp & affect::CONFIG != 0);
        if imp & MAXIMUM != 0 {
            if live_on {
                return Err(Error::new(
                    ErrorCode::OperationUnsupported,
                    QEMU,
                    "maximum vcpu count of a live domain can't be modified",
                ));
            }
            if let Some(mut p) = persistent {
                p.set_vcpus_max(n).map_err(|e| e.in_domain(QEMU))?;
                self.write_config(&p)?;
                dom.lock().persistent = Some(p);
            }
            return Ok(());
        }
        if let (true, Some((def, _))) = (live_on, &live) {
            if n > def.vcpus_max {
                return Err(Error::new(
                    ErrorCode::InvalidArg,
                    QEMU,
                    format!(
                        "requested vcpus is greater than max allowable vcpus for the live domain: {n} > {}",
                        def.vcpus_max
                    ),
                ));
            }
        }
        let new_config = match (config_on, persistent) {
            (true, Some(mut p)) => {
                p.set_vcpus(n).map_err(|e| e.in_domain(QEMU))?;
                Some(p)
            }
            _ => None,
        };
        if let (true, Some((def, mon))) = (live_on, live) {
            self.set_vcpus_live(&dom, &def, &mon, n)?;
        }
        if let Some(p) = new_config {
            self.write_config(&p)?;
            dom.lock().persistent = Some(p);
        }
        Ok(())
    }

    fn set_vcpus_live(
        &self,
        dom: &crate::state::Dom,
        def: &conf::DomainDef,
        mon: &qemu::qmp::Qmp,
        n: u32,
    ) -> Result<()> {
        let cur = def.vcpus_current;
        if n == 0 {
            return Err(Error::new(
                ErrorCode::InvalidArg,
                QEMU,
                "Invalid number of vcpus '0'",
            ));
        }
        let cpus = self.qmp(mon, "query-hotpluggable-cpus", None)?;
        let mut slots: Vec<Value> = cpus.as_array().cloned().unwrap_or_default();
        slots.sort_by_key(|c| topo_key(c.get("props").unwrap_or(&Value::Null)));
        if n > cur {
            for i in cur..n {
                let slot = usize::try_from(i)
                    .ok()
                    .and_then(|i| slots.get(i))
                    .filter(|s| s.get("qom-path").is_none())
                    .ok_or_else(|| {
                        Error::new(
                            ErrorCode::OperationFailed,
                            QEMU,
                            format!("no hot-pluggable slot for vCPU {i}"),
                        )
                    })?;
                let mut props = Map::new();
                props.insert(
                    "driver".into(),
                    slot.get("type").cloned().unwrap_or(Value::Null),
                );
                props.insert("id".into(), json!(format!("vcpu{i}")));
                if let Some(p) = slot.get("props").and_then(Value::as_object) {
                    for k in TOPOLOGY {
                        if let Some(v) = p.get(*k) {
                            props.insert((*k).into(), v.clone());
                        }
                    }
                }
                self.qmp(mon, "device_add", Some(Value::Object(props)))?;
                self.record_vcpus(dom, i + 1);
            }
        } else {
            for i in (n..cur).rev() {
                let id = format!("vcpu{i}");
                let plugged = usize::try_from(i)
                    .ok()
                    .and_then(|i| slots.get(i))
                    .and_then(|s| s.get("qom-path"))
                    .and_then(Value::as_str)
                    .is_some_and(|p| p == format!("/machine/peripheral/{id}"));
                if !plugged {
                    return Err(Error::new(
                        ErrorCode::OperationInvalid,
                        QEMU,
                        format!("vcpu '{i}' can't be unplugged"),
                    ));
                }
                if !self.unplug(dom, mon, &id, Vec::new(), Vec::new())? {
                    return Err(Error::new(
                        ErrorCode::OperationFailed,
                        QEMU,
                        "vcpu unplug request timed out. Unplug result must be manually inspected in the domain",
                    ));
                }
                self.record_vcpus(dom, i);
            }
        }
        Ok(())
    }

    /// The running guest's vCPU count after a change.
    fn record_vcpus(&self, dom: &crate::state::Dom, n: u32) {
        let mut st = dom.lock();
        let (state, reason) = (st.state, st.reason);
        if let Some(live) = st.live.as_mut() {
            let _ = live.def.set_vcpus(n);
            self.write_status(&live.def, state, reason, live.pid);
        }
    }
}

/// virVcpuState: running.
const VCPU_RUNNING: i32 = 1;

/// A thread's CPU time (ns) and the host CPU it last ran on, from
/// `/proc/PID/task/TID/stat`.
fn thread_stat(pid: u32, tid: u32) -> (u64, i32) {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/task/{tid}/stat")) else {
        return (0, -1);
    };
    let Some((_, rest)) = stat.rsplit_once(") ") else {
        return (0, -1);
    };
    let f: Vec<&str> = rest.split_whitespace().collect();
    // utime, stime (fields 14, 15) in ticks of 100 Hz; processor (39).
    let ticks: u64 = [11, 12]
        .iter()
        .filter_map(|i| f.get(*i).and_then(|v| v.parse::<u64>().ok()))
        .sum();
    let cpu = f.get(36).and_then(|v| v.parse().ok()).unwrap_or(-1);
    (ticks * 10_000_000, cpu)
}

/// The CPUs of `map` (bit N of byte N/8 for CPU N).
fn cpus_of_map(map: &[u8]) -> Vec<usize> {
    (0..map.len() * 8)
        .filter(|c| map.get(c / 8).is_some_and(|b| b & (1 << (c % 8)) != 0))
        .collect()
}

/// `cpus` as a map of `maplen` bytes.
fn map_of_cpus(cpus: &[usize], maplen: usize) -> Vec<u8> {
    let mut m = vec![0u8; maplen];
    for c in cpus {
        if let Some(b) = m.get_mut(c / 8) {
            *b |= 1 << (c % 8);
        }
    }
    m
}

impl Driver {
    /// The running guest's QEMU pid and its vCPU threads (index, thread
    /// id) from `query-cpus-fast`.
    fn vcpu_threads(&self, r: &DomainRef) -> Result<(u32, Vec<(u32, u32)>)> {
        let dom = self.get(r)?;
        let (pid, mon) = {
            let st = dom.lock();
            let l = st.live.as_ref().ok_or_else(crate::process::not_running)?;
            (l.pid, l.mon.clone())
        };
        let ret = match self.block(async move { mon.execute("query-cpus-fast", None).await }) {
            Some(Ok(r)) => r.ret,
            Some(Err(e)) => return Err(qemu::probe::qmp_error("query-cpus-fast", e)),
            None => return Err(Error::internal(QEMU, "monitor call failed")),
        };
        let mut threads = crate::cgroup::vcpu_threads(&ret);
        threads.sort_unstable();
        Ok((pid, threads))
    }

    /// virDomainGetVcpus: each vCPU's state, CPU time, host CPU and the
    /// CPUs its thread may run on.
    pub(crate) fn vcpu_info(
        &self,
        r: &DomainRef,
        maxinfo: usize,
        maplen: usize,
    ) -> Result<(Vec<driver::VcpuInfo>, Vec<u8>)> {
        let (pid, threads) = self.vcpu_threads(r)?;
        let mut info = Vec::new();
        let mut maps = Vec::new();
        for (idx, tid) in threads.into_iter().take(maxinfo) {
            let (cpu_time, cpu) = thread_stat(pid, tid);
            info.push(driver::VcpuInfo {
                number: idx,
                state: VCPU_RUNNING,
                cpu_time,
                cpu,
            });
            if maplen > 0 {
                let cpus = host::process::get_affinity(tid).map_err(|e| {
                    Error::new(
                        ErrorCode::SystemError,
                        QEMU,
                        format!("cannot get CPU affinity of process {tid}: {e}"),
                    )
                })?;
                maps.extend(map_of_cpus(&cpus, maplen));
            }
        }
        Ok((info, maps))
    }

    /// virDomainPinVcpuFlags on the running guest: the vCPU's thread
    /// restricted to the CPUs of `cpumap` (the definitions are left
    /// alone: only the live change is made).
    pub(crate) fn pin_vcpu(
        &self,
        r: &DomainRef,
        vcpu: u32,
        cpumap: &[u8],
        flags: u32,
    ) -> Result<()> {
        Error::check_flags(
            flags,
            affect::LIVE | affect::CONFIG,
            "qemuDomainPinVcpuFlags",
        )?;
        if flags & affect::CONFIG != 0 {
            return Err(Error::new(
                ErrorCode::ArgumentUnsupported,
                QEMU,
                "pinning the persistent definition is not supported by this daemon yet",
            ));
        }
        let cpus = cpus_of_map(cpumap);
        if cpus.is_empty() {
            return Err(Error::new(
                ErrorCode::InvalidArg,
                QEMU,
                "Empty cpu list for pinning",
            ));
        }
        let job = self.begin(r, "virDomainPinVcpuFlags")?;
        let (_, threads) = self.vcpu_threads(r)?;
        drop(job);
        let tid = threads
            .iter()
            .find(|(i, _)| *i == vcpu)
            .map(|(_, t)| *t)
            .ok_or_else(|| {
                Error::new(
                    ErrorCode::InvalidArg,
                    QEMU,
                    format!(
                        "vcpu {vcpu} is out of range of live cpu count {}",
                        threads.len()
                    ),
                )
            })?;
        host::process::set_affinity(tid, &cpus).map_err(|e| {
            Error::new(
                ErrorCode::SystemError,
                QEMU,
                format!("cannot set CPU affinity on process {tid}: {e}"),
            )
        })
    }
}

/// virNodeGetCPUMap: the host's CPU count (the highest present one + 1),
/// the map of those online and how many are.
pub(crate) fn node_cpu_map(flags: u32) -> Result<(i32, Vec<u8>, u32)> {
    Error::check_flags(flags, 0, "virHostCPUGetMap")?;
    let read = |f: &str| {
        let path = format!("/sys/devices/system/cpu/{f}");
        std::fs::read_to_string(&path)
            .ok()
            .and_then(|s| conf::parse_bitmap(s.trim(), 8192))
            .ok_or_else(|| Error::internal(QEMU, format!("unable to parse '{path}'")))
    };
    let present = read("present")?;
    let online = read("online")?;
    let n = present.iter().max().map_or(0, |m| m + 1);
    let map = map_of_cpus(&online, n.div_ceil(8));
    Ok((
        i32::try_from(n).unwrap_or(i32::MAX),
        map,
        u32::try_from(online.len()).unwrap_or(u32::MAX),
    ))
}
