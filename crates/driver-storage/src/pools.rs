// SPDX-License-Identifier: LGPL-2.1-or-later
//! The driver's state: its pools, their volumes, what is kept on disk
//! (definitions, autostart links, status of running pools), and the
//! storage API with libvirt's rules and errors.
//!
//! Locking: the table (`pools`) is held only to find or add a pool and
//! never while a pool's own lock is waited for; each pool has its own
//! lock, and a volume being built, uploaded or downloaded is marked
//! (`building`, `in_use`) so that the slow part runs with no lock held.
//! A slow command on one pool therefore never blocks calls on another.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use conf::{PoolDef, VolDef};
use driver::{Event, PoolInfo, PoolRef, VolInfo, VolRef};
use virterror::{ErrorCode, ErrorDomain, VirError};

use crate::backend;
use crate::vols;

type Result<T> = std::result::Result<T, VirError>;

/// Where the driver keeps its files.
#[derive(Debug, Clone)]
pub struct StorageConfig {
    pub privileged: bool,
    /// Persistent definitions (`/etc/libvirt/storage`).
    pub config_dir: PathBuf,
    /// Autostart links (`/etc/libvirt/storage/autostart`).
    pub autostart_dir: PathBuf,
    /// Status of running pools (`/run/libvirt/storage`).
    pub state_dir: PathBuf,
}

/// virStoragePoolEventLifecycleType.
pub mod pool_event {
    pub const DEFINED: i32 = 0;
    pub const UNDEFINED: i32 = 1;
    pub const STARTED: i32 = 2;
    pub const STOPPED: i32 = 3;
    pub const CREATED: i32 = 4;
    pub const DELETED: i32 = 5;
}

/// VIR_STORAGE_POOL_CREATE_WITH_BUILD*.
pub mod create_flags {
    pub const WITH_BUILD: u32 = 1 << 0;
    pub const WITH_BUILD_OVERWRITE: u32 = 1 << 1;
    pub const WITH_BUILD_NO_OVERWRITE: u32 = 1 << 2;
}

/// VIR_STORAGE_XML_INACTIVE.
pub const XML_INACTIVE: u32 = 1;

pub(crate) struct Vol {
    pub def: VolDef,
    pub building: bool,
    pub in_use: u32,
}

pub(crate) struct PoolState {
    /// The running definition (or the only one, when inactive).
    pub def: PoolDef,
    /// The persistent definition waiting for the pool to stop.
    pub new_def: Option<PoolDef>,
    pub persistent: bool,
    pub active: bool,
    pub autostart: bool,
    pub vols: Vec<Vol>,
    /// Volume builds and streams running without the lock.
    pub async_jobs: u32,
    /// Taken out of the table: every later use fails.
    pub removed: bool,
    /// A host command for the whole pool (build, start, stop, refresh,
    /// delete) runs with the lock released.
    pub busy: bool,
}

pub(crate) struct PoolObj {
    pub uuid: [u8; 16],
    pub name: String,
    pub state: Mutex<PoolState>,
    /// Signalled when a pool-wide host command ends (`busy` cleared).
    pub ready: std::sync::Condvar,
}

impl PoolObj {
    pub fn lock(&self) -> MutexGuard<'_, PoolState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The lock, once no pool-wide host command runs: volume changes
    /// wait for a refresh to end instead of racing it (only callers on
    /// this pool wait).
    pub fn lock_ready(&self) -> MutexGuard<'_, PoolState> {
        let mut st = self.lock();
        while st.busy {
            st = self.ready.wait(st).unwrap_or_else(|p| p.into_inner());
        }
        st
    }

    pub fn pref(&self) -> PoolRef {
        PoolRef {
            name: self.name.clone(),
            uuid: self.uuid,
        }
    }
}

/// A running disk pool's `<freeExtent start end/>` elements in its
/// source device, as its live XML shows them.
fn set_free_extents(def: &mut PoolDef, extents: &[(u64, u64)]) {
    let Some(dev) = def.source.as_mut().and_then(|s| s.child_mut("device")) else {
        return;
    };
    dev.remove_children("freeExtent");
    for (start, end) in extents {
        dev.push(
            conf::xml::Element::new("freeExtent")
                .with_attr("start", &start.to_string())
                .with_attr("end", &end.to_string()),
        );
    }
}

/// The storage driver: one per daemon.
pub struct StorageDriver {
    pub(crate) cfg: StorageConfig,
    pools: RwLock<Vec<Arc<PoolObj>>>,
    pub(crate) events: driver::EventBus,
    /// The secret driver, for encrypted volumes' passphrases.
    secrets: std::sync::OnceLock<driver::NetworkOpener>,
}

pub(crate) fn err(code: ErrorCode, detail: impl Into<String>) -> VirError {
    VirError::new(code, ErrorDomain::Storage, detail)
}

fn uuid_str(u: &[u8; 16]) -> String {
    conf::Uuid(*u).to_string()
}

fn starting(name: &str) -> VirError {
    err(
        ErrorCode::OperationInvalid,
        format!("storage pool '{name}' is starting up"),
    )
}

pub(crate) fn not_active(name: &str) -> VirError {
    err(
        ErrorCode::OperationInvalid,
        format!("storage pool '{name}' is not active"),
    )
}

fn no_vol_name(name: &str) -> VirError {
    err(
        ErrorCode::NoStorageVol,
        format!("no storage vol with matching name '{name}'"),
    )
}

pub(crate) fn vref(pool: &str, v: &VolDef) -> VolRef {
    VolRef {
        pool: pool.to_string(),
        name: v.name.clone(),
        key: v.key.clone().unwrap_or_default(),
    }
}

/// virStorageVolType number of a volume type name.
fn vol_type_number(t: &str) -> i32 {
    match t {
        "file" => 0,
        "block" => 1,
        "dir" => 2,
        "network" => 3,
        "netdir" => 4,
        "ploop" => 5,
        _ => 0,
    }
}

/// Storage pool type order of virConnectListAllStoragePools' type flags
/// (bit 6 onwards).
const POOL_TYPE_FLAGS: &[&str] = &[
    "dir",
    "fs",
    "netfs",
    "logical",
    "disk",
    "iscsi",
    "scsi",
    "mpath",
    "rbd",
    "sheepdog",
    "gluster",
    "zfs",
    "vstorage",
    "iscsi-direct",
];

fn write_file(path: &Path, text: &str) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| {
            vols::sys(
                &e,
                format!("cannot create config directory '{}'", dir.display()),
            )
        })?;
    }
    host::fs::write_atomic(path, text.as_bytes(), 0o600)
        .map_err(|e| vols::sys(&e.into_io(), format!("cannot write '{}'", path.display())))
}

impl StorageDriver {
    /// The driver on `cfg`'s directories, with no pools loaded yet
    /// ([`StorageDriver::startup`] loads them).
    pub fn new(cfg: StorageConfig) -> StorageDriver {
        StorageDriver {
            cfg,
            pools: RwLock::new(Vec::new()),
            events: driver::EventBus::new(),
            secrets: std::sync::OnceLock::new(),
        }
    }

    /// Gives the driver its way to the secret driver (libvirt's
    /// virGetConnectSecret), once.
    pub fn set_secrets(&self, opener: driver::NetworkOpener) {
        let _ = self.secrets.set(opener);
    }

    pub(crate) fn publish(&self, ev: Event) {
        self.events.publish(ev);
    }

    fn lifecycle(&self, p: PoolRef, event: i32) {
        self.publish(Event::StoragePoolLifecycle {
            pool: p,
            event,
            detail: 0,
        });
    }

    fn snapshot(&self) -> Vec<Arc<PoolObj>> {
        self.pools.read().map(|v| v.clone()).unwrap_or_default()
    }

    fn config_file(&self, name: &str) -> PathBuf {
        self.cfg.config_dir.join(format!("{name}.xml"))
    }

    fn autostart_link(&self, name: &str) -> PathBuf {
        self.cfg.autostart_dir.join(format!("{name}.xml"))
    }

    fn state_file(&self, name: &str) -> PathBuf {
        self.cfg.state_dir.join(format!("{name}.xml"))
    }

    fn save_config(&self, def: &PoolDef) -> Result<()> {
        write_file(&self.config_file(&def.name), &def.to_xml())
    }

    fn save_status(&self, def: &PoolDef) -> Result<()> {
        let mut xml = String::from("<poolstate>\n");
        for line in def.to_xml().lines() {
            xml.push_str("  ");
            xml.push_str(line);
            xml.push('\n');
        }
        xml.push_str("</poolstate>\n");
        write_file(&self.state_file(&def.name), &xml)
    }

    fn remove_status(&self, name: &str) {
        let _ = std::fs::remove_file(self.state_file(name));
    }

    // ---- lookup ----

    pub(crate) fn by_name(&self, name: &str) -> Result<Arc<PoolObj>> {
        self.snapshot()
            .into_iter()
            .find(|p| p.name == name)
            .ok_or_else(|| {
                err(
                    ErrorCode::NoStoragePool,
                    format!("no storage pool with matching name '{name}'"),
                )
            })
    }

    pub(crate) fn by_uuid(&self, uuid: &[u8; 16]) -> Result<Arc<PoolObj>> {
        self.snapshot()
            .into_iter()
            .find(|p| p.uuid == *uuid)
            .ok_or_else(|| {
                err(
                    ErrorCode::NoStoragePool,
                    format!("no storage pool with matching uuid '{}'", uuid_str(uuid)),
                )
            })
    }

    /// The pool a client names: by UUID, as libvirt finds it, with the
    /// name in the error.
    pub(crate) fn pool(&self, p: &PoolRef) -> Result<Arc<PoolObj>> {
        self.snapshot()
            .into_iter()
            .find(|o| o.uuid == p.uuid)
            .ok_or_else(|| {
                err(
                    ErrorCode::NoStoragePool,
                    format!(
                        "no storage pool with matching uuid '{}' ({})",
                        uuid_str(&p.uuid),
                        p.name
                    ),
                )
            })
    }

    /// The pool of a volume a client names, locked and active, and the
    /// volume's index in it.
    pub(crate) fn vol_locked<'a>(
        &self,
        obj: &'a PoolObj,
        v: &VolRef,
    ) -> Result<(MutexGuard<'a, PoolState>, usize)> {
        let st = obj.lock_ready();
        if st.removed {
            return Err(err(
                ErrorCode::NoStoragePool,
                format!("no storage pool with matching name '{}'", v.pool),
            ));
        }
        if !st.active {
            return Err(not_active(&st.def.name));
        }
        let i = st
            .vols
            .iter()
            .position(|x| x.def.name == v.name)
            .ok_or_else(|| no_vol_name(&v.name))?;
        Ok((st, i))
    }

    pub fn list_all(&self, flags: u32) -> Result<Vec<PoolRef>> {
        crate::check_flags(flags, (1 << 20) - 1, "storageConnectListAllStoragePools")?;
        let types = flags >> 6;
        let pair = |f: u32, yes: u32, no: u32, v: bool| {
            f & (yes | no) == 0 || (f & yes != 0 && v) || (f & no != 0 && !v)
        };
        use driver::consts::list_net as l;
        Ok(self
            .snapshot()
            .iter()
            .filter_map(|o| {
                let st = o.lock();
                let ok = !st.removed
                    && pair(flags, l::ACTIVE, l::INACTIVE, st.active)
                    && pair(flags, l::PERSISTENT, l::TRANSIENT, st.persistent)
                    && pair(flags, l::AUTOSTART, l::NO_AUTOSTART, st.autostart)
                    && (types == 0
                        || POOL_TYPE_FLAGS
                            .iter()
                            .position(|t| *t == st.def.pool_type)
                            .is_some_and(|i| types & (1 << i) != 0));
                ok.then(|| o.pref())
            })
            .collect())
    }

    pub fn lookup_name(&self, name: &str) -> Result<PoolRef> {
        Ok(self.by_name(name)?.pref())
    }

    pub fn lookup_uuid(&self, uuid: &[u8; 16]) -> Result<PoolRef> {
        Ok(self.by_uuid(uuid)?.pref())
    }

    /// virStoragePoolLookupByTargetPath.
    pub fn lookup_target_path(&self, path: &str) -> Result<PoolRef> {
        let clean = clean_path(path);
        for o in self.snapshot() {
            let st = o.lock();
            if st.active && st.def.target_path.as_deref() == Some(clean.as_str()) {
                return Ok(o.pref());
            }
        }
        Err(err(
            ErrorCode::NoStoragePool,
            if clean == path {
                format!("no storage pool with matching target path '{path}'")
            } else {
                format!("no storage pool with matching target path '{path}' ({clean})")
            },
        ))
    }

    // ---- definitions ----

    /// virStoragePoolObjListAdd's duplicate checks, then the add: the
    /// object, and whether it is new.
    fn add(&self, def: PoolDef, live: bool) -> Result<(Arc<PoolObj>, bool)> {
        let mut table = self.pools.write().unwrap_or_else(|p| p.into_inner());
        if let Some(o) = table.iter().find(|o| o.uuid == def.uuid.0) {
            if o.name != def.name {
                return Err(err(
                    ErrorCode::OperationFailed,
                    format!(
                        "pool '{}' is already defined with uuid {}",
                        o.name,
                        uuid_str(&o.uuid)
                    ),
                ));
            }
            let mut st = o.lock();
            if live && st.active {
                return Err(err(
                    ErrorCode::OperationInvalid,
                    format!("pool is already active as '{}'", o.name),
                ));
            }
            if st.active {
                st.new_def = Some(def);
            } else {
                if live && st.new_def.is_none() {
                    st.new_def = Some(st.def.clone());
                }
                st.def = def;
            }
            drop(st);
            return Ok((o.clone(), false));
        }
        if let Some(o) = table.iter().find(|o| o.name == def.name) {
            return Err(err(
                ErrorCode::OperationFailed,
                format!(
                    "pool '{}' already exists with uuid {}",
                    def.name,
                    uuid_str(&o.uuid)
                ),
            ));
        }
        if let Some(o) = table.iter().find(|o| source_conflict(&o.lock().def, &def)) {
            return Err(err(
                ErrorCode::OperationFailed,
                format!("Storage source conflict with pool: '{}'", o.name),
            ));
        }
        let obj = Arc::new(PoolObj {
            uuid: def.uuid.0,
            name: def.name.clone(),
            state: Mutex::new(PoolState {
                def,
                new_def: None,
                persistent: !live,
                active: false,
                autostart: false,
                vols: Vec::new(),
                async_jobs: 0,
                removed: false,
                busy: false,
            }),
            ready: std::sync::Condvar::new(),
        });
        table.push(obj.clone());
        Ok((obj, true))
    }

    fn remove(&self, obj: &Arc<PoolObj>, st: &mut PoolState) {
        st.removed = true;
        let mut table = self.pools.write().unwrap_or_else(|p| p.into_inner());
        table.retain(|o| !Arc::ptr_eq(o, obj));
    }

    fn parse(xml: &str) -> Result<PoolDef> {
        let def = PoolDef::parse_str(xml).map_err(|e| e.in_domain(ErrorDomain::Storage))?;
        if !backend::has_backend(&def.pool_type) {
            return Err(backend::missing_backend(&def.pool_type));
        }
        Ok(def)
    }

    /// virStoragePoolDefineXML.
    pub fn define(&self, xml: &str, flags: u32) -> Result<PoolRef> {
        crate::check_flags(flags, 1, "storagePoolDefineXML")?;
        let def = Self::parse(xml)?;
        let (obj, new) = self.add(def.clone(), false)?;
        if let Err(e) = self.save_config(&def) {
            if new {
                let mut st = obj.lock();
                self.remove(&obj, &mut st);
            }
            return Err(e);
        }
        obj.lock().persistent = true;
        self.lifecycle(obj.pref(), pool_event::DEFINED);
        Ok(obj.pref())
    }

    /// virStoragePoolCreateXML: a transient pool, built when asked,
    /// started and refreshed; taken out again when any step fails.
    pub fn create_xml(&self, xml: &str, flags: u32) -> Result<PoolRef> {
        use create_flags::*;
        crate::check_flags(
            flags,
            WITH_BUILD | WITH_BUILD_OVERWRITE | WITH_BUILD_NO_OVERWRITE,
            "storagePoolCreateXML",
        )?;
        let def = Self::parse(xml)?;
        let (obj, new) = self.add(def, true)?;
        let st = obj.lock();
        if st.busy {
            return Err(starting(&st.def.name));
        }
        if let Err(e) = self.start_unlocked(&obj, st, flags) {
            if new {
                let mut st = obj.lock();
                self.remove(&obj, &mut st);
            }
            return Err(e);
        }
        self.lifecycle(obj.pref(), pool_event::STARTED);
        Ok(obj.pref())
    }

    /// Build (per `flags`), start and refresh with the pool's lock
    /// released (the pool marked busy meanwhile: a mount of a hung NFS
    /// server holds up nobody else), then the status file.
    fn start_unlocked(
        &self,
        obj: &PoolObj,
        mut st: MutexGuard<'_, PoolState>,
        flags: u32,
    ) -> Result<()> {
        use create_flags::*;
        st.busy = true;
        let def = st.def.clone();
        drop(st);
        let r = (|| {
            if flags & (WITH_BUILD | WITH_BUILD_OVERWRITE | WITH_BUILD_NO_OVERWRITE) != 0 {
                let bflags = if flags & WITH_BUILD_OVERWRITE != 0 {
                    backend::build_flags::OVERWRITE
                } else if flags & WITH_BUILD_NO_OVERWRITE != 0 {
                    backend::build_flags::NO_OVERWRITE
                } else {
                    0
                };
                backend::build(&def, bflags)?;
            }
            backend::start(&def)?;
            match backend::refresh(&def, self.secrets.get()) {
                Ok(r) => Ok(r),
                Err(e) => {
                    let _ = backend::stop(&def);
                    Err(e)
                }
            }
        })();
        let mut st = obj.lock();
        st.busy = false;
        obj.ready.notify_all();
        let refreshed = r?;
        self.apply(&mut st, refreshed);
        if let Err(e) = self.save_status(&st.def) {
            st.vols.clear();
            drop(st);
            let _ = backend::stop(&def);
            return Err(e);
        }
        st.active = true;
        Ok(())
    }

    /// A refresh's findings into the pool's state; volumes being built
    /// or streamed stay as they are.
    fn apply(&self, st: &mut PoolState, mut r: backend::Refreshed) {
        for v in &mut r.vols {
            vols::default_secret(v, self.secrets.get());
        }
        st.def.capacity = r.capacity;
        st.def.allocation = r.allocation;
        st.def.available = r.available;
        if let Some(p) = r.perms {
            st.def.target_perms = p;
        }
        if let Some(ext) = &r.free_extents {
            set_free_extents(&mut st.def, ext);
        }
        let busy: Vec<Vol> = st
            .vols
            .drain(..)
            .filter(|v| v.building || v.in_use > 0)
            .collect();
        let mut vols: Vec<Vol> = r
            .vols
            .into_iter()
            .filter(|d| !busy.iter().any(|b| b.def.name == d.name))
            .map(|def| Vol {
                def,
                building: false,
                in_use: 0,
            })
            .collect();
        vols.extend(busy);
        st.vols = vols;
    }

    fn refresh_locked(&self, st: &mut PoolState) -> Result<()> {
        let r = backend::refresh(&st.def, self.secrets.get())?;
        self.apply(st, r);
        Ok(())
    }

    /// virStoragePoolCreate.
    pub fn create(&self, p: &PoolRef, flags: u32) -> Result<()> {
        use create_flags::*;
        crate::check_flags(
            flags,
            WITH_BUILD | WITH_BUILD_OVERWRITE | WITH_BUILD_NO_OVERWRITE,
            "storagePoolCreate",
        )?;
        let obj = self.pool(p)?;
        let st = obj.lock();
        if st.active {
            return Err(err(
                ErrorCode::OperationInvalid,
                format!("storage pool '{}' is already active", st.def.name),
            ));
        }
        if st.busy {
            return Err(starting(&st.def.name));
        }
        self.start_unlocked(&obj, st, flags)?;
        self.lifecycle(obj.pref(), pool_event::STARTED);
        Ok(())
    }

    /// Runs `f` on the pool's definition with the lock released and the
    /// pool marked busy.
    fn unlocked<'a, T>(
        obj: &'a PoolObj,
        mut st: MutexGuard<'a, PoolState>,
        f: impl FnOnce(&PoolDef) -> Result<T>,
    ) -> (MutexGuard<'a, PoolState>, Result<T>) {
        st.busy = true;
        let def = st.def.clone();
        drop(st);
        let r = f(&def);
        let mut st = obj.lock();
        st.busy = false;
        obj.ready.notify_all();
        (st, r)
    }

    /// virStoragePoolBuild.
    pub fn build(&self, p: &PoolRef, flags: u32) -> Result<()> {
        use backend::build_flags::*;
        crate::check_flags(
            flags,
            REPAIR | RESIZE | NO_OVERWRITE | OVERWRITE,
            "storagePoolBuild",
        )?;
        let obj = self.pool(p)?;
        let st = obj.lock();
        if st.active {
            return Err(err(
                ErrorCode::OperationInvalid,
                format!("storage pool '{}' is already active", st.def.name),
            ));
        }
        if st.busy {
            return Err(starting(&st.def.name));
        }
        let (st, r) = Self::unlocked(&obj, st, |d| backend::build(d, flags));
        drop(st);
        r?;
        self.lifecycle(obj.pref(), pool_event::CREATED);
        Ok(())
    }

    fn busy_check(st: &PoolState) -> Result<()> {
        if st.busy {
            return Err(starting(&st.def.name));
        }
        if st.async_jobs > 0 {
            return Err(err(
                ErrorCode::OperationInvalid,
                format!("pool '{}' has asynchronous jobs running.", st.def.name),
            ));
        }
        Ok(())
    }

    /// virStoragePoolDestroy.
    pub fn destroy(&self, p: &PoolRef) -> Result<()> {
        let obj = self.pool(p)?;
        let st = obj.lock();
        if !st.active {
            return Err(not_active(&st.def.name));
        }
        Self::busy_check(&st)?;
        let (mut st, r) = Self::unlocked(&obj, st, backend::stop);
        r?;
        self.stopped(&obj, &mut st);
        drop(st);
        self.lifecycle(obj.pref(), pool_event::STOPPED);
        Ok(())
    }

    /// The pool is no longer running: no volumes, no status file, the
    /// persistent definition back, a transient pool gone.
    fn stopped(&self, obj: &Arc<PoolObj>, st: &mut PoolState) {
        st.active = false;
        st.vols.clear();
        self.remove_status(&st.def.name);
        if let Some(d) = st.new_def.take() {
            st.def = d;
        }
        if !st.persistent {
            self.remove(obj, st);
        }
    }

    /// virStoragePoolDelete.
    pub fn delete(&self, p: &PoolRef, flags: u32) -> Result<()> {
        let obj = self.pool(p)?;
        let st = obj.lock();
        if st.active {
            return Err(err(
                ErrorCode::OperationInvalid,
                format!("storage pool '{}' is still active", st.def.name),
            ));
        }
        Self::busy_check(&st)?;
        let (st, r) = Self::unlocked(&obj, st, |d| backend::delete(d, flags));
        drop(st);
        r?;
        self.lifecycle(obj.pref(), pool_event::DELETED);
        Ok(())
    }

    /// virStoragePoolUndefine.
    pub fn undefine(&self, p: &PoolRef) -> Result<()> {
        let obj = self.pool(p)?;
        let mut st = obj.lock();
        // A transient pool is always active: libvirt says so.
        if st.active || !st.persistent {
            return Err(err(
                ErrorCode::OperationInvalid,
                format!("storage pool '{}' is still active", st.def.name),
            ));
        }
        Self::busy_check(&st)?;
        let cfg = self.config_file(&st.def.name);
        if let Err(e) = std::fs::remove_file(&cfg) {
            if e.kind() != std::io::ErrorKind::NotFound {
                return Err(vols::sys(
                    &e,
                    format!("cannot remove config {}", cfg.display()),
                ));
            }
        }
        let _ = std::fs::remove_file(self.autostart_link(&st.def.name));
        self.remove(&obj, &mut st);
        drop(st);
        self.lifecycle(obj.pref(), pool_event::UNDEFINED);
        Ok(())
    }

    /// virStoragePoolRefresh: a pool that cannot be refreshed is stopped,
    /// as libvirt does.
    pub fn refresh(&self, p: &PoolRef, flags: u32) -> Result<()> {
        crate::check_flags(flags, 0, "storagePoolRefresh")?;
        let obj = self.pool(p)?;
        let st = obj.lock();
        if !st.active {
            return Err(not_active(&st.def.name));
        }
        Self::busy_check(&st)?;
        let secrets = self.secrets.get();
        let (mut st, r) = Self::unlocked(&obj, st, |d| backend::refresh(d, secrets));
        match r {
            Ok(r) => {
                self.apply(&mut st, r);
                drop(st);
                self.publish(Event::StoragePoolRefresh { pool: obj.pref() });
                Ok(())
            }
            Err(e) => {
                let def = st.def.clone();
                self.stopped(&obj, &mut st);
                drop(st);
                let _ = backend::stop(&def);
                self.lifecycle(obj.pref(), pool_event::STOPPED);
                Err(e)
            }
        }
    }

    pub fn info(&self, p: &PoolRef) -> Result<PoolInfo> {
        let obj = self.pool(p)?;
        let st = obj.lock();
        Ok(PoolInfo {
            state: if st.active { 2 } else { 0 },
            capacity: st.def.capacity,
            allocation: st.def.allocation,
            available: st.def.available,
        })
    }

    pub fn xml(&self, p: &PoolRef, flags: u32) -> Result<String> {
        crate::check_flags(flags, XML_INACTIVE, "storagePoolGetXMLDesc")?;
        let obj = self.pool(p)?;
        let st = obj.lock();
        if flags & XML_INACTIVE != 0 {
            if let Some(d) = &st.new_def {
                return Ok(d.to_xml());
            }
        }
        Ok(st.def.to_xml())
    }

    pub fn get_autostart(&self, p: &PoolRef) -> Result<bool> {
        Ok(self.pool(p)?.lock().autostart)
    }

    /// virStoragePoolSetAutostart: a link in the autostart directory.
    pub fn set_autostart(&self, p: &PoolRef, on: bool) -> Result<()> {
        let obj = self.pool(p)?;
        let mut st = obj.lock();
        if !st.persistent {
            return Err(err(ErrorCode::InternalError, "pool has no config file"));
        }
        if st.autostart == on {
            return Ok(());
        }
        let link = self.autostart_link(&st.def.name);
        if on {
            std::fs::create_dir_all(&self.cfg.autostart_dir).map_err(|e| {
                vols::sys(
                    &e,
                    format!(
                        "cannot create autostart directory {}",
                        self.cfg.autostart_dir.display()
                    ),
                )
            })?;
            let _ = std::fs::remove_file(&link);
            std::os::unix::fs::symlink(self.config_file(&st.def.name), &link).map_err(|e| {
                vols::sys(
                    &e,
                    format!(
                        "Failed to create symlink '{}' to '{}'",
                        link.display(),
                        self.config_file(&st.def.name).display()
                    ),
                )
            })?;
        } else if let Err(e) = std::fs::remove_file(&link) {
            if e.kind() != std::io::ErrorKind::NotFound {
                return Err(vols::sys(
                    &e,
                    format!("Failed to delete symlink '{}'", link.display()),
                ));
            }
        }
        st.autostart = on;
        Ok(())
    }

    pub fn is_active(&self, p: &PoolRef) -> Result<bool> {
        Ok(self.pool(p)?.lock().active)
    }

    pub fn is_persistent(&self, p: &PoolRef) -> Result<bool> {
        Ok(self.pool(p)?.lock().persistent)
    }

    // ---- volumes ----

    pub fn list_volumes(&self, p: &PoolRef) -> Result<Vec<VolRef>> {
        let obj = self.pool(p)?;
        let st = obj.lock();
        if !st.active {
            return Err(not_active(&st.def.name));
        }
        Ok(st.vols.iter().map(|v| vref(&st.def.name, &v.def)).collect())
    }

    pub fn vol_lookup_name(&self, p: &PoolRef, name: &str) -> Result<VolRef> {
        let obj = self.pool(p)?;
        let st = obj.lock();
        if !st.active {
            return Err(not_active(&st.def.name));
        }
        st.vols
            .iter()
            .find(|v| v.def.name == name)
            .map(|v| vref(&st.def.name, &v.def))
            .ok_or_else(|| no_vol_name(name))
    }

    pub fn vol_lookup_key(&self, key: &str) -> Result<VolRef> {
        for o in self.snapshot() {
            let st = o.lock();
            if !st.active {
                continue;
            }
            if let Some(v) = st.vols.iter().find(|v| v.def.key.as_deref() == Some(key)) {
                return Ok(vref(&st.def.name, &v.def));
            }
        }
        Err(err(
            ErrorCode::NoStorageVol,
            format!("no storage vol with matching key {key}"),
        ))
    }

    pub fn vol_lookup_path(&self, path: &str) -> Result<VolRef> {
        let clean = clean_path(path);
        for o in self.snapshot() {
            let st = o.lock();
            if !st.active {
                continue;
            }
            if let Some(v) = st
                .vols
                .iter()
                .find(|v| v.def.target_path.as_deref() == Some(clean.as_str()))
            {
                return Ok(vref(&st.def.name, &v.def));
            }
        }
        Err(err(
            ErrorCode::NoStorageVol,
            if clean == path {
                format!("no storage vol with matching path '{path}'")
            } else {
                format!("no storage vol with matching path '{path}' ({clean})")
            },
        ))
    }

    pub fn pool_of_volume(&self, v: &VolRef) -> Result<PoolRef> {
        let obj = self.by_name(&v.pool)?;
        let st = obj.lock();
        if !st.active {
            return Err(not_active(&st.def.name));
        }
        Ok(obj.pref())
    }

    /// virStorageVolCreateXML (and, with `from`, virStorageVolCreateXMLFrom).
    pub fn vol_create(
        &self,
        p: &PoolRef,
        xml: &str,
        from: Option<&VolRef>,
        flags: u32,
    ) -> Result<VolRef> {
        use vols::{CREATE_PREALLOC_METADATA, CREATE_REFLINK, CREATE_VALIDATE};
        let allowed = if from.is_some() {
            CREATE_PREALLOC_METADATA | CREATE_REFLINK | CREATE_VALIDATE
        } else {
            CREATE_PREALLOC_METADATA | CREATE_VALIDATE
        };
        let api = if from.is_some() {
            "storageVolCreateXMLFrom"
        } else {
            "storageVolCreateXML"
        };
        crate::check_flags(flags, allowed, api)?;
        let build_flags = flags & !CREATE_VALIDATE;
        let obj = self.pool(p)?;
        // The source volume, when cloning: its pool may be another one.
        let input: Option<VolDef> = match from {
            None => None,
            Some(src) => {
                let sobj = if src.pool == p.name {
                    obj.clone()
                } else {
                    self.by_name(&src.pool)?
                };
                {
                    let st = obj.lock();
                    if !st.active {
                        return Err(not_active(&st.def.name));
                    }
                }
                let mut sst = sobj.lock();
                if !sst.active {
                    return Err(not_active(&sst.def.name));
                }
                let i = sst
                    .vols
                    .iter()
                    .position(|v| v.def.name == src.name)
                    .ok_or_else(|| no_vol_name(&src.name))?;
                if sst.vols[i].building {
                    return Err(err(
                        ErrorCode::OperationInvalid,
                        format!("volume '{}' is still being allocated.", src.name),
                    ));
                }
                let _ = vols::refresh(&mut sst.vols[i].def, false);
                Some(sst.vols[i].def.clone())
            }
        };
        let mut st = obj.lock_ready();
        if st.removed {
            return Err(err(
                ErrorCode::NoStoragePool,
                format!("no storage pool with matching name '{}'", p.name),
            ));
        }
        if !st.active {
            return Err(not_active(&st.def.name));
        }
        let (mut vol, has_alloc) = parse_vol(&st.def, xml, input.is_some())?;
        if st.vols.iter().any(|v| v.def.name == vol.name) {
            return Err(if input.is_some() {
                err(
                    ErrorCode::InternalError,
                    format!("storage volume name '{}' already in use.", vol.name),
                )
            } else {
                err(ErrorCode::StorageVolExist, format!("'{}'", vol.name))
            });
        }
        if let Some(i) = &input {
            if vol.capacity < i.capacity {
                vol.capacity = i.capacity;
            }
            if !has_alloc {
                vol.allocation = vol.capacity;
            }
        }
        // Volumes of a pool are not recursive: no escape to ../ or below.
        if vol.name.contains('/') {
            return Err(err(
                ErrorCode::OperationInvalid,
                format!("volume name '{}' cannot contain '/'", vol.name),
            ));
        }
        let file_pool = backend::file_based(&st.def.pool_type);
        if !file_pool && !matches!(st.def.pool_type.as_str(), "logical" | "disk") {
            return Err(err(
                ErrorCode::NoSupport,
                "storage pool does not support volume creation",
            ));
        }
        // virStorageBackendVolCreateLocal: the path and key.
        let tp = st.def.target_path.clone().unwrap_or_default();
        let path = format!("{tp}/{}", vol.name);
        if file_pool && Path::new(&path).symlink_metadata().is_ok() {
            return Err(err(
                ErrorCode::OperationInvalid,
                format!("volume target path '{path}' already exists"),
            ));
        }
        vol.vol_type = match vol.format.as_deref() {
            _ if !file_pool => "block".into(),
            Some("dir") => "dir".into(),
            Some("ploop") => "ploop".into(),
            _ => "file".into(),
        };
        vol.target_path = Some(path.clone());
        vol.key = Some(path);
        let pool_def = st.def.clone();
        st.vols.push(Vol {
            def: vol.clone(),
            building: true,
            in_use: 0,
        });
        st.async_jobs += 1;
        drop(st);
        // The slow part, with no lock held.
        let built = if file_pool {
            let secrets = vols::SecretAccess {
                opener: self.secrets.get(),
                state_dir: &self.cfg.state_dir,
            };
            vols::build(&pool_def, &vol, input.as_ref(), build_flags, &secrets)
        } else if pool_def.pool_type == "disk" {
            backend::create_partition(&pool_def, &vol).and_then(|_| match &input {
                Some(i) => vols::copy_into(i, &vol),
                None => Ok(()),
            })
        } else {
            backend::create_lv(&pool_def, &vol).and_then(|()| match &input {
                // A logical volume made from another: its bytes copied in.
                Some(i) => vols::copy_into(i, &vol),
                None => Ok(()),
            })
        };
        let mut st = obj.lock();
        st.async_jobs = st.async_jobs.saturating_sub(1);
        let idx = st.vols.iter().position(|v| v.def.name == vol.name);
        if let Err(e) = built {
            if let Some(i) = idx {
                st.vols.remove(i);
            }
            return Err(e);
        }
        let Some(i) = idx else {
            return Err(no_vol_name(&vol.name));
        };
        st.vols[i].building = false;
        let mut sized = false;
        if file_pool {
            let _ = vols::refresh(&mut st.vols[i].def, false);
        } else if let Ok(r) = backend::refresh(&st.def, self.secrets.get()) {
            // A disk's sizes and free extents are read again with its
            // partition table, as libvirt does after adding a partition.
            if let Some(ext) = &r.free_extents {
                set_free_extents(&mut st.def, ext);
                st.def.capacity = r.capacity;
                st.def.allocation = r.allocation;
                st.def.available = r.available;
                sized = true;
            }
            // The LV's key is its UUID, known once it exists.
            if let Some(d) = r.vols.into_iter().find(|d| d.name == vol.name) {
                st.vols[i].def = d;
            }
        }
        if !sized {
            let alloc = st.vols[i].def.allocation;
            st.def.allocation = st.def.allocation.saturating_add(alloc);
            st.def.available = st.def.available.saturating_sub(alloc);
        }
        let r = vref(&st.def.name, &st.vols[i].def);
        Ok(r)
    }

    /// virStorageVolDelete.
    pub fn vol_delete(&self, v: &VolRef, flags: u32) -> Result<()> {
        let obj = self.by_name(&v.pool)?;
        let (mut st, i) = self.vol_locked(&obj, v)?;
        check_vol_free(&st.vols[i])?;
        // The backends take no flag (VIR_STORAGE_VOL_DELETE_ZEROED and
        // _WITH_SNAPSHOTS are theirs to refuse, as in libvirt's).
        if backend::file_based(&st.def.pool_type) {
            crate::check_flags(flags, 0, "virStorageBackendVolDeleteLocal")?;
            vols::delete(&st.vols[i].def)?;
        } else if st.def.pool_type == "logical" {
            crate::check_flags(flags, 0, "virStorageBackendLogicalDeleteVol")?;
            backend::delete_lv(&st.vols[i].def)?;
        } else if st.def.pool_type == "disk" {
            crate::check_flags(flags, 0, "virStorageBackendDiskDeleteVol")?;
            backend::delete_partition(&st.def, &st.vols[i].def)?;
        } else {
            return Err(err(
                ErrorCode::NoSupport,
                "storage pool does not support vol deletion",
            ));
        }
        let alloc = st.vols[i].def.allocation;
        st.def.allocation = st.def.allocation.saturating_sub(alloc);
        st.def.available = st.def.available.saturating_add(alloc);
        st.vols.remove(i);
        Ok(())
    }

    pub fn vol_info(&self, v: &VolRef) -> Result<VolInfo> {
        let obj = self.by_name(&v.pool)?;
        let (mut st, i) = self.vol_locked(&obj, v)?;
        if !st.vols[i].building {
            let _ = vols::refresh(&mut st.vols[i].def, false);
        }
        let d = &st.vols[i].def;
        Ok(VolInfo {
            vol_type: vol_type_number(&d.vol_type),
            capacity: d.capacity,
            allocation: d.allocation,
        })
    }

    pub fn vol_xml(&self, v: &VolRef, flags: u32) -> Result<String> {
        crate::check_flags(flags, 0, "storageVolGetXMLDesc")?;
        let obj = self.by_name(&v.pool)?;
        let (mut st, i) = self.vol_locked(&obj, v)?;
        if !st.vols[i].building {
            let _ = vols::refresh(&mut st.vols[i].def, false);
        }
        Ok(st.vols[i].def.to_xml())
    }

    /// The path of a volume to stream from or to: refused, as libvirt
    /// does, for pools whose backend has no streams (`what`: "upload",
    /// "download").
    pub(crate) fn stream_path(&self, v: &VolRef, what: &str) -> Result<String> {
        let obj = self.by_name(&v.pool)?;
        let (st, i) = self.vol_locked(&obj, v)?;
        if st.def.pool_type == "iscsi-direct" {
            return Err(err(
                ErrorCode::NoSupport,
                format!("storage pool doesn't support volume {what}"),
            ));
        }
        Ok(st.vols[i].def.target_path.clone().unwrap_or_default())
    }

    pub fn vol_path(&self, v: &VolRef) -> Result<String> {
        let obj = self.by_name(&v.pool)?;
        let (st, i) = self.vol_locked(&obj, v)?;
        Ok(st.vols[i].def.target_path.clone().unwrap_or_default())
    }

    /// virStorageVolResize.
    pub fn vol_resize(&self, v: &VolRef, capacity: u64, flags: u32) -> Result<()> {
        use vols::resize_flags::*;
        crate::check_flags(flags, ALLOCATE | DELTA | SHRINK, "storageVolResize")?;
        let obj = self.by_name(&v.pool)?;
        let (mut st, i) = self.vol_locked(&obj, v)?;
        check_vol_free(&st.vols[i])?;
        let d = st.vols[i].def.clone();
        let abs = if flags & DELTA != 0 {
            if flags & SHRINK != 0 {
                d.capacity - capacity.min(d.capacity)
            } else {
                d.capacity.saturating_add(capacity)
            }
        } else {
            capacity
        };
        let flags = flags & !DELTA;
        if abs < d.allocation {
            return Err(err(
                ErrorCode::InvalidArg,
                "can't shrink capacity below existing allocation",
            ));
        }
        if abs < d.capacity && flags & SHRINK == 0 {
            return Err(err(
                ErrorCode::InvalidArg,
                "Can't shrink capacity below current capacity unless shrink flag explicitly specified",
            ));
        }
        let delta = if flags & ALLOCATE != 0 {
            abs - d.allocation
        } else {
            0
        };
        if delta > st.def.available {
            return Err(err(
                ErrorCode::OperationFailed,
                "Not enough space left in storage pool",
            ));
        }
        if !backend::file_based(&st.def.pool_type) {
            return Err(err(
                ErrorCode::NoSupport,
                "storage pool does not support changing of volume capacity",
            ));
        }
        let secrets = vols::SecretAccess {
            opener: self.secrets.get(),
            state_dir: &self.cfg.state_dir,
        };
        vols::resize(&st.def, &d, abs, flags, &secrets)?;
        let vol = &mut st.vols[i].def;
        vol.capacity = abs;
        if flags & ALLOCATE != 0 {
            vol.allocation = abs;
            st.def.allocation = st.def.allocation.saturating_add(delta);
            st.def.available = st.def.available.saturating_sub(delta);
        }
        Ok(())
    }

    /// virStorageVolWipePattern (virStorageVolWipe is algorithm 0).
    pub fn vol_wipe(&self, v: &VolRef, algorithm: u32, flags: u32) -> Result<()> {
        crate::check_flags(flags, 0, "storageVolWipePattern")?;
        vols::check_wipe_algorithm(algorithm)?;
        let obj = self.by_name(&v.pool)?;
        let (mut st, i) = self.vol_locked(&obj, v)?;
        check_vol_free(&st.vols[i])?;
        // The wipe itself runs with the volume marked in use and no lock.
        st.vols[i].in_use += 1;
        st.async_jobs += 1;
        let def = st.vols[i].def.clone();
        let pool_def = st.def.clone();
        drop(st);
        let r = if pool_def.pool_type == "iscsi-direct" {
            crate::iscsi_direct::wipe(&pool_def, &def, algorithm, flags, self.secrets.get())
        } else {
            vols::wipe(&def, algorithm)
        };
        let mut st = obj.lock();
        st.async_jobs = st.async_jobs.saturating_sub(1);
        if let Some(v) = st.vols.iter_mut().find(|x| x.def.name == def.name) {
            v.in_use = v.in_use.saturating_sub(1);
            let _ = vols::refresh(&mut v.def, false);
        }
        r
    }

    // ---- start-up ----

    /// Loads the persistent definitions, their autostart links and the
    /// status of pools that were running, takes running pools back (a
    /// pool whose host side is gone is inactive again), then starts the
    /// autostart pools.
    pub fn startup(&self) {
        let mut names: BTreeMap<String, PathBuf> = BTreeMap::new();
        if let Ok(rd) = std::fs::read_dir(&self.cfg.config_dir) {
            for e in rd.flatten() {
                let p = e.path();
                if p.extension().is_some_and(|x| x == "xml") && p.is_file() {
                    if let Some(n) = p.file_stem() {
                        names.insert(n.to_string_lossy().into_owned(), p);
                    }
                }
            }
        }
        for (name, path) in names {
            let def = match std::fs::read_to_string(&path)
                .map_err(|e| vols::sys(&e, format!("cannot read '{}'", path.display())))
                .and_then(|t| Self::parse(&t))
            {
                Ok(d) => d,
                Err(e) => {
                    eprintln!("storage: skipping {}: {}", path.display(), e.message());
                    continue;
                }
            };
            if def.name != name {
                eprintln!(
                    "storage: Storage pool config filename '{}' does not match pool name '{}'",
                    path.display(),
                    def.name
                );
                continue;
            }
            match self.add(def, false) {
                Ok((obj, _)) => {
                    let mut st = obj.lock();
                    st.autostart = self.autostart_link(&name).exists();
                }
                Err(e) => eprintln!("storage: {}", e.message()),
            }
        }
        // Pools that were running when the daemon stopped.
        if let Ok(rd) = std::fs::read_dir(&self.cfg.state_dir) {
            let mut files: Vec<PathBuf> = rd
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "xml"))
                .collect();
            files.sort();
            for f in files {
                self.restore(&f);
            }
        }
        for obj in self.snapshot() {
            let st = obj.lock();
            if st.autostart && !st.active {
                let name = st.def.name.clone();
                if let Err(e) = self.start_unlocked(&obj, st, 0) {
                    eprintln!(
                        "storage: Failed to autostart storage pool '{name}': {}",
                        e.message()
                    );
                    continue;
                }
                self.lifecycle(obj.pref(), pool_event::STARTED);
            }
        }
    }

    fn restore(&self, file: &Path) {
        let def = std::fs::read_to_string(file)
            .ok()
            .and_then(|t| conf::xml::parse_document(&t, "(pool state)", "poolstate").ok())
            .and_then(|root| root.child("pool").cloned())
            .and_then(|p| PoolDef::from_element(&p).ok());
        let Some(def) = def else {
            eprintln!("storage: cannot read pool state {}", file.display());
            let _ = std::fs::remove_file(file);
            return;
        };
        let name = def.name.clone();
        let obj = match self.add(def.clone(), true) {
            Ok((o, new)) => {
                if new {
                    o.lock().persistent = false;
                }
                o
            }
            Err(e) => {
                eprintln!("storage: {}", e.message());
                return;
            }
        };
        let mut st = obj.lock();
        if st.new_def.is_none() && st.persistent {
            // The live definition comes from the status file.
            st.new_def = Some(std::mem::replace(&mut st.def, def));
        }
        let running = backend::check(&st.def).unwrap_or(false);
        let ok = running && self.refresh_locked(&mut st).is_ok();
        if ok {
            st.active = true;
            return;
        }
        eprintln!("storage: Failed to restart storage pool '{name}'");
        self.remove_status(&name);
        st.vols.clear();
        if let Some(d) = st.new_def.take() {
            st.def = d;
        }
        if !st.persistent {
            self.remove(&obj, &mut st);
        }
    }

    /// Marks a volume in use by a stream; the path, format and the pool's
    /// object for [`StorageDriver::stream_done`].
    pub(crate) fn stream_begin(&self, v: &VolRef) -> Result<(Arc<PoolObj>, VolDef)> {
        let obj = self.by_name(&v.pool)?;
        let (mut st, i) = self.vol_locked(&obj, v)?;
        check_vol_free(&st.vols[i])?;
        st.vols[i].in_use += 1;
        st.async_jobs += 1;
        let def = st.vols[i].def.clone();
        drop(st);
        Ok((obj, def))
    }

    /// A stream on a volume ended: the volume is free again and the pool
    /// refreshed (its volume's sizes changed), as libvirt's stream close
    /// callback does.
    pub(crate) fn stream_done(&self, obj: &Arc<PoolObj>, name: &str) {
        let mut st = obj.lock();
        st.async_jobs = st.async_jobs.saturating_sub(1);
        if let Some(v) = st.vols.iter_mut().find(|x| x.def.name == name) {
            v.in_use = v.in_use.saturating_sub(1);
        }
        if st.active && st.async_jobs == 0 {
            let _ = self.refresh_locked(&mut st);
        }
        drop(st);
        self.publish(Event::StoragePoolRefresh { pool: obj.pref() });
    }
}

fn check_vol_free(v: &Vol) -> Result<()> {
    if v.in_use > 0 {
        return Err(err(
            ErrorCode::OperationInvalid,
            format!("volume '{}' is still in use.", v.def.name),
        ));
    }
    if v.building {
        return Err(err(
            ErrorCode::OperationInvalid,
            format!("volume '{}' is still being allocated.", v.def.name),
        ));
    }
    Ok(())
}

/// Two pools on the same host thing (libvirt's source duplicate check,
/// for the pool types done here).
fn source_conflict(a: &PoolDef, b: &PoolDef) -> bool {
    if a.pool_type != b.pool_type {
        return false;
    }
    match a.pool_type.as_str() {
        "dir" => a.target_path == b.target_path,
        "fs" | "logical" | "disk" => {
            let dev = |d: &PoolDef| {
                d.source
                    .as_ref()
                    .and_then(|s| s.child("device"))
                    .and_then(|d| d.attr("path"))
                    .map(str::to_string)
            };
            dev(a).is_some() && dev(a) == dev(b)
        }
        _ => false,
    }
}

/// libvirt's path clean-up: repeated slashes collapsed, a trailing one
/// dropped.
fn clean_path(p: &str) -> String {
    let mut out = String::with_capacity(p.len());
    let mut prev = false;
    for c in p.chars() {
        if c == '/' && prev {
            continue;
        }
        prev = c == '/';
        out.push(c);
    }
    if out.len() > 1 && out.ends_with('/') {
        out.pop();
    }
    out
}

/// A volume definition for `pool`: libvirt's default format for the pool
/// type; `clone`: capacity may be left out. Returns whether the XML gave
/// an allocation.
fn parse_vol(pool: &PoolDef, xml: &str, clone: bool) -> Result<(VolDef, bool)> {
    let root = conf::xml::parse_document(xml, "(storage_volume_definition)", "volume")
        .map_err(|e| e.in_domain(ErrorDomain::Storage))?;
    let has_alloc = root.child("allocation").is_some();
    let mut vol =
        VolDef::parse_in_pool(xml, pool, clone).map_err(|e| e.in_domain(ErrorDomain::Storage))?;
    if !has_alloc && clone {
        vol.allocation = 0;
    }
    Ok((vol, has_alloc))
}
