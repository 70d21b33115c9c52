// SPDX-License-Identifier: LGPL-2.1-or-later
//! The daemon's pid file: created if needed, locked with an fcntl write
//! lock on its first byte (so a second daemon fails to start), then
//! truncated and filled with the pid. The descriptor stays open for the
//! daemon's life; the lock goes away with the process.
//!
//! The lock ([`host::fs::lock_file`]) is an open-file-description lock
//! (F_OFD_SETLK) where the kernel has them, falling back to a classic
//! F_SETLK lock as libvirt takes. On Linux the two kinds conflict with each
//! other, so this daemon and a C libvirt daemon exclude each other. Unlike
//! a classic lock, an OFD lock is not dropped when the process closes some
//! other descriptor of the same file (for example by reading the pid file),
//! and a second acquire from the same process fails too.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::fd::AsFd;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// A pid file could not be acquired or written; the message names the
/// path and the OS reason, in libvirt's words.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct PidFileError {
    /// e.g. `Failed to acquire pid file '/run/libvirtd.pid': Resource
    /// temporarily unavailable`.
    pub message: String,
    /// The OS error number.
    pub errno: Option<i32>,
}

fn os_reason(err: &std::io::Error) -> String {
    virterror::os_error_text(err)
}

fn fail(what: &str, path: &Path, err: &std::io::Error) -> PidFileError {
    PidFileError {
        message: format!("{what} '{}': {}", path.display(), os_reason(err)),
        errno: err.raw_os_error(),
    }
}

/// A held pid file. Dropping it removes the file and releases the lock.
#[derive(Debug)]
pub struct PidFile {
    path: PathBuf,
    file: Option<File>,
}

impl PidFile {
    /// Acquires `path` for `pid` (libvirt's virPidFileAcquirePath): fails
    /// at once if another process holds it.
    pub fn acquire(path: impl AsRef<Path>, pid: u32) -> Result<PidFile, PidFileError> {
        let path = path.as_ref();
        let file = loop {
            let file = OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(false)
                .mode(0o644)
                .open(path)
                .map_err(|e| fail("Failed to open pid file", path, &e))?;
            let held = file
                .metadata()
                .map_err(|e| fail("Unable to check status of pid file", path, &e))?;
            host::fs::lock_file(file.as_fd())
                .map_err(|e| fail("Failed to acquire pid file", path, &e.into_io()))?;
            // The file we locked must still be the one at `path`: a racing
            // daemon may have removed it on exit and another recreated it.
            match std::fs::metadata(path) {
                Ok(now) if now.ino() == held.ino() && now.dev() == held.dev() => break file,
                _ => continue,
            }
        };
        file.set_len(0)
            .map_err(|e| fail("Failed to truncate pid file", path, &e))?;
        (&file)
            .write_all(pid.to_string().as_bytes())
            .map_err(|e| fail("Failed to write to pid file", path, &e))?;
        Ok(PidFile {
            path: path.to_owned(),
            file: Some(file),
        })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Removes the file and drops the lock.
    pub fn release(mut self) {
        self.release_inner();
    }

    fn release_inner(&mut self) {
        if let Some(file) = self.file.take() {
            // Unlink while still locked so no one sees an unlocked stale file.
            let _ = std::fs::remove_file(&self.path);
            drop(file);
        }
    }
}

impl Drop for PidFile {
    fn drop(&mut self) {
        self.release_inner();
    }
}

/// Reads the pid stored in a pid file.
pub fn read_pid(path: impl AsRef<Path>) -> std::io::Result<u32> {
    let text = std::fs::read_to_string(path)?;
    text.trim()
        .parse()
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidData, "malformed pid file"))
}
