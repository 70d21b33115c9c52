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

use crate::cmd;
use crate::iscsi_direct;
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
    match ty {
        "dir" | "fs" | "netfs" | "logical" | "disk" | "iscsi" | "scsi" | "mpath" => true,
        // As libvirt's module, present where libiscsi is.
        "iscsi-direct" => iscsi_direct::available(),
        _ => false,
    }
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
    /// A disk pool's free extents (start, end exclusive), in bytes.
    pub free_extents: Option<Vec<(u64, u64)>>,
}

fn target(def: &PoolDef) -> &str {
    def.target_path.as_deref().unwrap_or_default()
}

/// Whether the pool is running on the host (after a daemon restart).
pub fn check(def: &PoolDef) -> Result<bool> {
    match def.pool_type.as_str() {
        "dir" => Ok(Path::new(target(def)).is_dir()),
        "fs" | "netfs" => {
            fs_valid(def)?;
            is_mounted(def)
        }
        "logical" => Ok(Path::new(target(def)).exists() && lvm_match_source(def).is_ok()),
        "disk" => {
            Ok(disk_device(def).is_ok_and(|d| Path::new(&d).exists())
                && disk_label_check(def).is_ok())
        }
        // Nothing on the host to lose: running is what the status says.
        "iscsi-direct" => Ok(true),
        ty => Err(not_here(ty, "checking")),
    }
}

/// virStoragePoolBuild.
pub fn build(def: &PoolDef, flags: u32) -> Result<()> {
    match def.pool_type.as_str() {
        "dir" | "fs" | "netfs" => {
            crate::check_flags(
                flags,
                build_flags::OVERWRITE | build_flags::NO_OVERWRITE,
                "virStorageBackendFileSystemBuild",
            )?;
            exclusive(flags)?;
            build_dir(def)?;
            // As libvirt's: any build flag means formatting the source
            // device, whatever the pool type of this backend.
            if flags != 0 {
                make_filesystem(def, flags)?;
            }
            Ok(())
        }
        "logical" => {
            crate::check_flags(
                flags,
                build_flags::OVERWRITE | build_flags::NO_OVERWRITE,
                "virStorageBackendLogicalBuildPool",
            )?;
            exclusive(flags)?;
            build_vg(def, flags)
        }
        "disk" => {
            crate::check_flags(
                flags,
                build_flags::OVERWRITE | build_flags::NO_OVERWRITE,
                "virStorageBackendDiskBuildPool",
            )?;
            exclusive(flags)?;
            build_label(def, flags)
        }
        // libvirt's backend has nothing to build, which succeeds.
        "iscsi-direct" => Ok(()),
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
        "fs" | "netfs" => {
            fs_valid(def)?;
            if is_mounted(def)? {
                return Ok(());
            }
            let mut argv = conf::storage_cmd::mount_argv(def);
            argv[0] = tool("mount");
            cmd::run(&argv).map(|_| ())
        }
        "logical" => {
            lvm_match_source(def)?;
            let mut argv = conf::storage_cmd::vgchange_argv(def, true);
            argv[0] = tool("vgchange");
            cmd::run(&argv).map(|_| ())
        }
        "disk" => disk_label_check(def),
        "mpath" => Ok(()),
        "scsi" => scsi_scan(def),
        "iscsi" => iscsi_login(def),
        // Each refresh logs in and out again.
        "iscsi-direct" => Ok(()),
        ty => Err(not_here(ty, "start")),
    }
}

/// Stopping.
pub fn stop(def: &PoolDef) -> Result<()> {
    match def.pool_type.as_str() {
        "dir" => Ok(()),
        "fs" | "netfs" => {
            fs_valid(def)?;
            if !is_mounted(def)? {
                return Ok(());
            }
            cmd::run(&[tool("umount"), target(def).to_string()]).map(|_| ())
        }
        "logical" => {
            let mut argv = conf::storage_cmd::vgchange_argv(def, false);
            argv[0] = tool("vgchange");
            cmd::run(&argv).map(|_| ())
        }
        "disk" | "mpath" | "iscsi-direct" => Ok(()),
        ty => Err(not_here(ty, "stop")),
    }
}

/// virStoragePoolDelete.
pub fn delete(def: &PoolDef, flags: u32) -> Result<()> {
    match def.pool_type.as_str() {
        "dir" | "fs" | "netfs" => {
            crate::check_flags(flags, 0, "virStorageBackendDeleteLocal")?;
            let path = target(def);
            std::fs::remove_dir(path)
                .map_err(|e| sys(&e, format!("failed to remove pool '{path}'")))
        }
        "logical" => {
            crate::check_flags(flags, 0, "virStorageBackendLogicalDeletePool")?;
            cmd::run(&[tool("vgremove"), "-f".into(), vg_name(def)])?;
            for d in devices(def) {
                let _ = cmd::run(&[tool("pvremove"), d]);
            }
            Ok(())
        }
        _ => Err(VirError::new(
            ErrorCode::NoSupport,
            ErrorDomain::Storage,
            "pool does not support pool deletion",
        )),
    }
}

/// Volumes and sizes of a running pool; `secrets` reads the
/// credentials of pools that log in to their source.
pub fn refresh(def: &PoolDef, secrets: Option<&driver::NetworkOpener>) -> Result<Refreshed> {
    match def.pool_type.as_str() {
        "iscsi-direct" => iscsi_direct::refresh(def, secrets),
        "dir" | "fs" | "netfs" => refresh_local(def),
        "logical" => refresh_vg(def),
        "disk" => refresh_disk(def),
        "mpath" => refresh_mpath(),
        ty => Err(not_here(ty, "refresh")),
    }
}

/// Whether the pool's volumes are files in its target directory.
pub fn file_based(ty: &str) -> bool {
    matches!(ty, "dir" | "fs" | "netfs")
}

/// Where a host tool is: the path libvirt's Debian build has compiled
/// in (so commands, and the errors naming them, read the same), else
/// PATH.
fn tool(name: &str) -> String {
    let fixed = match name {
        "mount" | "umount" => Some(format!("/bin/{name}")),
        "mkfs" | "pvcreate" | "pvremove" | "pvs" | "vgcreate" | "vgchange" | "vgremove" | "vgs"
        | "vgscan" | "lvcreate" | "lvremove" | "lvchange" | "lvs" | "showmount" => {
            Some(format!("/sbin/{name}"))
        }
        _ => None,
    };
    if let Some(f) = fixed.filter(|f| Path::new(f).exists()) {
        return f;
    }
    cmd::find_in_path(name)
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| name.to_string())
}

fn exclusive(flags: u32) -> Result<()> {
    if flags & build_flags::OVERWRITE != 0 && flags & build_flags::NO_OVERWRITE != 0 {
        return Err(VirError::verbatim(
            ErrorCode::InvalidArg,
            ErrorDomain::Storage,
            "Flags 'VIR_STORAGE_POOL_BUILD_OVERWRITE' and 'VIR_STORAGE_POOL_BUILD_NO_OVERWRITE' are mutually exclusive",
        ));
    }
    Ok(())
}

fn source(def: &PoolDef) -> Option<&conf::xml::Element> {
    def.source.as_ref()
}

fn devices(def: &PoolDef) -> Vec<String> {
    source(def)
        .map(|s| {
            s.children_named("device")
                .filter_map(|d| d.attr("path").map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn vg_name(def: &PoolDef) -> String {
    source(def)
        .and_then(|s| s.child_text("name"))
        .unwrap_or_default()
}

fn internal(msg: impl Into<String>) -> VirError {
    VirError::new(ErrorCode::InternalError, ErrorDomain::Storage, msg)
}

fn unsupported_cfg(msg: impl Into<String>) -> VirError {
    VirError::new(ErrorCode::ConfigUnsupported, ErrorDomain::Storage, msg)
}

/// virStorageBackendFileSystemIsValid.
fn fs_valid(def: &PoolDef) -> Result<()> {
    if def.pool_type == "netfs" {
        let hosts: Vec<&conf::xml::Element> = source(def)
            .map(|s| s.children_named("host").collect())
            .unwrap_or_default();
        if hosts.len() != 1 {
            return Err(unsupported_cfg(
                "expected exactly 1 host for the storage pool",
            ));
        }
        if hosts[0].attr("name").is_none_or(str::is_empty) {
            return Err(internal("missing source host"));
        }
        let dir = source(def)
            .and_then(|s| s.child("dir"))
            .and_then(|d| d.attr("path"));
        if dir.is_none_or(str::is_empty) {
            return Err(internal("missing source path"));
        }
    } else {
        let n = devices(def).len();
        if n != 1 {
            return Err(if n == 0 {
                internal("missing source device")
            } else {
                unsupported_cfg("expected exactly 1 device for the storage pool")
            });
        }
    }
    Ok(())
}

/// /proc/self/mounts's octal escapes undone.
fn unescape_mount(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            let v = (b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0');
            out.push(v);
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn same_path(a: &str, b: &str) -> bool {
    if a == b {
        return true;
    }
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    }
}

/// Whether the pool's source is mounted on its target.
fn is_mounted(def: &PoolDef) -> Result<bool> {
    let text = std::fs::read_to_string("/proc/self/mounts")
        .map_err(|e| sys(&e, "cannot read mount list '/proc/self/mounts'".into()))?;
    let src = conf::storage_cmd::mount_source(def);
    let tgt = target(def);
    Ok(text.lines().any(|l| {
        let mut f = l.split(' ');
        let (Some(fsname), Some(dir)) = (f.next(), f.next()) else {
            return false;
        };
        same_path(&unescape_mount(dir), tgt) && same_path(&unescape_mount(fsname), &src)
    }))
}

/// What blkid finds on a device: its type, `None` when nothing.
fn blkid_type(dev: &str) -> Result<Option<String>> {
    let out = std::process::Command::new(tool("blkid"))
        .args(["-p", "-s", "TYPE", "-o", "value", dev])
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| sys(&e, "Cannot run program 'blkid'".into()))?;
    match out.status.code() {
        Some(0) => {
            let t = String::from_utf8_lossy(&out.stdout).trim().to_string();
            Ok(Some(t).filter(|t| !t.is_empty()))
        }
        Some(2) => Ok(None),
        _ => Err(VirError::new(
            ErrorCode::StorageProbeFailed,
            ErrorDomain::Storage,
            format!("Failed to create filesystem probe for device {dev}"),
        )),
    }
}

/// virStorageBackendDeviceIsEmpty with a label to write: nothing there,
/// or libvirt's error naming what is.
fn device_empty(dev: &str, format: &str) -> Result<()> {
    match blkid_type(dev)? {
        None => Ok(()),
        Some(t) if t == format => Err(VirError::new(
            ErrorCode::StoragePoolBuilt,
            ErrorDomain::Storage,
            format!("Device '{dev}' already formatted using '{format}'"),
        )),
        Some(_) => Err(VirError::new(
            ErrorCode::StoragePoolBuilt,
            ErrorDomain::Storage,
            format!(
                "Format of device '{dev}' does not match the expected format '{format}', forced overwrite is necessary"
            ),
        )),
    }
}

/// virStorageBackendMakeFileSystem: `mkfs -t FORMAT` when overwriting,
/// or when the device holds nothing (NO_OVERWRITE).
fn make_filesystem(def: &PoolDef, flags: u32) -> Result<()> {
    let Some(dev) = devices(def).into_iter().next() else {
        return Err(VirError::new(
            ErrorCode::OperationInvalid,
            ErrorDomain::Storage,
            format!(
                "No source device specified when formatting pool '{}'",
                def.name
            ),
        ));
    };
    let format = source(def)
        .and_then(|s| s.child("format"))
        .and_then(|f| f.attr("type"))
        .unwrap_or("auto")
        .to_string();
    if !Path::new(&dev).exists() {
        return Err(VirError::new(
            ErrorCode::OperationInvalid,
            ErrorDomain::Storage,
            format!(
                "Source device does not exist when formatting pool '{}'",
                def.name
            ),
        ));
    }
    if flags & build_flags::OVERWRITE == 0 {
        device_empty(&dev, &format)?;
    }
    let mkfs = tool("mkfs");
    if !Path::new(&mkfs).exists() {
        return Err(internal(format!(
            "mkfs is not available on this platform: Failed to make filesystem of type '{format}' on device '{dev}'"
        )));
    }
    let mut argv = vec![mkfs, "-t".into(), format.clone()];
    match format.as_str() {
        "xfs" => argv.push("-f".into()),
        "ext2" | "ext3" | "ext4" => argv.push("-F".into()),
        "vfat" => argv.push("-I".into()),
        _ => {}
    }
    argv.push(dev);
    cmd::run(&argv).map(|_| ())
}

/// Zeros the first and last MiB of a device (LVM wants a blank start).
fn zero_ends(dev: &str) -> Result<()> {
    use std::io::{Seek, SeekFrom, Write};
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .open(dev)
        .map_err(|e| {
            sys(
                &e,
                format!("Failed to open storage volume with path '{dev}'"),
            )
        })?;
    let size = f
        .seek(SeekFrom::End(0))
        .map_err(|e| sys(&e, format!("Failed to seek in volume with path '{dev}'")))?;
    let n = size.min(1 << 20);
    let zeros = vec![0u8; n as usize];
    for at in [0, size - n] {
        f.seek(SeekFrom::Start(at))
            .and_then(|_| f.write_all(&zeros))
            .map_err(|e| {
                sys(
                    &e,
                    format!("Failed to write {n} bytes to storage volume with path '{dev}'"),
                )
            })?;
    }
    f.sync_data()
        .map_err(|e| sys(&e, format!("cannot sync data to volume with path '{dev}'")))
}

/// virStorageBackendLogicalBuildPool: each device checked (unless
/// overwriting), blanked and made a PV, then the VG; PVs made are
/// removed again on failure.
fn build_vg(def: &PoolDef, flags: u32) -> Result<()> {
    let mut argv = vec![tool("vgcreate"), vg_name(def)];
    let mut done: Vec<String> = Vec::new();
    let r = (|| {
        for d in devices(def) {
            if flags & build_flags::OVERWRITE == 0 {
                device_empty(&d, "LVM2_member")?;
            }
            zero_ends(&d)?;
            cmd::run(&[tool("pvcreate"), d.clone()])?;
            done.push(d.clone());
            argv.push(d);
        }
        cmd::run(&argv).map(|_| ())
    })();
    if r.is_err() {
        for d in &done {
            let _ = cmd::run(&[tool("pvremove"), d.clone()]);
        }
    }
    r
}

/// virStorageBackendLogicalMatchPoolSource: the VG exists and (when the
/// pool names devices) one of them is among its PVs.
fn lvm_match_source(def: &PoolDef) -> Result<()> {
    let _ = cmd::run(&[tool("vgscan")]);
    let out = cmd::run(&[
        tool("pvs"),
        "--noheadings".into(),
        "-o".into(),
        "pv_name,vg_name".into(),
    ])?;
    let name = vg_name(def);
    let pvs: Vec<String> = out
        .lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            let (pv, vg) = (f.next()?, f.next()?);
            (vg == name).then(|| pv.to_string())
        })
        .collect();
    if pvs.is_empty() {
        return Err(unsupported_cfg(format!(
            "cannot find logical volume group name '{name}'"
        )));
    }
    let devs = devices(def);
    if !devs.is_empty() && !devs.iter().any(|d| pvs.contains(d)) {
        return Err(unsupported_cfg(format!(
            "cannot find any matching source devices for logical volume group '{name}'"
        )));
    }
    Ok(())
}

/// virStorageBackendLogicalRefreshPool: the LVs (`lvs`) and the VG's
/// size and free space (`vgs`).
fn refresh_vg(def: &PoolDef) -> Result<Refreshed> {
    let name = vg_name(def);
    let lvs = cmd::run(&[
        tool("lvs"),
        "--separator".into(),
        "#".into(),
        "--noheadings".into(),
        "--units".into(),
        "b".into(),
        "--unbuffered".into(),
        "--nosuffix".into(),
        "--options".into(),
        "lv_name,uuid,size,lv_attr".into(),
        name.clone(),
    ])?;
    let mut vols = Vec::new();
    for l in lvs.lines() {
        let f: Vec<&str> = l.trim().split('#').collect();
        if f.len() < 4 {
            continue;
        }
        let size: u64 = f[2]
            .trim()
            .parse()
            .map_err(|_| internal("malformed volume allocation value"))?;
        let path = format!("{}/{}", target(def), f[0]);
        vols.push(VolDef {
            vol_type: "block".into(),
            name: f[0].to_string(),
            key: Some(f[1].to_string()),
            capacity: size,
            allocation: size,
            physical: None,
            target_path: Some(path),
            format: None,
            target_perms: Default::default(),
            backing_store: None,
            source: None,
            encryption: None,
            compat: None,
            cluster_size: None,
            features: None,
            timestamps: None,
            nocow: false,
        });
    }
    let vgs = cmd::run(&[
        tool("vgs"),
        "--separator".into(),
        ":".into(),
        "--noheadings".into(),
        "--units".into(),
        "b".into(),
        "--unbuffered".into(),
        "--nosuffix".into(),
        "--options".into(),
        "vg_size,vg_free".into(),
        name,
    ])?;
    let line = vgs
        .lines()
        .next()
        .unwrap_or_default()
        .trim()
        .trim_end_matches(':');
    let (size, free) = line
        .split_once(':')
        .and_then(|(a, b)| Some((a.trim().parse::<u64>().ok()?, b.trim().parse::<u64>().ok()?)))
        .ok_or_else(|| internal(format!("malformed vgs output '{line}'")))?;
    Ok(Refreshed {
        vols,
        capacity: size,
        allocation: size.saturating_sub(free),
        available: free,
        perms: None,
        free_extents: None,
    })
}

/// Creates a volume of a pool whose volumes are not files: `lvcreate`
/// for a logical pool (its path `/dev/VG/NAME`).
pub fn create_lv(def: &PoolDef, vol: &VolDef) -> Result<()> {
    if vol.encryption.is_some() {
        return Err(unsupported_cfg(
            "storage pool only supports LUKS encrypted volumes",
        ));
    }
    let mut argv = vec![
        tool("lvcreate"),
        "--name".into(),
        vol.name.clone(),
        "-L".into(),
    ];
    if vol.capacity != vol.allocation {
        argv.push(format!("{}K", vol.allocation.max(1).div_ceil(1024)));
        argv.extend(["--type".into(), "snapshot".into(), "--virtualsize".into()]);
    }
    argv.push(format!("{}K", vol.capacity.div_ceil(1024)));
    match vol
        .backing_store
        .as_ref()
        .and_then(|b| b.child_text("path"))
    {
        Some(b) => argv.extend(["-s".into(), b]),
        None => argv.push(vg_name(def)),
    }
    argv.push("--yes".into());
    cmd::run(&argv).map(|_| ())
}

/// Removes a logical volume.
pub fn delete_lv(vol: &VolDef) -> Result<()> {
    let path = vol.target_path.clone().unwrap_or_default();
    if cmd::run(&[tool("lvremove"), "-f".into(), path.clone()]).is_err() {
        cmd::run(&[tool("lvchange"), "-aln".into(), path.clone()])?;
        cmd::run(&[tool("lvremove"), "-f".into(), path])?;
    }
    Ok(())
}

/// virStorageBackendRefreshLocal: every entry of the target directory
/// that is a volume (names with control characters skipped), then the
/// file system's sizes.
pub fn refresh_local(def: &PoolDef) -> Result<Refreshed> {
    let path = target(def);
    // Reported as libvirt's directory helper reports it (no domain).
    let rd = std::fs::read_dir(path).map_err(|e| {
        VirError::new(
            ErrorCode::SystemError,
            ErrorDomain::None,
            format!(
                "cannot open directory '{path}': {}",
                virterror::os_error_text(&e)
            ),
        )
    })?;
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
        free_extents: None,
        perms: Some(conf::storage::Permissions {
            mode: Some(md.mode() & 0o7777),
            owner: Some(i64::from(md.uid())),
            group: Some(i64::from(md.gid())),
            label: None,
        }),
    })
}

/// The disk pool's device (exactly one).
fn disk_device(def: &PoolDef) -> Result<String> {
    let d = devices(def);
    match d.len() {
        1 => Ok(d[0].clone()),
        0 => Err(internal("missing source device")),
        _ => Err(unsupported_cfg(
            "expected exactly 1 device for the storage pool",
        )),
    }
}

/// The label a disk pool wants, as libvirt (dos unless said) and as
/// blkid and parted name it.
fn disk_format(def: &PoolDef) -> String {
    match source(def)
        .and_then(|s| s.child("format"))
        .and_then(|f| f.attr("type"))
    {
        None | Some("unknown") => "dos".into(),
        Some(f) => f.to_string(),
    }
}

fn blkid_pttype(dev: &str) -> Result<Option<String>> {
    let out = std::process::Command::new(tool("blkid"))
        .args(["-p", "-s", "PTTYPE", "-o", "value", dev])
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| sys(&e, "Cannot run program 'blkid'".into()))?;
    Ok(Some(String::from_utf8_lossy(&out.stdout).trim().to_string()).filter(|t| !t.is_empty()))
}

/// virStorageBackendDiskStartPool's check: the device is there and has
/// the label the pool says.
fn disk_label_check(def: &PoolDef) -> Result<()> {
    let dev = disk_device(def)?;
    if !Path::new(&dev).exists() {
        return Err(VirError::new(
            ErrorCode::InvalidArg,
            ErrorDomain::Storage,
            format!("device path '{dev}' doesn't exist"),
        ));
    }
    let want = disk_format(def);
    match blkid_pttype(&dev)? {
        None => Err(VirError::new(
            ErrorCode::StorageProbeFailed,
            ErrorDomain::Storage,
            format!("Device '{dev}' is unrecognized, requires build"),
        )),
        Some(t) if t == want => Ok(()),
        Some(_) => Err(VirError::new(
            ErrorCode::OperationInvalid,
            ErrorDomain::Storage,
            format!("Format of device '{dev}' does not match the expected format '{want}'"),
        )),
    }
}

/// virStorageBackendDiskBuildPool: a new partition table (parted
/// mklabel), after checking the device holds nothing unless told to
/// overwrite.
fn build_label(def: &PoolDef, flags: u32) -> Result<()> {
    let dev = disk_device(def)?;
    let fmt = disk_format(def);
    if flags & build_flags::OVERWRITE == 0 {
        let existing = match blkid_pttype(&dev)? {
            Some(t) => Some(t),
            None => blkid_type(&dev)?,
        };
        match existing {
            None => {}
            Some(t) if t == fmt => {
                return Err(VirError::new(
                    ErrorCode::StoragePoolBuilt,
                    ErrorDomain::Storage,
                    format!("Device '{dev}' already formatted using '{fmt}'"),
                ))
            }
            Some(_) => {
                return Err(VirError::new(
                    ErrorCode::StoragePoolBuilt,
                    ErrorDomain::Storage,
                    format!(
                        "Format of device '{dev}' does not match the expected format '{fmt}', forced overwrite is necessary"
                    ),
                ))
            }
        }
    }
    zero_ends(&dev)?;
    let label = if fmt == "dos" {
        "msdos".to_string()
    } else {
        fmt
    };
    cmd::run(&[
        tool("parted"),
        dev,
        "mklabel".into(),
        "--script".into(),
        label,
    ])
    .map(|_| ())
}

/// The device name of partition `n` of `dev` (libvirt's rule: a `p`
/// between when the device name ends with a digit, or when the pool says
/// part_separator='yes').
pub fn part_path(def: &PoolDef, dev: &str, n: u32) -> String {
    let sep = source(def)
        .and_then(|s| s.child("device"))
        .and_then(|d| d.attr("part_separator"));
    let p = match sep {
        Some("yes") => "p",
        Some("no") => "",
        _ if dev.ends_with(|c: char| c.is_ascii_digit()) => "p",
        _ => "",
    };
    format!("{dev}{p}{n}")
}

/// A row of `parted -m print free`: (number, start, end, free).
type PartRow = (u32, u64, u64, bool);

/// The disk's size, its label type (`msdos`, `gpt`, ...) and its
/// partitions and free extents.
fn parted_table(dev: &str) -> Result<(u64, String, Vec<PartRow>)> {
    let out = cmd::run(&[
        tool("parted"),
        "-s".into(),
        "-m".into(),
        dev.to_string(),
        "unit".into(),
        "B".into(),
        "print".into(),
        "free".into(),
    ])?;
    let num = |s: &str| s.trim_end_matches('B').parse::<u64>().ok();
    let mut size = 0;
    let mut label = String::new();
    let mut rows = Vec::new();
    for (i, l) in out.lines().enumerate() {
        let f: Vec<&str> = l.trim_end_matches(';').split(':').collect();
        if i == 1 {
            size = f.get(1).and_then(|s| num(s)).unwrap_or(0);
            label = f.get(5).map(|s| s.to_string()).unwrap_or_default();
            continue;
        }
        if i < 2 || f.len() < 4 {
            continue;
        }
        let (Some(n), Some(a), Some(b)) = (f[0].parse::<u32>().ok(), num(f[1]), num(f[2])) else {
            continue;
        };
        rows.push((n, a, b, f.get(4) == Some(&"free")));
    }
    Ok((size, label, rows))
}

/// The partitions of a disk pool and its sizes.
fn refresh_disk(def: &PoolDef) -> Result<Refreshed> {
    let dev = disk_device(def)?;
    if !Path::new(&dev).exists() {
        return Err(VirError::new(
            ErrorCode::InvalidArg,
            ErrorDomain::Storage,
            format!("device path '{dev}' doesn't exist"),
        ));
    }
    let (_, label, rows) = parted_table(&dev)?;
    let geometry = disk_geometry(&dev)?;
    let mut vols = Vec::new();
    let mut allocation = 0u64;
    let mut available = 0u64;
    let extents = free_extents(&rows, &label, &geometry);
    for (a, b) in &extents {
        available += b - a;
    }
    for (n, a, b, free) in rows {
        let len = b.saturating_sub(a) + 1;
        if free {
            continue;
        }
        allocation += len;
        let path = part_path(def, &dev, n);
        let name = Path::new(&path)
            .file_name()
            .map(|x| x.to_string_lossy().into_owned())
            .unwrap_or_default();
        // Where the partition lies on the disk, as libvirt shows it
        // (end exclusive).
        let mut extent = conf::xml::Element::new("extent");
        extent.set_attr("start", &a.to_string());
        extent.set_attr("end", &(b + 1).to_string());
        let mut device = conf::xml::Element::new("device");
        device.set_attr("path", &dev);
        device.push(extent);
        let mut src = conf::xml::Element::new("source");
        src.push(device);
        vols.push(VolDef {
            vol_type: "block".into(),
            name,
            key: Some(path.clone()),
            capacity: len,
            allocation: len,
            physical: None,
            target_path: Some(path),
            format: Some("none".into()),
            target_perms: Default::default(),
            backing_store: None,
            source: Some(src),
            encryption: None,
            compat: None,
            cluster_size: None,
            features: None,
            timestamps: None,
            nocow: false,
        });
    }
    Ok(Refreshed {
        vols,
        // The disk's size in whole cylinders, as libvirt reports it.
        capacity: geometry.bytes(),
        allocation,
        available,
        perms: None,
        free_extents: Some(extents),
    })
}

fn disk_geometry(dev: &str) -> Result<host::blockdev::Geometry> {
    host::blockdev::geometry(Path::new(dev)).map_err(|e| {
        internal(format!(
            "cannot read the geometry of '{dev}': {}",
            virterror::os_error_text(&e.into_io())
        ))
    })
}

/// The free extents of a disk (start, end exclusive) as libparted lists
/// them to libvirt: on an msdos label, what lies past the last whole
/// cylinder is the label's, not free; the first sector always counts as
/// taken.
fn free_extents(
    rows: &[PartRow],
    label: &str,
    geometry: &host::blockdev::Geometry,
) -> Vec<(u64, u64)> {
    let limit = if label == "msdos" {
        geometry.bytes()
    } else {
        u64::MAX
    };
    rows.iter()
        .filter(|r| r.3)
        .filter_map(|r| {
            let start = r.1.max(512);
            let end = (r.2 + 1).min(limit);
            (end > start).then_some((start, end))
        })
        .collect()
}

/// A new primary partition for `vol` in the smallest free extent that
/// holds it, placed as libvirt places it (on an msdos label its end on a
/// cylinder boundary), named as the kernel will name it.
pub fn create_partition(def: &PoolDef, vol: &VolDef) -> Result<String> {
    if vol.encryption.is_some() {
        return Err(unsupported_cfg(
            "storage pool only supports LUKS encrypted volumes",
        ));
    }
    let dev = disk_device(def)?;
    let (_, label, rows) = parted_table(&dev)?;
    let used: Vec<u32> = rows.iter().filter(|r| !r.3).map(|r| r.0).collect();
    let next = (1..=4).find(|n| !used.contains(n)).ok_or_else(|| {
        internal("no extended partition found and no primary partition available")
    })?;
    let expected = part_path(def, &dev, next);
    let expected_name = Path::new(&expected)
        .file_name()
        .map(|x| x.to_string_lossy().into_owned())
        .unwrap_or_default();
    if vol.name != expected_name {
        return Err(VirError::new(
            ErrorCode::InvalidArg,
            ErrorDomain::Storage,
            format!(
                "invalid partition name '{}', expected '{expected_name}'",
                vol.name
            ),
        ));
    }
    let geometry = disk_geometry(&dev)?;
    let extents = free_extents(&rows, &label, &geometry);
    let dos = disk_format(def) == "dos";
    let (start, end) = partition_boundaries(&extents, dos, geometry.cylinder_bytes(), vol.capacity)
        .ok_or_else(|| internal("no large enough free extent"))?;
    cmd::run(&[
        tool("parted"),
        dev,
        "mkpart".into(),
        "--script".into(),
        "primary".into(),
        format!("{start}B"),
        format!("{end}B"),
    ])?;
    // The kernel makes the partition's node; give it a moment to appear.
    for _ in 0..100 {
        if Path::new(&expected).exists() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    Ok(expected)
}

/// Where libvirt puts a new primary partition of `allocation` bytes:
/// the smallest free extent larger than what it needs (on a DOS label the
/// allocation rounded up to whole cylinders, one more when the extent
/// starts too far into one), from its start to the end of the last
/// cylinder used; (start, last byte).
fn partition_boundaries(
    extents: &[(u64, u64)],
    dos: bool,
    cylinder: u64,
    allocation: u64,
) -> Option<(u64, u64)> {
    let cylinder = cylinder.max(1);
    let extra = cylinder - allocation % cylinder;
    let mut best: Option<(u64, u64, u64)> = None;
    for (start, end) in extents {
        let size = end - start;
        let mut needed = allocation;
        if dos {
            needed += extra;
            if start % cylinder > extra {
                needed += cylinder;
            }
        }
        if size > needed && best.is_none_or(|(s, _, _)| size < s) {
            best = Some((size, *start, needed));
        }
    }
    let (_, start, needed) = best?;
    let mut end = start + needed;
    if dos {
        end -= start % cylinder;
    }
    Some((start, end - 1))
}

/// Removes the partition `vol` of a disk pool.
pub fn delete_partition(def: &PoolDef, vol: &VolDef) -> Result<()> {
    let dev = disk_device(def)?;
    let path = vol.target_path.clone().unwrap_or_default();
    let Some(rest) = path.strip_prefix(&dev) else {
        return Err(internal(format!(
            "Volume path '{path}' did not start with parent pool source device name."
        )));
    };
    let num = rest.trim_start_matches('p');
    if num.is_empty() || !num.bytes().all(|b| b.is_ascii_digit()) {
        return Err(internal(format!(
            "cannot parse partition number from target '{path}'"
        )));
    }
    cmd::run(&[
        tool("parted"),
        dev,
        "rm".into(),
        "--script".into(),
        num.to_string(),
    ])
    .map(|_| ())
}

/// virConnectFindStoragePoolSources: the volume groups `pvs` knows for
/// logical pools; libvirt's errors for the other types.
pub fn find_sources(ty: &str, _spec: Option<&str>, flags: u32) -> Result<String> {
    if !conf::storage::POOL_TYPES.contains(&ty) {
        return Err(internal(format!("unknown storage pool type {ty}")));
    }
    if !has_backend(ty) {
        return Err(missing_backend(ty));
    }
    if ty == "iscsi-direct" {
        return iscsi_direct::find_sources(_spec, flags);
    }
    if ty == "netfs" {
        crate::check_flags(flags, 0, "virStorageBackendFileSystemNetFindPoolSources")?;
        return find_nfs_sources(_spec);
    }
    if ty != "logical" {
        return Err(VirError::new(
            ErrorCode::NoSupport,
            ErrorDomain::Storage,
            format!("pool type '{ty}' does not support source discovery"),
        ));
    }
    crate::check_flags(flags, 0, "virStorageBackendLogicalFindPoolSources")?;
    let _ = cmd::run(&[tool("vgscan")]);
    let out = cmd::run(&[
        tool("pvs"),
        "--noheadings".into(),
        "-o".into(),
        "pv_name,vg_name".into(),
    ])?;
    // Volume groups in the order pvs first names them, with their PVs.
    let mut groups: Vec<(String, Vec<String>)> = Vec::new();
    for l in out.lines() {
        let mut f = l.split_whitespace();
        let (Some(pv), Some(vg)) = (f.next(), f.next()) else {
            continue;
        };
        match groups.iter_mut().find(|(n, _)| n == vg) {
            Some((_, pvs)) => pvs.push(pv.to_string()),
            None => groups.push((vg.to_string(), vec![pv.to_string()])),
        }
    }
    let mut x = String::from("<sources>\n");
    for (vg, pvs) in groups {
        x.push_str("  <source>\n");
        for pv in pvs {
            x.push_str(&format!(
                "    <device path='{}'/>\n",
                conf::xml::escape(&pv)
            ));
        }
        x.push_str(&format!("    <name>{}</name>\n", conf::xml::escape(&vg)));
        x.push_str("    <format type='lvm2'/>\n");
        x.push_str("  </source>\n");
    }
    x.push_str("</sources>\n");
    Ok(x)
}

/// The multipath devices of the host: device-mapper devices whose UUID
/// says `mpath-` (none where the kernel has no device-mapper).
fn refresh_mpath() -> Result<Refreshed> {
    let mut vols = Vec::new();
    let mut capacity = 0u64;
    if let Ok(rd) = std::fs::read_dir("/sys/block") {
        for e in rd.flatten() {
            let dm = e.path().join("dm");
            let uuid = std::fs::read_to_string(dm.join("uuid")).unwrap_or_default();
            if !uuid.starts_with("mpath-") {
                continue;
            }
            let name = std::fs::read_to_string(dm.join("name")).unwrap_or_default();
            let name = name.trim().to_string();
            let sectors: u64 = std::fs::read_to_string(e.path().join("size"))
                .ok()
                .and_then(|s| s.trim().parse().ok())
                .unwrap_or(0);
            let size = sectors.saturating_mul(512);
            capacity += size;
            let path = format!("/dev/mapper/{name}");
            vols.push(VolDef {
                vol_type: "block".into(),
                name: e.file_name().to_string_lossy().into_owned(),
                key: Some(path.clone()),
                capacity: size,
                allocation: size,
                physical: None,
                target_path: Some(path),
                format: None,
                target_perms: Default::default(),
                backing_store: None,
                source: None,
                encryption: None,
                compat: None,
                cluster_size: None,
                features: None,
                timestamps: None,
                nocow: false,
            });
        }
    }
    Ok(Refreshed {
        vols,
        capacity,
        allocation: capacity,
        available: 0,
        perms: None,
        free_extents: None,
    })
}

/// A SCSI host adapter's LUNs are found by asking the host to scan,
/// as libvirt does when the pool starts; listing them is not done here.
fn scsi_scan(def: &PoolDef) -> Result<()> {
    let name = source(def)
        .and_then(|s| s.child("adapter"))
        .and_then(|a| a.attr("name"))
        .unwrap_or_default()
        .to_string();
    let path = format!("/sys/class/scsi_host/{name}/scan");
    std::fs::write(&path, "- - -").map_err(|e| {
        VirError::new(
            ErrorCode::SystemError,
            ErrorDomain::Storage,
            format!(
                "Could not open '{path}' to trigger host scan: {}",
                virterror::os_error_text(&e)
            ),
        )
    })?;
    Err(not_here("scsi", "listing the LUNs of a SCSI host"))
}

/// libvirt logs in to the target with iscsiadm (its Debian build runs
/// /usr/bin/iscsiadm; open-iscsi): without it, the first step fails as
/// libvirt's does; with it, this daemon does not log in (not done here).
fn iscsi_login(def: &PoolDef) -> Result<()> {
    let host = source(def)
        .and_then(|s| s.child("host"))
        .and_then(|h| h.attr("name"))
        .map(str::to_string);
    if host.as_deref().is_none_or(str::is_empty) {
        return Err(internal("missing source host"));
    }
    let Some(target) = devices(def).into_iter().next() else {
        return Err(internal("missing source device"));
    };
    const ISCSIADM: &str = "/usr/bin/iscsiadm";
    if !Path::new(ISCSIADM).exists() {
        // What libvirt reports when its iscsiadm cannot run (exit 127).
        return Err(internal(format!(
            "{ISCSIADM} failed new mode for target '{target}' with status '127'"
        )));
    }
    Err(not_here("iscsi", "logging in to targets"))
}

/// netfs source discovery: the exports `showmount` lists for the host
/// the spec names.
fn find_nfs_sources(spec: Option<&str>) -> Result<String> {
    let host = spec
        .and_then(|s| conf::xml::parse_document(s, "(storage_source_specification)", "source").ok())
        .and_then(|s| {
            s.child("host")
                .and_then(|h| h.attr("name"))
                .map(str::to_string)
        })
        .filter(|h| !h.is_empty());
    let Some(host) = host else {
        return Err(VirError::new(
            ErrorCode::InvalidArg,
            ErrorDomain::Storage,
            "hostname must be specified for netfs sources",
        ));
    };
    let out = cmd::run(&[
        tool("showmount"),
        "--no-headers".into(),
        "--exports".into(),
        host.clone(),
    ])?;
    let mut x = String::from("<sources>\n");
    for l in out.lines() {
        let Some((dir, _clients)) = l.trim_end().rsplit_once(' ') else {
            continue;
        };
        let dir = dir.trim_end();
        if !dir.starts_with('/') {
            continue;
        }
        x.push_str("  <source>\n");
        x.push_str(&format!(
            "    <host name='{}'/>\n",
            conf::xml::escape(&host)
        ));
        x.push_str(&format!("    <dir path='{}'/>\n", conf::xml::escape(dir)));
        x.push_str("    <format type='nfs'/>\n");
        x.push_str("  </source>\n");
    }
    x.push_str("</sources>\n");
    if x == "<sources>\n</sources>\n" {
        return Err(VirError::new(
            ErrorCode::OperationFailed,
            ErrorDomain::Storage,
            format!("no storage pools were found on host '{host}'"),
        ));
    }
    Ok(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Placements C's disk backend made on a 64 MiB loop device (255
    /// heads of 2 sectors: 261120-byte cylinders).
    #[test]
    fn partitions_placed_as_libvirt_places_them() {
        let cyl = 255 * 2 * 512;
        assert_eq!(
            partition_boundaries(&[(1024, 67107840)], true, cyl, 10 << 20),
            Some((1024, 10705919))
        );
        assert_eq!(
            partition_boundaries(&[(10705920, 67107840)], true, cyl, 7 << 20),
            Some((10705920, 18278399))
        );
        // The smallest extent that is larger than needed.
        assert_eq!(
            partition_boundaries(
                &[(1024, 67107840), (10705920, 18278400)],
                true,
                cyl,
                1 << 20
            ),
            Some((10705920, 12011519))
        );
        assert_eq!(
            partition_boundaries(&[(1024, 2 << 20)], true, cyl, 4 << 20),
            None
        );
        // No cylinder rounding off DOS labels.
        assert_eq!(
            partition_boundaries(&[(17408, 67091968)], false, cyl, 1 << 20),
            Some((17408, 17408 + (1 << 20) - 1))
        );
    }

    #[test]
    fn free_extents_stop_at_the_last_cylinder_on_msdos() {
        let g = host::blockdev::Geometry {
            cylinders: 257,
            heads: 255,
            sectors: 2,
        };
        let rows = [(1, 0, 1023, true), (1, 1024, 67108863, true)];
        assert_eq!(
            free_extents(&rows, "msdos", &g),
            vec![(512, 1024), (1024, 67107840)]
        );
        assert_eq!(
            free_extents(&rows, "gpt", &g),
            vec![(512, 1024), (1024, 67108864)]
        );
    }
}
