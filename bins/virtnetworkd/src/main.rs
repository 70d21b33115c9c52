// SPDX-License-Identifier: LGPL-2.1-or-later
//! virtnetworkd: the modular daemon for virtual networks
//! (`network:///system`, `network:///session` unprivileged); serves
//! `virtnetworkd-sock`, `virtnetworkd-sock-ro` and `virtnetworkd-admin-sock`.
#![forbid(unsafe_code)]

use daemon::DaemonContext;
use driver::Registry;

/// The drivers this daemon hosts: the network driver.
fn registry(ctx: &DaemonContext) -> Registry {
    let mut registry = Registry::new();
    registry.add(driver_network::factory(network_config(ctx)));
    registry
}

/// The network driver's directories under the daemon's.
fn network_config(ctx: &DaemonContext) -> driver_network::NetworkDriverConfig {
    driver_network::NetworkDriverConfig::from_roots(
        ctx.privileged,
        ctx.paths.config_dir.clone(),
        ctx.paths.run_dir.clone(),
        ctx.paths.lib_dir.clone(),
    )
}

fn main() -> std::process::ExitCode {
    daemon::run("virtnetworkd", registry)
}
