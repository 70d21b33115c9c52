// SPDX-License-Identifier: LGPL-2.1-or-later
//! Volume files of file-based pools (dir, fs, netfs): creating them (raw
//! directly, other formats through `qemu-img`), cloning, resizing,
//! wiping, deleting, and reading back what a file is (size, allocation,
//! owner, times, format and backing store from its header).
//!
//! These functions run without any pool lock held: the caller marks the
//! volume as being built (or in use) first, so a slow `qemu-img` or a
//! large preallocation holds up nobody but its own caller.

use std::fs::{File, OpenOptions};
use std::io::{Seek, SeekFrom, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

use conf::storage::VolTimestamps;
use conf::xml::Element;
use conf::{PoolDef, VolDef};
use virterror::{ErrorCode, ErrorDomain, VirError};

use crate::cmd;
use crate::probe;

type Result<T> = std::result::Result<T, VirError>;

/// Mode of a new volume file unless the definition says otherwise.
pub const DEFAULT_VOL_MODE: u32 = 0o600;

/// VIR_STORAGE_VOL_CREATE_PREALLOC_METADATA.
pub const CREATE_PREALLOC_METADATA: u32 = 1 << 0;
/// VIR_STORAGE_VOL_CREATE_REFLINK.
pub const CREATE_REFLINK: u32 = 1 << 1;
/// VIR_STORAGE_VOL_CREATE_VALIDATE.
pub const CREATE_VALIDATE: u32 = 1 << 2;

pub(crate) fn sys(e: &std::io::Error, what: String) -> VirError {
    VirError::new(
        ErrorCode::SystemError,
        ErrorDomain::Storage,
        format!("{what}: {}", virterror::os_error_text(e)),
    )
}

fn errno_err(e: rustix::io::Errno) -> std::io::Error {
    std::io::Error::from_raw_os_error(e.raw_os_error())
}

fn err(code: ErrorCode, detail: impl Into<String>) -> VirError {
    VirError::new(code, ErrorDomain::Storage, detail)
}

/// Where an encrypted volume's passphrase comes from: the secret driver
/// (`opener`: in process in libvirtd, virtsecretd's socket from
/// virtstoraged), written for qemu-img to a file of its own under
/// `state_dir` that lives as long as the command.
pub struct SecretAccess<'a> {
    pub opener: Option<&'a driver::NetworkOpener>,
    pub state_dir: &'a Path,
}

/// VIR_SECRET_USAGE_TYPE_NONE / _VOLUME.
const USAGE_NONE: i32 = 0;
const USAGE_VOLUME: i32 = 1;

/// A passphrase file, removed when dropped.
struct SecretFile(std::path::PathBuf);

impl SecretFile {
    fn path(&self) -> String {
        self.0.to_string_lossy().into_owned()
    }
}

impl Drop for SecretFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// The name of `usage` for messages (virSecretUsageType).
fn usage_name(usage: i32) -> &'static str {
    match usage {
        0 => "none",
        1 => "volume",
        2 => "ceph",
        3 => "iscsi",
        4 => "tls",
        5 => "vtpm",
        _ => "unknown",
    }
}

/// The passphrase of `vol`'s `<encryption>` secret from the secret
/// driver, in a new file only its owner reads (libvirt's
/// POOL.VOL.secret.XXXXXX in the driver's state directory).
fn secret_file(pool: &PoolDef, vol: &VolDef, sa: &SecretAccess) -> Result<SecretFile> {
    let Some(enc) = vol.encryption.as_ref() else {
        return Err(err(
            ErrorCode::InternalError,
            "missing encryption description",
        ));
    };
    let secrets: Vec<&Element> = enc.children_named("secret").collect();
    let [secret] = secrets.as_slice() else {
        return Err(err(
            ErrorCode::InvalidArg,
            "A single <secret type='passphrase'...> element is expected in encryption description",
        ));
    };
    let Some(opener) = sa.opener else {
        return Err(err(
            ErrorCode::NoSupport,
            "no secret driver is available to read the volume's passphrase",
        ));
    };
    let conn = opener()?;
    let file = create_secret_file(sa.state_dir, &pool.name, &vol.name)?;
    let sec = lookup_secret(&*conn, secret, USAGE_VOLUME)?;
    let mut value = conn.secret_get_value(&sec, 0)?;
    let written = std::fs::OpenOptions::new()
        .write(true)
        .open(&file.0)
        .and_then(|mut f| f.write_all(&value));
    value.iter_mut().for_each(|b| *b = 0);
    written.map_err(|e| sys(&e, "failed to write secret file".into()))?;
    let uid = vol.target_perms.owner.and_then(|u| u32::try_from(u).ok());
    let gid = vol.target_perms.group.and_then(|g| u32::try_from(g).ok());
    if let (Some(u), Some(g)) = (uid, gid) {
        rustix::fs::chown(
            file.0.as_path(),
            Some(rustix::fs::Uid::from_raw(u)),
            Some(rustix::fs::Gid::from_raw(g)),
        )
        .map_err(|_| err(ErrorCode::InternalError, "failed to chown secret file"))?;
    }
    Ok(file)
}

/// The secret a `<secret uuid=.../>` or `<secret usage=.../>` element
/// names, looked up by uuid or by usage of type `usage_type`, refused
/// when it is of another usage type (libvirt's virSecretLookupSecret).
pub(crate) fn lookup_secret(
    conn: &dyn driver::Connection,
    secret: &Element,
    usage_type: i32,
) -> Result<driver::SecretRef> {
    let sec = match (secret.attr("uuid"), secret.attr("usage")) {
        (Some(u), _) => {
            let uuid = conf::Uuid::parse(u).ok_or_else(|| {
                err(
                    ErrorCode::InternalError,
                    format!("malformed secret uuid '{u}'"),
                )
            })?;
            conn.secret_lookup_by_uuid(&uuid.0)?
        }
        (None, Some(usage)) => conn.secret_lookup_by_usage(usage_type, usage)?,
        (None, None) => {
            return Err(err(
                ErrorCode::XmlError,
                "missing secret uuid or usage attribute",
            ))
        }
    };
    if sec.usage_type != USAGE_NONE && sec.usage_type != usage_type {
        return Err(err(
            ErrorCode::InvalidArg,
            format!(
                "secret with uuid {} is of type '{}' not expected '{}' type",
                conf::Uuid(sec.uuid),
                usage_name(sec.usage_type),
                usage_name(usage_type)
            ),
        ));
    }
    Ok(sec)
}

/// An encrypted volume without a secret (as a pool refresh finds it)
/// gets the volume secret whose usage is its path, when there is one
/// (libvirt's storageBackendLoadDefaultSecrets); nothing changes
/// otherwise.
pub fn default_secret(vol: &mut VolDef, opener: Option<&driver::NetworkOpener>) {
    let Some(enc) = vol.encryption.as_mut() else {
        return;
    };
    if enc.child("secret").is_some() {
        return;
    }
    let (Some(opener), Some(path)) = (opener, vol.target_path.as_deref()) else {
        return;
    };
    let Ok(sec) = opener().and_then(|c| c.secret_lookup_by_usage(USAGE_VOLUME, path)) else {
        return;
    };
    enc.push(
        Element::new("secret")
            .with_attr("type", "passphrase")
            .with_attr("uuid", &conf::Uuid(sec.uuid).to_string()),
    );
}

/// A new empty file `DIR/POOL.VOL.secret.XXXXXX`, mode 0600.
fn create_secret_file(dir: &Path, pool: &str, vol: &str) -> Result<SecretFile> {
    let mut seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
        ^ u128::from(std::process::id());
    let mut last = None;
    for _ in 0..100 {
        const CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        let mut suffix = String::new();
        for _ in 0..6 {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let i = usize::try_from((seed >> 64) % CHARS.len() as u128).unwrap_or(0);
            suffix.push(char::from(CHARS.get(i).copied().unwrap_or(b'X')));
        }
        let path = dir.join(format!("{pool}.{vol}.secret.{suffix}"));
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
        {
            Ok(_) => return Ok(SecretFile(path)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => last = Some(e),
            Err(e) => return Err(sys(&e, "failed to open secret file for write".into())),
        }
    }
    let e = last.unwrap_or_else(|| std::io::Error::from(std::io::ErrorKind::AlreadyExists));
    Err(sys(&e, "failed to open secret file for write".into()))
}

/// Creates `vol` (its target path set) from nothing, or from `input`.
pub fn build(
    pool: &PoolDef,
    vol: &VolDef,
    input: Option<&VolDef>,
    flags: u32,
    secrets: &SecretAccess,
) -> Result<()> {
    let path = vol.target_path.as_deref().unwrap_or_default();
    let format = vol.format.as_deref().unwrap_or("raw");
    let input_needs_tool = input.is_some_and(|i| {
        i.vol_type == "file"
            && (i.format.as_deref().unwrap_or("raw") != "raw" || i.encryption.is_some())
    });
    if input_needs_tool || (format != "raw" && format != "dir") || vol.encryption.is_some() {
        return qemu_img_create(pool, vol, input, flags, secrets);
    }
    if format == "dir" {
        if input.is_some() {
            return Err(err(
                ErrorCode::InternalError,
                "cannot copy from volume to a directory volume",
            ));
        }
        let mode = vol.target_perms.mode.unwrap_or(0o755);
        std::fs::create_dir(path).map_err(|e| sys(&e, format!("cannot create path '{path}'")))?;
        let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode));
        return Ok(());
    }
    create_raw(vol, input, flags)
}

/// A raw file: created exclusively, sized to the capacity, its
/// allocation reserved, the input (if any) copied in, synced; removed
/// again on any failure.
fn create_raw(vol: &VolDef, input: Option<&VolDef>, flags: u32) -> Result<()> {
    crate::check_flags(
        flags,
        CREATE_PREALLOC_METADATA | CREATE_REFLINK,
        "storageBackendCreateRaw",
    )?;
    if flags & CREATE_PREALLOC_METADATA != 0 {
        return Err(err(
            ErrorCode::ConfigUnsupported,
            "metadata preallocation is not supported for raw volumes",
        ));
    }
    if vol.backing_store.is_some() {
        return Err(err(
            ErrorCode::NoSupport,
            "backing storage not supported for raw volumes",
        ));
    }
    let path = vol.target_path.as_deref().unwrap_or_default();
    let mode = vol.target_perms.mode.unwrap_or(DEFAULT_VOL_MODE);
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .map_err(|e| sys(&e, format!("Failed to create file '{path}'")))?;
    let _ = file.set_permissions(std::fs::Permissions::from_mode(mode));
    chown(path, &vol.target_perms);
    let r = fill_raw(&file, path, vol, input);
    if r.is_err() {
        let _ = std::fs::remove_file(path);
    }
    r
}

fn chown(path: &str, perms: &conf::storage::Permissions) {
    let uid = perms.owner.and_then(|u| u32::try_from(u).ok());
    let gid = perms.group.and_then(|g| u32::try_from(g).ok());
    if uid.is_some() || gid.is_some() {
        let _ = std::os::unix::fs::chown(path, uid, gid);
    }
}

fn fill_raw(file: &File, path: &str, vol: &VolDef, input: Option<&VolDef>) -> Result<()> {
    let mut need_alloc = input.is_none_or(|i| vol.allocation >= i.capacity);
    file.set_len(vol.capacity)
        .map_err(|e| sys(&e, format!("cannot extend file '{path}'")))?;
    if vol.allocation > 0 && need_alloc {
        match rustix::fs::fallocate(file, rustix::fs::FallocateFlags::empty(), 0, vol.allocation) {
            Ok(()) => need_alloc = false,
            Err(e) if e == rustix::io::Errno::NOSYS || e == rustix::io::Errno::OPNOTSUPP => {}
            Err(e) => {
                return Err(sys(
                    &errno_err(e),
                    format!("cannot allocate {} bytes in file '{path}'", vol.allocation),
                ))
            }
        }
    }
    let mut pos = 0u64;
    if let Some(i) = input {
        pos = copy_sparse(i, file, path, !need_alloc)?;
    }
    if need_alloc && vol.allocation > pos {
        zero_range(file, pos, vol.allocation - pos)
            .map_err(|e| sys(&e, format!("cannot fill file '{path}'")))?;
    }
    file.sync_all()
        .map_err(|e| sys(&e, format!("cannot sync data to file '{path}'")))
}

/// Copies the input volume's bytes into `out`; blocks of zeros are
/// skipped (left as holes) when `sparse`. Returns the bytes covered.
fn copy_sparse(input: &VolDef, mut out: &File, out_path: &str, sparse: bool) -> Result<u64> {
    use std::io::Read;
    let in_path = input.target_path.as_deref().unwrap_or_default();
    let mut src = File::open(in_path)
        .map_err(|e| sys(&e, format!("could not open input path '{in_path}'")))?;
    let mut buf = vec![0u8; 1024 * 1024];
    let mut total = 0u64;
    loop {
        let n = match src.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(sys(&e, format!("failed reading from file '{in_path}'"))),
        };
        let chunk = &buf[..n];
        if sparse && chunk.iter().all(|b| *b == 0) {
            out.seek(SeekFrom::Current(n as i64))
                .map_err(|e| sys(&e, format!("cannot extend file '{out_path}'")))?;
        } else {
            out.write_all(chunk)
                .map_err(|e| sys(&e, format!("failed writing to file '{out_path}'")))?;
        }
        total += n as u64;
    }
    Ok(total)
}

fn zero_range(mut f: &File, from: u64, len: u64) -> std::io::Result<()> {
    f.seek(SeekFrom::Start(from))?;
    let buf = vec![0u8; 1024 * 1024];
    let mut left = len;
    while left > 0 {
        let n = left.min(buf.len() as u64) as usize;
        f.write_all(&buf[..n])?;
        left -= n as u64;
    }
    Ok(())
}

/// Runs the `qemu-img` command(s) for the volume; whatever it made is
/// removed when it fails.
fn qemu_img_create(
    pool: &PoolDef,
    vol: &VolDef,
    input: Option<&VolDef>,
    flags: u32,
    secrets: &SecretAccess,
) -> Result<()> {
    crate::check_flags(
        flags,
        CREATE_PREALLOC_METADATA,
        "storageBackendCreateQemuImg",
    )?;
    let Some(tool) = cmd::find_in_path("qemu-img") else {
        return Err(err(
            ErrorCode::InternalError,
            "creation of non-raw file images is not supported without qemu-img.",
        ));
    };
    // The passphrases first, as libvirt fetches them before building the
    // command; their files go when this returns.
    let secret = match vol.encryption {
        Some(_) => Some(secret_file(pool, vol, secrets)?),
        None => None,
    };
    let input_secret = match input.filter(|i| i.encryption.is_some()) {
        Some(i) => Some(secret_file(pool, i, secrets)?),
        None => None,
    };
    let spec = conf::storage_cmd::CreateSpec::from_defs(pool, vol, input, flags)
        .map_err(|e| e.in_domain(ErrorDomain::Storage))?;
    check_backing_access(pool, &spec)?;
    let commands = spec
        .commands(
            &tool.to_string_lossy(),
            secret.as_ref().map(SecretFile::path).as_deref(),
            input_secret.as_ref().map(SecretFile::path).as_deref(),
        )
        .map_err(|e| e.in_domain(ErrorDomain::Storage))?;
    let path = vol.target_path.as_deref().unwrap_or_default();
    let r = commands
        .iter()
        .try_for_each(|argv| cmd::run(argv).map(|_| ()));
    match r {
        Ok(_) => {
            let mode = vol.target_perms.mode.unwrap_or(DEFAULT_VOL_MODE);
            let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode));
            chown(path, &vol.target_perms);
            Ok(())
        }
        Err(e) => {
            let _ = std::fs::remove_file(path);
            Err(e)
        }
    }
}

fn check_backing_access(pool: &PoolDef, spec: &conf::storage_cmd::CreateSpec) -> Result<()> {
    let Some(b) = spec.backing_path.as_deref() else {
        return Ok(());
    };
    let abs = if b.starts_with('/') {
        b.to_string()
    } else {
        format!("{}/{b}", pool.target_path.as_deref().unwrap_or_default())
    };
    rustix::fs::access(abs.as_str(), rustix::fs::Access::READ_OK).map_err(|e| {
        sys(
            &errno_err(e),
            format!("inaccessible backing store volume {b}"),
        )
    })
}

/// virStorageBackendVolDeleteLocal.
pub fn delete(vol: &VolDef) -> Result<()> {
    let path = vol.target_path.as_deref().unwrap_or_default();
    let r = if vol.vol_type == "dir" {
        std::fs::remove_dir(path)
    } else {
        std::fs::remove_file(path)
    };
    match r {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) if vol.vol_type == "dir" => {
            Err(sys(&e, format!("cannot remove directory '{path}'")))
        }
        Err(e) => Err(sys(&e, format!("cannot unlink file '{path}'"))),
    }
}

/// VIR_STORAGE_VOL_RESIZE_ALLOCATE / _DELTA / _SHRINK.
pub mod resize_flags {
    pub const ALLOCATE: u32 = 1 << 0;
    pub const DELTA: u32 = 1 << 1;
    pub const SHRINK: u32 = 1 << 2;
}

/// virStorageBackendVolResizeLocal: a raw file is truncated or extended
/// (and allocated with ALLOCATE); other formats go through `qemu-img
/// resize`.
pub fn resize(
    pool: &PoolDef,
    vol: &VolDef,
    capacity: u64,
    flags: u32,
    secrets: &SecretAccess,
) -> Result<()> {
    let path = vol.target_path.as_deref().unwrap_or_default();
    let prealloc = flags & resize_flags::ALLOCATE != 0;
    if vol.format.as_deref().unwrap_or("raw") == "raw" && vol.encryption.is_none() {
        let f = OpenOptions::new()
            .write(true)
            .open(path)
            .map_err(|e| sys(&e, format!("Unable to open '{path}'")))?;
        if prealloc {
            let old = f.metadata().map(|m| m.len()).unwrap_or(0);
            if capacity > old {
                rustix::fs::fallocate(&f, rustix::fs::FallocateFlags::empty(), old, capacity - old)
                    .map_err(|e| {
                        sys(
                            &errno_err(e),
                            format!("Failed to pre-allocate space for file '{path}'"),
                        )
                    })?;
            }
        }
        f.set_len(capacity)
            .map_err(|e| sys(&e, format!("Failed to truncate file '{path}'")))?;
        return Ok(());
    }
    if prealloc {
        return Err(err(
            ErrorCode::OperationUnsupported,
            "preallocate is only supported for raw type volume",
        ));
    }
    let format = vol.format.as_deref().unwrap_or("raw");
    if let Some(e) = &vol.encryption {
        if matches!(e.attr("format"), None | Some("qcow") | Some("default"))
            && matches!(format, "qcow" | "qcow2")
        {
            return Err(err(
                ErrorCode::ConfigUnsupported,
                "resize of qcow2 encrypted image is not supported",
            ));
        }
    }
    let Some(tool) = cmd::find_in_path("qemu-img") else {
        return Err(err(ErrorCode::InternalError, "unable to find qemu-img"));
    };
    // An encrypted image is opened with its passphrase, found by the
    // volume's path when its definition names no secret.
    let mut secret = None;
    let mut vol = vol.clone();
    if vol.encryption.is_some() {
        default_secret(&mut vol, secrets.opener);
        let qemu_type = if format == "raw" { "luks" } else { format };
        if let Some(e) = &vol.encryption {
            conf::storage_cmd::check_encryption(format, qemu_type, e)
                .map_err(|e| e.in_domain(ErrorDomain::Storage))?;
        }
        secret = Some(secret_file(pool, &vol, secrets)?);
    }
    let capacity = capacity.div_ceil(512) * 512;
    let mut argv = vec![tool.to_string_lossy().into_owned(), "resize".into()];
    if capacity < vol.capacity {
        argv.push("--shrink".into());
    }
    match &secret {
        None => argv.push(path.to_string()),
        Some(f) => {
            let alias = format!("{}_encrypt0", vol.name);
            let (driver, prefix) = if format == "qcow2" {
                ("qcow2", "encrypt.")
            } else {
                ("luks", "")
            };
            argv.push("--object".into());
            argv.push(format!(
                "secret,id={alias},file={}",
                conf::storage_cmd::escape_comma(&f.path())
            ));
            argv.push("--image-opts".into());
            argv.push(format!(
                "driver={driver},{prefix}key-secret={alias},file.filename={}",
                conf::storage_cmd::escape_comma(path)
            ));
        }
    }
    argv.push(capacity.to_string());
    cmd::run(&argv).map(|_| ())
}

/// virStorageVolWipeAlgorithm names for `scrub -p`, by number.
const WIPE_ALGS: &[&str] = &[
    "zero",
    "nnsa",
    "dod",
    "bsi",
    "gutmann",
    "schneier",
    "pfitzner7",
    "pfitzner33",
    "random",
];
/// VIR_STORAGE_VOL_WIPE_ALG_TRIM.
pub const WIPE_ALG_TRIM: u32 = 9;

/// Checks the algorithm number as libvirt's driver does before the pool
/// is looked at.
pub fn check_wipe_algorithm(algorithm: u32) -> Result<()> {
    if algorithm > WIPE_ALG_TRIM {
        return Err(err(
            ErrorCode::InvalidArg,
            format!("wiping algorithm {algorithm} not supported"),
        ));
    }
    Ok(())
}

/// storageBackendVolWipeLocalFile: zeros written over the allocation
/// (a sparse file is truncated to nothing and back instead); the other
/// algorithms run `scrub`.
pub fn wipe(vol: &VolDef, algorithm: u32) -> Result<()> {
    let path = vol.target_path.as_deref().unwrap_or_default();
    let f = OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .map_err(|e| {
            sys(
                &e,
                format!("Failed to open storage volume with path '{path}'"),
            )
        })?;
    let md = f.metadata().map_err(|e| {
        sys(
            &e,
            format!("Failed to stat storage volume with path '{path}'"),
        )
    })?;
    if algorithm == WIPE_ALG_TRIM {
        return Err(err(
            ErrorCode::ArgumentUnsupported,
            "'trim' algorithm not supported",
        ));
    }
    let Some(alg) = WIPE_ALGS.get(algorithm as usize) else {
        return Err(err(
            ErrorCode::InvalidArg,
            format!("unsupported algorithm {algorithm}"),
        ));
    };
    if algorithm != 0 {
        let Some(scrub) = cmd::find_in_path("scrub") else {
            return Err(err(
                ErrorCode::InternalError,
                "Cannot find 'scrub' in path".to_string(),
            ));
        };
        let argv = vec![
            scrub.to_string_lossy().into_owned(),
            "-f".into(),
            "-p".into(),
            alg.to_string(),
            path.to_string(),
        ];
        return cmd::run(&argv).map(|_| ());
    }
    if md.is_file() && md.blocks() < md.size() / 512 {
        f.set_len(0).map_err(|e| {
            sys(
                &e,
                format!("Failed to truncate volume with path '{path}' to 0 bytes"),
            )
        })?;
        f.set_len(md.size()).map_err(|e| {
            sys(
                &e,
                format!(
                    "Failed to truncate volume with path '{path}' to {} bytes",
                    md.size()
                ),
            )
        })?;
        return Ok(());
    }
    let len = vol.allocation;
    let chunk = usize::try_from(md.blksize())
        .unwrap_or(4096)
        .clamp(512, 1 << 20);
    let buf = vec![0u8; chunk];
    let mut w = &f;
    w.seek(SeekFrom::Start(0)).map_err(|e| {
        sys(
            &e,
            format!("Failed to seek to the start in volume with path '{path}'"),
        )
    })?;
    let mut left = len;
    while left > 0 {
        let n = left.min(chunk as u64) as usize;
        w.write_all(&buf[..n]).map_err(|e| {
            sys(
                &e,
                format!("Failed to write {n} bytes to storage volume with path '{path}'"),
            )
        })?;
        left -= n as u64;
    }
    f.sync_data()
        .map_err(|e| sys(&e, format!("cannot sync data to volume with path '{path}'")))
}

/// Fills in what a file-pool volume is on disk: sizes, permissions,
/// times, and with `probe` (a pool refresh) the format, virtual size,
/// qcow2 details and backing store read from its header; without it (a
/// volume just made, or asked about) the definition's format and
/// features stay and only the virtual size is read. `Ok(None)`: the
/// entry is not a volume (a FIFO, a socket, a dangling link, ...),
/// skipped as libvirt skips it.
pub fn refresh(vol: &mut VolDef, full_probe: bool) -> Result<Option<()>> {
    let path = vol.target_path.clone().unwrap_or_default();
    let md = match std::fs::metadata(&path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(sys(&e, format!("cannot stat file '{path}'"))),
    };
    let ft = md.file_type();
    use std::os::unix::fs::FileTypeExt;
    if ft.is_fifo() || ft.is_socket() || ft.is_char_device() {
        return Ok(None);
    }
    fill_stat(vol, &md);
    if ft.is_dir() {
        vol.vol_type = "dir".into();
        vol.format = Some("dir".into());
        vol.capacity = md.size();
        vol.physical = None;
        return Ok(Some(()));
    }
    if ft.is_block_device() {
        vol.vol_type = "block".into();
        // A device's size is where it ends, not what stat says.
        if let Ok(mut f) = File::open(&path) {
            if let Ok(end) = f.seek(SeekFrom::End(0)) {
                vol.capacity = end;
                vol.allocation = end;
                vol.physical = Some(end);
            }
        }
        return Ok(Some(()));
    }
    let header = match probe::read_header(Path::new(&path)) {
        Ok(h) => h,
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => return Ok(None),
        Err(e) => return Err(sys(&e, format!("cannot read header '{path}'"))),
    };
    let p = probe::probe(&header);
    if let Some(c) = p.capacity {
        vol.capacity = c;
    }
    // A LUKS volume's guest-visible size leaves out its header; a pool
    // refresh learns the encryption from the header alone (its secret is
    // found again by the volume's path, see `default_secret`).
    if let Some(payload) = p.luks_payload {
        let luks = vol
            .encryption
            .as_ref()
            .is_some_and(|e| e.attr("format") == Some("luks"));
        if full_probe || luks {
            vol.capacity = vol.capacity.saturating_sub(payload);
        }
        if full_probe {
            vol.encryption = Some(Element::new("encryption").with_attr("format", "luks"));
        }
    } else if full_probe {
        vol.encryption = p
            .encryption
            .map(|f| Element::new("encryption").with_attr("format", f));
    }
    if full_probe {
        // A header that does not hold together (a backing name outside
        // it) still says its format and size; the rest is left out, as
        // libvirt's probe does.
        vol.format = Some(p.format.to_string());
        vol.compat = p.compat.map(str::to_string);
        vol.features = p.features.clone();
        vol.cluster_size = p.cluster_size;
        vol.backing_store = p
            .backing
            .as_deref()
            .map(|b| backing_element(&path, b, p.backing_format.as_deref()));
    } else if let Some(b) = vol
        .backing_store
        .as_ref()
        .and_then(|b| b.child_text("path"))
    {
        let f = vol
            .backing_store
            .as_ref()
            .and_then(|b| b.child("format"))
            .and_then(|f| f.attr("type"))
            .map(str::to_string);
        vol.backing_store = Some(backing_element(&path, &b, f.as_deref()));
    }
    Ok(Some(()))
}

fn fill_stat(vol: &mut VolDef, md: &std::fs::Metadata) {
    vol.allocation = md.blocks().saturating_mul(512);
    vol.capacity = md.size();
    vol.physical = Some(md.size()).filter(|s| *s > 0);
    vol.target_perms.mode = Some(md.mode() & 0o7777);
    vol.target_perms.owner = Some(i64::from(md.uid()));
    vol.target_perms.group = Some(i64::from(md.gid()));
    vol.timestamps = Some(timestamps(md));
}

fn timestamps(md: &std::fs::Metadata) -> VolTimestamps {
    VolTimestamps {
        atime: (md.atime(), md.atime_nsec()),
        mtime: (md.mtime(), md.mtime_nsec()),
        ctime: (md.ctime(), md.ctime_nsec()),
        btime: (0, 0),
    }
}

/// `<backingStore>` of a refreshed volume: the path as the header says,
/// its format (probed when the header does not say), and the backing
/// file's permissions and times where it can be read.
fn backing_element(vol_path: &str, backing: &str, fmt: Option<&str>) -> Element {
    let abs = if backing.starts_with('/') {
        backing.to_string()
    } else {
        let dir = Path::new(vol_path)
            .parent()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        format!("{dir}/{backing}")
    };
    let mut e = Element::new("backingStore");
    e.push(Element::new("path").with_text(backing));
    let probed = probe::read_header(Path::new(&abs))
        .ok()
        .map(|h| probe::probe(&h).format);
    let format = fmt.map(str::to_string).or(probed.map(str::to_string));
    e.push(Element::new("format").with_attr("type", format.as_deref().unwrap_or("raw")));
    if let Ok(md) = std::fs::metadata(&abs) {
        let mut p = Element::new("permissions");
        p.push(Element::new("mode").with_text(&format!("0{:o}", md.mode() & 0o7777)));
        p.push(Element::new("owner").with_text(&md.uid().to_string()));
        p.push(Element::new("group").with_text(&md.gid().to_string()));
        e.push(p);
        let t = timestamps(&md);
        let mut s = String::new();
        t.format(&mut s, 0);
        if let Ok(te) = conf::xml::parse_any(&s, "timestamps") {
            e.push(te);
        }
    }
    e
}

/// Copies the bytes of `input` into the existing (block) volume `vol`.
pub fn copy_into(input: &VolDef, vol: &VolDef) -> Result<()> {
    let path = vol.target_path.as_deref().unwrap_or_default();
    let out = OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(|e| sys(&e, format!("could not open output path '{path}'")))?;
    copy_sparse(input, &out, path, false)?;
    out.sync_all()
        .map_err(|e| sys(&e, format!("cannot sync data to file '{path}'")))
}
