// SPDX-License-Identifier: LGPL-2.1-or-later
//! The Virtuozzo driver as far as this project goes: `virtvzd` registers it
//! as libvirt's vz driver registers itself, and it says why it cannot
//! manage guests.
//!
//! Registration follows libvirt's: the driver exists only on a host where
//! the `prlctl` command is on `PATH` ([`VzFactory::probe`]); elsewhere
//! nothing claims `vz:` and `parallels:` URIs, so a client gets "no
//! connection driver available for vz:///system", and the daemon logs
//! why. Where it is registered it claims `vz:///system` (and the old
//! `parallels:///system`), refuses other paths with libvirt's "Unexpected
//! Virtuozzo URI path" error, and, since this build has no Virtuozzo SDK
//! (libprlsdk) to start its state with, answers every open with libvirt's
//! "vz state driver is not active" (also what an unprivileged daemon
//! gets).
//!
//! Must not depend on: rpc, dispatch, protocol.
#![forbid(unsafe_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use driver::error::{ErrorCode, ErrorDomain};
use driver::{ConnectAuth, Connection, DriverFactory, Error, Result, Uri};

/// The command whose presence marks a Virtuozzo host.
pub const PRLCTL: &str = "prlctl";

/// Why the driver is not registered on a host without `prlctl` (libvirt
/// logs the same at debug level).
pub const NOT_REGISTERED: &str = "Can't find prlctl command in the PATH env";

/// The vz driver of a host that has `prlctl`.
pub struct VzFactory {
    privileged: bool,
    prlctl: PathBuf,
}

impl VzFactory {
    /// The driver, when `prlctl` is on `path` (a `PATH` value); `None`
    /// otherwise, as libvirt registers nothing then.
    pub fn probe(privileged: bool, path: &str) -> Option<VzFactory> {
        let prlctl = std::env::split_paths(path)
            .map(|d| d.join(PRLCTL))
            .find(|p| is_executable(p))?;
        Some(VzFactory { privileged, prlctl })
    }

    /// The `prlctl` found.
    pub fn prlctl(&self) -> &Path {
        &self.prlctl
    }

    /// Why the driver cannot manage guests here.
    pub fn inactive_reason(&self) -> &'static str {
        if self.privileged {
            "Can't initialize Parallels SDK: this build has no Virtuozzo SDK (libprlsdk)"
        } else {
            "Not running privileged, disabling driver"
        }
    }
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    p.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// libvirt's answer to any use of a driver whose state did not start.
pub fn not_active() -> Error {
    Error::new(
        ErrorCode::InternalError,
        ErrorDomain::Parallels,
        "vz state driver is not active",
    )
}

impl DriverFactory for VzFactory {
    fn name(&self) -> &'static str {
        "vz"
    }

    fn claims(&self, uri: &Uri) -> bool {
        uri.scheme == "vz" || uri.scheme == "parallels"
    }

    fn open(&self, uri: &Uri, _auth: &ConnectAuth) -> Result<Arc<dyn Connection>> {
        if uri.path != "/system" {
            return Err(Error::new(
                ErrorCode::InternalError,
                ErrorDomain::Parallels,
                format!(
                    "Unexpected Virtuozzo URI path '{}', try vz:///system",
                    uri.path
                ),
            ));
        }
        Err(not_active())
    }

    fn startup(&self) -> Result<()> {
        eprintln!("vz driver inactive: {}", self.inactive_reason());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir_with_prlctl(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("vz-{tag}-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&d);
        let p = d.join(PRLCTL);
        let _ = std::fs::write(&p, "#!/bin/sh\nexit 0\n");
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755));
        d
    }

    fn uri(s: &str) -> Uri {
        Uri::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn not_registered_without_prlctl() {
        assert!(VzFactory::probe(true, "/nonexistent:/also/not").is_none());
    }

    #[test]
    fn a_non_executable_prlctl_does_not_count() {
        let d = dir_with_prlctl("noexec");
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(d.join(PRLCTL), std::fs::Permissions::from_mode(0o644));
        assert!(VzFactory::probe(true, &d.to_string_lossy()).is_none());
        let _ = std::fs::remove_dir_all(d);
    }

    #[test]
    fn registered_with_prlctl_claims_vz_and_parallels_and_is_inactive() {
        let d = dir_with_prlctl("reg");
        let path = format!("/nonexistent:{}", d.display());
        let f = VzFactory::probe(true, &path).unwrap_or_else(|| panic!("prlctl not found"));
        assert_eq!(f.prlctl(), d.join(PRLCTL));
        assert!(f.claims(&uri("vz:///system")));
        assert!(f.claims(&uri("parallels:///system")));
        assert!(!f.claims(&uri("lxc:///system")));
        let e = f
            .open(&uri("vz:///system"), &ConnectAuth::default())
            .err()
            .unwrap_or_else(|| panic!("opened"));
        assert_eq!(e.code, ErrorCode::InternalError);
        assert_eq!(e.domain, ErrorDomain::Parallels);
        assert_eq!(e.message(), "internal error: vz state driver is not active");
        let e = f
            .open(&uri("vz:///session"), &ConnectAuth::default())
            .err()
            .unwrap_or_else(|| panic!("opened"));
        assert_eq!(
            e.message(),
            "internal error: Unexpected Virtuozzo URI path '/session', try vz:///system"
        );
        let _ = std::fs::remove_dir_all(d);
    }
}
