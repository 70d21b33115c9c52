// SPDX-License-Identifier: LGPL-2.1-or-later
//! The libxl driver's state: the guest table, libxl's context, loading
//! definitions and reattaching at start, the event thread and the guests'
//! lifecycle actions, starting (fresh or from a save image), saving,
//! restoring and stopping guests, and the status files of running ones.

use super::helpers::{
    caps_from_version, domid_of, dominfo_state, err, fmt_def, no_domain, not_running, open_image,
    parse_def, start_flags, system, write_xml_file,
};
use crate::config::LibxlConfig;
use crate::limited::to_driver_error;
use crate::saveimage;
use conf::DomainDef;
use driver::consts::{affect, lifecycle, reason, state};
use driver::error::{ErrorCode, ErrorDomain};
use driver::{DomainRef, Error, Event, EventBus, Result};
use libxl_sys::{Ctx, DomainEvent, DomainEventKind, ShutdownReason, VersionInfo};
use std::fs::File;
use std::io::Write;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use xenconfig::{LibxlOptions, XenCaps};

/// A guest of the table.
pub(super) struct Dom {
    /// The definition the guest runs with (or will start with).
    pub(super) def: DomainDef,
    /// The persistent definition while a persistent guest runs.
    pub(super) newdef: Option<DomainDef>,
    pub(super) persistent: bool,
    pub(super) autostart: bool,
    /// Xen domain id, -1 when shut off.
    pub(super) id: i32,
    /// The operation holding the guest's job, if any.
    pub(super) job: Option<&'static str>,
    /// A define replaced the persistent definition while running.
    pub(super) updated: bool,
    /// (virDomainState, reason) as last set by the driver.
    pub(super) status: (i32, i32),
}

impl Dom {
    pub(super) fn new(def: DomainDef, persistent: bool) -> Dom {
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

    pub(super) fn dref(&self) -> DomainRef {
        DomainRef {
            name: self.def.name.clone(),
            uuid: self.def.uuid.0,
            id: self.id,
        }
    }

    pub(super) fn begin_job(&mut self, what: &'static str) -> Result<()> {
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
    pub(super) fn persistent_def(&mut self) -> Result<&mut DomainDef> {
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
    pub(super) ctx: Ctx,
    pub(super) cfg: LibxlConfig,
    pub(super) caps: XenCaps,
    pub(super) ver: VersionInfo,
    pub(super) doms: Mutex<Vec<Dom>>,
    pub(super) events: EventBus,
    /// The libxl event thread runs (else lists notice stopped guests).
    pub(super) event_thread: AtomicBool,
}

/// Where a guest's definition comes from when it starts.
pub(super) enum Boot {
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

    pub(super) fn event_loop(&self) {
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

    pub(super) fn handle_event(&self, ev: DomainEvent) {
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
    pub(super) fn on_guest_shutdown(&self, domid: u32, why: ShutdownReason) {
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
    pub(super) fn on_guest_death(&self, domid: u32) {
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

    pub(super) fn lock(&self) -> Result<MutexGuard<'_, Vec<Dom>>> {
        self.doms
            .lock()
            .map_err(|_| Error::internal(ErrorDomain::Libxl, "domain list lock poisoned"))
    }

    pub(super) fn xml_files(dir: &Path) -> Vec<PathBuf> {
        std::fs::read_dir(dir)
            .map(|rd| {
                rd.filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| p.extension().is_some_and(|x| x == "xml"))
                    .collect()
            })
            .unwrap_or_default()
    }

    pub(super) fn load_persistent(&self) {
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
    pub(super) fn reattach(&self) {
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

    pub(super) fn autostart(&self) {
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
    pub(super) fn refresh(&self) {
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
    pub(super) fn finish_stop(&self, dref: &DomainRef, why: i32, detail: i32, keep: bool) {
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

    pub(super) fn forget_if_transient(&self, dref: &DomainRef) {
        if let Ok(mut doms) = self.lock() {
            doms.retain(|d| d.def.uuid.0 != dref.uuid || d.persistent || d.id >= 0);
        }
    }

    pub(super) fn options(&self) -> LibxlOptions {
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

    pub(super) fn managed_save_path(&self, name: &str) -> PathBuf {
        self.cfg.dirs.save_dir.join(format!("{name}.save"))
    }

    /// Starts a defined guest, from its managed save image if it has one
    /// (unless FORCE_BOOT) (libxlDomainStart).
    pub(super) fn start_domain(&self, dref: &DomainRef, flags: u32) -> Result<DomainRef> {
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
    pub(super) fn launch(
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
    pub(super) fn save_to(&self, dref: &DomainRef, path: &Path) -> Result<()> {
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

    pub(super) fn save_running(&self, domid: u32, def: &DomainDef, path: &Path) -> Result<()> {
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
    pub(super) fn restore_from(&self, path: &Path, paused: bool) -> Result<DomainRef> {
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

    pub(super) fn with_dom<T>(
        &self,
        dref: &DomainRef,
        f: impl FnOnce(&mut Dom) -> Result<T>,
    ) -> Result<T> {
        let mut doms = self.lock()?;
        let d = doms
            .iter_mut()
            .find(|d| d.def.uuid.0 == dref.uuid)
            .ok_or_else(|| no_domain(dref))?;
        f(d)
    }

    pub(super) fn active_domid(&self, dref: &DomainRef) -> Result<u32> {
        self.with_dom(dref, |d| u32::try_from(d.id).map_err(|_| not_running()))
    }

    /// Writes the live status file of a running guest.
    pub(super) fn save_status(&self, dref: &DomainRef) {
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

impl XenDriver {
    /// (live, config) for a virDomainModificationImpact: CURRENT means
    /// live for a running guest and config otherwise.
    pub(super) fn resolve_impact(&self, dom: &DomainRef, flags: u32) -> Result<(bool, bool)> {
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
