// SPDX-License-Identifier: LGPL-2.1-or-later
//! virtqemud: the modular daemon for QEMU/KVM guests (`qemu:///system` as
//! root, `qemu:///session` for a user); serves `virtqemud-sock`,
//! `virtqemud-sock-ro` and `virtqemud-admin-sock`.
#![forbid(unsafe_code)]

use daemon::DaemonContext;
use driver::Registry;

/// The drivers this daemon hosts: QEMU.
fn registry(ctx: &DaemonContext) -> Registry {
    let mut registry = Registry::new();
    let dirs = ctx.driver_dirs("qemu");
    let mut opts = driver_qemu::QemuOptions::from_roots(
        ctx.privileged,
        ctx.paths.config_dir.clone(),
        ctx.paths.cache_dir.clone(),
        dirs.config_dir,
        dirs.state_dir,
        dirs.lib_dir,
        dirs.log_dir,
    );
    opts.host_uuid = ctx.host_uuid.clone();
    let (net_uri, storage_uri) = if ctx.privileged {
        ("network:///system", "storage:///system")
    } else {
        ("network:///session", "storage:///session")
    };
    // NICs on virtual networks get their ports from virtnetworkd, disks on
    // pool volumes their paths from virtstoraged, over the sockets beside
    // ours, as libvirt's modular daemons do.
    opts.network = Some(driver_qemu::NetworkAccess(
        network_client::RemoteNetwork::beside(&ctx.paths.sock, net_uri).opener(),
    ));
    opts.storage = Some(driver_qemu::StorageAccess(
        storage_client::RemoteStorage::beside(&ctx.paths.sock, storage_uri).opener(),
    ));
    registry.add(std::sync::Arc::new(driver_qemu::QemuFactory::new(opts)));
    registry
}

fn main() -> std::process::ExitCode {
    daemon::run("virtqemud", registry)
}
