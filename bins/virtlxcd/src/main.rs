// SPDX-License-Identifier: LGPL-2.1-or-later
//! virtlxcd: the modular daemon for LXC containers (`lxc:///system`).
//! Must run as root; serves `virtlxcd-sock`, `virtlxcd-sock-ro` and
//! `virtlxcd-admin-sock`.
#![forbid(unsafe_code)]

use daemon::DaemonContext;
use driver::Registry;

/// The drivers this daemon hosts: LXC.
fn registry(ctx: &DaemonContext) -> Registry {
    let dirs = ctx.driver_dirs("lxc");
    let mut cfg = driver_lxc::LxcDriverConfig::from_dirs(
        ctx.privileged,
        dirs.config_dir,
        dirs.state_dir,
        dirs.log_dir,
    );
    cfg.lxc_conf = Some(ctx.paths.config_dir.join("lxc.conf"));
    // NICs on virtual networks get their ports from virtnetworkd, over
    // its socket beside ours, as libvirt's modular daemons do.
    cfg.network = Some(driver_lxc::netplug::NetworkAccess(
        network_client::RemoteNetwork::beside(&ctx.paths.sock, "network:///system").opener(),
    ));
    let mut registry = Registry::new();
    registry.add(driver_lxc::factory(cfg));
    registry
}

fn main() -> std::process::ExitCode {
    daemon::run("virtlxcd", registry)
}
