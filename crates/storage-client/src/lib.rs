// SPDX-License-Identifier: LGPL-2.1-or-later
//! The storage driver as a modular hypervisor daemon (virtxend) reaches
//! it: a client of virtstoraged's socket that opens `storage:///system`
//! and speaks the public remote procedures, as libvirt's modular daemons
//! do through their remote driver. It is a [`driver::Connection`] for the
//! calls that resolve a `<disk type='volume'>` (pool and volume lookup by
//! name, pool state and XML, volume info and path), so the hypervisor
//! driver cannot tell it from the in-process storage driver of libvirtd.
//!
//! Must not depend on any driver. One connection per opener call, one
//! call at a time; the connection is closed when dropped.
#![forbid(unsafe_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use daemon_link::DaemonLink;
use driver::{Connection, NetworkOpener, PoolRef, Result, VolInfo, VolRef};
use protocol::remote as r;

/// Procedure numbers of the remote program used here.
mod procs {
    pub const STORAGE_POOL_LOOKUP_BY_NAME: i32 = 84;
    pub const STORAGE_POOL_GET_XML_DESC: i32 = 88;
    pub const STORAGE_VOL_LOOKUP_BY_NAME: i32 = 95;
    pub const STORAGE_VOL_GET_INFO: i32 = 98;
    pub const STORAGE_VOL_GET_PATH: i32 = 100;
    pub const STORAGE_POOL_IS_ACTIVE: i32 = 154;
}

/// virtstoraged's socket, and the URI opened on it.
#[derive(Debug, Clone)]
pub struct RemoteStorage {
    pub socket: PathBuf,
    pub uri: String,
}

impl RemoteStorage {
    /// The storage daemon beside a modular daemon whose own socket is
    /// `own_socket` (`/run/libvirt/virtxend-sock` →
    /// `/run/libvirt/virtstoraged-sock`), opening `uri`.
    pub fn beside(own_socket: &Path, uri: &str) -> RemoteStorage {
        RemoteStorage {
            socket: daemon_link::socket_beside(own_socket, "virtstoraged"),
            uri: uri.to_string(),
        }
    }

    /// Connects, authenticates as libvirt's client does (polkit when the
    /// daemon asks for it) and opens the URI.
    pub fn connect(&self) -> Result<RemoteStorageConn> {
        Ok(RemoteStorageConn {
            uri: self.uri.clone(),
            link: DaemonLink::open(&self.socket, &self.uri)?,
        })
    }

    /// The opener a hypervisor driver is given.
    pub fn opener(self) -> NetworkOpener {
        Arc::new(move || Ok(Arc::new(self.connect()?) as Arc<dyn Connection>))
    }
}

/// One open connection to virtstoraged.
pub struct RemoteStorageConn {
    uri: String,
    link: DaemonLink,
}

fn pool_out(p: &PoolRef) -> r::NonnullStoragePool {
    r::NonnullStoragePool {
        name: p.name.clone(),
        uuid: p.uuid,
    }
}

fn vol_out(v: &VolRef) -> r::NonnullStorageVol {
    r::NonnullStorageVol {
        pool: v.pool.clone(),
        name: v.name.clone(),
        key: v.key.clone(),
    }
}

impl Connection for RemoteStorageConn {
    fn get_type(&self) -> &'static str {
        "storage"
    }
    fn uri(&self) -> String {
        self.uri.clone()
    }
    fn storage_pool_lookup_by_name(&self, name: &str) -> Result<PoolRef> {
        let ret: r::StoragePoolLookupByNameRet = self.link.call(
            procs::STORAGE_POOL_LOOKUP_BY_NAME,
            &r::StoragePoolLookupByNameArgs {
                name: name.to_string(),
            },
        )?;
        Ok(PoolRef {
            name: ret.pool.name,
            uuid: ret.pool.uuid,
        })
    }
    fn storage_pool_is_active(&self, pool: &PoolRef) -> Result<bool> {
        let ret: r::StoragePoolIsActiveRet = self.link.call(
            procs::STORAGE_POOL_IS_ACTIVE,
            &r::StoragePoolIsActiveArgs {
                pool: pool_out(pool),
            },
        )?;
        Ok(ret.active != 0)
    }
    fn storage_pool_get_xml_desc(&self, pool: &PoolRef, flags: u32) -> Result<String> {
        let ret: r::StoragePoolGetXmlDescRet = self.link.call(
            procs::STORAGE_POOL_GET_XML_DESC,
            &r::StoragePoolGetXmlDescArgs {
                pool: pool_out(pool),
                flags,
            },
        )?;
        Ok(ret.xml)
    }
    fn storage_vol_lookup_by_name(&self, pool: &PoolRef, name: &str) -> Result<VolRef> {
        let ret: r::StorageVolLookupByNameRet = self.link.call(
            procs::STORAGE_VOL_LOOKUP_BY_NAME,
            &r::StorageVolLookupByNameArgs {
                pool: pool_out(pool),
                name: name.to_string(),
            },
        )?;
        Ok(VolRef {
            pool: ret.vol.pool,
            name: ret.vol.name,
            key: ret.vol.key,
        })
    }
    fn storage_vol_get_info(&self, vol: &VolRef) -> Result<VolInfo> {
        let ret: r::StorageVolGetInfoRet = self.link.call(
            procs::STORAGE_VOL_GET_INFO,
            &r::StorageVolGetInfoArgs { vol: vol_out(vol) },
        )?;
        Ok(VolInfo {
            vol_type: i32::from(ret.r#type),
            capacity: ret.capacity,
            allocation: ret.allocation,
        })
    }
    fn storage_vol_get_path(&self, vol: &VolRef) -> Result<String> {
        let ret: r::StorageVolGetPathRet = self.link.call(
            procs::STORAGE_VOL_GET_PATH,
            &r::StorageVolGetPathArgs { vol: vol_out(vol) },
        )?;
        Ok(ret.name)
    }
}
