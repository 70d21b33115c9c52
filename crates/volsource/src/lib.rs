// SPDX-License-Identifier: LGPL-2.1-or-later
//! Guest disks from pool volumes: a `<disk type='volume'>` names a pool
//! and a volume (`<source pool='P' volume='V'/>`); before a hypervisor
//! driver builds its configuration, the storage driver says what the
//! volume is, and the disk is read as a disk of that actual type (file,
//! block or dir) on the volume's path, as libvirt's
//! virDomainDiskTranslateSourcePool does. The guest's definition keeps
//! the volume; only the copy the configuration is built from is
//! translated.
//!
//! The storage driver is reached through [`StorageAccess`]: the storage
//! driver of the same process in libvirtd.
//!
//! Depends on no driver; its errors are libvirt's, from the domain
//! error domain (where libvirt reports them) or the storage driver's own.
#![forbid(unsafe_code)]

use conf::xml::Element;
use conf::{DomainDef, PoolDef};
use driver::{Connection, Error, NetworkOpener};
use virterror::{ErrorCode, ErrorDomain};

/// How a hypervisor driver reaches the storage driver: opens a
/// connection to `storage:///system` for one translation.
#[derive(Clone)]
pub struct StorageAccess(pub NetworkOpener);

impl std::fmt::Debug for StorageAccess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StorageAccess")
    }
}

fn is_volume_disk(el: &Element) -> bool {
    el.name == "disk" && el.attr("type") == Some("volume")
}

/// Whether the definition has any disk backed by a pool volume.
pub fn has_volume_disks(def: &DomainDef) -> bool {
    def.devices.iter().any(is_volume_disk)
}

fn open(access: Option<&StorageAccess>) -> Result<std::sync::Arc<dyn Connection>, Error> {
    match access {
        Some(a) => (a.0)(),
        None => Err(Error::new(
            ErrorCode::NoConnect,
            ErrorDomain::None,
            "storage:///system",
        )),
    }
}

/// virStorageVolType names, by number.
fn vol_type_name(t: i32) -> &'static str {
    match t {
        0 => "file",
        1 => "block",
        2 => "dir",
        3 => "network",
        4 => "netdir",
        5 => "ploop",
        _ => "unknown",
    }
}

/// A copy of `def` whose volume disks read as the disks they stand for.
/// A definition without volume disks comes back unchanged without the
/// storage driver being asked.
pub fn translate(def: &DomainDef, access: Option<&StorageAccess>) -> Result<DomainDef, Error> {
    let mut out = def.clone();
    if !has_volume_disks(def) {
        return Ok(out);
    }
    let conn = open(access)?;
    for el in out.devices.iter_mut().filter(|d| is_volume_disk(d)) {
        translate_disk(&*conn, el)?;
    }
    Ok(out)
}

fn translate_disk(conn: &dyn Connection, el: &mut Element) -> Result<(), Error> {
    let src = el
        .child("source")
        .cloned()
        .unwrap_or_else(|| Element::new("source"));
    let pool_name = src.attr("pool").unwrap_or_default().to_string();
    let vol_name = src.attr("volume").unwrap_or_default().to_string();
    let pool = conn.storage_pool_lookup_by_name(&pool_name)?;
    if !conn.storage_pool_is_active(&pool)? {
        return Err(Error::new(
            ErrorCode::ConfigUnsupported,
            ErrorDomain::Domain,
            format!("storage pool '{pool_name}' containing volume '{vol_name}' is not active"),
        ));
    }
    let vol = conn.storage_vol_lookup_by_name(&pool, &vol_name)?;
    let info = conn.storage_vol_get_info(&vol)?;
    let pool_xml = conn.storage_pool_get_xml_desc(&pool, 0)?;
    let pool_def = PoolDef::parse_str(&pool_xml).map_err(|e| e.in_domain(ErrorDomain::Domain))?;
    let pool_type = pool_def.pool_type.as_str();
    if src.attr("mode").is_some() && pool_type != "iscsi" {
        return Err(Error::new(
            ErrorCode::XmlError,
            ErrorDomain::Domain,
            "disk source mode is only valid when storage pool is of iscsi type",
        ));
    }
    let actual = match pool_type {
        "dir" | "fs" | "netfs" | "logical" | "disk" | "scsi" | "zfs" | "vstorage" => {
            match info.vol_type {
                0 | 5 => "file",
                2 => "dir",
                1 => "block",
                t => {
                    return Err(Error::new(
                        ErrorCode::InternalError,
                        ErrorDomain::Domain,
                        format!(
                        "unexpected storage volume type '{}' for storage pool type '{pool_type}'",
                        vol_type_name(t)
                    ),
                    ))
                }
            }
        }
        "iscsi" if src.attr("mode") != Some("direct") => "block",
        _ => {
            return Err(Error::new(
                ErrorCode::ConfigUnsupported,
                ErrorDomain::Domain,
                format!("using '{pool_type}' pools for backing 'volume' disks isn't yet supported"),
            ))
        }
    };
    let path = conn.storage_vol_get_path(&vol)?;
    let attr = match actual {
        "file" => "file",
        "dir" => "dir",
        _ => "dev",
    };
    el.set_attr("type", actual);
    let mut s = src;
    for a in ["pool", "volume", "mode"] {
        s.remove_attr(a);
    }
    s.insert_attr(0, attr, &path);
    match el.child_mut("source") {
        Some(old) => *old = s,
        None => {
            el.push(s);
        }
    }
    Ok(())
}
