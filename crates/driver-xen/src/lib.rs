// SPDX-License-Identifier: LGPL-2.1-or-later
//! The libxl (Xen) driver: claims `xen:` URIs (`xen:///system`,
//! `xen:///`), reads `libxl.conf`, converts native configs.
//!
//! Role: on a Xen dom0 with libxenlight installed (loaded at run time by
//! `libxl-sys`) connections manage guests through libxl; on any other host
//! (or without the library) the daemon still starts,
//! logs why the driver is inactive, and `open` hands out a limited
//! connection whose only working calls are the connection type, URI,
//! capabilities of a default x86_64 Xen host and the `xen-xl` / `xen-xm`
//! native conversions; every guest operation fails with libvirt's
//! "libxenlight state driver is not active". With
//! [`InactivePolicy::Refuse`], `open` instead fails with
//! VIR_ERR_NO_CONNECT "no connection driver available for URI".
//!
//! Must not depend on: the RPC layer or dispatch. `unsafe` lives only in
//! `libxl-sys` and `host` (whose `fs::write_atomic` saves the definitions
//! and status files); this crate forbids it.
//!
//! Invariants: URIs other than `xen:///`, `xen:///system` and `xen://`
//! are refused with libvirt's "unexpected Xen URI path" error; the
//! conversions never need a Xen host.
#![forbid(unsafe_code)]

pub mod caps;
pub mod config;
pub mod host;
pub mod limited;
pub mod live;
pub mod saveimage;

pub use config::LibxlConfig;
pub use host::{HostPaths, Inactive};
pub use limited::LimitedConnection;

use driver::error::{ErrorCode, ErrorDomain};
use driver::{ConnectAuth, Connection, DriverFactory, Error, Result, Uri};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

pub use netplug::NetworkAccess;
pub use volsource::StorageAccess;

/// What `open` does when the driver is inactive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum InactivePolicy {
    /// Hand out a [`LimitedConnection`].
    #[default]
    Limited,
    /// Fail with VIR_ERR_NO_CONNECT.
    Refuse,
}

/// Where the factory looks and how it behaves (tests redirect the paths).
#[derive(Debug, Clone)]
pub struct XenOptions {
    /// libxl.conf location.
    pub config_file: PathBuf,
    /// Files that tell a dom0 apart.
    pub host_paths: HostPaths,
    /// Whether the daemon runs as root (`None`: ask the process).
    pub privileged: Option<bool>,
    /// Behaviour when inactive.
    pub inactive_policy: InactivePolicy,
    /// The network driver that plugs `<interface type='network'>` NICs
    /// (none: such a guest cannot start).
    pub network: Option<netplug::NetworkAccess>,
    /// The storage driver that says what a `<disk type='volume'>` is
    /// (none: such a guest cannot start).
    pub storage: Option<volsource::StorageAccess>,
}

impl Default for XenOptions {
    fn default() -> Self {
        XenOptions {
            config_file: PathBuf::from(config::DEFAULT_CONFIG_FILE),
            host_paths: HostPaths::default(),
            privileged: None,
            inactive_policy: InactivePolicy::Limited,
            network: None,
            storage: None,
        }
    }
}

enum State {
    /// `startup` has not run yet.
    NotStarted,
    /// The driver cannot manage guests on this host.
    Inactive(Inactive),
    /// The driver runs.
    Active(Arc<live::XenDriver>),
}

/// The factory registered with the daemon.
pub struct XenFactory {
    opts: XenOptions,
    config: Mutex<LibxlConfig>,
    state: Mutex<State>,
}

/// The Xen driver with default paths.
pub fn factory() -> Arc<dyn DriverFactory> {
    Arc::new(XenFactory::new(XenOptions::default()))
}

impl XenFactory {
    /// A factory with the given options.
    pub fn new(opts: XenOptions) -> XenFactory {
        XenFactory {
            opts,
            config: Mutex::new(LibxlConfig::default()),
            state: Mutex::new(State::NotStarted),
        }
    }

    /// The driver's configuration (from libxl.conf once started).
    pub fn config(&self) -> LibxlConfig {
        self.config.lock().map(|c| c.clone()).unwrap_or_default()
    }

    /// Why the driver is inactive, `None` when it runs.
    pub fn inactive_reason(&self) -> Option<Inactive> {
        self.ensure_started();
        match &*self.state.lock().ok()? {
            State::Inactive(why) => Some(why.clone()),
            _ => None,
        }
    }

    fn ensure_started(&self) {
        let started = self
            .state
            .lock()
            .map(|s| !matches!(*s, State::NotStarted))
            .unwrap_or(true);
        if !started {
            let _ = self.startup();
        }
    }

    fn initialise(&self) -> State {
        let privileged = self
            .opts
            .privileged
            .unwrap_or_else(host::running_privileged);
        if let Err(why) = host::should_load(privileged, &self.opts.host_paths) {
            return State::Inactive(why);
        }
        if let Err(why) = libxl_sys::library() {
            return State::Inactive(Inactive::NoLibxl(why));
        }
        let cfg = self.config();
        match live::XenDriver::start(cfg, self.opts.network.clone())
            .map(|d| d.with_storage(self.opts.storage.clone()))
        {
            Ok(d) => {
                let d = Arc::new(d);
                d.spawn_event_thread();
                State::Active(d)
            }
            Err(e) => State::Inactive(Inactive::LibxlFailed(e)),
        }
    }
}

/// Whether `uri` is one the libxl driver accepts.
fn check_path(uri: &Uri) -> Result<()> {
    match uri.path.as_str() {
        "" | "/" | "/system" => Ok(()),
        p => Err(Error::new(
            ErrorCode::InternalError,
            ErrorDomain::Libxl,
            format!("unexpected Xen URI path '{p}', try xen:///system"),
        )),
    }
}

impl DriverFactory for XenFactory {
    fn name(&self) -> &'static str {
        "Xen"
    }

    fn claims(&self, uri: &Uri) -> bool {
        uri.scheme == "xen" || uri.scheme == "libxl"
    }

    /// libvirt's libxl probe: `xen:///system` only while the driver runs
    /// (a privileged daemon on a Xen host); an inactive driver answers
    /// nothing, even though it still opens limited connections.
    fn default_uri(&self) -> Option<String> {
        self.ensure_started();
        let active = self
            .state
            .lock()
            .is_ok_and(|s| matches!(*s, State::Active(_)));
        active.then(|| "xen:///system".to_string())
    }

    fn open(&self, uri: &Uri, _auth: &ConnectAuth) -> Result<Arc<dyn Connection>> {
        check_path(uri)?;
        self.ensure_started();
        let state = self
            .state
            .lock()
            .map_err(|_| Error::internal(ErrorDomain::Libxl, "driver state poisoned"))?;
        let uri_s = "xen:///system".to_string();
        match &*state {
            State::Active(d) => Ok(Arc::new(live::XenConnection::new(d.clone(), uri_s))),
            State::Inactive(why) => match self.opts.inactive_policy {
                InactivePolicy::Limited => Ok(Arc::new(LimitedConnection::new(uri_s, why.clone()))),
                InactivePolicy::Refuse => Err(Error::new(
                    ErrorCode::NoConnect,
                    ErrorDomain::None,
                    uri.driver_uri(),
                )),
            },
            State::NotStarted => Err(limited::inactive_error()),
        }
    }

    fn startup(&self) -> Result<()> {
        let cfg = LibxlConfig::load(&self.opts.config_file)?;
        if let Ok(mut c) = self.config.lock() {
            *c = cfg;
        }
        let st = self.initialise();
        let result = match &st {
            State::Inactive(why) => {
                eprintln!("libxl driver inactive: {why}");
                Ok(())
            }
            _ => Ok(()),
        };
        if let Ok(mut s) = self.state.lock() {
            *s = st;
        }
        result
    }

    fn shutdown(&self) {
        if let Ok(s) = self.state.lock() {
            if let State::Active(d) = &*s {
                d.shutdown();
            }
        }
    }

    fn active_guests(&self) -> usize {
        if let Ok(s) = self.state.lock() {
            if let State::Active(d) = &*s {
                return d.active_guests();
            }
        }
        0
    }
}
