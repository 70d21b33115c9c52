// SPDX-License-Identifier: LGPL-2.1-or-later
//! The QEMU driver: `qemu:///system` (a root daemon; `qemu:///session`
//! too, as libvirt allows) and `qemu:///session` (a user's daemon).
//!
//! Role: read qemu.conf ([`config`]), probe the host's emulators through
//! the capability cache of the `qemu` crate and answer `virsh
//! capabilities` / `domcapabilities` from them ([`caps`]), and keep the
//! persistent domains in `config_dir/NAME.xml`, and run guests as QEMU
//! processes with a QMP monitor each (start, destroy,
//! suspend, resume, shutdown; QEMU's events become lifecycle events;
//! guests outlive the daemon and are found again at start-up), change
//! their devices in definitions and running guests ([`hotplug`], vCPUs in
//! [`vcpu`]), take and revert snapshots ([`snapshot`]) and run block jobs
//! ([`blockjob`]), talk to guest agents ([`agent`]), and confine each
//! QEMU in its cgroup with the guest's tuning ([`cgroup`]). What is not done yet answers libvirt's "not supported
//! by the connection driver" error.
//!
//! Must not depend on: rpc, dispatch, protocol.
//!
//! Invariants: every change to a domain holds its job lock (with a
//! deadline, VIR_ERR_OPERATION_TIMEOUT after it); listings and lookups take
//! no job; definitions are written atomically (mode 0600); nothing a client
//! sends can panic the driver.
#![forbid(unsafe_code)]

mod agent;
mod blockjob;
pub mod caps;
mod cgroup;
mod checkpoint;
pub mod config;
mod conn;
mod console;
mod dump;
mod hotplug;
mod jobs;
mod launch;
mod lifecycle;
mod migration;
mod netdev;
mod process;
mod save;
mod snapshot;
mod state;
mod stats;
mod vcpu;
mod vnc;

use std::path::PathBuf;
use std::sync::Arc;

use driver::error::{ErrorCode, ErrorDomain};
use driver::{ConnectAuth, Connection, DriverFactory, Error, Result, Uri};

pub use conn::QemuConnection;
pub use netplug::NetworkAccess;
pub use state::Driver;
pub use volsource::StorageAccess;

/// Where the driver keeps its files.
#[derive(Debug, Clone)]
pub struct QemuOptions {
    /// Whether the daemon runs as root (`qemu:///system`).
    pub privileged: bool,
    /// qemu.conf.
    pub qemu_conf: PathBuf,
    /// Persistent definitions (`/etc/libvirt/qemu`).
    pub config_dir: PathBuf,
    /// Live state (`/run/libvirt/qemu`).
    pub state_dir: PathBuf,
    /// `/var/lib/libvirt/qemu`: the probe's private directories.
    pub lib_dir: PathBuf,
    /// `/var/cache/libvirt/qemu`: `capabilities/` holds the cache.
    pub cache_dir: PathBuf,
    /// `/var/log/libvirt/qemu`: each guest's `NAME.log`.
    pub log_dir: PathBuf,
    /// The host's UUID as the daemon's config sets it (`host_uuid`);
    /// unset: the SMBIOS one, else /etc/machine-id. Migrations refuse a
    /// destination with the source's host UUID.
    pub host_uuid: Option<String>,
    /// How NICs on virtual networks get their ports (the network driver
    /// in process in libvirtd, virtnetworkd from virtqemud); `None`: such
    /// guests do not start.
    pub network: Option<netplug::NetworkAccess>,
    /// How `<disk type='volume'>` disks are resolved (the storage driver
    /// in process in libvirtd, virtstoraged from virtqemud).
    pub storage: Option<volsource::StorageAccess>,
}

impl QemuOptions {
    /// The options of a daemon whose config directory is `config_root`
    /// (`/etc/libvirt`) and cache directory `cache_root`
    /// (`/var/cache/libvirt`), with the driver's own directories: qemu.conf
    /// in `config_root`, the capability cache in `cache_root/qemu`
    /// (`cache_root/qemu/cache` for a session daemon, as libvirt's).
    pub fn from_roots(
        privileged: bool,
        config_root: PathBuf,
        cache_root: PathBuf,
        config_dir: PathBuf,
        state_dir: PathBuf,
        lib_dir: PathBuf,
        log_dir: PathBuf,
    ) -> QemuOptions {
        let cache_dir = if privileged {
            cache_root.join("qemu")
        } else {
            cache_root.join("qemu").join("cache")
        };
        QemuOptions {
            privileged,
            qemu_conf: config_root.join("qemu.conf"),
            config_dir,
            state_dir,
            lib_dir,
            cache_dir,
            log_dir,
            host_uuid: None,
            network: None,
            storage: None,
        }
    }
}

/// The factory the daemons register: claims the `qemu` scheme.
pub struct QemuFactory {
    driver: Arc<Driver>,
}

impl QemuFactory {
    /// Creates the driver: reads qemu.conf and the definitions (emulators
    /// are probed on first use).
    pub fn new(opts: QemuOptions) -> QemuFactory {
        QemuFactory {
            driver: Driver::new(opts),
        }
    }
}

impl DriverFactory for QemuFactory {
    fn name(&self) -> &'static str {
        "QEMU"
    }

    fn claims(&self, uri: &Uri) -> bool {
        uri.scheme == "qemu"
    }

    fn default_uri(&self) -> Option<String> {
        Some(if self.driver.opts.privileged {
            "qemu:///system".into()
        } else {
            "qemu:///session".into()
        })
    }

    /// libvirt's `virConnectValidateURIPath` for `qemu`: a root daemon
    /// serves `/system` and, for compatibility, `/session`; a user's daemon
    /// only `/session`.
    fn open(&self, uri: &Uri, _auth: &ConnectAuth) -> Result<Arc<dyn Connection>> {
        let path = uri.path.as_str();
        let ok = if self.driver.opts.privileged {
            path == "/system" || path == "/session"
        } else {
            path == "/session"
        };
        if !ok {
            let want = if self.driver.opts.privileged {
                "system"
            } else {
                "session"
            };
            return Err(Error::new(
                ErrorCode::InternalError,
                ErrorDomain::Qemu,
                format!("unexpected qemu URI path '{path}', try qemu:///{want}"),
            ));
        }
        Ok(Arc::new(QemuConnection::new(
            self.driver.clone(),
            uri.driver_uri(),
        )))
    }

    /// Finds the guests still running from before a restart, then starts
    /// the autostart ones that are not.
    fn startup(&self) -> Result<()> {
        self.driver.reattach();
        self.driver.autostart();
        Ok(())
    }

    fn active_guests(&self) -> usize {
        self.driver.active_count()
    }
}
