// SPDX-License-Identifier: LGPL-2.1-or-later
//! The LXC driver: `lxc:///system` served by real containers.
//!
//! Role: keep the table of LXC domains (persistent definitions in
//! `config_dir`, live status in `state_dir`), turn domain XML into
//! container specs for the per-container controller (`libvirt_lxc`, crate
//! `lxc-controller`), talk to the controllers, watch them for exits, and
//! find running containers again after a daemon restart.
//!
//! Must not depend on: rpc, dispatch, protocol (errors go through
//! `driver::Error`). Host facilities come from `host`; the controller's
//! protocol from `lxc-controller`. Controllers and processes are reached
//! only through [`runtime::Runtime`], so that tests can run the driver on
//! a fake controller without root.
//!
//! Invariants:
//! - the domain table is a `driver::objlist` list (listed in the order
//!   domains were added) and each domain has its own state lock, held only
//!   for short in-memory work;
//!   no controller request, file write or event publication happens under it;
//! - every operation that changes a domain holds that domain's job lock
//!   (`driver::job`), taken with a deadline (30 s, `LIBVIRT_LXC_JOB_TIMEOUT_MS` overrides it)
//!   and fails with VIR_ERR_OPERATION_TIMEOUT when it cannot get it; reads
//!   (list, lookup, state, info) never take a job;
//! - a running domain always has a status file (`state_dir/NAME.xml`)
//!   written atomically (`host::fs::write_atomic`, as every definition)
//!   before its start returns, and none once it stopped;
//! - nothing a client sends can panic the driver.
#![forbid(unsafe_code)]

mod conn;
mod driver_state;
mod errors;
mod hostinfo;
pub mod lxcconf;
pub mod native;
pub use netplug;
pub mod runtime;
mod spec;
mod status;
mod usage;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use driver::{ConnectAuth, Connection, DriverFactory, Result, Uri};

pub use conn::LxcConnection;
pub use driver_state::Driver;
pub use lxcconf::LxcConf;
pub use runtime::{HostRuntime, Runtime};

/// Where the LXC driver keeps its files, and how it runs.
#[derive(Debug, Clone)]
pub struct LxcDriverConfig {
    /// Whether the daemon runs as root (the driver refuses to work otherwise).
    pub privileged: bool,
    /// Persistent definitions: `NAME.xml`, and `autostart/NAME.xml` links.
    pub config_dir: PathBuf,
    /// Live status files, controller sockets and spec files.
    pub state_dir: PathBuf,
    /// Log directory (kept for controllers' logs).
    pub log_dir: PathBuf,
    /// lxc.conf; `None` means the defaults.
    pub lxc_conf: Option<PathBuf>,
    /// The controller binary (`libvirt_lxc`).
    pub controller_binary: PathBuf,
    /// How long an operation waits for a domain's job lock.
    pub job_timeout: Duration,
    /// How long a single controller request may take.
    pub request_timeout: Duration,
    /// The network driver that plugs `<interface type='network'>` NICs
    /// (none: such a NIC cannot start).
    pub network: Option<netplug::NetworkAccess>,
}

/// Default job lock deadline, as libvirt's.
pub const DEFAULT_JOB_TIMEOUT: Duration = driver::job::DEFAULT_TIMEOUT;

impl LxcDriverConfig {
    /// A configuration for the given directories; the controller binary is
    /// found as `lxc_controller::client::default_binary` finds it, and
    /// `LIBVIRT_LXC_JOB_TIMEOUT_MS` overrides the job deadline.
    pub fn from_dirs(
        privileged: bool,
        config_dir: impl Into<PathBuf>,
        state_dir: impl Into<PathBuf>,
        log_dir: impl Into<PathBuf>,
    ) -> LxcDriverConfig {
        let job_timeout =
            driver::job::timeout_from_env("LIBVIRT_LXC_JOB_TIMEOUT_MS", DEFAULT_JOB_TIMEOUT);
        LxcDriverConfig {
            privileged,
            config_dir: config_dir.into(),
            state_dir: state_dir.into(),
            log_dir: log_dir.into(),
            lxc_conf: None,
            controller_binary: lxc_controller::client::default_binary(),
            job_timeout,
            request_timeout: Duration::from_secs(10),
            network: None,
        }
    }

    /// The autostart link directory.
    pub fn autostart_dir(&self) -> PathBuf {
        self.config_dir.join("autostart")
    }

    fn config_file(&self, name: &str) -> PathBuf {
        self.config_dir.join(format!("{name}.xml"))
    }

    fn autostart_link(&self, name: &str) -> PathBuf {
        self.autostart_dir().join(format!("{name}.xml"))
    }

    fn status_file(&self, name: &str) -> PathBuf {
        self.state_dir.join(format!("{name}.xml"))
    }
}

/// The factory the daemons register: claims the `lxc` scheme.
pub fn factory(cfg: LxcDriverConfig) -> Arc<dyn DriverFactory> {
    Arc::new(LxcDriverFactory::new(cfg))
}

/// Opens `lxc:///` connections onto one shared driver.
pub struct LxcDriverFactory {
    driver: Arc<Driver>,
}

impl LxcDriverFactory {
    /// Creates the driver and loads the persistent definitions (no
    /// container is touched until [`DriverFactory::startup`]).
    pub fn new(cfg: LxcDriverConfig) -> LxcDriverFactory {
        LxcDriverFactory::with_runtime(cfg, Arc::new(HostRuntime))
    }

    /// The same on runtime `rt` instead of the host (tests run the
    /// driver's logic on a fake controller this way; see [`runtime`]).
    pub fn with_runtime(cfg: LxcDriverConfig, rt: Arc<dyn Runtime>) -> LxcDriverFactory {
        LxcDriverFactory {
            driver: Driver::with_runtime(cfg, rt),
        }
    }

    /// The driver behind the connections.
    pub fn driver(&self) -> &Arc<Driver> {
        &self.driver
    }
}

impl DriverFactory for LxcDriverFactory {
    fn name(&self) -> &'static str {
        "LXC"
    }

    fn claims(&self, uri: &Uri) -> bool {
        uri.scheme == "lxc"
    }

    /// libvirt's LXC probe: `lxc:///system` once the driver is active,
    /// which needs a privileged daemon.
    fn default_uri(&self) -> Option<String> {
        self.driver
            .cfg
            .privileged
            .then(|| "lxc:///system".to_string())
    }

    fn open(&self, uri: &Uri, _auth: &ConnectAuth) -> Result<Arc<dyn Connection>> {
        let path = uri.path.as_str();
        if !path.is_empty() && path != "/" && path != "/system" {
            return Err(errors::internal(format!(
                "Unexpected LXC URI path '{path}', try lxc:///system"
            )));
        }
        if !self.driver.cfg.privileged {
            return Err(errors::internal("lxc state driver is not active"));
        }
        Ok(Arc::new(LxcConnection::new(
            self.driver.clone(),
            uri.driver_uri(),
        )))
    }

    fn startup(&self) -> Result<()> {
        self.driver.startup()
    }

    fn reload(&self) -> Result<()> {
        self.driver.reload()
    }

    fn shutdown(&self) {
        self.driver.shutdown();
    }

    fn active_guests(&self) -> usize {
        self.driver.active_count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn factory(privileged: bool, dir: &std::path::Path) -> LxcDriverFactory {
        LxcDriverFactory::new(LxcDriverConfig::from_dirs(
            privileged,
            dir.join("etc"),
            dir.join("run"),
            dir.join("log"),
        ))
    }

    #[test]
    fn probe_answers_lxc_system_only_when_privileged() {
        let dir = std::env::temp_dir().join(format!("lxc-probe-{}", std::process::id()));
        assert_eq!(
            factory(true, &dir).default_uri().as_deref(),
            Some("lxc:///system")
        );
        assert_eq!(factory(false, &dir).default_uri(), None);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
