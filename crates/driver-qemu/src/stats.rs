// SPDX-License-Identifier: LGPL-2.1-or-later
//! Guest statistics: virConnectGetAllDomainStats (`virsh domstats`) with
//! the groups libvirt's QEMU driver fills, and the older single calls
//! (`dommemstat`, `domblkstat`). Figures come from /proc (QEMU's and its
//! vCPU threads' CPU time, its RSS) and from the monitor (block
//! statistics, the balloon, the dirty-rate measurement). Monitor queries
//! run beside a job in progress and never wait for it; a guest whose
//! monitor does not answer simply lacks those fields, as with libvirt.

use std::sync::Arc;

use conf::DomainDef;
use driver::consts::list;
use driver::error::ErrorCode;
use driver::{DomainRef, Error, Result, TypedParams, TypedValue};
use serde_json::Value;

use crate::process::not_running;
use crate::state::{dom_ref, Dom, Driver, QEMU};

/// virDomainStatsTypes.
mod group {
    pub const STATE: u32 = 1 << 0;
    pub const CPU_TOTAL: u32 = 1 << 1;
    pub const BALLOON: u32 = 1 << 2;
    pub const VCPU: u32 = 1 << 3;
    pub const INTERFACE: u32 = 1 << 4;
    pub const BLOCK: u32 = 1 << 5;
    pub const PERF: u32 = 1 << 6;
    pub const IOTHREAD: u32 = 1 << 7;
    pub const MEMORY: u32 = 1 << 8;
    pub const DIRTYRATE: u32 = 1 << 9;
    pub const VM: u32 = 1 << 10;
    /// Every group this driver answers.
    pub const ALL: u32 = STATE
        | CPU_TOTAL
        | BALLOON
        | VCPU
        | INTERFACE
        | BLOCK
        | PERF
        | IOTHREAD
        | MEMORY
        | DIRTYRATE
        | VM;
}

/// virConnectGetAllDomainStatsFlags beyond the listing filters.
const NOWAIT: u32 = 1 << 29;
const BACKING: u32 = 1 << 30;
const ENFORCE_STATS: u32 = 1 << 31;

/// virDomainMemoryStatTags used here.
const MEMORY_STAT_ACTUAL_BALLOON: i32 = 6;
const MEMORY_STAT_RSS: i32 = 7;

/// The balloon's guest statistics: QEMU's name, libvirt's tag, the
/// `balloon.*` name in domstats, and the divisor to libvirt's unit.
const BALLOON_STATS: [(&str, i32, &str, u64); 11] = [
    ("stat-swap-in", 0, "swap_in", 1024),
    ("stat-swap-out", 1, "swap_out", 1024),
    ("stat-major-faults", 2, "major_fault", 1),
    ("stat-minor-faults", 3, "minor_fault", 1),
    ("stat-free-memory", 4, "unused", 1024),
    ("stat-total-memory", 5, "available", 1024),
    ("stat-available-memory", 8, "usable", 1024),
    ("last-update", 9, "last-update", 1),
    ("stat-disk-caches", 10, "disk_caches", 1024),
    ("stat-htlb-pgalloc", 11, "hugetlb_pgalloc", 1),
    ("stat-htlb-pgfail", 12, "hugetlb_pgfail", 1),
];

/// What the balloon reports: its size (KiB) and the guest's statistics
/// (tag, value) in libvirt's order; empty without a balloon device.
async fn balloon_stats(mon: &qemu::qmp::Qmp) -> Vec<(i32, u64)> {
    let mut out = Vec::new();
    let Ok(b) = mon.execute("query-balloon", None).await else {
        return out;
    };
    if let Some(actual) = b.ret.get("actual").and_then(Value::as_u64) {
        out.push((MEMORY_STAT_ACTUAL_BALLOON, actual / 1024));
    }
    // The balloon device among the user-created ones.
    let Ok(list) = mon
        .execute(
            "qom-list",
            Some(serde_json::json!({ "path": "/machine/peripheral" })),
        )
        .await
    else {
        return out;
    };
    let Some(name) = list.ret.as_array().and_then(|a| {
        a.iter().find_map(|c| {
            let ty = c.get("type").and_then(Value::as_str)?;
            ty.contains("virtio-balloon")
                .then(|| c.get("name").and_then(Value::as_str))
                .flatten()
        })
    }) else {
        return out;
    };
    let path = format!("/machine/peripheral/{name}");
    let Ok(gs) = mon
        .execute(
            "qom-get",
            Some(serde_json::json!({ "path": path, "property": "guest-stats" })),
        )
        .await
    else {
        return out;
    };
    let stats = gs.ret.get("stats");
    for (qemu_name, tag, _, div) in BALLOON_STATS {
        let src = if qemu_name == "last-update" {
            gs.ret.get(qemu_name)
        } else {
            stats.and_then(|s| s.get(qemu_name))
        };
        // QEMU reports -1 (all bits set, as it is unsigned there) for
        // what the guest does not fill in; libvirt reads it signed.
        let signed = src.and_then(|v| {
            v.as_i64()
                .or_else(|| v.as_u64().map(|u| i64::from_ne_bytes(u.to_ne_bytes())))
        });
        if let Some(v) = signed.and_then(|v| u64::try_from(v).ok()) {
            out.push((tag, v / div));
        }
    }
    out
}

/// KVM's halt-polling times of a guest (success, failure; ns): QEMU's
/// `query-stats`, else KVM's debugfs directory of the process.
async fn halt_poll(mon: &qemu::qmp::Qmp, pid: u32) -> Option<(u64, u64)> {
    let args = serde_json::json!({
        "target": "vcpu",
        "providers": [{"provider": "kvm", "names": ["halt_poll_success_ns", "halt_poll_fail_ns"]}]
    });
    if let Ok(r) = mon.execute("query-stats", Some(args)).await {
        // Summed over the vCPUs QEMU answers for (none under TCG: zero,
        // as libvirt reports it); a vCPU without both figures makes the
        // answer unusable.
        let mut sum = (0u64, 0u64);
        let mut complete = r.ret.is_array();
        for vcpu in r.ret.as_array().into_iter().flatten() {
            let stats = vcpu.get("stats").and_then(Value::as_array);
            let find = |name: &str| {
                stats
                    .into_iter()
                    .flatten()
                    .find(|st| st.get("name").and_then(Value::as_str) == Some(name))
                    .and_then(|st| st.get("value").and_then(Value::as_u64))
            };
            match (find("halt_poll_success_ns"), find("halt_poll_fail_ns")) {
                (Some(ok), Some(fail)) => {
                    sum.0 = sum.0.saturating_add(ok);
                    sum.1 = sum.1.saturating_add(fail);
                }
                _ => complete = false,
            }
        }
        if complete {
            return Some(sum);
        }
    }
    let prefix = format!("{pid}-");
    let dir = std::fs::read_dir("/sys/kernel/debug/kvm")
        .ok()?
        .flatten()
        .find(|e| e.file_name().to_string_lossy().starts_with(&prefix))?
        .path();
    let read = |f: &str| -> Option<u64> {
        std::fs::read_to_string(dir.join(f))
            .ok()?
            .trim()
            .parse()
            .ok()
    };
    Some((read("halt_poll_success_ns")?, read("halt_poll_fail_ns")?))
}

/// The clock ticks of /proc's times (USER_HZ, 100 on Linux).
const TICK_NS: u64 = 10_000_000;

/// (total, user, system) CPU time in ns of a process or thread, from
/// its /proc `stat` file.
fn proc_times(stat_path: &str) -> Option<(u64, u64, u64)> {
    let stat = std::fs::read_to_string(stat_path).ok()?;
    let (_, rest) = stat.rsplit_once(") ")?;
    let f: Vec<&str> = rest.split_whitespace().collect();
    let user: u64 = f.get(11)?.parse().ok()?;
    let sys: u64 = f.get(12)?.parse().ok()?;
    Some(((user + sys) * TICK_NS, user * TICK_NS, sys * TICK_NS))
}

/// The resident set of process `pid` in KiB.
fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

/// Run-queue delay (ns) of a thread, from its `schedstat`.
fn sched_delay(pid: u32, tid: u64) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/task/{tid}/schedstat"))
        .ok()
        .and_then(|s| s.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        .unwrap_or(0)
}

/// Time (ns) a thread waited for a CPU, from its `sched` file (absent
/// without schedstats: 0, as libvirt).
fn sched_wait(pid: u32, tid: u64) -> u64 {
    let Ok(text) = std::fs::read_to_string(format!("/proc/{pid}/task/{tid}/sched")) else {
        return 0;
    };
    text.lines()
        .find(|l| l.trim_start().starts_with("wait_sum"))
        .and_then(|l| l.split(':').nth(1))
        .and_then(|v| v.trim().parse::<f64>().ok())
        // The file gives milliseconds with a fraction.
        .map(|ms| (ms * 1_000_000.0).round())
        .filter(|v| *v >= 0.0 && *v < u64::MAX as f64)
        // In range: checked just above.
        .map(|v| {
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let n = v as u64;
            n
        })
        .unwrap_or(0)
}

/// The disks of a definition with a source, in the order QEMU got them.
fn disks(def: &DomainDef) -> Vec<(String, Option<String>)> {
    def.devices
        .iter()
        .filter(|d| d.name == "disk")
        .map(|d| {
            let target = d
                .child("target")
                .and_then(|t| t.attr("dev"))
                .unwrap_or("")
                .to_string();
            let source = d
                .child("source")
                .and_then(|s| s.attr("file").or_else(|| s.attr("dev")))
                .map(str::to_string);
            (target, source)
        })
        .collect()
}

fn ull(out: &mut TypedParams, name: String, v: u64) {
    out.push((name, TypedValue::ULLong(v)));
}

/// What the monitor says of a running guest, asked once per call.
#[derive(Default)]
struct Live {
    pid: u32,
    blockstats: Vec<Value>,
    block: Vec<Value>,
    vcpus: Vec<Value>,
    balloon: Vec<(i32, u64)>,
    halt_poll: Option<(u64, u64)>,
    dirty: Option<Value>,
}

impl Driver {
    /// Asks the monitor what the groups in `groups` need.
    fn query_live(&self, dom: &Dom, groups: u32) -> Option<Live> {
        let (mon, pid) = {
            let st = dom.lock();
            let l = st.live.as_ref()?;
            (l.mon.clone(), l.pid)
        };
        let res = self.block(async move {
            let ask = |cmd: &'static str| {
                let m = mon.clone();
                async move { m.execute(cmd, None).await.ok().map(|r| r.ret) }
            };
            let mut live = Live {
                pid,
                ..Live::default()
            };
            let list = |v: Option<Value>| match v {
                Some(Value::Array(a)) => a,
                _ => Vec::new(),
            };
            if groups & group::BLOCK != 0 {
                live.blockstats = list(ask("query-blockstats").await);
                live.block = list(ask("query-block").await);
            }
            if groups & group::VCPU != 0 {
                live.vcpus = list(ask("query-cpus-fast").await);
            }
            if groups & group::BALLOON != 0 {
                live.balloon = balloon_stats(&mon).await;
            }
            if groups & group::CPU_TOTAL != 0 {
                live.halt_poll = halt_poll(&mon, pid).await;
            }
            if groups & group::DIRTYRATE != 0 {
                live.dirty = ask("query-dirty-rate").await;
            }
            live
        });
        res
    }

    /// One domain's record.
    fn stats_of(&self, dom: &Arc<Dom>, groups: u32) -> TypedParams {
        let live = self.query_live(dom, groups);
        let st = dom.lock();
        let mut out = TypedParams::new();
        let Some(def) = st.current_def().cloned() else {
            return out;
        };
        let active = st.live.is_some();
        if groups & group::STATE != 0 {
            out.push(("state.state".into(), TypedValue::Int(st.state)));
            out.push(("state.reason".into(), TypedValue::Int(st.reason)));
        }
        drop(st);
        let pid = live.as_ref().map_or(0, |l| l.pid);
        if groups & group::CPU_TOTAL != 0 {
            // libvirt reports these for a stopped guest too; it used no
            // CPU then.
            let times = if active {
                proc_times(&format!("/proc/{pid}/stat"))
            } else {
                Some((0, 0, 0))
            };
            if let Some((total, user, sys)) = times {
                ull(&mut out, "cpu.time".into(), total);
                ull(&mut out, "cpu.user".into(), user);
                ull(&mut out, "cpu.system".into(), sys);
            }
            if active {
                // No <cachetune> monitors are set up.
                out.push(("cpu.cache.monitor.count".into(), TypedValue::UInt(0)));
            }
            if let Some((ok, fail)) = live.as_ref().and_then(|l| l.halt_poll) {
                ull(&mut out, "cpu.haltpoll.success.time".into(), ok);
                ull(&mut out, "cpu.haltpoll.fail.time".into(), fail);
            }
        }
        if groups & group::BALLOON != 0 {
            let has_balloon = def
                .devices
                .iter()
                .any(|d| d.name == "memballoon" && d.attr("model") != Some("none"));
            let current = if has_balloon {
                def.current_memory_kib
            } else {
                def.memory_kib
            };
            ull(&mut out, "balloon.current".into(), current);
            ull(&mut out, "balloon.maximum".into(), def.memory_kib);
            for (tag, v) in live
                .as_ref()
                .map(|l| l.balloon.as_slice())
                .unwrap_or_default()
            {
                if let Some((_, _, name, _)) = BALLOON_STATS.iter().find(|b| b.1 == *tag) {
                    ull(&mut out, format!("balloon.{name}"), *v);
                }
            }
            if active {
                if let Some(rss) = rss_kib(pid) {
                    ull(&mut out, "balloon.rss".into(), rss);
                }
            }
        }
        if groups & group::VCPU != 0 {
            let current = def.vcpus_current;
            out.push(("vcpu.current".into(), TypedValue::UInt(current)));
            out.push((
                "vcpu.maximum".into(),
                TypedValue::UInt(def.vcpus_max.max(current)),
            ));
            if let Some(l) = live.as_ref() {
                for (i, v) in l.vcpus.iter().enumerate() {
                    let Ok(n) = u32::try_from(i) else { break };
                    if n >= current {
                        break;
                    }
                    let idx = v
                        .get("cpu-index")
                        .and_then(Value::as_u64)
                        .unwrap_or(u64::from(n));
                    let tid = v.get("thread-id").and_then(Value::as_u64).unwrap_or(0);
                    let time =
                        proc_times(&format!("/proc/{pid}/task/{tid}/stat")).map_or(0, |t| t.0);
                    // VIR_VCPU_RUNNING.
                    out.push((format!("vcpu.{idx}.state"), TypedValue::Int(1)));
                    ull(&mut out, format!("vcpu.{idx}.time"), time);
                    ull(&mut out, format!("vcpu.{idx}.wait"), sched_wait(pid, tid));
                    ull(&mut out, format!("vcpu.{idx}.delay"), sched_delay(pid, tid));
                }
            }
        }
        if groups & group::INTERFACE != 0 && active {
            let nets = def.devices.iter().filter(|d| d.name == "interface").count();
            out.push((
                "net.count".into(),
                TypedValue::UInt(u32::try_from(nets).unwrap_or(u32::MAX)),
            ));
        }
        if groups & group::BLOCK != 0 {
            self.block_stats_into(&def, live.as_ref(), &mut out);
        }
        if groups & group::DIRTYRATE != 0 {
            if let Some(d) = live.as_ref().and_then(|l| l.dirty.as_ref()) {
                let status = match d.get("status").and_then(Value::as_str) {
                    Some("measuring") => 1,
                    Some("measured") => 2,
                    _ => 0,
                };
                out.push(("dirtyrate.calc_status".into(), TypedValue::Int(status)));
                out.push((
                    "dirtyrate.calc_start_time".into(),
                    TypedValue::LLong(d.get("start-time").and_then(Value::as_i64).unwrap_or(0)),
                ));
                out.push((
                    "dirtyrate.calc_period".into(),
                    TypedValue::Int(
                        d.get("calc-time")
                            .and_then(Value::as_i64)
                            .and_then(|v| i32::try_from(v).ok())
                            .unwrap_or(0),
                    ),
                ));
                out.push((
                    "dirtyrate.calc_mode".into(),
                    TypedValue::String(
                        d.get("mode")
                            .and_then(Value::as_str)
                            .unwrap_or("page-sampling")
                            .to_string(),
                    ),
                ));
                if status == 2 {
                    out.push((
                        "dirtyrate.megabytes_per_second".into(),
                        TypedValue::LLong(d.get("dirty-rate").and_then(Value::as_i64).unwrap_or(0)),
                    ));
                }
            }
        }
        // perf: no perf events are enabled; iothread: none defined;
        // memory: no resctrl monitors; vm: QEMU has no statistics for
        // TCG guests. As with libvirt, those groups add nothing then.
        out
    }

    /// The `block.*` fields: every disk, QEMU's counters for the running
    /// ones (matched in the order the disks were given to QEMU), sizes.
    fn block_stats_into(&self, def: &DomainDef, live: Option<&Live>, out: &mut TypedParams) {
        let all = disks(def);
        let count = u32::try_from(all.len()).unwrap_or(u32::MAX);
        out.push(("block.count".into(), TypedValue::UInt(count)));
        let mut with_source = 0usize;
        for (i, (target, source)) in all.iter().enumerate() {
            out.push((
                format!("block.{i}.name"),
                TypedValue::String(target.clone()),
            ));
            let Some(src) = source else { continue };
            out.push((format!("block.{i}.path"), TypedValue::String(src.clone())));
            let entry = live.and_then(|l| l.blockstats.get(with_source));
            let info = live.and_then(|l| l.block.get(with_source));
            with_source += 1;
            if let Some(s) = entry.and_then(|e| e.get("stats")) {
                let g = |k: &str| s.get(k).and_then(Value::as_u64).unwrap_or(0);
                let ns = |k: &str| g(k);
                for (name, v) in [
                    ("rd.reqs", g("rd_operations")),
                    ("rd.bytes", g("rd_bytes")),
                    ("rd.times", ns("rd_total_time_ns")),
                    ("wr.reqs", g("wr_operations")),
                    ("wr.bytes", g("wr_bytes")),
                    ("wr.times", ns("wr_total_time_ns")),
                    ("fl.reqs", g("flush_operations")),
                    ("fl.times", ns("flush_total_time_ns")),
                    ("allocation", g("wr_highest_offset")),
                ] {
                    ull(out, format!("block.{i}.{name}"), v);
                }
                let capacity = info
                    .and_then(|b| b.get("inserted"))
                    .and_then(|x| x.get("image"))
                    .and_then(|x| x.get("virtual-size"))
                    .and_then(Value::as_u64);
                if let Some(c) = capacity.filter(|c| *c > 0) {
                    ull(out, format!("block.{i}.capacity"), c);
                }
                if let Ok(m) = std::fs::metadata(src) {
                    ull(out, format!("block.{i}.physical"), m.len());
                }
            } else if live.is_none() {
                // Inactive: sizes from the file itself.
                if let Ok(m) = std::fs::metadata(src) {
                    use std::os::unix::fs::MetadataExt;
                    ull(out, format!("block.{i}.allocation"), m.blocks() * 512);
                    ull(out, format!("block.{i}.capacity"), m.len());
                    ull(out, format!("block.{i}.physical"), m.len());
                }
            }
        }
    }

    /// virConnectGetAllDomainStats / virDomainListGetStats.
    pub(crate) fn domain_stats(
        &self,
        doms: &[DomainRef],
        stats: u32,
        flags: u32,
    ) -> Result<Vec<(DomainRef, TypedParams)>> {
        let filters = list::ACTIVE
            | list::INACTIVE
            | list::PERSISTENT
            | list::TRANSIENT
            | list::RUNNING
            | list::PAUSED
            | list::SHUTOFF
            | list::OTHER;
        let allowed = if doms.is_empty() {
            filters | NOWAIT | BACKING | ENFORCE_STATS
        } else {
            NOWAIT | BACKING | ENFORCE_STATS
        };
        Error::check_flags(flags, allowed, "qemuConnectGetAllDomainStats")?;
        if flags & ENFORCE_STATS != 0 && stats & !group::ALL != 0 {
            return Err(Error::new(
                ErrorCode::ArgumentUnsupported,
                QEMU,
                format!(
                    "Stats types bits 0x{:x} are not supported by this daemon",
                    stats & !group::ALL
                ),
            ));
        }
        let groups = if stats == 0 {
            group::ALL
        } else {
            stats & group::ALL
        };
        let picked: Vec<Arc<Dom>> = if doms.is_empty() {
            self.all()
                .into_iter()
                .filter(|d| {
                    let st = d.lock();
                    list::wanted(
                        flags & filters,
                        &list::Facts {
                            active: st.live.is_some(),
                            persistent: st.persistent.is_some(),
                            autostart: st.autostart,
                            has_snapshot: false,
                            managed_save: false,
                            has_checkpoint: false,
                            state: st.state,
                        },
                    )
                })
                .collect()
        } else {
            doms.iter().map(|r| self.get(r)).collect::<Result<_>>()?
        };
        Ok(picked
            .iter()
            .map(|d| (dom_ref(d), self.stats_of(d, groups)))
            .collect())
    }

    /// virDomainMemoryStats: the balloon's size when QEMU has one, and
    /// QEMU's resident set.
    pub(crate) fn memory_stats(&self, r: &DomainRef, nr: u32) -> Result<Vec<(i32, u64)>> {
        let dom = self.get(r)?;
        let (mon, pid) = {
            let st = dom.lock();
            let l = st.live.as_ref().ok_or_else(not_running)?;
            (l.mon.clone(), l.pid)
        };
        let mut out = self
            .block(async move { balloon_stats(&mon).await })
            .unwrap_or_default();
        match rss_kib(pid) {
            Some(rss) => out.push((MEMORY_STAT_RSS, rss)),
            None => {
                return Err(Error::new(
                    ErrorCode::OperationFailed,
                    QEMU,
                    "cannot get RSS for domain",
                ))
            }
        }
        out.truncate(usize::try_from(nr).unwrap_or(usize::MAX));
        Ok(out)
    }

    /// virDomainBlockStats of the disk named by its target or source.
    pub(crate) fn block_stats(&self, r: &DomainRef, path: &str) -> Result<[i64; 5]> {
        let dom = self.get(r)?;
        let def = {
            let st = dom.lock();
            st.live.as_ref().ok_or_else(not_running)?.def.clone()
        };
        let all = disks(&def);
        let Some(pos) = all
            .iter()
            .position(|(t, s)| t == path || s.as_deref() == Some(path))
        else {
            return Err(Error::new(
                ErrorCode::InvalidArg,
                QEMU,
                format!("invalid path: {path}"),
            ));
        };
        let nth = all[..pos].iter().filter(|(_, s)| s.is_some()).count();
        let live = self
            .query_live(&dom, group::BLOCK)
            .ok_or_else(not_running)?;
        let s = live
            .blockstats
            .get(nth)
            .and_then(|e| e.get("stats"))
            .ok_or_else(|| {
                Error::internal(QEMU, format!("cannot find statistics for device '{path}'"))
            })?;
        let g = |k: &str| s.get(k).and_then(Value::as_i64).unwrap_or(0);
        Ok([
            g("rd_operations"),
            g("rd_bytes"),
            g("wr_operations"),
            g("wr_bytes"),
            -1,
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_times_of_this_process_are_consistent() {
        let (total, user, sys) =
            proc_times("/proc/self/stat").unwrap_or_else(|| panic!("no /proc/self/stat"));
        assert_eq!(total, user + sys);
        assert!(proc_times("/proc/self/no-such-file").is_none());
        assert!(rss_kib(std::process::id()).is_some_and(|k| k > 0));
    }
}
