// SPDX-License-Identifier: LGPL-2.1-or-later
//! The driver on a Xen dom0 (built with the `libxl` feature): guests are
//! created from the libxl JSON configuration `xenconfig` builds and
//! managed through `libxl-sys`.
//!
//! State: persistent definitions in `config_dir/NAME.xml` (autostart links
//! in `autostart_dir`), live definitions in `state_dir/NAME.xml`, managed
//! save images in `save_dir/NAME.save` (layout in [`crate::saveimage`]).
//! At start the driver reads these and reattaches to guests Xen still
//! runs; status files of guests that are gone are removed.
//!
//! Events: one thread waits in `libxl_event_wait` for the DOMAIN_SHUTDOWN
//! and DOMAIN_DEATH events of every running guest and applies the guest's
//! `<on_poweroff>`, `<on_reboot>` and `<on_crash>` actions, so a guest
//! that powers off, reboots or crashes by itself changes state and emits
//! lifecycle events without any client asking.
//!
//! Jobs: starting, saving, restoring, destroying and the event handling
//! of a guest hold its job flag; a second such operation fails at once
//! with VIR_ERR_OPERATION_TIMEOUT instead of waiting, and libxl events of
//! a guest whose job is held (our own destroy or save) are ignored.

use crate::config::LibxlConfig;
use crate::limited::{to_driver_error, xml_from_native, xml_to_native};
use crate::saveimage;
use conf::{DomainDef, FormatFlags, ParseFlags};
use driver::consts::{affect, lifecycle, list, reason, state, xml as xmlflags};
use driver::error::{ErrorCode, ErrorDomain};
use driver::{
    Connection, DomainInfo, DomainRef, Error, Event, EventBus, EventSink, NodeInfo, Result,
};
use libxl_sys::{Ctx, DomInfo, DomainEvent, DomainEventKind, ShutdownReason, VersionInfo};
use std::fs::File;
use std::io::Write;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use xenconfig::{LibxlOptions, XenCaps};

/// virDomainSaveRestoreFlags.
mod save_flags {
    pub const BYPASS_CACHE: u32 = 1 << 0;
    pub const RUNNING: u32 = 1 << 1;
    pub const PAUSED: u32 = 1 << 2;
}

/// virDomainCreateFlags the driver honours.
mod start_flags {
    pub const PAUSED: u32 = 1 << 0;
    pub const FORCE_BOOT: u32 = 1 << 3;
}

/// virDomainConsoleFlags.
const CONSOLE_FORCE: u32 = 1 << 0;
const CONSOLE_SAFE: u32 = 1 << 1;

struct Dom {
    /// The definition the guest runs with (or will start with).
    def: DomainDef,
    /// The persistent definition while a persistent guest runs.
    newdef: Option<DomainDef>,
    persistent: bool,
    autostart: bool,
    /// Xen domain id, -1 when shut off.
    id: i32,
    /// The operation holding the guest's job, if any.
    job: Option<&'static str>,
    /// A define replaced the persistent definition while running.
    updated: bool,
    /// (virDomainState, reason) as last set by the driver.
    status: (i32, i32),
}

impl Dom {
    fn new(def: DomainDef, persistent: bool) -> Dom {
        Dom {
            def,
            newdef: None,
            persistent,
            autostart: false,
            id: -1,
            job: None,
            updated: false,
            status: (state::SHUTOFF, reason::SHUTOFF_UNKNOWN),
        }
    }

    fn dref(&self) -> DomainRef {
        DomainRef {
            name: self.def.name.clone(),
            uuid: self.def.uuid.0,
            id: self.id,
        }
    }

    fn begin_job(&mut self, what: &'static str) -> Result<()> {
        if let Some(held) = self.job {
            return Err(Error::new(
                ErrorCode::OperationTimeout,
                ErrorDomain::Libxl,
                format!("cannot acquire state change lock (held by {held})"),
            ));
        }
        self.job = Some(what);
        Ok(())
    }

    /// The definition a CONFIG change applies to.
    fn persistent_def(&mut self) -> Result<&mut DomainDef> {
        if !self.persistent {
            return Err(Error::operation_invalid(
                ErrorDomain::Libxl,
                "cannot change persistent config of a transient domain",
            ));
        }
        Ok(if self.id >= 0 {
            self.newdef.get_or_insert_with(|| self.def.clone())
        } else {
            &mut self.def
        })
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
    /// The libxl event thread runs (else lists notice stopped guests).
    event_thread: AtomicBool,
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

fn not_running() -> Error {
    Error::operation_invalid(ErrorDomain::Libxl, "domain is not running")
}

fn system(what: String, e: &std::io::Error) -> Error {
    Error::new(
        ErrorCode::SystemError,
        ErrorDomain::Libxl,
        format!("{what}: {e}"),
    )
}

/// Mode of the definition and status files: what they got when created
/// under the usual umask (022) before the mode was set explicitly.
const XML_FILE_MODE: u32 = 0o644;

/// Saves a definition or status file crash-safely
/// ([`::host::fs::write_atomic`]: synced, renamed, directory synced).
fn write_xml_file(path: &Path, text: &str) -> Result<()> {
    ::host::fs::write_atomic(path, text.as_bytes(), XML_FILE_MODE)
        .map_err(|e| system(format!("cannot write '{}'", path.display()), &e.into_io()))
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
    let validate: conf::domain::Validate = std::sync::Arc::new(|def: &DomainDef| {
        if def.virt_type != "xen" {
            return Err(virterror::VirError::new(
                ErrorCode::ConfigUnsupported,
                ErrorDomain::Libxl,
                format!(
                    "unsupported virt type '{}' for the libxl driver",
                    def.virt_type
                ),
            ));
        }
        Ok(())
    });
    let options = conf::domain::XmlOptions {
        validate: Some(validate),
        ..Default::default()
    };
    let def = options.parse_str(
        xml,
        &ParseFlags {
            inactive: true,
            validate_schema: false,
        },
    )?;
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

fn domid_of(id: i32) -> u32 {
    u32::try_from(id).unwrap_or(u32::MAX)
}

/// Where a guest's definition comes from when it starts.
enum Boot {
    /// A fresh boot.
    Fresh,
    /// Restore from a save image positioned at libxl's stream.
    Restore(File),
}

impl XenDriver {
    /// libxlStateInitialize: context, version, directories, persistent
    /// definitions, reattachment to running guests. Call
    /// [`XenDriver::spawn_event_thread`] once the driver is shared.
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
            event_thread: AtomicBool::new(false),
        };
        drv.load_persistent();
        drv.reattach();
        Ok(drv)
    }

    /// Starts the libxl event thread, then autostarts guests.
    pub fn spawn_event_thread(self: &Arc<Self>) {
        let me = self.clone();
        let spawned = std::thread::Builder::new()
            .name("libxl-events".into())
            .spawn(move || me.event_loop());
        match spawned {
            Ok(_) => self.event_thread.store(true, Ordering::SeqCst),
            Err(e) => eprintln!("libxl: cannot start the event thread: {e}"),
        }
        self.autostart();
    }

    fn event_loop(&self) {
        let mut failures = 0u32;
        loop {
            match self.ctx.wait_event() {
                Ok(ev) => {
                    failures = 0;
                    self.handle_event(ev);
                }
                Err(e) => {
                    failures += 1;
                    if failures == 1 || failures.is_multiple_of(60) {
                        eprintln!("libxl: waiting for events failed: {e}");
                    }
                    std::thread::sleep(std::time::Duration::from_secs(1));
                }
            }
        }
    }

    fn handle_event(&self, ev: DomainEvent) {
        match ev.kind {
            // A save is under way: its caller finishes the job.
            DomainEventKind::Shutdown(ShutdownReason::Suspend) => {}
            DomainEventKind::Shutdown(why) => self.on_guest_shutdown(ev.domid, why),
            DomainEventKind::Death => self.on_guest_death(ev.domid),
            DomainEventKind::Other(_) => {}
        }
    }

    /// A guest shut down by itself (or after a shutdown/reboot request):
    /// apply its lifecycle action (libxlDomainShutdownThread).
    fn on_guest_shutdown(&self, domid: u32, why: ShutdownReason) {
        let picked = self.lock().ok().and_then(|mut doms| {
            let d = doms
                .iter_mut()
                .find(|d| d.id >= 0 && domid_of(d.id) == domid)?;
            d.begin_job("shutdown event").ok()?;
            let action = match why {
                ShutdownReason::Poweroff => d.def.on_poweroff.clone(),
                ShutdownReason::Reboot => d.def.on_reboot.clone(),
                ShutdownReason::Crash | ShutdownReason::Watchdog => d.def.on_crash.clone(),
                _ => "destroy".to_string(),
            };
            Some((d.dref(), action))
        });
        let Some((dref, action)) = picked else { return };
        let crashed = matches!(why, ShutdownReason::Crash | ShutdownReason::Watchdog);
        let (why_off, detail) = if crashed {
            (reason::SHUTOFF_CRASHED, lifecycle::STOPPED_CRASHED)
        } else {
            (reason::SHUTOFF_SHUTDOWN, lifecycle::STOPPED_SHUTDOWN)
        };
        match action.as_str() {
            "preserve" => {
                // Leave the shut-down domain for inspection.
                let _ = self.with_dom(&dref, |d| {
                    d.job = None;
                    d.status = if crashed {
                        (state::CRASHED, reason::CRASHED_UNKNOWN)
                    } else {
                        (state::SHUTDOWN, reason::SHUTDOWN_USER)
                    };
                    Ok(())
                });
            }
            "restart" | "rename-restart" | "coredump-restart" => {
                if let Err(e) = self.ctx.domain_destroy(domid) {
                    eprintln!("libxl: cannot destroy '{}' for restart: {e}", dref.name);
                }
                self.finish_stop(&dref, why_off, detail, true);
                if let Err(e) = self.start_domain(&dref, 0) {
                    eprintln!(
                        "libxl: failed to restart VM '{}': {}",
                        dref.name,
                        e.message()
                    );
                    self.forget_if_transient(&dref);
                }
            }
            _ => {
                if let Err(e) = self.ctx.domain_destroy(domid) {
                    eprintln!("libxl: cannot destroy '{}': {e}", dref.name);
                }
                self.finish_stop(&dref, why_off, detail, false);
            }
        }
    }

    /// A guest disappeared without us destroying it (`xl destroy`).
    fn on_guest_death(&self, domid: u32) {
        let picked = self.lock().ok().and_then(|mut doms| {
            let d = doms
                .iter_mut()
                .find(|d| d.id >= 0 && domid_of(d.id) == domid)?;
            d.begin_job("death event").ok()?;
            Some(d.dref())
        });
        if let Some(dref) = picked {
            self.finish_stop(
                &dref,
                reason::SHUTOFF_DESTROYED,
                lifecycle::STOPPED_DESTROYED,
                false,
            );
        }
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
                    let mut d = Dom::new(def, true);
                    d.autostart = autostart;
                    if self.managed_save_path(&d.def.name).exists() {
                        d.status = (state::SHUTOFF, reason::SHUTOFF_SAVED);
                    }
                    doms.push(d);
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
            let status = dominfo_state(info);
            match doms.iter_mut().find(|d| d.def.uuid == live.uuid) {
                Some(d) => {
                    d.newdef = Some(std::mem::replace(&mut d.def, live));
                    d.id = id;
                    d.status = status;
                }
                None => {
                    let mut d = Dom::new(live, false);
                    d.id = id;
                    d.status = status;
                    doms.push(d);
                }
            }
            // Shut down while we were away: the first event reports it.
            if let Err(e) = self.ctx.watch_domain_death(info.domid) {
                eprintln!("libxl: cannot watch domain {}: {e}", info.domid);
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
            if let Err(e) = self.start_domain(&d, 0) {
                eprintln!(
                    "libxl: failed to autostart VM '{}': {}",
                    d.name,
                    e.message()
                );
            }
        }
    }

    /// Notices guests Xen no longer has at all (a fallback for missed
    /// events; shut-down guests are the event thread's business).
    fn refresh(&self) {
        let Ok(running) = self.ctx.list_domains() else {
            return;
        };
        let events = self.event_thread.load(Ordering::SeqCst);
        let gone: Vec<(DomainRef, bool)> = match self.lock() {
            Ok(doms) => doms
                .iter()
                .filter(|d| d.id >= 0 && d.job.is_none())
                .filter_map(|d| {
                    let r = running
                        .iter()
                        .find(|r| i64::from(r.domid) == i64::from(d.id));
                    match r {
                        None => Some((d.dref(), false)),
                        Some(r) if !events && (r.shutdown || r.dying) => Some((d.dref(), true)),
                        Some(_) => None,
                    }
                })
                .collect(),
            Err(_) => return,
        };
        for (dref, reap) in gone {
            let claimed = self.with_dom(&dref, |d| d.begin_job("refresh")).is_ok();
            if !claimed {
                continue;
            }
            if reap {
                let _ = self.ctx.domain_destroy(domid_of(dref.id));
            }
            self.finish_stop(
                &dref,
                reason::SHUTOFF_SHUTDOWN,
                lifecycle::STOPPED_SHUTDOWN,
                false,
            );
        }
    }

    /// Marks a guest whose job we hold as shut off, ends the job, drops a
    /// transient guest unless `keep`, and emits STOPPED/`detail`.
    fn finish_stop(&self, dref: &DomainRef, why: i32, detail: i32, keep: bool) {
        let old = self.with_dom(dref, |d| Ok(d.id)).ok().filter(|id| *id >= 0);
        if let Some(id) = old {
            self.ctx.unwatch_domain_death(domid_of(id));
        }
        let stopped = self.with_dom(dref, |d| {
            d.id = -1;
            d.job = None;
            d.updated = false;
            d.status = (state::SHUTOFF, why);
            if let Some(n) = d.newdef.take() {
                d.def = n;
            }
            let _ =
                std::fs::remove_file(self.cfg.dirs.state_dir.join(format!("{}.xml", d.def.name)));
            Ok(d.dref())
        });
        if !keep {
            self.forget_if_transient(dref);
        }
        if let Ok(r) = stopped {
            self.events.publish(Event::DomainLifecycle {
                dom: r,
                event: lifecycle::STOPPED,
                detail,
            });
        }
    }

    fn forget_if_transient(&self, dref: &DomainRef) {
        if let Ok(mut doms) = self.lock() {
            doms.retain(|d| d.def.uuid.0 != dref.uuid || d.persistent || d.id >= 0);
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

    fn managed_save_path(&self, name: &str) -> PathBuf {
        self.cfg.dirs.save_dir.join(format!("{name}.save"))
    }

    /// Starts a defined guest, from its managed save image if it has one
    /// (unless FORCE_BOOT) (libxlDomainStart).
    fn start_domain(&self, dref: &DomainRef, flags: u32) -> Result<DomainRef> {
        let def = self.with_dom(dref, |d| {
            if d.id >= 0 {
                return Err(Error::operation_invalid(
                    ErrorDomain::Libxl,
                    "Domain is already running",
                ));
            }
            d.begin_job("start")?;
            Ok(d.def.clone())
        })?;
        let managed = self.managed_save_path(&def.name);
        let boot = if flags & start_flags::FORCE_BOOT != 0 {
            let _ = std::fs::remove_file(&managed);
            Ok((def, Boot::Fresh))
        } else if managed.exists() {
            open_image(&managed).map(|(saved, f)| (saved, Boot::Restore(f)))
        } else {
            Ok((def, Boot::Fresh))
        };
        let restored = matches!(boot, Ok((_, Boot::Restore(_))));
        let r =
            boot.and_then(|(def, b)| self.launch(dref, def, b, flags & start_flags::PAUSED != 0));
        if r.is_ok() && restored {
            let _ = std::fs::remove_file(&managed);
        }
        if r.is_err() {
            let _ = self.with_dom(dref, |d| {
                d.job = None;
                Ok(())
            });
        }
        r
    }

    /// Creates the Xen domain for `def` (a guest whose job we hold), fresh
    /// or from a save image, records it as running and ends the job.
    fn launch(
        &self,
        dref: &DomainRef,
        def: DomainDef,
        boot: Boot,
        paused: bool,
    ) -> Result<DomainRef> {
        let json =
            xenconfig::build_domain_config(&def, &self.options()).map_err(to_driver_error)?;
        let restored = matches!(boot, Boot::Restore(_));
        let domid = match &boot {
            Boot::Fresh => self.ctx.domain_create_from_json(&json.to_string()),
            Boot::Restore(f) => self
                .ctx
                .domain_restore_from_json(&json.to_string(), f.as_fd()),
        }
        .map_err(|e| {
            Error::internal(
                ErrorDomain::Libxl,
                if restored {
                    format!("libxenlight failed to restore domain '{}': {e}", def.name)
                } else {
                    format!(
                        "libxenlight failed to create new domain '{}': {e}",
                        def.name
                    )
                },
            )
        })?;
        drop(boot);
        if !paused {
            if let Err(e) = self.ctx.domain_unpause(domid) {
                let _ = self.ctx.domain_destroy(domid);
                return Err(err(e));
            }
        }
        if let Err(e) = self.ctx.watch_domain_death(domid) {
            eprintln!("libxl: cannot watch domain {domid}: {e}");
        }
        let id = i32::try_from(domid).unwrap_or(-1);
        if let Err(e) = write_xml_file(
            &self.cfg.dirs.state_dir.join(format!("{}.xml", def.name)),
            &fmt_def(&def, false),
        ) {
            eprintln!("libxl: {}", e.message());
        }
        let out = self.with_dom(dref, |d| {
            if d.persistent {
                d.newdef = Some(std::mem::replace(&mut d.def, def));
            } else {
                d.def = def;
            }
            d.id = id;
            d.job = None;
            d.status = match (paused, restored) {
                (true, _) => (state::PAUSED, reason::PAUSED_USER),
                (false, true) => (state::RUNNING, reason::RUNNING_RESTORED),
                (false, false) => (state::RUNNING, reason::RUNNING_BOOTED),
            };
            Ok(d.dref())
        })?;
        self.events.publish(Event::DomainLifecycle {
            dom: out.clone(),
            event: lifecycle::STARTED,
            detail: if restored {
                lifecycle::STARTED_RESTORED
            } else {
                lifecycle::STARTED_BOOTED
            },
        });
        if paused {
            self.events.publish(Event::DomainLifecycle {
                dom: out.clone(),
                event: lifecycle::SUSPENDED,
                detail: lifecycle::SUSPENDED_PAUSED,
            });
        }
        Ok(out)
    }

    /// Saves a running guest into `path` and stops it (libxlDoDomainSave).
    fn save_to(&self, dref: &DomainRef, path: &Path) -> Result<()> {
        let (id, def) = self.with_dom(dref, |d| {
            if d.id < 0 {
                return Err(not_running());
            }
            d.begin_job("save")?;
            Ok((d.id, d.def.clone()))
        })?;
        let r = self.save_running(domid_of(id), &def, path);
        match r {
            Ok(()) => {
                if let Err(e) = self.ctx.domain_destroy(domid_of(id)) {
                    eprintln!("libxl: cannot destroy '{}' after saving it: {e}", def.name);
                }
                self.finish_stop(dref, reason::SHUTOFF_SAVED, lifecycle::STOPPED_SAVED, false);
                Ok(())
            }
            Err(e) => {
                let _ = self.with_dom(dref, |d| {
                    d.job = None;
                    Ok(())
                });
                Err(e)
            }
        }
    }

    fn save_running(&self, domid: u32, def: &DomainDef, path: &Path) -> Result<()> {
        let head = saveimage::encode(&fmt_def(def, true))?;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)
            .map_err(|e| {
                system(
                    format!("Failed to create domain save file '{}'", path.display()),
                    &e,
                )
            })?;
        if let Err(e) = f.write_all(&head) {
            let _ = std::fs::remove_file(path);
            return Err(system("Failed to write save file header".into(), &e));
        }
        if let Err(e) = self.ctx.domain_suspend_to_fd(domid, f.as_fd()) {
            // The guest may be left suspended: let it carry on.
            let _ = self.ctx.domain_resume_after_suspend(domid);
            let _ = std::fs::remove_file(path);
            return Err(Error::internal(
                ErrorDomain::Libxl,
                format!("Failed to save domain '{domid}' with libxenlight: {e}"),
            ));
        }
        f.sync_all()
            .map_err(|e| system(format!("cannot sync '{}'", path.display()), &e))
    }

    /// Starts the guest saved in `path` (libxlDomainRestoreFlags).
    fn restore_from(&self, path: &Path, paused: bool) -> Result<DomainRef> {
        let (def, file) = open_image(path)?;
        let dref = {
            let mut doms = self.lock()?;
            if let Some(d) = doms
                .iter()
                .find(|d| d.def.name == def.name && d.def.uuid != def.uuid)
            {
                return Err(Error::new(
                    ErrorCode::OperationFailed,
                    ErrorDomain::Libxl,
                    format!(
                        "domain '{}' is already defined with uuid {}",
                        d.def.name, d.def.uuid
                    ),
                ));
            }
            match doms.iter_mut().find(|d| d.def.uuid == def.uuid) {
                Some(d) => {
                    if d.id >= 0 {
                        return Err(Error::operation_invalid(
                            ErrorDomain::Libxl,
                            format!("domain '{}' is already active", d.def.name),
                        ));
                    }
                    d.begin_job("restore")?;
                    d.dref()
                }
                None => {
                    let mut d = Dom::new(def.clone(), false);
                    d.job = Some("restore");
                    let r = d.dref();
                    doms.push(d);
                    r
                }
            }
        };
        match self.launch(&dref, def, Boot::Restore(file), paused) {
            Ok(r) => Ok(r),
            Err(e) => {
                let _ = self.with_dom(&dref, |d| {
                    d.job = None;
                    Ok(())
                });
                self.forget_if_transient(&dref);
                Err(e)
            }
        }
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
        self.with_dom(dref, |d| u32::try_from(d.id).map_err(|_| not_running()))
    }

    /// Writes the live status file of a running guest.
    fn save_status(&self, dref: &DomainRef) {
        if let Ok(Some((name, xml))) = self.with_dom(dref, |d| {
            Ok((d.id >= 0).then(|| (d.def.name.clone(), fmt_def(&d.def, false))))
        }) {
            if let Err(e) =
                write_xml_file(&self.cfg.dirs.state_dir.join(format!("{name}.xml")), &xml)
            {
                eprintln!("libxl: {}", e.message());
            }
        }
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

/// Opens a save image: its definition and the file positioned at libxl's
/// stream (libxlDomainSaveImageOpen).
fn open_image(path: &Path) -> Result<(DomainDef, File)> {
    let mut f = File::open(path).map_err(|e| {
        system(
            format!("Failed to open domain image file '{}'", path.display()),
            &e,
        )
    })?;
    let (xml, _version) = saveimage::decode(&mut f)?;
    Ok((parse_def(&xml)?, f))
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
    } else {
        // Like libvirt's libxl driver: an idle (blocked) guest is running.
        (state::RUNNING, reason::RUNNING_BOOTED)
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
        write_xml_file(
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
                    d.updated = true;
                } else {
                    d.def = def;
                }
                d.persistent = true;
                (d.dref(), true)
            }
            None => {
                let d = Dom::new(def, true);
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
        let mut doms = self.drv.lock()?;
        doms.retain(|d| d.def.uuid.0 != dom.uuid || d.id >= 0);
        for d in doms.iter_mut().filter(|d| d.def.uuid.0 == dom.uuid) {
            d.persistent = false;
            d.autostart = false;
            d.newdef = None;
            d.updated = false;
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
            if doms.iter().any(|d| d.def.uuid == def.uuid) {
                // An inactive persistent guest: run the given definition.
                let d = doms
                    .iter_mut()
                    .find(|d| d.def.uuid == def.uuid)
                    .ok_or_else(|| Error::internal(ErrorDomain::Libxl, "domain vanished"))?;
                if d.def.name != def.name {
                    return Err(Error::new(
                        ErrorCode::OperationFailed,
                        ErrorDomain::Libxl,
                        format!(
                            "domain '{}' is already defined with uuid {}",
                            d.def.name, d.def.uuid
                        ),
                    ));
                }
                d.newdef = Some(def.clone());
                d.def = def;
                d.dref()
            } else {
                if let Some(d) = doms.iter().find(|d| d.def.name == def.name) {
                    return Err(Error::new(
                        ErrorCode::OperationFailed,
                        ErrorDomain::Libxl,
                        format!(
                            "domain '{}' is already defined with uuid {}",
                            d.def.name, d.def.uuid
                        ),
                    ));
                }
                let d = Dom::new(def, false);
                let r = d.dref();
                doms.push(d);
                r
            }
        };
        match self.drv.start_domain(&dref, flags & start_flags::PAUSED) {
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
        // VIR_DOMAIN_DESTROY_GRACEFUL is accepted: libxl destroys at once.
        Error::check_flags(flags, 1, "libxlDomainDestroyFlags")?;
        let domid = self.drv.with_dom(dom, |d| {
            let id = u32::try_from(d.id).map_err(|_| not_running())?;
            d.begin_job("destroy")?;
            Ok(id)
        })?;
        if let Err(e) = self.drv.ctx.domain_destroy(domid) {
            let _ = self.drv.with_dom(dom, |d| {
                d.job = None;
                Ok(())
            });
            return Err(Error::internal(
                ErrorDomain::Libxl,
                format!("Failed to destroy domain '{domid}': {e}"),
            ));
        }
        self.drv.finish_stop(
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

impl XenDriver {
    /// (live, config) for a virDomainModificationImpact: CURRENT means
    /// live for a running guest and config otherwise.
    fn resolve_impact(&self, dom: &DomainRef, flags: u32) -> Result<(bool, bool)> {
        let (active, persistent) = self.with_dom(dom, |d| Ok((d.id >= 0, d.persistent)))?;
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
            return Err(Error::operation_invalid(
                ErrorDomain::Libxl,
                "domain is not running",
            ));
        }
        if config && !persistent {
            return Err(Error::operation_invalid(
                ErrorDomain::Libxl,
                "transient domains do not have any persistent config",
            ));
        }
        Ok((live, config))
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
