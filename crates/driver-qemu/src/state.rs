// SPDX-License-Identifier: LGPL-2.1-or-later
//! The driver's state: qemu.conf, the capability cache, and the table of
//! domains (a `driver::objlist` list, each domain with its own job lock)
//! with their persistent definitions in `config_dir/NAME.xml`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use conf::{DomainDef, FormatFlags, ParseFlags};
use driver::consts::{lifecycle, reason, state};
use driver::error::{ErrorCode, ErrorDomain};
use driver::objlist::{JobError, Obj, ObjJob, ObjList, Order};
use driver::{DomainRef, Error, Event, EventBus, Result};
use qemu::cache::{CapsCache, ProbeEnv};

use crate::config::QemuConf;
use crate::{caps, QemuOptions};

/// Errors of this driver are reported from VIR_FROM_QEMU.
pub const QEMU: ErrorDomain = ErrorDomain::Qemu;

/// Why a running domain is being stopped by us.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StopCause {
    /// virDomainDestroy.
    Destroyed,
    /// Its state went to a save image.
    Saved,
    /// The guest moved to another host (migration confirmed).
    Migrated,
    /// A start (restore, incoming migration) that failed half-way.
    Failed,
    /// virDomainCoreDump with VIR_DUMP_CRASH.
    Crashed,
}

/// A running guest.
#[derive(Debug)]
pub(crate) struct Live {
    /// The live definition (with its id).
    pub def: DomainDef,
    pub id: i32,
    /// QEMU's process id.
    pub pid: u32,
    /// Its monitor.
    pub mon: qemu::qmp::Qmp,
    /// Set when we end the guest ourselves.
    pub stop_cause: Option<StopCause>,
    /// The files handed to QEMU's user (dynamic_ownership), with the
    /// owner each goes back to when the guest stops.
    pub owned: Vec<crate::process::Owned>,
}

/// A domain's mutable state.
#[derive(Debug)]
pub(crate) struct DomState {
    pub name: String,
    /// The persistent definition (None: a transient running domain).
    pub persistent: Option<DomainDef>,
    /// The running guest.
    pub live: Option<Live>,
    pub autostart: bool,
    pub state: i32,
    pub reason: i32,
    /// Progress of its save or dump, and the last one completed.
    pub jobs: crate::jobs::Jobs,
    /// virDomainReboot pressed the power button: the guest's power off
    /// resets it instead of ending QEMU.
    pub fake_reboot: bool,
    /// The domain's snapshots.
    pub snapshots: conf::moment::Moments<conf::snapshot::SnapshotDef>,
    /// The domain's checkpoints.
    pub checkpoints: conf::moment::Moments<conf::checkpoint::CheckpointDef>,
}

pub(crate) type Dom = Obj<DomState>;
pub(crate) type JobGuard = ObjJob<DomState>;

impl DomState {
    /// The definition reads report: the live one while running.
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

pub(crate) fn dom_ref(dom: &Dom) -> DomainRef {
    let st = dom.lock();
    DomainRef {
        name: st.name.clone(),
        uuid: *dom.uuid(),
        id: st.id(),
    }
}

pub(crate) fn log(msg: impl AsRef<str>) {
    eprintln!("qemu driver: {}", msg.as_ref());
}

pub(crate) fn no_domain_uuid(uuid: &[u8; 16], name: &str) -> Error {
    driver::objlist::no_domain_uuid(QEMU, uuid, name)
}

/// The QEMU driver shared by every connection.
pub struct Driver {
    pub(crate) opts: QemuOptions,
    pub(crate) conf: QemuConf,
    pub(crate) caps: Arc<CapsCache>,
    domains: ObjList<DomState>,
    pub(crate) events: EventBus,
    job_timeout: Duration,
    /// The runtime monitors and their event tasks run on (kept for the
    /// life of the process).
    pub(crate) rt: std::mem::ManuallyDrop<tokio::runtime::Runtime>,
    pub(crate) weak: std::sync::Weak<Driver>,
    next_id: std::sync::atomic::AtomicI32,
    /// The migrations in progress and the last ones' statistics.
    pub(crate) mig: crate::migration::Table,
    /// Device removals waiting for QEMU's DEVICE_DELETED.
    pub(crate) unplugs: crate::hotplug::Unplugs,
    /// VNC ports of running guests.
    pub(crate) display_ports: crate::vnc::Ports,
    /// The guest agents connected.
    pub(crate) agents: crate::agent::Agents,
    /// The console streams open.
    pub(crate) consoles: crate::console::Sessions,
}

impl Driver {
    /// Reads qemu.conf (a bad file is logged and the defaults used, so the
    /// daemon still starts) and the persistent definitions.
    pub fn new(opts: QemuOptions) -> Arc<Driver> {
        let conf = QemuConf::load(&opts.qemu_conf, opts.privileged).unwrap_or_else(|e| {
            log(format!("ignoring {}: {e}", opts.qemu_conf.display()));
            QemuConf::defaults(opts.privileged)
        });
        // The probe runs with our own credentials: a root daemon's probe
        // needs /dev/kvm, which libvirt grants it with CAP_DAC_OVERRIDE.
        let env = ProbeEnv::for_host(opts.lib_dir.clone(), None, None);
        let caps = Arc::new(CapsCache::new(opts.cache_dir.join("capabilities"), env));
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("qemu-monitor")
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("cannot create the QEMU driver's runtime: {e}"));
        let d = Arc::new_cyclic(|weak| Driver {
            opts,
            conf,
            caps,
            domains: ObjList::new(Order::Insertion),
            events: EventBus::new(),
            job_timeout: driver::job::timeout_from_env(
                "LIBVIRT_QEMU_JOB_TIMEOUT_MS",
                driver::job::DEFAULT_TIMEOUT,
            ),
            rt: std::mem::ManuallyDrop::new(rt),
            weak: weak.clone(),
            next_id: std::sync::atomic::AtomicI32::new(1),
            mig: crate::migration::Table::default(),
            unplugs: crate::hotplug::Unplugs::default(),
            display_ports: crate::vnc::Ports::default(),
            agents: crate::agent::Agents::default(),
            consoles: crate::console::Sessions::default(),
        });
        d.load_configs();
        d.load_snapshots();
        d.load_checkpoints();
        d
    }

    fn config_file(&self, name: &str) -> PathBuf {
        self.opts.config_dir.join(format!("{name}.xml"))
    }

    fn autostart_link(&self, name: &str) -> PathBuf {
        self.opts
            .config_dir
            .join("autostart")
            .join(format!("{name}.xml"))
    }

    fn load_configs(&self) {
        let Ok(dir) = std::fs::read_dir(&self.opts.config_dir) else {
            return;
        };
        let mut paths: Vec<PathBuf> = dir
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "xml") && p.is_file())
            .collect();
        paths.sort();
        for p in paths {
            let def = match std::fs::read_to_string(&p)
                .map_err(|e| e.to_string())
                .and_then(|t| {
                    xml_options()
                        .parse_str(&t, &parse_flags(false))
                        .map_err(|e| e.to_string())
                }) {
                Ok(d) => d,
                Err(e) => {
                    log(format!("cannot load {}: {e}", p.display()));
                    continue;
                }
            };
            let autostart = self.autostart_link(&def.name).exists();
            let (uuid, name) = (def.uuid.0, Arc::from(def.name.as_str()));
            let mut st = shut_off(def.name.clone());
            st.persistent = Some(def);
            st.autostart = autostart;
            let _ = self.domains.add(uuid, name, st, |_, _, _| ());
        }
    }

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

    pub(crate) fn get(&self, r: &DomainRef) -> Result<Arc<Dom>> {
        self.find_uuid(&r.uuid)
            .ok_or_else(|| no_domain_uuid(&r.uuid, &r.name))
    }

    /// The next domain id (ids count from 1 in a daemon's life).
    pub(crate) fn next_id(&self) -> i32 {
        self.next_id
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    }

    /// Records a guest's run (or its end) and the table's id index.
    pub(crate) fn set_live(&self, dom: &Dom, st: &mut DomState, live: Option<Live>) {
        self.domains.set_id(dom, live.as_ref().map(|l| l.id));
        st.live = live;
    }

    /// How many guests run (the daemon does not time out while any does).
    pub fn active_count(&self) -> usize {
        self.domains
            .snapshot()
            .iter()
            .filter(|e| e.id.is_some())
            .count()
    }

    pub(crate) fn find_id(&self, id: i32) -> Option<Arc<Dom>> {
        if id < 0 {
            return None;
        }
        self.domains.entry_by_id(id).map(|e| e.obj)
    }

    /// Ids continue after the highest one found running at start-up.
    pub(crate) fn bump_id(&self, id: i32) {
        self.next_id
            .fetch_max(id.saturating_add(1), std::sync::atomic::Ordering::Relaxed);
    }

    /// The table's domain for `def` (by UUID), added as a transient one
    /// when it has no persistent definition.
    pub(crate) fn table_entry(&self, def: &DomainDef) -> Arc<Dom> {
        if let Some(d) = self.find_uuid(&def.uuid.0) {
            return d;
        }
        let (uuid, name) = (def.uuid.0, Arc::from(def.name.as_str()));
        match self
            .domains
            .add(uuid, name, shut_off(def.name.clone()), |obj, _, _| {
                obj.clone()
            }) {
            Ok(d) => d,
            // A name clash with another domain: keep this one out of the
            // table (it is still cleaned up by the caller).
            Err(_) => Arc::new(Obj::new(uuid, shut_off(def.name.clone()))),
        }
    }

    /// virDomainObjListAdd(LIVE, CHECK_LIVE)'s checks before `def` runs:
    /// no other domain with its UUID or name, and not already running.
    pub(crate) fn check_add_live(&self, def: &DomainDef) -> Result<()> {
        if let Some(other) = self.find_uuid(&def.uuid.0) {
            let st = other.lock();
            if st.name != def.name {
                return Err(Error::new(
                    ErrorCode::OperationFailed,
                    QEMU,
                    format!(
                        "domain '{}' is already defined with uuid {}",
                        st.name, def.uuid
                    ),
                ));
            }
            if st.live.is_some() {
                return Err(Error::operation_invalid(
                    QEMU,
                    format!("domain '{}' is already active", def.name),
                ));
            }
        } else if let Some(other) = self.find_name(&def.name) {
            return Err(Error::new(
                ErrorCode::OperationFailed,
                QEMU,
                format!(
                    "domain '{}' already exists with uuid {}",
                    def.name,
                    conf::Uuid(*other.uuid())
                ),
            ));
        }
        Ok(())
    }

    /// A stopped domain without a persistent definition leaves the table.
    pub(crate) fn drop_if_transient(&self, dom: &Dom) {
        let st = dom.lock();
        if st.persistent.is_none() && st.live.is_none() {
            self.domains.remove(dom);
        }
    }

    pub(crate) fn begin(&self, r: &DomainRef, api: &'static str) -> Result<JobGuard> {
        let dom = self.get(r)?;
        dom.begin_job(api, self.job_timeout).map_err(|e| match e {
            JobError::Busy(busy) => busy.to_error(QEMU),
            JobError::Removed => no_domain_uuid(dom.uuid(), &dom.lock().name),
        })
    }

    pub(crate) fn emit(&self, dom: DomainRef, event: i32, detail: i32) {
        self.events
            .publish(Event::DomainLifecycle { dom, event, detail });
    }

    /// Parses a definition for this driver, as libvirt's define does: QEMU
    /// domain types only, then the QEMU driver's defaults (machine type,
    /// implicit devices, device models) and automatic addresses from the
    /// capabilities of the guest's emulator (probed when needed).
    pub(crate) fn parse_def(&self, xml: &str, validate: bool) -> Result<DomainDef> {
        let flags = ParseFlags {
            validate_schema: validate,
            ..parse_flags(true)
        };
        let mut def = self.define_xml_options().parse_str(xml, &flags)?;
        def.id = None;
        Ok(def)
    }

    /// The XML options of definitions a client sends: the common stages
    /// with `qemu-conf`'s callbacks around them, run with the capabilities
    /// of the definition's emulator (libvirt's parseOpaque qemuCaps).
    fn define_xml_options(&self) -> conf::domain::XmlOptions {
        let cache = self.caps.clone();
        let config = qemu_conf::QemuXmlConfig {
            nvram_dir: self.opts.lib_dir.join("nvram").display().to_string(),
            ..Default::default()
        };
        // load_firmware_dirs wants the overriding directory first.
        let mut dirs = caps::firmware_dirs(self.opts.privileged);
        dirs.reverse();
        let firmwares =
            qemu_conf::load_firmware_dirs(&dirs.iter().map(PathBuf::as_path).collect::<Vec<_>>());
        let ctx_cell: Arc<std::sync::Mutex<Option<qemu_conf::QemuDriverContext>>> = Arc::default();
        let cell = ctx_cell.clone();
        let checked = ctx_cell.clone();
        let post_parse: conf::domain::PostParse = Arc::new(move |def: &mut DomainDef| {
            // Not a QEMU guest: refused before any emulator is looked at.
            check_def(def)?;
            if def.emulator.is_none() {
                let arch = def
                    .os
                    .arch
                    .clone()
                    .unwrap_or_else(|| caps::host_arch().to_string());
                def.emulator = Some(caps::default_emulator(&arch).ok_or_else(|| {
                    Error::new(
                        ErrorCode::ConfigUnsupported,
                        QEMU,
                        format!("No emulator found for arch '{arch}'"),
                    )
                })?);
            }
            let emulator = def.emulator.clone().unwrap_or_default();
            // The cache's first step, with the system error's wording.
            if let Err(e) = std::fs::metadata(&emulator) {
                return Err(Error::new(
                    ErrorCode::SystemError,
                    QEMU,
                    format!(
                        "Cannot check QEMU binary {emulator}: {}",
                        virterror::os_error_text(&e)
                    ),
                ));
            }
            let qcaps = caps::lookup(&cache, &emulator)?;
            let ctx = qemu_conf::QemuDriverContext {
                caps: qcaps,
                config: config.clone(),
                environment: None,
                firmwares: firmwares.clone(),
                abi_update: true,
            };
            // libvirt's qemuDomainDefMachinePostParse: the preferred
            // machine when none is named, and an alias (pc, q35) replaced
            // by the machine it stands for.
            let virt = qemu_caps::VirtType::from_domain_type(&def.virt_type)
                .unwrap_or(qemu_caps::VirtType::Qemu);
            if def.os.machine.is_none() {
                def.os.machine = ctx.caps.preferred_machine(virt).map(str::to_string);
            }
            if let Some(m) = def.os.machine.clone() {
                def.os.machine = Some(ctx.caps.canonical_machine(virt, &m).to_string());
            }
            if let Some(f) = ctx.xml_options().post_parse {
                f(def)?;
            }
            *cell
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(ctx);
            Ok(())
        });
        let assign: conf::domain::PostParse = Arc::new(move |def: &mut DomainDef| {
            let ctx = ctx_cell
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .clone();
            match ctx.and_then(|c| c.xml_options().assign_addresses) {
                Some(f) => f(def),
                None => Ok(()),
            }
        });
        // libvirt's qemuValidateDomainDef: what the emulator must offer.
        let validate: conf::domain::Validate = Arc::new(move |def: &DomainDef| {
            check_def(def)?;
            let ctx = checked
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .clone();
            match ctx {
                Some(ctx) => check_emulator(&ctx.caps, def),
                None => Ok(()),
            }
        });
        conf::domain::XmlOptions {
            default_arch: Some(caps::host_arch()),
            post_parse: Some(post_parse),
            assign_addresses: Some(assign),
            validate: Some(validate),
            ..xml_options()
        }
    }

    pub(crate) fn write_config(&self, def: &DomainDef) -> Result<()> {
        let xml = def.to_xml(&FormatFlags {
            inactive: true,
            ..Default::default()
        });
        let path = self.config_file(&def.name);
        let dir = path.parent().unwrap_or_else(|| Path::new("."));
        std::fs::create_dir_all(dir)
            .and_then(|()| {
                host::fs::write_atomic(&path, xml.as_bytes(), 0o600).map_err(host::Error::into_io)
            })
            .map_err(|e| {
                Error::new(
                    ErrorCode::SystemError,
                    QEMU,
                    format!(
                        "cannot write config file '{}': {}",
                        path.display(),
                        virterror::os_error_text(&e)
                    ),
                )
            })
    }

    /// virDomainDefineXMLFlags.
    pub(crate) fn define(&self, xml: &str, validate: bool) -> Result<DomainRef> {
        let def = self.parse_def(xml, validate)?;
        let (uuid, name) = (def.uuid.0, Arc::from(def.name.as_str()));
        let (dom, fresh) = self
            .domains
            .add(uuid, name, shut_off(def.name.clone()), |obj, _, old| {
                (obj.clone(), old.is_none())
            })
            .map_err(|c| c.to_error("domain", QEMU))?;
        if let Err(e) = self.write_config(&def) {
            if fresh {
                let _st = dom.lock();
                self.domains.remove(&dom);
            }
            return Err(e);
        }
        dom.lock().persistent = Some(def);
        let r = dom_ref(&dom);
        let detail = if fresh {
            lifecycle::DEFINED_ADDED
        } else {
            lifecycle::DEFINED_UPDATED
        };
        self.emit(r.clone(), lifecycle::DEFINED, detail);
        Ok(r)
    }

    /// virDomainUndefineFlags.
    pub(crate) fn undefine(&self, r: &DomainRef) -> Result<()> {
        let job = self.begin(r, "virDomainUndefine")?;
        let dom = job.obj().clone();
        let name = dom.lock().name.clone();
        let cfg = self.config_file(&name);
        if let Err(e) = std::fs::remove_file(&cfg) {
            if e.kind() != std::io::ErrorKind::NotFound {
                return Err(Error::new(
                    ErrorCode::SystemError,
                    QEMU,
                    format!(
                        "cannot remove config {}: {}",
                        cfg.display(),
                        virterror::os_error_text(&e)
                    ),
                ));
            }
        }
        let _ = std::fs::remove_file(self.autostart_link(&name));
        let r = dom_ref(&dom);
        {
            // A running guest stays, transient, until it stops.
            let mut st = dom.lock();
            st.persistent = None;
            st.autostart = false;
            if st.live.is_none() {
                self.domains.remove(&dom);
            }
        }
        drop(job);
        self.emit(r, lifecycle::UNDEFINED, lifecycle::UNDEFINED_REMOVED);
        Ok(())
    }

    /// virDomainSetAutostart: the link `autostart/NAME.xml` to the config.
    pub(crate) fn set_autostart(&self, r: &DomainRef, on: bool) -> Result<()> {
        let job = self.begin(r, "virDomainSetAutostart")?;
        let dom = job.obj().clone();
        let name = dom.lock().name.clone();
        let link = self.autostart_link(&name);
        let res = if on {
            std::fs::create_dir_all(link.parent().unwrap_or_else(|| Path::new("."))).and_then(
                |()| match std::fs::symlink_metadata(&link) {
                    Ok(_) => Ok(()),
                    Err(_) => std::os::unix::fs::symlink(self.config_file(&name), &link),
                },
            )
        } else {
            match std::fs::remove_file(&link) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
                _ => Ok(()),
            }
        };
        res.map_err(|e| {
            Error::new(
                ErrorCode::SystemError,
                QEMU,
                format!(
                    "Failed to {} autostart link '{}': {}",
                    if on { "create" } else { "delete" },
                    link.display(),
                    virterror::os_error_text(&e)
                ),
            )
        })?;
        dom.lock().autostart = on;
        Ok(())
    }

    /// The QEMU version of the host's default emulator
    /// (virConnectGetVersion).
    pub(crate) fn version(&self) -> Result<u64> {
        let bin = caps::default_emulator(caps::host_arch()).ok_or_else(|| {
            Error::new(
                ErrorCode::InternalError,
                QEMU,
                "Cannot find suitable emulator for ".to_string() + caps::host_arch(),
            )
        })?;
        Ok(u64::from(caps::lookup(&self.caps, &bin)?.version))
    }
}

fn shut_off(name: String) -> DomState {
    DomState {
        name,
        persistent: None,
        live: None,
        autostart: false,
        state: state::SHUTOFF,
        reason: reason::SHUTOFF_UNKNOWN,
        jobs: crate::jobs::Jobs::default(),
        fake_reboot: false,
        snapshots: Default::default(),
        checkpoints: Default::default(),
    }
}

/// Parses the live definition of a status file.
pub(crate) fn live_def(xml: &str) -> Result<DomainDef> {
    xml_options().parse_str(xml, &parse_flags(false))
}

fn parse_flags(inactive: bool) -> ParseFlags {
    ParseFlags {
        inactive,
        ..Default::default()
    }
}

/// How this driver reads definitions: after the common checks the domain
/// must be one QEMU runs (`qemu` or `kvm`, an `hvm` OS) with a name usable
/// as a file name. Saved definitions already carry QEMU's defaults and
/// addresses; new ones get them from `Driver::define_xml_options`.
fn xml_options() -> conf::domain::XmlOptions {
    conf::domain::XmlOptions {
        validate: Some(Arc::new(check_def)),
        ..Default::default()
    }
}

/// The guest's arch, virt type and machine type must be ones its emulator
/// offers (libvirt's qemuValidateDomainDef, its first checks).
fn check_emulator(qcaps: &qemu_caps::QemuCaps, def: &DomainDef) -> Result<()> {
    let emulator = def.emulator.as_deref().unwrap_or("");
    let refuse = |what: &str, value: &str| {
        Err(Error::new(
            ErrorCode::ConfigUnsupported,
            QEMU,
            format!("Emulator '{emulator}' does not support {what} '{value}'"),
        ))
    };
    let arch = def.os.arch.as_deref().unwrap_or(caps::host_arch());
    if !qcaps.is_arch_supported(arch) {
        return refuse("arch", arch);
    }
    let virt = qemu_caps::VirtType::from_domain_type(&def.virt_type);
    if !virt.is_some_and(|v| qcaps.is_virt_type_supported(v)) {
        return refuse("virt type", &def.virt_type);
    }
    if let (Some(v), Some(m)) = (virt, def.os.machine.as_deref()) {
        if !qcaps.is_machine_supported(v, m) {
            return refuse("machine type", m);
        }
    }
    Ok(())
}

/// The domain must be one QEMU runs, with a name usable as a file name.
fn check_def(def: &DomainDef) -> Result<()> {
    if !matches!(def.virt_type.as_str(), "qemu" | "kvm") || def.os.os_type != "hvm" {
        let mut what = String::new();
        if def.os.os_type != "hvm" {
            what.push_str(&format!("ostype={} ", def.os.os_type));
        }
        let arch = def.os.arch.as_deref().unwrap_or(caps::host_arch());
        what.push_str(&format!("arch={arch} domaintype={} ", def.virt_type));
        return Err(Error::new(
            ErrorCode::InvalidArg,
            ErrorDomain::Capabilities,
            format!("could not find capabilities for {what}"),
        ));
    }
    if def.name.contains('/') {
        return Err(Error::new(
            ErrorCode::XmlError,
            ErrorDomain::Domain,
            format!("name {} cannot contain '/'", def.name),
        ));
    }
    Ok(())
}

impl std::fmt::Debug for Driver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Driver").finish_non_exhaustive()
    }
}
