// SPDX-License-Identifier: LGPL-2.1-or-later
//! Mounts inside a private mount namespace: propagation, binds, special
//! filesystems, pivot_root and device nodes.

use crate::{check, cpath, cstr, Error, Result};
use std::path::Path;

pub use libc::{
    MS_BIND, MS_NODEV, MS_NOEXEC, MS_NOSUID, MS_PRIVATE, MS_RDONLY, MS_REC, MS_REMOUNT, MS_SLAVE,
};

/// mount(2) with optional source, filesystem type and data.
pub fn mount(
    source: Option<&str>,
    target: &Path,
    fstype: Option<&str>,
    flags: libc::c_ulong,
    data: Option<&str>,
) -> Result<()> {
    let src = source.map(cstr).transpose()?;
    let tgt = cpath(target)?;
    let fst = fstype.map(cstr).transpose()?;
    let dat = data.map(cstr).transpose()?;
    // SAFETY: every pointer is either null or a valid NUL-terminated string
    // living until the call returns.
    let r = unsafe {
        libc::mount(
            src.as_ref().map_or(std::ptr::null(), |s| s.as_ptr()),
            tgt.as_ptr(),
            fst.as_ref().map_or(std::ptr::null(), |s| s.as_ptr()),
            flags,
            dat.as_ref().map_or(std::ptr::null(), |s| s.as_ptr().cast()),
        )
    };
    check(r, || {
        format!(
            "Failed to mount {} on {} (type {})",
            source.unwrap_or("none"),
            target.display(),
            fstype.unwrap_or("none")
        )
    })?;
    Ok(())
}

/// Bind-mounts `source` on `target` (recursively when `recursive`), then
/// remounts read-only when asked (a bind ignores MS_RDONLY on first mount).
pub fn bind(source: &Path, target: &Path, recursive: bool, readonly: bool) -> Result<()> {
    let src = source
        .to_str()
        .ok_or_else(|| Error::Invalid(format!("non-UTF-8 path {}", source.display())))?;
    let rec = if recursive { MS_REC } else { 0 };
    mount(Some(src), target, None, MS_BIND | rec, None)?;
    if readonly {
        mount(
            None,
            target,
            None,
            MS_BIND | MS_REMOUNT | MS_RDONLY | rec,
            None,
        )?;
    }
    Ok(())
}

/// Changes the propagation of the mount at `target` (MS_SLAVE, MS_PRIVATE), recursively.
pub fn set_propagation(target: &Path, kind: libc::c_ulong) -> Result<()> {
    mount(None, target, None, kind | MS_REC, None)
}

/// Unmounts `target` lazily (MNT_DETACH).
pub fn umount_detach(target: &Path) -> Result<()> {
    let t = cpath(target)?;
    check(
        // SAFETY: t is a valid NUL-terminated path.
        unsafe { libc::umount2(t.as_ptr(), libc::MNT_DETACH) },
        || format!("unmounting {}", target.display()),
    )?;
    Ok(())
}

/// Makes `new_root` the root of this mount namespace and detaches the old
/// root. Uses the pivot_root(".", ".") idiom, so no directory for the old
/// root is needed inside the new one.
pub fn pivot_into(new_root: &Path) -> Result<()> {
    crate::ns::chdir(new_root)?;
    let dot = cstr(".")?;
    // SAFETY: both arguments are the valid string "."; the syscall has no
    // libc wrapper so it is invoked directly.
    let r = unsafe { libc::syscall(libc::SYS_pivot_root, dot.as_ptr(), dot.as_ptr()) };
    if r < 0 {
        return Err(Error::last(format!(
            "pivot_root into {}",
            new_root.display()
        )));
    }
    // The old root is now stacked under the new one at "."; detach it.
    umount_detach(Path::new("."))?;
    crate::ns::chdir(Path::new("/"))?;
    Ok(())
}

/// Creates a character device node.
pub fn mknod_char(path: &Path, mode: u32, major: u32, minor: u32) -> Result<()> {
    let p = cpath(path)?;
    check(
        // SAFETY: p is a valid path; makedev is a pure computation.
        unsafe {
            libc::mknod(
                p.as_ptr(),
                libc::S_IFCHR | mode,
                libc::makedev(major, minor),
            )
        },
        || format!("Failed to make device {}", path.display()),
    )?;
    Ok(())
}

/// Device numbers of the special file at `path`: (is_block, major, minor).
pub fn device_numbers(path: &Path) -> Result<(bool, u32, u32)> {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    let md =
        std::fs::metadata(path).map_err(|e| Error::sys(format!("stat {}", path.display()), e))?;
    let ft = md.file_type();
    if !ft.is_block_device() && !ft.is_char_device() {
        return Err(Error::Invalid(format!(
            "{} is not a device",
            path.display()
        )));
    }
    let rdev = md.rdev();
    Ok((ft.is_block_device(), libc::major(rdev), libc::minor(rdev)))
}

/// Filesystem types the kernel can mount from a block device (/proc/filesystems
/// entries without "nodev").
pub fn block_filesystems() -> Vec<String> {
    std::fs::read_to_string("/proc/filesystems")
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.starts_with("nodev"))
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty())
        .collect()
}

/// Sets the file mode creation mask, returning the old one.
pub fn umask(mask: u32) -> u32 {
    // SAFETY: umask only changes this process's mask and cannot fail.
    unsafe { libc::umask(mask) }
}
