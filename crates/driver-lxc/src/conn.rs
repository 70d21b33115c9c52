// SPDX-License-Identifier: LGPL-2.1-or-later
//! `LxcConnection`: the `Connection` trait over the shared [`Driver`].

use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixStream;
use std::sync::{Arc, Mutex};

use conf::FormatFlags;
use driver::consts::{affect, list, xml as xmlflags};
use driver::error::{ErrorCode, ErrorDomain};
use driver::{
    Connection, ConnectionId, DomainInfo, DomainRef, Error, EventSink, NodeInfo, Result,
    TypedParams, TypedValue,
};

use crate::driver_state::{dom_ref, Dom, Driver};
use crate::{errors, hostinfo, native};

/// Memory limits with no value set (VIR_DOMAIN_MEMORY_PARAM_UNLIMITED).
const UNLIMITED_KIB: u64 = 9_007_199_254_740_991;

/// One client connection to the LXC driver.
pub struct LxcConnection {
    drv: Arc<Driver>,
    subs: Mutex<Vec<u64>>,
    /// Whom guests started with VIR_DOMAIN_START_AUTODESTROY belong to.
    id: ConnectionId,
    /// The URI as the client opened it (`lxc:///`, `lxc:///system`).
    uri: String,
}

impl LxcConnection {
    pub fn new(drv: Arc<Driver>, uri: String) -> LxcConnection {
        LxcConnection {
            drv,
            subs: Mutex::new(Vec::new()),
            id: ConnectionId::new(),
            uri,
        }
    }

    /// The connection guests started now are tied to, if `flags` asks for
    /// autodestroy.
    fn autodestroy_owner(&self, flags: u32) -> Option<ConnectionId> {
        (flags & driver::consts::create::START_AUTODESTROY != 0).then_some(self.id)
    }

    fn get(&self, r: &DomainRef) -> Result<Arc<Dom>> {
        self.drv.get(r)
    }
}

impl Drop for LxcConnection {
    fn drop(&mut self) {
        let subs = std::mem::take(&mut *self.subs.lock().unwrap_or_else(|p| p.into_inner()));
        for s in subs {
            self.drv.events.unsubscribe(s);
        }
        // virConnectClose: destroy the guests this connection started with
        // VIR_DOMAIN_START_AUTODESTROY.
        self.drv.connection_closed(self.id);
    }
}

/// Reads a number from the first of `files` found in any of `dirs`.
fn cgroup_value(dirs: &[String], files: &[&str]) -> Option<String> {
    for d in dirs {
        for f in files {
            if let Ok(s) = std::fs::read_to_string(std::path::Path::new(d).join(f)) {
                return Some(s);
            }
        }
    }
    None
}

/// A memory limit file's value in KiB ("max" and v1's huge number are unlimited).
fn limit_kib(dirs: &[String], files: &[&str]) -> Option<u64> {
    let v = cgroup_value(dirs, files)?;
    let v = v.trim();
    if v == "max" {
        return Some(UNLIMITED_KIB);
    }
    let bytes: u64 = v.parse().ok()?;
    // cgroup v1 reports "no limit" as the largest page-aligned i64.
    if bytes >= (i64::MAX as u64) & !0xfff {
        return Some(UNLIMITED_KIB);
    }
    Some((bytes / 1024).min(UNLIMITED_KIB))
}

fn memtune_kib(def: &conf::DomainDef, name: &str) -> u64 {
    def.other_element("memtune")
        .and_then(|m| m.child_text(name))
        .and_then(|t| t.trim().parse().ok())
        .unwrap_or(UNLIMITED_KIB)
}

/// Copies bytes one way until either side closes, then shuts both down.
fn pump(mut from: UnixStream, mut to: UnixStream) {
    let mut buf = [0u8; 8192];
    loop {
        match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if to.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
        }
    }
    let _ = from.shutdown(std::net::Shutdown::Both);
    let _ = to.shutdown(std::net::Shutdown::Both);
}

impl Connection for LxcConnection {
    fn get_type(&self) -> &'static str {
        "LXC"
    }

    /// virConnectGetURI: the URI the connection was opened with.
    fn uri(&self) -> String {
        self.uri.clone()
    }

    fn version(&self) -> Result<u64> {
        hostinfo::kernel_version()
    }

    fn hostname(&self) -> Result<String> {
        Ok(hostinfo::hostname())
    }

    fn capabilities(&self) -> Result<String> {
        Ok(hostinfo::capabilities_xml(
            &self.drv.cfg.controller_binary.display().to_string(),
        ))
    }

    fn node_info(&self) -> Result<NodeInfo> {
        Ok(hostinfo::node_info())
    }

    fn node_free_memory(&self) -> Result<u64> {
        Ok(hostinfo::free_memory())
    }

    fn is_secure(&self) -> bool {
        true
    }

    fn domain_xml_from_native(&self, format: &str, config: &str, flags: u32) -> Result<String> {
        Error::check_flags(flags, 0, "lxcConnectDomainXMLFromNative")?;
        if format != "lxc-tools" {
            return Err(Error::new(
                ErrorCode::InvalidArg,
                errors::LXC,
                format!("unsupported config type {format}"),
            ));
        }
        let def = native::lxc_config_to_def(
            config,
            &self.drv.cfg.controller_binary.display().to_string(),
        )?;
        Ok(def.to_xml(&FormatFlags {
            inactive: true,
            ..Default::default()
        }))
    }

    fn subscribe(&self, sink: EventSink) -> Option<u64> {
        let id = self.drv.events.subscribe(sink);
        self.subs.lock().unwrap_or_else(|p| p.into_inner()).push(id);
        Some(id)
    }

    fn unsubscribe(&self, token: u64) {
        self.drv.events.unsubscribe(token);
        self.subs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|t| *t != token);
    }

    // ---- listing and lookup ----

    fn list_all_domains(&self, flags: u32) -> Result<Vec<DomainRef>> {
        Error::check_flags(flags, list::ALL, "lxcConnectListAllDomains")?;
        let mut out = Vec::new();
        for d in self.drv.all() {
            let st = d.lock();
            let active = st.live.is_some();
            let persistent = st.persistent.is_some();
            let facts = list::Facts {
                active,
                persistent,
                autostart: st.autostart,
                has_snapshot: false,
                managed_save: false,
                has_checkpoint: false,
                state: st.state,
            };
            if !list::wanted(flags, &facts) {
                continue;
            }
            out.push(DomainRef {
                name: st.name.clone(),
                uuid: *d.uuid(),
                id: st.id(),
            });
        }
        Ok(out)
    }

    fn domain_lookup_by_id(&self, id: i32) -> Result<DomainRef> {
        self.drv
            .find_id(id)
            .map(|d| dom_ref(&d))
            .ok_or_else(|| errors::no_domain_id(id))
    }

    fn domain_lookup_by_name(&self, name: &str) -> Result<DomainRef> {
        self.drv
            .find_name(name)
            .map(|d| dom_ref(&d))
            .ok_or_else(|| errors::no_domain_name(name))
    }

    fn domain_lookup_by_uuid(&self, uuid: &[u8; 16]) -> Result<DomainRef> {
        self.drv
            .find_uuid(uuid)
            .map(|d| dom_ref(&d))
            .ok_or_else(|| errors::no_domain_uuid_only(uuid))
    }

    // ---- lifecycle ----

    fn domain_define_xml(&self, xml: &str, flags: u32) -> Result<DomainRef> {
        Error::check_flags(
            flags,
            driver::consts::define::VALIDATE,
            "lxcDomainDefineXMLFlags",
        )?;
        self.drv
            .define(xml, flags & driver::consts::define::VALIDATE != 0)
    }

    fn domain_undefine(&self, dom: &DomainRef, flags: u32) -> Result<()> {
        Error::check_flags(flags, 0, "lxcDomainUndefineFlags")?;
        self.drv.undefine(dom)
    }

    fn domain_create(&self, dom: &DomainRef, flags: u32) -> Result<DomainRef> {
        Error::check_flags(
            flags,
            driver::consts::create::START_AUTODESTROY,
            "lxcDomainCreateWithFiles",
        )?;
        self.drv.start(dom, self.autodestroy_owner(flags))
    }

    fn domain_create_xml(&self, xml: &str, flags: u32) -> Result<DomainRef> {
        Error::check_flags(
            flags,
            driver::consts::create::START_AUTODESTROY | driver::consts::create::START_VALIDATE,
            "lxcDomainCreateXMLWithFiles",
        )?;
        self.drv.create_xml(
            xml,
            flags & driver::consts::create::START_VALIDATE != 0,
            self.autodestroy_owner(flags),
        )
    }

    fn domain_destroy(&self, dom: &DomainRef, flags: u32) -> Result<()> {
        Error::check_flags(flags, 0, "lxcDomainDestroyFlags")?;
        self.drv.destroy(dom)
    }

    fn domain_shutdown(&self, dom: &DomainRef, flags: u32) -> Result<()> {
        self.drv.shutdown_dom(dom, flags)
    }

    fn domain_reboot(&self, dom: &DomainRef, flags: u32) -> Result<()> {
        self.drv.reboot(dom, flags)
    }

    fn domain_suspend(&self, dom: &DomainRef) -> Result<()> {
        self.drv.suspend(dom)
    }

    fn domain_resume(&self, dom: &DomainRef) -> Result<()> {
        self.drv.resume(dom)
    }

    // ---- state and configuration ----

    fn domain_get_info(&self, dom: &DomainRef) -> Result<DomainInfo> {
        let d = self.get(dom)?;
        // Only the figures info reports are taken under the lock (not a
        // copy of the whole definition); the counters are read after it.
        let (mut info, usage) = {
            let st = d.lock();
            let def = st
                .current_def()
                .ok_or_else(|| errors::internal("domain has no definition"))?;
            let info = DomainInfo {
                state: st.state,
                max_mem: def.memory_kib,
                memory: def.current_memory_kib,
                nr_virt_cpu: def.vcpus_current,
                cpu_time: 0,
            };
            (info, st.live.as_ref().map(|l| l.usage.clone()))
        };
        if let Some(u) = usage {
            let (mem, cpu) = u.read();
            if let Some(m) = mem {
                info.memory = m / 1024;
            }
            info.cpu_time = cpu.unwrap_or(0);
        }
        Ok(info)
    }

    fn domain_get_state(&self, dom: &DomainRef, flags: u32) -> Result<(i32, i32)> {
        Error::check_flags(flags, 0, "lxcDomainGetState")?;
        let d = self.get(dom)?;
        let st = d.lock();
        Ok((st.state, st.reason))
    }

    fn domain_get_xml_desc(&self, dom: &DomainRef, flags: u32) -> Result<String> {
        Error::check_flags(
            flags,
            xmlflags::SECURE | xmlflags::INACTIVE | xmlflags::UPDATE_CPU | xmlflags::MIGRATABLE,
            "lxcDomainGetXMLDesc",
        )?;
        let d = self.get(dom)?;
        let st = d.lock();
        let inactive = flags & xmlflags::INACTIVE != 0;
        let def = if inactive {
            st.persistent.as_ref().or(st.live.as_ref().map(|l| &l.def))
        } else {
            st.current_def()
        }
        .ok_or_else(|| errors::internal("domain has no definition"))?;
        let mut stripped;
        let def = if inactive {
            stripped = def.clone();
            crate::netplug::forget_ports(&mut stripped);
            &stripped
        } else {
            def
        };
        Ok(def.to_xml(&FormatFlags {
            inactive: inactive || st.live.is_none(),
            secure: flags & xmlflags::SECURE != 0,
            migratable: flags & xmlflags::MIGRATABLE != 0,
            update_cpu: flags & xmlflags::UPDATE_CPU != 0,
        }))
    }

    fn domain_get_os_type(&self, dom: &DomainRef) -> Result<String> {
        let d = self.get(dom)?;
        let st = d.lock();
        Ok(st
            .current_def()
            .map(|d| d.os.os_type.clone())
            .unwrap_or_else(|| "exe".into()))
    }

    fn domain_get_max_memory(&self, dom: &DomainRef) -> Result<u64> {
        let d = self.get(dom)?;
        let st = d.lock();
        Ok(st.current_def().map_or(0, |d| d.memory_kib))
    }

    fn domain_set_max_memory(&self, dom: &DomainRef, kib: u64) -> Result<()> {
        self.domain_set_memory(dom, kib, affect::MAXIMUM)
    }

    fn domain_set_memory(&self, dom: &DomainRef, kib: u64, flags: u32) -> Result<()> {
        Error::check_flags(
            flags,
            affect::LIVE | affect::CONFIG | affect::MAXIMUM,
            "lxcDomainSetMemoryFlags",
        )?;
        let job = self.drv.begin(dom, "virDomainSetMemory")?;
        let (active, persistent) = {
            let st = job.obj().lock();
            (st.live.is_some(), st.persistent.is_some())
        };
        let mut live = flags & affect::LIVE != 0;
        let mut config = flags & affect::CONFIG != 0;
        if !live && !config {
            if active {
                live = true;
            } else {
                config = true;
            }
        }
        if live && !active {
            return Err(errors::not_running());
        }
        if config && !persistent {
            return Err(errors::op_invalid(
                "cannot change persistent config of a transient domain",
            ));
        }
        if flags & affect::MAXIMUM != 0 {
            if live {
                return Err(errors::op_invalid(
                    "Cannot resize the max memory on an active domain",
                ));
            }
            let def = {
                let mut st = job.obj().lock();
                let Some(def) = st.persistent.as_mut() else {
                    return Err(errors::not_running());
                };
                def.set_memory_kib(kib);
                def.clone()
            };
            return self.drv.write_config(&def);
        }
        if live {
            let (max, cgroups) = {
                let st = job.obj().lock();
                let l = st.live.as_ref().ok_or_else(errors::not_running)?;
                (l.def.memory_kib, l.cgroups.clone())
            };
            if kib > max {
                return Err(Error::new(
                    ErrorCode::InvalidArg,
                    errors::LXC,
                    "Cannot set memory higher than max memory",
                ));
            }
            let bytes = kib.saturating_mul(1024).to_string();
            let mut written = false;
            for d in &cgroups {
                for f in ["memory.limit_in_bytes", "memory.max"] {
                    let p = std::path::Path::new(d).join(f);
                    if p.exists() {
                        std::fs::write(&p, &bytes).map_err(|e| {
                            errors::system(
                                format!("Failed to set memory for domain in {}", p.display()),
                                &e,
                            )
                        })?;
                        written = true;
                    }
                }
            }
            if !written {
                return Err(errors::op_failed("Failed to set memory for domain"));
            }
            {
                let mut st = job.obj().lock();
                if let Some(l) = st.live.as_mut() {
                    let _ = l.def.set_current_memory_kib(kib);
                }
            }
            self.drv.save_status(job.obj());
        }
        if config {
            let def = {
                let mut st = job.obj().lock();
                let Some(def) = st.persistent.as_mut() else {
                    return Err(errors::not_running());
                };
                def.set_current_memory_kib(kib).map_err(errors::conf)?;
                def.clone()
            };
            self.drv.write_config(&def)?;
        }
        Ok(())
    }

    fn domain_get_memory_parameters(&self, dom: &DomainRef, flags: u32) -> Result<TypedParams> {
        Error::check_flags(
            flags,
            affect::LIVE | affect::CONFIG | 4,
            "lxcDomainGetMemoryParameters",
        )?;
        let d = self.get(dom)?;
        let st = d.lock();
        let use_live = st.live.is_some() && flags & affect::CONFIG == 0;
        let vals: [(&str, u64); 3] = if use_live {
            let cg = st
                .live
                .as_ref()
                .map(|l| l.cgroups.clone())
                .unwrap_or_default();
            [
                (
                    "hard_limit",
                    limit_kib(&cg, &["memory.limit_in_bytes", "memory.max"])
                        .unwrap_or(UNLIMITED_KIB),
                ),
                (
                    "soft_limit",
                    limit_kib(&cg, &["memory.soft_limit_in_bytes", "memory.high"])
                        .unwrap_or(UNLIMITED_KIB),
                ),
                (
                    "swap_hard_limit",
                    limit_kib(&cg, &["memory.memsw.limit_in_bytes", "memory.swap.max"])
                        .unwrap_or(UNLIMITED_KIB),
                ),
            ]
        } else {
            let def = st
                .persistent
                .as_ref()
                .or(st.live.as_ref().map(|l| &l.def))
                .ok_or_else(|| errors::internal("domain has no definition"))?;
            [
                ("hard_limit", memtune_kib(def, "hard_limit")),
                ("soft_limit", memtune_kib(def, "soft_limit")),
                ("swap_hard_limit", memtune_kib(def, "swap_hard_limit")),
            ]
        };
        Ok(vals
            .iter()
            .map(|(n, v)| (n.to_string(), TypedValue::ULLong(*v)))
            .collect())
    }

    fn domain_get_vcpus_flags(&self, dom: &DomainRef, flags: u32) -> Result<i32> {
        Error::check_flags(
            flags,
            affect::LIVE | affect::CONFIG | affect::MAXIMUM,
            "lxcDomainGetVcpusFlags",
        )?;
        let d = self.get(dom)?;
        let st = d.lock();
        let def = if flags & affect::CONFIG != 0 {
            st.persistent.as_ref()
        } else {
            st.current_def()
        }
        .ok_or_else(|| errors::internal("domain has no definition"))?;
        let n = if flags & affect::MAXIMUM != 0 {
            def.vcpus_max
        } else {
            def.vcpus_current
        };
        Ok(i32::try_from(n).unwrap_or(i32::MAX))
    }

    fn domain_get_autostart(&self, dom: &DomainRef) -> Result<bool> {
        Ok(self.get(dom)?.lock().autostart)
    }

    fn domain_set_autostart(&self, dom: &DomainRef, on: bool) -> Result<()> {
        self.drv.set_autostart(dom, on)
    }

    fn domain_is_active(&self, dom: &DomainRef) -> Result<bool> {
        Ok(self.get(dom)?.lock().live.is_some())
    }

    fn domain_is_persistent(&self, dom: &DomainRef) -> Result<bool> {
        Ok(self.get(dom)?.lock().persistent.is_some())
    }

    fn domain_get_scheduler_type(&self, dom: &DomainRef) -> Result<(String, i32)> {
        self.get(dom)?;
        Ok(("posix".into(), 3))
    }

    fn domain_get_scheduler_parameters(&self, dom: &DomainRef, flags: u32) -> Result<TypedParams> {
        Error::check_flags(
            flags,
            affect::LIVE | affect::CONFIG,
            "lxcDomainGetSchedulerParametersFlags",
        )?;
        let d = self.get(dom)?;
        let st = d.lock();
        let def = st
            .current_def()
            .ok_or_else(|| errors::internal("domain has no definition"))?;
        let ct = def.other_element("cputune");
        let num = |n: &str| {
            ct.and_then(|c| c.child_text(n))
                .and_then(|t| t.trim().parse::<i64>().ok())
        };
        Ok(vec![
            (
                "cpu_shares".into(),
                TypedValue::ULLong(
                    num("shares")
                        .and_then(|v| u64::try_from(v).ok())
                        .unwrap_or(0),
                ),
            ),
            (
                "vcpu_period".into(),
                TypedValue::ULLong(
                    num("period")
                        .and_then(|v| u64::try_from(v).ok())
                        .unwrap_or(0),
                ),
            ),
            (
                "vcpu_quota".into(),
                TypedValue::LLong(num("quota").unwrap_or(0)),
            ),
        ])
    }

    fn domain_stats(
        &self,
        doms: &[DomainRef],
        _stats: u32,
        _flags: u32,
    ) -> Result<Vec<(DomainRef, TypedParams)>> {
        let targets: Vec<Arc<Dom>> = if doms.is_empty() {
            self.drv.all()
        } else {
            doms.iter().map(|r| self.get(r)).collect::<Result<_>>()?
        };
        let mut out = Vec::new();
        for d in targets {
            let (r, params) = {
                let st = d.lock();
                let mut p: TypedParams = vec![
                    ("state.state".into(), TypedValue::Int(st.state)),
                    ("state.reason".into(), TypedValue::Int(st.reason)),
                ];
                if let Some(def) = st.current_def() {
                    p.push(("balloon.maximum".into(), TypedValue::ULLong(def.memory_kib)));
                    let mut cur = def.current_memory_kib;
                    if let Some(l) = &st.live {
                        let (mem, cpu) = l.usage.read();
                        if let Some(m) = mem {
                            cur = m / 1024;
                        }
                        if let Some(c) = cpu {
                            p.push(("cpu.time".into(), TypedValue::ULLong(c)));
                        }
                    }
                    p.push(("balloon.current".into(), TypedValue::ULLong(cur)));
                    p.push(("vcpu.current".into(), TypedValue::UInt(def.vcpus_current)));
                    p.push(("vcpu.maximum".into(), TypedValue::UInt(def.vcpus_max)));
                }
                (
                    DomainRef {
                        name: st.name.clone(),
                        uuid: *d.uuid(),
                        id: st.id(),
                    },
                    p,
                )
            };
            out.push((r, params));
        }
        Ok(out)
    }

    fn domain_snapshot_num(&self, dom: &DomainRef, _flags: u32) -> Result<i32> {
        self.get(dom)?;
        Ok(0)
    }

    fn domain_list_snapshots(&self, dom: &DomainRef, _flags: u32) -> Result<Vec<String>> {
        self.get(dom)?;
        Ok(Vec::new())
    }

    fn domain_open_console(
        &self,
        dom: &DomainRef,
        dev: Option<&str>,
        flags: u32,
    ) -> Result<OwnedFd> {
        // VIR_DOMAIN_CONSOLE_FORCE | VIR_DOMAIN_CONSOLE_SAFE
        Error::check_flags(flags, 1 | 2, "lxcDomainOpenConsole")?;
        let d = self.get(dom)?;
        let name = {
            let st = d.lock();
            if st.live.is_none() {
                return Err(errors::not_running());
            }
            st.name.clone()
        };
        if let Some(dev) = dev {
            if dev != "console0" && dev != "serial0" {
                return Err(errors::internal(format!(
                    "cannot find console device '{dev}'"
                )));
            }
        }
        let c = self
            .drv
            .rt
            .connect(&self.drv.cfg.state_dir, &name, self.drv.cfg.request_timeout)
            .map_err(|e| errors::op_failed(format!("cannot reach the controller: {e}")))?;
        let console = c.console().map_err(|e| match e {
            lxc_controller::Error::Controller(m) => errors::op_failed(m),
            other => errors::controller(other),
        })?;
        let (sock, pending) = console.into_parts();
        let (ours, theirs) = UnixStream::pair()
            .map_err(|e| errors::system("cannot create a console socket pair", &e))?;
        let (ours2, sock2) = match (ours.try_clone(), sock.try_clone()) {
            (Ok(a), Ok(b)) => (a, b),
            (Err(e), _) | (_, Err(e)) => {
                return Err(errors::system("cannot duplicate console sockets", &e))
            }
        };
        let _ = sock.set_write_timeout(None);
        let spawn = |n: &str, f: Box<dyn FnOnce() + Send>| {
            std::thread::Builder::new()
                .name(n.to_string())
                .spawn(f)
                .map(drop)
                .map_err(|e| errors::system("cannot start the console relay", &e))
        };
        spawn(
            "lxc-console-out",
            Box::new(move || {
                let mut ours = ours;
                if !pending.is_empty() && ours.write_all(&pending).is_err() {
                    let _ = ours.shutdown(std::net::Shutdown::Both);
                    let _ = sock.shutdown(std::net::Shutdown::Both);
                    return;
                }
                pump(sock, ours);
            }),
        )?;
        spawn("lxc-console-in", Box::new(move || pump(ours2, sock2)))?;
        Ok(OwnedFd::from(theirs))
    }

    fn domain_open_namespace(&self, dom: &DomainRef, flags: u32) -> Result<Vec<OwnedFd>> {
        Error::check_flags(flags, 0, "lxcDomainLxcOpenNamespace")?;
        let d = self.get(dom)?;
        let pid = {
            let st = d.lock();
            let l = st.live.as_ref().ok_or_else(errors::not_running)?;
            if l.init_pid == 0 {
                return Err(errors::op_invalid("Init pid is not yet available"));
            }
            l.init_pid
        };
        let mut fds = Vec::new();
        for ns in ["user", "ipc", "uts", "net", "pid", "mnt"] {
            if let Ok(f) = std::fs::File::open(format!("/proc/{pid}/ns/{ns}")) {
                fds.push(OwnedFd::from(f));
            }
        }
        Ok(fds)
    }
}

#[allow(dead_code)]
const _DOMAIN: ErrorDomain = ErrorDomain::Lxc;
