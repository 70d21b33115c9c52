// SPDX-License-Identifier: LGPL-2.1-or-later
//! The driver on a Xen dom0 (built with the `libxl` feature): guests are
//! created from the libxl JSON configuration `xenconfig` builds and
//! managed through `libxl-sys`.
//!
//! State: persistent definitions in `config_dir/NAME.xml` (autostart links
//! in `autostart_dir`), live definitions in `state_dir/NAME.xml`. At start
//! the driver reads both and reattaches to guests Xen still runs; status
//! files of guests that are gone are removed. libxl's asynchronous events
//! are not wired up: a guest that shut down by itself is noticed when its
//! state is next read (every list and lookup refreshes from libxl).

use crate::config::LibxlConfig;
use crate::limited::{to_driver_error, xml_from_native, xml_to_native};
use conf::{DomainDef, FormatFlags, ParseFlags};
use driver::consts::{affect, lifecycle, list, reason, state, xml as xmlflags};
use driver::error::{ErrorCode, ErrorDomain};
use driver::{
    Connection, DomainInfo, DomainRef, Error, Event, EventBus, EventSink, NodeInfo, Result,
};
use libxl_sys::{Ctx, DomInfo, VersionInfo};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use xenconfig::{LibxlOptions, XenCaps};

struct Dom {
    /// The definition the guest runs with (or will start with).
    def: DomainDef,
    /// The persistent definition while a changed one waits for restart.
    newdef: Option<DomainDef>,
    persistent: bool,
    autostart: bool,
    /// Xen domain id, -1 when shut off.
    id: i32,
}

impl Dom {
    fn dref(&self) -> DomainRef {
        DomainRef {
            name: self.def.name.clone(),
            uuid: self.def.uuid.0,
            id: self.id,
        }
    }
}

/// The running driver.
pub struct XenDriver {
    ctx: Ctx,
    cfg: LibxlConfig,
    caps: XenCaps,
    ver: VersionInfo,
    doms: Mutex<Vec<Dom>>,
    events: EventBus,
}

fn err(e: libxl_sys::LibxlError) -> Error {
    Error::new(ErrorCode::InternalError, ErrorDomain::Libxl, e.to_string())
}

fn no_domain(d: &DomainRef) -> Error {
    Error::no_domain(
        ErrorDomain::Libxl,
        format!("no domain with matching uuid '{}'", conf::Uuid(d.uuid)),
    )
}

fn write_atomic(path: &Path, text: &str) -> Result<()> {
    let tmp = path.with_extension("xml.new");
    std::fs::write(&tmp, text)
        .and_then(|_| std::fs::rename(&tmp, path))
        .map_err(|e| {
            Error::new(
                ErrorCode::SystemError,
                ErrorDomain::Libxl,
                format!("cannot write '{}': {e}", path.display()),
            )
        })
}

fn fmt_def(def: &DomainDef, inactive: bool) -> String {
    let xml = def.to_xml(&FormatFlags {
        inactive,
        secure: false,
        ..Default::default()
    });
    if def.os.os_type == "xen" {
        xml.replacen(">xen</type>", ">linux</type>", 1)
    } else {
        xml
    }
}

fn parse_def(xml: &str) -> Result<DomainDef> {
    let def = DomainDef::parse_str(
        xml,
        &ParseFlags {
            inactive: true,
            validate_schema: false,
        },
    )
    .map_err(|e| {
        Error::new(
            ErrorCode::from_i32(e.code).unwrap_or(ErrorCode::XmlError),
            ErrorDomain::Domain,
            e.message,
        )
    })?;
    if def.virt_type != "xen" {
        return Err(Error::new(
            ErrorCode::ConfigUnsupported,
            ErrorDomain::Libxl,
            format!(
                "unsupported virt type '{}' for the libxl driver",
                def.virt_type
            ),
        ));
    }
    Ok(def)
}

/// Guest kinds the hypervisor offers, from Xen's capabilities string.
fn caps_from_version(v: &VersionInfo) -> XenCaps {
    let mut caps = XenCaps::default_x86_64();
    let hvm = v.capabilities.contains("hvm-");
    let pv = v.capabilities.contains("xen-");
    caps.guests.retain(|g| match g.os_type.as_str() {
        "hvm" => hvm,
        _ => pv || hvm,
    });
    caps
}

impl XenDriver {
    /// libxlStateInitialize: context, version, directories, persistent
    /// definitions, reattachment to running guests.
    pub fn start(cfg: LibxlConfig) -> std::result::Result<XenDriver, String> {
        let ctx = Ctx::new().map_err(|e| e.to_string())?;
        let ver = ctx.version_info().map_err(|e| e.to_string())?;
        for d in [
            &cfg.dirs.config_dir,
            &cfg.dirs.autostart_dir,
            &cfg.dirs.state_dir,
            &cfg.dirs.log_dir,
            &cfg.dirs.save_dir,
            &cfg.dirs.dump_dir,
        ] {
            let _ = std::fs::create_dir_all(d);
        }
        let drv = XenDriver {
            caps: caps_from_version(&ver),
            ctx,
            cfg,
            ver,
            doms: Mutex::new(Vec::new()),
            events: EventBus::new(),
        };
        drv.load_persistent();
        drv.reattach();
        drv.autostart();
        Ok(drv)
    }

    fn lock(&self) -> Result<MutexGuard<'_, Vec<Dom>>> {
        self.doms
            .lock()
            .map_err(|_| Error::internal(ErrorDomain::Libxl, "domain list lock poisoned"))
    }

    fn xml_files(dir: &Path) -> Vec<PathBuf> {
        std::fs::read_dir(dir)
            .map(|rd| {
                rd.filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| p.extension().is_some_and(|x| x == "xml"))
                    .collect()
            })
            .unwrap_or_default()
    }

    fn load_persistent(&self) {
        let Ok(mut doms) = self.lock() else { return };
        for p in Self::xml_files(&self.cfg.dirs.config_dir) {
            let Ok(text) = std::fs::read_to_string(&p) else {
                continue;
            };
            match parse_def(&text) {
                Ok(def) => {
                    let autostart = self
                        .cfg
                        .dirs
                        .autostart_dir
                        .join(format!("{}.xml", def.name))
                        .exists();
                    doms.push(Dom {
                        def,
                        newdef: None,
                        persistent: true,
                        autostart,
                        id: -1,
                    });
                }
                Err(e) => eprintln!("libxl: ignoring {}: {}", p.display(), e.message()),
            }
        }
    }

    /// Picks up guests that run although the daemon restarted.
    fn reattach(&self) {
        let running = self.ctx.list_domains().unwrap_or_default();
        let Ok(mut doms) = self.lock() else { return };
        for p in Self::xml_files(&self.cfg.dirs.state_dir) {
            let Some(live) = std::fs::read_to_string(&p)
                .ok()
                .and_then(|t| parse_def(&t).ok())
            else {
                let _ = std::fs::remove_file(&p);
                continue;
            };
            let Some(info) = running
                .iter()
                .find(|d| d.domid != 0 && d.uuid == live.uuid.0 && !d.dying)
            else {
                // The guest is gone: forget its status.
                let _ = std::fs::remove_file(&p);
                continue;
            };
            let id = i32::try_from(info.domid).unwrap_or(-1);
            match doms.iter_mut().find(|d| d.def.uuid == live.uuid) {
                Some(d) => {
                    d.newdef = Some(std::mem::replace(&mut d.def, live));
                    d.id = id;
                }
                None => doms.push(Dom {
                    def: live,
                    newdef: None,
                    persistent: false,
                    autostart: false,
                    id,
                }),
            }
        }
    }

    fn autostart(&self) {
        let names: Vec<DomainRef> = match self.lock() {
            Ok(d) => d
                .iter()
                .filter(|d| d.autostart && d.id < 0)
                .map(Dom::dref)
                .collect(),
            Err(_) => return,
        };
        for d in names {
            if let Err(e) = self.start_domain(&d) {
                eprintln!(
                    "libxl: failed to autostart VM '{}': {}",
                    d.name,
                    e.message()
                );
            }
        }
    }

    /// Marks guests Xen no longer runs as shut off.
    fn refresh(&self) {
        let Ok(running) = self.ctx.list_domains() else {
            return;
        };
        let Ok(mut doms) = self.lock() else { return };
        let mut gone = Vec::new();
        for d in doms.iter_mut().filter(|d| d.id >= 0) {
            let alive = running
                .iter()
                .any(|r| i64::from(r.domid) == i64::from(d.id) && !r.dying && !r.shutdown);
            if !alive {
                if running
                    .iter()
                    .any(|r| i64::from(r.domid) == i64::from(d.id))
                {
                    // Shut down but not reaped: let libxl clean it up.
                    let _ = self
                        .ctx
                        .domain_destroy(u32::try_from(d.id).unwrap_or(u32::MAX));
                }
                let dref = d.dref();
                self.mark_stopped(d);
                gone.push(dref);
            }
        }
        doms.retain(|d| d.persistent || d.id >= 0);
        drop(doms);
        for dref in gone {
            self.events.publish(Event::DomainLifecycle {
                dom: DomainRef { id: -1, ..dref },
                event: lifecycle::STOPPED,
                detail: lifecycle::STOPPED_SHUTDOWN,
            });
        }
    }

    fn mark_stopped(&self, d: &mut Dom) {
        d.id = -1;
        let _ = std::fs::remove_file(self.cfg.dirs.state_dir.join(format!("{}.xml", d.def.name)));
        if let Some(n) = d.newdef.take() {
            d.def = n;
        }
    }

    fn options(&self) -> LibxlOptions {
        let nr_nodes = self
            .ctx
            .physinfo()
            .map(|p| usize::try_from(p.nr_nodes).unwrap_or(1))
            .unwrap_or(1);
        LibxlOptions {
            nested_hvm: self.cfg.nested_hvm,
            nr_nodes,
            ..Default::default()
        }
    }

    fn start_domain(&self, dref: &DomainRef) -> Result<DomainRef> {
        let def = {
            let doms = self.lock()?;
            let d = doms
                .iter()
                .find(|d| d.def.uuid.0 == dref.uuid)
                .ok_or_else(|| no_domain(dref))?;
            if d.id >= 0 {
                return Err(Error::operation_invalid(
                    ErrorDomain::Libxl,
                    "Domain is already running",
                ));
            }
            d.def.clone()
        };
        let json =
            xenconfig::build_domain_config(&def, &self.options()).map_err(to_driver_error)?;
        let domid = self
            .ctx
            .domain_create_from_json(&json.to_string())
            .map_err(err)?;
        if let Err(e) = self.ctx.domain_unpause(domid) {
            let _ = self.ctx.domain_destroy(domid);
            return Err(err(e));
        }
        let id = i32::try_from(domid).unwrap_or(-1);
        write_atomic(
            &self.cfg.dirs.state_dir.join(format!("{}.xml", def.name)),
            &fmt_def(&def, false),
        )?;
        let mut doms = self.lock()?;
        let d = doms
            .iter_mut()
            .find(|d| d.def.uuid.0 == dref.uuid)
            .ok_or_else(|| no_domain(dref))?;
        d.id = id;
        let out = d.dref();
        drop(doms);
        self.events.publish(Event::DomainLifecycle {
            dom: out.clone(),
            event: lifecycle::STARTED,
            detail: lifecycle::STARTED_BOOTED,
        });
        Ok(out)
    }

    fn with_dom<T>(&self, dref: &DomainRef, f: impl FnOnce(&mut Dom) -> Result<T>) -> Result<T> {
        let mut doms = self.lock()?;
        let d = doms
            .iter_mut()
            .find(|d| d.def.uuid.0 == dref.uuid)
            .ok_or_else(|| no_domain(dref))?;
        f(d)
    }

    fn active_domid(&self, dref: &DomainRef) -> Result<u32> {
        self.with_dom(dref, |d| {
            u32::try_from(d.id)
                .map_err(|_| Error::operation_invalid(ErrorDomain::Libxl, "domain is not running"))
        })
    }

    /// Daemon shutdown: guests keep running.
    pub fn shutdown(&self) {}

    /// Running guests.
    pub fn active_guests(&self) -> usize {
        self.lock()
            .map(|d| d.iter().filter(|d| d.id >= 0).count())
            .unwrap_or(0)
    }
}

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

fn dominfo_state(i: &DomInfo) -> (i32, i32) {
    if i.paused {
        (state::PAUSED, reason::PAUSED_USER)
    } else if i.shutdown || i.dying {
        (state::SHUTDOWN, reason::SHUTDOWN_USER)
    } else if i.running {
        (state::RUNNING, reason::RUNNING_BOOTED)
    } else {
        (state::BLOCKED, 0)
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
        std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|s| s.trim().to_string())
            .map_err(|e| Error::internal(ErrorDomain::Libxl, format!("cannot get hostname: {e}")))
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
        let doms = self.drv.lock()?;
        Ok(doms
            .iter()
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
            })
            .map(Dom::dref)
            .collect())
    }
    fn list_domain_ids(&self, max: usize) -> Result<Vec<i32>> {
        self.drv.refresh();
        let doms = self.drv.lock()?;
        Ok(doms
            .iter()
            .filter(|d| d.id >= 0)
            .map(|d| d.id)
            .take(max)
            .collect())
    }
    fn num_of_domains(&self) -> Result<usize> {
        self.drv.refresh();
        Ok(self.drv.lock()?.iter().filter(|d| d.id >= 0).count())
    }
    fn list_defined_domains(&self, max: usize) -> Result<Vec<String>> {
        self.drv.refresh();
        let doms = self.drv.lock()?;
        Ok(doms
            .iter()
            .filter(|d| d.id < 0)
            .map(|d| d.def.name.clone())
            .take(max)
            .collect())
    }
    fn num_of_defined_domains(&self) -> Result<usize> {
        self.drv.refresh();
        Ok(self.drv.lock()?.iter().filter(|d| d.id < 0).count())
    }
    fn domain_lookup_by_id(&self, id: i32) -> Result<DomainRef> {
        self.drv.refresh();
        let doms = self.drv.lock()?;
        doms.iter()
            .find(|d| d.id == id && id >= 0)
            .map(Dom::dref)
            .ok_or_else(|| {
                Error::no_domain(
                    ErrorDomain::Libxl,
                    format!("no domain with matching id {id}"),
                )
            })
    }
    fn domain_lookup_by_name(&self, name: &str) -> Result<DomainRef> {
        self.drv.refresh();
        let doms = self.drv.lock()?;
        doms.iter()
            .find(|d| d.def.name == name)
            .map(Dom::dref)
            .ok_or_else(|| {
                Error::no_domain(
                    ErrorDomain::Libxl,
                    format!("no domain with matching name '{name}'"),
                )
            })
    }
    fn domain_lookup_by_uuid(&self, uuid: &[u8; 16]) -> Result<DomainRef> {
        self.drv.refresh();
        let doms = self.drv.lock()?;
        doms.iter()
            .find(|d| d.def.uuid.0 == *uuid)
            .map(Dom::dref)
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
        write_atomic(
            &self
                .drv
                .cfg
                .dirs
                .config_dir
                .join(format!("{}.xml", def.name)),
            &fmt_def(&def, true),
        )?;
        let mut doms = self.drv.lock()?;
        if let Some(d) = doms
            .iter()
            .find(|d| d.def.name == def.name && d.def.uuid != def.uuid)
        {
            return Err(Error::new(
                ErrorCode::OperationFailed,
                ErrorDomain::Libxl,
                format!(
                    "domain '{}' already exists with uuid {}",
                    d.def.name, d.def.uuid
                ),
            ));
        }
        let (out, updated) = match doms.iter_mut().find(|d| d.def.uuid == def.uuid) {
            Some(d) => {
                if d.id >= 0 {
                    d.newdef = Some(def);
                } else {
                    d.def = def;
                }
                d.persistent = true;
                (d.dref(), true)
            }
            None => {
                let d = Dom {
                    def,
                    newdef: None,
                    persistent: true,
                    autostart: false,
                    id: -1,
                };
                let r = d.dref();
                doms.push(d);
                (r, false)
            }
        };
        drop(doms);
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
    fn domain_undefine(&self, dom: &DomainRef, _flags: u32) -> Result<()> {
        let name = self.drv.with_dom(dom, |d| {
            if !d.persistent {
                return Err(Error::operation_invalid(
                    ErrorDomain::Libxl,
                    "Cannot undefine transient domain",
                ));
            }
            Ok(d.def.name.clone())
        })?;
        let _ = std::fs::remove_file(self.drv.cfg.dirs.config_dir.join(format!("{name}.xml")));
        let _ = std::fs::remove_file(self.drv.cfg.dirs.autostart_dir.join(format!("{name}.xml")));
        let mut doms = self.drv.lock()?;
        doms.retain(|d| d.def.uuid.0 != dom.uuid || d.id >= 0);
        for d in doms.iter_mut().filter(|d| d.def.uuid.0 == dom.uuid) {
            d.persistent = false;
            d.autostart = false;
            d.newdef = None;
        }
        drop(doms);
        self.drv.events.publish(Event::DomainLifecycle {
            dom: dom.clone(),
            event: lifecycle::UNDEFINED,
            detail: 0,
        });
        Ok(())
    }
    fn domain_create(&self, dom: &DomainRef, flags: u32) -> Result<DomainRef> {
        Error::check_flags(flags, 0, "libxlDomainCreateWithFlags")?;
        self.drv.start_domain(dom)
    }
    fn domain_create_xml(&self, xml: &str, flags: u32) -> Result<DomainRef> {
        Error::check_flags(flags, 0, "libxlDomainCreateXML")?;
        let def = parse_def(xml)?;
        let dref = {
            let mut doms = self.drv.lock()?;
            if let Some(d) = doms
                .iter()
                .find(|d| d.def.uuid == def.uuid || d.def.name == def.name)
            {
                if d.id >= 0 {
                    return Err(Error::operation_invalid(
                        ErrorDomain::Libxl,
                        format!("domain '{}' is already active", d.def.name),
                    ));
                }
            }
            let d = Dom {
                def,
                newdef: None,
                persistent: false,
                autostart: false,
                id: -1,
            };
            let r = d.dref();
            doms.push(d);
            r
        };
        match self.drv.start_domain(&dref) {
            Ok(r) => Ok(r),
            Err(e) => {
                if let Ok(mut doms) = self.drv.lock() {
                    doms.retain(|d| d.def.uuid.0 != dref.uuid || d.persistent);
                }
                Err(e)
            }
        }
    }
    fn domain_destroy(&self, dom: &DomainRef, flags: u32) -> Result<()> {
        Error::check_flags(flags, 0, "libxlDomainDestroyFlags")?;
        let domid = self.drv.active_domid(dom)?;
        self.drv.ctx.domain_destroy(domid).map_err(err)?;
        let dref = self.drv.with_dom(dom, |d| {
            let r = d.dref();
            self.drv.mark_stopped(d);
            Ok(r)
        })?;
        if let Ok(mut doms) = self.drv.lock() {
            doms.retain(|d| d.persistent || d.id >= 0);
        }
        self.drv.events.publish(Event::DomainLifecycle {
            dom: DomainRef { id: -1, ..dref },
            event: lifecycle::STOPPED,
            detail: lifecycle::STOPPED_DESTROYED,
        });
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
    fn domain_get_state(&self, dom: &DomainRef, _flags: u32) -> Result<(i32, i32)> {
        let id = self.drv.with_dom(dom, |d| Ok(d.id))?;
        if id < 0 {
            return Ok((state::SHUTOFF, reason::SHUTOFF_UNKNOWN));
        }
        let i = self
            .drv
            .ctx
            .domain_info(u32::try_from(id).unwrap_or(u32::MAX))
            .map_err(err)?;
        Ok(dominfo_state(&i))
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
        let id = self.drv.with_dom(dom, |d| Ok(d.id))?;
        let live = flags & affect::LIVE != 0 || (flags & affect::CONFIG == 0 && id >= 0);
        if live {
            let domid = self.drv.active_domid(dom)?;
            self.drv.ctx.set_memory_target(domid, kib).map_err(err)?;
        }
        self.drv.with_dom(dom, |d| {
            let target = if live {
                &mut d.def
            } else {
                d.newdef.as_mut().unwrap_or(&mut d.def)
            };
            if flags & affect::MAXIMUM != 0 {
                target.set_memory_kib(kib);
            } else {
                target
                    .set_current_memory_kib(kib)
                    .map_err(|e| Error::invalid_arg(ErrorDomain::Libxl, e.message))?;
            }
            Ok(())
        })?;
        if !live || flags & affect::CONFIG != 0 {
            self.persist(dom)?;
        }
        Ok(())
    }
    fn domain_set_vcpus(&self, dom: &DomainRef, n: u32, flags: u32) -> Result<()> {
        Error::check_flags(
            flags,
            affect::LIVE | affect::CONFIG | affect::MAXIMUM,
            "libxlDomainSetVcpusFlags",
        )?;
        if n == 0 {
            return Err(Error::invalid_arg(
                ErrorDomain::Libxl,
                "argument unsupported: nvcpus is zero",
            ));
        }
        let (id, max) = self.drv.with_dom(dom, |d| Ok((d.id, d.def.vcpus_max)))?;
        let live = flags & affect::LIVE != 0 || (flags & affect::CONFIG == 0 && id >= 0);
        if live {
            if n > max {
                return Err(Error::invalid_arg(
                    ErrorDomain::Libxl,
                    format!("requested vcpus is greater than max allowable vcpus for the domain: {n} > {max}"),
                ));
            }
            let domid = self.drv.active_domid(dom)?;
            self.drv.ctx.set_vcpus_online(domid, max, n).map_err(err)?;
        }
        self.drv.with_dom(dom, |d| {
            let target = if live {
                &mut d.def
            } else {
                d.newdef.as_mut().unwrap_or(&mut d.def)
            };
            let r = if flags & affect::MAXIMUM != 0 {
                target.set_vcpus_max(n)
            } else {
                target.set_vcpus(n)
            };
            r.map_err(|e| Error::invalid_arg(ErrorDomain::Libxl, e.message))
        })?;
        if !live || flags & affect::CONFIG != 0 {
            self.persist(dom)?;
        }
        Ok(())
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
    fn domain_is_active(&self, dom: &DomainRef) -> Result<bool> {
        self.drv.refresh();
        self.drv.with_dom(dom, |d| Ok(d.id >= 0))
    }
    fn domain_is_persistent(&self, dom: &DomainRef) -> Result<bool> {
        self.drv.with_dom(dom, |d| Ok(d.persistent))
    }
    fn domain_is_updated(&self, dom: &DomainRef) -> Result<bool> {
        self.drv.with_dom(dom, |d| Ok(d.newdef.is_some()))
    }
}

impl XenConnection {
    fn persist(&self, dom: &DomainRef) -> Result<()> {
        let (persistent, name, xml) = self.drv.with_dom(dom, |d| {
            let def = d.newdef.as_ref().unwrap_or(&d.def);
            Ok((d.persistent, def.name.clone(), fmt_def(def, true)))
        })?;
        if persistent {
            write_atomic(
                &self.drv.cfg.dirs.config_dir.join(format!("{name}.xml")),
                &xml,
            )?;
        }
        Ok(())
    }
}
