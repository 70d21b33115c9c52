// SPDX-License-Identifier: LGPL-2.1-or-later
//! Files: the project's one crash-safe file replacement, record locks, and
//! access checks.
//!
//! [`write_atomic`] is what every definition, status and spec file goes
//! through. Its temporary file is `.NAME.tmpPID` beside `NAME`: the pid
//! names the writer, so start-up cleanup ([`temp_file_writer`]) can remove
//! the leftovers of a writer that died mid-write and keep those of a writer
//! still running.

use crate::{cpath, Error, Result};
use std::collections::HashSet;
use std::ffi::OsString;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex, PoisonError};

/// What separates the target's name from the writer's pid in a temporary
/// file name (`.NAME.tmpPID`).
const TEMP_MARK: &str = ".tmp";

/// The temporary file [`write_atomic`] uses for `path` in process `pid`.
fn temp_path(path: &Path, pid: u32) -> Result<PathBuf> {
    let name = path
        .file_name()
        .ok_or_else(|| Error::Invalid(format!("path has no file name: {}", path.display())))?;
    let mut tmp = OsString::from(".");
    tmp.push(name);
    tmp.push(format!("{TEMP_MARK}{pid}"));
    Ok(path.with_file_name(tmp))
}

/// For the name of a temporary file left by [`write_atomic`]
/// (`.NAME.tmpPID`), the name of the file it was replacing and the pid of
/// the process that wrote it; `None` for any other name.
pub fn temp_file_writer(file_name: &str) -> Option<(&str, u32)> {
    let (target, pid) = file_name.strip_prefix('.')?.rsplit_once(TEMP_MARK)?;
    if target.is_empty() || pid.is_empty() || !pid.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((target, pid.parse().ok()?))
}

/// The temporary paths being written by this process right now: one
/// writer at a time per path, since threads of one process share a
/// temporary name.
static IN_FLIGHT: Mutex<Option<HashSet<PathBuf>>> = Mutex::new(None);
static IN_FLIGHT_DONE: Condvar = Condvar::new();

/// This process's claim on a temporary path; dropping it wakes the next
/// writer of the same path.
struct Claim(PathBuf);

impl Claim {
    fn take(tmp: &Path) -> Claim {
        let mut set = IN_FLIGHT.lock().unwrap_or_else(PoisonError::into_inner);
        while set.as_ref().is_some_and(|s| s.contains(tmp)) {
            set = IN_FLIGHT_DONE
                .wait(set)
                .unwrap_or_else(PoisonError::into_inner);
        }
        set.get_or_insert_with(HashSet::new).insert(tmp.to_owned());
        Claim(tmp.to_owned())
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        let mut set = IN_FLIGHT.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(s) = set.as_mut() {
            s.remove(&self.0);
        }
        IN_FLIGHT_DONE.notify_all();
    }
}

/// Creates `tmp` afresh with `mode`. A file already there has this
/// process's pid in its name but no writer (threads of this process take
/// turns), so it is the leftover of an earlier process with the same pid
/// that died mid-write: it is replaced. `create_new` does not follow a
/// symbolic link planted at the name.
fn create_temp(tmp: &Path, mode: u32) -> std::io::Result<File> {
    let open = || {
        OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(tmp)
    };
    match open() {
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            std::fs::remove_file(tmp)?;
            open()
        }
        other => other,
    }
}

/// Replaces `path` with `bytes` so that a reader, or the next start after a
/// crash or power loss, sees the old content or the new one, never a mix or
/// an empty file (libvirt's virFileRewrite).
///
/// The bytes go to `.NAME.tmpPID` in the same directory, created with
/// `mode` (set exactly: the umask does not narrow it), written and synced;
/// the temporary file is renamed over `path` and the directory synced so
/// the rename itself is durable. On error the temporary file is removed and
/// `path` is untouched (unless only the final directory sync failed: then
/// the new content is in place but may not survive a power loss). Threads
/// of this process writing the same path take turns; the last rename wins.
/// The directory must exist.
///
/// Each error's context names the step (`creating`, `writing` the
/// temporary file, `renaming to` the path, `syncing` the directory); the
/// OS error is its source, which [`Error::into_io`] hands to callers that
/// word their own message.
pub fn write_atomic(path: impl AsRef<Path>, bytes: &[u8], mode: u32) -> Result<()> {
    let path = path.as_ref();
    let tmp = temp_path(path, std::process::id())?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let _claim = Claim::take(&tmp);
    let mut f = create_temp(&tmp, mode)
        .map_err(|e| Error::sys(format!("creating {}", tmp.display()), e))?;
    let written = (|| {
        f.set_permissions(std::fs::Permissions::from_mode(mode))
            .map_err(|e| Error::sys(format!("setting the mode of {}", tmp.display()), e))?;
        f.write_all(bytes)
            .and_then(|()| f.sync_all())
            .map_err(|e| Error::sys(format!("writing {}", tmp.display()), e))?;
        std::fs::rename(&tmp, path)
            .map_err(|e| Error::sys(format!("renaming to {}", path.display()), e))
    })();
    drop(f);
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::sys(format!("syncing {}", dir.display()), e))
}

/// Takes an exclusive (write) record lock on the first byte of the open
/// file `fd`, without waiting: fails with EAGAIN or EACCES when another
/// holder has it (libvirt's virFileLock on byte 0, as for pid files).
///
/// The lock is an open-file-description lock (F_OFD_SETLK) where the
/// kernel has them, else a classic process lock (F_SETLK); on Linux the two
/// kinds conflict, so the holder excludes C libvirt's daemons too. An OFD
/// lock belongs to the open file: closing another descriptor of the same
/// file does not drop it, and a second lock attempt through another open
/// of the file fails even in the same process. The lock goes when the last
/// descriptor of the open file closes.
pub fn lock_file(fd: BorrowedFd<'_>) -> Result<()> {
    // SAFETY: an all-zero flock is a valid value of this plain C struct.
    let mut fl: libc::flock = unsafe { std::mem::zeroed() };
    fl.l_type = libc::F_WRLCK as libc::c_short;
    fl.l_whence = libc::SEEK_SET as libc::c_short;
    fl.l_start = 0;
    fl.l_len = 1;
    // SAFETY: the descriptor is borrowed, so open for the call; `fl` is a
    // valid flock (l_pid 0, as OFD locks require) that outlives the call.
    let rc = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_OFD_SETLK, &fl) };
    if rc == 0 {
        return Ok(());
    }
    let err = std::io::Error::last_os_error();
    if err.raw_os_error() != Some(libc::EINVAL) {
        return Err(Error::sys("locking the file (F_OFD_SETLK)", err));
    }
    // SAFETY: as above; this kernel lacks OFD locks, take a classic one.
    let rc = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETLK, &fl) };
    if rc < 0 {
        return Err(Error::last("locking the file (F_SETLK)"));
    }
    Ok(())
}

/// Whether this process may write `path`, judged by access(2) with the
/// real user and group ids (as libvirt checks the journal's socket).
pub fn is_writable(path: &Path) -> bool {
    let Ok(c) = cpath(path) else {
        return false;
    };
    // SAFETY: `c` is a valid NUL-terminated string for the call's duration.
    unsafe { libc::access(c.as_ptr(), libc::W_OK) == 0 }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsFd;
    use std::sync::Arc;

    fn scratch(name: &str) -> PathBuf {
        crate::scratch_dir(&format!("fs-{name}"))
    }

    /// Writes `bytes` with `mode` and checks that `file` holds them.
    fn put(file: &Path, bytes: &[u8], mode: u32) {
        write_atomic(file, bytes, mode).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(std::fs::read(file).unwrap_or_default(), bytes);
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .map(|d| {
                d.filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        v.sort();
        v
    }

    fn mode_of(p: &Path) -> u32 {
        std::fs::metadata(p)
            .map(|m| m.permissions().mode() & 0o7777)
            .unwrap_or(0)
    }

    #[test]
    fn write_atomic_replaces_content_and_leaves_no_temp_file() {
        let dir = scratch("replace");
        let file = dir.join("guest.xml");
        put(&file, b"first version", 0o600);
        put(&file, b"second", 0o600);
        put(&file, b"", 0o600);
        assert_eq!(names(&dir), ["guest.xml"]);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn write_atomic_sets_the_mode_exactly_not_narrowed_by_the_umask() {
        let dir = scratch("mode");
        let file = dir.join("status.xml");
        // 0o666 and 0o664 would lose bits to a usual umask (022, 002).
        for mode in [0o600, 0o644, 0o640, 0o666, 0o664] {
            put(&file, b"x", mode);
            assert_eq!(mode_of(&file), mode, "mode {mode:o}");
        }
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn write_atomic_failure_leaves_the_target_and_no_temp_file() {
        let dir = scratch("fail");
        // Renaming a file over a directory fails; the directory stays.
        let sub = dir.join("sub");
        std::fs::create_dir(&sub).unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(sub.join("keep"), b"x").unwrap_or_else(|e| panic!("{e}"));
        let e = write_atomic(&sub, b"y", 0o600).unwrap_err();
        assert!(e.to_string().starts_with("renaming to "), "{e}");
        assert_eq!(names(&dir), ["sub"]);
        assert_eq!(names(&sub), ["keep"]);
        // A missing directory is not created; the OS error is the source.
        let e = write_atomic(dir.join("nodir/x.xml"), b"y", 0o600).unwrap_err();
        assert!(e.to_string().starts_with("creating "), "{e}");
        assert_eq!(e.into_io().kind(), std::io::ErrorKind::NotFound);
        assert!(write_atomic("/", b"y", 0o600).is_err());
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn write_atomic_replaces_a_dead_writers_leftover_with_our_pid() {
        let dir = scratch("leftover");
        let file = dir.join("d.xml");
        let tmp = temp_path(&file, std::process::id()).unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(&tmp, b"half").unwrap_or_else(|e| panic!("{e}"));
        put(&file, b"whole", 0o644);
        assert_eq!(names(&dir), ["d.xml"]);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn concurrent_writers_of_one_path_leave_one_whole_version() {
        let dir = Arc::new(scratch("concurrent"));
        let file = Arc::new(dir.join("c.xml"));
        let threads: Vec<_> = (0..8u8)
            .map(|t| {
                let file = file.clone();
                std::thread::spawn(move || {
                    for i in 0..25u8 {
                        let body = vec![b'a' + t; 4096 + usize::from(i)];
                        write_atomic(&*file, &body, 0o644).unwrap_or_else(|e| panic!("{e}"));
                    }
                })
            })
            .collect();
        // A reader meanwhile sees only whole versions.
        for _ in 0..200 {
            if let Ok(b) = std::fs::read(&*file) {
                assert!(b.len() >= 4096, "short read of {} bytes", b.len());
                assert!(b.iter().all(|c| *c == b[0]), "mixed content");
            }
        }
        for t in threads {
            t.join().unwrap_or_else(|_| panic!("writer panicked"));
        }
        let b = std::fs::read(&*file).unwrap_or_default();
        assert!(b.len() >= 4096 && b.iter().all(|c| *c == b[0]));
        assert_eq!(names(&dir), ["c.xml"]);
        let _ = std::fs::remove_dir_all(&*dir);
    }

    #[test]
    fn temp_file_names_carry_the_target_and_the_writers_pid() {
        let tmp = temp_path(Path::new("/etc/libvirt/lxc/web.xml"), 4321)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(tmp, Path::new("/etc/libvirt/lxc/.web.xml.tmp4321"));
        assert_eq!(
            temp_file_writer(".web.xml.tmp4321"),
            Some(("web.xml", 4321))
        );
        assert_eq!(temp_file_writer(".a.tmp.xml.tmp7"), Some(("a.tmp.xml", 7)));
        for other in [
            "web.xml",
            ".web.xml",
            ".web.xml.tmp",
            ".web.xml.tmp12x",
            ".tmp5",
            "x.tmp5",
        ] {
            assert_eq!(temp_file_writer(other), None, "{other}");
        }
    }

    #[test]
    fn lock_file_is_held_against_a_second_open_and_released_on_close() {
        let dir = scratch("lock");
        let path = dir.join("d.pid");
        let open = || {
            OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(false)
                .open(&path)
                .unwrap_or_else(|e| panic!("{e}"))
        };
        let first = open();
        lock_file(first.as_fd()).unwrap_or_else(|e| panic!("{e}"));
        // OFD locks conflict between open files even within one process.
        let second = open();
        let e = lock_file(second.as_fd()).unwrap_err();
        let errno = e.raw_os_error();
        assert!(
            errno == Some(libc::EAGAIN) || errno == Some(libc::EACCES),
            "{e}"
        );
        // Closing an unrelated descriptor of the file keeps the lock.
        drop(second);
        let third = open();
        assert!(lock_file(third.as_fd()).is_err());
        drop(first);
        lock_file(third.as_fd()).unwrap_or_else(|e| panic!("{e}"));
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn is_writable_follows_access() {
        let dir = scratch("access");
        assert!(is_writable(&dir));
        assert!(!is_writable(&dir.join("missing")));
        let _ = std::fs::remove_dir_all(dir);
    }
}
