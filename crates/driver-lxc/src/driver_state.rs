// SPDX-License-Identifier: LGPL-2.1-or-later
//! The driver's state: the domain table (a `driver::objlist` list in the
//! order domains were added, each domain with its `driver::job` job),
//! starting and stopping containers through their controllers, status
//! files, exit watchers and reattaching after a restart.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use conf::{DomainDef, FormatFlags, ParseFlags};
use driver::consts::{lifecycle, reason, state};
use driver::objlist::{Conflict, JobError, Obj, ObjJob, ObjList, Order};
use driver::{CloseCallbacks, ConnectionId, DomainRef, Error, Event, EventBus, Result};
use lxc_controller::client;
use lxc_controller::proto::{Event as CtlEvent, ExitInfo, ExitReason, RunState};

use crate::lxcconf::LxcConf;
use crate::runtime::{HostRuntime, Runtime};
use crate::status::Status;
use crate::usage::UsageFiles;
use crate::{errors, spec, LxcDriverConfig};

/// Mode of the definition and status files: readable by root only, as
/// libvirt writes them (a definition can hold secrets such as graphics
/// passwords).
const XML_FILE_MODE: u32 = 0o600;

/// Writes a definition or status file crash-safely
/// ([`host::fs::write_atomic`]), creating its directory if needed; `what`
/// names it in the error ("config", "status").
fn write_xml_file(path: &Path, xml: &str, what: &str) -> Result<()> {
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    std::fs::create_dir_all(dir)
        .and_then(|()| {
            host::fs::write_atomic(path, xml.as_bytes(), XML_FILE_MODE)
                .map_err(host::Error::into_io)
        })
        .map_err(|e| errors::system(format!("cannot write {what} file '{}'", path.display()), &e))
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// A running container.
#[derive(Debug, Clone)]
pub(crate) struct Live {
    /// The live definition (with its id).
    pub def: DomainDef,
    pub id: i32,
    pub controller_pid: u32,
    pub init_pid: u32,
    pub init_start_time: u64,
    pub veths: Vec<String>,
    pub cgroups: Vec<String>,
    /// Its usage counter files, found once among `cgroups`.
    pub usage: UsageFiles,
    /// Identifies this run, so a late exit report of an earlier run is ignored.
    pub run: u64,
}

/// A domain's mutable state (guarded by a short-lived mutex).
#[derive(Debug)]
pub(crate) struct DomState {
    pub name: String,
    /// The persistent definition, `None` for a transient domain.
    pub persistent: Option<DomainDef>,
    pub live: Option<Live>,
    pub autostart: bool,
    pub state: i32,
    pub reason: i32,
}

impl DomState {
    /// A new table entry: shut off, nothing defined or running yet.
    fn shut_off(name: String) -> Self {
        DomState {
            name,
            persistent: None,
            live: None,
            autostart: false,
            state: state::SHUTOFF,
            reason: reason::SHUTOFF_UNKNOWN,
        }
    }

    /// The definition reads report: live when running.
    pub fn current_def(&self) -> Option<&DomainDef> {
        self.live
            .as_ref()
            .map(|l| &l.def)
            .or(self.persistent.as_ref())
    }

    pub fn id(&self) -> i32 {
        self.live.as_ref().map_or(-1, |l| l.id)
    }
}

/// One domain of the table.
pub(crate) type Dom = Obj<DomState>;

/// The held job of a domain; dropping it releases the job.
pub(crate) type JobGuard = ObjJob<DomState>;

/// The reference clients get for a domain.
pub(crate) fn dom_ref(dom: &Dom) -> DomainRef {
    let st = dom.lock();
    DomainRef {
        name: st.name.clone(),
        uuid: *dom.uuid(),
        id: st.id(),
    }
}

/// Takes `dom`'s job for `api`, waiting at most `timeout`: libvirt's
/// VIR_ERR_OPERATION_TIMEOUT when another operation holds it that long,
/// VIR_ERR_NO_DOMAIN when the domain left the table meanwhile.
fn begin_job(dom: &Arc<Dom>, api: &'static str, timeout: Duration) -> Result<JobGuard> {
    dom.begin_job(api, timeout).map_err(|e| match e {
        JobError::Busy(busy) => busy.to_error(errors::LXC),
        JobError::Removed => errors::no_domain_uuid(dom.uuid(), &dom.lock().name),
    })
}

/// What the driver runs for a domain when a connection closes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CloseCallback {
    /// VIR_DOMAIN_START_AUTODESTROY: destroy the guest.
    AutoDestroy,
}

/// The LXC driver shared by every connection.
pub struct Driver {
    pub(crate) cfg: LxcDriverConfig,
    /// Controllers and processes: the host, or a test's fake.
    pub(crate) rt: Arc<dyn Runtime>,
    pub(crate) lxcconf: Mutex<LxcConf>,
    /// Listed in the order domains were added.
    domains: ObjList<DomState>,
    pub(crate) events: EventBus,
    /// Guests tied to the connection that started them (in memory only:
    /// after a restart, reattached guests belong to no connection).
    close_callbacks: CloseCallbacks<CloseCallback>,
    shutting_down: AtomicBool,
    next_run: AtomicU64,
    weak: Weak<Driver>,
}

/// How a container stopped: the state reason and the event detail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct StopKind {
    pub reason: i32,
    pub detail: i32,
}

impl StopKind {
    pub const DESTROYED: StopKind = StopKind {
        reason: reason::SHUTOFF_DESTROYED,
        detail: lifecycle::STOPPED_DESTROYED,
    };
    pub const SHUTDOWN: StopKind = StopKind {
        reason: reason::SHUTOFF_SHUTDOWN,
        detail: lifecycle::STOPPED_SHUTDOWN,
    };
    pub const FAILED: StopKind = StopKind {
        reason: reason::SHUTOFF_FAILED,
        detail: lifecycle::STOPPED_FAILED,
    };
    pub const CRASHED: StopKind = StopKind {
        reason: reason::SHUTOFF_CRASHED,
        detail: lifecycle::STOPPED_FAILED,
    };

    fn from_exit(info: Option<&ExitInfo>) -> StopKind {
        match info.map(|i| i.reason) {
            Some(ExitReason::Shutdown) | Some(ExitReason::Reboot) => StopKind::SHUTDOWN,
            Some(ExitReason::Destroyed) => StopKind::DESTROYED,
            Some(ExitReason::Error) => StopKind::FAILED,
            None => StopKind::CRASHED,
        }
    }
}

fn log(msg: impl AsRef<str>) {
    eprintln!("lxc driver: {}", msg.as_ref());
}

impl Driver {
    /// Creates the driver on the host and loads persistent definitions
    /// from `config_dir`.
    pub fn new(cfg: LxcDriverConfig) -> Arc<Driver> {
        Driver::with_runtime(cfg, Arc::new(HostRuntime))
    }

    /// Creates the driver on runtime `rt` and loads persistent
    /// definitions from `config_dir`.
    pub fn with_runtime(cfg: LxcDriverConfig, rt: Arc<dyn Runtime>) -> Arc<Driver> {
        let lxcconf = match &cfg.lxc_conf {
            Some(p) => LxcConf::load(p).unwrap_or_else(|e| {
                log(format!("ignoring {}: {e}", p.display()));
                LxcConf::default()
            }),
            None => LxcConf::default(),
        };
        let d = Arc::new_cyclic(|weak| Driver {
            cfg,
            rt,
            lxcconf: Mutex::new(lxcconf),
            domains: ObjList::new(Order::Insertion),
            events: EventBus::new(),
            close_callbacks: CloseCallbacks::new(),
            shutting_down: AtomicBool::new(false),
            next_run: AtomicU64::new(1),
            weak: weak.clone(),
        });
        remove_stale_temp_files(&d.cfg.config_dir);
        d.load_configs();
        d
    }

    fn parse_flags(inactive: bool) -> ParseFlags {
        ParseFlags {
            inactive,
            ..Default::default()
        }
    }

    /// Reads every `config_dir/NAME.xml` not yet known.
    fn load_configs(&self) {
        let Ok(dir) = std::fs::read_dir(&self.cfg.config_dir) else {
            return;
        };
        let mut paths: Vec<PathBuf> = dir
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "xml") && p.is_file())
            .collect();
        paths.sort();
        for p in paths {
            let text = match std::fs::read_to_string(&p) {
                Ok(t) => t,
                Err(e) => {
                    log(format!("cannot read {}: {e}", p.display()));
                    continue;
                }
            };
            let def = match DomainDef::parse_str(&text, &Self::parse_flags(true)) {
                Ok(d) => d,
                Err(e) => {
                    log(format!("cannot load {}: {}", p.display(), e.detail_text()));
                    continue;
                }
            };
            let autostart = self.cfg.autostart_link(&def.name).exists();
            if let Some(existing) = self.domains.get(&def.uuid.0) {
                let mut st = existing.lock();
                if st.live.is_none() {
                    st.autostart = autostart;
                    st.persistent = Some(def);
                }
                continue;
            }
            let (uuid, name) = (def.uuid.0, Arc::from(def.name.as_str()));
            let mut st = DomState::shut_off(def.name.clone());
            st.persistent = Some(def);
            st.autostart = autostart;
            // A name another domain already has: the file is skipped.
            let _ = self.domains.add(uuid, name, st, |_, _, _| ());
        }
    }

    pub(crate) fn job_timeout(&self) -> Duration {
        self.cfg.job_timeout
    }

    // ---- table access (never waits on a job) ----

    pub(crate) fn all(&self) -> Vec<Arc<Dom>> {
        self.domains
            .snapshot()
            .iter()
            .map(|e| e.obj.clone())
            .collect()
    }

    pub(crate) fn find_uuid(&self, uuid: &[u8; 16]) -> Option<Arc<Dom>> {
        self.domains.get(uuid)
    }

    pub(crate) fn find_name(&self, name: &str) -> Option<Arc<Dom>> {
        self.domains.entry_by_name(name).map(|e| e.obj)
    }

    pub(crate) fn find_id(&self, id: i32) -> Option<Arc<Dom>> {
        if id < 0 {
            return None;
        }
        self.domains.entry_by_id(id).map(|e| e.obj)
    }

    /// The domain a client handle names.
    pub(crate) fn get(&self, r: &DomainRef) -> Result<Arc<Dom>> {
        self.find_uuid(&r.uuid)
            .ok_or_else(|| errors::no_domain_uuid(&r.uuid, &r.name))
    }

    fn remove(&self, dom: &Dom) {
        let _st = dom.lock();
        self.domains.remove(dom);
    }

    /// Records a domain's run (or its end): its state and the table's id
    /// index, in one step under the domain's lock.
    fn set_live(&self, dom: &Dom, st: &mut DomState, live: Option<Live>) {
        self.domains.set_id(dom, live.as_ref().map(|l| l.id));
        st.live = live;
    }

    pub(crate) fn active_count(&self) -> usize {
        self.domains
            .snapshot()
            .iter()
            .filter(|e| e.id.is_some())
            .count()
    }

    pub(crate) fn emit(&self, dom: DomainRef, event: i32, detail: i32) {
        self.events
            .publish(Event::DomainLifecycle { dom, event, detail });
    }

    /// Takes a domain's job for `api`.
    pub(crate) fn begin(&self, r: &DomainRef, api: &'static str) -> Result<JobGuard> {
        let dom = self.get(r)?;
        begin_job(&dom, api, self.job_timeout())
    }

    // ---- definitions ----

    /// Parses and checks a definition for this driver; `validate` first
    /// checks the document against the domain schema (the VALIDATE flags).
    pub(crate) fn parse_def(&self, xml: &str, inactive: bool, validate: bool) -> Result<DomainDef> {
        let flags = ParseFlags {
            validate_schema: validate,
            ..Self::parse_flags(inactive)
        };
        let mut def = xml_options().parse_str(xml, &flags)?;
        if def.emulator.is_none() {
            def.emulator = Some(self.cfg.controller_binary.display().to_string());
        }
        spec::assign_macs(&mut def)?;
        def.id = None;
        Ok(def)
    }

    /// Saves the persistent definition (virDomainDefSave).
    pub(crate) fn write_config(&self, def: &DomainDef) -> Result<()> {
        let xml = def.to_xml(&FormatFlags {
            inactive: true,
            ..Default::default()
        });
        write_xml_file(&self.cfg.config_file(&def.name), &xml, "config")
    }

    /// virDomainObjListAdd: runs `f` under its lock on the domain with the
    /// UUID and name of `def`, or on a new shut off one (`f`'s last
    /// argument says which); another domain with either key is libvirt's
    /// "already defined" / "already exists" error.
    fn add_domain<R>(
        &self,
        def: &DomainDef,
        f: impl FnOnce(&Arc<Dom>, &mut DomState, bool) -> R,
    ) -> Result<R> {
        let (uuid, name) = (def.uuid.0, Arc::from(def.name.as_str()));
        self.domains
            .add(
                uuid,
                name,
                DomState::shut_off(def.name.clone()),
                |obj, st, unused| f(obj, st, unused.is_none()),
            )
            .map_err(|c| c.to_error("domain", errors::LXC))
    }

    /// virDomainDefineXMLFlags; `validate` is VIR_DOMAIN_DEFINE_VALIDATE.
    pub(crate) fn define(&self, xml: &str, validate: bool) -> Result<DomainRef> {
        let def = self.parse_def(xml, true, validate)?;
        let (dom, updated) = self.add_domain(&def, |obj, _, fresh| (obj.clone(), !fresh))?;
        // A domain that was transient (running) becomes persistent too.
        let was_persistent = dom.lock().persistent.is_some();
        if let Err(e) = self.write_config(&def) {
            if !updated {
                self.remove(&dom);
            }
            return Err(e);
        }
        dom.lock().persistent = Some(def);
        let r = dom_ref(&dom);
        let detail = if updated && was_persistent {
            lifecycle::DEFINED_UPDATED
        } else {
            lifecycle::DEFINED_ADDED
        };
        self.emit(r.clone(), lifecycle::DEFINED, detail);
        Ok(r)
    }

    /// virDomainUndefine.
    pub(crate) fn undefine(&self, r: &DomainRef) -> Result<()> {
        let job = self.begin(r, "virDomainUndefine")?;
        let dom = job.obj().clone();
        let (name, active) = {
            let st = dom.lock();
            if st.persistent.is_none() {
                return Err(errors::op_invalid("Cannot undefine transient domain"));
            }
            (st.name.clone(), st.live.is_some())
        };
        let cfgfile = self.cfg.config_file(&name);
        if let Err(e) = std::fs::remove_file(&cfgfile) {
            if e.kind() != std::io::ErrorKind::NotFound {
                return Err(errors::system(
                    format!("cannot remove config {}", cfgfile.display()),
                    &e,
                ));
            }
        }
        let _ = std::fs::remove_file(self.cfg.autostart_link(&name));
        {
            let mut st = dom.lock();
            st.persistent = None;
            st.autostart = false;
        }
        let r = dom_ref(&dom);
        if !active {
            self.remove(&dom);
        }
        drop(job);
        self.emit(r, lifecycle::UNDEFINED, lifecycle::UNDEFINED_REMOVED);
        Ok(())
    }

    // ---- starting ----

    /// virDomainCreate; with `autodestroy`, the guest is destroyed when that
    /// connection closes.
    pub(crate) fn start(
        &self,
        r: &DomainRef,
        autodestroy: Option<ConnectionId>,
    ) -> Result<DomainRef> {
        let job = self.begin(r, "virDomainCreate")?;
        let def = {
            let st = job.obj().lock();
            if st.live.is_some() {
                return Err(errors::op_invalid("Domain is already running"));
            }
            st.persistent
                .clone()
                .ok_or_else(|| errors::internal("domain has no definition"))?
        };
        self.start_locked(&job, def)?;
        self.register_autodestroy(&job, autodestroy);
        Ok(dom_ref(job.obj()))
    }

    /// virDomainCreateXML: a transient domain, or a live run of a defined
    /// one; `validate` is VIR_DOMAIN_START_VALIDATE, `autodestroy` as for
    /// [`Driver::start`].
    pub(crate) fn create_xml(
        &self,
        xml: &str,
        validate: bool,
        autodestroy: Option<ConnectionId>,
    ) -> Result<DomainRef> {
        let def = self.parse_def(xml, false, validate)?;
        let (dom, fresh) = self.add_domain(&def, |obj, st, fresh| {
            if !fresh && st.live.is_some() {
                return Err(errors::op_invalid(format!(
                    "domain '{}' is already active",
                    def.name
                )));
            }
            Ok((obj.clone(), fresh))
        })??;
        let job = match begin_job(&dom, "virDomainCreateXML", self.job_timeout()) {
            Ok(j) => j,
            Err(e) => {
                if fresh {
                    self.remove(&dom);
                }
                return Err(e);
            }
        };
        if !fresh && job.obj().lock().live.is_some() {
            return Err(errors::op_invalid(format!(
                "domain '{}' is already active",
                def.name
            )));
        }
        if let Err(e) = self.start_locked(&job, def) {
            if fresh {
                self.remove(&dom);
            }
            return Err(e);
        }
        self.register_autodestroy(&job, autodestroy);
        Ok(dom_ref(&dom))
    }

    /// Ties a guest that has just started (its job held) to the connection
    /// that asked for VIR_DOMAIN_START_AUTODESTROY.
    fn register_autodestroy(&self, job: &JobGuard, conn: Option<ConnectionId>) {
        if let Some(conn) = conn {
            self.close_callbacks
                .add(*job.obj().uuid(), conn, CloseCallback::AutoDestroy);
        }
    }

    /// Starts the container of a domain whose job is held: its network
    /// NICs get their ports first, released again when the start fails.
    fn start_locked(&self, job: &JobGuard, def: DomainDef) -> Result<()> {
        let mut def = def;
        netplug::plug(&mut def, self.cfg.network.as_ref(), errors::LXC)?;
        let plugged = def.clone();
        let res = self.start_plugged(job, def);
        if res.is_err() {
            netplug::unplug(&mut plugged.clone(), self.cfg.network.as_ref());
        }
        res
    }

    fn start_plugged(&self, job: &JobGuard, def: DomainDef) -> Result<()> {
        let dom = job.obj();
        let spec = spec::build(&def, self.rt.user_namespaces())?;
        let opts = client::StartOptions {
            binary: self.cfg.controller_binary.clone(),
            timeout: Duration::from_secs(30),
        };
        let started = self
            .rt
            .start(&spec, &self.cfg.state_dir, &opts)
            .map_err(|e| match e {
                lxc_controller::Error::Controller(m) => errors::op_failed(m),
                other => errors::controller(other),
            })?;
        let cgroups = self
            .rt
            .connect(&self.cfg.state_dir, &def.name, self.cfg.request_timeout)
            .and_then(|mut c| c.status())
            .map(|s| s.cgroups)
            .unwrap_or_default();
        let id = i32::try_from(started.controller_pid).unwrap_or(i32::MAX);
        let mut live_def = def;
        live_def.id = Some(id);
        spec::live_devices(&mut live_def, &started.veths);
        let live = Live {
            def: live_def,
            id,
            controller_pid: started.controller_pid,
            init_pid: started.init_pid,
            init_start_time: started.init_start_time,
            veths: started.veths.clone(),
            usage: UsageFiles::resolve(&cgroups),
            cgroups,
            run: self.next_run.fetch_add(1, Ordering::Relaxed),
        };
        if let Err(e) = self.write_status(&live, state::RUNNING, reason::RUNNING_BOOTED) {
            // Without a status file the container could not be found again.
            if let Ok(mut c) = self.rt.connect(
                &self.cfg.state_dir,
                &live.def.name,
                self.cfg.request_timeout,
            ) {
                let _ = c.destroy();
            }
            let _ = self.rt.cleanup_orphan(
                &self.cfg.state_dir,
                &live.def.name,
                &spec.resource_partition,
            );
            return Err(e);
        }
        let run = live.run;
        let name = live.def.name.clone();
        {
            let mut st = dom.lock();
            self.set_live(dom, &mut st, Some(live));
            st.state = state::RUNNING;
            st.reason = reason::RUNNING_BOOTED;
        }
        self.spawn_watcher(dom.clone(), name, run);
        self.emit(dom_ref(dom), lifecycle::STARTED, lifecycle::STARTED_BOOTED);
        Ok(())
    }

    fn write_status(&self, live: &Live, st: i32, rs: i32) -> Result<()> {
        let status = Status {
            state: st,
            reason: rs,
            controller_pid: live.controller_pid,
            init_pid: live.init_pid,
            init_start_time: live.init_start_time,
            veths: live.veths.clone(),
            cgroups: live.cgroups.clone(),
            xml: live.def.to_xml(&FormatFlags::default()),
        };
        write_xml_file(
            &self.cfg.status_file(&live.def.name),
            &status.to_xml(),
            "status",
        )
    }

    /// Rewrites the status file after a state change of a running domain.
    pub(crate) fn save_status(&self, dom: &Dom) {
        let st = dom.lock();
        if let Some(l) = &st.live {
            if let Err(e) = self.write_status(l, st.state, st.reason) {
                log(e.message());
            }
        }
    }

    // ---- stopping ----

    /// Records that the container of a domain whose job is held is gone.
    pub(crate) fn stopped_locked(&self, dom: &Arc<Dom>, kind: StopKind) {
        let (name, partition, r, mut live_def) = {
            let st = dom.lock();
            let Some(l) = &st.live else { return };
            (
                st.name.clone(),
                l.def
                    .resource_partition()
                    .unwrap_or_else(|| "/machine".into()),
                DomainRef {
                    name: st.name.clone(),
                    uuid: *dom.uuid(),
                    id: l.id,
                },
                l.def.clone(),
            )
        };
        // Its NICs leave their networks.
        netplug::unplug(&mut live_def, self.cfg.network.as_ref());
        // Stopped by any means: no connection's close destroys it any more
        // (only a fake reboot, which does not come here, keeps the tie).
        self.close_callbacks.remove(dom.uuid(), None, None);
        let _ = std::fs::remove_file(self.cfg.status_file(&name));
        // Whatever the controller left (it removes its own cgroup and socket
        // when it tears down cleanly; after a crash they are still there).
        let _ = self
            .rt
            .cleanup_orphan(&self.cfg.state_dir, &name, &partition);
        let transient = {
            let mut st = dom.lock();
            self.set_live(dom, &mut st, None);
            st.state = state::SHUTOFF;
            st.reason = kind.reason;
            st.persistent.is_none()
        };
        if transient {
            self.remove(dom);
        }
        self.emit(r, lifecycle::STOPPED, kind.detail);
    }

    fn connect(&self, name: &str) -> Result<client::Client> {
        self.rt
            .connect(&self.cfg.state_dir, name, self.cfg.request_timeout)
            .map_err(|e| {
                errors::op_failed(format!("cannot talk to the controller of '{name}': {e}"))
            })
    }

    /// The running state of a domain whose job is held.
    pub(crate) fn active(&self, job: &JobGuard) -> Result<(String, Live)> {
        let st = job.obj().lock();
        match &st.live {
            Some(l) => Ok((st.name.clone(), l.clone())),
            None => Err(errors::not_running()),
        }
    }

    /// virDomainDestroy.
    pub(crate) fn destroy(&self, r: &DomainRef) -> Result<()> {
        let job = self.begin(r, "virDomainDestroy")?;
        self.destroy_locked(&job)
    }

    /// Kills the container of a domain whose job is held: shut off with
    /// reason "destroyed", the STOPPED/DESTROYED event, a transient domain
    /// dropped.
    fn destroy_locked(&self, job: &JobGuard) -> Result<()> {
        let (name, live) = self.active(job)?;
        match self
            .rt
            .connect(&self.cfg.state_dir, &name, self.cfg.request_timeout)
        {
            Ok(mut c) => {
                c.destroy().map_err(errors::controller)?;
            }
            Err(_) => {
                // No controller: kill what is left by hand.
                if self.rt.is_same_process(live.init_pid, live.init_start_time) {
                    self.rt.kill(live.init_pid, 9);
                }
            }
        }
        self.stopped_locked(job.obj(), StopKind::DESTROYED);
        Ok(())
    }

    /// virDomainShutdownFlags: SIGTERM to init.
    pub(crate) fn shutdown_dom(&self, r: &DomainRef, flags: u32) -> Result<()> {
        const INITCTL: u32 = 1 << 2;
        const SIGNAL: u32 = 1 << 3;
        Error::check_flags(flags, INITCTL | SIGNAL, "lxcDomainShutdownFlags")?;
        let job = self.begin(r, "virDomainShutdown")?;
        let (name, live) = self.active(&job)?;
        if live.init_pid == 0 {
            return Err(errors::op_invalid("Init process ID is not yet known"));
        }
        if flags != 0 && flags & SIGNAL == 0 {
            return Err(Error::new(
                driver::error::ErrorCode::OperationUnsupported,
                errors::LXC,
                "Container does not provide an initctl pipe",
            ));
        }
        let mut c = self.connect(&name)?;
        c.shutdown(None).map_err(errors::controller)
    }

    /// virDomainReboot.
    pub(crate) fn reboot(&self, r: &DomainRef, flags: u32) -> Result<()> {
        const INITCTL: u32 = 1 << 2;
        const SIGNAL: u32 = 1 << 3;
        Error::check_flags(flags, INITCTL | SIGNAL, "lxcDomainReboot")?;
        let job = self.begin(r, "virDomainReboot")?;
        let (name, live) = self.active(&job)?;
        if live.init_pid == 0 {
            return Err(errors::op_invalid("Init process ID is not yet known"));
        }
        if flags != 0 && flags & SIGNAL == 0 {
            return Err(Error::new(
                driver::error::ErrorCode::OperationUnsupported,
                errors::LXC,
                "Container does not provide an initctl pipe",
            ));
        }
        // As libvirt: SIGHUP to the container's init. Its exit is reported
        // with the reboot reason, and the watcher starts the container again.
        const SIGHUP: i32 = 1;
        let mut c = self.connect(&name)?;
        c.shutdown(Some(SIGHUP)).map_err(errors::controller)
    }

    /// virDomainSuspend.
    pub(crate) fn suspend(&self, r: &DomainRef) -> Result<()> {
        let job = self.begin(r, "virDomainSuspend")?;
        let (name, _) = self.active(&job)?;
        if job.obj().lock().state == state::PAUSED {
            return Ok(());
        }
        let mut c = self.connect(&name)?;
        c.freeze()
            .map_err(|e| errors::op_failed(format!("Suspend operation failed: {e}")))?;
        {
            let mut st = job.obj().lock();
            st.state = state::PAUSED;
            st.reason = reason::PAUSED_USER;
        }
        self.save_status(job.obj());
        self.emit(
            dom_ref(job.obj()),
            lifecycle::SUSPENDED,
            lifecycle::SUSPENDED_PAUSED,
        );
        Ok(())
    }

    /// virDomainResume.
    pub(crate) fn resume(&self, r: &DomainRef) -> Result<()> {
        let job = self.begin(r, "virDomainResume")?;
        let (name, _) = self.active(&job)?;
        if job.obj().lock().state != state::PAUSED {
            return Ok(());
        }
        let mut c = self.connect(&name)?;
        c.thaw()
            .map_err(|e| errors::op_failed(format!("Resume operation failed: {e}")))?;
        {
            let mut st = job.obj().lock();
            st.state = state::RUNNING;
            st.reason = reason::RUNNING_UNPAUSED;
        }
        self.save_status(job.obj());
        self.emit(
            dom_ref(job.obj()),
            lifecycle::RESUMED,
            lifecycle::RESUMED_UNPAUSED,
        );
        Ok(())
    }

    // ---- autostart ----

    pub(crate) fn set_autostart(&self, r: &DomainRef, on: bool) -> Result<()> {
        let job = self.begin(r, "virDomainSetAutostart")?;
        let name = {
            let st = job.obj().lock();
            if st.persistent.is_none() {
                return Err(errors::op_invalid(
                    "Cannot set autostart for transient domain",
                ));
            }
            if st.autostart == on {
                return Ok(());
            }
            st.name.clone()
        };
        let link = self.cfg.autostart_link(&name);
        if on {
            let dir = self.cfg.autostart_dir();
            std::fs::create_dir_all(&dir).map_err(|e| {
                errors::system(
                    format!("Cannot create autostart directory {}", dir.display()),
                    &e,
                )
            })?;
            let _ = std::fs::remove_file(&link);
            std::os::unix::fs::symlink(self.cfg.config_file(&name), &link).map_err(|e| {
                errors::system(format!("Failed to create symlink '{}'", link.display()), &e)
            })?;
        } else if let Err(e) = std::fs::remove_file(&link) {
            if e.kind() != std::io::ErrorKind::NotFound {
                return Err(errors::system(
                    format!("Failed to delete symlink '{}'", link.display()),
                    &e,
                ));
            }
        }
        job.obj().lock().autostart = on;
        Ok(())
    }

    // ---- watching ----

    fn spawn_watcher(&self, dom: Arc<Dom>, name: String, run: u64) {
        let weak = self.weak.clone();
        let rt = self.rt.clone();
        let state_dir = self.cfg.state_dir.clone();
        let timeout = self.cfg.request_timeout;
        let controller_pid = dom.lock().live.as_ref().map_or(0, |l| l.controller_pid);
        let res = std::thread::Builder::new()
            .name(format!("lxc-watch-{name}"))
            .spawn(move || {
                let info = watch(&*rt, &state_dir, &name, timeout, controller_pid, &weak);
                let Some(drv) = weak.upgrade() else { return };
                if drv.shutting_down.load(Ordering::Relaxed) {
                    return;
                }
                drv.on_exit(&dom, run, info.as_ref());
            });
        if let Err(e) = res {
            log(format!("cannot start a watcher thread: {e}"));
        }
    }

    /// The watcher's report that run `run` of `dom` ended.
    fn on_exit(&self, dom: &Arc<Dom>, run: u64, info: Option<&ExitInfo>) {
        let job = loop {
            match begin_job(dom, "watcher", Duration::from_secs(3600)) {
                Ok(j) => break j,
                Err(e) if e.code == driver::error::ErrorCode::OperationTimeout => continue,
                Err(_) => return,
            }
        };
        let current = job.obj().lock().live.as_ref().map(|l| l.run);
        if current != Some(run) {
            return;
        }
        if matches!(info.map(|i| i.reason), Some(ExitReason::Reboot)) {
            self.restart_after_reboot(&job);
            return;
        }
        self.stopped_locked(job.obj(), StopKind::from_exit(info));
    }

    /// The container's init asked for a reboot (or was sent SIGHUP by
    /// virDomainReboot): clean up the old run and start the same live
    /// definition again, as libvirt's LXC driver does.
    fn restart_after_reboot(&self, job: &JobGuard) {
        let dom = job.obj();
        let Some((name, partition, def, old, controller)) = dom.lock().live.as_ref().map(|l| {
            let mut def = l.def.clone();
            def.id = None;
            let partition = l
                .def
                .resource_partition()
                .unwrap_or_else(|| "/machine".into());
            let old = DomainRef {
                name: l.def.name.clone(),
                uuid: *dom.uuid(),
                id: l.id,
            };
            (l.def.name.clone(), partition, def, old, l.controller_pid)
        }) else {
            return;
        };
        // The old controller reports the exit, then tears down its cgroup
        // and socket: let it finish before the new one claims the names.
        let deadline = Instant::now() + Duration::from_secs(5);
        while controller > 0 && self.rt.alive(controller) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        let _ = std::fs::remove_file(self.cfg.status_file(&name));
        let _ = self
            .rt
            .cleanup_orphan(&self.cfg.state_dir, &name, &partition);
        let mut def = def;
        netplug::unplug(&mut def, self.cfg.network.as_ref());
        self.set_live(dom, &mut dom.lock(), None);
        self.events.publish(Event::DomainReboot { dom: old });
        if let Err(e) = self.start_locked(job, def) {
            log(format!("restart of '{name}' after reboot failed: {e}"));
            self.close_callbacks.remove(dom.uuid(), None, None);
            let transient = {
                let mut st = dom.lock();
                st.state = state::SHUTOFF;
                st.reason = reason::SHUTOFF_FAILED;
                st.persistent.is_none()
            };
            if transient {
                self.remove(dom);
            }
            self.emit(dom_ref(dom), lifecycle::STOPPED, lifecycle::STOPPED_FAILED);
        }
    }

    // ---- close callbacks ----

    /// A connection object was dropped (virConnectClose): destroy the
    /// guests it started with VIR_DOMAIN_START_AUTODESTROY. Returns at
    /// once; the guests are destroyed on a thread of their own, since the
    /// caller may be the RPC layer's connection task. At daemon shutdown
    /// nothing is destroyed: guests outlive the daemon.
    pub(crate) fn connection_closed(&self, conn: ConnectionId) {
        if self.shutting_down.load(Ordering::Relaxed) {
            return;
        }
        let doms = self.close_callbacks.domains_of(conn);
        if doms.is_empty() {
            return;
        }
        let weak = self.weak.clone();
        let res = std::thread::Builder::new()
            .name("lxc-autodestroy".into())
            .spawn(move || {
                let Some(drv) = weak.upgrade() else { return };
                for uuid in doms {
                    drv.run_close_callbacks(&uuid, conn);
                }
            });
        if let Err(e) = res {
            log(format!("cannot start the autodestroy thread: {e}"));
        }
    }

    /// Runs what `conn` still has registered for one domain, under the
    /// domain's job (waiting for another operation on it to end).
    fn run_close_callbacks(&self, uuid: &[u8; 16], conn: ConnectionId) {
        let Some(dom) = self.find_uuid(uuid) else {
            self.close_callbacks.remove(uuid, None, None);
            return;
        };
        let job = loop {
            if self.shutting_down.load(Ordering::Relaxed)
                || !self.close_callbacks.is_registered(uuid, Some(conn), None)
            {
                return;
            }
            match begin_job(&dom, "autodestroy", self.job_timeout()) {
                Ok(j) => break j,
                Err(e) if e.code == driver::error::ErrorCode::OperationTimeout => continue,
                Err(_) => {
                    self.close_callbacks.remove(uuid, None, None);
                    return;
                }
            }
        };
        for cb in self.close_callbacks.take(uuid, conn) {
            match cb {
                CloseCallback::AutoDestroy => {
                    let name = job.obj().lock().name.clone();
                    log(format!(
                        "destroying '{name}': the connection that started it closed"
                    ));
                    if let Err(e) = self.destroy_locked(&job) {
                        log(format!("autodestroy of '{name}' failed: {}", e.message()));
                    }
                }
            }
        }
    }

    // ---- daemon lifecycle ----

    /// Reattaches to containers that still run, cleans up after the others,
    /// then starts autostart domains.
    pub fn startup(&self) -> Result<()> {
        let entries = match std::fs::read_dir(&self.cfg.state_dir) {
            Ok(d) => d.flatten().map(|e| e.path()).collect::<Vec<_>>(),
            Err(_) => Vec::new(),
        };
        for p in entries {
            if !matches!(p.extension(), Some(e) if e == "xml") || !p.is_file() {
                continue;
            }
            self.reattach(&p);
        }
        let candidates: Vec<Arc<Dom>> = self
            .all()
            .into_iter()
            .filter(|d| {
                let st = d.lock();
                st.autostart && st.live.is_none() && st.persistent.is_some()
            })
            .collect();
        for d in candidates {
            let r = dom_ref(&d);
            if let Err(e) = self.start(&r, None) {
                log(format!(
                    "Failed to autostart VM '{}': {}",
                    r.name,
                    e.message()
                ));
            }
        }
        Ok(())
    }

    fn reattach(&self, path: &Path) {
        let Some(status) = std::fs::read_to_string(path)
            .ok()
            .and_then(|t| Status::parse(&t))
        else {
            log(format!(
                "ignoring unreadable status file {}",
                path.display()
            ));
            return;
        };
        let def = match DomainDef::parse_str(&status.xml, &Self::parse_flags(false)) {
            Ok(d) => d,
            Err(e) => {
                log(format!(
                    "ignoring status file {}: {}",
                    path.display(),
                    e.detail_text()
                ));
                return;
            }
        };
        let name = def.name.clone();
        let partition = def
            .resource_partition()
            .unwrap_or_else(|| "/machine".into());
        let alive = self
            .rt
            .is_same_process(status.init_pid, status.init_start_time);
        let ctl = if alive {
            self.rt
                .connect(&self.cfg.state_dir, &name, self.cfg.request_timeout)
                .and_then(|mut c| c.status())
                .ok()
                .filter(|s| s.init_pid == status.init_pid)
        } else {
            None
        };
        let Some(ctl) = ctl else {
            log(format!("container '{name}' is gone; cleaning up"));
            if alive {
                self.rt.kill(status.init_pid, 9);
            }
            let _ = self
                .rt
                .cleanup_orphan(&self.cfg.state_dir, &name, &partition);
            let _ = std::fs::remove_file(path);
            return;
        };
        let (st_state, st_reason) = match ctl.state {
            RunState::Paused => (state::PAUSED, reason::PAUSED_USER),
            RunState::Running if status.state == state::RUNNING => (state::RUNNING, status.reason),
            RunState::Running => (state::RUNNING, reason::RUNNING_UNKNOWN),
        };
        let id = i32::try_from(status.controller_pid).unwrap_or(i32::MAX);
        let mut live_def = def;
        live_def.id = Some(id);
        let cgroups = if ctl.cgroups.is_empty() {
            status.cgroups.clone()
        } else {
            ctl.cgroups.clone()
        };
        let live = Live {
            def: live_def,
            id,
            controller_pid: status.controller_pid,
            init_pid: status.init_pid,
            init_start_time: status.init_start_time,
            veths: status.veths.clone(),
            usage: UsageFiles::resolve(&cgroups),
            cgroups,
            run: self.next_run.fetch_add(1, Ordering::Relaxed),
        };
        let run = live.run;
        let uuid = live.def.uuid.0;
        let nics = live.def.clone();
        let added = self.domains.add(
            uuid,
            Arc::from(name.as_str()),
            DomState::shut_off(name.clone()),
            |obj, _, _| obj.clone(),
        );
        let dom = match added {
            Ok(d) => d,
            // Known by its UUID under another name (its definition was
            // renamed on disk): the running container is that domain.
            Err(Conflict::UuidTaken { .. }) => match self.domains.get(&uuid) {
                Some(d) => d,
                None => return,
            },
            Err(c) => {
                log(format!(
                    "ignoring status file {}: {}",
                    path.display(),
                    c.to_error("domain", errors::LXC).message()
                ));
                return;
            }
        };
        {
            let mut st = dom.lock();
            self.set_live(&dom, &mut st, Some(live));
            st.state = st_state;
            st.reason = st_reason;
        }
        self.spawn_watcher(dom, name, run);
        // Its network NICs' ports must still be there (reclaimed if not).
        netplug::notify(&nics, self.cfg.network.as_ref());
    }

    /// SIGHUP: picks up new or changed persistent definitions.
    pub fn reload(&self) -> Result<()> {
        self.load_configs();
        if let Some(p) = &self.cfg.lxc_conf {
            *lock(&self.lxcconf) = LxcConf::load(p)?;
        }
        Ok(())
    }

    /// Daemon shutdown: containers keep running; watchers stop reporting.
    pub fn shutdown(&self) {
        self.shutting_down.store(true, Ordering::Relaxed);
    }
}

/// Waits for the end of a container; `None` when the controller vanished
/// without reporting how init ended.
fn watch(
    rt: &dyn Runtime,
    state_dir: &Path,
    name: &str,
    timeout: Duration,
    controller_pid: u32,
    weak: &Weak<Driver>,
) -> Option<ExitInfo> {
    loop {
        let mut c = match rt.connect(state_dir, name, timeout) {
            Ok(c) => c,
            Err(_) => return final_exit(rt, state_dir, name, controller_pid),
        };
        match c.subscribe() {
            Ok(()) => {}
            Err(lxc_controller::Error::Timeout(_)) => {
                // A stopped controller: try again later unless it died.
                if !rt.exists(controller_pid) {
                    return final_exit(rt, state_dir, name, controller_pid);
                }
                std::thread::sleep(Duration::from_millis(500));
                if weak.strong_count() == 0 {
                    return None;
                }
                continue;
            }
            Err(_) => return final_exit(rt, state_dir, name, controller_pid),
        }
        loop {
            match c.wait_event(Some(Duration::from_secs(5))) {
                Ok(CtlEvent::Exited(info)) => return Some(info),
                Err(lxc_controller::Error::Timeout(_)) => {
                    let gone = match weak.upgrade() {
                        Some(d) => d.shutting_down.load(Ordering::Relaxed),
                        None => true,
                    };
                    if gone {
                        return None;
                    }
                }
                Err(_) => return final_exit(rt, state_dir, name, controller_pid),
            }
        }
    }
}

/// The exit record of a controller that went away: it writes the record
/// while tearing down, so wait (briefly) until it is gone before reading.
fn final_exit(
    rt: &dyn Runtime,
    state_dir: &Path,
    name: &str,
    controller_pid: u32,
) -> Option<ExitInfo> {
    let deadline = Instant::now() + Duration::from_secs(5);
    while controller_pid > 0 && rt.alive(controller_pid) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    rt.last_exit(state_dir, name)
}

/// Removes the temporary files of atomic writes (`.NAME.xml.tmpPID`, see
/// [`host::fs::temp_file_writer`]) that a daemon killed mid-write left in
/// `dir`, so they do not pile up across crashes. A file whose writer is
/// still alive is kept: another process may be writing it right now.
fn remove_stale_temp_files(dir: &Path) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        let Some((target, pid)) = host::fs::temp_file_writer(&name) else {
            continue;
        };
        if !target.ends_with(".xml") {
            continue;
        }
        if pid == std::process::id() || Path::new(&format!("/proc/{pid}")).exists() {
            continue;
        }
        match std::fs::remove_file(e.path()) {
            Ok(()) => log(format!(
                "removed stale temporary file {}",
                e.path().display()
            )),
            Err(err) => log(format!("cannot remove {}: {err}", e.path().display())),
        }
    }
}

/// libvirt's failed capabilities lookup for a guest the LXC driver cannot
/// run: each known part of the request, space-terminated, the OS type left
/// out when it is hvm (the first of libvirt's OS types, so "unset" to it).
fn no_capabilities(def: &DomainDef) -> Error {
    let mut what = String::new();
    if def.os.os_type != "hvm" {
        what.push_str(&format!("ostype={} ", def.os.os_type));
    }
    let arch = def.os.arch.as_deref().unwrap_or(std::env::consts::ARCH);
    what.push_str(&format!("arch={arch} domaintype={} ", def.virt_type));
    Error::new(
        driver::error::ErrorCode::InvalidArg,
        driver::error::ErrorDomain::Capabilities,
        format!("could not find capabilities for {what}"),
    )
}

/// How this driver reads definitions: after the common checks, the
/// domain must be a container (`type='lxc'`, `<os><type>exe`) with a
/// name usable as a file name.
fn xml_options() -> conf::domain::XmlOptions {
    let validate: conf::domain::Validate = std::sync::Arc::new(|def: &DomainDef| {
        if def.virt_type != "lxc" || def.os.os_type != "exe" {
            return Err(no_capabilities(def));
        }
        if def.name.contains('\n') || def.name.contains('/') {
            return Err(errors::config_unsupported(format!(
                "name {} cannot contain '/' or a newline",
                def.name
            )));
        }
        Ok(())
    });
    // The driver's defaults (libvirt's LXC post-parse callbacks): the
    // controller as emulator, consoles of type lxc.
    let post_parse: conf::domain::PostParse = std::sync::Arc::new(|def: &mut DomainDef| {
        if def.emulator.is_none() {
            def.emulator = Some("/usr/libexec/libvirt_lxc".into());
        }
        for c in def.devices.iter_mut().filter(|d| d.name == "console") {
            match c.child_mut("target") {
                Some(t) if t.attr("type").is_none() => t.insert_attr(0, "type", "lxc"),
                Some(_) => {}
                None => {
                    c.push(conf::xml::Element::new("target").with_attr("type", "lxc"));
                }
            }
        }
        Ok(())
    });
    conf::domain::XmlOptions {
        post_parse: Some(post_parse),
        validate: Some(validate),
        ..Default::default()
    }
}
