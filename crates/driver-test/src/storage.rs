// SPDX-License-Identifier: LGPL-2.1-or-later
//! Storage pools and their volumes in the test driver: pools are defined,
//! built, started, refreshed and deleted only in memory, with libvirt's
//! fixed 100 GiB capacity; volumes take space from their pool.

use std::sync::Arc;

use conf::{PoolDef, VolDef};
use driver::consts::{list_net, object_event as oe};
use driver::error::{ErrorCode, ErrorDomain};
use driver::{Error, Event, PoolInfo, PoolRef, Result, VolInfo, VolRef};

use crate::conn::pair_ok;
use crate::errors;
use crate::load;
use crate::state::{Pool, PoolObj, Shared};

fn pool_event(p: &PoolRef, event: i32) -> Event {
    Event::StoragePoolLifecycle {
        pool: p.clone(),
        event,
        detail: 0,
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

/// virStorageVolType for a pool type.
fn vol_type_for_pool(t: &str) -> i32 {
    match t {
        "dir" | "fs" | "netfs" | "vstorage" => 0,
        "sheepdog" | "iscsi-direct" | "gluster" | "rbd" => 3,
        _ => 1,
    }
}

fn vref(p: &Pool, v: &VolDef) -> VolRef {
    VolRef {
        pool: p.def.name.clone(),
        name: v.name.clone(),
        key: v.key.clone().unwrap_or_default(),
    }
}

/// Runs `f` on the pool named `name`, under its lock.
fn with_pool<R>(sh: &Shared, name: &str, f: impl FnOnce(&PoolObj, &mut Pool) -> R) -> Result<R> {
    let gone = || errors::no_pool_name(name);
    let e = sh.pools.entry_by_name(name).ok_or_else(gone)?;
    let mut p = e.obj.lock_live().ok_or_else(gone)?;
    Ok(f(&e.obj, &mut p))
}

/// Runs `f` on the pool with `uuid`, under its lock.
fn with_pool_uuid<R>(sh: &Shared, uuid: &[u8; 16], f: impl FnOnce(&mut Pool) -> R) -> Result<R> {
    let gone = || errors::no_pool_uuid(uuid);
    let obj = sh.pools.get(uuid).ok_or_else(gone)?;
    let mut p = obj.lock_live().ok_or_else(gone)?;
    Ok(f(&mut p))
}

/// Runs `f` on the active pool named `name`, under its lock.
fn with_active_pool<R>(
    sh: &Shared,
    name: &str,
    f: impl FnOnce(&PoolObj, &mut Pool) -> Result<R>,
) -> Result<R> {
    with_pool(sh, name, |obj, p| {
        if !p.active {
            return Err(errors::op_invalid(format!(
                "storage pool '{name}' is not active"
            )));
        }
        f(obj, p)
    })?
}

/// Runs `f` on the inactive pool named `name`, under its lock.
fn with_inactive_pool<R>(
    sh: &Shared,
    name: &str,
    f: impl FnOnce(&PoolObj, &mut Pool) -> R,
) -> Result<R> {
    with_pool(sh, name, |obj, p| {
        if p.active {
            return Err(errors::op_invalid(format!(
                "storage pool '{name}' is active"
            )));
        }
        Ok(f(obj, p))
    })?
}

/// virStoragePoolObjListAdd, then what define (`live` false: the pool is
/// persistent) or create (`live`: transient and running) makes of it.
fn add_pool(sh: &Shared, def: PoolDef, live: bool) -> Result<PoolRef> {
    let (uuid, name) = (def.uuid.0, Arc::from(def.name.as_str()));
    let new = Pool {
        def,
        persistent: !live,
        active: live,
        autostart: false,
        vols: Vec::new(),
    };
    sh.pools
        .add(uuid, name, new, |_, p, unused| {
            if let Some(Pool { def, .. }) = unused {
                if live && p.active {
                    return Err(Error::operation_invalid(
                        ErrorDomain::Storage,
                        format!("pool is already active as '{}'", p.def.name),
                    ));
                }
                if !p.active {
                    p.def = PoolDef {
                        capacity: p.def.capacity,
                        allocation: p.def.allocation,
                        available: p.def.available,
                        ..def
                    };
                }
                p.persistent = !live;
                if live {
                    p.active = true;
                }
            }
            Ok(p.pref())
        })
        .map_err(|c| c.to_error("pool", ErrorDomain::Storage))?
}

/// testStorageVolCreateXML(From): space check, path and key, accounting.
fn add_volume(p: &mut Pool, mut vol: VolDef, clone: Option<&str>) -> Result<VolRef> {
    if p.vol(&vol.name).is_some() {
        return Err(errors::test(
            ErrorCode::OperationFailed,
            "storage vol already exists",
        ));
    }
    if let Some(c) = clone {
        if p.vol(c).is_none() {
            return Err(errors::no_vol_name(c));
        }
    }
    if p.def.allocation.saturating_add(vol.allocation) > p.def.capacity {
        return Err(errors::internal(format!(
            "Not enough free space in pool for volume '{}'",
            vol.name
        )));
    }
    let path = format!(
        "{}/{}",
        p.def.target_path.as_deref().unwrap_or(""),
        vol.name
    );
    vol.target_path = Some(path.clone());
    vol.key = Some(path);
    p.def.allocation = p.def.allocation.saturating_add(vol.allocation);
    p.def.available = p.def.capacity.saturating_sub(p.def.allocation);
    let r = vref(p, &vol);
    p.vols.push(vol);
    Ok(r)
}

pub(crate) fn list_all_storage_pools(sh: &Shared, flags: u32) -> Result<Vec<PoolRef>> {
    Error::check_flags(flags, (1 << 20) - 1, "testConnectListAllStoragePools")?;
    let types = flags >> 6;
    Ok(sh
        .pools
        .snapshot()
        .iter()
        .filter_map(|e| {
            let p = e.obj.lock_live()?;
            let pick = pair_ok(flags, list_net::ACTIVE, list_net::INACTIVE, p.active)
                && pair_ok(
                    flags,
                    list_net::PERSISTENT,
                    list_net::TRANSIENT,
                    p.persistent,
                )
                && pair_ok(
                    flags,
                    list_net::AUTOSTART,
                    list_net::NO_AUTOSTART,
                    p.autostart,
                )
                && (types == 0
                    || POOL_TYPE_FLAGS
                        .iter()
                        .position(|t| *t == p.def.pool_type)
                        .is_some_and(|i| types & (1 << i) != 0));
            pick.then(|| p.pref())
        })
        .collect())
}

pub(crate) fn storage_pool_lookup_by_name(sh: &Shared, name: &str) -> Result<PoolRef> {
    sh.pools
        .entry_by_name(name)
        .map(|e| e.pool_ref())
        .ok_or_else(|| errors::no_pool_name(name))
}

pub(crate) fn storage_pool_lookup_by_uuid(sh: &Shared, uuid: &[u8; 16]) -> Result<PoolRef> {
    sh.pools
        .entry(uuid)
        .map(|e| e.pool_ref())
        .ok_or_else(|| errors::no_pool_uuid(uuid))
}

/// A pool definition as the test driver keeps it: no storage backend is
/// loaded for it, so the rbd backend's `<rbd:config_opts>` is dropped as
/// libvirt does when that backend is absent.
pub(crate) fn test_pool_def(mut def: PoolDef) -> PoolDef {
    def.drop_namespace("rbd");
    def
}

fn parse_pool(xml: &str) -> Result<PoolDef> {
    PoolDef::parse_str(xml)
        .map(test_pool_def)
        .map_err(|e| errors::conf(e, ErrorDomain::Storage))
}

pub(crate) fn storage_pool_define_xml(sh: &Shared, xml: &str, flags: u32) -> Result<PoolRef> {
    Error::check_flags(flags, 1, "testStoragePoolDefineXML")?;
    let mut def = parse_pool(xml)?;
    def.capacity = load::DEFAULT_POOL_CAPACITY;
    def.allocation = 0;
    def.available = load::DEFAULT_POOL_CAPACITY;
    let r = add_pool(sh, def, false)?;
    sh.publish_one(pool_event(&r, oe::DEFINED));
    Ok(r)
}

pub(crate) fn storage_pool_create_xml(sh: &Shared, xml: &str, flags: u32) -> Result<PoolRef> {
    Error::check_flags(flags, 0, "testStoragePoolCreateXML")?;
    let mut def = parse_pool(xml)?;
    def.capacity = load::DEFAULT_POOL_CAPACITY;
    def.allocation = 0;
    def.available = load::DEFAULT_POOL_CAPACITY;
    let r = add_pool(sh, def, true)?;
    sh.publish_one(pool_event(&r, oe::STARTED));
    Ok(r)
}

pub(crate) fn storage_pool_build(sh: &Shared, pool: &PoolRef, flags: u32) -> Result<()> {
    Error::check_flags(flags, 0, "testStoragePoolBuild")?;
    with_inactive_pool(sh, &pool.name, |_, _| ())?;
    sh.publish_one(pool_event(pool, oe::POOL_CREATED));
    Ok(())
}

pub(crate) fn storage_pool_undefine(sh: &Shared, pool: &PoolRef) -> Result<()> {
    with_inactive_pool(sh, &pool.name, |obj, _| sh.pools.remove(obj))?;
    sh.publish_one(pool_event(pool, oe::UNDEFINED));
    Ok(())
}

pub(crate) fn storage_pool_create(sh: &Shared, pool: &PoolRef, flags: u32) -> Result<()> {
    Error::check_flags(flags, 0, "testStoragePoolCreate")?;
    with_inactive_pool(sh, &pool.name, |_, p| p.active = true)?;
    sh.publish_one(pool_event(pool, oe::STARTED));
    Ok(())
}

pub(crate) fn storage_pool_destroy(sh: &Shared, pool: &PoolRef) -> Result<()> {
    let r = with_active_pool(sh, &pool.name, |obj, p| {
        p.active = false;
        if !p.persistent {
            sh.pools.remove(obj);
        }
        Ok(p.pref())
    })?;
    sh.publish_one(pool_event(&r, oe::STOPPED));
    Ok(())
}

pub(crate) fn storage_pool_delete(sh: &Shared, pool: &PoolRef, flags: u32) -> Result<()> {
    Error::check_flags(flags, 0, "testStoragePoolDelete")?;
    with_inactive_pool(sh, &pool.name, |_, _| ())?;
    sh.publish_one(pool_event(pool, oe::POOL_DELETED));
    Ok(())
}

pub(crate) fn storage_pool_refresh(sh: &Shared, pool: &PoolRef, flags: u32) -> Result<()> {
    Error::check_flags(flags, 0, "testStoragePoolRefresh")?;
    with_active_pool(sh, &pool.name, |_, _| Ok(()))?;
    sh.publish_one(Event::StoragePoolRefresh { pool: pool.clone() });
    Ok(())
}

pub(crate) fn storage_pool_get_info(sh: &Shared, pool: &PoolRef) -> Result<PoolInfo> {
    with_pool(sh, &pool.name, |_, p| PoolInfo {
        state: if p.active { 2 } else { 0 },
        capacity: p.def.capacity,
        allocation: p.def.allocation,
        available: p.def.available,
    })
}

pub(crate) fn storage_pool_get_xml_desc(sh: &Shared, pool: &PoolRef, flags: u32) -> Result<String> {
    Error::check_flags(flags, 0, "testStoragePoolGetXMLDesc")?;
    with_pool(sh, &pool.name, |_, p| p.def.to_xml())
}

pub(crate) fn storage_pool_get_autostart(sh: &Shared, pool: &PoolRef) -> Result<bool> {
    with_pool(sh, &pool.name, |_, p| p.persistent && p.autostart)
}

pub(crate) fn storage_pool_set_autostart(sh: &Shared, pool: &PoolRef, on: bool) -> Result<()> {
    with_pool(sh, &pool.name, |_, p| {
        if !p.persistent {
            return Err(Error::invalid_arg(
                ErrorDomain::Test,
                "pool has no config file",
            ));
        }
        p.autostart = on;
        Ok(())
    })?
}

pub(crate) fn storage_pool_is_active(sh: &Shared, pool: &PoolRef) -> Result<bool> {
    with_pool_uuid(sh, &pool.uuid, |p| p.active)
}

pub(crate) fn storage_pool_is_persistent(sh: &Shared, pool: &PoolRef) -> Result<bool> {
    with_pool_uuid(sh, &pool.uuid, |p| p.persistent)
}

pub(crate) fn storage_pool_list_volumes(sh: &Shared, pool: &PoolRef) -> Result<Vec<VolRef>> {
    with_pool_uuid(sh, &pool.uuid, |p| {
        if !p.active {
            return Err(errors::op_invalid("storage pool is not active"));
        }
        Ok(p.vols.iter().map(|v| vref(p, v)).collect())
    })?
}

/// The older volume listing calls find the pool by name, active.
pub(crate) fn storage_pool_volume_names(sh: &Shared, pool: &PoolRef) -> Result<Vec<VolRef>> {
    with_active_pool(sh, &pool.name, |_, p| {
        Ok(p.vols.iter().map(|v| vref(p, v)).collect())
    })
}

pub(crate) fn storage_vol_lookup_by_name(
    sh: &Shared,
    pool: &PoolRef,
    name: &str,
) -> Result<VolRef> {
    with_active_pool(sh, &pool.name, |_, p| {
        p.vol(name)
            .map(|v| vref(p, v))
            .ok_or_else(|| errors::no_vol_name(name))
    })
}

/// The first volume of an active pool (in pool name order) that `pick`
/// accepts.
fn find_vol(sh: &Shared, pick: impl Fn(&VolDef) -> bool) -> Option<VolRef> {
    sh.pools.snapshot().iter().find_map(|e| {
        let p = e.obj.lock_live()?;
        if !p.active {
            return None;
        }
        p.vols.iter().find(|v| pick(v)).map(|v| vref(&p, v))
    })
}

pub(crate) fn storage_vol_lookup_by_key(sh: &Shared, key: &str) -> Result<VolRef> {
    find_vol(sh, |v| v.key.as_deref() == Some(key)).ok_or_else(|| {
        errors::test(
            ErrorCode::NoStorageVol,
            format!("no storage vol with matching key '{key}'"),
        )
    })
}

pub(crate) fn storage_vol_lookup_by_path(sh: &Shared, path: &str) -> Result<VolRef> {
    find_vol(sh, |v| v.target_path.as_deref() == Some(path)).ok_or_else(|| {
        errors::test(
            ErrorCode::NoStorageVol,
            format!("no storage vol with matching path '{path}'"),
        )
    })
}

pub(crate) fn storage_vol_create_xml(
    sh: &Shared,
    pool: &PoolRef,
    xml: &str,
    flags: u32,
) -> Result<VolRef> {
    Error::check_flags(flags, 1 << 1, "testStorageVolCreateXML")?;
    with_active_pool(sh, &pool.name, |_, p| {
        let vol = VolDef::parse_in_pool(xml, &p.def, false)
            .map_err(|e| errors::conf(e, ErrorDomain::Storage))?;
        add_volume(p, vol, None)
    })
}

pub(crate) fn storage_vol_create_xml_from(
    sh: &Shared,
    pool: &PoolRef,
    xml: &str,
    clone: &VolRef,
    flags: u32,
) -> Result<VolRef> {
    Error::check_flags(flags, 1 << 1, "testStorageVolCreateXMLFrom")?;
    with_active_pool(sh, &pool.name, |_, p| {
        let vol = VolDef::parse_in_pool(xml, &p.def, false)
            .map_err(|e| errors::conf(e, ErrorDomain::Storage))?;
        add_volume(p, vol, Some(&clone.name))
    })
}

pub(crate) fn storage_vol_delete(sh: &Shared, vol: &VolRef, flags: u32) -> Result<()> {
    Error::check_flags(flags, 0, "testStorageVolDelete")?;
    with_active_pool(sh, &vol.pool, |_, p| {
        let i = p
            .vols
            .iter()
            .position(|v| v.name == vol.name)
            .ok_or_else(|| errors::no_vol_name(&vol.name))?;
        let v = p.vols.remove(i);
        p.def.allocation = p.def.allocation.saturating_sub(v.allocation);
        p.def.available = p.def.capacity.saturating_sub(p.def.allocation);
        Ok(())
    })
}

pub(crate) fn storage_vol_get_info(sh: &Shared, vol: &VolRef) -> Result<VolInfo> {
    with_active_pool(sh, &vol.pool, |_, p| {
        let v = p
            .vol(&vol.name)
            .ok_or_else(|| errors::no_vol_name(&vol.name))?;
        Ok(VolInfo {
            vol_type: vol_type_for_pool(&p.def.pool_type),
            capacity: v.capacity,
            allocation: v.allocation,
        })
    })
}

pub(crate) fn storage_vol_get_xml_desc(sh: &Shared, vol: &VolRef, flags: u32) -> Result<String> {
    Error::check_flags(flags, 0, "testStorageVolGetXMLDesc")?;
    with_active_pool(sh, &vol.pool, |_, p| {
        let v = p
            .vol(&vol.name)
            .ok_or_else(|| errors::no_vol_name(&vol.name))?;
        Ok(v.to_xml())
    })
}

pub(crate) fn storage_vol_get_path(sh: &Shared, vol: &VolRef) -> Result<String> {
    with_active_pool(sh, &vol.pool, |_, p| {
        let v = p
            .vol(&vol.name)
            .ok_or_else(|| errors::no_vol_name(&vol.name))?;
        Ok(v.target_path.clone().unwrap_or_default())
    })
}

/// What libvirt's test driver finds for logical pools.
const LOGICAL_SOURCES: &str = "<sources>
  <source>
    <device path='/dev/sda20'/>
    <name>testvg1</name>
    <format type='lvm2'/>
  </source>
  <source>
    <device path='/dev/sda21'/>
    <name>testvg2</name>
    <format type='lvm2'/>
  </source>
</sources>
";

/// virConnectFindStoragePoolSources: fixed answers for logical pools and
/// for NFS shares of the named host. Like libvirt's test driver, type
/// "dir" (value 0) reads as unknown.
pub(crate) fn find_storage_pool_sources(
    pool_type: &str,
    spec: Option<&str>,
    flags: u32,
) -> Result<String> {
    Error::check_flags(flags, 0, "testConnectFindStoragePoolSources")?;
    let ty = conf::storage::POOL_TYPES
        .iter()
        .position(|t| *t == pool_type);
    if ty == Some(0) {
        return Err(errors::internal(format!(
            "unknown storage pool type {pool_type}"
        )));
    }
    let host = match spec {
        Some(spec) => {
            let src = conf::xml::parse_document(spec, "(storage_source_specification)", "source")
                .map_err(|e| errors::conf(e, ErrorDomain::Storage))?;
            src.child("host")
                .and_then(|h| h.attr("name"))
                .map(str::to_string)
        }
        None => None,
    };
    match pool_type {
        "logical" => Ok(LOGICAL_SOURCES.to_string()),
        "netfs" => {
            let host = host.ok_or_else(|| {
                Error::invalid_arg(
                    ErrorDomain::Test,
                    "hostname must be specified for netfs sources",
                )
            })?;
            Ok(format!(
                "<sources>\n  <source>\n    <host name='{host}'/>\n    <dir path='/testshare'/>\n    <format type='nfs'/>\n  </source>\n</sources>\n"
            ))
        }
        _ => Err(errors::test(
            ErrorCode::NoSupport,
            format!("pool type '{pool_type}' does not support source discovery"),
        )),
    }
}
