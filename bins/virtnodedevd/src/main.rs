// SPDX-License-Identifier: LGPL-2.1-or-later
//! virtnodedevd: the modular daemon for host devices
//! (`nodedev:///system`, `nodedev:///session` unprivileged); serves
//! `virtnodedevd-sock`, `virtnodedevd-sock-ro` and
//! `virtnodedevd-admin-sock`.
#![forbid(unsafe_code)]

use daemon::DaemonContext;
use driver::Registry;

/// The drivers this daemon hosts: the node device driver on the host's
/// sysfs.
fn registry(ctx: &DaemonContext) -> Registry {
    let mut registry = Registry::new();
    registry.add(std::sync::Arc::new(driver_nodedev::NodedevFactory::new(
        ctx.privileged,
    )));
    registry
}

fn main() -> std::process::ExitCode {
    daemon::run("virtnodedevd", registry)
}
