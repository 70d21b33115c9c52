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
