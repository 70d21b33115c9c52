// SPDX-License-Identifier: LGPL-2.1-or-later
//! What each pool type does on the host: build, start, stop, delete,
//! check (is it still running after a daemon restart) and refresh
//! (its volumes and sizes). Pool types are those of libvirt's Debian
//! build: dir, fs, netfs, logical, disk, iscsi, scsi, mpath; a type
//! whose host side is not done here says so with libvirt's words for a
//! driver without that backend.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use conf::{PoolDef, VolDef};
use virterror::{ErrorCode, ErrorDomain, VirError};

use crate::vols::{self, sys};

type Result<T> = std::result::Result<T, VirError>;

/// VIR_STORAGE_POOL_BUILD_NEW / REPAIR / RESIZE / NO_OVERWRITE / OVERWRITE.
pub mod build_flags {
    pub const REPAIR: u32 = 1 << 0;
    pub const RESIZE: u32 = 1 << 1;
    pub const NO_OVERWRITE: u32 = 1 << 2;
    pub const OVERWRITE: u32 = 1 << 3;
}

/// Mode of a pool directory the driver creates unless the definition
/// says otherwise.
pub const DEFAULT_POOL_MODE: u32 = 0o711;

/// Pool types with a backend in this driver (libvirt's Debian build).
pub fn has_backend(ty: &str) -> bool {
    matches!(
        ty,
        "dir" | "fs" | "netfs" | "logical" | "disk" | "iscsi" | "scsi" | "mpath"
    )
}

/// libvirt's error for a pool type without a backend.
pub fn missing_backend(ty: &str) -> VirError {
    let n = conf::storage::POOL_TYPES
        .iter()
        .position(|t| *t == ty)
        .unwrap_or(0);
    VirError::new(
        ErrorCode::InternalError,
        ErrorDomain::Storage,
        format!("missing backend for pool type {n} ({ty})"),
    )
}

fn not_here(ty: &str, what: &str) -> VirError {
    VirError::new(
        ErrorCode::NoSupport,
        ErrorDomain::Storage,
        format!("pool type '{ty}' does not support {what} on this host"),
    )
}

/// What a refresh found.
pub struct Refreshed {
    pub vols: Vec<VolDef>,
    pub capacity: u64,
    pub allocation: u64,
    pub available: u64,
    pub perms: Option<conf::storage::Permissions>,
}

fn target(def: &PoolDef) -> &str {
    def.target_path.as_deref().unwrap_or_default()
}

/// Whether the pool is running on the host (after a daemon restart).
pub fn check(def: &PoolDef) -> Result<bool> {
    match def.pool_type.as_str() {
        "dir" => Ok(Path::new(target(def)).is_dir()),
        ty => Err(not_here(ty, "checking")),
    }
}

/// virStoragePoolBuild.
pub fn build(def: &PoolDef, flags: u32) -> Result<()> {
    match def.pool_type.as_str() {
        "dir" => {
            VirError::check_flags(flags, 0, "virStorageBackendFileSystemBuild")?;
            build_dir(def)
        }
        ty => Err(not_here(ty, "build")),
    }
}

/// virStorageBackendBuildLocal: the parents made as needed, the target
/// directory created (or its permissions set when it exists).
fn build_dir(def: &PoolDef) -> Result<()> {
    let path = target(def);
    let Some(slash) = path.rfind('/') else {
        return Err(VirError::new(
            ErrorCode::InvalidArg,
            ErrorDomain::Storage,
            format!("path '{path}' is not absolute"),
        ));
    };
    if slash > 0 {
        let parent = &path[..slash];
        std::fs::create_dir_all(parent)
            .map_err(|e| sys(&e, format!("cannot create path '{parent}'")))?;
    }
    let exists = Path::new(path).exists();
    let mode = def
        .target_perms
        .mode
        .or((!exists).then_some(DEFAULT_POOL_MODE));
    if !exists {
        std::fs::create_dir(path).map_err(|e| sys(&e, format!("cannot create path '{path}'")))?;
    }
    if let Some(m) = mode {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(m))
            .map_err(|e| sys(&e, format!("cannot set mode of '{path}' to {m:04o}")))?;
    }
    let uid = def.target_perms.owner.and_then(|u| u32::try_from(u).ok());
    let gid = def.target_perms.group.and_then(|g| u32::try_from(g).ok());
    if uid.is_some() || gid.is_some() {
        std::os::unix::fs::chown(path, uid, gid)
            .map_err(|e| sys(&e, format!("cannot chown '{path}'")))?;
    }
    Ok(())
}

/// Starting: a dir pool has nothing to start (its refresh finds a
/// missing directory).
pub fn start(def: &PoolDef) -> Result<()> {
    match def.pool_type.as_str() {
        "dir" => Ok(()),
        ty => Err(not_here(ty, "start")),
    }
}

/// Stopping.
pub fn stop(def: &PoolDef) -> Result<()> {
    match def.pool_type.as_str() {
        "dir" => Ok(()),
        ty => Err(not_here(ty, "stop")),
    }
}

/// virStoragePoolDelete.
pub fn delete(def: &PoolDef, flags: u32) -> Result<()> {
    match def.pool_type.as_str() {
        "dir" => {
            VirError::check_flags(flags, 0, "virStorageBackendDeleteLocal")?;
            let path = target(def);
            std::fs::remove_dir(path)
                .map_err(|e| sys(&e, format!("failed to remove pool '{path}'")))
        }
        _ => Err(VirError::new(
            ErrorCode::NoSupport,
            ErrorDomain::Storage,
            "pool does not support pool deletion",
        )),
    }
}

/// Volumes and sizes of a running pool.
pub fn refresh(def: &PoolDef) -> Result<Refreshed> {
    match def.pool_type.as_str() {
        "dir" => refresh_local(def),
        ty => Err(not_here(ty, "refresh")),
    }
}

/// virStorageBackendRefreshLocal: every entry of the target directory
/// that is a volume (names with control characters skipped), then the
/// file system's sizes.
pub fn refresh_local(def: &PoolDef) -> Result<Refreshed> {
    let path = target(def);
    let rd =
        std::fs::read_dir(path).map_err(|e| sys(&e, format!("cannot open directory '{path}'")))?;
    let mut vols = Vec::new();
    for ent in rd {
        let ent = ent.map_err(|e| sys(&e, format!("Unable to read directory '{path}'")))?;
        let name = ent.file_name().to_string_lossy().into_owned();
        if name.chars().any(|c| c.is_control()) {
            continue;
        }
        let mut v = VolDef {
            vol_type: "file".into(),
            name: name.clone(),
            key: Some(format!("{path}/{name}")),
            capacity: 0,
            allocation: 0,
            physical: None,
            target_path: Some(format!("{path}/{name}")),
            format: Some("raw".into()),
            target_perms: Default::default(),
            backing_store: None,
            source: None,
            encryption: None,
            compat: None,
            cluster_size: None,
            features: None,
            timestamps: None,
            nocow: false,
        };
        if vols::refresh(&mut v, true)?.is_some() {
            vols.push(v);
        }
    }
    vols.sort_by(|a, b| a.name.cmp(&b.name));
    let md = std::fs::metadata(path).map_err(|e| sys(&e, format!("cannot stat path '{path}'")))?;
    let st = rustix::fs::statvfs(path).map_err(|e| {
        sys(
            &std::io::Error::from_raw_os_error(e.raw_os_error()),
            format!("cannot statvfs path '{path}'"),
        )
    })?;
    let capacity = st.f_frsize.saturating_mul(st.f_blocks);
    let available = st.f_bfree.saturating_mul(st.f_frsize);
    Ok(Refreshed {
        vols,
        capacity,
        allocation: capacity.saturating_sub(available),
        available,
        perms: Some(conf::storage::Permissions {
            mode: Some(md.mode() & 0o7777),
            owner: Some(i64::from(md.uid())),
            group: Some(i64::from(md.gid())),
            label: None,
        }),
    })
}
