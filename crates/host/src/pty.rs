// SPDX-License-Identifier: LGPL-2.1-or-later
//! Pseudo terminals: opening a master in a given devpts instance and making
//! a terminal the controlling one of a session.

use crate::{check, cpath, Error, Result};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::path::Path;

/// Opens the multiplexer `ptmx` (e.g. `<devpts>/ptmx`), unlocks the new
/// pair and returns the master with the index of its slave in that devpts.
pub fn open_master(ptmx: &Path) -> Result<(OwnedFd, u32)> {
    let p = cpath(ptmx)?;
    let fd = check(
        // SAFETY: p is a valid path; the returned fd is checked below.
        unsafe { libc::open(p.as_ptr(), libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC) },
        || format!("Failed to open tty {}", ptmx.display()),
    )?;
    // SAFETY: fd was just opened and is owned by nobody else.
    let master = unsafe { OwnedFd::from_raw_fd(fd) };
    let mut unlock: libc::c_int = 0;
    check(
        // SAFETY: TIOCSPTLCK reads one c_int from the valid pointer.
        unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCSPTLCK, &mut unlock) },
        || "unlocking pty".into(),
    )?;
    let mut idx: libc::c_uint = 0;
    check(
        // SAFETY: TIOCGPTN writes one c_uint to the valid pointer.
        unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCGPTN, &mut idx) },
        || "reading pty number".into(),
    )?;
    Ok((master, idx))
}

/// Makes `tty` the controlling terminal of the calling session leader.
pub fn set_controlling(tty: BorrowedFd<'_>) -> Result<()> {
    check(
        // SAFETY: TIOCSCTTY takes an integer argument.
        unsafe { libc::ioctl(tty.as_raw_fd(), libc::TIOCSCTTY, 0) },
        || "setting controlling terminal".into(),
    )?;
    Ok(())
}

/// Opens a terminal path read-write without making it the controlling tty.
pub fn open_tty(path: &Path) -> Result<OwnedFd> {
    let p = cpath(path)?;
    let fd = check(
        // SAFETY: p is a valid path; the fd is checked below.
        unsafe { libc::open(p.as_ptr(), libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC) },
        || format!("Failed to open tty {}", path.display()),
    )?;
    // SAFETY: fd was just opened and is owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Turns off echo and line editing on a terminal (raw mode), as a console
/// relay wants on its side.
pub fn make_raw(tty: BorrowedFd<'_>) -> Result<()> {
    // SAFETY: an all-zero termios is a valid buffer for tcgetattr to fill.
    let mut t: libc::termios = unsafe { std::mem::zeroed() };
    // SAFETY: t is a valid termios buffer.
    check(unsafe { libc::tcgetattr(tty.as_raw_fd(), &mut t) }, || {
        "tcgetattr".into()
    })?;
    // SAFETY: cfmakeraw only edits the struct.
    unsafe { libc::cfmakeraw(&mut t) };
    check(
        // SAFETY: t is a fully initialised termios.
        unsafe { libc::tcsetattr(tty.as_raw_fd(), libc::TCSANOW, &t) },
        || "tcsetattr".into(),
    )
    .map_err(|e| Error::Invalid(e.to_string()))?;
    Ok(())
}
