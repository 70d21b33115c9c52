// SPDX-License-Identifier: LGPL-2.1-or-later
//! Storage pools and their volumes in the test driver: pools are defined,
//! built, started, refreshed and deleted only in memory, with libvirt's
//! fixed 100 GiB capacity; volumes take space from their pool.

use conf::{PoolDef, VolDef};
use driver::consts::{list_net, object_event as oe};
use driver::error::{ErrorCode, ErrorDomain};
use driver::{Error, Event, PoolInfo, PoolRef, Result, VolInfo, VolRef};

use crate::conn::pair_ok;
use crate::errors;
use crate::load;
use crate::state::{Pool, Shared, State};

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

/// Default target format for volumes of file-based pools.
pub(crate) fn vol_defaults(pool: &PoolDef, vol: &mut VolDef) {
    if vol.format.is_none()
        && matches!(pool.pool_type.as_str(), "dir" | "fs" | "netfs" | "vstorage")
    {
        vol.format = Some("raw".into());
    }
}

fn vref(p: &Pool, v: &VolDef) -> VolRef {
    VolRef {
        pool: p.def.name.clone(),
        name: v.name.clone(),
        key: v.key.clone().unwrap_or_default(),
    }
}

fn active_pool<'a>(s: &'a State, name: &str) -> Result<&'a Pool> {
    let p = s
        .pools
        .get(name)
        .ok_or_else(|| errors::no_pool_name(name))?;
    if !p.active {
        return Err(errors::op_invalid(format!(
            "storage pool '{name}' is not active"
        )));
    }
    Ok(p)
}

fn inactive_pool<'a>(s: &'a State, name: &str) -> Result<&'a Pool> {
    let p = s
        .pools
        .get(name)
        .ok_or_else(|| errors::no_pool_name(name))?;
    if p.active {
        return Err(errors::op_invalid(format!(
            "storage pool '{name}' is active"
        )));
    }
    Ok(p)
}

/// virStoragePoolObjListAdd.
fn add_pool(s: &mut State, def: PoolDef, check_live: bool) -> Result<PoolRef> {
    let existing = s
        .pools
        .values()
        .find(|p| p.def.uuid == def.uuid)
        .map(|p| p.def.name.clone());
    if let Some(old_name) = existing {
        if old_name != def.name {
            return Err(Error::new(
                ErrorCode::OperationFailed,
                ErrorDomain::Storage,
                format!(
                    "pool '{old_name}' is already defined with uuid {}",
                    def.uuid
                ),
            ));
        }
        let p = s
            .pools
            .get_mut(&old_name)
            .ok_or_else(|| errors::no_pool_name(&old_name))?;
        if check_live && p.active {
            return Err(Error::operation_invalid(
                ErrorDomain::Storage,
                format!("pool is already active as '{old_name}'"),
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
        return Ok(p.pref());
    }
    if let Some(p) = s.pools.get(&def.name) {
        return Err(Error::new(
            ErrorCode::OperationFailed,
            ErrorDomain::Storage,
            format!(
                "pool '{}' already exists with uuid {}",
                def.name, p.def.uuid
            ),
        ));
    }
    let p = Pool {
        def,
        persistent: false,
        active: false,
        autostart: false,
        vols: Vec::new(),
    };
    let r = p.pref();
    s.pools.insert(r.name.clone(), p);
    Ok(r)
}

/// testStorageVolCreateXML(From): space check, path and key, accounting.
fn add_volume(s: &mut State, pool: &str, mut vol: VolDef, clone: Option<&str>) -> Result<VolRef> {
    let p = s
        .pools
        .get_mut(pool)
        .ok_or_else(|| errors::no_pool_name(pool))?;
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
    vol_defaults(&p.def, &mut vol);
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
    let s = sh.lock();
    let types = flags >> 6;
    Ok(s.pools
        .values()
        .filter(|p| {
            pair_ok(flags, list_net::ACTIVE, list_net::INACTIVE, p.active)
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
                        .is_some_and(|i| types & (1 << i) != 0))
        })
        .map(Pool::pref)
        .collect())
}

pub(crate) fn storage_pool_lookup_by_name(sh: &Shared, name: &str) -> Result<PoolRef> {
    let s = sh.lock();
    s.pools
        .get(name)
        .map(Pool::pref)
        .ok_or_else(|| errors::no_pool_name(name))
}

pub(crate) fn storage_pool_lookup_by_uuid(sh: &Shared, uuid: &[u8; 16]) -> Result<PoolRef> {
    let s = sh.lock();
    s.pool_by_uuid(uuid)
        .map(Pool::pref)
        .ok_or_else(|| errors::no_pool_uuid(uuid))
}

pub(crate) fn storage_pool_define_xml(sh: &Shared, xml: &str, flags: u32) -> Result<PoolRef> {
    Error::check_flags(flags, 1, "testStoragePoolDefineXML")?;
    let mut def = PoolDef::parse_str(xml).map_err(|e| errors::conf(e, ErrorDomain::Storage))?;
    def.capacity = load::DEFAULT_POOL_CAPACITY;
    def.allocation = 0;
    def.available = load::DEFAULT_POOL_CAPACITY;
    let r = {
        let mut s = sh.lock();
        let r = add_pool(&mut s, def, false)?;
        if let Some(p) = s.pools.get_mut(&r.name) {
            p.persistent = true;
        }
        r
    };
    sh.publish_one(pool_event(&r, oe::DEFINED));
    Ok(r)
}

pub(crate) fn storage_pool_create_xml(sh: &Shared, xml: &str, flags: u32) -> Result<PoolRef> {
    Error::check_flags(flags, 0, "testStoragePoolCreateXML")?;
    let mut def = PoolDef::parse_str(xml).map_err(|e| errors::conf(e, ErrorDomain::Storage))?;
    def.capacity = load::DEFAULT_POOL_CAPACITY;
    def.allocation = 0;
    def.available = load::DEFAULT_POOL_CAPACITY;
    let r = {
        let mut s = sh.lock();
        let r = add_pool(&mut s, def, true)?;
        if let Some(p) = s.pools.get_mut(&r.name) {
            p.persistent = false;
            p.active = true;
        }
        r
    };
    sh.publish_one(pool_event(&r, oe::STARTED));
    Ok(r)
}

pub(crate) fn storage_pool_build(sh: &Shared, pool: &PoolRef, flags: u32) -> Result<()> {
    Error::check_flags(flags, 0, "testStoragePoolBuild")?;
    {
        let s = sh.lock();
        inactive_pool(&s, &pool.name)?;
    }
    sh.publish_one(pool_event(pool, oe::POOL_CREATED));
    Ok(())
}

pub(crate) fn storage_pool_undefine(sh: &Shared, pool: &PoolRef) -> Result<()> {
    {
        let mut s = sh.lock();
        inactive_pool(&s, &pool.name)?;
        s.pools.remove(&pool.name);
    }
    sh.publish_one(pool_event(pool, oe::UNDEFINED));
    Ok(())
}

pub(crate) fn storage_pool_create(sh: &Shared, pool: &PoolRef, flags: u32) -> Result<()> {
    Error::check_flags(flags, 0, "testStoragePoolCreate")?;
    {
        let mut s = sh.lock();
        inactive_pool(&s, &pool.name)?;
        if let Some(p) = s.pools.get_mut(&pool.name) {
            p.active = true;
        }
    }
    sh.publish_one(pool_event(pool, oe::STARTED));
    Ok(())
}

pub(crate) fn storage_pool_destroy(sh: &Shared, pool: &PoolRef) -> Result<()> {
    let r = {
        let mut s = sh.lock();
        let r = active_pool(&s, &pool.name)?.pref();
        let transient = match s.pools.get_mut(&pool.name) {
            Some(p) => {
                p.active = false;
                !p.persistent
            }
            None => false,
        };
        if transient {
            s.pools.remove(&pool.name);
        }
        r
    };
    sh.publish_one(pool_event(&r, oe::STOPPED));
    Ok(())
}

pub(crate) fn storage_pool_delete(sh: &Shared, pool: &PoolRef, flags: u32) -> Result<()> {
    Error::check_flags(flags, 0, "testStoragePoolDelete")?;
    {
        let s = sh.lock();
        inactive_pool(&s, &pool.name)?;
    }
    sh.publish_one(pool_event(pool, oe::POOL_DELETED));
    Ok(())
}

pub(crate) fn storage_pool_refresh(sh: &Shared, pool: &PoolRef, flags: u32) -> Result<()> {
    Error::check_flags(flags, 0, "testStoragePoolRefresh")?;
    {
        let s = sh.lock();
        active_pool(&s, &pool.name)?;
    }
    sh.publish_one(Event::StoragePoolRefresh { pool: pool.clone() });
    Ok(())
}

pub(crate) fn storage_pool_get_info(sh: &Shared, pool: &PoolRef) -> Result<PoolInfo> {
    let s = sh.lock();
    let p = s
        .pools
        .get(&pool.name)
        .ok_or_else(|| errors::no_pool_name(&pool.name))?;
    Ok(PoolInfo {
        state: if p.active { 2 } else { 0 },
        capacity: p.def.capacity,
        allocation: p.def.allocation,
        available: p.def.available,
    })
}

pub(crate) fn storage_pool_get_xml_desc(sh: &Shared, pool: &PoolRef, flags: u32) -> Result<String> {
    Error::check_flags(flags, 0, "testStoragePoolGetXMLDesc")?;
    let s = sh.lock();
    let p = s
        .pools
        .get(&pool.name)
        .ok_or_else(|| errors::no_pool_name(&pool.name))?;
    Ok(p.def.to_xml())
}

pub(crate) fn storage_pool_get_autostart(sh: &Shared, pool: &PoolRef) -> Result<bool> {
    let s = sh.lock();
    let p = s
        .pools
        .get(&pool.name)
        .ok_or_else(|| errors::no_pool_name(&pool.name))?;
    Ok(p.persistent && p.autostart)
}

pub(crate) fn storage_pool_set_autostart(sh: &Shared, pool: &PoolRef, on: bool) -> Result<()> {
    let mut s = sh.lock();
    let p = s
        .pools
        .get_mut(&pool.name)
        .ok_or_else(|| errors::no_pool_name(&pool.name))?;
    if !p.persistent {
        return Err(Error::invalid_arg(
            ErrorDomain::Test,
            "pool has no config file",
        ));
    }
    p.autostart = on;
    Ok(())
}

pub(crate) fn storage_pool_is_active(sh: &Shared, pool: &PoolRef) -> Result<bool> {
    let s = sh.lock();
    s.pool_by_uuid(&pool.uuid)
        .map(|p| p.active)
        .ok_or_else(|| errors::no_pool_uuid(&pool.uuid))
}

pub(crate) fn storage_pool_is_persistent(sh: &Shared, pool: &PoolRef) -> Result<bool> {
    let s = sh.lock();
    s.pool_by_uuid(&pool.uuid)
        .map(|p| p.persistent)
        .ok_or_else(|| errors::no_pool_uuid(&pool.uuid))
}

pub(crate) fn storage_pool_list_volumes(sh: &Shared, pool: &PoolRef) -> Result<Vec<VolRef>> {
    let s = sh.lock();
    let p = s
        .pool_by_uuid(&pool.uuid)
        .ok_or_else(|| errors::no_pool_uuid(&pool.uuid))?;
    if !p.active {
        return Err(errors::op_invalid("storage pool is not active"));
    }
    Ok(p.vols.iter().map(|v| vref(p, v)).collect())
}

pub(crate) fn storage_vol_lookup_by_name(
    sh: &Shared,
    pool: &PoolRef,
    name: &str,
) -> Result<VolRef> {
    let s = sh.lock();
    let p = active_pool(&s, &pool.name)?;
    p.vol(name)
        .map(|v| vref(p, v))
        .ok_or_else(|| errors::no_vol_name(name))
}

pub(crate) fn storage_vol_lookup_by_key(sh: &Shared, key: &str) -> Result<VolRef> {
    let s = sh.lock();
    s.pools
        .values()
        .filter(|p| p.active)
        .find_map(|p| {
            p.vols
                .iter()
                .find(|v| v.key.as_deref() == Some(key))
                .map(|v| vref(p, v))
        })
        .ok_or_else(|| {
            errors::test(
                ErrorCode::NoStorageVol,
                format!("no storage vol with matching key '{key}'"),
            )
        })
}

pub(crate) fn storage_vol_lookup_by_path(sh: &Shared, path: &str) -> Result<VolRef> {
    let s = sh.lock();
    s.pools
        .values()
        .filter(|p| p.active)
        .find_map(|p| {
            p.vols
                .iter()
                .find(|v| v.target_path.as_deref() == Some(path))
                .map(|v| vref(p, v))
        })
        .ok_or_else(|| {
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
    let mut s = sh.lock();
    active_pool(&s, &pool.name)?;
    let vol = VolDef::parse_str(xml).map_err(|e| errors::conf(e, ErrorDomain::Storage))?;
    add_volume(&mut s, &pool.name, vol, None)
}

pub(crate) fn storage_vol_create_xml_from(
    sh: &Shared,
    pool: &PoolRef,
    xml: &str,
    clone: &VolRef,
    flags: u32,
) -> Result<VolRef> {
    Error::check_flags(flags, 1 << 1, "testStorageVolCreateXMLFrom")?;
    let mut s = sh.lock();
    active_pool(&s, &pool.name)?;
    let vol = VolDef::parse_str(xml).map_err(|e| errors::conf(e, ErrorDomain::Storage))?;
    add_volume(&mut s, &pool.name, vol, Some(&clone.name))
}

pub(crate) fn storage_vol_delete(sh: &Shared, vol: &VolRef, flags: u32) -> Result<()> {
    Error::check_flags(flags, 0, "testStorageVolDelete")?;
    let mut s = sh.lock();
    active_pool(&s, &vol.pool)?;
    let p = s
        .pools
        .get_mut(&vol.pool)
        .ok_or_else(|| errors::no_pool_name(&vol.pool))?;
    let i = p
        .vols
        .iter()
        .position(|v| v.name == vol.name)
        .ok_or_else(|| errors::no_vol_name(&vol.name))?;
    let v = p.vols.remove(i);
    p.def.allocation = p.def.allocation.saturating_sub(v.allocation);
    p.def.available = p.def.capacity.saturating_sub(p.def.allocation);
    Ok(())
}

pub(crate) fn storage_vol_get_info(sh: &Shared, vol: &VolRef) -> Result<VolInfo> {
    let s = sh.lock();
    let p = active_pool(&s, &vol.pool)?;
    let v = p
        .vol(&vol.name)
        .ok_or_else(|| errors::no_vol_name(&vol.name))?;
    Ok(VolInfo {
        vol_type: vol_type_for_pool(&p.def.pool_type),
        capacity: v.capacity,
        allocation: v.allocation,
    })
}

pub(crate) fn storage_vol_get_xml_desc(sh: &Shared, vol: &VolRef, flags: u32) -> Result<String> {
    Error::check_flags(flags, 0, "testStorageVolGetXMLDesc")?;
    let s = sh.lock();
    let p = active_pool(&s, &vol.pool)?;
    let v = p
        .vol(&vol.name)
        .ok_or_else(|| errors::no_vol_name(&vol.name))?;
    Ok(v.to_xml())
}

pub(crate) fn storage_vol_get_path(sh: &Shared, vol: &VolRef) -> Result<String> {
    let s = sh.lock();
    let p = active_pool(&s, &vol.pool)?;
    let v = p
        .vol(&vol.name)
        .ok_or_else(|| errors::no_vol_name(&vol.name))?;
    Ok(v.target_path.clone().unwrap_or_default())
}
