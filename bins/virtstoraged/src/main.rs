// SPDX-License-Identifier: LGPL-2.1-or-later
//! virtstoraged: the modular daemon for storage pools and volumes
//! (`storage:///system`, `storage:///session` unprivileged); serves
//! `virtstoraged-sock`, `virtstoraged-sock-ro` and
//! `virtstoraged-admin-sock`.
#![forbid(unsafe_code)]

use daemon::DaemonContext;
use driver::Registry;

/// The drivers this daemon hosts: the storage driver, with definitions
/// in `/etc/libvirt/storage` and running pools' status in
/// `/run/libvirt/storage` (for root, as libvirt), reading secrets from
/// virtsecretd beside it.
fn registry(ctx: &DaemonContext) -> Registry {
    let dirs = ctx.driver_dirs("storage");
    let storage =
        driver_storage::StorageFactory::from_dirs(ctx.privileged, dirs.config_dir, dirs.state_dir);
    // Encrypted volumes' passphrases come from virtsecretd.
    let secret_uri = if ctx.privileged {
        "secret:///system"
    } else {
        "secret:///session"
    };
    storage
        .driver()
        .set_secrets(secret_client::RemoteSecrets::beside(&ctx.paths.sock, secret_uri).opener());
    let mut registry = Registry::new();
    registry.add(std::sync::Arc::new(storage));
    registry
}

fn main() -> std::process::ExitCode {
    daemon::run("virtstoraged", registry)
}
