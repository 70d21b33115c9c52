// SPDX-License-Identifier: LGPL-2.1-or-later
//! The storage driver: libvirt's `storage:///system` (and the storage
//! calls of the hypervisor drivers' connections in libvirtd), on real
//! files and devices of the host.
//!
//! Role: pools (define, build, start, refresh, destroy, delete,
//! undefine, autostart) and their volumes (create, clone, resize, wipe,
//! delete, info, upload and download as streams), with libvirt's rules
//! and errors. Persistent definitions are kept where libvirt keeps them
//! (`/etc/libvirt/storage/NAME.xml`, links in `autostart/`), running
//! pools' status in `/run/libvirt/storage/NAME.xml`, so a daemon restart
//! (or a SIGKILL) leaves running pools running with their volumes.
//!
//! Must not depend on: rpc, dispatch, protocol. Errors are `virterror`'s;
//! host tools (qemu-img, scrub, mount, LVM) run through `cmd`, their
//! command lines built by `conf::storage_cmd`.
//!
//! Invariants: a pool's lock is never held while another pool's is
//! waited for, nor during a volume build or a stream (see `pools`); a
//! failed create leaves no volume file and no pool behind; definitions
//! and status are written atomically.
#![forbid(unsafe_code)]

use std::sync::Arc;

use driver::{DataStream, PoolInfo, PoolRef, VolInfo, VolRef};
use virterror::{ErrorCode, ErrorDomain, VirError};

mod backend;
mod cmd;
mod iscsi_direct;
mod pools;
pub mod probe;
mod streams;
pub mod vols;

pub use pools::{pool_event, StorageConfig, StorageDriver};

/// libvirt's check of a call's flags, reported from the storage driver.
pub(crate) fn check_flags(flags: u32, allowed: u32, func: &str) -> Result<(), VirError> {
    VirError::check_flags(flags, allowed, func).map_err(|e| e.in_domain(ErrorDomain::Storage))
}

/// The factory a daemon registers: claims `storage:///system` (and
/// `storage:///session`) and opens connections onto one driver.
pub struct StorageFactory {
    driver: Arc<StorageDriver>,
}

impl StorageFactory {
    pub fn new(cfg: StorageConfig) -> StorageFactory {
        StorageFactory {
            driver: Arc::new(StorageDriver::new(cfg)),
        }
    }

    /// The factory with libvirt's directories under a daemon's roots.
    pub fn from_dirs(
        privileged: bool,
        config_dir: std::path::PathBuf,
        state_dir: std::path::PathBuf,
    ) -> StorageFactory {
        StorageFactory::new(StorageConfig {
            privileged,
            autostart_dir: config_dir.join("autostart"),
            config_dir,
            state_dir,
        })
    }

    pub fn driver(&self) -> &Arc<StorageDriver> {
        &self.driver
    }
}

/// A boxed factory for a registry.
pub fn factory(cfg: StorageConfig) -> Arc<dyn driver::DriverFactory> {
    Arc::new(StorageFactory::new(cfg))
}

impl driver::DriverFactory for StorageFactory {
    fn name(&self) -> &'static str {
        "storage"
    }

    fn claims(&self, uri: &driver::Uri) -> bool {
        uri.scheme == "storage"
    }

    fn uses_shared_network(&self) -> bool {
        false
    }

    fn startup(&self) -> driver::Result<()> {
        self.driver.startup();
        Ok(())
    }

    fn open(
        &self,
        uri: &driver::Uri,
        _auth: &driver::ConnectAuth,
    ) -> driver::Result<Arc<dyn driver::Connection>> {
        let want = if self.driver.cfg.privileged {
            "/system"
        } else {
            "/session"
        };
        if uri.path != want {
            return Err(VirError::new(
                ErrorCode::InternalError,
                ErrorDomain::None,
                format!(
                    "unexpected storage URI path '{}', try storage://{want}",
                    uri.path
                ),
            ));
        }
        Ok(Arc::new(StorageConnection::new(
            self.driver.clone(),
            format!("storage://{want}"),
        )))
    }
}

/// A client's connection to the storage driver.
pub struct StorageConnection {
    driver: Arc<StorageDriver>,
    uri: String,
}

impl StorageConnection {
    /// A connection onto `driver` (for daemons that answer the storage
    /// calls of their other connections with it).
    pub fn new(driver: Arc<StorageDriver>, uri: impl Into<String>) -> Self {
        StorageConnection {
            driver,
            uri: uri.into(),
        }
    }
}

/// The pool types this driver offers for virConnectGetStoragePoolCapabilities.
const CAPS_TYPES: &[&str] = &[
    "dir", "fs", "netfs", "logical", "disk", "iscsi", "scsi", "mpath",
];

impl driver::Connection for StorageConnection {
    fn get_type(&self) -> &'static str {
        "storage"
    }

    fn uri(&self) -> String {
        self.uri.clone()
    }

    fn subscribe(&self, sink: driver::EventSink) -> Option<u64> {
        Some(self.driver.events.subscribe(sink))
    }

    fn unsubscribe(&self, token: u64) {
        self.driver.events.unsubscribe(token);
    }

    fn list_all_storage_pools(&self, flags: u32) -> driver::Result<Vec<PoolRef>> {
        self.driver.list_all(flags)
    }
    fn storage_pool_lookup_by_name(&self, name: &str) -> driver::Result<PoolRef> {
        self.driver.lookup_name(name)
    }
    fn storage_pool_lookup_by_uuid(&self, uuid: &[u8; 16]) -> driver::Result<PoolRef> {
        self.driver.lookup_uuid(uuid)
    }
    fn storage_pool_lookup_by_volume(&self, vol: &VolRef) -> driver::Result<PoolRef> {
        self.driver.pool_of_volume(vol)
    }
    fn storage_pool_lookup_by_target_path(&self, path: &str) -> driver::Result<PoolRef> {
        self.driver.lookup_target_path(path)
    }
    fn storage_pool_define_xml(&self, xml: &str, flags: u32) -> driver::Result<PoolRef> {
        self.driver.define(xml, flags)
    }
    fn storage_pool_create_xml(&self, xml: &str, flags: u32) -> driver::Result<PoolRef> {
        self.driver.create_xml(xml, flags)
    }
    fn storage_pool_build(&self, pool: &PoolRef, flags: u32) -> driver::Result<()> {
        self.driver.build(pool, flags)
    }
    fn storage_pool_undefine(&self, pool: &PoolRef) -> driver::Result<()> {
        self.driver.undefine(pool)
    }
    fn storage_pool_create(&self, pool: &PoolRef, flags: u32) -> driver::Result<()> {
        self.driver.create(pool, flags)
    }
    fn storage_pool_destroy(&self, pool: &PoolRef) -> driver::Result<()> {
        self.driver.destroy(pool)
    }
    fn storage_pool_delete(&self, pool: &PoolRef, flags: u32) -> driver::Result<()> {
        self.driver.delete(pool, flags)
    }
    fn storage_pool_refresh(&self, pool: &PoolRef, flags: u32) -> driver::Result<()> {
        self.driver.refresh(pool, flags)
    }
    fn storage_pool_get_info(&self, pool: &PoolRef) -> driver::Result<PoolInfo> {
        self.driver.info(pool)
    }
    fn storage_pool_get_xml_desc(&self, pool: &PoolRef, flags: u32) -> driver::Result<String> {
        self.driver.xml(pool, flags)
    }
    fn storage_pool_get_autostart(&self, pool: &PoolRef) -> driver::Result<bool> {
        self.driver.get_autostart(pool)
    }
    fn storage_pool_set_autostart(&self, pool: &PoolRef, on: bool) -> driver::Result<()> {
        self.driver.set_autostart(pool, on)
    }
    fn storage_pool_is_active(&self, pool: &PoolRef) -> driver::Result<bool> {
        self.driver.is_active(pool)
    }
    fn storage_pool_is_persistent(&self, pool: &PoolRef) -> driver::Result<bool> {
        self.driver.is_persistent(pool)
    }
    fn storage_pool_list_volumes(&self, pool: &PoolRef) -> driver::Result<Vec<VolRef>> {
        self.driver.list_volumes(pool)
    }
    fn storage_vol_lookup_by_name(&self, pool: &PoolRef, name: &str) -> driver::Result<VolRef> {
        self.driver.vol_lookup_name(pool, name)
    }
    fn storage_vol_lookup_by_key(&self, key: &str) -> driver::Result<VolRef> {
        self.driver.vol_lookup_key(key)
    }
    fn storage_vol_lookup_by_path(&self, path: &str) -> driver::Result<VolRef> {
        self.driver.vol_lookup_path(path)
    }
    fn storage_vol_create_xml(
        &self,
        pool: &PoolRef,
        xml: &str,
        flags: u32,
    ) -> driver::Result<VolRef> {
        self.driver.vol_create(pool, xml, None, flags)
    }
    fn storage_vol_create_xml_from(
        &self,
        pool: &PoolRef,
        xml: &str,
        clone: &VolRef,
        flags: u32,
    ) -> driver::Result<VolRef> {
        self.driver.vol_create(pool, xml, Some(clone), flags)
    }
    fn storage_vol_delete(&self, vol: &VolRef, flags: u32) -> driver::Result<()> {
        self.driver.vol_delete(vol, flags)
    }
    fn storage_vol_get_info(&self, vol: &VolRef) -> driver::Result<VolInfo> {
        self.driver.vol_info(vol)
    }
    fn storage_vol_get_xml_desc(&self, vol: &VolRef, flags: u32) -> driver::Result<String> {
        self.driver.vol_xml(vol, flags)
    }
    fn storage_vol_get_path(&self, vol: &VolRef) -> driver::Result<String> {
        self.driver.vol_path(vol)
    }
    fn storage_vol_resize(&self, vol: &VolRef, capacity: u64, flags: u32) -> driver::Result<()> {
        self.driver.vol_resize(vol, capacity, flags)
    }
    fn storage_vol_wipe_pattern(
        &self,
        vol: &VolRef,
        algorithm: u32,
        flags: u32,
    ) -> driver::Result<()> {
        self.driver.vol_wipe(vol, algorithm, flags)
    }
    fn storage_vol_upload(
        &self,
        vol: &VolRef,
        offset: u64,
        length: u64,
        flags: u32,
    ) -> driver::Result<DataStream> {
        streams::upload(&self.driver, vol, offset, length, flags)
    }
    fn storage_vol_download(
        &self,
        vol: &VolRef,
        offset: u64,
        length: u64,
        flags: u32,
    ) -> driver::Result<DataStream> {
        streams::download(&self.driver, vol, offset, length, flags)
    }
    fn find_storage_pool_sources(
        &self,
        pool_type: &str,
        spec: Option<&str>,
        flags: u32,
    ) -> driver::Result<String> {
        backend::find_sources(pool_type, spec, flags)
    }
    fn storage_pool_capabilities(&self, flags: u32) -> driver::Result<String> {
        crate::check_flags(flags, 0, "storageConnectGetStoragePoolCapabilities")?;
        let mut types = CAPS_TYPES.to_vec();
        if backend::has_backend("iscsi-direct") {
            types.push("iscsi-direct");
        }
        Ok(conf::storage::pool_capabilities(&types))
    }
}
