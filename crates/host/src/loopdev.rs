// SPDX-License-Identifier: LGPL-2.1-or-later
//! Loop devices: attach a disk image file to a free /dev/loopN so it can be
//! mounted like a block device (`<filesystem type='file'>`).
//!
//! The device is attached with auto-clear: the kernel detaches it when the
//! last user goes away (our fd closed and the filesystem unmounted), so a
//! container that dies never leaves an attached loop device behind.

use crate::{Error, Result};
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

// Kernel ABI numbers of <linux/loop.h>.
const LOOP_SET_FD: libc::c_ulong = 0x4C00;
const LOOP_CLR_FD: libc::c_ulong = 0x4C01;
const LOOP_SET_STATUS64: libc::c_ulong = 0x4C04;
const LOOP_CTL_GET_FREE: libc::c_ulong = 0x4C82;
const LO_FLAGS_READ_ONLY: u32 = 1;
const LO_FLAGS_AUTOCLEAR: u32 = 4;

/// Layout of the kernel's `struct loop_info64`.
#[repr(C)]
struct LoopInfo64 {
    device: u64,
    inode: u64,
    rdevice: u64,
    offset: u64,
    sizelimit: u64,
    number: u32,
    encrypt_type: u32,
    encrypt_key_size: u32,
    flags: u32,
    file_name: [u8; 64],
    crypt_name: [u8; 64],
    encrypt_key: [u8; 32],
    init: [u64; 2],
}

/// An attached loop device; dropping it closes our handle, after which the
/// kernel detaches the device once nothing has it mounted.
#[derive(Debug)]
pub struct LoopDevice {
    path: PathBuf,
    fd: OwnedFd,
}

impl LoopDevice {
    /// Path of the device node (`/dev/loopN`).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Detaches the device now (only possible while nothing has it mounted).
    pub fn detach(self) -> Result<()> {
        // SAFETY: LOOP_CLR_FD takes no argument; the fd is a loop device we own.
        let r = unsafe { libc::ioctl(self.fd.as_raw_fd(), LOOP_CLR_FD, 0) };
        if r < 0 {
            return Err(Error::last(format!("detaching {}", self.path.display())));
        }
        Ok(())
    }
}

fn open_rw(path: &Path, write: bool) -> Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .read(true)
        .write(write)
        .open(path)
        .map_err(|e| Error::sys(format!("opening {}", path.display()), e))
}

/// Attaches `image` to a free loop device (read-only when asked).
pub fn attach(image: &Path, readonly: bool) -> Result<LoopDevice> {
    let backing = open_rw(image, !readonly)?;
    let ctl = open_rw(Path::new("/dev/loop-control"), true)?;
    // A free device can be taken by someone else between GET_FREE and
    // SET_FD (EBUSY); try again a few times.
    for _ in 0..16 {
        // SAFETY: LOOP_CTL_GET_FREE takes no argument and returns a number or -1.
        let n = unsafe { libc::ioctl(ctl.as_raw_fd(), LOOP_CTL_GET_FREE) };
        if n < 0 {
            return Err(Error::last("finding a free loop device"));
        }
        let path = PathBuf::from(format!("/dev/loop{n}"));
        let dev = open_rw(&path, !readonly)?;
        // SAFETY: LOOP_SET_FD takes the backing file's fd as its integer argument.
        let r = unsafe { libc::ioctl(dev.as_raw_fd(), LOOP_SET_FD, backing.as_raw_fd()) };
        if r < 0 {
            let e = std::io::Error::last_os_error();
            if e.raw_os_error() == Some(libc::EBUSY) {
                continue;
            }
            return Err(Error::sys(
                format!("attaching {} to {}", image.display(), path.display()),
                e,
            ));
        }
        let mut info = LoopInfo64 {
            device: 0,
            inode: 0,
            rdevice: 0,
            offset: 0,
            sizelimit: 0,
            number: 0,
            encrypt_type: 0,
            encrypt_key_size: 0,
            flags: LO_FLAGS_AUTOCLEAR | if readonly { LO_FLAGS_READ_ONLY } else { 0 },
            file_name: [0; 64],
            crypt_name: [0; 64],
            encrypt_key: [0; 32],
            init: [0; 2],
        };
        use std::os::unix::ffi::OsStrExt;
        let name = image.as_os_str().as_bytes();
        let len = name.len().min(63);
        info.file_name[..len].copy_from_slice(&name[..len]);
        // SAFETY: info has the kernel's loop_info64 layout and lives across the call.
        let r = unsafe {
            libc::ioctl(
                dev.as_raw_fd(),
                LOOP_SET_STATUS64,
                &info as *const LoopInfo64,
            )
        };
        let loopdev = LoopDevice {
            path,
            fd: OwnedFd::from(dev),
        };
        if r < 0 {
            let e = Error::last(format!("configuring {}", loopdev.path.display()));
            let _ = loopdev.detach();
            return Err(e);
        }
        return Ok(loopdev);
    }
    Err(Error::Invalid("no free loop device".into()))
}
