// SPDX-License-Identifier: LGPL-2.1-or-later
//! `driver::Connection` for the libxl driver: what a client connection
//! to a running driver can do, each call answered from the guest table or
//! through libxl, with libvirt's libxl driver's checks and errors.

use super::driver::{conflict, Dom, DomObj, XenDriver};
use super::helpers::{
    domid_of, dominfo_state, err, fmt_def, no_domain, not_running, parse_def, save_flags,
    start_flags, system, write_xml_file, CONSOLE_FORCE, CONSOLE_SAFE,
};
use crate::limited::{xml_from_native, xml_to_native};
use conf::DomainDef;
use driver::consts::{affect, lifecycle, list, reason, state, xml as xmlflags};
use driver::error::{ErrorCode, ErrorDomain};
use driver::objlist::Conflict;
use driver::{Connection, DomainInfo, DomainRef, Error, Event, EventSink, NodeInfo, Result};
use std::os::fd::OwnedFd;
use std::path::Path;
use std::sync::Arc;

/// A client connection to the running driver.
pub struct XenConnection {
    drv: Arc<XenDriver>,
    uri: String,
}

impl XenConnection {
    /// A connection for `uri`.
    pub fn new(drv: Arc<XenDriver>, uri: String) -> Self {
        XenConnection { drv, uri }
    }
}

impl Connection for XenConnection {
    fn get_type(&self) -> &'static str {
        "Xen"
    }
    fn uri(&self) -> String {
        self.uri.clone()
    }
    fn version(&self) -> Result<u64> {
        let major = u64::try_from(self.drv.ver.major).unwrap_or(0);
        let minor = u64::try_from(self.drv.ver.minor).unwrap_or(0);
        Ok(major * 1_000_000 + minor * 1000)
    }
    fn hostname(&self) -> Result<String> {
        crate::host::hostname()
    }
    fn domain_capabilities(
        &self,
        emulator: Option<&str>,
        arch: Option<&str>,
        machine: Option<&str>,
        virttype: Option<&str>,
        flags: u32,
    ) -> Result<String> {
        crate::caps::domain_capabilities_xml(emulator, arch, machine, virttype, flags)
    }
    fn capabilities(&self) -> Result<String> {
        Ok(crate::caps::capabilities_xml(&self.drv.caps, "x86_64", &[]))
    }
    fn node_info(&self) -> Result<NodeInfo> {
        let p = self.drv.ctx.physinfo().map_err(err)?;
        Ok(NodeInfo {
            model: "x86_64".into(),
            memory: p.total_pages.saturating_mul(self.drv.ver.pagesize / 1024),
            cpus: p.nr_cpus,
            mhz: p.cpu_khz / 1000,
            nodes: p.nr_nodes,
            sockets: 1,
            cores: p.cores_per_socket,
            threads: p.threads_per_core,
        })
    }
    fn node_free_memory(&self) -> Result<u64> {
        let p = self.drv.ctx.physinfo().map_err(err)?;
        Ok(p.free_pages.saturating_mul(self.drv.ver.pagesize))
    }
    fn domain_xml_from_native(&self, format: &str, config: &str, flags: u32) -> Result<String> {
        xml_from_native(&self.drv.caps, format, config, flags)
    }
    fn domain_xml_to_native(&self, format: &str, xml: &str, flags: u32) -> Result<String> {
        xml_to_native(format, xml, flags)
    }
    fn subscribe(&self, sink: EventSink) -> Option<u64> {
        Some(self.drv.events.subscribe(sink))
    }
    fn unsubscribe(&self, token: u64) {
        self.drv.events.unsubscribe(token)
    }

    fn list_all_domains(&self, flags: u32) -> Result<Vec<DomainRef>> {
        Error::check_flags(flags, list::ALL, "virConnectListAllDomains")?;
        self.drv.refresh();
        Ok(self
            .drv
            .doms
            .snapshot()
            .iter()
            .filter_map(|e| e.obj.lock_live())
            .filter(|d| {
                let active = d.id >= 0;
                (flags & (list::ACTIVE | list::INACTIVE) == 0
                    || (flags & list::ACTIVE != 0 && active)
                    || (flags & list::INACTIVE != 0 && !active))
                    && (flags & (list::PERSISTENT | list::TRANSIENT) == 0
                        || (flags & list::PERSISTENT != 0 && d.persistent)
                        || (flags & list::TRANSIENT != 0 && !d.persistent))
                    && (flags & (list::AUTOSTART | list::NO_AUTOSTART) == 0
                        || (flags & list::AUTOSTART != 0 && d.autostart)
                        || (flags & list::NO_AUTOSTART != 0 && !d.autostart))
                    && (flags & (list::MANAGEDSAVE | list::NO_MANAGEDSAVE) == 0 || {
                        let has = self.drv.managed_save_path(&d.def.name).exists();
                        (flags & list::MANAGEDSAVE != 0 && has)
                            || (flags & list::NO_MANAGEDSAVE != 0 && !has)
                    })
                    && (flags & (list::RUNNING | list::PAUSED | list::SHUTOFF | list::OTHER) == 0
                        || {
                            let st = if d.id >= 0 {
                                d.status.0
                            } else {
                                state::SHUTOFF
                            };
                            (flags & list::RUNNING != 0 && st == state::RUNNING)
                                || (flags & list::PAUSED != 0 && st == state::PAUSED)
                                || (flags & list::SHUTOFF != 0 && st == state::SHUTOFF)
                                || (flags & list::OTHER != 0
                                    && ![state::RUNNING, state::PAUSED, state::SHUTOFF]
                                        .contains(&st))
                        })
                    && flags & (list::HAS_SNAPSHOT | list::HAS_CHECKPOINT) == 0
            })
            .map(|d| d.dref())
            .collect())
    }
    fn list_domain_ids(&self, max: usize) -> Result<Vec<i32>> {
        self.drv.refresh();
        Ok(self
            .drv
            .doms
            .snapshot()
            .iter()
            .filter_map(|e| e.id)
            .take(max)
            .collect())
    }
    fn num_of_domains(&self) -> Result<usize> {
        self.drv.refresh();
        let all = self.drv.doms.snapshot();
        Ok(all.iter().filter(|e| e.id.is_some()).count())
    }
    fn list_defined_domains(&self, max: usize) -> Result<Vec<String>> {
        self.drv.refresh();
        Ok(self
            .drv
            .doms
            .snapshot()
            .iter()
            .filter(|e| e.id.is_none())
            .map(|e| String::from(&*e.name))
            .take(max)
            .collect())
    }
    fn num_of_defined_domains(&self) -> Result<usize> {
        self.drv.refresh();
        let all = self.drv.doms.snapshot();
        Ok(all.iter().filter(|e| e.id.is_none()).count())
    }
    fn domain_lookup_by_id(&self, id: i32) -> Result<DomainRef> {
        self.drv.refresh();
        (id >= 0)
            .then(|| self.drv.doms.entry_by_id(id))
            .flatten()
            .map(|e| e.dom_ref())
            .ok_or_else(|| {
                Error::no_domain(
                    ErrorDomain::Libxl,
                    format!("no domain with matching id {id}"),
                )
            })
    }
    fn domain_lookup_by_name(&self, name: &str) -> Result<DomainRef> {
        self.drv.refresh();
        self.drv
            .doms
            .entry_by_name(name)
            .map(|e| e.dom_ref())
            .ok_or_else(|| {
                Error::no_domain(
                    ErrorDomain::Libxl,
                    format!("no domain with matching name '{name}'"),
                )
            })
    }
    fn domain_lookup_by_uuid(&self, uuid: &[u8; 16]) -> Result<DomainRef> {
        self.drv.refresh();
        self.drv
            .doms
            .entry(uuid)
            .map(|e| e.dom_ref())
            .ok_or_else(|| {
                Error::no_domain(
                    ErrorDomain::Libxl,
                    format!("no domain with matching uuid '{}'", conf::Uuid(*uuid)),
                )
            })
    }

    fn domain_define_xml(&self, xml: &str, flags: u32) -> Result<DomainRef> {
        Error::check_flags(flags, 1, "libxlDomainDefineXMLFlags")?;
        let def = parse_def(xml)?;
        write_xml_file(
            &self
                .drv
                .cfg
                .dirs
                .config_dir
                .join(format!("{}.xml", def.name)),
            &fmt_def(&def, true),
        )?;
        let doms = &self.drv.doms;
        if let Some(e) = doms.entry_by_name(&def.name) {
            if e.uuid != def.uuid.0 {
                return Err(conflict(Conflict::NameTaken {
                    name: String::from(&*e.name),
                    uuid: e.uuid,
                }));
            }
        }
        // The guest with this UUID takes the definition, whatever its name.
        let update = |obj: &DomObj, d: &mut Dom, def: DomainDef| {
            if d.id >= 0 {
                d.newdef = Some(def);
                d.updated = true;
            } else {
                d.def = def;
                self.drv.sync_keys(obj, d);
            }
            d.persistent = true;
            d.dref()
        };
        let (out, updated) = match doms.get(&def.uuid.0) {
            Some(obj) => {
                let mut d = obj.lock_live().ok_or_else(|| no_domain(&def_ref(&def)))?;
                (update(&obj, &mut d, def), true)
            }
            None => {
                let (uuid, name) = (def.uuid.0, Arc::from(def.name.as_str()));
                doms.add(
                    uuid,
                    name,
                    Dom::new(def, true),
                    |obj, d, unused| match unused {
                        None => (d.dref(), false),
                        Some(new) => (update(obj, d, new.def), true),
                    },
                )
                .map_err(conflict)?
            }
        };
        self.drv.events.publish(Event::DomainLifecycle {
            dom: out.clone(),
            event: lifecycle::DEFINED,
            detail: if updated {
                lifecycle::DEFINED_UPDATED
            } else {
                lifecycle::DEFINED_ADDED
            },
        });
        Ok(out)
    }
    fn domain_undefine(&self, dom: &DomainRef, flags: u32) -> Result<()> {
        Error::check_flags(
            flags,
            driver::consts::undefine::MANAGED_SAVE
                | driver::consts::undefine::KEEP_NVRAM
                | driver::consts::undefine::NVRAM,
            "libxlDomainUndefineFlags",
        )?;
        let name = self.drv.with_dom(dom, |d| {
            if !d.persistent {
                return Err(Error::operation_invalid(
                    ErrorDomain::Libxl,
                    "Cannot undefine transient domain",
                ));
            }
            Ok(d.def.name.clone())
        })?;
        let managed = self.drv.managed_save_path(&name);
        if managed.exists() {
            if flags & driver::consts::undefine::MANAGED_SAVE == 0 {
                return Err(Error::operation_invalid(
                    ErrorDomain::Libxl,
                    "Refusing to undefine while domain managed save image exists",
                ));
            }
            std::fs::remove_file(&managed).map_err(|e| {
                system(
                    format!(
                        "Failed to remove domain managed save image '{}'",
                        managed.display()
                    ),
                    &e,
                )
            })?;
        }
        let _ = std::fs::remove_file(self.drv.cfg.dirs.config_dir.join(format!("{name}.xml")));
        let _ = std::fs::remove_file(self.drv.cfg.dirs.autostart_dir.join(format!("{name}.xml")));
        if let Some(obj) = self.drv.doms.get(&dom.uuid) {
            let mut d = obj.lock();
            if d.id >= 0 {
                d.persistent = false;
                d.autostart = false;
                d.newdef = None;
                d.updated = false;
            } else {
                self.drv.doms.remove(&obj);
            }
        }
        self.drv.events.publish(Event::DomainLifecycle {
            dom: dom.clone(),
            event: lifecycle::UNDEFINED,
            detail: 0,
        });
        Ok(())
    }
    fn domain_create(&self, dom: &DomainRef, flags: u32) -> Result<DomainRef> {
        Error::check_flags(
            flags,
            start_flags::PAUSED | start_flags::FORCE_BOOT,
            "libxlDomainCreateWithFlags",
        )?;
        self.drv.start_domain(dom, flags)
    }
    fn domain_create_xml(&self, xml: &str, flags: u32) -> Result<DomainRef> {
        Error::check_flags(flags, start_flags::PAUSED, "libxlDomainCreateXML")?;
        let def = parse_def(xml)?;
        let doms = &self.drv.doms;
        // The first guest (in table order) with the UUID or the name.
        let first = doms
            .snapshot()
            .iter()
            .find(|e| e.uuid == def.uuid.0 || *e.name == *def.name)
            .cloned();
        if let Some(e) = first {
            if e.id.is_some() {
                return Err(Error::operation_invalid(
                    ErrorDomain::Libxl,
                    format!("domain '{}' is already active", e.name),
                ));
            }
        }
        let defined_with = |name: &str, uuid: &[u8; 16]| {
            Error::new(
                ErrorCode::OperationFailed,
                ErrorDomain::Libxl,
                format!(
                    "domain '{name}' is already defined with uuid {}",
                    conf::Uuid(*uuid)
                ),
            )
        };
        let dref = match doms.get(&def.uuid.0) {
            // An inactive persistent guest: run the given definition.
            Some(obj) => {
                let mut d = obj.lock_live().ok_or_else(|| no_domain(&def_ref(&def)))?;
                if d.def.name != def.name {
                    return Err(defined_with(&d.def.name, &d.def.uuid.0));
                }
                d.newdef = Some(def.clone());
                d.def = def;
                d.dref()
            }
            None => {
                if let Some(e) = doms.entry_by_name(&def.name) {
                    return Err(defined_with(&e.name, &e.uuid));
                }
                let (uuid, name) = (def.uuid.0, Arc::from(def.name.as_str()));
                doms.add(uuid, name, Dom::new(def, false), |_, d, _| d.dref())
                    .map_err(conflict)?
            }
        };
        match self.drv.start_domain(&dref, flags & start_flags::PAUSED) {
            Ok(r) => Ok(r),
            Err(e) => {
                if let Some(obj) = doms.get(&dref.uuid) {
                    let d = obj.lock();
                    if !d.persistent {
                        doms.remove(&obj);
                    }
                }
                Err(e)
            }
        }
    }
    fn domain_destroy(&self, dom: &DomainRef, flags: u32) -> Result<()> {
        // VIR_DOMAIN_DESTROY_GRACEFUL is accepted: libxl destroys at once.
        Error::check_flags(flags, 1, "libxlDomainDestroyFlags")?;
        let (job, domid) = self.drv.begin_job(dom, "destroy", |d| {
            u32::try_from(d.id).map_err(|_| not_running())
        })?;
        if let Err(e) = self.drv.ctx.domain_destroy(domid) {
            drop(job);
            return Err(Error::internal(
                ErrorDomain::Libxl,
                format!("Failed to destroy domain '{domid}': {e}"),
            ));
        }
        self.drv.finish_stop(
            job,
            dom,
            reason::SHUTOFF_DESTROYED,
            lifecycle::STOPPED_DESTROYED,
            false,
        );
        Ok(())
    }
    fn domain_shutdown(&self, dom: &DomainRef, _flags: u32) -> Result<()> {
        let domid = self.drv.active_domid(dom)?;
        self.drv.ctx.domain_shutdown(domid).map_err(err)
    }
    fn domain_reboot(&self, dom: &DomainRef, _flags: u32) -> Result<()> {
        let domid = self.drv.active_domid(dom)?;
        self.drv.ctx.domain_reboot(domid).map_err(err)
    }
    fn domain_suspend(&self, dom: &DomainRef) -> Result<()> {
        let domid = self.drv.active_domid(dom)?;
        self.drv.ctx.domain_pause(domid).map_err(err)?;
        let _ = self.drv.with_dom(dom, |d| {
            d.status = (state::PAUSED, reason::PAUSED_USER);
            Ok(())
        });
        self.drv.events.publish(Event::DomainLifecycle {
            dom: dom.clone(),
            event: lifecycle::SUSPENDED,
            detail: 0,
        });
        Ok(())
    }
    fn domain_resume(&self, dom: &DomainRef) -> Result<()> {
        let domid = self.drv.active_domid(dom)?;
        self.drv.ctx.domain_unpause(domid).map_err(err)?;
        let _ = self.drv.with_dom(dom, |d| {
            d.status = (state::RUNNING, reason::RUNNING_UNPAUSED);
            Ok(())
        });
        self.drv.events.publish(Event::DomainLifecycle {
            dom: dom.clone(),
            event: lifecycle::RESUMED,
            detail: 0,
        });
        Ok(())
    }
    fn domain_get_info(&self, dom: &DomainRef) -> Result<DomainInfo> {
        let (id, def) = self.drv.with_dom(dom, |d| Ok((d.id, d.def.clone())))?;
        if id < 0 {
            return Ok(DomainInfo {
                state: state::SHUTOFF,
                max_mem: def.memory_kib,
                memory: def.current_memory_kib,
                nr_virt_cpu: def.vcpus_current,
                cpu_time: 0,
            });
        }
        let i = self
            .drv
            .ctx
            .domain_info(u32::try_from(id).unwrap_or(u32::MAX))
            .map_err(err)?;
        Ok(DomainInfo {
            state: dominfo_state(&i).0,
            max_mem: def.memory_kib,
            memory: i.current_memkb,
            nr_virt_cpu: i.vcpu_online,
            cpu_time: i.cpu_time,
        })
    }
    fn domain_get_state(&self, dom: &DomainRef, flags: u32) -> Result<(i32, i32)> {
        Error::check_flags(flags, 0, "libxlDomainGetState")?;
        let (id, status) = self.drv.with_dom(dom, |d| Ok((d.id, d.status)))?;
        if id < 0 {
            return Ok(if status.0 == state::SHUTOFF {
                status
            } else {
                (state::SHUTOFF, reason::SHUTOFF_UNKNOWN)
            });
        }
        let i = match self.drv.ctx.domain_info(domid_of(id)) {
            Ok(i) => i,
            // Gone between the lookup and now: the event thread reports it.
            Err(_) => return Ok((state::SHUTDOWN, reason::SHUTDOWN_USER)),
        };
        let live = dominfo_state(&i);
        Ok(if live.0 == status.0 { status } else { live })
    }
    fn domain_get_xml_desc(&self, dom: &DomainRef, flags: u32) -> Result<String> {
        Error::check_flags(
            flags,
            xmlflags::SECURE | xmlflags::INACTIVE | xmlflags::UPDATE_CPU | xmlflags::MIGRATABLE,
            "libxlDomainGetXMLDesc",
        )?;
        self.drv.with_dom(dom, |d| {
            let inactive = flags & xmlflags::INACTIVE != 0;
            let def = if inactive {
                d.newdef.as_ref().unwrap_or(&d.def)
            } else {
                &d.def
            };
            let mut def = def.clone();
            if !inactive && d.id >= 0 {
                def.id = Some(d.id);
            }
            Ok(fmt_def(&def, inactive || d.id < 0))
        })
    }
    fn domain_get_os_type(&self, dom: &DomainRef) -> Result<String> {
        self.drv.with_dom(dom, |d| {
            Ok(if d.def.os.os_type == "xen" {
                "linux".into()
            } else {
                d.def.os.os_type.clone()
            })
        })
    }
    fn domain_get_max_memory(&self, dom: &DomainRef) -> Result<u64> {
        self.drv.with_dom(dom, |d| Ok(d.def.memory_kib))
    }
    fn domain_set_memory(&self, dom: &DomainRef, kib: u64, flags: u32) -> Result<()> {
        Error::check_flags(
            flags,
            affect::LIVE | affect::CONFIG | affect::MAXIMUM,
            "libxlDomainSetMemoryFlags",
        )?;
        let (live, config) = self.drv.resolve_impact(dom, flags)?;
        let maximum = flags & affect::MAXIMUM != 0;
        if !maximum {
            let max = self.drv.with_dom(dom, |d| Ok(d.def.memory_kib))?;
            if kib > max {
                return Err(Error::invalid_arg(
                    ErrorDomain::Libxl,
                    "cannot set memory higher than max memory",
                ));
            }
        }
        if live {
            let domid = self.drv.active_domid(dom)?;
            let r = if maximum {
                self.drv.ctx.set_max_memory(domid, kib)
            } else {
                self.drv.ctx.set_memory_target(domid, kib)
            };
            r.map_err(|e| {
                Error::internal(
                    ErrorDomain::Libxl,
                    format!(
                        "Failed to set {}memory for domain '{domid}' with libxenlight: {e}",
                        if maximum { "maximum " } else { "" }
                    ),
                )
            })?;
            self.drv.with_dom(dom, |d| {
                if maximum {
                    d.def.set_memory_kib(kib);
                } else {
                    d.def.current_memory_kib = kib;
                }
                Ok(())
            })?;
            self.drv.save_status(dom);
        }
        if config {
            self.drv.with_dom(dom, |d| {
                let def = d.persistent_def()?;
                if maximum {
                    def.set_memory_kib(kib);
                } else {
                    def.set_current_memory_kib(kib)
                        .map_err(|e| Error::invalid_arg(ErrorDomain::Libxl, e.detail_text()))?;
                }
                Ok(())
            })?;
            self.persist(dom)?;
        }
        Ok(())
    }
    fn domain_set_max_memory(&self, dom: &DomainRef, kib: u64) -> Result<()> {
        self.domain_set_memory(dom, kib, affect::MAXIMUM)
    }
    fn domain_set_vcpus(&self, dom: &DomainRef, n: u32, flags: u32) -> Result<()> {
        Error::check_flags(
            flags,
            affect::LIVE | affect::CONFIG | affect::MAXIMUM,
            "libxlDomainSetVcpusFlags",
        )?;
        let (live, config) = self.drv.resolve_impact(dom, flags)?;
        let maximum = flags & affect::MAXIMUM != 0;
        if maximum && live {
            return Err(Error::invalid_arg(
                ErrorDomain::Libxl,
                format!("invalid flag combination: (0x{flags:x})"),
            ));
        }
        if n == 0 {
            return Err(Error::invalid_arg(ErrorDomain::Libxl, "nvcpus is zero"));
        }
        let host_max = self
            .max_vcpus(None)
            .map(|m| u32::try_from(m).unwrap_or(0))?;
        let (def_max, persistent) = self.drv.with_dom(dom, |d| {
            let p = d.newdef.as_ref().unwrap_or(&d.def).vcpus_max;
            Ok((d.def.vcpus_max, p))
        })?;
        let max = if maximum {
            host_max
        } else if live {
            def_max.min(host_max)
        } else {
            persistent.min(host_max)
        };
        if n > max {
            return Err(Error::invalid_arg(
                ErrorDomain::Libxl,
                format!(
                    "requested vcpus is greater than max allowable vcpus for the domain: {n} > {max}"
                ),
            ));
        }
        if live {
            let domid = self.drv.active_domid(dom)?;
            self.drv
                .ctx
                .set_vcpus_online(domid, def_max, n)
                .map_err(|e| {
                    Error::internal(
                        ErrorDomain::Libxl,
                        format!("Failed to set vcpus for domain '{domid}' with libxenlight: {e}"),
                    )
                })?;
            self.drv.with_dom(dom, |d| {
                d.def
                    .set_vcpus(n)
                    .map_err(|e| Error::invalid_arg(ErrorDomain::Libxl, e.detail_text()))
            })?;
            self.drv.save_status(dom);
        }
        if config {
            self.drv.with_dom(dom, |d| {
                let def = d.persistent_def()?;
                let r = if maximum {
                    def.set_vcpus_max(n)
                } else {
                    def.set_vcpus(n)
                };
                r.map_err(|e| Error::invalid_arg(ErrorDomain::Libxl, e.detail_text()))
            })?;
            self.persist(dom)?;
        }
        Ok(())
    }
    fn domain_get_vcpus_flags(&self, dom: &DomainRef, flags: u32) -> Result<i32> {
        Error::check_flags(
            flags,
            affect::LIVE | affect::CONFIG | affect::MAXIMUM | 1 << 3,
            "libxlDomainGetVcpusFlags",
        )?;
        let (live, _) = self
            .drv
            .resolve_impact(dom, flags & (affect::LIVE | affect::CONFIG))?;
        self.drv.with_dom(dom, |d| {
            let def = if live {
                &d.def
            } else {
                d.newdef.as_ref().unwrap_or(&d.def)
            };
            let n = if flags & affect::MAXIMUM != 0 {
                def.vcpus_max
            } else {
                def.vcpus_current
            };
            Ok(i32::try_from(n).unwrap_or(i32::MAX))
        })
    }
    fn max_vcpus(&self, _virt_type: Option<&str>) -> Result<i32> {
        // libxl_get_max_cpus is the host's limit; the guest limit of Xen's
        // PV/HVM ABI is far above any host here, libvirt reports the host's.
        let p = self.drv.ctx.physinfo().map_err(err)?;
        Ok(i32::try_from(p.max_cpu_id.saturating_add(1)).unwrap_or(i32::MAX))
    }
    fn domain_get_max_vcpus(&self, dom: &DomainRef) -> Result<i32> {
        self.drv.with_dom(dom, |d| {
            Ok(i32::try_from(d.def.vcpus_max).unwrap_or(i32::MAX))
        })
    }
    fn domain_get_autostart(&self, dom: &DomainRef) -> Result<bool> {
        self.drv.with_dom(dom, |d| Ok(d.autostart))
    }
    fn domain_set_autostart(&self, dom: &DomainRef, on: bool) -> Result<()> {
        let name = self.drv.with_dom(dom, |d| {
            if !d.persistent {
                return Err(Error::operation_invalid(
                    ErrorDomain::Libxl,
                    "cannot set autostart for transient domain",
                ));
            }
            d.autostart = on;
            Ok(d.def.name.clone())
        })?;
        let link = self.drv.cfg.dirs.autostart_dir.join(format!("{name}.xml"));
        if on {
            let target = self.drv.cfg.dirs.config_dir.join(format!("{name}.xml"));
            let _ = std::fs::remove_file(&link);
            std::os::unix::fs::symlink(&target, &link).map_err(|e| {
                Error::new(
                    ErrorCode::SystemError,
                    ErrorDomain::Libxl,
                    format!(
                        "Failed to create symlink '{}' to '{}': {e}",
                        link.display(),
                        target.display()
                    ),
                )
            })?;
        } else {
            let _ = std::fs::remove_file(&link);
        }
        Ok(())
    }
    fn domain_save(&self, dom: &DomainRef, to: &str, dxml: Option<&str>, flags: u32) -> Result<()> {
        Error::check_flags(
            flags,
            save_flags::BYPASS_CACHE | save_flags::RUNNING | save_flags::PAUSED,
            "libxlDomainSaveFlags",
        )?;
        if dxml.is_some() {
            return Err(Error::new(
                ErrorCode::ArgumentUnsupported,
                ErrorDomain::Libxl,
                "xml modification unsupported",
            ));
        }
        self.drv.save_to(dom, Path::new(to))
    }
    fn domain_restore(&self, from: &str, dxml: Option<&str>, flags: u32) -> Result<()> {
        Error::check_flags(
            flags,
            save_flags::BYPASS_CACHE | save_flags::RUNNING | save_flags::PAUSED,
            "libxlDomainRestoreFlags",
        )?;
        if dxml.is_some() {
            return Err(Error::new(
                ErrorCode::ArgumentUnsupported,
                ErrorDomain::Libxl,
                "xml modification unsupported",
            ));
        }
        self.drv
            .restore_from(Path::new(from), flags & save_flags::PAUSED != 0)
            .map(|_| ())
    }
    fn domain_managed_save(&self, dom: &DomainRef, flags: u32) -> Result<()> {
        Error::check_flags(
            flags,
            save_flags::BYPASS_CACHE | save_flags::RUNNING | save_flags::PAUSED,
            "libxlDomainManagedSave",
        )?;
        let name = self.drv.with_dom(dom, |d| {
            if d.id < 0 {
                return Err(not_running());
            }
            if !d.persistent {
                return Err(Error::operation_invalid(
                    ErrorDomain::Libxl,
                    "cannot do managed save for transient domain",
                ));
            }
            Ok(d.def.name.clone())
        })?;
        let path = self.drv.managed_save_path(&name);
        self.drv.save_to(dom, &path)
    }
    fn domain_has_managed_save(&self, dom: &DomainRef, flags: u32) -> Result<bool> {
        Error::check_flags(flags, 0, "libxlDomainHasManagedSaveImage")?;
        let name = self.drv.with_dom(dom, |d| Ok(d.def.name.clone()))?;
        Ok(self.drv.managed_save_path(&name).exists())
    }
    fn domain_managed_save_remove(&self, dom: &DomainRef, flags: u32) -> Result<()> {
        Error::check_flags(flags, 0, "libxlDomainManagedSaveRemove")?;
        let name = self.drv.with_dom(dom, |d| Ok(d.def.name.clone()))?;
        let path = self.drv.managed_save_path(&name);
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(system(
                    format!("Failed to remove managed save file '{}'", path.display()),
                    &e,
                ))
            }
        }
        let _ = self.drv.with_dom(dom, |d| {
            if d.id < 0 && d.status.1 == reason::SHUTOFF_SAVED {
                d.status = (state::SHUTOFF, reason::SHUTOFF_UNKNOWN);
            }
            Ok(())
        });
        Ok(())
    }
    fn domain_open_console(
        &self,
        dom: &DomainRef,
        dev: Option<&str>,
        flags: u32,
    ) -> Result<OwnedFd> {
        Error::check_flags(
            flags,
            CONSOLE_FORCE | CONSOLE_SAFE,
            "libxlDomainOpenConsole",
        )?;
        let (id, hvm) = self
            .drv
            .with_dom(dom, |d| Ok((d.id, d.def.os.os_type == "hvm")))?;
        if id < 0 {
            return Err(not_running());
        }
        // The primary console is the PV console, or serial 0 for HVM.
        let (num, serial) = match dev {
            None => (0, hvm),
            Some(name) => {
                let (kind, n) = name
                    .find(|c: char| c.is_ascii_digit())
                    .map(|i| name.split_at(i))
                    .unwrap_or((name, ""));
                match (kind, n.parse::<i32>()) {
                    ("console", Ok(n)) => (n, hvm && n == 0),
                    ("serial", Ok(n)) => (n, true),
                    _ => {
                        return Err(Error::internal(
                            ErrorDomain::Libxl,
                            format!("cannot find character device {name}"),
                        ))
                    }
                }
            }
        };
        let path = self
            .drv
            .ctx
            .console_tty(domid_of(id), num, serial)
            .map_err(|e| {
                Error::new(
                    ErrorCode::OperationFailed,
                    ErrorDomain::Libxl,
                    format!("cannot get the console of domain '{}': {e}", dom.name),
                )
            })?;
        libxl_sys::open_console_tty(&path)
            .map_err(|e| system(format!("Unable to open console '{path}'"), &e))
    }
    fn domain_is_active(&self, dom: &DomainRef) -> Result<bool> {
        self.drv.refresh();
        self.drv.with_dom(dom, |d| Ok(d.id >= 0))
    }
    fn domain_is_persistent(&self, dom: &DomainRef) -> Result<bool> {
        self.drv.with_dom(dom, |d| Ok(d.persistent))
    }
    fn domain_is_updated(&self, dom: &DomainRef) -> Result<bool> {
        self.drv.with_dom(dom, |d| Ok(d.updated))
    }
}

impl XenConnection {
    fn persist(&self, dom: &DomainRef) -> Result<()> {
        let (persistent, name, xml) = self.drv.with_dom(dom, |d| {
            let def = d.newdef.as_ref().unwrap_or(&d.def);
            Ok((d.persistent, def.name.clone(), fmt_def(def, true)))
        })?;
        if persistent {
            write_xml_file(
                &self.drv.cfg.dirs.config_dir.join(format!("{name}.xml")),
                &xml,
            )?;
        }
        Ok(())
    }
}

/// A handle for the guest `def` describes.
fn def_ref(def: &DomainDef) -> DomainRef {
    DomainRef {
        name: def.name.clone(),
        uuid: def.uuid.0,
        id: -1,
    }
}
