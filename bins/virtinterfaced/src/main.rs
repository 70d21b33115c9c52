// SPDX-License-Identifier: LGPL-2.1-or-later
//! virtinterfaced: the modular daemon for host network interfaces
//! (`interface:///system`, `interface:///session` unprivileged); serves
//! `virtinterfaced-sock`, `virtinterfaced-sock-ro` and
//! `virtinterfaced-admin-sock`.
#![forbid(unsafe_code)]

use daemon::DaemonContext;
use driver::Registry;

/// The drivers this daemon hosts: the interface driver on the sysfs of
/// the daemon's network namespace.
fn registry(ctx: &DaemonContext) -> Registry {
    let mut registry = Registry::new();
    registry.add(std::sync::Arc::new(
        driver_interface::InterfaceFactory::new(ctx.privileged),
    ));
    registry
}

fn main() -> std::process::ExitCode {
    daemon::run("virtinterfaced", registry)
}
