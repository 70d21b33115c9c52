// SPDX-License-Identifier: LGPL-2.1-or-later
//! virtxend: the modular daemon for Xen through libxl (`xen:///system`).
//! Must run as root; serves `virtxend-sock`, `virtxend-sock-ro` and
//! `virtxend-admin-sock`.
#![forbid(unsafe_code)]

use daemon::DaemonContext;
use driver::Registry;

/// The drivers this daemon hosts: Xen through libxl, configured by
/// libxl.conf beside the daemon's own config file. On a host that is not
/// a Xen dom0 the driver stays inactive and says why in the log.
fn registry(ctx: &DaemonContext) -> Registry {
    let opts = driver_xen::XenOptions {
        config_file: ctx.paths.config_dir.join("libxl.conf"),
        privileged: Some(ctx.privileged),
        // NICs on virtual networks get their ports from virtnetworkd.
        network: Some(driver_xen::NetworkAccess(
            network_client::RemoteNetwork::beside(&ctx.paths.sock, "network:///system").opener(),
        )),
        // Disks on pool volumes are resolved through virtstoraged.
        storage: Some(driver_xen::StorageAccess(
            storage_client::RemoteStorage::beside(&ctx.paths.sock, "storage:///system").opener(),
        )),
        ..Default::default()
    };
    let mut registry = Registry::new();
    registry.add(std::sync::Arc::new(driver_xen::XenFactory::new(opts)));
    registry
}

fn main() -> std::process::ExitCode {
    daemon::run("virtxend", registry)
}
