// SPDX-License-Identifier: LGPL-2.1-or-later
//! systemd socket activation: the listening sockets systemd passes as
//! descriptors 3, 4, ... with LISTEN_PID, LISTEN_FDS and LISTEN_FDNAMES.
//!
//! Names follow the socket units: `NAME.socket` (read-write), `NAME-ro.socket`,
//! `NAME-admin.socket`, and for daemons with TCP/IP `NAME-tcp.socket`,
//! `NAME-tls.socket` (NAME is the daemon's, e.g. `libvirtd-tcp.socket`).
//! One name may carry several descriptors (a TCP unit listening on IPv4 and
//! IPv6). Once activated, the daemon creates no socket of its own; every
//! passed descriptor must be claimed.

use std::collections::BTreeMap;
use std::os::fd::RawFd;

/// The first passed descriptor (after stdin, stdout, stderr).
pub const LISTEN_FDS_START: RawFd = 3;

/// Activation data that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ActivationError {
    /// LISTEN_FDS is set for us but LISTEN_FDNAMES is not.
    #[error("internal error: Missing LISTEN_FDNAMES env from systemd socket activation")]
    MissingNames,
    /// LISTEN_FDNAMES has a different number of names than LISTEN_FDS.
    #[error("internal error: Expecting {expected} FD names but got {got}")]
    CountMismatch {
        /// LISTEN_FDS.
        expected: u32,
        /// Names found.
        got: usize,
    },
    /// Descriptors were passed that the daemon did not use.
    #[error("internal error: Some activation file descriptors are unclaimed")]
    Unclaimed,
}

/// The passed sockets, by name.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Activation {
    fds: BTreeMap<String, Vec<RawFd>>,
}

impl Activation {
    /// Whether a socket with this unit name was passed.
    pub fn has_name(&self, name: &str) -> bool {
        self.fds.contains_key(name)
    }

    /// Takes the descriptors passed under `name` (empty if none); the
    /// caller owns them from now on.
    pub fn claim(&mut self, name: &str) -> Vec<RawFd> {
        self.fds.remove(name).unwrap_or_default()
    }

    /// The names still unclaimed.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.fds.keys().map(String::as_str)
    }

    /// Checks that every descriptor was claimed.
    pub fn complete(&self) -> Result<(), ActivationError> {
        if self.fds.is_empty() {
            Ok(())
        } else {
            Err(ActivationError::Unclaimed)
        }
    }

    /// Everything unclaimed, by name.
    pub fn into_map(self) -> BTreeMap<String, Vec<RawFd>> {
        self.fds
    }
}

/// Interprets the three variables for the process `my_pid`. `Ok(None)`
/// means "not socket activated" (no or malformed LISTEN_PID / LISTEN_FDS,
/// a LISTEN_PID for another process, or zero descriptors), as in libvirt.
pub fn parse_activation(
    listen_pid: Option<&str>,
    listen_fds: Option<&str>,
    listen_fdnames: Option<&str>,
    my_pid: u32,
) -> Result<Option<Activation>, ActivationError> {
    let Some(pid) = listen_pid.and_then(|p| p.parse::<u64>().ok()) else {
        return Ok(None);
    };
    if pid != u64::from(my_pid) {
        return Ok(None);
    }
    let Some(nfds) = listen_fds.and_then(|n| n.parse::<u32>().ok()) else {
        return Ok(None);
    };
    if nfds == 0 {
        return Ok(None);
    }
    let names = listen_fdnames.ok_or(ActivationError::MissingNames)?;
    // Count first: the name list bounds how much is allocated.
    let got = names.split(':').count();
    if usize::try_from(nfds).ok() != Some(got) {
        return Err(ActivationError::CountMismatch {
            expected: nfds,
            got,
        });
    }
    let mut fds: BTreeMap<String, Vec<RawFd>> = BTreeMap::new();
    for (i, name) in names.split(':').enumerate() {
        let offset = RawFd::try_from(i).map_err(|_| ActivationError::CountMismatch {
            expected: nfds,
            got,
        })?;
        fds.entry(name.to_owned())
            .or_default()
            .push(LISTEN_FDS_START + offset);
    }
    Ok(Some(Activation { fds }))
}

/// Reads the activation variables of this process, clears them so child
/// processes do not see them, and marks the passed descriptors
/// close-on-exec. Call before any thread is started (environment changes
/// are not thread-safe).
pub fn activation_from_env() -> Result<Option<Activation>, ActivationError> {
    let pid = std::env::var("LISTEN_PID").ok();
    let nfds = std::env::var("LISTEN_FDS").ok();
    let names = std::env::var("LISTEN_FDNAMES").ok();
    let result = parse_activation(
        pid.as_deref(),
        nfds.as_deref(),
        names.as_deref(),
        std::process::id(),
    );
    if pid.as_deref().and_then(|p| p.parse::<u64>().ok()) == Some(u64::from(std::process::id())) {
        std::env::remove_var("LISTEN_PID");
        std::env::remove_var("LISTEN_FDS");
        std::env::remove_var("LISTEN_FDNAMES");
    }
    if let Ok(Some(act)) = &result {
        for fd in act.fds.values().flatten() {
            // A number that is not open is refused when claimed.
            let _ = host::fd::set_cloexec(*fd);
        }
    }
    result
}
