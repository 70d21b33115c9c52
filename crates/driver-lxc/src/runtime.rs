// SPDX-License-Identifier: LGPL-2.1-or-later
//! The driver's seam to the host: every step of the LXC driver that leaves
//! its own memory and files goes through [`Runtime`]: starting a
//! controller, reaching it, reading its exit record, cleaning up after
//! one that died, and looking at or signalling processes by pid.
//!
//! [`HostRuntime`] is the real one (`lxc_controller::client` and
//! `host::process`). A test gives the driver its own implementation
//! ([`crate::LxcDriverFactory::with_runtime`]) to run the driver's logic
//! (jobs, states, events, status files, reattach after a restart,
//! autostart, cleanup) without root, namespaces or cgroups: a fake
//! controller serves the control protocol on the same socket path, and
//! [`lxc_controller::Client::from_stream`] talks to it exactly as to a
//! real one.

use std::path::Path;
use std::time::Duration;

use lxc_controller::proto::ExitInfo;
use lxc_controller::{client, Client, ContainerSpec, StartOptions, Started};

/// What the LXC driver needs from the host.
pub trait Runtime: Send + Sync {
    /// Whether user namespaces can be used (an `<idmap>` needs them).
    fn user_namespaces(&self) -> bool;

    /// Starts a controller for `spec` and waits until the container's init
    /// runs ([`client::start`]).
    fn start(
        &self,
        spec: &ContainerSpec,
        state_dir: &Path,
        opts: &StartOptions,
    ) -> lxc_controller::Result<Started>;

    /// Connects to the controller of `name` ([`client::connect`]).
    fn connect(
        &self,
        state_dir: &Path,
        name: &str,
        timeout: Duration,
    ) -> lxc_controller::Result<Client>;

    /// How the last run of `name` ended, if its controller recorded it.
    fn last_exit(&self, state_dir: &Path, name: &str) -> Option<ExitInfo>;

    /// Removes what a controller that died without tearing down left
    /// ([`client::cleanup_orphan`]); whether anything was left.
    fn cleanup_orphan(
        &self,
        state_dir: &Path,
        name: &str,
        partition: &str,
    ) -> lxc_controller::Result<bool>;

    /// Whether `pid` is still the process that started at `start_time`.
    fn is_same_process(&self, pid: u32, start_time: u64) -> bool;

    /// Whether `pid` exists.
    fn exists(&self, pid: u32) -> bool;

    /// Whether `pid` is a live process (neither gone nor a zombie).
    fn alive(&self, pid: u32) -> bool;

    /// Sends `signal` to `pid`; errors are ignored (the process may be gone).
    fn kill(&self, pid: u32, signal: i32);
}

/// The host itself: real controllers, real processes.
#[derive(Debug, Default, Clone, Copy)]
pub struct HostRuntime;

impl Runtime for HostRuntime {
    fn user_namespaces(&self) -> bool {
        host::ns::available("user")
    }

    fn start(
        &self,
        spec: &ContainerSpec,
        state_dir: &Path,
        opts: &StartOptions,
    ) -> lxc_controller::Result<Started> {
        client::start(spec, state_dir, opts)
    }

    fn connect(
        &self,
        state_dir: &Path,
        name: &str,
        timeout: Duration,
    ) -> lxc_controller::Result<Client> {
        client::connect(state_dir, name, timeout)
    }

    fn last_exit(&self, state_dir: &Path, name: &str) -> Option<ExitInfo> {
        client::last_exit(state_dir, name)
    }

    fn cleanup_orphan(
        &self,
        state_dir: &Path,
        name: &str,
        partition: &str,
    ) -> lxc_controller::Result<bool> {
        client::cleanup_orphan(state_dir, name, partition)
    }

    fn is_same_process(&self, pid: u32, start_time: u64) -> bool {
        host::process::is_same_process(pid, start_time)
    }

    fn exists(&self, pid: u32) -> bool {
        host::process::exists(pid)
    }

    fn alive(&self, pid: u32) -> bool {
        host::process::is_alive(pid)
    }

    fn kill(&self, pid: u32, signal: i32) {
        let _ = host::process::kill(pid, signal);
    }
}
