// SPDX-License-Identifier: LGPL-2.1-or-later
//! virtsecretd: the modular daemon for secrets (`secret:///system`,
//! `secret:///session` unprivileged); serves `virtsecretd-sock`,
//! `virtsecretd-sock-ro` and `virtsecretd-admin-sock`.
#![forbid(unsafe_code)]

use daemon::DaemonContext;
use driver::Registry;

/// The drivers this daemon hosts: the secret driver, keeping persistent
/// secrets in the daemon's config directory (`/etc/libvirt/secrets` for
/// root, as libvirt).
fn registry(ctx: &DaemonContext) -> Registry {
    let mut registry = Registry::new();
    registry.add(std::sync::Arc::new(driver_secret::SecretFactory::new(
        ctx.paths.config_dir.join("secrets"),
        ctx.privileged,
    )));
    registry
}

fn main() -> std::process::ExitCode {
    daemon::run("virtsecretd", registry)
}
