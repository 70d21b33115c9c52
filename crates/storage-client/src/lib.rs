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
use std::sync::{Arc, Mutex};

use driver::{Connection, Error, NetworkOpener, PoolRef, Result, VolInfo, VolRef};
use protocol::remote as r;
use rpc::client::{ClientError, RpcClient};
use virterror::{ErrorCode, ErrorDomain};

/// Procedure numbers of the remote program used here.
mod procs {
    pub const CONNECT_OPEN: i32 = 1;
    pub const CONNECT_CLOSE: i32 = 2;
    pub const AUTH_LIST: i32 = 66;
    pub const AUTH_POLKIT: i32 = 70;
    pub const STORAGE_POOL_LOOKUP_BY_NAME: i32 = 84;
    pub const STORAGE_POOL_GET_XML_DESC: i32 = 88;
    pub const STORAGE_VOL_LOOKUP_BY_NAME: i32 = 95;
    pub const STORAGE_VOL_GET_INFO: i32 = 98;
    pub const STORAGE_VOL_GET_PATH: i32 = 100;
    pub const STORAGE_POOL_IS_ACTIVE: i32 = 154;
}

/// REMOTE_AUTH_NONE / REMOTE_AUTH_POLKIT.
const AUTH_NONE: i32 = 0;
const AUTH_POLKIT: i32 = 2;

/// The error a client sees when virtstoraged cannot be reached or talks
/// nonsense; a remote error comes back as the daemon sent it.
fn client_error(sock: &Path, e: ClientError) -> Error {
    match e {
        ClientError::Remote(re) => {
            let code = ErrorCode::from_i32(re.code).unwrap_or(ErrorCode::InternalError);
            let domain = ErrorDomain::from_i32(re.domain).unwrap_or(ErrorDomain::Rpc);
            Error::verbatim(code, domain, re.message)
        }
        ClientError::Io(io) => Error::new(
            ErrorCode::SystemError,
            ErrorDomain::Rpc,
            format!(
                "Failed to connect socket to '{}': {}",
                sock.display(),
                virterror::os_error_text(&io)
            ),
        ),
        other => Error::new(ErrorCode::Rpc, ErrorDomain::Rpc, other.to_string()),
    }
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
        let dir = own_socket.parent().unwrap_or(Path::new("/run/libvirt"));
        RemoteStorage {
            socket: dir.join("virtstoraged-sock"),
            uri: uri.to_string(),
        }
    }

    /// Connects, authenticates as libvirt's client does (polkit when the
    /// daemon asks for it) and opens the URI.
    pub fn connect(&self) -> Result<RemoteStorageConn> {
        let err = |e| client_error(&self.socket, e);
        let mut c =
            RpcClient::connect(&self.socket, r::PROGRAM, r::PROTOCOL_VERSION).map_err(err)?;
        let auth: r::AuthListRet = c.call(procs::AUTH_LIST, &()).map_err(err)?;
        if !auth.types.is_empty() && !auth.types.contains(&AUTH_NONE) {
            if auth.types.contains(&AUTH_POLKIT) {
                let _: r::AuthPolkitRet = c.call(procs::AUTH_POLKIT, &()).map_err(err)?;
            } else {
                return Err(Error::new(
                    ErrorCode::AuthFailed,
                    ErrorDomain::Rpc,
                    format!(
                        "{} asks for an authentication this daemon cannot give",
                        self.socket.display()
                    ),
                ));
            }
        }
        c.call::<_, ()>(
            procs::CONNECT_OPEN,
            &r::ConnectOpenArgs {
                name: Some(self.uri.clone()),
                flags: 0,
            },
        )
        .map_err(err)?;
        Ok(RemoteStorageConn {
            socket: self.socket.clone(),
            uri: self.uri.clone(),
            client: Mutex::new(c),
        })
    }

    /// The opener a hypervisor driver is given.
    pub fn opener(self) -> NetworkOpener {
        Arc::new(move || Ok(Arc::new(self.connect()?) as Arc<dyn Connection>))
    }
}

/// One open connection to virtstoraged.
pub struct RemoteStorageConn {
    socket: PathBuf,
    uri: String,
    client: Mutex<RpcClient>,
}

impl RemoteStorageConn {
    fn call<A: xdr::Xdr, R: xdr::Xdr>(&self, proc_: i32, args: &A) -> Result<R> {
        let mut c = self.client.lock().unwrap_or_else(|p| p.into_inner());
        c.call(proc_, args)
            .map_err(|e| client_error(&self.socket, e))
    }
}

impl Drop for RemoteStorageConn {
    fn drop(&mut self) {
        let mut c = self.client.lock().unwrap_or_else(|p| p.into_inner());
        let _ = c.call::<_, ()>(procs::CONNECT_CLOSE, &());
    }
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
        let ret: r::StoragePoolLookupByNameRet = self.call(
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
        let ret: r::StoragePoolIsActiveRet = self.call(
            procs::STORAGE_POOL_IS_ACTIVE,
            &r::StoragePoolIsActiveArgs {
                pool: pool_out(pool),
            },
        )?;
        Ok(ret.active != 0)
    }
    fn storage_pool_get_xml_desc(&self, pool: &PoolRef, flags: u32) -> Result<String> {
        let ret: r::StoragePoolGetXmlDescRet = self.call(
            procs::STORAGE_POOL_GET_XML_DESC,
            &r::StoragePoolGetXmlDescArgs {
                pool: pool_out(pool),
                flags,
            },
        )?;
        Ok(ret.xml)
    }
    fn storage_vol_lookup_by_name(&self, pool: &PoolRef, name: &str) -> Result<VolRef> {
        let ret: r::StorageVolLookupByNameRet = self.call(
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
        let ret: r::StorageVolGetInfoRet = self.call(
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
        let ret: r::StorageVolGetPathRet = self.call(
            procs::STORAGE_VOL_GET_PATH,
            &r::StorageVolGetPathArgs { vol: vol_out(vol) },
        )?;
        Ok(ret.name)
    }
}
