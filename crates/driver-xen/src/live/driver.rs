// SPDX-License-Identifier: LGPL-2.1-or-later
//! The libxl driver's state: the guest table (a `driver::objlist` list in
//! the order guests were added, each guest with its job), libxl's context,
//! loading definitions and reattaching at start, the event thread and the
//! guests' lifecycle actions, starting (fresh or from a save image),
//! saving, restoring and stopping guests, and the status files of running
//! ones.
//!
//! Jobs are taken with a zero timeout: a second operation on a busy guest
//! fails at once, and libxl events of a guest whose job is held (our own
//! destroy or save) are ignored. A guest's table keys (name, Xen domain
//! id) are brought in step with its state under its lock
//! ([`XenDriver::sync_keys`]).

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
use driver::objlist::{Conflict, JobError, Obj, ObjJob, ObjList, Order};
use driver::{DomainRef, Error, Event, EventBus, Result};
use libxl_sys::{Ctx, DomainEvent, DomainEventKind, ShutdownReason, VersionInfo};
use std::fs::File;
use std::io::Write;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
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
    /// A define replaced the persistent definition while running.
    pub(super) updated: bool,
    /// (virDomainState, reason) as last set by the driver.
    pub(super) status: (i32, i32),
}

/// A guest in the table.
pub(super) type DomObj = Obj<Dom>;

/// A guest's held job, released on drop.
pub(super) type Job = ObjJob<Dom>;

/// Takes the job of a guest whose lock the caller holds, or fails at once
/// with this driver's VIR_ERR_OPERATION_TIMEOUT text (which, unlike
/// libvirt's, names the holder without "monitor=").
fn claim(obj: &Arc<DomObj>, what: &'static str, dref: &DomainRef) -> Result<Job> {
    obj.begin_job(what, Duration::ZERO).map_err(|e| match e {
        JobError::Busy(busy) => Error::new(
            ErrorCode::OperationTimeout,
            ErrorDomain::Libxl,
            format!("cannot acquire state change lock (held by {})", busy.holder),
        ),
        JobError::Removed => no_domain(dref),
    })
}

/// libvirt's texts for a name or UUID another guest has.
pub(super) fn conflict(c: Conflict) -> Error {
    c.to_error("domain", ErrorDomain::Libxl)
}

impl Dom {
    pub(super) fn new(def: DomainDef, persistent: bool) -> Dom {
        Dom {
            def,
            newdef: None,
            persistent,
            autostart: false,
            id: -1,
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
    /// Listed in the order guests were added.
    pub(super) doms: ObjList<Dom>,
    pub(super) events: EventBus,
    /// The libxl event thread runs (else lists notice stopped guests).
    pub(super) event_thread: AtomicBool,
    /// The network driver that plugs `<interface type='network'>` NICs.
    pub(super) network: Option<netplug::NetworkAccess>,
    /// The storage driver that resolves `<disk type='volume'>` disks.
    pub(super) storage: Option<volsource::StorageAccess>,
}

/// Where a guest's definition comes from when it starts.
pub(super) enum Boot {
    /// A fresh boot.
    Fresh,
    /// Restore from a save image positioned at libxl's stream.
    Restore(File),
}

impl XenDriver {
    /// The storage driver volume disks are resolved through.
    pub fn with_storage(mut self, storage: Option<volsource::StorageAccess>) -> Self {
        self.storage = storage;
        self
    }

    /// libxlStateInitialize: context, version, directories, persistent
    /// definitions, reattachment to running guests. Call
    /// [`XenDriver::spawn_event_thread`] once the driver is shared.
    pub fn start(
        cfg: LibxlConfig,
        network: Option<netplug::NetworkAccess>,
    ) -> std::result::Result<XenDriver, String> {
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
            doms: ObjList::new(Order::Insertion),
            events: EventBus::new(),
            event_thread: AtomicBool::new(false),
            network,
            storage: None,
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
        let picked = self.with_running(domid, |obj, d| {
            let job = claim(obj, "shutdown event", &d.dref()).ok()?;
            let action = match why {
                ShutdownReason::Poweroff => d.def.on_poweroff.clone(),
                ShutdownReason::Reboot => d.def.on_reboot.clone(),
                ShutdownReason::Crash | ShutdownReason::Watchdog => d.def.on_crash.clone(),
                _ => "destroy".to_string(),
            };
            Some((job, d.dref(), action))
        });
        let Some((job, dref, action)) = picked else {
            return;
        };
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
                    d.status = if crashed {
                        (state::CRASHED, reason::CRASHED_UNKNOWN)
                    } else {
                        (state::SHUTDOWN, reason::SHUTDOWN_USER)
                    };
                    Ok(())
                });
                drop(job);
            }
            "restart" | "rename-restart" | "coredump-restart" => {
                if let Err(e) = self.ctx.domain_destroy(domid) {
                    eprintln!("libxl: cannot destroy '{}' for restart: {e}", dref.name);
                }
                self.finish_stop(job, &dref, why_off, detail, true);
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
                self.finish_stop(job, &dref, why_off, detail, false);
            }
        }
    }

    /// A guest disappeared without us destroying it (`xl destroy`).
    pub(super) fn on_guest_death(&self, domid: u32) {
        let picked = self.with_running(domid, |obj, d| {
            let dref = d.dref();
            Some((claim(obj, "death event", &dref).ok()?, dref))
        });
        if let Some((job, dref)) = picked {
            self.finish_stop(
                job,
                &dref,
                reason::SHUTOFF_DESTROYED,
                lifecycle::STOPPED_DESTROYED,
                false,
            );
        }
    }

    /// Runs `f` on the running guest with Xen domain id `domid`, under its
    /// lock.
    fn with_running<R>(
        &self,
        domid: u32,
        f: impl FnOnce(&Arc<DomObj>, &mut Dom) -> Option<R>,
    ) -> Option<R> {
        let obj = self.doms.entry_by_id(i32::try_from(domid).ok()?)?.obj;
        let mut d = obj.lock_live()?;
        if d.id < 0 || domid_of(d.id) != domid {
            return None;
        }
        f(&obj, &mut d)
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
                    let (uuid, name) = (d.def.uuid.0, Arc::from(d.def.name.as_str()));
                    // Two files for one guest: the first one read wins.
                    let added = self
                        .doms
                        .add(uuid, name, d, |_, d, unused| match unused {
                            None => Ok(()),
                            Some(_) => Err(Conflict::UuidTaken {
                                name: d.def.name.clone(),
                                uuid,
                            }),
                        })
                        .and_then(|r| r);
                    if let Err(c) = added {
                        eprintln!("libxl: ignoring {}: {}", p.display(), conflict(c).message());
                    }
                }
                Err(e) => eprintln!("libxl: ignoring {}: {}", p.display(), e.message()),
            }
        }
    }

    /// Picks up guests that run although the daemon restarted.
    pub(super) fn reattach(&self) {
        let running = self.ctx.list_domains().unwrap_or_default();
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
            match self.doms.get(&live.uuid.0) {
                Some(obj) => {
                    let mut d = obj.lock();
                    d.newdef = Some(std::mem::replace(&mut d.def, live));
                    d.id = id;
                    d.status = status;
                    self.sync_keys(&obj, &d);
                }
                None => {
                    let (uuid, name) = (live.uuid.0, Arc::from(live.name.as_str()));
                    let mut d = Dom::new(live, false);
                    d.id = id;
                    d.status = status;
                    let added = self
                        .doms
                        .add(uuid, name, d, |obj, d, _| self.sync_keys(obj, d));
                    if let Err(c) = added {
                        eprintln!("libxl: ignoring {}: {}", p.display(), conflict(c).message());
                        continue;
                    }
                }
            }
            // Shut down while we were away: the first event reports it.
            if let Err(e) = self.ctx.watch_domain_death(info.domid) {
                eprintln!("libxl: cannot watch domain {}: {e}", info.domid);
            }
        }
    }

    pub(super) fn autostart(&self) {
        let names: Vec<DomainRef> = self
            .doms
            .snapshot()
            .iter()
            .filter_map(|e| {
                let d = e.obj.lock_live()?;
                (d.autostart && d.id < 0).then(|| d.dref())
            })
            .collect();
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
        let gone: Vec<(DomainRef, bool)> = self
            .doms
            .snapshot()
            .iter()
            .filter_map(|e| {
                let d = e.obj.lock_live()?;
                if d.id < 0 || e.obj.job().is_held() {
                    return None;
                }
                let r = running
                    .iter()
                    .find(|r| i64::from(r.domid) == i64::from(d.id));
                match r {
                    None => Some((d.dref(), false)),
                    Some(r) if !events && (r.shutdown || r.dying) => Some((d.dref(), true)),
                    Some(_) => None,
                }
            })
            .collect();
        for (dref, reap) in gone {
            let Ok((job, ())) = self.begin_job(&dref, "refresh", |_| Ok(())) else {
                continue;
            };
            if reap {
                let _ = self.ctx.domain_destroy(domid_of(dref.id));
            }
            self.finish_stop(
                job,
                &dref,
                reason::SHUTOFF_SHUTDOWN,
                lifecycle::STOPPED_SHUTDOWN,
                false,
            );
        }
    }

    /// Marks a guest whose job we hold as shut off, ends the job, drops a
    /// transient guest unless `keep`, and emits STOPPED/`detail`.
    pub(super) fn finish_stop(
        &self,
        job: Job,
        dref: &DomainRef,
        why: i32,
        detail: i32,
        keep: bool,
    ) {
        let obj = job.obj().clone();
        let old = Some(obj.lock().id).filter(|id| *id >= 0);
        if let Some(id) = old {
            self.ctx.unwatch_domain_death(domid_of(id));
        }
        // Its network NICs leave their networks.
        let live = {
            let d = obj.lock();
            (d.id >= 0).then(|| d.def.clone())
        };
        if let Some(mut live) = live {
            netplug::unplug(&mut live, self.network.as_ref());
        }
        let stopped = {
            let mut d = obj.lock();
            d.id = -1;
            d.updated = false;
            d.status = (state::SHUTOFF, why);
            if let Some(n) = d.newdef.take() {
                d.def = n;
            }
            let _ =
                std::fs::remove_file(self.cfg.dirs.state_dir.join(format!("{}.xml", d.def.name)));
            self.sync_keys(&obj, &d);
            d.dref()
        };
        drop(job);
        if !keep {
            self.forget_if_transient(dref);
        }
        self.events.publish(Event::DomainLifecycle {
            dom: stopped,
            event: lifecycle::STOPPED,
            detail,
        });
    }

    /// Drops the guest if it is transient and shut off.
    pub(super) fn forget_if_transient(&self, dref: &DomainRef) {
        if let Some(obj) = self.doms.get(&dref.uuid) {
            let d = obj.lock();
            if !d.persistent && d.id < 0 {
                self.doms.remove(&obj);
            }
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
        let (job, def) = self.begin_job(dref, "start", |d| {
            if d.id >= 0 {
                return Err(Error::operation_invalid(
                    ErrorDomain::Libxl,
                    "Domain is already running",
                ));
            }
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
        // On failure, the job ends with `launch`.
        let r = boot
            .and_then(|(def, b)| self.launch(job, dref, def, b, flags & start_flags::PAUSED != 0));
        if r.is_ok() && restored {
            let _ = std::fs::remove_file(&managed);
        }
        r
    }

    /// Creates the Xen domain for `def` (a guest whose job we hold), fresh
    /// or from a save image, records it as running and ends the job (on
    /// failure too).
    pub(super) fn launch(
        &self,
        job: Job,
        dref: &DomainRef,
        def: DomainDef,
        boot: Boot,
        paused: bool,
    ) -> Result<DomainRef> {
        // Network NICs get their ports (and so their bridges) first,
        // given back when the guest does not start.
        let mut def = def;
        netplug::plug(&mut def, self.network.as_ref(), ErrorDomain::Libxl)?;
        let plugged = def.clone();
        let r = self.launch_plugged(job, dref, def, boot, paused);
        if r.is_err() {
            netplug::unplug(&mut plugged.clone(), self.network.as_ref());
        }
        r
    }

    fn launch_plugged(
        &self,
        job: Job,
        dref: &DomainRef,
        def: DomainDef,
        boot: Boot,
        paused: bool,
    ) -> Result<DomainRef> {
        // Volume disks are built as the files or devices they stand for
        // (the guest's definition keeps the volume).
        let actual = volsource::translate(&def, self.storage.as_ref())?;
        let json =
            xenconfig::build_domain_config(&actual, &self.options()).map_err(to_driver_error)?;
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
        let out = {
            let obj = job.obj();
            let mut d = obj.lock_live().ok_or_else(|| no_domain(dref))?;
            if d.persistent {
                d.newdef = Some(std::mem::replace(&mut d.def, def));
            } else {
                d.def = def;
            }
            d.id = id;
            d.status = match (paused, restored) {
                (true, _) => (state::PAUSED, reason::PAUSED_USER),
                (false, true) => (state::RUNNING, reason::RUNNING_RESTORED),
                (false, false) => (state::RUNNING, reason::RUNNING_BOOTED),
            };
            self.sync_keys(obj, &d);
            d.dref()
        };
        drop(job);
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
        let (job, (id, def)) = self.begin_job(dref, "save", |d| {
            if d.id < 0 {
                return Err(not_running());
            }
            Ok((d.id, d.def.clone()))
        })?;
        let r = self.save_running(domid_of(id), &def, path);
        match r {
            Ok(()) => {
                if let Err(e) = self.ctx.domain_destroy(domid_of(id)) {
                    eprintln!("libxl: cannot destroy '{}' after saving it: {e}", def.name);
                }
                self.finish_stop(
                    job,
                    dref,
                    reason::SHUTOFF_SAVED,
                    lifecycle::STOPPED_SAVED,
                    false,
                );
                Ok(())
            }
            Err(e) => Err(e),
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
        if let Some(e) = self.doms.entry_by_name(&def.name) {
            if e.uuid != def.uuid.0 {
                return Err(Error::new(
                    ErrorCode::OperationFailed,
                    ErrorDomain::Libxl,
                    format!(
                        "domain '{}' is already defined with uuid {}",
                        e.name,
                        conf::Uuid(e.uuid)
                    ),
                ));
            }
        }
        let take = |obj: &Arc<DomObj>, d: &mut Dom| -> Result<(Job, DomainRef)> {
            if d.id >= 0 {
                return Err(Error::operation_invalid(
                    ErrorDomain::Libxl,
                    format!("domain '{}' is already active", d.def.name),
                ));
            }
            let dref = d.dref();
            Ok((claim(obj, "restore", &dref)?, dref))
        };
        let (job, dref) = match self.doms.get(&def.uuid.0) {
            Some(obj) => {
                let gone = || {
                    no_domain(&DomainRef {
                        name: def.name.clone(),
                        uuid: def.uuid.0,
                        id: -1,
                    })
                };
                let mut d = obj.lock_live().ok_or_else(gone)?;
                take(&obj, &mut d)?
            }
            None => {
                let (uuid, name) = (def.uuid.0, Arc::from(def.name.as_str()));
                self.doms
                    .add(uuid, name, Dom::new(def.clone(), false), |obj, d, _| {
                        take(obj, d)
                    })
                    .map_err(conflict)??
            }
        };
        match self.launch(job, &dref, def, Boot::Restore(file), paused) {
            Ok(r) => Ok(r),
            Err(e) => {
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
        let obj = self.doms.get(&dref.uuid).ok_or_else(|| no_domain(dref))?;
        let mut d = obj.lock_live().ok_or_else(|| no_domain(dref))?;
        f(&mut d)
    }

    /// Takes a guest's job for `what` once `check` accepted the guest,
    /// both under its lock; fails at once if another operation holds the
    /// job.
    pub(super) fn begin_job<T>(
        &self,
        dref: &DomainRef,
        what: &'static str,
        check: impl FnOnce(&mut Dom) -> Result<T>,
    ) -> Result<(Job, T)> {
        let obj = self.doms.get(&dref.uuid).ok_or_else(|| no_domain(dref))?;
        let mut d = obj.lock_live().ok_or_else(|| no_domain(dref))?;
        let v = check(&mut d)?;
        Ok((claim(&obj, what, dref)?, v))
    }

    /// Brings a guest's table keys in step with its state (call under its
    /// lock): its Xen domain id, and its name, which a definition of the
    /// same UUID may have changed.
    pub(super) fn sync_keys(&self, obj: &DomObj, d: &Dom) {
        self.doms.set_id(obj, (d.id >= 0).then_some(d.id));
        if let Err(c) = self.doms.rename(obj, &d.def.name) {
            eprintln!("libxl: {}", conflict(c).message());
        }
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
        self.doms
            .snapshot()
            .iter()
            .filter(|e| e.id.is_some())
            .count()
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
