// SPDX-License-Identifier: LGPL-2.1-or-later
//! The host layer: the only crate of the project that makes raw system calls.
//!
//! Role: wrap the Linux facilities the drivers and daemons need (cgroups
//! v1/v2/hybrid, namespaces, mounts, capabilities, ptys, veth networking,
//! tap devices for guest NICs, process handling and `-d` daemonizing, fd passing and adopting systemd's
//! listening sockets, BPF device filters for cgroup v2, ethtool feature
//! queries, the one atomic file
//! write, pid-file locks) behind small safe functions. Every other crate
//! but the FFI ones (`sasl`, `libxl-sys`) forbids `unsafe`.
//!
//! Must not depend on: any other crate of the workspace (it is the bottom of
//! every stack, daemons included). It knows nothing about libvirt domains;
//! callers translate their models into the plain values used here.
//!
//! Invariants:
//! - every `unsafe` block carries a `// SAFETY:` comment stating why it is sound;
//! - functions that are only sound in a single-threaded process (the fork-like
//!   [`ns::clone_process`]) check that precondition at run time and fail instead;
//! - nothing here panics on data read from the system or from a peer.

pub mod blockdev;
pub mod bpf;
pub mod bpf_devices;
pub mod caps;
pub mod cgroup;
pub mod ethtool;
pub mod fd;
pub mod fs;
pub mod ids;
pub mod loopdev;
pub mod mem;
pub mod mount;
pub mod net;
pub mod ns;
pub mod process;
pub mod pty;
pub mod tap;

use std::io;

/// An error from the host layer: what was being done, and the OS error.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A system call or file operation failed.
    #[error("{context}: {source}")]
    Sys {
        /// What was being attempted, with the object (path, pid, name) involved.
        context: String,
        /// The underlying OS error.
        #[source]
        source: io::Error,
    },
    /// A request that cannot be honoured on this host or with these values.
    #[error("{0}")]
    Invalid(String),
}

impl Error {
    /// Wraps `source` with a description of the failed operation.
    pub fn sys(context: impl Into<String>, source: io::Error) -> Self {
        Error::Sys {
            context: context.into(),
            source,
        }
    }

    /// Builds an error from the current `errno`.
    pub fn last(context: impl Into<String>) -> Self {
        Error::sys(context, io::Error::last_os_error())
    }

    /// The OS error alone, for callers that word their own message around
    /// it (libvirt's "cannot write config file '...': REASON"); a request
    /// refused here becomes an `InvalidInput` error with its text.
    pub fn into_io(self) -> io::Error {
        match self {
            Error::Sys { source, .. } => source,
            Error::Invalid(text) => io::Error::new(io::ErrorKind::InvalidInput, text),
        }
    }

    /// The raw OS error number, when there is one.
    pub fn raw_os_error(&self) -> Option<i32> {
        match self {
            Error::Sys { source, .. } => source.raw_os_error(),
            Error::Invalid(_) => None,
        }
    }
}

/// Result type of the host layer.
pub type Result<T> = std::result::Result<T, Error>;

/// Converts a Rust string to a C string, rejecting interior NUL bytes.
pub(crate) fn cstr(s: &str) -> Result<std::ffi::CString> {
    std::ffi::CString::new(s).map_err(|_| Error::Invalid(format!("string contains NUL: {s:?}")))
}

/// Converts a path to a C string, rejecting interior NUL bytes.
pub(crate) fn cpath(p: &std::path::Path) -> Result<std::ffi::CString> {
    use std::os::unix::ffi::OsStrExt;
    std::ffi::CString::new(p.as_os_str().as_bytes())
        .map_err(|_| Error::Invalid(format!("path contains NUL: {}", p.display())))
}

/// A fresh, empty scratch directory for a unit test (`tag` tells the tests
/// of one process apart).
#[cfg(test)]
pub(crate) fn scratch_dir(tag: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("host-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    dir
}

/// Maps a `-1` return of a libc call to an error with context.
pub(crate) fn check(ret: libc::c_int, context: impl FnOnce() -> String) -> Result<libc::c_int> {
    if ret < 0 {
        Err(Error::last(context()))
    } else {
        Ok(ret)
    }
}
