// SPDX-License-Identifier: LGPL-2.1-or-later
//! Is this host a Xen control domain? libvirt's test: privileged, and
//! /proc/xen/capabilities starts with `control_d` (any guest can mount
//! xenfs, so the file existing is not enough), or, without that file,
//! /dev/xen/xenstored exists.

use std::path::{Path, PathBuf};

/// Files the check reads (redirectable for tests).
#[derive(Debug, Clone)]
pub struct HostPaths {
    /// /proc/xen/capabilities
    pub capabilities: PathBuf,
    /// /dev/xen/xenstored
    pub xenstored: PathBuf,
}

impl Default for HostPaths {
    fn default() -> Self {
        HostPaths {
            capabilities: PathBuf::from("/proc/xen/capabilities"),
            xenstored: PathBuf::from("/dev/xen/xenstored"),
        }
    }
}

/// Why the driver is not active (logged at start-up, shown to clients).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inactive {
    /// The daemon does not run as root.
    NotPrivileged,
    /// /proc/xen/capabilities lacks `control_d`.
    NotDom0,
    /// Neither /proc/xen/capabilities nor /dev/xen/xenstored exists.
    NoXen,
    /// libxenlight could not be loaded (the reason).
    NoLibxl(String),
    /// libxl could not be initialised.
    LibxlFailed(String),
}

impl std::fmt::Display for Inactive {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Inactive::NotPrivileged => {
                write!(f, "Not running privileged, disabling libxenlight driver")
            }
            Inactive::NotDom0 => write!(
                f,
                "No Xen capabilities detected, probably not running in a Xen Dom0.  Disabling libxenlight driver"
            ),
            Inactive::NoXen => write!(
                f,
                "Disabling driver as neither /proc/xen/capabilities nor /dev/xen/xenstored exist"
            ),
            Inactive::NoLibxl(why) => write!(f, "{why}, disabling libxenlight driver"),
            Inactive::LibxlFailed(why) => write!(
                f,
                "cannot initialize libxenlight context, probably not running in a Xen Dom0, disabling driver ({why})"
            ),
        }
    }
}

/// libvirt's libxlDriverShouldLoad.
pub fn should_load(privileged: bool, paths: &HostPaths) -> Result<(), Inactive> {
    if !privileged {
        return Err(Inactive::NotPrivileged);
    }
    if paths.capabilities.exists() {
        let mut buf = [0u8; 10];
        let n = read_prefix(&paths.capabilities, &mut buf).unwrap_or(0);
        if buf.get(..n).is_some_and(|b| b.starts_with(b"control_d")) {
            Ok(())
        } else {
            Err(Inactive::NotDom0)
        }
    } else if paths.xenstored.exists() {
        Ok(())
    } else {
        Err(Inactive::NoXen)
    }
}

fn read_prefix(p: &Path, buf: &mut [u8]) -> std::io::Result<usize> {
    use std::io::Read;
    let mut f = std::fs::File::open(p)?;
    let mut n = 0;
    while n < buf.len() {
        let r = f.read(&mut buf[n..])?;
        if r == 0 {
            break;
        }
        n += r;
    }
    Ok(n)
}

/// Whether the daemon runs as root.
pub fn running_privileged() -> bool {
    // /proc/self/status "Uid:" line: real, effective, ...
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|l| l.split_whitespace().nth(1).map(|e| e == "0"))
        })
        .unwrap_or(false)
}

/// virConnectGetHostname for both Xen connections.
pub fn hostname() -> driver::Result<String> {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .map_err(|e| {
            driver::Error::internal(
                driver::error::ErrorDomain::Libxl,
                format!("cannot get hostname: {e}"),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("driver-xen-{}-{name}", std::process::id()));
        let _ = std::fs::create_dir_all(&d);
        d
    }

    #[test]
    fn dom0_capabilities_load_the_driver() {
        let d = scratch("dom0");
        let caps = d.join("capabilities");
        std::fs::write(&caps, "control_d\n").unwrap();
        let p = HostPaths {
            capabilities: caps,
            xenstored: d.join("none"),
        };
        assert_eq!(should_load(true, &p), Ok(()));
        assert_eq!(should_load(false, &p), Err(Inactive::NotPrivileged));
    }

    #[test]
    fn guest_xenfs_does_not_load_the_driver() {
        let d = scratch("domu");
        let caps = d.join("capabilities");
        std::fs::write(&caps, "").unwrap();
        let p = HostPaths {
            capabilities: caps,
            xenstored: d.join("none"),
        };
        assert_eq!(should_load(true, &p), Err(Inactive::NotDom0));
    }

    #[test]
    fn no_xen_at_all() {
        let d = scratch("none");
        let p = HostPaths {
            capabilities: d.join("a"),
            xenstored: d.join("b"),
        };
        assert_eq!(should_load(true, &p), Err(Inactive::NoXen));
        assert!(Inactive::NoXen.to_string().contains("/dev/xen/xenstored"));
    }
}
